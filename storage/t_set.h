/* t_set.h: Redis sets (unordered collections of distinct binary-safe strings) in the two
 * encodings Redis 7.0 keeps and OBJECT ENCODING names:
 *
 *  - "intset": a sorted array of integers, each 2, 4 or 8 bytes wide (the narrowest
 *    that holds them all), binary-searched; kept while every member is a canonical
 *    integer (util_str2ll accepts it) and there are at most set_max_intset_entries.
 *    Its members are listed in ascending order, as Redis lists an intset.
 *  - "hashtable": storage/dict.c with one allocation per member (chain pointer, length,
 *    bytes); O(1) membership, incremental rehashing, reverse-binary SCAN.
 *
 * A set goes from intset to hashtable when an add breaks a limit, never back; a big
 * intset (the limit raised far above its default) is converted a bounded number of
 * members per operation, so no command stalls the server for it. An intset
 * is one block that moves when it grows, so calls that may change a set take set **
 * and may store a new pointer there (the caller stores it back in the key's record).
 *
 * Lifetime rule: member bytes handed to callbacks or returned are valid until the set
 * is next changed; an intset member is formatted into a buffer of the caller's or of
 * the iteration's (valid during the callback only). */
#ifndef RESPITE_T_SET_H
#define RESPITE_T_SET_H

#include <stddef.h>

typedef struct set set;

enum { SET_INTSET = 0, SET_HASHTABLE = 1 };

/* The setting of the same name (existing sets keep their encoding until their next add). */
extern size_t set_max_intset_entries; /* default 512 */

/* An empty set in the encoding Redis's setTypeCreate picks for its first member:
 * intset if it is an integer, else hashtable. */
set *set_new_for(const char *m, size_t len);
set *set_new_intset(void);
void set_free(set *s);
set *set_dup(const set *s);
/* Lazy freeing: the allocations freeing s takes (1 for an intset), and a step that frees
 * up to units of them, returning 1 once s is gone (s is detached: only steps follow). */
size_t set_free_effort(const set *s);
int set_free_step(set *s, size_t units);
size_t set_memory(const set *s); /* O(1) */
int set_encoding(const set *s);
const char *set_encoding_name(const set *s);
size_t set_card(const set *s);
/* Is a hashtable still taking members over from its intset (a big intset's conversion
 * is spread over the operations that follow it)? For tests. */
int set_converting(const set *s);

int set_ismember(set *s, const char *m, size_t len);
/* Returns 1 if m was added, 0 if already there; converts as the limits say. */
int set_add(set **sp, const char *m, size_t len);
/* Returns 1 if m was there. */
int set_remove(set **sp, const char *m, size_t len);
void set_convert(set **sp); /* to hashtable */

typedef void set_fn(void *priv, const char *m, size_t len);
/* Every member (intset: ascending). fn must not change s. */
void set_foreach(set *s, set_fn *fn, void *priv);
/* One SSCAN step: an intset is visited whole (returns 0); a hashtable one step of the
 * reverse-binary scan. */
unsigned long set_scan(set *s, unsigned long cursor, set_fn *fn, void *priv);
/* A random member (s must not be empty); an intset member is formatted into buf, which
 * must hold SET_MEMBER_BUF bytes. */
#define SET_MEMBER_BUF 24
void set_random(set *s, char *buf, const char **m, size_t *len);

#endif
