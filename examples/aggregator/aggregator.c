/* aggregator.c: hotel-price search over several suppliers, with respite as the shared
 * cache. The HTTP API and the web page, on one libevent loop.
 *
 * A request for a search (see README.md for the whole protocol):
 *   1. GET the search's entry. Complete: answer it.
 *   2. Otherwise try to take the fan-out: SET lease owner NX PX lease_ms. The winner
 *      (exactly one process, until the lease expires) merges what was cached, asks the
 *      suppliers still pending and publishes each answer into the entry; everyone else
 *      answers what the entry holds.
 *   3. Whenever the cache is unavailable (not connected, or the connection drops while a
 *      command is pending), answer from this process's memory instead, asking the
 *      suppliers itself if it has not yet, and mark the answer "degraded". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "agg_live.h"
#include "agg_search.h"

extern const unsigned char agg_web_page[];
extern const size_t agg_web_page_len;

/* One /api/hotels request waiting on the cache. If the cache does not answer within
 * cache_timeout_ms the request is answered degraded at once; the structure itself lives
 * until the pending cache command calls back (with a reply, or NULL when the connection
 * drops), which hiredis guarantees. */
typedef struct api_req {
    agg_app *app;
    struct evhttp_request *req;
    struct event *timer;
    int answered;
    agg_search_params params;
    char key[AGG_KEY_MAX];
    char lease[AGG_KEY_MAX + 8];
    agg_entry cached;
    int have_cached;
} api_req;

static void reply_json(struct evhttp_request *req, int code, struct evbuffer *body) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    const char *reason = code == 200   ? "OK"
                         : code == 400 ? "Bad Request"
                         : code == 404 ? "Not Found"
                         : code == 405 ? "Method Not Allowed"
                                       : "Service Unavailable";
    evhttp_send_reply(req, code, reason, body);
}

static void reply_error(struct evhttp_request *req, int code, const char *msg) {
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"error\":");
    agg_json_cstr(b, msg);
    evbuffer_add_printf(b, "}\n");
    reply_json(req, code, b);
    evbuffer_free(b);
}

static void reply_entry(agg_app *app, struct evhttp_request *req, agg_entry *e, const agg_search_params *p,
                        int degraded) {
    struct evbuffer *b = evbuffer_new();
    agg_entry_render(e, &app->cfg, p, degraded, b);
    reply_json(req, 200, b);
    evbuffer_free(b);
}

static void api_req_free(api_req *ar) {
    if (ar->timer) event_free(ar->timer);
    agg_entry_free(&ar->cached);
    free(ar);
}

/* The cache is unavailable: answer from memory, fanning out locally if needed. */
static void serve_degraded(api_req *ar) {
    if (ar->answered) return;
    ar->answered = 1;
    agg_search *s = agg_search_get(ar->app, ar->key, &ar->params);
    if (s == NULL) {
        reply_error(ar->req, 503, "out of memory");
        return;
    }
    agg_search_fan_out(s);
    reply_entry(ar->app, ar->req, &s->e, &ar->params, 1);
}

static void on_cache_timeout(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    api_req *ar = arg;
    ar->app->cache_timeouts++;
    serve_degraded(ar);
}

/* The lease reply. Winning it makes this process the owner even if the request was
 * already answered (degraded, after a cache timeout): someone must ask the suppliers. */
static void on_lease(redisAsyncContext *ac, void *r, void *priv) {
    (void)ac;
    redisReply *reply = r;
    api_req *ar = priv;
    agg_search *s = NULL;
    int won = reply != NULL && reply->type == REDIS_REPLY_STATUS;
    if (won) {
        s = agg_search_get(ar->app, ar->key, &ar->params);
        if (s) agg_search_take_ownership(s, ar->have_cached ? &ar->cached : NULL);
    }
    if (!ar->answered) {
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            if (reply) fprintf(stderr, "aggregator: cache SET NX PX: %s\n", reply->str);
            serve_degraded(ar);
        } else if (won) {
            if (s) reply_entry(ar->app, ar->req, &s->e, &ar->params, 0);
            else reply_error(ar->req, 503, "out of memory");
        } else {
            reply_entry(ar->app, ar->req, &ar->cached, &ar->params, 0);
        }
        ar->answered = 1;
    }
    api_req_free(ar);
}

