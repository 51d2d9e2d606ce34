/* stream.h: the storage side of Redis streams ("streams-lite"): ids, an append-only log of
 * field/value entries kept in compact blocks, consumer groups with their pending entries
 * lists (PEL). No replies, no argv parsing beyond ids: the XADD/XRANGE/XREADGROUP/...
 * handlers in server/ are built on this API and keep Redis 7.0's texts and semantics.
 *
 * What is kept, as Redis 7.0 keeps it: length, last_id (last generated id), first_id (id
 * of the first live entry, "recorded-first-entry-id"), max_deleted_entry_id (largest id
 * removed by XDEL), entries_added (all entries ever added); per group last_delivered_id
 * and entries_read (-1 = unknown) with Redis's lag rules; one pending record (stream_nack)
 * per delivered, unacknowledged message, shared by the group PEL and the owning consumer's
 * PEL; per consumer seen_time (7.0) and active_time (7.2).
 *
 * Costs: append O(1) amortised; seek to an id O(log n); a range O(log n + count); trimming
 * touches only the blocks it removes (plus one block partially for exact trims); PEL
 * lookups O(log n). Error texts below are given without Redis's "ERR " prefix.
 *
 * Lifetime rule: stream_fields, stream_iter and stream_nack pointers are valid until the
 * stream is next changed (add, delete, trim, group/consumer/PEL change). */
#ifndef RESPITE_STREAM_H
#define RESPITE_STREAM_H

#include <stddef.h>
#include <stdint.h>

/* ---- ids ---- */

typedef struct stream_id {
    uint64_t ms;
    uint64_t seq;
} stream_id;

/* Longest formatted id, "18446744073709551615-18446744073709551615", with its NUL. */
#define STREAM_ID_STR_SIZE 42

#define STREAM_ERR_INVALID_ID     "Invalid stream ID specified as stream command argument"
#define STREAM_ERR_XADD_ZERO      "The ID specified in XADD must be greater than 0-0"
#define STREAM_ERR_XADD_SMALL     "The ID specified in XADD is equal or smaller than the target stream top item"
#define STREAM_ERR_EXHAUSTED      "The stream has exhausted the last possible ID, unable to add more items"
#define STREAM_ERR_TOO_LARGE      "Elements are too large to be stored"
#define STREAM_ERR_START_INTERVAL "invalid start ID for the interval"
#define STREAM_ERR_END_INTERVAL   "invalid end ID for the interval"
#define STREAM_ERR_SETID_SMALL    "The ID specified in XSETID is smaller than the target stream top item"
#define STREAM_ERR_SETID_ADDED    "The entries_added specified in XSETID is smaller than the target stream length"

/* -1, 0, 1 as a <, =, > b. */
int stream_id_cmp(const stream_id *a, const stream_id *b);
int stream_id_is_zero(const stream_id *id);
/* Next / previous id in order. Return 0, or -1 (id unchanged) on overflow past
 * UINT64_MAX-UINT64_MAX / below 0-0. */
int stream_id_incr(stream_id *id);
int stream_id_decr(stream_id *id);
/* Write "<ms>-<seq>" and a NUL into buf (STREAM_ID_STR_SIZE bytes); returns the length. */
int stream_id_format(char *buf, const stream_id *id);

/* Parse an id as Redis's streamGenericParseIDOrReply: "-" is 0-0 and "+" is
 * UINT64_MAX-UINT64_MAX unless strict; "<ms>" alone takes missing_seq as its sequence
 * (0 for starts, UINT64_MAX for range ends); "<ms>-<seq>". If seq_given is not NULL,
 * "<ms>-*" is also accepted (XADD) and *seq_given says whether a sequence was given.
 * Numbers are parsed as Redis's string2ull. Returns 0, or -1 for STREAM_ERR_INVALID_ID. */
int stream_id_parse(const char *s, size_t len, uint64_t missing_seq, int strict, stream_id *out, int *seq_given);
/* An XRANGE/XREVRANGE/XPENDING bound: as stream_id_parse (non strict), plus "(<id>" for
 * an exclusive bound (strict after the '('). *exclusive is set; the caller then applies
 * stream_id_incr (start) or stream_id_decr (end) and on -1 replies
 * STREAM_ERR_START_INTERVAL / STREAM_ERR_END_INTERVAL. Returns 0 or -1 (invalid id). */
int stream_id_parse_interval(const char *s, size_t len, uint64_t missing_seq, stream_id *out, int *exclusive);

/* ---- the stream ---- */

typedef struct stream stream;
typedef struct stream_group stream_group;
typedef struct stream_consumer stream_consumer;

/* Block size limits (Redis's stream-node-max-entries / -bytes, CONFIG SET may change
 * them); they affect how approximate ("~") trimming rounds, and the cost of seeking
 * inside a block. As Redis, a new block is started when the tail holds max_entries
 * entries (deleted ones included; 0 = no limit) or when its bytes plus the new entry's
 * field and value bytes reach max_bytes (0 = 1GB). */
