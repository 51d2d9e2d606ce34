/* test_hashset.c: unit tests of the hash and set structures (storage/t_hash.h,
 * storage/t_set.h): each small encoding (listpack order, in-place updates, deletions;
 * intset widths and order), each large encoding against a simple model under seeded
 * random operations, the conversions between them at every limit, scans that keep
 * SCAN's guarantee while the table grows, shrinks and rehashes, random picks, the O(1)
 * memory figures against the allocator, and the descriptors (TYPE, OBJECT ENCODING,
 * COPY through db_copy). */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/db.h"
#include "storage/dict.h"
#include "storage/t_hash.h"
#include "storage/t_set.h"
#include "storage/type.h"

static void setup(void) {
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    util_hash_seed(seed);
    storage_now_ms = 1700000000000LL;
    types_init();
    hash_max_listpack_entries = 512;
    hash_max_listpack_value = 64;
    set_max_intset_entries = 512;
}

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return rng_state >> 33;
}

/* ---------------------------------------------------------------- hashes */

typedef struct pairs {
    char buf[1 << 16];
    size_t len;
    int n;
} pairs;

static void collect_pair(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    pairs *p = priv;
    p->len += (size_t)snprintf(p->buf + p->len, sizeof p->buf - p->len, "%.*s=%.*s,", (int)flen, f, (int)vlen, v);
    p->n++;
}

static const char *hash_text(hash *h) {
    static pairs p;
    p.len = 0;
    p.n = 0;
    p.buf[0] = '\0';
    hash_foreach(h, collect_pair, &p);
    return p.buf;
}

static int hset(hash **h, const char *f, const char *v) { return hash_set(h, f, strlen(f), v, strlen(v)); }

static const char *hget(hash *h, const char *f) {
    static char out[256];
    size_t vlen;
    const char *v = hash_get(h, f, strlen(f), &vlen);
    if (!v) return NULL;
    snprintf(out, sizeof out, "%.*s", (int)vlen, v);
    return out;
}

START_TEST(listpack_order_update_delete) {
    hash *h = hash_new();
    ck_assert_int_eq(hash_encoding(h), HASH_LISTPACK);
    ck_assert_int_eq(hset(&h, "z", "1"), 1);
    ck_assert_int_eq(hset(&h, "y", "2"), 1);
    ck_assert_int_eq(hset(&h, "x", "3"), 1);
    ck_assert_int_eq(hset(&h, "y", "a longer value than before"), 0);
    ck_assert_str_eq(hash_text(h), "z=1,y=a longer value than before,x=3,");
    ck_assert_int_eq(hset(&h, "y", ""), 0);
    ck_assert_str_eq(hash_text(h), "z=1,y=,x=3,");
    ck_assert_int_eq(hash_del(&h, "z", 1), 1);
    ck_assert_int_eq(hash_del(&h, "z", 1), 0);
    ck_assert_int_eq(hset(&h, "z", "4"), 1);
    ck_assert_str_eq(hash_text(h), "y=,x=3,z=4,");
    ck_assert_uint_eq(hash_len(h), 3);
    ck_assert_str_eq(hget(h, "x"), "3");
    ck_assert_ptr_null(hget(h, "nope"));
    ck_assert_int_eq(hash_exists(h, "y", 1), 1);
    /* An empty field and a field with NUL bytes. */
    ck_assert_int_eq(hash_set(&h, "", 0, "e", 1), 1);
    ck_assert_int_eq(hash_set(&h, "a\0b", 3, "n", 1), 1);
    ck_assert_str_eq(hget(h, ""), "e");
    ck_assert_int_eq(hash_exists(h, "a", 1), 0);
    ck_assert_int_eq(hash_exists(h, "a\0b", 3), 1);
    ck_assert_int_eq(hash_encoding(h), HASH_LISTPACK);
    ck_assert_uint_eq(hash_memory(h), malloc_usable_size(h));
    hash_free(h);
}
END_TEST

