/* t_zset.c: sorted sets (storage/t_zset.h).
 *
 * listpack: buf holds len entries in (score, member) order, each
 *   [1 byte mlen, or 0xFF and a 4-byte mlen][member][8-byte double]
 * (10 bytes besides the member for short members; Redis's listpack spends 5-12).
 *
 * skiplist: Pugh's skiplist with spans as Redis's zskiplist, without backward links
 * (reverse walks go by rank), and with 32-bit spans. A node is one allocation:
 *   [dict chain link][score][mlen][level][forward pointers x level][spans x level][member]
 * so a 20-byte member with one level takes a 64-byte malloc block, against Redis's
 * sds + skiplist node + dict entry (three blocks, ~112 bytes). The member -> node hash
 * is the intrusive dict whose keys are the nodes' member bytes.
 *
 * Invariants: span[i] of a node (or of the header) is the number of level-0 steps its
 * forward[i] link skips (for a NULL link at a level <= zlevel: the steps to the end);
 * len == dict_size(&members); mem == bytes of every allocation except the struct. */
#include "storage/aof_rewrite.h"
#include "storage/rdb.h"
#include "storage/t_zset.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/dict.h"
#include "storage/type.h"

size_t zset_max_listpack_entries = 128;
size_t zset_max_listpack_value = 64;

#define ZSL_MAXLEVEL 32

typedef struct znode {
    dict_node h;
    double score;
    uint32_t mlen;
    uint8_t level;
    struct znode *fw[];
} znode;

static inline uint32_t *zn_span(const znode *n) { return (uint32_t *)(n->fw + n->level); }
static inline char *zn_member(const znode *n) { return (char *)(zn_span(n) + n->level); }

enum { ENC_LISTPACK = 0, ENC_SKIPLIST = 1 };

struct zset {
    int enc;
    size_t len;
    size_t mem;
    /* listpack */
    unsigned char *buf;
    size_t used, cap;
    /* skiplist */
    znode *head;
    int zlevel;
    dict members;
};

/* Redis's sdscmp order: bytes, then the shorter first. */
static inline int mcmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return alen < blen ? -1 : alen > blen;
}

/* ---------------- listpack ---------------- */

static inline size_t lp_hdr(size_t mlen) { return mlen < 255 ? 1 : 5; }

/* Decode the entry at p: member and score; returns the entry's size. */
static inline size_t lp_get(const unsigned char *p, const char **m, size_t *mlen, double *score) {
    size_t h = 1, n = p[0];
    if (n == 255) {
        uint32_t v;
        memcpy(&v, p + 1, 4);
        n = v;
        h = 5;
    }
    *m = (const char *)p + h;
    *mlen = n;
    memcpy(score, p + h + n, sizeof(double));
    return h + n + sizeof(double);
}

static void lp_reserve(zset *z, size_t extra) {
    if (z->used + extra <= z->cap) return;
    size_t cap = z->cap ? z->cap : 32;
    while (cap < z->used + extra) cap *= 2;
    if (z->buf) z->mem -= malloc_usable_size(z->buf);
    z->buf = xrealloc(z->buf, cap);
    z->cap = cap;
    z->mem += malloc_usable_size(z->buf);
}

/* Offset of the entry holding member m, or (size_t)-1. */
static size_t lp_find(const zset *z, const char *m, size_t mlen, double *score) {
    size_t off = 0;
    while (off < z->used) {
        const char *em;
        size_t elen;
        double s;
        size_t sz = lp_get(z->buf + off, &em, &elen, &s);
        if (elen == mlen && !memcmp(em, m, mlen)) {
            if (score) *score = s;
            return off;
        }
        off += sz;
    }
    return (size_t)-1;
}

static void lp_delete_at(zset *z, size_t off) {
    const char *m;
    size_t mlen;
    double s;
    size_t sz = lp_get(z->buf + off, &m, &mlen, &s);
    memmove(z->buf + off, z->buf + off + sz, z->used - off - sz);
    z->used -= sz;
    z->len--;
}

