/* test_db.c: unit tests of the keyspace (storage/db.c) and its hash table (storage/dict.c):
 * bulk inserts/deletes, binary keys, encodings, string resize, TTL moves, SCAN under
 * rehashing, lazy and active expiry, RANDOMKEY, rename/move/swap/flush, the touch hook. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/db.h"
#include "storage/dict.h"
#include "storage/type.h"

/* Check writes the location of every passing assertion to its pipe, which costs a system
 * call; in loops of 100k checks that dominates. REQ calls into Check only on failure. */
#define REQ(cond)                                                                                                      \
    do {                                                                                                               \
        if (!(cond)) ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #cond);                                     \
    } while (0)
#define REQ_STREQ(a, b) REQ(strcmp((a), (b)) == 0)
#define REQ_MSG(cond, ...)                                                                                             \
    do {                                                                                                               \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                                                                        \
    } while (0)

/* --- helpers --- */

static int keyf(char *buf, const char *prefix, long i) { return snprintf(buf, 64, "%s%ld", prefix, i); }

static int str_is(const rkey *k, const char *want, size_t wlen) {
    char tmp[UTIL_LLSTR_SIZE];
    size_t len;
    const char *v = rkey_str(k, &len, tmp);
    return len == wlen && (wlen == 0 || memcmp(v, want, wlen) == 0);
}

/* A keyspace-event subscriber that records the events it gets. */
#define HOOK_MAX 64
static struct hook_call {
    int dbid, other;
    int type;
    int null;
    char key[64];
    size_t klen;
} hook_log[HOOK_MAX];
static int hook_calls;
static int hook_handle = -1;

static void hook_record(void *priv, const db_event *ev) {
    (void)priv;
    if (hook_calls < HOOK_MAX) {
        struct hook_call *c = &hook_log[hook_calls];
        c->dbid = db_id(ev->d);
        c->other = ev->other ? db_id(ev->other) : -1;
        c->type = ev->type;
        c->null = ev->key == NULL;
        c->klen = ev->klen < sizeof(c->key) ? ev->klen : sizeof(c->key);
        if (ev->key) memcpy(c->key, ev->key, c->klen);
    }
    hook_calls++;
}

static void hook_off(void) {
    db_unsubscribe(hook_handle);
    hook_handle = -1;
}

static int hook_saw(int dbid, const char *key) {
    for (int i = 0; i < hook_calls && i < HOOK_MAX; i++) {
        struct hook_call *c = &hook_log[i];
        if (c->dbid != dbid) continue;
        if (key == NULL ? c->null : (!c->null && c->klen == strlen(key) && memcmp(c->key, key, c->klen) == 0)) return 1;
    }
    return 0;
}

static void hook_reset(void) {
    hook_calls = 0;
    if (hook_handle < 0) hook_handle = db_subscribe(hook_record, NULL);
}

static int ptr_frees;
static void ptr_free(void *p) {
    ptr_frees++;
    free(p);
}

/* Pointer values in these tests are plain malloc'd blocks stored as streams: a stand-in
 * stream type frees them (and counts the frees). */
static const char *fake_stream_encoding(const rkey *k) {
    (void)k;
    return "stream";
}
static const value_type fake_stream_type = {
    .name = "stream", .id = OBJ_STREAM, .encoding = fake_stream_encoding, .free = ptr_free};

static void setup(void) {
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    util_hash_seed(seed);
    storage_now_ms = 1000000;
    memset(&storage_stat, 0, sizeof(storage_stat));
    hook_off();
    types_init();
    type_register(&fake_stream_type);
    ptr_frees = 0;
}

/* --- bulk --- */

START_TEST(test_bulk_insert_delete) {
    db *d = db_create(0);
    char k[64], v[64];
    const long n = 150000;
    size_t empty_mem = db_memory(d);
    for (long i = 0; i < n; i++) {
        int kl = keyf(k, "key:", i), vl = keyf(v, "value-", i * 7);
        db_set_string(d, k, (size_t)kl, v, (size_t)vl, 0);
    }
    REQ(db_size(d) == (size_t)n);
    for (long i = 0; i < n; i++) {
        int kl = keyf(k, "key:", i), vl = keyf(v, "value-", i * 7);
        rkey *r = db_lookup_read(d, k, (size_t)kl);
        REQ(r != NULL);
        REQ(str_is(r, v, (size_t)vl));
        size_t len;
        const char *kk = rkey_key(r, &len);
        REQ(len == (size_t)kl);
        REQ(memcmp(kk, k, len) == 0);
    }
    REQ(storage_stat.keyspace_hits == n);
    REQ(db_lookup_read(d, "nope", 4) == NULL);
    REQ(storage_stat.keyspace_misses == 1);
    /* Delete the odd ones, then check both halves. */
    for (long i = 1; i < n; i += 2) {
        int kl = keyf(k, "key:", i);
        REQ(db_delete(d, k, (size_t)kl) == 1);
        REQ(db_delete(d, k, (size_t)kl) == 0);
    }
    REQ(db_size(d) == (size_t)n / 2);
    for (long i = 0; i < n; i++) {
        int kl = keyf(k, "key:", i);
        rkey *r = db_lookup_write(d, k, (size_t)kl);
        if (i % 2) REQ(r == NULL);
        else REQ(r != NULL);
    }
    for (long i = 0; i < n; i += 2) {
        int kl = keyf(k, "key:", i);
        REQ(db_delete(d, k, (size_t)kl) == 1);
    }
    REQ(db_size(d) == 0);
    /* The table shrinks back once the background steps finish the rehash. */
    while (db_rehash_step(d, 1000))
        ;
    while (db_rehash_step(d, 1000))
        ;
    REQ(db_memory(d) <= empty_mem + 4096);
    db_destroy(d);
}
END_TEST

START_TEST(test_binary_keys) {
    db *d = db_create(0);
    const char k1[] = {'a', 0, 'b'}, k2[] = {'a', 0, 'c'}, k3[] = {0}, k4[] = {0, 0};
    db_set_string(d, k1, 3, "one", 3, 0);
    db_set_string(d, k2, 3, "two", 3, 0);
    db_set_string(d, "a", 1, "three", 5, 0);
    db_set_string(d, k3, 1, "four", 4, 0);
    db_set_string(d, k4, 2, "\0x\0", 3, 0);
    db_set_string(d, "", 0, "empty", 5, 0);
    REQ(db_size(d) == 6);
    REQ(str_is(db_lookup_read(d, k1, 3), "one", 3));
    REQ(str_is(db_lookup_read(d, k2, 3), "two", 3));
    REQ(str_is(db_lookup_read(d, "a", 1), "three", 5));
    REQ(str_is(db_lookup_read(d, k3, 1), "four", 4));
    REQ(str_is(db_lookup_read(d, k4, 2), "\0x\0", 3));
    REQ(str_is(db_lookup_read(d, "", 0), "empty", 5));
    REQ(db_lookup_read(d, k1, 2) == NULL);
    REQ(db_delete(d, k1, 3) == 1);
    REQ(db_lookup_read(d, k2, 3) != NULL);
    REQ(db_lookup_read(d, "a", 1) != NULL);
    /* A long binary key and value (2- and 4-byte length fields). */
    size_t big = 70000;
    char *bk = malloc(big), *bv = malloc(big);
    for (size_t i = 0; i < big; i++) {
        bk[i] = (char)(i * 31);
        bv[i] = (char)(i * 17);
    }
    db_set_string(d, bk, 300, bv, 300, 0);
    db_set_string(d, bk, big, bv, big, 0);
    REQ(str_is(db_lookup_read(d, bk, 300), bv, 300));
    REQ(str_is(db_lookup_read(d, bk, big), bv, big));
    REQ_STREQ(rkey_encoding(db_lookup_read(d, bk, big)), "raw");
    free(bk);
    free(bv);
    db_destroy(d);
}
END_TEST

