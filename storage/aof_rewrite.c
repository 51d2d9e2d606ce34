/* aof_rewrite.c: the commands an AOF-format base file rebuilds each value with, as Redis
 * 7.0's rewriteAppendOnlyFileRio: lists, sets, sorted sets and hashes in batches of
 * AOF_REWRITE_ITEMS_PER_CMD elements (RPUSH, SADD, ZADD, HMSET), strings as SET, streams
 * as rewriteStreamObject (XADD of every entry, or XADD ... MAXLEN 0 for an empty stream,
 * then XSETID with ENTRIESADDED and MAXDELETEDID, XGROUP CREATE ... ENTRIESREAD per group,
 * XGROUP CREATECONSUMER for consumers without pending messages, and one XCLAIM ... FORCE
 * JUSTID per pending message, keeping its delivery time and count). Only the public
 * interfaces of the types are used, so this runs in a forked child as well. */
#include "storage/aof_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "storage/stream.h"
#include "storage/t_hash.h"
#include "storage/t_list.h"
#include "storage/t_set.h"
#include "storage/t_zset.h"

/* One command being built: argument pointers and lengths. Formatted numbers live in
 * 48-byte slots of store (which may move as it grows), so their arguments record the
 * slot in fmt[] and get their pointer when the command is emitted. */
typedef struct cmdbuf {
    const char **argv;
    size_t *lens;
    int *fmt; /* store slot of argument i, or -1 */
    int argc, cap;
    char *store;
    int nstore, store_cap;
} cmdbuf;

static void cb_init(cmdbuf *b) { memset(b, 0, sizeof(*b)); }

static void cb_free(cmdbuf *b) {
    free(b->argv);
    free(b->lens);
    free(b->fmt);
    free(b->store);
}

static void cb_push(cmdbuf *b, const char *p, size_t len, int slot) {
    if (b->argc == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->argv = xrealloc(b->argv, sizeof(*b->argv) * (size_t)b->cap);
        b->lens = xrealloc(b->lens, sizeof(*b->lens) * (size_t)b->cap);
        b->fmt = xrealloc(b->fmt, sizeof(*b->fmt) * (size_t)b->cap);
    }
    b->argv[b->argc] = p;
    b->lens[b->argc] = len;
    b->fmt[b->argc++] = slot;
}

static void cb_add(cmdbuf *b, const char *p, size_t len) { cb_push(b, p, len, -1); }

static void cb_str(cmdbuf *b, const char *s) { cb_add(b, s, strlen(s)); }

/* A free 48-byte slot of store; returns its index. */
static int cb_reserve(cmdbuf *b, char **p) {
    if (b->nstore == b->store_cap) {
        b->store_cap = b->store_cap ? b->store_cap * 2 : 16;
        b->store = xrealloc(b->store, 48 * (size_t)b->store_cap);
    }
    *p = b->store + 48 * (size_t)b->nstore;
    return b->nstore++;
}

static void cb_ll(cmdbuf *b, long long v) {
    char *p;
    int slot = cb_reserve(b, &p);
    cb_push(b, NULL, (size_t)util_ll2str(p, v), slot);
}

static void cb_id(cmdbuf *b, const stream_id *id) {
    char *p;
    int slot = cb_reserve(b, &p);
    cb_push(b, NULL, (size_t)stream_id_format(p, id), slot);
}

static void cb_double(cmdbuf *b, double d) {
    char *p;
    int slot = cb_reserve(b, &p);
    cb_push(b, NULL, (size_t)snprintf(p, 48, "%.17g", d), slot);
}

static int cb_emit(cmdbuf *b, aof_emitter *e) {
    for (int i = 0; i < b->argc; i++)
        if (b->fmt[i] >= 0) b->argv[i] = b->store + 48 * (size_t)b->fmt[i];
    int r = e->emit(e->ctx, b->argc, b->argv, b->lens);
    b->argc = 0;
    b->nstore = 0;
    return r;
}

