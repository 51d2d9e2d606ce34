/* test_evict.c: unit tests of maxmemory eviction (storage/evict.c): the LFU logarithmic
 * counter and its decay, the LRU clock's idle estimate (with wrap-around), the
 * eviction pool's order and capacity, sampling only keys with a TTL under volatile
 * policies, and evict_perform under each policy (which keys go, evicted_keys, memory
 * back under the limit, noeviction and no-candidate failures, the eviction event). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/db.h"
#include "storage/evict.h"
#include "storage/type.h"

#define REQ(cond)                                                                                                      \
    do {                                                                                                               \
        if (!(cond)) ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #cond);                                     \
    } while (0)

static const long long T0 = 1700000000000LL; /* a fixed "now" */

static void setup(void) {
    storage_now_ms = T0;
    types_init();
    evict_cfg = (evict_config){0, EVICT_NOEVICTION, 5, 10, 1};
    evict_pool_clear();
    evict_stat_evicted_keys = 0;
}

static void teardown(void) { evict_pool_clear(); }

static void set_key(db *d, const char *prefix, long i, size_t vlen) {
    char k[64], v[4096];
    int n = snprintf(k, sizeof(k), "%s%ld", prefix, i);
    memset(v, 'v', vlen);
    db_set_string(d, k, (size_t)n, v, vlen, 0);
}

static int has_key(db *d, const char *prefix, long i) {
    char k[64];
    int n = snprintf(k, sizeof(k), "%s%ld", prefix, i);
    return db_peek(d, k, (size_t)n) != NULL;
}

/* --- LFU counter --- */

START_TEST(test_lfu_log_incr) {
    /* At or below LFU_INIT_VAL every access counts. */
    REQ(evict_lfu_log_incr(0, 0.999) == 1);
    REQ(evict_lfu_log_incr(5, 0.999) == 6);
    /* Above it: p = 1 / ((c - 5) * factor + 1). c = 6, factor 10: p = 1/11. */
    REQ(evict_lfu_log_incr(6, 0.0) == 7);
    REQ(evict_lfu_log_incr(6, 1.0 / 11 - 1e-9) == 7);
    REQ(evict_lfu_log_incr(6, 1.0 / 11 + 1e-9) == 6);
    REQ(evict_lfu_log_incr(255, 0.0) == 255);
    /* Factor 0: always increments. */
    evict_cfg.lfu_log_factor = 0;
    REQ(evict_lfu_log_incr(100, 0.999) == 101);
    evict_cfg.lfu_log_factor = 10;

    /* As Redis's table for factor 10: ~1M accesses saturate near 255, 100 accesses
     * stay around 10-20. Deterministic pseudo-random r. */
    unsigned c = EVICT_LFU_INIT_VAL;
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; i < 100; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = evict_lfu_log_incr(c, (double)(x >> 11) * 0x1.0p-53);
    }
    REQ(c >= 8 && c <= 25);
    for (int i = 0; i < 1000000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = evict_lfu_log_incr(c, (double)(x >> 11) * 0x1.0p-53);
    }
    REQ(c >= 200);
}
END_TEST

START_TEST(test_lfu_decay) {
    evict_cfg.policy = EVICT_ALLKEYS_LFU;
    unsigned long min = (unsigned long)(T0 / 60000) & 65535;
    uint32_t f = (uint32_t)(min << 8 | 20);
    REQ(evict_lfu_decr(f) == 20);
    storage_now_ms = T0 + 3 * 60000; /* 3 minutes, decay time 1: -3 */
    REQ(evict_lfu_decr(f) == 17);
    evict_cfg.lfu_decay_time = 2; /* 3 / 2 = 1 period */
    REQ(evict_lfu_decr(f) == 19);
    evict_cfg.lfu_decay_time = 0; /* never decays */
    REQ(evict_lfu_decr(f) == 20);
    evict_cfg.lfu_decay_time = 1;
    storage_now_ms = T0 + 100LL * 60000; /* more periods than the counter */
    REQ(evict_lfu_decr(f) == 0);
    /* The minutes wrap at 2^16: a field stamped 65535 read at minute 2 is 2 minutes old
     * by Redis's LFUTimeElapsed (65535 - ldt + now). */
    long long base = (T0 / 60000 / 65536 + 1) * 65536 * 60000; /* minute 0 mod 2^16 */
    storage_now_ms = base + 2 * 60000;
    REQ(evict_lfu_decr((uint32_t)(65535u << 8 | 10)) == 8);
}
END_TEST

/* A touch decays first, then increments (probabilistically above LFU_INIT_VAL: 20 - 5
 * = 15 becomes 16 with p = 1/101), and stamps the current minute. */
