/* test_util.c: unit tests of common/util.c against Redis 7.0's observed behaviour
 * (string2ll, string2ld, ld2string human mode, stringmatchlen, %.17g), and SHA-1 against
 * FIPS 180's vectors. */
#include <check.h>
#include <stdio.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha1.h"
#include "common/util.h"

static int ll_ok(const char *s, long long *v) { return util_str2ll(s, strlen(s), v); }

START_TEST(test_str2ll_accepts) {
    long long v;
    ck_assert(ll_ok("0", &v) && v == 0);
    ck_assert(ll_ok("1", &v) && v == 1);
    ck_assert(ll_ok("-1", &v) && v == -1);
    ck_assert(ll_ok("1234567890", &v) && v == 1234567890LL);
    ck_assert(ll_ok("9223372036854775807", &v) && v == LLONG_MAX);
    ck_assert(ll_ok("-9223372036854775808", &v) && v == LLONG_MIN);
    ck_assert(ll_ok("-9223372036854775807", &v) && v == LLONG_MIN + 1);
    /* out may be NULL */
    ck_assert(util_str2ll("42", 2, NULL));
    /* only len bytes are looked at */
    ck_assert(util_str2ll("123abc", 3, &v) && v == 123);
}
END_TEST

START_TEST(test_str2ll_rejects) {
    long long v = 77;
    static const char *bad[] = {
        "",
        "-",
        "+1",
        " 1",
        "1 ",
        "01",
        "00",
        "-0",
        "-01",
        "1a",
        "a1",
        "0x10",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999",
        "1.0",
        "1e3",
        "--1",
        "000000000000000000001",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) ck_assert_msg(!ll_ok(bad[i], &v), "accepted \"%s\"", bad[i]);
    ck_assert_int_eq(v, 77); /* untouched on failure */
    ck_assert(!util_str2ll("1\0", 2, &v));
}
END_TEST

START_TEST(test_str2ull) {
    unsigned long long u;
    ck_assert(util_str2ull("0", 1, &u) && u == 0);
    ck_assert(util_str2ull("18446744073709551615", 20, &u) && u == ULLONG_MAX);
    ck_assert(!util_str2ull("18446744073709551616", 20, &u));
    ck_assert(!util_str2ull("-1", 2, &u));
    ck_assert(!util_str2ull("+1", 2, &u));
    ck_assert(!util_str2ull("01", 2, &u));
    ck_assert(!util_str2ull("", 0, &u));
    /* Redis's lenient string2ull (stream ids) */
    ck_assert(util_strtoull_redis("01", 2, &u) && u == 1);
    ck_assert(util_strtoull_redis("18446744073709551615", 20, &u) && u == ULLONG_MAX);
    ck_assert(!util_strtoull_redis("18446744073709551616", 20, &u));
    ck_assert(!util_strtoull_redis("-1", 2, &u));
    ck_assert(!util_strtoull_redis("1x", 2, &u));
    ck_assert(!util_strtoull_redis("", 0, &u));
}
END_TEST

START_TEST(test_ll2str) {
    char b[UTIL_LLSTR_SIZE];
    ck_assert_int_eq(util_ll2str(b, 0), 1);
    ck_assert_str_eq(b, "0");
    ck_assert_int_eq(util_ll2str(b, -1), 2);
    ck_assert_str_eq(b, "-1");
    ck_assert_int_eq(util_ll2str(b, LLONG_MAX), 19);
    ck_assert_str_eq(b, "9223372036854775807");
    ck_assert_int_eq(util_ll2str(b, LLONG_MIN), 20);
    ck_assert_str_eq(b, "-9223372036854775808");
    ck_assert_int_eq(util_ll2str(b, 1000), 4);
    ck_assert_str_eq(b, "1000");
}
END_TEST

