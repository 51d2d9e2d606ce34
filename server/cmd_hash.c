/* cmd_hash.c: the hash commands (HSET ... HSCAN) over storage/t_hash.h, with Redis 7.0's
 * replies, error texts and encoding rules: HSET/HMSET convert a listpack whose arguments
 * are longer than hash-max-listpack-value before writing any (hashTypeTryConversion),
 * every write converts on a long field or value or once the field count passes
 * hash-max-listpack-entries (storage's hash_set); a hash whose last field goes is
 * deleted with its key. HINCRBYFLOAT is propagated as the HSET of its result. HRANDFIELD follows
 * Redis's cases: a negative count samples with repeats, a count at least the size
 * returns the whole hash in its order, a smaller one distinct fields at random. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/dict.h"
#include "storage/t_hash.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len
#define ARG(c, i)    (c)->argv[i].ptr, (c)->argv[i].len

/* Look up argv[i]: returns 1 with *hp the hash (NULL if the key is absent); replies
 * WRONGTYPE and returns 0 if it holds another type. */
static int hash_lookup_or_reply(client *c, int i, int write, rkey **kp, hash **hp) {
    rkey *k = write ? db_lookup_write(c->db, KEYARG(c, i)) : db_lookup_read(c->db, KEYARG(c, i));
    if (kp) *kp = k;
    *hp = NULL;
    if (!k) return 1;
    if (rkey_type(k) != OBJ_HASH) {
        reply_wrongtype(c);
        return 0;
    }
    *hp = rkey_ptr(k);
    return 1;
}

/* The hash at argv[1] for writing, created empty if absent (hashTypeLookupWriteOrCreate). */
static int hash_lookup_create_or_reply(client *c, rkey **kp, hash **hp) {
    if (!hash_lookup_or_reply(c, 1, 1, kp, hp)) return 0;
    if (!*hp) {
        *hp = hash_new();
        *kp = db_add_ptr(c->db, KEYARG(c, 1), OBJ_HASH, *hp);
    }
    return 1;
}

/* After a change: store the (possibly moved) hash back, delete the key if it is empty,
 * and tell the db (WATCH, memory). */
static void hash_changed(client *c, rkey *k, hash *h) {
    rkey_set_ptr(k, h);
    if (hash_len(h) == 0) {
        db_delete(c->db, KEYARG(c, 1));
        notify_arg(c, NOTIFY_GENERIC, "del", 1);
        return;
    }
    db_touch(c->db, k);
}

/* Convert if any of argv[from..to] is longer than hash-max-listpack-value. */
static void hash_try_conversion(client *c, hash **hp, int from, int to) {
    for (int i = from; i <= to && hash_encoding(*hp) == HASH_LISTPACK; i++) hash_check_len(hp, c->argv[i].len);
}

/* HSET key field value [field value ...] / HMSET */
static void hset_generic(client *c, int hmset) {
    rkey *k;
    hash *h;
    if (c->argc % 2 == 1) {
        reply_arity_error(c);
        return;
    }
    if (!hash_lookup_create_or_reply(c, &k, &h)) return;
    hash_try_conversion(c, &h, 2, c->argc - 1);
    long long created = 0;
    for (int i = 2; i < c->argc; i += 2) created += hash_set(&h, ARG(c, i), ARG(c, i + 1));
    hash_changed(c, k, h);
    notify_arg(c, NOTIFY_HASH, "hset", 1);
    if (hmset) reply_ok(&c->out);
    else reply_int(&c->out, created);
}

static void cmd_hset(client *c) { hset_generic(c, 0); }
static void cmd_hmset(client *c) { hset_generic(c, 1); }

static void cmd_hsetnx(client *c) {
    rkey *k;
    hash *h;
    if (!hash_lookup_create_or_reply(c, &k, &h)) return;
    if (hash_exists(h, ARG(c, 2))) {
        reply_int(&c->out, 0);
        return;
    }
    hash_try_conversion(c, &h, 2, 3);
    hash_set(&h, ARG(c, 2), ARG(c, 3));
    hash_changed(c, k, h);
    notify_arg(c, NOTIFY_HASH, "hset", 1);
    reply_int(&c->out, 1);
}

