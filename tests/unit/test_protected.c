/* test_protected.c: unit tests of protected mode's decision (server/net.c):
 * net_is_loopback() and net_protected_mode_denies() on hand-made socket addresses
 * (no sockets, no traffic). Protected mode refuses a peer only when protected-mode is
 * on, no password is set and the peer is not on the loopback interface. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "server/net.h"
#include "server/server.h"

static struct sockaddr_storage addr_of(const char *ip, int port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        ck_assert_msg(inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1, "bad IPv6 literal %s", ip);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        ck_assert_msg(inet_pton(AF_INET, ip, &s4->sin_addr) == 1, "bad IPv4 literal %s", ip);
    }
    return ss;
}

static int denies(const char *ip) {
    struct sockaddr_storage ss = addr_of(ip, 50000);
    return net_protected_mode_denies(&ss);
}

static int loopback(const char *ip) {
    struct sockaddr_storage ss = addr_of(ip, 50000);
    return net_is_loopback(&ss);
}

static const char *const local_peers[] = {
    "127.0.0.1", "127.5.5.5", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:127.9.8.7",
};
static const char *const remote_peers[] = {
    "10.0.0.1",
    "192.168.1.1",
    "192.0.2.7",
    "8.8.8.8",
    "126.255.255.255",
    "128.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "::ffff:10.0.0.1",
    "::ffff:192.168.1.1",
    "2001:db8::1",
    "fe80::1",
    "::",
    "::2",
    "::127.0.0.1",
    "fd00::7f00:1",
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Each test starts from protected-mode yes and no password (Redis's defaults). */
static void defaults(void) {
    server.cfg.protected_mode = 1;
    server.cfg.requirepass = NULL;
}

START_TEST(test_loopback_classification) {
    size_t i;
    for (i = 0; i < N(local_peers); i++)
        ck_assert_msg(loopback(local_peers[i]), "%s is not seen as loopback", local_peers[i]);
    for (i = 0; i < N(remote_peers); i++)
        ck_assert_msg(!loopback(remote_peers[i]), "%s is seen as loopback", remote_peers[i]);
}
END_TEST

START_TEST(test_unix_socket_is_local) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    ((struct sockaddr_un *)&ss)->sun_family = AF_UNIX;
    strcpy(((struct sockaddr_un *)&ss)->sun_path, "/tmp/respite.sock");
    ck_assert(net_is_loopback(&ss));
    ck_assert(!net_protected_mode_denies(&ss));
}
END_TEST

START_TEST(test_denies_remote_allows_local) {
    size_t i;
    ck_assert(!denies("127.0.0.1"));
    ck_assert(!denies("127.5.5.5"));
    ck_assert(denies("10.0.0.1"));
    ck_assert(denies("192.168.1.1"));
    ck_assert(!denies("::1"));
    ck_assert(!denies("::ffff:127.0.0.1"));
    ck_assert(denies("::ffff:10.0.0.1"));
    ck_assert(denies("2001:db8::1"));
    for (i = 0; i < N(local_peers); i++) ck_assert_msg(!denies(local_peers[i]), "%s denied", local_peers[i]);
    for (i = 0; i < N(remote_peers); i++) ck_assert_msg(denies(remote_peers[i]), "%s not denied", remote_peers[i]);
}
END_TEST

START_TEST(test_port_does_not_matter) {
    struct sockaddr_storage a = addr_of("10.0.0.1", 0), b = addr_of("10.0.0.1", 65535);
    struct sockaddr_storage c = addr_of("127.0.0.1", 0), d = addr_of("::1", 65535);
    ck_assert(net_protected_mode_denies(&a));
    ck_assert(net_protected_mode_denies(&b));
    ck_assert(!net_protected_mode_denies(&c));
    ck_assert(!net_protected_mode_denies(&d));
}
END_TEST

START_TEST(test_password_allows_everyone) {
    size_t i;
    char pass[] = "secret";
    server.cfg.requirepass = pass;
    for (i = 0; i < N(remote_peers); i++)
        ck_assert_msg(!denies(remote_peers[i]), "%s denied with requirepass set", remote_peers[i]);
    for (i = 0; i < N(local_peers); i++)
        ck_assert_msg(!denies(local_peers[i]), "%s denied with requirepass set", local_peers[i]);
    server.cfg.requirepass = NULL;
}
END_TEST

START_TEST(test_empty_password_is_no_password) {
    char empty[] = "";
    server.cfg.requirepass = empty; /* CONFIG SET requirepass "" clears the password */
    ck_assert(denies("10.0.0.1"));
    ck_assert(denies("2001:db8::1"));
    ck_assert(!denies("127.0.0.1"));
    server.cfg.requirepass = NULL;
}
END_TEST

START_TEST(test_protected_mode_off_allows_everyone) {
    size_t i;
    server.cfg.protected_mode = 0;
    for (i = 0; i < N(remote_peers); i++)
        ck_assert_msg(!denies(remote_peers[i]), "%s denied with protected-mode off", remote_peers[i]);
    for (i = 0; i < N(local_peers); i++)
        ck_assert_msg(!denies(local_peers[i]), "%s denied with protected-mode off", local_peers[i]);
    /* and on again: the decision follows the setting at the time of the call */
    server.cfg.protected_mode = 1;
    ck_assert(denies("10.0.0.1"));
}
END_TEST

static Suite *protected_suite(void) {
    Suite *s = suite_create("protected");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, defaults, NULL);
    tcase_add_test(tc, test_loopback_classification);
    tcase_add_test(tc, test_unix_socket_is_local);
    tcase_add_test(tc, test_denies_remote_allows_local);
    tcase_add_test(tc, test_port_does_not_matter);
    tcase_add_test(tc, test_password_allows_everyone);
    tcase_add_test(tc, test_empty_password_is_no_password);
    tcase_add_test(tc, test_protected_mode_off_allows_everyone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(protected_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
