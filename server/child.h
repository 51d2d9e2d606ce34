/* child.h: the one forked child process at a time (BGSAVE, BGREWRITEAOF), as Redis 7.0
 * runs them: a second fork is refused while one child lives. The child runs a function
 * on the copy-on-write image of the server and _exit()s with its return value; the
 * parent keeps serving, reaps the child from server_cron (or at once on SIGCHLD, through
 * the event loop) and reports how it ended to the callback given at the start.
 *
 * Lifetime: child_init once the event base exists (it watches SIGCHLD); child_kill on
 * shutdown (and by FLUSHALL/BGSAVE's callers that must abort a child) kills and reaps
 * it, calling the callback with bysignal set. */
#ifndef RESPITE_CHILD_H
#define RESPITE_CHILD_H

#include <sys/types.h>

/* What a child is for (Redis's CHILD_TYPE_*). */
enum { CHILD_NONE = 0, CHILD_RDB = 1, CHILD_AOF = 2 };

/* How a child ended: exitcode is its _exit status (0 = success) when bysignal is 0;
 * otherwise bysignal is the signal that ended it (SIGUSR1 when child_kill ended it on
 * purpose, as Redis uses SIGUSR1 to tell "killed by us" from a crash). duration_ms is
 * wall time from the fork to the reap. */
typedef struct child_result {
    int kind;
    pid_t pid;
    int exitcode;
    int bysignal;
    long long duration_ms;
} child_result;

typedef void child_done_fn(const child_result *r, void *priv);

/* Watch SIGCHLD on the server's event base. Returns 0 on failure. */
int child_init(void);
void child_free(void);

/* Fork a child of the given kind that runs fn(arg) and exits with its return value
 * (the child never returns here). done(result, done_priv) is called in the parent once
 * the child is reaped. Returns the child's pid, or -1 with errno set: EBUSY if a child
 * is already active, or fork's error. */
pid_t child_start(int kind, int (*fn)(void *arg), void *arg, child_done_fn *done, void *done_priv);

/* The kind of the active child (CHILD_NONE if there is none), its pid (-1) and when it
 * started (monotonic ms, for INFO's *_current_*_time_sec). */
int child_active(void);
pid_t child_pid(void);
long long child_start_ms(void);

/* Reap the child if it has ended, calling its callback; a no-op otherwise. server_cron
 * calls it; so does the SIGCHLD event. */
void child_check(void);

/* Kill the active child (SIGUSR1) and wait for it, calling its callback. A no-op with no
 * child. */
void child_kill(void);

/* In the child: 1 (a helper may use it to skip work that only the parent does). */
extern int child_is_child;

#endif
