/* net.c: connections on the libevent loop. Each client has a plain read event and a
 * write event (armed only while output is pending). A read appends to the client's query
 * buffer, every complete command in it is parsed in place and executed, the consumed
 * prefix is dropped once per batch, and the batch's replies go out in one writev.
 *
 * Backpressure: while a client's unsent output is over OUT_HIGH_WATER, its remaining
 * commands wait in the query buffer and its read event is removed; the write event
 * resumes it once the output drops below OUT_LOW_WATER. So a client that never reads
 * costs bounded memory and never stalls the loop (sockets are non-blocking).
 *
 * Clients are freed only from their own callbacks or from the timer, never while a
 * command of theirs runs: elsewhere, CLIENT_CLOSE_ASAP plus event_active defers it.
 *
 * With io-uring yes (probed at start-up), a batch's reply is not written at once: the
 * client keeps its lent reply buffer and waits in a list, and one event run after the loop
 * iteration's other callbacks sends every listed client's reply with one io_uring_enter,
 * then finishes each client as a direct write would have (what is left waits for the write
 * event). */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "server/acl.h"
#include "server/aof.h"
#include "server/net.h"
#include "server/pubsub.h"
#include "server/server.h"
#include "server/tracking.h"

#define QBUF_MIN             (16 * 1024)
#define OUT_HIGH_WATER       (4 * 1024 * 1024)
#define OUT_LOW_WATER        (1 * 1024 * 1024)
#define MAX_ACCEPTS_PER_CALL 1000

static void client_read_cb(evutil_socket_t fd, short what, void *arg);
static void client_write_cb(evutil_socket_t fd, short what, void *arg);
static void client_process_input(client *c);
static void client_after_read(client *c, ssize_t n);
static int client_after_batch(client *c);

/* One query buffer and one reply buffer shared by all connections: a client reads into
 * the first and replies into the second for the length of one read batch, and keeps a
 * buffer of its own only for what is left over (a partial command, unsent output). So
 * an idle connection holds neither, and the hot buffers stay in cache. Each is lent to
 * at most one client at a time (a batch never runs inside another's). */
static char shared_qbuf[QBUF_MIN];
static char shared_out[REPLY_BUF_SIZE];
static client *qbuf_holder, *out_holder;

/* io-uring yes: clients waiting with their reply for the end of the loop iteration (each
 * keeps its lent buffer, so more buffers are lent from a pool meanwhile). */
#define URING_ENTRIES  256
#define URING_POOL_MAX 256
static struct io_uring ring;
static int uring_on, uring_flushing;
static client **uring_held;
static int uring_nheld, uring_heldcap;
static struct event *uring_ev;
static char *out_pool[URING_POOL_MAX];
static int out_pool_n, out_pool_lent;

/* A reply buffer to lend: the shared one, or with io-uring one from the pool. */
static void out_lend(client *c) {
    if (c->out.lent || c->out.buf || c->out.head) return;
    if (!out_holder) {
        if (reply_lend(&c->out, shared_out)) out_holder = c;
        return;
    }
    if (!uring_on || out_pool_lent >= URING_POOL_MAX) return;
    char *b = out_pool_n ? out_pool[--out_pool_n] : xmalloc(REPLY_BUF_SIZE);
    reply_lend(&c->out, b);
    out_pool_lent++;
}

/* c's lent buffer (if from the pool) goes back to the pool; its contents are handled by
 * the caller. */
static void out_pool_return(client *c) {
    if (!c->out.lent || c->out.buf == shared_out) return;
    out_pool[out_pool_n++] = c->out.buf;
    out_pool_lent--;
}

/* The query buffer goes back after a batch: a remainder moves to a buffer of c's own; an
 * own buffer that is empty is freed. */
static void qbuf_give_back(client *c) {
    if (c->qbuf == shared_qbuf) {
        qbuf_holder = NULL;
        char *own = NULL;
        if (c->qlen) {
            own = xmalloc(QBUF_MIN);
            memcpy(own, c->qbuf, c->qlen);
        }
        c->qbuf = own;
        c->qcap = own ? QBUF_MIN : 0;
    } else if (c->qbuf && c->qlen == 0) {
        free(c->qbuf);
        c->qbuf = NULL;
        c->qcap = 0;
    }
}

static void out_give_back(client *c, int fit) {
    if (c->flags & CLIENT_URING_HELD) return; /* the buffer is to be sent yet */
    if (out_holder == c) {
        if (fit) reply_unlend_fit(&c->out);
        else reply_unlend(&c->out);
        out_holder = NULL;
    } else if (c->out.lent) {
        char *b = c->out.buf;
        if (fit) reply_unlend_fit(&c->out);
        else reply_unlend(&c->out);
        out_pool[out_pool_n++] = b;
        out_pool_lent--;
    }
    reply_release_idle(&c->out);
}

size_t client_own_buffers(const client *c) {
    return (c->qbuf == shared_qbuf ? 0 : c->qcap) + (c->out.lent ? 0 : c->out.cap) + resp_parser_memory(&c->parser);
}

size_t client_query_len(const client *c) { return c->qlen + (c->parser.big ? c->parser.big_fill : 0); }

size_t client_query_free(const client *c) {
    const resp_parser *p = &c->parser;
    return (c->qcap - c->qlen) + (p->big ? (size_t)p->bulklen + 2 - p->big_fill : 0);
}

/* ---- output ---- */

/* Replies held for the AOF: a batch whose commands propagated something waits until
 * the AOF buffer is written (server/aof.h), and the clients of one loop iteration share
 * that write: client_after_batch holds them here and one event, run after the
 * iteration's other callbacks, writes the AOF and then their replies. */
