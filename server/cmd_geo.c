/* cmd_geo.c: the GEO commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS[_RO],
 * GEORADIUSBYMEMBER[_RO], GEOSEARCH, GEOSEARCHSTORE) over sorted sets, with Redis 7.0's
 * replies, error texts and order of checks (geo.c's geoaddCommand and
 * georadiusGeneric).
 *
 * A geo set is a sorted set whose scores are 52-bit geohashes (common/geohash.h), so
 * every sorted-set command, TYPE, DUMP and persistence see it as one. GEOADD is a ZADD
 * of the encoded scores: it replicates as that ZADD and raises "zadd".
 *
 * A search takes the centre's geohash cell at a step suited to the radius and its 8
 * neighbours, reads each cell's score range [min, max) from the set in order, skipping
 * a cell equal to the one read just before it (with a huge radius neighbours coincide),
 * keeps the points inside the exact circle or box, then sorts by distance when asked
 * (COUNT alone implies ASC) with the sorts Redis uses, so that equal distances come out
 * in Redis's order too. COUNT ANY stops reading once it has COUNT points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/geohash.h"
#include "common/xmalloc.h"
#include "server/notify.h"
#include "server/propagate.h"
#include "server/server.h"
#include "storage/t_zset.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

/* Look up argv[i] for reading as a sorted set: 1 with *zp (NULL if absent), or 0 after
 * replying WRONGTYPE. */
static int geo_lookup_or_reply(client *c, int i, zset **zp) {
    rkey *k = db_lookup_read(c->db, KEYARG(c, i));
    *zp = NULL;
    if (!k) return 1;
    if (rkey_type(k) != OBJ_ZSET) {
        reply_wrongtype(c);
        return 0;
    }
    *zp = rkey_ptr(k);
    return 1;
}

static int arg_double_or_reply(client *c, int i, double *out, const char *msg) {
    if (util_str2d(c->argv[i].ptr, c->argv[i].len, out)) return 1;
    reply_error(&c->out, msg ? msg : "value is not a valid float");
    return 0;
}

/* argv[i], argv[i+1] as a longitude, latitude pair within the Mercator limits. */
static int lonlat_or_reply(client *c, int i, double xy[2]) {
    if (!arg_double_or_reply(c, i, &xy[0], NULL) || !arg_double_or_reply(c, i + 1, &xy[1], NULL)) return 0;
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN || xy[1] > GEO_LAT_MAX) {
        reply_errorf(&c->out, "invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return 0;
    }
    return 1;
}

