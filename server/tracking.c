/* tracking.c: client-side caching (Redis 7.0's CLIENT TRACKING).
 *
 * Default mode: after a read-only command of a tracking client, its keys go into the
 * tracking table (key -> ids of the clients that may cache it). When a key changes (a
 * storage keyspace event, which is where Redis calls signalModifiedKey) its entry is
 * removed and each client still tracking gets "invalidate [key]": a RESP3 push, or,
 * with REDIRECT, a message on __redis__:invalidate to the target if that one is in RESP2
 * subscribed mode. Ids, not pointers, are kept, so a client that goes away just stops
 * matching (ids are looked up among the clients that ever enabled tracking).
 *
 * BCAST mode: clients register prefixes; a changed key is remembered under each prefix
 * it starts with (with the client that changed it, for NOLOOP), and once the current
 * event is done every prefix's clients get one message with its keys, sorted.
 *
 * An invalidation meant for the client whose command is running goes out after that
 * command's reply (and after a whole EXEC), as Redis's tracking_pending_keys.
 * FLUSHALL/FLUSHDB send a null invalidation to every tracking client and empty the
 * table. tracking-table-max-keys is held by invalidating random keys before each command
 * and from the timer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/xmalloc.h"
#include "server/command_table.h"
#include "server/net.h"
#include "server/script.h"
#include "server/server.h"
#include "server/tracking.h"
#include "storage/dict.h"

static char *xmemdup(const char *p, size_t n) {
    char *d = xmalloc(n);
    memcpy(d, p, n);
    return d;
}

typedef struct tracking_state {
    dict_node node; /* in trackers, by id */
    uint64_t id;
    client *c;
    uint64_t redir_id; /* 0: none */
    client *redir;     /* the target while it exists */
    char **prefixes;   /* BCAST prefixes */
    size_t *plens;
    int nprefixes;
} tracking_state;

typedef struct tk_key {
    dict_node node;
    uint64_t *ids;
    uint32_t n, cap;
    size_t klen;
    char key[];
} tk_key;

typedef struct bk_key { /* a key changed under a prefix since the last broadcast */
    dict_node node;
    client *by; /* who changed it last (NOLOOP) */
    size_t klen;
    char key[];
} bk_key;

typedef struct bcast_prefix {
    char *p;
    size_t len;
    client **clients;
    int nclients, cap;
    dict keys;
} bcast_prefix;

static int started;
static dict trackers; /* tracking_state by id: every client that ever enabled tracking */
static dict table;    /* tk_key */
static long long table_items;
static bcast_prefix **prefixes; /* sorted by bytes */
static int nprefixes;
static int key_sub = -1;
static struct event *bcast_ev;
static int bcast_pending;
static int flush_sent; /* a flush invalidation already went out during this command */
long tracking_clients;

/* The client whose command is running (top level), and what it must get afterwards. */
static client *current;
static int depth;
typedef struct pending_inv {
    char *key; /* NULL: a flush */
    size_t klen;
} pending_inv;
static pending_inv *pending;
static int npending, pending_cap;

static const char *ts_keyof(const dict_node *n, size_t *len) {
    *len = sizeof(uint64_t);
    return (const char *)&((const tracking_state *)n)->id;
}
static const char *tk_keyof(const dict_node *n, size_t *len) {
    const tk_key *k = (const tk_key *)n;
    *len = k->klen;
    return k->key;
}
static const char *bk_keyof(const dict_node *n, size_t *len) {
    const bk_key *k = (const bk_key *)n;
    *len = k->klen;
    return k->key;
}

static void key_event(void *priv, const db_event *ev);
static void bcast_cb(evutil_socket_t fd, short what, void *arg);

static void tracking_start(void) {
    if (started) return;
    dict_init(&trackers, ts_keyof);
    dict_init(&table, tk_keyof);
    key_sub = db_subscribe(key_event, NULL);
    bcast_ev = event_new(server.base, -1, 0, bcast_cb, NULL);
    started = 1;
}

static client *tracker_by_id(uint64_t id) {
    tracking_state *ts = (tracking_state *)dict_find(&trackers, (const char *)&id, sizeof(id));
    return ts ? ts->c : NULL;
}

/* ---- sending ---- */

static void raw(client *c, const char *p, size_t n) {
    if (c->bs_head) client_bcast_materialize(c);
    reply_raw(&c->out, p, n);
}

