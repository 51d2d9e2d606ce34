/* t_hash.c: hashes in their two encodings (storage/t_hash.h).
 *
 * listpack: one block, an 8-byte header (encoding, 24-bit field count, bytes used) and
 * then field, value, field, value ... each as a length (storage/lenc.h) and its bytes. A
 * 10-field hash of 8-byte fields and values is 8 + 20 * 9 = 188 bytes. Updating a field
 * rewrites its value in place (moving the tail when the size changes); deleting closes
 * the gap. The block grows to what it needs (the allocator's slack is used first) and is
 * given back when more than LP_SLACK bytes are unused.
 *
 * hashtable: a storage/dict.c table whose nodes are hnode allocations: chain pointer,
 * field length, value length, field bytes, value bytes (a 10-byte header for short
 * strings). Updating a value builds a new node and swaps it into the link that held the
 * old one. bytes tracks the nodes' allocator blocks so hash_memory is O(1).
 *
 * Conversion without a stall. A listpack of up to CONVERT_STEP fields is converted at
 * once. A bigger one (hash-max-listpack-entries raised far above its default) becomes a
 * hashtable whose fields still sit in the old listpack, `pending`, from pend_off on;
 * every later operation on the hash first moves up to CONVERT_STEP of them into the
 * table (ht_migrate), so no single command pays for more than that. Invariant: a field
 * is in the table or in pending, never both; pend_count is how many are pending. Reads
 * look in the table, then in pending; a write to a pending field takes it out of pending
 * first. HSCAN's guarantee holds: a scan that starts (cursor 0) while fields are
 * pending gets all of them in that first reply, and fields only ever move from pending
 * into the table, which the reverse-binary cursor covers for the rest of the scan. */
#include "storage/aof_rewrite.h"
#include "storage/rdb.h"
#include "storage/t_hash.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/dict.h"
#include "storage/lenc.h"
#include "storage/type.h"

size_t hash_max_listpack_entries = 512;
size_t hash_max_listpack_value = 64;

#define LP_SLACK     64
/* Fields converted at once, and moved per operation while a conversion is pending. */
#define CONVERT_STEP 1024
/* A listpack never grows past these (its header counts fields in 24 bits, bytes in 32). */
#define LP_MAX_BYTES (UINT32_MAX / 2)
#define LP_MAX_COUNT 0xffffffu

struct hash {
    uint8_t enc;
};

struct hlp {
    uint8_t enc;
    uint8_t count[3]; /* fields, little-endian */
    uint32_t used;    /* bytes of data in use */
    unsigned char data[];
};

typedef struct hlp hlp;

typedef struct hht {
    uint8_t enc;
    size_t bytes; /* allocator blocks of the nodes */
    dict d;
    hlp *pending;      /* fields not yet moved into d, or NULL */
    size_t pend_off;   /* offset in pending of the first field not yet moved */
    size_t pend_count; /* fields still in pending */
    size_t free_pos;   /* lazy freeing's position in d (hash_free_step) */
} hht;

typedef struct hnode {
    dict_node node;
    unsigned char data[]; /* flen, vlen (lenc), field, value */
} hnode;

/* ---- listpack ---- */

static inline size_t lp_count(const hlp *lp) {
    return (size_t)lp->count[0] | (size_t)lp->count[1] << 8 | (size_t)lp->count[2] << 16;
}

static inline void lp_set_count(hlp *lp, size_t n) {
    lp->count[0] = (uint8_t)n;
    lp->count[1] = (uint8_t)(n >> 8);
    lp->count[2] = (uint8_t)(n >> 16);
}

static hlp *lp_new(void) {
    hlp *lp = xmalloc(sizeof(hlp));
    memset(lp, 0, sizeof(*lp));
    lp->enc = HASH_LISTPACK;
    return lp;
}

/* Make room for used + extra bytes of data. */
static hlp *lp_reserve(hlp *lp, size_t extra) {
    size_t need = sizeof(hlp) + lp->used + extra;
    if (need > malloc_usable_size(lp)) lp = xrealloc(lp, need);
    return lp;
}

