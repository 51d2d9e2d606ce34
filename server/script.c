/* script.c: Lua scripting as Redis 7.0 does it: the engine shared by EVAL and FUNCTION
 * (sandbox, the `redis` object, reply conversions, one run at a time, busy handling)
 * and the EVAL/EVALSHA/EVAL_RO/EVALSHA_RO/SCRIPT commands.
 *
 * The sandbox. A state gets the base, table, string and math libraries, cjson and bit
 * (struct and cmsgpack have no Debian 12 package: they are absent), and the `redis`
 * table. Globals Redis does not offer (print, dofile, loadfile, require, getfenv, ...)
 * are removed. Debian's Lua has no read-only tables (Redis patches its VM), so each
 * library table is replaced by an empty proxy whose metatable reads through to the real
 * table and refuses writes, and the globals table is such a proxy too, installed as the
 * state's LUA_GLOBALSINDEX so every chunk compiled later (scripts, loadstring) sees it:
 * reading an absent global raises Redis's "Script attempted to access nonexistent
 * global variable" text, writing any raises "Attempt to modify a readonly table".
 * next/pairs/ipairs/rawget see through proxies; rawset and setmetatable refuse them.
 *
 * A run. script_run checks the script's flags against the command (EVAL_RO, OOM),
 * calls the function with an error handler that turns any error into a table {err,
 * source, line}, and converts the result (or the error, decorated "script: <name>, on
 * <source>:<line>.") into the caller's reply. redis.call/pcall run commands through one
 * fake client (CLIENT_SCRIPT, no socket) with call_command, the dispatcher's execution
 * path, so commandstats, keyspace events and propagation (the script's writes, as the
 * commands it ran, wrapped in MULTI/EXEC by server/propagate.c) come for free; the fake
 * client's RESP output is parsed back into Lua values.
 *
 * Busy scripts. A count hook runs every HOOK_STEPS instructions: past
 * busy-reply-threshold it serves the other connections (net_serve_while_busy, which never
 * touches the script's own client) and dispatch refuses them -BUSY unless the command
 * may run then (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE...); a kill raises an error
 * from the hook unless the script has written (UNKILLABLE). */
#include "server/script.h"

#include <event2/event.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha1.h"
#include "common/xmalloc.h"
#include "server/acl.h"
#include "server/net.h"
#include "server/propagate.h"

int luaopen_cjson(lua_State *L);
int luaopen_bit(lua_State *L);

#define HOOK_STEPS        100000
#define GC_EVERY_RUNS     50
#define REDIS_VERSION_NUM 0x0007000f

/* ---- flags ---- */

static const struct {
    uint32_t flag;
    const char *name;
} flag_names[] = {
    {SCRIPT_FLAG_NO_WRITES, "no-writes"},
    {SCRIPT_FLAG_ALLOW_OOM, "allow-oom"},
    {SCRIPT_FLAG_ALLOW_STALE, "allow-stale"},
    {SCRIPT_FLAG_NO_CLUSTER, "no-cluster"},
    {SCRIPT_FLAG_ALLOW_CROSS_SLOT, "allow-cross-slot-keys"},
};

uint32_t script_flag_by_name(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (strlen(flag_names[i].name) == len && !memcmp(flag_names[i].name, name, len)) return flag_names[i].flag;
    return 0;
}

void script_flags_foreach(uint32_t flags, void (*fn)(void *priv, const char *name), void *priv) {
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (flags & flag_names[i].flag) fn(priv, flag_names[i].name);
}

/* ---- the run in progress ---- */

typedef struct run_ctx {
    client *caller;
    const char *name;
    int eval;
    int readonly, allow_oom, oom_at_start;
    int timedout, killed, write_dirty, shutdown;
    long long hooks;
    int repl_none;
    long long start_us;
} run_ctx;

static run_ctx *cur_run;
long long script_hook_budget;
static client *sc; /* the fake client scripts call commands through */

int script_running(void) { return cur_run != NULL; }
client *script_caller(void) { return cur_run ? cur_run->caller : NULL; }
long long script_snapshot_ms(void) { return cur_run ? cur_run->start_us / 1000 : util_mstime(); }
int script_busy(void) { return cur_run && cur_run->timedout; }

const char *script_busy_error(void) {
    return cur_run && !cur_run->eval
               ? "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
               : "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
}

void script_kill(client *c, int eval) {
    if (!cur_run) {
        reply_error(&c->out, "-NOTBUSY No scripts in execution right now.");
    } else if (cur_run->write_dirty) {
        reply_error(&c->out, "-UNKILLABLE Sorry the script already executed write commands against the dataset. You "
                             "can either wait the script termination or kill the server in a hard way using the "
                             "SHUTDOWN NOSAVE command.");
    } else if (eval != cur_run->eval) {
        reply_error(&c->out, script_busy_error());
    } else {
        cur_run->killed = 1;
        reply_ok(&c->out);
    }
}

void script_abort_for_shutdown(void) {
    if (cur_run) cur_run->killed = cur_run->shutdown = 1;
}

/* ---- errors as Lua values ---- */

/* Push Redis's error table {err = "<CODE> <msg>"} for text: "-CODE msg" keeps its code,
 * other text gets ERR; CR/LF at either end are trimmed (luaPushErrorBuff). */
static void push_error_table(lua_State *L, const char *text, size_t len) {
    const char *code = "ERR", *msg = text;
    size_t clen = 3, mlen = len;
    if (len && text[0] == '-') {
        const char *sp = memchr(text, ' ', len);
        if (!sp) {
            msg = text + 1;
            mlen = len - 1;
        } else {
            code = text + 1;
            clen = (size_t)(sp - text) - 1;
            msg = sp + 1;
            mlen = len - (size_t)(sp + 1 - text);
        }
    }
    while (mlen && (msg[0] == '\r' || msg[0] == '\n')) msg++, mlen--;
    while (mlen && (msg[mlen - 1] == '\r' || msg[mlen - 1] == '\n')) mlen--;
    lua_newtable(L);
    lua_pushstring(L, "err");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, code, clen);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, msg, mlen);
    luaL_pushresult(&b);
    lua_rawset(L, -3);
}

static int raise_error(lua_State *L, const char *text) {
    push_error_table(L, text, strlen(text));
    return lua_error(L);
}

static int is_readonly(lua_State *L, int idx);

/* The handler every run calls the script under: any error becomes a table {err=...,
 * source=..., line=...} naming where it was raised (the Lua caller of a C function). */
