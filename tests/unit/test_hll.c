/* test_hll.c: unit tests of storage/hll.c, Redis's HyperLogLog representation: the
 * empty value's bytes, MurmurHash64A, sparse adds and their run-length bytes, the
 * sparse->dense promotion (at a register over 32 and at hll_sparse_max_bytes) giving
 * the same registers and estimate, merge and the raw estimator, the cached cardinality,
 * and corrupt values detected (never read out of bounds: run under ASan). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/hll.h"

static hll_buf empty_buf(void) {
    hll_buf h = {xmalloc(HLL_EMPTY_SIZE), HLL_EMPTY_SIZE, HLL_EMPTY_SIZE};
    hll_init_empty(h.p);
    return h;
}

static void add_n(hll_buf *h, int from, int n) {
    char e[32];
    for (int i = from; i < from + n; i++) {
        int len = snprintf(e, sizeof e, "elem:%d", i);
        ck_assert_int_ge(hll_add(h, e, (size_t)len), 0);
    }
}

START_TEST(test_empty) {
    uint8_t e[HLL_EMPTY_SIZE];
    hll_init_empty(e);
    static const uint8_t want[HLL_EMPTY_SIZE] = {'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff};
    ck_assert_mem_eq(e, want, sizeof want);
    ck_assert(hll_is_valid(e, sizeof e));
    ck_assert(hll_cache_valid(e));
    ck_assert_uint_eq(hll_count(e, sizeof e, NULL), 0);
    ck_assert(!hll_is_valid(e, 15));
    e[4] = 2;
    ck_assert(!hll_is_valid(e, sizeof e));
    e[4] = HLL_DENSE;
    ck_assert(!hll_is_valid(e, sizeof e)); /* dense must be exactly 12304 bytes */
}
END_TEST

START_TEST(test_murmur) {
    /* The hash Redis uses; the register an element maps to must not depend on the
     * platform (bytes are read little endian whatever the CPU). */
    ck_assert_uint_eq(hll_murmur64a("", 0, 0), 0);
    uint64_t a = hll_murmur64a("hello", 5, 0xadc83b19ULL), b = hll_murmur64a("hellp", 5, 0xadc83b19ULL);
    ck_assert(a != b);
    for (size_t n = 0; n < 20; n++) { /* every tail length */
        char buf[20] = "abcdefghijklmnopqrs";
        uint64_t h1 = hll_murmur64a(buf, n, 1);
        buf[n > 0 ? n - 1 : 0] ^= 1;
        ck_assert(n == 0 || hll_murmur64a(buf, n, 1) != h1);
    }
    long idx;
    int count = hll_pattern("a", 1, &idx);
    ck_assert_int_ge(count, 1);
    ck_assert_int_le(count, 51);
    ck_assert_int_lt(idx, HLL_REGISTERS);
}
END_TEST

START_TEST(test_sparse_runs) {
    hll_buf h = empty_buf();
    ck_assert_int_eq(hll_set(&h, 0, 3), 1);
    /* VAL(3,1) then XZERO(16383) */
    ck_assert_uint_eq(h.len, HLL_HDR_SIZE + 3);
    ck_assert_uint_eq(h.p[16], 0x80 | (2 << 2));
    ck_assert_uint_eq(h.p[17], 0x40 | 0x3f);
    ck_assert_uint_eq(h.p[18], 0xfe);
    ck_assert(!hll_cache_valid(h.p));
    ck_assert_int_eq(hll_set(&h, 0, 2), 0); /* lower: no change */
    ck_assert_int_eq(hll_set(&h, 1, 3), 1); /* merged into VAL(3,2) */
    ck_assert_uint_eq(h.len, HLL_HDR_SIZE + 3);
    ck_assert_uint_eq(h.p[16], 0x80 | (2 << 2) | 1);
    ck_assert_int_eq(hll_set(&h, 16383, 1), 1); /* ... XZERO(16381) VAL(1,1) */
    ck_assert_uint_eq(h.len, HLL_HDR_SIZE + 4);
    ck_assert_uint_eq(h.p[19], 0x80);
    ck_assert_int_eq(hll_set(&h, 100, 5), 1); /* ZERO(64)+XZERO split: XZERO(98) VAL ZERO... */
    int bad = 0;
    hll_count(h.p, h.len, &bad);
    ck_assert_int_eq(bad, 0);
    free(h.p);
}
END_TEST

/* The registers of a value, as bytes. */
static void registers(const hll_buf *h, uint8_t out[HLL_REGISTERS]) {
    memset(out, 0, HLL_REGISTERS);
    ck_assert_int_eq(hll_merge(out, h->p, h->len), 0);
}

