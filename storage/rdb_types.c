/* rdb_types.c: the RDB persistence slots of the collection types (hash, set, sorted
 * set, list), which their descriptors in t_hash.c, t_set.c, t_zset.c and t_list.c point
 * to. Each writes the smallest encoding Redis 7.0 writes for the same value: a listpack
 * (HASH_LISTPACK, ZSET_LISTPACK) or an intset (SET_INTSET) for a value in its small
 * encoding, QUICKLIST_2 listpack nodes for a list, and the plain element-by-element
 * encodings (HASH, SET, ZSET_2) otherwise. Each loads every encoding Redis 7.0 reads
 * for its type: the plain ones, ziplists and zipmap-free older forms, intsets,
 * listpacks, quicklists; a duplicate member or field, a NaN score, an empty value or a
 * blob that does not parse is refused (NULL: the loader reports the file corrupt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "storage/rdb.h"
#include "storage/t_hash.h"
#include "storage/t_list.h"
#include "storage/t_set.h"
#include "storage/t_zset.h"

const int hash_rdb_types[] = {RDB_TYPE_HASH, RDB_TYPE_HASH_ZIPLIST, RDB_TYPE_HASH_LISTPACK, -1};
const int set_rdb_types[] = {RDB_TYPE_SET, RDB_TYPE_SET_INTSET, -1};
const int zset_rdb_types[] = {RDB_TYPE_ZSET, RDB_TYPE_ZSET_2, RDB_TYPE_ZSET_ZIPLIST, RDB_TYPE_ZSET_LISTPACK, -1};
const int list_rdb_types[] = {RDB_TYPE_LIST, RDB_TYPE_LIST_ZIPLIST, RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_LIST_QUICKLIST_2,
                              -1};

/* A blob read from r as a string, iterated with blob_iter. */
typedef struct blob {
    char *buf; /* stack, or a malloc'd buffer for a bigger blob */
    size_t len;
    blob_iter it;
    char stack[8192 + 64]; /* a default-sized list node fits */
} blob;

static void blob_free(blob *b) {
    if (b->buf != b->stack) free(b->buf);
}

static int blob_load(rdb_reader *r, int kind, blob *b) {
    b->buf = rdb_load_string_buf(r, b->stack, sizeof(b->stack), &b->len);
    if (!b->buf) return -1;
    if (blob_iter_init(&b->it, kind, (const unsigned char *)b->buf, b->len) < 0) {
        blob_free(b);
        return -1;
    }
    return 0;
}

/* The next element copied out (an integer's text lives in the iterator until the next
 * call): into tmp when short, else pointing into the blob. */
static int blob_next_copy(blob *b, const char **s, size_t *len, char *tmp) {
    int rc = blob_iter_next(&b->it, s, len);
    if (rc == 1 && *s == b->it.num) {
        memcpy(tmp, *s, *len);
        *s = tmp;
    }
    return rc;
}

/* One listpack builder reused by every save in this process (a BGSAVE child saves
 * hundreds of thousands of small collections): scratch_lp() hands it out empty,
 * scratch_done() gives back a big buffer so a DUMP does not keep it. */
static lp_builder scratch;

static lp_builder *scratch_lp(void) {
    if (!scratch.buf) lpb_init(&scratch);
    scratch.len = 6;
    scratch.count = 0;
    return &scratch;
}

static void scratch_done(void) {
    if (scratch.cap > 64 * 1024) lpb_free(&scratch);
}

/* ------------------------------------------------------------ hashes */

int hash_rdb_type(const rkey *k) {
    return hash_encoding(rkey_ptr(k)) == HASH_LISTPACK ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
}

typedef struct pair_save {
    rdb_writer *w;
    lp_builder *lp;
    int err;
} pair_save;

static void hash_save_pair(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    pair_save *p = priv;
    if (p->lp) {
        lpb_add(p->lp, f, flen);
        lpb_add(p->lp, v, vlen);
    } else if (!p->err && (rdb_save_string(p->w, f, flen) < 0 || rdb_save_string(p->w, v, vlen) < 0)) {
        p->err = 1;
    }
}

int hash_rdb_save(const rkey *k, rdb_writer *w) {
    hash *h = rkey_ptr(k);
    if (hash_encoding(h) == HASH_LISTPACK) {
        lp_builder *lp = scratch_lp();
        pair_save p = {w, lp, 0};
        hash_foreach(h, hash_save_pair, &p);
        lpb_finish(lp);
        int rc = rdb_save_string(w, (const char *)lp->buf, lp->len);
        scratch_done();
        return rc;
    }
    if (rdb_save_len(w, hash_len(h)) < 0) return -1;
    pair_save p = {w, NULL, 0};
    hash_foreach(h, hash_save_pair, &p);
    return p.err ? -1 : 0;
}

