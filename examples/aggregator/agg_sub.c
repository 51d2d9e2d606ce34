/* agg_sub.c: the subscriber connection: a bufferevent, hiredis's RESP reader, and a
 * dispatch of "subscribe", "unsubscribe" and "message" pushes by channel.
 *
 * hiredis 0.14's async API keeps one callback per channel and loses it when a channel is
 * unsubscribed and subscribed again before the first confirmation arrives; here the
 * caller keeps each channel's state itself, so that cannot happen. */
#include "agg_sub.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

static void sub_connect(agg_sub *s);
static int sub_send(agg_sub *s, const char *cmd, const char *channel);

static void sub_schedule(agg_sub *s) {
    if (s->stopping) return;
    long ms = s->refused && s->retry_ms < AGG_SUB_REFUSED_RETRY_MS ? AGG_SUB_REFUSED_RETRY_MS : s->retry_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(s->retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sub_connect(arg);
}

static void sub_drop(agg_sub *s, const char *why) {
    int was_ready = s->ready;
    if (s->connected && !s->ready) {
        if (!s->refused)
            fprintf(stderr,
                    "aggregator: %s:%d does not subscribe (%s: no pub/sub, or a proxy): live pages read the cache "
                    "instead; trying again every %d s\n",
                    s->host, s->port, why, AGG_SUB_REFUSED_RETRY_MS / 1000);
        s->refused = 1;
        s->refusals++;
    }
    if (s->bev) bufferevent_free(s->bev);
    s->bev = NULL;
    if (s->reader) redisReaderFree(s->reader);
    s->reader = NULL;
    s->connected = 0;
    s->ready = 0;
    if (was_ready) {
        s->disconnects++;
        fprintf(stderr, "aggregator: subscriber %s:%d lost (%s); live pages watch the cache, reconnecting\n", s->host,
                s->port, why);
    }
    sub_schedule(s);
    if (was_ready && s->h.state) s->h.state(s->arg, 0);
}

static int is_kind(const redisReply *r, const char *kind) {
    return r->type == REDIS_REPLY_STRING && r->len == strlen(kind) && strncasecmp(r->str, kind, r->len) == 0;
}

/* Returns -1 when the connection must be dropped. */
static int dispatch(agg_sub *s, redisReply *r) {
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "aggregator: subscriber: %s\n", r->str);
        return s->ready ? 0 : -1;
    }
    if (!s->ready) {
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && is_kind(r->element[0], "subscribe")) {
            s->ready = 1;
            s->refused = 0;
            fprintf(stderr, "aggregator: subscriber %s:%d connected\n", s->host, s->port);
            if (s->h.state) s->h.state(s->arg, 1);
        }
        return 0;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[1]->type != REDIS_REPLY_STRING) return 0;
    redisReply *kind = r->element[0], *ch = r->element[1], *v = r->element[2];
    if (is_kind(kind, "message") && v->type == REDIS_REPLY_STRING) {
        s->messages++;
        if (s->h.message) s->h.message(s->arg, ch->str, ch->len, v->str, v->len);
    } else if (is_kind(kind, "subscribe")) {
        if (s->h.subscribed) s->h.subscribed(s->arg, ch->str, ch->len);
    } else if (is_kind(kind, "unsubscribe")) {
        if (s->h.unsubscribed) s->h.unsubscribed(s->arg, ch->str, ch->len);
    }
    return 0;
}

static void on_read(struct bufferevent *bev, void *arg) {
    agg_sub *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
        if (redisReaderFeed(s->reader, v.iov_base, v.iov_len) != REDIS_OK) break;
        evbuffer_drain(in, v.iov_len);
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(s->reader, &reply) != REDIS_OK) {
            sub_drop(s, "protocol error");
            return;
        }
        if (reply == NULL) return;
        int rc = dispatch(s, reply);
        freeReplyObject(reply);
        if (rc != 0) {
            sub_drop(s, "SUBSCRIBE refused");
            return;
        }
        if (s->bev == NULL) return; /* a handler closed it */
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    agg_sub *s = arg;
    if (what & BEV_EVENT_CONNECTED) {
        s->connected = 1;
        s->connects++;
        if (sub_send(s, "SUBSCRIBE", s->probe) != 0) sub_drop(s, "out of memory");
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        sub_drop(s, (what & BEV_EVENT_EOF) ? "closed" : "error");
}

static void sub_connect(agg_sub *s) {
    s->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
    s->reader = redisReaderCreate();
    if (s->bev == NULL || s->reader == NULL) {
        sub_drop(s, "out of memory");
        return;
    }
    bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    struct evutil_addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    if (evutil_getaddrinfo(s->host, port, &hints, &ai) != 0 || ai == NULL) {
        sub_drop(s, "cannot resolve the host");
        return;
    }
    struct bufferevent *bev = s->bev;
    /* a connect that fails at once may have run on_event (which drops the connection) */
    if (bufferevent_socket_connect(bev, ai->ai_addr, (int)ai->ai_addrlen) != 0 && s->bev == bev) sub_drop(s, "connect");
    evutil_freeaddrinfo(ai);
}

int agg_sub_init(agg_sub *s, struct event_base *base, const char *host, int port, long retry_ms, const char *probe,
                 const agg_sub_handlers *h, void *arg) {
    memset(s, 0, sizeof(*s));
    s->base = base;
    snprintf(s->host, sizeof(s->host), "%s", host);
    s->port = port;
    s->retry_ms = retry_ms;
    snprintf(s->probe, sizeof(s->probe), "%s", probe);
    s->h = *h;
    s->arg = arg;
    s->retry = evtimer_new(base, on_retry, s);
    if (s->retry == NULL) return -1;
    sub_connect(s);
    return 0;
}

static int sub_send(agg_sub *s, const char *cmd, const char *channel) {
    if (!s->connected || s->bev == NULL) return -1;
    size_t n = strlen(channel);
    struct evbuffer *out = bufferevent_get_output(s->bev);
    return evbuffer_add_printf(out, "*2\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(cmd), cmd, n) < 0 ||
                   evbuffer_add(out, channel, n) != 0 || evbuffer_add(out, "\r\n", 2) != 0
               ? -1
               : 0;
}

int agg_sub_subscribe(agg_sub *s, const char *channel) { return s->ready ? sub_send(s, "SUBSCRIBE", channel) : -1; }
int agg_sub_unsubscribe(agg_sub *s, const char *channel) { return s->ready ? sub_send(s, "UNSUBSCRIBE", channel) : -1; }

void agg_sub_close(agg_sub *s) {
    s->stopping = 1;
    if (s->bev) bufferevent_free(s->bev);
    s->bev = NULL;
    if (s->reader) redisReaderFree(s->reader);
    s->reader = NULL;
    s->connected = 0;
    s->ready = 0;
    if (s->retry) event_free(s->retry);
    s->retry = NULL;
}