static void bulk(client *c, const char *p, size_t n) {
    if (c->bs_head) client_bcast_materialize(c);
    reply_bulk(&c->out, p, n);
}

/* Redis's sendTrackingMessage: payload is RESP already (proto) or a key name. */
static void send_tracking(client *c, const char *payload, size_t plen, int proto) {
    int redirected = 0;
    if (c->ts->redir_id) {
        client *r = c->ts->redir;
        if (!r) {
            c->flags |= CLIENT_TRACKING_BROKEN_REDIR;
            if (c->resp > 2 && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY))) {
                char num[32];
                int n = snprintf(num, sizeof(num), ":%llu\r\n", (unsigned long long)c->ts->redir_id);
                raw(c, ">2\r\n$21\r\ntracking-redir-broken\r\n", 32);
                raw(c, num, (size_t)n);
                client_output_queued(c);
            }
            return;
        }
        c = r;
        redirected = 1;
    }
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return; /* as Redis: no more output */
    if (c->resp <= 2 && !(redirected && (c->flags & CLIENT_PUBSUB))) return;
    if (c->bs_head) client_bcast_materialize(c);
    client_push_begin(c); /* CLIENT REPLY OFF does not drop it */
    if (c->resp > 2) raw(c, ">2\r\n$10\r\ninvalidate\r\n", 21);
    else raw(c, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n", 44);
    if (proto) {
        raw(c, payload, plen);
    } else {
        raw(c, "*1\r\n", 4);
        bulk(c, payload, plen);
    }
    client_push_end(c);
    client_output_queued(c);
}

static void pending_add(const char *key, size_t klen) {
    if (npending == pending_cap) {
        pending_cap = pending_cap ? pending_cap * 2 : 8;
        pending = xrealloc(pending, sizeof(*pending) * (size_t)pending_cap);
    }
    pending[npending].key = key ? xmemdup(key, klen) : NULL;
    pending[npending].klen = klen;
    npending++;
}

static void send_flush_null(client *c) {
    if (c->resp > 2) send_tracking(c, "_\r\n", 3, 1);
    else send_tracking(c, "$-1\r\n", 5, 1);
}

static void pending_send(void) {
    for (int i = 0; i < npending; i++) {
        if (current && (current->flags & CLIENT_TRACKING)) {
            if (pending[i].key) send_tracking(current, pending[i].key, pending[i].klen, 0);
            else send_flush_null(current);
        }
        free(pending[i].key);
    }
    npending = 0;
}

/* ---- the table ---- */

static void tk_free(tk_key *k) {
    free(k->ids);
    free(k);
}

/* Redis's trackingInvalidateKey: by is who changed it (BCAST's NOLOOP), bcast whether
 * prefixes hear of it. */
static void invalidate_key(client *by, const char *key, size_t klen, int bcast) {
    if (bcast && nprefixes) {
        for (int i = 0; i < nprefixes; i++) {
            bcast_prefix *bp = prefixes[i];
            if (bp->len > klen || memcmp(bp->p, key, bp->len)) continue;
            bk_key *k = (bk_key *)dict_find(&bp->keys, key, klen);
            if (!k) {
                k = xmalloc(sizeof(*k) + klen);
                k->klen = klen;
                memcpy(k->key, key, klen);
                dict_add(&bp->keys, &k->node);
            }
            k->by = by;
            if (!bcast_pending) {
                bcast_pending = 1;
                event_active(bcast_ev, EV_TIMEOUT, 1);
            }
        }
    }
    tk_key *e = (tk_key *)dict_unlink(&table, key, klen);
    if (!e) return;
    for (uint32_t i = 0; i < e->n; i++) {
        client *t = tracker_by_id(e->ids[i]);
        if (!t || !(t->flags & CLIENT_TRACKING) || (t->flags & CLIENT_TRACKING_BCAST)) continue;
        if ((t->flags & CLIENT_TRACKING_NOLOOP) && t == current) continue;
        if (t == current && depth > 0) pending_add(key, klen);
        else send_tracking(t, key, klen, 0);
    }
    table_items -= e->n;
    tk_free(e);
}

static void table_clear(void) {
    dict_node *n;
    while ((n = dict_random_node(&table)) != NULL) {
        tk_key *k = (tk_key *)n;
        dict_unlink(&table, k->key, k->klen);
        tk_free(k);
    }
    dict_release(&table);
    dict_init(&table, tk_keyof);
    table_items = 0;
}