static int error_handler(lua_State *L) {
    lua_Debug ar;
    int have = 0;
    if (lua_getstack(L, 1, &ar)) {
        lua_getinfo(L, "Sl", &ar);
        have = 1;
        if (!strcmp(ar.what, "C")) have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "Sl", &ar);
    }
    if (!lua_istable(L, 1)) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addstring(&b, "ERR ");
        switch (lua_type(L, 1)) {
            case LUA_TSTRING:
            case LUA_TNUMBER: lua_pushvalue(L, 1); break;
            case LUA_TNIL: lua_pushliteral(L, "nil"); break;
            case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, 1) ? "true" : "false"); break;
            default: lua_pushfstring(L, "%s: %p", luaL_typename(L, 1), lua_topointer(L, 1)); break;
        }
        luaL_addvalue(&b);
        luaL_pushresult(&b);
        lua_newtable(L);
        lua_pushstring(L, "err");
        lua_pushvalue(L, -3);
        lua_rawset(L, -3);
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    if (have && !is_readonly(L, 1)) {
        lua_pushstring(L, "source");
        lua_pushstring(L, ar.source);
        lua_rawset(L, 1);
        lua_pushstring(L, "line");
        lua_pushinteger(L, ar.currentline);
        lua_rawset(L, 1);
    }
    lua_settop(L, 1);
    return 1;
}

/* ---- Redis reply -> Lua value ---- */

static long long parse_len(const char **pp) {
    const char *p = *pp;
    int neg = 0;
    if (*p == '-') neg = 1, p++;
    long long v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    *pp = p + 2; /* CRLF */
    return neg ? -v : v;
}

/* Our own replies are well formed: every line ends in CRLF and no simple line holds a
 * CR, so the scan stops inside the reply. */
static const char *line_end(const char *p) {
    while (*p != '\r') p++;
    return p;
}

/* Push the Lua value of the reply at p (our own well-formed RESP); returns what follows. */
static const char *reply_to_lua(lua_State *L, const char *p) {
    if (!lua_checkstack(L, 5)) {
        luaL_error(L, "reached lua stack limit");
        return p;
    }
    char t = *p++;
    switch (t) {
        case '+':
        case '-': {
            const char *e = line_end(p);
            if (t == '+') {
                lua_newtable(L);
                lua_pushstring(L, "ok");
                lua_pushlstring(L, p, (size_t)(e - p));
                lua_rawset(L, -3);
            } else {
                lua_newtable(L);
                lua_pushstring(L, "err");
                lua_pushlstring(L, p, (size_t)(e - p));
                lua_rawset(L, -3);
                lua_pushstring(L, "ignore_error_stats_update");
                lua_pushboolean(L, 1);
                lua_rawset(L, -3);
            }
            return e + 2;
        }
        case ':': {
            const char *e = line_end(p);
            lua_pushnumber(L, (lua_Number)strtoll(p, NULL, 10));
            return e + 2;
        }
        case '$':
        case '=': {
            long long n = parse_len(&p);
            if (n < 0) {
                lua_pushboolean(L, 0);
                return p;
            }
            if (t == '$') {
                lua_pushlstring(L, p, (size_t)n);
            } else {
                lua_newtable(L);
                lua_pushstring(L, "verbatim_string");
                lua_newtable(L);
                lua_pushstring(L, "format");
                lua_pushlstring(L, p, n >= 3 ? 3 : (size_t)n);
                lua_rawset(L, -3);
                lua_pushstring(L, "string");
                lua_pushlstring(L, p + (n >= 4 ? 4 : n), n >= 4 ? (size_t)n - 4 : 0);
                lua_rawset(L, -3);
                lua_rawset(L, -3);
            }
            return p + n + 2;
        }
        case '*':
        case '>':
        case '~': {
            long long n = parse_len(&p);
            if (n < 0) {
                lua_pushboolean(L, 0);
                return p;
            }
            lua_createtable(L, t == '~' ? 0 : (int)n, 0);
            if (t == '~') {
                lua_pushstring(L, "set");
                lua_createtable(L, 0, (int)n);
                for (long long i = 0; i < n; i++) {
                    p = reply_to_lua(L, p);
                    lua_pushboolean(L, 1);
                    lua_rawset(L, -3);
                }
                lua_rawset(L, -3);
            } else {
                for (long long i = 0; i < n; i++) {
                    p = reply_to_lua(L, p);
                    lua_rawseti(L, -2, (int)i + 1);
                }
            }
            return p;
        }
        case '%': {
            long long n = parse_len(&p);
            lua_newtable(L);
            lua_pushstring(L, "map");
            lua_createtable(L, 0, (int)n);
            for (long long i = 0; i < n; i++) {
                p = reply_to_lua(L, p);
                p = reply_to_lua(L, p);
                lua_rawset(L, -3);
            }
            lua_rawset(L, -3);
            return p;
        }
        case '_': lua_pushnil(L); return p + 2;
        case '#': lua_pushboolean(L, *p == 't'); return p + 3;
        case ',': {
            const char *e = line_end(p);
            char buf[64];
            size_t n = (size_t)(e - p) < sizeof(buf) - 1 ? (size_t)(e - p) : sizeof(buf) - 1;
            memcpy(buf, p, n);
            buf[n] = '\0';
            lua_newtable(L);
            lua_pushstring(L, "double");
            lua_pushnumber(L, strtod(buf, NULL));
            lua_rawset(L, -3);
            return e + 2;
        }
        case '(': {
            const char *e = line_end(p);
            lua_newtable(L);
            lua_pushstring(L, "big_number");
            lua_pushlstring(L, p, (size_t)(e - p));
            lua_rawset(L, -3);
            return e + 2;
        }
        case '|': { /* attributes: skipped, the value follows */
            long long n = parse_len(&p);
            for (long long i = 0; i < 2 * n; i++) {
                p = reply_to_lua(L, p);
                lua_pop(L, 1);
            }
            return reply_to_lua(L, p);
        }
        default: lua_pushnil(L); return p;
    }
}

/* ---- Lua value -> reply ---- */

/* lua_Number to long long as Redis's (long long) cast does on x86-64: out of range and
 * NaN become LLONG_MIN (without the undefined behaviour). */
static long long num_to_ll(lua_Number d) {
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return (long long)(-9223372036854775807LL - 1);
    return (long long)d;
}

/* A string with CR and LF mapped to spaces (status and big number replies). */
static void reply_line(reply_buf *rb, char type, const char *s, size_t n) {
    char pre[1] = {type};
    reply_raw(rb, pre, 1);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            reply_raw(rb, s + from, i - from);
            reply_raw(rb, " ", 1);
            from = i + 1;
        }
    }
    reply_raw(rb, s + from, n - from);
    reply_raw(rb, "\r\n", 2);
}

/* The table's err field if it is a string (else NULL); *ignore_stats set from
 * ignore_error_stats_update. */
static const char *table_err(lua_State *L, int idx, size_t *len, int *ignore_stats) {
    lua_pushstring(L, "err");
    lua_rawget(L, idx);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, len) : NULL;
    lua_pop(L, 1); /* the string stays alive in the table */
    if (s && ignore_stats) {
        lua_pushstring(L, "ignore_error_stats_update");
        lua_rawget(L, idx);
        *ignore_stats = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    return s;
}