/* --- encodings --- */

START_TEST(test_int_encoding) {
    db *d = db_create(0);
    char tmp[UTIL_LLSTR_SIZE];
    size_t len;
    rkey *k = db_set_string(d, "n", 1, "12345", 5, 0);
    REQ(rkey_is_int(k));
    REQ(rkey_int(k) == 12345);
    REQ_STREQ(rkey_encoding(k), "int");
    REQ(rkey_strlen(k) == 5);
    REQ(str_is(k, "12345", 5));
    k = db_set_string(d, "n", 1, "-9223372036854775808", 20, 0);
    REQ(rkey_is_int(k));
    REQ(rkey_int(k) == INT64_MIN);
    REQ_STREQ(rkey_str(k, &len, tmp), "-9223372036854775808");
    /* Not canonical integers: stored as strings. */
    const char *notint[] = {"0123", "+1", " 1", "1 ", "", "9223372036854775808", "1.5", "-0", "abc"};
    for (size_t i = 0; i < sizeof(notint) / sizeof(*notint); i++) {
        k = db_set_string(d, "s", 1, notint[i], strlen(notint[i]), 0);
        REQ_MSG(!rkey_is_int(k), "%s", notint[i]);
        REQ_STREQ(rkey_encoding(k), "embstr");
        REQ(str_is(k, notint[i], strlen(notint[i])));
        REQ(rkey_strlen(k) == strlen(notint[i]));
        REQ(rkey_type(k) == OBJ_STRING);
    }
    k = db_set_string(d, "z", 1, "0", 1, 0);
    REQ(rkey_is_int(k));
    /* Redis's embstr limit is 44 bytes. */
    char v[64];
    memset(v, 'x', sizeof(v));
    REQ_STREQ(rkey_encoding(db_set_string(d, "e", 1, v, 44, 0)), "embstr");
    REQ_STREQ(rkey_encoding(db_set_string(d, "e", 1, v, 45, 0)), "raw");
    /* db_set_int */
    k = db_set_int(d, "i", 1, 42);
    REQ(rkey_is_int(k));
    REQ(str_is(k, "42", 2));
    k = db_set_int(d, "i", 1, INT64_MAX);
    REQ(rkey_int(k) == INT64_MAX);
    REQ(rkey_strlen(k) == 19);
    /* INCR on a string value turns it into an int. */
    k = db_set_int(d, "e", 1, -7);
    REQ(rkey_is_int(k));
    REQ(str_is(db_lookup_read(d, "e", 1), "-7", 2));
    REQ(db_size(d) == 5);
    db_destroy(d);
}
END_TEST

START_TEST(test_string_resize) {
    db *d = db_create(0);
    /* Appends grow with headroom: few moves for many appends. */
    rkey *k = db_set_string(d, "s", 1, "hello", 5, 0);
    REQ_STREQ(rkey_encoding(k), "embstr");
    char *expect = malloc(200000);
    memcpy(expect, "hello", 5);
    size_t len = 5;
    int moves = 0;
    for (int i = 0; i < 20000; i++) {
        rkey *before = k;
        char *p = db_string_resize(d, &k, len + 7);
        memcpy(p + len, "0123456", 7);
        memcpy(expect + len, "0123456", 7);
        len += 7;
        if (k != before) moves++;
    }
    REQ(moves <= 40);
    REQ_STREQ(rkey_encoding(k), "raw");
    REQ(str_is(db_lookup_read(d, "s", 1), expect, len));
    /* Growth is zero-filled; shrinking keeps the prefix. */
    k = db_lookup_write(d, "s", 1);
    char *p = db_string_resize(d, &k, len + 100);
    for (size_t i = len; i < len + 100; i++) REQ(p[i] == 0);
    db_string_resize(d, &k, 3);
    REQ(str_is(k, "hel", 3));
    p = db_string_resize(d, &k, 10);
    REQ(memcmp(p, "hel\0\0\0\0\0\0\0", 10) == 0);
    /* From an int: formatted first. */
    k = db_set_int(d, "n", 1, 123);
    p = db_string_resize(d, &k, 5);
    REQ(!rkey_is_int(k));
    memcpy(p + 3, "ab", 2);
    REQ(str_is(db_lookup_read(d, "n", 1), "123ab", 5));
    /* SETRANGE-style growth from empty, keeping the TTL, across length-width changes. */
    k = db_set_string(d, "r", 1, "", 0, 0);
    k = db_set_expire(d, k, storage_now_ms + 5000);
    p = db_string_resize(d, &k, 250);
    memset(p, 'a', 250);
    p = db_string_resize(d, &k, 70000);
    memset(p + 250, 'b', 70000 - 250);
    REQ(rkey_expire(k) == storage_now_ms + 5000);
    REQ(db_expires_size(d) == 1);
    k = db_lookup_read(d, "r", 1);
    REQ(rkey_strlen(k) == 70000);
    size_t l;
    char tmp[UTIL_LLSTR_SIZE];
    const char *v = rkey_str(k, &l, tmp);
    REQ(v[0] == 'a' && v[249] == 'a' && v[250] == 'b' && v[69999] == 'b');
    /* The moved TTL record is still the one the expires array knows. */
    storage_now_ms += 6000;
    REQ(db_lookup_read(d, "r", 1) == NULL);
    REQ(db_expires_size(d) == 0);
    free(expect);
    db_destroy(d);
}
END_TEST

/* --- TTL --- */

