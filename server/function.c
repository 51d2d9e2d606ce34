/* function.c: Redis 7.0's functions: FUNCTION LOAD/DELETE/LIST/STATS/FLUSH/KILL and
 * FCALL/FCALL_RO, on the engine of server/script.c.
 *
 * Libraries live in one Lua state of their own (as Redis keeps functions apart from
 * EVAL's). Its globals proxy reads through to the runtime globals; while a library's
 * code runs at FUNCTION LOAD it reads through to the load API instead, which holds only
 * `redis` with register_function, log and the constants, so library code can do
 * nothing but register functions. Registered callbacks are kept as registry
 * references; a library replaced or deleted releases them. FUNCTION DUMP/RESTORE
 * use the RDB's payload format (storage/rdb.c); RESTORE loads into an empty set of
 * libraries, then joins it with the current one as its policy says. */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/script.h"
#include "storage/rdb.h"

#define LOAD_TIMEOUT_MS 500

typedef struct fn_entry {
    char *name;
    char *desc; /* NULL: none */
    uint32_t flags;
    int ref;
} fn_entry;

typedef struct fn_library {
    char *name;
    char *code;
    fn_entry *fns;
    int nfns;
} fn_library;

static lua_State *fn_L;
static fn_library **libs;
static int nlibs;
static size_t code_bytes;
static fn_library *loading; /* the library FUNCTION LOAD is registering into */
static long long load_start_ms;
static const fn_entry *running_fn;
static client *running_caller;
static long long running_start_ms;

/* ---- registration ---- */

static int valid_name(const char *s, size_t n) {
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

static int raise_plain(lua_State *L, const char *msg) {
    lua_newtable(L);
    lua_pushstring(L, "err");
    lua_pushfstring(L, "ERR %s", msg);
    lua_rawset(L, -3);
    return lua_error(L);
}

static int l_register_function(lua_State *L) {
    if (!loading) return raise_plain(L, "redis.register_function can only be called on FUNCTION LOAD command");
    int argc = lua_gettop(L);
    const char *name = NULL, *desc = NULL;
    size_t nlen = 0;
    uint32_t flags = 0;
    int have_cb = 0;
    if (argc == 1) {
        if (!lua_istable(L, 1))
            return raise_plain(L, "calling redis.register_function with a single argument is only applicable to Lua "
                                  "table (representing named arguments).");
        /* slots 2 and 3 keep the name and description strings alive (a number given
         * as one is converted to a new string) */
        lua_settop(L, 1);
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return raise_plain(L, "named argument key given to redis.register_function is not a string");
            const char *k = lua_tostring(L, -2);
            if (!strcmp(k, "function_name")) {
                if (!lua_isstring(L, -1))
                    return raise_plain(L, "function_name argument given to redis.register_function must be a string");
                lua_pushvalue(L, -1);
                name = lua_tolstring(L, -1, &nlen);
                lua_replace(L, 2);
            } else if (!strcmp(k, "description")) {
                if (!lua_isstring(L, -1))
                    return raise_plain(L, "description argument given to redis.register_function must be a string");
                lua_pushvalue(L, -1);
                desc = lua_tostring(L, -1);
                lua_replace(L, 3);
            } else if (!strcmp(k, "callback")) {
                if (lua_type(L, -1) != LUA_TFUNCTION)
                    return raise_plain(L, "callback argument given to redis.register_function must be a function");
                lua_pushvalue(L, -1);
                lua_setfield(L, LUA_REGISTRYINDEX, "respite.fn_cb");
                have_cb = 1;
            } else if (!strcmp(k, "flags")) {
                if (lua_type(L, -1) != LUA_TTABLE)
                    return raise_plain(L, "flags argument to redis.register_function must be a table representing "
                                          "function flags");
                for (int i = 1;; i++) {
                    lua_rawgeti(L, -1, i);
                    if (lua_isnil(L, -1)) {
                        lua_pop(L, 1);
                        break;
                    }
                    size_t fl;
                    const char *f = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &fl) : NULL;
                    uint32_t bit = f ? script_flag_by_name(f, fl) : 0;
                    if (!bit) return raise_plain(L, "unknown flag given");
                    flags |= bit;
                    lua_pop(L, 1);
                }
            } else {
                return raise_plain(L, "unknown argument given to redis.register_function");
            }
            lua_pop(L, 1);
        }
        if (!name) return raise_plain(L, "redis.register_function must get a function name argument");
        if (!have_cb) return raise_plain(L, "redis.register_function must get a callback argument");
    } else if (argc == 2) {
        if (lua_type(L, 2) != LUA_TFUNCTION)
            return raise_plain(L, "second argument to redis.register_function must be a function");
        if (!lua_isstring(L, 1)) return raise_plain(L, "first argument to redis.register_function must be a string");
        name = lua_tolstring(L, 1, &nlen);
        lua_pushvalue(L, 2);
        lua_setfield(L, LUA_REGISTRYINDEX, "respite.fn_cb");
    } else {
        return raise_plain(L, "wrong number of arguments to redis.register_function");
    }
    /* (sic: Redis 7.0 reports a bad function name with the library names' text) */
    if (!valid_name(name, nlen))
        return raise_plain(L, "Library names can only contain letters, numbers, or underscores(_) and must be at "
                              "least one character long");
    for (int i = 0; i < loading->nfns; i++)
        if (!strcmp(loading->fns[i].name, name)) return raise_plain(L, "Function already exists in the library");
    loading->fns = xrealloc(loading->fns, sizeof(fn_entry) * (size_t)(loading->nfns + 1));
    fn_entry *e = &loading->fns[loading->nfns++];
    e->name = xstrndup(name, nlen);
    e->desc = desc ? xstrdup(desc) : NULL;
    e->flags = flags;
    lua_getfield(L, LUA_REGISTRYINDEX, "respite.fn_cb");
    e->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "respite.fn_cb");
    return 0;
}

