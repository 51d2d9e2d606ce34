/* test_propagate.c: unit tests of the propagation stream (server/propagate.c) driven
 * through call_command with hand-made commands: a command is propagated as called only
 * if it changed the keyspace; replace, rewrite_arg, prevent, add and force; expired and
 * evicted keys as DEL, before the command that met them and wrapped with it in
 * MULTI/EXEC, or alone outside any command; EXEC wraps its queued commands (rewrites
 * apply to each inner command, not to EXEC); nothing is built while nobody subscribes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/server.h"
#include "storage/evict.h"

#define REQ(cond)                                                                                                      \
    do {                                                                                                               \
        if (!(cond)) ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #cond);                                     \
    } while (0)

/* The recorded stream: one "dbid:ARG ARG ..." line per command, joined by '|'. */
static char rec[4096];
static int rec_calls;

static void recorder(void *priv, int dbid, int argc, const resp_slice *argv) {
    (void)priv;
    size_t o = strlen(rec);
    if (o) rec[o++] = '|';
    o += (size_t)snprintf(rec + o, sizeof(rec) - o, "%d:", dbid);
    for (int i = 0; i < argc; i++)
        o += (size_t)snprintf(rec + o, sizeof(rec) - o, "%s%.*s", i ? " " : "", (int)argv[i].len, argv[i].ptr);
    rec_calls++;
}

static client *cl;
static int sub = -1;

static void set_args(client *c, int argc, const char **args) {
    free(c->argv);
    c->argv = xmalloc(sizeof(*c->argv) * (size_t)argc);
    for (int i = 0; i < argc; i++) c->argv[i] = (resp_slice){(char *)args[i], strlen(args[i])};
    c->argc = argc;
}

/* --- hand-made commands --- */
static void p_set(client *c) {
    db_set_string(c->db, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len, 0);
}
static void p_get(client *c) { db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len); }
static void p_noop(client *c) { (void)c; }
static void p_set_replaced(client *c) {
    p_set(c);
    if (propagate_wanted()) {
        resp_slice v[3] = {PROP_STR("SET"), c->argv[1], PROP_STR("replaced")};
        propagate_replace(c, 3, v);
    }
}
static void p_set_rewritten(client *c) {
    p_set(c);
    if (propagate_wanted()) {
        propagate_rewrite_arg(c, 0, "SET", 3);
        propagate_rewrite_arg(c, 2, "two", 3); /* builds on the first */
    }
}
static void p_set_instead(client *c) {
    p_set(c);
    if (!propagate_wanted()) return;
    propagate_prevent(c);
    resp_slice a[2] = {PROP_STR("FIRST"), c->argv[1]}, b[2] = {PROP_STR("SECOND"), c->argv[1]};
    propagate_add(1, 2, a);
    propagate_add(0, 2, b);
}
static void p_forced(client *c) {
    if (propagate_wanted()) propagate_force(c);
}

static command cmds[] = {
    {.name = "pset", .proc = p_set, .arity = -3, .flags = CMD_WRITE, .fullname = "pset"},
    {.name = "pget", .proc = p_get, .arity = 2, .flags = CMD_READONLY, .fullname = "pget"},
    {.name = "pnoop", .proc = p_noop, .arity = -1, .flags = CMD_WRITE, .fullname = "pnoop"},
    {.name = "prep", .proc = p_set_replaced, .arity = 3, .flags = CMD_WRITE, .fullname = "prep"},
    {.name = "prew", .proc = p_set_rewritten, .arity = 3, .flags = CMD_WRITE, .fullname = "prew"},
    {.name = "pins", .proc = p_set_instead, .arity = 3, .flags = CMD_WRITE, .fullname = "pins"},
    {.name = "pforce", .proc = p_forced, .arity = 1, .flags = CMD_WRITE, .fullname = "pforce"},
};
enum { SET, GET, NOOP, REP, REW, INS, FORCE };

static void run(int which, int argc, const char **args) {
    set_args(cl, argc, args);
    call_command(cl, &cmds[which]);
}

#define RUN(which, ...)                                                                                                \
    do {                                                                                                               \
        const char *a_[] = {__VA_ARGS__};                                                                              \
        run(which, (int)(sizeof(a_) / sizeof(a_[0])), a_);                                                             \
    } while (0)

static void setup(void) {
    server.cfg.slowlog_log_slower_than = -1;
    server.dbnum = 2;
    server.dbs = xcalloc(2, sizeof(db *));
    for (int i = 0; i < 2; i++) server.dbs[i] = db_create(i);
    cl = xcalloc(1, sizeof(*cl));
    reply_init(&cl->out);
    cl->db = server.dbs[0];
    cl->authenticated = 1;
    rec[0] = '\0';
    rec_calls = 0;
    sub = propagate_subscribe(recorder, NULL);
}

static void teardown(void) {
    propagate_unsubscribe(sub);
    reply_free(&cl->out);
    free(cl->argv);
    free(cl);
    for (int i = 0; i < 2; i++) db_destroy(server.dbs[i]);
    free(server.dbs);
}