/* The unit at argv[i] in metres, or -1 after replying. */
static double unit_or_reply(client *c, int i) {
    if (arg_is(c, i, "m")) return 1;
    if (arg_is(c, i, "km")) return 1000;
    if (arg_is(c, i, "ft")) return 0.3048;
    if (arg_is(c, i, "mi")) return 1609.34;
    reply_error(&c->out, "unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* The member's position decoded from its score: 1, or 0 if it is not in z. */
static int member_lonlat(zset *z, const char *m, size_t mlen, double xy[2]) {
    double score;
    if (!zset_score(z, m, mlen, &score)) return 0;
    geohash_score_to_lonlat(score, xy);
    return 1;
}

/* Distances are replied with 4 decimals, as a bulk string in both protocols. */
static void reply_distance(client *c, double d) {
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%.4f", d);
    reply_bulk(&c->out, buf, (size_t)n);
}

/* A coordinate as Redis's addReplyHumanLongDouble: "%.17Lf" trimmed, a bulk string in
 * RESP2 and a double in RESP3. */
static void reply_coord(client *c, double v) {
    char buf[UTIL_LDSTR_SIZE];
    int n = util_ld2str(buf, sizeof buf, (long double)v);
    if (c->resp == 2) {
        reply_bulk(&c->out, buf, (size_t)n);
    } else {
        reply_raw(&c->out, ",", 1);
        reply_raw(&c->out, buf, (size_t)n);
        reply_raw(&c->out, "\r\n", 2);
    }
}

/* ---- GEOADD ---- */

/* GEOADD replays as the ZADD it amounts to: ZADD key [options] score member ... */
static void geoadd_propagate(client *c, int lonidx, int elements, const uint64_t *scores) {
    int argc = lonidx + elements * 2;
    resp_slice *v = xmalloc(sizeof(*v) * (size_t)argc);
    char *nums = xmalloc((size_t)elements * UTIL_LLSTR_SIZE);
    v[0] = PROP_STR("zadd");
    for (int i = 1; i < lonidx; i++) v[i] = c->argv[i];
    for (int j = 0; j < elements; j++) {
        char *num = nums + (size_t)j * UTIL_LLSTR_SIZE;
        v[lonidx + j * 2] = (resp_slice){num, (size_t)util_ll2str(num, (long long)scores[j])};
        v[lonidx + j * 2 + 1] = c->argv[lonidx + j * 3 + 2];
    }
    propagate_replace(c, argc, v);
    free(nums);
    free(v);
}

static void cmd_geoadd(client *c) {
    int nx = 0, xx = 0, lonidx = 2;
    for (; lonidx < c->argc; lonidx++) {
        if (arg_is(c, lonidx, "nx")) nx = 1;
        else if (arg_is(c, lonidx, "xx")) xx = 1;
        else if (!arg_is(c, lonidx, "ch")) break;
    }
    int ch = 0;
    for (int i = 2; i < lonidx; i++) ch |= arg_is(c, i, "ch");
    int elements = (c->argc - lonidx) / 3;
    if ((c->argc - lonidx) % 3 || (nx && xx) || elements == 0) {
        reply_syntax_error(c);
        return;
    }
    uint64_t *scores = xmalloc(sizeof(*scores) * (size_t)elements);
    size_t maxlen = 0;
    for (int j = 0; j < elements; j++) {
        double xy[2];
        geohash_bits h;
        if (!lonlat_or_reply(c, lonidx + j * 3, xy)) goto done;
        geohash_encode_wgs84(xy[0], xy[1], GEO_STEP_MAX, &h);
        scores[j] = geohash_align52(h);
        if (c->argv[lonidx + j * 3 + 2].len > maxlen) maxlen = c->argv[lonidx + j * 3 + 2].len;
    }
    rkey *k = db_lookup_write(c->db, KEYARG(c, 1));
    if (k && rkey_type(k) != OBJ_ZSET) {
        reply_wrongtype(c);
        goto done;
    }
    if (propagate_wanted()) geoadd_propagate(c, lonidx, elements, scores);
    long long added = 0, updated = 0;
    zset *z = k ? rkey_ptr(k) : NULL;
    if (!z && !xx) {
        z = zset_new((size_t)elements, maxlen);
        k = db_add_ptr(c->db, KEYARG(c, 1), OBJ_ZSET, z);
    }
    for (int j = 0; z && j < elements; j++) {
        int out;
        const resp_slice *m = &c->argv[lonidx + j * 3 + 2];
        zset_add(z, (double)scores[j], m->ptr, m->len, (nx ? ZADD_IN_NX : 0) | (xx ? ZADD_IN_XX : 0), &out, NULL);
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
    }
    if (added || updated) {
        db_touch(c->db, k);
        notify_arg(c, NOTIFY_ZSET, "zadd", 1);
    }
    reply_int(&c->out, ch ? added + updated : added);
done:
    free(scores);
}

/* ---- GEODIST, GEOHASH, GEOPOS ---- */

static void cmd_geodist(client *c) {
    double to_m = 1;
    if (c->argc == 5) {
        if ((to_m = unit_or_reply(c, 4)) < 0) return;
    } else if (c->argc > 5) {
        reply_syntax_error(c);
        return;
    }
    zset *z;
    if (!geo_lookup_or_reply(c, 1, &z)) return;
    double a[2], b[2];
    if (!z || !member_lonlat(z, KEYARG(c, 2), a) || !member_lonlat(z, KEYARG(c, 3), b)) {
        reply_null(&c->out);
        return;
    }
    reply_distance(c, geohash_distance(a[0], a[1], b[0], b[1]) / to_m);
}

static void cmd_geohash(client *c) {
    zset *z;
    if (!geo_lookup_or_reply(c, 1, &z)) return;
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        double xy[2];
        char buf[12];
        if (!z || !member_lonlat(z, KEYARG(c, i), xy)) {
            reply_null(&c->out);
            continue;
        }
        geohash_string(xy[0], xy[1], buf);
        reply_bulk(&c->out, buf, 11);
    }
}

static void cmd_geopos(client *c) {
    zset *z;
    if (!geo_lookup_or_reply(c, 1, &z)) return;
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        double xy[2];
        if (!z || !member_lonlat(z, KEYARG(c, i), xy)) {
            reply_null_array(&c->out);
            continue;
        }
        reply_array(&c->out, 2);
        reply_coord(c, xy[0]);
        reply_coord(c, xy[1]);
    }
}

