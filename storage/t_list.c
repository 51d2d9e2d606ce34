/* t_list.c: Redis lists as an array of packed nodes (storage/t_list.h).
 *
 * Layout. A list is an array of node pointers (slots [start, start+n) of cap slots, so
 * pushing a node at either end is O(1) amortised; a one-node list keeps its node in the
 * list itself, with no array). A node is a header {count, bytes, cap} followed by its
 * entries back to back. An entry is self-delimiting forward only (no back-length byte,
 * which is where this is denser than Redis's listpack):
 *   00xxxxxx                 integer 0..63
 *   01nnnnnn + (6(n+1)+7)/8 bytes  n+1 characters of [0-9A-Za-z-_] (base64url's
 *                            alphabet: tokens, ids, words), six bits each
 *   10xxxxxx + len bytes     string of len < 64 bytes
 *   110xxxxx + 1 byte        13-bit signed integer
 *   1110xxxx + 2 bytes       20-bit signed integer
 *   11110xxx + 3 bytes       27-bit signed integer
 *   0xF8 + 4 bytes           32-bit signed integer (little endian)
 *   0xF9 + 8 bytes           64-bit signed integer
 *   0xFA + 2-byte len + data string of len < 65536
 *   0xFB + 4-byte len + data longer string
 *   0xFC + 1-byte len + data string: the node's prefix, then these len bytes
 *   0xFD/0xFE + 1-byte n + (n+1)/2 bytes  n lowercase/uppercase hex digits, two a byte
 *                            (ids, hashes, UUID parts: half their text)
 * A node that fills up gets a prefix once (seal): the longest its strings share, so
 * keys like "job:1234567" cost their last digits, not their whole text.
 * Integers are stored only for canonical decimal text (util_str2ll), so every element
 * reads back byte for byte.
 *
 * Costs. Head push/pop: a memmove of the head node (bounded by the node size). Tail
 * push: append. Tail pop needs the last entry's offset, which forward-only entries do
 * not give: the tail cache (tailc) holds the distance from the node's end of a suffix of
 * the tail node's entries. Distances from the end do not change when the node's head
 * changes, and a tail push/pop shifts them all by one length, kept as one offset (s). So
 * queues (LPUSH + RPOP) and stacks pay O(1) amortised; any other change to the tail node
 * drops the cache. Index access walks node counts from the nearer end, then the entries
 * of one node (half the bytes of Redis's default node).
 *
 * Invariants: no node is empty; count is the sum of node counts; mem is the bytes of
 * every block the list holds (list_check verifies). */
#include "storage/aof_rewrite.h"
#include "storage/rdb.h"
#include "storage/t_list.h"

#include <lzf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "storage/type.h"

int list_fill = -2;
int list_compress_depth = 0;

enum { Z_RAW = 0, Z_LZF = 1, Z_FAILED = 2 }; /* Z_FAILED: raw, did not shrink; retried once changed */

typedef struct lnode {
    uint32_t count, bytes, cap; /* entries; their bytes; room after the prefix (Z_LZF: the LZF bytes) */
    uint16_t gap;               /* free bytes before the first entry (head pushes take them) */
    uint8_t plen;               /* the node prefix: d[0..plen), then gap free bytes, then entries */
    uint8_t sealed : 1;         /* the prefix was chosen (once, when the node filled) */
    uint8_t z : 2;              /* Z_RAW, Z_LZF or Z_FAILED */
    unsigned char d[];
} lnode;
_Static_assert(sizeof(lnode) == 16, "a node header is 16 bytes");

#define GAP_MAX UINT16_MAX

#define E(nd) ((nd)->d + (nd)->plen + (nd)->gap) /* a node's first entry */

/* A decompressed copy of one compressed node, read by list_index until the list changes. */
typedef struct rcache {
    const lnode *src;
    lnode *nd;
    size_t size;
} rcache;

typedef struct tailc {
    uint32_t n, cap;
    int64_t s;
    int64_t d[]; /* distance from the node's end of cached entry k, minus s; top = last */
} tailc;

struct list {
    lnode **arr; /* cap slots, or NULL while the list has at most one node (in one) */
    lnode *one;
    size_t count;
    size_t mem;
    uint32_t start, n, cap;
    uint16_t depth; /* list-compress-depth when the list was made */
    uint8_t zdirty; /* nodes were added or removed since the compression was last fixed */
    tailc *tc;      /* valid cache of the tail node, or NULL */
    rcache *rc;     /* NULL unless list_index read a compressed node */
};

#define LIST_PREFIX_MAX 64 /* longest node prefix */
#define TC_MIN          32 /* tail nodes with fewer entries are walked instead */
#define Z_MIN_BYTES     48 /* smaller nodes are not compressed (Redis's MIN_COMPRESS_BYTES) */
#define Z_MIN_IMPROVE   8  /* compressed must be this much smaller (MIN_COMPRESS_IMPROVE) */
#define HEX_MIN         4  /* shorter hex strings are stored as strings */

static inline lnode **nodes(const list *l) { return l->arr ? l->arr + l->start : (lnode **)&l->one; }

/* The allocation of a full node, one allocator size class: half Redis's node size under
 * a size fill (4096 bytes for the default -2: respite's entries are denser), 8 KB under
 * a count fill (Redis's safety limit). */
static size_t node_alloc_max(void) {
    if (list_fill >= 0) return 8192;
    int f = list_fill < -5 ? 5 : -list_fill;
    return (4096u << (f - 1)) / 2;
}

/* Entry bytes node nd may hold: a full node less its header and prefix, rounded down to
 * the capacity step, so it fills its size class and wastes none of it. */
static uint32_t max_bytes(const lnode *nd) {
    return (uint32_t)((node_alloc_max() - sizeof(lnode) - nd->plen) & ~(size_t)63);
}

/* Can node nd take one more entry of size add? */
static int node_allows(const lnode *nd, size_t add) {
    if (list_fill > 0 && nd->count >= (uint32_t)list_fill) return 0;
    return nd->bytes + add <= max_bytes(nd);
}

/* ---------------------------------------------------------------- entries */

typedef struct enc {
    int isint;
    int hex; /* 1 or 2: stored as 0xFD/0xFE packed digits; 3: six bits a character */
    long long v;
    const char *p;
    size_t len;
    size_t size; /* encoded bytes */
} enc;

