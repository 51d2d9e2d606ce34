/* agg_util.c: clock, hashing, dates, query strings, search parameters, JSON strings. */
#include "agg_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

int64_t agg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t agg_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t agg_fnv1a_more(uint64_t h, const void *p, size_t len) {
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t agg_fnv1a(const void *p, size_t len) { return agg_fnv1a_more(14695981039346656037ULL, p, len); }

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long days_from_civil(long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

int agg_parse_date(const char *s, long *days_out) {
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return 0;
    long y = strtol(s, NULL, 10);
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 2000 || y > 2200 || m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    unsigned maxd = mdays[m - 1] + (m == 2 && leap);
    if (d > maxd) return 0;
    *days_out = days_from_civil(y, m, d);
    return 1;
}

int agg_query_parse(agg_query *q, const char *query) {
    memset(q, 0, sizeof(*q));
    if (query == NULL) return 0;
    const char *p = query;
    while (*p && q->n < (int)(sizeof(q->names) / sizeof(q->names[0]))) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            char *raw_name = strndup(p, nlen);
            char *raw_value = eq ? strndup(eq + 1, len - nlen - 1) : strdup("");
            char *name = evhttp_uridecode(raw_name, 1, NULL);
            char *value = evhttp_uridecode(raw_value, 1, NULL);
            free(raw_name);
            free(raw_value);
            if (name == NULL || value == NULL) {
                free(name);
                free(value);
                agg_query_free(q);
                return -1;
            }
            q->names[q->n] = name;
            q->values[q->n] = value;
            q->n++;
        }
        if (end == NULL) break;
        p = end + 1;
    }
    return 0;
}

const char *agg_query_get(const agg_query *q, const char *name) {
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->names[i], name) == 0) return q->values[i];
    return NULL;
}

void agg_query_free(agg_query *q) {
    for (int i = 0; i < q->n; i++) {
        free(q->names[i]);
        free(q->values[i]);
    }
    q->n = 0;
}

/* Parse a small positive decimal integer; returns -1 if s is not one. */
static long parse_small_int(const char *s) {
    if (s == NULL || *s == '\0' || strlen(s) > 6) return -1;
    long v = 0;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c)) return -1;
        v = v * 10 + (*c - '0');
    }
    return v;
}

/* Trim, collapse runs of spaces, lower-case ASCII; reject control characters and the
 * separators the cache key uses. Returns 0 or -1. */
static int normalise_destination(char *dst, const char *src) {
    size_t n = 0;
    int pending_space = 0;
    for (const unsigned char *c = (const unsigned char *)src; *c; c++) {
        if (*c == ' ' || *c == '\t') {
            pending_space = n > 0;
            continue;
        }
        if (*c < 0x20 || *c == 0x7f || *c == '|' || *c == ':' || *c == '"' || *c == '\\') return -1;
        if (pending_space) {
            if (n >= AGG_DEST_MAX) return -1;
            dst[n++] = ' ';
            pending_space = 0;
        }
        if (n >= AGG_DEST_MAX) return -1;
        dst[n++] = (char)tolower(*c);
    }
    dst[n] = '\0';
    return n > 0 ? 0 : -1;
}

int agg_params_from_query(agg_search_params *p, const agg_query *q, const char **err) {
    memset(p, 0, sizeof(*p));
    const char *dest = agg_query_get(q, "destination");
    const char *in = agg_query_get(q, "checkin");
    const char *out = agg_query_get(q, "checkout");
    const char *guests = agg_query_get(q, "guests");
    const char *limit = agg_query_get(q, "limit");
    long din, dout;
    if (dest == NULL || normalise_destination(p->destination, dest) != 0) {
        *err = "destination is required: 1 to 64 characters, no control characters, '|', ':', '\"' or '\\'";
        return -1;
    }
    if (in == NULL || !agg_parse_date(in, &din)) {
        *err = "checkin must be a date YYYY-MM-DD";
        return -1;
    }
    if (out == NULL || !agg_parse_date(out, &dout)) {
        *err = "checkout must be a date YYYY-MM-DD";
        return -1;
    }
    if (dout <= din) {
        *err = "checkout must be after checkin";
        return -1;
    }
    if (dout - din > AGG_NIGHTS_MAX) {
        *err = "a stay is at most 30 nights";
        return -1;
    }
    long g = guests ? parse_small_int(guests) : 1;
    if (g < 1 || g > AGG_GUESTS_MAX) {
        *err = "guests must be an integer from 1 to 9";
        return -1;
    }
    long l = 0;
    if (limit != NULL) {
        l = parse_small_int(limit);
        if (l < 1 || l > AGG_LIMIT_MAX) {
            *err = "limit must be an integer from 1 to 500";
            return -1;
        }
    }
    memcpy(p->checkin, in, 11);
    memcpy(p->checkout, out, 11);
    p->guests = (int)g;
    p->nights = (int)(dout - din);
    p->limit = (int)l;
    return 0;
}

void agg_json_str(struct evbuffer *out, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    char buf[256];
    size_t n = 0;
    buf[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (n > sizeof(buf) - 8) {
            evbuffer_add(out, buf, n);
            n = 0;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(buf + n, "\\u00", 4);
            n += 4;
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    evbuffer_add(out, buf, n);
}

void agg_json_cstr(struct evbuffer *out, const char *s) { agg_json_str(out, s, strlen(s)); }