static client **aof_held, **aof_running; /* held; being let go (kept for reuse) */
static int aof_nheld, aof_heldcap, aof_nrunning, aof_runcap;
static struct event *aof_held_ev;

static void aof_held_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    while (aof_nheld) {
        aof_flush_for_replies();
        client **list = aof_held;
        int cap = aof_heldcap;
        aof_held = aof_running;
        aof_heldcap = aof_runcap;
        aof_running = list;
        aof_runcap = cap;
        aof_nrunning = aof_nheld;
        aof_nheld = 0;
        for (int i = 0; i < aof_nrunning; i++) {
            client *c = aof_running[i];
            if (!c) continue; /* freed meanwhile */
            c->flags &= ~CLIENT_AOF_HELD;
            aof_running[i] = NULL;
            client_after_batch(c);
        }
        aof_nrunning = 0;
    }
}

static void aof_hold(client *c) {
    if (c->flags & CLIENT_AOF_HELD) return;
    if (!aof_held_ev) aof_held_ev = event_new(server.base, -1, 0, aof_held_cb, NULL);
    if (aof_nheld == aof_heldcap) {
        aof_heldcap = aof_heldcap ? aof_heldcap * 2 : 16;
        aof_held = xrealloc(aof_held, sizeof(*aof_held) * (size_t)aof_heldcap);
    }
    aof_held[aof_nheld++] = c;
    c->flags |= CLIENT_AOF_HELD;
    if (aof_nheld == 1) event_active(aof_held_ev, EV_WRITE, 1);
}

static void aof_unhold(client *c) {
    if (!(c->flags & CLIENT_AOF_HELD)) return;
    for (int i = 0; i < aof_nheld; i++)
        if (aof_held[i] == c) aof_held[i] = NULL;
    for (int i = 0; i < aof_nrunning; i++)
        if (aof_running[i] == c) aof_running[i] = NULL;
    c->flags &= ~CLIENT_AOF_HELD;
}

static void uring_hold(client *c) {
    if (c->flags & CLIENT_URING_HELD) return;
    if (uring_nheld == uring_heldcap) {
        uring_heldcap = uring_heldcap ? uring_heldcap * 2 : 64;
        uring_held = xrealloc(uring_held, sizeof(*uring_held) * (size_t)uring_heldcap);
    }
    uring_held[uring_nheld++] = c;
    c->flags |= CLIENT_URING_HELD;
    if (uring_nheld == 1) event_active(uring_ev, EV_WRITE, 1);
}

static void uring_unhold(client *c) {
    if (!(c->flags & CLIENT_URING_HELD)) return;
    for (int i = 0; i < uring_nheld; i++)
        if (uring_held[i] == c) uring_held[i] = NULL;
    c->flags &= ~CLIENT_URING_HELD;
}

/* Send the held clients' replies, up to URING_ENTRIES in one io_uring_enter, and finish
 * each client as client_after_batch does after a direct write. A reply in more than one
 * buffer (overflow chunks) goes out by the direct path. */
static void uring_flush_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    while (uring_nheld) {
        int n = uring_nheld < URING_ENTRIES ? uring_nheld : URING_ENTRIES;
        int queued = 0;
        if (aof_reply_barrier()) aof_flush_for_replies();
        for (int i = 0; i < n; i++) {
            client *c = uring_held[i];
            if (!c || c->out.head || c->out.used == c->out.sent || (c->flags & CLIENT_CLOSE_ASAP)) continue;
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            if (!sqe) break;
            io_uring_prep_send(sqe, c->fd, c->out.buf + c->out.sent, c->out.used - c->out.sent,
                               MSG_DONTWAIT | MSG_NOSIGNAL);
            io_uring_sqe_set_data64(sqe, (uint64_t)i);
            queued++;
        }
        if (queued) {
            /* Every entry the kernel took is waited for: none is left in flight when its
             * client carries on (a signal can cut the wait short, EINTR). */
            int r = io_uring_submit_and_wait(&ring, (unsigned)queued);
            while ((r >= 0 || r == -EINTR || r == -EAGAIN || r == -EBUSY) && io_uring_sq_ready(&ring))
                r = io_uring_submit(&ring);
            if (r < 0 && r != -EINTR && io_uring_sq_ready(&ring)) {
                log_warning("io_uring_submit: %s: replies are written directly from now on", strerror(-r));
                uring_on = 0; /* the entries left unsubmitted never will be */
                queued -= (int)io_uring_sq_ready(&ring);
            }
            for (int done = 0; done < queued;) {
                struct io_uring_cqe *cqe;
                r = io_uring_wait_cqe(&ring, &cqe);
                if (r == -EINTR) continue;
                if (r < 0) {
                    log_warning("io_uring_wait_cqe: %s", strerror(-r));
                    break;
                }
                client *c = uring_held[io_uring_cqe_get_data64(cqe)];
                int res = cqe->res;
                io_uring_cqe_seen(&ring, cqe);
                done++;
                if (!c) continue;
                if (res >= 0) {
                    reply_consume(&c->out, (size_t)res);
                    server.stat_net_output_bytes += res;
                    server.stat_total_writes++;
                } else if (res != -EAGAIN && res != -EINTR) {
                    log_verbose("Error writing to client: %s", strerror(-res));
                    c->flags |= CLIENT_CLOSE_ASAP;
                }
            }
        }
        /* Unsubmitted or unanswered entries fall to the direct write in client_after_batch. */
        uring_flushing = 1;
        for (int i = 0; i < n; i++) {
            client *c = uring_held[i];
            if (!c) continue;
            uring_held[i] = NULL;
            c->flags &= ~CLIENT_URING_HELD;
            client_after_batch(c);
        }
        uring_flushing = 0;
        memmove(uring_held, uring_held + n, sizeof(*uring_held) * (size_t)(uring_nheld - n));
        uring_nheld -= n;
    }
}