/* 1 if p is all lowercase hex digits, 2 if all uppercase, else 0 (decimal digits are
 * both: lowercase). */
static int hex_case(const char *p, size_t len) {
    int lower = 0, upper = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned c = (unsigned char)p[i];
        if (c - '0' < 10) continue;
        if (c - 'a' < 6) lower = 1;
        else if (c - 'A' < 6) upper = 1;
        else return 0;
    }
    if (lower && upper) return 0;
    return upper ? 2 : 1;
}

static inline unsigned hex_val(unsigned c) { return c - '0' < 10 ? c - '0' : (c | 0x20) - 'a' + 10; }

static const char B64[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/* The six-bit code of c, or -1 if it is not in B64. */
static inline int b64_val(unsigned c) {
    if (c - '0' < 10) return (int)(c - '0');
    if (c - 'A' < 26) return (int)(c - 'A' + 10);
    if (c - 'a' < 26) return (int)(c - 'a' + 36);
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

static int b64_all(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (b64_val((unsigned char)p[i]) < 0) return 0;
    return 1;
}

#define B64_SIZE(n) (1 + (6 * (n) + 7) / 8)

static void enc_prepare(enc *e, const char *p, size_t len) {
    e->p = p;
    e->len = len;
    e->hex = 0;
    e->isint = len <= 20 && util_str2ll(p, len, &e->v);
    if (e->isint) {
        long long v = e->v;
        if (v >= 0 && v < 64) e->size = 1;
        else if (v >= -4096 && v < 4096) e->size = 2;
        else if (v >= -(1 << 19) && v < (1 << 19)) e->size = 3;
        else if (v >= -(1 << 26) && v < (1 << 26)) e->size = 4;
        else if (v >= INT32_MIN && v <= INT32_MAX) e->size = 5;
        else e->size = 9;
    } else if (len >= HEX_MIN && len <= 255 && (e->hex = hex_case(p, len)) &&
               (len > 64 || 2 + (len + 1) / 2 <= B64_SIZE(len))) {
        e->size = 2 + (len + 1) / 2;
    } else if (len >= HEX_MIN && len <= 64 && b64_all(p, len)) {
        e->hex = 3;
        e->size = B64_SIZE(len);
    } else if (len < 64) {
        e->size = 1 + len;
    } else if (len < 65536) {
        e->size = 3 + len;
    } else {
        e->size = 5 + len;
    }
}

static void enc_write(unsigned char *o, const enc *e) {
    if (e->isint) {
        uint64_t u = (uint64_t)e->v;
        switch (e->size) {
            case 1: o[0] = (unsigned char)u; return;
            case 2:
                o[0] = (unsigned char)(0xC0 | ((u >> 8) & 0x1f));
                o[1] = (unsigned char)u;
                return;
            case 3:
                o[0] = (unsigned char)(0xE0 | ((u >> 16) & 0x0f));
                o[1] = (unsigned char)(u >> 8);
                o[2] = (unsigned char)u;
                return;
            case 4:
                o[0] = (unsigned char)(0xF0 | ((u >> 24) & 0x07));
                o[1] = (unsigned char)(u >> 16);
                o[2] = (unsigned char)(u >> 8);
                o[3] = (unsigned char)u;
                return;
            case 5:
                o[0] = 0xF8;
                for (int i = 0; i < 4; i++) o[1 + i] = (unsigned char)(u >> (8 * i));
                return;
            default:
                o[0] = 0xF9;
                for (int i = 0; i < 8; i++) o[1 + i] = (unsigned char)(u >> (8 * i));
                return;
        }
    }
    if (e->hex == 3) {
        o[0] = (unsigned char)(0x40 | (e->len - 1));
        uint32_t acc = 0;
        int bits = 0;
        unsigned char *w = o + 1;
        for (size_t i = 0; i < e->len; i++) {
            acc = acc << 6 | (uint32_t)b64_val((unsigned char)e->p[i]);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                *w++ = (unsigned char)(acc >> bits);
            }
        }
        if (bits) *w = (unsigned char)(acc << (8 - bits));
        return;
    }
    if (e->hex) {
        o[0] = (unsigned char)(0xFC + e->hex);
        o[1] = (unsigned char)e->len;
        const unsigned char *s = (const unsigned char *)e->p;
        size_t i = 0;
        for (; i + 1 < e->len; i += 2) o[2 + i / 2] = (unsigned char)(hex_val(s[i]) << 4 | hex_val(s[i + 1]));
        if (i < e->len) o[2 + i / 2] = (unsigned char)(hex_val(s[i]) << 4);
        return;
    }
    size_t h;
    if (e->len < 64) {
        o[0] = (unsigned char)(0x80 | e->len);
        h = 1;
    } else if (e->len < 65536) {
        o[0] = 0xFA;
        o[1] = (unsigned char)e->len;
        o[2] = (unsigned char)(e->len >> 8);
        h = 3;
    } else {
        o[0] = 0xFB;
        for (int i = 0; i < 4; i++) o[1 + i] = (unsigned char)(e->len >> (8 * i));
        h = 5;
    }
    if (e->len) memcpy(o + h, e->p, e->len);
}

static inline uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline size_t ent_size(const unsigned char *p) {
    unsigned b = p[0];
    if (b < 0x40) return 1;
    if (b < 0x80) return B64_SIZE((size_t)(b & 0x3f) + 1);
    if (b < 0xC0) return 1 + (b & 0x3f);
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    if (b < 0xF8) return 4;
    if (b == 0xF8) return 5;
    if (b == 0xF9) return 9;
    if (b == 0xFA) return 3 + ((size_t)p[1] | (size_t)p[2] << 8);
    if (b == 0xFC) return 2 + (size_t)p[1];
    if (b != 0xFB) return 2 + ((size_t)p[1] + 1) / 2;
    return 5 + (size_t)rd32(p + 1);
}

/* Entry p of node nd into v. */
static size_t ent_get(const lnode *nd, const unsigned char *p, list_val *v) {
    unsigned b = p[0];
    v->p = NULL;
    v->len = 0;
    v->pre = NULL;
    v->prelen = 0;
    v->hex = 0;
    if (b < 0x40) {
        v->v = b;
        return 1;
    }
    if (b < 0x80) {
        v->hex = 3;
        v->len = (size_t)(b & 0x3f) + 1;
        v->p = p + 1;
        return B64_SIZE(v->len);
    }
    if (b < 0xC0) {
        v->p = p + 1;
        v->len = b & 0x3f;
        return 1 + v->len;
    }
    if (b < 0xE0) {
        long long r = (long long)((b & 0x1f) << 8 | p[1]);
        v->v = r >= 4096 ? r - 8192 : r;
        return 2;
    }
    if (b < 0xF0) {
        long long r = (long long)((b & 0x0f) << 16 | (unsigned)p[1] << 8 | p[2]);
        v->v = r >= (1 << 19) ? r - (1 << 20) : r;
        return 3;
    }
    if (b < 0xF8) {
        long long r = (long long)((b & 0x07) << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3]);
        v->v = r >= (1 << 26) ? r - (1 << 27) : r;
        return 4;
    }
    if (b == 0xF8) {
        v->v = (int32_t)rd32(p + 1);
        return 5;
    }
    if (b == 0xF9) {
        uint64_t u = (uint64_t)rd32(p + 1) | (uint64_t)rd32(p + 5) << 32;
        v->v = (long long)u;
        return 9;
    }
    if (b == 0xFA) {
        v->len = (size_t)p[1] | (size_t)p[2] << 8;
        v->p = p + 3;
        return 3 + v->len;
    }
    if (b == 0xFC) {
        v->pre = nd->d;
        v->prelen = nd->plen;
        v->len = p[1];
        v->p = p + 2;
        return 2 + v->len;
    }
    if (b != 0xFB) {
        v->hex = (int)(b - 0xFC);
        v->len = p[1];
        v->p = p + 2;
        return 2 + (v->len + 1) / 2;
    }
    v->len = rd32(p + 1);
    v->p = p + 5;
    return 5 + v->len;
}