static void invalidate_on_flush(void) {
    if (tracking_clients) {
        for (client *c = server.clients; c; c = c->next) {
            if (!(c->flags & CLIENT_TRACKING)) continue;
            if (c == current && depth > 0) pending_add(NULL, 0);
            else send_flush_null(c);
        }
    }
    table_clear();
}

static void key_event(void *priv, const db_event *ev) {
    (void)priv;
    if (ev->type == DB_EV_FLUSHED) {
        if (!flush_sent) invalidate_on_flush();
        flush_sent = 1;
        return;
    }
    if (!ev->key) return;
    if (!dict_size(&table) && !nprefixes) return;
    client *by = ev->type == DB_EV_EXPIRED || ev->type == DB_EV_EVICTED ? NULL : current;
    invalidate_key(by, ev->key, ev->klen, 1);
}

static void remember_key(client *c, const char *key, size_t klen) {
    tk_key *e = (tk_key *)dict_find(&table, key, klen);
    if (!e) {
        e = xcalloc(1, sizeof(*e) + klen);
        e->klen = klen;
        memcpy(e->key, key, klen);
        dict_add(&table, &e->node);
    }
    for (uint32_t i = 0; i < e->n; i++)
        if (e->ids[i] == c->id) return;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 2;
        e->ids = xrealloc(e->ids, sizeof(uint64_t) * e->cap);
    }
    e->ids[e->n++] = c->id;
    table_items++;
}

/* Redis's trackingRememberKeys: the keys of cmd (argv of src: the script's client when a
 * script runs it), by its key specs, for tracking client c. */
static void remember_keys(client *c, const command *cmd, const client *src) {
    int optin = c->flags & CLIENT_TRACKING_OPTIN, optout = c->flags & CLIENT_TRACKING_OPTOUT;
    int caching = c->flags & CLIENT_TRACKING_CACHING;
    if ((optin && !caching) || (optout && caching)) return;
    if (cmd->flags & CMD_PUBSUB) return;
    const command_meta *m = cmd->meta;
    for (int j = 0; j < m->nkey_specs; j++) {
        const command_key_spec *ks = &m->key_specs[j];
        if (ks->flags & KS_FLAG_NOT_KEY) continue;
        int first, last, step;
        if (command_spec_range(ks, src->argv, src->argc, &first, &last, &step) != 1) continue;
        for (int i = first; i <= last; i += step) remember_key(c, src->argv[i].ptr, src->argv[i].len);
    }
}

/* Redis's trackingLimitUsedSlots. */
void tracking_limit_keys(void) {
    static unsigned timeout_counter;
    long long max = server.cfg.tracking_table_max_keys;
    if (!started || max == 0) return;
    if ((long long)dict_size(&table) <= max) {
        timeout_counter = 0;
        return;
    }
    int effort = 100 * (int)(timeout_counter + 1);
    while (effort-- > 0) {
        tk_key *k = (tk_key *)dict_random_node(&table);
        if (!k) break;
        char small[256];
        size_t klen = k->klen;
        char *key = klen <= sizeof(small) ? small : xmalloc(klen);
        memcpy(key, k->key, klen);
        invalidate_key(NULL, key, klen, 0);
        if (key != small) free(key);
        if ((long long)dict_size(&table) <= max) {
            timeout_counter = 0;
            return;
        }
    }
    timeout_counter++;
}

/* ---- command hooks ---- */

void tracking_call_enter(client *c) {
    if (depth++ == 0) current = c;
    flush_sent = 0;
}

/* EVAL_RO, EVALSHA_RO and FCALL_RO are read-only, but only what their scripts run is
 * remembered, as in Redis. */
static int is_ro_script(const command *cmd) {
    return !strcmp(cmd->name, "eval_ro") || !strcmp(cmd->name, "evalsha_ro") || !strcmp(cmd->name, "fcall_ro");
}

void tracking_call_exit(client *c, const command *cmd) {
    if ((cmd->flags & CMD_READONLY) && started && !is_ro_script(cmd)) {
        client *caller = (c->flags & CLIENT_SCRIPT) && script_caller() ? script_caller() : c;
        if ((caller->flags & CLIENT_TRACKING) && !(caller->flags & CLIENT_TRACKING_BCAST))
            remember_keys(caller, cmd, c);
    }
    flush_sent = 0;
    if (--depth == 0) {
        if (npending) pending_send();
        current = NULL;
    }
}

