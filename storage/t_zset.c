/* t_zset.c: sorted sets (storage/t_zset.h).
 *
 * listpack: buf holds len entries in (score, member) order, each
 *   [1 byte mlen, or 0xFF and a 4-byte mlen][member][8-byte double]
 * (10 bytes besides the member for short members; Redis's listpack spends 5-12).
 *
 * "skiplist" (the name Redis gives its large encoding; here an order-statistics B+tree):
 * each member is one element allocation
 *   [dict chain link][score][1-byte mlen, or 0xFF and a 4-byte mlen][member]
 * (32 bytes for a 15-byte member, against Redis's sds + skiplist node + dict entry, three
 * blocks, ~112 bytes) that is also the node of the member -> element dict (storage/dict.h),
 * so ZSCORE is one hash lookup. The order lives in a B+tree of 1 KiB nodes:
 *  - a leaf holds up to ZL_CAP entries in (score, member bytes) order as parallel arrays
 *    score[] and elem[] (the scores copied next to each other, so a binary search by
 *    score reads a few cache lines and dereferences an element only on equal scores);
 *    leaves are linked both ways in order;
 *  - an inner node holds up to ZI_CAP children with, for each, the number of entries
 *    under it (count[], for ranks) and the first entry under it (score[] and elem[]).
 * A rank is the sum of the counts left of the path plus the position in the leaf; ZRANK
 * finds the element in the dict and descends once by its (score, member), matching the
 * element itself by pointer among equal keys. Inserting into a full node splits it in
 * half, except at the right (left) edge of the tree where the new entry gets a node of
 * its own, so a set loaded in order (RDB, dup, conversion) fills its nodes. Removing
 * below a quarter full merges a node with a sibling or evens their entries out.
 *
 * Invariants: all leaves are at depth height; every leaf holds >= ZL_MIN entries and
 * every inner node >= ZI_MIN children, except the first and the last node of each level
 * (what an edge split leaves), which hold >= 1 entry (a root leaf: >= 0) or >= 2
 * children; a removal that leaves any node below its minimum fixes it at once, so a
 * node always has a sibling to merge with or borrow from;
 * an inner node's count[i] is the number of entries under child i and score[i]/elem[i]
 * its first entry (for every i, so no key points at a freed element); a leaf's score[i]
 * == elem[i]->score; len == dict_size(&members) == the entries in the leaves;
 * mem == bytes of every allocation except the struct (malloc_usable_size). */
#include "storage/aof_rewrite.h"
#include "storage/rdb.h"
#include "storage/t_zset.h"

#include <malloc.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/dict.h"
#include "storage/type.h"

size_t zset_max_listpack_entries = 128;
size_t zset_max_listpack_value = 64;

/* Leaf and inner node capacities: each node is one 1 KiB block (a jemalloc size class).
 * Against 512-byte nodes (30 entries, 16 children), measured on 1 M members: the same
 * ZRANK and ZADD times within the noise, 2% less memory after random updates. */
#ifndef ZL_CAP /* the unit tests also build this file with tiny nodes */
#define ZL_CAP 62
#define ZI_CAP 36
#endif
#define ZL_MIN  (ZL_CAP / 4)
#define ZI_MIN  (ZI_CAP / 4)
#define ZT_MAXH 48

typedef struct zelem {
    dict_node h;
    double score;
    unsigned char b[]; /* [1-byte mlen, or 0xFF and a 4-byte mlen][member] */
} zelem;

typedef struct zleaf {
    struct zleaf *prev, *next;
    uint32_t n;
    double score[ZL_CAP];
    struct zelem *elem[ZL_CAP];
} zleaf;

typedef struct zinner {
    uint32_t n;
    uint32_t count[ZI_CAP]; /* entries under each child */
    double score[ZI_CAP];   /* score[i], elem[i]: the first entry under child i */
    struct zelem *elem[ZI_CAP];
    void *child[ZI_CAP];
} zinner;

_Static_assert(sizeof(zleaf) <= 1024 && sizeof(zinner) <= 1024, "tree nodes fit a 1 KiB block");

enum { ENC_LISTPACK = 0, ENC_SKIPLIST = 1 };

