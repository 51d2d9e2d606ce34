/* agg_search.c: in-memory searches, supplier calls and publishing to the cache.
 *
 * Supplier calls: one evhttp connection per call. A timer settles the supplier as
 * "timeout" after its configured timeout; the connection's own timeout (1 s later) is a
 * backstop that guarantees the request callback runs, which is where a call is freed.
 * A call that settles after its supplier was settled is ignored. The connection is freed
 * from the loop just after the request callback (libevent 2.1 does not free an
 * auto-free connection whose connect failed, and must not free it inside the callback).
 *
 * Publishing: the owner writes the whole entry with SET key value XX KEEPTTL, so the TTL
 * set when the entry was created (SET NX PX) holds for every view; if the entry is gone
 * (expired or the cache restarted empty) it is created again with SET NX PX. Each version
 * written is then PUBLISHed on the channel named like the key for the live pages of
 * every aggregator (agg_live.c), and handed to this process's own at once. */
#include "agg_search.h"

#include "agg_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#define AGG_SUPPLIER_BODY_MAX (4 * 1024 * 1024) /* a larger answer counts as failed */

typedef struct supplier_call {
    agg_search *s;
    int idx;
    int settled;
    struct event *timer;
    struct evhttp_connection *conn;
} supplier_call;

void agg_search_key(const agg_config *cfg, const agg_search_params *p, char *key, char *lease) {
    snprintf(key, AGG_KEY_MAX, "agg:%s:%s|%s|%s|%d", cfg->fingerprint, p->destination, p->checkin, p->checkout,
             p->guests);
    snprintf(lease, AGG_KEY_MAX + 8, "%s:lease", key);
}

static unsigned bucket_of(const char *key) { return (unsigned)(agg_fnv1a(key, strlen(key)) % AGG_SEARCH_BUCKETS); }

static void search_unlink(agg_search *s) {
    if (!s->linked) return;
    agg_search **pp = &s->app->buckets[bucket_of(s->key)];
    while (*pp && *pp != s) pp = &(*pp)->next;
    if (*pp) *pp = s->next;
    s->linked = 0;
    s->app->nsearches--;
}

static void search_release(agg_search *s) {
    if (--s->refs > 0 || s->linked) return;
    agg_entry_free(&s->e);
    free(s);
}

agg_search *agg_search_find(agg_app *app, const char *key) {
    int64_t now = agg_mono_ms();
    for (agg_search *s = app->buckets[bucket_of(key)]; s; s = s->next) {
        if (strcmp(s->key, key) != 0) continue;
        if (s->expires_mono_ms > now) return s;
        s->refs++;
        search_unlink(s);
        search_release(s);
        return NULL;
    }
    return NULL;
}

agg_search *agg_search_get(agg_app *app, const char *key, const agg_search_params *p) {
    agg_search *s = agg_search_find(app, key);
    if (s) return s;
    s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    s->app = app;
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->params = *p;
    agg_entry_init(&s->e, app->cfg.nsuppliers);
    s->expires_mono_ms = agg_mono_ms() + app->cfg.ttl_ms;
    unsigned b = bucket_of(key);
    s->next = app->buckets[b];
    app->buckets[b] = s;
    s->linked = 1;
    app->nsearches++;
    return s;
}

/* ---- publishing to the cache ---- */

typedef struct publish_ctx {
    agg_search *s;
    char *data;
    size_t len;
} publish_ctx;

static void publish_ctx_free(publish_ctx *pc) {
    free(pc->data);
    free(pc);
}

/* A copy of s's entry in its cached text form, or NULL. */
static publish_ctx *publish_ctx_new(agg_search *s) {
    struct evbuffer *b = evbuffer_new();
    publish_ctx *pc = calloc(1, sizeof(*pc));
    if (b && pc) {
        agg_entry_serialize(&s->e, &s->app->cfg, b);
        pc->s = s;
        pc->len = evbuffer_get_length(b);
        pc->data = malloc(pc->len + 1);
    }
    if (b == NULL || pc == NULL || pc->data == NULL) {
        if (b) evbuffer_free(b);
        if (pc) publish_ctx_free(pc);
        return NULL;
    }
    evbuffer_remove(b, pc->data, pc->len);
    evbuffer_free(b);
    return pc;
}