START_TEST(test_ttl_moves) {
    db *d = db_create(0);
    char k[64];
    const int n = 5000;
    for (int i = 0; i < n; i++) {
        int kl = keyf(k, "t:", i);
        rkey *r = db_set_string(d, k, (size_t)kl, "some value here", 15, 0);
        REQ(rkey_expire(r) == -1);
        r = db_set_expire(d, r, storage_now_ms + 1000 + i);
        REQ(rkey_expire(r) == storage_now_ms + 1000 + i);
        REQ(str_is(r, "some value here", 15));
        /* Setting it again does not move it. */
        REQ(db_set_expire(d, r, storage_now_ms + 2000 + i) == r);
    }
    REQ(db_expires_size(d) == (size_t)n);
    /* Persist every third, delete every fifth, re-set every seventh without keepttl. */
    int ttl_left = 0;
    for (int i = 0; i < n; i++) {
        int kl = keyf(k, "t:", i);
        rkey *r = db_lookup_write(d, k, (size_t)kl);
        REQ(r != NULL);
        if (i % 3 == 0) {
            r = db_persist(d, r);
            REQ(rkey_expire(r) == -1);
            REQ(db_persist(d, r) == r);
        } else if (i % 5 == 0) {
            REQ(db_delete(d, k, (size_t)kl) == 1);
        } else if (i % 7 == 0) {
            db_set_string(d, k, (size_t)kl, "x", 1, 0);
        } else if (i % 11 == 0) {
            r = db_set_string(d, k, (size_t)kl, "y", 1, 1);
            REQ(rkey_expire(r) == storage_now_ms + 2000 + i);
            ttl_left++;
        } else if (i % 13 == 0) {
            r = db_set_int(d, k, (size_t)kl, 99);
            REQ(rkey_expire(r) == storage_now_ms + 2000 + i);
            ttl_left++;
        } else {
            ttl_left++;
        }
    }
    REQ(db_expires_size(d) == (size_t)ttl_left);
    for (int i = 0; i < n; i++) {
        int kl = keyf(k, "t:", i);
        rkey *r = db_lookup_read(d, k, (size_t)kl);
        if (i % 3 != 0 && i % 5 == 0) {
            REQ(r == NULL);
            continue;
        }
        REQ(r != NULL);
        int has = !(i % 3 == 0 || i % 7 == 0);
        REQ((rkey_expire(r) != -1) == has);
    }
    REQ(db_avg_ttl(d) >= 0);
    /* Everything with a TTL goes once time passes them all. */
    storage_now_ms += 100000;
    db *dbs[1] = {d};
    for (int i = 0; i < 10000 && db_expires_size(d); i++) db_active_expire(dbs, 1, 100000);
    REQ(db_expires_size(d) == 0);
    REQ(storage_stat.expired_keys == ttl_left);
    db_destroy(d);
}
END_TEST

START_TEST(test_lazy_expiry) {
    db *d = db_create(3);
    hook_reset();
    rkey *r = db_set_string(d, "k", 1, "v", 1, 0);
    r = db_set_expire(d, r, storage_now_ms + 100);
    db_set_string(d, "plain", 5, "v", 1, 0);
    storage_now_ms += 100; /* now == when: still alive, as Redis */
    r = db_lookup_read(d, "k", 1);
    REQ(r != NULL);
    REQ(db_key_alive(d, r));
    storage_now_ms += 1;
    REQ(!db_key_alive(d, r)); /* no side effect */
    REQ(db_size(d) == 2);
    hook_reset();
    REQ(db_lookup_read(d, "k", 1) == NULL);
    REQ(db_size(d) == 1);
    REQ(db_expires_size(d) == 0);
    REQ(storage_stat.expired_keys == 1);
    REQ(storage_stat.keyspace_misses == 1);
    REQ(hook_calls == 1);
    REQ(hook_saw(3, "k"));
    /* Write lookups and deletes expire too; an expired key deletes as absent. */
    r = db_set_expire(d, db_set_string(d, "a", 1, "v", 1, 0), storage_now_ms - 5);
    r = db_set_expire(d, db_set_string(d, "b", 1, "v", 1, 0), storage_now_ms - 5);
    r = db_set_expire(d, db_set_string(d, "c", 1, "v", 1, 0), storage_now_ms - 5);
    REQ(db_lookup_write(d, "a", 1) == NULL);
    REQ(db_delete(d, "b", 1) == 0);
    r = db_set_string(d, "c", 1, "new", 3, 1); /* keepttl on an expired key: a new key */
    REQ(rkey_expire(r) == -1);
    REQ(storage_stat.expired_keys == 4);
    REQ(storage_stat.keyspace_misses == 1);
    REQ(db_size(d) == 2);
    hook_off();
    db_destroy(d);
}
END_TEST

START_TEST(test_active_expiry) {
    db *d0 = db_create(0), *d1 = db_create(1);
    db *dbs[2] = {d0, d1};
    char k[64];
    const int n = 10000;
    for (int i = 0; i < n; i++) {
        int kl = keyf(k, "x:", i);
        db_set_expire(d0, db_set_string(d0, k, (size_t)kl, "v", 1, 0), storage_now_ms + 10);
        kl = keyf(k, "keep:", i);
        db_set_string(d0, k, (size_t)kl, "v", 1, 0);
        kl = keyf(k, "y:", i);
        db_set_expire(d1, db_set_string(d1, k, (size_t)kl, "v", 1, 0), storage_now_ms + 10);
        if (i % 10 == 0) {
            kl = keyf(k, "later:", i);
            db_set_expire(d1, db_set_string(d1, k, (size_t)kl, "v", 1, 0), storage_now_ms + 100000);
        }
    }
    /* Nothing is expired yet: nothing is removed, and the cycle stops at once. */
    REQ(db_active_expire(dbs, 2, 100000) == 0);
    REQ(db_size(d0) == 2 * (size_t)n);
    REQ(db_avg_ttl(d0) > 0);
    storage_now_ms += 1000;
    long long total = 0;
    for (int i = 0; i < 1000 && (db_expires_size(d0) || db_expires_size(d1) > (size_t)n / 10); i++)
        total += db_active_expire(dbs, 2, 100000);
    /* Every expired key of d0 is reclaimed; d1's are all but a few at most (the cycle
     * stops below 10% stale), and the keys without or with a later TTL stay. */
    REQ(db_expires_size(d0) == 0);
    REQ(db_size(d0) == (size_t)n);
    REQ(db_expires_size(d1) >= (size_t)n / 10);
    for (int i = 0; i < n; i++) {
        int kl = keyf(k, "keep:", i);
        REQ(db_lookup_write(d0, k, (size_t)kl) != NULL);
        if (i % 10 == 0) {
            kl = keyf(k, "later:", i);
            REQ(db_lookup_write(d1, k, (size_t)kl) != NULL);
        }
    }
    REQ(total == storage_stat.expired_keys);
    REQ(total >= 2 * n - n / 10);
    db_destroy(d0);
    db_destroy(d1);
}
END_TEST

START_TEST(test_active_expiry_budget) {
    db *d = db_create(0);
    db *dbs[1] = {d};
    char k[64];
    const int n = 300000;
    for (int i = 0; i < n; i++) {
        int kl = keyf(k, "e:", i);
        db_set_expire(d, db_set_string(d, k, (size_t)kl, "v", 1, 0), storage_now_ms + 1);
    }
    storage_now_ms += 10;
    long long t0 = util_monotonic_us();
    long long got = db_active_expire(dbs, 1, 1000);
    long long spent = util_monotonic_us() - t0;
    /* The budget is checked every 16 loops of 20 keys: a 1ms budget cannot clear 300k
     * keys, and the call ends soon after the budget. */
    REQ(got > 0);
    REQ(got < n);
    REQ(spent < 250000);
    long long total = got;
    int calls = 1;
    while (db_expires_size(d) && calls < 100000) {
        total += db_active_expire(dbs, 1, 1000);
        calls++;
    }
    REQ(total == n);
    REQ(db_size(d) == 0);
    REQ(calls > 2);
    db_destroy(d);
}
END_TEST

/* --- SCAN --- */

