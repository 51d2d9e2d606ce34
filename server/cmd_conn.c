/* cmd_conn.c: connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, CLIENT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/acl.h"
#include "server/net.h"
#include "server/pubsub.h"
#include "server/server.h"
#include "server/tracking.h"

static void cmd_ping(client *c) {
    if (c->argc > 2) {
        reply_arity_error(c);
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) { /* subscribed mode */
        reply_array(&c->out, 2);
        reply_bulk(&c->out, "pong", 4);
        if (c->argc == 2) reply_bulk(&c->out, c->argv[1].ptr, c->argv[1].len);
        else reply_bulk(&c->out, "", 0);
    } else if (c->argc == 2) {
        reply_bulk(&c->out, c->argv[1].ptr, c->argv[1].len);
    } else {
        reply_simple(&c->out, "PONG");
    }
}

static void cmd_echo(client *c) { reply_bulk(&c->out, c->argv[1].ptr, c->argv[1].len); }

static void cmd_quit(client *c) {
    reply_ok(&c->out);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void cmd_auth(client *c) {
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    for (int i = 1; i < c->argc; i++) client_redact_arg(c, i);
    resp_slice def = {(char *)"default", 7};
    if (c->argc == 2 && acl_user_nopass(acl_default)) {
        reply_error(&c->out, "AUTH <password> called without any password configured for the default user. "
                             "Are you sure your configuration is correct?");
        return;
    }
    const resp_slice *user = c->argc == 2 ? &def : &c->argv[1];
    const resp_slice *pass = c->argc == 2 ? &c->argv[1] : &c->argv[2];
    if (acl_authenticate(c, user, pass)) {
        reply_ok(&c->out);
    } else {
        reply_error(&c->out, "-WRONGPASS invalid username-password pair or user is disabled.");
    }
}

/* Is name a valid client name? Replies with Redis's error if not. */
static int client_name_valid_or_reply(client *c, const resp_slice *name) {
    for (size_t i = 0; i < name->len; i++) {
        if (name->ptr[i] < '!' || name->ptr[i] > '~') {
            reply_error(&c->out, "Client names cannot contain spaces, newlines or special characters.");
            return 0;
        }
    }
    return 1;
}

/* Validate and set (or clear, with "") the client name; replies on error. */
static int client_setname_or_reply(client *c, const resp_slice *name) {
    if (!client_name_valid_or_reply(c, name)) return 0;
    free(c->name);
    c->name = NULL;
    if (name->len) {
        c->name = xmalloc(name->len + 1);
        memcpy(c->name, name->ptr, name->len);
        c->name[name->len] = '\0';
    }
    return 1;
}

static void cmd_hello(client *c) {
    long long ver = 0;
    if (c->argc >= 2) {
        if (!arg_ll_or_reply_msg(c, 1, &ver, "Protocol version is not an integer or out of range")) return;
        if (ver < 2 || ver > 3) {
            reply_error(&c->out, "-NOPROTO unsupported protocol version");
            return;
        }
    }
    /* Options take effect in order, as in Redis: AUTH authenticates where it stands (so a
     * failed AUTH stops the parse, and the slow log redacts the pairs seen up to there),
     * SETNAME's name is checked where it stands. */
    const resp_slice *name = NULL;
    for (int j = 2; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "auth") && more >= 2) {
            client_redact_arg(c, j + 1);
            client_redact_arg(c, j + 2);
            if (!acl_authenticate(c, &c->argv[j + 1], &c->argv[j + 2])) {
                reply_error(&c->out, "-WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            j += 2;
        } else if (arg_is(c, j, "setname") && more) {
            name = &c->argv[++j];
            if (!client_name_valid_or_reply(c, name)) return;
        } else {
            reply_errorf(&c->out, "Syntax error in HELLO option '%.*s'", (int)c->argv[j].len, c->argv[j].ptr);
            return;
        }
    }
    if (!c->authenticated) {
        reply_error(&c->out, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                             "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                             "select the RESP protocol version at the same time");
        return;
    }
    if (name && !client_setname_or_reply(c, name)) return;
    if (ver) {
        c->resp = (int)ver;
        c->out.resp = (int)ver;
    }
    reply_map(&c->out, 7);
    reply_bulk_cstr(&c->out, "server");
    reply_bulk_cstr(&c->out, "redis");
    reply_bulk_cstr(&c->out, "version");
    reply_bulk_cstr(&c->out, REDIS_COMPAT_VERSION);
    reply_bulk_cstr(&c->out, "proto");
    reply_int(&c->out, c->resp);
    reply_bulk_cstr(&c->out, "id");
    reply_int(&c->out, (long long)c->id);
    reply_bulk_cstr(&c->out, "mode");
    reply_bulk_cstr(&c->out, "standalone");
    reply_bulk_cstr(&c->out, "role");
    reply_bulk_cstr(&c->out, "master");
    reply_bulk_cstr(&c->out, "modules");
    reply_array(&c->out, 0);
}

static void cmd_reset(client *c) {
    multi_client_free(c);
    pubsub_client_free(c);
    monitor_client_free(c);
    tracking_reset(c);
    client_select_db(c, 0);
    c->resp = 2;
    c->out.resp = 2;
    free(c->name);
    c->name = NULL;
    c->user = acl_default;
    c->authenticated = acl_default_autoauth();
    /* as Redis's clearClientConnectionState: a SKIP in force still skips +RESET */
    c->flags &= ~(CLIENT_CLOSE_AFTER_REPLY | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT);
    reply_simple(&c->out, "RESET");
}

/* ---- CLIENT ---- */

static void cmd_client_id(client *c) { reply_int(&c->out, (long long)c->id); }

static void cmd_client_getname(client *c) {
    if (c->name) reply_bulk_cstr(&c->out, c->name);
    else reply_null(&c->out);
}

static void cmd_client_setname(client *c) {
    if (client_setname_or_reply(c, &c->argv[2])) reply_ok(&c->out);
}

static void cmd_client_setinfo(client *c) {
    int is_name = arg_is(c, 2, "lib-name");
    if (!is_name && !arg_is(c, 2, "lib-ver")) {
        reply_errorf(&c->out, "Unrecognized option '%.*s'", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    if (c->argc != 4) {
        reply_arity_error(c);
        return;
    }
    for (size_t i = 0; i < c->argv[3].len; i++) {
        if (c->argv[3].ptr[i] < '!' || c->argv[3].ptr[i] > '~') {
            reply_errorf(&c->out, "%s cannot contain spaces, newlines or special characters.",
                         is_name ? "lib-name" : "lib-ver");
            return;
        }
    }
    char **slot = is_name ? &c->lib_name : &c->lib_ver;
    free(*slot);
    *slot = arg_dup(c, 3);
    reply_ok(&c->out);
}

/* One CLIENT LIST line, as Redis 7 formats it (without the trailing newline). */
int client_info_line(client *c, char *buf, size_t size) {
    char flags[16];
    int f = 0;
    if (c->flags & CLIENT_MONITOR) flags[f++] = 'O';
    if (c->flags & CLIENT_PUBSUB) flags[f++] = 'P';
    if (c->flags & CLIENT_MULTI) flags[f++] = 'x';
    if (c->blocked) flags[f++] = 'b';
    if (c->flags & CLIENT_TRACKING) flags[f++] = 't';
    if (c->flags & CLIENT_TRACKING_BROKEN_REDIR) flags[f++] = 'R';
    if (c->flags & CLIENT_TRACKING_BCAST) flags[f++] = 'B';
    if (c->flags & CLIENT_DIRTY_CAS) flags[f++] = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[f++] = 'c';
    if (c->flags & CLIENT_UNIX) flags[f++] = 'U';
    if (c->flags & CLIENT_NO_EVICT) flags[f++] = 'e';
    if (!f) flags[f++] = 'N';
    flags[f] = '\0';
    const char *events = c->write_armed ? (c->read_paused ? "w" : "rw") : (c->read_paused ? "" : "r");
    size_t omem = reply_pending(&c->out);
    long long now = server.mstime_cached;
    return snprintf(
        buf, size,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%ld psub=%ld ssub=%ld "
        "multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=%zu oll=%d omem=%zu "
        "tot-mem=%zu events=%s cmd=%s user=%s redir=%lld resp=%d lib-name=%s lib-ver=%s",
        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "", (now - c->ctime_ms) / 1000,
        (now - c->last_interaction_ms) / 1000, flags, db_id(c->db), pubsub_client_count(c, PUBSUB_CHANNEL),
        pubsub_client_count(c, PUBSUB_PATTERN), pubsub_client_count(c, PUBSUB_SHARD),
        (c->flags & CLIENT_MULTI) ? c->mcount : -1, client_query_len(c), client_query_free(c), c->qcap, c->qpeak,
        c->out.used - c->out.sent, c->out.head ? 1 : 0, omem, sizeof(*c) + client_own_buffers(c) + c->out.chunk_bytes,
        events, c->lastcmd ? c->lastcmd->fullname : "NULL", c->user ? c->user->name : "default",
        tracking_redirect_of(c), c->resp, c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
}

static void cmd_client_info(client *c) {
    char line[1024];
    int n = client_info_line(c, line, sizeof(line) - 1);
    line[n++] = '\n';
    reply_verbatim(&c->out, line, (size_t)n, "txt");
}

static void cmd_client_list(client *c) {
    int want_ids = 0, want_type = 0; /* 1 normal, 2 pubsub */
    if (c->argc > 2) {
        if (arg_is(c, 2, "type") && c->argc == 4) {
            if (!arg_is(c, 3, "normal") && !arg_is(c, 3, "master") && !arg_is(c, 3, "replica") &&
                !arg_is(c, 3, "slave") && !arg_is(c, 3, "pubsub")) {
                reply_errorf(&c->out, "Unknown client type '%.*s'", (int)c->argv[3].len, c->argv[3].ptr);
                return;
            }
            if (!arg_is(c, 3, "normal") && !arg_is(c, 3, "pubsub")) {
                reply_verbatim(&c->out, "", 0, "txt");
                return;
            }
            want_type = arg_is(c, 3, "pubsub") ? 2 : 1;
        } else if (arg_is(c, 2, "id") && c->argc >= 4) {
            for (int i = 3; i < c->argc; i++) {
                long long id;
                if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &id) || id <= 0) {
                    reply_error(&c->out, "Invalid client ID");
                    return;
                }
            }
            want_ids = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    size_t cap = 4096, len = 0;
    char *text = xmalloc(cap);
    /* Oldest first, as Redis lists them. */
    client *last = server.clients;
    while (last && last->next) last = last->next;
    for (client *o = last; o; o = o->prev) {
        if (want_type && want_type != ((o->flags & CLIENT_PUBSUB) ? 2 : 1)) continue;
        if (want_ids) {
            int match = 0;
            for (int i = 3; i < c->argc && !match; i++) {
                long long id;
                util_str2ll(c->argv[i].ptr, c->argv[i].len, &id);
                match = (unsigned long long)id == o->id;
            }
            if (!match) continue;
        }
        if (cap - len < 1024) text = xrealloc(text, cap *= 2);
        len += (size_t)client_info_line(o, text + len, cap - len - 1);
        text[len++] = '\n';
    }
    reply_verbatim(&c->out, text, len, "txt");
    free(text);
}

static void client_kill_one(client *c, client *victim) {
    if (victim == c) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    else client_close_async(victim);
}

static void cmd_client_kill(client *c) {
    if (c->argc == 3) { /* old form: CLIENT KILL addr:port */
        for (client *o = server.clients; o; o = o->next) {
            if (strlen(o->addr) == c->argv[2].len && !memcmp(o->addr, c->argv[2].ptr, c->argv[2].len)) {
                client_kill_one(c, o);
                reply_ok(&c->out);
                return;
            }
        }
        reply_error(&c->out, "No such client");
        return;
    }
    long long id = 0;
    const resp_slice *addr = NULL, *laddr = NULL;
    int skipme = 1, type_normal = 1, type_seen = 0; /* type_normal: 1 normal, 2 pubsub, 0 none here */
    const acl_user *user = NULL;
    for (int i = 2; i < c->argc; i += 2) {
        /* Filters come in pairs; as in Redis, a lone trailing word is a syntax error
         * reached only after the pairs before it were checked. */
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        if (arg_is(c, i, "id")) {
            if (!util_str2ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &id) || id <= 0) {
                reply_error(&c->out, "client-id should be greater than 0");
                return;
            }
        } else if (arg_is(c, i, "addr")) {
            addr = &c->argv[i + 1];
        } else if (arg_is(c, i, "laddr")) {
            laddr = &c->argv[i + 1];
        } else if (arg_is(c, i, "skipme")) {
            if (arg_is(c, i + 1, "yes")) skipme = 1;
            else if (arg_is(c, i + 1, "no")) skipme = 0;
            else {
                reply_syntax_error(c);
                return;
            }
        } else if (arg_is(c, i, "type")) {
            type_seen = 1;
            if (arg_is(c, i + 1, "normal")) type_normal = 1;
            else if (arg_is(c, i + 1, "pubsub")) type_normal = 2;
            else if (arg_is(c, i + 1, "master") || arg_is(c, i + 1, "replica") || arg_is(c, i + 1, "slave"))
                type_normal = 0;
            else {
                reply_errorf(&c->out, "Unknown client type '%.*s'", (int)c->argv[i + 1].len, c->argv[i + 1].ptr);
                return;
            }
        } else if (arg_is(c, i, "user")) {
            user = acl_find_user(c->argv[i + 1].ptr, c->argv[i + 1].len);
            if (!user) {
                reply_errorf(&c->out, "No such user '%.*s'", (int)c->argv[i + 1].len, c->argv[i + 1].ptr);
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    long long killed = 0;
    client *next;
    for (client *o = server.clients; o; o = next) {
        next = o->next;
        if (!type_normal) break;
        if (type_seen && type_normal != ((o->flags & CLIENT_PUBSUB) ? 2 : 1)) continue;
        if (id && o->id != (unsigned long long)id) continue;
        if (addr && (strlen(o->addr) != addr->len || memcmp(o->addr, addr->ptr, addr->len))) continue;
        if (laddr && (strlen(o->laddr) != laddr->len || memcmp(o->laddr, laddr->ptr, laddr->len))) continue;
        if (user && o->user != user) continue;
        if (o == c && skipme) continue;
        client_kill_one(c, o);
        killed++;
    }
    reply_int(&c->out, killed);
}

/* Redis's addReplySubcommandSyntaxError, for CLIENT subcommands given extra words. */
static void client_subcommand_syntax_error(client *c) {
    reply_errorf(&c->out, "unknown subcommand or wrong number of arguments for '%.*s'. Try CLIENT HELP.",
                 (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr);
}

static client *client_by_id(long long id) {
    for (client *o = server.clients; o; o = o->next)
        if ((long long)o->id == id) return o;
    return NULL;
}

/* Only a client waiting on keys is unblocked: one held by CLIENT PAUSE is not (Redis
 * 7.0 crashes on it), nor, as in Redis, one waiting in a module. */
static void cmd_client_unblock(client *c) {
    const char *error = NULL;
    if (c->argc > 4) {
        client_subcommand_syntax_error(c);
        return;
    }
    if (c->argc == 4) {
        if (arg_is(c, 3, "error")) {
            error = "-UNBLOCKED client unblocked via CLIENT UNBLOCK";
        } else if (!arg_is(c, 3, "timeout")) {
            reply_error(&c->out, "CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    long long id;
    if (!arg_ll_or_reply(c, 2, &id)) return;
    client *target = client_by_id(id);
    reply_int(&c->out, target && target != c && blocking_unblock(target, error));
}

/* OFF and SKIP reply nothing; ON replies +OK even after OFF. What the client was sent
 * while OFF is dropped at the end of each command (client_reply_end); an ON inside the
 * transaction that began OFF drops what came before it here. */
static void cmd_client_reply(client *c) {
    if (arg_is(c, 2, "on")) {
        if (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) reply_truncate(&c->out, &c->reply_mark);
        c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP);
        reply_ok(&c->out);
    } else if (arg_is(c, 2, "off")) {
        if (!(c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP))) c->reply_mark = reply_mark_get(&c->out);
        c->flags |= CLIENT_REPLY_OFF;
    } else if (arg_is(c, 2, "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF)) c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        reply_syntax_error(c);
    }
}

/* respite has no client eviction (maxmemory-clients): the mode is only recorded. */
static void cmd_client_no_evict(client *c) {
    if (arg_is(c, 2, "on")) {
        c->flags |= CLIENT_NO_EVICT;
    } else if (arg_is(c, 2, "off")) {
        c->flags &= ~CLIENT_NO_EVICT;
    } else {
        reply_syntax_error(c);
        return;
    }
    reply_ok(&c->out);
}

/* As Redis: the mode is checked before the timeout; a timeout of 0 pauses until the
 * loop's next turn. */
static void cmd_client_pause(client *c) {
    int mode = PAUSE_ALL;
    if (c->argc > 4) {
        client_subcommand_syntax_error(c);
        return;
    }
    if (c->argc == 4) {
        if (arg_is(c, 3, "write")) {
            mode = PAUSE_WRITE;
        } else if (!arg_is(c, 3, "all")) {
            reply_error(&c->out, "CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    long long ms;
    if (!arg_ll_or_reply_msg(c, 2, &ms, "timeout is not an integer or out of range")) return;
    if (ms < 0) {
        reply_error(&c->out, "timeout is negative");
        return;
    }
    /* Redis 7.0 adds without an overflow check: a timeout past LLONG_MAX wraps to an end
     * in the past, which ends the pause at once. */
    long long end = ms ? (long long)((unsigned long long)util_mstime() + (unsigned long long)ms) : 0;
    pause_start(end, mode);
    reply_ok(&c->out);
}

static void cmd_client_unpause(client *c) {
    pause_end();
    reply_ok(&c->out);
}

static void cmd_client_help(client *c) {
    /* Redis 7.0's text, in Redis's order, and SETINFO's (a 7.2 command) */
    static const char *const lines[] = {
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client meta attr.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

// clang-format off
static const command_binding client_subcommands[] = {
    CMD("id", cmd_client_id),
    CMD("getname", cmd_client_getname),
    CMD("setname", cmd_client_setname),
    CMD("setinfo", cmd_client_setinfo),
    CMD("info", cmd_client_info),
    CMD("list", cmd_client_list),
    CMD("kill", cmd_client_kill),
    CMD("tracking", cmd_client_tracking),
    CMD("caching", cmd_client_caching),
    CMD("getredir", cmd_client_getredir),
    CMD("trackinginfo", cmd_client_trackinginfo),
    CMD("unblock", cmd_client_unblock),
    CMD("reply", cmd_client_reply),
    CMD("no-evict", cmd_client_no_evict),
    CMD("pause", cmd_client_pause),
    CMD("unpause", cmd_client_unpause),
    CMD("help", cmd_client_help),
    {0},
};
// clang-format on

const command_binding conn_commands[] = {
    CMD("ping", cmd_ping),
    CMD("echo", cmd_echo),
    CMD("quit", cmd_quit),
    CMD("reset", cmd_reset),
    CMD("hello", cmd_hello),
    CMD("auth", cmd_auth),
    CMD("client", NULL, client_subcommands),
    {0},
};
