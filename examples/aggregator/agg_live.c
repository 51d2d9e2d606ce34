/* agg_live.c: live pages (GET /api/hotels/live): Server-Sent Events fed by pub/sub.
 *
 * A live search (agg_live) exists while pages watch it. Its subscription state:
 *   NONE     not subscribed: pubsub off or its server down, or not asked yet
 *   PENDING  SUBSCRIBE sent, not confirmed
 *   ACTIVE   confirmed: every entry version the owner writes arrives as a message
 *   LEAVING  UNSUBSCRIBE sent (the last page left); a page arriving meanwhile makes it
 *            subscribe again once the unsubscription is confirmed
 * A new page is sent the merged entry at once when the search is ACTIVE and has been read
 * since it became so ("synced": the subscription was in place before that read, so no
 * version can have slipped between them); otherwise after the next read. Every version
 * from anywhere (reads, messages, this process's own fan-out) is merged (agg_entry_merge:
 * order-independent), so messages overtaking a read do no harm, and only changes are
 * sent. The tick reads the entry again (and tries the lease, so a dead owner's search
 * goes on) every live_recheck_ms when ACTIVE, else every live_watch_ms; a read still
 * unanswered after cache_timeout_ms counts as the cache being down. */
#include "agg_live.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#define LIVE_STREAM_TIMEOUT_S 86400 /* a stream is quiet between changes: no idle cut-off */
#define LIVE_IDLE_TIMEOUT_S   60    /* evhttp_set_timeout's, restored when a stream ends */
#define LIVE_KEEPALIVE_MS                                                                                              \
    15000 /* a comment line this often keeps proxies from cutting a
                                       quiet stream, and finds peers that vanished */

enum { SUB_NONE, SUB_PENDING, SUB_ACTIVE, SUB_LEAVING };

typedef struct live_client {
    struct live_client *next;
    agg_live *ls;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    int primed; /* has been sent the current entry */
    int limit;
} live_client;

struct agg_live {
    agg_live *next;
    agg_app *app;
    char key[AGG_KEY_MAX];
    char lease[AGG_KEY_MAX + 8];
    agg_search_params params;
    agg_entry e; /* the merge of every version seen */
    int sub;
    int synced;
    int reading, read_again;
    int64_t read_started_ms;
    int64_t keepalive_ms; /* when the pages were last written to */
    int linked;
    int refs; /* 1 while linked, plus reads in flight */
    live_client *clients;
    struct event *tick;
};

typedef struct live_read_ctx {
    agg_live *ls;
    agg_entry cached;
    int have_cached;
    int sent_active; /* the read was sent while the subscription was ACTIVE */
} live_read_ctx;

static unsigned live_bucket(const char *key) { return (unsigned)(agg_fnv1a(key, strlen(key)) % AGG_LIVE_BUCKETS); }

static agg_live *live_find(agg_app *app, const char *key, size_t len) {
    char k[AGG_KEY_MAX];
    if (len >= sizeof(k)) return NULL;
    memcpy(k, key, len);
    k[len] = '\0';
    for (agg_live *ls = app->live[live_bucket(k)]; ls; ls = ls->next)
        if (strcmp(ls->key, k) == 0) return ls;
    return NULL;
}

/* Not inlined: -O3 otherwise follows an inner release's free() into the outer caller's
 * release and warns (use-after-free) about a path the reference count rules out. */
__attribute__((noinline)) static void live_release(agg_live *ls) {
    if (--ls->refs > 0) return;
    if (ls->tick) event_free(ls->tick);
    agg_entry_free(&ls->e);
    free(ls);
}

static void live_unlink(agg_live *ls) {
    if (!ls->linked) return;
    agg_live **pp = &ls->app->live[live_bucket(ls->key)];
    while (*pp && *pp != ls) pp = &(*pp)->next;
    if (*pp) *pp = ls->next;
    ls->linked = 0;
    ls->app->nlive--;
    event_del(ls->tick);
    live_release(ls);
}