static void cb_start(cmdbuf *b, const char *cmd, const rkey *k) {
    size_t klen;
    const char *key = rkey_key(k, &klen);
    b->argc = 0;
    b->nstore = 0;
    cb_str(b, cmd);
    cb_add(b, key, klen);
}

/* ---- strings ---- */

int string_aof_rewrite(const rkey *k, aof_emitter *e) {
    char tmp[UTIL_LLSTR_SIZE];
    size_t klen, vlen;
    const char *key = rkey_key(k, &klen);
    const char *v = rkey_str(k, &vlen, tmp);
    const char *argv[3] = {"SET", key, v};
    size_t lens[3] = {3, klen, vlen};
    return e->emit(e->ctx, 3, argv, lens);
}

/* ---- collections, in batches ---- */

/* Shared state of a batched rewrite: the command, how many items it holds, an error. */
typedef struct batch {
    cmdbuf b;
    const rkey *k;
    const char *cmd;
    aof_emitter *e;
    size_t items, left; /* items in the current command; items of the value not yet emitted */
    int err;
    /* Bytes that must live until the command is emitted (a list element that was split
     * or an integer): one block per item. */
    char **tmps;
    int ntmps;
} batch;

static void batch_init(batch *bt, const rkey *k, const char *cmd, size_t total, aof_emitter *e) {
    memset(bt, 0, sizeof(*bt));
    cb_init(&bt->b);
    bt->k = k;
    bt->cmd = cmd;
    bt->e = e;
    bt->left = total;
    bt->tmps = xmalloc(sizeof(char *) * AOF_REWRITE_ITEMS_PER_CMD);
}

static void batch_free(batch *bt) {
    for (int i = 0; i < bt->ntmps; i++) free(bt->tmps[i]);
    free(bt->tmps);
    cb_free(&bt->b);
}

/* Before an item's arguments: start a command if none is open. */
static void batch_begin_item(batch *bt) {
    if (bt->items == 0) cb_start(&bt->b, bt->cmd, bt->k);
}

/* After an item's arguments: emit when the batch is full or the value is done. */
static void batch_end_item(batch *bt) {
    bt->items++;
    bt->left--;
    if (bt->items == AOF_REWRITE_ITEMS_PER_CMD || bt->left == 0) {
        if (!bt->err && cb_emit(&bt->b, bt->e) != 0) bt->err = 1;
        bt->items = 0;
        for (int i = 0; i < bt->ntmps; i++) free(bt->tmps[i]);
        bt->ntmps = 0;
    }
}

int list_aof_rewrite(const rkey *k, aof_emitter *e) {
    const list *l = rkey_ptr(k);
    batch bt;
    batch_init(&bt, k, "RPUSH", list_len(l), e);
    list_iter it;
    list_val v;
    list_iter_init(&it, l, 0, LIST_TAIL);
    while (list_iter_next(&it, &v)) {
        batch_begin_item(&bt);
        if (v.p && !v.prelen && !v.hex) {
            cb_add(&bt.b, (const char *)v.p, v.len);
        } else {
            char *tmp = xmalloc(LIST_VAL_TMP > v.prelen + v.len ? LIST_VAL_TMP : v.prelen + v.len + 1);
            size_t len;
            const char *s = list_val_str(&v, tmp, &len);
            if (s != tmp) memmove(tmp, s, len); /* keep the bytes with the command */
            bt.tmps[bt.ntmps++] = tmp;
            cb_add(&bt.b, tmp, len);
        }
        batch_end_item(&bt);
    }
    list_iter_release(&it);
    int err = bt.err;
    batch_free(&bt);
    return err ? -1 : 0;
}

/* Set and hash members point into the value, which does not change meanwhile. */
static void set_member(void *priv, const char *m, size_t len) {
    batch *bt = priv;
    batch_begin_item(bt);
    char *copy = xmalloc(len ? len : 1); /* set_foreach may format an intset member in a scratch buffer */
    memcpy(copy, m, len);
    bt->tmps[bt->ntmps++] = copy;
    cb_add(&bt->b, copy, len);
    batch_end_item(bt);
}

