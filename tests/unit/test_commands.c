/* test_commands.c: unit tests of the command table (server/commands.c): every binding
 * has metadata in server/command_table.c, the metadata is sorted for its binary search,
 * and commands_init copies what dispatch reads (arity, flags, key positions) from it
 * into commands found by a case-insensitive lookup. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/command_table.h"
#include "server/server.h"

static int initialised;

static void init_once(void) {
    if (!initialised) commands_init(); /* exits if a binding has no metadata */
    initialised = 1;
}

START_TEST(test_metadata_sorted_and_complete) {
    ck_assert_uint_gt(command_metas_count, 200);
    for (size_t i = 1; i < command_metas_count; i++)
        ck_assert_msg(strcmp(command_metas[i - 1].fullname, command_metas[i].fullname) < 0, "%s before %s",
                      command_metas[i - 1].fullname, command_metas[i].fullname);
    for (size_t i = 0; i < command_metas_count; i++) {
        const command_meta *m = &command_metas[i];
        ck_assert_ptr_eq(command_meta_find(m->fullname), m);
        ck_assert_msg(m->summary && m->since && m->group, "%s lacks summary, since or group", m->fullname);
        ck_assert_msg(m->arity != 0, "%s has arity 0", m->fullname);
    }
    ck_assert_ptr_null(command_meta_find("nosuchcommand"));
    ck_assert_ptr_null(command_meta_find("GET")); /* exact, lower case */
}
END_TEST

START_TEST(test_every_binding_has_metadata) {
    int n = 0;
    for (size_t t = 0; command_tables[t]; t++) {
        for (const command_binding *b = command_tables[t]; b->name; b++, n++) {
            ck_assert_msg(command_meta_find(b->name), "command '%s' has no metadata", b->name);
            ck_assert_msg(b->proc || b->subcommands, "command '%s' has neither handler nor subcommands", b->name);
            for (const command_binding *s = b->subcommands; s && s->name; s++, n++) {
                char full[64];
                snprintf(full, sizeof(full), "%s|%s", b->name, s->name);
                ck_assert_msg(command_meta_find(full), "subcommand '%s' has no metadata", full);
                ck_assert_msg(s->proc && !s->subcommands, "subcommand '%s' needs a handler, no subcommands", full);
            }
        }
    }
    ck_assert_int_gt(n, 100);
}
END_TEST

struct walk {
    int commands, subcommands;
};

static void check_command(void *priv, const command *cmd) {
    struct walk *w = priv;
    const command_meta *m = cmd->meta;
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(cmd->fullname, m->fullname);
    ck_assert_int_eq(cmd->arity, m->arity);
    ck_assert_uint_eq(cmd->flags, m->flags);
    ck_assert_int_eq(cmd->first_key, m->first_key);
    ck_assert_int_eq(cmd->last_key, m->last_key);
    ck_assert_int_eq(cmd->step, m->step);
    if (cmd->parent) {
        w->subcommands++;
        char full[64];
        snprintf(full, sizeof(full), "%s|%s", cmd->parent->name, cmd->name);
        ck_assert_str_eq(cmd->fullname, full);
        ck_assert_ptr_nonnull(cmd->proc);
    } else {
        w->commands++;
        ck_assert_str_eq(cmd->fullname, cmd->name);
        ck_assert_ptr_eq(command_lookup(cmd->name, strlen(cmd->name)), cmd);
    }
}

START_TEST(test_init_copies_metadata) {
    init_once();
    struct walk w = {0, 0};
    commands_foreach(check_command, &w);
    ck_assert_int_eq((int)commands_count(), w.commands);
    ck_assert_int_gt(w.subcommands, 20);
}
END_TEST

START_TEST(test_lookup_and_flags_dispatch_reads) {
    init_once();
    const command *get = command_lookup("GeT", 3);
    ck_assert_ptr_nonnull(get);
    ck_assert_str_eq(get->fullname, "get");
    ck_assert_int_eq(get->arity, 2);
    ck_assert_uint_eq(get->flags, CMD_READONLY | CMD_FAST);
    ck_assert_ptr_null(command_lookup("nosuch", 6));
    ck_assert_ptr_null(command_lookup("", 0));
    /* The flags dispatch and maxmemory act on, as Redis sets them. */
    ck_assert(command_lookup("set", 3)->flags & CMD_DENYOOM);
    ck_assert(!(command_lookup("del", 3)->flags & CMD_DENYOOM));
    ck_assert(command_lookup("auth", 4)->flags & CMD_NO_AUTH);
    ck_assert(command_lookup("hello", 5)->flags & CMD_NO_AUTH);
    ck_assert(!(command_lookup("ping", 4)->flags & CMD_NO_AUTH));
    ck_assert(command_lookup("xread", 5)->flags & CMD_BLOCKING);
    ck_assert(command_lookup("shutdown", 8)->flags & CMD_NO_MULTI);
    const command *config = command_lookup("CONFIG", 6);
    ck_assert_ptr_nonnull(config->subcommands);
    ck_assert_ptr_null(config->proc);
    int found = 0;
    for (const command *s = config->subcommands; s->name; s++)
        if (!strcmp(s->fullname, "config|get")) found = s->arity == -3 && (s->flags & CMD_ADMIN) && s->parent == config;
    ck_assert(found);
}
END_TEST

static Suite *commands_suite(void) {
    Suite *s = suite_create("commands");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_metadata_sorted_and_complete);
    tcase_add_test(tc, test_every_binding_has_metadata);
    tcase_add_test(tc, test_init_copies_metadata);
    tcase_add_test(tc, test_lookup_and_flags_dispatch_reads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(commands_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