static hlp *lp_trim(hlp *lp) {
    size_t need = sizeof(hlp) + lp->used;
    if (malloc_usable_size(lp) > need + LP_SLACK) lp = xrealloc(lp, need);
    return lp;
}

/* One entry (a field and its value) at offset off: its parts, and the offset after it. */
typedef struct lp_entry {
    const unsigned char *f, *v;
    size_t flen, vlen;
    size_t off, voff, end; /* entry start, value's length prefix, next entry */
} lp_entry;

static void lp_read(const hlp *lp, size_t off, lp_entry *e) {
    const unsigned char *p = lp->data + off;
    e->off = off;
    p += lenc_get(p, &e->flen);
    e->f = p;
    p += e->flen;
    e->voff = (size_t)(p - lp->data);
    p += lenc_get(p, &e->vlen);
    e->v = p;
    e->end = (size_t)(p + e->vlen - lp->data);
}

static int lp_find_from(const hlp *lp, size_t from, const char *f, size_t flen, lp_entry *e) {
    for (size_t off = from; off < lp->used; off = e->end) {
        lp_read(lp, off, e);
        if (e->flen == flen && memcmp(e->f, f, flen) == 0) return 1;
    }
    return 0;
}

static int lp_find(const hlp *lp, const char *f, size_t flen, lp_entry *e) { return lp_find_from(lp, 0, f, flen, e); }

/* Replace bytes [from, to) of the data with n bytes (uninitialised); returns where they go. */
static unsigned char *lp_splice(hlp **lpp, size_t from, size_t to, size_t n) {
    hlp *lp = *lpp;
    size_t old = to - from;
    if (n > old) lp = lp_reserve(lp, n - old);
    memmove(lp->data + from + n, lp->data + to, lp->used - to);
    lp->used = (uint32_t)(lp->used - old + n);
    if (n < old) lp = lp_trim(lp);
    *lpp = lp;
    return lp->data + from;
}

/* ---- hashtable ---- */

static const char *hnode_keyof(const dict_node *n, size_t *len) {
    const unsigned char *p = ((const hnode *)n)->data;
    size_t vlen;
    p += lenc_get(p, len);
    p += lenc_get(p, &vlen);
    return (const char *)p;
}

static void hnode_parts(const hnode *n, const char **f, size_t *flen, const char **v, size_t *vlen) {
    const unsigned char *p = n->data;
    p += lenc_get(p, flen);
    p += lenc_get(p, vlen);
    *f = (const char *)p;
    *v = (const char *)p + *flen;
}

static hnode *hnode_new(const char *f, size_t flen, const char *v, size_t vlen) {
    size_t hdr = lenc_size(flen) + lenc_size(vlen);
    hnode *n = xmalloc(sizeof(hnode) + hdr + flen + vlen);
    unsigned char *p = n->data;
    p += lenc_put(p, flen);
    p += lenc_put(p, vlen);
    memcpy(p, f, flen);
    memcpy(p + flen, v, vlen);
    n->node.next = NULL;
    return n;
}

static hht *ht_new(void) {
    hht *ht = xmalloc(sizeof(hht));
    ht->enc = HASH_HASHTABLE;
    ht->bytes = 0;
    dict_init(&ht->d, hnode_keyof);
    ht->pending = NULL;
    ht->pend_off = ht->pend_count = 0;
    ht->free_pos = 0;
    return ht;
}

static void ht_add(hht *ht, const char *f, size_t flen, const char *v, size_t vlen) {
    hnode *n = hnode_new(f, flen, v, vlen);
    ht->bytes += malloc_usable_size(n);
    dict_add_h(&ht->d, &n->node, dict_hash(f, flen));
}

static void ht_free_node(void *priv, dict_node *n) {
    (void)priv;
    free(n);
}