static void cmd_hget(client *c) {
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    size_t vlen;
    const char *v = h ? hash_get(h, ARG(c, 2), &vlen) : NULL;
    if (v) reply_bulk(&c->out, v, vlen);
    else reply_null(&c->out);
}

static void cmd_hmget(client *c) {
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        size_t vlen;
        const char *v = h ? hash_get(h, ARG(c, i), &vlen) : NULL;
        if (v) reply_bulk(&c->out, v, vlen);
        else reply_null(&c->out);
    }
}

static void cmd_hdel(client *c) {
    rkey *k;
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 1, &k, &h)) return;
    long long deleted = 0;
    for (int i = 2; h && i < c->argc && hash_len(h) > 0; i++) deleted += hash_del(&h, ARG(c, i));
    if (deleted) notify_arg(c, NOTIFY_HASH, "hdel", 1);
    if (deleted) hash_changed(c, k, h);
    reply_int(&c->out, deleted);
}

static void cmd_hlen(client *c) {
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    reply_int(&c->out, h ? (long long)hash_len(h) : 0);
}

static void cmd_hstrlen(client *c) {
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    size_t vlen = 0;
    if (h && !hash_get(h, ARG(c, 2), &vlen)) vlen = 0;
    reply_int(&c->out, (long long)vlen);
}

static void cmd_hexists(client *c) {
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    reply_int(&c->out, h && hash_exists(h, ARG(c, 2)));
}

enum { HASH_KEYS = 1, HASH_VALS = 2 };

typedef struct hash_reply {
    client *c;
    int what;
} hash_reply;

static void hash_reply_pair(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    hash_reply *r = priv;
    if (r->what & HASH_KEYS) reply_bulk(&r->c->out, f, flen);
    if (r->what & HASH_VALS) reply_bulk(&r->c->out, v, vlen);
}

static void hgetall_generic(client *c, int what) {
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    long n = h ? (long)hash_len(h) : 0;
    if (what == (HASH_KEYS | HASH_VALS)) reply_map(&c->out, n);
    else reply_array(&c->out, n);
    if (!h) return;
    hash_reply r = {c, what};
    hash_foreach(h, hash_reply_pair, &r);
}

static void cmd_hgetall(client *c) { hgetall_generic(c, HASH_KEYS | HASH_VALS); }
static void cmd_hkeys(client *c) { hgetall_generic(c, HASH_KEYS); }
static void cmd_hvals(client *c) { hgetall_generic(c, HASH_VALS); }

static void cmd_hincrby(client *c) {
    long long incr, cur = 0;
    rkey *k;
    hash *h;
    if (!arg_ll_or_reply(c, 3, &incr)) return;
    if (!hash_lookup_create_or_reply(c, &k, &h)) return;
    size_t vlen;
    const char *v = hash_get(h, ARG(c, 2), &vlen);
    if (v && !util_str2ll(v, vlen, &cur)) {
        reply_error(&c->out, "hash value is not an integer");
        return;
    }
    if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) || (incr > 0 && cur > 0 && incr > LLONG_MAX - cur)) {
        reply_error(&c->out, "increment or decrement would overflow");
        return;
    }
    cur += incr;
    char buf[UTIL_LLSTR_SIZE];
    int n = util_ll2str(buf, cur);
    hash_set(&h, ARG(c, 2), buf, (size_t)n);
    hash_changed(c, k, h);
    notify_arg(c, NOTIFY_HASH, "hincrby", 1);
    reply_int(&c->out, cur);
}