/* The characters of a packed element (hex or six-bit) into out (v->len bytes). */
static void hex_decode(const list_val *v, char *out) {
    if (v->hex == 3) {
        uint32_t acc = 0;
        int bits = 0;
        const unsigned char *r = v->p;
        for (size_t i = 0; i < v->len; i++) {
            if (bits < 6) {
                acc = acc << 8 | *r++;
                bits += 8;
            }
            bits -= 6;
            out[i] = B64[(acc >> bits) & 63];
        }
        return;
    }
    const char *digits = v->hex == 2 ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < v->len; i++) out[i] = digits[(v->p[i / 2] >> (i & 1 ? 0 : 4)) & 15];
}

int list_val_eq(const list_val *v, const char *p, size_t len) {
    if (v->hex) {
        char tmp[256];
        if (v->len != len) return 0;
        hex_decode(v, tmp);
        return !memcmp(tmp, p, len);
    }
    if (v->prelen)
        return v->prelen + v->len == len && !memcmp(v->pre, p, v->prelen) &&
               (v->len == 0 || !memcmp(v->p, p + v->prelen, v->len));
    if (v->p) return v->len == len && (len == 0 || !memcmp(v->p, p, len));
    char tmp[UTIL_LLSTR_SIZE];
    int n = util_ll2str(tmp, v->v);
    return (size_t)n == len && !memcmp(tmp, p, len);
}

const char *list_val_str(const list_val *v, char *tmp, size_t *len) {
    if (v->hex) {
        hex_decode(v, tmp);
        *len = v->len;
        return tmp;
    }
    if (v->prelen) {
        memcpy(tmp, v->pre, v->prelen);
        memcpy(tmp + v->prelen, v->p, v->len);
        *len = v->prelen + v->len;
        return tmp;
    }
    if (v->p) {
        *len = v->len;
        return (const char *)v->p;
    }
    *len = (size_t)util_ll2str(tmp, v->v);
    return tmp;
}

/* Byte offset of entry e of nd (walking from the start). */
static uint32_t node_offset(const lnode *nd, uint32_t e) {
    const unsigned char *p = E(nd);
    while (e--) p += ent_size(p);
    return (uint32_t)(p - E(nd));
}

/* ---------------------------------------------------------------- nodes */

static size_t node_mem(const lnode *nd) { return sizeof(lnode) + nd->plen + nd->cap; }

static uint32_t round_cap(size_t need) {
    size_t q = need < 512 ? 16 : 64;
    return (uint32_t)((need + q - 1) / q * q);
}

/* The allocator size class a block of n bytes takes (jemalloc's: 16-byte steps to 128,
 * then four classes per doubling). */
static size_t size_class(size_t n) {
    if (n <= 128) return (n + 15) & ~(size_t)15;
    size_t b = 128;
    while (b * 2 < n) b *= 2;
    size_t step = b / 4;
    return (n + step - 1) / step * step;
}

static lnode *node_new(list *l, size_t need) {
    uint32_t cap = round_cap(need);
    lnode *nd = xmalloc(sizeof(lnode) + cap);
    nd->count = nd->bytes = 0;
    nd->cap = cap;
    nd->plen = 0;
    nd->sealed = 0;
    nd->z = Z_RAW;
    nd->gap = 0;
    l->mem += node_mem(nd);
    return nd;
}

/* A new empty node with the prefix (and sealed state) of like. */
static lnode *node_new_like(list *l, const lnode *like, size_t need) {
    uint32_t cap = round_cap(need);
    lnode *nd = xmalloc(sizeof(lnode) + like->plen + cap);
    nd->count = nd->bytes = 0;
    nd->cap = cap;
    nd->plen = like->plen;
    nd->sealed = like->sealed;
    nd->z = Z_RAW;
    nd->gap = 0;
    memcpy(nd->d, like->d, like->plen);
    l->mem += node_mem(nd);
    return nd;
}

static void node_free(list *l, lnode *nd) {
    l->mem -= node_mem(nd);
    free(nd);
}

/* Move node slot pos's entries so that gap free bytes precede them. */
static void node_slide(lnode *nd, uint32_t gap) {
    if (gap == nd->gap) return;
    memmove(nd->d + nd->plen + gap, E(nd), nd->bytes);
    nd->gap = (uint16_t)gap;
}

static lnode *node_resize(list *l, uint32_t pos, uint32_t cap) {
    lnode *nd = nodes(l)[pos];
    l->mem -= node_mem(nd);
    nd->cap = cap;
    nd = xrealloc(nd, sizeof(lnode) + nd->plen + cap);
    l->mem += node_mem(nd);
    nodes(l)[pos] = nd;
    return nd;
}