static void live_schedule(agg_live *ls) {
    if (!ls->linked || ls->clients == NULL) {
        event_del(ls->tick);
        return;
    }
    long ms = ls->sub == SUB_ACTIVE ? ls->app->cfg.live_recheck_ms : ls->app->cfg.live_watch_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(ls->tick, &tv);
}

/* ---- the streams ---- */

static void client_write(live_client *c, const char *data, size_t len) {
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) return;
    evbuffer_add(b, data, len);
    evhttp_send_reply_chunk(c->req, b);
    evbuffer_free(b);
}

static void client_send_entry(live_client *c) {
    agg_live *ls = c->ls;
    agg_app *app = ls->app;
    struct evbuffer *json = evbuffer_new(), *b = evbuffer_new();
    if (json == NULL || b == NULL) {
        if (json) evbuffer_free(json);
        if (b) evbuffer_free(b);
        return;
    }
    agg_search_params p = ls->params;
    p.limit = c->limit;
    agg_entry_render(&ls->e, &app->cfg, &p, 0, json);
    size_t n = evbuffer_get_length(json);
    const char *s = (const char *)evbuffer_pullup(json, -1);
    while (n > 0 && s[n - 1] == '\n') n--;
    evbuffer_add(b, "data: ", 6);
    evbuffer_add(b, s, n);
    evbuffer_add(b, "\n\n", 2);
    evhttp_send_reply_chunk(c->req, b);
    evbuffer_free(b);
    evbuffer_free(json);
    c->primed = 1;
    app->live_events++;
}

/* End c's stream (the connection may serve further requests) and forget c. */
static void client_end(live_client *c) {
    evhttp_connection_set_closecb(c->conn, NULL, NULL);
    evhttp_connection_set_timeout(c->conn, LIVE_IDLE_TIMEOUT_S);
    evhttp_send_reply_end(c->req);
    c->ls->app->live_clients--;
    free(c);
}

static void live_maybe_drop(agg_live *ls);

static void live_remove_client(agg_live *ls, live_client *c) {
    live_client **pp = &ls->clients;
    while (*pp && *pp != c) pp = &(*pp)->next;
    if (*pp) *pp = c->next;
}

/* End every stream of ls, each told first that the cache is unavailable if degraded. */
static void live_end_all(agg_live *ls, int degraded) {
    static const char ev[] = "event: degraded\ndata: {\"error\":\"cache unavailable\"}\n\n";
    ls->refs++;
    while (ls->clients) {
        live_client *c = ls->clients;
        ls->clients = c->next;
        if (degraded) client_write(c, ev, sizeof(ev) - 1);
        client_end(c);
    }
    live_maybe_drop(ls);
    live_release(ls);
}

/* Send the merged entry to the pages that need it: all of them if it changed, the new
 * ones if prime (the entry is known current); a complete search ends every stream. */
static void live_push(agg_live *ls, int changed, int prime) {
    int complete = agg_entry_complete(&ls->e);
    for (live_client *c = ls->clients; c; c = c->next)
        if (c->primed ? changed : (prime || complete)) client_send_entry(c);
    if (complete && ls->clients) live_end_all(ls, 0);
}

static void on_client_close(struct evhttp_connection *conn, void *arg) {
    (void)conn;
    live_client *c = arg;
    agg_live *ls = c->ls;
    live_remove_client(ls, c);
    /* libevent detached the unfinished request from the dying connection: ending it
     * frees it */
    evhttp_send_reply_end(c->req);
    ls->app->live_clients--;
    free(c);
    ls->refs++;
    live_maybe_drop(ls);
    live_release(ls);
}

/* ---- reading the entry (and taking the lease) ---- */

static void live_read(agg_live *ls);

static void live_read_done(live_read_ctx *rc) {
    agg_live *ls = rc->ls;
    agg_entry_free(&rc->cached);
    free(rc);
    ls->reading = 0;
    if (ls->read_again && ls->linked && ls->clients) {
        ls->read_again = 0;
        live_read(ls);
    }
    live_release(ls);
}