/* Move up to n pending fields into the table. */
static void ht_migrate(hht *ht, size_t n) {
    hlp *lp = ht->pending;
    if (!lp) return;
    lp_entry e;
    while (n-- > 0 && ht->pend_off < lp->used) {
        lp_read(lp, ht->pend_off, &e);
        ht_add(ht, (const char *)e.f, e.flen, (const char *)e.v, e.vlen);
        ht->pend_off = e.end;
        ht->pend_count--;
    }
    if (ht->pend_off >= lp->used) {
        free(lp);
        ht->pending = NULL;
        ht->pend_off = ht->pend_count = 0;
    }
}

/* The pending entry for field f, or 0. */
static int ht_pending_find(hht *ht, const char *f, size_t flen, lp_entry *e) {
    return ht->pending && lp_find_from(ht->pending, ht->pend_off, f, flen, e);
}

/* Remove the pending entry e (found by ht_pending_find). */
static void ht_pending_del(hht *ht, const lp_entry *e) {
    lp_splice(&ht->pending, e->off, e->end, 0);
    ht->pend_count--;
    if (ht->pend_count == 0) ht_migrate(ht, 1);
}

int hash_converting(const hash *h) { return h->enc == HASH_HASHTABLE && ((const hht *)h)->pending != NULL; }

/* ---- the API ---- */

hash *hash_new(void) { return (hash *)lp_new(); }

void hash_free(hash *h) {
    if (!h) return;
    if (h->enc == HASH_HASHTABLE) {
        dict_clear(&((hht *)h)->d, ht_free_node, NULL);
        free(((hht *)h)->pending);
    }
    free(h);
}

static void dup_add(void *priv, const char *f, size_t flen, const char *v, size_t vlen) {
    ht_add(priv, f, flen, v, vlen);
}

hash *hash_dup(const hash *h) {
    if (h->enc == HASH_LISTPACK) {
        const hlp *lp = (const hlp *)h;
        hlp *c = xmalloc(sizeof(hlp) + lp->used);
        memcpy(c, lp, sizeof(hlp) + lp->used);
        return (hash *)c;
    }
    hht *c = ht_new();
    hash_foreach((hash *)h, dup_add, c);
    return (hash *)c;
}

size_t hash_memory(const hash *h) {
    if (h->enc == HASH_LISTPACK) return malloc_usable_size((void *)h);
    const hht *ht = (const hht *)h;
    return malloc_usable_size((void *)h) + ht->bytes + dict_table_bytes(&ht->d) +
           (ht->pending ? malloc_usable_size(ht->pending) : 0);
}

int hash_encoding(const hash *h) { return h->enc; }

const char *hash_encoding_name(const hash *h) { return h->enc == HASH_LISTPACK ? "listpack" : "hashtable"; }

size_t hash_len(const hash *h) {
    if (h->enc == HASH_LISTPACK) return lp_count((const hlp *)h);
    return dict_size(&((const hht *)h)->d) + ((const hht *)h)->pend_count;
}

const char *hash_get(hash *h, const char *f, size_t flen, size_t *vlen) {
    if (h->enc == HASH_LISTPACK) {
        lp_entry e;
        if (!lp_find((hlp *)h, f, flen, &e)) return NULL;
        *vlen = e.vlen;
        return (const char *)e.v;
    }
    hht *ht = (hht *)h;
    ht_migrate(ht, CONVERT_STEP);
    dict_node *n = dict_find(&ht->d, f, flen);
    if (!n) {
        lp_entry e;
        if (!ht_pending_find(ht, f, flen, &e)) return NULL;
        *vlen = e.vlen;
        return (const char *)e.v;
    }
    const char *ff, *v;
    size_t fl;
    hnode_parts((hnode *)n, &ff, &fl, &v, vlen);
    return v;
}

int hash_exists(hash *h, const char *f, size_t flen) {
    size_t vlen;
    return hash_get(h, f, flen, &vlen) != NULL;
}

void hash_convert(hash **hp) {
    if ((*hp)->enc != HASH_LISTPACK) return;
    hlp *lp = (hlp *)*hp;
    hht *ht = ht_new();
    ht->pending = lp;
    ht->pend_count = lp_count(lp);
    ht_migrate(ht, ht->pend_count <= CONVERT_STEP ? ht->pend_count : CONVERT_STEP);
    *hp = (hash *)ht;
}