/* ---- searches ---- */

enum { SORT_NONE, SORT_ASC, SORT_DESC };

#define SEARCH_COORDS  1  /* GEORADIUS: centre and radius are arguments 2..5 */
#define SEARCH_MEMBER  2  /* GEORADIUSBYMEMBER: member, radius and unit are 2..4 */
#define SEARCH_NOSTORE 4  /* the _RO variants */
#define SEARCH_GEO     8  /* GEOSEARCH options */
#define SEARCH_STORE   16 /* GEOSEARCHSTORE */

typedef struct geo_point {
    const char *m;
    size_t mlen;
    double lon, lat, dist, score;
} geo_point;

typedef struct geo_points {
    geo_point *p;
    size_t n, cap;
} geo_points;

/* Append the members of z with scores in [min, max) that lie inside the shape, until
 * there are limit points (0: no limit). */
static void points_in_range(zset *z, double min, double max, const geo_shape *s, geo_points *ga, size_t limit) {
    size_t lo = zset_count_below_score(z, min, 0), hi = zset_count_below_score(z, max, 0);
    zset_iter it;
    zset_iter_at(z, lo, &it);
    for (size_t r = lo; r < hi; r++) {
        geo_point g;
        double xy[2];
        zset_iter_next(&it, &g.m, &g.mlen, &g.score);
        geohash_score_to_lonlat(g.score, xy);
        int in = s->type == GEO_SHAPE_CIRCLE
                     ? geohash_in_radius(s->xy[0], s->xy[1], xy[0], xy[1], s->radius * s->conversion, &g.dist)
                     : geohash_in_box(s->width * s->conversion, s->height * s->conversion, s->xy[0], s->xy[1], xy[0],
                                      xy[1], &g.dist);
        if (in) {
            g.lon = xy[0];
            g.lat = xy[1];
            if (ga->n == ga->cap) {
                ga->cap = ga->cap ? ga->cap * 2 : 8;
                ga->p = xrealloc(ga->p, sizeof(*ga->p) * ga->cap);
            }
            ga->p[ga->n++] = g;
        }
        if (ga->n && limit && ga->n >= limit) break;
    }
}

static void points_in_shape(zset *z, const geo_shape *s, geo_points *ga, size_t limit) {
    geohash_bits cells[9];
    geohash_search_cells(s, cells);
    int last = 0;
    for (int i = 0; i < 9; i++) {
        if (cells[i].bits == 0 && cells[i].step == 0) continue;
        if (last && cells[i].bits == cells[last].bits && cells[i].step == cells[last].step) continue;
        if (ga->n && limit && ga->n >= limit) break;
        geohash_bits next = cells[i];
        next.bits++;
        points_in_range(z, (double)geohash_align52(cells[i]), (double)geohash_align52(next), s, ga, limit);
        last = i;
    }
}

static int by_dist_asc(const void *a, const void *b) {
    double x = ((const geo_point *)a)->dist, y = ((const geo_point *)b)->dist;
    return x > y ? 1 : x == y ? 0 : -1;
}

static int by_dist_desc(const void *a, const void *b) { return -by_dist_asc(a, b); }

/* ---- the partial sort of a COUNT prefix ----
 * Redis sorts the whole result with libc's qsort, but when COUNT keeps fewer points it
 * uses its pqsort: Bentley and McIlroy's quicksort ("Engineering a Sort Function",
 * 1993: insertion sort under 7 elements, a median of three or of three medians of three
 * as pivot, a three-way split keeping equal keys at both ends) that skips the parts
 * holding no wanted position. Equal distances end up where that algorithm puts them, so
 * the same algorithm is followed here step for step. */

typedef int geo_cmp(const void *, const void *);

static void gp_swap(geo_point *a, geo_point *b) {
    geo_point t = *a;
    *a = *b;
    *b = t;
}

static void gp_swap_n(geo_point *a, geo_point *b, size_t n) {
    for (size_t i = 0; i < n; i++) gp_swap(a + i, b + i);
}