START_TEST(test_lfu_touch_range) {
    evict_cfg.policy = EVICT_ALLKEYS_LFU;
    unsigned long min = (unsigned long)(T0 / 60000) & 65535;
    uint32_t f = (uint32_t)(min << 8 | 20);
    storage_now_ms = T0 + 5 * 60000;
    for (int i = 0; i < 100; i++) {
        uint32_t t = evict_lfu_touch(f);
        REQ((t & 255) == 15 || (t & 255) == 16);
        REQ((t >> 8) == (((unsigned long)(storage_now_ms / 60000)) & 65535));
    }
    /* A new record under LFU starts at LFU_INIT_VAL and the current minute. */
    REQ((evict_access_new() & 255) == EVICT_LFU_INIT_VAL);
}
END_TEST

/* --- LRU clock --- */

START_TEST(test_lru_idle) {
    evict_cfg.policy = EVICT_ALLKEYS_LRU;
    uint32_t f = evict_lru_clock();
    REQ(evict_lru_idle_ms(f) == 0);
    storage_now_ms += 1234;
    REQ(evict_lru_idle_ms(f) == 1230); /* 10 ms ticks */
    /* Wrap: a field just below the top of the clock, read just after it wrapped. */
    long long wrap = ((T0 / EVICT_LRU_RES_MS / (EVICT_LRU_MAX + 1LL)) + 1) * (EVICT_LRU_MAX + 1LL) * EVICT_LRU_RES_MS;
    storage_now_ms = wrap + 5 * EVICT_LRU_RES_MS;
    REQ(evict_lru_clock() == 5);
    REQ(evict_lru_idle_ms(EVICT_LRU_MAX - 2) == (unsigned long long)(5 + 2) * EVICT_LRU_RES_MS);
}
END_TEST

START_TEST(test_lookup_updates_access) {
    db *d = db_create(0);
    evict_cfg.policy = EVICT_ALLKEYS_LRU;
    set_key(d, "k", 1, 10);
    rkey *k = db_peek(d, "k1", 2);
    REQ(rkey_access(k) == evict_lru_clock());
    storage_now_ms += 5000;
    REQ(evict_score(k) == 5000);
    /* db_peek and db_sample do not touch; db_lookup_read does. */
    rkey *s;
    REQ(db_sample(d, 0, &s, 1) == 1 && s == k);
    REQ(evict_score(k) == 5000);
    REQ(db_lookup_read(d, "k1", 2) == k);
    REQ(evict_score(k) == 0);
    /* Overwriting and adding a TTL keep the field (as Redis keeps the object's). */
    storage_now_ms += 3000;
    set_key(d, "k", 1, 10); /* same shape: in place, looked up: now */
    REQ(evict_score(db_peek(d, "k1", 2)) == 0);
    storage_now_ms += 3000;
    k = db_set_expire(d, db_peek(d, "k1", 2), storage_now_ms + 100000);
    REQ(evict_score(k) == 3000);
    db_destroy(d);
}
END_TEST

/* The field moves with the key: string resize, rename, move, TTL set and removed. */
START_TEST(test_access_survives_record_moves) {
    db *d = db_create(0), *d2 = db_create(1);
    evict_cfg.policy = EVICT_ALLKEYS_LRU;
    set_key(d, "k", 1, 10);
    rkey *k = db_peek(d, "k1", 2);
    rkey_set_access(k, 0x123456);
    REQ(rkey_access(k) == 0x123456);
    k = db_set_expire(d, k, storage_now_ms + 100000);
    REQ(rkey_access(k) == 0x123456);
    db_string_resize(d, &k, 300); /* grows: a new, wider record */
    REQ(rkey_access(k) == 0x123456);
    db_string_resize(d, &k, 5000); /* RAW realloc path */
    REQ(rkey_access(k) == 0x123456);
    k = db_persist(d, k);
    REQ(rkey_access(k) == 0x123456);
    k = db_rename(d, "k1", 2, "renamed", 7); /* the lookup in rename is an access */
    REQ(rkey_access(k) == evict_lru_clock());
    rkey_set_access(k, 0x654321);
    storage_now_ms += 1000;
    REQ(db_move(d, d2, "renamed", 7) == 1); /* so is the one in move */
    REQ(rkey_access(db_peek(d2, "renamed", 7)) == evict_lru_clock());
    db_destroy(d);
    db_destroy(d2);
}
END_TEST

/* Pointer-held values count in the db's bytes as their type's memory measures them, again
 * on every lookup and db_touch, and leave with the key. */