typedef struct scan_seen {
    unsigned char *seen;
    long n;
    const char *prefix;
    long visits;
} scan_seen;

static void scan_cb(void *priv, const rkey *k) {
    scan_seen *s = priv;
    size_t len;
    const char *key = rkey_key(k, &len);
    size_t pl = strlen(s->prefix);
    s->visits++;
    if (len > pl && memcmp(key, s->prefix, pl) == 0) {
        char num[32];
        size_t nl = len - pl < sizeof(num) - 1 ? len - pl : sizeof(num) - 1;
        memcpy(num, key + pl, nl);
        num[nl] = 0;
        long i = atol(num);
        if (i >= 0 && i < s->n) s->seen[i] = 1;
    }
}

/* Scan while the table grows (many adds), then shrinks (mass delete), with rehash steps
 * in between: every stable key must be returned. */
START_TEST(test_scan_while_rehashing) {
    for (int round = 0; round < 4; round++) {
        db *d = db_create(0);
        char k[64];
        const long stable = 3000;
        for (long i = 0; i < stable; i++) {
            int kl = keyf(k, "s:", i);
            db_set_string(d, k, (size_t)kl, "v", 1, 0);
        }
        scan_seen s = {calloc((size_t)stable, 1), stable, "s:", 0};
        unsigned long cursor = 0;
        long tmp_next = 0, tmp_del = 0, steps = 0, mid_rehash = 0;
        do {
            cursor = db_scan(d, cursor, scan_cb, &s);
            steps++;
            /* Phase 1: grow (adds trigger expansions, rehashing continues mid-scan). */
            if (steps < 40 + round * 20) {
                for (int j = 0; j < 500; j++) {
                    int kl = keyf(k, "tmp:", tmp_next++);
                    db_set_string(d, k, (size_t)kl, "v", 1, 0);
                }
            } else if (tmp_del < tmp_next) {
                /* Phase 2: delete the temporaries fast, so the table shrinks mid-scan. */
                for (int j = 0; j < 2000 && tmp_del < tmp_next; j++) {
                    int kl = keyf(k, "tmp:", tmp_del++);
                    REQ(db_delete(d, k, (size_t)kl) == 1);
                }
            }
            if (round % 2) mid_rehash += db_rehash_step(d, 0); /* 1: still rehashing mid-scan */
        } while (cursor != 0);
        REQ(round % 2 == 0 || mid_rehash > 0);
        for (long i = 0; i < stable; i++) REQ_MSG(s.seen[i], "round %d: stable key %ld missed", round, i);
        free(s.seen);
        db_destroy(d);
    }
}
END_TEST

START_TEST(test_scan_small_and_empty) {
    db *d = db_create(0);
    REQ(db_scan(d, 0, scan_cb, &(scan_seen){NULL, 0, "", 0}) == 0);
    char k[64];
    for (long i = 0; i < 10; i++) {
        int kl = keyf(k, "a:", i);
        db_set_string(d, k, (size_t)kl, "v", 1, 0);
    }
    scan_seen s = {calloc(10, 1), 10, "a:", 0};
    unsigned long c = 0;
    do c = db_scan(d, c, scan_cb, &s);
    while (c);
    REQ(s.visits == 10);
    for (int i = 0; i < 10; i++) REQ(s.seen[i]);
    free(s.seen);
    db_destroy(d);
}
END_TEST

/* The table itself: scan coverage with the rehash state observed, random mixes. */
typedef struct tnode {
    dict_node node;
    uint32_t hash; /* kept by the dict in the rounds that use dict_keep_hash */
    int klen;
    long id;
    char key[24];
} tnode;

static const char *tnode_key(const dict_node *n, size_t *len) {
    const tnode *t = (const tnode *)n;
    *len = (size_t)t->klen;
    return t->key;
}

static void tnode_seen(void *priv, dict_node *n) {
    unsigned char *seen = priv;
    seen[((tnode *)n)->id]++;
}

START_TEST(test_dict_scan_rehash_states) {
    const long n = 20000;
    tnode *nodes = calloc((size_t)n, sizeof(tnode));
    for (long i = 0; i < n; i++) {
        nodes[i].id = i;
        nodes[i].klen = keyf(nodes[i].key, "n", i);
    }
    srand(7);
    int grows = 0, shrinks = 0;
    for (int round = 0; round < 12; round++) {
        dict d;
        dict_init(&d, tnode_key);
        if (round % 2) dict_keep_hash(&d, offsetof(tnode, hash)); /* rehashing reads kept hashes */
        long stable = 500 + rand() % 2000;
        unsigned char *in = calloc((size_t)n, 1);
        for (long i = 0; i < stable; i++) {
            dict_add(&d, &nodes[i].node);
            in[i] = 1;
        }
        unsigned char *seen = calloc((size_t)n, 1);
        unsigned long cursor = 0;
        do {
            if (dict_is_rehashing(&d)) { /* count scan calls made mid-rehash */
                if (d.size[1] > d.size[0]) grows++;
                else shrinks++;
            }
            cursor = dict_scan(&d, cursor, tnode_seen, seen);
            /* Random adds and deletes of non-stable nodes, sometimes in bulk. */
            int ops = rand() % 64 == 0 ? 3000 : rand() % 20;
            int grow = rand() % 2;
            for (int j = 0; j < ops; j++) {
                long i = stable + rand() % (n - stable);
                if (grow && !in[i]) {
                    dict_add(&d, &nodes[i].node);
                    in[i] = 1;
                } else if (!grow && in[i]) {
                    REQ(dict_unlink(&d, nodes[i].key, (size_t)nodes[i].klen) == &nodes[i].node);
                    in[i] = 0;
                }
            }
            if (!grow && rand() % 50 == 0) { /* mass delete: forces shrinks */
                for (long i = stable; i < n; i++)
                    if (in[i] && rand() % 4) {
                        dict_unlink(&d, nodes[i].key, (size_t)nodes[i].klen);
                        in[i] = 0;
                    }
            }
            if (rand() % 3 == 0) dict_rehash(&d, rand() % 20);
        } while (cursor != 0);
        for (long i = 0; i < stable; i++) REQ_MSG(seen[i], "round %d: node %ld missed", round, i);
        /* Every node still in is findable; the counts add up. */
        size_t count = 0;
        for (long i = 0; i < n; i++) {
            dict_node *f = dict_find(&d, nodes[i].key, (size_t)nodes[i].klen);
            REQ(f == (in[i] ? &nodes[i].node : NULL));
            if (in[i] && round % 2) REQ(nodes[i].hash == (uint32_t)dict_hash(nodes[i].key, (size_t)nodes[i].klen));
            count += in[i];
        }
        REQ(dict_size(&d) == count);
        free(seen);
        free(in);
        dict_release(&d);
    }
    REQ(grows > 0 && shrinks > 0);
    free(nodes);
}
END_TEST

/* A scan that starts before a grow and ends after it, and one across a shrink, with the
 * dict observed mid-rehash at a scan call. */