/* ---- BCAST ---- */

static int bk_cmp(const void *a, const void *b) {
    const bk_key *x = *(const bk_key *const *)a, *y = *(const bk_key *const *)b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int r = memcmp(x->key, y->key, n);
    return r ? r : (x->klen > y->klen) - (x->klen < y->klen);
}

typedef struct collect {
    bk_key **v;
    size_t n;
} collect;

static void collect_cb(void *priv, dict_node *n) {
    collect *col = priv;
    col->v[col->n++] = (bk_key *)n;
}

/* The RESP array of keys (sorted), leaving out those `skip` changed; NULL if empty. */
static char *bcast_reply(bk_key **keys, size_t n, const client *skip, size_t *len) {
    size_t count = 0, cap = 32;
    for (size_t i = 0; i < n; i++) {
        if (skip && keys[i]->by == skip) continue;
        count++;
        cap += keys[i]->klen + 32;
    }
    if (!count) return NULL;
    char *p = xmalloc(cap);
    size_t o = (size_t)snprintf(p, cap, "*%zu\r\n", count);
    for (size_t i = 0; i < n; i++) {
        if (skip && keys[i]->by == skip) continue;
        o += (size_t)snprintf(p + o, cap - o, "$%zu\r\n", keys[i]->klen);
        memcpy(p + o, keys[i]->key, keys[i]->klen);
        o += keys[i]->klen;
        memcpy(p + o, "\r\n", 2);
        o += 2;
    }
    *len = o;
    return p;
}

static void bk_free_cb(void *priv, dict_node *n) {
    (void)priv;
    free(n);
}

static void bcast_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    bcast_pending = 0;
    for (int i = 0; i < nprefixes; i++) {
        bcast_prefix *bp = prefixes[i];
        size_t n = dict_size(&bp->keys);
        if (!n) continue;
        collect col = {xmalloc(sizeof(bk_key *) * n), 0};
        dict_foreach(&bp->keys, collect_cb, &col);
        qsort(col.v, col.n, sizeof(bk_key *), bk_cmp);
        size_t len = 0;
        char *proto = bcast_reply(col.v, col.n, NULL, &len);
        for (int j = 0; j < bp->nclients; j++) {
            client *c = bp->clients[j];
            if (c->flags & CLIENT_TRACKING_NOLOOP) {
                size_t alen = 0;
                char *adhoc = bcast_reply(col.v, col.n, c, &alen);
                if (adhoc) send_tracking(c, adhoc, alen, 1);
                free(adhoc);
            } else {
                send_tracking(c, proto, len, 1);
            }
        }
        free(proto);
        free(col.v);
        dict_clear(&bp->keys, bk_free_cb, NULL);
    }
}

static bcast_prefix *prefix_find(const char *p, size_t len, int create, int *pos) {
    int lo = 0, hi = nprefixes;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        bcast_prefix *bp = prefixes[mid];
        size_t n = bp->len < len ? bp->len : len;
        int r = memcmp(bp->p, p, n);
        if (!r) r = (bp->len > len) - (bp->len < len);
        if (!r) {
            *pos = mid;
            return bp;
        }
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    if (!create) return NULL;
    bcast_prefix *bp = xcalloc(1, sizeof(*bp));
    bp->p = xmemdup(p, len ? len : 1);
    bp->len = len;
    dict_init(&bp->keys, bk_keyof);
    prefixes = xrealloc(prefixes, sizeof(*prefixes) * (size_t)(nprefixes + 1));
    memmove(prefixes + lo + 1, prefixes + lo, sizeof(*prefixes) * (size_t)(nprefixes - lo));
    prefixes[lo] = bp;
    nprefixes++;
    return bp;
}

static void prefix_add_client(client *c, const char *p, size_t len) {
    tracking_state *ts = c->ts;
    for (int i = 0; i < ts->nprefixes; i++)
        if (ts->plens[i] == len && !memcmp(ts->prefixes[i], p, len)) return;
    int pos;
    bcast_prefix *bp = prefix_find(p, len, 1, &pos);
    if (bp->nclients == bp->cap) {
        bp->cap = bp->cap ? bp->cap * 2 : 4;
        bp->clients = xrealloc(bp->clients, sizeof(client *) * (size_t)bp->cap);
    }
    bp->clients[bp->nclients++] = c;
    ts->prefixes = xrealloc(ts->prefixes, sizeof(char *) * (size_t)(ts->nprefixes + 1));
    ts->plens = xrealloc(ts->plens, sizeof(size_t) * (size_t)(ts->nprefixes + 1));
    ts->prefixes[ts->nprefixes] = xmemdup(p, len ? len : 1);
    ts->plens[ts->nprefixes] = len;
    ts->nprefixes++;
}