START_TEST(listpack_long_values_lengths) {
    /* Lengths that take 1, 2 and 5 bytes in the listpack, with a high value limit. */
    hash_max_listpack_value = 1 << 20;
    hash *h = hash_new();
    static char big[70000];
    memset(big, 'q', sizeof big);
    size_t lens[] = {0, 1, 127, 128, 16383, 16384, 70000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%zu", i);
        ck_assert_int_eq(hash_set(&h, f, strlen(f), big, lens[i]), 1);
    }
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char f[16];
        size_t vlen;
        snprintf(f, sizeof f, "f%zu", i);
        ck_assert_ptr_nonnull(hash_get(h, f, strlen(f), &vlen));
        ck_assert_uint_eq(vlen, lens[i]);
    }
    /* Shrink the longest in place and check the ones after it survived the move. */
    ck_assert_int_eq(hash_set(&h, "f3", 2, "s", 1), 0);
    size_t vlen;
    ck_assert_ptr_nonnull(hash_get(h, "f6", 2, &vlen));
    ck_assert_uint_eq(vlen, 70000);
    ck_assert_int_eq(hash_encoding(h), HASH_LISTPACK);
    hash_free(h);
}
END_TEST

START_TEST(hash_conversion_limits) {
    hash_max_listpack_entries = 4;
    hash_max_listpack_value = 8;
    hash *h = hash_new();
    for (int i = 0; i < 4; i++) {
        char f[8];
        snprintf(f, sizeof f, "f%d", i);
        hset(&h, f, "v");
    }
    ck_assert_int_eq(hash_encoding(h), HASH_LISTPACK);
    ck_assert_str_eq(hash_encoding_name(h), "listpack");
    hset(&h, "f4", "v");
    ck_assert_int_eq(hash_encoding(h), HASH_HASHTABLE);
    ck_assert_str_eq(hash_encoding_name(h), "hashtable");
    ck_assert_uint_eq(hash_len(h), 5);
    for (int i = 0; i < 5; i++) {
        char f[8];
        snprintf(f, sizeof f, "f%d", i);
        ck_assert_str_eq(hget(h, f), "v");
    }
    /* Never back, even when it shrinks. */
    for (int i = 0; i < 4; i++) {
        char f[8];
        snprintf(f, sizeof f, "f%d", i);
        ck_assert_int_eq(hash_del(&h, f, strlen(f)), 1);
    }
    ck_assert_int_eq(hash_encoding(h), HASH_HASHTABLE);
    hash_free(h);

    /* A value or a field one byte over the limit converts; at the limit it does not. */
    h = hash_new();
    hset(&h, "a", "12345678");
    ck_assert_int_eq(hash_encoding(h), HASH_LISTPACK);
    hset(&h, "a", "123456789");
    ck_assert_int_eq(hash_encoding(h), HASH_HASHTABLE);
    ck_assert_str_eq(hget(h, "a"), "123456789");
    hash_free(h);
    h = hash_new();
    hset(&h, "123456789", "v");
    ck_assert_int_eq(hash_encoding(h), HASH_HASHTABLE);
    hash_free(h);
    h = hash_new();
    hash_check_len(&h, 8);
    ck_assert_int_eq(hash_encoding(h), HASH_LISTPACK);
    hash_check_len(&h, 9);
    ck_assert_int_eq(hash_encoding(h), HASH_HASHTABLE);
    hash_free(h);

    /* Zero entries allowed: the first field converts. */
    hash_max_listpack_entries = 0;
    h = hash_new();
    hset(&h, "a", "b");
    ck_assert_int_eq(hash_encoding(h), HASH_HASHTABLE);
    hash_free(h);
}
END_TEST

/* A model: up to 4000 fields named by number, values as numbers (-1 = absent). */
#define MODEL_N 4000
static long model[MODEL_N];

