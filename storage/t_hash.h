/* t_hash.h: Redis hashes (field -> value maps of binary-safe strings) in two encodings,
 * as Redis 7.0 keeps them and OBJECT ENCODING names them:
 *
 *  - "listpack": every field and value in one allocation, in insertion order (a field
 *    updated keeps its place, a deleted one leaves no hole), each string prefixed by its
 *    length (storage/lenc.h). Lookups are linear, as Redis's listpack; it is kept only
 *    while the hash has at most hash_max_listpack_entries fields and no field or value
 *    longer than hash_max_listpack_value bytes.
 *  - "hashtable": storage/dict.c with one allocation per field (chain pointer, lengths,
 *    field bytes, value bytes); O(1) lookups, incremental rehashing, reverse-binary SCAN.
 *
 * A hash goes from listpack to hashtable when a write breaks a limit, never back; a big
 * listpack (limits raised far above their defaults) is converted a bounded number of
 * fields per operation, so no command stalls the server for it.
 * The listpack is one block that moves when it grows, so every call that may change a
 * hash takes hash ** and may store a new pointer there (the caller stores it back in
 * the key's record).
 *
 * Lifetime rule: pointers to field or value bytes returned by these functions are valid
 * until the hash is next changed. */
#ifndef RESPITE_T_HASH_H
#define RESPITE_T_HASH_H

#include <stddef.h>

typedef struct hash hash;

enum { HASH_LISTPACK = 0, HASH_HASHTABLE = 1 };

/* The settings of the same names (CONFIG SET changes them; existing hashes keep their
 * encoding until their next write). */
extern size_t hash_max_listpack_entries; /* default 512 */
extern size_t hash_max_listpack_value;   /* default 64 */

hash *hash_new(void); /* empty, listpack */
void hash_free(hash *h);
hash *hash_dup(const hash *h);
/* Lazy freeing: the allocations freeing h takes (1 for a listpack), and a step that frees
 * up to units of them, returning 1 once h is gone (h is detached: only steps follow). */
size_t hash_free_effort(const hash *h);
int hash_free_step(hash *h, size_t units); /* same encoding and, for a listpack, the same order */
size_t hash_memory(const hash *h);         /* O(1) */
int hash_encoding(const hash *h);          /* HASH_LISTPACK or HASH_HASHTABLE */
const char *hash_encoding_name(const hash *h);
size_t hash_len(const hash *h);
/* Is a hashtable still taking fields over from its listpack (a big listpack's
 * conversion is spread over the operations that follow it)? For tests. */
int hash_converting(const hash *h);

/* The value of field, its length in *vlen; NULL if absent. */
const char *hash_get(hash *h, const char *f, size_t flen, size_t *vlen);
int hash_exists(hash *h, const char *f, size_t flen);
/* Set field to value. Returns 1 if the field is new, 0 if it was updated. A listpack
 * converts to hashtable first if field or value is longer than hash_max_listpack_value,
 * and after if the count went over hash_max_listpack_entries (as Redis 7.0's
 * hashTypeSet). */
int hash_set(hash **hp, const char *f, size_t flen, const char *v, size_t vlen);
/* Remove field; returns 1 if it was there. */
int hash_del(hash **hp, const char *f, size_t flen);
/* Convert a listpack holding a string longer than hash_max_listpack_value bytes. */
void hash_check_len(hash **hp, size_t len);
/* Convert to hashtable (no-op if it is one). */
void hash_convert(hash **hp);

typedef void hash_fn(void *priv, const char *f, size_t flen, const char *v, size_t vlen);
/* Every field in encoding order (listpack: insertion order). fn must not change h. */
void hash_foreach(hash *h, hash_fn *fn, void *priv);
/* One HSCAN step: a listpack is visited whole (returns 0); a hashtable one cursor step
 * of storage/dict.c's reverse-binary scan. */
unsigned long hash_scan(hash *h, unsigned long cursor, hash_fn *fn, void *priv);
/* A random field (h must not be empty). */
void hash_random(hash *h, const char **f, size_t *flen, const char **v, size_t *vlen);

#endif
