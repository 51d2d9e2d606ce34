/* db.c: the keyspace (storage/db.h): one record per key in an incrementally rehashed
 * table (storage/dict.c), lazy and active expiry, SCAN, RANDOMKEY, rename/move/swap, and
 * the keyspace events every change reports to its subscribers.
 *
 * Record layout. A key is one malloc'd rkey, laid out as
 *
 *     next (8) | flags (1) | access (3) | klen, vlen[, cap] (1, 2 or 4 bytes each) |
 *     [expire int64 | expires-array index uint32]   (only when the key has a TTL) |
 *     key bytes | value
 *
 * flags holds the type (3 bits), the encoding (2 bits), the TTL bit and the width code
 * of the length fields (2 bits: 1, 2 or 4 bytes, the smallest that holds the largest of
 * them). The value is, by encoding: EMB, the string bytes, exactly vlen of them (what
 * SET makes: one exact allocation); RAW, a string with cap >= vlen bytes of room (what
 * APPEND/SETRANGE make, grown with headroom as sds does, so appends are amortised O(1));
 * INT, an int64; PTR, a void * owned by the record and freed through its type's descriptor
 * (storage/type.h), then a uint64 with the value's size as last measured by the
 * descriptor's memory.
 * access is the 24-bit LRU clock or LFU counter of storage/evict.h, set when the record
 * is made and updated by lookups. Fields after the flags are unaligned and read with
 * memcpy. With a 12-byte key and a 32-byte value a record is 14 + 12 + 32 = 58 bytes
 * (70 with a TTL): glibc gives it a 72-byte usable block (a 64-byte one without the
 * access bytes, which no spare bit of the 55-byte record could hold).
 *
 * Invariants:
 *  - the value is last, so a RAW string can grow with realloc in place of a copy;
 *  - a record has the TTL block iff it is in its db's expires array, and the index
 *    stored in it is its position there. Adding or removing a TTL therefore builds a new
 *    record (db_set_expire/db_persist return it); any move re-links the chain pointer that
 *    pointed at the old address and rewrites the expires-array slot;
 *  - removing from the expires array moves the last element into the hole (O(1));
 *  - mem is the sum of malloc_usable_size over the db's records plus the cached sizes of
 *    their pointer-held values.
 *
 * Expiry uses storage_now_ms: a key is expired when now > expire (as Redis's
 * keyIsExpired). Lookups delete expired keys they meet; db_active_expire samples the
 * expires array at random, as Redis's activeExpireCycle samples its expires dict.
 *
 * Lazy freeing (storage/lazyfree.h). db_flush_lazy moves the table and the expires array
 * into a job (db_detached) and leaves the db empty; the job empties one bucket chain at a
 * time. A deletion that may be lazy (rk_drop) frees the record at once and queues only a
 * pointer value whose type reports a free effort over LAZYFREE_THRESHOLD. Either way the
 * bytes move from the db's mem to the queue's pending count, so the keyspace's figure
 * (and maxmemory) drop at once while INFO's used_memory drops as the memory is freed. */
#include "common/xmalloc.h"
#include "storage/aof_rewrite.h"
#include "storage/db.h"

#include <assert.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/alloc.h"
#include "common/util.h"
#include "storage/dict.h"
#include "storage/rdb.h"
#include "storage/evict.h"
#include "storage/lazyfree.h"
#include "storage/type.h"

long long storage_now_ms;
int storage_expiry_paused;
storage_stats storage_stat;
long long storage_dirty;

/* Encodings (flags bits 3-4). */
enum { RK_EMB = 0, RK_INT = 1, RK_RAW = 2, RK_PTR = 3 };
#define RK_TYPE_MASK     0x07u
#define RK_ENC_SHIFT     3
#define RK_TTL           0x20u
#define RK_W_SHIFT       6
#define RK_TTL_BYTES     12                                  /* int64 expire + uint32 expires-array index */
#define RK_EMBSTR_MAX    44                                  /* Redis reports "embstr" up to this length */
#define RK_PREALLOC_MAX  (1024 * 1024)                       /* as sds: double below 1MB, then +1MB */
#define RK_PTR_BYTES     (sizeof(void *) + sizeof(uint64_t)) /* pointer, cached value size */
#define RK_MALLOC_HEADER ALLOC_BLOCK_HEADER                  /* the allocator's bytes before each block */

struct rkey {
    dict_node node; /* chain pointer; must stay first */
    uint8_t flags;
    uint8_t access[3];    /* LRU clock or LFU counter, little-endian */
    uint32_t hash;        /* the key's dict hash, low 32 bits (kept by the dict: dict_keep_hash) */
    unsigned char data[]; /* length fields, [TTL block], key, value */
};

/* The shape of a record: everything its size and flags derive from. */
typedef struct rk_shape {
    int type, enc, ttl;
    size_t klen;
    size_t vlen; /* string length (EMB, RAW); 0 otherwise */
    size_t cap;  /* RAW: room for the value; 0 otherwise */
} rk_shape;

struct db {
    int id;
    dict dict;
    rkey **expires; /* every record with a TTL, in no order */
    size_t nexpires, expires_cap;
    long long avg_ttl;
    size_t mem;
};

/* --- record layout --- */

static inline int rk_enc(const rkey *k) { return (k->flags >> RK_ENC_SHIFT) & 3; }
static inline int rk_has_ttl(const rkey *k) { return (k->flags & RK_TTL) != 0; }
static inline size_t rk_wbytes(uint8_t flags) { return (size_t)1 << (flags >> RK_W_SHIFT); }
static inline size_t rk_nfields(uint8_t flags) { return ((flags >> RK_ENC_SHIFT) & 3) == RK_RAW ? 3 : 2; }

/* Length field i (0 klen, 1 vlen, 2 cap). */
static size_t rk_field(const rkey *k, int i) {
    const unsigned char *p = k->data + (size_t)i * rk_wbytes(k->flags);
    switch (k->flags >> RK_W_SHIFT) {
        case 0: return p[0];
        case 1: {
            uint16_t v;
            memcpy(&v, p, 2);
            return v;
        }
        default: {
            uint32_t v;
            memcpy(&v, p, 4);
            return v;
        }
    }
}

static void rk_set_field(rkey *k, int i, size_t val) {
    unsigned char *p = k->data + (size_t)i * rk_wbytes(k->flags);
    switch (k->flags >> RK_W_SHIFT) {
        case 0: p[0] = (unsigned char)val; break;
        case 1: {
            uint16_t v = (uint16_t)val;
            memcpy(p, &v, 2);
            break;
        }
        default: {
            uint32_t v = (uint32_t)val;
            memcpy(p, &v, 4);
            break;
        }
    }
}