START_TEST(test_dirty_decides) {
    RUN(SET, "pset", "k", "v");
    RUN(GET, "pget", "k");
    RUN(NOOP, "pnoop", "k");
    RUN(FORCE, "pforce");
    ck_assert_str_eq(rec, "0:pset k v|0:pforce");
}
END_TEST

START_TEST(test_rewrites) {
    RUN(REP, "prep", "k", "v");
    RUN(REW, "prew", "k", "v");
    RUN(INS, "pins", "k", "v");
    ck_assert_str_eq(rec, "0:SET k replaced|0:SET k two|1:MULTI|1:FIRST k|0:SECOND k|0:EXEC");
}
END_TEST

START_TEST(test_expired_and_evicted_as_del) {
    storage_now_ms = 1000000;
    db_set_expire(cl->db, db_set_string(cl->db, "a", 1, "v", 1, 0), storage_now_ms + 10);
    db_set_expire(cl->db, db_set_string(cl->db, "b", 1, "v", 1, 0), storage_now_ms + 10);
    db_set_expire(cl->db, db_set_string(cl->db, "c", 1, "v", 1, 0), storage_now_ms + 10);
    rec[0] = '\0';
    /* call_command takes its own time snapshot: make the keys expire in the past of it. */
    db_set_expire(cl->db, db_lookup_write(cl->db, "a", 1), 1);
    db_set_expire(cl->db, db_lookup_write(cl->db, "b", 1), 1);
    db_set_expire(cl->db, db_lookup_write(cl->db, "c", 1), 1);
    rec[0] = '\0';
    RUN(GET, "pget", "a"); /* a read meets an expired key: DEL alone */
    RUN(SET, "pset", "b", "new");
    ck_assert_str_eq(rec, "0:DEL a|0:MULTI|0:DEL b|0:pset b new|0:EXEC");
    rec[0] = '\0';
    storage_now_ms = util_mstime();
    REQ(db_active_expire(server.dbs, 2, 100000) == 1); /* outside any command: at once */
    ck_assert_str_eq(rec, "0:DEL c");
    rec[0] = '\0';
    db_set_string(server.dbs[1], "e", 1, "v", 1, 0);
    REQ(rec[0] == '\0'); /* a change outside any command is not a command */
    REQ(db_evict(server.dbs[1], "e", 1, 0) == 1);
    ck_assert_str_eq(rec, "1:DEL e");
}
END_TEST

/* EXEC as the dispatcher would find it (multi_is_exec knows it by its handler). */
static command *exec_cmd(void) {
    static command exec;
    for (const command_binding *b = multi_commands; b->name; b++)
        if (!strcmp(b->name, "exec")) exec = (command){.name = "exec", .proc = b->proc, .arity = 1, .fullname = "exec"};
    return &exec;
}

START_TEST(test_exec_wraps) {
    cl->flags |= CLIENT_MULTI;
    const char *q1[] = {"prep", "x", "1"}, *q2[] = {"pget", "x"}, *q3[] = {"pset", "y", "2"};
    set_args(cl, 3, q1);
    cl->cmd = &cmds[REP];
    multi_queue_command(cl);
    set_args(cl, 2, q2);
    cl->cmd = &cmds[GET];
    multi_queue_command(cl);
    set_args(cl, 3, q3);
    cl->cmd = &cmds[SET];
    multi_queue_command(cl);
    const char *e[] = {"exec"};
    set_args(cl, 1, e);
    call_command(cl, exec_cmd());
    ck_assert_str_eq(rec, "0:MULTI|0:SET x replaced|0:pset y 2|0:EXEC");
    /* An EXEC that changes nothing propagates nothing. */
    rec[0] = '\0';
    cl->flags |= CLIENT_MULTI;
    set_args(cl, 2, q2);
    cl->cmd = &cmds[GET];
    multi_queue_command(cl);
    set_args(cl, 1, e);
    call_command(cl, exec_cmd());
    ck_assert_str_eq(rec, "");
}
END_TEST

START_TEST(test_nobody_listens) {
    propagate_unsubscribe(sub);
    REQ(!propagate_wanted());
    RUN(SET, "pset", "k", "v");
    RUN(REP, "prep", "k", "v");
    storage_now_ms = 1000;
    db_set_expire(cl->db, db_lookup_write(cl->db, "k", 1), 1);
    RUN(GET, "pget", "k");
    REQ(rec_calls == 0);
    sub = propagate_subscribe(recorder, NULL);
    REQ(propagate_wanted());
    RUN(SET, "pset", "k", "v");
    ck_assert_str_eq(rec, "0:pset k v");
}
END_TEST

static Suite *propagate_suite(void) {
    Suite *s = suite_create("propagate");
    TCase *tc = tcase_create("propagate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_dirty_decides);
    tcase_add_test(tc, test_rewrites);
    tcase_add_test(tc, test_expired_and_evicted_as_del);
    tcase_add_test(tc, test_exec_wraps);
    tcase_add_test(tc, test_nobody_listens);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(propagate_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