START_TEST(test_dict_scan_mid_rehash) {
    const long n = 8192;
    tnode *nodes = calloc((size_t)n, sizeof(tnode));
    for (long i = 0; i < n; i++) {
        nodes[i].id = i;
        nodes[i].klen = keyf(nodes[i].key, "m", i);
    }
    for (int shrink = 0; shrink <= 1; shrink++) {
        dict d;
        dict_init(&d, tnode_key);
        long stable = shrink ? 200 : 1024;
        long start = shrink ? n : stable;
        /* Shrinking starts when under 10% full: the deletes stop just past that point. */
        long keep = shrink ? 800 : 0;
        for (long i = 0; i < start; i++) dict_add(&d, &nodes[i].node);
        while (dict_rehash(&d, 1000))
            ;
        unsigned char *seen = calloc((size_t)n, 1);
        unsigned long cursor = dict_scan(&d, 0, tnode_seen, seen);
        cursor = dict_scan(&d, cursor, tnode_seen, seen);
        if (shrink) {
            for (long i = keep; i < n; i++) dict_unlink(&d, nodes[i].key, (size_t)nodes[i].klen);
        } else {
            for (long i = stable; i < stable + 2; i++)
                dict_add(&d, &nodes[i].node); /* used == size: the second add grows */
        }
        REQ(dict_is_rehashing(&d));
        int mid = 0;
        while (cursor != 0) {
            mid += dict_is_rehashing(&d);
            cursor = dict_scan(&d, cursor, tnode_seen, seen);
            dict_rehash(&d, 1);
        }
        REQ(mid > 0);
        for (long i = 0; i < stable; i++) REQ_MSG(seen[i], "shrink=%d: node %ld missed", shrink, i);
        free(seen);
        dict_release(&d);
    }
    free(nodes);
}
END_TEST

static void count_cb(void *priv, const rkey *k) {
    (void)k;
    (*(long *)priv)++;
}

START_TEST(test_foreach_while_rehashing) {
    db *d = db_create(0);
    char k[64];
    /* 4096 keys then one more: a grow starts and stays under way. */
    for (long i = 0; i <= 4096; i++) {
        int kl = keyf(k, "f:", i);
        db_set_string(d, k, (size_t)kl, "v", 1, 0);
    }
    long count = 0;
    db_foreach(d, count_cb, &count);
    REQ(count == 4097);
    REQ(db_rehash_step(d, 100000) == 0);
    count = 0;
    db_foreach(d, count_cb, &count);
    REQ(count == 4097);
    db_destroy(d);
}
END_TEST

/* --- RANDOMKEY --- */

START_TEST(test_random_key) {
    db *d = db_create(0);
    REQ(db_random_key(d) == NULL);
    char k[64];
    int counts[100] = {0};
    for (long i = 0; i < 100; i++) {
        int kl = keyf(k, "r:", i);
        db_set_string(d, k, (size_t)kl, "v", 1, 0);
    }
    for (int i = 0; i < 20000; i++) {
        rkey *r = db_random_key(d);
        REQ(r != NULL);
        size_t len;
        const char *key = rkey_key(r, &len);
        char num[16] = {0};
        memcpy(num, key + 2, len - 2);
        counts[atoi(num)]++;
    }
    for (int i = 0; i < 100; i++) REQ(counts[i] > 50); /* ~200 expected each */
    db_flush(d);
    /* Mostly expired: the live one comes back, expired samples are reclaimed. */
    for (long i = 0; i < 1000; i++) {
        int kl = keyf(k, "x:", i);
        db_set_expire(d, db_set_string(d, k, (size_t)kl, "v", 1, 0), storage_now_ms - 1);
    }
    db_set_expire(d, db_set_string(d, "live", 4, "v", 1, 0), storage_now_ms + 1000);
    for (int i = 0; i < 50; i++) {
        rkey *r = db_random_key(d);
        REQ(r != NULL);
        size_t len;
        const char *key = rkey_key(r, &len);
        REQ(len == 4 && memcmp(key, "live", 4) == 0);
    }
    REQ(storage_stat.expired_keys == (long long)(1000 - (db_size(d) - 1)));
    /* All expired: NULL, and the db ends empty. */
    storage_now_ms += 2000;
    REQ(db_random_key(d) == NULL);
    REQ(db_size(d) == 0);
    REQ(storage_stat.expired_keys == 1001);
    db_destroy(d);
}
END_TEST

/* --- rename, move, swap, flush, pointer values, hook --- */

START_TEST(test_rename) {
    db *d = db_create(2);
    hook_reset();
    REQ(db_rename(d, "none", 4, "x", 1) == NULL);
    rkey *r = db_set_string(d, "src", 3, "value", 5, 0);
    r = db_set_expire(d, r, storage_now_ms + 500);
    db_set_string(d, "dst", 3, "old", 3, 0);
    db_set_expire(d, db_set_string(d, "other", 5, "o", 1, 0), storage_now_ms + 800);
    hook_reset();
    r = db_rename(d, "src", 3, "dst", 3);
    REQ(r != NULL);
    REQ(str_is(r, "value", 5));
    REQ(rkey_expire(r) == storage_now_ms + 500);
    REQ(hook_saw(2, "src") && hook_saw(2, "dst"));
    REQ(db_lookup_read(d, "src", 3) == NULL);
    REQ(db_size(d) == 2);
    REQ(db_expires_size(d) == 2);
    /* Same name: unchanged, no hook. */
    hook_reset();
    REQ(db_rename(d, "dst", 3, "dst", 3) == db_lookup_write(d, "dst", 3));
    REQ(hook_calls == 0);
    /* A long new name (wider length fields), an int value, a raw value. */
    char longname[400];
    memset(longname, 'L', sizeof(longname));
    db_set_int(d, "i", 1, 77);
    r = db_rename(d, "i", 1, longname, sizeof(longname));
    REQ(rkey_is_int(r) && rkey_int(r) == 77);
    rkey *a = db_set_string(d, "raw", 3, "ab", 2, 0);
    char *p = db_string_resize(d, &a, 4);
    memcpy(p + 2, "cd", 2);
    r = db_rename(d, "raw", 3, "raw2", 4);
    REQ(str_is(r, "abcd", 4));
    p = db_string_resize(d, &r, 6);
    memcpy(p + 4, "ef", 2);
    REQ(str_is(db_lookup_read(d, "raw2", 4), "abcdef", 6));
    /* Expiry still works for the renamed TTL keys. */
    storage_now_ms += 1000;
    REQ(db_lookup_read(d, "dst", 3) == NULL);
    REQ(db_lookup_read(d, "other", 5) == NULL);
    REQ(db_expires_size(d) == 0);
    hook_off();
    db_destroy(d);
}
END_TEST