static void check_hash_against_model(hash *h) {
    size_t n = 0;
    for (int i = 0; i < MODEL_N; i++) {
        char f[16];
        snprintf(f, sizeof f, "field:%d", i);
        const char *v = hget(h, f);
        if (model[i] < 0) {
            ck_assert_ptr_null(v);
        } else {
            n++;
            ck_assert_ptr_nonnull(v);
            ck_assert_int_eq(atol(v), model[i]);
        }
    }
    ck_assert_uint_eq(hash_len(h), n);
}

START_TEST(hash_random_ops_model) {
    for (int round = 0; round < 2; round++) {
        hash_max_listpack_entries = round == 0 ? 512 : 64;
        rng_state = 42 + (uint64_t)round;
        for (int i = 0; i < MODEL_N; i++) model[i] = -1;
        hash *h = hash_new();
        for (int op = 0; op < 30000; op++) {
            int i = (int)(rnd() % (op < 15000 ? MODEL_N : 600));
            char f[16], v[32];
            snprintf(f, sizeof f, "field:%d", i);
            if (rnd() % 3) {
                long val = (long)(rnd() % 1000000);
                snprintf(v, sizeof v, "%ld", val);
                ck_assert_int_eq(hset(&h, f, v), model[i] < 0);
                model[i] = val;
            } else {
                ck_assert_int_eq(hash_del(&h, f, strlen(f)), model[i] >= 0);
                model[i] = -1;
            }
            if (op % 5000 == 0) check_hash_against_model(h);
        }
        check_hash_against_model(h);
        /* A dup equals it and shares nothing. */
        hash *d = hash_dup(h);
        ck_assert_int_eq(hash_encoding(d), hash_encoding(h));
        check_hash_against_model(d);
        hset(&d, "field:1", "changed");
        check_hash_against_model(h);
        hash_free(d);
        hash_free(h);
    }
}
END_TEST

/* Sum of the node blocks and tables, the figure hash_memory must equal without a walk. */
static size_t walked;
static void count_pair(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    (void)priv, (void)f, (void)flen, (void)v, (void)vlen;
    walked++;
}

START_TEST(hash_memory_tracks) {
    /* The figure follows the allocator: a listpack is its one block; a table its nodes'
     * blocks and bucket arrays (it drops when a rehash frees the old array). */
    hash *h = hash_new();
    ck_assert_uint_eq(hash_memory(h), malloc_usable_size(h));
    size_t at500 = 0;
    for (int i = 0; i < 2000; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%d", i);
        hset(&h, f, "some value");
        if (hash_encoding(h) == HASH_LISTPACK) ck_assert_uint_eq(hash_memory(h), malloc_usable_size(h));
        if (i == 500) at500 = hash_memory(h);
    }
    ck_assert_uint_lt(at500, 500 * 20);
    ck_assert_uint_gt(hash_memory(h), 2000 * 24 + 2048 * sizeof(void *));
    walked = 0;
    hash_foreach(h, count_pair, NULL);
    ck_assert_uint_eq(walked, 2000);
    for (int i = 0; i < 2000; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%d", i);
        hash_del(&h, f, strlen(f));
    }
    ck_assert_uint_lt(hash_memory(h), 1024);
    hash_free(h);
}
END_TEST

/* ---------------------------------------------------------------- scans while rehashing */

typedef struct seen {
    unsigned char *hit;
} seen;

static void mark_hash(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    (void)v, (void)vlen;
    seen *s = priv;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.*s", (int)flen, f);
    if (!strncmp(tmp, "keep", 4)) s->hit[atoi(tmp + 4)] = 1;
}

static void mark_set(void *priv, const char *m, size_t len) { mark_hash(priv, m, len, NULL, 0); }