START_TEST(test_str2ld) {
    long double v;
    ck_assert(util_str2ld("10.5", 4, &v) && v == 10.5L);
    ck_assert(util_str2ld("3.0e3", 5, &v) && v == 3000.0L);
    ck_assert(util_str2ld("-0", 2, &v) && v == 0.0L);
    ck_assert(util_str2ld("inf", 3, &v) && isinf(v));
    ck_assert(util_str2ld("+1", 2, &v) && v == 1.0L);
    ck_assert(util_str2ld("0x10", 4, &v) && v == 16.0L); /* strtold takes hex, so Redis does */
    ck_assert(!util_str2ld("", 0, &v));
    ck_assert(!util_str2ld(" 1", 2, &v));
    ck_assert(!util_str2ld("1 ", 2, &v));
    ck_assert(!util_str2ld("nan", 3, &v));
    ck_assert(!util_str2ld("1a", 2, &v));
    ck_assert(!util_str2ld("1e99999", 7, &v)); /* overflow */
    ck_assert(!util_str2ld("1\0", 2, &v));
    ck_assert(util_str2ld("1.5xyz", 3, &v) && v == 1.5L);
}
END_TEST

START_TEST(test_str2d) {
    double d;
    ck_assert(util_str2d("1.5", 3, &d) && d == 1.5);
    ck_assert(util_str2d("-inf", 4, &d) && isinf(d) && d < 0);
    ck_assert(util_str2d("1e308", 5, &d));
    ck_assert(!util_str2d("1e309", 5, &d));
    ck_assert(!util_str2d("1e-400", 6, &d)); /* underflow to zero */
    ck_assert(!util_str2d("", 0, &d));
    ck_assert(!util_str2d("\t1", 2, &d));
    ck_assert(!util_str2d("nan", 3, &d));
    ck_assert(!util_str2d("1.5 ", 4, &d));
    ck_assert(!util_str2d("1\0"
                          "2",
                          3, &d));
    /* a long input takes the heap path */
    {
        char big[300];
        memset(big, '0', sizeof big);
        big[0] = '1';
        big[1] = '.';
        ck_assert(util_str2d(big, sizeof big, &d) && d == 1.0);
    }
}
END_TEST

static const char *ld(long double v) {
    static char buf[UTIL_LDSTR_SIZE];
    ck_assert_int_ne(util_ld2str(buf, sizeof buf, v), 0);
    return buf;
}

static long double ldp(const char *s) {
    long double v;
    ck_assert(util_str2ld(s, strlen(s), &v));
    return v;
}

START_TEST(test_ld2str) {
    /* Each pair is what INCRBYFLOAT returned on a Redis 7.0.15 server. */
    ck_assert_str_eq(ld(ldp("10.5") + ldp("0.1")), "10.6");
    ck_assert_str_eq(ld(ldp("5.0e3") + ldp("2.0e2")), "5200");
    ck_assert_str_eq(ld(ldp("3.0e3")), "3000");
    ck_assert_str_eq(ld(ldp("0") + ldp("-0")), "0");
    ck_assert_str_eq(ld(-0.0L), "0");
    ck_assert_str_eq(ld(ldp("1") + ldp("1e-20")), "1");
    ck_assert_str_eq(ld(ldp("-1") + ldp("0.5")), "-0.5");
    ck_assert_str_eq(ld(ldp("1.5") + ldp("1e17")), "100000000000000001.5");
    ck_assert_str_eq(ld(ldp("123456789.123456789")), "123456789.12345678899873747");
    ck_assert_str_eq(ld(ldp("17179869184") + ldp("1.5")), "17179869185.5");
    ck_assert_str_eq(ld(ldp("1.1")), "1.1");
    ck_assert_str_eq(ld(ldp("0.0001")), "0.0001");
    ck_assert_str_eq(ld(ldp("1e300")), "100000000000000000000899732407955919387052394427329074793826008232126564"
                                       "659618093575584915208375049719035037250861427483590359255618467298391309"
                                       "626052074864628732713564184365329408425510760601678972665293237003055138"
                                       "294762099454029477278188962060617926761162709741065056718738610569008942"
                                       "4915104006144");
    ck_assert_str_eq(ld(INFINITY), "inf");
    ck_assert_str_eq(ld(-INFINITY), "-inf");
    ck_assert_str_eq(ld(100.0L), "100");
    /* no room */
    {
        char small[4];
        ck_assert_int_eq(util_ld2str(small, sizeof small, 12345.0L), 0);
        ck_assert_str_eq(small, "");
    }
}
END_TEST