struct zset {
    int enc;
    size_t len;
    size_t mem;
    /* listpack */
    unsigned char *buf;
    size_t used, cap;
    /* tree */
    void *root; /* a zleaf when height is 0, else a zinner */
    int height; /* inner levels above the leaves */
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

/* ---------------- the B+tree ("skiplist") ---------------- */

/* A member: the member -> element dict's node, the score and the member bytes. */
static inline const char *ze_member(const zelem *e) { return (const char *)e->b + (e->b[0] == 255 ? 5 : 1); }
static inline size_t ze_mlen(const zelem *e) {
    if (e->b[0] != 255) return e->b[0];
    uint32_t v;
    memcpy(&v, e->b + 1, 4);
    return v;
}

static const char *ze_keyof(const dict_node *n, size_t *len) {
    const zelem *e = (const zelem *)n;
    *len = ze_mlen(e);
    return ze_member(e);
}

static zelem *ze_alloc(zset *z, const char *m, size_t mlen, double score) {
    size_t h = lp_hdr(mlen);
    zelem *e = xmalloc(offsetof(zelem, b) + h + mlen);
    e->h.next = NULL;
    e->score = score;
    if (h == 1) {
        e->b[0] = (unsigned char)mlen;
    } else {
        uint32_t v = (uint32_t)mlen;
        e->b[0] = 255;
        memcpy(e->b + 1, &v, 4);
    }
    if (mlen) memcpy(e->b + h, m, mlen);
    z->mem += malloc_usable_size(e);
    return e;
}

static void ze_free(zset *z, zelem *e) {
    z->mem -= malloc_usable_size(e);
    free(e);
}

/* Key (s, e) against the target (ts, tm, tmlen, te): <0, 0 (e == te) or >0. Member
 * bytes are read only on equal scores. */
static inline int key_cmp(double s, const zelem *e, double ts, const char *tm, size_t tmlen, const zelem *te) {
    if (s < ts) return -1;
    if (s > ts) return 1;
    if (e == te) return 0;
    return mcmp(ze_member(e), ze_mlen(e), tm, tmlen);
}

static zleaf *leaf_alloc(zset *z) {
    zleaf *l = xmalloc(sizeof(zleaf));
    l->prev = l->next = NULL;
    l->n = 0;
    z->mem += malloc_usable_size(l);
    return l;
}

static zinner *inner_alloc(zset *z) {
    zinner *x = xmalloc(sizeof(zinner));
    x->n = 0;
    z->mem += malloc_usable_size(x);
    return x;
}

static void node_free(zset *z, void *p) {
    z->mem -= malloc_usable_size(p);
    free(p);
}

/* Inner node: the child holding the target, the last child whose first key <= target. */
static inline uint32_t inner_child(const zinner *x, double ts, const char *tm, size_t tmlen, const zelem *te) {
    uint32_t a = 1, b = x->n;
    while (a < b) {
        uint32_t mid = (a + b) / 2;
        if (key_cmp(x->score[mid], x->elem[mid], ts, tm, tmlen, te) <= 0) a = mid + 1;
        else b = mid;
    }
    return a - 1;
}

/* Leaf: the number of entries before the target. */
static inline uint32_t leaf_lower(const zleaf *l, double ts, const char *tm, size_t tmlen, const zelem *te) {
    uint32_t a = 0, b = l->n;
    while (a < b) {
        uint32_t mid = (a + b) / 2;
        if (key_cmp(l->score[mid], l->elem[mid], ts, tm, tmlen, te) < 0) a = mid + 1;
        else b = mid;
    }
    return a;
}

static inline void prefetch_node(const void *p) {
    const char *c = p;
    for (size_t off = 0; off < sizeof(zinner); off += 64) __builtin_prefetch(c + off);
}

/* A root-to-leaf path: node[d] is the inner node at depth d, idx[d] the child taken. */
typedef struct zpath {
    zinner *node[ZT_MAXH];
    uint32_t idx[ZT_MAXH];
    zleaf *leaf;
    uint32_t pos;
    size_t rank; /* rank of the leaf's first entry */
} zpath;

/* Descend to the place of key (s, m, e): p->pos is the number of leaf entries before it
 * (the entry itself when e is in the tree). */
static void descend_key(const zset *z, double s, const char *m, size_t mlen, const zelem *e, zpath *p) {
    void *x = z->root;
    size_t rank = 0;
    for (int d = 0; d < z->height; d++) {
        zinner *in = x;
        uint32_t i = inner_child(in, s, m, mlen, e);
        for (uint32_t j = 0; j < i; j++) rank += in->count[j];
        p->node[d] = in;
        p->idx[d] = i;
        x = in->child[i];
        prefetch_node(x);
    }
    p->leaf = x;
    p->pos = leaf_lower(p->leaf, s, m, mlen, e);
    p->rank = rank;
}

/* Descend to rank r (< len). */
static void descend_rank(const zset *z, size_t r, zpath *p) {
    void *x = z->root;
    p->rank = r;
    for (int d = 0; d < z->height; d++) {
        zinner *in = x;
        uint32_t i = 0;
        while (r >= in->count[i]) r -= in->count[i++];
        p->node[d] = in;
        p->idx[d] = i;
        x = in->child[i];
        prefetch_node(x);
    }
    p->leaf = x;
    p->pos = (uint32_t)r;
    p->rank -= r;
}

/* The subtree at depth d of the path has a new first key: fix the keys above it. */
static void set_first(zpath *p, int d, double s, zelem *e) {
    while (--d >= 0) {
        p->node[d]->score[p->idx[d]] = s;
        p->node[d]->elem[p->idx[d]] = e;
        if (p->idx[d]) break;
    }
}

static inline void leaf_put(zleaf *l, uint32_t pos, zelem *e) {
    memmove(l->score + pos + 1, l->score + pos, (l->n - pos) * sizeof(double));
    memmove(l->elem + pos + 1, l->elem + pos, (l->n - pos) * sizeof(zelem *));
    l->score[pos] = e->score;
    l->elem[pos] = e;
    l->n++;
}

/* Move entries [from, from + n) of inner node a to position to of b (b has room). */
static void inner_move(zinner *b, uint32_t to, const zinner *a, uint32_t from, uint32_t n) {
    memcpy(b->count + to, a->count + from, n * sizeof(uint32_t));
    memcpy(b->score + to, a->score + from, n * sizeof(double));
    memcpy(b->elem + to, a->elem + from, n * sizeof(zelem *));
    memcpy(b->child + to, a->child + from, n * sizeof(void *));
}

/* Open (n > 0) or close (n < 0) a gap at position i of inner node x. */
static void inner_shift(zinner *x, uint32_t i, int n) {
    uint32_t tail = x->n - i - (n < 0 ? (uint32_t)-n : 0);
    uint32_t to = n > 0 ? i + (uint32_t)n : i, from = n > 0 ? i : i + (uint32_t)-n;
    memmove(x->count + to, x->count + from, tail * sizeof(uint32_t));
    memmove(x->score + to, x->score + from, tail * sizeof(double));
    memmove(x->elem + to, x->elem + from, tail * sizeof(zelem *));
    memmove(x->child + to, x->child + from, tail * sizeof(void *));
    x->n = n > 0 ? x->n + (uint32_t)n : x->n - (uint32_t)-n;
}

static size_t inner_total(const zinner *x) {
    size_t t = 0;
    for (uint32_t i = 0; i < x->n; i++) t += x->count[i];
    return t;
}

/* Child `right` (first key ks/ke, rc entries) goes right after the child the path took at
 * depth d, which now holds lc entries; splits upwards as needed. left is that child. */
static void insert_child(zset *z, zpath *p, int d, void *left, void *right, double ks, zelem *ke, size_t lc,
                         size_t rc) {
    for (;;) {
        if (d < 0) {
            zinner *r = inner_alloc(z);
            r->n = 2;
            r->child[0] = left;
            r->child[1] = right;
            r->count[0] = (uint32_t)lc;
            r->count[1] = (uint32_t)rc;
            if (z->height == 0) {
                r->score[0] = ((zleaf *)left)->score[0];
                r->elem[0] = ((zleaf *)left)->elem[0];
            } else {
                r->score[0] = ((zinner *)left)->score[0];
                r->elem[0] = ((zinner *)left)->elem[0];
            }
            r->score[1] = ks;
            r->elem[1] = ke;
            z->root = r;
            z->height++;
            return;
        }
        zinner *x = p->node[d];
        uint32_t i = p->idx[d] + 1;
        x->count[i - 1] = (uint32_t)lc;
        zinner *t = x, *nx = NULL;
        if (x->n == ZI_CAP) {
            /* Appends at the right edge (or the left) split off one child, so a set loaded
             * in order fills its nodes. */
            int rightmost = i == ZI_CAP, leftmost = i == 1;
            for (int k = 0; k < d; k++) {
                rightmost &= p->idx[k] == p->node[k]->n - 1;
                leftmost &= p->idx[k] == 0;
            }
            uint32_t k = rightmost ? ZI_CAP - 1 : leftmost ? 2 : ZI_CAP / 2; /* both keep >= 2 children */
            nx = inner_alloc(z);
            inner_move(nx, 0, x, k, ZI_CAP - k);
            nx->n = ZI_CAP - k;
            x->n = k;
            if (i >= k) {
                t = nx;
                i -= k;
            }
        }
        inner_shift(t, i, 1);
        t->child[i] = right;
        t->count[i] = (uint32_t)rc;
        t->score[i] = ks;
        t->elem[i] = ke;
        if (!nx) return;
        left = x;
        right = nx;
        ks = nx->score[0];
        ke = nx->elem[0];
        lc = inner_total(x);
        rc = inner_total(nx);
        d--;
    }
}

/* Link element e (its score and member set, not in the tree). */
static void tree_insert(zset *z, zelem *e) {
    zpath p;
    const char *m = ze_member(e);
    descend_key(z, e->score, m, ze_mlen(e), e, &p);
    for (int d = 0; d < z->height; d++) p.node[d]->count[p.idx[d]]++;
    z->len++;
    zleaf *l = p.leaf;
    uint32_t pos = p.pos;
    if (l->n < ZL_CAP) {
        leaf_put(l, pos, e);
        if (pos == 0) set_first(&p, z->height, e->score, e);
        return;
    }
    uint32_t k = (pos == ZL_CAP && !l->next) ? ZL_CAP : (pos == 0 && !l->prev) ? 0 : ZL_CAP / 2;
    zleaf *nl = leaf_alloc(z);
    memcpy(nl->score, l->score + k, (ZL_CAP - k) * sizeof(double));
    memcpy(nl->elem, l->elem + k, (ZL_CAP - k) * sizeof(zelem *));
    nl->n = ZL_CAP - k;
    l->n = k;
    nl->next = l->next;
    nl->prev = l;
    if (l->next) l->next->prev = nl;
    l->next = nl;
    if (pos < k || k == 0) {
        leaf_put(l, pos, e);
        if (pos == 0) set_first(&p, z->height, e->score, e);
    } else {
        leaf_put(nl, pos - k, e);
    }
    insert_child(z, &p, z->height - 1, l, nl, nl->score[0], nl->elem[0], l->n, nl->n);
}

/* Child i+1 of x joins child i (when they fit in one node) or the two share their
 * entries evenly. d: x's depth; leaves: the children are leaves. */
static void fix_pair(zset *z, zpath *p, int d, zinner *x, uint32_t i, int leaves) {
    if (leaves) {
        zleaf *a = x->child[i], *b = x->child[i + 1];
        int was_empty = a->n == 0;
        if (a->n + b->n <= ZL_CAP) {
            memcpy(a->score + a->n, b->score, b->n * sizeof(double));
            memcpy(a->elem + a->n, b->elem, b->n * sizeof(zelem *));
            a->n += b->n;
            a->next = b->next;
            if (b->next) b->next->prev = a;
            x->count[i] = a->n;
            inner_shift(x, i + 1, -1);
            node_free(z, b);
        } else {
            uint32_t total = a->n + b->n, na = total / 2;
            if (a->n < na) {
                uint32_t mv = na - a->n;
                memcpy(a->score + a->n, b->score, mv * sizeof(double));
                memcpy(a->elem + a->n, b->elem, mv * sizeof(zelem *));
                memmove(b->score, b->score + mv, (b->n - mv) * sizeof(double));
                memmove(b->elem, b->elem + mv, (b->n - mv) * sizeof(zelem *));
            } else {
                uint32_t mv = a->n - na;
                memmove(b->score + mv, b->score, b->n * sizeof(double));
                memmove(b->elem + mv, b->elem, b->n * sizeof(zelem *));
                memcpy(b->score, a->score + na, mv * sizeof(double));
                memcpy(b->elem, a->elem + na, mv * sizeof(zelem *));
            }
            a->n = na;
            b->n = total - na;
            x->count[i] = a->n;
            x->count[i + 1] = b->n;
            x->score[i + 1] = b->score[0];
            x->elem[i + 1] = b->elem[0];
        }
        if (was_empty) {
            x->score[i] = a->score[0];
            x->elem[i] = a->elem[0];
            if (i == 0) set_first(p, d, a->score[0], a->elem[0]);
        }
        return;
    }
    zinner *a = x->child[i], *b = x->child[i + 1];
    if (a->n + b->n <= ZI_CAP) {
        inner_move(a, a->n, b, 0, b->n);
        a->n += b->n;
        x->count[i] += x->count[i + 1];
        inner_shift(x, i + 1, -1);
        node_free(z, b);
        return;
    }
    uint32_t total = a->n + b->n, na = total / 2;
    if (a->n < na) {
        uint32_t mv = na - a->n;
        inner_move(a, a->n, b, 0, mv);
        a->n += mv;
        memmove(b->count, b->count + mv, (b->n - mv) * sizeof(uint32_t));
        memmove(b->score, b->score + mv, (b->n - mv) * sizeof(double));
        memmove(b->elem, b->elem + mv, (b->n - mv) * sizeof(zelem *));
        memmove(b->child, b->child + mv, (b->n - mv) * sizeof(void *));
        b->n -= mv;
    } else {
        uint32_t mv = a->n - na;
        inner_shift(b, 0, (int)mv);
        inner_move(b, 0, a, na, mv);
        a->n = na;
    }
    x->count[i] = (uint32_t)inner_total(a);
    x->count[i + 1] = (uint32_t)inner_total(b);
    x->score[i + 1] = b->score[0];
    x->elem[i + 1] = b->elem[0];
}

/* Unlink cnt entries from the path's leaf at its position (the caller unlinks them from
 * the dict and frees them), then restore the fill invariants. The path is stale after. */
static void tree_remove(zset *z, zpath *p, uint32_t cnt) {
    zleaf *l = p->leaf;
    uint32_t pos = p->pos;
    memmove(l->score + pos, l->score + pos + cnt, (l->n - pos - cnt) * sizeof(double));
    memmove(l->elem + pos, l->elem + pos + cnt, (l->n - pos - cnt) * sizeof(zelem *));
    l->n -= cnt;
    z->len -= cnt;
    for (int d = 0; d < z->height; d++) p->node[d]->count[p->idx[d]] -= cnt;
    if (pos == 0 && l->n) set_first(p, z->height, l->score[0], l->elem[0]);
    if (z->height == 0 || l->n >= ZL_MIN) return;
    int d = z->height - 1;
    zinner *x = p->node[d];
    uint32_t i = p->idx[d];
    fix_pair(z, p, d, x, i ? i - 1 : 0, 1);
    for (d--; d >= 0 && p->node[d + 1]->n < ZI_MIN; d--) {
        i = p->idx[d];
        fix_pair(z, p, d, p->node[d], i ? i - 1 : 0, 0);
    }
    while (z->height > 0 && ((zinner *)z->root)->n == 1) {
        zinner *r = z->root;
        z->root = r->child[0];
        node_free(z, r);
        z->height--;
    }
}

static void tree_init(zset *z) {
    z->root = leaf_alloc(z);
    z->height = 0;
    z->len = 0;
    dict_init(&z->members, ze_keyof);
}

static zleaf *first_leaf(const zset *z) {
    void *x = z->root;
    for (int d = 0; d < z->height; d++) x = ((zinner *)x)->child[0];
    return x;
}

static void free_inner(zset *z, void *x, int h) {
    if (h == 0) return;
    zinner *in = x;
    for (uint32_t i = 0; i < in->n; i++) free_inner(z, in->child[i], h - 1);
    node_free(z, in);
}

static void tree_release(zset *z) {
    zleaf *l = first_leaf(z);
    free_inner(z, z->root, z->height);
    while (l) {
        zleaf *next = l->next;
        for (uint32_t i = 0; i < l->n; i++) ze_free(z, l->elem[i]);
        node_free(z, l);
        l = next;
    }
    z->root = NULL;
    z->height = 0;
    dict_release(&z->members);
}

/* h: the member's dict hash (dict_hash). */
static void tree_add_new_h(zset *z, double score, const char *m, size_t mlen, uint64_t h) {
    zelem *e = ze_alloc(z, m, mlen, score);
    tree_insert(z, e);
    dict_add_h(&z->members, &e->h, h);
}

static void tree_add_new(zset *z, double score, const char *m, size_t mlen) {
    tree_add_new_h(z, score, m, mlen, dict_hash(m, mlen));
}

/* The path to element e, which is in the tree. */
static void tree_find(const zset *z, const zelem *e, zpath *p) {
    descend_key(z, e->score, ze_member(e), ze_mlen(e), e, p);
}

static void convert_to_skiplist(zset *z) {
    if (z->enc == ENC_SKIPLIST) return;
    unsigned char *buf = z->buf;
    size_t used = z->used;
    size_t bufmem = buf ? malloc_usable_size(buf) : 0;
    z->enc = ENC_SKIPLIST;
    z->mem -= bufmem;
    z->buf = NULL;
    z->used = z->cap = 0;
    tree_init(z);
    for (size_t off = 0; off < used;) {
        const char *m;
        size_t mlen;
        double s;
        off += lp_get(buf + off, &m, &mlen, &s);
        tree_add_new(z, s, m, mlen);
    }
    free(buf);
}

void zset_convert_to_skiplist(zset *z) { convert_to_skiplist(z); }

void zset_convert_if_small(zset *z) {
    if (z->enc != ENC_SKIPLIST || z->len > zset_max_listpack_entries) return;
    size_t bytes = 0;
    for (const zleaf *l = first_leaf(z); l; l = l->next) {
        for (uint32_t i = 0; i < l->n; i++) {
            size_t mlen = ze_mlen(l->elem[i]);
            if (mlen > zset_max_listpack_value) return;
            bytes += lp_hdr(mlen) + mlen + sizeof(double);
        }
    }
    zset tmp = {.enc = ENC_LISTPACK};
    lp_reserve(&tmp, bytes ? bytes : 1);
    for (const zleaf *l = first_leaf(z); l; l = l->next) {
        for (uint32_t i = 0; i < l->n; i++) {
            /* already in order: append (the element's length header is the listpack's) */
            const zelem *e = l->elem[i];
            size_t mlen = ze_mlen(e), hdr = lp_hdr(mlen);
            unsigned char *p = tmp.buf + tmp.used;
            memcpy(p, e->b, hdr + mlen);
            memcpy(p + hdr + mlen, &l->score[i], sizeof(double));
            tmp.used += hdr + mlen + sizeof(double);
        }
    }
    size_t len = z->len;
    tree_release(z);
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
        tree_init(z);
    }
    return z;
}