void hash_check_len(hash **hp, size_t len) {
    if ((*hp)->enc == HASH_LISTPACK && len > hash_max_listpack_value) hash_convert(hp);
}

int hash_set(hash **hp, const char *f, size_t flen, const char *v, size_t vlen) {
    if ((*hp)->enc == HASH_LISTPACK && (flen > hash_max_listpack_value || vlen > hash_max_listpack_value))
        hash_convert(hp);
    if ((*hp)->enc == HASH_LISTPACK) {
        hlp *lp = (hlp *)*hp;
        lp_entry e;
        size_t vbytes = lenc_size(vlen) + vlen;
        if (lp_find(lp, f, flen, &e)) {
            unsigned char *p = lp_splice(&lp, e.voff, e.end, vbytes);
            p += lenc_put(p, vlen);
            memcpy(p, v, vlen);
            *hp = (hash *)lp;
            return 0;
        }
        size_t fbytes = lenc_size(flen) + flen;
        if (lp->used + fbytes + vbytes > LP_MAX_BYTES || lp_count(lp) >= LP_MAX_COUNT) {
            hash_convert(hp);
            return hash_set(hp, f, flen, v, vlen);
        }
        unsigned char *p = lp_splice(&lp, lp->used, lp->used, fbytes + vbytes);
        p += lenc_put(p, flen);
        memcpy(p, f, flen);
        p += flen;
        p += lenc_put(p, vlen);
        memcpy(p, v, vlen);
        lp_set_count(lp, lp_count(lp) + 1);
        *hp = (hash *)lp;
        if (lp_count(lp) > hash_max_listpack_entries) hash_convert(hp);
        return 1;
    }
    hht *ht = (hht *)*hp;
    ht_migrate(ht, CONVERT_STEP);
    uint64_t hv = dict_hash(f, flen);
    dict_node **ref = dict_find_ref_h(&ht->d, f, flen, hv);
    int updated = 0;
    if (!ref && ht->pending) {
        lp_entry e;
        if ((updated = ht_pending_find(ht, f, flen, &e))) ht_pending_del(ht, &e);
    }
    if (ref) {
        hnode *old = (hnode *)*ref, *n = hnode_new(f, flen, v, vlen);
        n->node.next = old->node.next;
        *ref = &n->node;
        ht->bytes += malloc_usable_size(n);
        ht->bytes -= malloc_usable_size(old);
        free(old);
        return 0;
    }
    hnode *n = hnode_new(f, flen, v, vlen);
    ht->bytes += malloc_usable_size(n);
    dict_add_h(&ht->d, &n->node, hv);
    return !updated;
}

int hash_del(hash **hp, const char *f, size_t flen) {
    if ((*hp)->enc == HASH_LISTPACK) {
        hlp *lp = (hlp *)*hp;
        lp_entry e;
        if (!lp_find(lp, f, flen, &e)) return 0;
        lp_splice(&lp, e.off, e.end, 0);
        lp_set_count(lp, lp_count(lp) - 1);
        *hp = (hash *)lp;
        return 1;
    }
    hht *ht = (hht *)*hp;
    ht_migrate(ht, CONVERT_STEP);
    dict_node *n = dict_unlink(&ht->d, f, flen);
    if (!n) {
        lp_entry e;
        if (!ht_pending_find(ht, f, flen, &e)) return 0;
        ht_pending_del(ht, &e);
        return 1;
    }
    ht->bytes -= malloc_usable_size(n);
    free(n);
    return 1;
}

typedef struct ht_visit {
    hash_fn *fn;
    void *priv;
} ht_visit;

static void ht_visit_node(void *priv, dict_node *n) {
    ht_visit *vis = priv;
    const char *f, *v;
    size_t flen, vlen;
    hnode_parts((hnode *)n, &f, &flen, &v, &vlen);
    vis->fn(vis->priv, f, flen, v, vlen);
}

static void lp_foreach_from(hlp *lp, size_t from, hash_fn *fn, void *priv) {
    lp_entry e;
    for (size_t off = from; off < lp->used; off = e.end) {
        lp_read(lp, off, &e);
        fn(priv, (const char *)e.f, e.flen, (const char *)e.v, e.vlen);
    }
}

