/* dict.h: an intrusive chained hash table with two tables and incremental rehashing,
 * as Redis's dict. Nodes are the caller's records: each starts with a dict_node (the
 * chain pointer) and the table asks the caller for a node's key bytes through keyof.
 * The table never allocates or frees nodes; it only links and unlinks them. */
#ifndef RESPITE_DICT_H
#define RESPITE_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict_node {
    struct dict_node *next;
} dict_node;

/* The key bytes of a node, and their length in *len. */
typedef const char *(*dict_keyof_fn)(const dict_node *n, size_t *len);

typedef struct dict {
    dict_node **table[2];  /* table[1] is only used while rehashing */
    unsigned long size[2]; /* buckets, a power of two, or 0 when unallocated */
    unsigned long used[2]; /* nodes linked in each table */
    long rehashidx;        /* next table[0] bucket to move, or -1 when not rehashing */
    int pauserehash;       /* > 0: no rehash steps (an iteration is under way) */
    dict_keyof_fn keyof;
    size_t hash_off; /* 0, or where each node keeps the low 32 bits of its hash (dict_keep_hash) */
} dict;

/* Buckets of a fresh table; the table never shrinks below this. */
#define DICT_MIN_SIZE 4

void dict_init(dict *d, dict_keyof_fn keyof);
/* Nodes have room for a uint32_t at byte offset off (> 0): the dict keeps the low 32 bits
 * of each node's hash there (written by dict_add), so rehashing never hashes a key again
 * and a lookup compares keys only when those bits match. A node swapped in through a
 * dict_find_ref link must carry its predecessor's value (dict_node_hash). Call on an
 * empty dict. */
void dict_keep_hash(dict *d, size_t off);
/* The kept hash bits of a node of such a dict. */
static inline uint32_t dict_node_hash(const dict *d, const dict_node *n) {
    return *(const uint32_t *)(const void *)((const char *)n + d->hash_off);
}
/* Release the bucket arrays and reset to empty. Nodes are the caller's: free them first
 * (dict_clear) or keep them. */
void dict_release(dict *d);
/* An empty table sized for n nodes at once (a loader that knows the count skips the
 * rehashes growing to it); a no-op unless the table is empty. */
void dict_reserve(dict *d, size_t n);

static inline size_t dict_size(const dict *d) { return d->used[0] + d->used[1]; }
static inline int dict_is_rehashing(const dict *d) { return d->rehashidx != -1; }
/* Bytes held by the bucket arrays. */
size_t dict_table_bytes(const dict *d);

/* The hash the dict uses for a key: the _h variants below take it precomputed, so a
 * caller that looks a key up and then adds or replaces it hashes it once. */
uint64_t dict_hash(const char *key, size_t klen);
/* The node with this key, or NULL. Does one rehash step first. */
dict_node *dict_find(dict *d, const char *key, size_t klen);
dict_node *dict_find_h(dict *d, const char *key, size_t klen, uint64_t h);
/* The link that points at the node with this key (a bucket slot or a node's next), or
 * NULL if absent. Valid until the dict next changes; writing *ref = other swaps the
 * node for another with the same key and chain pointer (a moved record). */
dict_node **dict_find_ref(dict *d, const char *key, size_t klen);
dict_node **dict_find_ref_h(dict *d, const char *key, size_t klen, uint64_t h);
/* The link that points at node n, which must be linked in d. No rehash step, so the
 * result can be used to re-link n after it moves in memory. */
dict_node **dict_ref_of(dict *d, const dict_node *n);
dict_node **dict_ref_of_h(dict *d, const dict_node *n, uint64_t h);
/* Link a node whose key is not in the dict. May start a grow. */
void dict_add(dict *d, dict_node *n);
void dict_add_h(dict *d, dict_node *n, uint64_t h);
/* Unlink and return the node with this key, or NULL. May start a shrink. */
dict_node *dict_unlink(dict *d, const char *key, size_t klen);
/* Unlink every node, calling fn on each (fn may free it), then release the tables:
 * the dict is empty and reusable afterwards. */
void dict_clear(dict *d, void (*fn)(void *priv, dict_node *n), void *priv);
/* dict_clear in pieces, for a table nobody else uses any more (lazy freeing): unlinks up
 * to n nodes, calling fn on each, resuming at *pos (start with 0; visiting 16 empty
 * buckets counts as one node). Returns 1 once every node went and the tables are
 * released, else 0. Counts are not kept meanwhile: only further steps may follow. */
int dict_clear_step(dict *d, size_t *pos, size_t n, void (*fn)(void *priv, dict_node *n), void *priv);

/* Move up to n buckets (visiting at most 10*n empty ones) from table[0] to table[1].
 * Returns 1 if rehashing is still under way afterwards. */
int dict_rehash(dict *d, int n);
/* Start a shrink if the table is under 10% full and not rehashing; returns 1 if started. */
int dict_shrink_if_needed(dict *d);

void dict_pause_rehash(dict *d);
void dict_resume_rehash(dict *d);

/* One step of Redis's reverse-binary SCAN: calls fn on every node of the bucket(s) the
 * cursor names (in both tables while rehashing) and returns the next cursor, 0 at the end.
 * fn must not change the dict. */
unsigned long dict_scan(dict *d, unsigned long cursor, void (*fn)(void *priv, dict_node *n), void *priv);

/* Visit every node with rehashing paused; fn must not change the dict. */
void dict_foreach(dict *d, void (*fn)(void *priv, dict_node *n), void *priv);

/* A random node as Redis's dictGetRandomKey (random non-empty bucket, then a random
 * element of its chain), or NULL if empty. Does one rehash step first. */
dict_node *dict_random_node(dict *d);

/* A pseudo-random 64-bit number (xorshift64*; not for cryptography). */
uint64_t dict_random(void);

#endif
