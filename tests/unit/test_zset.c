/* test_zset.c: unit tests of the sorted-set structure (storage/t_zset.h) against a
 * sorted-array model: random adds, updates, increments, removals and range deletions in
 * the listpack encoding, the skiplist encoding and across the conversion; after every
 * step the ranks, scores, score/lex counts and an in-order walk from every rank agree
 * with the model, and the O(1) memory figure grows and shrinks with the set. Also the
 * ZADD flag rules (NX XX GT LT INCR, NaN), encodings chosen by size hints, conversion
 * back for small results, dup, and the descriptor's collection slots.
 *
 * The large encoding's B+tree: sets loaded in ascending, descending and random order
 * then emptied from the front, the back and at random (splits, merges and root changes
 * at every level), equal-score runs spanning many leaves (lex counts and ranks), range
 * deletions across leaves, forward and backward walks. tests/CMakeLists.txt also builds
 * this file with storage/t_zset.c compiled in under ZSET_TREE_CHECK (and once with tiny
 * nodes), where every step also checks the tree's invariants (zset_tree_check). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/db.h"
#include "storage/t_zset.h"
#include "storage/type.h"

/* An assertion for hot loops: Check's own macros log every passing call. */
#define CHK(c)                                                                                                         \
    do {                                                                                                               \
        if (!(c)) ck_abort_msg("assertion %s failed (line %d)", #c, __LINE__);                                         \
    } while (0)

#ifdef ZSET_TREE_CHECK
int zset_tree_check(const zset *z);
#define TREE_OK(z) CHK(zset_tree_check(z))
#else
#define TREE_OK(z) ((void)(z))
#endif

static void setup(void) {
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    util_hash_seed(seed);
    types_init();
    zset_max_listpack_entries = 128;
    zset_max_listpack_value = 64;
}

typedef struct mentry {
    char m[16];
    size_t len;
    double score;
} mentry;

typedef struct model {
    mentry e[4096];
    size_t n;
} model;

static int mcmp(const mentry *a, double s, const char *m, size_t len) {
    if (a->score != s) return a->score < s ? -1 : 1;
    size_t n = a->len < len ? a->len : len;
    int r = memcmp(a->m, m, n);
    if (r) return r;
    return a->len < len ? -1 : a->len > len;
}

static long model_find(const model *md, const char *m, size_t len) {
    for (size_t i = 0; i < md->n; i++)
        if (md->e[i].len == len && !memcmp(md->e[i].m, m, len)) return (long)i;
    return -1;
}

static void model_del(model *md, long i) {
    memmove(&md->e[i], &md->e[i + 1], sizeof(mentry) * (md->n - (size_t)i - 1));
    md->n--;
}

static void model_add(model *md, double s, const char *m, size_t len) {
    size_t i = 0;
    while (i < md->n && mcmp(&md->e[i], s, m, len) < 0) i++;
    memmove(&md->e[i + 1], &md->e[i], sizeof(mentry) * (md->n - i));
    memcpy(md->e[i].m, m, len);
    md->e[i].len = len;
    md->e[i].score = s;
    md->n++;
}

static void check_same(zset *z, const model *md) {
    CHK((zset_len(z)) == (md->n));
    zset_iter it;
    const char *m;
    size_t len;
    double s;
    zset_iter_at(z, 0, &it);
    for (size_t i = 0; i < md->n; i++) {
        CHK(zset_iter_next(&it, &m, &len, &s));
        CHK((len) == (md->e[i].len));
        CHK(!memcmp(m, md->e[i].m, len));
        CHK(s == md->e[i].score);
        double s2;
        CHK(zset_score(z, m, len, &s2) && s2 == s);
        CHK((zset_rank(z, m, len, NULL)) == ((long long)i));
    }
    CHK(!zset_iter_next(&it, &m, &len, &s));
    /* backwards, one rank at a time (as ZREVRANGE's callers seek) */
    for (size_t r = md->n; r-- > 0;) {
        zset_iter_at(z, r, &it);
        CHK(zset_iter_next(&it, &m, &len, &s));
        CHK(len == md->e[r].len && !memcmp(m, md->e[r].m, len) && s == md->e[r].score);
    }
    zset_iter_at(z, md->n, &it);
    CHK(!zset_iter_next(&it, &m, &len, &s));
    TREE_OK(z);
    /* every start rank, a few of them */
    for (size_t r = 0; r < md->n; r += 1 + md->n / 7) {
        zset_iter_at(z, r, &it);
        CHK(zset_iter_next(&it, &m, &len, &s));
        CHK(!memcmp(m, md->e[r].m, len) && len == md->e[r].len);
    }
    /* counts below scores present and absent */
    for (int k = -1; k <= 21; k++) {
        double t = k;
        size_t lt = 0, le = 0;
        for (size_t i = 0; i < md->n; i++) {
            lt += md->e[i].score < t;
            le += md->e[i].score <= t;
        }
        CHK((zset_count_below_score(z, t, 0)) == (lt));
        CHK((zset_count_below_score(z, t, 1)) == (le));
    }
}

static void random_run(unsigned seed, size_t steps, size_t maxn) {
    model *md = calloc(1, sizeof(*md));
    zset *z = zset_new(0, 0);
    srand(seed);
    for (size_t step = 0; step < steps; step++) {
        char m[16];
        size_t len = (size_t)snprintf(m, sizeof m, "m%zu", (size_t)rand() % maxn);
        double s = rand() % 20;
        int op = rand() % 10, out;
        long i = model_find(md, m, len);
        if (op < 5) {
            double ns;
            ck_assert(zset_add(z, s, m, len, 0, &out, &ns));
            if (i >= 0) model_del(md, i);
            model_add(md, s, m, len);
            ck_assert_int_eq(!!(out & ZADD_OUT_ADDED), i < 0);
        } else if (op < 7) {
            double ns;
            ck_assert(zset_add(z, 1, m, len, ZADD_IN_INCR, &out, &ns));
            double base = i >= 0 ? md->e[i].score : 0;
            if (i >= 0) model_del(md, i);
            model_add(md, base + 1, m, len);
            ck_assert(ns == base + 1);
        } else if (op < 9) {
            ck_assert_int_eq(zset_del(z, m, len), i >= 0);
            if (i >= 0) model_del(md, i);
        } else if (md->n) {
            size_t lo = (size_t)rand() % md->n, hi = lo + (size_t)rand() % 4;
            if (hi > md->n) hi = md->n;
            ck_assert_uint_eq(zset_del_range(z, lo, hi), hi - lo);
            for (size_t k = lo; k < hi; k++) model_del(md, (long)lo);
        }
        if (step % 5 == 0 || md->n < 30) TREE_OK(z);
        if (step % 41 == 0 || md->n < 10) check_same(z, md);
    }
    check_same(z, md);
    zset *d = zset_dup(z);
    check_same(d, md);
    ck_assert_int_eq(zset_is_listpack(d), zset_is_listpack(z));
    zset_free(d);
    zset_free(z);
    free(md);
}

START_TEST(test_listpack_random) {
    zset_max_listpack_entries = 100000;
    random_run(1, 3000, 60);
    zset *z = zset_new(0, 0);
    ck_assert(zset_is_listpack(z));
    zset_free(z);
}
END_TEST

START_TEST(test_skiplist_random) {
    zset_max_listpack_entries = 0;
    random_run(2, 6000, 600);
}
END_TEST

START_TEST(test_conversion_random) {
    zset_max_listpack_entries = 40;
    random_run(3, 8000, 120);
}
END_TEST

START_TEST(test_add_flags) {
    zset *z = zset_new(0, 0);
    int out;
    double ns, s;
    ck_assert(zset_add(z, 5, "a", 1, ZADD_IN_XX, &out, &ns) && out == ZADD_OUT_NOP);
    ck_assert_uint_eq(zset_len(z), 0);
    ck_assert(zset_add(z, 5, "a", 1, ZADD_IN_NX, &out, &ns) && out == ZADD_OUT_ADDED);
    ck_assert(zset_add(z, 6, "a", 1, ZADD_IN_NX, &out, &ns) && out == ZADD_OUT_NOP);
    ck_assert(zset_add(z, 4, "a", 1, ZADD_IN_GT, &out, &ns) && out == ZADD_OUT_NOP);
    ck_assert(zset_add(z, 7, "a", 1, ZADD_IN_GT, &out, &ns) && out == ZADD_OUT_UPDATED && ns == 7);
    ck_assert(zset_add(z, 8, "a", 1, ZADD_IN_LT, &out, &ns) && out == ZADD_OUT_NOP);
    ck_assert(zset_add(z, 7, "a", 1, 0, &out, &ns) && out == 0);
    ck_assert(zset_add(z, INFINITY, "a", 1, 0, &out, &ns));
    ck_assert(!zset_add(z, -INFINITY, "a", 1, ZADD_IN_INCR, &out, &ns) && (out & ZADD_OUT_NAN));
    ck_assert(zset_score(z, "a", 1, &s) && isinf(s));
    ck_assert(!zset_add(z, NAN, "b", 1, 0, &out, &ns));
    ck_assert(zset_add(z, -0.0, "z", 1, 0, &out, &ns));
    ck_assert(zset_score(z, "z", 1, &s) && s == 0 && !signbit(s)); /* listpack keeps -0 as 0, as Redis */
    zset_free(z);
}
END_TEST

START_TEST(test_encodings_and_limits) {
    zset_max_listpack_entries = 3;
    zset_max_listpack_value = 4;
    zset *z = zset_new(3, 4);
    ck_assert(zset_is_listpack(z));
    zset_free(z);
    z = zset_new(4, 1);
    ck_assert(!zset_is_listpack(z));
    zset_free(z);
    z = zset_new(1, 5);
    ck_assert(!zset_is_listpack(z));
    zset_free(z);
    z = zset_new(0, 0);
    int out;
    size_t m0 = zset_memory(z);
    zset_add(z, 1, "a", 1, 0, &out, NULL);
    zset_add(z, 2, "b", 1, 0, &out, NULL);
    zset_add(z, 3, "c", 1, 0, &out, NULL);
    ck_assert(zset_is_listpack(z));
    size_t m1 = zset_memory(z);
    ck_assert_uint_gt(m1, m0);
    zset_add(z, 4, "d", 1, 0, &out, NULL);
    ck_assert(!zset_is_listpack(z));
    ck_assert_uint_gt(zset_memory(z), m1);
    zset_del(z, "d", 1);
    ck_assert(!zset_is_listpack(z)); /* never back by itself */
    zset_convert_if_small(z);
    ck_assert(zset_is_listpack(z));
    ck_assert_int_eq(zset_rank(z, "c", 1, NULL), 2);
    zset_add(z, 1, "long!", 5, 0, &out, NULL);
    ck_assert(!zset_is_listpack(z));
    zset_convert_if_small(z); /* a long member keeps it a skiplist */
    ck_assert(!zset_is_listpack(z));
    zset_free(z);
}
END_TEST

START_TEST(test_lex_counts) {
    for (int enc = 0; enc < 2; enc++) {
        zset_max_listpack_entries = enc ? 0 : 128;
        zset *z = zset_new(0, 0);
        const char *m[] = {"a", "b", "bb", "c", "d"};
        int out;
        for (int i = 0; i < 5; i++) zset_add(z, 0, m[i], strlen(m[i]), 0, &out, NULL);
        ck_assert_uint_eq(zset_count_below_lex(z, "b", 1, 0), 1);
        ck_assert_uint_eq(zset_count_below_lex(z, "b", 1, 1), 2);
        ck_assert_uint_eq(zset_count_below_lex(z, "bc", 2, 0), 3);
        ck_assert_uint_eq(zset_count_below_lex(z, "e", 1, 1), 5);
        ck_assert_uint_eq(zset_count_below_lex(z, "", 0, 1), 0);
        zset_free(z);
    }
}
END_TEST

static void count_elem(void *priv, const char *e, size_t len) {
    (void)e;
    *(size_t *)priv += len;
}

START_TEST(test_descriptor) {
    const value_type *t = type_get(OBJ_ZSET);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->name, "zset");
    zset *z = zset_new(0, 0);
    int out;
    zset_add(z, 2, "bb", 2, 0, &out, NULL);
    zset_add(z, 1, "a", 1, 0, &out, NULL);
    ck_assert_uint_eq(t->length(z), 2);
    size_t total = 0;
    t->elements(z, count_elem, &total);
    ck_assert_uint_eq(total, 3);
    db *d = db_create(0);
    rkey *k = db_add_ptr(d, "k", 1, OBJ_ZSET, z);
    ck_assert_str_eq(rkey_encoding(k), "listpack");
    zset_convert_to_skiplist(z);
    ck_assert_str_eq(rkey_encoding(k), "skiplist");
    rkey *c = db_copy(d, k, "c", 1);
    ck_assert_ptr_nonnull(c);
    zset *cz = rkey_ptr(c);
    ck_assert_ptr_ne(cz, z);
    ck_assert_int_eq(zset_rank(cz, "bb", 2, NULL), 1);
    ck_assert_uint_gt(db_key_memory(d, c), 0);
    db_destroy(d);
}
END_TEST

