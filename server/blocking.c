/* blocking.c: clients blocked on keys (XREAD/XREADGROUP BLOCK, BLPOP & co).
 *
 * A blocked client keeps a private copy of its command and sits, in arrival order, in
 * the list of every key it waits on (a keyindex). Any change to such a key — storage
 * reports every one as a keyspace event, to which we subscribe while anyone is blocked —
 * queues the key as ready (a flush or swap queues every waited key of the db); after the command
 * that changed it, blocking_handle_ready re-runs each waiting client's command in FIFO
 * order. A command that finds data replies and its client is unblocked; one that still
 * finds nothing calls block_for_keys again and keeps its place. So the first blocked is
 * served first, in the same loop turn as the write that satisfied it, and deleting the
 * key (or a group) gives the waiting command the chance to reply its own error.
 *
 * A re-run knows which key's change it serves (blocking_ready_key): Redis 7.0 serves a
 * list (or sorted-set) waiter from that key, not from its first non-empty key. A re-run
 * that finds the key empty says so (blocking_drained), and the waiters behind it of the
 * same command group are not re-run for that change: one push under 10,000 BLPOPs
 * serves the first and re-runs one more.
 *
 * Timeouts are per-client libevent timers (a min-heap): idle blocked clients cost no
 * CPU. While blocked, a client's further pipelined input waits in its query buffer; on
 * unblocking the client's read callback is activated to continue with it.
 *
 * CLIENT UNBLOCK ends a wait as its timeout does, or with an error reply
 * (blocking_unblock); either way the client's state goes as when it is served. A client
 * under CLIENT REPLY OFF/SKIP has the reply it is served dropped, and a SKIP ends then. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/command_table.h"
#include "server/keyindex.h"
#include "server/net.h"
#include "server/server.h"

typedef struct blocked_state {
    int argc;
    resp_slice *argv; /* private copy of the blocking command */
    command *cmd;
    db *db;
    kindex_node *nodes;  /* one per key, linked by cnext */
    struct event *timer; /* NULL when blocking forever */
    int retry;           /* re-running the command now */
    int reblocked;       /* the re-run asked to keep waiting */
    int pool;            /* argv index of the pool name (block_for_keys), or 0 */
    kindex_entry *ready; /* the key whose change this re-run serves */
    int drained;         /* the re-run found nothing on that key for its kind */
} blocked_state;

static keyindex waiting;                      /* (db, key) -> blocked clients, FIFO */
static kindex_entry *ready_head, *ready_tail; /* keys changed since the last service */
static int nblocked;

int blocking_count(void) { return nblocked; }
int blocking_active(void) { return nblocked != 0; }
int blocking_is_retry(const client *c) { return c->bstate && ((blocked_state *)c->bstate)->retry; }

static void blocking_key_event(void *priv, const db_event *ev) {
    (void)priv;
    blocking_touch(db_id(ev->d), ev->key, ev->klen);
}

static int block_sub = -1; /* our db_subscribe handle while anyone is blocked */

static void blocking_update_subscription(void) {
    if (nblocked && block_sub < 0) {
        block_sub = db_subscribe(blocking_key_event, NULL);
    } else if (!nblocked && block_sub >= 0) {
        db_unsubscribe(block_sub);
        block_sub = -1;
    }
}

static void queue_ready(void *priv, kindex_entry *e) {
    (void)priv;
    if (e->flag) return;
    e->flag = 1;
    e->rnext = NULL;
    if (ready_tail) ready_tail->rnext = e;
    else ready_head = e;
    ready_tail = e;
}

void blocking_touch(int dbid, const char *key, size_t klen) {
    if (!key) {
        keyindex_foreach_db(&waiting, dbid, queue_ready, NULL);
        return;
    }
    kindex_entry *e = keyindex_find(&waiting, dbid, key, klen);
    if (e) queue_ready(NULL, e);
}

/* Take c out of every key list and free its state; its input processing resumes. */
static void unblock(client *c) {
    blocked_state *b = c->bstate;
    kindex_node *n = b->nodes, *next;
    for (; n; n = next) {
        next = n->cnext;
        keyindex_remove(&waiting, n);
    }
    if (b->timer) event_free(b->timer);
    free(b->argv);
    free(b);
    c->bstate = NULL;
    c->blocked = 0;
    nblocked--;
    blocking_update_subscription();
}

int blocking_unblock(client *c, const char *error) {
    blocked_state *b = c->bstate;
    if (!b || b->retry) return 0;
    if (c->bs_head) client_bcast_materialize(c); /* its reply goes after what it was sent */
    int mode = c->flags & CLIENT_REPLY_ANY;
    if (mode) client_reply_begin(c);
    if (error) reply_error(&c->out, error);
    else reply_null_array(&c->out);
    unblock(c);
    if (mode) client_reply_end(c);
    client_resume(c);
    return 1;
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    blocking_unblock(arg, NULL);
}