int set_aof_rewrite(const rkey *k, aof_emitter *e) {
    set *s = rkey_ptr(k);
    batch bt;
    batch_init(&bt, k, "SADD", set_card(s), e);
    set_foreach(s, set_member, &bt);
    int err = bt.err;
    batch_free(&bt);
    return err ? -1 : 0;
}

int zset_aof_rewrite(const rkey *k, aof_emitter *e) {
    const zset *z = rkey_ptr(k);
    batch bt;
    batch_init(&bt, k, "ZADD", zset_len(z), e);
    zset_iter it;
    const char *m;
    size_t mlen;
    double score;
    zset_iter_at(z, 0, &it);
    while (zset_iter_next(&it, &m, &mlen, &score)) {
        batch_begin_item(&bt);
        cb_double(&bt.b, score);
        cb_add(&bt.b, m, mlen);
        batch_end_item(&bt);
    }
    int err = bt.err;
    batch_free(&bt);
    return err ? -1 : 0;
}

static void hash_pair(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    batch *bt = priv;
    batch_begin_item(bt);
    /* A listpack hash may hand out formatted integers in a scratch buffer: copy both. */
    char *copy = xmalloc(flen + vlen + 1);
    memcpy(copy, f, flen);
    memcpy(copy + flen, v, vlen);
    bt->tmps[bt->ntmps++] = copy;
    cb_add(&bt->b, copy, flen);
    cb_add(&bt->b, copy + flen, vlen);
    batch_end_item(bt);
}

int hash_aof_rewrite(const rkey *k, aof_emitter *e) {
    hash *h = rkey_ptr(k);
    batch bt;
    batch_init(&bt, k, "HMSET", hash_len(h), e);
    hash_foreach(h, hash_pair, &bt);
    int err = bt.err;
    batch_free(&bt);
    return err ? -1 : 0;
}

/* ---- streams ---- */

static int stream_claims(cmdbuf *b, const rkey *k, const stream_group *g, aof_emitter *e) {
    size_t glen;
    const char *gname = stream_group_name(g, &glen);
    size_t klen;
    const char *key = rkey_key(k, &klen);
    for (size_t ci = 0; ci < stream_group_consumer_count(g); ci++) {
        const stream_consumer *c = stream_consumer_at(g, ci);
        size_t clen;
        const char *cname = stream_consumer_name(c, &clen);
        stream_id zero = {0, 0};
        const stream_nack *n = stream_consumer_pel_seek(c, &zero);
        if (!n) { /* a consumer with nothing pending still exists after a reload */
            b->argc = b->nstore = 0;
            cb_str(b, "XGROUP");
            cb_str(b, "CREATECONSUMER");
            cb_add(b, key, klen);
            cb_add(b, gname, glen);
            cb_add(b, cname, clen);
            if (cb_emit(b, e) != 0) return -1;
            continue;
        }
        for (; n; n = stream_consumer_pel_next(n)) {
            b->argc = b->nstore = 0;
            cb_str(b, "XCLAIM");
            cb_add(b, key, klen);
            cb_add(b, gname, glen);
            cb_add(b, cname, clen);
            cb_str(b, "0");
            cb_id(b, &n->id);
            cb_str(b, "TIME");
            cb_ll(b, n->delivery_time);
            cb_str(b, "RETRYCOUNT");
            cb_ll(b, (long long)n->delivery_count);
            cb_str(b, "JUSTID");
            cb_str(b, "FORCE");
            if (cb_emit(b, e) != 0) return -1;
        }
    }
    return 0;
}