static inline unsigned char *rk_ttlp(const rkey *k) {
    return (unsigned char *)k->data + rk_wbytes(k->flags) * rk_nfields(k->flags);
}

static inline unsigned char *rk_keyp(const rkey *k) { return rk_ttlp(k) + (rk_has_ttl(k) ? RK_TTL_BYTES : 0); }

static inline unsigned char *rk_valp(const rkey *k) { return rk_keyp(k) + rk_field(k, 0); }

static inline uint32_t rk_access(const rkey *k) {
    return (uint32_t)k->access[0] | (uint32_t)k->access[1] << 8 | (uint32_t)k->access[2] << 16;
}

static inline void rk_set_access(rkey *k, uint32_t v) {
    k->access[0] = (uint8_t)v;
    k->access[1] = (uint8_t)(v >> 8);
    k->access[2] = (uint8_t)(v >> 16);
}

/* An access by a lookup: the LRU clock (stored only when it changed, so a read keeps
 * the cache line clean within a tick) or an LFU increment with decay. */
static inline void rk_touch(rkey *k) {
    uint32_t old = rk_access(k);
    uint32_t now = evict_lfu_mode() ? evict_lfu_touch(old) : evict_lru_clock();
    if (now != old) rk_set_access(k, now);
}

/* The cached size of a pointer-held value (PTR records only). */
static inline uint64_t rk_ptr_mem(const rkey *k) {
    uint64_t v;
    memcpy(&v, rk_valp(k) + sizeof(void *), sizeof(v));
    return v;
}

/* Measure a PTR record's value again and carry the change into the db's total. */
static void rk_ptr_measure(db *d, rkey *k) {
    size_t (*fn)(const void *) = type_of(k)->memory;
    void *p;
    memcpy(&p, rk_valp(k), sizeof(p));
    uint64_t now = fn && p ? (uint64_t)fn(p) : 0, was = rk_ptr_mem(k);
    memcpy(rk_valp(k) + sizeof(void *), &now, sizeof(now));
    d->mem += (size_t)now - (size_t)was;
}

static uint32_t rk_ttl_index(const rkey *k) {
    uint32_t i;
    memcpy(&i, rk_ttlp(k) + 8, 4);
    return i;
}

static void rk_set_ttl_index(rkey *k, size_t i) {
    uint32_t v = (uint32_t)i;
    memcpy(rk_ttlp(k) + 8, &v, 4);
}

static void rk_set_expire_ms(rkey *k, long long when) {
    int64_t v = when;
    memcpy(rk_ttlp(k), &v, 8);
}

static uint8_t rk_flags_of(const rk_shape *s) {
    size_t m = s->klen;
    if (s->vlen > m) m = s->vlen;
    if (s->cap > m) m = s->cap;
    unsigned w = m <= 0xff ? 0 : m <= 0xffff ? 1 : 2;
    return (uint8_t)((unsigned)s->type | (unsigned)s->enc << RK_ENC_SHIFT | (s->ttl ? RK_TTL : 0) | w << RK_W_SHIFT);
}

static size_t rk_value_bytes(const rk_shape *s) {
    switch (s->enc) {
        case RK_EMB: return s->vlen;
        case RK_RAW: return s->cap;
        case RK_INT: return sizeof(int64_t);
        default: return RK_PTR_BYTES;
    }
}

static size_t rk_size_of(const rk_shape *s) {
    uint8_t f = rk_flags_of(s);
    size_t n =
        offsetof(rkey, data) + rk_wbytes(f) * rk_nfields(f) + (s->ttl ? RK_TTL_BYTES : 0) + s->klen + rk_value_bytes(s);
    return n < sizeof(rkey) ? sizeof(rkey) : n;
}

static rk_shape rk_shape_of(const rkey *k) {
    rk_shape s = {rkey_type(k), rk_enc(k), rk_has_ttl(k), rk_field(k, 0), 0, 0};
    if (s.enc == RK_EMB || s.enc == RK_RAW) s.vlen = rk_field(k, 1);
    if (s.enc == RK_RAW) s.cap = rk_field(k, 2);
    return s;
}

/* Make the block k (at least rk_size_of(s) bytes) a record of shape s with its key
 * written; the value and expire are the caller's. */
static rkey *rk_init(db *d, rkey *k, const rk_shape *s, const char *key) {
    k->node.next = NULL;
    k->flags = rk_flags_of(s);
    rk_set_access(k, evict_access_new());
    rk_set_field(k, 0, s->klen);
    rk_set_field(k, 1, s->vlen);
    if (s->enc == RK_RAW) rk_set_field(k, 2, s->cap);
    if (s->klen) memcpy(rk_keyp(k), key, s->klen);
    if (s->enc == RK_PTR) memset(rk_valp(k), 0, RK_PTR_BYTES);
    d->mem += malloc_usable_size(k);
    return k;
}

static rkey *rk_alloc(db *d, const rk_shape *s, const char *key) { return rk_init(d, xmalloc(rk_size_of(s)), s, key); }

/* Free a record; with freeval, also its pointer-held value. Returns what the record
 * counted in its db's mem. */
static size_t rk_free_bytes(rkey *k, int freeval) {
    if (freeval && rk_enc(k) == RK_PTR) {
        void (*fn)(void *) = type_of(k)->free;
        if (fn) fn(rkey_ptr(k));
    }
    size_t n = malloc_usable_size(k);
    if (rk_enc(k) == RK_PTR) n += (size_t)rk_ptr_mem(k);
    free(k);
    return n;
}

static void rk_free(db *d, rkey *k, int freeval) { d->mem -= rk_free_bytes(k, freeval); }

/* Free a record and its value, the value through the lazyfree queue if lazy and it is
 * big enough to be worth it (counted there as objects pending objects). Returns what
 * the record counted in its db's mem. */
static size_t rk_drop_bytes(rkey *k, int lazy, size_t objects) {
    if (lazy && rk_enc(k) == RK_PTR) {
        const value_type *t = type_of(k);
        void *p = rkey_ptr(k);
        if (lazyfree_worth(t, p)) {
            lazyfree_value(t, p, (size_t)rk_ptr_mem(k), objects);
            return rk_free_bytes(k, 0);
        }
    }
    return rk_free_bytes(k, 1);
}

static void rk_drop(db *d, rkey *k, int lazy) { d->mem -= rk_drop_bytes(k, lazy, 1); }