/* The command whose reply a script's value becomes (EVAL, FCALL...). */
static command *reply_cmd;

/* Reply an error text that is already "CODE msg": "-CODE msg". ignore_stats: the error
 * came from a command the script ran and was counted then; as Redis, it is not counted
 * again, but the script's command still counts as failed. */
static void reply_error_code(reply_buf *rb, const char *s, size_t n, int ignore_stats) {
    void (*hook)(const char *, size_t) = reply_error_hook;
    if (ignore_stats) {
        reply_error_hook = NULL;
        if (reply_cmd) reply_cmd->failed_calls++;
    }
    char *m = xmalloc(n + 2);
    m[0] = '-';
    for (size_t i = 0; i < n; i++) m[i + 1] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i]; /* errorstats' code too */
    reply_error_len(rb, m, n + 1);
    free(m);
    reply_error_hook = hook;
}

/* Entries of the table on top of the stack (pairs, not only the array part). */
static long lua_table_count(lua_State *L) {
    long count = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        count++;
    }
    return count;
}

/* Reply the value on top of L's stack and pop it (Redis's luaReplyToRedisReply). */
static void lua_to_reply(lua_State *L, reply_buf *rb, int resp) {
    if (!lua_checkstack(L, 4)) {
        reply_error(rb, "reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    int top = lua_gettop(L);
    switch (lua_type(L, -1)) {
        case LUA_TSTRING: {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            reply_bulk(rb, s, n);
            break;
        }
        case LUA_TBOOLEAN:
            if (resp == 2) {
                if (lua_toboolean(L, -1)) reply_int(rb, 1);
                else reply_null(rb);
            } else {
                reply_bool(rb, lua_toboolean(L, -1));
            }
            break;
        case LUA_TNUMBER: reply_int(rb, num_to_ll(lua_tonumber(L, -1))); break;
        case LUA_TTABLE: {
            size_t n;
            int ignore = 0;
            const char *s = table_err(L, top, &n, &ignore);
            if (s) {
                reply_error_code(rb, s, n, ignore);
                break;
            }
            lua_pushstring(L, "ok");
            lua_rawget(L, top);
            if (lua_type(L, -1) == LUA_TSTRING) {
                s = lua_tolstring(L, -1, &n);
                reply_line(rb, '+', s, n);
                break;
            }
            lua_pop(L, 1);
            lua_pushstring(L, "double");
            lua_rawget(L, top);
            if (lua_type(L, -1) == LUA_TNUMBER) {
                reply_double(rb, lua_tonumber(L, -1));
                break;
            }
            lua_pop(L, 1);
            lua_pushstring(L, "big_number");
            lua_rawget(L, top);
            if (lua_type(L, -1) == LUA_TSTRING) {
                s = lua_tolstring(L, -1, &n);
                if (rb->resp == 3) {
                    reply_line(rb, '(', s, n);
                } else {
                    char *m = xmalloc(n ? n : 1);
                    for (size_t i = 0; i < n; i++) m[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
                    reply_bulk(rb, m, n);
                    free(m);
                }
                break;
            }
            lua_pop(L, 1);
            lua_pushstring(L, "verbatim_string");
            lua_rawget(L, top);
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_pushstring(L, "format");
                lua_rawget(L, -2);
                lua_pushstring(L, "string");
                lua_rawget(L, -3);
                if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
                    char fmt[4] = "   ";
                    size_t fl;
                    const char *f = lua_tolstring(L, -2, &fl);
                    for (size_t i = 0; i < 3 && i < fl; i++) fmt[i] = f[i];
                    s = lua_tolstring(L, -1, &n);
                    reply_verbatim(rb, s, n, fmt);
                    break;
                }
                lua_pop(L, 2);
            }
            lua_pop(L, 1);
            lua_pushstring(L, "map");
            lua_rawget(L, top);
            if (lua_type(L, -1) == LUA_TTABLE) {
                reply_map(rb, lua_table_count(L));
                lua_pushnil(L);
                while (lua_next(L, -2)) {
                    lua_pushvalue(L, -2);
                    lua_to_reply(L, rb, resp); /* key */
                    lua_to_reply(L, rb, resp); /* value */
                }
                break;
            }
            lua_pop(L, 1);
            lua_pushstring(L, "set");
            lua_rawget(L, top);
            if (lua_type(L, -1) == LUA_TTABLE) {
                reply_set(rb, lua_table_count(L));
                lua_pushnil(L);
                while (lua_next(L, -2)) {
                    lua_pop(L, 1);
                    lua_pushvalue(L, -1);
                    lua_to_reply(L, rb, resp);
                }
                break;
            }
            lua_pop(L, 1);
            long len = 0;
            for (;; len++) {
                lua_rawgeti(L, top, (int)len + 1);
                int nil = lua_isnil(L, -1);
                lua_pop(L, 1);
                if (nil) break;
            }
            reply_array(rb, len);
            for (long i = 1; i <= len; i++) {
                lua_rawgeti(L, top, (int)i);
                lua_to_reply(L, rb, resp);
            }
            break;
        }
        default: reply_null(rb); break;
    }
    lua_settop(L, top - 1);
}

/* ---- the redis object ---- */

static run_ctx *run_or_raise(lua_State *L) {
    if (!cur_run) raise_error(L, "redis.call/pcall can only be called inside a script invocation");
    return cur_run;
}

static resp_slice *call_argv;
static char (*call_nums)[40];
static int call_cap;

/* Reject a command before it runs: the error table is pushed (1 returned). */
static int refuse_call(lua_State *L, command *cmd, const char *text) {
    if (reply_error_hook) reply_error_hook(text, strlen(text));
    stats_rejected(cmd); /* after the count: the script's command is not failed by it */
    push_error_table(L, text, strlen(text));
    lua_pushstring(L, "ignore_error_stats_update");
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    return 1;
}

/* Resolve argv to a command as dispatch does (containers to their subcommand). */
static command *lookup_call(int argc, const resp_slice *argv) {
    command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (!cmd || !cmd->subcommands || argc < 2) return cmd;
    for (command *s = (command *)cmd->subcommands; s->name; s++)
        if (util_eqi(argv[1].ptr, argv[1].len, s->name)) return s;
    return NULL;
}

/* Run the command; push its reply as a Lua value, or the refusal's error table. */
static void script_call(lua_State *L, run_ctx *r, int argc, resp_slice *argv) {
    reply_clear(&sc->out);
    command *cmd = lookup_call(argc, argv);
    if (!cmd) {
        refuse_call(L, NULL, "Unknown Redis command called from script");
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        refuse_call(L, cmd, "Wrong number of args calling Redis command from script");
        return;
    }
    if (cmd->flags & CMD_NOSCRIPT || !cmd->proc) {
        refuse_call(L, cmd, "This Redis command is not allowed from script");
        return;
    }
    sc->argc = argc;
    sc->argv = argv;
    sc->cmd = sc->lastcmd = cmd;
    sc->user = r->caller->user;
    if (acl_check_command(sc, cmd)) { /* denied: in the ACL LOG; the script gets Redis's text */
        refuse_call(L, cmd, "The user executing the script can't run this command or subcommand");
        return;
    }
    if (cmd->flags & CMD_WRITE) {
        if (r->readonly) {
            refuse_call(L, cmd, "Write commands are not allowed from read-only scripts.");
            return;
        }
    }
    if (!r->allow_oom && server.cfg.maxmemory && !r->write_dirty && r->oom_at_start && (cmd->flags & CMD_DENYOOM)) {
        refuse_call(L, cmd, "-OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    if (cmd->flags & CMD_WRITE) r->write_dirty = 1;
    if (r->repl_none) propagate_suppress(1);
    call_command(sc, cmd);
    if (r->repl_none) propagate_suppress(0);
    sc->argc = 0;
    sc->argv = NULL;
    struct iovec iov[64];
    int n = reply_iov(&sc->out, iov, 64);
    if (n == 1) {
        reply_to_lua(L, iov[0].iov_base);
    } else if (n > 1) {
        /* the reply spans chunks: gather it into a userdata the GC owns (the
         * conversion may raise) */
        size_t total = reply_pending(&sc->out);
        char *buf = lua_newuserdata(L, total + 1);
        size_t o = 0;
        while ((n = reply_iov(&sc->out, iov, 64)) > 0) {
            size_t got = 0;
            for (int i = 0; i < n; i++) {
                memcpy(buf + o, iov[i].iov_base, iov[i].iov_len);
                o += iov[i].iov_len;
                got += iov[i].iov_len;
            }
            reply_consume(&sc->out, got);
        }
        buf[o] = '\0';
        reply_clear(&sc->out);
        reply_to_lua(L, buf);
        lua_remove(L, -2);
    } else {
        lua_pushnil(L);
    }
    reply_clear(&sc->out);
}

static int redis_call_generic(lua_State *L, int raise) {
    run_ctx *r = run_or_raise(L);
    int argc = lua_gettop(L);
    if (argc == 0) {
        push_error_table(L, "Please specify at least one argument for this redis lib call", 60);
        return raise ? lua_error(L) : 1;
    }
    if (argc > call_cap) {
        call_cap = argc * 2;
        call_argv = xrealloc(call_argv, sizeof(*call_argv) * (size_t)call_cap);
        call_nums = xrealloc(call_nums, sizeof(*call_nums) * (size_t)call_cap);
    }
    /* the argv is this call's: a nested call cannot happen (scripts cannot call EVAL) */
    for (int i = 0; i < argc; i++) {
        int t = lua_type(L, i + 1);
        if (t == LUA_TNUMBER) {
            int n = snprintf(call_nums[i], sizeof(call_nums[i]), "%.17g", (double)lua_tonumber(L, i + 1));
            call_argv[i] = (resp_slice){call_nums[i], (size_t)n};
        } else if (t == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, i + 1, &n);
            call_argv[i] = (resp_slice){(char *)s, n};
        } else {
            push_error_table(L, "Lua redis lib command arguments must be strings or integers", 59);
            return raise ? lua_error(L) : 1;
        }
    }
    script_call(L, r, argc, call_argv);
    if (raise && lua_istable(L, -1)) {
        size_t n;
        if (table_err(L, lua_gettop(L), &n, NULL)) return lua_error(L);
    }
    return 1;
}

static int l_redis_call(lua_State *L) { return redis_call_generic(L, 1); }
static int l_redis_pcall(lua_State *L) { return redis_call_generic(L, 0); }

static int l_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1) return raise_error(L, "wrong number of arguments");
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    char hex[41];
    sha1_hex(s ? s : "", s ? n : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int l_error_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_table(L, "wrong number or type of arguments", 33);
        return 1;
    }
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    if (n && s[0] == '-') {
        push_error_table(L, s, n);
    } else {
        char *m = xmalloc(n + 1);
        m[0] = '-';
        memcpy(m + 1, s, n);
        push_error_table(L, m, n + 1);
        free(m);
    }
    return 1;
}

