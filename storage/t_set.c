/* t_set.c: sets in their two encodings (storage/t_set.h).
 *
 * intset: one block, an 8-byte header (encoding, width, count) and count integers of
 * width bytes each in ascending order. Adding a value that needs a wider type rewrites
 * the array at the new width (the value then goes first or last: it is out of the old
 * range). Lookups are binary searches, inserts and removals memmove the tail, as
 * Redis's intset.
 *
 * hashtable: a storage/dict.c table of snode allocations (chain pointer, length,
 * bytes: 8 + 1 + len bytes for a short member); bytes tracks their allocator blocks so
 * set_memory is O(1).
 *
 * Conversion without a stall. An intset of up to CONVERT_STEP members is converted at
 * once. A bigger one (set-max-intset-entries raised far above its default) becomes a
 * hashtable whose members still sit in the old intset, `pending`; every later operation
 * on the set first moves up to CONVERT_STEP of them, from the end of the array, into the
 * table (ht_migrate). Invariant: a member is in the table or in pending, never both.
 * Lookups try both; an add of a member still pending finds it there; a scan that starts
 * (cursor 0) while members are pending returns all of them in its first reply, so
 * SSCAN's guarantee holds as members move into the table behind the cursor. */
#include "storage/aof_rewrite.h"
#include "storage/rdb.h"
#include "storage/t_set.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "storage/dict.h"
#include "storage/lenc.h"
#include "storage/type.h"

size_t set_max_intset_entries = 512;

/* Members converted at once, and moved per operation while a conversion is pending. */
#define CONVERT_STEP 1024

struct set {
    uint8_t enc;
};

struct sis {
    uint8_t enc;
    uint8_t width; /* 2, 4 or 8 */
    uint16_t pad;
    uint32_t count;
    unsigned char data[];
};

typedef struct sis sis;

typedef struct sht {
    uint8_t enc;
    size_t bytes;
    dict d;
    sis *pending;    /* members not yet moved into d, or NULL */
    size_t free_pos; /* lazy freeing's position in d (set_free_step) */
} sht;

typedef struct snode {
    dict_node node;
    unsigned char data[]; /* len (lenc), bytes */
} snode;

/* ---- intset ---- */

static int64_t is_get(const sis *is, size_t i) {
    const unsigned char *p = is->data + i * is->width;
    switch (is->width) {
        case 2: {
            int16_t v;
            memcpy(&v, p, 2);
            return v;
        }
        case 4: {
            int32_t v;
            memcpy(&v, p, 4);
            return v;
        }
        default: {
            int64_t v;
            memcpy(&v, p, 8);
            return v;
        }
    }
}

static void is_put(sis *is, size_t i, int64_t v) {
    unsigned char *p = is->data + i * is->width;
    switch (is->width) {
        case 2: {
            int16_t x = (int16_t)v;
            memcpy(p, &x, 2);
            break;
        }
        case 4: {
            int32_t x = (int32_t)v;
            memcpy(p, &x, 4);
            break;
        }
        default: memcpy(p, &v, 8); break;
    }
}