void block_for_keys(client *c, const resp_slice *keys, int nkeys, long long timeout_ms, int pool_arg) {
    if (c->flags & (CLIENT_EXECUTING_EXEC | CLIENT_SCRIPT)) {
        reply_null_array(&c->out);
        return;
    }
    if (c->bstate) { /* a re-run that found nothing: keep waiting in place */
        ((blocked_state *)c->bstate)->reblocked = 1;
        return;
    }
    blocked_state *b = xcalloc(1, sizeof(*b));
    b->argc = c->argc;
    b->argv = argv_dup(c->argv, c->argc);
    b->cmd = c->cmd;
    b->db = c->db;
    b->pool = pool_arg;
    for (int i = 0; i < nkeys; i++) {
        int dup = 0;
        for (kindex_node *n = b->nodes; n && !dup; n = n->cnext)
            dup = n->entry->klen == keys[i].len && !memcmp(n->entry->key, keys[i].ptr, keys[i].len);
        if (dup) continue;
        kindex_node *n = keyindex_add(&waiting, db_id(c->db), keys[i].ptr, keys[i].len, c);
        n->cnext = b->nodes;
        b->nodes = n;
    }
    if (timeout_ms > 0) {
        long long left = timeout_ms - util_mstime();
        if (left < 0) left = 0;
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
        b->timer = evtimer_new(server.base, timeout_cb, c);
        evtimer_add(b->timer, &tv);
    }
    c->bstate = b;
    c->blocked = 1;
    nblocked++;
    blocking_update_subscription();
}

/* Re-run c's blocked command; unblock it if it replied. Returns 1 if it still waits. */
static int retry_blocked(client *c, kindex_entry *ready) {
    blocked_state *b = c->bstate;
    b->ready = ready;
    b->drained = 0;
    int argc = c->argc;
    resp_slice *argv = c->argv;
    db *olddb = c->db;
    command *oldcmd = c->cmd;
    c->argc = b->argc;
    c->argv = b->argv;
    c->db = b->db;
    b->retry = 1;
    b->reblocked = 0;
    int mode = c->flags & CLIENT_REPLY_ANY;
    if (mode) client_reply_begin(c);
    call_command(c, b->cmd);
    b->retry = 0;
    c->argc = argc;
    c->argv = argv;
    c->db = olddb;
    c->cmd = oldcmd;
    if (!b->reblocked) {
        unblock(c);
        if (mode) client_reply_end(c);
        client_resume(c);
        return 0;
    }
    return 1;
}

void blocking_handle_ready(void) {
    while (ready_head) {
        kindex_entry *e = ready_head;
        ready_head = e->rnext;
        if (!ready_head) ready_tail = NULL;
        /* Serve in FIFO order. A served client leaves the list (and may have been the
         * last node); the flag keeps e alive until we are done with it. Clients that
         * re-block stay; stop after one pass over the clients present now. */
        size_t todo = e->n;
        kindex_node *n = e->head;
        /* Pools (XREADGROUP's groups) whose client found nothing new on this key in this
         * pass: the pool's other clients would find nothing either, so they keep
         * waiting without a re-run (one XADD under 1,000 workers of a group re-ran
         * 1,000 commands). A few distinct pools per key are remembered. */
        char empty[4][64];
        size_t empty_len[4];
        int nempty = 0;
        /* Likewise kinds of command (by group: "list", "sorted-set") whose client
         * reported the key drained (blocking_drained): one LPUSH under 10,000 BLPOPs
         * serves the first and re-runs no other. */
        const char *drained[4];
        int ndrained = 0;
        while (n && todo--) {
            kindex_node *next = n->next;
            client *c = n->c;
            blocked_state *b = c->bstate;
            const resp_slice *g = b->pool ? &b->argv[b->pool] : NULL;
            const char *group = b->cmd->meta && b->cmd->meta->group ? b->cmd->meta->group : "";
            int skip = 0;
            for (int i = 0; g && i < nempty && !skip; i++)
                skip = empty_len[i] == g->len && !memcmp(empty[i], g->ptr, g->len);
            for (int i = 0; i < ndrained && !skip; i++) skip = !strcmp(drained[i], group);
            if (!skip && retry_blocked(c, e)) {
                if (b->drained && ndrained < 4) drained[ndrained++] = group;
                if (g && g->len <= sizeof(empty[0]) && nempty < 4) {
                    memcpy(empty[nempty], g->ptr, g->len);
                    empty_len[nempty++] = g->len;
                }
            }
            n = next;
        }
        e->flag = 0;
        keyindex_drop_if_empty(&waiting, e);
    }
}

const char *blocking_ready_key(const client *c, size_t *len) {
    const blocked_state *b = c->bstate;
    if (!b || !b->retry || !b->ready) return NULL;
    *len = b->ready->klen;
    return b->ready->key;
}

void blocking_drained(client *c) {
    blocked_state *b = c->bstate;
    if (b && b->retry) b->drained = 1;
}

void blocking_client_free(client *c) {
    if (c->bstate) unblock(c);
}