static void on_get(redisAsyncContext *ac, void *r, void *priv) {
    redisReply *reply = r;
    api_req *ar = priv;
    agg_app *app = ar->app;
    if (ar->answered) {
        api_req_free(ar);
        return;
    }
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply) fprintf(stderr, "aggregator: cache GET: %s\n", reply->str);
        serve_degraded(ar);
        api_req_free(ar);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING && agg_entry_parse(&ar->cached, &app->cfg, reply->str, reply->len) == 0)
        ar->have_cached = 1;
    agg_search *mine = agg_search_find(app, ar->key);
    if (agg_entry_complete(&ar->cached) || (mine && mine->owner)) {
        /* the owner answers from its own state: what it publishes, or a little newer */
        ar->answered = 1;
        reply_entry(app, ar->req, (mine && mine->owner) ? &mine->e : &ar->cached, &ar->params, 0);
        api_req_free(ar);
        return;
    }
    if (agg_cache_ctx(&app->cache) != ac ||
        redisAsyncCommand(ac, on_lease, ar, "SET %s %s NX PX %ld", ar->lease, app->cfg.owner_id,
                          agg_config_lease_ms(&app->cfg)) != REDIS_OK) {
        serve_degraded(ar);
        api_req_free(ar);
    }
}

/* Validate the search's parameters; on an error the request is answered. Returns 0. */
static int parse_search(struct evhttp_request *req, agg_search_params *p) {
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_error(req, 405, "use GET");
        return -1;
    }
    agg_query q;
    const char *err = "malformed query string";
    if (agg_query_parse(&q, evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req))) != 0) {
        reply_error(req, 400, err);
        return -1;
    }
    int rc = agg_params_from_query(p, &q, &err);
    agg_query_free(&q);
    if (rc != 0) reply_error(req, 400, err);
    return rc;
}

static void handle_live(agg_app *app, struct evhttp_request *req) {
    agg_search_params p;
    if (parse_search(req, &p) == 0) agg_live_open(app, req, &p);
}

static void handle_api_hotels(agg_app *app, struct evhttp_request *req) {
    app->api_requests++;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_error(req, 405, "use GET");
        return;
    }
    agg_query q;
    const char *err = "malformed query string";
    if (agg_query_parse(&q, evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req))) != 0) {
        reply_error(req, 400, err);
        return;
    }
    api_req *ar = calloc(1, sizeof(*ar));
    if (ar == NULL) {
        agg_query_free(&q);
        reply_error(req, 503, "out of memory");
        return;
    }
    int rc = agg_params_from_query(&ar->params, &q, &err);
    agg_query_free(&q);
    if (rc != 0) {
        free(ar);
        reply_error(req, 400, err);
        return;
    }
    ar->app = app;
    ar->req = req;
    agg_entry_init(&ar->cached, app->cfg.nsuppliers);
    agg_search_key(&app->cfg, &ar->params, ar->key, ar->lease);
    redisAsyncContext *ac = agg_cache_ctx(&app->cache);
    if (ac == NULL || redisAsyncCommand(ac, on_get, ar, "GET %s", ar->key) != REDIS_OK) {
        serve_degraded(ar);
        api_req_free(ar);
        return;
    }
    ar->timer = evtimer_new(app->base, on_cache_timeout, ar);
    long ms = app->cfg.cache_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (ar->timer) evtimer_add(ar->timer, &tv);
}

static void handle_status(agg_app *app, struct evhttp_request *req) {
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"id\":");
    agg_json_cstr(b, app->cfg.owner_id);
    evbuffer_add_printf(b,
                        ",\"cache\":\"%s\",\"cache_connects\":%lld,\"cache_disconnects\":%lld,"
                        "\"cache_errors\":%lld,\"cache_timeouts\":%lld,\"searches_in_memory\":%ld,"
                        "\"supplier_requests\":%lld,\"api_requests\":%lld,\"subscriber\":\"%s\","
                        "\"subscriber_connects\":%lld,\"messages\":%lld,\"published\":%lld,"
                        "\"live_searches\":%ld,\"live_clients\":%ld,\"live_streams\":%lld,"
                        "\"live_events\":%lld,\"suppliers\":[",
                        agg_cache_ctx(&app->cache) ? "connected" : "disconnected", app->cache.connects,
                        app->cache.disconnects, app->cache_errors, app->cache_timeouts, app->nsearches,
                        app->supplier_requests, app->api_requests,
                        !app->sub_on       ? "off"
                        : app->sub.ready   ? "connected"
                        : app->sub.refused ? "refused"
                                           : "disconnected",
                        app->sub.connects, app->sub.messages, app->published, app->nlive, app->live_clients,
                        app->live_streams, app->live_events);
    for (int i = 0; i < app->cfg.nsuppliers; i++) {
        if (i) evbuffer_add(b, ",", 1);
        agg_json_cstr(b, app->cfg.suppliers[i].name);
    }
    evbuffer_add_printf(b, "]}\n");
    reply_json(req, 200, b);
    evbuffer_free(b);
}