void net_uring_init(void) {
    if (!server.cfg.io_uring) return;
    const char *force = getenv("RESPITE_IO_URING_PROBE_FAIL");
    int r = force && *force ? -ENOSYS : io_uring_queue_init(URING_ENTRIES, &ring, 0);
    if (r < 0) {
        log_warning("io-uring yes, but io_uring is unavailable (%s): replies are written directly", strerror(-r));
        return;
    }
    uring_ev = event_new(server.base, -1, 0, uring_flush_cb, NULL);
    uring_on = 1;
    log_notice("io-uring: a loop iteration's replies are sent with one io_uring_enter");
}

/* Write as much pending output as the socket takes. Returns -1 on a write error. */
static int client_write(client *c) {
    if (aof_reply_barrier()) aof_flush_for_replies(); /* no reply before its AOF record */
    while (reply_pending(&c->out)) {
        struct iovec iov[IOV_MAX < 128 ? IOV_MAX : 128];
        int n = reply_iov(&c->out, iov, (int)(sizeof(iov) / sizeof(iov[0])));
        size_t want = 0;
        for (int i = 0; i < n; i++) want += iov[i].iov_len;
        /* One buffer (the usual case) goes out by send: the socket call skips writev's
         * iovec import and the VFS layer. */
        ssize_t w = n == 1 ? send(c->fd, iov[0].iov_base, iov[0].iov_len, 0) : writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            if (errno == EINTR) continue;
            log_verbose("Error writing to client: %s", strerror(errno));
            return -1;
        }
        reply_consume(&c->out, (size_t)w);
        server.stat_net_output_bytes += w;
        server.stat_total_writes++;
        if ((size_t)w < want) return 0;
    }
    return 0;
}

static void client_arm_write(client *c, int on) {
    if (on && !c->write_armed) {
        event_add(c->ev_write, NULL);
        c->write_armed = 1;
    } else if (!on && c->write_armed) {
        event_del(c->ev_write);
        c->write_armed = 0;
    }
}

static void client_pause_read(client *c, int pause) {
    if (pause && !c->read_paused) {
        event_del(c->ev_read);
        c->read_paused = 1;
    } else if (!pause && c->read_paused) {
        event_add(c->ev_read, NULL);
        c->read_paused = 0;
    }
}

/* Where backpressure starts: OUT_HIGH_WATER, or just past the configured output limits,
 * so a client that does not read grows its output to the limit and is closed there, as
 * on Redis, instead of being held below it forever. */
static size_t out_high_water(void) {
    const struct obuf_limit *l = &server.cfg.obuf_limits[0];
    size_t hw = OUT_HIGH_WATER;
    long long lim = l->hard > l->soft ? l->hard : l->soft;
    if (lim > 0 && (size_t)lim + REPLY_BUF_SIZE + 1 > hw) hw = (size_t)lim + REPLY_BUF_SIZE + 1;
    return hw;
}

/* Clients whose output is over their soft limit now: the timer looks for ones that
 * stay there too long only while there are any. */
static long clients_over_soft;

/* The client-output-buffer-limit class of c, as Redis's getClientType: a client holding
 * a subscription is a pubsub client. */
static const struct obuf_limit *client_obuf_limit(const client *c) {
    return &server.cfg.obuf_limits[(c->flags & CLIENT_PUBSUB) ? 2 : 0];
}

/* client-output-buffer-limit, as Redis: over the hard limit, or over
 * the soft limit for longer than soft-seconds, the client is closed. Counts the
 * overflow chunks (Redis counts its reply list, not the fixed buffer). Returns 1 if the
 * client is now to be closed. */
static int client_over_output_limit(client *c) {
    if (!c->out.chunk_bytes && !c->obuf_soft_since) return 0; /* the usual case, after every command */
    const struct obuf_limit *l = client_obuf_limit(c);
    if (!l->hard && !l->soft) return 0;
    long long used = (long long)c->out.chunk_bytes;
    int over = l->hard && used >= l->hard;
    if (l->soft && used >= l->soft) {
        long long now = util_mstime();
        if (!c->obuf_soft_since) {
            c->obuf_soft_since = now;
            clients_over_soft++;
        } else if (now - c->obuf_soft_since > l->soft_seconds * 1000) {
            over = 1;
        }
        if (!l->soft_seconds) over = 1;
    } else if (c->obuf_soft_since) {
        c->obuf_soft_since = 0;
        clients_over_soft--;
    }
    if (over && !(c->flags & CLIENT_CLOSE_ASAP)) {
        log_ratelimited(LOG_WARNING_LVL, 1000,
                        "Client id=%llu addr=%s name=%s scheduled to be closed ASAP for overcoming of output buffer "
                        "limits.",
                        (unsigned long long)c->id, c->addr, c->name ? c->name : "");
        server.stat_client_outbuf_limit_disconnections++;
        c->flags |= CLIENT_CLOSE_ASAP;
    }
    return over;
}

/* After a batch: send what we can, arm the write event for the rest, close if asked.
 * Returns 0 if the client was freed. */
static int client_after_batch(client *c) {
    for (;;) {
        if ((c->flags & CLIENT_CLOSE_ASAP) || client_over_output_limit(c)) {
            client_free(c);
            return 0;
        }
        if (aof_reply_barrier() && server.base) {
            aof_hold(c);
            out_give_back(c, 1);
            server_client_memory(c, 0);
            return 1;
        }
        if (uring_on && !uring_flushing && !c->out.head && reply_pending(&c->out)) {
            uring_hold(c);
            server_client_memory(c, 0);
            return 1;
        }
        if (client_write(c) < 0) {
            client_free(c);
            return 0;
        }
        size_t pending = reply_pending(&c->out);
        if (!pending && (c->flags & CLIENT_CLOSE_AFTER_REPLY)) {
            client_free(c);
            return 0;
        }
        /* Input held back for output that has now gone out at once: carry on with it. */
        if (c->read_paused && pending < OUT_LOW_WATER && !c->blocked) {
            client_pause_read(c, 0);
            client_process_input(c);
            continue;
        }
        client_arm_write(c, pending > 0);
        if (pending > out_high_water()) client_pause_read(c, 1);
        out_give_back(c, 0);
        server_client_memory(c, 0);
        return 1;
    }
}