typedef struct seen_set {
    unsigned char seen[4000];
} seen_set;

static void mark_seen(void *priv, const char *m, size_t len, double score) {
    seen_set *s = priv;
    char buf[16];
    memcpy(buf, m, len);
    buf[len] = 0;
    int i = atoi(buf + 1);
    ck_assert(score == i);
    s->seen[i] = 1;
}

/* ZSCAN's cursor walk returns every member present for the whole scan, while the member
 * table grows (rehashes) and shrinks under it. */
START_TEST(test_scan_while_rehashing) {
    zset_max_listpack_entries = 0;
    for (int phase = 0; phase < 2; phase++) {
        zset *z = zset_new(0, 0);
        int out;
        char m[16];
        for (int i = 0; i < 1000; i++) {
            size_t n = (size_t)snprintf(m, sizeof m, "m%d", i);
            zset_add(z, i, m, n, 0, &out, NULL);
        }
        seen_set s = {{0}};
        unsigned long cursor = 0;
        int step = 0, next = 1000;
        do {
            cursor = zset_scan(z, cursor, mark_seen, &s);
            /* grow past the next power of two, or shrink the extras away */
            for (int k = 0; k < 40; k++, next++) {
                size_t n;
                if (phase == 0 && next < 4000) {
                    n = (size_t)snprintf(m, sizeof m, "m%d", next);
                    zset_add(z, next, m, n, 0, &out, NULL);
                } else if (phase == 1 && next - 1000 < 900) {
                    n = (size_t)snprintf(m, sizeof m, "m%d", next - 1000 + 100);
                    zset_del(z, m, n);
                }
            }
            step++;
        } while (cursor && step < 100000);
        int hi = phase == 0 ? 1000 : 100; /* phase 1 removes m100.. as it goes */
        for (int i = 0; i < hi; i++) ck_assert_msg(s.seen[i], "member m%d never returned", i);
        zset_free(z);
    }
}
END_TEST