START_TEST(test_promotion_keeps_registers) {
    static uint8_t r1[HLL_REGISTERS], r2[HLL_REGISTERS];
    size_t saved = hll_sparse_max_bytes;
    hll_buf h = empty_buf();
    add_n(&h, 0, 500);
    ck_assert_uint_eq(h.p[4], HLL_SPARSE);
    uint64_t sparse_count = hll_count(h.p, h.len, NULL);
    registers(&h, r1);
    ck_assert_int_eq(hll_to_dense(&h), 0);
    ck_assert_uint_eq(h.len, HLL_DENSE_SIZE);
    ck_assert(hll_is_valid(h.p, h.len));
    registers(&h, r2);
    ck_assert_mem_eq(r1, r2, HLL_REGISTERS);
    ck_assert_uint_eq(hll_count(h.p, h.len, NULL), sparse_count);
    ck_assert_uint_eq(hll_count_raw(r1), sparse_count);
    free(h.p);

    /* the byte threshold: adding past it promotes, and the estimate is unchanged by it */
    hll_sparse_max_bytes = 60;
    hll_buf a = empty_buf();
    add_n(&a, 0, 200);
    ck_assert_uint_eq(a.p[4], HLL_DENSE);
    hll_sparse_max_bytes = 3000;
    hll_buf b = empty_buf();
    add_n(&b, 0, 200);
    ck_assert_uint_eq(b.p[4], HLL_SPARSE);
    ck_assert_uint_le(b.len, 3000);
    ck_assert_uint_eq(hll_count(a.p, a.len, NULL), hll_count(b.p, b.len, NULL));
    /* a register over 32 cannot be sparse */
    ck_assert_int_eq(hll_set(&b, 7, 33), 1);
    ck_assert_uint_eq(b.p[4], HLL_DENSE);
    ck_assert_int_eq(hll_dense_get(b.p, 7), 33);
    free(a.p);
    free(b.p);
    hll_sparse_max_bytes = saved;
}
END_TEST

START_TEST(test_estimates) {
    hll_buf h = empty_buf();
    int n = 0;
    for (int target = 10; target <= 100000; target *= 10) {
        add_n(&h, n, target - n);
        n = target;
        double got = (double)hll_count(h.p, h.len, NULL);
        ck_assert_msg(got > n * 0.95 && got < n * 1.05, "n %d estimate %.0f", n, got);
    }
    ck_assert_uint_eq(h.p[4], HLL_DENSE);
    free(h.p);
}
END_TEST

START_TEST(test_cache) {
    uint8_t v[HLL_EMPTY_SIZE];
    hll_init_empty(v);
    hll_cache_set(v, 0x0102030405060708ULL);
    ck_assert_uint_eq(v[8], 0x08);
    ck_assert_uint_eq(v[15], 0x01);
    ck_assert_uint_eq(hll_cache_get(v), 0x0102030405060708ULL);
    ck_assert(hll_cache_valid(v));
    hll_invalidate(v);
    ck_assert(!hll_cache_valid(v));
}
END_TEST

START_TEST(test_corrupt) {
    static uint8_t max[HLL_REGISTERS];
    /* opcodes covering too few, too many, truncated, a VAL run past the end */
    static const uint8_t bodies[][4] = {{0x7f, 0xfe}, {0x7f, 0xff, 0x00}, {0x7f}, {0x7f, 0xfd, 0xff}, {0x00}};
    static const size_t lens[] = {2, 3, 1, 3, 1};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        hll_buf h = {xmalloc(HLL_HDR_SIZE + 4), HLL_HDR_SIZE + lens[i], HLL_HDR_SIZE + 4};
        hll_init_empty(h.p);
        memcpy(h.p + HLL_HDR_SIZE, bodies[i], lens[i]);
        int bad = 0;
        hll_count(h.p, h.len, &bad);
        ck_assert_int_eq(bad, 1);
        memset(max, 0, sizeof max);
        ck_assert_int_eq(hll_merge(max, h.p, h.len), -1);
        ck_assert_int_eq(hll_to_dense(&h), -1);
        ck_assert_uint_eq(h.p[4], HLL_SPARSE);
        for (int r = 0; r < 200; r += 7) hll_set(&h, r * 80, 40); /* must not crash */
        free(h.p);
    }
}
END_TEST

int main(void) {
    Suite *su = suite_create("hll");
    TCase *tc = tcase_create("hll");
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_murmur);
    tcase_add_test(tc, test_sparse_runs);
    tcase_add_test(tc, test_promotion_keeps_registers);
    tcase_add_test(tc, test_estimates);
    tcase_add_test(tc, test_cache);
    tcase_add_test(tc, test_corrupt);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
