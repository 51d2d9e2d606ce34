/* cmd_zset.c: the sorted-set commands (ZADD .. ZSCAN, BZPOPMIN/BZPOPMAX/BZMPOP), with
 * Redis 7.0's replies, error texts and order of checks (t_zset.c's zaddGenericCommand,
 * zrangeGenericCommand, zunionInterDiffGenericCommand, genericZpopCommand).
 *
 * Ranges: every score, lex or rank range becomes a half-open rank interval [lo, hi) of
 * the set (storage/t_zset.h), then LIMIT and REV pick a sub-interval; a reverse range is
 * read forward and sent backwards.
 *
 * Blocking pops re-run as themselves when a key they wait on changes
 * (server/blocking.c): a re-run that finds nothing, or finds a key of another type (Redis
 * serves a BZPOPMIN only from a sorted set, and a key that became a string wakes nobody),
 * waits again in its place. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/dict.h"
#include "storage/t_zset.h"
#include "storage/type.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

static const char *const nanerr = "resulting score is not a number (NaN)";

/* argv[i] as a NUL-terminated string in buf (size n) or a heap copy (freed by the
 * caller when != buf). */
static char *arg_cstr(const client *c, int i, char *buf, size_t n) {
    const resp_slice *a = &c->argv[i];
    if (a->len < n) {
        memcpy(buf, a->ptr, a->len);
        buf[a->len] = '\0';
        return buf;
    }
    return arg_dup(c, i);
}

/* Look up argv[i] as a sorted set: 1 with *zp (NULL if absent), or 0 after replying
 * WRONGTYPE. */
static int zset_lookup_or_reply(client *c, int i, int write, rkey **kp, zset **zp) {
    rkey *k = write ? db_lookup_write(c->db, KEYARG(c, i)) : db_lookup_read(c->db, KEYARG(c, i));
    if (kp) *kp = k;
    *zp = NULL;
    if (!k) return 1;
    if (rkey_type(k) != OBJ_ZSET) {
        reply_wrongtype(c);
        return 0;
    }
    *zp = rkey_ptr(k);
    return 1;
}

/* After removing members: delete the key if the set is empty, else note the change. */
static void zset_changed(client *c, int i, rkey *k, zset *z) {
    if (zset_len(z) == 0) {
        db_delete(c->db, KEYARG(c, i));
        notify_arg(c, NOTIFY_GENERIC, "del", i);
    } else {
        db_touch(c->db, k);
    }
}

static int arg_double_or_reply(client *c, int i, double *out, const char *msg) {
    if (util_str2d(c->argv[i].ptr, c->argv[i].len, out)) return 1;
    reply_error(&c->out, msg ? msg : "value is not a valid float");
    return 0;
}