START_TEST(scan_while_rehashing) {
    /* Elements present for the whole scan are returned while others come and go, for
     * growth (rehash to a bigger table), shrinking, and a mix, in both types. */
    for (int pattern = 0; pattern < 3; pattern++) {
        for (int type = 0; type < 2; type++) {
            rng_state = 7 + (uint64_t)pattern;
            enum { KEEP = 500 };
            unsigned char hit[KEEP] = {0};
            seen s = {hit};
            hash *h = hash_new();
            set *st = set_new_for("x", 1);
            char name[32];
            for (int i = 0; i < KEEP; i++) {
                snprintf(name, sizeof name, "keep%d", i);
                if (type == 0) hset(&h, name, "v");
                else set_add(&st, name, strlen(name));
            }
            int tmp = 0;
            hash_max_listpack_entries = 0; /* tables from the first field */
            if (pattern == 1)
                for (; tmp < 20000; tmp++) {
                    snprintf(name, sizeof name, "tmp%d", tmp);
                    if (type == 0) hset(&h, name, "v");
                    else set_add(&st, name, strlen(name));
                }
            unsigned long cursor = 0;
            int steps = 0;
            do {
                cursor = type == 0 ? hash_scan(h, cursor, mark_hash, &s) : set_scan(st, cursor, mark_set, &s);
                for (int j = 0; j < 40; j++) {
                    int grow = (pattern == 0 && tmp < 20000) || (pattern == 2 && (steps / 50) % 2 == 0 && tmp < 20000);
                    if (grow) {
                        snprintf(name, sizeof name, "tmp%d", tmp++);
                        if (type == 0) hset(&h, name, "v");
                        else set_add(&st, name, strlen(name));
                    } else if (tmp > 0) {
                        snprintf(name, sizeof name, "tmp%d", (int)(rnd() % (unsigned)tmp));
                        if (type == 0) hash_del(&h, name, strlen(name));
                        else set_remove(&st, name, strlen(name));
                    }
                }
                steps++;
            } while (cursor != 0 && steps < 1000000);
            ck_assert_uint_eq(cursor, 0);
            for (int i = 0; i < KEEP; i++) ck_assert_msg(hit[i], "pattern %d type %d missed keep%d", pattern, type, i);
            hash_free(h);
            set_free(st);
        }
    }
}
END_TEST

START_TEST(dict_scan_during_rehash_state) {
    /* Drive a set's table into the middle of a rehash and scan it then: every element
     * (all present throughout) comes back. */
    set *s = set_new_for("x", 1);
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "keep%d", i);
        set_add(&s, name, strlen(name));
    }
    /* 512 -> the add that crosses the load factor starts a rehash; scan right away. */
    for (int i = 500; i < 513; i++) {
        snprintf(name, sizeof name, "keep%d", i);
        set_add(&s, name, strlen(name));
    }
    unsigned char hit[513] = {0};
    seen sn = {hit};
    unsigned long cursor = 0;
    do { cursor = set_scan(s, cursor, mark_set, &sn); } while (cursor);
    for (int i = 0; i < 500; i++) ck_assert(hit[i]);
    set_free(s);
}
END_TEST

/* ---------------------------------------------------------------- sets */

typedef struct members {
    char buf[1 << 16];
    size_t len;
} members;

static void collect_member(void *priv, const char *m, size_t len) {
    members *p = priv;
    p->len += (size_t)snprintf(p->buf + p->len, sizeof p->buf - p->len, "%.*s,", (int)len, m);
}

static const char *set_text(set *s) {
    static members p;
    p.len = 0;
    p.buf[0] = '\0';
    set_foreach(s, collect_member, &p);
    return p.buf;
}

static int sadd(set **s, const char *m) { return set_add(s, m, strlen(m)); }

