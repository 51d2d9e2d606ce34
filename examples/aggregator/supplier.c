/* supplier.c: a mock hotel supplier for tests, the demo and the benchmark.
 *
 * GET /search?destination=D&checkin=...&checkout=...&guests=N answers, after a latency
 * drawn uniformly from [--latency-ms MIN-MAX] (or, with probability --tail-rate, equal to
 * --tail-ms: the occasional very slow answer), either HTTP 500 (with probability
 * --fail-rate) or 200 with one offer per line, "hotel_id TAB price_cents TAB name".
 * The offers are deterministic: the hotels of a destination depend only on the
 * destination, so every supplier knows the same hotel ids; which of them a supplier
 * sells, and at what price, depends on its --name and on the search.
 * GET /stats counts the requests, in total and per normalised search, so tests can
 * check that a search reached each supplier exactly once, and when (wall clock) it last
 * answered each search, so tests can time an answer's way to the browser. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agg_util.h"

#define SUPPLIER_MAX_KEYS 4096

static struct {
    struct event_base *base;
    const char *name;
    long latency_min_ms, latency_max_ms;
    double tail_rate;
    long tail_ms;
    double fail_rate;
    unsigned long long rng;
    long long requests, failures;
    int nkeys;
    char *keys[SUPPLIER_MAX_KEYS];
    long long counts[SUPPLIER_MAX_KEYS];
    double answered_at[SUPPLIER_MAX_KEYS]; /* wall clock, ms since the epoch, of the last reply */
} sup;

/* A reply held back until its latency has passed. */
typedef struct pending_reply {
    struct evhttp_request *req;
    struct event *timer;
    struct evbuffer *body;
    int code;
    int key; /* index into sup.keys, or -1 */
} pending_reply;

static const char *const adjectives[] = {"Grand",  "Royal",   "Little", "Blue",    "Golden", "Old Town",
                                         "Garden", "Harbour", "Park",   "Central", "Silver", "Quiet"};
static const char *const nouns[] = {"Hotel", "Inn", "Suites", "Lodge", "Palace", "Residence", "House", "Rooms"};

static double rng_uniform(void) {
    sup.rng = sup.rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(sup.rng >> 11) / (double)(1ULL << 53);
}

static uint64_t hash_parts(const char *a, const char *b, const char *c) {
    uint64_t h = agg_fnv1a(a, strlen(a));
    h = agg_fnv1a_more(h, "\x1f", 1);
    h = agg_fnv1a_more(h, b, strlen(b));
    h = agg_fnv1a_more(h, "\x1f", 1);
    return agg_fnv1a_more(h, c, strlen(c));
}

/* Count one request for search key k; returns k's index in sup.keys, or -1. */
static int stats_count(const char *k) {
    sup.requests++;
    for (int i = 0; i < sup.nkeys; i++) {
        if (strcmp(sup.keys[i], k) == 0) {
            sup.counts[i]++;
            return i;
        }
    }
    if (sup.nkeys < SUPPLIER_MAX_KEYS) {
        sup.keys[sup.nkeys] = strdup(k);
        sup.counts[sup.nkeys] = 1;
        return sup.nkeys++;
    }
    return -1;
}

/* Append this supplier's offers for search p to out. */
static void offers_write(struct evbuffer *out, const agg_search_params *p) {
    const char *d = p->destination;
    uint64_t dh = agg_fnv1a(d, strlen(d));
    int nhotels = 8 + (int)(dh % 8);
    char city[AGG_DEST_MAX + 1];
    snprintf(city, sizeof(city), "%s", d);
    for (char *c = city; *c; c++)
        if (c == city || c[-1] == ' ' || c[-1] == '-') *c = (char)((*c >= 'a' && *c <= 'z') ? *c - 32 : *c);
    char guests[16];
    snprintf(guests, sizeof(guests), "%d", p->guests);
    for (int i = 1; i <= nhotels; i++) {
        char id[16];
        snprintf(id, sizeof(id), "h%02d", i);
        uint64_t hh = hash_parts(d, id, "hotel");
        uint64_t sh = hash_parts(sup.name, d, id);
        if (sh % 10 >= 7) continue; /* this supplier does not sell this hotel */
        uint64_t ph = hash_parts(sup.name, id, p->checkin) ^ hash_parts(p->checkout, guests, d);
        long nightly = 6000 + (long)(hh % 24000); /* 60.00 to 299.99 */
        long total = nightly * p->nights * (100 + 25 * (p->guests - 1)) / 100;
        long price = total * (85 + (long)(ph % 30)) / 100; /* -15% to +14% */
        evbuffer_add_printf(out, "%s\t%ld\t%s %s %s\n", id, price,
                            adjectives[hh % (sizeof(adjectives) / sizeof(adjectives[0]))],
                            nouns[(hh >> 8) % (sizeof(nouns) / sizeof(nouns[0]))], city);
    }
}

static void pending_fire(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    pending_reply *pr = arg;
    evhttp_add_header(evhttp_request_get_output_headers(pr->req), "Content-Type", "text/plain; charset=utf-8");
    evhttp_send_reply(pr->req, pr->code, pr->code == 200 ? "OK" : "Supplier Error", pr->body);
    if (pr->key >= 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sup.answered_at[pr->key] = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
    }
    evbuffer_free(pr->body);
    event_free(pr->timer);
    free(pr);
}

static void reply_text(struct evhttp_request *req, int code, const char *text) {
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "%s\n", text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", b);
    evbuffer_free(b);
}