/* Make room for add more bytes after the first entry of node slot pos; returns the
 * (moved) node. */
static lnode *node_reserve(list *l, uint32_t pos, size_t add) {
    lnode *nd = nodes(l)[pos];
    if (nd->gap + nd->bytes + add <= nd->cap) return nd;
    if (nd->bytes + add <= nd->cap) { /* the head node of a one-node list keeps room at both ends */
        uint32_t g = l->n == 1 ? (uint32_t)(nd->cap - nd->bytes - add) / 2 : 0;
        node_slide(nd, g > GAP_MAX ? GAP_MAX : g);
        return nd;
    }
    node_slide(nd, 0);
    return node_resize(l, pos, round_cap(nd->bytes + add));
}

/* Make room for add bytes in front of the head node's first entry (bytes + add + 64 <=
 * GAP_MAX). Growth goes a size class (a quarter of the node or more) at a time, the free
 * bytes in front, so head pushes move the node's bytes O(1) times per byte pushed. */
static lnode *node_reserve_front(list *l, size_t add) {
    lnode *nd = nodes(l)[0];
    if (nd->gap >= add) return nd;
    size_t need = nd->bytes + add, hdr = sizeof(lnode) + nd->plen;
    size_t want = size_class(hdr + need + (need >= 256 ? need / 4 : 0)) - hdr;
    size_t lim = node_alloc_max() > hdr ? node_alloc_max() - hdr : 0;
    if (want > lim) want = lim >= need ? lim : round_cap(need);
    if (want > nd->cap) {
        l->mem -= node_mem(nd);
        nd = xrealloc(nd, hdr + want);
        nd->cap = (uint32_t)want;
        l->mem += node_mem(nd);
        nodes(l)[0] = nd;
    }
    uint32_t free_bytes = nd->cap - nd->bytes;
    uint32_t g = l->n == 1 ? (uint32_t)add + (free_bytes - (uint32_t)add) / 2 : free_bytes;
    node_slide(nd, g > GAP_MAX ? GAP_MAX : g);
    return nd;
}

/* Give back slack after a removal (the head node keeps up to half its room for pushes). */
static void node_shrink(list *l, uint32_t pos) {
    lnode *nd = nodes(l)[pos];
    uint32_t want = round_cap(nd->bytes);
    if (nd->cap - want < 128 || nd->cap - want < nd->cap / (pos == 0 ? 2 : 4)) return;
    node_slide(nd, 0);
    node_resize(l, pos, want);
}

/* Insert entry e at byte offset off of node slot pos (raw). */
static void node_put(list *l, uint32_t pos, uint32_t off, const enc *e) {
    lnode *nd = nodes(l)[pos];
    uint32_t size = (uint32_t)e->size;
    if (nd->gap >= size && off <= nd->bytes / 2) {
        nd->gap = (uint16_t)(nd->gap - size);
        memmove(E(nd), E(nd) + size, off);
    } else if (off == 0 && pos == 0 && nd->bytes + size + 64 <= GAP_MAX) {
        nd = node_reserve_front(l, size);
        nd->gap = (uint16_t)(nd->gap - size);
    } else {
        nd = node_reserve(l, pos, size);
        memmove(E(nd) + off + size, E(nd) + off, nd->bytes - off);
    }
    enc_write(E(nd) + off, e);
    nd->bytes += size;
    nd->count++;
    nd->z = Z_RAW;
    l->count++;
}

/* Remove cnt entries spanning len bytes at off of node slot pos (raw; not all of them). */
static void node_cut(list *l, uint32_t pos, uint32_t off, uint32_t len, uint32_t cnt) {
    lnode *nd = nodes(l)[pos];
    if (off <= nd->bytes - off - len && nd->gap + len <= GAP_MAX) {
        memmove(E(nd) + len, E(nd), off);
        nd->gap = (uint16_t)(nd->gap + len);
    } else {
        memmove(E(nd) + off, E(nd) + off + len, nd->bytes - off - len);
    }
    nd->bytes -= len;
    nd->count -= cnt;
    nd->z = Z_RAW;
    l->count -= cnt;
    node_shrink(l, pos);
}

/* ---------------------------------------------------------------- compression */

/* Try to compress node slot pos (an interior node): as Redis, nodes under Z_MIN_BYTES
 * and nodes that do not shrink by Z_MIN_IMPROVE stay raw (marked, until changed). */
static void node_compress(list *l, uint32_t pos) {
    static unsigned char *buf;
    static size_t bufcap;
    lnode *nd = nodes(l)[pos];
    if (nd->z != Z_RAW) return;
    if (nd->bytes < Z_MIN_BYTES) {
        nd->z = Z_FAILED;
        return;
    }
    if (bufcap < nd->bytes) {
        bufcap = nd->bytes;
        free(buf);
        buf = xmalloc(bufcap);
    }
    unsigned zl = lzf_compress(E(nd), nd->bytes, buf, nd->bytes - Z_MIN_IMPROVE - 1);
    if (!zl) {
        nd->z = Z_FAILED;
        return;
    }
    lnode *c = xmalloc(sizeof(lnode) + nd->plen + zl);
    *c = *nd;
    c->z = Z_LZF;
    c->gap = 0;
    c->cap = zl;
    memcpy(c->d, nd->d, nd->plen);
    memcpy(c->d + c->plen, buf, zl);
    l->mem += node_mem(c);
    node_free(l, nd);
    nodes(l)[pos] = c;
}

/* Decompress nd (Z_LZF) into out, which has room for its prefix and entries. */
static void node_inflate(const lnode *nd, lnode *out, uint32_t cap) {
    *out = *nd;
    out->z = Z_RAW;
    out->gap = 0;
    out->cap = cap;
    memcpy(out->d, nd->d, nd->plen);
    if (lzf_decompress(nd->d + nd->plen, nd->cap, out->d + out->plen, nd->bytes) != nd->bytes) {
        fprintf(stderr, "respite: corrupt compressed list node\n");
        abort();
    }
}

/* Node slot pos made raw for a change; returns it. */
static lnode *node_use(list *l, uint32_t pos) {
    lnode *nd = nodes(l)[pos];
    if (nd->z != Z_LZF) return nd;
    uint32_t cap = round_cap(nd->bytes);
    lnode *r = xmalloc(sizeof(lnode) + nd->plen + cap);
    node_inflate(nd, r, cap);
    l->mem += node_mem(r);
    node_free(l, nd);
    nodes(l)[pos] = r;
    return r;
}

