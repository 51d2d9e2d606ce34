/* evict.c: maxmemory eviction (storage/evict.h), Redis 7.0's approximated LRU/LFU.
 *
 * No list orders the keys by age or frequency. Instead, each time a key must go, every
 * db contributes maxmemory-samples random keys (from its keys with a TTL under volatile
 * policies) to a pool of EVICT_POOL_SIZE candidates kept sorted by score, ascending;
 * the pool survives between calls, so good candidates found earlier are remembered. The
 * victim is the highest-scored entry that still exists (entries are key copies: a key
 * deleted or changed meanwhile is skipped, and a volatile policy skips a key that lost
 * its TTL). Random policies take one random key, visiting the dbs round robin.
 *
 * Invariants of the pool: entries [0, n) are filled, the rest empty; scores are
 * non-decreasing; an entry's key is its own buffer (cached for short keys, so a refill
 * allocates nothing).
 *
 * Memory is what evict_storage_bytes reports (records by malloc_usable_size plus the
 * allocator's header, tables, the last measured size of pointer-held values as their
 * types' descriptors report it) plus what the caller adds for clients: a counter, so
 * each check costs a loop over the dbs. */
#include "common/xmalloc.h"
#include "storage/evict.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/dict.h"
#include "storage/lazyfree.h"

evict_config evict_cfg = {0, EVICT_NOEVICTION, 5, 10, 1};
long long evict_stat_evicted_keys;

#define EVICT_SAMPLES_MAX 64

typedef struct evict_entry {
    unsigned long long score;
    int dbid;
    size_t klen;
    char *key; /* NULL when the entry is empty */
    char cached[EVICT_POOL_KEY_CACHE];
} evict_entry;

static evict_entry evict_pool[EVICT_POOL_SIZE];
static unsigned int evict_next_db; /* random policies: where the last search started */

int evict_policy_from_name(const char *name) {
    static const struct {
        const char *name;
        int policy;
    } names[] = {
        {"volatile-lru", EVICT_VOLATILE_LRU},       {"volatile-lfu", EVICT_VOLATILE_LFU},
        {"volatile-random", EVICT_VOLATILE_RANDOM}, {"volatile-ttl", EVICT_VOLATILE_TTL},
        {"allkeys-lru", EVICT_ALLKEYS_LRU},         {"allkeys-lfu", EVICT_ALLKEYS_LFU},
        {"allkeys-random", EVICT_ALLKEYS_RANDOM},   {"noeviction", EVICT_NOEVICTION},
    };
    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
        if (util_eqi(name, strlen(name), names[i].name)) return names[i].policy;
    return -1;
}

/* --- the access field --- */

static unsigned long evict_lfu_minutes(void) { return (unsigned long)(storage_now_ms / 60000) & 65535; }

uint32_t evict_access_new(void) {
    if (evict_lfu_mode()) return (uint32_t)(evict_lfu_minutes() << 8 | EVICT_LFU_INIT_VAL);
    return evict_lru_clock();
}

unsigned long long evict_lru_idle_ms(uint32_t field) {
    uint32_t now = evict_lru_clock();
    field &= EVICT_LRU_MAX;
    unsigned long long ticks = now >= field ? now - field : (unsigned long long)now + (EVICT_LRU_MAX - field);
    return ticks * EVICT_LRU_RES_MS;
}

unsigned evict_lfu_decr(uint32_t field) {
    unsigned long ldt = (field >> 8) & 65535, now = evict_lfu_minutes();
    unsigned long elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    unsigned long counter = field & 255;
    unsigned long periods = evict_cfg.lfu_decay_time > 0 ? elapsed / (unsigned long)evict_cfg.lfu_decay_time : 0;
    if (periods) counter = periods > counter ? 0 : counter - periods;
    return (unsigned)counter;
}

unsigned evict_lfu_log_incr(unsigned counter, double r) {
    if (counter >= 255) return 255;
    double base = (double)counter - EVICT_LFU_INIT_VAL;
    if (base < 0) base = 0;
    double p = 1.0 / (base * evict_cfg.lfu_log_factor + 1);
    return r < p ? counter + 1 : counter;
}