static void cmd_hincrbyfloat(client *c) {
    long double incr, cur = 0;
    rkey *k;
    hash *h;
    if (!arg_ld_or_reply(c, 3, &incr)) return;
    if (isnan(incr) || isinf(incr)) {
        reply_error(&c->out, "value is NaN or Infinity");
        return;
    }
    if (!hash_lookup_create_or_reply(c, &k, &h)) return;
    size_t vlen;
    const char *v = hash_get(h, ARG(c, 2), &vlen);
    if (v && !util_str2ld(v, vlen, &cur)) {
        reply_error(&c->out, "hash value is not a float");
        return;
    }
    cur += incr;
    if (isnan(cur) || isinf(cur)) {
        reply_error(&c->out, "increment would produce NaN or Infinity");
        return;
    }
    char buf[5 * 1024];
    int n = util_ld2str(buf, sizeof buf, cur);
    hash_set(&h, ARG(c, 2), buf, (size_t)n);
    hash_changed(c, k, h);
    notify_arg(c, NOTIFY_HASH, "hincrbyfloat", 1);
    if (propagate_wanted()) { /* replayed as the HSET of its result, as Redis */
        propagate_rewrite_arg(c, 0, "HSET", 4);
        propagate_rewrite_arg(c, 3, buf, (size_t)n);
    }
    reply_bulk(&c->out, buf, (size_t)n);
}

/* ---- HRANDFIELD ---- */

typedef struct hpair {
    const char *f, *v;
    size_t flen, vlen;
} hpair;

typedef struct hpairs {
    hpair *p;
    size_t n, cap;
} hpairs;

static void hpairs_add(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    hpairs *ps = priv;
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->p = xrealloc(ps->p, ps->cap * sizeof(hpair));
    }
    ps->p[ps->n++] = (hpair){f, v, flen, vlen};
}

static void hrandfield_reply(client *c, const hpair *p, int withvalues) {
    if (withvalues && c->resp > 2) reply_array(&c->out, 2);
    reply_bulk(&c->out, p->f, p->flen);
    if (withvalues) reply_bulk(&c->out, p->v, p->vlen);
}

/* Pointer-keyed open-addressing set (fields of a hashtable are stable while it is not
 * changed): 1 if p was new. */
static int ptrset_add(const void **tab, size_t mask, const void *p) {
    size_t i = (size_t)(((uintptr_t)p >> 3) * 0x9E3779B97F4A7C15ULL) & mask;
    while (tab[i]) {
        if (tab[i] == p) return 0;
        i = (i + 1) & mask;
    }
    tab[i] = p;
    return 1;
}

static void hrandfield_count(client *c, long count, int withvalues) {
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    if (!h || count == 0) {
        reply_array(&c->out, 0);
        return;
    }
    size_t size = hash_len(h);
    int uniq = count > 0;
    unsigned long n = uniq ? (unsigned long)count : (unsigned long)-count;
    if (uniq && n >= size) n = size;
    reply_array(&c->out, (long)(withvalues && c->resp == 2 ? n * 2 : n));
    hpairs all = {0};
    if (!uniq || n * 3 > size || hash_encoding(h) == HASH_LISTPACK) {
        if (!uniq && hash_encoding(h) == HASH_HASHTABLE) {
            /* Sampling with repeats from a table: one random node each. */
            for (unsigned long i = 0; i < n; i++) {
                hpair p;
                hash_random(h, &p.f, &p.flen, &p.v, &p.vlen);
                hrandfield_reply(c, &p, withvalues);
            }
            return;
        }
        hash_foreach(h, hpairs_add, &all);
        if (!uniq) {
            for (unsigned long i = 0; i < n; i++) hrandfield_reply(c, &all.p[dict_random() % all.n], withvalues);
        } else if (n == size) {
            for (size_t i = 0; i < all.n; i++) hrandfield_reply(c, &all.p[i], withvalues);
        } else {
            /* A partial Fisher-Yates shuffle: the first n are distinct and random. */
            for (unsigned long i = 0; i < n; i++) {
                size_t j = i + dict_random() % (all.n - i);
                hpair t = all.p[i];
                all.p[i] = all.p[j];
                all.p[j] = t;
                hrandfield_reply(c, &all.p[i], withvalues);
            }
        }
        free(all.p);
        return;
    }
    /* Few distinct fields of a big table: sample until n distinct ones came up. */
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    const void **seen = xcalloc(cap, sizeof(void *));
    for (unsigned long got = 0; got < n;) {
        hpair p;
        hash_random(h, &p.f, &p.flen, &p.v, &p.vlen);
        if (!ptrset_add(seen, cap - 1, p.f)) continue;
        hrandfield_reply(c, &p, withvalues);
        got++;
    }
    free(seen);
}