START_TEST(intset_widths_and_order) {
    set *s = set_new_for("5", 1);
    ck_assert_int_eq(set_encoding(s), SET_INTSET);
    ck_assert_str_eq(set_encoding_name(s), "intset");
    ck_assert_int_eq(sadd(&s, "5"), 1);
    ck_assert_int_eq(sadd(&s, "5"), 0);
    ck_assert_int_eq(sadd(&s, "-3"), 1);
    ck_assert_int_eq(sadd(&s, "100"), 1);
    ck_assert_str_eq(set_text(s), "-3,5,100,");
    size_t m16 = set_memory(s);
    ck_assert_int_eq(sadd(&s, "40000"), 1); /* int32 */
    ck_assert_int_eq(sadd(&s, "-40000"), 1);
    ck_assert_str_eq(set_text(s), "-40000,-3,5,100,40000,");
    ck_assert_int_eq(sadd(&s, "9223372036854775807"), 1); /* int64, goes last */
    ck_assert_int_eq(sadd(&s, "-9223372036854775808"), 1);
    ck_assert_str_eq(set_text(s), "-9223372036854775808,-40000,-3,5,100,40000,9223372036854775807,");
    ck_assert_uint_ge(set_memory(s), m16);
    ck_assert_int_eq(set_encoding(s), SET_INTSET);
    ck_assert_int_eq(set_ismember(s, "40000", 5), 1);
    ck_assert_int_eq(set_ismember(s, "040000", 6), 0);
    ck_assert_int_eq(set_ismember(s, "+5", 2), 0);
    ck_assert_int_eq(set_ismember(s, "x", 1), 0);
    ck_assert_int_eq(set_remove(&s, "5", 1), 1);
    ck_assert_int_eq(set_remove(&s, "5", 1), 0);
    ck_assert_int_eq(set_remove(&s, "abc", 3), 0);
    ck_assert_str_eq(set_text(s), "-9223372036854775808,-40000,-3,100,40000,9223372036854775807,");
    ck_assert_uint_eq(set_card(s), 6);
    set *d = set_dup(s);
    ck_assert_str_eq(set_text(d), "-9223372036854775808,-40000,-3,100,40000,9223372036854775807,");
    sadd(&d, "1");
    ck_assert_uint_eq(set_card(s), 6);
    set_free(d);
    set_free(s);
}
END_TEST

START_TEST(set_conversion_limits) {
    set_max_intset_entries = 3;
    set *s = set_new_for("1", 1);
    sadd(&s, "1");
    sadd(&s, "2");
    sadd(&s, "3");
    ck_assert_int_eq(set_encoding(s), SET_INTSET);
    sadd(&s, "3");
    ck_assert_int_eq(set_encoding(s), SET_INTSET);
    sadd(&s, "4");
    ck_assert_int_eq(set_encoding(s), SET_HASHTABLE);
    ck_assert_str_eq(set_encoding_name(s), "hashtable");
    for (int i = 1; i <= 4; i++) {
        char m[4];
        snprintf(m, sizeof m, "%d", i);
        ck_assert_int_eq(set_ismember(s, m, strlen(m)), 1);
    }
    set_free(s);
    /* A member that is not a canonical integer converts. */
    set_max_intset_entries = 512;
    s = set_new_for("1", 1);
    sadd(&s, "1");
    sadd(&s, "01");
    ck_assert_int_eq(set_encoding(s), SET_HASHTABLE);
    ck_assert_int_eq(set_ismember(s, "01", 2), 1);
    ck_assert_int_eq(set_ismember(s, "1", 1), 1);
    set_free(s);
    s = set_new_for("a", 1);
    ck_assert_int_eq(set_encoding(s), SET_HASHTABLE);
    set_free(s);
    s = set_new_for("9223372036854775808", 19);
    ck_assert_int_eq(set_encoding(s), SET_HASHTABLE);
    set_free(s);
}
END_TEST