void function_lua_extend(lua_State *L) {
    /* The runtime `redis` of functions has no debugger hooks and no replicate_commands. */
    lua_pushnil(L);
    lua_setfield(L, -2, "breakpoint");
    lua_pushnil(L);
    lua_setfield(L, -2, "debug");
    lua_pushnil(L);
    lua_setfield(L, -2, "replicate_commands");
}

static int load_missing(lua_State *L) {
    const char *k = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", k ? k : "?");
}

static int load_readonly(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }

/* The state, and the load API in its registry ("respite.load_api"). */
static lua_State *fn_state(void) {
    if (fn_L) return fn_L;
    lua_State *L = script_lua_new(1);
    /* load API: { redis = { register_function, log, LOG_*, REDIS_VERSION* } }, read-only */
    lua_newtable(L); /* api */
    lua_newtable(L); /* its redis */
    lua_pushcfunction(L, l_register_function);
    lua_setfield(L, -2, "register_function");
    lua_getfield(L, LUA_GLOBALSINDEX, "redis");
    static const char *const copied[] = {"log",         "LOG_DEBUG",     "LOG_VERBOSE",       "LOG_NOTICE",
                                         "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM", NULL};
    for (int i = 0; copied[i]; i++) {
        lua_getfield(L, -1, copied[i]);
        lua_setfield(L, -3, copied[i]);
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, load_missing);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    /* redis (load) as a read-only proxy */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, load_readonly);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, -2);
    lua_setfield(L, -3, "redis");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, load_missing);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "respite.load_api");
    fn_L = L;
    return L;
}

/* Point the globals' reads at the load API (on) or back at the runtime globals. */
static void globals_read_through(lua_State *L, int load) {
    lua_getfield(L, LUA_REGISTRYINDEX, "respite.globals_mt");
    lua_getfield(L, LUA_REGISTRYINDEX, load ? "respite.load_api" : "respite.globals");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

static long long load_hooks;

static void load_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (util_mstime() - load_start_ms > LOAD_TIMEOUT_MS || (script_hook_budget && ++load_hooks > script_hook_budget)) {
        lua_sethook(L, load_hook, LUA_MASKLINE, 0);
        raise_plain(L, "FUNCTION LOAD timeout");
    }
}

static void library_free(fn_library *lib, int unref) {
    if (!lib) return;
    for (int i = 0; i < lib->nfns; i++) {
        if (unref && fn_L) luaL_unref(fn_L, LUA_REGISTRYINDEX, lib->fns[i].ref);
        free(lib->fns[i].name);
        free(lib->fns[i].desc);
    }
    free(lib->fns);
    free(lib->name);
    free(lib->code);
    free(lib);
}

static int library_index(const char *name) {
    for (int i = 0; i < nlibs; i++)
        if (!strcmp(libs[i]->name, name)) return i;
    return -1;
}