static int l_status_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_table(L, "wrong number or type of arguments", 33);
        return 1;
    }
    lua_newtable(L);
    lua_pushstring(L, "ok");
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 1;
}

static int l_log(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc < 2) return raise_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return raise_error(L, "First argument must be a number (log level).");
    lua_Number lv = lua_tonumber(L, 1);
    if (lv < LOG_DEBUG_LVL || lv > LOG_WARNING_LVL) return raise_error(L, "Invalid debug level.");
    int level = (int)lv;
    if (level < server.cfg.loglevel) return 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 2; i <= argc; i++) {
        size_t n;
        const char *s = lua_tolstring(L, i, &n);
        if (!s) continue;
        if (i != 2) luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, n);
    }
    luaL_pushresult(&b);
    log_msg(level, "%s", lua_tostring(L, -1));
    return 0;
}

static int l_setresp(lua_State *L) {
    run_ctx *r = run_or_raise(L);
    (void)r;
    if (lua_gettop(L) != 1) return raise_error(L, "redis.setresp() requires one argument.");
    lua_Number n = lua_tonumber(L, -1);
    int resp = n > -1e9 && n < 1e9 ? (int)n : 0; /* C's truncation, as Redis, without overflow */
    if (resp != 2 && resp != 3) return raise_error(L, "RESP version must be 2 or 3.");
    sc->resp = sc->out.resp = resp;
    return 0;
}