/* After a change: the depth nodes at each end are raw (once nodes came or went), and
 * raw interior nodes at slots lo..hi (the change's) and at the depth boundaries are
 * compressed. */
static void zfix(list *l, size_t lo, size_t hi) {
    uint32_t d = l->depth, n = l->n;
    if (!d) {
        l->zdirty = 0;
        return;
    }
    if (l->zdirty) {
        l->zdirty = 0;
        for (uint32_t p = 0; p < d && p < n; p++) node_use(l, p);
        for (uint32_t p = n > d ? n - d : 0; p < n; p++) node_use(l, p);
        if (n > 2 * (size_t)d) {
            node_compress(l, d);
            node_compress(l, n - 1 - d);
        }
    }
    if (n <= 2 * (size_t)d) return;
    if (lo < d) lo = d;
    if (hi > n - 1 - d) hi = n - 1 - d;
    for (size_t p = lo; p <= hi; p++) node_compress(l, (uint32_t)p);
}

/* Node slot pos readable: the node, or the list's decompressed copy of it. */
static const lnode *node_read(const list *cl, uint32_t pos) {
    const lnode *nd = nodes(cl)[pos];
    if (nd->z != Z_LZF) return nd;
    list *l = (list *)cl; /* the copy is a cache, not a change */
    if (!l->rc) l->rc = xcalloc(1, sizeof(rcache));
    rcache *rc = l->rc;
    if (rc->src == nd) return rc->nd;
    size_t need = sizeof(lnode) + nd->plen + nd->bytes;
    if (rc->size < need) {
        free(rc->nd);
        rc->nd = xmalloc(need);
        rc->size = need;
    }
    node_inflate(nd, rc->nd, nd->bytes);
    rc->src = nd;
    return rc->nd;
}

static void rc_drop(list *l) {
    if (!l->rc) return;
    free(l->rc->nd);
    free(l->rc);
    l->rc = NULL;
}

/* ---------------------------------------------------------------- the node array */

static void arr_make_room(list *l, int front) {
    if (!l->arr) {
        l->cap = 4;
        l->arr = xmalloc(sizeof(lnode *) * l->cap);
        l->mem += sizeof(lnode *) * l->cap;
        l->start = 1;
        if (l->n) l->arr[1] = l->one;
        l->one = NULL;
        return;
    }
    if (front ? l->start > 0 : l->start + l->n < l->cap) return;
    if ((l->n + 1) * 2 > l->cap) {
        uint32_t ncap = l->cap * 2;
        lnode **a = xmalloc(sizeof(lnode *) * ncap);
        uint32_t st = (ncap - l->n) / 2;
        memcpy(a + st, l->arr + l->start, sizeof(lnode *) * l->n);
        free(l->arr);
        l->mem += sizeof(lnode *) * (ncap - l->cap);
        l->arr = a;
        l->cap = ncap;
        l->start = st;
        return;
    }
    uint32_t st = (l->cap - l->n) / 2;
    memmove(l->arr + st, l->arr + l->start, sizeof(lnode *) * l->n);
    l->start = st;
}

/* Insert nd at slot pos (0..n). */
static void arr_insert(list *l, uint32_t pos, lnode *nd) {
    l->zdirty = 1;
    if (l->n == 0 && !l->arr) {
        l->one = nd;
        l->n = 1;
        return;
    }
    if (pos == 0) {
        arr_make_room(l, 1);
        l->start--;
        l->arr[l->start] = nd;
    } else {
        arr_make_room(l, 0);
        lnode **a = l->arr + l->start;
        memmove(a + pos + 1, a + pos, sizeof(lnode *) * (l->n - pos));
        a[pos] = nd;
    }
    l->n++;
}

/* Free the node at slot pos and close the gap. */
static void arr_remove(list *l, uint32_t pos) {
    l->zdirty = 1;
    node_free(l, nodes(l)[pos]);
    if (!l->arr) {
        l->one = NULL;
        l->n = 0;
        return;
    }
    lnode **a = l->arr + l->start;
    if (pos == 0) {
        l->start++;
    } else {
        memmove(a + pos, a + pos + 1, sizeof(lnode *) * (l->n - pos - 1));
    }
    l->n--;
    if (l->n == 0) l->start = l->cap / 2;
}

/* ---------------------------------------------------------------- tail cache */

static void tc_drop(list *l) {
    if (!l->tc) return;
    l->mem -= sizeof(tailc) + sizeof(int64_t) * l->tc->cap;
    free(l->tc);
    l->tc = NULL;
}

/* The tail cache, built if the tail node is big enough; NULL otherwise. */
static tailc *tc_get(list *l) {
    if (l->tc && l->tc->n) return l->tc;
    lnode *nd = nodes(l)[l->n - 1];
    if (nd->count < TC_MIN) {
        tc_drop(l);
        return NULL;
    }
    if (!l->tc || l->tc->cap < nd->count) {
        tc_drop(l);
        uint32_t cap = nd->count * 2;
        l->tc = xmalloc(sizeof(tailc) + sizeof(int64_t) * cap);
        l->tc->cap = cap;
        l->mem += sizeof(tailc) + sizeof(int64_t) * cap;
    }
    tailc *t = l->tc;
    t->s = 0;
    t->n = nd->count;
    const unsigned char *p = E(nd);
    for (uint32_t k = 0; k < nd->count; k++) {
        t->d[k] = (int64_t)nd->bytes - (p - E(nd));
        p += ent_size(p);
    }
    return t;
}

/* Offset of the tail node's last entry. */
static uint32_t tail_last_off(list *l) {
    lnode *nd = nodes(l)[l->n - 1];
    tailc *t = tc_get(l);
    if (t) return nd->bytes - (uint32_t)(t->d[t->n - 1] + t->s);
    return node_offset(nd, nd->count - 1);
}

/* ---------------------------------------------------------------- node prefixes */

/* Choose the prefix of node slot pos when it first fills: the longest prefix its string
 * entries share, if at least 2 bytes (up to LIST_PREFIX_MAX); string entries whose rest
 * is under 256 bytes become 0xFC entries holding only that rest. Each rewritten entry
 * is shorter than it was, so the node only shrinks. Done once per node: O(1) amortised
 * per push. Entries added later are stored whole; they are valid either way. */