/* Loaded in order (ascending, descending) or at random, then emptied from the front, the
 * back or at random by single removals and range removals. */
START_TEST(test_tree_load_and_drain) {
    zset_max_listpack_entries = 0;
    model *md = calloc(1, sizeof(*md));
    const size_t n = 3000;
    for (int order = 0; order < 3; order++) {
        for (int drain = 0; drain < 4; drain++) {
            srand((unsigned)(order * 10 + drain + 100));
            zset *z = zset_new(0, 0);
            md->n = 0;
            int out;
            for (size_t i = 0; i < n; i++) {
                char m[16];
                size_t k = order == 2 ? (size_t)rand() % 100000 : i;
                size_t len = (size_t)snprintf(m, sizeof m, "m%zu", k);
                double s = order == 0 ? (double)i : order == 1 ? -(double)i : (double)(rand() % 50);
                if (order == 2 && model_find(md, m, len) >= 0) continue;
                CHK(zset_add(z, s, m, len, 0, &out, NULL) && out == ZADD_OUT_ADDED);
                model_add(md, s, m, len);
                if (i % 97 == 0) TREE_OK(z);
            }
            check_same(z, md);
            if (order < 2) /* in-order loads fill their leaves: well under 48 bytes of tree a member */
                ck_assert_uint_lt(zset_memory(z), md->n * 120);
            while (md->n) {
                size_t lo, hi;
                if (drain == 0) lo = 0, hi = 1 + (size_t)rand() % 3;
                else if (drain == 1) hi = md->n, lo = md->n > 2 ? md->n - 1 - (size_t)rand() % 2 : 0;
                else if (drain == 2) lo = (size_t)rand() % md->n, hi = lo + 1;
                else lo = (size_t)rand() % md->n, hi = lo + 1 + (size_t)rand() % 150;
                if (hi > md->n) hi = md->n;
                if (drain == 2) {
                    CHK(zset_del(z, md->e[lo].m, md->e[lo].len));
                } else {
                    CHK((zset_del_range(z, lo, hi)) == (hi - lo));
                }
                for (size_t k = lo; k < hi; k++) model_del(md, (long)lo);
                if (md->n % 5 == 0 || md->n < 100) TREE_OK(z);
                if (md->n % 211 == 0) check_same(z, md);
            }
            check_same(z, md);
            CHK((zset_len(z)) == (0));
            /* an emptied tree takes members again */
            CHK(zset_add(z, 1, "x", 1, 0, &out, NULL) && out == ZADD_OUT_ADDED);
            CHK((zset_rank(z, "x", 1, NULL)) == (0));
            TREE_OK(z);
            zset_free(z);
        }
    }
    free(md);
}
END_TEST