static size_t fake_size = 1000;
static size_t fake_memory(const void *p) {
    (void)p;
    return fake_size;
}
static void fake_free(void *p) { free(p); }
static const char *fake_encoding(const rkey *k) {
    (void)k;
    return "stream";
}
static const value_type fake_type = {
    .name = "stream", .id = OBJ_STREAM, .encoding = fake_encoding, .free = fake_free, .memory = fake_memory};

START_TEST(test_ptr_values_counted) {
    const value_type *saved = type_register(&fake_type);
    db *d = db_create(0), *d2 = db_create(1);
    size_t empty = db_memory(d);
    fake_size = 1000;
    db_add_ptr(d, "s", 1, OBJ_STREAM, malloc(8));
    size_t one = db_memory(d) - empty;
    REQ(one >= 1000 && one < 1100);
    fake_size = 5000; /* the value grew in place */
    db_touch(d, db_peek(d, "s", 1));
    REQ(db_memory(d) - empty == one + 4000);
    fake_size = 7000;
    REQ(db_lookup_read(d, "s", 1));
    REQ(db_memory(d) - empty == one + 6000);
    REQ(db_rename(d, "s", 1, "t", 1));
    REQ(db_memory(d) - empty == one + 6000);
    REQ(db_move(d, d2, "t", 1) == 1);
    REQ(db_memory(d) < empty + 100); /* (the emptied bucket array stays) */
    REQ(db_memory(d2) - empty == one + 6000);
    db_set_string(d2, "t", 1, "x", 1, 0); /* a string replaces the value */
    REQ(db_memory(d2) - empty < 100);
    db_destroy(d);
    db_destroy(d2);
    if (saved) type_register(saved);
}
END_TEST

/* --- the pool --- */

START_TEST(test_pool_keeps_best) {
    db *d = db_create(0);
    evict_cfg.policy = EVICT_ALLKEYS_LRU;
    evict_cfg.samples = 64;
    /* 200 keys with idle times 0..199 s (key i idle i seconds). */
    long long now = storage_now_ms;
    for (long i = 0; i < 200; i++) {
        storage_now_ms = now - i * 1000;
        set_key(d, "k", i, 8);
    }
    storage_now_ms = now;
    for (int round = 0; round < 20; round++) evict_pool_populate(0, d);
    unsigned long long sc[EVICT_POOL_SIZE];
    int ids[EVICT_POOL_SIZE];
    size_t n = evict_pool_scores(sc, ids, EVICT_POOL_SIZE);
    REQ(n == EVICT_POOL_SIZE);
    for (size_t i = 1; i < n; i++) REQ(sc[i - 1] <= sc[i]); /* ascending: best last */
    for (size_t i = 0; i < n; i++) REQ(ids[i] == 0);
    /* 20 x 64 samples of 200 keys: the best entries are the oldest keys. */
    REQ(sc[n - 1] >= 195 * 1000);
    REQ(sc[0] >= 150 * 1000);
    db_destroy(d);
}
END_TEST

START_TEST(test_pool_insert_order) {
    /* Few distinct keys: the pool holds each sampled key once per sampling, sorted. */
    db *d = db_create(3);
    evict_cfg.policy = EVICT_VOLATILE_TTL;
    for (long i = 0; i < 4; i++) {
        set_key(d, "t", i, 8);
        char k[8];
        int n = snprintf(k, sizeof(k), "t%ld", i);
        db_set_expire(d, db_peek(d, k, (size_t)n), storage_now_ms + 1000 * (i + 1));
    }
    set_key(d, "p", 0, 8); /* no TTL: never sampled */
    evict_pool_populate(3, d);
    unsigned long long sc[EVICT_POOL_SIZE];
    int ids[EVICT_POOL_SIZE];
    size_t n = evict_pool_scores(sc, ids, EVICT_POOL_SIZE);
    REQ(n == 5); /* samples = 5, with repeats */
    for (size_t i = 0; i < n; i++) {
        REQ(ids[i] == 3);
        long long exp = (long long)(ULLONG_MAX - sc[i]);
        REQ(exp > storage_now_ms && exp <= storage_now_ms + 4000);
        if (i) REQ(sc[i - 1] <= sc[i]);
    }
    db_destroy(d);
}
END_TEST

START_TEST(test_sample_volatile_only) {
    db *d = db_create(0);
    for (long i = 0; i < 100; i++) set_key(d, "p", i, 8);
    rkey *s[16];
    REQ(db_sample(d, 1, s, 16) == 0);
    set_key(d, "t", 0, 8);
    db_set_expire(d, db_peek(d, "t0", 2), storage_now_ms + 5000);
    REQ(db_sample(d, 1, s, 16) == 16);
    for (int i = 0; i < 16; i++) REQ(rkey_expire(s[i]) == storage_now_ms + 5000);
    REQ(db_sample(d, 0, s, 16) == 16);
    db_destroy(d);
}
END_TEST