static void handle_page(struct evhttp_request *req) {
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_reference(b, agg_web_page, agg_web_page_len, NULL, NULL);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void handle_any(struct evhttp_request *req, void *arg) {
    agg_app *app = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (path == NULL || path[0] == '\0') path = "/";
    if (strcmp(path, "/api/hotels") == 0) handle_api_hotels(app, req);
    else if (strcmp(path, "/api/hotels/live") == 0) handle_live(app, req);
    else if (strcmp(path, "/api/status") == 0) handle_status(app, req);
    else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) handle_page(req);
    else reply_error(req, 404, "not found");
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static void usage(void) {
    fprintf(stderr, "usage: aggregator --config FILE [--port N] [--cache HOST:PORT]\n");
    exit(2);
}

int main(int argc, char **argv) {
    static agg_app app;
    const char *config = NULL, *cache = NULL;
    long port = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--config") == 0) config = argv[++i];
        else if (strcmp(argv[i], "--port") == 0) port = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cache") == 0) cache = argv[++i];
        else usage();
    }
    if (config == NULL) usage();
    if (agg_config_load(&app.cfg, config) != 0) return 1;
    if (port > 0 && port <= 65535) app.cfg.listen_port = (int)port;
    if (cache && agg_config_hostport(cache, app.cfg.cache_host, sizeof(app.cfg.cache_host), &app.cfg.cache_port) != 0)
        usage();
    agg_config_finish(&app.cfg);
    signal(SIGPIPE, SIG_IGN);

    app.base = event_base_new();
    if (app.base == NULL) {
        fprintf(stderr, "aggregator: event_base_new failed\n");
        return 1;
    }
    struct evhttp *http = evhttp_new(app.base);
    if (http == NULL || evhttp_bind_socket(http, app.cfg.listen_host, (ev_uint16_t)app.cfg.listen_port) != 0) {
        fprintf(stderr, "aggregator: cannot listen on %s:%d\n", app.cfg.listen_host, app.cfg.listen_port);
        return 1;
    }
    evhttp_set_gencb(http, handle_any, &app);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(http, 16384);
    evhttp_set_max_body_size(http, 4096);
    evhttp_set_timeout(http, 60); /* idle keep-alive connections */
    if (agg_cache_init(&app.cache, app.base, app.cfg.cache_host, app.cfg.cache_port, app.cfg.reconnect_ms) != 0 ||
        agg_search_init(&app) != 0 || agg_live_init(&app) != 0) {
        fprintf(stderr, "aggregator: cannot create timers\n");
        return 1;
    }
    struct event *sigint = evsignal_new(app.base, SIGINT, on_signal, app.base);
    struct event *sigterm = evsignal_new(app.base, SIGTERM, on_signal, app.base);
    if (sigint == NULL || sigterm == NULL) return 1;
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    printf("aggregator %s listening on http://%s:%d/ (cache %s:%d, %d suppliers, ttl %ld ms)\n", app.cfg.owner_id,
           app.cfg.listen_host, app.cfg.listen_port, app.cfg.cache_host, app.cfg.cache_port, app.cfg.nsuppliers,
           app.cfg.ttl_ms);
    fflush(stdout);

    event_base_dispatch(app.base);

    event_free(sigterm);
    event_free(sigint);
    agg_live_shutdown(&app);
    agg_cache_close(&app.cache);
    agg_search_shutdown(&app);
    evhttp_free(http);
    event_base_free(app.base);
    return 0;
}