static void on_live_lease(redisAsyncContext *ac, void *r, void *priv) {
    (void)ac;
    redisReply *reply = r;
    live_read_ctx *rc = priv;
    agg_live *ls = rc->ls;
    if (reply && reply->type == REDIS_REPLY_STATUS) {
        /* the lease is ours: someone must ask the suppliers, pages or not */
        agg_search *s = agg_search_get(ls->app, ls->key, &ls->params);
        if (s) agg_search_take_ownership(s, rc->have_cached ? &rc->cached : NULL);
    }
    live_read_done(rc);
}

static void on_live_get(redisAsyncContext *ac, void *r, void *priv) {
    redisReply *reply = r;
    live_read_ctx *rc = priv;
    agg_live *ls = rc->ls;
    agg_app *app = ls->app;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR || !ls->linked) {
        if (reply && reply->type == REDIS_REPLY_ERROR) fprintf(stderr, "aggregator: cache GET: %s\n", reply->str);
        live_read_done(rc);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING && agg_entry_parse(&rc->cached, &app->cfg, reply->str, reply->len) == 0)
        rc->have_cached = 1;
    int changed = rc->have_cached ? agg_entry_merge(&ls->e, &rc->cached) : 0;
    agg_search *mine = agg_search_find(app, ls->key);
    if (mine && mine->owner) changed |= agg_entry_merge(&ls->e, &mine->e);
    if (rc->sent_active && ls->sub == SUB_ACTIVE) ls->synced = 1;
    live_push(ls, changed, 1); /* rc's reference keeps ls */
    int go_on = ls->linked && ls->clients && !agg_entry_complete(&ls->e);
    live_schedule(ls);
    if (go_on && !(mine && mine->owner) && agg_cache_ctx(&app->cache) == ac &&
        redisAsyncCommand(ac, on_live_lease, rc, "SET %s %s NX PX %ld", ls->lease, app->cfg.owner_id,
                          agg_config_lease_ms(&app->cfg)) == REDIS_OK)
        return;
    live_read_done(rc);
}

static void live_read(agg_live *ls) {
    if (ls->reading) {
        ls->read_again = 1;
        return;
    }
    redisAsyncContext *ac = agg_cache_ctx(&ls->app->cache);
    if (ac == NULL) return; /* the cache's state callback ends the streams */
    live_read_ctx *rc = calloc(1, sizeof(*rc));
    if (rc == NULL) return;
    rc->ls = ls;
    rc->sent_active = ls->sub == SUB_ACTIVE;
    agg_entry_init(&rc->cached, ls->app->cfg.nsuppliers);
    if (redisAsyncCommand(ac, on_live_get, rc, "GET %s", ls->key) != REDIS_OK) {
        free(rc);
        return;
    }
    ls->reading = 1;
    ls->read_started_ms = agg_mono_ms();
    ls->refs++;
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    agg_live *ls = arg;
    if (!ls->linked || ls->clients == NULL) return;
    int64_t now = agg_mono_ms();
    if (now - ls->keepalive_ms >= LIVE_KEEPALIVE_MS) {
        ls->keepalive_ms = now;
        for (live_client *c = ls->clients; c; c = c->next) client_write(c, ":\n\n", 3);
    }
    if (ls->reading) {
        if (agg_mono_ms() - ls->read_started_ms > ls->app->cfg.cache_timeout_ms) {
            ls->app->cache_timeouts++;
            live_end_all(ls, 1); /* a hung cache: the pages poll until it answers */
        }
        return;
    }
    live_read(ls);
}

/* ---- the subscription ---- */

static void live_subscribe(agg_live *ls) {
    agg_app *app = ls->app;
    if (ls->sub != SUB_NONE || !app->sub_on || !app->sub.ready) return;
    if (agg_sub_subscribe(&app->sub, ls->key) == 0) ls->sub = SUB_PENDING;
}

/* ls has no page left: unsubscribe, then forget it. */
static void live_maybe_drop(agg_live *ls) {
    if (ls->clients || !ls->linked) return;
    event_del(ls->tick);
    if (ls->sub == SUB_PENDING || ls->sub == SUB_LEAVING) return; /* decided on confirmation */
    if (ls->sub == SUB_ACTIVE) {
        ls->synced = 0;
        if (agg_sub_unsubscribe(&ls->app->sub, ls->key) == 0) {
            ls->sub = SUB_LEAVING;
            return;
        }
        ls->sub = SUB_NONE;
    }
    live_unlink(ls);
}