static void seal(list *l, uint32_t pos) {
    lnode *nd = nodes(l)[pos];
    nd->sealed = 1;
    if (nd->plen) return;
    const unsigned char *end = E(nd) + nd->bytes, *first = NULL;
    size_t lcp = 0, strings = 0, nbytes = 0;
    list_val v;
    for (const unsigned char *p = E(nd); p < end;) {
        p += ent_get(nd, p, &v);
        if (!v.p || v.hex) continue;
        strings++;
        if (!first) {
            first = v.p;
            lcp = v.len < LIST_PREFIX_MAX ? v.len : LIST_PREFIX_MAX;
            continue;
        }
        size_t k = 0;
        while (k < lcp && k < v.len && v.p[k] == first[k]) k++;
        lcp = k;
        if (lcp < 2) return;
    }
    if (lcp < 2 || strings < 2) return;
    for (const unsigned char *p = E(nd); p < end;) {
        size_t sz = ent_get(nd, p, &v);
        p += sz;
        nbytes += v.p && !v.hex && v.len - lcp < 256 ? 2 + v.len - lcp : sz;
    }
    uint32_t cap = round_cap(nbytes);
    lnode *n2 = xmalloc(sizeof(lnode) + lcp + cap);
    n2->count = nd->count;
    n2->bytes = (uint32_t)nbytes;
    n2->cap = cap;
    n2->plen = (uint8_t)lcp;
    n2->sealed = 1;
    n2->z = Z_RAW;
    n2->gap = 0;
    memcpy(n2->d, first, lcp);
    unsigned char *o = E(n2);
    for (const unsigned char *p = E(nd); p < end;) {
        const unsigned char *q = p;
        size_t sz = ent_get(nd, p, &v);
        p += sz;
        if (v.p && !v.hex && v.len - lcp < 256) {
            *o++ = 0xFC;
            *o++ = (unsigned char)(v.len - lcp);
            memcpy(o, v.p + lcp, v.len - lcp);
            o += v.len - lcp;
        } else {
            memcpy(o, q, sz);
            o += sz;
        }
    }
    l->mem -= node_mem(nd);
    l->mem += node_mem(n2);
    free(nd);
    nodes(l)[pos] = n2;
    if (pos == l->n - 1) tc_drop(l);
}

/* ---------------------------------------------------------------- the list */

list *list_new(void) {
    list *l = xcalloc(1, sizeof(*l));
    l->mem = sizeof(*l);
    l->depth = list_compress_depth < 0            ? 0
               : list_compress_depth > UINT16_MAX ? UINT16_MAX
                                                  : (uint16_t)list_compress_depth;
    return l;
}

void list_free(list *l) {
    if (!l) return;
    lnode **a = nodes(l);
    for (uint32_t i = 0; i < l->n; i++) free(a[i]);
    free(l->arr);
    free(l->tc);
    rc_drop(l);
    free(l);
}

list *list_dup(const list *l) {
    list *c = list_new();
    c->depth = l->depth;
    const lnode **a = (const lnode **)nodes(l);
    for (uint32_t i = 0; i < l->n; i++) {
        if (a[i]->z == Z_LZF) {
            lnode *nd = xmalloc(node_mem(a[i]));
            memcpy(nd, a[i], node_mem(a[i]));
            c->mem += node_mem(nd);
            arr_insert(c, i, nd);
            continue;
        }
        lnode *nd = node_new_like(c, a[i], a[i]->bytes);
        memcpy(E(nd), E(a[i]), a[i]->bytes);
        nd->bytes = a[i]->bytes;
        nd->count = a[i]->count;
        nd->z = a[i]->z; /* a node that did not shrink is not tried again */
        arr_insert(c, i, nd);
    }
    c->count = l->count;
    c->zdirty = 0;
    return c;
}

size_t list_len(const list *l) { return l->count; }
size_t list_memory(const list *l) { return l->mem; }
size_t list_nodes(const list *l) { return l->n; }

size_t list_compressed_nodes(const list *l) {
    size_t z = 0;
    for (uint32_t i = 0; i < l->n; i++) z += nodes(l)[i]->z == Z_LZF;
    return z;
}

static void push(list *l, int where, const char *p, size_t len) {
    enc e;
    enc_prepare(&e, p, len);
    if (where == LIST_HEAD) {
        if (l->n && !nodes(l)[0]->sealed && !node_allows(nodes(l)[0], e.size)) seal(l, 0);
        if (l->n && node_allows(nodes(l)[0], e.size)) {
            node_put(l, 0, 0, &e);
            return;
        }
        arr_insert(l, 0, node_new(l, e.size));
        node_put(l, 0, 0, &e);
        return;
    }
    if (l->n && !nodes(l)[l->n - 1]->sealed && !node_allows(nodes(l)[l->n - 1], e.size)) seal(l, l->n - 1);
    if (l->n && node_allows(nodes(l)[l->n - 1], e.size)) {
        uint32_t pos = l->n - 1;
        node_put(l, pos, nodes(l)[pos]->bytes, &e);
        tailc *t = l->tc;
        if (t) {
            if (t->n == t->cap) {
                tc_drop(l);
            } else {
                t->s += (int64_t)e.size;
                t->d[t->n++] = (int64_t)e.size - t->s;
            }
        }
        return;
    }
    tc_drop(l);
    arr_insert(l, l->n, node_new(l, e.size));
    node_put(l, l->n - 1, 0, &e);
}

void list_push(list *l, int where, const char *p, size_t len) {
    if (l->rc) rc_drop(l);
    push(l, where, p, len);
    if (l->zdirty) zfix(l, 1, 0);
}

/* Node slot and entry within it of index i (from the nearer end). */
static uint32_t locate(const list *l, size_t i, uint32_t *ent) {
    lnode *const *a = nodes(l);
    if (i < l->count / 2) {
        uint32_t pos = 0;
        while (i >= a[pos]->count) i -= a[pos++]->count;
        *ent = (uint32_t)i;
        return pos;
    }
    size_t back = l->count - 1 - i; /* entries after i */
    uint32_t pos = l->n - 1;
    while (back >= a[pos]->count) back -= a[pos--]->count;
    *ent = a[pos]->count - 1 - (uint32_t)back;
    return pos;
}