static geo_point *median3(geo_point *a, geo_point *b, geo_point *c, geo_cmp *cmp) {
    if (cmp(a, b) < 0) return cmp(b, c) < 0 ? b : cmp(a, c) < 0 ? c : a;
    return cmp(b, c) > 0 ? b : cmp(a, c) < 0 ? a : c;
}

/* Sort enough of a[0..n) that positions [want_lo, want_hi] hold what a full sort would
 * put there, in that algorithm's order. */
static void partial_sort(geo_point *a, size_t n, geo_cmp *cmp, const geo_point *want_lo, const geo_point *want_hi) {
    for (;;) {
        if (n < 7) {
            for (geo_point *m = a + 1; m < a + n; m++)
                for (geo_point *l = m; l > a && cmp(l - 1, l) > 0; l--) gp_swap(l, l - 1);
            return;
        }
        geo_point *pm = a + n / 2;
        if (n > 7) {
            geo_point *pl = a, *pn = a + n - 1;
            if (n > 40) {
                size_t d = n / 8;
                pl = median3(pl, pl + d, pl + 2 * d, cmp);
                pm = median3(pm - d, pm, pm + d, cmp);
                pn = median3(pn - 2 * d, pn - d, pn, cmp);
            }
            pm = median3(pl, pm, pn, cmp);
        }
        gp_swap(a, pm);
        /* [a+1, pa) and (pd, a+n) hold keys equal to the pivot a[0]; [pa, pb) smaller
         * ones, (pc, pd] greater ones. */
        geo_point *pa = a + 1, *pb = a + 1, *pc = a + n - 1, *pd = a + n - 1;
        int r;
        for (;;) {
            while (pb <= pc && (r = cmp(pb, a)) <= 0) {
                if (r == 0) gp_swap(pa++, pb);
                pb++;
            }
            while (pb <= pc && (r = cmp(pc, a)) >= 0) {
                if (r == 0) gp_swap(pc, pd--);
                pc--;
            }
            if (pb > pc) break;
            gp_swap(pb++, pc--);
        }
        geo_point *pn = a + n;
        size_t k = (size_t)(pa - a) < (size_t)(pb - pa) ? (size_t)(pa - a) : (size_t)(pb - pa);
        gp_swap_n(a, pb - k, k);
        k = (size_t)(pd - pc) < (size_t)(pn - pd - 1) ? (size_t)(pd - pc) : (size_t)(pn - pd - 1);
        gp_swap_n(pb, pn - k, k);
        size_t left = (size_t)(pb - pa), right = (size_t)(pd - pc);
        /* A part is sorted unless the wanted positions lie wholly before or after it. */
        if (left > 1 && !((want_lo < a && want_hi < a) || (want_lo >= a + left && want_hi >= a + left)))
            partial_sort(a, left, cmp, want_lo, want_hi);
        if (right <= 1) return;
        a = pn - right;
        n = right;
        if ((want_lo < a && want_hi < a) || (want_lo >= a + n && want_hi >= a + n)) return;
    }
}

/* argv[i], argv[i+1]: radius and unit. */
static int radius_or_reply(client *c, int i, geo_shape *s) {
    double r;
    if (!arg_double_or_reply(c, i, &r, "need numeric radius")) return 0;
    if (r < 0) {
        reply_error(&c->out, "radius cannot be negative");
        return 0;
    }
    s->radius = r;
    return (s->conversion = unit_or_reply(c, i + 1)) >= 0;
}

/* argv[i..i+2]: width, height and unit. */
static int box_or_reply(client *c, int i, geo_shape *s) {
    double w, h;
    if (!arg_double_or_reply(c, i, &w, "need numeric width") ||
        !arg_double_or_reply(c, i + 1, &h, "need numeric height"))
        return 0;
    if (h < 0 || w < 0) {
        reply_error(&c->out, "height or width cannot be negative");
        return 0;
    }
    s->width = w;
    s->height = h;
    return (s->conversion = unit_or_reply(c, i + 2)) >= 0;
}

typedef struct search_opts {
    int withdist, withhash, withcoord, sort, any, storedist;
    long long count;
    int store; /* argv index of the destination, or 0 */
} search_opts;