extern size_t stream_node_max_entries; /* default 100 */
extern size_t stream_node_max_bytes;   /* default 4096 */

stream *stream_new(void);
/* Free a stream with its groups (the stream type's free: storage/type.h). */
void stream_free(void *s);
/* The stream type's free_effort and free_step (storage/type.h). */
size_t stream_free_effort(const void *s);
int stream_free_step(void *s, size_t units);
/* A deep copy (COPY): entries, metadata, groups, consumers and every pending record,
 * including those whose entry was deleted, with their owners, delivery times and counts. */
stream *stream_dup(const stream *s);
/* Bytes held by the stream (blocks, index, groups, consumers, pending records): O(1),
 * from counters every change keeps. */
size_t stream_memory(const stream *s);
/* The same figure summed by walking every group and consumer (tests check the two agree). */
size_t stream_memory_recount(const stream *s);

uint64_t stream_length(const stream *s);
stream_id stream_last_id(const stream *s);        /* last generated id ("last-generated-id") */
stream_id stream_first_id(const stream *s);       /* first live entry, 0-0 when empty */
stream_id stream_max_deleted_id(const stream *s); /* "max-deleted-entry-id" */
uint64_t stream_entries_added(const stream *s);
size_t stream_block_count(const stream *s); /* for "radix-tree-keys" */
size_t stream_group_count(const stream *s);

/* A field/value pair argument. */
typedef struct stream_str {
    const char *ptr;
    size_t len;
} stream_str;

/* How XADD names the new entry. */
enum {
    STREAM_ADD_AUTO = 0, /* "*": from now_ms, never going backwards */
    STREAM_ADD_AUTO_SEQ, /* "<ms>-*": id->ms given, sequence generated */
    STREAM_ADD_EXPLICIT, /* "<ms>-<seq>" or "<ms>" */
};
/* Results of stream_add (and stream_set_id). */
enum {
    STREAM_OK = 0,
    STREAM_E_ZERO,      /* STREAM_ERR_XADD_ZERO (explicit 0-0; check before creating the key) */
    STREAM_E_SMALL,     /* STREAM_ERR_XADD_SMALL / STREAM_ERR_SETID_SMALL */
    STREAM_E_EXHAUSTED, /* STREAM_ERR_EXHAUSTED */
    STREAM_E_TOO_LARGE, /* STREAM_ERR_TOO_LARGE */
    STREAM_E_ADDED,     /* STREAM_ERR_SETID_ADDED */
};
/* Parse XADD's id argument: "*" (STREAM_ADD_AUTO), "<ms>-*" (STREAM_ADD_AUTO_SEQ),
 * "<ms>-<seq>" or "<ms>" (STREAM_ADD_EXPLICIT, strict: no "-"/"+"). Sets *mode and *id.
 * Returns 0, or -1 for STREAM_ERR_INVALID_ID. */
int stream_id_parse_add(const char *s, size_t len, int *mode, stream_id *id);
/* Append an entry of npairs field/value pairs (fv holds 2*npairs strings: f1 v1 f2 v2...).
 * mode and id as above (id unused for STREAM_ADD_AUTO). On STREAM_OK the new id is in
 * *added and length, last_id, first_id, entries_added are updated; on error nothing
 * changed. Trim afterwards with stream_trim, as XADD does. */
int stream_add(stream *s, int mode, const stream_id *id, const stream_str *fv, size_t npairs, long long now_ms,
               stream_id *added);

/* XSETID: set last_id, and entries_added if >= 0, and max_deleted_id if not NULL/0-0,
 * after checking against the stream (STREAM_E_SMALL, STREAM_E_ADDED). The checks that
 * involve only the arguments are the caller's. */
int stream_set_id(stream *s, const stream_id *last, long long entries_added, const stream_id *max_deleted);

/* XDEL exactly as Redis 7.0: deletes each live entry among ids, updates length, first_id
 * and max_deleted_id (with Redis's rule: once something was deleted, every later id
 * larger than max_deleted_id is recorded, deleted or not). Returns how many were deleted. */
size_t stream_delete(stream *s, const stream_id *ids, size_t n);

/* Trimming, as XTRIM and XADD's MAXLEN/MINID options. */
enum { STREAM_TRIM_NONE = 0, STREAM_TRIM_MAXLEN, STREAM_TRIM_MINID };
typedef struct stream_trim_args {
    int strategy;    /* STREAM_TRIM_* */
    int approx;      /* "~": remove only whole blocks */
    uint64_t maxlen; /* MAXLEN threshold */
    stream_id minid; /* MINID threshold: entries with smaller ids go (a block goes
                          * whole when its last live id is below it) */
    long long limit; /* LIMIT: most entries to remove, 0 = no limit (exact trims: 0) */
} stream_trim_args;
/* Redis's default LIMIT for "~" without LIMIT: 100 * stream_node_max_entries (capped
 * to 10000 when that is out of (0, 1000000]). */
