/* agg_search.h: the searches this process knows in memory, and their fan-out to the
 * suppliers.
 *
 * A search is in memory when this process asks its suppliers: either as the owner of
 * the search's lease in the cache (it then publishes every answer to the cache), or
 * locally because the cache was unavailable (degraded). Either way the search stays
 * until its TTL passes, so degraded requests can be answered from it. */
#ifndef AGG_SEARCH_H
#define AGG_SEARCH_H

#include <stdint.h>

#include "agg_cache.h"
#include "agg_config.h"
#include "agg_entry.h"
#include "agg_sub.h"
#include "agg_util.h"

#define AGG_SEARCH_BUCKETS 1024
#define AGG_KEY_MAX        (AGG_DEST_MAX + 64)
#define AGG_LIVE_BUCKETS   256

typedef struct agg_search agg_search;
typedef struct agg_live agg_live;

typedef struct agg_app {
    struct event_base *base;
    agg_config cfg;
    agg_cache cache;
    agg_search *buckets[AGG_SEARCH_BUCKETS];
    long nsearches;
    struct event *sweep;
    long long supplier_requests; /* requests sent to suppliers by this process */
    long long cache_errors;
    long long cache_timeouts; /* requests answered degraded: the cache was too slow */
    long long api_requests;   /* GET /api/hotels answered */
    /* Live pages (agg_live.c): the searches they watch, the subscriber connection, and
     * where the owner publishes (the cache connection, pubcache, or nowhere). */
    agg_live *live[AGG_LIVE_BUCKETS];
    long nlive, live_clients;
    long long live_streams, live_events, published;
    agg_sub sub;
    int sub_on;
    agg_cache pubcache;
    int pubcache_on;
} agg_app;

struct agg_search {
    agg_search *next; /* hash chain; unlinked searches wait for refs to drop */
    agg_app *app;
    char key[AGG_KEY_MAX]; /* the cache key of its entry */
    agg_search_params params;
    agg_entry e;
    int64_t expires_mono_ms;
    int owner; /* holds the cache lease: publishes to the cache */
    int linked;
    int refs; /* supplier calls and cache commands in flight */
    int calling[AGG_MAX_SUPPLIERS];
};

/* Build the cache key of p ("agg:FINGERPRINT:dest|in|out|guests") and its lease key. */
void agg_search_key(const agg_config *cfg, const agg_search_params *p, char *key, char *lease);

/* The live (not expired) in-memory search for key, or NULL. */
agg_search *agg_search_find(agg_app *app, const char *key);
/* The live search for key, created (all suppliers pending) if there is none. */
agg_search *agg_search_get(agg_app *app, const char *key, const agg_search_params *p);

/* Ask every supplier that is pending and not already being asked. */
void agg_search_fan_out(agg_search *s);

/* This process just took the lease: merge what the cache held (cached may be NULL),
 * publish, and fan out to the suppliers still pending. */
void agg_search_take_ownership(agg_search *s, const agg_entry *cached);

/* Start the timer that drops expired searches. Returns 0 or -1. */
int agg_search_init(agg_app *app);
void agg_search_shutdown(agg_app *app);

#endif
