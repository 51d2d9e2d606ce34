/* dispatch.c: from a parsed argv to a handler: command lookup (with container
 * subcommands), the central arity check with Redis's text, DEBUG's gate,
 * authentication, -LOADING while the dataset loads, -BUSY while a script runs too long, CLIENT PAUSE (server/pause.c: a
 * held command waits before it is queued or run), MULTI queueing, then the call (with
 * propagation, server/propagate.h). Rejections inside MULTI mark the transaction dirty so
 * EXEC answers EXECABORT, as Redis does. Rejections and finished calls are reported to
 * server/stats.c (errorstats, rejected/failed calls, latency).
 *
 * CLIENT REPLY OFF/SKIP: when a command of such a client begins, where its output
 * stands is noted (client_reply_begin), and once it is done what it added is dropped
 * (client_reply_end), whatever path wrote it; pushes are kept (client_push_begin/end).
 * A client with no mode set pays one flag test per command. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "server/acl.h"
#include "server/aof.h"
#include "server/net.h"
#include "server/propagate.h"
#include "server/persist.h"
#include "server/script.h"
#include "server/server.h"
#include "server/tracking.h"

/* An error that rejects the command before it runs: inside MULTI it also dooms EXEC. */
static void reject(client *c, const char *msg) {
    if (multi_is_exec(c->cmd)) multi_exec_abort(c, msg);
    else {
        if (c->flags & CLIENT_MULTI) c->flags |= CLIENT_DIRTY_EXEC;
        reply_error(&c->out, msg);
    }
    stats_rejected(c->cmd); /* rejected_calls, errorstats */
}

static void reject_unknown(client *c) {
    char args[160];
    size_t o = 0;
    args[0] = '\0';
    for (int i = 1; i < c->argc && o < 128; i++) {
        int room = 128 - (int)o;
        int w = snprintf(args + o, sizeof(args) - o, "'%.*s' ",
                         (int)(c->argv[i].len < (size_t)room ? c->argv[i].len : (size_t)room), c->argv[i].ptr);
        if (w < 0) break;
        o += (size_t)w;
        if (o >= sizeof(args)) o = sizeof(args) - 1;
    }
    char msg[512];
    int nl = (int)(c->argv[0].len < 128 ? c->argv[0].len : 128);
    snprintf(msg, sizeof(msg), "unknown command '%.*s', with args beginning with: %s", nl, c->argv[0].ptr, args);
    reject(c, msg);
}

/* A clock read costs 100-150 ns on a VM with a virtualised TSC, as much as the rest of a
 * small command, and every command needs its duration (commandstats, slowlog, latency
 * tracking). So within one run of a client's pipelined commands (call_clock_chain(1)
 * before it, (0) after) a command starts where the previous one ended: the time between
 * is parsing the next. Outside such a run every command reads the clock twice. */
static int clock_chaining;
static long long clock_chain;

void call_clock_chain(int on) {
    clock_chaining = on;
    clock_chain = 0;
}

/* What Redis refuses while persistence is failing: write commands, an EXEC that would
 * run one, and PING. */
static int writes_or_ping(const client *c, const command *cmd) {
    if (cmd->flags & CMD_WRITE) return 1;
    if (multi_is_exec(cmd)) {
        for (int i = 0; i < c->mcount; i++)
            if (c->mstate[i].cmd->flags & CMD_WRITE) return 1;
        return 0;
    }
    return !strcmp(cmd->fullname, "ping");
}

