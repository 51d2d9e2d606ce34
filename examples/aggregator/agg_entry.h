/* agg_entry.h: one search's state as it is cached: each supplier's status and the
 * cheapest offer per hotel. The same structure is kept in memory by the process that
 * asks the suppliers, serialised into the cache, parsed back by every reader and
 * rendered as the API's JSON. */
#ifndef AGG_ENTRY_H
#define AGG_ENTRY_H

#include <stddef.h>

#include "agg_config.h"
#include "agg_util.h"

struct evbuffer;

enum { AGG_PENDING = 0, AGG_OK, AGG_FAILED, AGG_TIMEOUT };

typedef struct agg_offer {
    char id[24];
    char name[96];
    long price_cents;
    int supplier; /* index into the configuration's suppliers */
} agg_offer;

typedef struct agg_entry {
    int nsuppliers;
    unsigned char status[AGG_MAX_SUPPLIERS];
    agg_offer *offers;
    size_t n, cap;
} agg_entry;

void agg_entry_init(agg_entry *e, int nsuppliers);
void agg_entry_free(agg_entry *e);

/* Keep o if its hotel is new or o is cheaper than the kept offer (ties go to the
 * supplier listed first). Returns 1 if the entry changed. */
int agg_entry_merge_offer(agg_entry *e, const agg_offer *o);

/* Merge a supplier's response body ("id TAB price_cents TAB name" lines) as supplier
 * idx's offers and mark it answered. Malformed lines are skipped. Returns the number of
 * offers read. */
int agg_entry_add_supplier_body(agg_entry *e, int idx, const char *body, size_t len);

/* Merge src into dst: statuses dst does not know yet, and src's offers. Returns 1 if
 * dst changed. Merging is order-independent and idempotent, so a reader may merge every
 * version of an entry it sees, in any order, and hold the newest. */
int agg_entry_merge(agg_entry *dst, const agg_entry *src);

int agg_entry_answered(const agg_entry *e); /* suppliers no longer pending */
int agg_entry_complete(const agg_entry *e); /* every supplier answered */

/* The cached text form: "v1\n", then "s TAB supplier TAB status\n" per answered
 * supplier, then "h TAB id TAB price TAB supplier TAB name\n" per hotel. Suppliers are
 * named, not numbered, so processes agree whatever their order. */
void agg_entry_serialize(const agg_entry *e, const agg_config *cfg, struct evbuffer *out);
/* Parse the cached text form into e (initialised). Returns 0, or -1 if it is not one. */
int agg_entry_parse(agg_entry *e, const agg_config *cfg, const char *data, size_t len);

/* The API's JSON for this entry: hotels sorted by price (then id), at most p->limit. */
void agg_entry_render(agg_entry *e, const agg_config *cfg, const agg_search_params *p, int degraded,
                      struct evbuffer *out);

const char *agg_status_name(int status);

#endif