static int l_set_repl(lua_State *L) {
    run_ctx *r = run_or_raise(L);
    if (lua_gettop(L) != 1) return raise_error(L, "redis.set_repl() requires two arguments.");
    lua_Number n = lua_tonumber(L, -1);
    int flags = n > -1e9 && n < 1e9 ? (int)n : -1;
    if (flags & ~3)
        return raise_error(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    r->repl_none = flags == 0;
    return 0;
}

static int l_replicate_commands(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

static int l_breakpoint(lua_State *L) {
    lua_pushboolean(L, 0);
    return 1;
}

static int l_noop(lua_State *L) {
    (void)L;
    return 0;
}

static int l_acl_check_cmd(lua_State *L) {
    run_ctx *r = run_or_raise(L);
    int argc = lua_gettop(L);
    if (argc == 0) return raise_error(L, "Please specify at least one argument for this redis lib call");
    resp_slice *argv = xmalloc(sizeof(*argv) * (size_t)argc);
    char(*nums)[40] = xmalloc(sizeof(*nums) * (size_t)argc);
    for (int i = 0; i < argc; i++) {
        if (lua_type(L, i + 1) == LUA_TNUMBER) {
            int n = snprintf(nums[i], sizeof(nums[i]), "%.17g", (double)lua_tonumber(L, i + 1));
            argv[i] = (resp_slice){nums[i], (size_t)n};
        } else if (lua_type(L, i + 1) == LUA_TSTRING) {
            size_t n;
            argv[i].ptr = (char *)lua_tolstring(L, i + 1, &n);
            argv[i].len = n;
        } else {
            free(argv);
            free(nums);
            return raise_error(L, "Lua redis lib command arguments must be strings or integers");
        }
    }
    command *cmd = lookup_call(argc, argv);
    if (!cmd) {
        free(argv);
        free(nums);
        return raise_error(L, "Invalid command passed to redis.acl_check_cmd()");
    }
    int ok = 1;
    if (r->caller->user) {
        char msg[256];
        const char *u = r->caller->user->name;
        ok = acl_dryrun(u, strlen(u), argv, argc, msg, sizeof(msg)) != 1; /* 1: denied */
    }
    free(argv);
    free(nums);
    lua_pushboolean(L, ok);
    return 1;
}

/* ---- the sandbox ---- */

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return xrealloc(ptr, nsize);
}

static const char READONLY_KEY[] = "respite.readonly"; /* registry: proxy -> real table (weak keys) */

/* The real table behind idx if it is a read-only proxy (pushed), else idx itself. */
static void push_real(lua_State *L, int idx) {
    lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 2);
        lua_pushvalue(L, idx);
    } else {
        lua_remove(L, -2);
    }
}

static int is_readonly(lua_State *L, int idx) {
    lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    int ro = !lua_isnil(L, -1);
    lua_pop(L, 2);
    return ro;
}

static int readonly_error(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }

static int readonly_error_plain(lua_State *L) {
    lua_pushstring(L, "Attempt to modify a readonly table");
    return lua_error(L);
}

static int global_missing(lua_State *L) {
    const char *k = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", k ? k : "?");
}

/* A read-only proxy of the table at idx (absolute) is pushed. What getmetatable shows
 * for it: the value at view (absolute), or the proxy itself when view is 0 (so the
 * metatable that holds the real table is never reachable). */
static void make_proxy(lua_State *L, int idx, int view) {
    lua_newtable(L); /* proxy */
    int proxy = lua_gettop(L);
    lua_newtable(L); /* its metatable */
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, view ? view : proxy);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, proxy);
    lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, idx);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int l_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    push_real(L, 1);
    lua_replace(L, 1);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

static int l_pairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushvalue(L, lua_upvalueindex(1)); /* our next */
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int ipairs_aux(lua_State *L) {
    int i = luaL_checkint(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    i++;
    push_real(L, 1);
    lua_pushinteger(L, i);
    lua_rawgeti(L, -2, i);
    return lua_isnil(L, -1) ? 0 : 2;
}

static int l_ipairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
}