static void on_sub_message(void *arg, const char *channel, size_t chlen, const char *data, size_t len) {
    agg_app *app = arg;
    agg_live *ls = live_find(app, channel, chlen);
    if (ls == NULL) return;
    agg_entry e;
    agg_entry_init(&e, app->cfg.nsuppliers);
    if (agg_entry_parse(&e, &app->cfg, data, len) == 0) {
        ls->refs++;
        live_push(ls, agg_entry_merge(&ls->e, &e), 0);
        live_release(ls);
    }
    agg_entry_free(&e);
}

static void on_sub_subscribed(void *arg, const char *channel, size_t chlen) {
    agg_live *ls = live_find(arg, channel, chlen);
    if (ls == NULL || ls->sub != SUB_PENDING) return;
    ls->sub = SUB_ACTIVE;
    if (ls->clients == NULL) {
        live_maybe_drop(ls);
        return;
    }
    live_read(ls); /* after one in flight, which was sent before now and does not sync */
    live_schedule(ls);
}

static void on_sub_unsubscribed(void *arg, const char *channel, size_t chlen) {
    agg_live *ls = live_find(arg, channel, chlen);
    if (ls == NULL || ls->sub != SUB_LEAVING) return;
    ls->sub = SUB_NONE;
    if (ls->clients == NULL) {
        live_unlink(ls);
        return;
    }
    live_subscribe(ls);
    if (ls->sub == SUB_NONE) live_read(ls);
    live_schedule(ls);
}

static void on_sub_state(void *arg, int up) {
    agg_app *app = arg;
    for (int b = 0; b < AGG_LIVE_BUCKETS; b++) {
        agg_live *ls = app->live[b];
        while (ls) {
            agg_live *next = ls->next;
            if (up) {
                if (ls->clients) live_subscribe(ls);
            } else {
                ls->sub = SUB_NONE;
                ls->synced = 0;
                if (ls->clients == NULL) {
                    live_unlink(ls);
                } else {
                    live_read(ls); /* a message may have been lost with the connection */
                    live_schedule(ls);
                }
            }
            ls = next;
        }
    }
}

static void on_cache_state(void *arg, int up) {
    agg_app *app = arg;
    if (up) return;
    for (int b = 0; b < AGG_LIVE_BUCKETS; b++) {
        agg_live *ls = app->live[b];
        while (ls) {
            agg_live *next = ls->next;
            live_end_all(ls, 1); /* may free ls, never next */
            ls = next;
        }
    }
}

/* ---- entry points ---- */

void agg_live_open(agg_app *app, struct evhttp_request *req, const agg_search_params *p) {
    app->live_streams++;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply_start(req, 200, "OK");
    static const char hello[] = "retry: 1000\n\n";
    live_client tmp = {.req = req};
    if (agg_cache_ctx(&app->cache) == NULL) {
        static const char ev[] = "event: degraded\ndata: {\"error\":\"cache unavailable\"}\n\n";
        client_write(&tmp, hello, sizeof(hello) - 1);
        client_write(&tmp, ev, sizeof(ev) - 1);
        evhttp_send_reply_end(req);
        return;
    }
    char key[AGG_KEY_MAX], lease[AGG_KEY_MAX + 8];
    agg_search_key(&app->cfg, p, key, lease);
    agg_live *ls = live_find(app, key, strlen(key));
    live_client *c = calloc(1, sizeof(*c));
    if (ls == NULL && c) {
        ls = calloc(1, sizeof(*ls));
        if (ls) ls->tick = event_new(app->base, -1, EV_PERSIST, on_tick, ls);
        if (ls == NULL || ls->tick == NULL) {
            free(ls);
            ls = NULL;
        } else {
            ls->app = app;
            snprintf(ls->key, sizeof(ls->key), "%s", key);
            snprintf(ls->lease, sizeof(ls->lease), "%s", lease);
            ls->params = *p;
            ls->params.limit = 0;
            ls->keepalive_ms = agg_mono_ms();
            agg_entry_init(&ls->e, app->cfg.nsuppliers);
            unsigned b = live_bucket(key);
            ls->next = app->live[b];
            app->live[b] = ls;
            ls->linked = 1;
            ls->refs = 1;
            app->nlive++;
        }
    }
    if (ls == NULL || c == NULL) {
        free(c);
        evhttp_send_reply_end(req);
        return;
    }
    c->ls = ls;
    c->req = req;
    c->conn = evhttp_request_get_connection(req);
    c->limit = p->limit;
    c->next = ls->clients;
    ls->clients = c;
    app->live_clients++;
    evhttp_connection_set_timeout(c->conn, LIVE_STREAM_TIMEOUT_S);
    evhttp_connection_set_closecb(c->conn, on_client_close, c);
    /* each event is a small write: Nagle would hold one sent while the previous one's
     * ACK is delayed (up to 40 ms) */
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c->conn));
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    client_write(c, hello, sizeof(hello) - 1);

    ls->refs++;
    live_subscribe(ls);
    if (ls->sub == SUB_ACTIVE && ls->synced) {
        client_send_entry(c);
        if (agg_entry_complete(&ls->e)) live_end_all(ls, 0);
    } else if (ls->sub == SUB_NONE) {
        live_read(ls); /* no subscription to wait for */
    }
    live_schedule(ls);
    live_release(ls);
}

