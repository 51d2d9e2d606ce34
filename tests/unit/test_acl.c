/* test_acl.c: unit tests of SHA-256 (common/sha256.c, FIPS 180-4 test vectors) and of
 * the ACL rule parser and checks (server/acl.c): rules as ACL SETUSER applies them,
 * descriptions as ACL LIST shows them, and DRYRUN's verdicts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "server/acl.h"
#include "server/config.h"
#include "server/server.h"

static void hex_of(const char *s, size_t len, char out[65]) { sha256_hex(s, len, out); }

START_TEST(test_sha256_vectors) {
    char h[65];
    hex_of("", 0, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m, strlen(m), h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* "password", as Redis stores it */
    hex_of("password", 8, h);
    ck_assert_str_eq(h, "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8");
}
END_TEST

START_TEST(test_sha256_incremental) {
    /* a million 'a's fed in uneven pieces: every block boundary case */
    static char a[1000];
    memset(a, 'a', sizeof(a));
    sha256_ctx ctx;
    uint8_t d[32];
    sha256_init(&ctx);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t n = step < 1000 ? step : 1000;
        if (n > 1000000 - done) n = 1000000 - done;
        sha256_update(&ctx, a, n);
        done += n;
        step = step * 7 % 997 + 1;
    }
    sha256_final(&ctx, d);
    static const uint8_t want[8] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92};
    ck_assert_mem_eq(d, want, 8);
    /* 55, 56, 63, 64, 65 bytes: padding that fits or spills into another block */
    char h1[65], h2[65];
    for (size_t len = 55; len <= 65; len++) {
        sha256_init(&ctx);
        for (size_t i = 0; i < len; i++) sha256_update(&ctx, "x", 1);
        sha256_final(&ctx, d);
        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < 32; i++) {
            h1[2 * i] = hex[d[i] >> 4];
            h1[2 * i + 1] = hex[d[i] & 15];
        }
        h1[64] = 0;
        char buf[65];
        memset(buf, 'x', len);
        hex_of(buf, len, h2);
        ck_assert_str_eq(h1, h2);
    }
}
END_TEST

static int initialised;

static void setup(void) {
    if (!initialised) {
        config_init();
        commands_init();
        ck_assert(acl_init());
        initialised = 1;
    }
}

/* Apply space-separated rules to user name; NULL or the error. */
static const char *rules(const char *name, const char *text) {
    resp_slice v[32];
    char *copy = strdup(text);
    int n = 0;
    for (char *w = strtok(copy, " "); w && n < 32; w = strtok(NULL, " ")) v[n++] = (resp_slice){w, strlen(w)};
    const char *err = acl_setuser(name, v, n);
    static char keep[1024];
    if (err) snprintf(keep, sizeof(keep), "%s", err);
    free(copy);
    return err ? keep : NULL;
}

static void describes(const char *name, const char *want) {
    char *d = acl_describe(name);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d, want);
    free(d);
}

/* DRYRUN of a space-separated command: 0 allowed, 1 denied, -1 error. */
static int dry(const char *user, const char *cmd) {
    resp_slice v[16];
    char *copy = strdup(cmd);
    int n = 0;
    for (char *w = strtok(copy, " "); w && n < 16; w = strtok(NULL, " ")) v[n++] = (resp_slice){w, strlen(w)};
    char msg[256];
    int r = acl_dryrun(user, strlen(user), v, n, msg, sizeof(msg));
    free(copy);
    return r;
}

