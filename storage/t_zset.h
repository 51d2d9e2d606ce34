/* t_zset.h: sorted sets, the storage side (no clients, no replies). Members are
 * binary-safe strings ordered by (score, member bytes), as Redis orders them.
 *
 * Two encodings, named as Redis 7.0's OBJECT ENCODING names them:
 *  - "listpack": one buffer of entries in order, each [len][member bytes][8-byte score];
 *    everything is a linear scan. Used while the set has at most
 *    zset_max_listpack_entries members, each at most zset_max_listpack_value bytes.
 *  - "skiplist" (Redis's name; here a B+tree counting the entries under each child, so
 *    O(log n) rank and range lookups with few cache misses) over elements that also are
 *    the entries of a member -> element hash (storage/dict.h): one allocation per member
 *    holding the chain link, the score and the member bytes.
 * A set converts to "skiplist" when it outgrows the limits and, as in Redis, never back
 * (except the stores that build a fresh set: zset_new picks the encoding from hints).
 *
 * Positions are ranks: 0 is the lowest (score, member). Range commands turn their
 * bounds into a half-open rank interval [lo, hi) with the zset_count_* functions and
 * walk it with an iterator, so both encodings answer every range the same way. */
#ifndef RESPITE_T_ZSET_H
#define RESPITE_T_ZSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct zset zset;

/* zset-max-listpack-entries / zset-max-listpack-value (the server copies its settings). */
extern size_t zset_max_listpack_entries;
extern size_t zset_max_listpack_value;

/* A new empty set in the encoding a set of size_hint members, the longest maxlen_hint
 * bytes, would have (Redis's zsetTypeCreate). */
zset *zset_new(size_t size_hint, size_t maxlen_hint);
void zset_free(zset *z);
zset *zset_dup(const zset *z);
/* Bytes held, allocator blocks included (O(1)). */
size_t zset_memory(const zset *z);
size_t zset_len(const zset *z);
int zset_is_listpack(const zset *z);
/* Convert to skiplist now (a command that knows the set will grow past the limits). */
void zset_convert_to_skiplist(zset *z);
/* A skiplist set small enough for listpack converts back (the stores' results). */
void zset_convert_if_small(zset *z);

/* Flags in/out of zset_add, as Redis's zsetAdd. */
#define ZADD_IN_INCR     1
#define ZADD_IN_NX       2
#define ZADD_IN_XX       4
#define ZADD_IN_GT       8
#define ZADD_IN_LT       16
#define ZADD_OUT_NOP     1 /* nothing done (NX/XX/GT/LT refused) */
#define ZADD_OUT_NAN     2 /* INCR made the score NaN: nothing done */
#define ZADD_OUT_ADDED   4
#define ZADD_OUT_UPDATED 8
/* Add member with score (or add score to it with ZADD_IN_INCR) under the flags. Returns
 * 1 on success (also for a no-op), 0 on NaN. *newscore (if not NULL) gets the score the
 * member has afterwards (for INCR). */
int zset_add(zset *z, double score, const char *m, size_t mlen, int in, int *out, double *newscore);
/* Remove member; returns 1 if it was there. */
int zset_del(zset *z, const char *m, size_t mlen);
/* The member's score: 1 and *score, or 0 if absent. */
int zset_score(zset *z, const char *m, size_t mlen, double *score);
/* The member's rank in ascending order, or -1 if absent; *score set if found. */
long long zset_rank(zset *z, const char *m, size_t mlen, double *score);

/* Number of members with score < s (inclusive 0) or <= s (inclusive 1). */
size_t zset_count_below_score(const zset *z, double s, int inclusive);
/* Number of members whose bytes compare < m (inclusive 0) or <= m (inclusive 1), for
 * a set whose members all have the same score (Redis's lex ranges). */
size_t zset_count_below_lex(const zset *z, const char *m, size_t mlen, int inclusive);

/* Remove the members with ranks [lo, hi); returns how many. */
size_t zset_del_range(zset *z, size_t lo, size_t hi);

/* Forward iteration from a rank. The set must not change while an iterator is used. */
typedef struct zset_iter {
    const zset *z;
    size_t rank;
    const void *pos; /* the tree's leaf, or the listpack entry */
    unsigned idx;    /* the entry within the leaf */
} zset_iter;
void zset_iter_at(const zset *z, size_t rank, zset_iter *it);
/* The entry at the iterator, then advance: 1, or 0 past the end. *m stays valid while the
 * set is unchanged. */
int zset_iter_next(zset_iter *it, const char **m, size_t *mlen, double *score);

/* One ZSCAN step: calls fn for each member of the buckets the cursor names (every
 * member at once for listpack, returning cursor 0); returns the next cursor. */
unsigned long zset_scan(zset *z, unsigned long cursor, void (*fn)(void *priv, const char *m, size_t mlen, double score),
                        void *priv);

#endif