/* ---- output queued from outside a client's own batch ----
 * A publish appends to its receivers' output; client_output_queued lists each receiver
 * once and one event, run when the current callback is done, writes them all: a burst of
 * messages costs one write per receiver, and nobody's buffer is written while its own
 * batch may be using it. */
static client *wq_head;
static struct event *wq_event;
static int bcast_write(client *c);

/* The broadcast log and the receivers' references into it (below). */
typedef struct bseg {
    size_t off, len;
    int next; /* index + 1 of the client's next reference, 0 at the end */
} bseg;
static char *blog;
static size_t blog_len, blog_cap;
static bseg *bsegs;
static int nbsegs, bsegs_cap;
static client *net_current; /* the client whose input is being processed */

static void wq_unlink(client *c) {
    if (!c->wq_queued) return;
    if (c->wq_prev) c->wq_prev->wq_next = c->wq_next;
    else wq_head = c->wq_next;
    if (c->wq_next) c->wq_next->wq_prev = c->wq_prev;
    c->wq_prev = c->wq_next = NULL;
    c->wq_queued = 0;
}

static void wq_flush_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    while (wq_head) {
        client *c = wq_head;
        wq_unlink(c);
        if (c->flags & CLIENT_AOF_HELD) { /* its replies wait for the AOF: aof_held_cb writes it all */
            if (c->bs_head) client_bcast_materialize(c);
            continue;
        }
        if ((c->flags & CLIENT_CLOSE_ASAP) || (c->bs_head && bcast_write(c) < 0) || client_write(c) < 0 ||
            client_over_output_limit(c)) {
            client_free(c);
            continue;
        }
        size_t pending = reply_pending(&c->out);
        if (!pending && (c->flags & CLIENT_CLOSE_AFTER_REPLY)) {
            client_free(c);
            continue;
        }
        if (c->read_paused && pending < OUT_LOW_WATER && !c->blocked) { /* input held for output now gone */
            client_after_batch(c);
            continue;
        }
        client_arm_write(c, pending > 0);
        if (out_holder != c) reply_release_idle(&c->out);
        server_client_memory(c, 0);
    }
    blog_len = 0;
    nbsegs = 0;
    if (blog_cap > 4 * 1024 * 1024) { /* a burst of big messages: do not keep its peak */
        free(blog);
        blog = NULL;
        blog_cap = 0;
    }
}

/* ---- broadcast output ----
 * A message many clients receive (pub/sub) is written once into the broadcast log; each
 * receiver holds references (offset, length; adjacent ones merged) into it instead of a
 * copy. When the event is done wq_flush_cb writes each receiver's references straight from
 * the log with one writev, and only what the socket did not take is copied into the
 * receiver's own buffer, so a receiver that keeps up never allocates an output buffer.
 * Before anything else is appended to a receiver (its own command's reply, a MONITOR
 * line), bcast_materialize copies what it references, which keeps the order. The log and
 * the references are dropped after each flush. */

#define BCAST_MAX_HELD (256 * 1024) /* past this a receiver gets a copy (output limits count it) */

size_t net_bcast_add(const char *p, size_t n) {
    if (blog_len + n > blog_cap) {
        size_t cap = blog_cap ? blog_cap * 2 : 64 * 1024;
        while (cap < blog_len + n) cap *= 2;
        blog = xrealloc(blog, cap);
        blog_cap = cap;
    }
    memcpy(blog + blog_len, p, n);
    blog_len += n;
    return blog_len - n;
}

void client_bcast_materialize(client *c) {
    for (int i = c->bs_head; i; i = bsegs[i - 1].next) reply_raw(&c->out, blog + bsegs[i - 1].off, bsegs[i - 1].len);
    c->bs_head = c->bs_tail = 0;
    c->bs_bytes = 0;
}

client *net_running(void) { return net_current; }

void client_queue_bcast(client *c, size_t off, size_t len) {
    if (c == net_current) {
        client_bcast_materialize(c);
        client_push_begin(c);
        reply_raw(&c->out, blog + off, len);
        client_push_end(c);
    } else if (!c->bs_head && reply_pending(&c->out)) {
        reply_raw(&c->out, blog + off, len);
    } else {
        bseg *t = c->bs_tail ? &bsegs[c->bs_tail - 1] : NULL;
        if (t && t->off + t->len == off) {
            t->len += len;
        } else {
            if (nbsegs == bsegs_cap) {
                bsegs_cap = bsegs_cap ? bsegs_cap * 2 : 1024;
                bsegs = xrealloc(bsegs, sizeof(bseg) * (size_t)bsegs_cap);
            }
            bsegs[nbsegs] = (bseg){off, len, 0};
            nbsegs++;
            if (c->bs_tail) bsegs[c->bs_tail - 1].next = nbsegs; /* not t: bsegs may have moved */
            else c->bs_head = nbsegs;
            c->bs_tail = nbsegs;
        }
        c->bs_bytes += len;
        if (c->bs_bytes > BCAST_MAX_HELD) client_bcast_materialize(c);
    }
    client_output_queued(c);
}

void client_append_async(client *c, const char *p, size_t n) {
    if (c->bs_head) client_bcast_materialize(c);
    reply_raw(&c->out, p, n);
    client_output_queued(c);
}