START_TEST(set_random_ops_model) {
    for (int round = 0; round < 3; round++) {
        set_max_intset_entries = round == 2 ? 100000 : 512;
        rng_state = 99 + (uint64_t)round;
        static unsigned char in[MODEL_N];
        memset(in, 0, sizeof in);
        set *s = set_new_intset();
        for (int op = 0; op < 40000; op++) {
            int i = (int)(rnd() % MODEL_N);
            char m[24];
            if (round == 1) snprintf(m, sizeof m, "m%d", i);
            else snprintf(m, sizeof m, "%d", i - MODEL_N / 2);
            if (rnd() % 3) {
                ck_assert_int_eq(set_add(&s, m, strlen(m)), !in[i]);
                in[i] = 1;
            } else {
                ck_assert_int_eq(set_remove(&s, m, strlen(m)), in[i]);
                in[i] = 0;
            }
        }
        size_t n = 0;
        for (int i = 0; i < MODEL_N; i++) {
            char m[24];
            if (round == 1) snprintf(m, sizeof m, "m%d", i);
            else snprintf(m, sizeof m, "%d", i - MODEL_N / 2);
            ck_assert_int_eq(set_ismember(s, m, strlen(m)), in[i]);
            n += in[i];
        }
        ck_assert_uint_eq(set_card(s), n);
        ck_assert_int_eq(set_encoding(s), round == 2 ? SET_INTSET : SET_HASHTABLE);
        /* Random picks are members. */
        for (int k = 0; k < 1000; k++) {
            char buf[SET_MEMBER_BUF];
            const char *m;
            size_t len;
            set_random(s, buf, &m, &len);
            ck_assert_int_eq(set_ismember(s, m, len), 1);
        }
        set_free(s);
    }
}
END_TEST

START_TEST(hash_random_picks) {
    for (int big = 0; big < 2; big++) {
        hash *h = hash_new();
        int n = big ? 1000 : 10;
        for (int i = 0; i < n; i++) {
            char f[16], v[16];
            snprintf(f, sizeof f, "f%d", i);
            snprintf(v, sizeof v, "v%d", i);
            hset(&h, f, v);
        }
        unsigned char hit[1000] = {0};
        for (int k = 0; k < 20000; k++) {
            const char *f, *v;
            size_t fl, vl;
            hash_random(h, &f, &fl, &v, &vl);
            ck_assert(fl > 1 && f[0] == 'f');
            ck_assert_int_eq(memcmp(f + 1, v + 1, fl - 1), 0);
            hit[atoi(f + 1)] = 1;
        }
        int covered = 0;
        for (int i = 0; i < n; i++) covered += hit[i];
        ck_assert_int_ge(covered, n * 9 / 10);
        hash_free(h);
    }
}
END_TEST

static void mark_big(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    (void)v, (void)vlen;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.*s", (int)flen, f);
    if (tmp[0] == 'f') ((unsigned char *)priv)[atoi(tmp + 1)] = 1;
}

static void mark_big_set(void *priv, const char *m, size_t len) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.*s", (int)len, m);
    if (tmp[0] >= '0' && tmp[0] <= '9') ((unsigned char *)priv)[atoi(tmp)] = 1;
}

/* ---------------------------------------------------------------- big conversions */