/* --- evict_perform --- */

static db *fill(int ttl_every, size_t vlen, long n) {
    db *d = db_create(0);
    for (long i = 0; i < n; i++) {
        set_key(d, "k", i, vlen);
        if (ttl_every && i % ttl_every == 0) {
            char k[32];
            int m = snprintf(k, sizeof(k), "k%ld", i);
            db_set_expire(d, db_peek(d, k, (size_t)m), storage_now_ms + 1000000 + i);
        }
    }
    return d;
}

START_TEST(test_perform_noeviction) {
    db *d = fill(0, 100, 1000);
    db *dbs[1] = {d};
    evict_cfg.maxmemory = (long long)evict_storage_bytes(dbs, 1) / 2;
    evict_cfg.policy = EVICT_NOEVICTION;
    REQ(evict_perform(dbs, 1, 0, 100000) == EVICT_FAIL);
    REQ(db_size(d) == 1000);
    evict_cfg.maxmemory = 0;
    REQ(evict_perform(dbs, 1, 0, 100000) == EVICT_OK);
    db_destroy(d);
}
END_TEST

static int hook_count;
static void hook(void *priv, const db_event *ev) {
    (void)priv;
    if (ev->type == DB_EV_EVICTED) hook_count++;
}

START_TEST(test_perform_allkeys_lru_hot_set) {
    evict_cfg.policy = EVICT_ALLKEYS_LRU;
    long long now = storage_now_ms;
    db *d = db_create(0);
    /* 2000 keys written over 20 s; keys 0..99 read just now (hot). */
    for (long i = 0; i < 2000; i++) {
        storage_now_ms = now - 20000 + i * 10;
        set_key(d, "k", i, 100);
    }
    storage_now_ms = now;
    for (long i = 0; i < 100; i++) {
        char k[32];
        int m = snprintf(k, sizeof(k), "k%ld", i);
        REQ(db_lookup_read(d, k, (size_t)m));
    }
    db *dbs[1] = {d};
    size_t full = evict_storage_bytes(dbs, 1);
    evict_cfg.maxmemory = (long long)(full / 2);
    int handle = db_subscribe(hook, NULL);
    hook_count = 0;
    int r;
    do r = evict_perform(dbs, 1, 0, 1000000);
    while (r == EVICT_RUNNING);
    REQ(r == EVICT_OK);
    REQ(evict_storage_bytes(dbs, 1) <= full / 2);
    REQ(evict_stat_evicted_keys > 500);
    REQ(hook_count == evict_stat_evicted_keys);
    db_unsubscribe(handle);
    REQ(db_size(d) == 2000 - (size_t)evict_stat_evicted_keys);
    int hot = 0, newest = 0;
    for (long i = 0; i < 100; i++) hot += has_key(d, "k", i);
    for (long i = 1900; i < 2000; i++) newest += has_key(d, "k", i);
    REQ(hot >= 98); /* sampling: the hot set survives */
    REQ(newest >= 95);
    /* Most of the evicted keys are the oldest ones (100..~1000). */
    int old = 0;
    for (long i = 100; i < 400; i++) old += has_key(d, "k", i);
    REQ(old < 60);
    db_destroy(d);
}
END_TEST

START_TEST(test_perform_allkeys_lfu) {
    evict_cfg.policy = EVICT_ALLKEYS_LFU;
    db *d = fill(0, 100, 2000);
    /* Keys 0..199 read 50 times each. */
    for (int r = 0; r < 50; r++)
        for (long i = 0; i < 200; i++) {
            char k[32];
            int m = snprintf(k, sizeof(k), "k%ld", i);
            REQ(db_lookup_read(d, k, (size_t)m));
        }
    db *dbs[1] = {d};
    evict_cfg.maxmemory = (long long)(evict_storage_bytes(dbs, 1) / 3);
    int r;
    do r = evict_perform(dbs, 1, 0, 1000000);
    while (r == EVICT_RUNNING);
    REQ(r == EVICT_OK);
    int freq = 0;
    for (long i = 0; i < 200; i++) freq += has_key(d, "k", i);
    REQ(freq >= 195);
    db_destroy(d);
}
END_TEST