/* Write c's references from the log; what the socket does not take is copied into c's
 * buffer. Returns -1 on a write error. */
static int bcast_write(client *c) {
    if (reply_pending(&c->out)) {
        client_bcast_materialize(c);
        return 0;
    }
    struct iovec iov[64];
    int n = 0;
    for (int i = c->bs_head; i && n < 64; i = bsegs[i - 1].next, n++) {
        iov[n].iov_base = blog + bsegs[i - 1].off;
        iov[n].iov_len = bsegs[i - 1].len;
    }
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            log_verbose("Error writing to client: %s", strerror(errno));
            return -1;
        }
        w = 0;
    } else {
        server.stat_net_output_bytes += w;
        server.stat_total_writes++;
    }
    size_t skip = (size_t)w;
    for (int i = c->bs_head; i; i = bsegs[i - 1].next) {
        bseg *g = &bsegs[i - 1];
        if (skip >= g->len) {
            skip -= g->len;
            continue;
        }
        reply_raw(&c->out, blog + g->off + skip, g->len - skip);
        skip = 0;
    }
    c->bs_head = c->bs_tail = 0;
    c->bs_bytes = 0;
    return 0;
}

void client_output_queued(client *c) {
    if (c->wq_queued) return;
    if (client_over_output_limit(c)) c->flags |= CLIENT_CLOSE_ASAP;
    if (!wq_event) wq_event = event_new(server.base, -1, 0, wq_flush_cb, NULL);
    if (!wq_head) event_active(wq_event, EV_TIMEOUT, 1);
    c->wq_queued = 1;
    c->wq_prev = NULL;
    c->wq_next = wq_head;
    if (wq_head) wq_head->wq_prev = c;
    wq_head = c;
}

void net_free_queued(void) {
    if (wq_event) event_free(wq_event);
    wq_event = NULL;
    free(blog);
    free(bsegs);
    blog = NULL;
    bsegs = NULL;
    blog_cap = blog_len = 0;
    nbsegs = bsegs_cap = 0;
}

void client_close_async(client *c) {
    c->flags |= CLIENT_CLOSE_ASAP;
    event_active(c->ev_write, EV_WRITE, 1);
}

/* ---- input ---- */

static void reply_protocol_error(client *c) {
    log_verbose("Protocol error (%s) from client: id=%llu addr=%s", c->parser.err, (unsigned long long)c->id, c->addr);
    reply_error(&c->out, c->parser.err);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* A big bulk that has begun (RESP_BIG_ARG or more) gets a buffer of its own, exactly
 * sized, as Redis reads a big argument straight into its own query buffer: the rest of it
 * is read there, never copied or moved again, and SET can keep that buffer as the value's
 * record (arg_store_string). So the buffer leaves room in front for a string record named
 * like argv[1] (the key, where the command has one). */
static void client_start_big_arg(client *c, size_t start) {
    size_t want = resp_parser_big_wanted(&c->parser);
    if (!want) return;
    size_t off = c->parser.argc >= 2 ? db_string_value_offset(c->parser.lens[1], want - 2) : 0;
    char *buf = xmalloc(off + want);
    c->qlen = start + resp_parser_big_start(&c->parser, buf, off, c->qbuf + start, c->qlen - start);
}

rkey *arg_store_string(client *c, int key_i, int val_i, int flags) {
    const resp_slice *k = &c->argv[key_i], *v = &c->argv[val_i];
    char *own = c->argv == c->parser.argv ? resp_parser_take_arg(&c->parser, val_i) : NULL;
    if (own && (size_t)(v->ptr - own) == db_string_value_offset(k->len, v->len))
        return db_set_string_owned(c->db, k->ptr, k->len, own, v->len, flags);
    rkey *r = db_set_string(c->db, k->ptr, k->len, v->ptr, v->len, flags);
    if (own) free(own);
    return r;
}

/* Cross-protocol scripting: a web page can make a browser POST to this port, and the
 * body's lines would run as commands. Like Redis, a command named POST or Host: ends the
 * connection at once, with nothing of that batch answered. */
static int looks_like_http(const resp_slice *cmd) {
    return (cmd->len == 4 && util_eqi(cmd->ptr, cmd->len, "post")) ||
           (cmd->len == 5 && util_eqi(cmd->ptr, cmd->len, "host:"));
}

static void security_warning(client *c) {
    log_ratelimited(LOG_WARNING_LVL, 60000,
                    "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to "
                    "Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to "
                    "compromise your Redis instance. Connection aborted.");
    c->flags |= CLIENT_CLOSE_ASAP;
}

/* Parse and run every complete command in the query buffer (unless output backpressure
 * or a close stops it), then drop the consumed prefix. */
static void client_process_input(client *c) {
    size_t start = 0;
    if (c->bs_head) client_bcast_materialize(c);
    client *outer = net_current;
    net_current = c;
    out_lend(c);
    call_clock_chain(1);
    if (c->held_argv && !c->blocked) pause_run_held(c); /* a pause that held it is over */
    while (start < c->qlen && !c->blocked) {
        if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) {
            start = c->qlen;
            break;
        }
        if (reply_pending(&c->out) > out_high_water()) {
            client_pause_read(c, 1); /* the write callback resumes us once drained */
            break;
        }
        c->parser.unauth = !c->authenticated;
        ssize_t n = resp_parse(&c->parser, c->qbuf + start, c->qlen - start);
        if (n == 0) {
            client_start_big_arg(c, start);
            break;
        }
        if (n < 0) {
            reply_protocol_error(c);
            start = c->qlen;
            break;
        }
        if (c->parser.argc > 0 && looks_like_http(&c->parser.argv[0])) {
            security_warning(c);
            start = c->qlen;
            break;
        }
        if (c->parser.argc > 0) {
            c->argc = c->parser.argc;
            c->argv = c->parser.argv;
            process_command(c);
            c->argc = 0;
            c->argv = NULL;
            if (client_over_output_limit(c)) {
                start = c->qlen;
                break;
            }
        }
        start += (size_t)n;
        resp_parser_reset(&c->parser);
    }
    call_clock_chain(0);
    if (start) {
        memmove(c->qbuf, c->qbuf + start, c->qlen - start);
        c->qlen -= start;
    }
    qbuf_give_back(c);
    net_current = outer;
}

