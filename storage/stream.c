/* stream.c: Redis streams in storage: an id-ordered log of field/value entries in compact
 * blocks, plus consumer groups whose pending entries lists share one record per message.
 *
 * Entries. The log is a vector of pointers to blocks, ordered by id; the live part of
 * the vector is blk[head .. head+nblk), so dropping blocks at the front (trimming) is
 * O(1) and the prefix is reclaimed when the vector grows. A block is one allocation: a
 * header (first and last id stored, bytes used, entries stored, entries live) and the
 * entries back to back. An entry is
 *     flags | varint ms-delta | varint seq | [varint npairs] | pairs | backlen
 * where ms-delta is relative to the block's first id, seq is relative to the first id's
 * seq when ms-delta is 0 and absolute otherwise; with FLAG_SAME the entry has the same
 * field names as the block's first entry and stores only "varint len, bytes" per value,
 * otherwise each pair is "varint len, bytes, varint len, bytes"; backlen is the length
 * of everything before it, as a varint written backwards, so the block can be walked in
 * both directions. XDEL sets FLAG_DELETED in place; a block with no live entry is freed.
 *
 * Invariants:
 *  - every block in the vector has live > 0;
 *  - ids strictly increase inside a block, deleted entries included: a new block is
 *    started whenever an id would not be greater than the tail's last id (possible after
 *    XSETID lowered last_id below a tombstone);
 *  - live ids strictly increase across the whole stream, and blocks' first ids strictly
 *    increase; a block's tombstones may exceed the next block's ids (the XSETID case),
 *    so comparisons against bounds look at live entries only;
 *  - length = sum of live; first_id is the first live id (0-0 when empty);
 *  - the entry at offset 0 of a block never has FLAG_SAME (it is the field-name master).
 * Seeking binary-searches the vector for the last block whose first id <= the target,
 * then walks at most one block: O(log n + entries per block).
 *
 * Groups and consumers are sorted arrays of pointers (bytewise name order, as Redis's rax
 * lists them). A pending record (stream_nack) is linked into two treaps at once: the
 * group PEL and the owning consumer's PEL, both keyed by id, with parent pointers for
 * in-order stepping; the treap priority is a keyed hash of the id (util_hash, seeded at
 * start-up, so it must not be reseeded while streams exist), so it needs no storage.
 *
 * Costs beyond the header's: an XDEL that empties a block in the middle of the stream
 * moves the tail of the block vector (n/100 pointers). Allocation failure aborts, as
 * Redis's zmalloc does.
 * Invariants: a nack is in its group's tree and, when consumer != NULL, in exactly that
 * consumer's tree; pel_count fields equal the tree sizes; meta_bytes is what
 * stream_memory_recount sums over the groups (kept up to date by every change, so
 * stream_memory, which runs on every lookup of the key, is O(1)). */
#include "common/xmalloc.h"
#include "storage/aof_rewrite.h"
#include "storage/stream.h"

#include "common/util.h"
#include "storage/rdb.h"
#include "storage/type.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

size_t stream_node_max_entries = 100;
size_t stream_node_max_bytes = 4096;

#define FLAG_DELETED    1u
#define FLAG_SAME       2u
/* Largest encoded entry we accept (block offsets are 32-bit). */
#define ENTRY_MAX_BYTES (UINT32_MAX / 2)
#define BLOCK_MIN_CAP   128
/* Block byte limit when stream_node_max_bytes is 0 or larger (Redis's 1GB cap). */
#define BLOCK_MAX_BYTES ((size_t)1 << 30)

typedef struct sblock {
    stream_id first; /* id of the entry at offset 0: deltas are relative to it */
    stream_id last;  /* id of the entry appended last (live or deleted) */
    uint32_t used;   /* bytes of data in use */
    uint32_t cap;    /* bytes of data allocated */
    uint32_t count;  /* entries stored, deleted included */
    uint32_t live;   /* entries not deleted */
    unsigned char data[];
} sblock;

struct stream_consumer {
    long long seen_time;
    long long active_time;
    stream_nack *pel;
    size_t pel_count;
    size_t name_len;
    char name[];
};

struct stream_group {
    stream *owner; /* for the byte count */
    stream_id last_id;
    long long entries_read;
    stream_nack *pel;
    size_t pel_count;
    stream_consumer **cons;
    size_t ncons, ccap;
    size_t name_len;
    char name[];
};

struct stream {
    sblock **blk;
    size_t head, nblk, bcap;
    uint64_t length;
    uint64_t entries_added;
    stream_id last_id, first_id, max_deleted;
    size_t block_bytes; /* sum of block allocations (header + cap) */
    stream_group **groups;
    size_t ngroups, gcap;
    size_t meta_bytes; /* groups, their consumer arrays, consumers and pending records */
};

/* ---------------------------------------------------------------- ids */

int stream_id_cmp(const stream_id *a, const stream_id *b) {
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}

int stream_id_is_zero(const stream_id *id) { return id->ms == 0 && id->seq == 0; }

int stream_id_incr(stream_id *id) {
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) return -1;
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 0;
}

