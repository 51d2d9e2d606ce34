/* agg_cache.c: hiredis async connection with reconnect.
 *
 * States: connecting (ac set, ready 0), connected (ac set, ready 1), waiting (ac NULL,
 * retry timer armed). hiredis frees the context itself after a failed connect and after
 * a disconnect, so both callbacks only forget it and arm the timer. */
#include "agg_cache.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

static void cache_connect(agg_cache *c);

static void cache_schedule(agg_cache *c) {
    if (c->stopping) return;
    struct timeval tv = {c->retry_ms / 1000, (c->retry_ms % 1000) * 1000};
    evtimer_add(c->retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cache_connect(arg);
}

static void on_connect(const redisAsyncContext *ac, int status) {
    agg_cache *c = ac->data;
    if (status != REDIS_OK) {
        c->ac = NULL; /* hiredis frees it after this callback */
        cache_schedule(c);
        return;
    }
    c->ready = 1;
    c->connects++;
    fprintf(stderr, "aggregator: cache %s:%d connected\n", c->host, c->port);
    if (c->on_state) c->on_state(c->state_arg, 1);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    agg_cache *c = ac->data;
    (void)status;
    int was_ready = c->ready;
    if (c->ready) {
        c->disconnects++;
        fprintf(stderr, "aggregator: cache %s:%d lost (%s); serving degraded, reconnecting\n", c->host, c->port,
                ac->errstr[0] ? ac->errstr : "closed");
    }
    c->ac = NULL;
    c->ready = 0;
    cache_schedule(c);
    if (was_ready && c->on_state && !c->stopping) c->on_state(c->state_arg, 0);
}

static void cache_connect(agg_cache *c) {
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
    if (ac == NULL || ac->err) {
        if (ac) redisAsyncFree(ac);
        cache_schedule(c);
        return;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, c->base) != REDIS_OK) {
        redisAsyncFree(ac);
        cache_schedule(c);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
}

int agg_cache_init(agg_cache *c, struct event_base *base, const char *host, int port, long retry_ms) {
    memset(c, 0, sizeof(*c));
    c->base = base;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    c->retry_ms = retry_ms;
    c->retry = evtimer_new(base, on_retry, c);
    if (c->retry == NULL) return -1;
    cache_connect(c);
    return 0;
}

redisAsyncContext *agg_cache_ctx(agg_cache *c) {
    if (!c->ready || c->ac == NULL) return NULL;
    if (c->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) return NULL;
    return c->ac;
}

void agg_cache_close(agg_cache *c) {
    c->stopping = 1;
    if (c->ac) {
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        c->ready = 0;
        redisAsyncFree(ac);
    }
    if (c->retry) event_free(c->retry);
    c->retry = NULL;
}
