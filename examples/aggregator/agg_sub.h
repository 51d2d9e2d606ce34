/* agg_sub.h: the aggregator's one subscriber connection (RESP2 SUBSCRIBE), shared by every
 * search its live pages watch, reconnecting by itself like agg_cache.
 *
 * Channels are (un)subscribed one at a time as pages come and go; the owner of the
 * channels' state (agg_live.c) is told of each confirmation and each message. A lost
 * connection drops every subscription: on_state(arg, 0), and after reconnecting
 * on_state(arg, 1), when the owner subscribes again to what it still needs.
 *
 * The connection counts as up only once the server has confirmed a first subscription
 * (to the probe channel): a server that answers SUBSCRIBE with an error (no pub/sub) or
 * closes the connection (a proxy such as twemproxy) is "refused", and tried again only
 * every AGG_SUB_REFUSED_RETRY_MS. Publishers use this to know PUBLISH is safe to send. */
#ifndef AGG_SUB_H
#define AGG_SUB_H

#include <stddef.h>

struct event_base;
struct event;
struct bufferevent;

typedef struct agg_sub_handlers {
    void (*message)(void *arg, const char *channel, size_t chlen, const char *data, size_t len);
    void (*subscribed)(void *arg, const char *channel, size_t chlen);
    void (*unsubscribed)(void *arg, const char *channel, size_t chlen);
    void (*state)(void *arg, int up);
} agg_sub_handlers;

#define AGG_SUB_REFUSED_RETRY_MS 10000

typedef struct agg_sub {
    struct event_base *base;
    char host[64];
    int port;
    long retry_ms;
    struct bufferevent *bev; /* NULL while waiting to retry */
    void *reader;            /* hiredis's RESP reader for the connection */
    char probe[96];          /* subscribed first, to learn whether the server does pub/sub */
    int connected;           /* the TCP connection is up, the probe sent */
    int ready;               /* the probe is confirmed: (un)subscriptions may be sent */
    int refused;             /* the last connection could not subscribe */
    int stopping;
    struct event *retry;
    agg_sub_handlers h;
    void *arg;
    long long connects, disconnects, messages, refusals;
} agg_sub;

/* Start connecting (never fails for a down server: it retries every retry_ms). Returns 0,
 * or -1 if the retry timer cannot be made. */
int agg_sub_init(agg_sub *s, struct event_base *base, const char *host, int port, long retry_ms, const char *probe,
                 const agg_sub_handlers *h, void *arg);
/* Send SUBSCRIBE / UNSUBSCRIBE for one channel. Returns 0, or -1 when not connected. */
int agg_sub_subscribe(agg_sub *s, const char *channel);
int agg_sub_unsubscribe(agg_sub *s, const char *channel);
void agg_sub_close(agg_sub *s);

#endif