/* The options after base; fills the shape's centre and area for GEOSEARCH. */
static int search_opts_or_reply(client *c, int base, int flags, zset *z, geo_shape *s, search_opts *o) {
    int frommember = 0, fromloc = 0, byradius = 0, bybox = 0;
    for (int j = base; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "withdist")) {
            o->withdist = 1;
        } else if (arg_is(c, j, "withhash")) {
            o->withhash = 1;
        } else if (arg_is(c, j, "withcoord")) {
            o->withcoord = 1;
        } else if (arg_is(c, j, "any")) {
            o->any = 1;
        } else if (arg_is(c, j, "asc")) {
            o->sort = SORT_ASC;
        } else if (arg_is(c, j, "desc")) {
            o->sort = SORT_DESC;
        } else if (arg_is(c, j, "count") && left >= 1) {
            if (!arg_ll_or_reply(c, j + 1, &o->count)) return 0;
            if (o->count <= 0) {
                reply_error(&c->out, "COUNT must be > 0");
                return 0;
            }
            j++;
        } else if ((arg_is(c, j, "store") || arg_is(c, j, "storedist")) && left >= 1 &&
                   !(flags & (SEARCH_NOSTORE | SEARCH_GEO))) {
            o->store = j + 1;
            o->storedist = arg_is(c, j, "storedist");
            j++;
        } else if (arg_is(c, j, "storedist") && (flags & SEARCH_STORE)) {
            o->storedist = 1;
        } else if (arg_is(c, j, "frommember") && left >= 1 && (flags & SEARCH_GEO) && !fromloc) {
            /* With no source key the parse goes on: the reply is then an empty one. */
            if (z && !member_lonlat(z, KEYARG(c, j + 1), s->xy)) {
                reply_error(&c->out, "could not decode requested zset member");
                return 0;
            }
            frommember = 1;
            j++;
        } else if (arg_is(c, j, "fromlonlat") && left >= 2 && (flags & SEARCH_GEO) && !frommember) {
            if (!lonlat_or_reply(c, j + 1, s->xy)) return 0;
            fromloc = 1;
            j += 2;
        } else if (arg_is(c, j, "byradius") && left >= 2 && (flags & SEARCH_GEO) && !bybox) {
            if (!radius_or_reply(c, j + 1, s)) return 0;
            s->type = GEO_SHAPE_CIRCLE;
            byradius = 1;
            j += 2;
        } else if (arg_is(c, j, "bybox") && left >= 3 && (flags & SEARCH_GEO) && !byradius) {
            if (!box_or_reply(c, j + 1, s)) return 0;
            s->type = GEO_SHAPE_BOX;
            bybox = 1;
            j += 3;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (o->store && (o->withdist || o->withhash || o->withcoord)) {
        reply_errorf(&c->out, "%s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                     flags & SEARCH_STORE ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return 0;
    }
    if ((flags & SEARCH_GEO) && !(frommember || fromloc)) {
        reply_errorf(&c->out, "exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s", (int)c->argv[0].len,
                     c->argv[0].ptr);
        return 0;
    }
    if ((flags & SEARCH_GEO) && !(byradius || bybox)) {
        reply_errorf(&c->out, "exactly one of BYRADIUS and BYBOX can be specified for %.*s", (int)c->argv[0].len,
                     c->argv[0].ptr);
        return 0;
    }
    if (o->any && !o->count) {
        reply_error(&c->out, "the ANY argument requires COUNT argument");
        return 0;
    }
    return 1;
}

/* Store the first n points (a sorted set of their hashes, or of their distances in the
 * unit with STOREDIST) at argv[dst], or delete dst if there are none; reply n. */
static void search_store(client *c, int dst, int flags, const search_opts *o, const geo_shape *s, geo_points *ga,
                         size_t n) {
    if (!n) {
        if (db_delete(c->db, KEYARG(c, dst))) notify_arg(c, NOTIFY_GENERIC, "del", dst);
        reply_int(&c->out, 0);
        return;
    }
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++)
        if (ga->p[i].mlen > maxlen) maxlen = ga->p[i].mlen;
    zset *d = zset_new(n, maxlen);
    for (size_t i = 0; i < n; i++) {
        const geo_point *g = &ga->p[i];
        int out;
        zset_add(d, o->storedist ? g->dist / s->conversion : g->score, g->m, g->mlen, 0, &out, NULL);
    }
    db_set_ptr(c->db, KEYARG(c, dst), OBJ_ZSET, d);
    notify_arg(c, NOTIFY_ZSET, flags & SEARCH_GEO ? "geosearchstore" : "georadiusstore", dst);
    reply_int(&c->out, (long long)n);
}

