/* evict.h: maxmemory eviction, as Redis 7.0's evict.c: the policies, the 24-bit access
 * field every record carries (an LRU clock, or an LFU counter with its decay time), the
 * sampled eviction pool, and evict_perform, which deletes keys until memory is under
 * the limit or a time budget is spent.
 *
 * Access field. LRU policies (and noeviction, random, ttl): a clock in units of
 * EVICT_LRU_RES_MS, modulo 2^24; a key's idle time is the clock's distance from it
 * (wrapping, as Redis's estimateObjectIdleTime). LFU policies: the high 16 bits are the
 * time of the last decrement in minutes (modulo 2^16), the low 8 bits a logarithmic
 * access counter (Redis's LFULogIncr / LFUDecrAndReturn). A record gets a fresh field
 * when it is created and keeps it when it is overwritten or its TTL changes. */
#ifndef RESPITE_EVICT_H
#define RESPITE_EVICT_H

#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

/* Policy bits and values, as Redis's MAXMEMORY_* */
#define EVICT_FLAG_LRU     (1 << 0)
#define EVICT_FLAG_LFU     (1 << 1)
#define EVICT_FLAG_ALLKEYS (1 << 2)
enum evict_policy {
    EVICT_VOLATILE_LRU = (0 << 8) | EVICT_FLAG_LRU,
    EVICT_VOLATILE_LFU = (1 << 8) | EVICT_FLAG_LFU,
    EVICT_VOLATILE_TTL = (2 << 8),
    EVICT_VOLATILE_RANDOM = (3 << 8),
    EVICT_ALLKEYS_LRU = (4 << 8) | EVICT_FLAG_LRU | EVICT_FLAG_ALLKEYS,
    EVICT_ALLKEYS_LFU = (5 << 8) | EVICT_FLAG_LFU | EVICT_FLAG_ALLKEYS,
    EVICT_ALLKEYS_RANDOM = (6 << 8) | EVICT_FLAG_ALLKEYS,
    EVICT_NOEVICTION = (7 << 8),
};

/* Settings, copied from the server's configuration whenever it changes. */
typedef struct evict_config {
    long long maxmemory; /* bytes; 0 = no limit */
    int policy;          /* enum evict_policy */
    int samples;         /* maxmemory-samples: keys sampled per db per pool refill */
    int lfu_log_factor;  /* lfu-log-factor (Redis default 10) */
    int lfu_decay_time;  /* lfu-decay-time, minutes (Redis default 1; 0 = never decay) */
} evict_config;
extern evict_config evict_cfg;

/* Keys deleted by evict_perform (INFO stats evicted_keys). */
extern long long evict_stat_evicted_keys;

/* The policy named as in redis.conf ("allkeys-lru", ...), or -1. */
int evict_policy_from_name(const char *name);

/* --- the access field --- */
#define EVICT_LRU_BITS     24
#define EVICT_LRU_MAX      ((1u << EVICT_LRU_BITS) - 1)
/* Redis's clock ticks once a second; a finer tick keeps LRU meaningful when the whole
 * keyspace turns over within a second (wraps after 46 hours). */
#define EVICT_LRU_RES_MS   10
#define EVICT_LFU_INIT_VAL 5

static inline int evict_lfu_mode(void) { return (evict_cfg.policy & EVICT_FLAG_LFU) != 0; }
static inline uint32_t evict_lru_clock(void) { return (uint32_t)(storage_now_ms / EVICT_LRU_RES_MS) & EVICT_LRU_MAX; }
/* The field of a new record under the current policy. */
uint32_t evict_access_new(void);
/* The field after one access under an LFU policy: decay, then a logarithmic increment. */
uint32_t evict_lfu_touch(uint32_t field);
/* LRU: estimated idle milliseconds of a field (wrapping clock). */
unsigned long long evict_lru_idle_ms(uint32_t field);
/* LFU: the counter after decay for the minutes elapsed since the field's time. */
unsigned evict_lfu_decr(uint32_t field);
/* LFU: counter + 1 with probability 1 / ((counter - LFU_INIT_VAL) * log_factor + 1),
 * r uniform in [0, 1) (Redis's LFULogIncr with the random number given). */
unsigned evict_lfu_log_incr(unsigned counter, double r);

/* --- the pool and eviction --- */
#define EVICT_POOL_SIZE      16
#define EVICT_POOL_KEY_CACHE 255 /* keys up to this long reuse the entry's buffer */

/* Sample up to evict_cfg.samples keys of d (only keys with a TTL for volatile policies)
 * and merge them into the pool, which keeps the EVICT_POOL_SIZE best candidates seen so
 * far (highest score last) across calls. Only for LRU, LFU and TTL policies. */
void evict_pool_populate(int dbid, db *d);
/* The pool's entries, for tests: n (<= EVICT_POOL_SIZE) scores in order, -1 ends. */
size_t evict_pool_scores(unsigned long long *scores, int *dbids, size_t max);
/* Empty the pool (FLUSHALL-like resets, tests). */
void evict_pool_clear(void);
/* The score a record would have in the pool under the current policy (higher is
 * evicted first): idle ms, 255 - decayed LFU counter, or ULLONG_MAX - expire. */
unsigned long long evict_score(const rkey *k);

enum { EVICT_OK = 0, EVICT_RUNNING = 1, EVICT_FAIL = 2 };
/* Bytes of all dbs as maxmemory counts them (db_alloc_bytes summed). */
size_t evict_storage_bytes(db **dbs, int ndb);
/* Redis's performEvictions: while storage bytes + other_bytes exceed maxmemory, pick a
 * key per the policy and delete it through db_evict (subscribers see DB_EV_EVICTED),
 * for at most budget_us (checked every 16 keys). Returns EVICT_OK when under the limit
 * (or no limit), EVICT_RUNNING when the budget ran out first, EVICT_FAIL when nothing
 * can be evicted (noeviction, or no candidate keys). */
int evict_perform(db **dbs, int ndb, size_t other_bytes, long long budget_us);

#endif