static const fn_entry *function_find(const char *name, size_t len) {
    for (int i = 0; i < nlibs; i++)
        for (int k = 0; k < libs[i]->nfns; k++)
            if (strlen(libs[i]->fns[k].name) == len && !memcmp(libs[i]->fns[k].name, name, len))
                return &libs[i]->fns[k];
    return NULL;
}

/* The library's name from its `#!<engine> name=<name>` line (Redis's
 * functionExtractLibMetaData); NULL after filling err. */
static char *library_metadata(const char *code, size_t len, size_t *skip, char *err, size_t errsize) {
    if (len < 2 || memcmp(code, "#!", 2)) {
        snprintf(err, errsize, "Missing library metadata");
        return NULL;
    }
    const char *nl = memchr(code, '\n', len);
    if (!nl) {
        snprintf(err, errsize, "Invalid library metadata");
        return NULL;
    }
    *skip = (size_t)(nl - code);
    char *name = NULL;
    const char *p = code, *end = nl;
    int part = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
        if (p == end) break;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\r') p++;
        size_t wl = (size_t)(p - w);
        if (part++ == 0) {
            if (!(wl == 5 && !strncasecmp(w, "#!lua", 5))) {
                snprintf(err, errsize, "Engine '%.*s' not found", (int)(wl - 2), w + 2);
                free(name);
                return NULL;
            }
            continue;
        }
        if (wl >= 5 && !strncasecmp(w, "name=", 5)) {
            if (name) {
                snprintf(err, errsize, "Invalid metadata value, name argument was given multiple times");
                free(name);
                return NULL;
            }
            name = xstrndup(w + 5, wl - 5);
            continue;
        }
        snprintf(err, errsize, "Invalid metadata value given: %.*s", (int)wl, w);
        free(name);
        return NULL;
    }
    if (!name) {
        snprintf(err, errsize, "Library name was not given");
        return NULL;
    }
    if (!valid_name(name, strlen(name))) {
        snprintf(err, errsize,
                 "Library names can only contain letters, numbers, or underscores(_) and must be at "
                 "least one character long");
        free(name);
        return NULL;
    }
    return name;
}

/* Register the library whose code is given (FUNCTION LOAD, and the RDB loader's
 * function payloads): returns its name (owned by the library), or NULL with the error
 * text (without "ERR ") in err. */
const char *function_load_code(const char *code, size_t len, int replace, char *err, size_t errsize) {
    size_t skip = 0;
    char *name = library_metadata(code, len, &skip, err, errsize);
    if (!name) return NULL;
    int old = library_index(name);
    if (old >= 0 && !replace) {
        snprintf(err, errsize, "Library '%s' already exists", name);
        free(name);
        return NULL;
    }
    lua_State *L = fn_state();
    if (luaL_loadbuffer(L, code + skip, len - skip, "@user_function")) {
        snprintf(err, errsize, "Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        free(name);
        return NULL;
    }
    fn_library *lib = xcalloc(1, sizeof(*lib));
    lib->name = name;
    loading = lib;
    load_start_ms = util_mstime();
    load_hooks = 0;
    globals_read_through(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "respite.err_handler");
    lua_insert(L, -2);
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    int rc = lua_pcall(L, 0, 0, -2);
    lua_sethook(L, NULL, 0, 0);
    globals_read_through(L, 0);
    loading = NULL;
    if (rc) {
        const char *msg = NULL;
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            msg = lua_tostring(L, -1);
            lua_pop(L, 1); /* the table keeps the string */
        }
        snprintf(err, errsize, "Error registering functions: %s", msg ? msg : "unknown error");
        lua_pop(L, 2);
        library_free(lib, 1);
        return NULL;
    }
    lua_pop(L, 1); /* the handler */
    if (!lib->nfns) {
        snprintf(err, errsize, "No functions registered");
        library_free(lib, 1);
        return NULL;
    }
    for (int i = 0; i < lib->nfns; i++) {
        const fn_entry *e = function_find(lib->fns[i].name, strlen(lib->fns[i].name));
        if (e && !(old >= 0 && e >= libs[old]->fns && e < libs[old]->fns + libs[old]->nfns)) {
            snprintf(err, errsize, "Function %s already exists", lib->fns[i].name);
            library_free(lib, 1);
            return NULL;
        }
    }
    lib->code = xstrndup(code, len);
    code_bytes += len;
    if (old >= 0) {
        code_bytes -= strlen(libs[old]->code);
        library_free(libs[old], 1);
        libs[old] = lib;
    } else {
        libs = xrealloc(libs, sizeof(*libs) * (size_t)(nlibs + 1));
        libs[nlibs++] = lib;
    }
    return lib->name;
}