void client_resume(client *c) {
    c->resume_pending = 1;
    event_active(c->ev_read, EV_READ, 1);
}

static void client_read_cb(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    client *c = arg;
    if (c->resume_pending) { /* activated by client_resume: no read, just carry on */
        c->resume_pending = 0;
        client_process_input(c);
        client_after_batch(c);
        return;
    }
    size_t room;
    char *big = resp_parser_big_room(&c->parser, &room);
    if (big) { /* the rest of a big bulk goes straight to its own buffer */
        ssize_t n = recv(fd, big, room, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
            if (n == 0) log_verbose("Client closed connection id=%llu addr=%s", (unsigned long long)c->id, c->addr);
            else log_verbose("Reading from client: %s", strerror(errno));
            client_free(c);
            return;
        }
        resp_parser_big_filled(&c->parser, (size_t)n);
        client_after_read(c, n);
        return;
    }
    if (!c->qbuf && !qbuf_holder) {
        c->qbuf = shared_qbuf;
        c->qcap = QBUF_MIN;
        qbuf_holder = c;
    } else if (c->qcap - c->qlen < QBUF_MIN) {
        size_t ncap = c->qcap ? c->qcap * 2 : QBUF_MIN;
        while (ncap - c->qlen < QBUF_MIN) ncap *= 2;
        c->qbuf = xrealloc(c->qbuf, ncap);
        c->qcap = ncap;
    }
    ssize_t n = recv(fd, c->qbuf + c->qlen, c->qcap - c->qlen, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            qbuf_give_back(c);
            return;
        }
        if (n == 0) log_verbose("Client closed connection id=%llu addr=%s", (unsigned long long)c->id, c->addr);
        else log_verbose("Reading from client: %s", strerror(errno));
        client_free(c);
        return;
    }
    c->qlen += (size_t)n;
    client_after_read(c, n);
}

/* The query buffer limit counts a big bulk's own buffer too (Redis's holds it in the
 * query buffer). */
static void client_after_read(client *c, ssize_t n) {
    size_t held = client_query_len(c);
    if (held > c->qpeak) c->qpeak = held;
    server.stat_net_input_bytes += n;
    server.stat_total_reads++;
    c->last_interaction_ms = server.mstime_cached;
    if ((long long)held > server.cfg.client_query_buffer_limit) {
        log_ratelimited(LOG_WARNING_LVL, 1000,
                        "Closing client that reached max query buffer length: id=%llu addr=%s qbuf=%zu",
                        (unsigned long long)c->id, c->addr, held);
        server.stat_client_qbuf_limit_disconnections++;
        client_free(c);
        return;
    }
    client_process_input(c);
    client_after_batch(c);
}

static void client_write_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    client *c = arg;
    if (c->flags & CLIENT_CLOSE_ASAP) {
        client_free(c);
        return;
    }
    if (client_write(c) < 0 || client_over_output_limit(c)) {
        client_free(c);
        return;
    }
    size_t pending = reply_pending(&c->out);
    if (!pending) {
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
            client_free(c);
            return;
        }
        client_arm_write(c, 0);
    }
    if (c->read_paused && pending < OUT_LOW_WATER) client_after_batch(c); /* resumes held input */
    else {
        out_give_back(c, 0);
        server_client_memory(c, 0);
    }
}

/* ---- connections ---- */

static client *client_create(int fd, int is_unix) {
    client *c = xcalloc(1, sizeof(*c));
    c->id = ++server.next_client_id;
    c->fd = fd;
    if (is_unix) c->flags |= CLIENT_UNIX;
    c->resp = 2;
    reply_init(&c->out);
    resp_parser_init(&c->parser, server.cfg.proto_max_bulk_len);
    c->db = server.dbs[0];
    c->user = acl_default;
    c->authenticated = acl_default_autoauth();
    c->ctime_ms = c->last_interaction_ms = server.mstime_cached;
    c->ev_read = event_new(server.base, fd, EV_READ | EV_PERSIST, client_read_cb, c);
    c->ev_write = event_new(server.base, fd, EV_WRITE | EV_PERSIST, client_write_cb, c);
    event_add(c->ev_read, NULL);
    c->next = server.clients;
    if (server.clients) server.clients->prev = c;
    server.clients = c;
    server.nclients++;
    server.stat_numconnections++;

    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (is_unix) {
        snprintf(c->addr, sizeof(c->addr), "%s:0", server.cfg.unixsocket);
        snprintf(c->laddr, sizeof(c->laddr), "%s:0", server.cfg.unixsocket);
    } else {
        if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) net_format_addr(&ss, c->addr, sizeof(c->addr));
        len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) net_format_addr(&ss, c->laddr, sizeof(c->laddr));
    }
    server_client_memory(c, 0);
    return c;
}

