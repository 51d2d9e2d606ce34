/* bench.c: aggregator-bench, a load generator for the aggregator's API.
 *
 * Phase 1: N different searches at once, each polled every --poll-ms by its own
 * keep-alive connection until complete: time to the first reply with hotels and time to
 * completion, per search (min/median/p95/max).
 * Phase 2: --connections keep-alive connections ask, back to back for --seconds, the
 * searches phase 1 completed (all cache hits): requests per second and latency.
 * One libevent loop, no threads; the numbers include this tool's own cost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agg_util.h"

typedef struct bclient {
    struct evhttp_connection *conn;
    int search; /* phase 1: its search; phase 2: next search to ask */
    int64_t started_ms, first_ms, done_ms;
    double sent_ms;
    struct event *timer;
} bclient;

static struct {
    struct event_base *base;
    char host[64];
    int port;
    int nsearches, nconns;
    long poll_ms;
    double seconds;
    const char *prefix;
    const char *checkin, *checkout;
    bclient *clients;
    int active;
    int phase;
    int64_t phase2_end;
    long long hits, errors, incomplete;
    double *lat; /* phase 2 latencies in ms */
    size_t nlat, caplat;
} B;

static void send_request(bclient *c);

/* Monotonic milliseconds with sub-millisecond precision, for latencies. */
static double now_ms_f(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void path_for(int search, char *buf, size_t size) {
    snprintf(buf, size, "/api/hotels?destination=%s-%d&checkin=%s&checkout=%s&guests=2", B.prefix, search, B.checkin,
             B.checkout);
}

static void client_finished(void) {
    if (--B.active == 0) event_base_loopexit(B.base, NULL);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    send_request(arg);
}

static void on_reply(struct evhttp_request *req, void *arg) {
    bclient *c = arg;
    int64_t now = agg_mono_ms();
    int code = req ? evhttp_request_get_response_code(req) : 0;
    const char *body = "";
    size_t len = 0;
    if (code == 200) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        len = evbuffer_get_length(in);
        body = (const char *)evbuffer_pullup(in, -1);
    }
    if (code != 200 || len == 0) {
        B.errors++;
        fprintf(stderr, "aggregator-bench: request failed (HTTP %d)\n", code);
        client_finished();
        return;
    }
    int complete = memmem(body, len, "\"is_completed\":true", 19) != NULL;
    int has_hotels = memmem(body, len, "\"hotels\":[]", 11) == NULL;
    if (B.phase == 1) {
        if (has_hotels && c->first_ms == 0) c->first_ms = now;
        if (complete) {
            c->done_ms = now;
            client_finished();
            return;
        }
        struct timeval tv = {B.poll_ms / 1000, (B.poll_ms % 1000) * 1000};
        evtimer_add(c->timer, &tv);
        return;
    }
    B.hits++;
    if (!complete) B.incomplete++;
    if (B.nlat == B.caplat) {
        B.caplat = B.caplat ? B.caplat * 2 : 65536;
        B.lat = realloc(B.lat, B.caplat * sizeof(*B.lat));
    }
    if (B.lat) B.lat[B.nlat++] = now_ms_f() - c->sent_ms;
    if (now >= B.phase2_end) {
        client_finished();
        return;
    }
    c->search = (c->search + 1) % B.nsearches;
    send_request(c);
}