START_TEST(hash_big_conversion_is_incremental) {
    /* A listpack far over the default limit converts a bounded number of fields per
     * operation; meanwhile every field stays visible exactly once, updates and deletes
     * of fields not yet moved work, a scan from 0 sees every field, and it finishes. */
    enum { N = 20000 };
    hash_max_listpack_entries = N;
    hash *h = hash_new();
    char f[32], v[32];
    for (int i = 0; i < N; i++) {
        snprintf(f, sizeof f, "f%d", i);
        snprintf(v, sizeof v, "%d", i);
        hset(&h, f, v);
    }
    ck_assert_int_eq(hash_encoding(h), HASH_LISTPACK);
    ck_assert_int_eq(hset(&h, "extra", "x"), 1);
    ck_assert_int_eq(hash_encoding(h), HASH_HASHTABLE);
    ck_assert(hash_converting(h));
    ck_assert_uint_eq(hash_len(h), N + 1);
    /* A field at the far end is still pending: read, update, delete it. */
    ck_assert_str_eq(hget(h, "f19999"), "19999");
    ck_assert_int_eq(hset(&h, "f19999", "updated"), 0);
    ck_assert_str_eq(hget(h, "f19999"), "updated");
    ck_assert_int_eq(hash_del(&h, "f19998", 6), 1);
    ck_assert_int_eq(hash_del(&h, "f19998", 6), 0);
    ck_assert_uint_eq(hash_len(h), N);
    walked = 0;
    hash_foreach(h, count_pair, NULL);
    ck_assert_uint_eq(walked, N);
    /* Scan from 0 while the conversion goes on between calls. */
    static unsigned char hit[N];
    memset(hit, 0, sizeof hit);
    unsigned long cursor = 0;
    int calls = 0;
    do {
        cursor = hash_scan(h, cursor, mark_big, hit);
        hget(h, "f1");
        calls++;
    } while (cursor);
    for (int i = 0; i < N; i++)
        if (i != 19998) ck_assert_msg(hit[i], "field f%d missed", i);
    /* Random picks come from both parts. */
    for (int k = 0; k < 200; k++) {
        const char *rf, *rv;
        size_t fl, vl;
        hash_random(h, &rf, &fl, &rv, &vl);
        ck_assert(fl > 0);
    }
    for (int k = 0; k < 40 && hash_converting(h); k++) hget(h, "f2");
    ck_assert(!hash_converting(h));
    ck_assert_uint_eq(hash_len(h), N);
    ck_assert_str_eq(hget(h, "f19999"), "updated");
    ck_assert_str_eq(hget(h, "f0"), "0");
    hash *d = hash_dup(h);
    ck_assert_uint_eq(hash_len(d), N);
    hash_free(d);
    hash_free(h);

    /* Freed (and duplicated) in the middle of a conversion: nothing leaks (ASan). */
    h = hash_new();
    for (int i = 0; i < N; i++) {
        snprintf(f, sizeof f, "f%d", i);
        hset(&h, f, "v");
    }
    hash_convert(&h);
    ck_assert(hash_converting(h));
    d = hash_dup(h);
    ck_assert_uint_eq(hash_len(d), N);
    ck_assert_uint_gt(hash_memory(h), (size_t)N * 4);
    hash_free(d);
    hash_free(h);
}
END_TEST

START_TEST(set_big_conversion_is_incremental) {
    enum { N = 20000 };
    set_max_intset_entries = N;
    set *s = set_new_intset();
    char m[32];
    for (int i = 0; i < N; i++) {
        snprintf(m, sizeof m, "%d", i);
        sadd(&s, m);
    }
    ck_assert_int_eq(set_encoding(s), SET_INTSET);
    ck_assert_int_eq(sadd(&s, "x"), 1);
    ck_assert_int_eq(set_encoding(s), SET_HASHTABLE);
    ck_assert(set_converting(s));
    ck_assert_uint_eq(set_card(s), N + 1);
    ck_assert_int_eq(set_ismember(s, "0", 1), 1); /* still pending: moved from the end */
    ck_assert_int_eq(sadd(&s, "0"), 0);
    ck_assert_int_eq(set_remove(&s, "1", 1), 1);
    ck_assert_int_eq(set_remove(&s, "1", 1), 0);
    ck_assert_uint_eq(set_card(s), N);
    static unsigned char hit[N];
    memset(hit, 0, sizeof hit);
    unsigned long cursor = 0;
    do {
        cursor = set_scan(s, cursor, mark_big_set, hit);
        set_ismember(s, "5", 1);
    } while (cursor);
    for (int i = 0; i < N; i++)
        if (i != 1) ck_assert_msg(hit[i], "member %d missed", i);
    for (int k = 0; k < 200; k++) {
        char buf[SET_MEMBER_BUF];
        const char *r;
        size_t len;
        set_random(s, buf, &r, &len);
        ck_assert_int_eq(set_ismember(s, r, len), 1);
    }
    for (int k = 0; k < 40 && set_converting(s); k++) set_ismember(s, "7", 1);
    ck_assert(!set_converting(s));
    ck_assert_uint_eq(set_card(s), N);
    ck_assert_int_eq(set_ismember(s, "0", 1), 1);
    ck_assert_int_eq(set_ismember(s, "1", 1), 0);
    set_free(s);
    s = set_new_intset();
    for (int i = 0; i < N; i++) {
        snprintf(m, sizeof m, "%d", i);
        sadd(&s, m);
    }
    set_convert(&s);
    ck_assert(set_converting(s));
    set *d = set_dup(s);
    ck_assert_uint_eq(set_card(d), N);
    set_free(d);
    set_free(s);
}
END_TEST