int stream_id_decr(stream_id *id) {
    if (id->seq == 0) {
        if (id->ms == 0) return -1;
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 0;
}

static int u64_format(char *p, uint64_t v) {
    char tmp[21];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

int stream_id_format(char *buf, const stream_id *id) {
    int n = u64_format(buf, id->ms);
    buf[n++] = '-';
    n += u64_format(buf + n, id->seq);
    buf[n] = '\0';
    return n;
}

/* Redis's string2ll on a NUL-terminated string: optional '-', no leading zeros. */
static int strict_ll(const char *s, long long *out) {
    size_t len = strlen(s);
    const char *p = s;
    int neg = 0;
    unsigned long long v = 0;
    if (len == 0 || len > 20) return 0;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    if (*p == '-') {
        neg = 1;
        p++;
        if (!*p) return 0;
    }
    if (*p < '1' || *p > '9') return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        if (v > (ULLONG_MAX - (unsigned)(*p - '0')) / 10) return 0;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *out = (long long)(0 - v);
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Redis's string2ull: string2ll first (negative fails), then strtoull, which also takes
 * leading spaces, '+' and leading zeros. */
static int parse_u64(const char *s, uint64_t *out) {
    long long ll;
    if (strict_ll(s, &ll)) {
        if (ll < 0) return 0;
        *out = (uint64_t)ll;
        return 1;
    }
    if (!*s) return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || *end != '\0') return 0;
    *out = v;
    return 1;
}

int stream_id_parse(const char *s, size_t len, uint64_t missing_seq, int strict, stream_id *out, int *seq_given) {
    char buf[128];
    if (len > sizeof(buf) - 1) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') return -1;
    if (seq_given) *seq_given = 1;
    if (buf[0] == '-' && buf[1] == '\0') {
        out->ms = out->seq = 0;
        return 0;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        out->ms = out->seq = UINT64_MAX;
        return 0;
    }
    uint64_t ms, seq;
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    if (!parse_u64(buf, &ms)) return -1;
    if (dash) {
        if (seq_given && dash[1] == '*' && dash[2] == '\0') {
            seq = 0;
            *seq_given = 0;
        } else if (!parse_u64(dash + 1, &seq)) {
            return -1;
        }
    } else {
        seq = missing_seq;
    }
    out->ms = ms;
    out->seq = seq;
    return 0;
}

int stream_id_parse_add(const char *s, size_t len, int *mode, stream_id *id) {
    int seq_given;
    if (len == 1 && s[0] == '*') {
        *mode = STREAM_ADD_AUTO;
        id->ms = id->seq = 0;
        return 0;
    }
    if (stream_id_parse(s, len, 0, 1, id, &seq_given) != 0) return -1;
    *mode = seq_given ? STREAM_ADD_EXPLICIT : STREAM_ADD_AUTO_SEQ;
    return 0;
}

int stream_id_parse_interval(const char *s, size_t len, uint64_t missing_seq, stream_id *out, int *exclusive) {
    int ex = len > 1 && s[0] == '(';
    if (exclusive) *exclusive = ex;
    if (ex) return stream_id_parse(s + 1, len - 1, missing_seq, 1, out, NULL);
    return stream_id_parse(s, len, missing_seq, 0, out, NULL);
}

/* ---------------------------------------------------------------- encoding */

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static unsigned char *varint_put(unsigned char *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (unsigned char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static const unsigned char *varint_get(const unsigned char *p, uint64_t *v) {
    uint64_t r = 0;
    unsigned shift = 0;
    for (;;) {
        unsigned char b = *p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *v = r;
    return p;
}

/* The backlen of a body of len bytes ends at end: its lowest 7 bits are in end[-1]. */
static unsigned char *backlen_put(unsigned char *p, uint64_t len) {
    size_t n = varint_len(len);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)((len >> (7 * i)) & 0x7f);
        if (i + 1 < n) b |= 0x80;
        p[n - 1 - i] = b;
    }
    return p + n;
}

static uint64_t backlen_get(const unsigned char *end, size_t *nbytes) {
    uint64_t v = 0;
    size_t i = 0;
    for (;;) {
        unsigned char b = end[-1 - (ptrdiff_t)i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        i++;
        if (!(b & 0x80)) break;
    }
    *nbytes = i;
    return v;
}

/* Decode the entry header at p: id, flags, and a fields view (mfields/mcount: the block
 * master's field list). Returns where the pairs start. */
static const unsigned char *entry_head(const sblock *b, const unsigned char *p, const unsigned char *mfields,
                                       uint64_t mcount, stream_id *id, unsigned *flags, stream_fields *f) {
    uint64_t msd, sq, np;
    unsigned fl = *p++;
    p = varint_get(p, &msd);
    p = varint_get(p, &sq);
    id->ms = b->first.ms + msd;
    id->seq = msd ? sq : b->first.seq + sq;
    if (fl & FLAG_SAME) {
        np = mcount;
        f->mp = mfields;
    } else {
        p = varint_get(p, &np);
        f->mp = NULL;
    }
    f->count = f->left = np;
    f->p = p;
    *flags = fl;
    return p;
}

/* End of the entry whose pairs start at p (just past its backlen). */
static const unsigned char *entry_end(const unsigned char *start, const unsigned char *p, const stream_fields *f) {
    uint64_t l;
    for (uint64_t i = 0; i < f->count; i++) {
        if (!f->mp) {
            p = varint_get(p, &l);
            p += l;
        }
        p = varint_get(p, &l);
        p += l;
    }
    return p + varint_len((uint64_t)(p - start));
}

static void block_master(const sblock *b, const unsigned char **mfields, uint64_t *mcount) {
    stream_fields f;
    stream_id id;
    unsigned fl;
    *mfields = entry_head(b, b->data, NULL, 0, &id, &fl, &f);
    *mcount = f.count;
}

int stream_fields_next(stream_fields *f, const char **field, size_t *flen, const char **value, size_t *vlen) {
    uint64_t l;
    if (!f->left) return 0;
    if (f->mp) {
        f->mp = varint_get(f->mp, &l);
        *field = (const char *)f->mp;
        *flen = (size_t)l;
        f->mp += l;
        f->mp = varint_get(f->mp, &l); /* skip the master's value */
        f->mp += l;
        l = *flen;
    } else {
        f->p = varint_get(f->p, &l);
        *field = (const char *)f->p;
        f->p += l;
    }
    *flen = (size_t)l;
    f->p = varint_get(f->p, &l);
    *value = (const char *)f->p;
    *vlen = (size_t)l;
    f->p += l;
    f->left--;
    return 1;
}

/* ---------------------------------------------------------------- the block vector */

static sblock *blk_at(const stream *s, size_t i) { return s->blk[s->head + i]; }

/* Index of the last block whose first id <= id, or -1 if none. */
static ptrdiff_t block_find(const stream *s, const stream_id *id) {
    size_t lo = 0, hi = s->nblk; /* answer in [lo-1, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (stream_id_cmp(&blk_at(s, mid)->first, id) <= 0) lo = mid + 1;
        else hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

static void block_push(stream *s, sblock *b) {
    if (s->head + s->nblk == s->bcap) {
        if (s->head > 0 && s->head >= s->bcap / 2) {
            memmove(s->blk, s->blk + s->head, s->nblk * sizeof(*s->blk));
            s->head = 0;
        } else {
            s->bcap = s->bcap ? s->bcap * 2 : 4;
            s->blk = xrealloc(s->blk, s->bcap * sizeof(*s->blk));
        }
    }
    s->blk[s->head + s->nblk++] = b;
}

static void block_remove(stream *s, size_t i) {
    sblock *b = blk_at(s, i);
    s->block_bytes -= sizeof(*b) + b->cap;
    free(b);
    if (i == 0) {
        s->head++;
    } else {
        memmove(s->blk + s->head + i, s->blk + s->head + i + 1, (s->nblk - i - 1) * sizeof(*s->blk));
    }
    if (--s->nblk == 0) s->head = 0;
}

/* The first live id of the stream (which must not be empty). */
static stream_id first_live(const stream *s) {
    const sblock *b = blk_at(s, 0);
    const unsigned char *mf, *p = b->data;
    uint64_t mc;
    block_master(b, &mf, &mc);
    for (;;) {
        stream_id id;
        unsigned fl;
        stream_fields f;
        const unsigned char *q = entry_head(b, p, mf, mc, &id, &fl, &f);
        if (!(fl & FLAG_DELETED)) return id;
        p = entry_end(p, q, &f);
    }
}

/* The last live id of a block. */
static stream_id block_last_live(const sblock *b) {
    const unsigned char *mf;
    uint64_t mc;
    size_t off = b->used;
    block_master(b, &mf, &mc);
    for (;;) {
        stream_id id;
        unsigned fl;
        stream_fields f;
        size_t nb;
        uint64_t body = backlen_get(b->data + off, &nb);
        off -= nb + (size_t)body;
        entry_head(b, b->data + off, mf, mc, &id, &fl, &f);
        if (!(fl & FLAG_DELETED)) return id;
    }
}

static void update_first_id(stream *s) {
    if (s->length == 0) s->first_id.ms = s->first_id.seq = 0;
    else s->first_id = first_live(s);
}

/* ---------------------------------------------------------------- the stream */

stream *stream_new(void) {
    stream *s = xmalloc(sizeof(*s));
    memset(s, 0, sizeof(*s));
    return s;
}

static void group_free(stream_group *g);

void stream_free(void *ptr) {
    stream *s = ptr;
    if (!s) return;
    for (size_t i = 0; i < s->nblk; i++) free(blk_at(s, i));
    free(s->blk);
    for (size_t i = 0; i < s->ngroups; i++) group_free(s->groups[i]);
    free(s->groups);
    free(s);
}

uint64_t stream_length(const stream *s) { return s->length; }
stream_id stream_last_id(const stream *s) { return s->last_id; }
stream_id stream_first_id(const stream *s) { return s->first_id; }
stream_id stream_max_deleted_id(const stream *s) { return s->max_deleted; }
uint64_t stream_entries_added(const stream *s) { return s->entries_added; }
size_t stream_block_count(const stream *s) { return s->nblk; }
size_t stream_group_count(const stream *s) { return s->ngroups; }

size_t stream_memory(const stream *s) {
    return sizeof(*s) + s->bcap * sizeof(*s->blk) + s->block_bytes + s->gcap * sizeof(*s->groups) + s->meta_bytes;
}

/* A group's share of meta_bytes. */
static size_t group_bytes(const stream_group *g) {
    size_t n = sizeof(*g) + g->name_len + g->ccap * sizeof(*g->cons) + g->pel_count * sizeof(stream_nack);
    for (size_t j = 0; j < g->ncons; j++) n += sizeof(stream_consumer) + g->cons[j]->name_len;
    return n;
}

size_t stream_memory_recount(const stream *s) {
    size_t n = sizeof(*s) + s->bcap * sizeof(*s->blk) + s->block_bytes + s->gcap * sizeof(*s->groups);
    for (size_t i = 0; i < s->ngroups; i++) n += group_bytes(s->groups[i]);
    return n;
}

static int block_is_full(const sblock *b, size_t payload) {
    size_t mb = stream_node_max_bytes;
    if (mb == 0 || mb > BLOCK_MAX_BYTES) mb = BLOCK_MAX_BYTES;
    if ((size_t)b->used + payload >= mb) return 1;
    return stream_node_max_entries && b->count >= stream_node_max_entries;
}

static int same_fields(const sblock *b, const stream_str *fv, size_t npairs) {
    const unsigned char *mf;
    uint64_t mc, l;
    block_master(b, &mf, &mc);
    if (mc != npairs) return 0;
    for (size_t i = 0; i < npairs; i++) {
        mf = varint_get(mf, &l);
        if (l != fv[2 * i].len || memcmp(mf, fv[2 * i].ptr, l) != 0) return 0;
        mf += l;
        mf = varint_get(mf, &l); /* skip the master's value */
        mf += l;
    }
    return 1;
}

/* The id XADD would give the new entry, or a STREAM_E_* error. */
static int add_next_id(const stream *s, int mode, const stream_id *id, long long now_ms, stream_id *nid) {
    static const stream_id max = {UINT64_MAX, UINT64_MAX};
    if (mode == STREAM_ADD_EXPLICIT && stream_id_is_zero(id)) return STREAM_E_ZERO;
    if (stream_id_cmp(&s->last_id, &max) == 0) return STREAM_E_EXHAUSTED;
    if (mode == STREAM_ADD_AUTO) {
        if (now_ms > 0 && (uint64_t)now_ms > s->last_id.ms) {
            nid->ms = (uint64_t)now_ms;
            nid->seq = 0;
        } else {
            *nid = s->last_id;
            stream_id_incr(nid);
        }
    } else if (mode == STREAM_ADD_AUTO_SEQ) {
        if (s->last_id.ms == id->ms) {
            if (s->last_id.seq == UINT64_MAX) return STREAM_E_SMALL;
            *nid = s->last_id;
            nid->seq++;
        } else {
            nid->ms = id->ms;
            nid->seq = 0;
        }
    } else {
        *nid = *id;
    }
    return stream_id_cmp(nid, &s->last_id) <= 0 ? STREAM_E_SMALL : STREAM_OK;
}

/* Close the tail block at its exact size and push a new one able to hold bytes. */
static sblock *block_open(stream *s, const stream_id *first, size_t bytes) {
    if (s->nblk) {
        sblock *t = blk_at(s, s->nblk - 1);
        if (t->cap > t->used) {
            s->block_bytes -= t->cap - t->used;
            t->cap = t->used;
            t = xrealloc(t, sizeof(*t) + t->cap);
            s->blk[s->head + s->nblk - 1] = t;
        }
    }
    size_t cap = bytes > BLOCK_MIN_CAP ? bytes : BLOCK_MIN_CAP;
    sblock *b = xmalloc(sizeof(*b) + cap);
    b->first = b->last = *first;
    b->used = b->count = b->live = 0;
    b->cap = (uint32_t)cap;
    s->block_bytes += sizeof(*b) + cap;
    block_push(s, b);
    return b;
}

/* Make room for bytes more in the tail block b; returns its (possibly moved) address. */
static sblock *block_grow(stream *s, sblock *b, size_t bytes) {
    size_t need = (size_t)b->used + bytes, cap = (size_t)b->cap * 2;
    if (need <= b->cap) return b;
    if (cap < need) cap = need;
    /* A block is closed near stream_node_max_bytes: don't double past it. */
    if (stream_node_max_bytes && cap > stream_node_max_bytes + 256 && need <= stream_node_max_bytes + 256)
        cap = stream_node_max_bytes + 256;
    if (cap > UINT32_MAX) cap = need; /* need < 3GB: it fits */
    s->block_bytes += cap - b->cap;
    b = xrealloc(b, sizeof(*b) + cap);
    b->cap = (uint32_t)cap;
    s->blk[s->head + s->nblk - 1] = b;
    return b;
}

/* Encoded size of an entry, given the deltas and whether it shares field names. */
static size_t entry_size(uint64_t msd, uint64_t sq, const stream_str *fv, size_t npairs, int same) {
    size_t body = 1 + varint_len(msd) + varint_len(sq) + (same ? 0 : varint_len(npairs));
    for (size_t i = 0; i < 2 * npairs; i++) {
        if (same && i % 2 == 0) continue;
        body += varint_len(fv[i].len) + fv[i].len;
    }
    return body + varint_len(body);
}

static void entry_write(sblock *b, uint64_t msd, uint64_t sq, const stream_str *fv, size_t npairs, int same,
                        size_t total) {
    unsigned char *start = b->data + b->used, *p = start;
    *p++ = same ? FLAG_SAME : 0;
    p = varint_put(p, msd);
    p = varint_put(p, sq);
    if (!same) p = varint_put(p, npairs);
    for (size_t i = 0; i < 2 * npairs; i++) {
        if (same && i % 2 == 0) continue;
        p = varint_put(p, fv[i].len);
        if (fv[i].len) memcpy(p, fv[i].ptr, fv[i].len);
        p += fv[i].len;
    }
    backlen_put(p, (uint64_t)(p - start));
    b->used += (uint32_t)total;
    b->count++;
    b->live++;
}

int stream_add(stream *s, int mode, const stream_id *id, const stream_str *fv, size_t npairs, long long now_ms,
               stream_id *added) {
    stream_id nid;
    int rc = add_next_id(s, mode, id, now_ms, &nid);
    if (rc != STREAM_OK) return rc;
    size_t payload = 0;
    for (size_t i = 0; i < 2 * npairs; i++) {
        payload += fv[i].len;
        if (payload > BLOCK_MAX_BYTES) return STREAM_E_TOO_LARGE; /* as Redis */
    }

    /* Append to the tail block unless it is full or nid does not follow its last id. */
    sblock *b = s->nblk ? blk_at(s, s->nblk - 1) : NULL;
    if (b && (block_is_full(b, payload) || stream_id_cmp(&nid, &b->last) <= 0)) b = NULL;
    int same = b && same_fields(b, fv, npairs);
    const stream_id *base = b ? &b->first : &nid;
    uint64_t msd = nid.ms - base->ms;
    uint64_t sq = msd ? nid.seq : nid.seq - base->seq;
    size_t total = entry_size(msd, sq, fv, npairs, same);
    if (total > ENTRY_MAX_BYTES) return STREAM_E_TOO_LARGE;
    b = b ? block_grow(s, b, total) : block_open(s, &nid, total);
    entry_write(b, msd, sq, fv, npairs, same, total);
    b->last = nid;

    s->length++;
    s->entries_added++;
    s->last_id = nid;
    if (s->length == 1) s->first_id = nid;
    if (added) *added = nid;
    return STREAM_OK;
}

int stream_set_id(stream *s, const stream_id *last, long long entries_added, const stream_id *max_deleted) {
    if (s->length > 0) {
        stream_iter it;
        stream_id maxid, top = {UINT64_MAX, UINT64_MAX}, zero = {0, 0};
        stream_fields f;
        stream_iter_init(&it, s, &zero, &top, 1);
        stream_iter_next(&it, &maxid, &f);
        if (stream_id_cmp(last, &maxid) < 0) return STREAM_E_SMALL;
        if (entries_added >= 0 && s->length > (uint64_t)entries_added) return STREAM_E_ADDED;
    }
    s->last_id = *last;
    if (entries_added >= 0) s->entries_added = (uint64_t)entries_added;
    if (max_deleted && !stream_id_is_zero(max_deleted)) s->max_deleted = *max_deleted;
    return STREAM_OK;
}

/* Find the live entry id: its block index and offset. Returns 1 if found. */
static int entry_locate(const stream *s, const stream_id *id, size_t *bi, size_t *off, stream_fields *fout) {
    ptrdiff_t i = block_find(s, id);
    if (i < 0) return 0;
    const sblock *b = blk_at(s, (size_t)i);
    const unsigned char *mf, *p = b->data, *end = b->data + b->used;
    uint64_t mc;
    block_master(b, &mf, &mc);
    while (p < end) {
        stream_id eid;
        unsigned fl;
        stream_fields f;
        const unsigned char *q = entry_head(b, p, mf, mc, &eid, &fl, &f);
        if (!(fl & FLAG_DELETED)) {
            int c = stream_id_cmp(&eid, id);
            if (c == 0) {
                *bi = (size_t)i;
                *off = (size_t)(p - b->data);
                if (fout) *fout = f;
                return 1;
            }
            if (c > 0) return 0;
        }
        p = entry_end(p, q, &f);
    }
    return 0;
}

int stream_get(const stream *s, const stream_id *id, stream_fields *f) {
    size_t bi, off;
    return entry_locate(s, id, &bi, &off, f);
}

/* Mark the entry at (bi, off) deleted; frees the block if it was its last live entry.
 * Returns 1 if the block was freed. */
static int entry_kill(stream *s, size_t bi, size_t off) {
    sblock *b = blk_at(s, bi);
    b->data[off] |= FLAG_DELETED;
    b->live--;
    s->length--;
    if (b->live == 0) {
        block_remove(s, bi);
        return 1;
    }
    return 0;
}

size_t stream_delete(stream *s, const stream_id *ids, size_t n) {
    size_t deleted = 0;
    int first_entry = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bi, off;
        if (entry_locate(s, &ids[i], &bi, &off, NULL)) {
            entry_kill(s, bi, off);
            deleted++;
        }
        if (deleted && stream_id_cmp(&ids[i], &s->max_deleted) > 0) s->max_deleted = ids[i];
        if (stream_id_cmp(&ids[i], &s->first_id) == 0) first_entry = 1;
    }
    if (deleted && (s->length == 0 || first_entry)) update_first_id(s);
    return deleted;
}

long long stream_trim_default_limit(void) {
    long long l = 100 * (long long)stream_node_max_entries;
    if (l <= 0 || l > 1000000) l = 10000;
    return l;
}

/* Exact trimming inside the first block: delete its live entries from the front while
 * the threshold asks for it. Returns how many were deleted. */
static uint64_t trim_first_block(stream *s, const stream_trim_args *a) {
    sblock *b = blk_at(s, 0);
    const unsigned char *mf;
    uint64_t mc, deleted = 0;
    size_t off = 0;
    block_master(b, &mf, &mc);
    while (off < b->used) {
        stream_id id;
        unsigned fl;
        stream_fields f;
        const unsigned char *p = b->data + off;
        const unsigned char *q = entry_head(b, p, mf, mc, &id, &fl, &f);
        size_t next = (size_t)(entry_end(p, q, &f) - b->data);
        if (!(fl & FLAG_DELETED)) {
            if (a->strategy == STREAM_TRIM_MAXLEN) {
                if (s->length <= a->maxlen) break;
            } else if (stream_id_cmp(&id, &a->minid) >= 0) {
                break;
            }
            deleted++;
            if (entry_kill(s, 0, off)) break; /* the block went with its last entry */
        }
        off = next;
    }
    return deleted;
}

uint64_t stream_trim(stream *s, const stream_trim_args *a) {
    uint64_t deleted = 0;
    if (a->strategy == STREAM_TRIM_NONE) return 0;
    while (s->nblk) {
        if (a->strategy == STREAM_TRIM_MAXLEN && s->length <= a->maxlen) break;
        sblock *b = blk_at(s, 0);
        uint64_t entries = b->live;
        if (a->limit && deleted + entries > (uint64_t)a->limit) break;
        int whole;
        if (a->strategy == STREAM_TRIM_MAXLEN) {
            whole = s->length - entries >= a->maxlen;
        } else {
            /* Redis compares the block's last id, deleted or not; the last live one is
             * the same but for trailing tombstones, and stays right when XSETID let
             * later blocks hold ids below this block's tombstones. */
            stream_id top = block_last_live(b);
            whole = stream_id_cmp(&top, &a->minid) < 0;
        }
        if (whole) {
            s->length -= entries;
            deleted += entries;
            block_remove(s, 0);
            continue;
        }
        /* The threshold falls inside this block: trim in it (exact only), then stop. */
        if (!a->approx) deleted += trim_first_block(s, a);
        break;
    }
    update_first_id(s);
    return deleted;
}

/* ---------------------------------------------------------------- iteration */

static void iter_load(stream_iter *it, size_t bi, int at_end) {
    const sblock *b = blk_at(it->s, bi);
    it->bi = bi;
    it->b = b;
    it->off = at_end ? b->used : 0;
    block_master(b, &it->mfields, &it->mcount);
}

void stream_iter_init(stream_iter *it, const stream *s, const stream_id *start, const stream_id *end, int rev) {
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->start = *start;
    it->end = *end;
    it->rev = rev;
    if (s->nblk == 0 || stream_id_cmp(start, end) > 0) {
        it->done = 1;
        return;
    }
    if (!rev) {
        ptrdiff_t i = block_find(s, start);
        iter_load(it, i < 0 ? 0 : (size_t)i, 0);
    } else {
        ptrdiff_t i = block_find(s, end);
        if (i < 0) {
            it->done = 1;
            return;
        }
        iter_load(it, (size_t)i, 1);
    }
}

int stream_iter_next(stream_iter *it, stream_id *id, stream_fields *f) {
    while (!it->done) {
        const sblock *b = it->b;
        unsigned fl;
        if (!it->rev) {
            if (it->off >= b->used) {
                if (it->bi + 1 >= it->s->nblk) break;
                iter_load(it, it->bi + 1, 0);
                continue;
            }
            const unsigned char *p = b->data + it->off;
            const unsigned char *q = entry_head(b, p, it->mfields, it->mcount, id, &fl, f);
            it->off = (size_t)(entry_end(p, q, f) - b->data);
            if (fl & FLAG_DELETED) continue;
            if (stream_id_cmp(id, &it->start) < 0) continue;
            if (stream_id_cmp(id, &it->end) > 0) break;
            return 1;
        } else {
            if (it->off == 0) {
                if (it->bi == 0) break;
                iter_load(it, it->bi - 1, 1);
                continue;
            }
            size_t nb;
            uint64_t body = backlen_get(b->data + it->off, &nb);
            it->off -= nb + (size_t)body;
            entry_head(b, b->data + it->off, it->mfields, it->mcount, id, &fl, f);
            if (fl & FLAG_DELETED) continue;
            if (stream_id_cmp(id, &it->end) > 0) continue;
            if (stream_id_cmp(id, &it->start) < 0) break;
            return 1;
        }
    }
    it->done = 1;
    return 0;
}

/* ---------------------------------------------------------------- PEL treaps */

#define LNK(n, t)    ((t) ? (n)->cl : (n)->gl)
#define LEFT(n, t)   (LNK(n, t)[0])
#define RIGHT(n, t)  (LNK(n, t)[1])
#define PARENT(n, t) (LNK(n, t)[2])

/* Keyed by the process's hash seed, so clients choosing ids cannot unbalance a PEL. */
static uint64_t nack_prio(const stream_nack *n) { return util_hash(&n->id, sizeof(n->id)); }

/* Rotate x above its parent. */
static void tr_rot_up(stream_nack **root, stream_nack *x, int t) {
    stream_nack *p = PARENT(x, t), *g = PARENT(p, t);
    if (LEFT(p, t) == x) {
        LEFT(p, t) = RIGHT(x, t);
        if (RIGHT(x, t)) PARENT(RIGHT(x, t), t) = p;
        RIGHT(x, t) = p;
    } else {
        RIGHT(p, t) = LEFT(x, t);
        if (LEFT(x, t)) PARENT(LEFT(x, t), t) = p;
        LEFT(x, t) = p;
    }
    PARENT(p, t) = x;
    PARENT(x, t) = g;
    if (!g) *root = x;
    else if (LEFT(g, t) == p) LEFT(g, t) = x;
    else RIGHT(g, t) = x;
}

/* Insert n (whose id is not in the tree). */
static void tr_insert(stream_nack **root, stream_nack *n, int t) {
    LEFT(n, t) = RIGHT(n, t) = PARENT(n, t) = NULL;
    if (!*root) {
        *root = n;
        return;
    }
    stream_nack *cur = *root;
    for (;;) {
        int dir = stream_id_cmp(&n->id, &cur->id) > 0;
        stream_nack *child = LNK(cur, t)[dir];
        if (!child) {
            LNK(cur, t)[dir] = n;
            PARENT(n, t) = cur;
            break;
        }
        cur = child;
    }
    uint64_t pr = nack_prio(n);
    while (PARENT(n, t) && pr > nack_prio(PARENT(n, t))) tr_rot_up(root, n, t);
}

static void tr_remove(stream_nack **root, stream_nack *n, int t) {
    while (LEFT(n, t) && RIGHT(n, t)) {
        stream_nack *l = LEFT(n, t), *r = RIGHT(n, t);
        tr_rot_up(root, nack_prio(l) > nack_prio(r) ? l : r, t);
    }
    stream_nack *child = LEFT(n, t) ? LEFT(n, t) : RIGHT(n, t), *p = PARENT(n, t);
    if (child) PARENT(child, t) = p;
    if (!p) *root = child;
    else if (LEFT(p, t) == n) LEFT(p, t) = child;
    else RIGHT(p, t) = child;
}

static stream_nack *tr_find(stream_nack *cur, const stream_id *id, int t) {
    while (cur) {
        int c = stream_id_cmp(id, &cur->id);
        if (c == 0) return cur;
        cur = LNK(cur, t)[c > 0];
    }
    return NULL;
}

static stream_nack *tr_lower_bound(stream_nack *cur, const stream_id *id, int t) {
    stream_nack *best = NULL;
    while (cur) {
        if (stream_id_cmp(&cur->id, id) >= 0) {
            best = cur;
            cur = LEFT(cur, t);
        } else {
            cur = RIGHT(cur, t);
        }
    }
    return best;
}

static stream_nack *tr_next(const stream_nack *n, int t) {
    if (RIGHT(n, t)) {
        stream_nack *c = RIGHT(n, t);
        while (LEFT(c, t)) c = LEFT(c, t);
        return c;
    }
    stream_nack *p = PARENT(n, t);
    while (p && RIGHT(p, t) == n) {
        n = p;
        p = PARENT(p, t);
    }
    return p;
}

static stream_nack *tr_edge(stream_nack *n, int right) {
    if (!n) return NULL;
    while (n->gl[right]) n = n->gl[right];
    return n;
}

/* ---------------------------------------------------------------- PEL records */

/* A pending record entered / left g's PEL. */
static void pel_grew(stream_group *g) {
    g->pel_count++;
    g->owner->meta_bytes += sizeof(stream_nack);
}

static void pel_shrank(stream_group *g) {
    g->pel_count--;
    g->owner->meta_bytes -= sizeof(stream_nack);
}

static stream_nack *nack_new(const stream_id *id, long long now) {
    stream_nack *n = xmalloc(sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->id = *id;
    n->delivery_time = now;
    n->delivery_count = 1;
    return n;
}

/* Give n to consumer c (may be its owner already, or n may be unowned). */
static void nack_assign(stream_nack *n, stream_consumer *c) {
    if (n->consumer == c) return;
    if (n->consumer) {
        tr_remove(&n->consumer->pel, n, 1);
        n->consumer->pel_count--;
    }
    tr_insert(&c->pel, n, 1);
    c->pel_count++;
    n->consumer = c;
}

/* Remove n from both PELs and free it. */
static void nack_drop(stream_group *g, stream_nack *n) {
    tr_remove(&g->pel, n, 0);
    pel_shrank(g);
    if (n->consumer) {
        tr_remove(&n->consumer->pel, n, 1);
        n->consumer->pel_count--;
    }
    free(n);
}

/* Free every node of tree t; if g is given, each is first removed from g's PEL. */
static void tr_free_all(stream_nack *n, int t, stream_group *g) {
    while (n) {
        if (LEFT(n, t)) {
            n = LEFT(n, t);
        } else if (RIGHT(n, t)) {
            n = RIGHT(n, t);
        } else {
            stream_nack *p = PARENT(n, t);
            if (p) {
                if (LEFT(p, t) == n) LEFT(p, t) = NULL;
                else RIGHT(p, t) = NULL;
            }
            if (g) {
                tr_remove(&g->pel, n, 0);
                pel_shrank(g);
            }
            free(n);
            n = p;
        }
    }
}

stream_nack *stream_pel_find(const stream_group *g, const stream_id *id) { return tr_find(g->pel, id, 0); }
stream_nack *stream_pel_seek(const stream_group *g, const stream_id *start) { return tr_lower_bound(g->pel, start, 0); }
stream_nack *stream_consumer_pel_seek(const stream_consumer *c, const stream_id *start) {
    return tr_lower_bound(c->pel, start, 1);
}
stream_nack *stream_pel_next(const stream_nack *n) { return tr_next(n, 0); }
stream_nack *stream_consumer_pel_next(const stream_nack *n) { return tr_next(n, 1); }
stream_nack *stream_pel_first(const stream_group *g) { return tr_edge(g->pel, 0); }
stream_nack *stream_pel_last(const stream_group *g) { return tr_edge(g->pel, 1); }

/* ---------------------------------------------------------------- groups & consumers */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Position of name in the groups array (or where it would go); *found set. */
static size_t group_pos(const stream *s, const char *name, size_t len, int *found) {
    size_t lo = 0, hi = s->ngroups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(s->groups[mid]->name, s->groups[mid]->name_len, name, len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

static size_t consumer_pos(const stream_group *g, const char *name, size_t len, int *found) {
    size_t lo = 0, hi = g->ncons;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(g->cons[mid]->name, g->cons[mid]->name_len, name, len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

stream_group *stream_group_find(const stream *s, const char *name, size_t len) {
    int found;
    size_t i = group_pos(s, name, len, &found);
    return found ? s->groups[i] : NULL;
}

stream_group *stream_group_create(stream *s, const char *name, size_t len, const stream_id *last_id,
                                  long long entries_read) {
    int found;
    size_t i = group_pos(s, name, len, &found);
    if (found) return NULL;
    stream_group *g = xmalloc(sizeof(*g) + len + 1);
    memset(g, 0, sizeof(*g));
    g->owner = s;
    g->last_id = *last_id;
    g->entries_read = entries_read;
    g->name_len = len;
    if (len) memcpy(g->name, name, len);
    g->name[len] = '\0';
    if (s->ngroups == s->gcap) {
        s->gcap = s->gcap ? s->gcap * 2 : 2;
        s->groups = xrealloc(s->groups, s->gcap * sizeof(*s->groups));
    }
    memmove(s->groups + i + 1, s->groups + i, (s->ngroups - i) * sizeof(*s->groups));
    s->groups[i] = g;
    s->ngroups++;
    s->meta_bytes += sizeof(*g) + len;
    return g;
}

/* Freeing in pieces (storage/lazyfree.c): blocks from the tail, then each group's
 * pending records (tr_free_all restarted from the root, which stays linked until it
 * is the last node), its consumers and the group, then the vectors. A unit is one
 * allocation freed. The stream is a detached value nobody reads meanwhile. */
static size_t group_free_step(stream_group *g, size_t units) {
    size_t done = 0;
    while (g->pel && done < units) {
        stream_nack *n = g->pel;
        while (LEFT(n, 0) || RIGHT(n, 0)) n = LEFT(n, 0) ? LEFT(n, 0) : RIGHT(n, 0);
        stream_nack *p = PARENT(n, 0);
        if (!p) g->pel = NULL;
        else if (LEFT(p, 0) == n) LEFT(p, 0) = NULL;
        else RIGHT(p, 0) = NULL;
        free(n);
        done++;
    }
    while (!g->pel && g->ncons > 0 && done < units) {
        free(g->cons[--g->ncons]);
        done++;
    }
    return done;
}

int stream_free_step(void *ptr, size_t units) {
    stream *s = ptr;
    size_t done = 0;
    while (s->nblk > 0 && done < units) {
        free(blk_at(s, s->nblk - 1));
        s->nblk--;
        done++;
    }
    while (s->ngroups > 0 && done < units) {
        stream_group *g = s->groups[s->ngroups - 1];
        done += group_free_step(g, units - done);
        if (g->pel || g->ncons) return 0;
        free(g->cons);
        free(g);
        s->ngroups--;
        done++;
    }
    if (s->nblk || s->ngroups) return 0;
    stream_free(s);
    return 1;
}

/* As Redis's lazyfreeGetFreeEffort for a stream: its nodes, plus each group's pending
 * records (and the group itself). */
size_t stream_free_effort(const void *ptr) {
    const stream *s = ptr;
    size_t effort = s->nblk;
    for (size_t i = 0; i < s->ngroups; i++) effort += 1 + s->groups[i]->pel_count + s->groups[i]->ncons;
    return effort;
}

static void group_free(stream_group *g) {
    tr_free_all(g->pel, 0, NULL);
    for (size_t i = 0; i < g->ncons; i++) free(g->cons[i]);
    free(g->cons);
    free(g);
}

int stream_group_destroy(stream *s, const char *name, size_t len) {
    int found;
    size_t i = group_pos(s, name, len, &found);
    if (!found) return 0;
    s->meta_bytes -= group_bytes(s->groups[i]);
    group_free(s->groups[i]);
    memmove(s->groups + i, s->groups + i + 1, (s->ngroups - i - 1) * sizeof(*s->groups));
    s->ngroups--;
    return 1;
}

void stream_group_set_id(stream_group *g, const stream_id *last_id, long long entries_read) {
    g->last_id = *last_id;
    g->entries_read = entries_read;
}

void stream_group_set_last_id_if_greater(stream_group *g, const stream_id *id) {
    if (stream_id_cmp(id, &g->last_id) > 0) g->last_id = *id;
}

stream_group *stream_group_at(const stream *s, size_t i) { return i < s->ngroups ? s->groups[i] : NULL; }

const char *stream_group_name(const stream_group *g, size_t *len) {
    if (len) *len = g->name_len;
    return g->name;
}
stream_id stream_group_last_id(const stream_group *g) { return g->last_id; }
long long stream_group_entries_read(const stream_group *g) { return g->entries_read; }
size_t stream_group_pending_count(const stream_group *g) { return g->pel_count; }
size_t stream_group_consumer_count(const stream_group *g) { return g->ncons; }

/* Redis's streamRangeHasTombstones: may [start, end] hold a deleted entry? */
static int range_has_tombstones(const stream *s, const stream_id *start, const stream_id *end) {
    static const stream_id zero = {0, 0}, max = {UINT64_MAX, UINT64_MAX};
    if (!s->length || stream_id_is_zero(&s->max_deleted)) return 0;
    if (stream_id_cmp(&s->first_id, &s->max_deleted) > 0) return 0;
    if (!start) start = &zero;
    if (!end) end = &max;
    return stream_id_cmp(start, &s->max_deleted) <= 0 && stream_id_cmp(&s->max_deleted, end) <= 0;
}

/* Redis's streamEstimateDistanceFromFirstEverEntry: the logical read counter of id. */
static long long estimate_distance(const stream *s, const stream_id *id) {
    if (!s->entries_added) return 0;
    if (!s->length && stream_id_cmp(id, &s->last_id) < 1) return (long long)s->entries_added;
    int cmp_last = stream_id_cmp(id, &s->last_id);
    if (cmp_last == 0) return (long long)s->entries_added;
    if (cmp_last > 0) return STREAM_ENTRIES_READ_INVALID;
    int cmp_id_first = stream_id_cmp(id, &s->first_id);
    int cmp_xdel_first = stream_id_cmp(&s->max_deleted, &s->first_id);
    if (stream_id_is_zero(&s->max_deleted) || cmp_xdel_first < 0) {
        if (cmp_id_first < 0) return (long long)(s->entries_added - s->length);
        if (cmp_id_first == 0) return (long long)(s->entries_added - s->length + 1);
    }
    return STREAM_ENTRIES_READ_INVALID;
}

int stream_group_lag(const stream *s, const stream_group *g, long long *lag) {
    if (!s->entries_added) {
        *lag = 0;
        return 1;
    }
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID && !range_has_tombstones(s, &g->last_id, NULL)) {
        *lag = (long long)s->entries_added - g->entries_read;
        return 1;
    }
    long long er = estimate_distance(s, &g->last_id);
    if (er == STREAM_ENTRIES_READ_INVALID) return 0;
    *lag = (long long)s->entries_added - er;
    return 1;
}

stream_consumer *stream_consumer_at(const stream_group *g, size_t i) { return i < g->ncons ? g->cons[i] : NULL; }

stream_consumer *stream_consumer_find(const stream_group *g, const char *name, size_t len) {
    int found;
    size_t i = consumer_pos(g, name, len, &found);
    return found ? g->cons[i] : NULL;
}

stream_consumer *stream_consumer_create(stream_group *g, const char *name, size_t len, long long now) {
    int found;
    size_t i = consumer_pos(g, name, len, &found);
    if (found) return NULL;
    stream_consumer *c = xmalloc(sizeof(*c) + len + 1);
    memset(c, 0, sizeof(*c));
    c->seen_time = now;
    c->active_time = -1;
    c->name_len = len;
    if (len) memcpy(c->name, name, len);
    c->name[len] = '\0';
    if (g->ncons == g->ccap) {
        size_t cap = g->ccap ? g->ccap * 2 : 2;
        g->cons = xrealloc(g->cons, cap * sizeof(*g->cons));
        g->owner->meta_bytes += (cap - g->ccap) * sizeof(*g->cons);
        g->ccap = cap;
    }
    g->owner->meta_bytes += sizeof(*c) + len;
    memmove(g->cons + i + 1, g->cons + i, (g->ncons - i) * sizeof(*g->cons));
    g->cons[i] = c;
    g->ncons++;
    return c;
}

stream_consumer *stream_consumer_get(stream_group *g, const char *name, size_t len, long long now) {
    stream_consumer *c = stream_consumer_find(g, name, len);
    if (c) {
        c->seen_time = now;
        return c;
    }
    return stream_consumer_create(g, name, len, now);
}

long long stream_consumer_delete(stream_group *g, const char *name, size_t len) {
    int found;
    size_t i = consumer_pos(g, name, len, &found);
    if (!found) return -1;
    stream_consumer *c = g->cons[i];
    long long pending = (long long)c->pel_count;
    tr_free_all(c->pel, 1, g);
    g->owner->meta_bytes -= sizeof(*c) + c->name_len;
    free(c);
    memmove(g->cons + i, g->cons + i + 1, (g->ncons - i - 1) * sizeof(*g->cons));
    g->ncons--;
    return pending;
}

const char *stream_consumer_name(const stream_consumer *c, size_t *len) {
    if (len) *len = c->name_len;
    return c->name;
}
size_t stream_consumer_pending_count(const stream_consumer *c) { return c->pel_count; }
long long stream_consumer_seen_time(const stream_consumer *c) { return c->seen_time; }
long long stream_consumer_active_time(const stream_consumer *c) { return c->active_time; }
void stream_consumer_touch(stream_consumer *c, long long now) { c->seen_time = now; }

/* ---------------------------------------------------------------- delivery */

int stream_ack(stream_group *g, const stream_id *id) {
    stream_nack *n = tr_find(g->pel, id, 0);
    if (!n) return 0;
    nack_drop(g, n);
    return 1;
}

/* Make id pending for c in g, delivered now: a new record, or the existing one moved to c
 * and reset (as Redis does when ">" re-delivers an id still pending, after SETID). */
static void pel_deliver(stream_group *g, stream_consumer *c, const stream_id *id, long long now) {
    stream_nack *n = tr_find(g->pel, id, 0);
    if (!n) {
        n = nack_new(id, now);
        tr_insert(&g->pel, n, 0);
        pel_grew(g);
    } else {
        n->delivery_time = now;
        n->delivery_count = 1;
    }
    nack_assign(n, c);
}

size_t stream_read_group(stream *s, stream_group *g, stream_consumer *c, size_t count, int noack, long long now,
                         stream_entry_fn fn, void *priv) {
    static const stream_id max = {UINT64_MAX, UINT64_MAX};
    stream_id start = g->last_id, id;
    stream_fields f;
    stream_iter it;
    size_t n = 0;
    if (stream_id_incr(&start) != 0) return 0;
    stream_iter_init(&it, s, &start, &max, 0);
    while ((!count || n < count) && stream_iter_next(&it, &id, &f)) {
        if (g->entries_read != STREAM_ENTRIES_READ_INVALID && !range_has_tombstones(s, &id, NULL)) g->entries_read++;
        else if (s->entries_added) g->entries_read = estimate_distance(s, &id);
        g->last_id = id;
        if (!noack) pel_deliver(g, c, &id, now);
        if (fn) fn(priv, &id, &f);
        n++;
    }
    if (n) c->active_time = now;
    return n;
}

size_t stream_read_pending(stream *s, stream_consumer *c, const stream_id *start, size_t count, long long now,
                           stream_entry_fn fn, void *priv) {
    size_t n = 0;
    for (stream_nack *nk = tr_lower_bound(c->pel, start, 1); nk && (!count || n < count); nk = tr_next(nk, 1)) {
        stream_fields f;
        if (stream_get(s, &nk->id, &f)) {
            nk->delivery_time = now;
            nk->delivery_count++;
            if (fn) fn(priv, &nk->id, &f);
        } else if (fn) {
            fn(priv, &nk->id, NULL);
        }
        n++;
    }
    return n;
}

int stream_claim(stream *s, stream_group *g, const char *name, size_t len, stream_consumer **c, const stream_id *id,
                 const stream_claim_args *a) {
    stream_nack *n = tr_find(g->pel, id, 0);
    if (!stream_get(s, id, NULL)) {
        if (n) nack_drop(g, n);
        return STREAM_CLAIM_DELETED;
    }
    if (a->force && !n) {
        n = nack_new(id, a->now);
        tr_insert(&g->pel, n, 0);
        pel_grew(g);
    }
    if (!n) return STREAM_CLAIM_SKIPPED;
    if (n->consumer && a->min_idle && a->now - n->delivery_time < a->min_idle) return STREAM_CLAIM_SKIPPED;
    if (!*c) *c = stream_consumer_get(g, name, len, a->now);
    n->delivery_time = a->delivery_time;
    if (a->retry_count >= 0) n->delivery_count = (uint64_t)a->retry_count;
    else if (!a->justid) n->delivery_count++;
    nack_assign(n, *c);
    (*c)->active_time = a->now;
    return STREAM_CLAIM_CLAIMED;
}

/* Append id to the claimed (which 0) or deleted (1) list of r, whose arrays hold *cap. */
static void ac_push(stream_autoclaim_result *r, size_t *cap, int which, const stream_id *id) {
    if (r->nclaimed == *cap || r->ndeleted == *cap) {
        *cap *= 2;
        r->claimed = xrealloc(r->claimed, *cap * sizeof(*r->claimed));
        r->deleted = xrealloc(r->deleted, *cap * sizeof(*r->deleted));
    }
    if (which) r->deleted[r->ndeleted++] = *id;
    else r->claimed[r->nclaimed++] = *id;
}

int stream_autoclaim(stream *s, stream_group *g, const char *name, size_t len, long long min_idle,
                     const stream_id *start, size_t count, int justid, long long now, stream_autoclaim_result *r) {
    stream_consumer *c = NULL;
    size_t attempts = count > SIZE_MAX / 10 ? SIZE_MAX : count * 10;
    size_t cap = count < 1024 ? count : 1024;
    memset(r, 0, sizeof(*r));
    if (cap) {
        r->claimed = xmalloc(cap * sizeof(*r->claimed));
        r->deleted = xmalloc(cap * sizeof(*r->deleted));
    }
    stream_nack *n = tr_lower_bound(g->pel, start, 0);
    while (attempts && count && n) {
        attempts--;
        stream_nack *next = tr_next(n, 0);
        if (!stream_get(s, &n->id, NULL)) {
            ac_push(r, &cap, 1, &n->id);
            nack_drop(g, n);
            count--;
            n = next;
            continue;
        }
        if (min_idle && now - n->delivery_time < min_idle) {
            n = next;
            continue;
        }
        if (!c) c = stream_consumer_get(g, name, len, now);
        n->delivery_time = now;
        if (!justid) n->delivery_count++;
        nack_assign(n, c);
        c->active_time = now;
        ac_push(r, &cap, 0, &n->id);
        count--;
        n = next;
    }
    if (n) r->next = n->id;
    return 0;
}

void stream_autoclaim_free(stream_autoclaim_result *r) {
    free(r->claimed);
    free(r->deleted);
    r->claimed = r->deleted = NULL;
    r->nclaimed = r->ndeleted = 0;
}

/* ---------------------------------------------------------------- copying */

stream *stream_dup(const stream *s) {
    stream *d = stream_new();
    d->length = s->length;
    d->entries_added = s->entries_added;
    d->last_id = s->last_id;
    d->first_id = s->first_id;
    d->max_deleted = s->max_deleted;
    if (s->nblk) {
        d->bcap = s->nblk;
        d->blk = xmalloc(d->bcap * sizeof(*d->blk));
        for (size_t i = 0; i < s->nblk; i++) {
            const sblock *b = blk_at(s, i);
            sblock *c = xmalloc(sizeof(*c) + b->cap);
            memcpy(c, b, sizeof(*c) + b->used);
            d->blk[i] = c;
            d->block_bytes += sizeof(*c) + c->cap;
        }
        d->nblk = s->nblk;
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        const stream_group *sg = s->groups[i];
        stream_group *g = stream_group_create(d, sg->name, sg->name_len, &sg->last_id, sg->entries_read);
        for (size_t j = 0; j < sg->ncons; j++) {
            const stream_consumer *sc = sg->cons[j];
            stream_consumer *c = stream_consumer_create(g, sc->name, sc->name_len, sc->seen_time);
            c->active_time = sc->active_time;
        }
        for (const stream_nack *sn = tr_edge(sg->pel, 0); sn; sn = tr_next(sn, 0)) {
            stream_nack *n = nack_new(&sn->id, sn->delivery_time);
            n->delivery_count = sn->delivery_count;
            tr_insert(&g->pel, n, 0);
            pel_grew(g);
            if (sn->consumer) nack_assign(n, stream_consumer_find(g, sn->consumer->name, sn->consumer->name_len));
        }
    }
    return d;
}

/* ---------------------------------------------------------------- RDB
 * RDB_TYPE_STREAM_LISTPACKS_2, as Redis 7.0 writes it: the number of nodes, then per
 * node its master id (16 bytes, big-endian ms and seq) and a listpack: the master entry
 * (live count, deleted count, field count, the field names, 0), then per entry its
 * flags, ms and seq relative to the master id, the field count and names unless they are
 * the master's (SAMEFIELDS), the values, and lp-count (the entry's elements before it).
 * One node per block: every block holds live entries, and only live ones are written.
 * Then length, last id, first id, max deleted id, entries added; per group (name order)
 * its name, last id, entries read, its PEL (16-byte id, 8-byte delivery time, delivery
 * count) and its consumers (name, seen time, the ids they own). */

#define RDB_STREAM_SAME 2

static int save_id_raw(rdb_writer *w, const stream_id *id) {
    unsigned char b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(id->ms >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(id->seq >> (56 - 8 * i));
    }
    return rdb_write_raw(w, b, 16);
}

static void load_id_raw(const unsigned char *b, stream_id *id) {
    id->ms = id->seq = 0;
    for (int i = 0; i < 8; i++) {
        id->ms = id->ms << 8 | b[i];
        id->seq = id->seq << 8 | b[8 + i];
    }
}

typedef struct rdb_field {
    const char *p;
    size_t len;
} rdb_field;

/* Write the node whose entries it yields from the current block on; returns 0 or -1.
 * *more is 1 if an entry of the next block was read (its id and fields in *id, *f). */
static int stream_save_node(rdb_writer *w, stream_iter *it, stream_id *id, stream_fields *f, int *more) {
    size_t bi = it->bi;
    stream_id master = *id;
    size_t nm = (size_t)f->count;
    rdb_field *mf = xmalloc((nm ? nm : 1) * sizeof(*mf));
    stream_fields ff = *f;
    const char *fp, *vp;
    size_t fl, vl;
    for (size_t i = 0; stream_fields_next(&ff, &fp, &fl, &vp, &vl); i++) mf[i] = (rdb_field){fp, fl};
    lp_builder b, e;
    lpb_init(&b);
    lpb_init(&e);
    size_t count = 0;
    *more = 0;
    for (;;) {
        stream_fields g = *f;
        int same = g.count == nm;
        for (size_t i = 0; same && stream_fields_next(&g, &fp, &fl, &vp, &vl); i++)
            same = fl == mf[i].len && memcmp(fp, mf[i].p, fl) == 0;
        lpb_add_int(&e, same ? RDB_STREAM_SAME : 0);
        lpb_add_int(&e, (long long)(id->ms - master.ms));
        lpb_add_int(&e, (long long)(id->seq - master.seq));
        if (!same) lpb_add_int(&e, (long long)f->count);
        g = *f;
        while (stream_fields_next(&g, &fp, &fl, &vp, &vl)) {
            if (!same) lpb_add(&e, fp, fl);
            lpb_add(&e, vp, vl);
        }
        lpb_add_int(&e, (long long)(same ? f->count + 3 : f->count * 2 + 4));
        count++;
        if (!stream_iter_next(it, id, f)) break;
        if (it->bi != bi) {
            *more = 1;
            break;
        }
    }
    lpb_add_int(&b, (long long)count);
    lpb_add_int(&b, 0);
    lpb_add_int(&b, (long long)nm);
    for (size_t i = 0; i < nm; i++) lpb_add(&b, mf[i].p, mf[i].len);
    lpb_add_int(&b, 0);
    /* the entries after the master entry: e's elements, header dropped */
    size_t body = e.len - 6;
    if (b.len + body + 1 > b.cap) {
        b.cap = b.len + body + 1;
        b.buf = xrealloc(b.buf, b.cap);
    }
    memcpy(b.buf + b.len, e.buf + 6, body);
    b.len += body;
    b.count += e.count;
    lpb_finish(&b);
    unsigned char nk[16];
    for (int i = 0; i < 8; i++) {
        nk[i] = (unsigned char)(master.ms >> (56 - 8 * i));
        nk[8 + i] = (unsigned char)(master.seq >> (56 - 8 * i));
    }
    int rc = rdb_save_string(w, (const char *)nk, 16) || rdb_save_string(w, (const char *)b.buf, b.len) ? -1 : 0;
    lpb_free(&b);
    lpb_free(&e);
    free(mf);
    return rc;
}

static int stream_rdb_save(const rkey *k, rdb_writer *w) {
    const stream *s = rkey_ptr(k);
    if (rdb_save_len(w, s->nblk) < 0) return -1;
    stream_iter it;
    stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX}, id;
    stream_fields f;
    stream_iter_init(&it, s, &lo, &hi, 0);
    int more = stream_iter_next(&it, &id, &f);
    while (more)
        if (stream_save_node(w, &it, &id, &f, &more) < 0) return -1;
    if (rdb_save_len(w, s->length) || rdb_save_len(w, s->last_id.ms) || rdb_save_len(w, s->last_id.seq) ||
        rdb_save_len(w, s->first_id.ms) || rdb_save_len(w, s->first_id.seq) || rdb_save_len(w, s->max_deleted.ms) ||
        rdb_save_len(w, s->max_deleted.seq) || rdb_save_len(w, s->entries_added) || rdb_save_len(w, s->ngroups))
        return -1;
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        const stream_group *g = s->groups[gi];
        if (rdb_save_string(w, g->name, g->name_len) || rdb_save_len(w, g->last_id.ms) ||
            rdb_save_len(w, g->last_id.seq) || rdb_save_len(w, (uint64_t)g->entries_read) ||
            rdb_save_len(w, g->pel_count))
            return -1;
        for (stream_nack *n = stream_pel_first(g); n; n = stream_pel_next(n))
            if (save_id_raw(w, &n->id) || rdb_save_ms(w, n->delivery_time) || rdb_save_len(w, n->delivery_count))
                return -1;
        if (rdb_save_len(w, g->ncons)) return -1;
        stream_id zero = {0, 0};
        for (size_t ci = 0; ci < g->ncons; ci++) {
            const stream_consumer *c = g->cons[ci];
            if (rdb_save_string(w, c->name, c->name_len) || rdb_save_ms(w, c->seen_time) ||
                rdb_save_len(w, c->pel_count))
                return -1;
            for (stream_nack *n = stream_consumer_pel_seek(c, &zero); n; n = stream_consumer_pel_next(n))
                if (save_id_raw(w, &n->id)) return -1;
        }
    }
    return 0;
}

static int stream_rdb_type(const rkey *k) {
    (void)k;
    return RDB_TYPE_STREAM_LISTPACKS_2;
}

static int lp_int(blob_iter *it, long long *v) {
    const char *p;
    size_t l;
    return blob_iter_next(it, &p, &l) == 1 && util_str2ll(p, l, v) ? 0 : -1;
}

/* One node's listpack into s; returns 0 or -1 if it is malformed. */
static int stream_load_node(stream *s, const stream_id *master, const unsigned char *lp, size_t len) {
    blob_iter it;
    long long count, deleted, nm, v;
    if (blob_iter_init(&it, BLOB_LISTPACK, lp, len) < 0 || lp_int(&it, &count) || lp_int(&it, &deleted) ||
        lp_int(&it, &nm) || count < 0 || deleted < 0 || nm < 0 || count + deleted == 0 || nm > (long long)len)
        return -1;
    rdb_field *mf = xmalloc(((size_t)nm + 1) * sizeof(*mf));
    stream_str *fv = NULL;
    size_t fvcap = 0;
    int rc = -1;
    long long seen = 0, live = 0;
    const char *p;
    size_t l;
    for (long long i = 0; i < nm; i++) {
        if (blob_iter_next(&it, &p, &l) != 1) goto out;
        mf[i] = (rdb_field){p, l};
    }
    /* integers formatted into it.num must be copied: only field names can be ints, and
     * they are rare; keep a copy of every field name to be safe */
    char **own = xcalloc((size_t)nm + 1, sizeof(char *));
    for (long long i = 0; i < nm; i++) {
        own[i] = xmalloc(mf[i].len + 1);
        memcpy(own[i], mf[i].p, mf[i].len);
        mf[i].p = own[i];
    }
    if (lp_int(&it, &v) || v != 0) goto out2;
    for (;;) {
        long long flags, msd, seqd, nf;
        int r = blob_iter_next(&it, &p, &l);
        if (r == 0) break;
        if (r < 0 || !util_str2ll(p, l, &flags) || lp_int(&it, &msd) || lp_int(&it, &seqd)) goto out2;
        int same = (flags & RDB_STREAM_SAME) != 0;
        if (same) nf = nm;
        else if (lp_int(&it, &nf) || nf < 0 || nf > (long long)len) goto out2;
        if ((size_t)nf * 2 > fvcap) {
            fvcap = (size_t)nf * 2 + 2;
            fv = xrealloc(fv, fvcap * sizeof(*fv));
        }
        /* strings of this entry: copy the integer-formatted ones out of it.num */
        char *nums = xmalloc((size_t)nf * 2 * UTIL_LLSTR_SIZE + 1);
        for (long long i = 0; i < nf; i++) {
            if (!same) {
                if (blob_iter_next(&it, &p, &l) != 1) {
                    free(nums);
                    goto out2;
                }
                if (p == it.num) {
                    memcpy(nums + (2 * i) * UTIL_LLSTR_SIZE, p, l);
                    p = nums + (2 * i) * UTIL_LLSTR_SIZE;
                }
                fv[2 * i] = (stream_str){p, l};
            } else {
                fv[2 * i] = (stream_str){mf[i].p, mf[i].len};
            }
            if (blob_iter_next(&it, &p, &l) != 1) {
                free(nums);
                goto out2;
            }
            if (p == it.num) {
                memcpy(nums + (2 * i + 1) * UTIL_LLSTR_SIZE, p, l);
                p = nums + (2 * i + 1) * UTIL_LLSTR_SIZE;
            }
            fv[2 * i + 1] = (stream_str){p, l};
        }
        long long lpc;
        if (lp_int(&it, &lpc) || lpc != (same ? nf + 3 : nf * 2 + 4)) {
            free(nums);
            goto out2;
        }
        stream_id id = {master->ms + (uint64_t)msd, master->seq + (uint64_t)seqd}, added;
        seen++;
        if (!(flags & FLAG_DELETED)) {
            if (nf == 0 || stream_add(s, STREAM_ADD_EXPLICIT, &id, fv, (size_t)nf, 0, &added) != STREAM_OK) {
                free(nums);
                goto out2;
            }
            live++;
        }
        free(nums);
    }
    if (seen != count + deleted || live != count) goto out2;
    rc = 0;
out2:
    for (long long i = 0; i < nm; i++) free(own[i]);
    free(own);
out:
    free(mf);
    free(fv);
    return rc;
}

static int load_sid(rdb_reader *r, stream_id *id) { return rdb_load_len(r, &id->ms) || rdb_load_len(r, &id->seq); }

static stream *stream_rdb_read(rdb_reader *r, int rdbtype) {
    stream *s = stream_new();
    uint64_t nodes, len, added = 0, ngroups;
    stream_id last, first, maxdel = {0, 0};
    if (rdb_load_len(r, &nodes)) goto bad;
    for (uint64_t i = 0; i < nodes; i++) {
        size_t kl, ll;
        char *nk = rdb_load_string(r, &kl);
        if (!nk) goto bad;
        char *lp = kl == 16 ? rdb_load_string(r, &ll) : NULL;
        stream_id master;
        if (lp) load_id_raw((const unsigned char *)nk, &master);
        int ok = lp && stream_load_node(s, &master, (unsigned char *)lp, ll) == 0;
        free(nk);
        free(lp);
        if (!ok) goto bad;
    }
    if (rdb_load_len(r, &len) || load_sid(r, &last)) goto bad;
    if (rdbtype == RDB_TYPE_STREAM_LISTPACKS_2) {
        if (load_sid(r, &first) || load_sid(r, &maxdel) || rdb_load_len(r, &added)) goto bad;
    } else {
        added = len;
    }
    if (len != s->length || stream_id_cmp(&last, &s->last_id) < 0) goto bad;
    if (stream_set_id(s, &last, (long long)added, &maxdel) != STREAM_OK) goto bad;
    if (rdb_load_len(r, &ngroups)) goto bad;
    for (uint64_t gi = 0; gi < ngroups; gi++) {
        size_t nl;
        char *name = rdb_load_string(r, &nl);
        stream_id gid;
        uint64_t er = (uint64_t)STREAM_ENTRIES_READ_INVALID, npel, ncons;
        if (!name) goto bad;
        if (load_sid(r, &gid) || (rdbtype == RDB_TYPE_STREAM_LISTPACKS_2 && rdb_load_len(r, &er))) {
            free(name);
            goto bad;
        }
        stream_group *g = stream_group_create(s, name, nl, &gid, (long long)er);
        free(name);
        if (!g || rdb_load_len(r, &npel)) goto bad;
        for (uint64_t i = 0; i < npel; i++) {
            unsigned char b[16];
            long long dt;
            uint64_t dc;
            stream_id id;
            if (rdb_read_raw(r, b, 16) || rdb_load_ms(r, &dt) || rdb_load_len(r, &dc)) goto bad;
            load_id_raw(b, &id);
            if (tr_find(g->pel, &id, 0)) goto bad;
            stream_nack *n = nack_new(&id, dt);
            n->delivery_count = dc;
            tr_insert(&g->pel, n, 0);
            pel_grew(g);
        }
        if (rdb_load_len(r, &ncons)) goto bad;
        for (uint64_t ci = 0; ci < ncons; ci++) {
            char *cn = rdb_load_string(r, &nl);
            long long seen;
            uint64_t cp;
            if (!cn) goto bad;
            stream_consumer *c = rdb_load_ms(r, &seen) ? NULL : stream_consumer_create(g, cn, nl, seen);
            free(cn);
            if (!c || rdb_load_len(r, &cp)) goto bad;
            for (uint64_t i = 0; i < cp; i++) {
                unsigned char b[16];
                stream_id id;
                if (rdb_read_raw(r, b, 16)) goto bad;
                load_id_raw(b, &id);
                stream_nack *n = tr_find(g->pel, &id, 0);
                if (!n || n->consumer) goto bad;
                nack_assign(n, c);
            }
        }
        /* every pending entry must have an owner */
        size_t owned = 0;
        for (size_t ci = 0; ci < g->ncons; ci++) owned += g->cons[ci]->pel_count;
        if (owned != g->pel_count) goto bad;
    }
    return s;
bad:
    stream_free(s);
    return NULL;
}

static rkey *stream_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen) {
    stream *s = stream_rdb_read(r, rdbtype);
    return s ? db_add_ptr(d, key, klen, OBJ_STREAM, s) : NULL;
}

static const int stream_rdb_types[] = {RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_2, -1};

/* ---------------------------------------------------------------- the value type */

static const char *stream_encoding(const rkey *k) {
    (void)k;
    return "stream";
}

static size_t stream_value_memory(const void *v) { return stream_memory(v); }
static void *stream_value_dup(const void *v) { return stream_dup(v); }

const value_type stream_type = {
    .name = "stream",
    .id = OBJ_STREAM,
    .encoding = stream_encoding,
    .free = stream_free,
    .free_effort = stream_free_effort,
    .free_step = stream_free_step,
    .memory = stream_value_memory,
    .dup = stream_value_dup,
    .aof_rewrite = stream_aof_rewrite,
    .rdb_type = stream_rdb_type,
    .rdb_save = stream_rdb_save,
    .rdb_load_types = stream_rdb_types,
    .rdb_load = stream_rdb_load,
};