int stream_aof_rewrite(const rkey *k, aof_emitter *e) {
    const stream *s = rkey_ptr(k);
    cmdbuf b;
    cb_init(&b);
    int err = 0;
    stream_id last = stream_last_id(s);
    if (stream_length(s)) {
        stream_iter it;
        stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX}, id;
        stream_fields f;
        stream_iter_init(&it, s, &lo, &hi, 0);
        while (!err && stream_iter_next(&it, &id, &f)) {
            cb_start(&b, "XADD", k);
            cb_id(&b, &id);
            const char *fp, *vp;
            size_t fl, vl;
            while (stream_fields_next(&f, &fp, &fl, &vp, &vl)) {
                cb_add(&b, fp, fl);
                cb_add(&b, vp, vl);
            }
            if (cb_emit(&b, e) != 0) err = 1;
        }
    } else {
        /* An empty stream is created with one entry (id 0-1) trimmed away at once; XSETID
         * then sets its real last id. */
        cb_start(&b, "XADD", k);
        cb_str(&b, "MAXLEN");
        cb_str(&b, "0");
        cb_str(&b, "0-1");
        cb_str(&b, "x");
        cb_str(&b, "y");
        if (cb_emit(&b, e) != 0) err = 1;
    }
    if (!err) {
        stream_id maxdel = stream_max_deleted_id(s);
        cb_start(&b, "XSETID", k);
        cb_id(&b, &last);
        cb_str(&b, "ENTRIESADDED");
        cb_ll(&b, (long long)stream_entries_added(s));
        cb_str(&b, "MAXDELETEDID");
        cb_id(&b, &maxdel);
        if (cb_emit(&b, e) != 0) err = 1;
    }
    for (size_t gi = 0; !err && gi < stream_group_count(s); gi++) {
        const stream_group *g = stream_group_at(s, gi);
        size_t glen;
        const char *gname = stream_group_name(g, &glen);
        stream_id glast = stream_group_last_id(g);
        b.argc = b.nstore = 0;
        cb_str(&b, "XGROUP");
        cb_str(&b, "CREATE");
        size_t klen;
        const char *key = rkey_key(k, &klen);
        cb_add(&b, key, klen);
        cb_add(&b, gname, glen);
        cb_id(&b, &glast);
        cb_str(&b, "ENTRIESREAD");
        cb_ll(&b, stream_group_entries_read(g));
        if (cb_emit(&b, e) != 0 || stream_claims(&b, k, g, e) != 0) err = 1;
    }
    cb_free(&b);
    return err ? -1 : 0;
}

/* ---- the keyspace ---- */

long long aof_rewrite_key_delay_us;

typedef struct ks_ctx {
    aof_emitter *e;
    long long now;
    int err;
} ks_ctx;

static void rewrite_key(void *priv, const rkey *k) {
    ks_ctx *x = priv;
    if (x->err) return;
    long long when = rkey_expire(k);
    if (when != -1 && when < x->now) return;
    const value_type *t = type_of(k);
    if (!t->aof_rewrite || t->aof_rewrite(k, x->e) != 0) {
        x->err = 1;
        return;
    }
    if (when != -1) {
        size_t klen;
        const char *key = rkey_key(k, &klen);
        char ms[UTIL_LLSTR_SIZE];
        size_t n = (size_t)util_ll2str(ms, when);
        const char *argv[3] = {"PEXPIREAT", key, ms};
        size_t lens[3] = {9, klen, n};
        if (x->e->emit(x->e->ctx, 3, argv, lens) != 0) x->err = 1;
    }
    if (aof_rewrite_key_delay_us > 0) usleep((useconds_t)aof_rewrite_key_delay_us);
}

int aof_rewrite_keyspace(db *const *dbs, int n, long long now_ms, aof_emitter *e) {
    ks_ctx x = {e, now_ms, 0};
    for (int i = 0; i < n && !x.err; i++) {
        if (!db_size(dbs[i])) continue;
        char num[UTIL_LLSTR_SIZE];
        size_t nl = (size_t)util_ll2str(num, i);
        const char *argv[2] = {"SELECT", num};
        size_t lens[2] = {6, nl};
        if (e->emit(e->ctx, 2, argv, lens) != 0) return -1;
        db_foreach(dbs[i], rewrite_key, &x);
    }
    return x.err ? -1 : 0;
}