START_TEST(test_move_swap_flush) {
    db *a = db_create(0), *b = db_create(1);
    hook_reset();
    db_set_expire(a, db_set_string(a, "k", 1, "v", 1, 0), storage_now_ms + 100);
    db_set_string(a, "j", 1, "v", 1, 0);
    db_set_string(b, "j", 1, "w", 1, 0);
    hook_reset();
    REQ(db_move(a, b, "k", 1) == 1);
    REQ(hook_saw(0, "k") && hook_saw(1, "k"));
    REQ(db_move(a, b, "k", 1) == 0); /* gone from a */
    REQ(db_move(a, b, "j", 1) == 0); /* present in b */
    REQ(db_size(a) == 1);
    REQ(db_size(b) == 2);
    REQ(db_expires_size(a) == 0);
    REQ(db_expires_size(b) == 1);
    REQ(rkey_expire(db_lookup_read(b, "k", 1)) == storage_now_ms + 100);
    /* Swap: contents trade places, ids stay. */
    size_t mem_b = db_memory(b);
    hook_reset();
    db_swap(a, b);
    REQ(db_id(a) == 0);
    REQ(db_id(b) == 1);
    REQ(db_size(a) == 2);
    REQ(db_expires_size(a) == 1);
    REQ(db_memory(a) == mem_b);
    REQ(str_is(db_lookup_read(a, "j", 1), "w", 1));
    REQ(str_is(db_lookup_read(b, "j", 1), "v", 1));
    REQ(hook_saw(0, NULL) && hook_saw(1, NULL));
    /* Flush: counted, hooked once with NULL, pointer values freed. */
    db_add_ptr(a, "s", 1, OBJ_STREAM, malloc(10));
    hook_reset();
    REQ(db_flush(a) == 3);
    REQ(hook_calls == 1);
    REQ(hook_saw(0, NULL));
    REQ(ptr_frees == 1);
    REQ(db_size(a) == 0);
    REQ(db_expires_size(a) == 0);
    REQ(db_lookup_read(a, "j", 1) == NULL);
    db_set_string(a, "again", 5, "v", 1, 0);
    REQ(db_size(a) == 1);
    hook_off();
    db_destroy(a);
    db_destroy(b);
}
END_TEST

START_TEST(test_ptr_values) {
    db *d = db_create(0);
    void *p = malloc(16);
    rkey *r = db_add_ptr(d, "st", 2, OBJ_STREAM, p);
    REQ(rkey_ptr(r) == p);
    REQ(rkey_type(r) == OBJ_STREAM);
    REQ_STREQ(rkey_encoding(r), "stream");
    REQ(rkey_ptr(db_set_string(d, "s", 1, "x", 1, 0)) == NULL);
    /* TTL moves, rename and move keep the value (no free). */
    r = db_set_expire(d, r, storage_now_ms + 10);
    r = db_persist(d, r);
    r = db_rename(d, "st", 2, "st2", 3);
    REQ(rkey_ptr(r) == p);
    db *o = db_create(1);
    REQ(db_move(d, o, "st2", 3) == 1);
    REQ(db_move(o, d, "st2", 3) == 1);
    REQ(ptr_frees == 0);
    REQ(rkey_ptr(db_lookup_read(d, "st2", 3)) == p);
    /* Overwritten by a string: freed. Deleted, expired, destroyed: freed. */
    r = db_set_string(d, "st2", 3, "str", 3, 0);
    REQ(ptr_frees == 1);
    REQ(rkey_type(r) == OBJ_STRING);
    db_add_ptr(d, "a", 1, OBJ_STREAM, malloc(1));
    REQ(db_delete(d, "a", 1) == 1);
    REQ(ptr_frees == 2);
    db_set_expire(d, db_add_ptr(d, "b", 1, OBJ_STREAM, malloc(1)), storage_now_ms - 1);
    REQ(db_lookup_read(d, "b", 1) == NULL);
    REQ(ptr_frees == 3);
    db_add_ptr(d, "c", 1, OBJ_STREAM, malloc(1));
    db_destroy(d);
    REQ(ptr_frees == 4);
    db_destroy(o);
}
END_TEST

START_TEST(test_change_events) {
    db *d = db_create(5);
    hook_reset();
    rkey *r = db_set_string(d, "a", 1, "v", 1, 0);
    REQ(hook_calls == 1);
    REQ(hook_saw(5, "a"));
    db_set_int(d, "n", 1, 1);
    REQ(hook_calls == 2);
    r = db_lookup_write(d, "a", 1);
    db_string_resize(d, &r, 3);
    REQ(hook_calls == 3);
    r = db_set_expire(d, r, storage_now_ms + 10);
    REQ(hook_calls == 4);
    r = db_persist(d, r);
    REQ(hook_calls == 5);
    db_persist(d, r); /* no TTL: nothing changes */
    REQ(hook_calls == 5);
    db_touch(d, r);
    REQ(hook_calls == 6);
    db_add_ptr(d, "p", 1, OBJ_STREAM, malloc(1));
    REQ(hook_calls == 7);
    REQ(db_delete(d, "p", 1) == 1);
    REQ(hook_calls == 8);
    REQ(db_delete(d, "p", 1) == 0);
    REQ(hook_calls == 8);
    db_lookup_read(d, "a", 1); /* reads do not touch */
    REQ(hook_calls == 8);
    hook_reset();
    db_rename(d, "a", 1, "b", 1);
    REQ(hook_calls == 2);
    REQ(hook_saw(5, "a") && hook_saw(5, "b"));
    /* Active expiry touches what it removes. */
    db_set_expire(d, db_lookup_write(d, "b", 1), storage_now_ms + 1);
    storage_now_ms += 5;
    hook_reset();
    db *dbs[1] = {d};
    REQ(db_active_expire(dbs, 1, 100000) == 1);
    REQ(hook_calls == 1);
    REQ(hook_saw(5, "b"));
    hook_off();
    db_destroy(d);
}
END_TEST

/* Typed events: each change reports its kind; storage_dirty counts all but expiry and
 * eviction; any number of subscribers, in order; unsubscribing stops delivery. */
static int second_calls;
static void second_record(void *priv, const db_event *ev) {
    (void)ev;
    REQ(priv == &second_calls);
    REQ(hook_calls == second_calls + 1); /* the first subscriber ran first */
    second_calls++;
}

static int hook_type_at(int i) { return i < hook_calls && i < HOOK_MAX ? hook_log[i].type : -1; }

