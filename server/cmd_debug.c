/* cmd_debug.c: DEBUG (the subcommands operators and test suites use: SLEEP,
 * SET-ACTIVE-EXPIRE, OBJECT, LOG), refused unless enable-debug-command allows it, as
 * Redis 7; and the small replication-era commands a standalone server answers at once:
 * ROLE (a master without replicas), WAIT (no replica ever acknowledges: 0), LOLWUT
 * (the version line of Redis's unstable LOLWUT). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/persist.h"
#include "server/server.h"

static void cmd_debug(client *c);

/* enable-debug-command: "yes" allows everyone, "local" loopback and Unix-socket peers. */
static int debug_allowed(const client *c) {
    const char *mode = server.cfg.enable_debug_command;
    if (!mode || !strcmp(mode, "no")) return 0;
    if (!strcmp(mode, "yes")) return 1;
    return (c->flags & CLIENT_UNIX) || !strncmp(c->addr, "127.", 4) || !strncmp(c->addr, "::1:", 4);
}

int debug_refused(const client *c, const command *cmd) { return cmd->proc == cmd_debug && !debug_allowed(c); }

static void debug_sleep(client *c) {
    char buf[64];
    size_t n = c->argv[2].len < sizeof(buf) - 1 ? c->argv[2].len : sizeof(buf) - 1;
    memcpy(buf, c->argv[2].ptr, n);
    buf[n] = '\0';
    long long us = (long long)(strtod(buf, NULL) * 1000000); /* as Redis: junk is 0 */
    if (us > 0) {
        struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    reply_ok(&c->out);
}

static void debug_object(client *c) {
    rkey *k = db_peek(c->db, c->argv[2].ptr, c->argv[2].len);
    if (!k) {
        reply_error(&c->out, "no such key");
        return;
    }
    const char *pol = server.cfg.maxmemory_policy ? server.cfg.maxmemory_policy : "";
    int no_shared = server.cfg.maxmemory && (strstr(pol, "lru") || strstr(pol, "lfu"));
    int shared = rkey_is_int(k) && rkey_int(k) >= 0 && rkey_int(k) < 10000 && !no_shared;
    char line[256];
    snprintf(line, sizeof(line), "Value at:%p refcount:%d encoding:%s serializedlength:%zu lru:%u lru_seconds_idle:0",
             (void *)k, shared ? INT_MAX : 1, rkey_encoding(k), db_key_memory(c->db, k), rkey_access(k));
    reply_simple(&c->out, line);
}

static void debug_help(client *c) {
    static const char *const help[] = {
        "LOG <message>",
        "    Write <message> to the server log.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Options: MERGE, NOFLUSH, NOSAVE.",
        "    Show low level info about `key` and associated value.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load again (MERGE is taken and
 * ignored: a duplicate key is a load error here). */
static void debug_reload(client *c) {
    int save = 1, flush = 1;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "nosave")) save = 0;
        else if (arg_is(c, i, "noflush")) flush = 0;
        else if (!arg_is(c, i, "merge")) {
            reply_error(&c->out, "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
            return;
        }
    }
    /* (DEBUG is flagged `loading`: a reload inside a load would save and flush the
     * half-read dataset) */
    if (rdb_stat.loading) {
        reply_error(&c->out, LOADING_ERR);
        return;
    }
    if (save && persist_save() < 0) {
        reply_error(&c->out, "-ERR");
        return;
    }
    if (persist_debug_reload(c, 0, flush) < 0) {
        reply_error(&c->out, "Error trying to load the RDB dump, check server logs.");
        return;
    }
    log_notice("DB reloaded by DEBUG RELOAD");
    reply_ok(&c->out);
}

static void cmd_debug(client *c) {
    if (c->argc == 2 && arg_is(c, 1, "help")) debug_help(c);
    else if (c->argc >= 2 && arg_is(c, 1, "reload")) debug_reload(c);
    else if (c->argc == 3 && arg_is(c, 1, "sleep")) debug_sleep(c);
    else if (c->argc == 3 && arg_is(c, 1, "object")) debug_object(c);
    else if (c->argc == 3 && arg_is(c, 1, "set-active-expire")) {
        server.active_expire_disabled = atoi(c->argv[2].ptr) == 0; /* argv ends at a CR or NUL */
        reply_ok(&c->out);
    } else if (c->argc == 3 && arg_is(c, 1, "log")) {
        log_warning("DEBUG LOG: %.*s", (int)c->argv[2].len, c->argv[2].ptr);
        reply_ok(&c->out);
    } else {
        reply_errorf(&c->out, "unknown subcommand or wrong number of arguments for '%.*s'. Try DEBUG HELP.",
                     (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr);
    }
}

static void cmd_role(client *c) {
    reply_array(&c->out, 3);
    reply_bulk_cstr(&c->out, "master");
    reply_int(&c->out, 0);
    reply_array(&c->out, 0);
}

/* WAIT numreplicas timeout: checked as Redis; with no replicas the answer is 0 (Redis
 * would first wait out the timeout when numreplicas > 0). */
static void cmd_wait(client *c) {
    long long n, timeout;
    if (!arg_ll_or_reply(c, 1, &n)) return;
    if (!arg_ll_or_reply_msg(c, 2, &timeout, "timeout is not an integer or out of range")) return;
    if (timeout < 0) {
        reply_error(&c->out, "timeout is negative");
        return;
    }
    reply_int(&c->out, 0);
}

static void cmd_lolwut(client *c) {
    static const char line[] = "Redis ver. " REDIS_COMPAT_VERSION "\n";
    reply_verbatim(&c->out, line, sizeof(line) - 1, "txt");
}

// clang-format off
const command_binding debug_commands[] = {
    CMD("debug", cmd_debug),
    CMD("role", cmd_role),
    CMD("wait", cmd_wait),
    CMD("lolwut", cmd_lolwut),
    {0},
};
// clang-format on