/* A new record of shape s named key, holding old's value (converted to s's encoding where
 * it is a string: min(old,new) bytes kept, growth zero-filled), old's access field, and
 * old's expire if both have a TTL. old is left untouched (a pointer value's size is then
 * counted twice until old is freed). */
static rkey *rk_clone(db *d, const rkey *old, const rk_shape *s, const char *key) {
    rkey *k = rk_alloc(d, s, key);
    rk_set_access(k, rk_access(old));
    if (s->ttl && rk_has_ttl(old)) memcpy(rk_ttlp(k), rk_ttlp(old), 8);
    int oenc = rk_enc(old);
    if (s->enc == RK_PTR) {
        if (oenc == RK_PTR) {
            memcpy(rk_valp(k), rk_valp(old), RK_PTR_BYTES);
            d->mem += (size_t)rk_ptr_mem(old);
        }
    } else if (s->enc == RK_INT) {
        if (oenc == s->enc) memcpy(rk_valp(k), rk_valp(old), 8);
    } else if (oenc != RK_PTR) {
        char tmp[UTIL_LLSTR_SIZE];
        size_t olen;
        const char *ov = rkey_str(old, &olen, tmp);
        size_t n = olen < s->vlen ? olen : s->vlen;
        memcpy(rk_valp(k), ov, n);
        memset(rk_valp(k) + n, 0, s->vlen - n);
    }
    return k;
}

/* --- keyspace events --- */

typedef struct db_subscriber {
    db_event_fn *fn; /* NULL: a free slot */
    void *priv;
    int removals_only; /* only DB_EV_EXPIRED and DB_EV_EVICTED */
} db_subscriber;

static db_subscriber *db_subs;
static int db_nsubs_slots; /* slots allocated */
static int db_nsubs;       /* slots in use */
static int db_nsubs_every; /* of which want every event */

static int subscribe(db_event_fn *fn, void *priv, int removals_only) {
    int h = 0;
    while (h < db_nsubs_slots && db_subs[h].fn) h++;
    if (h == db_nsubs_slots) {
        int n = db_nsubs_slots ? db_nsubs_slots * 2 : 4;
        db_subs = xrealloc(db_subs, sizeof(*db_subs) * (size_t)n);
        memset(db_subs + db_nsubs_slots, 0, sizeof(*db_subs) * (size_t)(n - db_nsubs_slots));
        db_nsubs_slots = n;
    }
    db_subs[h] = (db_subscriber){fn, priv, removals_only};
    db_nsubs++;
    if (!removals_only) db_nsubs_every++;
    return h;
}

int db_subscribe(db_event_fn *fn, void *priv) { return subscribe(fn, priv, 0); }
int db_subscribe_removals(db_event_fn *fn, void *priv) { return subscribe(fn, priv, 1); }

void db_unsubscribe(int h) {
    if (h < 0 || h >= db_nsubs_slots || !db_subs[h].fn) return;
    db_subs[h].fn = NULL;
    db_nsubs--;
    if (!db_subs[h].removals_only) db_nsubs_every--;
}

static inline int is_removal(db_event_type type) { return type == DB_EV_EXPIRED || type == DB_EV_EVICTED; }

static void db_emit_slow(const db_event *ev) {
    int removal = is_removal(ev->type);
    for (int h = 0; h < db_nsubs_slots; h++)
        if (db_subs[h].fn && (removal || !db_subs[h].removals_only)) db_subs[h].fn(db_subs[h].priv, ev);
}

/* Whether anyone wants an event of this type. */
static inline int db_wanted(db_event_type type) { return db_nsubs_every || (db_nsubs && is_removal(type)); }

static inline void db_emit(db *d, db_event_type type, const char *key, size_t klen, db *other) {
    if (d->id < 0) return;
    if (!is_removal(type)) storage_dirty++;
    if (db_wanted(type)) {
        db_event ev = {type, d, key, klen, other};
        db_emit_slow(&ev);
    }
}

static void db_emit_rec(db *d, db_event_type type, const rkey *k) {
    if (d->id < 0) return;
    if (!is_removal(type)) storage_dirty++;
    if (db_wanted(type)) {
        db_event ev = {type, d, NULL, 0, NULL};
        ev.key = rkey_key(k, &ev.klen);
        db_emit_slow(&ev);
    }
}

/* --- the expires array --- */

/* Arrays of at least this many bytes live in their own mapping and grow with mremap,
 * which moves page-table entries instead of copying: no insert pays O(n) for a copy. */
#define DB_EXPIRES_MMAP_BYTES (256 * 1024)

static rkey **db_expires_resize(rkey **old, size_t oldcap, size_t newcap) {
    size_t ob = oldcap * sizeof(rkey *), nb = newcap * sizeof(rkey *);
    int omap = ob >= DB_EXPIRES_MMAP_BYTES, nmap = nb >= DB_EXPIRES_MMAP_BYTES;
    void *p;
    if (!omap && !nmap) {
        p = xrealloc(old, nb);
    } else if (omap && nmap) {
        p = mremap(old, ob, nb, MREMAP_MAYMOVE);
        if (p == MAP_FAILED) xalloc_fail(nb);
    } else {
        /* Crossing the threshold: the copy is of fewer than DB_EXPIRES_MMAP_BYTES. */
        size_t keep = ob < nb ? ob : nb;
        if (nmap) {
            p = mmap(NULL, nb, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) xalloc_fail(nb);
            memcpy(p, old, keep);
            free(old);
        } else {
            p = xmalloc(nb);
            memcpy(p, old, keep);
            munmap(old, ob);
        }
    }
    return p;
}

static void db_expires_free(rkey **expires, size_t cap) {
    if (cap * sizeof(rkey *) >= DB_EXPIRES_MMAP_BYTES) munmap(expires, cap * sizeof(rkey *));
    else free(expires);
}

static void db_expires_release(db *d) {
    db_expires_free(d->expires, d->expires_cap);
    d->expires = NULL;
    d->nexpires = d->expires_cap = 0;
}

static void db_expires_add(db *d, rkey *k) {
    if (d->nexpires == d->expires_cap) {
        size_t cap = d->expires_cap ? d->expires_cap * 2 : 16;
        d->expires = db_expires_resize(d->expires, d->expires_cap, cap);
        d->expires_cap = cap;
    }
    rk_set_ttl_index(k, d->nexpires);
    d->expires[d->nexpires++] = k;
}

static void db_expires_remove(db *d, const rkey *k) {
    size_t i = rk_ttl_index(k);
    assert(i < d->nexpires && d->expires[i] == k);
    rkey *last = d->expires[--d->nexpires];
    if (last != k) {
        d->expires[i] = last;
        rk_set_ttl_index(last, i);
    }
    if (d->expires_cap > 16 && d->nexpires < d->expires_cap / 4) {
        size_t cap = d->expires_cap / 2;
        d->expires = db_expires_resize(d->expires, d->expires_cap, cap);
        d->expires_cap = cap;
    }
}

