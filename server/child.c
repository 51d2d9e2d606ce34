/* child.c: one forked child at a time (server/child.h). The child resets the signals the
 * parent handles through the event loop (SIGTERM, SIGINT, SIGCHLD, SIGHUP) to their
 * defaults, so a kill ends it. It touches nothing the parent's loop owns: no libevent
 * call (the epoll instance is shared after fork), and the listeners stay as they are
 * (net_close_listeners would also unlink the parent's Unix socket). */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/child.h"
#include "server/server.h"

int child_is_child;

static struct {
    int kind;
    pid_t pid;
    long long start_ms;
    child_done_fn *done;
    void *priv;
} cur = {CHILD_NONE, -1, 0, NULL, NULL};

static struct event *sigchld_event;

static void sigchld_cb(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    (void)arg;
    child_check();
}

int child_init(void) {
    sigchld_event = evsignal_new(server.base, SIGCHLD, sigchld_cb, NULL);
    return sigchld_event && event_add(sigchld_event, NULL) == 0;
}

void child_free(void) {
    if (sigchld_event) event_free(sigchld_event);
    sigchld_event = NULL;
}

pid_t child_start(int kind, int (*fn)(void *arg), void *arg, child_done_fn *done, void *done_priv) {
    if (cur.kind != CHILD_NONE) {
        errno = EBUSY;
        return -1;
    }
    long long start = util_monotonic_us() / 1000;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        child_is_child = 1;
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGUSR1, SIG_DFL);
        /* The child yields the CPU to the serving parent when they share one (a pinned
         * server's child inherits its CPU): clients' latency over the save's speed. */
        errno = 0;
        int prio = getpriority(PRIO_PROCESS, 0);
        if (errno == 0 && prio < 10) setpriority(PRIO_PROCESS, 0, prio + 10 > 19 ? 19 : prio + 10);
        _exit(fn(arg));
    }
    cur.kind = kind;
    cur.pid = pid;
    cur.start_ms = start;
    cur.done = done;
    cur.priv = done_priv;
    return pid;
}

int child_active(void) { return cur.kind; }
pid_t child_pid(void) { return cur.kind != CHILD_NONE ? cur.pid : -1; }
long long child_start_ms(void) { return cur.start_ms; }

static void child_finish(int status) {
    child_result r = {cur.kind, cur.pid, 0, 0, util_monotonic_us() / 1000 - cur.start_ms};
    if (WIFSIGNALED(status)) r.bysignal = WTERMSIG(status);
    else if (WIFEXITED(status)) r.exitcode = WEXITSTATUS(status);
    else r.exitcode = 1;
    child_done_fn *done = cur.done;
    void *priv = cur.priv;
    cur.kind = CHILD_NONE;
    cur.pid = -1;
    cur.done = NULL;
    cur.priv = NULL;
    if (done) done(&r, priv);
}

void child_check(void) {
    if (cur.kind == CHILD_NONE) return;
    int status = 0;
    pid_t p = waitpid(cur.pid, &status, WNOHANG);
    if (p == cur.pid) child_finish(status);
    else if (p < 0 && errno == ECHILD) child_finish(1 << 8); /* gone without a trace: a failure */
}

void child_kill(void) {
    if (cur.kind == CHILD_NONE) return;
    kill(cur.pid, SIGUSR1);
    int status = 0;
    pid_t p;
    do p = waitpid(cur.pid, &status, 0);
    while (p < 0 && errno == EINTR);
    child_finish(p == cur.pid ? status : 1 << 8);
}