/* Redis's getRangeLongFromObjectOrReply: msg for both a non-integer and out of range. */
static int arg_range_or_reply(client *c, int i, long long lo, long long hi, long long *out, const char *msg) {
    long long v;
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &v)) {
        reply_error(&c->out, msg ? msg : "value is not an integer or out of range");
        return 0;
    }
    if (v < lo || v > hi) {
        if (msg) reply_error(&c->out, msg);
        else reply_errorf(&c->out, "value is out of range, value must between %lld and %lld", lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

/* ---- ranges ---- */

typedef struct score_range {
    double min, max;
    int minex, maxex;
} score_range;

/* One bound as zslParseRange: "(" for exclusive, then strtod over the rest (which, as in
 * Redis, takes "inf", leading spaces and an empty string). */
static int parse_score_bound(const client *c, int i, double *v, int *ex) {
    char buf[128];
    char *s = arg_cstr(c, i, buf, sizeof buf), *p = s, *end;
    *ex = 0;
    if (*p == '(') {
        p++;
        *ex = 1;
    }
    *v = strtod(p, &end);
    int ok = *end == '\0' && !isnan(*v) && (size_t)(end - s) == c->argv[i].len;
    if (s != buf) free(s);
    return ok;
}

static int score_range_or_reply(client *c, int mini, int maxi, score_range *r) {
    if (parse_score_bound(c, mini, &r->min, &r->minex) && parse_score_bound(c, maxi, &r->max, &r->maxex)) return 1;
    reply_error(&c->out, "min or max is not a float");
    return 0;
}

/* A lex bound: kind -1 = "-", 1 = "+", 0 = a member (inclusive or not). */
typedef struct lex_bound {
    int kind, incl;
    const char *m;
    size_t len;
} lex_bound;

static int parse_lex_bound(const client *c, int i, lex_bound *b) {
    const resp_slice *a = &c->argv[i];
    if (a->len == 0) return 0;
    b->kind = 0;
    b->m = a->ptr + 1;
    b->len = a->len - 1;
    switch (a->ptr[0]) {
        case '+':
            if (a->len != 1) return 0;
            b->kind = 1;
            return 1;
        case '-':
            if (a->len != 1) return 0;
            b->kind = -1;
            return 1;
        case '(': b->incl = 0; return 1;
        case '[': b->incl = 1; return 1;
        default: return 0;
    }
}

static int lex_range_or_reply(client *c, int mini, int maxi, lex_bound *min, lex_bound *max) {
    if (parse_lex_bound(c, mini, min) && parse_lex_bound(c, maxi, max)) return 1;
    reply_error(&c->out, "min or max not valid string range item");
    return 0;
}

static void score_ranks(const zset *z, const score_range *r, size_t *lo, size_t *hi) {
    *lo = zset_count_below_score(z, r->min, r->minex);
    *hi = zset_count_below_score(z, r->max, !r->maxex);
    if (r->min > r->max || (r->min == r->max && (r->minex || r->maxex))) *hi = *lo;
    if (*hi < *lo) *hi = *lo;
}

static void lex_ranks(const zset *z, const lex_bound *min, const lex_bound *max, size_t *lo, size_t *hi) {
    size_t n = zset_len(z);
    *lo = min->kind < 0 ? 0 : min->kind > 0 ? n : zset_count_below_lex(z, min->m, min->len, !min->incl);
    *hi = max->kind < 0 ? 0 : max->kind > 0 ? n : zset_count_below_lex(z, max->m, max->len, max->incl);
    if (*hi < *lo) *hi = *lo;
}

/* Rank start..end (inclusive, negative from the end) as Redis sanitizes them: 0 if the
 * range is empty, else 1 with [*lo, *hi). */
static int rank_range(long long start, long long end, size_t len, size_t *lo, size_t *hi) {
    long long llen = (long long)len;
    if (start < 0) start += llen;
    if (end < 0) end += llen;
    if (start < 0) start = 0;
    if (start > end || start >= llen) return 0;
    if (end >= llen) end = llen - 1;
    *lo = (size_t)start;
    *hi = (size_t)end + 1;
    return 1;
}

/* ---- replies ---- */

typedef struct zentry {
    const char *m;
    size_t mlen;
    double score;
} zentry;

/* The entries of ranks [lo, hi) into a new array (caller frees). */
static zentry *collect(const zset *z, size_t lo, size_t hi) {
    zentry *e = xmalloc(sizeof(*e) * (hi > lo ? hi - lo : 1));
    zset_iter it;
    zset_iter_at(z, lo, &it);
    for (size_t i = 0; i < hi - lo; i++) zset_iter_next(&it, &e[i].m, &e[i].mlen, &e[i].score);
    return e;
}

/* Members [lo, hi) (backwards if rev) as an array; with scores flat in RESP2 and as
 * [member, score] pairs in RESP3. */
static void reply_range(client *c, const zset *z, size_t lo, size_t hi, int rev, int withscores) {
    size_t n = hi - lo;
    reply_array(&c->out, (long)(withscores && c->resp == 2 ? n * 2 : n));
    if (!n) return;
    zentry *e = collect(z, lo, hi);
    for (size_t i = 0; i < n; i++) {
        const zentry *x = &e[rev ? n - 1 - i : i];
        if (withscores && c->resp > 2) reply_array(&c->out, 2);
        reply_bulk(&c->out, x->m, x->mlen);
        if (withscores) reply_double(&c->out, x->score);
    }
    free(e);
}

/* ---- ZADD / ZINCRBY ---- */

static void zadd_generic(client *c, int in) {
    int scoreidx = 2, ch = 0;
    for (; scoreidx < c->argc; scoreidx++) {
        if (arg_is(c, scoreidx, "nx")) in |= ZADD_IN_NX;
        else if (arg_is(c, scoreidx, "xx")) in |= ZADD_IN_XX;
        else if (arg_is(c, scoreidx, "ch")) ch = 1;
        else if (arg_is(c, scoreidx, "incr")) in |= ZADD_IN_INCR;
        else if (arg_is(c, scoreidx, "gt")) in |= ZADD_IN_GT;
        else if (arg_is(c, scoreidx, "lt")) in |= ZADD_IN_LT;
        else break;
    }
    int elements = c->argc - scoreidx;
    if (elements % 2 || !elements) {
        reply_syntax_error(c);
        return;
    }
    elements /= 2;
    int nx = in & ZADD_IN_NX, xx = in & ZADD_IN_XX, gt = in & ZADD_IN_GT, lt = in & ZADD_IN_LT;
    int incr = in & ZADD_IN_INCR;
    if (nx && xx) {
        reply_error(&c->out, "XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(&c->out, "GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(&c->out, "INCR option supports a single increment-element pair");
        return;
    }
    double stack[16], *scores = elements <= 16 ? stack : xmalloc(sizeof(double) * (size_t)elements);
    size_t maxlen = 0;
    for (int j = 0; j < elements; j++) {
        if (!arg_double_or_reply(c, scoreidx + j * 2, &scores[j], NULL)) goto done;
        size_t l = c->argv[scoreidx + j * 2 + 1].len;
        if (l > maxlen) maxlen = l;
    }
    rkey *k;
    zset *z;
    if (!zset_lookup_or_reply(c, 1, 1, &k, &z)) goto done;
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (!z) {
        if (xx) goto reply;
        z = zset_new((size_t)elements, maxlen);
        k = db_add_ptr(c->db, KEYARG(c, 1), OBJ_ZSET, z);
    }
    for (int j = 0; j < elements; j++) {
        int out;
        double ns = 0;
        const resp_slice *m = &c->argv[scoreidx + j * 2 + 1];
        if (!zset_add(z, scores[j], m->ptr, m->len, in, &out, &ns)) {
            reply_error(&c->out, nanerr);
            if (added || updated) db_touch(c->db, k);
            if (added || updated) notify_arg(c, NOTIFY_ZSET, incr ? "zincr" : "zadd", 1);
            goto done;
        }
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
        if (!(out & ZADD_OUT_NOP)) processed++;
        score = ns;
    }
    if (added || updated) db_touch(c->db, k);
    if (added || updated) notify_arg(c, NOTIFY_ZSET, incr ? "zincr" : "zadd", 1);
reply:
    if (incr) {
        if (processed) reply_double(&c->out, score);
        else reply_null(&c->out);
    } else {
        reply_int(&c->out, ch ? added + updated : added);
    }
done:
    if (scores != stack) free(scores);
}

static void cmd_zadd(client *c) { zadd_generic(c, 0); }
static void cmd_zincrby(client *c) { zadd_generic(c, ZADD_IN_INCR); }

/* ---- simple reads and removals ---- */

static void cmd_zrem(client *c) {
    rkey *k;
    zset *z;
    if (!zset_lookup_or_reply(c, 1, 1, &k, &z)) return;
    if (!z) {
        reply_int(&c->out, 0);
        return;
    }
    long long n = 0;
    for (int i = 2; i < c->argc && zset_len(z); i++) n += zset_del(z, KEYARG(c, i));
    if (n) notify_arg(c, NOTIFY_ZSET, "zrem", 1);
    if (n) zset_changed(c, 1, k, z);
    reply_int(&c->out, n);
}

static void cmd_zcard(client *c) {
    zset *z;
    if (!zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    reply_int(&c->out, z ? (long long)zset_len(z) : 0);
}

static void cmd_zscore(client *c) {
    zset *z;
    double s;
    if (!zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    if (z && zset_score(z, KEYARG(c, 2), &s)) reply_double(&c->out, s);
    else reply_null(&c->out);
}

static void cmd_zmscore(client *c) {
    zset *z;
    double s;
    if (!zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        if (z && zset_score(z, KEYARG(c, i), &s)) reply_double(&c->out, s);
        else reply_null(&c->out);
    }
}

static void zrank_generic(client *c, int rev) {
    zset *z;
    if (!zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    long long r = z ? zset_rank(z, KEYARG(c, 2), NULL) : -1;
    if (r < 0) reply_null(&c->out);
    else reply_int(&c->out, rev ? (long long)zset_len(z) - 1 - r : r);
}

static void cmd_zrank(client *c) { zrank_generic(c, 0); }
static void cmd_zrevrank(client *c) { zrank_generic(c, 1); }

static void cmd_zcount(client *c) {
    score_range r;
    zset *z;
    size_t lo, hi;
    if (!score_range_or_reply(c, 2, 3, &r) || !zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    if (!z) {
        reply_int(&c->out, 0);
        return;
    }
    score_ranks(z, &r, &lo, &hi);
    reply_int(&c->out, (long long)(hi - lo));
}

static void cmd_zlexcount(client *c) {
    lex_bound min = {0}, max = {0};
    zset *z;
    size_t lo, hi;
    if (!lex_range_or_reply(c, 2, 3, &min, &max) || !zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    if (!z) {
        reply_int(&c->out, 0);
        return;
    }
    lex_ranks(z, &min, &max, &lo, &hi);
    reply_int(&c->out, (long long)(hi - lo));
}

/* ---- ZRANGE and its family ---- */

enum { RANGE_AUTO, RANGE_RANK, RANGE_SCORE, RANGE_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

/* Build a set from ranks [lo, hi) of z (backwards if rev) and store it at argv[dst], or
 * delete dst if empty; reply the count. */
static void store_range(client *c, int dst, const zset *z, size_t lo, size_t hi, int rev) {
    size_t n = hi - lo;
    if (!n) {
        if (db_delete(c->db, KEYARG(c, dst))) notify_arg(c, NOTIFY_GENERIC, "del", dst);
        reply_int(&c->out, 0);
        return;
    }
    zentry *e = collect(z, lo, hi);
    zset *d = zset_new(n, 0);
    for (size_t i = 0; i < n; i++) {
        const zentry *x = &e[rev ? n - 1 - i : i];
        int out;
        zset_add(d, x->score, x->m, x->mlen, 0, &out, NULL);
    }
    free(e);
    db_set_ptr(c->db, KEYARG(c, dst), OBJ_ZSET, d);
    notify_arg(c, NOTIFY_ZSET, "zrangestore", dst);
    reply_int(&c->out, (long long)n);
}

/* zrangeGenericCommand: argv[src] is the key, min/max follow it, options after them.
 * store: argv index of the destination (ZRANGESTORE), else 0. */
static void zrange_generic(client *c, int src, int store, int rangetype, int direction) {
    int minidx = src + 1, maxidx = src + 2, withscores = 0;
    long long offset = 0, limit = -1;
    for (int j = src + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!store && arg_is(c, j, "withscores")) {
            withscores = 1;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (!arg_ll_or_reply(c, j + 1, &offset) || !arg_ll_or_reply(c, j + 2, &limit)) return;
            j += 2;
        } else if (direction == DIR_AUTO && arg_is(c, j, "rev")) {
            direction = DIR_REV;
        } else if (rangetype == RANGE_AUTO && arg_is(c, j, "bylex")) {
            rangetype = RANGE_LEX;
        } else if (rangetype == RANGE_AUTO && arg_is(c, j, "byscore")) {
            rangetype = RANGE_SCORE;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (direction == DIR_AUTO) direction = DIR_FWD;
    if (rangetype == RANGE_AUTO) rangetype = RANGE_RANK;
    if (limit != -1 && rangetype == RANGE_RANK) {
        reply_error(&c->out, "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && rangetype == RANGE_LEX) {
        reply_error(&c->out, "syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int rev = direction == DIR_REV;
    if (rev && rangetype != RANGE_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    long long start = 0, end = 0;
    score_range sr;
    lex_bound lmin = {0}, lmax = {0};
    if (rangetype == RANGE_RANK) {
        if (!arg_ll_or_reply(c, minidx, &start) || !arg_ll_or_reply(c, maxidx, &end)) return;
    } else if (rangetype == RANGE_SCORE) {
        if (!score_range_or_reply(c, minidx, maxidx, &sr)) return;
    } else if (!lex_range_or_reply(c, minidx, maxidx, &lmin, &lmax)) {
        return;
    }
    zset *z;
    if (!zset_lookup_or_reply(c, src, 0, NULL, &z)) return;
    size_t lo = 0, hi = 0;
    if (z && rangetype == RANGE_RANK) {
        if (rank_range(start, end, zset_len(z), &lo, &hi) && rev) {
            size_t n = zset_len(z), l = lo;
            lo = n - hi;
            hi = n - l;
        }
    } else if (z) {
        if (rangetype == RANGE_SCORE) score_ranks(z, &sr, &lo, &hi);
        else lex_ranks(z, &lmin, &lmax, &lo, &hi);
        /* LIMIT: a negative offset skips everything, a negative count takes all. */
        if (offset < 0 || (offset > 0 && (size_t)offset >= zset_len(z))) {
            hi = lo;
        } else if ((size_t)offset >= hi - lo) {
            hi = lo;
        } else if (!rev) {
            lo += (size_t)offset;
            if (limit >= 0 && (size_t)limit < hi - lo) hi = lo + (size_t)limit;
        } else {
            hi -= (size_t)offset;
            if (limit >= 0 && (size_t)limit < hi - lo) lo = hi - (size_t)limit;
        }
    }
    if (store) store_range(c, store, z, lo, hi, rev);
    else reply_range(c, z, lo, hi, rev, withscores);
}

static void cmd_zrange(client *c) { zrange_generic(c, 1, 0, RANGE_AUTO, DIR_AUTO); }
static void cmd_zrangestore(client *c) { zrange_generic(c, 2, 1, RANGE_AUTO, DIR_AUTO); }
static void cmd_zrevrange(client *c) { zrange_generic(c, 1, 0, RANGE_RANK, DIR_REV); }
static void cmd_zrangebyscore(client *c) { zrange_generic(c, 1, 0, RANGE_SCORE, DIR_FWD); }
static void cmd_zrevrangebyscore(client *c) { zrange_generic(c, 1, 0, RANGE_SCORE, DIR_REV); }
static void cmd_zrangebylex(client *c) { zrange_generic(c, 1, 0, RANGE_LEX, DIR_FWD); }
static void cmd_zrevrangebylex(client *c) { zrange_generic(c, 1, 0, RANGE_LEX, DIR_REV); }

/* ---- ZREMRANGEBY* ---- */

static void zremrange_generic(client *c, int type) {
    long long start = 0, end = 0;
    score_range sr;
    lex_bound lmin = {0}, lmax = {0};
    if (type == RANGE_RANK) {
        if (!arg_ll_or_reply(c, 2, &start) || !arg_ll_or_reply(c, 3, &end)) return;
    } else if (type == RANGE_SCORE) {
        if (!score_range_or_reply(c, 2, 3, &sr)) return;
    } else if (!lex_range_or_reply(c, 2, 3, &lmin, &lmax)) {
        return;
    }
    rkey *k;
    zset *z;
    if (!zset_lookup_or_reply(c, 1, 1, &k, &z)) return;
    size_t lo = 0, hi = 0;
    if (z) {
        if (type == RANGE_RANK) rank_range(start, end, zset_len(z), &lo, &hi);
        else if (type == RANGE_SCORE) score_ranks(z, &sr, &lo, &hi);
        else lex_ranks(z, &lmin, &lmax, &lo, &hi);
    }
    size_t n = z ? zset_del_range(z, lo, hi) : 0;
    if (n) notify_arg(c, NOTIFY_ZSET, c->cmd->name, 1); /* "zremrangebyrank", ... */
    if (n) zset_changed(c, 1, k, z);
    reply_int(&c->out, (long long)n);
}

static void cmd_zremrangebyrank(client *c) { zremrange_generic(c, RANGE_RANK); }
static void cmd_zremrangebyscore(client *c) { zremrange_generic(c, RANGE_SCORE); }
static void cmd_zremrangebylex(client *c) { zremrange_generic(c, RANGE_LEX); }

/* ---- pops ---- */

/* genericZpopCommand over argv[keys .. keys+nkeys-1]: pop up to count (-1: one, flat
 * reply) from the first existing key. emitkey: the reply names the key. nested: pairs
 * as arrays. nil_empty: nothing to pop replies a null array, else an empty one. */
static void zpop_generic(client *c, int keys, int nkeys, int max, int emitkey, long long count, int nested,
                         int nil_empty) {
    rkey *k = NULL;
    zset *z = NULL;
    int ki = keys;
    for (; ki < keys + nkeys; ki++) {
        if (!zset_lookup_or_reply(c, ki, 1, &k, &z)) return;
        if (z) break;
    }
    if (!z) {
        if (nil_empty) reply_null_array(&c->out);
        else reply_array(&c->out, 0);
        return;
    }
    if (count == 0) {
        reply_array(&c->out, 0);
        return;
    }
    /* Redis replays a pop that names its key (BZPOPMIN/BZPOPMAX, [B]ZMPOP) as ZPOPMIN or
     * ZPOPMAX of that key, with the count when one was asked for. */
    if (emitkey && propagate_wanted()) {
        char num[UTIL_LLSTR_SIZE];
        resp_slice v[3] = {max ? PROP_STR("ZPOPMAX") : PROP_STR("ZPOPMIN"), c->argv[ki], {num, 0}};
        if (count != -1) v[2].len = (size_t)util_ll2str(num, count);
        propagate_replace(c, count != -1 ? 3 : 2, v);
    }
    if (count == -1) count = 1;
    size_t len = zset_len(z), n = (size_t)count > len ? len : (size_t)count;
    if (!nested && !emitkey) {
        reply_array(&c->out, (long)n * 2);
    } else if (nested && !emitkey) {
        reply_array(&c->out, (long)n);
    } else if (!nested) {
        reply_array(&c->out, (long)n * 2 + 1);
        reply_bulk(&c->out, KEYARG(c, ki));
    } else {
        reply_array(&c->out, 2);
        reply_bulk(&c->out, KEYARG(c, ki));
        reply_array(&c->out, (long)n);
    }
    size_t lo = max ? len - n : 0, hi = max ? len : n;
    zentry *e = collect(z, lo, hi);
    for (size_t i = 0; i < n; i++) {
        const zentry *x = &e[max ? n - 1 - i : i];
        if (nested) reply_array(&c->out, 2);
        reply_bulk(&c->out, x->m, x->mlen);
        reply_double(&c->out, x->score);
    }
    free(e);
    zset_del_range(z, lo, hi);
    notify_arg(c, NOTIFY_ZSET, max ? "zpopmax" : "zpopmin", ki);
    zset_changed(c, ki, k, z);
}

static void zpop_cmd(client *c, int max) {
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    long long count = -1;
    if (c->argc == 3 && !arg_range_or_reply(c, 2, 0, LONG_MAX, &count, "value is out of range, must be positive"))
        return;
    zpop_generic(c, 1, 1, max, 0, count, c->resp > 2 && count != -1, 0);
}

static void cmd_zpopmin(client *c) { zpop_cmd(c, 0); }
static void cmd_zpopmax(client *c) { zpop_cmd(c, 1); }

/* A blocking timeout in seconds (a double; 0 = forever) as an absolute ms time, or 0. */
static int timeout_or_reply(client *c, int i, long long *abs_ms) {
    long double v;
    if (!util_str2ld(c->argv[i].ptr, c->argv[i].len, &v)) {
        reply_error(&c->out, "timeout is not a float or out of range");
        return 0;
    }
    long double ms = v * 1000.0L;
    /* Redis casts to long long: out of range (inf included) comes out as LLONG_MIN on
     * x86, which it then calls negative. */
    long long t = ms >= 9223372036854775807.0L || ms <= -9223372036854775808.0L ? LLONG_MIN : (long long)ms;
    if (t < 0) {
        reply_error(&c->out, "timeout is negative");
        return 0;
    }
    long long now = util_mstime();
    if (t > LLONG_MAX - now) {
        reply_error(&c->out, "timeout is out of range");
        return 0;
    }
    *abs_ms = t > 0 ? now + t : 0;
    return 1;
}

/* blockingGenericZpopCommand: pop from the first non-empty sorted set among the keys,
 * else block on them all. A re-run after a key changed skips keys of another type. */
static void bzpop_generic(client *c, int keys, int nkeys, int max, int timeout_idx, long long count, int nested) {
    long long timeout;
    if (!timeout_or_reply(c, timeout_idx, &timeout)) return;
    int retry = blocking_is_retry(c);
    for (int i = keys; i < keys + nkeys; i++) {
        rkey *k = db_lookup_write(c->db, KEYARG(c, i));
        if (!k) continue;
        if (rkey_type(k) != OBJ_ZSET) {
            if (retry) continue;
            reply_wrongtype(c);
            return;
        }
        if (!zset_len(rkey_ptr(k))) continue;
        zpop_generic(c, i, 1, max, 1, count, nested, nested);
        return;
    }
    block_for_keys(c, &c->argv[keys], nkeys, timeout, 0);
}

static void cmd_bzpopmin(client *c) { bzpop_generic(c, 1, c->argc - 2, 0, c->argc - 1, -1, 0); }
static void cmd_bzpopmax(client *c) { bzpop_generic(c, 1, c->argc - 2, 1, c->argc - 1, -1, 0); }

/* [B]ZMPOP [timeout] numkeys key... MIN|MAX [COUNT count] */
static void zmpop_generic(client *c, int numkeys_idx, int block) {
    long long numkeys, count = -1;
    if (!arg_range_or_reply(c, numkeys_idx, 1, LONG_MAX, &numkeys, "numkeys should be greater than 0")) return;
    long long where_idx = numkeys_idx + numkeys + 1;
    if (where_idx >= c->argc) {
        reply_syntax_error(c);
        return;
    }
    int max;
    if (arg_is(c, (int)where_idx, "min")) max = 0;
    else if (arg_is(c, (int)where_idx, "max")) max = 1;
    else {
        reply_syntax_error(c);
        return;
    }
    for (int j = (int)where_idx + 1; j < c->argc; j++) {
        if (count == -1 && arg_is(c, j, "count") && j + 1 < c->argc) {
            j++;
            if (!arg_range_or_reply(c, j, 1, LONG_MAX, &count, "count should be greater than 0")) return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (count == -1) count = 1;
    if (block) bzpop_generic(c, numkeys_idx + 1, (int)numkeys, max, 1, count, 1);
    else zpop_generic(c, numkeys_idx + 1, (int)numkeys, max, 1, count, 1, 1);
}

static void cmd_zmpop(client *c) { zmpop_generic(c, 1, 0); }
static void cmd_bzmpop(client *c) { zmpop_generic(c, 2, 1); }

/* ---- ZRANDMEMBER ---- */

static void cmd_zrandmember(client *c) {
    zset *z;
    if (c->argc == 2) {
        if (!zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
        if (!z) {
            reply_null(&c->out);
            return;
        }
        zset_iter it;
        zentry e;
        zset_iter_at(z, dict_random() % zset_len(z), &it);
        zset_iter_next(&it, &e.m, &e.mlen, &e.score);
        reply_bulk(&c->out, e.m, e.mlen);
        return;
    }
    long long l;
    int withscores = 0;
    if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withscores"))) {
        reply_syntax_error(c);
        return;
    }
    withscores = c->argc == 4;
    if (!arg_range_or_reply(c, 2, -LONG_MAX, LONG_MAX, &l, NULL)) return;
    if (withscores && l < -LONG_MAX / 2) {
        reply_error(&c->out, "value is out of range");
        return;
    }
    if (!zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    if (!z || l == 0) {
        reply_array(&c->out, 0);
        return;
    }
    size_t len = zset_len(z);
    int uniq = l >= 0;
    size_t count = (size_t)(l < 0 ? -l : l);
    size_t *ranks;
    if (uniq && count >= len) {
        count = len;
        ranks = xmalloc(sizeof(*ranks) * count);
        for (size_t i = 0; i < count; i++) ranks[i] = count - 1 - i; /* Redis: the whole set, highest first */
    } else if (uniq) {
        /* distinct random ranks: an open-addressing set of those taken */
        size_t cap = 16;
        while (cap < count * 2) cap *= 2;
        size_t *taken = xmalloc(sizeof(*taken) * cap);
        memset(taken, 0xff, sizeof(*taken) * cap);
        ranks = xmalloc(sizeof(*ranks) * count);
        for (size_t i = 0; i < count;) {
            size_t r = dict_random() % len, h = (r * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (taken[h] != (size_t)-1 && taken[h] != r) h = (h + 1) & (cap - 1);
            if (taken[h] == r) continue;
            taken[h] = r;
            ranks[i++] = r;
        }
        free(taken);
    } else {
        ranks = NULL; /* with repetitions: drawn as they are sent */
    }
    reply_array(&c->out, (long)(withscores && c->resp == 2 ? count * 2 : count));
    for (size_t i = 0; i < count; i++) {
        zset_iter it;
        zentry x;
        zset_iter_at(z, ranks ? ranks[i] : dict_random() % len, &it);
        zset_iter_next(&it, &x.m, &x.mlen, &x.score);
        if (withscores && c->resp > 2) reply_array(&c->out, 2);
        reply_bulk(&c->out, x.m, x.mlen);
        if (withscores) reply_double(&c->out, x.score);
    }
    free(ranks);
}

/* ---- ZUNION / ZINTER / ZDIFF and their stores, ZINTERCARD ---- */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct zsrc {
    zset *z;   /* the set, or a temporary copy of a plain set's elements (score 1) */
    int owned; /* z is the temporary */
    double weight;
} zsrc;

static void add_elem_score1(void *priv, const char *e, size_t len) {
    int out;
    zset_add(priv, 1.0, e, len, 0, &out, NULL);
}

static int cmp_by_len(const void *a, const void *b) {
    const zsrc *x = a, *y = b;
    size_t lx = x->z ? zset_len(x->z) : 0, ly = y->z ? zset_len(y->z) : 0;
    return lx < ly ? -1 : lx > ly;
}

static void aggregate(double *target, double v, int agg) {
    if (agg == AGG_SUM) {
        *target = *target + v;
        if (isnan(*target)) *target = 0.0;
    } else if (agg == AGG_MIN) {
        if (v < *target) *target = v;
    } else if (v > *target) {
        *target = v;
    }
}

static void zsetop_generic(client *c, int dst, int numkeys_idx, int op, int card_only) {
    long long setnum;
    if (!arg_ll_or_reply(c, numkeys_idx, &setnum)) return;
    if (setnum < 1) {
        reply_errorf(&c->out, "at least 1 input key is needed for '%s' command", c->cmd->fullname);
        return;
    }
    if (setnum > c->argc - (numkeys_idx + 1)) {
        reply_syntax_error(c);
        return;
    }
    int n = (int)setnum, j = numkeys_idx + 1, agg = AGG_SUM, withscores = 0;
    long long limit = 0;
    zsrc *src = xcalloc((size_t)n, sizeof(*src));
    zset *res = NULL;
    for (int i = 0; i < n; i++, j++) {
        rkey *k = db_lookup_read(c->db, KEYARG(c, j));
        src[i].weight = 1.0;
        if (!k) continue;
        if (rkey_type(k) == OBJ_ZSET) {
            src[i].z = rkey_ptr(k);
        } else if (rkey_type(k) == OBJ_SET && type_of(k)->elements) {
            src[i].z = zset_new(SIZE_MAX, 0);
            src[i].owned = 1;
            type_of(k)->elements(rkey_ptr(k), add_elem_score1, src[i].z);
        } else {
            reply_wrongtype(c);
            goto done;
        }
    }
    while (j < c->argc) {
        int remaining = c->argc - j;
        if (op != OP_DIFF && !card_only && remaining >= n + 1 && arg_is(c, j, "weights")) {
            j++;
            for (int i = 0; i < n; i++, j++)
                if (!arg_double_or_reply(c, j, &src[i].weight, "weight value is not a float")) goto done;
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && arg_is(c, j, "aggregate")) {
            j++;
            if (arg_is(c, j, "sum")) agg = AGG_SUM;
            else if (arg_is(c, j, "min")) agg = AGG_MIN;
            else if (arg_is(c, j, "max")) agg = AGG_MAX;
            else {
                reply_syntax_error(c);
                goto done;
            }
            j++;
        } else if (!dst && !card_only && arg_is(c, j, "withscores")) {
            j++;
            withscores = 1;
        } else if (card_only && remaining >= 2 && arg_is(c, j, "limit")) {
            if (!arg_range_or_reply(c, j + 1, 0, LLONG_MAX, &limit, "LIMIT can't be negative")) goto done;
            j += 2;
        } else {
            reply_syntax_error(c);
            goto done;
        }
    }
    if (op != OP_DIFF) qsort(src, (size_t)n, sizeof(*src), cmp_by_len);
    res = zset_new(SIZE_MAX, 0);
    unsigned long long card = 0;
    if (op == OP_INTER) {
        if (src[0].z && zset_len(src[0].z)) {
            zset_iter it;
            zentry e;
            zset_iter_at(src[0].z, 0, &it);
            while (zset_iter_next(&it, &e.m, &e.mlen, &e.score)) {
                double score = src[0].weight * e.score, v;
                if (isnan(score)) score = 0;
                int i;
                for (i = 1; i < n; i++) {
                    if (src[i].z == src[0].z) {
                        v = e.score * src[i].weight;
                    } else if (src[i].z && zset_score(src[i].z, e.m, e.mlen, &v)) {
                        v *= src[i].weight;
                    } else {
                        break;
                    }
                    aggregate(&score, v, agg);
                }
                if (i < n) continue;
                if (card_only) {
                    card++;
                    if (limit && card >= (unsigned long long)limit) break;
                } else {
                    int out;
                    zset_add(res, score, e.m, e.mlen, 0, &out, NULL);
                }
            }
        }
    } else if (op == OP_UNION) {
        for (int i = 0; i < n; i++) {
            if (!src[i].z) continue;
            zset_iter it;
            zentry e;
            zset_iter_at(src[i].z, 0, &it);
            while (zset_iter_next(&it, &e.m, &e.mlen, &e.score)) {
                double score = src[i].weight * e.score, cur;
                if (isnan(score)) score = 0;
                if (zset_score(res, e.m, e.mlen, &cur)) aggregate(&cur, score, agg);
                else cur = score;
                int out;
                zset_add(res, cur, e.m, e.mlen, 0, &out, NULL);
            }
        }
    } else if (src[0].z) {
        zset_iter it;
        zentry e;
        zset_iter_at(src[0].z, 0, &it);
        while (zset_iter_next(&it, &e.m, &e.mlen, &e.score)) {
            double v;
            int i;
            for (i = 1; i < n; i++)
                if (src[i].z && zset_score(src[i].z, e.m, e.mlen, &v)) break;
            if (i == n) {
                int out;
                zset_add(res, e.score, e.m, e.mlen, 0, &out, NULL);
            }
        }
    }
    if (dst) {
        long long len = (long long)zset_len(res);
        if (len) {
            zset_convert_if_small(res);
            db_set_ptr(c->db, KEYARG(c, dst), OBJ_ZSET, res);
            notify_arg(c, NOTIFY_ZSET, c->cmd->name, dst); /* "zunionstore", ... */
            res = NULL;
        } else if (db_delete(c->db, KEYARG(c, dst))) {
            notify_arg(c, NOTIFY_GENERIC, "del", dst);
        }
        reply_int(&c->out, len);
    } else if (card_only) {
        reply_int(&c->out, (long long)card);
    } else {
        reply_range(c, res, 0, zset_len(res), 0, withscores);
    }
done:
    for (int i = 0; i < n; i++)
        if (src[i].owned) zset_free(src[i].z);
    free(src);
    zset_free(res);
}

static void cmd_zunion(client *c) { zsetop_generic(c, 0, 1, OP_UNION, 0); }
static void cmd_zinter(client *c) { zsetop_generic(c, 0, 1, OP_INTER, 0); }
static void cmd_zdiff(client *c) { zsetop_generic(c, 0, 1, OP_DIFF, 0); }
static void cmd_zunionstore(client *c) { zsetop_generic(c, 1, 2, OP_UNION, 0); }
static void cmd_zinterstore(client *c) { zsetop_generic(c, 1, 2, OP_INTER, 0); }
static void cmd_zdiffstore(client *c) { zsetop_generic(c, 1, 2, OP_DIFF, 0); }
static void cmd_zintercard(client *c) { zsetop_generic(c, 0, 1, OP_INTER, 1); }

/* ---- ZSCAN ---- */

typedef struct zscan_acc {
    zentry *e;
    size_t n, cap;
} zscan_acc;

static void zscan_visit(void *priv, const char *m, size_t mlen, double score) {
    zscan_acc *a = priv;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->e = xrealloc(a->e, sizeof(*a->e) * a->cap);
    }
    a->e[a->n++] = (zentry){m, mlen, score};
}

static void cmd_zscan(client *c) {
    char small[64], *s = arg_cstr(c, 2, small, sizeof small), *end;
    errno = 0;
    unsigned long cursor = strtoul(s, &end, 10);
    int ok = !isspace((unsigned char)s[0]) && *end == '\0' && errno != ERANGE;
    if (s != small) free(s);
    if (!ok) {
        reply_error(&c->out, "invalid cursor");
        return;
    }
    zset *z;
    if (!zset_lookup_or_reply(c, 1, 0, NULL, &z)) return;
    if (!z) {
        scan_reply_empty(c);
        return;
    }
    long long count = 10;
    const char *pat = NULL;
    size_t patlen = 0;
    for (int i = 3; i < c->argc; i += 2) {
        if (arg_is(c, i, "count") && i + 1 < c->argc) {
            if (!arg_ll_or_reply(c, i + 1, &count)) return;
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
        } else if (arg_is(c, i, "match") && i + 1 < c->argc) {
            pat = c->argv[i + 1].ptr;
            patlen = c->argv[i + 1].len;
            if (patlen == 1 && pat[0] == '*') pat = NULL;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    zscan_acc a = {0};
    long long maxit = count * 10;
    do { cursor = zset_scan(z, cursor, zscan_visit, &a); } while (cursor && maxit-- && a.n < (size_t)count);
    size_t kept = 0;
    for (size_t i = 0; i < a.n; i++)
        if (!pat || util_stringmatch(pat, patlen, a.e[i].m, a.e[i].mlen, 0)) a.e[kept++] = a.e[i];
    reply_array(&c->out, 2);
    reply_bulk_ll(&c->out, (long long)cursor);
    reply_array(&c->out, (long)kept * 2);
    for (size_t i = 0; i < kept; i++) {
        char buf[64];
        reply_bulk(&c->out, a.e[i].m, a.e[i].mlen);
        int n = util_d2str(buf, sizeof buf, a.e[i].score);
        reply_bulk(&c->out, buf, (size_t)n);
    }
    free(a.e);
}

/* ---- the table (arity, flags, keys and docs: server/command_table.c) ---- */

const command_binding zset_commands[] = {
    CMD("zadd", cmd_zadd),
    CMD("zincrby", cmd_zincrby),
    CMD("zrem", cmd_zrem),
    CMD("zcard", cmd_zcard),
    CMD("zscore", cmd_zscore),
    CMD("zmscore", cmd_zmscore),
    CMD("zrank", cmd_zrank),
    CMD("zrevrank", cmd_zrevrank),
    CMD("zcount", cmd_zcount),
    CMD("zlexcount", cmd_zlexcount),
    CMD("zrange", cmd_zrange),
    CMD("zrangestore", cmd_zrangestore),
    CMD("zrevrange", cmd_zrevrange),
    CMD("zrangebyscore", cmd_zrangebyscore),
    CMD("zrevrangebyscore", cmd_zrevrangebyscore),
    CMD("zrangebylex", cmd_zrangebylex),
    CMD("zrevrangebylex", cmd_zrevrangebylex),
    CMD("zremrangebyrank", cmd_zremrangebyrank),
    CMD("zremrangebyscore", cmd_zremrangebyscore),
    CMD("zremrangebylex", cmd_zremrangebylex),
    CMD("zpopmin", cmd_zpopmin),
    CMD("zpopmax", cmd_zpopmax),
    CMD("bzpopmin", cmd_bzpopmin),
    CMD("bzpopmax", cmd_bzpopmax),
    CMD("zmpop", cmd_zmpop),
    CMD("bzmpop", cmd_bzmpop),
    CMD("zrandmember", cmd_zrandmember),
    CMD("zunion", cmd_zunion),
    CMD("zinter", cmd_zinter),
    CMD("zdiff", cmd_zdiff),
    CMD("zunionstore", cmd_zunionstore),
    CMD("zinterstore", cmd_zinterstore),
    CMD("zdiffstore", cmd_zdiffstore),
    CMD("zintercard", cmd_zintercard),
    CMD("zscan", cmd_zscan),
    {0},
};
