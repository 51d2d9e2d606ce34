/* dict.c: the keyspace's hash table, an intrusive chained table with incremental
 * rehashing in the manner of Redis's dict.c.
 *
 * Two bucket arrays. Normally only table[0] is in use. When it must grow (an add finds
 * used >= size, load factor 1) or shrink (fewer than 10% of the buckets used), table[1]
 * is allocated at the new size and rehashidx starts at 0; every later find/add/unlink/
 * random moves a few buckets of table[0] into table[1] (dict_rehash, which also bounds
 * the empty buckets it visits), and a time-boxed caller can move more. When table[0] is
 * empty it is freed and table[1] takes its place.
 *
 * Invariants:
 *  - size[i] is 0 or a power of two >= DICT_MIN_SIZE; table[1] is NULL unless rehashing.
 *  - while rehashing, table[0][i] is NULL for every i < rehashidx, and a node with hash h
 *    is either in table[0][h & (size[0]-1)] (then that index is >= rehashidx) or in
 *    table[1][h & (size[1]-1)]; new nodes go to table[1].
 *  - no rehash step runs while pauserehash > 0 (an iteration is walking the tables).
 *  - no operation touches more than a bounded number of buckets, except dict_clear and
 *    dict_foreach, which are O(n) by nature. Large bucket arrays come straight from
 *    mmap, so allocating a bigger table does not pay to zero it.
 *
 * SCAN (dict_scan) uses Redis's reverse-binary cursor: the cursor's bits are incremented
 * from the high end, so the buckets already visited under a mask of m bits are exactly
 * the ones whose expansions (grow) or contractions (shrink) would be visited again, never
 * skipped. While rehashing, each cursor visits its bucket in the smaller table and every
 * bucket of the larger table that expands from it. */
#include "common/xmalloc.h"
#include "storage/dict.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/util.h"

/* Bucket arrays of at least this many bytes are mapped, not malloc'd: zero pages for free. */
#define DICT_MMAP_BYTES  (256 * 1024)
/* Buckets moved by the rehash step that each operation performs. */
#define DICT_REHASH_STEP 2

static dict_node **dict_table_alloc(unsigned long size) {
    size_t bytes = size * sizeof(dict_node *);
    if (bytes >= DICT_MMAP_BYTES) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) xalloc_fail(bytes);
        return p;
    }
    dict_node **t = xcalloc(size, sizeof(dict_node *));
    return t;
}

static void dict_table_free(dict_node **t, unsigned long size) {
    if (!t) return;
    size_t bytes = size * sizeof(dict_node *);
    if (bytes >= DICT_MMAP_BYTES) munmap(t, bytes);
    else free(t);
}

/* The hash of a linked node. */
static uint64_t dict_hash_node(const dict *d, const dict_node *n) {
    if (d->hash_off) return dict_node_hash(d, n);
    size_t len;
    const char *key = d->keyof(n, &len);
    return util_hash(key, len);
}

void dict_init(dict *d, dict_keyof_fn keyof) {
    memset(d, 0, sizeof(*d));
    d->rehashidx = -1;
    d->keyof = keyof;
}

void dict_keep_hash(dict *d, size_t off) { d->hash_off = off; }

void dict_release(dict *d) {
    size_t off = d->hash_off;
    dict_table_free(d->table[0], d->size[0]);
    dict_table_free(d->table[1], d->size[1]);
    dict_init(d, d->keyof);
    d->hash_off = off;
}

static int dict_resize(dict *d, unsigned long want);

void dict_reserve(dict *d, size_t n) {
    if (dict_size(d) != 0 || dict_is_rehashing(d) || n <= d->size[0]) return;
    dict_table_free(d->table[0], d->size[0]);
    d->table[0] = NULL;
    d->size[0] = 0;
    dict_resize(d, (unsigned long)n);
}

size_t dict_table_bytes(const dict *d) { return (d->size[0] + d->size[1]) * sizeof(dict_node *); }

/* Start resizing to the smallest power of two >= want (and >= DICT_MIN_SIZE). The first
 * allocation just installs table[0]. Returns 1 if anything changed. */
static int dict_resize(dict *d, unsigned long want) {
    unsigned long size = DICT_MIN_SIZE;
    while (size < want && size < (ULONG_MAX >> 1)) size <<= 1;
    if (dict_is_rehashing(d) || size == d->size[0]) return 0;
    dict_node **t = dict_table_alloc(size);
    if (d->table[0] == NULL) {
        d->table[0] = t;
        d->size[0] = size;
        return 1;
    }
    d->table[1] = t;
    d->size[1] = size;
    d->used[1] = 0;
    d->rehashidx = 0;
    return 1;
}

