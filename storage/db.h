/* db.h: the keyspace. A db maps binary-safe keys to values with optional expiry times in
 * absolute milliseconds. One record (rkey) per key holds, in one allocation where it can,
 * the key bytes, a small string value and the expiry. The table rehashes incrementally:
 * no operation pays for more than a few buckets, plus time-boxed steps from db_cron.
 *
 * Lifetime rule: an rkey pointer is valid until the next call that may change its db
 * (any db_* function taking a non-const db, except lookups of *other* keys). Functions
 * that change a record return its (possibly moved) new address.
 *
 * Time: every expiry decision uses storage_now_ms, which the server sets once per
 * command (a snapshot), so one command sees one consistent time. */
#ifndef RESPITE_DB_H
#define RESPITE_DB_H

#include <stddef.h>
#include <stdint.h>

/* Value type ids, numbered as Redis's; each has a descriptor (storage/type.h). */
enum { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4, OBJ_STREAM = 6 };
#define OBJ_TYPES 7

/* Largest string value, as Redis's proto-max-bulk-len default. */
#define DB_STRING_MAX (512LL * 1024 * 1024)

typedef struct rkey rkey; /* one key's record; opaque outside storage/ */
typedef struct db db;     /* one logical database */

/* The command-time snapshot, in Unix milliseconds; the server sets it. */
extern long long storage_now_ms;
/* While set (CLIENT PAUSE), the dataset stays as it is: reads see an expired key as
 * missing but do not delete it, and db_active_expire does nothing. */
extern int storage_expiry_paused;

/* Counters shown by INFO stats. */
typedef struct storage_stats {
    long long expired_keys;       /* keys removed because their TTL passed (lazy or active) */
    long long keyspace_hits;      /* db_lookup_read found a live key */
    long long keyspace_misses;    /* db_lookup_read found nothing */
    long long expired_stale_perc; /* unused placeholder for INFO, always 0 */
} storage_stats;
extern storage_stats storage_stat;

/* Keyspace events: every change to a key, and every flush and swap, is reported to the
 * subscribers, in the order subscribed, as it happens. FLUSHED and SWAPPED come before the
 * db changes (a subscriber may still look at the keys that are about to go); the others
 * after (the key's new record, if any, is in place). A subscriber must not change any db.
 * WATCH, blocked readers and propagation subscribe; with no subscriber an event costs
 * one branch. */
typedef enum db_event_type {
    DB_EV_NEW,          /* a key was created */
    DB_EV_MODIFIED,     /* its value (in place too: db_touch) or TTL changed */
    DB_EV_DELETED,      /* removed by a command (db_delete) */
    DB_EV_EXPIRED,      /* removed because its TTL passed, lazily or by the active cycle */
    DB_EV_EVICTED,      /* removed by maxmemory eviction (db_evict) */
    DB_EV_RENAMED_FROM, /* RENAME: the old name is gone (key = the old name) */
    DB_EV_RENAMED_TO,   /* RENAME: the new name holds the value (replacing any old one) */
    DB_EV_MOVED_FROM,   /* MOVE: the key left d for other */
    DB_EV_MOVED_TO,     /* MOVE: the key arrived in d from other */
    DB_EV_FLUSHED,      /* every key of d is about to be removed (key NULL) */
    DB_EV_SWAPPED,      /* d is about to take other's contents (key NULL; reported for both) */
} db_event_type;

typedef struct db_event {
    db_event_type type;
    db *d;
    const char *key; /* NULL for FLUSHED and SWAPPED; valid only during the call */
    size_t klen;
    db *other; /* MOVED_*, SWAPPED: the other db; NULL otherwise */
} db_event;

typedef void db_event_fn(void *priv, const db_event *ev);
/* Add a subscriber; returns its handle for db_unsubscribe. */
int db_subscribe(db_event_fn *fn, void *priv);
/* A subscriber of DB_EV_EXPIRED and DB_EV_EVICTED only (the other events then cost
 * nothing for it). */
int db_subscribe_removals(db_event_fn *fn, void *priv);
void db_unsubscribe(int handle);

/* Changes to the keyspace: every event but EXPIRED and EVICTED adds one, and commands add
 * their changes that are not key events (consumer groups). The server compares it before
 * and after a command to know whether the command changed anything (Redis's server.dirty). */
extern long long storage_dirty;

/* --- databases --- */
/* A db with a negative id is private staging (RESTORE's scratch db): its changes raise no
 * events and do not count in storage_dirty. */
db *db_create(int id);
void db_destroy(db *d);
int db_id(const db *d);
size_t db_size(const db *d);         /* keys, including expired ones not yet reclaimed */
size_t db_expires_size(const db *d); /* keys that have a TTL */
long long db_avg_ttl(const db *d);   /* estimate for INFO keyspace avg_ttl, ms (0 if none) */
/* Remove every key (one DB_EV_FLUSHED first). Returns the number removed. */
size_t db_flush(db *d);
/* The same, but the keys are freed later, a slice at a time (storage/lazyfree.h): d is
 * empty at once and its old tables are detached into a lazyfree job. */
