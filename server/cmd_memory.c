/* cmd_memory.c: MEMORY USAGE, PURGE and HELP, with Redis 7.0's replies and error texts.
 *
 * MEMORY USAGE asks storage for the key's record (allocator block, table slots) and its
 * value's bytes as the value's type measures them (storage/type.h). The figure is
 * exact, not sampled: a type's memory is kept up to date as the value changes, so
 * SAMPLES is parsed and checked as Redis does, then has nothing to do. The key is found
 * as Redis's dictFind finds it: no lazy expiry, no hit or miss counted, no access
 * update; a key that is not there gets a null reply.
 * MEMORY PURGE asks the allocator to give free pages back to the system
 * (common/alloc.h) and replies +OK, whatever it managed. */
#include "common/alloc.h"
#include "server/server.h"

/* MEMORY USAGE key [SAMPLES count] */
static void cmd_memory_usage(client *c) {
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "samples") && j + 1 < c->argc) {
            long long samples;
            if (!arg_ll_or_reply(c, ++j, &samples)) return;
            if (samples < 0) {
                reply_syntax_error(c);
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    rkey *k = db_peek(c->db, c->argv[2].ptr, c->argv[2].len);
    if (!k) {
        reply_null(&c->out);
        return;
    }
    reply_int(&c->out, (long long)db_key_memory(c->db, k));
}

static void cmd_memory_purge(client *c) {
    alloc_purge();
    reply_ok(&c->out);
}

static void cmd_memory_help(client *c) {
    static const char *const help[] = {
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

static const command_binding memory_subcommands[] = {
    CMD("help", cmd_memory_help),
    CMD("purge", cmd_memory_purge),
    CMD("usage", cmd_memory_usage),
    {0},
};

const command_binding memory_commands[] = {
    CMD("memory", NULL, memory_subcommands),
    {0},
};