START_TEST(test_event_types) {
    db *d = db_create(2), *o = db_create(3);
    hook_reset();
    second_calls = 0;
    int h2 = db_subscribe(second_record, &second_calls);
    long long dirty = storage_dirty;
    rkey *r = db_set_string(d, "a", 1, "v", 1, 0);
    REQ(hook_type_at(0) == DB_EV_NEW);
    r = db_set_string(d, "a", 1, "w", 1, 0);
    REQ(hook_type_at(1) == DB_EV_MODIFIED);
    db_set_int(d, "n", 1, 5);
    REQ(hook_type_at(2) == DB_EV_NEW);
    r = db_set_expire(d, db_lookup_write(d, "a", 1), storage_now_ms + 10);
    REQ(hook_type_at(3) == DB_EV_MODIFIED);
    REQ(db_delete(d, "n", 1) == 1);
    REQ(hook_type_at(4) == DB_EV_DELETED);
    db_rename(d, "a", 1, "b", 1);
    REQ(hook_type_at(5) == DB_EV_RENAMED_FROM && hook_log[5].klen == 1 && hook_log[5].key[0] == 'a');
    REQ(hook_type_at(6) == DB_EV_RENAMED_TO && hook_log[6].key[0] == 'b');
    REQ(db_move(d, o, "b", 1) == 1);
    REQ(hook_type_at(7) == DB_EV_MOVED_FROM && hook_log[7].dbid == 2 && hook_log[7].other == 3);
    REQ(hook_type_at(8) == DB_EV_MOVED_TO && hook_log[8].dbid == 3 && hook_log[8].other == 2);
    REQ(storage_dirty == dirty + 9);
    REQ(second_calls == 9);
    /* Expiry and eviction are events but not dirty. */
    storage_now_ms += 100;
    REQ(db_lookup_read(o, "b", 1) == NULL);
    REQ(hook_type_at(9) == DB_EV_EXPIRED);
    db_set_string(d, "e", 1, "v", 1, 0);
    dirty = storage_dirty;
    REQ(db_evict(d, "e", 1, 0) == 1);
    REQ(hook_type_at(11) == DB_EV_EVICTED);
    REQ(db_evict(d, "e", 1, 0) == 0);
    REQ(storage_dirty == dirty);
    /* Flush and swap: reported before the change, key NULL. */
    db_set_string(d, "f", 1, "v", 1, 0);
    db_swap(d, o);
    REQ(hook_type_at(13) == DB_EV_SWAPPED && hook_log[13].null && hook_log[13].dbid == 2 && hook_log[13].other == 3);
    REQ(hook_type_at(14) == DB_EV_SWAPPED && hook_log[14].dbid == 3 && hook_log[14].other == 2);
    db_flush(o);
    REQ(hook_type_at(15) == DB_EV_FLUSHED && hook_log[15].dbid == 3);
    /* Unsubscribed: no more calls. */
    db_unsubscribe(h2);
    db_set_string(d, "g", 1, "v", 1, 0);
    REQ(second_calls == 16);
    REQ(hook_calls == 17);
    hook_off();
    db_set_string(d, "h", 1, "v", 1, 0);
    REQ(hook_calls == 17);
    (void)r;
    db_destroy(d);
    db_destroy(o);
}
END_TEST

/* Bytes of records: db_memory grows by about one small allocation per key (a 58-byte
 * record, in a 72-byte block since the 3-byte access field for eviction, plus the table). */
START_TEST(test_memory_estimate) {
    db *d = db_create(0);
    char k[64], v[33];
    memset(v, 'v', 32);
    const long n = 100000;
    size_t before = db_memory(d);
    for (long i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "key:%08ld", i); /* 12 bytes */
        db_set_string(d, k, 12, v, 32, 0);
    }
    while (db_rehash_step(d, 100000))
        ;
    size_t per = (db_memory(d) - before) / (size_t)n;
    REQ(per <= 88);
    for (long i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "key:%08ld", i);
        db_set_expire(d, db_lookup_write(d, k, 12), storage_now_ms + 100000);
    }
    size_t per_ttl = (db_memory(d) - before) / (size_t)n;
    REQ(per_ttl <= 100);
    fprintf(stderr, "db_memory per key (12B key, 32B value, 100k keys): %zu, with TTL %zu\n", per, per_ttl);
    db_destroy(d);
}
END_TEST

/* Arguments that point into the records the call replaces or frees. */
/* db_string_unshare: int and embstr values become raw (their bytes, TTL kept), a raw one
 * is returned as is; no event either way (the caller touches only on a real change). */
START_TEST(test_string_unshare) {
    db *d = db_create(0);
    rkey *k = db_set_int(d, "n", 1, 1234);
    k = db_set_expire(d, k, storage_now_ms + 1000);
    hook_reset();
    char *p = db_string_unshare(d, &k);
    REQ(hook_calls == 0);
    REQ(!rkey_is_int(k) && strcmp(rkey_encoding(k), "raw") == 0);
    REQ(memcmp(p, "1234", 4) == 0 && rkey_strlen(k) == 4);
    REQ(rkey_expire(k) == storage_now_ms + 1000);
    REQ(db_lookup_write(d, "n", 1) == k);
    REQ(db_string_unshare(d, &k) == p); /* already raw: same bytes */
    p[0] = '9';
    REQ(str_is(db_lookup_read(d, "n", 1), "9234", 4));
    rkey *e = db_set_string(d, "e", 1, "abc", 3, 0);
    REQ(strcmp(rkey_encoding(e), "embstr") == 0);
    hook_reset();
    p = db_string_unshare(d, &e);
    REQ(strcmp(rkey_encoding(e), "raw") == 0 && memcmp(p, "abc", 3) == 0);
    REQ(hook_calls == 0);
    hook_off();
    db_destroy(d);
}
END_TEST

START_TEST(test_aliasing_arguments) {
    db *d = db_create(0);
    char tmp[UTIL_LLSTR_SIZE];
    size_t len, klen;
    rkey *r = db_set_string(d, "key", 3, "abcdefgh", 8, 0);
    /* Same shape (in place), then a shorter value taken from the old one. */
    const char *v = rkey_str(r, &len, tmp);
    r = db_set_string(d, "key", 3, v, len, 0);
    REQ(str_is(r, "abcdefgh", 8));
    v = rkey_str(r, &len, tmp);
    const char *k = rkey_key(r, &klen);
    r = db_set_string(d, k, klen, v + 2, 3, 0);
    REQ(str_is(db_lookup_read(d, "key", 3), "cde", 3));
    /* An expired record: lazy expiry frees it before the new one is built. */
    r = db_set_expire(d, r, storage_now_ms - 1);
    v = rkey_str(r, &len, tmp);
    k = rkey_key(r, &klen);
    r = db_set_string(d, k, klen, v, len, 0);
    REQ(str_is(r, "cde", 3));
    REQ(rkey_expire(r) == -1);
    r = db_set_expire(d, r, storage_now_ms - 1);
    k = rkey_key(r, &klen);
    r = db_set_int(d, k, klen, 5);
    REQ(rkey_int(db_lookup_read(d, "key", 3)) == 5);
    /* Rename onto a key named by the record that gets replaced. */
    rkey *other = db_set_string(d, "other", 5, "o", 1, 0);
    k = rkey_key(other, &klen);
    r = db_rename(d, "key", 3, k, klen);
    REQ(rkey_int(r) == 5);
    REQ(db_lookup_read(d, "key", 3) == NULL);
    REQ(rkey_int(db_lookup_read(d, "other", 5)) == 5);
    /* Rename and move named by the source record itself. */
    r = db_lookup_write(d, "other", 5);
    k = rkey_key(r, &klen);
    r = db_rename(d, k, klen, "third", 5);
    REQ(r != NULL);
    db *o = db_create(1);
    k = rkey_key(r, &klen);
    REQ(db_move(d, o, k, klen) == 1);
    REQ(rkey_int(db_lookup_read(o, "third", 5)) == 5);
    REQ(db_size(d) == 0);
    db_destroy(o);
    db_destroy(d);
}
END_TEST

/* Random operations on two dbs against a plain model: values (strings of 0-400 bytes,
 * integers, pointer values), TTLs, resizes, renames, moves, expiry, all checked. */
#define M_KEYS 120
typedef struct m_val {
    int present;
    int isptr;
    size_t len;
    char bytes[1200];
    long long expire; /* -1: none */
} m_val;
static m_val model[2][M_KEYS];