size_t db_flush_lazy(db *d);
/* Exchange the whole contents of two dbs (SWAPDB; DB_EV_SWAPPED for each first); ids stay
 * with the db objects. */
void db_swap(db *a, db *b);
/* Size an empty db's table for n keys at once (RDB loading, RESIZEDB); else a no-op. */
void db_reserve(db *d, size_t n);
/* Bytes the keyspace holds (records, values, tables): an estimate for INFO memory. */
size_t db_memory(const db *d);
/* The tables' part of it: the key table's buckets and the TTL index (MEMORY STATS). */
void db_table_overhead(const db *d, size_t *main, size_t *expires);

/* --- records --- */
const char *rkey_key(const rkey *k, size_t *len);
int rkey_type(const rkey *k);
/* Absolute expiry time in ms, or -1 if the key has no TTL. */
long long rkey_expire(const rkey *k);
/* String values: is it integer-encoded, and its value. */
int rkey_is_int(const rkey *k);
long long rkey_int(const rkey *k);
/* The bytes of a string value; an integer-encoded value is formatted into tmp (which
 * must have UTIL_LLSTR_SIZE bytes) and tmp is returned. */
const char *rkey_str(const rkey *k, size_t *len, char *tmp);
/* Length of a string value without formatting it. */
size_t rkey_strlen(const rkey *k);
/* The value of a pointer-held type (e.g. a stream). */
void *rkey_ptr(const rkey *k);
/* Store a new pointer for k's pointer-held value (a compact value that moved when it
 * grew); the old one is the caller's. Follow with db_touch, which measures it again. */
void rkey_set_ptr(rkey *k, void *ptr);
/* Encoding name for OBJECT ENCODING, as the value's type (storage/type.h) reports it:
 * "int", "embstr" or "raw" for a string, "stream" for a stream. */
const char *rkey_encoding(const rkey *k);

/* --- lookups (both do lazy expiry: an expired key is deleted and NULL returned) --- */
/* For commands that read: counts keyspace hits/misses, and calls db_miss_hook (when
 * set: keyspace notifications' "keymiss") on a miss. */
rkey *db_lookup_read(db *d, const char *key, size_t klen);
extern void (*db_miss_hook)(const db *d, const char *key, size_t klen);
/* The same without the hook (Redis's LOOKUP_NONOTIFY: OBJECT, MEMORY USAGE). */
rkey *db_lookup_read_quiet(db *d, const char *key, size_t klen);
/* For commands that write: no hit/miss counting. */
rkey *db_lookup_write(db *d, const char *key, size_t klen);
/* No expiry side effect and no counting: is the key there and not expired? (KEYS, SCAN
 * filtering, EXISTS-like checks inside MULTI bookkeeping). */
int db_key_alive(const db *d, const rkey *k);

/* --- writes --- */
/* Set key to a string value, creating it or replacing any old value of any type.
 * If the bytes are a canonical integer (util_str2ll accepts them), the value is stored
 * integer-encoded unless flags has DB_SET_NOINT (INCRBYFLOAT: Redis keeps its result a
 * string). DB_SET_KEEPTTL keeps an existing TTL; otherwise the TTL is removed.
 * Returns the record. */
#define DB_SET_KEEPTTL 1
#define DB_SET_NOINT   2
rkey *db_set_string(db *d, const char *key, size_t klen, const char *val, size_t vlen, int flags);
/* db_set_string taking the value's buffer over, so a big value is never copied: buf
 * is a malloc'd block whose bytes from db_string_value_offset(klen, vlen) on hold the
 * value (room before it for the record's header and key, anything after it unused).
 * The record is built in buf when it can be (otherwise the value is copied and buf
 * freed); either way buf belongs to storage from then on. */
rkey *db_set_string_owned(db *d, const char *key, size_t klen, char *buf, size_t vlen, int flags);
size_t db_string_value_offset(size_t klen, size_t vlen);
/* Same with an integer value (INCR & co); keeps the TTL (INCR does). */
rkey *db_set_int(db *d, const char *key, size_t klen, long long v);
/* Make k's string value newlen bytes long, keeping the first min(old,new) bytes and
 * zero-filling any growth; the value becomes raw (not integer-encoded). *k is updated to
 * the (possibly moved) record. Returns a pointer to the value's bytes for writing (valid
 * under the lifetime rule). Used by APPEND and SETRANGE. */
char *db_string_resize(db *d, rkey **k, size_t newlen);
/* k's string value made raw in place of int/embstr (Redis's dbUnshareStringValue), for
 * changing bytes in place without changing the length: raises no event, so the caller
 * calls db_touch when it does change a byte (SETBIT of a bit already set changes
 * nothing, as in Redis). Returns the bytes, *k updated, as db_string_resize. */
char *db_string_unshare(db *d, rkey **k);
/* Add a new key holding a pointer value of the given type (the key must not exist). The
 * record owns ptr from then on: its type's descriptor (storage/type.h) frees it. */