void client_free(client *c) {
    if (c->prev) c->prev->next = c->next;
    else server.clients = c->next;
    if (c->next) c->next->prev = c->prev;
    server.nclients--;
    server_client_memory(c, 1);
    aof_unhold(c);
    if (c->obuf_soft_since) clients_over_soft--;
    wq_unlink(c);
    if (net_current == c) net_current = NULL;
    pubsub_client_free(c);
    monitor_client_free(c);
    tracking_client_free(c);
    blocking_client_free(c);
    pause_client_free(c);
    multi_client_free(c);
    event_free(c->ev_read);
    event_free(c->ev_write);
    close(c->fd);
    resp_parser_free(&c->parser);
    uring_unhold(c);
    if (out_holder == c) out_holder = NULL; /* reply_free leaves a lent buffer alone */
    else out_pool_return(c);
    reply_free(&c->out);
    if (c->qbuf == shared_qbuf) qbuf_holder = NULL;
    else free(c->qbuf);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    free(c);
}

void net_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0, v6 = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
        v6 = 1;
    }
    /* IPv6 in brackets, as Redis's anetFormatAddr: "[::1]:6379" (CLIENT LIST, MONITOR, logs). */
    snprintf(buf, size, v6 ? "[%s]:%d" : "%s:%d", ip, port);
}

int net_is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) return s->sin6_addr.s6_addr[12] == 127;
        return 0;
    }
    return ss->ss_family == AF_UNIX;
}

int net_protected_mode_denies(const struct sockaddr_storage *peer) {
    int nopass = acl_default ? acl_user_nopass(acl_default) : !(server.cfg.requirepass && server.cfg.requirepass[0]);
    return server.cfg.protected_mode && nopass && !net_is_loopback(peer);
}

static const char protected_mode_err[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
    "default user. In this mode connections are only accepted from the loopback interface. If you want to connect "
    "from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode "
    "sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    "same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. "
    "Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by "
    "editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the "
    "server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the "
    "above things in order for the server to start accepting connections from the outside.\r\n";

static int listen_fd_count;
static struct event *listen_events[32];
static struct event *accept_resume_event;

#define ACCEPT_BACKOFF_MS 100

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    for (int i = 0; i < listen_fd_count; i++) event_add(listen_events[i], NULL);
}

/* Stop accepting for ACCEPT_BACKOFF_MS (closing clients frees descriptors meanwhile). */
static void accept_backoff(void) {
    if (!accept_resume_event) accept_resume_event = evtimer_new(server.base, accept_resume_cb, NULL);
    if (evtimer_pending(accept_resume_event, NULL)) return;
    for (int i = 0; i < listen_fd_count; i++) event_del(listen_events[i]);
    struct timeval tv = {0, ACCEPT_BACKOFF_MS * 1000};
    evtimer_add(accept_resume_event, &tv);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg) {
    (void)what;
    int is_unix = arg != NULL;
    for (int i = 0; i < MAX_ACCEPTS_PER_CALL; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return;
            if (err == ECONNABORTED || err == EPROTO) continue; /* that peer is gone; others may wait */
            log_ratelimited(LOG_WARNING_LVL, 1000, "Accepting client connection: %s", strerror(err));
            /* Out of descriptors or memory: the pending connection stays in the backlog
             * and the listener stays readable, so retrying at once would spin. */
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) accept_backoff();
            return;
        }
        if (!is_unix) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (server.cfg.tcp_keepalive > 0) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        }
        if (server.nclients >= server.cfg.maxclients) {
            static const char err[] = "-ERR max number of clients reached\r\n";
            if (write(fd, err, sizeof(err) - 1) < 0) { /* best effort, as Redis */
            }
            close(fd);
            server.stat_rejected_conn++;
            log_ratelimited(LOG_VERBOSE_LVL, 1000, "Rejected connection: max number of clients (%d) reached",
                            server.cfg.maxclients);
            continue;
        }
        if (!is_unix && net_protected_mode_denies(&peer)) {
            char addr[64];
            net_format_addr(&peer, addr, sizeof(addr));
            if (write(fd, protected_mode_err, sizeof(protected_mode_err) - 1) < 0) { /* best effort */
            }
            close(fd);
            server.stat_rejected_conn++;
            log_ratelimited(LOG_NOTICE_LVL, 1000, "Denied connection from %s: protected mode, no password set", addr);
            continue;
        }
        client *c = client_create(fd, is_unix);
        log_verbose("Accepted %s", c->addr);
    }
}

static int listen_on(const char *addr, int port, int optional) {
    struct addrinfo hints = {0}, *res, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    const char *host = strcmp(addr, "*") == 0 ? "0.0.0.0" : strcmp(addr, "::*") == 0 ? "::" : addr;
    int rv = getaddrinfo(host, portstr, &hints, &res);
    if (rv != 0) {
        log_warning("Could not create server TCP listening socket %s:%d: %s", addr, port, gai_strerror(rv));
        return optional;
    }
    int ok = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, server.cfg.tcp_backlog) < 0) {
            if (!optional)
                log_warning("Could not create server TCP listening socket %s:%d: bind: %s", addr, port,
                            strerror(errno));
            close(fd);
            continue;
        }
        if (listen_fd_count < 32) {
            listen_events[listen_fd_count] = event_new(server.base, fd, EV_READ | EV_PERSIST, accept_cb, NULL);
            event_add(listen_events[listen_fd_count++], NULL);
        }
        ok = 1;
    }
    freeaddrinfo(res);
    return ok || optional;
}