START_TEST(test_rules_describe) {
    describes("default", "on nopass ~* &* +@all");
    ck_assert_ptr_null(rules("t1", ""));
    describes("t1", "off resetchannels -@all");
    ck_assert_ptr_null(rules("t1", "on >password ~k* %R~r* %RW~b %W~w &c1 +get +select|0"));
    describes("t1", "on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~k* %R~r* ~b %W~w "
                    "resetchannels &c1 -@all +get +select|0");
    ck_assert_ptr_null(rules("t1", "reset +@all -flushall allkeys"));
    describes("t1", "off sanitize-payload ~* resetchannels +@all -flushall");
    ck_assert_ptr_null(rules("t1", "-@all +@read -@hash"));
    char *d = acl_describe("t1");
    /* described as Redis's greedy best fit does: categories, then single commands */
    ck_assert_msg(strstr(d, " -@all +@") && strstr(d, " +get ") && !strstr(d, "hget"), "%s", d);
    free(d);
    ck_assert_ptr_null(rules("t1", "clearselectors (+get ~a) (+set %W~b)"));
    d = acl_describe("t1");
    ck_assert_msg(strstr(d, " (~a resetchannels -@all +get) (%W~b resetchannels -@all +set)") != NULL, "%s", d);
    free(d);
}
END_TEST

START_TEST(test_rule_errors) {
    ck_assert_str_eq(rules("t2", "nosuch"), "Error in ACL SETUSER modifier 'nosuch': Syntax error");
    ck_assert_str_eq(rules("t2", "+nosuch"),
                     "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
    ck_assert_str_eq(rules("t2", "+config|get|x"),
                     "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not "
                     "supported");
    ck_assert_ptr_nonnull(rules("t2", "~* ~a"));
    ck_assert_ptr_nonnull(rules("t2", "&* &a"));
    ck_assert_ptr_nonnull(rules("t2", "#ABC"));
    ck_assert_ptr_nonnull(rules("t2", "<nosuch"));
    ck_assert_ptr_nonnull(rules("t2", "(+get"));
    /* a failed SETUSER changes nothing: t2 never came to exist */
    ck_assert_ptr_null(acl_describe("t2"));
    ck_assert_ptr_null(rules("t2", "on +get ~a*"));
    ck_assert_ptr_nonnull(rules("t2", "+set ~b* nosuch"));
    describes("t2", "on ~a* resetchannels -@all +get");
}
END_TEST

START_TEST(test_checks) {
    ck_assert_ptr_null(rules("t3", "on nopass %R~r* %W~w* ~k* -@all +@read +set +copy +config|get +select|0"));
    ck_assert_int_eq(dry("t3", "get k1"), 0);
    ck_assert_int_eq(dry("t3", "get r1"), 0);
    ck_assert_int_eq(dry("t3", "get w1"), 1);
    ck_assert_int_eq(dry("t3", "set w1 v"), 0);
    ck_assert_int_eq(dry("t3", "set w1 v get"), 1); /* GET makes it a read too */
    ck_assert_int_eq(dry("t3", "set r1 v"), 1);
    ck_assert_int_eq(dry("t3", "copy r1 w1"), 0);
    ck_assert_int_eq(dry("t3", "copy w1 r1"), 1);
    ck_assert_int_eq(dry("t3", "mget k1 r1 w1"), 1);
    ck_assert_int_eq(dry("t3", "config get x"), 0);
    ck_assert_int_eq(dry("t3", "config set x y"), 1);
    ck_assert_int_eq(dry("t3", "select 0"), 0);
    ck_assert_int_eq(dry("t3", "select 1"), 1);
    ck_assert_int_eq(dry("t3", "flushall"), 1);
    ck_assert_int_eq(dry("t3", "nosuch"), -1);
    ck_assert_int_eq(dry("nosuch", "get a"), -1);
    /* a selector can allow what the root selector does not */
    ck_assert_ptr_null(rules("t3", "(+flushall)"));
    ck_assert_int_eq(dry("t3", "flushall"), 0);
    ck_assert_int_eq(dry("default", "flushall"), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("sha256");
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_sha256_incremental);
    suite_add_tcase(s, tc);
    tc = tcase_create("rules");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_rules_describe);
    tcase_add_test(tc, test_rule_errors);
    tcase_add_test(tc, test_checks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