rkey *db_add_ptr(db *d, const char *key, size_t klen, int type, void *ptr);
/* Store a pointer value under key, replacing any old value of any type and its TTL, as
 * Redis's setKey (the *STORE commands): DB_EV_MODIFIED if the key existed, else
 * DB_EV_NEW. key must not point into the old record. */
rkey *db_set_ptr(db *d, const char *key, size_t klen, int type, void *ptr);
/* Set or clear the TTL. when_ms is absolute; db_set_expire on a time <= now still just
 * stores it (the caller deletes instead, as Redis does). Return the moved record. */
rkey *db_set_expire(db *d, rkey *k, long long when_ms);
rkey *db_persist(db *d, rkey *k);
/* Delete a key; returns 1 if it existed (an expired one counts as absent: 0). */
int db_delete(db *d, const char *key, size_t klen);
/* The same, freeing a big pointer value (storage/lazyfree.h) lazily if lazy (UNLINK). */
int db_delete_lazy(db *d, const char *key, size_t klen, int lazy);
/* The same for eviction (lazy: lazyfree-lazy-eviction): reported as DB_EV_EVICTED. */
int db_evict(db *d, const char *key, size_t klen, int lazy);
/* Rename src to dst in the same db, replacing dst; value and TTL move along.
 * Returns the record under its new name, or NULL if src does not exist. */
rkey *db_rename(db *d, const char *src, size_t slen, const char *dst, size_t dlen);
/* Move a key to another db; returns 1 on success, 0 if absent in src or present in dst. */
int db_move(db *src, db *dst, const char *key, size_t klen);
/* COPY: a new key in dst holding a deep copy of k's value (its type's dup) and k's
 * expire. key must not exist in dst (the caller deleted it for REPLACE); k may be in
 * dst or another db, and is not changed. Returns the new record, or NULL (nothing
 * added) if k's type has no dup. */
rkey *db_copy(db *dst, const rkey *k, const char *key, size_t klen);
/* Report that a pointer-held value changed in place (e.g. XADD): DB_EV_MODIFIED. */
void db_touch(db *d, const rkey *k);

/* --- iteration --- */
/* One SCAN step as Redis's dictScan: visits every record in the bucket(s) the cursor
 * names (both tables while rehashing), calls fn for each (expired ones included: the
 * caller filters with db_key_alive), returns the next cursor (0 when the scan is over).
 * Reverse-binary cursor: a key present for the whole scan is returned at least once. */
unsigned long db_scan(db *d, unsigned long cursor, void (*fn)(void *priv, const rkey *k), void *priv);
/* Visit every record (rehashing paused meanwhile); fn must not change the db. */
void db_foreach(db *d, void (*fn)(void *priv, const rkey *k), void *priv);
/* A random live key, as RANDOMKEY (expired ones sampled are deleted), or NULL. */
rkey *db_random_key(db *d);

/* --- memory and eviction support (storage/evict.c) ---
 * A record caches the last measured size of a pointer-held value (its type's memory)
 * in the db's total; it is measured again when the key is added, looked up or touched.
 * Inline (string) values are counted with their record. */
/* MEMORY USAGE of k (a record of d): its allocator block, its slot in the table (and in
 * the expires array if it has a TTL), and its value's bytes, measured now. */
size_t db_key_memory(db *d, rkey *k);
/* The record's 24-bit access field: an LRU clock or, under an LFU policy, minutes<<8 |
 * counter (storage/evict.h). Lookups update it; db_peek and db_sample do not. */
uint32_t rkey_access(const rkey *k);
void rkey_set_access(rkey *k, uint32_t v);
/* The record for key as it is: no lazy expiry, no access update, no counting. */
rkey *db_peek(db *d, const char *key, size_t klen);
/* Up to n records at random (with repeats possible), from the keys with a TTL if
 * volatile_only, else from all keys; no side effects. Returns how many were written. */
size_t db_sample(db *d, int volatile_only, rkey **out, size_t n);
/* Bytes the allocator holds for the keyspace: db_memory plus the allocator's per-block
 * header on each record. What maxmemory compares against (with clients' buffers). */
size_t db_alloc_bytes(const db *d);
/* The sum of db_alloc_bytes over n dbs (cheap: no calls). */
size_t db_alloc_bytes_all(db *const *dbs, int n);

/* --- background work, called from the server's periodic timer --- */
/* Rehash for up to budget_us microseconds. Returns 1 if rehashing is still under way. */
int db_rehash_step(db *d, long long budget_us);
/* Active expiry over all dbs as Redis's activeExpireCycle (slow mode): sample ~20 keys
 * with a TTL per db per loop, repeat while more than ~10% of the sample was expired,
 * stop when budget_us is used. Returns the number of keys expired. */
long long db_active_expire(db **dbs, int ndb, long long budget_us);
/* 1 if the last db_active_expire stopped on its budget with expired keys still left to
 * sample (the caller should give it another slice soon). */
int db_active_expire_unfinished(void);

#endif