static void prefixes_drop_client(client *c) {
    tracking_state *ts = c->ts;
    for (int i = 0; i < ts->nprefixes; i++) {
        int pos;
        bcast_prefix *bp = prefix_find(ts->prefixes[i], ts->plens[i], 0, &pos);
        if (bp) {
            for (int j = 0; j < bp->nclients; j++) {
                if (bp->clients[j] != c) continue;
                memmove(bp->clients + j, bp->clients + j + 1, sizeof(client *) * (size_t)(bp->nclients - j - 1));
                bp->nclients--;
                break;
            }
            if (!bp->nclients) {
                dict_clear(&bp->keys, bk_free_cb, NULL);
                free(bp->clients);
                free(bp->p);
                free(bp);
                memmove(prefixes + pos, prefixes + pos + 1, sizeof(*prefixes) * (size_t)(nprefixes - pos - 1));
                nprefixes--;
            }
        }
        free(ts->prefixes[i]);
    }
    free(ts->prefixes);
    free(ts->plens);
    ts->prefixes = NULL;
    ts->plens = NULL;
    ts->nprefixes = 0;
}

/* ---- enabling ---- */

#define TRACKING_MODE_FLAGS                                                                                            \
    (CLIENT_TRACKING | CLIENT_TRACKING_BROKEN_REDIR | CLIENT_TRACKING_BCAST | CLIENT_TRACKING_OPTIN |                  \
     CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_CACHING | CLIENT_TRACKING_NOLOOP)

static void tracking_disable(client *c) {
    if (!c->ts) return;
    if (c->flags & CLIENT_TRACKING_BCAST) prefixes_drop_client(c);
    if (c->flags & CLIENT_TRACKING) tracking_clients--;
    c->flags &= ~TRACKING_MODE_FLAGS;
}

static void tracking_enable(client *c, uint64_t redir_id, client *redir, uint32_t options, const resp_slice *pfx,
                            int npfx) {
    tracking_start();
    if (!c->ts) {
        c->ts = xcalloc(1, sizeof(tracking_state));
        c->ts->id = c->id;
        c->ts->c = c;
        dict_add(&trackers, &c->ts->node);
    }
    if (!(c->flags & CLIENT_TRACKING)) tracking_clients++;
    c->flags |= CLIENT_TRACKING;
    c->flags &= ~(CLIENT_TRACKING_BROKEN_REDIR | CLIENT_TRACKING_BCAST | CLIENT_TRACKING_OPTIN |
                  CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_NOLOOP);
    c->ts->redir_id = redir_id;
    c->ts->redir = redir;
    if (redir) redir->flags |= CLIENT_TRACKING_TARGET;
    if (options & CLIENT_TRACKING_BCAST) {
        c->flags |= CLIENT_TRACKING_BCAST;
        if (npfx == 0) prefix_add_client(c, "", 0);
        for (int i = 0; i < npfx; i++) prefix_add_client(c, pfx[i].ptr, pfx[i].len);
    }
    c->flags |= options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_NOLOOP);
}

void tracking_client_free(client *c) {
    if (c->flags & CLIENT_TRACKING_TARGET) {
        for (client *o = server.clients; o; o = o->next)
            if (o->ts && o->ts->redir == c) o->ts->redir = NULL;
    }
    if (c == current) current = NULL;
    if (!c->ts) return;
    tracking_disable(c);
    dict_unlink(&trackers, (const char *)&c->ts->id, sizeof(uint64_t));
    free(c->ts);
    c->ts = NULL;
}

void tracking_reset(client *c) { tracking_disable(c); }

static int prefix_overlaps(const char *a, size_t al, const char *b, size_t bl) {
    size_t n = al < bl ? al : bl;
    return memcmp(a, b, n) == 0;
}

/* Redis's checkPrefixCollisionsOrReply (including its return of i after replying, which
 * lets a later overlap through). */