rkey *hash_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen) {
    hash *h = hash_new();
    if (rdbtype == RDB_TYPE_HASH) {
        uint64_t n;
        if (rdb_load_len(r, &n) < 0 || n == 0) goto bad;
        for (uint64_t i = 0; i < n; i++) {
            size_t fl, vl;
            char *f = rdb_load_string(r, &fl), *v = f ? rdb_load_string(r, &vl) : NULL;
            int added = v ? hash_set(&h, f, fl, v, vl) : 0;
            free(f);
            free(v);
            if (!added) goto bad;
        }
    } else {
        blob b;
        if (blob_load(r, rdbtype == RDB_TYPE_HASH_LISTPACK ? BLOB_LISTPACK : BLOB_ZIPLIST, &b) < 0) goto bad;
        const char *f, *v;
        size_t fl, vl;
        char tmp[UTIL_LLSTR_SIZE];
        int rc;
        while ((rc = blob_next_copy(&b, &f, &fl, tmp)) == 1) {
            if (blob_iter_next(&b.it, &v, &vl) != 1 || !hash_set(&h, f, fl, v, vl)) {
                rc = -1;
                break;
            }
        }
        blob_free(&b);
        if (rc < 0 || hash_len(h) == 0) goto bad;
    }
    return db_add_ptr(d, key, klen, OBJ_HASH, h);
bad:
    hash_free(h);
    return NULL;
}

/* ------------------------------------------------------------ sets */

int set_rdb_type(const rkey *k) { return set_encoding(rkey_ptr(k)) == SET_INTSET ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET; }

typedef struct member_save {
    rdb_writer *w;
    long long *ints;
    size_t n;
    int err;
} member_save;

static void set_save_member(void *priv, const char *m, size_t len) {
    member_save *s = priv;
    if (s->ints) {
        long long v = 0;
        util_str2ll(m, len, &v);
        s->ints[s->n++] = v;
    } else if (!s->err && rdb_save_string(s->w, m, len) < 0) {
        s->err = 1;
    }
}

static int ll_cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int set_rdb_save(const rkey *k, rdb_writer *w) {
    set *s = rkey_ptr(k);
    size_t n = set_card(s);
    if (set_encoding(s) == SET_INTSET) {
        member_save ms = {w, xmalloc((n ? n : 1) * sizeof(long long)), 0, 0};
        set_foreach(s, set_save_member, &ms);
        qsort(ms.ints, ms.n, sizeof(long long), ll_cmp);
        uint32_t enc = 2;
        for (size_t i = 0; i < ms.n; i++) {
            long long v = ms.ints[i];
            if (v < INT32_MIN || v > INT32_MAX) enc = 8;
            else if ((v < INT16_MIN || v > INT16_MAX) && enc < 4) enc = 4;
        }
        size_t len = 8 + (size_t)enc * ms.n;
        unsigned char *b = xmalloc(len);
        for (int i = 0; i < 4; i++) {
            b[i] = (unsigned char)(enc >> (8 * i));
            b[4 + i] = (unsigned char)((uint32_t)ms.n >> (8 * i));
        }
        for (size_t i = 0; i < ms.n; i++) {
            uint64_t u = (uint64_t)ms.ints[i];
            for (uint32_t j = 0; j < enc; j++) b[8 + i * enc + j] = (unsigned char)(u >> (8 * j));
        }
        int rc = rdb_save_string(w, (const char *)b, len);
        free(b);
        free(ms.ints);
        return rc;
    }
    if (rdb_save_len(w, n) < 0) return -1;
    member_save ms = {w, NULL, 0, 0};
    set_foreach(s, set_save_member, &ms);
    return ms.err ? -1 : 0;
}

rkey *set_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen) {
    set *s = set_new_intset();
    if (rdbtype == RDB_TYPE_SET) {
        uint64_t n;
        if (rdb_load_len(r, &n) < 0 || n == 0) goto bad;
        for (uint64_t i = 0; i < n; i++) {
            size_t ml;
            char *m = rdb_load_string(r, &ml);
            int added = m ? set_add(&s, m, ml) : 0;
            free(m);
            if (!added) goto bad;
        }
    } else {
        blob b;
        if (blob_load(r, BLOB_INTSET, &b) < 0) goto bad;
        const char *m;
        size_t ml;
        int rc;
        while ((rc = blob_iter_next(&b.it, &m, &ml)) == 1)
            if (!set_add(&s, m, ml)) {
                rc = -1;
                break;
            }
        blob_free(&b);
        if (rc < 0 || set_card(s) == 0) goto bad;
    }
    return db_add_ptr(d, key, klen, OBJ_SET, s);
bad:
    set_free(s);
    return NULL;
}