static void handle_search(struct evhttp_request *req) {
    agg_query q;
    agg_search_params p;
    const char *err = "bad query";
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    if (agg_query_parse(&q, evhttp_uri_get_query(uri)) != 0) {
        reply_text(req, 400, err);
        return;
    }
    int rc = agg_params_from_query(&p, &q, &err);
    agg_query_free(&q);
    if (rc != 0) {
        reply_text(req, 400, err);
        return;
    }
    char key[AGG_DEST_MAX + 40];
    snprintf(key, sizeof(key), "%s|%s|%s|%d", p.destination, p.checkin, p.checkout, p.guests);
    int ki = stats_count(key);

    pending_reply *pr = calloc(1, sizeof(*pr));
    pr->req = req;
    pr->key = ki;
    pr->body = evbuffer_new();
    if (rng_uniform() < sup.fail_rate) {
        pr->code = 500;
        sup.failures++;
        evbuffer_add_printf(pr->body, "supplier %s failed\n", sup.name);
    } else {
        pr->code = 200;
        offers_write(pr->body, &p);
    }
    long span = sup.latency_max_ms - sup.latency_min_ms;
    long ms = sup.latency_min_ms + (span > 0 ? (long)(rng_uniform() * (double)(span + 1)) : 0);
    if (sup.tail_rate > 0 && rng_uniform() < sup.tail_rate) ms = sup.tail_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    pr->timer = evtimer_new(sup.base, pending_fire, pr);
    evtimer_add(pr->timer, &tv);
}

static void handle_stats(struct evhttp_request *req) {
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"name\":");
    agg_json_cstr(b, sup.name);
    evbuffer_add_printf(b, ",\"requests\":%lld,\"failures\":%lld,\"searches\":{", sup.requests, sup.failures);
    for (int i = 0; i < sup.nkeys; i++) {
        if (i) evbuffer_add(b, ",", 1);
        agg_json_cstr(b, sup.keys[i]);
        evbuffer_add_printf(b, ":%lld", sup.counts[i]);
    }
    evbuffer_add_printf(b, "},\"answered_at\":{");
    for (int i = 0, n = 0; i < sup.nkeys; i++) {
        if (sup.answered_at[i] == 0) continue;
        if (n++) evbuffer_add(b, ",", 1);
        agg_json_cstr(b, sup.keys[i]);
        evbuffer_add_printf(b, ":%.3f", sup.answered_at[i]);
    }
    evbuffer_add_printf(b, "}}\n");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void handle_any(struct evhttp_request *req, void *arg) {
    (void)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (path == NULL) path = "/";
    if (strcmp(path, "/search") == 0) handle_search(req);
    else if (strcmp(path, "/stats") == 0) handle_stats(req);
    else if (strcmp(path, "/health") == 0) reply_text(req, 200, "ok");
    else evhttp_send_error(req, 404, "Not Found");
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static void usage(void) {
    fprintf(stderr, "usage: mock-supplier --port N [--bind ADDR] [--name NAME] [--latency-ms MIN[-MAX]]\n"
                    "                     [--tail-rate P --tail-ms MS] [--fail-rate F] [--seed N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *bind = "127.0.0.1";
    long port = -1;
    unsigned long long seed = 1;
    sup.name = "supplier";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (strcmp(a, "--port") == 0) {
            port = strtol(v, NULL, 10);
        } else if (strcmp(a, "--bind") == 0) {
            bind = v;
        } else if (strcmp(a, "--name") == 0) {
            sup.name = v;
        } else if (strcmp(a, "--latency-ms") == 0) {
            char *end;
            sup.latency_min_ms = strtol(v, &end, 10);
            sup.latency_max_ms = *end == '-' ? strtol(end + 1, NULL, 10) : sup.latency_min_ms;
            if (sup.latency_min_ms < 0 || sup.latency_max_ms < sup.latency_min_ms) usage();
        } else if (strcmp(a, "--tail-rate") == 0) {
            sup.tail_rate = strtod(v, NULL);
        } else if (strcmp(a, "--tail-ms") == 0) {
            sup.tail_ms = strtol(v, NULL, 10);
            if (sup.tail_ms < 0) usage();
        } else if (strcmp(a, "--fail-rate") == 0) {
            sup.fail_rate = strtod(v, NULL);
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, NULL, 10);
        } else {
            usage();
        }
    }
    if (port < 0 || port > 65535) usage();
    sup.rng = seed ^ agg_fnv1a(sup.name, strlen(sup.name));
    signal(SIGPIPE, SIG_IGN);

    sup.base = event_base_new();
    if (sup.base == NULL) {
        fprintf(stderr, "mock-supplier: event_base_new failed\n");
        return 1;
    }
    struct evhttp *http = evhttp_new(sup.base);
    if (http == NULL || evhttp_bind_socket(http, bind, (ev_uint16_t)port) != 0) {
        fprintf(stderr, "mock-supplier: cannot listen on %s:%ld: %s\n", bind, port, strerror(errno));
        return 1;
    }
    evhttp_set_gencb(http, handle_any, NULL);
    struct event *sigint = evsignal_new(sup.base, SIGINT, on_signal, sup.base);
    struct event *sigterm = evsignal_new(sup.base, SIGTERM, on_signal, sup.base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    printf("mock-supplier %s listening on %s:%ld (latency %ld-%ld ms, %.2f of them %ld ms; "
           "fail rate %.2f)\n",
           sup.name, bind, port, sup.latency_min_ms, sup.latency_max_ms, sup.tail_rate, sup.tail_ms, sup.fail_rate);
    fflush(stdout);

    event_base_dispatch(sup.base);

    event_free(sigterm);
    event_free(sigint);
    evhttp_free(http);
    event_base_free(sup.base);
    for (int i = 0; i < sup.nkeys; i++) free(sup.keys[i]);
    return 0;
}