void function_foreach_code(void (*fn)(void *priv, const char *code, size_t len), void *priv) {
    for (int i = 0; i < nlibs; i++) fn(priv, libs[i]->code, strlen(libs[i]->code));
}

static void cmd_function_load(client *c) {
    int replace = 0;
    if (c->argc == 4) {
        if (!arg_is(c, 2, "replace")) {
            reply_errorf(&c->out, "Unknown option given: %.*s", (int)c->argv[2].len, c->argv[2].ptr);
            return;
        }
        replace = 1;
    } else if (c->argc != 3) {
        reply_arity_error(c);
        return;
    }
    const resp_slice *code = &c->argv[c->argc - 1];
    char err[512];
    const char *name = function_load_code(code->ptr, code->len, replace, err, sizeof(err));
    if (!name) {
        reply_error(&c->out, err);
        return;
    }
    if (propagate_wanted()) propagate_force(c);
    reply_bulk_cstr(&c->out, name);
}

static void cmd_function_delete(client *c) {
    char *name = arg_dup(c, 2);
    int i = library_index(name);
    free(name);
    if (i < 0) {
        reply_error(&c->out, "Library not found");
        return;
    }
    code_bytes -= strlen(libs[i]->code);
    library_free(libs[i], 1);
    memmove(libs + i, libs + i + 1, sizeof(*libs) * (size_t)(nlibs - i - 1));
    nlibs--;
    if (propagate_wanted()) propagate_force(c);
    reply_ok(&c->out);
}

static void flush_all(void) {
    for (int i = 0; i < nlibs; i++) library_free(libs[i], 0);
    free(libs);
    libs = NULL;
    nlibs = 0;
    code_bytes = 0;
    if (fn_L) lua_close(fn_L);
    fn_L = NULL;
}