void zset_free(zset *z) {
    if (!z) return;
    if (z->enc == ENC_SKIPLIST) tree_release(z);
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
    tree_init(d);
    dict_reserve(&d->members, z->len);
    for (const zleaf *l = first_leaf(z); l; l = l->next)
        for (uint32_t i = 0; i < l->n; i++) {
            const zelem *e = l->elem[i];
            tree_add_new(d, l->score[i], ze_member(e), ze_mlen(e));
        }
    return d;
}

int zset_score(zset *z, const char *m, size_t mlen, double *score) {
    if (z->enc == ENC_LISTPACK) return lp_find(z, m, mlen, score) != (size_t)-1;
    zelem *e = (zelem *)dict_find(&z->members, m, mlen);
    if (!e) return 0;
    *score = e->score;
    return 1;
}

/* Element e (in the tree, at path p) gets score s: in place when it keeps its place
 * between its neighbours, else unlinked and linked again. */
static void tree_rescore(zset *z, zelem *e, zpath *p, double s) {
    zleaf *l = p->leaf;
    uint32_t pos = p->pos;
    const char *m = ze_member(e);
    size_t mlen = ze_mlen(e);
    const zleaf *pl = pos ? l : l->prev, *nl = pos + 1 < l->n ? l : l->next;
    uint32_t pi = pos ? pos - 1 : (pl ? pl->n - 1 : 0), ni = pos + 1 < l->n ? pos + 1 : 0;
    if ((!pl || key_cmp(pl->score[pi], pl->elem[pi], s, m, mlen, e) < 0) &&
        (!nl || key_cmp(nl->score[ni], nl->elem[ni], s, m, mlen, e) > 0)) {
        e->score = s;
        l->score[pos] = s;
        if (pos == 0) set_first(p, z->height, s, e);
        return;
    }
    tree_remove(z, p, 1);
    e->score = s;
    tree_insert(z, e);
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
    zelem *e = NULL;
    if (z->enc == ENC_SKIPLIST) {
        h = dict_hash(m, mlen);
        e = (zelem *)dict_find_h(&z->members, m, mlen, h);
        found = e != NULL;
        if (e) cur = e->score;
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
            zpath p;
            tree_find(z, e, &p);
            tree_rescore(z, e, &p, score);
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
    else tree_add_new_h(z, score, m, mlen, h);
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
    zelem *e = (zelem *)dict_unlink(&z->members, m, mlen);
    if (!e) return 0;
    zpath p;
    tree_find(z, e, &p);
    tree_remove(z, &p, 1);
    ze_free(z, e);
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
    zelem *e = (zelem *)dict_find(&z->members, m, mlen);
    if (!e) return -1;
    if (score) *score = e->score;
    zpath p;
    descend_key(z, e->score, m, mlen, e, &p);
    return (long long)(p.rank + p.pos);
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
    /* the entries before the first key > s (inclusive) or >= s */
    size_t rank = 0;
    const void *x = z->root;
    for (int d = 0; d < z->height; d++) {
        const zinner *in = x;
        uint32_t a = 1, b = in->n;
        while (a < b) {
            uint32_t mid = (a + b) / 2;
            if (in->score[mid] < s || (inclusive && in->score[mid] == s)) a = mid + 1;
            else b = mid;
        }
        for (uint32_t j = 0; j + 1 < a; j++) rank += in->count[j];
        x = in->child[a - 1];
        prefetch_node(x);
    }
    const zleaf *l = x;
    uint32_t a = 0, b = l->n;
    while (a < b) {
        uint32_t mid = (a + b) / 2;
        if (l->score[mid] < s || (inclusive && l->score[mid] == s)) a = mid + 1;
        else b = mid;
    }
    return rank + a;
}

static inline int lex_before(const zelem *e, const char *m, size_t mlen, int inclusive) {
    int c = mcmp(ze_member(e), ze_mlen(e), m, mlen);
    return c < 0 || (inclusive && c == 0);
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
    const void *x = z->root;
    for (int d = 0; d < z->height; d++) {
        const zinner *in = x;
        uint32_t a = 1, b = in->n;
        while (a < b) {
            uint32_t mid = (a + b) / 2;
            if (lex_before(in->elem[mid], m, mlen, inclusive)) a = mid + 1;
            else b = mid;
        }
        for (uint32_t j = 0; j + 1 < a; j++) rank += in->count[j];
        x = in->child[a - 1];
    }
    const zleaf *l = x;
    uint32_t a = 0, b = l->n;
    while (a < b) {
        uint32_t mid = (a + b) / 2;
        if (lex_before(l->elem[mid], m, mlen, inclusive)) a = mid + 1;
        else b = mid;
    }
    return rank + a;
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
    /* a leaf's run at a time */
    for (size_t left = n; left;) {
        zpath p;
        descend_rank(z, lo, &p);
        uint32_t cnt = p.leaf->n - p.pos;
        if (cnt > left) cnt = (uint32_t)left;
        for (uint32_t i = 0; i < cnt; i++) {
            zelem *e = p.leaf->elem[p.pos + i];
            dict_unlink(&z->members, ze_member(e), ze_mlen(e));
            ze_free(z, e);
        }
        tree_remove(z, &p, cnt);
        left -= cnt;
    }
    return n;
}

void zset_iter_at(const zset *z, size_t rank, zset_iter *it) {
    it->z = z;
    it->rank = rank;
    it->pos = NULL;
    it->idx = 0;
    if (rank >= z->len) return;
    if (z->enc == ENC_SKIPLIST) {
        zpath p;
        descend_rank(z, rank, &p);
        it->pos = p.leaf;
        it->idx = p.pos;
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
        const zleaf *l = it->pos;
        const zelem *e = l->elem[it->idx];
        *m = ze_member(e);
        *mlen = ze_mlen(e);
        *score = l->score[it->idx];
        if (++it->idx == l->n) {
            it->pos = l->next;
            it->idx = 0;
        }
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
    const zelem *e = (const zelem *)dn;
    s->fn(s->priv, ze_member(e), ze_mlen(e), e->score);
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

#ifdef ZSET_TREE_CHECK
/* The unit tests' check of every invariant in the opening comment: 1, or 0 after
 * printing the first one broken. */
typedef struct tree_check_ctx {
    const zleaf *prev;
    const zelem *last;
    size_t entries, mem;
} tree_check_ctx;

#define TREE_CHECK(c)                                                                                                  \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "zset tree check failed: %s (line %d)\n", #c, __LINE__);                                   \
            return 0;                                                                                                  \
        }                                                                                                              \
    } while (0)

/* edge: the node is the first or the last of its level. */
static int check_subtree(const zset *z, const void *x, int depth, int ledge, int redge, tree_check_ctx *c, size_t *cnt,
                         double *fs, const zelem **fe) {
    c->mem += malloc_usable_size((void *)x);
    if (depth == z->height) {
        const zleaf *l = x;
        TREE_CHECK(l->n <= ZL_CAP && (depth == 0 || l->n >= ZL_MIN || ((ledge || redge) && l->n > 0)));
        TREE_CHECK(l->prev == c->prev && (!c->prev || c->prev->next == l));
        for (uint32_t i = 0; i < l->n; i++) {
            const zelem *e = l->elem[i];
            TREE_CHECK(l->score[i] == e->score);
            TREE_CHECK(dict_find((dict *)&z->members, ze_member(e), ze_mlen(e)) == &e->h);
            if (c->last) TREE_CHECK(key_cmp(c->last->score, c->last, e->score, ze_member(e), ze_mlen(e), e) < 0);
            c->last = e;
            c->mem += malloc_usable_size((void *)e);
        }
        c->prev = l;
        c->entries += l->n;
        *cnt = l->n;
        if (l->n) {
            *fs = l->score[0];
            *fe = l->elem[0];
        }
        return 1;
    }
    const zinner *in = x;
    TREE_CHECK(in->n <= ZI_CAP && in->n >= (depth == 0 || ledge || redge ? 2 : ZI_MIN));
    size_t total = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        size_t n = 0;
        double s = 0;
        const zelem *e = NULL;
        if (!check_subtree(z, in->child[i], depth + 1, ledge && i == 0, redge && i == in->n - 1, c, &n, &s, &e))
            return 0;
        TREE_CHECK(in->count[i] == n && n > 0);
        TREE_CHECK(in->score[i] == s && in->elem[i] == e);
        total += n;
    }
    *cnt = total;
    *fs = in->score[0];
    *fe = in->elem[0];
    return 1;
}

int zset_tree_check(const zset *z);
int zset_tree_check(const zset *z) {
    if (z->enc != ENC_SKIPLIST) return 1;
    tree_check_ctx c = {0};
    size_t n = 0;
    double s;
    const zelem *e;
    TREE_CHECK(z->height < ZT_MAXH);
    if (!check_subtree(z, z->root, 0, 1, 1, &c, &n, &s, &e)) return 0;
    TREE_CHECK(c.prev->next == NULL);
    TREE_CHECK(n == z->len && c.entries == z->len && dict_size(&z->members) == z->len);
    TREE_CHECK(c.mem == z->mem);
    return 1;
}
#endif

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