/* Runs of equal scores over many leaves: members ordered by their bytes (prefixes first),
 * lex counts, ranks, and score updates that move members within and across runs. */
START_TEST(test_tree_equal_scores) {
    zset_max_listpack_entries = 0;
    model *md = calloc(1, sizeof(*md));
    zset *z = zset_new(0, 0);
    srand(7);
    int out;
    for (int step = 0; step < 4000; step++) {
        char m[16];
        size_t len = 1 + (size_t)rand() % 12;
        for (size_t k = 0; k < len; k++) m[k] = "ab\xff"[rand() % (k < 3 ? 3 : 2)];
        double s = step < 2500 ? 0 : (double)(rand() % 3 - 1);
        long i = model_find(md, m, len);
        if (step >= 2500 && rand() % 4 == 0) {
            CHK((zset_del(z, m, len)) == (i >= 0));
            if (i >= 0) model_del(md, i);
        } else {
            CHK(zset_add(z, s, m, len, 0, &out, NULL));
            if (i >= 0) model_del(md, i);
            model_add(md, s, m, len);
        }
        if (step % 50 == 0) TREE_OK(z);
        if (step == 2499) {
            /* one run of score 0: lex counts against the model, probes present and absent */
            check_same(z, md);
            for (int probe = 0; probe < 300; probe++) {
                char q[16];
                size_t qlen = (size_t)rand() % 13;
                for (size_t k = 0; k < qlen; k++) q[k] = "ab\xff"[rand() % 3];
                size_t lt = 0, le = 0;
                for (size_t k = 0; k < md->n; k++) {
                    size_t c = md->e[k].len < qlen ? md->e[k].len : qlen;
                    int r = memcmp(md->e[k].m, q, c);
                    if (!r) r = md->e[k].len < qlen ? -1 : md->e[k].len > qlen;
                    lt += r < 0;
                    le += r <= 0;
                }
                CHK((zset_count_below_lex(z, q, qlen, 0)) == (lt));
                CHK((zset_count_below_lex(z, q, qlen, 1)) == (le));
            }
        }
    }
    check_same(z, md);
    zset *d = zset_dup(z);
    TREE_OK(d);
    check_same(d, md);
    zset_free(d);
    zset_free(z);
    free(md);
}
END_TEST

