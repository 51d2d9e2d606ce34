/* lazyfree.h: freeing big values and whole keyspaces a little at a time, so that
 * UNLINK, FLUSHALL ASYNC and lazy expiry/eviction reply at once and never stall the
 * loop (Redis's lazyfree.c, but in slices on the server's one thread: see lazyfree.c).
 *
 * What is queued is already detached: no key names it and no command can reach it, so
 * the only code that touches it afterwards is the job's own step. */
#ifndef RESPITE_LAZYFREE_H
#define RESPITE_LAZYFREE_H

#include <stddef.h>

#include "storage/type.h"

/* Values whose free_effort exceeds this are freed lazily (Redis's LAZYFREE_THRESHOLD). */
#define LAZYFREE_THRESHOLD 64

/* Which implicit deletions go lazily (lazyfree-lazy-expire, -eviction, -server-del); the
 * server copies its settings here. Explicit ones (UNLINK, DEL under lazyfree-lazy-user-del,
 * FLUSH* ASYNC) say so to storage per call. */
typedef struct lazyfree_config {
    int lazy_expire, lazy_eviction, lazy_server_del;
} lazyfree_config;
extern lazyfree_config lazyfree_cfg;

/* Progress reported by a job's step. */
typedef struct lazyfree_progress {
    size_t objects; /* pending objects the step accounted for */
    size_t bytes;   /* pending bytes it released */
} lazyfree_progress;

/* Queue a job: step(obj, units, p) frees up to about units allocations of obj, adds what
 * it freed to *p and returns 1 once obj is gone entirely (it is not called again).
 * objects and bytes are what obj holds: they count as pending until freed. */
void lazyfree_job_add(int (*step)(void *obj, size_t units, lazyfree_progress *p), void *obj, size_t objects,
                      size_t bytes);

/* Queue a detached value of type t holding bytes (its type's memory), counted as
 * objects pending objects (1, or 0 when the caller already counts it). */
void lazyfree_value(const value_type *t, void *value, size_t bytes, size_t objects);

/* Whether a value is worth freeing lazily: its type can measure the effort and it is
 * over LAZYFREE_THRESHOLD. */
int lazyfree_worth(const value_type *t, const void *value);

/* Called (if set) whenever a job is queued: the server schedules its slices. */
extern void (*lazyfree_queued_hook)(void);

/* Free queued work for up to budget_us microseconds (checked every few dozen
 * allocations). Returns 1 if work is left. */
int lazyfree_step(long long budget_us);
/* Free everything queued now (shut-down, tests). */
void lazyfree_drain(void);

/* INFO memory's lazyfree_pending_objects and INFO stats' lazyfreed_objects; the bytes
 * still held by queued work (part of used_memory until freed). */
size_t lazyfree_pending_objects(void);
long long lazyfree_freed_objects(void);
size_t lazyfree_pending_bytes(void);
/* Bytes freed by the queue since start-up. */
size_t lazyfree_freed_bytes(void);
/* CONFIG RESETSTAT: lazyfreed_objects back to 0. */
void lazyfree_reset_stats(void);

#endif