void call_command(client *c, command *cmd) {
    if (c->bs_head) client_bcast_materialize(c); /* its reply goes after what it was sent */
    c->cmd = cmd;
    c->redacted = 0;
    int chain = clock_chain && !(c->flags & CLIENT_SCRIPT); /* a script's calls have Lua between them */
    long long start = chain ? clock_chain : util_ustime();
    clock_chain = 0; /* a nested call (EXEC's commands) reads the clock for itself */
    /* As Redis, time stands still for a script: keys expire as of its start. */
    storage_now_ms = c->flags & CLIENT_SCRIPT ? script_snapshot_ms() : start / 1000;
    stats_call_begin();
    if (monitor_count() && (cmd->flags & CMD_SKIP_MONITOR)) monitor_feed_script_call(c, cmd);
    tracking_call_enter(c);
    /* With a propagation subscriber, propagate_call compares storage_dirty around the
     * handler and queues what the command must be replayed as; otherwise nothing. */
    if (propagate_wanted()) propagate_call(c, cmd);
    else cmd->proc(c);
    tracking_call_exit(c, cmd);
    long long end = util_ustime();
    long long duration = end - start;
    if (clock_chaining && !(c->flags & CLIENT_SCRIPT)) clock_chain = end;
    if (monitor_count()) monitor_feed(c, cmd, c->argc, c->argv);
    cmd->usec += duration;
    if (duration >= server.cfg.slowlog_log_slower_than && server.cfg.slowlog_log_slower_than >= 0 &&
        !(cmd->flags & CMD_BLOCKING && c->blocked) && !multi_is_exec(cmd))
        slowlog_push(c, c->argc, c->argv, duration);
    cmd->calls++;
    server.stat_numcommands++;
    stats_after_call(c, cmd, duration); /* failed_calls, latencystats, LATENCY */
}

/* EXEC of a transaction holding a write command counts as a write (Redis's
 * processCommand: the MISCONF check). */
static int queued_write_refused(const client *c) {
    if (!(c->flags & CLIENT_MULTI)) return 0;
    for (int i = 0; i < c->mcount; i++)
        if (persist_refuses_write(c->mstate[i].cmd)) return 1;
    return 0;
}

/* The commands a RESP2 client in subscribed mode may run. */
static int pubsub_mode_allows(const command *cmd) {
    static const char *const ok[] = {"ping",       "subscribe",    "ssubscribe", "unsubscribe", "sunsubscribe",
                                     "psubscribe", "punsubscribe", "quit",       "reset"};
    if (cmd->parent) return 0;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!strcmp(cmd->name, ok[i])) return 1;
    return 0;
}

static void process_command_checked(client *c);

void client_reply_begin(client *c) {
    if (c->flags & CLIENT_REPLY_SKIP_NEXT) c->flags = (c->flags & ~CLIENT_REPLY_SKIP_NEXT) | CLIENT_REPLY_SKIP;
    if (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) c->reply_mark = reply_mark_get(&c->out);
}

void client_reply_end(client *c) {
    if (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) reply_truncate(&c->out, &c->reply_mark);
    c->flags &= ~CLIENT_REPLY_SKIP;
}

/* Under OFF/SKIP the mark is valid while c's command runs: what the command replied
 * so far goes now, the push stays, and the rest goes from after it. */
void client_push_begin(client *c) {
    if ((c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) && c == net_running())
        reply_truncate(&c->out, &c->reply_mark);
}

void client_push_end(client *c) {
    if ((c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) && c == net_running())
        c->reply_mark = reply_mark_get(&c->out);
}

/* What Redis's resetClient does once a command is done. A command held by a pause is
 * not done yet; one blocked on keys has its reply dropped when it is served
 * (server/blocking.c). */
static void command_done(client *c) {
    if (c->held_argv) return;
    if ((c->flags & CLIENT_REPLY_ANY) && !c->blocked) client_reply_end(c);
    /* CLIENT CACHING holds for the next command only (a whole transaction, and any
     * CLIENT subcommand keeps it). */
    if ((c->flags & CLIENT_TRACKING_CACHING) && !(c->flags & CLIENT_MULTI) &&
        !(c->lastcmd && c->lastcmd->parent && !strcmp(c->lastcmd->parent->name, "client")))
        c->flags &= ~CLIENT_TRACKING_CACHING;
}

void process_command(client *c) {
    if (tracking_clients) tracking_limit_keys();
    if (c->flags & CLIENT_REPLY_ANY) client_reply_begin(c);
    process_command_checked(c);
    if (c->flags & (CLIENT_TRACKING_CACHING | CLIENT_REPLY_ANY)) command_done(c);
}

