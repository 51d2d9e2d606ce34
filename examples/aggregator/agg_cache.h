/* agg_cache.h: the aggregator's connection to respite (hiredis async on the libevent
 * loop), reconnecting by itself whenever the server is down or restarts. */
#ifndef AGG_CACHE_H
#define AGG_CACHE_H

struct event_base;
struct event;
struct redisAsyncContext;

typedef struct agg_cache {
    struct event_base *base;
    char host[64];
    int port;
    long retry_ms;
    struct redisAsyncContext *ac; /* NULL while not connecting/connected */
    int ready;                    /* connected: commands may be sent */
    int stopping;
    struct event *retry;
    long long connects, disconnects;
    void (*on_state)(void *arg, int up); /* optional: told when the connection comes and goes */
    void *state_arg;
} agg_cache;

/* Start connecting; never fails for a down server (it retries every retry_ms).
 * Returns 0, or -1 if the retry timer cannot be made. */
int agg_cache_init(agg_cache *c, struct event_base *base, const char *host, int port, long retry_ms);
/* The context to send commands on, or NULL while the cache is unavailable. Pending
 * commands' callbacks get a NULL reply if the connection is lost. */
struct redisAsyncContext *agg_cache_ctx(agg_cache *c);
void agg_cache_close(agg_cache *c);

#endif