static int prefixes_ok_or_reply(client *c, const resp_slice *pfx, int n) {
    for (int i = 0; i < n; i++) {
        if (c->ts) {
            /* Sorted, as Redis walks its radix tree. */
            int best = -1;
            for (int k = 0; k < c->ts->nprefixes; k++) {
                if (!prefix_overlaps(c->ts->prefixes[k], c->ts->plens[k], pfx[i].ptr, pfx[i].len)) continue;
                if (best < 0) {
                    best = k;
                    continue;
                }
                size_t m = c->ts->plens[k] < c->ts->plens[best] ? c->ts->plens[k] : c->ts->plens[best];
                int r = memcmp(c->ts->prefixes[k], c->ts->prefixes[best], m);
                if (r < 0 || (!r && c->ts->plens[k] < c->ts->plens[best])) best = k;
            }
            if (best >= 0) {
                reply_errorf(&c->out,
                             "Prefix '%.*s' overlaps with an existing prefix '%.*s'. Prefixes for a single client "
                             "must not overlap.",
                             (int)pfx[i].len, pfx[i].ptr, (int)c->ts->plens[best], c->ts->prefixes[best]);
                return 0;
            }
        }
        for (int j = i + 1; j < n; j++) {
            if (prefix_overlaps(pfx[i].ptr, pfx[i].len, pfx[j].ptr, pfx[j].len)) {
                reply_errorf(&c->out,
                             "Prefix '%.*s' overlaps with another provided prefix '%.*s'. Prefixes for a single "
                             "client must not overlap.",
                             (int)pfx[i].len, pfx[i].ptr, (int)pfx[j].len, pfx[j].ptr);
                return i;
            }
        }
    }
    return 1;
}

void cmd_client_tracking(client *c) {
    long long redir = 0;
    client *target = NULL;
    uint32_t options = 0;
    resp_slice *pfx = NULL;
    int npfx = 0;
    for (int j = 3; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "redirect") && more) {
            j++;
            if (redir != 0) {
                reply_error(&c->out, "A client can only redirect to a single other client");
                free(pfx);
                return;
            }
            if (!arg_ll_or_reply(c, j, &redir)) {
                free(pfx);
                return;
            }
            target = NULL;
            for (client *o = server.clients; o && !target; o = o->next)
                if ((long long)o->id == redir && !(o->flags & CLIENT_CLOSE_ASAP)) target = o;
            if (!target) {
                reply_error(&c->out, "The client ID you want redirect to does not exist");
                free(pfx);
                return;
            }
        } else if (arg_is(c, j, "bcast")) {
            options |= CLIENT_TRACKING_BCAST;
        } else if (arg_is(c, j, "optin")) {
            options |= CLIENT_TRACKING_OPTIN;
        } else if (arg_is(c, j, "optout")) {
            options |= CLIENT_TRACKING_OPTOUT;
        } else if (arg_is(c, j, "noloop")) {
            options |= CLIENT_TRACKING_NOLOOP;
        } else if (arg_is(c, j, "prefix") && more) {
            j++;
            pfx = xrealloc(pfx, sizeof(resp_slice) * (size_t)(npfx + 1));
            pfx[npfx++] = c->argv[j];
        } else {
            free(pfx);
            reply_syntax_error(c);
            return;
        }
    }
    const char *err = NULL;
    if (arg_is(c, 2, "on")) {
        if (!(options & CLIENT_TRACKING_BCAST) && npfx) err = "PREFIX option requires BCAST mode to be enabled";
        else if ((c->flags & CLIENT_TRACKING) &&
                 !!(c->flags & CLIENT_TRACKING_BCAST) != !!(options & CLIENT_TRACKING_BCAST))
            err = "You can't switch BCAST mode on/off before disabling tracking for this client, and then "
                  "re-enabling it with a different mode.";
        else if ((options & CLIENT_TRACKING_BCAST) && (options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT)))
            err = "OPTIN and OPTOUT are not compatible with BCAST";
        else if ((options & CLIENT_TRACKING_OPTIN) && (options & CLIENT_TRACKING_OPTOUT))
            err = "You can't specify both OPTIN mode and OPTOUT mode";
        else if (((options & CLIENT_TRACKING_OPTIN) && (c->flags & CLIENT_TRACKING_OPTOUT)) ||
                 ((options & CLIENT_TRACKING_OPTOUT) && (c->flags & CLIENT_TRACKING_OPTIN)))
            err = "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
                  "re-enabling it with a different mode.";
        if (err) {
            reply_error(&c->out, err);
            free(pfx);
            return;
        }
        if ((options & CLIENT_TRACKING_BCAST) && !prefixes_ok_or_reply(c, pfx, npfx)) {
            free(pfx);
            return;
        }
        tracking_enable(c, (uint64_t)redir, target, options, pfx, npfx);
    } else if (arg_is(c, 2, "off")) {
        tracking_disable(c);
    } else {
        free(pfx);
        reply_syntax_error(c);
        return;
    }
    free(pfx);
    reply_ok(&c->out);
}