/* A count argument in [-LONG_MAX, LONG_MAX] (getRangeLongFromObjectOrReply). */
static int count_arg_or_reply(client *c, int i, long long *out) {
    if (!arg_ll_or_reply(c, i, out)) return 0;
    if (*out < -LLONG_MAX) {
        reply_errorf(&c->out, "value is out of range, value must between %lld and %lld", -LLONG_MAX, LLONG_MAX);
        return 0;
    }
    return 1;
}

static void cmd_hrandfield(client *c) {
    if (c->argc >= 3) {
        long long count;
        int withvalues = 0;
        if (!count_arg_or_reply(c, 2, &count)) return;
        if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withvalues"))) {
            reply_syntax_error(c);
            return;
        }
        if (c->argc == 4) {
            withvalues = 1;
            if (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2) {
                reply_error(&c->out, "value is out of range");
                return;
            }
        }
        hrandfield_count(c, (long)count, withvalues);
        return;
    }
    hash *h;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    if (!h) {
        reply_null(&c->out);
        return;
    }
    hpair p;
    hash_random(h, &p.f, &p.flen, &p.v, &p.vlen);
    reply_bulk(&c->out, p.f, p.flen);
}

/* ---- HSCAN ---- */

typedef struct hscan_state {
    hpairs items;
    unsigned long visited; /* strings collected (two per field), Redis's COUNT measure */
} hscan_state;

static void hscan_visit(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    hscan_state *st = priv;
    hpairs_add(&st->items, f, flen, v, vlen);
    st->visited += 2;
}

static void cmd_hscan(client *c) {
    unsigned long cursor;
    long long count;
    const char *pat;
    size_t patlen;
    hash *h;
    if (!scan_parse_cursor(c, 2, &cursor)) return;
    if (!hash_lookup_or_reply(c, 1, 0, NULL, &h)) return;
    if (!h) {
        scan_reply_empty(c);
        return;
    }
    if (!scan_collection_options_or_reply(c, 3, &count, &pat, &patlen)) return;
    hscan_state st = {0};
    unsigned long long maxiter = (unsigned long long)count * 10;
    do {
        cursor = hash_scan(h, cursor, hscan_visit, &st);
    } while (cursor && maxiter-- && st.visited < (unsigned long long)count);
    size_t keep = 0;
    for (size_t i = 0; i < st.items.n; i++)
        if (!pat || util_stringmatch(pat, patlen, st.items.p[i].f, st.items.p[i].flen, 0))
            st.items.p[keep++] = st.items.p[i];
    reply_array(&c->out, 2);
    reply_bulk_ll(&c->out, (long long)cursor);
    reply_array(&c->out, (long)keep * 2);
    for (size_t i = 0; i < keep; i++) {
        reply_bulk(&c->out, st.items.p[i].f, st.items.p[i].flen);
        reply_bulk(&c->out, st.items.p[i].v, st.items.p[i].vlen);
    }
    free(st.items.p);
}

/* ---------------------------------------------------------------- the table */

const command_binding hash_commands[] = {
    CMD("hset", cmd_hset),
    CMD("hsetnx", cmd_hsetnx),
    CMD("hget", cmd_hget),
    CMD("hmget", cmd_hmget),
    CMD("hmset", cmd_hmset),
    CMD("hgetall", cmd_hgetall),
    CMD("hdel", cmd_hdel),
    CMD("hexists", cmd_hexists),
    CMD("hlen", cmd_hlen),
    CMD("hstrlen", cmd_hstrlen),
    CMD("hkeys", cmd_hkeys),
    CMD("hvals", cmd_hvals),
    CMD("hincrby", cmd_hincrby),
    CMD("hincrbyfloat", cmd_hincrbyfloat),
    CMD("hrandfield", cmd_hrandfield),
    CMD("hscan", cmd_hscan),
    {0},
};