/* The integer fast path prints exactly what "%.17g" prints, up to and past 2^53. */
START_TEST(test_d2str_integral_like_printf) {
    char a[64], b[64];
    double vals[] = {1,
                     -1,
                     7,
                     10,
                     99,
                     100,
                     123456789,
                     -987654321,
                     1e15,
                     1e16 - 1,
                     9007199254740991.0,
                     9007199254740992.0,
                     -9007199254740991.0,
                     9007199254740993.0,
                     1e17,
                     4503599627370497.0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        int n = util_d2str(a, sizeof a, vals[i]);
        snprintf(b, sizeof b, "%.17g", vals[i]);
        ck_assert_str_eq(a, b);
        ck_assert_int_eq(n, (int)strlen(b));
    }
    unsigned long long x = 88172645463325252ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = (double)(long long)(x >> (11 + i % 50)) * (i & 1 ? -1 : 1);
        util_d2str(a, sizeof a, v);
        snprintf(b, sizeof b, "%.17g", v);
        ck_assert_str_eq(a, b);
    }
}
END_TEST

START_TEST(test_d2str) {
    char b[64];
    ck_assert_int_eq(util_d2str(b, sizeof b, 1.1), 18);
    ck_assert_str_eq(b, "1.1000000000000001");
    util_d2str(b, sizeof b, 1.5);
    ck_assert_str_eq(b, "1.5");
    util_d2str(b, sizeof b, 1e20);
    ck_assert_str_eq(b, "1e+20");
    util_d2str(b, sizeof b, 0.0);
    ck_assert_str_eq(b, "0");
    util_d2str(b, sizeof b, -0.0);
    ck_assert_str_eq(b, "-0");
    util_d2str(b, sizeof b, INFINITY);
    ck_assert_str_eq(b, "inf");
    util_d2str(b, sizeof b, -INFINITY);
    ck_assert_str_eq(b, "-inf");
    util_d2str(b, sizeof b, NAN);
    ck_assert_str_eq(b, "nan");
    util_d2str(b, sizeof b, 3.0);
    ck_assert_str_eq(b, "3");
}
END_TEST

static int m(const char *pat, const char *s) { return util_stringmatch(pat, strlen(pat), s, strlen(s), 0); }

static int mi(const char *pat, const char *s) { return util_stringmatch(pat, strlen(pat), s, strlen(s), 1); }