int net_listen(void) {
    if (server.cfg.port != 0) {
        char *copy = xstrdup(server.cfg.bind);
        char *save = NULL;
        int any = 0;
        for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
            int optional = a[0] == '-';
            if (!listen_on(optional ? a + 1 : a, server.cfg.port, optional)) {
                free(copy);
                return 0;
            }
            any = 1;
        }
        free(copy);
        if (!any || listen_fd_count == 0) {
            log_warning("Failed listening on port %d (tcp), aborting.", server.cfg.port);
            return 0;
        }
    }
    if (server.cfg.unixsocket && server.cfg.unixsocket[0]) {
        struct sockaddr_un sa = {0};
        sa.sun_family = AF_UNIX;
        if (strlen(server.cfg.unixsocket) >= sizeof(sa.sun_path)) {
            log_warning("Unix socket path too long: %s", server.cfg.unixsocket);
            return 0;
        }
        strcpy(sa.sun_path, server.cfg.unixsocket);
        unlink(server.cfg.unixsocket);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, server.cfg.tcp_backlog) < 0) {
            log_warning("Failed opening Unix socket: %s", strerror(errno));
            if (fd >= 0) close(fd);
            return 0;
        }
        if (server.cfg.unixsocketperm) chmod(server.cfg.unixsocket, (mode_t)server.cfg.unixsocketperm);
        listen_events[listen_fd_count] = event_new(server.base, fd, EV_READ | EV_PERSIST, accept_cb, (void *)1);
        event_add(listen_events[listen_fd_count++], NULL);
    }
    return 1;
}

void net_close_listeners(void) {
    for (int i = 0; i < listen_fd_count; i++) {
        close(event_get_fd(listen_events[i]));
        event_free(listen_events[i]);
    }
    listen_fd_count = 0;
    if (aof_held_ev) {
        event_free(aof_held_ev);
        aof_held_ev = NULL;
    }
    free(aof_held);
    free(aof_running);
    aof_held = aof_running = NULL;
    aof_nheld = aof_heldcap = aof_nrunning = aof_runcap = 0;
    if (accept_resume_event) {
        event_free(accept_resume_event);
        accept_resume_event = NULL;
    }
    if (server.cfg.unixsocket && server.cfg.unixsocket[0]) unlink(server.cfg.unixsocket);
}

/* One non-blocking pass over the listeners and every client but running, calling the
 * same callbacks the loop would, while one long job holds the loop: a busy script
 * (running is its caller: the loop is inside its callback and libevent does not
 * re-enter; dispatch answers -BUSY) or loading at start-up (running is NULL: the loop
 * has not started; dispatch answers -LOADING). A callback may free other clients, so
 * each is looked up again by id before its turn. */
void net_serve_while_busy(client *running) {
    int n = listen_fd_count + server.nclients;
    int was_flushing = uring_flushing;
    uring_flushing = 1; /* answers while busy go out at once, not after the job */
    /* Replies held earlier in this iteration go out now too (their clients stay held: the
     * iteration's flush finishes them once the job is over). */
    for (int i = 0; i < uring_nheld; i++) {
        client *c = uring_held[i];
        if (!c || c == running || (c->flags & CLIENT_CLOSE_ASAP) || !reply_pending(&c->out)) continue;
        if (client_write(c) < 0) c->flags |= CLIENT_CLOSE_ASAP;
        else if (reply_pending(&c->out)) client_arm_write(c, 1);
    }
    struct pollfd *fds = xmalloc(sizeof(*fds) * (size_t)(n ? n : 1));
    uint64_t *ids = xmalloc(sizeof(*ids) * (size_t)(n ? n : 1));
    int k = 0;
    for (int i = 0; i < listen_fd_count; i++) {
        fds[k] = (struct pollfd){event_get_fd(listen_events[i]), POLLIN, 0};
        ids[k++] = 0;
    }
    for (client *c = server.clients; c && k < n; c = c->next) {
        if (c == running || c->fd < 0) continue;
        short ev = (short)((c->read_paused ? 0 : POLLIN) | (c->write_armed ? POLLOUT : 0));
        if (c->flags & CLIENT_CLOSE_ASAP) ev |= POLLOUT;
        if (!ev) continue;
        fds[k] = (struct pollfd){c->fd, ev, 0};
        ids[k++] = c->id;
    }
    if (poll(fds, (nfds_t)k, 0) > 0) {
        for (int i = 0; i < k; i++) {
            if (!fds[i].revents) continue;
            if (!ids[i]) {
                for (int l = 0; l < listen_fd_count; l++)
                    if (event_get_fd(listen_events[l]) == fds[i].fd)
                        accept_cb(fds[i].fd, EV_READ, event_get_callback_arg(listen_events[l]));
                continue;
            }
            client *c = server.clients;
            while (c && c->id != ids[i]) c = c->next;
            if (!c) continue;
            if (fds[i].revents & (POLLOUT | POLLERR | POLLHUP) && (c->write_armed || (c->flags & CLIENT_CLOSE_ASAP))) {
                client_write_cb(c->fd, EV_WRITE, c);
                c = server.clients;
                while (c && c->id != ids[i]) c = c->next;
                if (!c) continue;
            }
            if (fds[i].revents & (POLLIN | POLLERR | POLLHUP) && !c->read_paused) client_read_cb(c->fd, EV_READ, c);
        }
    }
    free(fds);
    free(ids);
    uring_flushing = was_flushing;
}

/* From the timer: close clients idle for longer than `timeout` seconds, and clients
 * whose output stayed over the soft limit too long without any event of theirs. */
void net_clients_cron(void) {
    long long limit = (long long)server.cfg.timeout * 1000;
    if (limit <= 0 && !clients_over_soft) return; /* nothing to check: idle clients cost nothing */
    client *next;
    for (client *c = server.clients; c; c = next) {
        next = c->next;
        if ((c->out.chunk_bytes || c->obuf_soft_since) && client_over_output_limit(c)) {
            client_free(c);
            continue;
        }
        if (limit <= 0 || c->blocked || (c->flags & CLIENT_PUBSUB)) continue;
        if (server.mstime_cached - c->last_interaction_ms > limit) {
            log_verbose("Closing idle client id=%llu addr=%s", (unsigned long long)c->id, c->addr);
            client_free(c);
        }
    }
}