/* --- linking --- */

static const char *db_keyof(const dict_node *n, size_t *len) { return rkey_key((const rkey *)n, len); }

/* Put nw where old is (chain and expires array), then free old (and its pointer value
 * if freeval). nw has old's key; its TTL block, if any, need not be indexed yet. h is
 * the key's dict_hash. */
static void db_replace_h(db *d, rkey *old, rkey *nw, int freeval, uint64_t h) {
    dict_node **ref = dict_ref_of_h(&d->dict, &old->node, h);
    assert(ref != NULL);
    nw->node.next = old->node.next;
    nw->hash = old->hash;
    *ref = &nw->node;
    if (rk_has_ttl(old) && rk_has_ttl(nw)) {
        size_t i = rk_ttl_index(old);
        d->expires[i] = nw;
        rk_set_ttl_index(nw, i);
    } else if (rk_has_ttl(old)) {
        db_expires_remove(d, old);
    } else if (rk_has_ttl(nw)) {
        db_expires_add(d, nw);
    }
    if (freeval) rk_drop(d, old, lazyfree_cfg.lazy_server_del);
    else rk_free(d, old, 0);
}

static void db_replace(db *d, rkey *old, rkey *nw, int freeval) {
    size_t len;
    const char *key = rkey_key(old, &len);
    db_replace_h(d, old, nw, freeval, dict_hash(key, len));
}

static void db_link_h(db *d, rkey *k, uint64_t h) {
    dict_add_h(&d->dict, &k->node, h);
    if (rk_has_ttl(k)) db_expires_add(d, k);
}

static void db_link(db *d, rkey *k) {
    size_t len;
    const char *key = rkey_key(k, &len);
    db_link_h(d, k, dict_hash(key, len));
}

static void db_unlink(db *d, rkey *k) {
    size_t len;
    const char *key = rkey_key(k, &len);
    dict_node *n = dict_unlink(&d->dict, key, len);
    assert(n == &k->node);
    (void)n;
    if (rk_has_ttl(k)) db_expires_remove(d, k);
}

static inline int rk_expired(const rkey *k) { return rk_has_ttl(k) && storage_now_ms > rkey_expire(k); }

/* Remove a record because its TTL passed: counted, reported, freed. */
static void db_expire_rec(db *d, rkey *k) {
    db_unlink(d, k);
    storage_stat.expired_keys++;
    db_emit_rec(d, DB_EV_EXPIRED, k);
    rk_drop(d, k, lazyfree_cfg.lazy_expire);
}

/* k (found in d, or NULL) if it is live; deleted (NULL returned) if it expired, unless
 * reading while expiry is paused. */
static inline rkey *db_live_as(db *d, rkey *k, int reading) {
    if (!k) return NULL;
    if (rk_expired(k)) {
        if (!reading || !storage_expiry_paused) db_expire_rec(d, k);
        return NULL;
    }
    rk_touch(k);
    if (rk_enc(k) == RK_PTR) rk_ptr_measure(d, k); /* picks up what the last command changed in place */
    return k;
}

static rkey *db_live(db *d, rkey *k) { return db_live_as(d, k, 0); }

/* The live record for key, deleting it if expired. */
static rkey *db_lookup(db *d, const char *key, size_t klen) {
    return db_live(d, (rkey *)dict_find(&d->dict, key, klen));
}

static rkey *db_lookup_r(db *d, const char *key, size_t klen) {
    return db_live_as(d, (rkey *)dict_find(&d->dict, key, klen), 1);
}

/* --- databases --- */

db *db_create(int id) {
    db *d = xcalloc(1, sizeof(*d));
    d->id = id;
    dict_init(&d->dict, db_keyof);
    dict_keep_hash(&d->dict, offsetof(rkey, hash));
    return d;
}

static void db_clear_cb(void *priv, dict_node *n) { rk_free(priv, (rkey *)n, 1); }

static size_t db_clear(db *d) {
    size_t n = dict_size(&d->dict);
    dict_clear(&d->dict, db_clear_cb, d);
    db_expires_release(d);
    d->avg_ttl = 0;
    return n;
}

void db_destroy(db *d) {
    if (!d) return;
    db_clear(d);
    free(d);
}

int db_id(const db *d) { return d->id; }
size_t db_size(const db *d) { return dict_size(&d->dict); }
size_t db_expires_size(const db *d) { return d->nexpires; }
long long db_avg_ttl(const db *d) { return d->nexpires ? d->avg_ttl : 0; }

size_t db_flush(db *d) {
    db_emit(d, DB_EV_FLUSHED, NULL, 0, NULL);
    return db_clear(d);
}

/* A flushed db's tables, freed by the lazyfree queue: table t's bucket b is the next to
 * empty. Nothing else points into them once detached. */
typedef struct db_detached {
    dict dict;
    int t;
    unsigned long b;
    rkey **expires;
    size_t expires_cap;
} db_detached;

/* A record costs DB_DETACHED_RECORD units of the step's budget, an empty bucket one. */
#define DB_DETACHED_RECORD 16

static int db_detached_step(void *obj, size_t units, lazyfree_progress *p) {
    db_detached *x = obj;
    size_t budget = units * DB_DETACHED_RECORD;
    while (x->t < 2) {
        if (budget == 0) return 0;
        if (x->b >= x->dict.size[x->t]) {
            x->t++;
            x->b = 0;
            continue;
        }
        dict_node **slot = &x->dict.table[x->t][x->b];
        dict_node *n = *slot;
        if (!n) {
            x->b++;
            budget--;
            continue;
        }
        *slot = n->next;
        /* A big value inside goes to a job of its own, already counted in this one's. */
        p->bytes += rk_drop_bytes((rkey *)n, 1, 0) + RK_MALLOC_HEADER;
        p->objects++;
        budget = budget > DB_DETACHED_RECORD ? budget - DB_DETACHED_RECORD : 0;
    }
    p->bytes += dict_table_bytes(&x->dict) + x->expires_cap * sizeof(rkey *);
    dict_release(&x->dict);
    db_expires_free(x->expires, x->expires_cap);
    free(x);
    return 1;
}