static void process_command_checked(client *c) {
    command *cmd = command_lookup(c->argv[0].ptr, c->argv[0].len);
    /* As Redis, lastcmd (CLIENT LIST's cmd=) is what this command resolved to, set before
     * any check: NULL for an unknown command or subcommand. */
    if (!cmd) {
        c->cmd = c->lastcmd = NULL;
        reject_unknown(c);
        return;
    }
    if (cmd->subcommands && c->argc >= 2) {
        command *sub = NULL;
        for (command *s = (command *)cmd->subcommands; s->name; s++) {
            if (util_eqi(c->argv[1].ptr, c->argv[1].len, s->name)) {
                sub = s;
                break;
            }
        }
        if (!sub) {
            char up[64];
            size_t n = strlen(cmd->name) < sizeof(up) - 1 ? strlen(cmd->name) : sizeof(up) - 1;
            for (size_t i = 0; i < n; i++) up[i] = (char)toupper((unsigned char)c->argv[0].ptr[i]);
            up[n] = '\0';
            char msg[256];
            int al = (int)(c->argv[1].len < 128 ? c->argv[1].len : 128);
            snprintf(msg, sizeof(msg), "unknown subcommand '%.*s'. Try %s HELP.", al, c->argv[1].ptr, up);
            c->cmd = c->lastcmd = NULL;
            reject(c, msg);
            return;
        }
        cmd = sub;
    }
    c->cmd = c->lastcmd = cmd;
    if ((cmd->arity > 0 && cmd->arity != c->argc) || c->argc < -cmd->arity) {
        char msg[128];
        snprintf(msg, sizeof(msg), "wrong number of arguments for '%s' command", cmd->fullname);
        reject(c, msg);
        return;
    }
    if (debug_refused(c, cmd)) {
        reject(c, "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it "
                  "from a local connection, otherwise you need to set this option in the configuration file, and "
                  "then restart the server.");
        return;
    }
    if (!c->authenticated && !(cmd->flags & CMD_NO_AUTH)) {
        reject(c, "-NOAUTH Authentication required.");
        return;
    }
    /* As Redis: a command MULTI refuses gets that error rather than the ACL's. */
    const char *denied = (c->flags & CLIENT_MULTI) && (cmd->flags & CMD_NO_MULTI) ? NULL : acl_check_command(c, cmd);
    if (denied) {
        reject(c, denied);
        return;
    }
    if (server.cfg.maxmemory && server_oom_refuses(c, cmd)) {
        reject(c, "-OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    if (!rdb_stat.lastbgsave_ok && (persist_refuses_write(cmd) || (multi_is_exec(cmd) && queued_write_refused(c)))) {
        reject(c, PERSIST_MISCONF_ERR);
        return;
    }
    /* A MONITOR client counts as a replica in Redis, which may not touch the keyspace. */
    if ((c->flags & CLIENT_MONITOR) && ((cmd->flags & (CMD_WRITE | CMD_READONLY)) || !strcmp(cmd->name, "publish") ||
                                        !strcmp(cmd->name, "spublish"))) {
        reject(c, "Replica can't interact with the keyspace");
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2 && !pubsub_mode_allows(cmd)) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
                 "this context",
                 cmd->fullname);
        reject(c, msg);
        return;
    }
    if (rdb_stat.loading && !(cmd->flags & CMD_LOADING)) {
        reject(c, LOADING_ERR);
        return;
    }
    if (script_busy() && !(cmd->flags & CMD_ALLOW_BUSY)) {
        reject(c, script_busy_error());
        return;
    }
    const char *misconf = aof_write_error();
    if (misconf && writes_or_ping(c, cmd)) {
        reject(c, misconf);
        return;
    }
    if ((c->flags & CLIENT_MULTI) && (cmd->flags & CMD_NO_MULTI)) {
        reject(c, "Command not allowed inside a transaction");
        return;
    }
    /* As Redis: a command a pause holds waits before it is queued or run, after every
     * check that could refuse it. */
    if (pause_mode != PAUSE_OFF && pause_holds(c, cmd)) {
        pause_hold(c);
        return;
    }
    if ((c->flags & CLIENT_MULTI) && !multi_passthrough(cmd->parent ? cmd->parent : cmd)) {
        multi_queue_command(c);
        return;
    }
    call_command(c, cmd);
    /* (a command served while a script is busy must not let blocked clients run
     * inside the script: they are served once it ends) */
    if (blocking_active() && !script_running()) blocking_handle_ready();
}