uint32_t evict_lfu_touch(uint32_t field) {
    double r = (double)(dict_random() >> 11) * 0x1.0p-53;
    unsigned counter = evict_lfu_log_incr(evict_lfu_decr(field), r);
    return (uint32_t)(evict_lfu_minutes() << 8 | counter);
}

unsigned long long evict_score(const rkey *k) {
    if (evict_cfg.policy & EVICT_FLAG_LRU) return evict_lru_idle_ms(rkey_access(k));
    if (evict_cfg.policy & EVICT_FLAG_LFU) return 255 - evict_lfu_decr(rkey_access(k));
    if (evict_cfg.policy == EVICT_VOLATILE_TTL) return ULLONG_MAX - (unsigned long long)rkey_expire(k);
    return 0;
}

/* --- the pool --- */

static void evict_entry_set_key(evict_entry *e, const char *key, size_t klen) {
    if (klen <= EVICT_POOL_KEY_CACHE) {
        e->key = e->cached;
    } else {
        e->key = xmalloc(klen);
    }
    memcpy(e->key, key, klen);
    e->klen = klen;
}

static void evict_entry_release(evict_entry *e) {
    if (e->key && e->key != e->cached) free(e->key);
    e->key = NULL;
    e->klen = 0;
    e->score = 0;
}

/* Move entry src's contents to dst (dst's key, if any, was released). The cached
 * buffer is copied only as far as the key needs. */
static void evict_entry_move(evict_entry *dst, evict_entry *src) {
    dst->score = src->score;
    dst->dbid = src->dbid;
    dst->klen = src->klen;
    if (src->key == src->cached) {
        memcpy(dst->cached, src->cached, src->klen);
        dst->key = dst->cached;
    } else {
        dst->key = src->key;
    }
    src->key = NULL;
}

/* Insert a candidate, as Redis's evictionPoolPopulate: find the first entry with a
 * score not below it; if the pool is full, drop the worst (entry 0) to make room, or
 * the candidate itself if it is worse than everything held. */
static void evict_pool_insert(unsigned long long score, int dbid, const char *key, size_t klen) {
    int k = 0;
    while (k < EVICT_POOL_SIZE && evict_pool[k].key && evict_pool[k].score < score) k++;
    if (k == 0 && evict_pool[EVICT_POOL_SIZE - 1].key) return;
    if (k < EVICT_POOL_SIZE && !evict_pool[k].key) {
        /* an empty slot: insert there */
    } else if (!evict_pool[EVICT_POOL_SIZE - 1].key) {
        /* room at the end: shift [k, end) one to the right */
        for (int j = EVICT_POOL_SIZE - 1; j > k; j--)
            if (evict_pool[j - 1].key) evict_entry_move(&evict_pool[j], &evict_pool[j - 1]);
    } else {
        /* full: drop entry 0, shift [1, k) one to the left, insert at k - 1 */
        k--;
        evict_entry_release(&evict_pool[0]);
        for (int j = 0; j < k; j++) evict_entry_move(&evict_pool[j], &evict_pool[j + 1]);
    }
    evict_entry *e = &evict_pool[k];
    e->score = score;
    e->dbid = dbid;
    evict_entry_set_key(e, key, klen);
}

void evict_pool_populate(int dbid, db *d) {
    rkey *sample[EVICT_SAMPLES_MAX];
    size_t want = evict_cfg.samples < 1                   ? 1
                  : evict_cfg.samples > EVICT_SAMPLES_MAX ? EVICT_SAMPLES_MAX
                                                          : (size_t)evict_cfg.samples;
    size_t n = db_sample(d, !(evict_cfg.policy & EVICT_FLAG_ALLKEYS), sample, want);
    for (size_t i = 0; i < n; i++) {
        size_t klen;
        const char *key = rkey_key(sample[i], &klen);
        evict_pool_insert(evict_score(sample[i]), dbid, key, klen);
    }
}

size_t evict_pool_scores(unsigned long long *scores, int *dbids, size_t max) {
    size_t n = 0;
    for (int k = 0; k < EVICT_POOL_SIZE && n < max && evict_pool[k].key; k++, n++) {
        if (scores) scores[n] = evict_pool[k].score;
        if (dbids) dbids[n] = evict_pool[k].dbid;
    }
    return n;
}