void list_index(const list *l, size_t i, list_val *out) {
    if (i == l->count - 1) {
        lnode *nd = nodes(l)[l->n - 1];
        ent_get(nd, E(nd) + tail_last_off((list *)l), out);
        return;
    }
    uint32_t ent, pos = locate(l, i, &ent);
    const lnode *nd = node_read(l, pos);
    ent_get(nd, E(nd) + node_offset(nd, ent), out);
}

/* Remove one entry from the tail node's end. */
static void pop_tail(list *l) {
    uint32_t pos = l->n - 1;
    lnode *nd = nodes(l)[pos];
    if (nd->count == 1) {
        tc_drop(l);
        arr_remove(l, pos);
        l->count--;
        return;
    }
    uint32_t off = tail_last_off(l);
    uint32_t len = nd->bytes - off;
    tailc *t = l->tc;
    if (t) {
        t->n--;
        t->s -= len;
    }
    node_cut(l, pos, off, len, 1);
}

static void pop_head(list *l) {
    lnode *nd = nodes(l)[0];
    if (nd->count == 1) {
        if (l->n == 1) tc_drop(l);
        arr_remove(l, 0);
        l->count--;
        return;
    }
    if (l->n == 1 && l->tc && l->tc->n >= nd->count) tc_drop(l); /* its first entry goes */
    node_cut(l, 0, 0, (uint32_t)ent_size(E(nd)), 1);
}

void list_delete_range(list *l, size_t i, size_t count) {
    if (l->rc) rc_drop(l);
    if (count == 1 && (i == 0 || i == l->count - 1)) {
        if (i == 0) pop_head(l);
        else pop_tail(l);
        if (l->zdirty) zfix(l, 1, 0);
        return;
    }
    if (!count) return;
    tc_drop(l);
    uint32_t ent, pos = locate(l, i, &ent), first = pos;
    while (count) {
        lnode *nd = nodes(l)[pos];
        if (ent == 0 && count >= nd->count) {
            count -= nd->count;
            l->count -= nd->count;
            arr_remove(l, pos);
            continue;
        }
        nd = node_use(l, pos);
        uint32_t off = node_offset(nd, ent), end = off, k = 0;
        while (k < count && ent + k < nd->count) {
            end += (uint32_t)ent_size(E(nd) + end);
            k++;
        }
        node_cut(l, pos, off, end - off, k);
        count -= k;
        pos++;
        ent = 0;
    }
    zfix(l, first ? first - 1 : 0, (size_t)first + 1);
}

/* Split node slot pos at entry ent: entries ent.. move to a new node at pos+1. */
static void split(list *l, uint32_t pos, uint32_t ent) {
    lnode *nd = node_use(l, pos);
    uint32_t off = node_offset(nd, ent);
    lnode *b = node_new_like(l, nd, nd->bytes - off);
    memcpy(E(b), E(nd) + off, nd->bytes - off);
    b->bytes = nd->bytes - off;
    b->count = nd->count - ent;
    nd->bytes = off;
    nd->count = ent;
    arr_insert(l, pos + 1, b);
    node_shrink(l, pos);
}

void list_insert_at(list *l, size_t i, const char *p, size_t len) {
    if (i == 0) {
        list_push(l, LIST_HEAD, p, len);
        return;
    }
    if (i == l->count) {
        list_push(l, LIST_TAIL, p, len);
        return;
    }
    if (l->rc) rc_drop(l);
    tc_drop(l);
    enc e;
    enc_prepare(&e, p, len);
    uint32_t ent, pos = locate(l, i, &ent);
    lnode *nd = nodes(l)[pos];
    if (node_allows(nd, e.size)) {
        nd = node_use(l, pos);
        node_put(l, pos, node_offset(nd, ent), &e);
    } else if (ent == 0 && node_allows(nodes(l)[pos - 1], e.size)) { /* pos > 0: i > 0 */
        pos--;
        nd = node_use(l, pos);
        node_put(l, pos, nd->bytes, &e);
    } else {
        if (ent) split(l, pos, ent);
        else pos--; /* insert between pos-1 and pos */
        /* now between slots pos and pos+1 */
        if (node_allows(nodes(l)[pos], e.size)) {
            node_use(l, pos);
            node_put(l, pos, nodes(l)[pos]->bytes, &e);
        } else if (node_allows(nodes(l)[pos + 1], e.size)) {
            node_use(l, pos + 1);
            node_put(l, pos + 1, 0, &e);
        } else {
            arr_insert(l, pos + 1, node_new(l, e.size));
            node_put(l, pos + 1, 0, &e);
        }
    }
    zfix(l, pos ? pos - 1 : 0, (size_t)pos + 3);
}

void list_set(list *l, size_t i, const char *p, size_t len) {
    if (l->rc) rc_drop(l);
    tc_drop(l);
    enc e;
    enc_prepare(&e, p, len);
    uint32_t ent, pos = locate(l, i, &ent);
    lnode *nd = node_use(l, pos);
    uint32_t off = node_offset(nd, ent);
    uint32_t old = (uint32_t)ent_size(E(nd) + off);
    if (e.size <= old || nd->bytes - old + e.size <= max_bytes(nd)) {
        if (e.size > old) nd = node_reserve(l, pos, e.size - old);
        memmove(E(nd) + off + e.size, E(nd) + off + old, nd->bytes - off - old);
        enc_write(E(nd) + off, &e);
        nd->bytes = nd->bytes - old + (uint32_t)e.size;
        nd->z = Z_RAW;
        if (e.size < old) node_shrink(l, pos);
        zfix(l, pos, pos);
        return;
    }
    list_delete_range(l, i, 1);
    list_insert_at(l, i, p, len);
}

/* ---------------------------------------------------------------- iteration */

/* Point the iterator at node slot it->node, decompressing a compressed one into its
 * own copy. */
static const lnode *iter_load(list_iter *it) {
    const lnode *nd = nodes(it->l)[it->node];
    if (nd->z == Z_LZF) {
        size_t need = sizeof(lnode) + nd->plen + nd->bytes;
        if (it->dec_cap < need) {
            free(it->dec);
            it->dec = xmalloc(need);
            it->dec_cap = need;
        }
        node_inflate(nd, it->dec, nd->bytes);
        nd = it->dec;
    }
    it->cur = nd;
    return nd;
}