static void send_request(bclient *c) {
    char path[256];
    path_for(c->search, path, sizeof(path));
    struct evhttp_request *req = evhttp_request_new(on_reply, c);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", B.host);
    c->sent_ms = now_ms_f();
    if (evhttp_make_request(c->conn, req, EVHTTP_REQ_GET, path) != 0) {
        B.errors++;
        client_finished();
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, int64_t *v, int n) {
    if (n == 0) {
        printf("%-24s no data\n", what);
        return;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_i64);
    printf("%-24s min %5lld ms  median %5lld ms  p95 %5lld ms  max %5lld ms  (%d searches)\n", what, (long long)v[0],
           (long long)v[n / 2], (long long)v[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1], (long long)v[n - 1], n);
}

static struct evhttp_connection *new_conn(void) {
    struct evhttp_connection *conn = evhttp_connection_base_new(B.base, NULL, B.host, (unsigned short)B.port);
    if (conn == NULL) {
        fprintf(stderr, "aggregator-bench: cannot create a connection\n");
        exit(1);
    }
    evhttp_connection_set_timeout(conn, 30);
    return conn;
}

static void usage(void) {
    fprintf(stderr, "usage: aggregator-bench --url http://HOST:PORT [--searches N] "
                    "[--connections C] [--seconds S] [--poll-ms MS] [--prefix NAME]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *url = NULL;
    B.nsearches = 50;
    B.nconns = 32;
    B.seconds = 5;
    B.poll_ms = 100;
    B.prefix = "bench";
    B.checkin = "2027-06-01";
    B.checkout = "2027-06-04";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--url") == 0) url = v;
        else if (strcmp(a, "--searches") == 0) B.nsearches = atoi(v);
        else if (strcmp(a, "--connections") == 0) B.nconns = atoi(v);
        else if (strcmp(a, "--seconds") == 0) B.seconds = atof(v);
        else if (strcmp(a, "--poll-ms") == 0) B.poll_ms = atol(v);
        else if (strcmp(a, "--prefix") == 0) B.prefix = v;
        else usage();
    }
    if (argc % 2 == 0 || url == NULL || B.nsearches <= 0 || B.nconns <= 0 || B.poll_ms <= 0) usage();
    struct evhttp_uri *u = evhttp_uri_parse(url);
    if (u == NULL || evhttp_uri_get_host(u) == NULL) usage();
    snprintf(B.host, sizeof(B.host), "%s", evhttp_uri_get_host(u));
    B.port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
    evhttp_uri_free(u);

    B.base = event_base_new();
    if (B.base == NULL) return 1;
    int nclients = B.nsearches > B.nconns ? B.nsearches : B.nconns;
    B.clients = calloc((size_t)nclients, sizeof(*B.clients));

    /* Phase 1: every search at once. */
    B.phase = 1;
    int64_t t0 = agg_mono_ms();
    for (int i = 0; i < B.nsearches; i++) {
        bclient *c = &B.clients[i];
        c->conn = new_conn();
        c->search = i;
        c->started_ms = t0;
        c->timer = evtimer_new(B.base, on_poll_timer, c);
        B.active++;
        send_request(c);
    }
    event_base_dispatch(B.base);
    int64_t *first = calloc((size_t)B.nsearches, sizeof(*first));
    int64_t *done = calloc((size_t)B.nsearches, sizeof(*done));
    int nf = 0, nd = 0;
    for (int i = 0; i < B.nsearches; i++) {
        bclient *c = &B.clients[i];
        if (c->first_ms) first[nf++] = c->first_ms - c->started_ms;
        if (c->done_ms) done[nd++] = c->done_ms - c->started_ms;
        event_free(c->timer);
        evhttp_connection_free(c->conn);
        c->conn = NULL;
    }
    printf("phase 1: %d concurrent searches, polled every %ld ms\n", B.nsearches, B.poll_ms);
    report("  time to first result", first, nf);
    report("  time to completion", done, nd);
    if (nd < B.nsearches) {
        printf("  %d searches did not complete\n", B.nsearches - nd);
        return 1;
    }

    /* Phase 2: cache hits, back to back. */
    B.phase = 2;
    B.active = 0;
    int64_t t1 = agg_mono_ms();
    B.phase2_end = t1 + (int64_t)(B.seconds * 1000);
    for (int i = 0; i < B.nconns; i++) {
        bclient *c = &B.clients[i];
        c->conn = new_conn();
        c->search = i % B.nsearches;
        B.active++;
        send_request(c);
    }
    event_base_dispatch(B.base);
    double elapsed = (double)(agg_mono_ms() - t1) / 1000.0;
    printf("phase 2: cache hits over %d keep-alive connections for %.1f s\n", B.nconns, elapsed);
    printf("  requests per second    %.0f  (%lld requests, %lld errors, %lld not complete)\n", (double)B.hits / elapsed,
           B.hits, B.errors, B.incomplete);
    if (B.nlat) {
        qsort(B.lat, B.nlat, sizeof(*B.lat), cmp_double);
        printf("  latency                median %.2f ms  p99 %.2f ms  max %.2f ms\n", B.lat[B.nlat / 2],
               B.lat[(B.nlat * 99) / 100], B.lat[B.nlat - 1]);
    }
    for (int i = 0; i < B.nconns; i++) evhttp_connection_free(B.clients[i].conn);
    free(B.clients);
    free(first);
    free(done);
    free(B.lat);
    event_base_free(B.base);
    return B.errors ? 1 : 0;
}
