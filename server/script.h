/* script.h: the Lua engine behind EVAL and FUNCTION (server/script.c): sandboxed Lua
 * 5.1 states with the `redis` object, the conversions between Redis replies and Lua
 * values, one script run at a time with Redis 7.0's checks, error texts and busy
 * handling. EVAL/EVALSHA/SCRIPT live in script.c, FUNCTION/FCALL in server/function.c. */
#ifndef RESPITE_SCRIPT_H
#define RESPITE_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

struct lua_State;

/* Script flags, from the `#!lua flags=...` shebang (and function registration). */
#define SCRIPT_FLAG_NO_WRITES        (1u << 0)
#define SCRIPT_FLAG_ALLOW_OOM        (1u << 1)
#define SCRIPT_FLAG_ALLOW_STALE      (1u << 2)
#define SCRIPT_FLAG_NO_CLUSTER       (1u << 3)
#define SCRIPT_FLAG_ALLOW_CROSS_SLOT (1u << 4)
#define SCRIPT_FLAG_EVAL_COMPAT      (1u << 5) /* an EVAL script without a shebang */

/* The flag named (len bytes), or 0 if there is none by that name. */
uint32_t script_flag_by_name(const char *name, size_t len);
/* Visit the names of the flags set in flags, in Redis's order. */
void script_flags_foreach(uint32_t flags, void (*fn)(void *priv, const char *name), void *priv);

/* A sandboxed state: the libraries Redis gives scripts, the `redis` object, globals
 * protected. functions: the state FUNCTION libraries run in (redis.register_function
 * instead of KEYS/ARGV). Freed with lua_close. */
struct lua_State *script_lua_new(int functions);

/* Run the function on top of L's stack for client c and reply to c (its value, or the
 * error with Redis's "script: <name>, on <source>:<line>." decoration). eval: EVAL
 * semantics (KEYS and ARGV globals, SCRIPT KILL) or FCALL's (keys and args as the two
 * arguments, FUNCTION KILL). ro: EVAL_RO/EVALSHA_RO/FCALL_RO. The function is popped. */
void script_run(client *c, struct lua_State *L, int eval, const char *name, uint32_t flags, int ro, int nkeys,
                const resp_slice *keys, int nargs, const resp_slice *args);

/* Is a script running past busy-reply-threshold (others get -BUSY)? */
int script_busy(void);
/* The -BUSY text for commands refused meanwhile. */
const char *script_busy_error(void);
/* SCRIPT KILL (eval 1) or FUNCTION KILL (eval 0): replies to c. */
void script_kill(client *c, int eval);
/* SHUTDOWN NOSAVE during a busy script: stop it now, whatever it wrote. */
void script_abort_for_shutdown(void);
/* Is a script (busy or not) running now? */
int script_running(void);
/* The client whose script is running, or NULL. */
client *script_caller(void);
/* When the running script started (ms): the time its commands see. */
long long script_snapshot_ms(void);
/* Parse a body's `#!lua ...` line as Redis's evalExtractShebangFlags: *flags (EVAL's
 * compat flag when there is none; functions: name= is accepted) and *skip, the
 * shebang's length (the code compiled starts at its newline, so lines keep their
 * numbers). Returns 0 with err filled on bad input. */
int script_parse_shebang(const char *body, size_t len, uint32_t *flags, size_t *skip, char *err, size_t errsize,
                         int functions);
/* CLIENT PAUSE WRITE: does the script of EVAL (arg: its body) or EVALSHA (arg: its sha)
 * declare no-writes (cached, or in the body's shebang)? Does function name? */
int script_eval_no_writes(const resp_slice *arg, int sha);
int function_no_writes(const char *name, size_t len);
/* Add the function engine's members to the `redis` table on top of L's stack
 * (server/function.c: register_function). */
void function_lua_extend(struct lua_State *L);

/* INFO memory: the EVAL state's Lua heap, the cached scripts' bytes and count. */
size_t script_eval_vm_memory(void);
size_t script_eval_cache_memory(void);
size_t script_eval_count(void);
/* The function engine's figures (server/function.c). */
size_t function_vm_memory(void);
size_t function_cache_memory(void);
size_t function_count(void);
size_t function_library_count(void);
/* Register a library from its code (FUNCTION LOAD [REPLACE], RDB loading): its name, or
 * NULL with the error text in err. */
const char *function_load_code(const char *code, size_t len, int replace, char *err, size_t errsize);
/* Every library's code, in load order (RDB saving). */
void function_foreach_code(void (*fn)(void *priv, const char *code, size_t len), void *priv);

/* For fuzzers, whose clock does not run during a script: stop any script after this
 * many count-hook calls (100000 instructions each) as if killed. 0: never. */
extern long long script_hook_budget;

/* Release everything (shutdown). */
void script_free_all(void);
void function_free_all(void);

#endif