static void search_reply(client *c, const search_opts *o, const geo_shape *s, const geo_points *ga, size_t n) {
    int extra = o->withdist + o->withhash + o->withcoord;
    reply_array(&c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        const geo_point *g = &ga->p[i];
        if (extra) reply_array(&c->out, extra + 1);
        reply_bulk(&c->out, g->m, g->mlen);
        if (o->withdist) reply_distance(c, g->dist / s->conversion);
        if (o->withhash) reply_int(&c->out, (long long)g->score);
        if (o->withcoord) {
            reply_array(&c->out, 2);
            reply_coord(c, g->lon);
            reply_coord(c, g->lat);
        }
    }
}

/* georadiusGeneric: argv[src] is the source set. */
static void search_generic(client *c, int src, int flags) {
    zset *z;
    if (!geo_lookup_or_reply(c, src, &z)) return;
    geo_shape s = {0};
    search_opts o = {0};
    int base;
    if (flags & SEARCH_COORDS) {
        base = 6;
        s.type = GEO_SHAPE_CIRCLE;
        if (!lonlat_or_reply(c, 2, s.xy) || !radius_or_reply(c, 4, &s)) return;
    } else if (flags & SEARCH_MEMBER) {
        base = 5;
        if (z) {
            s.type = GEO_SHAPE_CIRCLE;
            if (!member_lonlat(z, KEYARG(c, 2), s.xy)) {
                reply_error(&c->out, "could not decode requested zset member");
                return;
            }
            if (!radius_or_reply(c, 3, &s)) return;
        }
    } else {
        base = flags & SEARCH_STORE ? 3 : 2;
        if (flags & SEARCH_STORE) o.store = 1;
    }
    if (!search_opts_or_reply(c, base, flags, z, &s, &o)) return;
    if (!z) {
        if (o.store) {
            if (db_delete(c->db, KEYARG(c, o.store))) notify_arg(c, NOTIFY_GENERIC, "del", o.store);
            reply_int(&c->out, 0);
        } else {
            reply_array(&c->out, 0);
        }
        return;
    }
    if (o.count && o.sort == SORT_NONE && !o.any) o.sort = SORT_ASC;
    geo_points ga = {0};
    points_in_shape(z, &s, &ga, o.any ? (size_t)o.count : 0);
    size_t n = o.count && (size_t)o.count < ga.n ? (size_t)o.count : ga.n;
    if (o.sort != SORT_NONE && ga.n > 1) {
        geo_cmp *cmp = o.sort == SORT_ASC ? by_dist_asc : by_dist_desc;
        if (n == ga.n) qsort(ga.p, ga.n, sizeof(*ga.p), cmp);
        else partial_sort(ga.p, ga.n, cmp, ga.p, ga.p + n - 1);
    }
    if (o.store) search_store(c, o.store, flags, &o, &s, &ga, n);
    else search_reply(c, &o, &s, &ga, n);
    free(ga.p);
}

static void cmd_georadius(client *c) { search_generic(c, 1, SEARCH_COORDS); }
static void cmd_georadiusbymember(client *c) { search_generic(c, 1, SEARCH_MEMBER); }
static void cmd_georadius_ro(client *c) { search_generic(c, 1, SEARCH_COORDS | SEARCH_NOSTORE); }
static void cmd_georadiusbymember_ro(client *c) { search_generic(c, 1, SEARCH_MEMBER | SEARCH_NOSTORE); }
static void cmd_geosearch(client *c) { search_generic(c, 1, SEARCH_GEO); }
static void cmd_geosearchstore(client *c) { search_generic(c, 2, SEARCH_GEO | SEARCH_STORE); }

const command_binding geo_commands[] = {
    CMD("geoadd", cmd_geoadd),
    CMD("geodist", cmd_geodist),
    CMD("geohash", cmd_geohash),
    CMD("geopos", cmd_geopos),
    CMD("georadius", cmd_georadius),
    CMD("georadiusbymember", cmd_georadiusbymember),
    CMD("georadius_ro", cmd_georadius_ro),
    CMD("georadiusbymember_ro", cmd_georadiusbymember_ro),
    CMD("geosearch", cmd_geosearch),
    CMD("geosearchstore", cmd_geosearchstore),
    {0},
};