static void cmd_function_flush(client *c) {
    if (c->argc > 3 || (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async"))) {
        reply_error(&c->out, "FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    flush_all();
    if (propagate_wanted()) propagate_force(c);
    reply_ok(&c->out);
}

static void cmd_function_dump(client *c) {
    size_t len;
    char *p = rdb_dump_functions(&len);
    reply_bulk(&c->out, p, len);
    free(p);
}

static int restore_one(void *priv, const char *code, size_t len, char *err, size_t errsize) {
    (void)priv;
    return function_load_code(code, len, 0, err, errsize) ? 0 : -1;
}

static void libs_free(fn_library **v, int n) {
    for (int i = 0; i < n; i++) library_free(v[i], 1);
    free(v);
}

/* Join the restored libraries (libs) into the ones kept aside (old), as Redis's
 * libraryJoin: a library already there is an error unless replace; no function may
 * clash with one that stays. On success libs holds the union. */
static int restore_join(fn_library **old, int nold, size_t old_bytes, int replace, char *err, size_t errsize) {
    char *gone = xcalloc((size_t)nold + 1, 1);
    for (int i = 0; i < nlibs; i++)
        for (int k = 0; k < nold; k++)
            if (!gone[k] && !strcmp(old[k]->name, libs[i]->name)) {
                if (!replace) {
                    snprintf(err, errsize, "Library %s already exists", libs[i]->name);
                    free(gone);
                    return -1;
                }
                gone[k] = 1;
            }
    for (int i = 0; i < nlibs; i++)
        for (int f = 0; f < libs[i]->nfns; f++)
            for (int k = 0; k < nold; k++) {
                if (gone[k]) continue;
                for (int g = 0; g < old[k]->nfns; g++)
                    if (!strcmp(old[k]->fns[g].name, libs[i]->fns[f].name)) {
                        snprintf(err, errsize, "Function %s already exists", libs[i]->fns[f].name);
                        free(gone);
                        return -1;
                    }
            }
    fn_library **all = xmalloc(sizeof(*all) * (size_t)(nold + nlibs + 1));
    int n = 0;
    for (int k = 0; k < nold; k++) {
        if (gone[k]) {
            old_bytes -= strlen(old[k]->code);
            library_free(old[k], 1);
        } else {
            all[n++] = old[k];
        }
    }
    for (int i = 0; i < nlibs; i++) all[n++] = libs[i];
    free(gone);
    free(old);
    free(libs);
    libs = all;
    nlibs = n;
    code_bytes += old_bytes;
    return 0;
}

static void cmd_function_restore(client *c) {
    if (c->argc > 4) {
        char up[16];
        size_t n = c->argv[0].len < sizeof(up) - 1 ? c->argv[0].len : sizeof(up) - 1;
        for (size_t i = 0; i < n; i++) up[i] = (char)toupper((unsigned char)c->argv[0].ptr[i]);
        up[n] = 0;
        reply_errorf(&c->out, "unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                     (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr, up);
        return;
    }
    enum { APPEND, REPLACE, FLUSH } policy = APPEND;
    if (c->argc == 4) {
        if (arg_is(c, 3, "append")) policy = APPEND;
        else if (arg_is(c, 3, "replace")) policy = REPLACE;
        else if (arg_is(c, 3, "flush")) policy = FLUSH;
        else {
            reply_error(&c->out, "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    }
    const resp_slice *p = &c->argv[2];
    if (!rdb_payload_verify(p->ptr, p->len)) {
        reply_error(&c->out, "DUMP payload version or checksum are wrong");
        return;
    }
    /* load into an empty set of libraries, the current ones kept aside */
    fn_library **old = libs;
    int nold = nlibs;
    size_t old_bytes = code_bytes;
    libs = NULL;
    nlibs = 0;
    code_bytes = 0;
    char err[512];
    int rc = rdb_restore_functions(p->ptr, p->len, restore_one, NULL, err, sizeof(err));
    if (rc == 0 && policy == FLUSH) {
        libs_free(old, nold);
    } else if (rc == 0) {
        rc = restore_join(old, nold, old_bytes, policy == REPLACE, err, sizeof(err));
    }
    if (rc < 0) {
        libs_free(libs, nlibs);
        libs = old;
        nlibs = nold;
        code_bytes = old_bytes;
        reply_error(&c->out, err);
        return;
    }
    if (propagate_wanted()) propagate_force(c);
    reply_ok(&c->out);
}

static void reply_flag(void *priv, const char *name) { reply_simple((reply_buf *)priv, name); }

static int count_flag(uint32_t f) {
    int n = 0;
    for (; f; f &= f - 1) n++;
    return n;
}

static void cmd_function_list(client *c) {
    int with_code = 0;
    const char *pat = NULL;
    size_t patlen = 0;
    for (int i = 2; i < c->argc; i++) {
        if (!with_code && arg_is(c, i, "withcode")) {
            with_code = 1;
            continue;
        }
        if (!pat && arg_is(c, i, "libraryname")) {
            if (i >= c->argc - 1) {
                reply_error(&c->out, "library name argument was not given");
                return;
            }
            pat = c->argv[++i].ptr;
            patlen = c->argv[i].len;
            continue;
        }
        reply_errorf(&c->out, "Unknown argument %.*s", (int)c->argv[i].len, c->argv[i].ptr);
        return;
    }
    int n = 0;
    for (int i = 0; i < nlibs; i++)
        if (!pat || util_stringmatch(pat, patlen, libs[i]->name, strlen(libs[i]->name), 1)) n++;
    reply_array(&c->out, n);
    for (int i = 0; i < nlibs; i++) {
        fn_library *lib = libs[i];
        if (pat && !util_stringmatch(pat, patlen, lib->name, strlen(lib->name), 1)) continue;
        reply_map(&c->out, with_code ? 4 : 3);
        reply_bulk_cstr(&c->out, "library_name");
        reply_bulk_cstr(&c->out, lib->name);
        reply_bulk_cstr(&c->out, "engine");
        reply_bulk_cstr(&c->out, "LUA");
        reply_bulk_cstr(&c->out, "functions");
        reply_array(&c->out, lib->nfns);
        for (int k = 0; k < lib->nfns; k++) {
            reply_map(&c->out, 3);
            reply_bulk_cstr(&c->out, "name");
            reply_bulk_cstr(&c->out, lib->fns[k].name);
            reply_bulk_cstr(&c->out, "description");
            if (lib->fns[k].desc) reply_bulk_cstr(&c->out, lib->fns[k].desc);
            else reply_null(&c->out);
            reply_bulk_cstr(&c->out, "flags");
            reply_set(&c->out, count_flag(lib->fns[k].flags));
            script_flags_foreach(lib->fns[k].flags, reply_flag, &c->out);
        }
        if (with_code) {
            reply_bulk_cstr(&c->out, "library_code");
            reply_bulk_cstr(&c->out, lib->code);
        }
    }
}

static void cmd_function_stats(client *c) {
    reply_map(&c->out, 2);
    reply_bulk_cstr(&c->out, "running_script");
    if (running_fn) {
        reply_map(&c->out, 3);
        reply_bulk_cstr(&c->out, "name");
        reply_bulk_cstr(&c->out, running_fn->name);
        reply_bulk_cstr(&c->out, "command");
        reply_array(&c->out, running_caller->argc);
        for (int i = 0; i < running_caller->argc; i++)
            reply_bulk(&c->out, running_caller->argv[i].ptr, running_caller->argv[i].len);
        reply_bulk_cstr(&c->out, "duration_ms");
        reply_int(&c->out, util_mstime() - running_start_ms);
    } else {
        reply_null(&c->out);
    }
    reply_bulk_cstr(&c->out, "engines");
    reply_map(&c->out, 1);
    reply_bulk_cstr(&c->out, "LUA");
    reply_map(&c->out, 2);
    reply_bulk_cstr(&c->out, "libraries_count");
    reply_int(&c->out, nlibs);
    reply_bulk_cstr(&c->out, "functions_count");
    reply_int(&c->out, (long long)function_count());
}

static void cmd_function_kill(client *c) { script_kill(c, 0); }

static void cmd_function_help(client *c) {
    static const char *const lines[] = {
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

int function_no_writes(const char *name, size_t len) {
    const fn_entry *fn = function_find(name, len);
    return fn && (fn->flags & SCRIPT_FLAG_NO_WRITES);
}

static void fcall_generic(client *c, int ro) {
    const fn_entry *fn = function_find(c->argv[1].ptr, c->argv[1].len);
    if (!fn) {
        reply_error(&c->out, "Function not found");
        return;
    }
    long long numkeys;
    if (!arg_ll_or_reply_msg(c, 2, &numkeys, "Bad number of keys provided")) return;
    if (numkeys > c->argc - 3) {
        reply_error(&c->out, "Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(&c->out, "Number of keys can't be negative");
        return;
    }
    if (propagate_wanted()) propagate_prevent(c);
    lua_State *L = fn_L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, fn->ref);
    char *name = xstrdup(fn->name); /* a FUNCTION command cannot run meanwhile, but keep our own */
    running_fn = fn;
    running_caller = c;
    running_start_ms = util_mstime();
    script_run(c, L, 0, name, fn->flags, ro, (int)numkeys, c->argv + 3, c->argc - 3 - (int)numkeys,
               c->argv + 3 + numkeys);
    running_fn = NULL;
    running_caller = NULL;
    free(name);
}

static void cmd_fcall(client *c) { fcall_generic(c, 0); }
static void cmd_fcall_ro(client *c) { fcall_generic(c, 1); }

size_t function_vm_memory(void) {
    return fn_L ? (size_t)lua_gc(fn_L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(fn_L, LUA_GCCOUNTB, 0) : 0;
}

size_t function_cache_memory(void) {
    size_t n = code_bytes;
    for (int i = 0; i < nlibs; i++) n += sizeof(fn_library) + sizeof(fn_entry) * (size_t)libs[i]->nfns;
    return n;
}

size_t function_count(void) {
    size_t n = 0;
    for (int i = 0; i < nlibs; i++) n += (size_t)libs[i]->nfns;
    return n;
}

size_t function_library_count(void) { return (size_t)nlibs; }

void function_free_all(void) { flush_all(); }

static const command_binding function_subcommands[] = {
    CMD("load", cmd_function_load),       CMD("delete", cmd_function_delete),
    CMD("flush", cmd_function_flush),     CMD("list", cmd_function_list),
    CMD("stats", cmd_function_stats),     CMD("kill", cmd_function_kill),
    CMD("help", cmd_function_help),       CMD("dump", cmd_function_dump),
    CMD("restore", cmd_function_restore), {0},
};

const command_binding function_commands[] = {
    CMD("function", NULL, function_subcommands),
    CMD("fcall", cmd_fcall),
    CMD("fcall_ro", cmd_fcall_ro),
    {0},
};