static int m_key(char *buf, int i) { return snprintf(buf, 64, "mk%d%s", i, i % 3 ? "" : "-a-longer-key-name"); }

static int m_alive(const m_val *m) { return m->present && (m->expire == -1 || storage_now_ms <= m->expire); }

static void m_check(db *d, int dbi, int i) {
    char k[64];
    int kl = m_key(k, i);
    m_val *m = &model[dbi][i];
    rkey *r = db_lookup_write(d, k, (size_t)kl);
    if (!m_alive(m)) {
        REQ_MSG(r == NULL, "db %d key %d should be absent", dbi, i);
        m->present = 0;
        return;
    }
    REQ_MSG(r != NULL, "db %d key %d missing", dbi, i);
    REQ(rkey_expire(r) == m->expire);
    if (m->isptr) {
        REQ(rkey_type(r) == OBJ_STREAM);
        return;
    }
    REQ_MSG(str_is(r, m->bytes, m->len), "db %d key %d value differs", dbi, i);
}

START_TEST(test_random_model) {
    db *dbs[2] = {db_create(0), db_create(1)};
    memset(model, 0, sizeof(model));
    srand(12345);
    char k[64], k2[64], v[400];
    for (long step = 0; step < 200000; step++) {
        int dbi = rand() % 2, i = rand() % M_KEYS;
        db *d = dbs[dbi];
        m_val *m = &model[dbi][i];
        int kl = m_key(k, i);
        if (m->present && !m_alive(m)) m->present = 0; /* the db deletes it at the next touch */
        switch (rand() % 12) {
            case 0:
            case 1: { /* SET, sometimes an integer, sometimes KEEPTTL */
                size_t len;
                if (rand() % 3 == 0) len = (size_t)snprintf(v, sizeof(v), "%d", rand() - RAND_MAX / 2);
                else {
                    len = (size_t)(rand() % 3 == 0 ? rand() % 400 : rand() % 40);
                    for (size_t j = 0; j < len; j++) v[j] = (char)rand();
                }
                int keep = rand() % 2;
                db_set_string(d, k, (size_t)kl, v, len, keep);
                if (!(keep && m->present)) m->expire = -1;
                m->present = 1;
                m->isptr = 0;
                m->len = len;
                memcpy(m->bytes, v, len);
                break;
            }
            case 2: { /* INCR-like */
                long long n = rand() % 1000;
                db_set_int(d, k, (size_t)kl, n);
                if (!m->present) m->expire = -1;
                m->present = 1;
                m->isptr = 0;
                m->len = (size_t)snprintf(m->bytes, sizeof(m->bytes), "%lld", n);
                break;
            }
            case 3: { /* APPEND / SETRANGE-like resize */
                rkey *r = db_lookup_write(d, k, (size_t)kl);
                if (!r || m->isptr || m->len > 900) break;
                size_t add = (size_t)(rand() % 200);
                size_t nl = rand() % 5 ? m->len + add : m->len / 2;
                char *p = db_string_resize(d, &r, nl);
                if (nl > m->len) {
                    memset(m->bytes + m->len, 0, nl - m->len);
                    for (size_t j = m->len; j < nl; j += 3) p[j] = m->bytes[j] = (char)rand();
                }
                m->len = nl;
                break;
            }
            case 4: { /* EXPIRE, in the future or (rarely) the past */
                rkey *r = db_lookup_write(d, k, (size_t)kl);
                if (!r) break;
                long long when = storage_now_ms + (rand() % 10 ? rand() % 5000 : -1);
                db_set_expire(d, r, when);
                m->expire = when;
                break;
            }
            case 5: { /* PERSIST */
                rkey *r = db_lookup_write(d, k, (size_t)kl);
                if (r) db_persist(d, r);
                m->expire = -1;
                break;
            }
            case 6: /* DEL */
                REQ(db_delete(d, k, (size_t)kl) == m->present);
                m->present = 0;
                break;
            case 7: { /* RENAME within the db */
                int j = rand() % M_KEYS;
                int k2l = m_key(k2, j);
                rkey *r = db_rename(d, k, (size_t)kl, k2, (size_t)k2l);
                REQ((r != NULL) == m->present);
                if (r && j != i) {
                    model[dbi][j] = *m;
                    m->present = 0;
                }
                break;
            }
            case 8: { /* MOVE */
                m_val *o = &model[1 - dbi][i];
                if (o->present && !m_alive(o)) o->present = 0;
                int moved = db_move(d, dbs[1 - dbi], k, (size_t)kl);
                REQ(moved == (m->present && !o->present));
                if (moved) {
                    *o = *m;
                    m->present = 0;
                }
                break;
            }
            case 9: /* a pointer value, added as a command would: after a write lookup */
                if (!db_lookup_write(d, k, (size_t)kl)) {
                    db_add_ptr(d, k, (size_t)kl, OBJ_STREAM, malloc(8));
                    m->present = 1;
                    m->isptr = 1;
                    m->expire = -1;
                }
                break;
            case 10: m_check(d, dbi, i); break;
            case 11: /* time passes; the background work runs */
                storage_now_ms += rand() % 50;
                if (rand() % 4 == 0) db_active_expire(dbs, 2, 1000);
                if (rand() % 4 == 0) db_rehash_step(d, 10);
                if (rand() % 8 == 0) db_random_key(d);
                break;
        }
        if (step % 5000 == 0) {
            for (int x = 0; x < 2; x++) {
                size_t live = 0, ttl = 0;
                for (int y = 0; y < M_KEYS; y++) {
                    m_check(dbs[x], x, y);
                    live += model[x][y].present;
                    ttl += model[x][y].present && model[x][y].expire != -1;
                }
                REQ(db_size(dbs[x]) == live);
                REQ(db_expires_size(dbs[x]) == ttl);
            }
        }
    }
    db_destroy(dbs[0]);
    db_destroy(dbs[1]);
}
END_TEST

static Suite *db_suite(void) {
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bulk_insert_delete);
    tcase_add_test(tc, test_binary_keys);
    tcase_add_test(tc, test_int_encoding);
    tcase_add_test(tc, test_string_resize);
    tcase_add_test(tc, test_ttl_moves);
    tcase_add_test(tc, test_lazy_expiry);
    tcase_add_test(tc, test_active_expiry);
    tcase_add_test(tc, test_active_expiry_budget);
    tcase_add_test(tc, test_scan_while_rehashing);
    tcase_add_test(tc, test_scan_small_and_empty);
    tcase_add_test(tc, test_dict_scan_rehash_states);
    tcase_add_test(tc, test_dict_scan_mid_rehash);
    tcase_add_test(tc, test_foreach_while_rehashing);
    tcase_add_test(tc, test_random_key);
    tcase_add_test(tc, test_rename);
    tcase_add_test(tc, test_move_swap_flush);
    tcase_add_test(tc, test_ptr_values);
    tcase_add_test(tc, test_change_events);
    tcase_add_test(tc, test_event_types);
    tcase_add_test(tc, test_aliasing_arguments);
    tcase_add_test(tc, test_string_unshare);
    tcase_add_test(tc, test_random_model);
    tcase_add_test(tc, test_memory_estimate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(db_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