START_TEST(test_perform_volatile) {
    static const int policies[] = {EVICT_VOLATILE_LRU, EVICT_VOLATILE_LFU, EVICT_VOLATILE_RANDOM, EVICT_VOLATILE_TTL};
    for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
        evict_pool_clear();
        evict_stat_evicted_keys = 0;
        evict_cfg.policy = policies[p];
        db *d = fill(2, 100, 2000); /* even keys have a TTL */
        db *dbs[1] = {d};
        size_t full = evict_storage_bytes(dbs, 1);
        evict_cfg.maxmemory = (long long)(full * 3 / 4);
        int r;
        do r = evict_perform(dbs, 1, 0, 1000000);
        while (r == EVICT_RUNNING);
        REQ(r == EVICT_OK);
        for (long i = 1; i < 2000; i += 2) REQ(has_key(d, "k", i)); /* keys without a TTL all stay */
        REQ(evict_stat_evicted_keys > 100);
        if (policies[p] == EVICT_VOLATILE_TTL) {
            /* The nearest expiries (smallest i) went first. */
            int early = 0, late = 0;
            for (long i = 0; i < 200; i += 2) early += has_key(d, "k", i);
            for (long i = 1800; i < 2000; i += 2) late += has_key(d, "k", i);
            REQ(early < 20);
            REQ(late >= 95);
        }
        /* Beyond what the TTL keys hold: they all go, then the policy fails. */
        evict_cfg.maxmemory = (long long)(full / 4);
        do r = evict_perform(dbs, 1, 0, 1000000);
        while (r == EVICT_RUNNING);
        REQ(r == EVICT_FAIL);
        REQ(db_expires_size(d) == 0);
        REQ(db_size(d) == 1000);
        db_destroy(d);
    }
}
END_TEST

START_TEST(test_perform_allkeys_random_multi_db) {
    evict_cfg.policy = EVICT_ALLKEYS_RANDOM;
    db *a = fill(0, 100, 1000), *b = fill(0, 100, 1000);
    db *dbs[2] = {a, b};
    evict_cfg.maxmemory = (long long)(evict_storage_bytes(dbs, 2) / 2);
    int r;
    do r = evict_perform(dbs, 2, 0, 1000000);
    while (r == EVICT_RUNNING);
    REQ(r == EVICT_OK);
    REQ(db_size(a) < 800 && db_size(b) < 800); /* both dbs gave keys */
    REQ(evict_storage_bytes(dbs, 2) <= (size_t)evict_cfg.maxmemory);
    /* other_bytes (clients) count against the limit too. */
    REQ(evict_perform(dbs, 2, 1000000000, 1000000) == EVICT_FAIL);
    REQ(db_size(a) == 0 && db_size(b) == 0);
    db_destroy(a);
    db_destroy(b);
}
END_TEST

START_TEST(test_perform_budget) {
    /* A zero budget stops after 16 keys and says eviction is still running. */
    evict_cfg.policy = EVICT_ALLKEYS_LRU;
    db *d = fill(0, 100, 5000);
    db *dbs[1] = {d};
    evict_cfg.maxmemory = (long long)(evict_storage_bytes(dbs, 1) / 2);
    REQ(evict_perform(dbs, 1, 0, 0) == EVICT_RUNNING);
    REQ(db_size(d) == 5000 - 16);
    db_destroy(d);
}
END_TEST

START_TEST(test_policy_names) {
    REQ(evict_policy_from_name("allkeys-lru") == EVICT_ALLKEYS_LRU);
    REQ(evict_policy_from_name("VOLATILE-TTL") == EVICT_VOLATILE_TTL);
    REQ(evict_policy_from_name("noeviction") == EVICT_NOEVICTION);
    REQ(evict_policy_from_name("lru") == -1);
    REQ(evict_policy_from_name(NULL) == -1);
}
END_TEST

static Suite *evict_suite(void) {
    Suite *s = suite_create("evict");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lfu_log_incr);
    tcase_add_test(tc, test_lfu_decay);
    tcase_add_test(tc, test_lfu_touch_range);
    tcase_add_test(tc, test_lru_idle);
    tcase_add_test(tc, test_lookup_updates_access);
    tcase_add_test(tc, test_access_survives_record_moves);
    tcase_add_test(tc, test_ptr_values_counted);
    tcase_add_test(tc, test_pool_keeps_best);
    tcase_add_test(tc, test_pool_insert_order);
    tcase_add_test(tc, test_sample_volatile_only);
    tcase_add_test(tc, test_perform_noeviction);
    tcase_add_test(tc, test_perform_allkeys_lru_hot_set);
    tcase_add_test(tc, test_perform_allkeys_lfu);
    tcase_add_test(tc, test_perform_volatile);
    tcase_add_test(tc, test_perform_allkeys_random_multi_db);
    tcase_add_test(tc, test_perform_budget);
    tcase_add_test(tc, test_policy_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(evict_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