START_TEST(test_stringmatch) {
    /* basics */
    ck_assert(m("hello", "hello"));
    ck_assert(!m("hello", "hellO"));
    ck_assert(mi("hello", "HeLLo"));
    ck_assert(m("h?llo", "hallo"));
    ck_assert(!m("h?llo", "hllo"));
    ck_assert(m("h*llo", "hllo"));
    ck_assert(m("h*llo", "heeeello"));
    ck_assert(m("*", "anything"));
    ck_assert(m("**", "x"));
    ck_assert(m("a*", "a"));
    ck_assert(m("a**", "a"));
    ck_assert(m("*a*", "bab"));
    ck_assert(!m("*a*", "bbb"));
    ck_assert(m("a*b*c", "axxbyyc"));
    ck_assert(!m("a*b*c", "axxbyy"));
    /* Redis quirk: a pattern never matches the empty string, not even "*" (KEYS and
     * SCAN special-case "*" before calling the matcher). */
    ck_assert(!m("*", ""));
    ck_assert(m("", ""));
    ck_assert(!m("", "a"));
    /* classes */
    ck_assert(m("h[ae]llo", "hello"));
    ck_assert(m("h[ae]llo", "hallo"));
    ck_assert(!m("h[ae]llo", "hillo"));
    ck_assert(m("h[^e]llo", "hallo"));
    ck_assert(!m("h[^e]llo", "hello"));
    ck_assert(m("h[a-b]llo", "hbllo"));
    ck_assert(m("h[b-a]llo", "hallo")); /* reversed range */
    ck_assert(!m("h[b-a]llo", "hcllo"));
    ck_assert(m("[A-Z]", "Q"));
    ck_assert(!m("[A-Z]", "q"));
    ck_assert(mi("[A-Z]", "q"));
    ck_assert(mi("[a-z]", "Q"));
    /* "[a-]" is the range ']'..'a' (a range's ends may come in either order) */
    ck_assert(!m("[a-]", "-"));
    ck_assert(m("[a-]", "a"));
    ck_assert(m("[a-]", "]"));
    ck_assert(m("[a-]", "^"));
    ck_assert(!m("[a-]", "b"));
    ck_assert(m("[-a]", "-"));
    ck_assert(m("[a-c-e]", "-"));
    ck_assert(!m("[a-c-e]", "d"));
    /* ']' right after '[' closes an empty class, which matches nothing */
    ck_assert(!m("[]a]", "a"));
    ck_assert(!m("[]a]", "]"));
    ck_assert(!m("[]a]", "]a]"));
    ck_assert(!m("[]]", "]"));
    ck_assert(m("[[]", "[")); /* '[' inside a class is literal */
    ck_assert(m("[a[]x", "[x"));
    ck_assert(m("[\\]]", "]")); /* escaped ']' inside a class */
    ck_assert(m("[\\-]", "-"));
    ck_assert(m("[^]", "a") == 1); /* "[^]" is an empty negated class: matches any */
    ck_assert(m("[]", "a") == 0);
    /* unterminated class: swallows the rest of the pattern */
    ck_assert(m("[abc", "b"));
    ck_assert(!m("[abc", "d"));
    ck_assert(!m("[abc", "bx"));
    ck_assert(m("a[", "a") == 0);
    ck_assert(m("[^", "x"));
    ck_assert(m("[a-", "-"));
    /* escapes */
    ck_assert(m("\\*", "*"));
    ck_assert(!m("\\*", "a"));
    ck_assert(m("\\?x", "?x"));
    ck_assert(m("a\\", "a\\")); /* trailing backslash is literal */
    ck_assert(m("\\\\", "\\"));
    ck_assert(m("[\\", "\\"));
    /* star then end */
    ck_assert(m("a*", "abc"));
    ck_assert(m("abc*", "abc"));
    ck_assert(m("abc***", "abc"));
    ck_assert(!m("abc*d", "abc"));
    /* binary safe */
    ck_assert(util_stringmatch("a?c", 3, "a\0c", 3, 0));
    ck_assert(util_stringmatch("a\0*", 3, "a\0cc", 4, 0));
    /* the early exit keeps pathological patterns fast */
    {
        char pat[200], s[200];
        int i;
        for (i = 0; i < 100; i++) {
            pat[2 * i] = 'a';
            pat[2 * i + 1] = '*';
        }
        pat[199] = 'b';
        memset(s, 'a', sizeof s);
        ck_assert(!util_stringmatch(pat, sizeof pat, s, sizeof s, 0));
    }
    /* deep nesting is refused, not a stack overflow */
    {
        size_t n = 200000, i;
        char *pat = malloc(n), *s = malloc(n);
        for (i = 0; i < n; i++) {
            pat[i] = (i % 2) ? '*' : 'a';
            s[i] = 'a';
        }
        ck_assert(!util_stringmatch(pat, n, s, n / 2, 0));
        free(pat);
        free(s);
    }
}
END_TEST