static void iter_enter(list_iter *it) {
    const lnode *nd = iter_load(it);
    if (it->offs_cap < nd->count) {
        free(it->offs);
        it->offs_cap = nd->count;
        it->offs = xmalloc(sizeof(uint32_t) * it->offs_cap);
    }
    const unsigned char *p = E(nd);
    for (uint32_t k = 0; k < nd->count; k++) {
        it->offs[k] = (uint32_t)(p - E(nd));
        p += ent_size(p);
    }
}

void list_iter_init(list_iter *it, const list *l, size_t i, int dir) {
    memset(it, 0, sizeof(*it));
    it->l = l;
    it->dir = dir;
    if (i >= l->count) return;
    it->left = dir == LIST_TAIL ? l->count - i : i + 1;
    it->node = locate(l, i, &it->ent);
    if (dir == LIST_TAIL) it->off = node_offset(iter_load(it), it->ent);
    else iter_enter(it);
}

int list_iter_next(list_iter *it, list_val *out) {
    if (!it->left) return 0;
    it->left--;
    if (it->pending) {
        it->pending = 0;
        if (it->dir == LIST_TAIL) iter_load(it);
        else iter_enter(it);
    }
    const lnode *nd = it->cur;
    if (it->dir == LIST_TAIL) {
        it->off += (uint32_t)ent_get(nd, E(nd) + it->off, out);
        if (++it->ent == nd->count && it->left) {
            it->node++;
            it->ent = 0;
            it->off = 0;
            it->pending = 1; /* out may point into a copy: load the next node on the next call */
        }
        return 1;
    }
    ent_get(nd, E(nd) + it->offs[it->ent], out);
    if (it->ent == 0) {
        if (it->left) {
            it->node--;
            it->ent = nodes(it->l)[it->node]->count - 1;
            it->pending = 1;
        }
    } else {
        it->ent--;
    }
    return 1;
}

void list_iter_release(list_iter *it) {
    free(it->offs);
    it->offs = NULL;
    it->offs_cap = 0;
    free(it->dec);
    it->dec = NULL;
    it->dec_cap = 0;
}

int list_check(const list *l) {
    size_t count = 0, mem = sizeof(*l);
    lnode *const *a = nodes(l);
    if (!l->arr && l->n > 1) return 0;
    for (uint32_t i = 0; i < l->n; i++) {
        const lnode *nd = a[i];
        lnode *raw = NULL;
        if (!nd->count) return 0;
        if (nd->count > 1 && node_mem(nd) > node_alloc_max()) return 0; /* a full node is one size class */
        if (nd->z == Z_LZF) {
            if (i < l->depth || i + l->depth >= l->n || nd->gap) return 0; /* the ends stay raw */
            raw = xmalloc(sizeof(lnode) + nd->plen + nd->bytes);
            node_inflate(nd, raw, nd->bytes);
        } else if (nd->gap + nd->bytes > nd->cap) {
            return 0;
        }
        const lnode *r = raw ? raw : nd;
        const unsigned char *p = E(r);
        for (uint32_t k = 0; k < r->count; k++) p += ent_size(p);
        int ok = (uint32_t)(p - E(r)) == nd->bytes;
        free(raw);
        if (!ok) return 0;
        count += nd->count;
        mem += node_mem(nd);
    }
    if (l->arr) mem += sizeof(lnode *) * l->cap;
    if (l->tc) {
        mem += sizeof(tailc) + sizeof(int64_t) * l->tc->cap;
        const lnode *nd = a[l->n - 1];
        if (l->tc->n > nd->count) return 0;
        const unsigned char *p = E(nd);
        for (uint32_t k = 0; k < nd->count; k++) {
            uint32_t back = nd->count - 1 - k; /* entries after k */
            if (back < l->tc->n && l->tc->d[l->tc->n - 1 - back] + l->tc->s != (int64_t)nd->bytes - (p - E(nd)))
                return 0;
            p += ent_size(p);
        }
    }
    return count == l->count && mem == l->mem;
}

/* ---------------------------------------------------------------- the descriptor */

/* Redis 7.0 reports every list as a quicklist (7.2 added "listpack" for small ones). */
static const char *list_encoding(const rkey *k) {
    (void)k;
    return "quicklist";
}

static void list_value_free(void *v) { list_free(v); }
/* Lazy freeing: a node is one allocation (Redis counts a quicklist's nodes too). */
static size_t list_free_effort(const void *v) { return ((const list *)v)->n; }

/* Free up to units nodes from the tail of a detached list; 1 once it is all gone. */
static int list_free_step(void *v, size_t units) {
    list *l = v;
    for (; units && l->n; units--) free(nodes(l)[--l->n]);
    if (l->n) return 0;
    list_free(l);
    return 1;
}
static size_t list_value_memory(const void *v) { return list_memory(v); }
static void *list_value_dup(const void *v) { return list_dup(v); }

/* SORT's view of a list: its length, its elements head to tail, and a new list built
 * from sorted elements (SORT ... STORE). */
static size_t list_value_length(const void *v) { return list_len(v); }

static void list_value_elements(const void *v, void (*fn)(void *priv, const char *e, size_t len), void *priv) {
    list_iter it;
    list_val val;
    char tmp[LIST_VAL_TMP];
    list_iter_init(&it, v, 0, LIST_TAIL);
    while (list_iter_next(&it, &val)) {
        size_t len;
        const char *p = list_val_str(&val, tmp, &len);
        fn(priv, p, len);
    }
    list_iter_release(&it);
}

static void *list_value_from_elements(size_t n, const char *const *elems, const size_t *lens) {
    list *l = list_new();
    for (size_t i = 0; i < n; i++) list_push(l, LIST_TAIL, elems[i], lens[i]);
    return l;
}

const value_type list_type = {
    .name = "list",
    .id = OBJ_LIST,
    .encoding = list_encoding,
    .free = list_value_free,
    .free_effort = list_free_effort,
    .free_step = list_free_step,
    .memory = list_value_memory,
    .dup = list_value_dup,
    .length = list_value_length,
    .elements = list_value_elements,
    .from_elements = list_value_from_elements,
    .aof_rewrite = list_aof_rewrite,
    .rdb_type = list_rdb_type,
    .rdb_save = list_rdb_save,
    .rdb_load_types = list_rdb_types,
    .rdb_load = list_rdb_load,
};