static int l_rawget(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    push_real(L, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int l_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (is_readonly(L, 1)) return readonly_error_plain(L);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* table.insert as Lua 5.1's, refusing a read-only table (it would write into the proxy). */
static int l_table_insert(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (is_readonly(L, 1)) return readonly_error_plain(L);
    int e = (int)lua_objlen(L, 1) + 1, pos;
    switch (lua_gettop(L)) {
        case 2: pos = e; break;
        case 3:
            pos = luaL_checkint(L, 2);
            if (pos > e) e = pos;
            for (int i = e; i > pos; i--) {
                lua_rawgeti(L, 1, i - 1);
                lua_rawseti(L, 1, i);
            }
            break;
        default: return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_rawseti(L, 1, pos);
    return 0;
}

static int l_setmetatable(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE && is_readonly(L, 1)) return readonly_error_plain(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* loadstring/load without binary chunks (Redis refuses precompiled code). */
static int load_text(lua_State *L, const char *s, size_t n, const char *name) {
    if (n && s[0] == LUA_SIGNATURE[0]) {
        lua_pushnil(L);
        lua_pushstring(L, "binary chunks are not allowed");
        return 2;
    }
    if (luaL_loadbuffer(L, s, n, name)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

static int l_loadstring(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, s);
    return load_text(L, s, n, name);
}

static int l_load(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char *name = luaL_optstring(L, 2, "=(load)");
    luaL_Buffer b;
    lua_settop(L, 2);
    luaL_buffinit(L, &b);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    return load_text(L, s, n, name);
}

/* pcall that gives a caught error table's err string (Redis 7.0 keeps redis.call's
 * errors strings for scripts that catch them). */
static int raise_if_killed(lua_State *L) {
    if (cur_run && cur_run->killed) return raise_error(L, "Script killed by user with SCRIPT KILL...");
    return 0;
}

static int l_pcall(lua_State *L) {
    luaL_checkany(L, 1);
    int argc = lua_gettop(L);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
        raise_if_killed(L); /* a kill is not the script's to catch */
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) lua_replace(L, -2);
            else lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_replace(L, 1);
        lua_settop(L, 2);
        return 2;
    }
    return lua_gettop(L);
}

/* xpcall and coroutine.resume, which catch errors too: a kill goes through them. */
static int l_kill_guard(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    raise_if_killed(L);
    return lua_gettop(L);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction fn) {
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (name[0] && lua_istable(L, -1)) lua_setfield(L, LUA_GLOBALSINDEX, name);
    else lua_pop(L, 1);
}

static void set_fn(lua_State *L, const char *name, lua_CFunction fn) {
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
}

static void set_num(lua_State *L, const char *name, lua_Number v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, name);
}

lua_State *script_lua_new(int functions) {
    lua_State *L = lua_newstate(lua_alloc, NULL);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, READONLY_KEY);

    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, "cjson");
    lua_pushcfunction(L, luaopen_bit);
    lua_pushstring(L, "bit");
    lua_call(L, 1, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, "bit");

    static const char *const removed[] = {"print",   "dofile",  "loadfile", "getfenv", "setfenv", "newproxy", "module",
                                          "require", "package", "debug",    "os",      "io",      "_LOADED",  NULL};
    for (int i = 0; removed[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, LUA_GLOBALSINDEX, removed[i]);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        lua_setfield(L, -2, "package");
    }
    lua_pop(L, 1);

    lua_pushcfunction(L, l_next);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_GLOBALSINDEX, "next");
    lua_pushcclosure(L, l_pairs, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, "pairs");
    lua_pushcfunction(L, ipairs_aux);
    lua_pushcclosure(L, l_ipairs, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, "ipairs");
    lua_pushcfunction(L, l_rawget);
    lua_setfield(L, LUA_GLOBALSINDEX, "rawget");
    lua_pushcfunction(L, l_rawset);
    lua_setfield(L, LUA_GLOBALSINDEX, "rawset");
    lua_getfield(L, LUA_GLOBALSINDEX, "setmetatable");
    lua_pushcclosure(L, l_setmetatable, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, "setmetatable");
    lua_getfield(L, LUA_GLOBALSINDEX, "xpcall");
    lua_pushcclosure(L, l_kill_guard, 1);
    lua_setfield(L, LUA_GLOBALSINDEX, "xpcall");
    lua_getfield(L, LUA_GLOBALSINDEX, "coroutine");
    lua_getfield(L, -1, "resume");
    lua_pushcclosure(L, l_kill_guard, 1);
    lua_setfield(L, -2, "resume");
    lua_pop(L, 1);
    lua_getfield(L, LUA_GLOBALSINDEX, "table");
    lua_pushcfunction(L, l_table_insert);
    lua_setfield(L, -2, "insert");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_loadstring);
    lua_setfield(L, LUA_GLOBALSINDEX, "loadstring");
    lua_pushcfunction(L, l_load);
    lua_setfield(L, LUA_GLOBALSINDEX, "load");
    lua_pushcfunction(L, l_pcall);
    lua_setfield(L, LUA_GLOBALSINDEX, "pcall");
    lua_pushcfunction(L, error_handler);
    lua_setfield(L, LUA_GLOBALSINDEX, "__redis__err__handler");

    lua_newtable(L); /* redis */
    set_fn(L, "call", l_redis_call);
    set_fn(L, "pcall", l_redis_pcall);
    set_fn(L, "log", l_log);
    set_fn(L, "setresp", l_setresp);
    set_fn(L, "sha1hex", l_sha1hex);
    set_fn(L, "error_reply", l_error_reply);
    set_fn(L, "status_reply", l_status_reply);
    set_fn(L, "set_repl", l_set_repl);
    set_fn(L, "replicate_commands", l_replicate_commands);
    set_fn(L, "breakpoint", l_breakpoint);
    set_fn(L, "debug", l_noop);
    set_fn(L, "acl_check_cmd", l_acl_check_cmd);
    set_num(L, "LOG_DEBUG", LOG_DEBUG_LVL);
    set_num(L, "LOG_VERBOSE", LOG_VERBOSE_LVL);
    set_num(L, "LOG_NOTICE", LOG_NOTICE_LVL);
    set_num(L, "LOG_WARNING", LOG_WARNING_LVL);
    set_num(L, "REPL_NONE", 0);
    set_num(L, "REPL_AOF", 1);
    set_num(L, "REPL_SLAVE", 2);
    set_num(L, "REPL_REPLICA", 2);
    set_num(L, "REPL_ALL", 3);
    lua_pushstring(L, REDIS_COMPAT_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    set_num(L, "REDIS_VERSION_NUM", REDIS_VERSION_NUM);
    if (functions) function_lua_extend(L);
    lua_setfield(L, LUA_GLOBALSINDEX, "redis");

    /* Library tables become read-only proxies; getmetatable of one shows an empty
     * read-only table. */
    lua_newtable(L);
    make_proxy(L, lua_gettop(L), 0);
    int view = lua_gettop(L);
    static const char *const libs[] = {"string", "table", "math", "coroutine", "cjson", "bit", "redis", NULL};
    for (int i = 0; libs[i]; i++) {
        lua_getfield(L, LUA_GLOBALSINDEX, libs[i]);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        make_proxy(L, lua_gettop(L), view);
        lua_setfield(L, LUA_GLOBALSINDEX, libs[i]);
        lua_pop(L, 1);
    }
    /* Strings' metatable: getmetatable('') shows a read-only table whose __index is the
     * read-only string library (the real metatable keeps the real one, for speed). */
    lua_newtable(L);
    lua_getfield(L, LUA_GLOBALSINDEX, "string");
    lua_setfield(L, -2, "__index");
    make_proxy(L, lua_gettop(L), 0);
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushvalue(L, -3);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 3);
    /* The globals: real table R (absent names raise), proxy P installed as the globals. */
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    int real = lua_gettop(L);
    lua_newtable(L);
    lua_pushcfunction(L, global_missing);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, real);
    make_proxy(L, real, view);
    lua_getmetatable(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "respite.globals_mt");
    lua_pushcfunction(L, error_handler);
    lua_setfield(L, LUA_REGISTRYINDEX, "respite.err_handler");
    lua_pushvalue(L, -1);
    lua_setfield(L, real, "_G");
    lua_pushvalue(L, real);
    lua_setfield(L, LUA_REGISTRYINDEX, "respite.globals");
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_settop(L, 0);
    return L;
}

/* Set a global in the real globals table (KEYS, ARGV). */
static void set_real_global(lua_State *L, const char *name) {
    lua_getfield(L, LUA_REGISTRYINDEX, "respite.globals");
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

static void push_string_array(lua_State *L, int n, const resp_slice *v) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].ptr, v[i].len);
        lua_rawseti(L, -2, i + 1);
    }
}

/* ---- a run ---- */

static void count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    run_ctx *r = cur_run;
    if (!r) return;
    long long elapsed = (util_ustime() - r->start_us) / 1000;
    if (!r->timedout && server.cfg.busy_reply_threshold > 0 && elapsed >= server.cfg.busy_reply_threshold) {
        r->timedout = 1;
        log_warning("Slow script detected: still in execution after %lld milliseconds. You can try killing the "
                    "script using the %s command. Script name is: %s.",
                    elapsed, r->eval ? "SCRIPT KILL" : "FUNCTION KILL", r->name);
    }
    if (r->timedout) net_serve_while_busy(r->caller);
    if (script_hook_budget && ++r->hooks > script_hook_budget) r->killed = 1;
    if (r->killed) {
        log_warning("Lua script killed by user with %s.", r->eval ? "SCRIPT KILL" : "FUNCTION KILL");
        raise_error(L, "Script killed by user with SCRIPT KILL..."); /* (sic, for functions too) */
    }
}

static int run_count;