int dict_rehash(dict *d, int n) {
    int empty_visits = n * 10;
    if (!dict_is_rehashing(d)) return 0;
    unsigned long mask1 = d->size[1] - 1;
    while (n-- > 0 && d->used[0] != 0) {
        while (d->table[0][d->rehashidx] == NULL) {
            d->rehashidx++;
            if (--empty_visits == 0) return 1;
        }
        dict_node *de = d->table[0][d->rehashidx];
        while (de) {
            dict_node *next = de->next;
            unsigned long h = dict_hash_node(d, de) & mask1;
            de->next = d->table[1][h];
            d->table[1][h] = de;
            d->used[0]--;
            d->used[1]++;
            de = next;
        }
        d->table[0][d->rehashidx] = NULL;
        d->rehashidx++;
    }
    if (d->used[0] == 0) {
        dict_table_free(d->table[0], d->size[0]);
        d->table[0] = d->table[1];
        d->size[0] = d->size[1];
        d->used[0] = d->used[1];
        d->table[1] = NULL;
        d->size[1] = 0;
        d->used[1] = 0;
        d->rehashidx = -1;
        return 0;
    }
    return 1;
}

static void dict_rehash_step(dict *d) {
    if (d->pauserehash == 0 && dict_is_rehashing(d)) dict_rehash(d, DICT_REHASH_STEP);
}

int dict_shrink_if_needed(dict *d) {
    if (dict_is_rehashing(d) || d->size[0] <= DICT_MIN_SIZE || d->used[0] * 10 >= d->size[0]) return 0;
    return dict_resize(d, d->used[0]);
}

void dict_pause_rehash(dict *d) { d->pauserehash++; }
void dict_resume_rehash(dict *d) { d->pauserehash--; }

/* The link pointing at the node with this key (or, with node set, at that node); the
 * table holding it goes to *table if table is not NULL. */
static dict_node **dict_lookup_ref(dict *d, const char *key, size_t klen, uint64_t h, const dict_node *node,
                                   int *table) {
    if (dict_size(d) == 0) return NULL;
    if (d->hash_off) h = (uint32_t)h; /* the bits nodes keep place them */
    for (int t = 0; t <= 1; t++) {
        if (d->table[t] == NULL) break;
        unsigned long idx = h & (d->size[t] - 1);
        if (t == 0 && dict_is_rehashing(d) && (long)idx < d->rehashidx) continue;
        for (dict_node **ref = &d->table[t][idx]; *ref; ref = &(*ref)->next) {
            int hit;
            if (node) {
                hit = *ref == node;
            } else if (d->hash_off && dict_node_hash(d, *ref) != (uint32_t)h) {
                hit = 0;
            } else {
                size_t len;
                const char *k = d->keyof(*ref, &len);
                hit = len == klen && memcmp(k, key, klen) == 0;
            }
            if (hit) {
                if (table) *table = t;
                return ref;
            }
        }
    }
    return NULL;
}

uint64_t dict_hash(const char *key, size_t klen) { return util_hash(key, klen); }

dict_node **dict_find_ref(dict *d, const char *key, size_t klen) {
    dict_rehash_step(d);
    return dict_lookup_ref(d, key, klen, util_hash(key, klen), NULL, NULL);
}

dict_node **dict_find_ref_h(dict *d, const char *key, size_t klen, uint64_t h) {
    dict_rehash_step(d);
    return dict_lookup_ref(d, key, klen, h, NULL, NULL);
}

dict_node *dict_find_h(dict *d, const char *key, size_t klen, uint64_t h) {
    dict_rehash_step(d);
    dict_node **ref = dict_lookup_ref(d, key, klen, h, NULL, NULL);
    return ref ? *ref : NULL;
}

dict_node *dict_find(dict *d, const char *key, size_t klen) { return dict_find_h(d, key, klen, util_hash(key, klen)); }

dict_node **dict_ref_of_h(dict *d, const dict_node *n, uint64_t h) {
    size_t len;
    const char *key = d->keyof(n, &len);
    return dict_lookup_ref(d, key, len, h, n, NULL);
}

dict_node **dict_ref_of(dict *d, const dict_node *n) { return dict_ref_of_h(d, n, dict_hash_node(d, n)); }

void dict_add(dict *d, dict_node *n) {
    size_t len;
    const char *key = d->keyof(n, &len);
    dict_add_h(d, n, util_hash(key, len));
}

void dict_add_h(dict *d, dict_node *n, uint64_t h) {
    dict_rehash_step(d);
    if (d->size[0] == 0) dict_resize(d, DICT_MIN_SIZE);
    else if (!dict_is_rehashing(d) && d->used[0] >= d->size[0]) dict_resize(d, d->used[0] + 1);
    int t = dict_is_rehashing(d) ? 1 : 0;
    if (d->hash_off) {
        uint32_t h32 = (uint32_t)h;
        memcpy((char *)n + d->hash_off, &h32, sizeof(h32));
        h = h32;
    }
    unsigned long idx = h & (d->size[t] - 1);
    n->next = d->table[t][idx];
    d->table[t][idx] = n;
    d->used[t]++;
}