size_t db_flush_lazy(db *d) {
    size_t n = dict_size(&d->dict);
    if (n == 0) return db_flush(d);
    db_emit(d, DB_EV_FLUSHED, NULL, 0, NULL);
    db_detached *x = xcalloc(1, sizeof(*x));
    x->dict = d->dict;
    x->expires = d->expires;
    x->expires_cap = d->expires_cap;
    size_t bytes = d->mem + n * RK_MALLOC_HEADER + dict_table_bytes(&d->dict) + d->expires_cap * sizeof(rkey *);
    dict_init(&d->dict, db_keyof);
    dict_keep_hash(&d->dict, offsetof(rkey, hash));
    d->expires = NULL;
    d->nexpires = d->expires_cap = 0;
    d->mem = 0;
    d->avg_ttl = 0;
    lazyfree_job_add(db_detached_step, x, n, bytes);
    return n;
}

void db_swap(db *a, db *b) {
    if (a == b) return;
    db_emit(a, DB_EV_SWAPPED, NULL, 0, b);
    db_emit(b, DB_EV_SWAPPED, NULL, 0, a);
    db tmp = *a;
    *a = *b;
    *b = tmp;
    b->id = a->id;
    a->id = tmp.id;
}

size_t db_memory(const db *d) {
    return sizeof(*d) + d->mem + dict_table_bytes(&d->dict) + d->expires_cap * sizeof(rkey *);
}

void db_table_overhead(const db *d, size_t *main, size_t *expires) {
    *main = dict_table_bytes(&d->dict);
    *expires = d->expires_cap * sizeof(rkey *);
}

/* --- records --- */

const char *rkey_key(const rkey *k, size_t *len) {
    *len = rk_field(k, 0);
    return (const char *)rk_keyp(k);
}

int rkey_type(const rkey *k) { return k->flags & RK_TYPE_MASK; }

long long rkey_expire(const rkey *k) {
    if (!rk_has_ttl(k)) return -1;
    int64_t v;
    memcpy(&v, rk_ttlp(k), 8);
    return v;
}

int rkey_is_int(const rkey *k) { return rk_enc(k) == RK_INT; }

long long rkey_int(const rkey *k) {
    if (rk_enc(k) != RK_INT) return 0;
    int64_t v;
    memcpy(&v, rk_valp(k), 8);
    return v;
}

const char *rkey_str(const rkey *k, size_t *len, char *tmp) {
    switch (rk_enc(k)) {
        case RK_INT: *len = (size_t)util_ll2str(tmp, rkey_int(k)); return tmp;
        case RK_PTR: *len = 0; return NULL;
        default: *len = rk_field(k, 1); return (const char *)rk_valp(k);
    }
}

size_t rkey_strlen(const rkey *k) {
    char tmp[UTIL_LLSTR_SIZE];
    switch (rk_enc(k)) {
        case RK_INT: return (size_t)util_ll2str(tmp, rkey_int(k));
        case RK_PTR: return 0;
        default: return rk_field(k, 1);
    }
}

void *rkey_ptr(const rkey *k) {
    if (rk_enc(k) != RK_PTR) return NULL;
    void *p;
    memcpy(&p, rk_valp(k), sizeof(p));
    return p;
}

void rkey_set_ptr(rkey *k, void *ptr) {
    if (rk_enc(k) == RK_PTR) memcpy(rk_valp(k), &ptr, sizeof(ptr));
}

const char *rkey_encoding(const rkey *k) { return type_of(k)->encoding(k); }

/* --- the string type: its values live in the record --- */

static const char *string_encoding(const rkey *k) {
    switch (rk_enc(k)) {
        case RK_INT: return "int";
        case RK_EMB: return rk_field(k, 1) <= RK_EMBSTR_MAX ? "embstr" : "raw";
        default: return "raw";
    }
}

static int string_rdb_type(const rkey *k) {
    (void)k;
    return RDB_TYPE_STRING;
}

static int string_rdb_save(const rkey *k, rdb_writer *w) {
    if (rkey_is_int(k)) return rdb_save_ll_string(w, rkey_int(k));
    size_t len;
    const char *v = rkey_str(k, &len, NULL);
    return rdb_save_string(w, v, len);
}

static rkey *string_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen) {
    (void)rdbtype;
    size_t len;
    char buf[512];
    char *v = rdb_load_string_buf(r, buf, sizeof(buf), &len);
    if (!v) return NULL;
    rkey *k = db_set_string(d, key, klen, v, len, 0);
    if (v != buf) free(v);
    return k;
}

static const int string_rdb_types[] = {RDB_TYPE_STRING, -1};

const value_type string_type = {.name = "string",
                                .id = OBJ_STRING,
                                .encoding = string_encoding,
                                .rdb_type = string_rdb_type,
                                .rdb_save = string_rdb_save,
                                .rdb_load_types = string_rdb_types,
                                .rdb_load = string_rdb_load,
                                .aof_rewrite = string_aof_rewrite};

/* --- lookups --- */

void (*db_miss_hook)(const db *d, const char *key, size_t klen);

rkey *db_lookup_read(db *d, const char *key, size_t klen) {
    rkey *k = db_lookup_r(d, key, klen);
    if (k) {
        storage_stat.keyspace_hits++;
    } else {
        storage_stat.keyspace_misses++;
        if (db_miss_hook) db_miss_hook(d, key, klen);
    }
    return k;
}

rkey *db_lookup_read_quiet(db *d, const char *key, size_t klen) {
    rkey *k = db_lookup_r(d, key, klen);
    if (k) storage_stat.keyspace_hits++;
    else storage_stat.keyspace_misses++;
    return k;
}

rkey *db_lookup_write(db *d, const char *key, size_t klen) { return db_lookup(d, key, klen); }

int db_key_alive(const db *d, const rkey *k) {
    (void)d;
    return !rk_expired(k);
}

/* --- writes --- */

/* Install a record of shape s for key holding the vbytes at val, replacing old (if any,
 * keeping its expire when s has a TTL) or adding it. Reuses old in place when the shape
 * is equal. The value is written before old is freed, so val may point into old. h is
 * the key's dict_hash (computed once by the caller for its lookup too). */
static rkey *db_put(db *d, rkey *old, const rk_shape *s, const char *key, const void *val, size_t vbytes, uint64_t h) {
    rkey *k;
    if (old && old->flags == rk_flags_of(s) && rk_enc(old) != RK_PTR &&
        (s->enc != RK_EMB || rk_field(old, 1) == s->vlen)) {
        k = old;
        if (vbytes) memmove(rk_valp(k), val, vbytes);
        return k;
    }
    k = rk_alloc(d, s, key);
    if (vbytes) memcpy(rk_valp(k), val, vbytes);
    if (old) {
        rk_set_access(k, rk_access(old)); /* as Redis keeps an LFU count on overwrite */
        if (s->ttl) memcpy(rk_ttlp(k), rk_ttlp(old), 8);
        db_replace_h(d, old, k, 1, h);
    } else {
        db_link_h(d, k, h);
    }
    return k;
}