static void lp_insert(zset *z, double score, const char *m, size_t mlen) {
    if (score == 0) score = 0; /* Redis's listpack keeps scores as text, where -0 reads back 0 */
    size_t sz = lp_hdr(mlen) + mlen + sizeof(double);
    lp_reserve(z, sz);
    size_t off = 0;
    while (off < z->used) {
        const char *em;
        size_t elen;
        double s;
        size_t esz = lp_get(z->buf + off, &em, &elen, &s);
        if (s > score || (s == score && mcmp(em, elen, m, mlen) > 0)) break;
        off += esz;
    }
    unsigned char *p = z->buf + off;
    memmove(p + sz, p, z->used - off);
    if (mlen < 255) {
        *p++ = (unsigned char)mlen;
    } else {
        uint32_t v = (uint32_t)mlen;
        *p++ = 255;
        memcpy(p, &v, 4);
        p += 4;
    }
    memcpy(p, m, mlen);
    memcpy(p + mlen, &score, sizeof(double));
    z->used += sz;
    z->len++;
}

/* ---------------- skiplist ---------------- */

static const char *zn_keyof(const dict_node *n, size_t *len) {
    const znode *z = (const znode *)n;
    *len = z->mlen;
    return zn_member(z);
}

static znode *zn_alloc(int level, const char *m, size_t mlen, double score) {
    znode *n = xmalloc(sizeof(znode) + (size_t)level * (sizeof(znode *) + sizeof(uint32_t)) + mlen);
    n->h.next = NULL;
    n->score = score;
    n->mlen = (uint32_t)mlen;
    n->level = (uint8_t)level;
    if (mlen) memcpy(zn_member(n), m, mlen);
    return n;
}

static int zsl_random_level(void) {
    int level = 1;
    uint64_t r = dict_random();
    while ((r & 3) == 0 && level < ZSL_MAXLEVEL) {
        level++;
        r >>= 2;
    }
    return level;
}

/* Is node n before (score, m) in the order? */
static inline int zn_before(const znode *n, double score, const char *m, size_t mlen) {
    return n->score < score || (n->score == score && mcmp(zn_member(n), n->mlen, m, mlen) < 0);
}

static void zsl_init(zset *z) {
    z->head = zn_alloc(ZSL_MAXLEVEL, NULL, 0, 0);
    for (int i = 0; i < ZSL_MAXLEVEL; i++) {
        z->head->fw[i] = NULL;
        zn_span(z->head)[i] = 0;
    }
    z->zlevel = 1;
    dict_init(&z->members, zn_keyof);
    z->mem += malloc_usable_size(z->head);
}