void agg_live_local(agg_app *app, const char *key, const agg_entry *e) {
    agg_live *ls = live_find(app, key, strlen(key));
    if (ls == NULL) return;
    ls->refs++;
    live_push(ls, agg_entry_merge(&ls->e, e), 0);
    live_release(ls);
}

void agg_live_publish(agg_app *app, const char *key, const char *data, size_t len) {
    /* only where a subscription was confirmed: a proxy closes the connection on PUBLISH */
    if (!app->sub_on || !app->sub.ready) return;
    redisAsyncContext *ac = app->cfg.pubsub == AGG_PUBSUB_CACHE    ? agg_cache_ctx(&app->cache)
                            : app->cfg.pubsub == AGG_PUBSUB_SERVER ? agg_cache_ctx(&app->pubcache)
                                                                   : NULL;
    if (ac && redisAsyncCommand(ac, NULL, NULL, "PUBLISH %s %b", key, data, len) == REDIS_OK) app->published++;
}

int agg_live_init(agg_app *app) {
    agg_config *cfg = &app->cfg;
    app->cache.on_state = on_cache_state;
    app->cache.state_arg = app;
    if (cfg->pubsub == AGG_PUBSUB_OFF) return 0;
    const char *host = cfg->pubsub == AGG_PUBSUB_SERVER ? cfg->pubsub_host : cfg->cache_host;
    int port = cfg->pubsub == AGG_PUBSUB_SERVER ? cfg->pubsub_port : cfg->cache_port;
    agg_sub_handlers h = {on_sub_message, on_sub_subscribed, on_sub_unsubscribed, on_sub_state};
    char probe[96];
    snprintf(probe, sizeof(probe), "agg:%s:probe", cfg->fingerprint);
    if (agg_sub_init(&app->sub, app->base, host, port, cfg->reconnect_ms, probe, &h, app) != 0) return -1;
    app->sub_on = 1;
    if (cfg->pubsub == AGG_PUBSUB_SERVER) {
        if (agg_cache_init(&app->pubcache, app->base, host, port, cfg->reconnect_ms) != 0) return -1;
        app->pubcache_on = 1;
    }
    return 0;
}

void agg_live_shutdown(agg_app *app) {
    app->cache.on_state = NULL;
    for (int b = 0; b < AGG_LIVE_BUCKETS; b++)
        while (app->live[b]) {
            agg_live *ls = app->live[b];
            ls->refs++;
            while (ls->clients) {
                live_client *c = ls->clients;
                ls->clients = c->next;
                client_end(c);
            }
            ls->sub = SUB_NONE;
            live_unlink(ls);
            live_release(ls);
        }
    if (app->sub_on) agg_sub_close(&app->sub);
    if (app->pubcache_on) agg_cache_close(&app->pubcache);
}