/* ------------------------------------------------------------ sorted sets */

int zset_rdb_type(const rkey *k) { return zset_is_listpack(rkey_ptr(k)) ? RDB_TYPE_ZSET_LISTPACK : RDB_TYPE_ZSET_2; }

/* A score as Redis's d2string puts it in a listpack: an integer when it is one (and
 * exactly representable), "%.17g" otherwise. */
static void lpb_add_score(lp_builder *lp, double v) {
    char buf[64];
    int n;
    if (isinf(v)) n = snprintf(buf, sizeof(buf), "%s", v > 0 ? "inf" : "-inf");
    else if (v == 0) n = snprintf(buf, sizeof(buf), "%s", signbit(v) ? "-0" : "0");
    else if (v > -4503599627370495.0 && v < 4503599627370496.0 && v == (double)(long long)v) {
        lpb_add_int(lp, (long long)v);
        return;
    } else n = snprintf(buf, sizeof(buf), "%.17g", v);
    lpb_add(lp, buf, (size_t)n);
}

int zset_rdb_save(const rkey *k, rdb_writer *w) {
    zset *z = rkey_ptr(k);
    zset_iter it;
    const char *m;
    size_t ml;
    double sc;
    zset_iter_at(z, 0, &it);
    if (zset_is_listpack(z)) {
        lp_builder *lp = scratch_lp();
        while (zset_iter_next(&it, &m, &ml, &sc)) {
            lpb_add(lp, m, ml);
            lpb_add_score(lp, sc);
        }
        lpb_finish(lp);
        int rc = rdb_save_string(w, (const char *)lp->buf, lp->len);
        scratch_done();
        return rc;
    }
    if (rdb_save_len(w, zset_len(z)) < 0) return -1;
    /* From the greatest to the smallest, as Redis writes a skiplist: read forward a
     * block at a time from the end, written backwards. */
    struct {
        const char *m;
        size_t ml;
        double sc;
    } block[256];
    for (size_t hi = zset_len(z); hi > 0;) {
        size_t lo = hi > 256 ? hi - 256 : 0;
        zset_iter_at(z, lo, &it);
        for (size_t i = 0; i < hi - lo; i++) zset_iter_next(&it, &block[i].m, &block[i].ml, &block[i].sc);
        for (size_t i = hi - lo; i-- > 0;)
            if (rdb_save_string(w, block[i].m, block[i].ml) < 0 || rdb_save_double(w, block[i].sc) < 0) return -1;
        hi = lo;
    }
    return 0;
}

static int zset_load_add(zset *z, const char *m, size_t ml, double sc) {
    if (isnan(sc)) return 0;
    int out = 0;
    double ns;
    zset_add(z, sc, m, ml, 0, &out, &ns);
    return (out & ZADD_OUT_ADDED) != 0;
}

rkey *zset_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen) {
    zset *z = NULL;
    if (rdbtype == RDB_TYPE_ZSET || rdbtype == RDB_TYPE_ZSET_2) {
        uint64_t n;
        if (rdb_load_len(r, &n) < 0 || n == 0) return NULL;
        z = zset_new(n, 0);
        for (uint64_t i = 0; i < n; i++) {
            size_t ml;
            double sc;
            char *m = rdb_load_string(r, &ml);
            int ok = m && (rdbtype == RDB_TYPE_ZSET_2 ? rdb_load_double(r, &sc) : rdb_load_double_text(r, &sc)) == 0 &&
                     zset_load_add(z, m, ml, sc);
            free(m);
            if (!ok) goto bad;
        }
        zset_convert_if_small(z);
    } else {
        blob b;
        if (blob_load(r, rdbtype == RDB_TYPE_ZSET_LISTPACK ? BLOB_LISTPACK : BLOB_ZIPLIST, &b) < 0) return NULL;
        z = zset_new(blob_declared(&b.it) / 2, 0);
        const char *m, *s;
        size_t ml, sl;
        char tmp[UTIL_LLSTR_SIZE];
        int rc;
        while ((rc = blob_next_copy(&b, &m, &ml, tmp)) == 1) {
            double sc;
            char sb[128];
            if (blob_iter_next(&b.it, &s, &sl) != 1 || sl >= sizeof(sb)) {
                rc = -1;
                break;
            }
            memcpy(sb, s, sl);
            sb[sl] = '\0';
            char *end;
            sc = strtod(sb, &end);
            if (end != sb + sl || !zset_load_add(z, m, ml, sc)) {
                rc = -1;
                break;
            }
        }
        blob_free(&b);
        if (rc < 0 || zset_len(z) == 0) goto bad;
    }
    return db_add_ptr(d, key, klen, OBJ_ZSET, z);
bad:
    zset_free(z);
    return NULL;
}