static uint8_t is_width_of(int64_t v) {
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

/* Binary search: 1 and *pos = its index if v is there, else 0 and *pos = where it goes. */
static int is_search(const sis *is, int64_t v, size_t *pos) {
    size_t lo = 0, hi = is->count;
    if (is->count && (v > is_get(is, is->count - 1))) {
        *pos = is->count;
        return 0;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t m = is_get(is, mid);
        if (m == v) {
            *pos = mid;
            return 1;
        }
        if (m < v) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    return 0;
}

static sis *is_new(void) {
    sis *is = xmalloc(sizeof(sis));
    memset(is, 0, sizeof(*is));
    is->enc = SET_INTSET;
    is->width = 2;
    return is;
}

static sis *is_resize(sis *is, size_t count) {
    size_t need = sizeof(sis) + count * is->width;
    size_t have = malloc_usable_size(is);
    if (need > have || have > need + 64) is = xrealloc(is, need);
    return is;
}

/* Returns 1 if added. */
static int is_add(sis **isp, int64_t v) {
    sis *is = *isp;
    uint8_t w = is_width_of(v);
    if (w > is->width) {
        /* Out of the current range: rewrite wider, v goes first (negative) or last. */
        size_t n = is->count;
        sis *up = xmalloc(sizeof(sis) + (n + 1) * w);
        *up = *is;
        up->width = w;
        size_t off = v < 0 ? 1 : 0;
        for (size_t i = 0; i < n; i++) is_put(up, i + off, is_get(is, i));
        up->count = (uint32_t)(n + 1);
        is_put(up, v < 0 ? 0 : n, v);
        free(is);
        *isp = up;
        return 1;
    }
    size_t pos;
    if (is_search(is, v, &pos)) return 0;
    is = is_resize(is, is->count + 1);
    memmove(is->data + (pos + 1) * is->width, is->data + pos * is->width, (is->count - pos) * is->width);
    is_put(is, pos, v);
    is->count++;
    *isp = is;
    return 1;
}

static int is_remove(sis **isp, int64_t v) {
    sis *is = *isp;
    size_t pos;
    if (!is_search(is, v, &pos)) return 0;
    memmove(is->data + pos * is->width, is->data + (pos + 1) * is->width, (is->count - pos - 1) * is->width);
    is->count--;
    *isp = is_resize(is, is->count);
    return 1;
}

/* ---- hashtable ---- */

static const char *snode_keyof(const dict_node *n, size_t *len) {
    const unsigned char *p = ((const snode *)n)->data;
    return (const char *)p + lenc_get(p, len);
}

static sht *ht_new(void) {
    sht *ht = xmalloc(sizeof(sht));
    ht->enc = SET_HASHTABLE;
    ht->bytes = 0;
    dict_init(&ht->d, snode_keyof);
    ht->pending = NULL;
    ht->free_pos = 0;
    return ht;
}

static void ht_add_new(sht *ht, const char *m, size_t len, uint64_t h) {
    snode *n = xmalloc(sizeof(snode) + lenc_size(len) + len);
    memcpy(n->data + lenc_put(n->data, len), m, len);
    n->node.next = NULL;
    ht->bytes += malloc_usable_size(n);
    dict_add_h(&ht->d, &n->node, h);
}

static void ht_free_node(void *priv, dict_node *n) {
    (void)priv;
    free(n);
}

/* Move up to n pending members (from the end of the array) into the table. */
static void ht_migrate(sht *ht, size_t n) {
    sis *is = ht->pending;
    if (!is) return;
    char buf[SET_MEMBER_BUF];
    while (n-- > 0 && is->count > 0) {
        int len = util_ll2str(buf, is_get(is, is->count - 1));
        is->count--;
        ht_add_new(ht, buf, (size_t)len, dict_hash(buf, (size_t)len));
    }
    if (is->count == 0) {
        free(is);
        ht->pending = NULL;
    }
}

static int ht_pending_has(const sht *ht, const char *m, size_t len) {
    long long v;
    size_t pos;
    return ht->pending && util_str2ll(m, len, &v) && is_search(ht->pending, v, &pos);
}

int set_converting(const set *s) { return s->enc == SET_HASHTABLE && ((const sht *)s)->pending != NULL; }

static int ht_add(sht *ht, const char *m, size_t len) {
    ht_migrate(ht, CONVERT_STEP);
    uint64_t h = dict_hash(m, len);
    if (dict_find_h(&ht->d, m, len, h) || ht_pending_has(ht, m, len)) return 0;
    ht_add_new(ht, m, len, h);
    return 1;
}

/* ---- the API ---- */

set *set_new_intset(void) { return (set *)is_new(); }

set *set_new_for(const char *m, size_t len) { return util_str2ll(m, len, NULL) ? (set *)is_new() : (set *)ht_new(); }

void set_free(set *s) {
    if (!s) return;
    if (s->enc == SET_HASHTABLE) {
        dict_clear(&((sht *)s)->d, ht_free_node, NULL);
        free(((sht *)s)->pending);
    }
    free(s);
}

static void dup_add(void *priv, const char *m, size_t len) { ht_add_new(priv, m, len, dict_hash(m, len)); }

set *set_dup(const set *s) {
    if (s->enc == SET_INTSET) {
        const sis *is = (const sis *)s;
        size_t n = sizeof(sis) + is->count * is->width;
        sis *c = xmalloc(n);
        memcpy(c, is, n);
        return (set *)c;
    }
    sht *c = ht_new();
    set_foreach((set *)s, dup_add, c);
    return (set *)c;
}

size_t set_memory(const set *s) {
    if (s->enc == SET_INTSET) return malloc_usable_size((void *)s);
    const sht *ht = (const sht *)s;
    return malloc_usable_size((void *)s) + ht->bytes + dict_table_bytes(&ht->d) +
           (ht->pending ? malloc_usable_size(ht->pending) : 0);
}

int set_encoding(const set *s) { return s->enc; }
const char *set_encoding_name(const set *s) { return s->enc == SET_INTSET ? "intset" : "hashtable"; }

size_t set_card(const set *s) {
    if (s->enc == SET_INTSET) return ((const sis *)s)->count;
    const sht *ht = (const sht *)s;
    return dict_size(&ht->d) + (ht->pending ? ht->pending->count : 0);
}

int set_ismember(set *s, const char *m, size_t len) {
    if (s->enc == SET_INTSET) {
        long long v;
        size_t pos;
        return util_str2ll(m, len, &v) && is_search((sis *)s, v, &pos);
    }
    sht *ht = (sht *)s;
    ht_migrate(ht, CONVERT_STEP);
    return dict_find(&ht->d, m, len) != NULL || ht_pending_has(ht, m, len);
}

void set_convert(set **sp) {
    if ((*sp)->enc != SET_INTSET) return;
    sis *is = (sis *)*sp;
    sht *ht = ht_new();
    ht->pending = is;
    ht_migrate(ht, is->count <= CONVERT_STEP ? is->count : CONVERT_STEP);
    *sp = (set *)ht;
}

int set_add(set **sp, const char *m, size_t len) {
    if ((*sp)->enc == SET_INTSET) {
        long long v;
        if (util_str2ll(m, len, &v)) {
            sis *is = (sis *)*sp;
            int added = is_add(&is, v);
            *sp = (set *)is;
            if (added && is->count > set_max_intset_entries) set_convert(sp);
            return added;
        }
        set_convert(sp);
    }
    return ht_add((sht *)*sp, m, len);
}

int set_remove(set **sp, const char *m, size_t len) {
    if ((*sp)->enc == SET_INTSET) {
        long long v;
        if (!util_str2ll(m, len, &v)) return 0;
        sis *is = (sis *)*sp;
        int removed = is_remove(&is, v);
        *sp = (set *)is;
        return removed;
    }
    sht *ht = (sht *)*sp;
    ht_migrate(ht, CONVERT_STEP);
    dict_node *n = dict_unlink(&ht->d, m, len);
    if (!n) {
        long long v;
        if (!ht->pending || !util_str2ll(m, len, &v) || !is_remove(&ht->pending, v)) return 0;
        if (ht->pending->count == 0) ht_migrate(ht, 1);
        return 1;
    }
    ht->bytes -= malloc_usable_size(n);
    free(n);
    return 1;
}

typedef struct ht_visit {
    set_fn *fn;
    void *priv;
} ht_visit;

static void ht_visit_node(void *priv, dict_node *n) {
    ht_visit *vis = priv;
    size_t len;
    const char *m = snode_keyof(n, &len);
    vis->fn(vis->priv, m, len);
}

static void is_foreach(const sis *is, set_fn *fn, void *priv) {
    char buf[SET_MEMBER_BUF];
    for (size_t i = 0; i < is->count; i++) {
        int n = util_ll2str(buf, is_get(is, i));
        fn(priv, buf, (size_t)n);
    }
}

void set_foreach(set *s, set_fn *fn, void *priv) {
    if (s->enc == SET_INTSET) {
        is_foreach((sis *)s, fn, priv);
        return;
    }
    sht *ht = (sht *)s;
    ht_visit vis = {fn, priv};
    dict_foreach(&ht->d, ht_visit_node, &vis);
    if (ht->pending) is_foreach(ht->pending, fn, priv);
}

unsigned long set_scan(set *s, unsigned long cursor, set_fn *fn, void *priv) {
    if (s->enc == SET_INTSET) {
        is_foreach((sis *)s, fn, priv);
        return 0;
    }
    sht *ht = (sht *)s;
    if (cursor == 0 && ht->pending) is_foreach(ht->pending, fn, priv);
    ht_visit vis = {fn, priv};
    return dict_scan(&ht->d, cursor, ht_visit_node, &vis);
}

void set_random(set *s, char *buf, const char **m, size_t *len) {
    const sis *is = s->enc == SET_INTSET ? (const sis *)s : ((sht *)s)->pending;
    uint64_t pick = dict_random() % set_card(s);
    if (is && pick < is->count) {
        int n = util_ll2str(buf, is_get(is, pick));
        *m = buf;
        *len = (size_t)n;
        return;
    }
    *m = snode_keyof(dict_random_node(&((sht *)s)->d), len);
}

/* ---- lazy freeing (storage/lazyfree.h): a unit is one allocation ---- */

size_t set_free_effort(const set *s) { return s->enc == SET_INTSET ? 1 : dict_size(&((const sht *)s)->d) + 1; }

int set_free_step(set *s, size_t units) {
    if (s->enc == SET_HASHTABLE) {
        sht *ht = (sht *)s;
        free(ht->pending);
        ht->pending = NULL;
        if (!dict_clear_step(&ht->d, &ht->free_pos, units, ht_free_node, NULL)) return 0;
    }
    free(s);
    return 1;
}

/* ---- the value-type descriptor ---- */

static const char *set_type_encoding(const rkey *k) { return set_encoding_name(rkey_ptr(k)); }
static void set_type_free(void *v) { set_free(v); }
static size_t set_type_memory(const void *v) { return set_memory(v); }
static void *set_type_dup(const void *v) { return set_dup(v); }
static size_t set_type_free_effort(const void *v) { return set_free_effort(v); }
static int set_type_free_step(void *v, size_t units) { return set_free_step(v, units); }

/* SORT's view of a set: its cardinality and its members in iteration order (reading
 * only; the cast is for the iterator's signature, which conversion steps share). */
static size_t set_type_length(const void *v) { return set_card(v); }

static void set_type_elements(const void *v, void (*fn)(void *priv, const char *e, size_t len), void *priv) {
    set_foreach((set *)v, fn, priv);
}

const value_type set_type = {
    .name = "set",
    .id = OBJ_SET,
    .encoding = set_type_encoding,
    .free = set_type_free,
    .free_effort = set_type_free_effort,
    .free_step = set_type_free_step,
    .memory = set_type_memory,
    .dup = set_type_dup,
    .length = set_type_length,
    .elements = set_type_elements,
    .aof_rewrite = set_aof_rewrite,
    .rdb_type = set_rdb_type,
    .rdb_save = set_rdb_save,
    .rdb_load_types = set_rdb_types,
    .rdb_load = set_rdb_load,
};