void cmd_client_caching(client *c) {
    if (!(c->flags & CLIENT_TRACKING)) {
        reply_error(&c->out,
                    "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode "
                    "enabled");
        return;
    }
    if (arg_is(c, 2, "yes")) {
        if (!(c->flags & CLIENT_TRACKING_OPTIN)) {
            reply_error(&c->out, "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
            return;
        }
    } else if (arg_is(c, 2, "no")) {
        if (!(c->flags & CLIENT_TRACKING_OPTOUT)) {
            reply_error(&c->out, "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
            return;
        }
    } else {
        reply_syntax_error(c);
        return;
    }
    c->flags |= CLIENT_TRACKING_CACHING;
    reply_ok(&c->out);
}

long long tracking_redirect_of(const client *c) {
    return (c->flags & CLIENT_TRACKING) ? (long long)c->ts->redir_id : -1;
}

void cmd_client_getredir(client *c) { reply_int(&c->out, tracking_redirect_of(c)); }

void cmd_client_trackinginfo(client *c) {
    const char *flags[8];
    int n = 0;
    flags[n++] = (c->flags & CLIENT_TRACKING) ? "on" : "off";
    if (c->flags & CLIENT_TRACKING_BCAST) flags[n++] = "bcast";
    if (c->flags & CLIENT_TRACKING_OPTIN) {
        flags[n++] = "optin";
        if (c->flags & CLIENT_TRACKING_CACHING) flags[n++] = "caching-yes";
    }
    if (c->flags & CLIENT_TRACKING_OPTOUT) {
        flags[n++] = "optout";
        if (c->flags & CLIENT_TRACKING_CACHING) flags[n++] = "caching-no";
    }
    if (c->flags & CLIENT_TRACKING_NOLOOP) flags[n++] = "noloop";
    if (c->flags & CLIENT_TRACKING_BROKEN_REDIR) flags[n++] = "broken_redirect";
    reply_map(&c->out, 3);
    reply_bulk_cstr(&c->out, "flags");
    reply_set(&c->out, n);
    for (int i = 0; i < n; i++) reply_bulk_cstr(&c->out, flags[i]);
    reply_bulk_cstr(&c->out, "redirect");
    reply_int(&c->out, tracking_redirect_of(c));
    reply_bulk_cstr(&c->out, "prefixes");
    int np = c->ts ? c->ts->nprefixes : 0;
    reply_array(&c->out, np);
    if (!np) return;
    int *order = xmalloc(sizeof(int) * (size_t)np);
    for (int i = 0; i < np; i++) order[i] = i;
    for (int i = 1; i < np; i++) { /* insertion sort by bytes: prefixes are few */
        int v = order[i], j = i - 1;
        while (j >= 0) {
            int a = order[j];
            size_t m = c->ts->plens[a] < c->ts->plens[v] ? c->ts->plens[a] : c->ts->plens[v];
            int r = memcmp(c->ts->prefixes[a], c->ts->prefixes[v], m);
            if (r < 0 || (!r && c->ts->plens[a] <= c->ts->plens[v])) break;
            order[j + 1] = a;
            j--;
        }
        order[j + 1] = v;
    }
    for (int i = 0; i < np; i++) reply_bulk(&c->out, c->ts->prefixes[order[i]], c->ts->plens[order[i]]);
    free(order);
}

void tracking_stats(long *keys, long long *items, long *nprefix) {
    *keys = started ? (long)dict_size(&table) : 0;
    *items = table_items;
    *nprefix = nprefixes;
}

int tracking_active(void) { return started; }

void tracking_free(void) {
    if (!started) return;
    table_clear();
    dict_release(&table);
    db_unsubscribe(key_sub);
    event_free(bcast_ev);
    free(pending);
    free(prefixes);
    dict_release(&trackers);
    started = 0;
}