/* ------------------------------------------------------------ lists */

int list_rdb_type(const rkey *k) {
    (void)k;
    return RDB_TYPE_LIST_QUICKLIST_2;
}

/* Node limits as Redis's quicklist: positive fill counts elements, -1..-5 are 4..64 KB.
 * bytes: the node's listpack size so far; esz: the next entry's encoded size. */
static int node_full(size_t bytes, size_t count, size_t esz) {
    if (count == 0) return 0;
    if (list_fill > 0) return count >= (size_t)list_fill;
    int lvl = -list_fill;
    if (lvl > 5) lvl = 5;
    return bytes + esz > (size_t)4096 << (lvl - 1);
}

static int list_save_node(rdb_writer *w, lp_builder *lp) {
    lpb_finish(lp);
    int rc = rdb_save_len(w, 2) < 0 || rdb_save_string(w, (const char *)lp->buf, lp->len) < 0 ? -1 : 0;
    lp->len = 6;
    lp->count = 0;
    return rc;
}

int list_rdb_save(const rkey *k, rdb_writer *w) {
    list *l = rkey_ptr(k);
    size_t n = list_len(l);
    list_iter it;
    list_val v;
    char tmp[LIST_VAL_TMP];
    /* the node count comes first: count with the entries' encoded sizes */
    size_t nodes = 0, bytes = 7, count = 0;
    list_iter_init(&it, l, 0, LIST_TAIL);
    for (size_t i = 0; i < n && list_iter_next(&it, &v); i++) {
        size_t len;
        const char *s = list_val_str(&v, tmp, &len);
        size_t esz = lpb_entry_size(s, len);
        if (node_full(bytes, count, esz)) {
            nodes++;
            bytes = 7;
            count = 0;
        }
        bytes += esz;
        count++;
    }
    list_iter_release(&it);
    if (count) nodes++;
    if (rdb_save_len(w, nodes) < 0) return -1;
    lp_builder *lp = scratch_lp();
    int rc = 0;
    list_iter_init(&it, l, 0, LIST_TAIL);
    for (size_t i = 0; i < n && rc == 0 && list_iter_next(&it, &v); i++) {
        size_t len;
        const char *s = list_val_str(&v, tmp, &len);
        if (node_full(lpb_size(lp), lp->count, lpb_entry_size(s, len))) rc = list_save_node(w, lp);
        lpb_add(lp, s, len);
    }
    list_iter_release(&it);
    if (rc == 0 && lp->count) rc = list_save_node(w, lp);
    scratch_done();
    return rc;
}

rkey *list_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen) {
    list *l = list_new();
    uint64_t n = 1;
    if (rdbtype != RDB_TYPE_LIST_ZIPLIST && (rdb_load_len(r, &n) < 0 || n == 0)) goto bad;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t container = 2;
        if (rdbtype == RDB_TYPE_LIST ||
            (rdbtype == RDB_TYPE_LIST_QUICKLIST_2 && rdb_load_len(r, &container) == 0 && container == 1)) {
            size_t len;
            char *e = rdb_load_string(r, &len);
            if (!e) goto bad;
            list_push(l, LIST_TAIL, e, len);
            free(e);
            continue;
        }
        if (container != 2) goto bad;
        blob b;
        if (blob_load(r, rdbtype == RDB_TYPE_LIST_QUICKLIST_2 ? BLOB_LISTPACK : BLOB_ZIPLIST, &b) < 0) goto bad;
        const char *e;
        size_t len;
        int rc;
        while ((rc = blob_iter_next(&b.it, &e, &len)) == 1) list_push(l, LIST_TAIL, e, len);
        blob_free(&b);
        if (rc < 0) goto bad;
    }
    if (list_len(l) == 0) goto bad;
    return db_add_ptr(d, key, klen, OBJ_LIST, l);
bad:
    list_free(l);
    return NULL;
}