/* Whether p points into record k's allocation (a range test on addresses). */
static int rk_holds(const rkey *k, const void *p) {
    uintptr_t b = (uintptr_t)k, c = (uintptr_t)p;
    return c >= b && c < b + malloc_usable_size((void *)k);
}

/* key and val may point into the key's current record (read before anything is freed). */
rkey *db_set_string(db *d, const char *key, size_t klen, const char *val, size_t vlen, int flags) {
    long long iv = 0;
    int keepttl = flags & DB_SET_KEEPTTL;
    int isint = !(flags & DB_SET_NOINT) && vlen <= 20 && util_str2ll(val, vlen, &iv);
    char *copy = NULL;
    uint64_t h = dict_hash(key, klen); /* once, for the lookup and the add or replace */
    rkey *cur = (rkey *)dict_find_h(&d->dict, key, klen, h);
    if (cur && (rk_holds(cur, key) || rk_holds(cur, val))) {
        /* Lazy expiry below may free cur: keep the bytes. */
        copy = xmalloc(klen + vlen + 1);
        memcpy(copy, key, klen);
        memcpy(copy + klen, val, vlen);
        key = copy;
        val = copy + klen;
    }
    rkey *old = db_live(d, cur);
    rk_shape s = {OBJ_STRING, isint ? RK_INT : RK_EMB, old && keepttl && rk_has_ttl(old), klen, isint ? 0 : vlen, 0};
    int64_t v = iv;
    rkey *k = isint ? db_put(d, old, &s, key, &v, 8, h) : db_put(d, old, &s, key, val, vlen, h);
    if (copy) free(copy); /* the allocator's free(NULL) costs a call per SET */
    db_emit_rec(d, old ? DB_EV_MODIFIED : DB_EV_NEW, k);
    return k;
}

size_t db_string_value_offset(size_t klen, size_t vlen) {
    rk_shape s = {OBJ_STRING, RK_EMB, 0, klen, vlen, 0};
    uint8_t f = rk_flags_of(&s);
    return offsetof(rkey, data) + rk_wbytes(f) * rk_nfields(f) + klen;
}

rkey *db_set_string_owned(db *d, const char *key, size_t klen, char *buf, size_t vlen, int flags) {
    size_t off = db_string_value_offset(klen, vlen);
    const char *val = buf + off;
    uint64_t h = dict_hash(key, klen);
    rkey *cur = (rkey *)dict_find_h(&d->dict, key, klen, h);
    if (vlen < 64 || (cur && rk_holds(cur, key))) { /* short (maybe an integer): no gain */
        rkey *k = db_set_string(d, key, klen, val, vlen, flags);
        free(buf);
        return k;
    }
    rkey *old = db_live(d, cur);
    if (old && (flags & DB_SET_KEEPTTL) && rk_has_ttl(old)) { /* the TTL block goes before the key: copy */
        rkey *k = db_set_string(d, key, klen, val, vlen, flags);
        free(buf);
        return k;
    }
    rk_shape s = {OBJ_STRING, RK_EMB, 0, klen, vlen, 0};
    rkey *k = rk_init(d, (rkey *)buf, &s, key);
    if (old) {
        rk_set_access(k, rk_access(old)); /* as db_put */
        db_replace_h(d, old, k, 1, h);
    } else {
        db_link_h(d, k, h);
    }
    db_emit_rec(d, old ? DB_EV_MODIFIED : DB_EV_NEW, k);
    return k;
}

/* key may point into the key's current record. */
rkey *db_set_int(db *d, const char *key, size_t klen, long long v) {
    char *copy = NULL;
    uint64_t h = dict_hash(key, klen);
    rkey *cur = (rkey *)dict_find_h(&d->dict, key, klen, h);
    if (cur && rk_holds(cur, key)) {
        copy = xmalloc(klen ? klen : 1);
        memcpy(copy, key, klen);
        key = copy;
    }
    rkey *old = db_live(d, cur);
    rk_shape s = {OBJ_STRING, RK_INT, old && rk_has_ttl(old), klen, 0, 0};
    int64_t iv = v;
    rkey *k = db_put(d, old, &s, key, &iv, 8, h);
    free(copy);
    db_emit_rec(d, old ? DB_EV_MODIFIED : DB_EV_NEW, k);
    return k;
}

/* Shrinking keeps the room (the capacity is not given back). */
char *db_string_resize(db *d, rkey **kp, size_t newlen) {
    rkey *k = *kp;
    rk_shape s = rk_shape_of(k);
    if (s.enc == RK_RAW && newlen <= s.cap) {
        if (newlen > s.vlen) memset(rk_valp(k) + s.vlen, 0, newlen - s.vlen);
        rk_set_field(k, 1, newlen);
        db_emit_rec(d, DB_EV_MODIFIED, k);
        return (char *)rk_valp(k);
    }
    size_t oldlen = rkey_strlen(k);
    /* Exact size for a first resize of a SET value that shrinks or keeps its length;
     * headroom as sds once it grows. */
    size_t cap = newlen;
    if (newlen > oldlen) cap = newlen < RK_PREALLOC_MAX ? newlen * 2 : newlen + RK_PREALLOC_MAX;
    rk_shape ns = {OBJ_STRING, RK_RAW, s.ttl, s.klen, newlen, cap};
    rkey *nk;
    if (s.enc == RK_RAW && rk_flags_of(&ns) == k->flags) {
        dict_node **ref = dict_ref_of(&d->dict, &k->node);
        assert(ref != NULL);
        d->mem -= malloc_usable_size(k);
        nk = xrealloc(k, rk_size_of(&ns));
        d->mem += malloc_usable_size(nk);
        *ref = &nk->node;
        if (ns.ttl) d->expires[rk_ttl_index(nk)] = nk;
        rk_set_field(nk, 1, newlen);
        rk_set_field(nk, 2, cap);
        memset(rk_valp(nk) + s.vlen, 0, newlen - s.vlen);
    } else {
        size_t klen;
        const char *key = rkey_key(k, &klen);
        nk = rk_clone(d, k, &ns, key);
        db_replace(d, k, nk, 1);
    }
    *kp = nk;
    db_emit_rec(d, DB_EV_MODIFIED, nk);
    return (char *)rk_valp(nk);
}

/* A record already raw is returned as is; an int or embstr one is rebuilt raw with room
 * for exactly its bytes (db_string_resize's path for a first resize, without the event). */