/* Link node n (its score and member set) at its place. */
static void zsl_link(zset *z, znode *n) {
    znode *update[ZSL_MAXLEVEL];
    size_t rank[ZSL_MAXLEVEL];
    znode *x = z->head;
    const char *m = zn_member(n);
    for (int i = z->zlevel - 1; i >= 0; i--) {
        rank[i] = i == z->zlevel - 1 ? 0 : rank[i + 1];
        while (x->fw[i] && zn_before(x->fw[i], n->score, m, n->mlen)) {
            rank[i] += zn_span(x)[i];
            x = x->fw[i];
        }
        update[i] = x;
    }
    int level = n->level;
    if (level > z->zlevel) {
        for (int i = z->zlevel; i < level; i++) {
            rank[i] = 0;
            update[i] = z->head;
            zn_span(z->head)[i] = (uint32_t)z->len;
        }
        z->zlevel = level;
    }
    for (int i = 0; i < level; i++) {
        n->fw[i] = update[i]->fw[i];
        update[i]->fw[i] = n;
        zn_span(n)[i] = zn_span(update[i])[i] - (uint32_t)(rank[0] - rank[i]);
        zn_span(update[i])[i] = (uint32_t)(rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < z->zlevel; i++) zn_span(update[i])[i]++;
    z->len++;
}

/* Fill update[] with the last node before (score, m) at each level. */
static void zsl_find_update(const zset *z, double score, const char *m, size_t mlen, znode **update) {
    znode *x = z->head;
    for (int i = z->zlevel - 1; i >= 0; i--) {
        while (x->fw[i] && zn_before(x->fw[i], score, m, mlen)) x = x->fw[i];
        update[i] = x;
    }
}

static void zsl_unlink(zset *z, znode *x, znode **update) {
    for (int i = 0; i < z->zlevel; i++) {
        if (update[i]->fw[i] == x) {
            zn_span(update[i])[i] += zn_span(x)[i] - 1;
            update[i]->fw[i] = x->fw[i];
        } else {
            zn_span(update[i])[i] -= 1;
        }
    }
    while (z->zlevel > 1 && !z->head->fw[z->zlevel - 1]) z->zlevel--;
    z->len--;
}

static void zn_free(zset *z, znode *n) {
    z->mem -= malloc_usable_size(n);
    free(n);
}

/* h: the member's dict hash (dict_hash). */
static void zsl_add_new_h(zset *z, double score, const char *m, size_t mlen, uint64_t h) {
    znode *n = zn_alloc(zsl_random_level(), m, mlen, score);
    z->mem += malloc_usable_size(n);
    zsl_link(z, n);
    dict_add_h(&z->members, &n->h, h);
}

static void zsl_add_new(zset *z, double score, const char *m, size_t mlen) {
    zsl_add_new_h(z, score, m, mlen, dict_hash(m, mlen));
}

/* The node of rank r (0-based), or NULL. */
static znode *zsl_by_rank(const zset *z, size_t r) {
    if (r >= z->len) return NULL;
    size_t target = r + 1, traversed = 0;
    znode *x = z->head;
    for (int i = z->zlevel - 1; i >= 0; i--) {
        while (x->fw[i] && traversed + zn_span(x)[i] <= target) {
            traversed += zn_span(x)[i];
            x = x->fw[i];
        }
        if (traversed == target) return x;
    }
    return NULL;
}

static void zsl_release(zset *z) {
    znode *n = z->head->fw[0];
    while (n) {
        znode *next = n->fw[0];
        free(n);
        n = next;
    }
    free(z->head);
    z->head = NULL;
    dict_release(&z->members);
}

static void convert_to_skiplist(zset *z) {
    if (z->enc == ENC_SKIPLIST) return;
    unsigned char *buf = z->buf;
    size_t used = z->used;
    size_t bufmem = buf ? malloc_usable_size(buf) : 0;
    z->enc = ENC_SKIPLIST;
    z->len = 0;
    z->mem -= bufmem;
    z->buf = NULL;
    z->used = z->cap = 0;
    zsl_init(z);
    for (size_t off = 0; off < used;) {
        const char *m;
        size_t mlen;
        double s;
        off += lp_get(buf + off, &m, &mlen, &s);
        zsl_add_new(z, s, m, mlen);
    }
    free(buf);
}

void zset_convert_to_skiplist(zset *z) { convert_to_skiplist(z); }

void zset_convert_if_small(zset *z) {
    if (z->enc != ENC_SKIPLIST || z->len > zset_max_listpack_entries) return;
    size_t bytes = 0;
    for (znode *n = z->head->fw[0]; n; n = n->fw[0]) {
        if (n->mlen > zset_max_listpack_value) return;
        bytes += lp_hdr(n->mlen) + n->mlen + sizeof(double);
    }
    znode *n = z->head->fw[0];
    size_t mem0 = malloc_usable_size(z->head);
    for (znode *x = n; x; x = x->fw[0]) mem0 += malloc_usable_size(x);
    z->mem -= mem0;
    zset tmp = {.enc = ENC_LISTPACK};
    lp_reserve(&tmp, bytes ? bytes : 1);
    for (; n; n = n->fw[0]) {
        /* already in order: append */
        unsigned char *p = tmp.buf + tmp.used;
        size_t hdr = lp_hdr(n->mlen);
        if (hdr == 1) {
            p[0] = (unsigned char)n->mlen;
        } else {
            p[0] = 255;
            memcpy(p + 1, &n->mlen, 4);
        }
        memcpy(p + hdr, zn_member(n), n->mlen);
        memcpy(p + hdr + n->mlen, &n->score, sizeof(double));
        tmp.used += hdr + n->mlen + sizeof(double);
    }
    size_t len = z->len;
    zsl_release(z);
    z->enc = ENC_LISTPACK;
    z->buf = tmp.buf;
    z->used = tmp.used;
    z->cap = tmp.cap;
    z->len = len;
    z->mem += tmp.mem;
}

/* ---------------- the API ---------------- */

zset *zset_new(size_t size_hint, size_t maxlen_hint) {
    zset *z = xcalloc(1, sizeof(*z));
    if (size_hint <= zset_max_listpack_entries && maxlen_hint <= zset_max_listpack_value) {
        z->enc = ENC_LISTPACK;
    } else {
        z->enc = ENC_SKIPLIST;
        zsl_init(z);
    }
    return z;
}

void zset_free(zset *z) {
    if (!z) return;
    if (z->enc == ENC_SKIPLIST) zsl_release(z);
    free(z->buf);
    free(z);
}

size_t zset_memory(const zset *z) {
    size_t m = malloc_usable_size((void *)z) + z->mem;
    if (z->enc == ENC_SKIPLIST) m += dict_table_bytes(&z->members);
    return m;
}

size_t zset_len(const zset *z) { return z->len; }
int zset_is_listpack(const zset *z) { return z->enc == ENC_LISTPACK; }

zset *zset_dup(const zset *z) {
    zset *d = xcalloc(1, sizeof(*d));
    d->enc = z->enc;
    if (z->enc == ENC_LISTPACK) {
        if (z->used) {
            lp_reserve(d, z->used);
            memcpy(d->buf, z->buf, z->used);
        }
        d->used = z->used;
        d->len = z->len;
        return d;
    }
    zsl_init(d);
    for (znode *n = z->head->fw[0]; n; n = n->fw[0]) zsl_add_new(d, n->score, zn_member(n), n->mlen);
    return d;
}

int zset_score(zset *z, const char *m, size_t mlen, double *score) {
    if (z->enc == ENC_LISTPACK) return lp_find(z, m, mlen, score) != (size_t)-1;
    znode *n = (znode *)dict_find(&z->members, m, mlen);
    if (!n) return 0;
    *score = n->score;
    return 1;
}

int zset_add(zset *z, double score, const char *m, size_t mlen, int in, int *out, double *newscore) {
    *out = 0;
    if (isnan(score)) {
        *out = ZADD_OUT_NAN;
        return 0;
    }
    double cur;
    uint64_t h = 0;
    int found;
    if (z->enc == ENC_SKIPLIST) {
        h = dict_hash(m, mlen);
        znode *n = (znode *)dict_find_h(&z->members, m, mlen, h);
        found = n != NULL;
        if (n) cur = n->score;
    } else {
        found = zset_score(z, m, mlen, &cur);
    }
    if (found) {
        if (in & ZADD_IN_NX) {
            *out |= ZADD_OUT_NOP;
            return 1;
        }
        if (in & ZADD_IN_INCR) {
            score += cur;
            if (isnan(score)) {
                *out |= ZADD_OUT_NAN;
                return 0;
            }
        }
        if (((in & ZADD_IN_LT) && score >= cur) || ((in & ZADD_IN_GT) && score <= cur)) {
            *out |= ZADD_OUT_NOP;
            return 1;
        }
        if (newscore) *newscore = score;
        if (score == cur) return 1;
        if (z->enc == ENC_LISTPACK) {
            lp_delete_at(z, lp_find(z, m, mlen, NULL));
            lp_insert(z, score, m, mlen);
        } else {
            znode *update[ZSL_MAXLEVEL];
            zsl_find_update(z, cur, m, mlen, update);
            znode *x = update[0]->fw[0];
            znode *next = x->fw[0];
            if ((update[0] == z->head || update[0]->score < score) && (!next || next->score > score)) {
                x->score = score;
            } else {
                zsl_unlink(z, x, update);
                x->score = score;
                zsl_link(z, x);
            }
        }
        *out |= ZADD_OUT_UPDATED;
        return 1;
    }
    if (in & ZADD_IN_XX) {
        *out |= ZADD_OUT_NOP;
        return 1;
    }
    if (z->enc == ENC_LISTPACK && (z->len + 1 > zset_max_listpack_entries || mlen > zset_max_listpack_value)) {
        convert_to_skiplist(z);
        h = dict_hash(m, mlen);
    }
    if (z->enc == ENC_LISTPACK) lp_insert(z, score, m, mlen);
    else zsl_add_new_h(z, score, m, mlen, h);
    if (newscore) *newscore = score;
    *out |= ZADD_OUT_ADDED;
    return 1;
}

int zset_del(zset *z, const char *m, size_t mlen) {
    if (z->enc == ENC_LISTPACK) {
        size_t off = lp_find(z, m, mlen, NULL);
        if (off == (size_t)-1) return 0;
        lp_delete_at(z, off);
        return 1;
    }
    znode *n = (znode *)dict_unlink(&z->members, m, mlen);
    if (!n) return 0;
    znode *update[ZSL_MAXLEVEL];
    zsl_find_update(z, n->score, m, mlen, update);
    zsl_unlink(z, n, update);
    zn_free(z, n);
    return 1;
}

long long zset_rank(zset *z, const char *m, size_t mlen, double *score) {
    if (z->enc == ENC_LISTPACK) {
        size_t off = 0, r = 0;
        while (off < z->used) {
            const char *em;
            size_t elen;
            double s;
            off += lp_get(z->buf + off, &em, &elen, &s);
            if (elen == mlen && !memcmp(em, m, mlen)) {
                if (score) *score = s;
                return (long long)r;
            }
            r++;
        }
        return -1;
    }
    znode *n = (znode *)dict_find(&z->members, m, mlen);
    if (!n) return -1;
    if (score) *score = n->score;
    size_t rank = 0;
    znode *x = z->head;
    for (int i = z->zlevel - 1; i >= 0; i--) {
        while (x->fw[i] && (zn_before(x->fw[i], n->score, m, mlen) || x->fw[i] == n)) {
            rank += zn_span(x)[i];
            x = x->fw[i];
        }
        if (x == n) return (long long)rank - 1;
    }
    return -1;
}

size_t zset_count_below_score(const zset *z, double s, int inclusive) {
    if (z->enc == ENC_LISTPACK) {
        size_t off = 0, r = 0;
        while (off < z->used) {
            const char *em;
            size_t elen;
            double es;
            off += lp_get(z->buf + off, &em, &elen, &es);
            if (!(es < s || (inclusive && es == s))) break;
            r++;
        }
        return r;
    }
    size_t rank = 0;
    znode *x = z->head;
    for (int i = z->zlevel - 1; i >= 0; i--) {
        while (x->fw[i] && (x->fw[i]->score < s || (inclusive && x->fw[i]->score == s))) {
            rank += zn_span(x)[i];
            x = x->fw[i];
        }
    }
    return rank;
}

size_t zset_count_below_lex(const zset *z, const char *m, size_t mlen, int inclusive) {
    if (z->enc == ENC_LISTPACK) {
        size_t off = 0, r = 0;
        while (off < z->used) {
            const char *em;
            size_t elen;
            double es;
            off += lp_get(z->buf + off, &em, &elen, &es);
            int c = mcmp(em, elen, m, mlen);
            if (!(c < 0 || (inclusive && c == 0))) break;
            r++;
        }
        return r;
    }
    size_t rank = 0;
    znode *x = z->head;
    for (int i = z->zlevel - 1; i >= 0; i--) {
        for (;;) {
            znode *f = x->fw[i];
            if (!f) break;
            int c = mcmp(zn_member(f), f->mlen, m, mlen);
            if (!(c < 0 || (inclusive && c == 0))) break;
            rank += zn_span(x)[i];
            x = f;
        }
    }
    return rank;
}

size_t zset_del_range(zset *z, size_t lo, size_t hi) {
    if (hi > z->len) hi = z->len;
    if (lo >= hi) return 0;
    size_t n = hi - lo;
    if (z->enc == ENC_LISTPACK) {
        size_t off = 0, r = 0, start = 0;
        while (r < hi) {
            if (r == lo) start = off;
            const char *em;
            size_t elen;
            double es;
            off += lp_get(z->buf + off, &em, &elen, &es);
            r++;
        }
        memmove(z->buf + start, z->buf + off, z->used - off);
        z->used -= off - start;
        z->len -= n;
        return n;
    }
    znode *update[ZSL_MAXLEVEL];
    size_t traversed = 0;
    znode *x = z->head;
    for (int i = z->zlevel - 1; i >= 0; i--) {
        while (x->fw[i] && traversed + zn_span(x)[i] <= lo) {
            traversed += zn_span(x)[i];
            x = x->fw[i];
        }
        update[i] = x;
    }
    x = x->fw[0];
    for (size_t k = 0; k < n && x; k++) {
        znode *next = x->fw[0];
        zsl_unlink(z, x, update);
        dict_unlink(&z->members, zn_member(x), x->mlen);
        zn_free(z, x);
        x = next;
    }
    return n;
}

void zset_iter_at(const zset *z, size_t rank, zset_iter *it) {
    it->z = z;
    it->rank = rank;
    it->pos = NULL;
    if (rank >= z->len) return;
    if (z->enc == ENC_SKIPLIST) {
        it->pos = zsl_by_rank(z, rank);
        return;
    }
    size_t off = 0;
    for (size_t r = 0; r < rank; r++) {
        const char *em;
        size_t elen;
        double es;
        off += lp_get(z->buf + off, &em, &elen, &es);
    }
    it->pos = z->buf + off;
}

int zset_iter_next(zset_iter *it, const char **m, size_t *mlen, double *score) {
    if (!it->pos) return 0;
    if (it->z->enc == ENC_SKIPLIST) {
        const znode *n = it->pos;
        *m = zn_member(n);
        *mlen = n->mlen;
        *score = n->score;
        it->pos = n->fw[0];
    } else {
        const unsigned char *p = it->pos;
        p += lp_get(p, m, mlen, score);
        it->pos = p < it->z->buf + it->z->used ? p : NULL;
    }
    it->rank++;
    return 1;
}

typedef struct scan_ctx {
    void (*fn)(void *priv, const char *m, size_t mlen, double score);
    void *priv;
} scan_ctx;

static void scan_node(void *priv, dict_node *dn) {
    scan_ctx *s = priv;
    const znode *n = (const znode *)dn;
    s->fn(s->priv, zn_member(n), n->mlen, n->score);
}

unsigned long zset_scan(zset *z, unsigned long cursor, void (*fn)(void *priv, const char *m, size_t mlen, double score),
                        void *priv) {
    if (z->enc == ENC_LISTPACK) {
        for (size_t off = 0; off < z->used;) {
            const char *m;
            size_t mlen;
            double s;
            off += lp_get(z->buf + off, &m, &mlen, &s);
            fn(priv, m, mlen, s);
        }
        return 0;
    }
    scan_ctx s = {fn, priv};
    return dict_scan(&z->members, cursor, scan_node, &s);
}

/* ---------------- the descriptor ---------------- */

static const char *zset_encoding(const rkey *k) { return zset_is_listpack(rkey_ptr(k)) ? "listpack" : "skiplist"; }
static void zset_value_free(void *v) { zset_free(v); }
static size_t zset_value_memory(const void *v) { return zset_memory(v); }
static void *zset_value_dup(const void *v) { return zset_dup(v); }
static size_t zset_value_length(const void *v) { return zset_len(v); }

static void zset_value_elements(const void *v, void (*fn)(void *priv, const char *e, size_t len), void *priv) {
    zset_iter it;
    const char *m;
    size_t mlen;
    double s;
    zset_iter_at(v, 0, &it);
    while (zset_iter_next(&it, &m, &mlen, &s)) fn(priv, m, mlen);
}

const value_type zset_type = {
    .name = "zset",
    .id = OBJ_ZSET,
    .encoding = zset_encoding,
    .free = zset_value_free,
    .memory = zset_value_memory,
    .dup = zset_value_dup,
    .length = zset_value_length,
    .elements = zset_value_elements,
    .aof_rewrite = zset_aof_rewrite,
    .rdb_type = zset_rdb_type,
    .rdb_save = zset_rdb_save,
    .rdb_load_types = zset_rdb_types,
    .rdb_load = zset_rdb_load,
};