/* The entry was written: tell the live pages everywhere. Published after the write's
 * reply, so a page that subscribed and then read the entry cannot miss this version: if
 * its read came before the write, its subscription came before this message. */
static void publish_written(publish_ctx *pc) { agg_live_publish(pc->s->app, pc->s->key, pc->data, pc->len); }

static void on_publish_create(redisAsyncContext *ac, void *r, void *priv) {
    (void)ac;
    redisReply *reply = r;
    publish_ctx *pc = priv;
    agg_search *s = pc->s;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        s->app->cache_errors++;
        if (reply) fprintf(stderr, "aggregator: cache SET NX PX: %s\n", reply->str);
    } else if (reply->type == REDIS_REPLY_STATUS) {
        publish_written(pc);
    }
    publish_ctx_free(pc);
    search_release(s);
}

/* Create the entry (taking pc). */
static void search_publish_create(agg_search *s, redisAsyncContext *ac, publish_ctx *pc) {
    long long ttl = s->expires_mono_ms - agg_mono_ms();
    if (ttl > 0 && redisAsyncCommand(ac, on_publish_create, pc, "SET %s %b NX PX %lld", s->key, pc->data, pc->len,
                                     ttl) == REDIS_OK) {
        s->refs++;
        return;
    }
    publish_ctx_free(pc);
}

static void on_publish(redisAsyncContext *ac, void *r, void *priv) {
    redisReply *reply = r;
    publish_ctx *pc = priv;
    agg_search *s = pc->s;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        s->app->cache_errors++;
        if (reply) fprintf(stderr, "aggregator: cache SET XX KEEPTTL: %s\n", reply->str);
    } else if (reply->type == REDIS_REPLY_NIL) {
        if (agg_cache_ctx(&s->app->cache) == ac) {
            search_publish_create(s, ac, pc);
            pc = NULL;
        }
    } else {
        publish_written(pc);
    }
    if (pc) publish_ctx_free(pc);
    search_release(s);
}

/* Write s's entry to the cache if s owns it and the cache is up. */
static void search_publish(agg_search *s) {
    redisAsyncContext *ac = agg_cache_ctx(&s->app->cache);
    if (!s->owner) return;
    agg_live_local(s->app, s->key, &s->e);
    if (ac == NULL) return;
    publish_ctx *pc = publish_ctx_new(s);
    if (pc == NULL) return;
    if (redisAsyncCommand(ac, on_publish, pc, "SET %s %b XX KEEPTTL", s->key, pc->data, pc->len) != REDIS_OK) {
        publish_ctx_free(pc);
        return;
    }
    s->refs++;
}

void agg_search_take_ownership(agg_search *s, const agg_entry *cached) {
    s->owner = 1;
    if (cached) agg_entry_merge(&s->e, cached);
    redisAsyncContext *ac = agg_cache_ctx(&s->app->cache);
    if (cached) {
        search_publish(s);
    } else {
        agg_live_local(s->app, s->key, &s->e);
        publish_ctx *pc = ac ? publish_ctx_new(s) : NULL;
        if (pc) search_publish_create(s, ac, pc);
    }
    agg_search_fan_out(s);
}

/* ---- supplier calls ---- */

/* Record supplier idx's outcome once, then publish. */
static void search_settle(agg_search *s, int idx, int status, const char *body, size_t len) {
    s->calling[idx] = 0;
    if (s->e.status[idx] != AGG_PENDING) return;
    if (status == AGG_OK) agg_entry_add_supplier_body(&s->e, idx, body, len);
    else s->e.status[idx] = (unsigned char)status;
    search_publish(s);
}

static void on_supplier_timeout(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    supplier_call *call = arg;
    if (call->settled) return;
    call->settled = 1;
    fprintf(stderr, "aggregator: supplier %s timed out for %s\n", call->s->app->cfg.suppliers[call->idx].name,
            call->s->key);
    search_settle(call->s, call->idx, AGG_TIMEOUT, NULL, 0);
}

static void free_connection(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    evhttp_connection_free(arg);
}

