/* agg_util.h: helpers shared by the aggregator, the mock supplier and the bench tool:
 * clock, hashing, calendar dates, query-string parsing, search parameters and JSON text. */
#ifndef AGG_UTIL_H
#define AGG_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define AGG_DEST_MAX   64 /* longest destination, in bytes, after normalising */
#define AGG_GUESTS_MAX 9
#define AGG_NIGHTS_MAX 30
#define AGG_LIMIT_MAX  500

/* Milliseconds of CLOCK_REALTIME (shared between processes) and CLOCK_MONOTONIC. */
int64_t agg_now_ms(void);
int64_t agg_mono_ms(void);

/* 64-bit FNV-1a; agg_fnv1a_more continues a running hash. */
uint64_t agg_fnv1a(const void *p, size_t len);
uint64_t agg_fnv1a_more(uint64_t h, const void *p, size_t len);

/* Parse "YYYY-MM-DD" (exactly) into days since 1970-01-01. Returns 1 on success, 0 if the
 * text is not a real calendar date. */
int agg_parse_date(const char *s, long *days_out);

/* A parsed query string: decoded name=value pairs ('+' and %XX decoded). */
typedef struct agg_query {
    int n;
    char *names[32];
    char *values[32];
} agg_query;

/* Parse the query part of a URI (may be NULL). Returns 0, or -1 if out of memory; a
 * malformed %-escape is kept literally (as libevent decodes). */
int agg_query_parse(agg_query *q, const char *query);
/* The value of the first pair named name, or NULL. */
const char *agg_query_get(const agg_query *q, const char *name);
void agg_query_free(agg_query *q);

/* A normalised hotel search: what the cache key is made of. */
typedef struct agg_search_params {
    char destination[AGG_DEST_MAX + 1]; /* trimmed, inner spaces collapsed, lower case */
    char checkin[11], checkout[11];     /* YYYY-MM-DD */
    int guests;
    int nights;
    int limit; /* 0: no limit */
} agg_search_params;

/* Validate and normalise destination/checkin/checkout/guests/limit from q. Returns 0, or
 * -1 with a human-readable reason in *err (a static string). */
int agg_params_from_query(agg_search_params *p, const agg_query *q, const char **err);

/* Append s (len bytes) to out as a JSON string literal, quotes included. Bytes >= 0x80
 * pass through unchanged (the inputs are UTF-8). */
void agg_json_str(struct evbuffer *out, const char *s, size_t len);
void agg_json_cstr(struct evbuffer *out, const char *s);

#endif