char *db_string_unshare(db *d, rkey **kp) {
    rkey *k = *kp;
    rk_shape s = rk_shape_of(k);
    if (s.enc == RK_RAW) return (char *)rk_valp(k);
    size_t len = rkey_strlen(k), klen;
    rk_shape ns = {OBJ_STRING, RK_RAW, s.ttl, s.klen, len, len};
    const char *key = rkey_key(k, &klen);
    rkey *nk = rk_clone(d, k, &ns, key);
    db_replace(d, k, nk, 1);
    *kp = nk;
    return (char *)rk_valp(nk);
}

rkey *db_add_ptr(db *d, const char *key, size_t klen, int type, void *ptr) {
    rk_shape s = {type, RK_PTR, 0, klen, 0, 0};
    rkey *k = rk_alloc(d, &s, key);
    memcpy(rk_valp(k), &ptr, sizeof(ptr));
    rk_ptr_measure(d, k);
    db_link(d, k);
    db_emit_rec(d, DB_EV_NEW, k);
    return k;
}

rkey *db_set_ptr(db *d, const char *key, size_t klen, int type, void *ptr) {
    rkey *old = db_lookup(d, key, klen);
    int existed = old != NULL;
    if (old) {
        db_unlink(d, old);
        rk_drop(d, old, lazyfree_cfg.lazy_server_del);
    }
    rk_shape s = {type, RK_PTR, 0, klen, 0, 0};
    rkey *k = rk_alloc(d, &s, key);
    memcpy(rk_valp(k), &ptr, sizeof(ptr));
    rk_ptr_measure(d, k);
    db_link(d, k);
    db_emit_rec(d, existed ? DB_EV_MODIFIED : DB_EV_NEW, k);
    return k;
}

rkey *db_set_expire(db *d, rkey *k, long long when_ms) {
    if (!rk_has_ttl(k)) {
        rk_shape s = rk_shape_of(k);
        s.ttl = 1;
        size_t klen;
        const char *key = rkey_key(k, &klen);
        rkey *nk = rk_clone(d, k, &s, key);
        db_replace(d, k, nk, 0);
        k = nk;
    }
    rk_set_expire_ms(k, when_ms);
    db_emit_rec(d, DB_EV_MODIFIED, k);
    return k;
}

/* A key without a TTL is returned as is, with no event. */
rkey *db_persist(db *d, rkey *k) {
    if (!rk_has_ttl(k)) return k;
    rk_shape s = rk_shape_of(k);
    s.ttl = 0;
    size_t klen;
    const char *key = rkey_key(k, &klen);
    rkey *nk = rk_clone(d, k, &s, key);
    db_replace(d, k, nk, 0);
    db_emit_rec(d, DB_EV_MODIFIED, nk);
    return nk;
}

static int db_remove(db *d, const char *key, size_t klen, db_event_type type, int lazy) {
    rkey *k = db_lookup(d, key, klen);
    if (!k) return 0;
    db_unlink(d, k);
    db_emit_rec(d, type, k);
    rk_drop(d, k, lazy);
    return 1;
}

int db_delete(db *d, const char *key, size_t klen) { return db_remove(d, key, klen, DB_EV_DELETED, 0); }
int db_delete_lazy(db *d, const char *key, size_t klen, int lazy) {
    return db_remove(d, key, klen, DB_EV_DELETED, lazy);
}
int db_evict(db *d, const char *key, size_t klen, int lazy) { return db_remove(d, key, klen, DB_EV_EVICTED, lazy); }

/* Renaming a key to itself returns it unchanged, with no event (as Redis).
 * src and dst may point into records (they are read before anything is freed). */
rkey *db_rename(db *d, const char *src, size_t slen, const char *dst, size_t dlen) {
    rkey *k = db_lookup(d, src, slen);
    if (!k) return NULL;
    if (slen == dlen && memcmp(src, dst, slen) == 0) return k;
    rk_shape s = rk_shape_of(k);
    s.klen = dlen;
    rkey *nk = rk_clone(d, k, &s, dst);
    dst = rkey_key(nk, &dlen);
    src = rkey_key(k, &slen);
    rkey *old = db_lookup(d, dst, dlen);
    if (old) {
        db_unlink(d, old);
        rk_drop(d, old, lazyfree_cfg.lazy_server_del);
    }
    /* Take the old record out (its index slot goes to the new one), keep its value. */
    if (s.ttl) {
        size_t i = rk_ttl_index(k);
        d->expires[i] = nk;
        rk_set_ttl_index(nk, i);
    }
    dict_node *n = dict_unlink(&d->dict, src, slen);
    assert(n == &k->node);
    (void)n;
    db_emit(d, DB_EV_RENAMED_FROM, src, slen, NULL);
    rk_free(d, k, 0);
    dict_add(&d->dict, &nk->node);
    db_emit(d, DB_EV_RENAMED_TO, dst, dlen, NULL);
    return nk;
}

int db_move(db *src, db *dst, const char *key, size_t klen) {
    if (src == dst) return 0;
    rkey *k = db_lookup(src, key, klen);
    if (!k) return 0;
    key = rkey_key(k, &klen); /* stable: k moves to dst, it is not freed */
    if (db_lookup(dst, key, klen)) return 0;
    db_unlink(src, k);
    size_t sz = malloc_usable_size(k) + (rk_enc(k) == RK_PTR ? (size_t)rk_ptr_mem(k) : 0);
    src->mem -= sz;
    dst->mem += sz;
    db_link(dst, k);
    db_emit(src, DB_EV_MOVED_FROM, key, klen, dst);
    db_emit(dst, DB_EV_MOVED_TO, key, klen, src);
    return 1;
}

/* A string is copied with its record's shape (a raw value stays raw, with its room);
 * a pointer-held value through its type's dup. The copy gets a fresh access field, as
 * Redis's COPY makes a new object. */
rkey *db_copy(db *dst, const rkey *k, const char *key, size_t klen) {
    void *value = NULL;
    if (rk_enc(k) == RK_PTR) {
        void *(*dup)(const void *) = type_of(k)->dup;
        if (!dup) return NULL;
        value = dup(rkey_ptr(k));
    }
    rk_shape s = rk_shape_of(k);
    s.klen = klen;
    rkey *nk = rk_alloc(dst, &s, key);
    if (s.ttl) rk_set_expire_ms(nk, rkey_expire(k));
    switch (s.enc) {
        case RK_PTR: memcpy(rk_valp(nk), &value, sizeof(value)); break;
        case RK_INT: memcpy(rk_valp(nk), rk_valp(k), sizeof(int64_t)); break;
        default: memcpy(rk_valp(nk), rk_valp(k), s.vlen); break;
    }
    db_link(dst, nk);
    if (s.enc == RK_PTR) rk_ptr_measure(dst, nk);
    db_emit_rec(dst, DB_EV_NEW, nk);
    return nk;
}

