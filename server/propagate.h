/* propagate.h: the propagation stream: every change to the keyspace, as commands that
 * replayed in order into an empty server rebuild the same dataset (what AOF and
 * replication will read). Redis 7.0's call()/alsoPropagate model:
 *
 *  - call_command compares storage_dirty before and after a command; a command that
 *    changed something is propagated as it was called, in the db it ran in;
 *  - a handler whose command would not replay the same (relative times, generated ids,
 *    reads with side effects) says how it must be replayed: propagate_replace (a new
 *    argv), propagate_add (more commands, before the command's own) and
 *    propagate_prevent (not its own argv);
 *  - keys removed by expiry or eviction are propagated as DEL (before the command that
 *    met them, if any);
 *  - what one top-level call propagates goes out together once it returns: wrapped in
 *    MULTI/EXEC when it is an EXEC or more than one command.
 *
 * All of it costs one branch per command while nobody subscribes: handlers test
 * propagate_wanted() before building anything. */
#ifndef RESPITE_PROPAGATE_H
#define RESPITE_PROPAGATE_H

#include "protocol/resp_parse.h"

struct client;
struct command;

/* Nonzero while someone subscribes to the stream. */
extern int propagate_on;
static inline int propagate_wanted(void) { return propagate_on; }

/* A subscriber receives each propagated command with the db it must run in (MULTI comes
 * with its first command's db, EXEC with its last one's, as Redis 7.0.15 propagates
 * them); argv is valid only during the call. */
typedef void propagate_fn(void *priv, int dbid, int argc, const resp_slice *argv);
int propagate_subscribe(propagate_fn *fn, void *priv); /* returns a handle */
void propagate_unsubscribe(int handle);

/* --- for handlers (call only when propagate_wanted()) --- */
/* Replay the current command as argv instead (copied; a later call replaces it). */
void propagate_replace(struct client *c, int argc, const resp_slice *argv);
/* Replay argv[i] of the current command as (p, len) (copied; builds on any replace). */
void propagate_rewrite_arg(struct client *c, int i, const char *p, size_t len);
/* Propagate another command in db dbid now (before the current command's own). */
void propagate_add(int dbid, int argc, const resp_slice *argv);
/* Do not propagate the current command's own argv (what it changed was added). */
void propagate_prevent(struct client *c);
/* Propagate the current command even if it changed nothing (FLUSHALL on empty dbs). */
void propagate_force(struct client *c);

/* While on (redis.set_repl(redis.REPL_NONE) in a script), commands run are not
 * propagated; deletions of expired keys still are. */
void propagate_suppress(int on);

/* A resp_slice of a string literal or a NUL-terminated string. */
#define PROP_STR(s) ((resp_slice){(char *)(s), sizeof(s) - 1})

/* --- for the dispatcher --- */
/* Run cmd->proc(c) with propagation (call_command does it when propagate_wanted()). */
void propagate_call(struct client *c, struct command *cmd);

/* The propagation-log setting: append the stream, as RESP with SELECT when the db changes,
 * to path (a test and debugging aid; the seam AOF will use). Returns 0 on error. */
int propagate_log_open(const char *path);
void propagate_log_close(void);

#endif