/* Score updates: in place when the member keeps its place (also at a leaf's first and
 * last entry), else moved; INCR by tiny steps keeps the order with its neighbours. */
START_TEST(test_tree_updates) {
    zset_max_listpack_entries = 0;
    model *md = calloc(1, sizeof(*md));
    zset *z = zset_new(0, 0);
    srand(11);
    int out;
    for (int i = 0; i < 2000; i++) {
        char m[16];
        size_t len = (size_t)snprintf(m, sizeof m, "m%d", i);
        zset_add(z, i * 10, m, len, 0, &out, NULL);
        model_add(md, i * 10, m, len);
    }
    for (int step = 0; step < 6000; step++) {
        size_t r = (size_t)rand() % md->n;
        mentry e = md->e[r];
        double delta = rand() % 2 ? (double)(rand() % 9 - 4) : (double)(rand() % 4000 - 2000) * 10;
        double ns;
        CHK(zset_add(z, delta, e.m, e.len, ZADD_IN_INCR, &out, &ns));
        CHK(ns == e.score + delta);
        model_del(md, (long)r);
        model_add(md, e.score + delta, e.m, e.len);
        if (step % 20 == 0) TREE_OK(z);
        if (step % 500 == 0) check_same(z, md);
    }
    check_same(z, md);
    zset_free(z);
    free(md);
}
END_TEST

int main(void) {
    Suite *su = suite_create("zset");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_listpack_random);
    tcase_add_test(tc, test_skiplist_random);
    tcase_add_test(tc, test_conversion_random);
    tcase_add_test(tc, test_add_flags);
    tcase_add_test(tc, test_encodings_and_limits);
    tcase_add_test(tc, test_lex_counts);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_scan_while_rehashing);
    tcase_add_test(tc, test_tree_load_and_drain);
    tcase_add_test(tc, test_tree_equal_scores);
    tcase_add_test(tc, test_tree_updates);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