void script_run(client *c, lua_State *L, int eval, const char *name, uint32_t flags, int ro, int nkeys,
                const resp_slice *keys, int nargs, const resp_slice *args) {
    int oom = server_out_of_memory();
    if (!(flags & SCRIPT_FLAG_EVAL_COMPAT)) {
        if (!(flags & SCRIPT_FLAG_NO_WRITES) && ro) {
            lua_pop(L, 1);
            reply_error(&c->out, "Can not execute a script with write flag using *_ro command.");
            return;
        }
        if (oom && !(flags & (SCRIPT_FLAG_ALLOW_OOM | SCRIPT_FLAG_NO_WRITES))) {
            lua_pop(L, 1);
            /* what Redis's processCommand answers: the script's flags made it deny-oom */
            reply_error(&c->out, "-OOM command not allowed when used memory > 'maxmemory'.");
            return;
        }
    }
    if (!sc) {
        sc = xcalloc(1, sizeof(*sc));
        sc->fd = -1;
        sc->flags = CLIENT_SCRIPT;
        sc->authenticated = 1;
        reply_init(&sc->out);
        snprintf(sc->addr, sizeof(sc->addr), "?:0");
    }
    run_ctx r = {0};
    r.caller = c;
    r.name = name;
    r.eval = eval;
    r.readonly = ro || (!(flags & SCRIPT_FLAG_EVAL_COMPAT) && (flags & SCRIPT_FLAG_NO_WRITES));
    r.allow_oom = !(flags & SCRIPT_FLAG_EVAL_COMPAT) && (flags & SCRIPT_FLAG_ALLOW_OOM);
    r.oom_at_start = oom;
    r.start_us = util_ustime();
    sc->db = c->db;
    sc->resp = sc->out.resp = 2;
    sc->user = c->user;
    sc->flags = CLIENT_SCRIPT;

    int fn = lua_gettop(L);
    lua_pushcfunction(L, error_handler);
    lua_insert(L, fn);
    int nargs_call = 0;
    if (eval) {
        push_string_array(L, nkeys, keys);
        set_real_global(L, "KEYS");
        push_string_array(L, nargs, args);
        set_real_global(L, "ARGV");
    } else {
        push_string_array(L, nkeys, keys);
        push_string_array(L, nargs, args);
        nargs_call = 2;
    }
    cur_run = &r;
    reply_cmd = c->cmd;
    if (server.cfg.busy_reply_threshold > 0 || script_hook_budget)
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEPS);
    int err = lua_pcall(L, nargs_call, 1, fn);
    lua_sethook(L, NULL, 0, 0);
    cur_run = NULL;
    if (r.timedout) log_warning("Slow script finished after %lld milliseconds.", (util_ustime() - r.start_us) / 1000);
    if (err) {
        if (lua_istable(L, -1)) {
            size_t n;
            int ignore = 0;
            const char *msg = table_err(L, lua_gettop(L), &n, &ignore);
            lua_getfield(L, -1, "source");
            lua_getfield(L, -2, "line");
            const char *src = lua_tostring(L, -2);
            const char *line = lua_tostring(L, -1);
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            if (msg) luaL_addlstring(&b, msg, n);
            else luaL_addstring(&b, "ERR unknown error");
            if (src && line) {
                luaL_addstring(&b, " script: ");
                luaL_addstring(&b, name);
                luaL_addstring(&b, ", on ");
                luaL_addstring(&b, src);
                luaL_addchar(&b, ':');
                luaL_addstring(&b, line);
                luaL_addchar(&b, '.');
            }
            luaL_pushresult(&b);
            const char *full = lua_tolstring(L, -1, &n);
            reply_error_code(&c->out, full, n, ignore);
            lua_pop(L, 4);
        } else {
            const char *m = lua_tostring(L, -1);
            reply_errorf(&c->out, "Error running script %s, %.100s", name, m ? m : "execution failure");
            lua_pop(L, 1);
        }
    } else {
        lua_to_reply(L, &c->out, sc->resp);
    }
    lua_pop(L, 1); /* the handler */
    if (++run_count >= GC_EVERY_RUNS) {
        lua_gc(L, LUA_GCSTEP, GC_EVERY_RUNS);
        run_count = 0;
    }
    reply_clear(&sc->out);
    if (r.shutdown || server.shutdown_asap) server_request_shutdown();
}

/* ---- EVAL and the script cache ---- */

typedef struct cached_script {
    char sha[41];
    int ref; /* the compiled function in the EVAL state's registry */
    uint32_t flags;
    char *body;
    size_t len;
    struct cached_script *next;
} cached_script;

static lua_State *eval_L;
static cached_script **cache;
static size_t cache_cap, cache_count, cache_bytes;

static size_t sha_slot(const char *sha) {
    size_t h = 0;
    for (int i = 0; i < 16; i++) h = h * 31 + (unsigned char)sha[i];
    return h & (cache_cap - 1);
}

static cached_script *cache_find(const char *sha) {
    if (!cache_count) return NULL;
    for (cached_script *s = cache[sha_slot(sha)]; s; s = s->next)
        if (!memcmp(s->sha, sha, 40)) return s;
    return NULL;
}

static void cache_add(cached_script *s) {
    if (cache_count + 1 > cache_cap) {
        size_t ncap = cache_cap ? cache_cap * 2 : 64;
        cached_script **n = xcalloc(ncap, sizeof(*n));
        for (size_t i = 0; i < cache_cap; i++) {
            cached_script *e = cache[i], *next;
            for (; e; e = next) {
                next = e->next;
                size_t h = 0;
                for (int k = 0; k < 16; k++) h = h * 31 + (unsigned char)e->sha[k];
                h &= ncap - 1;
                e->next = n[h];
                n[h] = e;
            }
        }
        free(cache);
        cache = n;
        cache_cap = ncap;
    }
    size_t h = sha_slot(s->sha);
    s->next = cache[h];
    cache[h] = s;
    cache_count++;
    cache_bytes += sizeof(*s) + s->len + 1;
}

static void cache_flush(void) {
    for (size_t i = 0; i < cache_cap; i++) {
        cached_script *e = cache[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e->body);
            free(e);
        }
    }
    free(cache);
    cache = NULL;
    cache_cap = cache_count = cache_bytes = 0;
    if (eval_L) lua_close(eval_L);
    eval_L = NULL;
}

static lua_State *eval_state(void) {
    if (!eval_L) eval_L = script_lua_new(0);
    return eval_L;
}

/* Parse a body's shebang (Redis's evalExtractShebangFlags). Returns 0 with *err set on
 * bad input; *skip is the shebang's length (the body compiled starts at its newline). */