long long stream_trim_default_limit(void);
/* Returns the number of entries removed. first_id is updated; max_deleted_id is not. */
uint64_t stream_trim(stream *s, const stream_trim_args *a);

/* ---- reading entries ---- */

/* The field/value pairs of one entry, read in order with stream_fields_next. */
typedef struct stream_fields {
    uint64_t count;          /* pairs in the entry */
    uint64_t left;           /* pairs not yet read */
    const unsigned char *p;  /* next own field, or next value when mp != NULL */
    const unsigned char *mp; /* next field name shared with the block's first entry */
} stream_fields;
/* Returns 1 and the next pair, or 0 when all were read. */
int stream_fields_next(stream_fields *f, const char **field, size_t *flen, const char **value, size_t *vlen);

/* A live entry by id: returns 1 and fills *f (if not NULL), or 0 if there is none. */
int stream_get(const stream *s, const stream_id *id, stream_fields *f);

/* Iterate live entries with start <= id <= end (both inclusive) forward, or backward if
 * rev. Exclusive bounds: adjust with stream_id_incr/decr first. */
typedef struct stream_iter {
    const stream *s;
    stream_id start, end;
    int rev;
    int done;
    size_t bi;                    /* index of the current block */
    const void *b;                /* current block */
    size_t off;                   /* forward: next entry; backward: end of the next entry */
    const unsigned char *mfields; /* the block's first entry's field list */
    uint64_t mcount;              /* and its pair count */
} stream_iter;
void stream_iter_init(stream_iter *it, const stream *s, const stream_id *start, const stream_id *end, int rev);
/* Returns 1 with the next entry's id and fields, or 0 at the end. */
int stream_iter_next(stream_iter *it, stream_id *id, stream_fields *f);

/* ---- consumer groups ---- */

/* One pending (delivered, not acknowledged) message, in its group's PEL and in its
 * consumer's PEL. Read-only outside stream.c. */
typedef struct stream_nack {
    stream_id id;
    long long delivery_time; /* ms of the last delivery */
    uint64_t delivery_count;
    stream_consumer *consumer; /* owner */
    struct stream_nack *gl[3]; /* group tree: left, right, parent */
    struct stream_nack *cl[3]; /* consumer tree: left, right, parent */
} stream_nack;

/* entries_read of a group whose counter is unknown (reported as null). */
#define STREAM_ENTRIES_READ_INVALID (-1LL)

/* Lookup by exact name; NULL if absent. */
stream_group *stream_group_find(const stream *s, const char *name, size_t len);
/* XGROUP CREATE: last_id is the resolved id ("$" = stream_last_id); entries_read from
 * ENTRIESREAD or STREAM_ENTRIES_READ_INVALID. NULL if the group exists (BUSYGROUP). */
stream_group *stream_group_create(stream *s, const char *name, size_t len, const stream_id *last_id,
                                  long long entries_read);
/* XGROUP DESTROY: 1 if destroyed, 0 if absent. */
int stream_group_destroy(stream *s, const char *name, size_t len);
/* XGROUP SETID. */
void stream_group_set_id(stream_group *g, const stream_id *last_id, long long entries_read);
/* Groups in name order (bytewise), i < stream_group_count. */
stream_group *stream_group_at(const stream *s, size_t i);

const char *stream_group_name(const stream_group *g, size_t *len);
stream_id stream_group_last_id(const stream_group *g);
long long stream_group_entries_read(const stream_group *g);
size_t stream_group_pending_count(const stream_group *g);
size_t stream_group_consumer_count(const stream_group *g);
/* XINFO GROUPS "lag": returns 1 and *lag, or 0 when it cannot be known (null). */
int stream_group_lag(const stream *s, const stream_group *g, long long *lag);

/* Consumers, in name order. */
stream_consumer *stream_consumer_at(const stream_group *g, size_t i);
/* Lookup without refreshing seen_time (as Redis's SLC_NO_REFRESH). */
stream_consumer *stream_consumer_find(const stream_group *g, const char *name, size_t len);
/* XGROUP CREATECONSUMER and implicit creation: NULL if it exists. seen_time = now. */
stream_consumer *stream_consumer_create(stream_group *g, const char *name, size_t len, long long now);
/* Find or create, refreshing seen_time (what XREADGROUP does). */
stream_consumer *stream_consumer_get(stream_group *g, const char *name, size_t len, long long now);
/* XGROUP DELCONSUMER: drops the consumer's pending messages from the group PEL too.
 * Returns the number of pending messages it had, or -1 if absent (reply 0). */