START_TEST(test_hash) {
    uint8_t seed[16] = {0};
    uint8_t seed2[16] = {1};
    uint64_t h1, h2, h3;
    char buf[64];
    int i, j;

    util_hash_seed(seed);
    /* SipHash-1-3 with a zero key: the values CPython 3.11's hash() gives for these
     * bytes under PYTHONHASHSEED=0 (its siphash13 with a zeroed secret). */
    ck_assert(util_hash("hello", 5) == 0xe2e77b41cb4e1f9eULL);
    ck_assert(util_hash("abcdefgh", 8) == 0x3f7b849c0b8e35eaULL);
    ck_assert(util_hash("abcdefghijklmnopqrstuvwxyz0123", 30) == 0xd00983fa05838912ULL);
    {
        uint8_t b16[16];
        for (i = 0; i < 16; i++) b16[i] = (uint8_t)i;
        ck_assert(util_hash(b16, 16) == 0x8972188433a5c5b7ULL);
    }
    h1 = util_hash("hello", 5);
    h2 = util_hash("hello", 5);
    ck_assert(h1 == h2);
    ck_assert(util_hash("hello", 5) != util_hash("hellp", 5));
    ck_assert(util_hash("", 0) != util_hash("\0", 1));
    util_hash_seed(seed2);
    h3 = util_hash("hello", 5);
    ck_assert(h3 != h1);
    util_hash_seed(seed);
    ck_assert(util_hash("hello", 5) == h1);
    /* every length 0..63 gives a distinct value and only reads len bytes */
    for (i = 0; i < 64; i++) buf[i] = (char)i;
    for (i = 0; i < 64; i++)
        for (j = i + 1; j < 64; j++) ck_assert(util_hash(buf, (size_t)i) != util_hash(buf, (size_t)j));
    {
        char *exact = malloc(13);
        memcpy(exact, buf, 13);
        ck_assert(util_hash(exact, 13) == util_hash(buf, 13));
        free(exact);
    }
    /* the low bits spread: 4096 sequential keys fill most of 1024 buckets */
    {
        static unsigned char used[1024];
        int filled = 0;
        for (i = 0; i < 4096; i++) {
            int len = util_ll2str(buf, i);
            used[util_hash(buf, (size_t)len) & 1023] = 1;
        }
        for (i = 0; i < 1024; i++) filled += used[i];
        ck_assert_int_gt(filled, 950);
    }
}
END_TEST

START_TEST(test_eqi_and_clocks) {
    long long a, b, m1, m2;
    ck_assert(util_eqi("GET", 3, "get"));
    ck_assert(util_eqi("get", 3, "GET"));
    ck_assert(!util_eqi("GE", 2, "get"));
    ck_assert(!util_eqi("GETX", 4, "get"));
    ck_assert(util_eqi("", 0, ""));
    ck_assert(!util_eqi("a", 1, ""));
    ck_assert(!util_eqi("g\0t", 3, "g"));
    a = util_mstime();
    b = util_ustime();
    ck_assert(a > 1600000000000LL);
    ck_assert(b / 1000 >= a);
    m1 = util_monotonic_us();
    m2 = util_monotonic_us();
    ck_assert(m2 >= m1);
}
END_TEST

START_TEST(test_sha1) {
    char hex[41];
    sha1_hex("", 0, hex);
    ck_assert_str_eq(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: two blocks */
    sha1_hex(two, strlen(two), hex);
    ck_assert_str_eq(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    /* a million 'a' fed in uneven pieces */
    sha1_ctx ctx;
    sha1_init(&ctx);
    char a[1000];
    memset(a, 'a', sizeof(a));
    size_t fed = 0, step = 1;
    while (fed < 1000000) {
        size_t n = 1000000 - fed < step ? 1000000 - fed : step;
        if (n > sizeof(a)) n = sizeof(a);
        sha1_update(&ctx, a, n);
        fed += n;
        step = step * 3 % 997 + 1;
    }
    uint8_t d[20];
    sha1_final(&ctx, d);
    static const uint8_t want[20] = {0x34, 0xaa, 0x97, 0x3c, 0xd4, 0xc4, 0xda, 0xa4, 0xf6, 0x1e,
                                     0xeb, 0x2b, 0xdb, 0xad, 0x27, 0x31, 0x65, 0x34, 0x01, 0x6f};
    ck_assert_mem_eq(d, want, 20);
    sha1_hex("return 1", 8, hex); /* what EVALSHA names `return 1` on Redis */
    ck_assert_str_eq(hex, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}
END_TEST

static Suite *util_suite(void) {
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_str2ll_accepts);
    tcase_add_test(tc, test_str2ll_rejects);
    tcase_add_test(tc, test_str2ull);
    tcase_add_test(tc, test_ll2str);
    tcase_add_test(tc, test_str2ld);
    tcase_add_test(tc, test_str2d);
    tcase_add_test(tc, test_ld2str);
    tcase_add_test(tc, test_d2str);
    tcase_add_test(tc, test_d2str_integral_like_printf);
    tcase_add_test(tc, test_stringmatch);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_eqi_and_clocks);
    tcase_add_test(tc, test_sha1);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(util_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