static void on_supplier_done(struct evhttp_request *req, void *arg) {
    supplier_call *call = arg;
    agg_search *s = call->s;
    if (!call->settled) {
        call->settled = 1;
        int code = req ? evhttp_request_get_response_code(req) : 0;
        if (code == 200) {
            struct evbuffer *in = evhttp_request_get_input_buffer(req);
            size_t len = evbuffer_get_length(in);
            const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
            search_settle(s, call->idx, AGG_OK, body, len);
        } else {
            fprintf(stderr, "aggregator: supplier %s failed for %s (HTTP %d)\n", s->app->cfg.suppliers[call->idx].name,
                    s->key, code);
            search_settle(s, call->idx, AGG_FAILED, NULL, 0);
        }
    }
    struct timeval now = {0, 0};
    if (event_base_once(s->app->base, -1, EV_TIMEOUT, free_connection, call->conn, &now) != 0)
        fprintf(stderr, "aggregator: cannot schedule a connection's release\n");
    event_free(call->timer);
    free(call);
    search_release(s);
}

static void search_call_supplier(agg_search *s, int idx) {
    agg_app *app = s->app;
    const agg_supplier_cfg *sc = &app->cfg.suppliers[idx];
    const agg_search_params *p = &s->params;
    char *dest = evhttp_uriencode(p->destination, -1, 0);
    char uri[512];
    snprintf(uri, sizeof(uri), "%s/search?destination=%s&checkin=%s&checkout=%s&guests=%d", sc->path, dest ? dest : "",
             p->checkin, p->checkout, p->guests);
    free(dest);

    supplier_call *call = calloc(1, sizeof(*call));
    struct evhttp_connection *conn = evhttp_connection_base_new(app->base, NULL, sc->host, (unsigned short)sc->port);
    struct evhttp_request *req = call ? evhttp_request_new(on_supplier_done, call) : NULL;
    if (call) call->timer = evtimer_new(app->base, on_supplier_timeout, call);
    if (call == NULL || conn == NULL || req == NULL || call->timer == NULL) {
        if (req) evhttp_request_free(req);
        if (conn) evhttp_connection_free(conn);
        if (call && call->timer) event_free(call->timer);
        free(call);
        search_settle(s, idx, AGG_FAILED, NULL, 0);
        return;
    }
    call->s = s;
    call->idx = idx;
    call->conn = conn;
    long backstop = sc->timeout_ms + 1000;
    struct timeval ctv = {backstop / 1000, (backstop % 1000) * 1000};
    evhttp_connection_set_timeout_tv(conn, &ctv);
    evhttp_connection_set_retries(conn, 0);
    evhttp_connection_set_max_body_size(conn, AGG_SUPPLIER_BODY_MAX);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", sc->host);
    evhttp_add_header(h, "Connection", "close");
    s->refs++;
    s->calling[idx] = 1;
    app->supplier_requests++;
    if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, uri) != 0) {
        /* the request was freed by libevent; its callback will not run */
        evhttp_connection_free(conn);
        event_free(call->timer);
        free(call);
        search_settle(s, idx, AGG_FAILED, NULL, 0);
        search_release(s);
        return;
    }
    struct timeval ttv = {sc->timeout_ms / 1000, (sc->timeout_ms % 1000) * 1000};
    evtimer_add(call->timer, &ttv);
}

void agg_search_fan_out(agg_search *s) {
    s->refs++; /* a synchronous failure must not free s under us */
    for (int i = 0; i < s->e.nsuppliers; i++)
        if (s->e.status[i] == AGG_PENDING && !s->calling[i]) search_call_supplier(s, i);
    search_release(s);
}

/* ---- expiry ---- */

static void on_sweep(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    agg_app *app = arg;
    int64_t now = agg_mono_ms();
    for (int b = 0; b < AGG_SEARCH_BUCKETS; b++) {
        agg_search *s = app->buckets[b];
        while (s) {
            agg_search *next = s->next;
            if (s->expires_mono_ms <= now) {
                s->refs++;
                search_unlink(s);
                search_release(s);
            }
            s = next;
        }
    }
}

int agg_search_init(agg_app *app) {
    app->sweep = event_new(app->base, -1, EV_PERSIST, on_sweep, app);
    if (app->sweep == NULL) return -1;
    struct timeval tv = {1, 0};
    return event_add(app->sweep, &tv);
}

void agg_search_shutdown(agg_app *app) {
    if (app->sweep) event_free(app->sweep);
    app->sweep = NULL;
}
