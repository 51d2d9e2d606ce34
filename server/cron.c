/* cron.c: the server's periodic work, run hz times a second by respite-server's timer
 * (and by the command fuzzer directly): active expiry in short slices, incremental
 * rehashing, lazy freeing in slices of its own, idle-client timeouts and the clients' memory count, eviction while over
 * maxmemory, and the ops/sec sample. The caller refreshes the cached clock first. */
#include <event2/event.h>

#include "common/alloc.h"
#include "server/aof.h"
#include "server/child.h"
#include "server/net.h"
#include "server/persist.h"
#include "server/server.h"
#include "server/tracking.h"
#include "storage/lazyfree.h"

/* Active expiry runs in slices of EXPIRE_SLICE_US so that a command never waits behind
 * more than one slice (Redis's slow cycle takes 25 ms at once). While slices end with
 * expired keys left, they follow one another through a zero-delay timer, so the clients'
 * I/O is served between them, until expiry has used its share of the current
 * EXPIRE_WINDOW_US window; then the next slice waits for the next window. The share is
 * 60% of a CPU at active-expire-effort 1 (+4% per step): about what Redis's slow cycle
 * (25%) plus its fast cycles (1 ms at most every 2 ms) spend in a mass expiry. With
 * nothing to reclaim, expiry is one slice per timer tick. Without server_cron_init (the
 * fuzzer) there is no follow-up timer: one slice per server_cron. */
#define EXPIRE_SLICE_US  500
#define EXPIRE_WINDOW_US 10000
static struct event *expire_event;
static long long expire_window_start, expire_window_used;

static void expire_slice(void) {
    if (server.active_expire_disabled) return;
    long long t0 = util_monotonic_us();
    if (t0 - expire_window_start >= EXPIRE_WINDOW_US) {
        expire_window_start = t0;
        expire_window_used = 0;
    }
    db_active_expire(server.dbs, server.dbnum, EXPIRE_SLICE_US);
    /* Keys active expiry removed may have clients blocked on them: Redis answers those
     * in the same cycle, not when some client next sends a command. */
    if (blocking_active()) blocking_handle_ready();
    if (!expire_event || !db_active_expire_unfinished()) return;
    long long now = util_monotonic_us();
    expire_window_used += now - t0;
    long long share = EXPIRE_WINDOW_US * (60 + 4 * (server.cfg.active_expire_effort - 1)) / 100;
    struct timeval next = {0, 0};
    if (expire_window_used >= share) next.tv_usec = (suseconds_t)(expire_window_start + EXPIRE_WINDOW_US - now);
    if (next.tv_usec < 0) next.tv_usec = 0;
    evtimer_add(expire_event, &next);
}

static void expire_slice_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    server.mstime_cached = util_mstime();
    storage_now_ms = server.mstime_cached;
    expire_slice();
}

/* Lazy freeing (storage/lazyfree.c) runs in slices of LAZYFREE_SLICE_US, LAZYFREE_GAP_US
 * apart, from the moment a job is queued until the queue is empty: a client's command
 * waits behind at most one slice, and the loop, idle half the time, keeps the scheduler's
 * wake-up preference on a busy machine (BENCHMARKS.md: back-to-back slices doubled the
 * 99.9th-percentile PING there). Without server_cron_init
 * (the fuzzer), one slice per server_cron. When the queue empties after freeing
 * LAZYFREE_PURGE_BYTES or more, the allocator gives its free pages back
 * (common/alloc.h), as after a synchronous FLUSHALL. */
#define LAZYFREE_SLICE_US    1000
#define LAZYFREE_GAP_US      1000
#define LAZYFREE_PURGE_BYTES (16 * 1024 * 1024)
static struct event *lazyfree_event;
static size_t lazyfree_purged_at; /* lazyfree_freed_bytes() at the last purge */

static void lazyfree_slice(void) {
    if (lazyfree_step(LAZYFREE_SLICE_US)) {
        if (lazyfree_event) {
            struct timeval gap = {0, LAZYFREE_GAP_US};
            evtimer_add(lazyfree_event, &gap);
        }
    } else if (lazyfree_freed_bytes() - lazyfree_purged_at >= LAZYFREE_PURGE_BYTES) {
        lazyfree_purged_at = lazyfree_freed_bytes();
        alloc_purge();
    }
}

static void lazyfree_slice_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    lazyfree_slice();
}

static void lazyfree_queued(void) {
    if (!evtimer_pending(lazyfree_event, NULL)) {
        struct timeval zero = {0, 0};
        evtimer_add(lazyfree_event, &zero);
    }
}

int server_cron_init(void) {
    expire_event = evtimer_new(server.base, expire_slice_cb, NULL);
    lazyfree_event = evtimer_new(server.base, lazyfree_slice_cb, NULL);
    if (lazyfree_event) lazyfree_queued_hook = lazyfree_queued;
    return expire_event != NULL && lazyfree_event != NULL;
}

/* Called after the dbs are destroyed: what is still queued is freed now. */
void server_cron_free(void) {
    if (expire_event) event_free(expire_event);
    expire_event = NULL;
    lazyfree_queued_hook = NULL;
    lazyfree_drain();
    if (lazyfree_event) event_free(lazyfree_event);
    lazyfree_event = NULL;
}

void server_cron(void) {
    child_check();
    aof_cron();
    persist_cron();
    if (!expire_event || !evtimer_pending(expire_event, NULL)) expire_slice();
    if (!lazyfree_event) lazyfree_slice();
    if (server.cfg.activerehashing)
        for (int i = 0; i < server.dbnum; i++) db_rehash_step(server.dbs[i], 1000);
    net_clients_cron();
    if (tracking_clients) tracking_limit_keys();
    server_evict_cron();
    if (blocking_active()) blocking_handle_ready(); /* keys eviction removed */

    long long dt = server.mstime_cached - server.ops_sample_time;
    if (dt >= 1000 || server.ops_sample_time == 0) {
        if (server.ops_sample_time) {
            server.instantaneous_ops = (server.stat_numcommands - server.ops_sample_count) * 1000 / dt;
            server.instantaneous_input_kbps =
                (double)(server.stat_net_input_bytes - server.ops_sample_net_in) * 1000 / (double)dt / 1024;
            server.instantaneous_output_kbps =
                (double)(server.stat_net_output_bytes - server.ops_sample_net_out) * 1000 / (double)dt / 1024;
        }
        server.ops_sample_time = server.mstime_cached;
        server.ops_sample_count = server.stat_numcommands;
        server.ops_sample_net_in = server.stat_net_input_bytes;
        server.ops_sample_net_out = server.stat_net_output_bytes;
    }
}
