/* cmd_memory.c: MEMORY USAGE and MEMORY HELP, with Redis 7.0's replies and error texts.
 *
 * MEMORY USAGE asks storage for the key's record (allocator block, table slots) and its
 * value's bytes as the value's type measures them (storage/type.h). The figure is
 * exact, not sampled: a type's memory is kept up to date as the value changes, so
 * SAMPLES is parsed and checked as Redis does, then has nothing to do. The key is found
 * as Redis's dictFind finds it: no lazy expiry, no hit or miss counted, no access
 * update; a key that is not there gets a null reply. */
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

static void cmd_memory_help(client *c) {
    static const char *help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
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
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof help / sizeof *help;
    reply_array(&c->out, (long)n);
    for (size_t i = 0; i < n; i++) reply_simple(&c->out, help[i]);
}

static struct command memory_subcommands[] = {
    {"help", cmd_memory_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Show helpful text about the different subcommands", "4.0.0", NULL, NULL, NULL, 0, 0},
    {"usage", cmd_memory_usage, -3, CMD_READONLY, 2, 2, 1, "server", "Estimate the memory usage of a key", "4.0.0",
     NULL, NULL, NULL, 0, 0},
    {0},
};

struct command memory_commands[] = {
    {"memory", NULL, -2, 0, 0, 0, 0, "server", "A container for memory diagnostics commands", "4.0.0",
     memory_subcommands, NULL, NULL, 0, 0},
    {0},
};