dict_node *dict_unlink(dict *d, const char *key, size_t klen) {
    dict_rehash_step(d);
    int t = 0;
    dict_node **ref = dict_lookup_ref(d, key, klen, util_hash(key, klen), NULL, &t);
    if (!ref) return NULL;
    dict_node *n = *ref;
    *ref = n->next;
    n->next = NULL;
    d->used[t]--;
    dict_shrink_if_needed(d);
    return n;
}

void dict_clear(dict *d, void (*fn)(void *priv, dict_node *n), void *priv) {
    for (int t = 0; t <= 1; t++) {
        for (unsigned long i = 0; d->table[t] && i < d->size[t]; i++) {
            dict_node *n = d->table[t][i];
            while (n) {
                dict_node *next = n->next;
                if (fn) fn(priv, n);
                n = next;
            }
        }
    }
    dict_release(d);
}

int dict_clear_step(dict *d, size_t *pos, size_t n, void (*fn)(void *priv, dict_node *n), void *priv) {
    size_t budget = n * 16; /* in empty-bucket visits; a node costs 16 */
    while (*pos < d->size[0] + d->size[1]) {
        int t = *pos < d->size[0] ? 0 : 1;
        dict_node **slot = &d->table[t][*pos - (t ? d->size[0] : 0)];
        while (*slot) {
            if (budget < 16) return 0;
            dict_node *node = *slot;
            *slot = node->next;
            if (fn) fn(priv, node);
            budget -= 16;
        }
        (*pos)++;
        if (budget-- == 0) return 0;
    }
    dict_release(d);
    return 1;
}

void dict_foreach(dict *d, void (*fn)(void *priv, dict_node *n), void *priv) {
    dict_pause_rehash(d);
    for (int t = 0; t <= 1; t++) {
        for (unsigned long i = 0; d->table[t] && i < d->size[t]; i++) {
            dict_node *n = d->table[t][i];
            while (n) {
                dict_node *next = n->next;
                fn(priv, n);
                n = next;
            }
        }
    }
    dict_resume_rehash(d);
}

static unsigned long dict_rev(unsigned long v) {
    unsigned long s = CHAR_BIT * sizeof(v);
    unsigned long mask = ~0UL;
    while ((s >>= 1) > 0) {
        mask ^= (mask << s);
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }
    return v;
}

static void dict_scan_bucket(dict_node *n, void (*fn)(void *priv, dict_node *n), void *priv) {
    while (n) {
        dict_node *next = n->next;
        fn(priv, n);
        n = next;
    }
}

unsigned long dict_scan(dict *d, unsigned long v, void (*fn)(void *priv, dict_node *n), void *priv) {
    if (dict_size(d) == 0 || d->size[0] == 0) return 0;
    dict_pause_rehash(d);
    if (!dict_is_rehashing(d)) {
        unsigned long m0 = d->size[0] - 1;
        dict_scan_bucket(d->table[0][v & m0], fn, priv);
        /* Set the unmasked bits so incrementing the reversed cursor carries into the
         * masked bits, then increment from the high end. */
        v |= ~m0;
        v = dict_rev(v);
        v++;
        v = dict_rev(v);
    } else {
        int small = d->size[0] <= d->size[1] ? 0 : 1;
        int big = 1 - small;
        unsigned long m0 = d->size[small] - 1;
        unsigned long m1 = d->size[big] - 1;
        dict_scan_bucket(d->table[small][v & m0], fn, priv);
        /* Every bucket of the bigger table that expands the smaller table's bucket. */
        do {
            dict_scan_bucket(d->table[big][v & m1], fn, priv);
            v |= ~m1;
            v = dict_rev(v);
            v++;
            v = dict_rev(v);
        } while (v & (m0 ^ m1));
    }
    dict_resume_rehash(d);
    return v;
}

static uint64_t dict_rng_state = 0x9E3779B97F4A7C15ULL;

uint64_t dict_random(void) {
    uint64_t x = dict_rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    dict_rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

dict_node *dict_random_node(dict *d) {
    if (dict_size(d) == 0) return NULL;
    dict_rehash_step(d);
    dict_node *he;
    if (dict_is_rehashing(d)) {
        unsigned long s0 = d->size[0];
        unsigned long span = s0 + d->size[1] - (unsigned long)d->rehashidx;
        do {
            unsigned long h = (unsigned long)d->rehashidx + dict_random() % span;
            he = h >= s0 ? d->table[1][h - s0] : d->table[0][h];
        } while (he == NULL);
    } else {
        unsigned long m0 = d->size[0] - 1;
        do { he = d->table[0][dict_random() & m0]; } while (he == NULL);
    }
    unsigned long len = 0;
    for (dict_node *n = he; n; n = n->next) len++;
    unsigned long pick = dict_random() % len;
    while (pick--) he = he->next;
    return he;
}