void evict_pool_clear(void) {
    for (int k = 0; k < EVICT_POOL_SIZE; k++) evict_entry_release(&evict_pool[k]);
}

/* --- choosing and deleting --- */

size_t evict_storage_bytes(db **dbs, int ndb) { return db_alloc_bytes_all(dbs, ndb); }

/* The best pool candidate that still exists: its key copied into *key (a buffer the
 * caller frees if it is not buf) and its db index. Refills the pool from every db
 * until a candidate is found; 0 if no db has a candidate key at all. */
static int evict_pick_pooled(db **dbs, int ndb, char *buf, char **key, size_t *klen, int *dbid) {
    int volatile_only = !(evict_cfg.policy & EVICT_FLAG_ALLKEYS);
    for (;;) {
        size_t total = 0;
        for (int i = 0; i < ndb; i++) {
            size_t size = volatile_only ? db_expires_size(dbs[i]) : db_size(dbs[i]);
            if (size) {
                evict_pool_populate(i, dbs[i]);
                total += size;
            }
        }
        if (!total) return 0;
        for (int k = EVICT_POOL_SIZE - 1; k >= 0; k--) {
            evict_entry *e = &evict_pool[k];
            if (!e->key) continue;
            int id = e->dbid;
            rkey *rk = id < ndb ? db_peek(dbs[id], e->key, e->klen) : NULL;
            if (rk && volatile_only && rkey_expire(rk) < 0) rk = NULL;
            if (rk) {
                *klen = e->klen;
                *key = e->klen <= EVICT_POOL_KEY_CACHE ? buf : xmalloc(e->klen);
                memcpy(*key, e->key, e->klen);
                *dbid = id;
            }
            evict_entry_release(e);
            if (rk) return 1;
        }
    }
}

/* A random key, trying the dbs round robin from where the last search started. */
static int evict_pick_random(db **dbs, int ndb, char *buf, char **key, size_t *klen, int *dbid) {
    int volatile_only = !(evict_cfg.policy & EVICT_FLAG_ALLKEYS);
    for (int i = 0; i < ndb; i++) {
        int id = (int)(++evict_next_db % (unsigned)ndb);
        rkey *rk;
        if (db_sample(dbs[id], volatile_only, &rk, 1) == 1) {
            const char *k = rkey_key(rk, klen);
            *key = *klen <= EVICT_POOL_KEY_CACHE ? buf : xmalloc(*klen ? *klen : 1);
            memcpy(*key, k, *klen);
            *dbid = id;
            return 1;
        }
    }
    return 0;
}

int evict_perform(db **dbs, int ndb, size_t other_bytes, long long budget_us) {
    if (evict_cfg.maxmemory <= 0) return EVICT_OK;
    size_t limit = (size_t)evict_cfg.maxmemory;
    size_t used = evict_storage_bytes(dbs, ndb) + other_bytes;
    if (used <= limit) return EVICT_OK;
    if (evict_cfg.policy == EVICT_NOEVICTION) return EVICT_FAIL;
    size_t tofree = used - limit, freed = 0;
    long long start = util_monotonic_us();
    unsigned long keys = 0;
    int pooled = (evict_cfg.policy & (EVICT_FLAG_LRU | EVICT_FLAG_LFU)) || evict_cfg.policy == EVICT_VOLATILE_TTL;
    while (freed < tofree) {
        char buf[EVICT_POOL_KEY_CACHE], *key;
        size_t klen;
        int id;
        int found = pooled ? evict_pick_pooled(dbs, ndb, buf, &key, &klen, &id)
                           : evict_pick_random(dbs, ndb, buf, &key, &klen, &id);
        if (!found) return EVICT_FAIL;
        size_t before = db_alloc_bytes(dbs[id]);
        /* An expired victim is reclaimed (and counted) as expired, not evicted. */
        if (db_evict(dbs[id], key, klen, lazyfree_cfg.lazy_eviction)) evict_stat_evicted_keys++;
        size_t after = db_alloc_bytes(dbs[id]);
        freed += before > after ? before - after : 0;
        if (key != buf) free(key);
        if ((++keys & 15) == 0 && util_monotonic_us() - start >= budget_us)
            return freed >= tofree ? EVICT_OK : EVICT_RUNNING;
    }
    return EVICT_OK;
}