size_t db_key_memory(db *d, rkey *k) {
    size_t n = malloc_usable_size(k) + RK_MALLOC_HEADER + sizeof(dict_node *);
    if (rk_has_ttl(k)) n += sizeof(rkey *);
    if (rk_enc(k) == RK_PTR) {
        rk_ptr_measure(d, k);
        n += (size_t)rk_ptr_mem(k);
    }
    return n;
}

void db_touch(db *d, const rkey *k) {
    if (rk_enc(k) == RK_PTR) rk_ptr_measure(d, (rkey *)k);
    db_emit_rec(d, DB_EV_MODIFIED, k);
}

/* --- eviction support --- */

uint32_t rkey_access(const rkey *k) { return rk_access(k); }
void rkey_set_access(rkey *k, uint32_t v) { rk_set_access(k, v & 0xffffffu); }

void db_reserve(db *d, size_t n) { dict_reserve(&d->dict, n); }

rkey *db_peek(db *d, const char *key, size_t klen) { return (rkey *)dict_find(&d->dict, key, klen); }

size_t db_sample(db *d, int volatile_only, rkey **out, size_t n) {
    size_t got = 0;
    if (volatile_only) {
        while (got < n && d->nexpires) out[got++] = d->expires[dict_random() % d->nexpires];
        return got;
    }
    while (got < n) {
        rkey *k = (rkey *)dict_random_node(&d->dict);
        if (!k) break;
        out[got++] = k;
    }
    return got;
}

size_t db_alloc_bytes(const db *d) { return db_memory(d) + dict_size(&d->dict) * RK_MALLOC_HEADER; }

/* Checked before every deny-oom command under maxmemory: kept to loads and adds. */
size_t db_alloc_bytes_all(db *const *dbs, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const db *d = dbs[i];
        const dict *t = &d->dict;
        total += sizeof(*d) + d->mem + (t->size[0] + t->size[1]) * sizeof(dict_node *) +
                 d->expires_cap * sizeof(rkey *) + (t->used[0] + t->used[1]) * RK_MALLOC_HEADER;
    }
    return total;
}

/* --- iteration --- */

typedef struct db_visit {
    void (*fn)(void *priv, const rkey *k);
    void *priv;
} db_visit;

static void db_visit_cb(void *priv, dict_node *n) {
    db_visit *v = priv;
    v->fn(v->priv, (const rkey *)n);
}

unsigned long db_scan(db *d, unsigned long cursor, void (*fn)(void *priv, const rkey *k), void *priv) {
    db_visit v = {fn, priv};
    return dict_scan(&d->dict, cursor, db_visit_cb, &v);
}

void db_foreach(db *d, void (*fn)(void *priv, const rkey *k), void *priv) {
    db_visit v = {fn, priv};
    dict_foreach(&d->dict, db_visit_cb, &v);
}

/* Redis's dbRandomKey gives up after 100 tries when every key is volatile, because a
 * replica may not delete expired keys and would loop for ever. Here every expired sample
 * is deleted, so the loop ends after at most (expired keys + 1) samples: no guard needed
 * for termination, and the cost is paid for by keys that had to be reclaimed anyway. */
rkey *db_random_key(db *d) {
    for (;;) {
        rkey *k = (rkey *)dict_random_node(&d->dict);
        if (!k) return NULL;
        if (!rk_expired(k)) return k;
        db_expire_rec(d, k);
    }
}

/* --- background work --- */

int db_rehash_step(db *d, long long budget_us) {
    if (d->dict.pauserehash > 0) return dict_is_rehashing(&d->dict);
    dict_shrink_if_needed(&d->dict);
    if (!dict_is_rehashing(&d->dict)) return 0;
    long long start = util_monotonic_us();
    while (dict_rehash(&d->dict, 100)) {
        if (util_monotonic_us() - start >= budget_us) return 1;
    }
    return 0;
}

#define AE_KEYS_PER_LOOP    20 /* keys sampled per db per loop */
#define AE_ACCEPTABLE_STALE 10 /* repeat while more than this % of a sample expired */
#define AE_DBS_PER_CALL     16

static unsigned int ae_current_db; /* where the last cycle stopped */
static int ae_timelimit_exit;      /* the last cycle ran out of time */

/* Uses storage_now_ms as "now": the caller refreshes it before calling. */
long long db_active_expire(db **dbs, int ndb, long long budget_us) {
    if (ndb <= 0 || storage_expiry_paused) return 0;
    long long start = util_monotonic_us();
    long long total = 0;
    int dbs_per_call = AE_DBS_PER_CALL;
    if (dbs_per_call > ndb || ae_timelimit_exit) dbs_per_call = ndb;
    ae_timelimit_exit = 0;
    for (int j = 0; j < dbs_per_call && !ae_timelimit_exit; j++) {
        db *d = dbs[ae_current_db % (unsigned)ndb];
        ae_current_db++;
        int repeat;
        do {
            if (d->nexpires == 0) {
                d->avg_ttl = 0;
                break;
            }
            size_t num = d->nexpires < AE_KEYS_PER_LOOP ? d->nexpires : AE_KEYS_PER_LOOP;
            size_t sampled = 0, expired = 0;
            long long ttl_sum = 0, ttl_samples = 0;
            while (sampled < num && d->nexpires > 0) {
                rkey *k = d->expires[dict_random() % d->nexpires];
                sampled++;
                if (rk_expired(k)) {
                    db_expire_rec(d, k);
                    expired++;
                } else {
                    ttl_sum += rkey_expire(k) - storage_now_ms;
                    ttl_samples++;
                }
            }
            total += (long long)expired;
            if (ttl_samples) {
                long long avg = ttl_sum / ttl_samples;
                /* A running average with a few samples per cycle, as Redis. */
                d->avg_ttl = d->avg_ttl ? (d->avg_ttl / 50) * 49 + avg / 50 : avg;
            }
            /* Checked every loop (20 samples, some microseconds): budgets are slices of
             * well under a millisecond. */
            if (util_monotonic_us() - start > budget_us) {
                ae_timelimit_exit = 1;
                break;
            }
            repeat = expired * 100 / sampled > AE_ACCEPTABLE_STALE;
        } while (repeat);
    }
    return total;
}

int db_active_expire_unfinished(void) { return ae_timelimit_exit; }