void hash_foreach(hash *h, hash_fn *fn, void *priv) {
    if (h->enc == HASH_LISTPACK) {
        lp_foreach_from((hlp *)h, 0, fn, priv);
        return;
    }
    hht *ht = (hht *)h;
    ht_visit vis = {fn, priv};
    dict_foreach(&ht->d, ht_visit_node, &vis);
    if (ht->pending) lp_foreach_from(ht->pending, ht->pend_off, fn, priv);
}

unsigned long hash_scan(hash *h, unsigned long cursor, hash_fn *fn, void *priv) {
    if (h->enc == HASH_LISTPACK) {
        lp_foreach_from((hlp *)h, 0, fn, priv);
        return 0;
    }
    hht *ht = (hht *)h;
    if (cursor == 0 && ht->pending) lp_foreach_from(ht->pending, ht->pend_off, fn, priv);
    ht_visit vis = {fn, priv};
    return dict_scan(&ht->d, cursor, ht_visit_node, &vis);
}

void hash_random(hash *h, const char **f, size_t *flen, const char **v, size_t *vlen) {
    hlp *lp = h->enc == HASH_LISTPACK ? (hlp *)h : ((hht *)h)->pending;
    size_t off = h->enc == HASH_LISTPACK ? 0 : ((hht *)h)->pend_off;
    uint64_t pick = dict_random() % hash_len(h);
    if (lp && pick < (h->enc == HASH_LISTPACK ? lp_count(lp) : ((hht *)h)->pend_count)) {
        lp_entry e;
        for (;;) {
            lp_read(lp, off, &e);
            if (pick-- == 0) break;
            off = e.end;
        }
        *f = (const char *)e.f;
        *flen = e.flen;
        *v = (const char *)e.v;
        *vlen = e.vlen;
        return;
    }
    hnode_parts((hnode *)dict_random_node(&((hht *)h)->d), f, flen, v, vlen);
}

/* ---- lazy freeing (storage/lazyfree.h): a unit is one allocation ---- */

size_t hash_free_effort(const hash *h) { return h->enc == HASH_LISTPACK ? 1 : dict_size(&((const hht *)h)->d) + 1; }

int hash_free_step(hash *h, size_t units) {
    if (h->enc == HASH_HASHTABLE) {
        hht *ht = (hht *)h;
        free(ht->pending);
        ht->pending = NULL;
        if (!dict_clear_step(&ht->d, &ht->free_pos, units, ht_free_node, NULL)) return 0;
    }
    free(h);
    return 1;
}

/* ---- the value-type descriptor ---- */

static const char *hash_type_encoding(const rkey *k) { return hash_encoding_name(rkey_ptr(k)); }
static void hash_type_free(void *v) { hash_free(v); }
static size_t hash_type_memory(const void *v) { return hash_memory(v); }
static void *hash_type_dup(const void *v) { return hash_dup(v); }
static size_t hash_type_free_effort(const void *v) { return hash_free_effort(v); }
static int hash_type_free_step(void *v, size_t units) { return hash_free_step(v, units); }

/* SORT's BY/GET pattern->field: a field's value, read only (the cast is for hash_get's
 * signature, which a lookup's rehash step shares). */
static const char *hash_type_field(const void *v, const char *f, size_t flen, size_t *vlen, char *tmp) {
    (void)tmp;
    return hash_get((hash *)v, f, flen, vlen);
}

const value_type hash_type = {
    .name = "hash",
    .id = OBJ_HASH,
    .encoding = hash_type_encoding,
    .free = hash_type_free,
    .free_effort = hash_type_free_effort,
    .free_step = hash_type_free_step,
    .memory = hash_type_memory,
    .dup = hash_type_dup,
    .field = hash_type_field,
    .aof_rewrite = hash_aof_rewrite,
    .rdb_type = hash_rdb_type,
    .rdb_save = hash_rdb_save,
    .rdb_load_types = hash_rdb_types,
    .rdb_load = hash_rdb_load,
};
