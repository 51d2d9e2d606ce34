/* aof.h: the append-only file, in Redis 7.0's multi-part layout: a directory
 * (appenddirname) holding a manifest (<appendfilename>.manifest), one base file (an RDB
 * snapshot, <appendfilename>.<seq>.base.rdb, or commands, .base.aof) and the incr files
 * (.incr.aof) that the propagation stream (server/propagate.h) is appended to.
 *
 * Durability: what commands propagate is buffered and written to the current incr file
 * before any reply goes out (net.c asks aof_reply_barrier), so a reply never
 * acknowledges a write the process has not handed to the kernel. With appendfsync always
 * the write is also fdatasync'd first; with everysec a background thread fsyncs at most
 * once a second; with no, the kernel decides.
 *
 * BGREWRITEAOF forks a child (server/child.h) that writes a new base file; the parent
 * opens a new incr file at that moment, so the child's snapshot plus the new incr file
 * are the whole dataset, and when the child succeeds the manifest is replaced
 * atomically and the files before it deleted. */
#ifndef RESPITE_AOF_H
#define RESPITE_AOF_H

#include <stddef.h>

struct client;
struct command;

/* Bytes propagated since the last attempt to write the buffer. */
extern size_t aof_unflushed;

/* Nonzero while replies must wait for aof_flush_for_replies. After a failed write
 * replies go out (as in Redis, the data is in memory and the write is retried). */
static inline int aof_reply_barrier(void) { return aof_unflushed != 0; }
/* Write the buffer (and fdatasync it under appendfsync always). */
void aof_flush_for_replies(void);

/* At start-up, once the dbs, types and commands exist: check the settings, load the
 * AOF if appendonly is yes (exit(1) with a logged reason if it cannot be loaded), open
 * the incr file (creating the base file first if there is none) and start appending.
 * Returns 0 on a fatal error (logged). */
int aof_init(void);
/* Before a shutdown, Redis's finishShutdown step for the AOF: refuses (-1) while the
 * first base file after CONFIG SET appendonly yes is still being written, unless force;
 * otherwise kills a rewrite child (the AOF already holds the whole dataset). */
int aof_prepare_shutdown(int force);

/* On shutdown: write and fsync what is buffered, stop the fsync thread. */
void aof_shutdown(void);
/* From server_cron: background fsync once a second, retrying a failed write, scheduled
 * and automatic rewrites. */
void aof_cron(void);

/* CONFIG SET appendonly: turn the AOF on (a rewrite writes the base file first, as
 * Redis) or off. Returns 1, or 0 with *err set. */
int aof_set_enabled(int on, const char **err);

/* The MISCONF error text while AOF writes are failing (write commands are refused), or
 * NULL. */
const char *aof_write_error(void);

/* INFO persistence: the aof_* fields from aof_enabled to aof_last_cow_size, and those
 * Redis adds after module_fork_last_cow_size while the AOF is on (else ""). */
void aof_info(char *buf, size_t size);
void aof_info_tail(char *buf, size_t size);

#endif