long long stream_consumer_delete(stream_group *g, const char *name, size_t len);
const char *stream_consumer_name(const stream_consumer *c, size_t *len);
size_t stream_consumer_pending_count(const stream_consumer *c);
long long stream_consumer_seen_time(const stream_consumer *c);   /* 7.0 "idle" = now - this */
long long stream_consumer_active_time(const stream_consumer *c); /* -1 until it got a message */
void stream_consumer_touch(stream_consumer *c, long long now);   /* seen_time = now */

/* ---- PELs ---- */

stream_nack *stream_pel_find(const stream_group *g, const stream_id *id);
/* First pending message with id >= start in the group PEL / in c's PEL; NULL if none. */
stream_nack *stream_pel_seek(const stream_group *g, const stream_id *start);
stream_nack *stream_consumer_pel_seek(const stream_consumer *c, const stream_id *start);
/* The next one in id order in the same PEL; NULL at the end. */
stream_nack *stream_pel_next(const stream_nack *n);
stream_nack *stream_consumer_pel_next(const stream_nack *n);
/* Smallest / largest pending id (XPENDING summary); NULL if the PEL is empty. */
stream_nack *stream_pel_first(const stream_group *g);
stream_nack *stream_pel_last(const stream_group *g);
/* XACK of one id: 1 if it was pending. */
int stream_ack(stream_group *g, const stream_id *id);

/* Called for each delivered entry; fields is NULL when a pending message's entry no
 * longer exists (XREADGROUP history replies the id with a null). */
typedef void (*stream_entry_fn)(void *priv, const stream_id *id, stream_fields *fields);

/* XREADGROUP ">": deliver up to count (0 = all) entries after the group's last id to c,
 * advancing last_id and entries_read (Redis's rules); unless noack, each becomes pending
 * for c with delivery_time now and count 1 (a message already pending moves to c and
 * is reset). Refreshes c's active_time if anything was delivered. Returns how many. */
size_t stream_read_group(stream *s, stream_group *g, stream_consumer *c, size_t count, int noack, long long now,
                         stream_entry_fn fn, void *priv);
/* XREADGROUP with an id: c's pending messages with id >= start (the caller passes its id
 * plus one), up to count (0 = all); existing entries get delivery_time now and their
 * count incremented. Returns how many were reported. */
size_t stream_read_pending(stream *s, stream_consumer *c, const stream_id *start, size_t count, long long now,
                           stream_entry_fn fn, void *priv);

/* XCLAIM of one id. */
typedef struct stream_claim_args {
    long long now;
    long long min_idle;      /* 0: no idle check */
    long long delivery_time; /* new delivery time, already clamped to [0, now] by the caller */
    long long retry_count;   /* RETRYCOUNT, or -1: increment unless justid */
    int force;               /* FORCE: create the pending record if the entry exists */
    int justid;              /* JUSTID: do not increment the delivery count */
} stream_claim_args;
enum { STREAM_CLAIM_SKIPPED = 0, STREAM_CLAIM_CLAIMED, STREAM_CLAIM_DELETED };
/* Claim id for the consumer named name, created (seen now) on the first successful
 * claim and kept in *c across calls (start with *c = NULL). Returns
 * STREAM_CLAIM_CLAIMED (reply the entry or id), STREAM_CLAIM_SKIPPED (not pending, or
 * not idle enough) or STREAM_CLAIM_DELETED (the entry is gone: pending record dropped).
 * LASTID is the caller's: stream_group_set_last_id_if_greater. */
int stream_claim(stream *s, stream_group *g, const char *name, size_t len, stream_consumer **c, const stream_id *id,
                 const stream_claim_args *a);
/* XCLAIM LASTID: raise the group's last_id (entries_read unchanged, as 7.0). */
void stream_group_set_last_id_if_greater(stream_group *g, const stream_id *id);

/* XAUTOCLAIM result: claimed ids in order, ids of pending messages whose entry was gone
 * (dropped from the PEL), and the cursor for the next call (0-0 when the scan is done).
 * Free with stream_autoclaim_free. */
typedef struct stream_autoclaim_result {
    stream_id *claimed;
    size_t nclaimed;
    stream_id *deleted;
    size_t ndeleted;
    stream_id next;
} stream_autoclaim_result;
/* XAUTOCLAIM key group name min_idle start COUNT count [JUSTID]: scan the group PEL from
 * start, at most count*10 records, claiming up to count (deleted ones count too). The
 * entries of claimed ids exist; fetch them with stream_get. Returns 0. */
int stream_autoclaim(stream *s, stream_group *g, const char *name, size_t len, long long min_idle,
                     const stream_id *start, size_t count, int justid, long long now, stream_autoclaim_result *r);
void stream_autoclaim_free(stream_autoclaim_result *r);

#endif