/* ---------------------------------------------------------------- descriptors */

START_TEST(descriptors_and_copy) {
    db *d = db_create(0);
    hash *h = hash_new();
    hset(&h, "a", "1");
    rkey *k = db_add_ptr(d, "h", 1, OBJ_HASH, h);
    ck_assert_str_eq(type_of(k)->name, "hash");
    ck_assert_str_eq(rkey_encoding(k), "listpack");
    set *s = set_new_for("1", 1);
    sadd(&s, "1");
    k = db_add_ptr(d, "s", 1, OBJ_SET, s);
    ck_assert_str_eq(type_of(k)->name, "set");
    ck_assert_str_eq(rkey_encoding(k), "intset");
    sadd(&s, "x");
    rkey_set_ptr(k, s);
    db_touch(d, k);
    ck_assert_str_eq(rkey_encoding(k), "hashtable");
    ck_assert_uint_gt(db_key_memory(d, k), set_memory(s));

    rkey *c = db_copy(d, db_lookup_read(d, "h", 1), "h2", 2);
    ck_assert_ptr_nonnull(c);
    hash *h2 = rkey_ptr(c);
    ck_assert_ptr_ne(h2, h);
    ck_assert_str_eq(hash_text(h2), "a=1,");
    c = db_copy(d, db_lookup_read(d, "s", 1), "s2", 2);
    ck_assert_str_eq(rkey_encoding(c), "hashtable");
    ck_assert_uint_eq(set_card(rkey_ptr(c)), 2);
    ck_assert_int_eq(db_delete(d, "s", 1), 1);
    ck_assert_uint_eq(set_card(rkey_ptr(db_lookup_read(d, "s2", 2))), 2);
    db_destroy(d);
}
END_TEST

START_TEST(free_in_steps) {
    /* Lazy freeing: the effort counts allocations; steps of a few units free a big
     * table piecewise (ASan checks nothing leaks or is freed twice). */
    hash *h = hash_new();
    ck_assert_uint_eq(hash_free_effort(h), 1);
    ck_assert_int_eq(hash_free_step(h, 1), 1);
    h = hash_new();
    set *s = set_new_intset();
    char f[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(f, sizeof f, "f%d", i);
        hset(&h, f, "v");
        sadd(&s, f);
    }
    ck_assert_uint_ge(hash_free_effort(h), 5000);
    ck_assert_uint_ge(set_free_effort(s), 5000);
    int steps = 0;
    while (!hash_free_step(h, 100)) steps++;
    ck_assert_int_ge(steps, 40);
    steps = 0;
    while (!set_free_step(s, 100)) steps++;
    ck_assert_int_ge(steps, 40);
    /* A table still converting from a big intset. */
    set_max_intset_entries = 100000;
    s = set_new_intset();
    for (int i = 0; i < 50000; i++) {
        snprintf(f, sizeof f, "%d", i);
        sadd(&s, f);
    }
    set_convert(&s);
    ck_assert(set_converting(s));
    while (!set_free_step(s, 64)) continue;
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("hashset");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, listpack_order_update_delete);
    tcase_add_test(t, listpack_long_values_lengths);
    tcase_add_test(t, hash_conversion_limits);
    tcase_add_test(t, hash_random_ops_model);
    tcase_add_test(t, hash_memory_tracks);
    tcase_add_test(t, scan_while_rehashing);
    tcase_add_test(t, dict_scan_during_rehash_state);
    tcase_add_test(t, intset_widths_and_order);
    tcase_add_test(t, set_conversion_limits);
    tcase_add_test(t, set_random_ops_model);
    tcase_add_test(t, hash_random_picks);
    tcase_add_test(t, descriptors_and_copy);
    tcase_add_test(t, hash_big_conversion_is_incremental);
    tcase_add_test(t, set_big_conversion_is_incremental);
    tcase_add_test(t, free_in_steps);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
