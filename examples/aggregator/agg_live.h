/* agg_live.h: the live page's event stream, GET /api/hotels/live (Server-Sent Events).
 *
 * Every search a page watches here is one agg_live: the merge of every version of the
 * search's entry this process has seen, the pages (clients) watching it, and its state on
 * the one subscriber connection (app->sub), where the channel named like the entry's key
 * carries each new version the owner writes. A client is sent the current entry first
 * (subscribe, then GET, then changes), then every change, and the stream ends once the
 * search is complete. Without a subscription (pubsub off, or its server down) the search
 * is read every live_watch_ms instead; with one, every live_recheck_ms, which also takes
 * over the lease of an owner that died. When the cache itself is down a stream says
 * "event: degraded" and ends: the page polls /api/hotels until the cache is back. */
#ifndef AGG_LIVE_H
#define AGG_LIVE_H

#include "agg_search.h"

struct evhttp_request;

/* Connect the subscriber (per the pubsub setting) and the publisher. Returns 0 or -1. */
int agg_live_init(agg_app *app);
void agg_live_shutdown(agg_app *app);

/* Answer GET /api/hotels/live for the (validated) search p with its event stream. */
void agg_live_open(agg_app *app, struct evhttp_request *req, const agg_search_params *p);

/* The owner's own entry for key changed: push it to this process's pages at once. */
void agg_live_local(agg_app *app, const char *key, const agg_entry *e);

/* Publish a version of key's entry to the other aggregators (no-op if pubsub is off). */
void agg_live_publish(agg_app *app, const char *key, const char *data, size_t len);

#endif
