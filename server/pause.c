/* pause.c: CLIENT PAUSE and UNPAUSE, as Redis 7.0's pauseClients.
 *
 * While a pause is on, the dispatcher (server/dispatch.c: one test of pause_mode per
 * command) asks pause_holds before a command is run or queued in MULTI, after every
 * check that could refuse it, so a refused command still gets its error at once, as in
 * Redis. A held command is copied, its client's further input waits in its query buffer
 * (c->blocked: INFO counts it in blocked_clients and CLIENT LIST shows flag b, as Redis
 * does), and the client joins a FIFO. ALL holds every command but QUIT, CLIENT UNPAUSE
 * from another client included (Redis 7.0 does too: only the timeout ends such a pause);
 * WRITE holds writes and what may replicate (Redis's may-replicate flag: PUBLISH,
 * SPUBLISH, PFCOUNT, EVAL/EVALSHA/FCALL unless the script declares no-writes), and EXEC
 * of a transaction holding one of them.
 *
 * The pause ends at its deadline (one libevent timer: a new PAUSE moves the end later,
 * never earlier, and the stricter mode stays until then) or at UNPAUSE: every held client
 * is resumed in FIFO order (client_resume: each goes on from its read callback, in the
 * order they were activated, starting with its held command, which goes through the
 * whole dispatcher again and may be held again by a new pause).
 *
 * While paused keys neither expire nor get evicted (storage_expiry_paused): an expired
 * key reads as missing but stays until the pause ends, as in Redis. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "server/net.h"
#include "server/script.h"
#include "server/server.h"

int pause_mode = PAUSE_OFF;
static long long pause_end_ms;
static struct event *pause_timer;
static client *held_head, *held_tail;

static void pause_timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    pause_end();
}

void pause_start(long long end_ms, int mode) {
    if (mode > pause_mode) pause_mode = mode;
    if (end_ms > pause_end_ms) pause_end_ms = end_ms;
    storage_expiry_paused = 1;
    if (!pause_timer) pause_timer = evtimer_new(server.base, pause_timer_cb, NULL);
    long long left = pause_end_ms - util_mstime();
    if (left < 0) left = 0;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
    evtimer_add(pause_timer, &tv);
}

static void held_unlink(client *c) {
    if (c->held_prev) c->held_prev->held_next = c->held_next;
    else held_head = c->held_next;
    if (c->held_next) c->held_next->held_prev = c->held_prev;
    else held_tail = c->held_prev;
    c->held_prev = c->held_next = NULL;
}

void pause_end(void) {
    if (pause_mode == PAUSE_OFF) return;
    pause_mode = PAUSE_OFF;
    pause_end_ms = 0;
    storage_expiry_paused = 0;
    if (pause_timer) {
        event_free(pause_timer); /* the server may be shutting down: keep nothing */
        pause_timer = NULL;
    }
    while (held_head) {
        client *c = held_head;
        held_unlink(c);
        c->blocked = 0;
        client_resume(c);
    }
}

/* Redis's is_may_replicate_command for one command: a write, or one flagged
 * may-replicate (a script only unless it declares no-writes). */
static int may_replicate(const command *cmd, int argc, const resp_slice *argv) {
    if (cmd->flags & CMD_WRITE) return 1;
    const char *n = cmd->fullname;
    if (!strcmp(n, "publish") || !strcmp(n, "spublish") || !strcmp(n, "pfcount")) return 1;
    if (!strcmp(n, "eval") || !strcmp(n, "evalsha")) return argc < 2 || !script_eval_no_writes(&argv[1], n[4] == 's');
    if (!strcmp(n, "fcall")) return argc < 2 || !function_no_writes(argv[1].ptr, argv[1].len);
    return 0;
}

int pause_holds(const client *c, const command *cmd) {
    if (!strcmp(cmd->fullname, "quit")) return 0; /* Redis answers QUIT before any check */
    if (pause_mode == PAUSE_ALL) return 1;
    if (multi_is_exec(cmd) && (c->flags & CLIENT_MULTI)) {
        for (int i = 0; i < c->mcount; i++)
            if (may_replicate(c->mstate[i].cmd, c->mstate[i].argc, c->mstate[i].argv)) return 1;
        return 0;
    }
    return may_replicate(cmd, c->argc, c->argv);
}

void pause_hold(client *c) {
    c->held_argv = argv_dup(c->argv, c->argc);
    c->held_argc = c->argc;
    c->blocked = 1;
    c->held_next = NULL;
    c->held_prev = held_tail;
    if (held_tail) held_tail->held_next = c;
    else held_head = c;
    held_tail = c;
}

void pause_run_held(client *c) {
    resp_slice *argv = c->held_argv;
    c->held_argv = NULL;
    c->argc = c->held_argc;
    c->argv = argv;
    process_command(c);
    c->argc = 0;
    c->argv = NULL;
    free(argv);
}

void pause_client_free(client *c) {
    if (!c->held_argv) return;
    if (c->blocked) held_unlink(c);
    free(c->held_argv);
    c->held_argv = NULL;
}