int script_parse_shebang(const char *body, size_t len, uint32_t *flags, size_t *skip, char *err, size_t errsize,
                         int functions) {
    *flags = functions ? 0 : SCRIPT_FLAG_EVAL_COMPAT;
    *skip = 0;
    if (len < 2 || memcmp(body, "#!", 2)) return 1;
    const char *nl = memchr(body, '\n', len);
    if (!nl) {
        snprintf(err, errsize, "Invalid script shebang");
        return 0;
    }
    *skip = (size_t)(nl - body);
    *flags &= ~SCRIPT_FLAG_EVAL_COMPAT;
    const char *p = body, *end = nl;
    int part = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
        if (p == end) break;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\r') p++;
        size_t wl = (size_t)(p - w);
        if (part++ == 0) {
            if (wl != 5 || memcmp(w, "#!lua", 5)) {
                snprintf(err, errsize, "Unexpected engine in script shebang: %.*s", (int)wl, w);
                return 0;
            }
            continue;
        }
        if (wl >= 6 && !memcmp(w, "flags=", 6)) {
            const char *f = w + 6, *fe = p;
            while (f < fe) {
                const char *comma = memchr(f, ',', (size_t)(fe - f));
                const char *e = comma ? comma : fe;
                uint32_t fl = script_flag_by_name(f, (size_t)(e - f));
                if (!fl) {
                    snprintf(err, errsize, "Unexpected flag in script shebang: %.*s", (int)(e - f), f);
                    return 0;
                }
                *flags |= fl;
                f = comma ? comma + 1 : fe;
                if (comma && f == fe) {
                    snprintf(err, errsize, "Unexpected flag in script shebang: ");
                    return 0;
                }
            }
        } else if (functions && wl >= 5 && !memcmp(w, "name=", 5)) {
            continue; /* the library's name: server/function.c reads it */
        } else {
            snprintf(err, errsize, "Unknown lua shebang option: %.*s", (int)wl, w);
            return 0;
        }
    }
    if (part == 0) {
        snprintf(err, errsize, "Invalid engine in script shebang");
        return 0;
    }
    return 1;
}

/* Find or compile the script body; NULL after replying the error. */
static cached_script *script_create(client *c, const char *body, size_t len, const char *sha) {
    char hex[41];
    if (!sha) {
        sha1_hex(body, len, hex);
        sha = hex;
    }
    cached_script *s = cache_find(sha);
    if (s) return s;
    uint32_t flags;
    size_t skip;
    char err[256];
    if (!script_parse_shebang(body, len, &flags, &skip, err, sizeof(err), 0)) {
        reply_error(&c->out, err);
        return NULL;
    }
    lua_State *L = eval_state();
    if (luaL_loadbuffer(L, body + skip, len - skip, "@user_script")) {
        reply_errorf(&c->out, "Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    memcpy(s->sha, sha, 41);
    s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->flags = flags;
    s->body = xmalloc(len + 1);
    memcpy(s->body, body, len);
    s->body[len] = '\0';
    s->len = len;
    cache_add(s);
    return s;
}

int script_eval_no_writes(const resp_slice *arg, int sha) {
    char hex[41];
    if (sha) {
        if (arg->len != 40) return 0;
        for (int i = 0; i < 40; i++)
            hex[i] = (char)(arg->ptr[i] | (arg->ptr[i] >= 'A' && arg->ptr[i] <= 'Z' ? 0x20 : 0));
        hex[40] = '\0';
    } else {
        sha1_hex(arg->ptr, arg->len, hex);
    }
    cached_script *s = cache_find(hex);
    uint32_t flags;
    if (s) {
        flags = s->flags;
    } else {
        size_t skip;
        char err[256];
        if (sha || !script_parse_shebang(arg->ptr, arg->len, &flags, &skip, err, sizeof(err), 0)) return 0;
    }
    return !(flags & SCRIPT_FLAG_EVAL_COMPAT) && (flags & SCRIPT_FLAG_NO_WRITES);
}

/* EVAL/EVALSHA[_RO]: numkeys and the script, then the run. */
static void eval_generic(client *c, int sha, int ro) {
    long long numkeys;
    if (!arg_ll_or_reply(c, 2, &numkeys)) return;
    if (numkeys > c->argc - 3) {
        reply_error(&c->out, "Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(&c->out, "Number of keys can't be negative");
        return;
    }
    cached_script *s;
    if (sha) {
        char lower[41];
        if (c->argv[1].len != 40) {
            reply_error(&c->out, "-NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
        for (int i = 0; i < 40; i++)
            lower[i] = (char)(c->argv[1].ptr[i] | (c->argv[1].ptr[i] >= 'A' && c->argv[1].ptr[i] <= 'Z' ? 0x20 : 0));
        lower[40] = '\0';
        s = cache_find(lower);
        if (!s) {
            reply_error(&c->out, "-NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
    } else {
        s = script_create(c, c->argv[1].ptr, c->argv[1].len, NULL);
        if (!s) return;
    }
    if (propagate_wanted()) propagate_prevent(c);
    lua_State *L = eval_state();
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref);
    char name[41];
    memcpy(name, s->sha, 41);
    script_run(c, L, 1, name, s->flags, ro, (int)numkeys, c->argv + 3, c->argc - 3 - (int)numkeys,
               c->argv + 3 + numkeys);
}

static void cmd_eval(client *c) { eval_generic(c, 0, 0); }
static void cmd_evalsha(client *c) { eval_generic(c, 1, 0); }
static void cmd_eval_ro(client *c) { eval_generic(c, 0, 1); }
static void cmd_evalsha_ro(client *c) { eval_generic(c, 1, 1); }

static void cmd_script_load(client *c) {
    cached_script *s = script_create(c, c->argv[2].ptr, c->argv[2].len, NULL);
    if (s) reply_bulk(&c->out, s->sha, 40);
}

static void cmd_script_exists(client *c) {
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        char lower[41];
        int found = 0;
        if (c->argv[i].len == 40) {
            for (int k = 0; k < 40; k++)
                lower[k] = (char)(c->argv[i].ptr[k] >= 'A' && c->argv[i].ptr[k] <= 'Z' ? c->argv[i].ptr[k] | 0x20
                                                                                       : c->argv[i].ptr[k]);
            lower[40] = '\0';
            found = cache_find(lower) != NULL;
        }
        reply_int(&c->out, found);
    }
}

static void cmd_script_flush(client *c) {
    if (c->argc > 3 || (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async"))) {
        reply_error(&c->out, "SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    cache_flush();
    reply_ok(&c->out);
}

static void cmd_script_kill(client *c) { script_kill(c, 1); }

static void cmd_script_help(client *c) {
    static const char *const lines[] = {
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

size_t script_eval_vm_memory(void) {
    return eval_L ? (size_t)lua_gc(eval_L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(eval_L, LUA_GCCOUNTB, 0) : 0;
}
size_t script_eval_cache_memory(void) { return cache_bytes; }
size_t script_eval_count(void) { return cache_count; }

void script_free_all(void) {
    cache_flush();
    if (sc) {
        reply_free(&sc->out);
        free(sc);
        sc = NULL;
    }
    free(call_argv);
    free(call_nums);
    call_argv = NULL;
    call_nums = NULL;
    call_cap = 0;
}

static const command_binding script_subcommands[] = {
    CMD("load", cmd_script_load), CMD("exists", cmd_script_exists), CMD("flush", cmd_script_flush),
    CMD("kill", cmd_script_kill), CMD("help", cmd_script_help),     {0},
};

const command_binding script_commands[] = {
    CMD("eval", cmd_eval),
    CMD("evalsha", cmd_evalsha),
    CMD("eval_ro", cmd_eval_ro),
    CMD("evalsha_ro", cmd_evalsha_ro),
    CMD("script", NULL, script_subcommands),
    {0},
};
