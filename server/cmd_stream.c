/* cmd_stream.c: the stream commands (XADD, XLEN, XRANGE/XREVRANGE, XDEL, XTRIM, XSETID,
 * XREAD/XREADGROUP with BLOCK, XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO) with
 * Redis 7.0's semantics, reply shapes and error texts, on top of storage/stream.h.
 *
 * Errors come in Redis's order: each handler parses its arguments (syntax and number
 * errors) before it looks at the key, except where Redis looks first (XDEL, XACK, XCLAIM,
 * XGROUP, XINFO); shared parsing (XADD/XTRIM trimming options, XREAD options, ids and
 * interval bounds, XGROUP's common checks) lives in helpers that reply on error.
 *
 * Replies whose length is known only after a walk (ranges, PELs) are counted first
 * with a read-only walk over the same bounds, then emitted; only an XREAD of several
 * streams gathers its parts in a side buffer, since serving one stream can change what
 * the next (the same key named twice) has to serve.
 *
 * Blocking. When nothing can be served and BLOCK was given, the handler calls
 * block_for_keys with each "$" in argv replaced by the id it resolved to, so the re-run
 * (from blocking.c's private copy of argv) waits for entries after the last id the
 * stream had when the client first blocked. A re-run (blocking_is_retry) behaves as
 * Redis 7.0's serveClientsBlockedOnStreamKey rather than the synchronous path: a stream
 * is served once its last generated id passed the awaited one (an empty list if that
 * entry was deleted since), COUNT defaults to 1000, a key that is gone or no longer a
 * stream keeps an XREAD waiting but ends an XREADGROUP with -UNBLOCKED, and a destroyed
 * group ends it with -NOGROUP.
 *
 * Signals: db_touch (WATCH and blocked readers) only where Redis signals a modified key
 * (XADD, XDEL/XTRIM that removed entries, XGROUP CREATE MKSTREAM creating the key);
 * XGROUP DESTROY only wakes blocked readers. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/stream.h"

#define KEYARG(c, i)  (c)->argv[i].ptr, (c)->argv[i].len
/* A key or name argument for "%.*s" in error texts (cut at a NUL, as Redis's %s). */
#define NAMEARG(c, i) (int)strnlen((c)->argv[i].ptr, (c)->argv[i].len), (c)->argv[i].ptr

/* COUNT of a blocked XREAD/XREADGROUP served later without COUNT (Redis's value). */
#define XREAD_BLOCKED_DEFAULT_COUNT 1000
/* XAUTOCLAIM scans at most COUNT times this many PEL records. */
#define XAUTOCLAIM_ATTEMPTS_FACTOR  10

static const stream_id id_min = {0, 0};
static const stream_id id_max = {UINT64_MAX, UINT64_MAX};

/* ---------------------------------------------------------------- replies */

static void reply_id(reply_buf *rb, const stream_id *id) {
    char buf[STREAM_ID_STR_SIZE];
    int n = stream_id_format(buf, id);
    reply_bulk(rb, buf, (size_t)n);
}

/* [id, [field, value, ...]], or [id, null] for a pending message whose entry is gone. */
static void reply_entry(reply_buf *rb, const stream_id *id, stream_fields *f) {
    const char *fp, *vp;
    size_t fl, vl;
    reply_array(rb, 2);
    reply_id(rb, id);
    if (!f) {
        reply_null_array(rb);
        return;
    }
    reply_array(rb, (long)(f->count * 2));
    while (stream_fields_next(f, &fp, &fl, &vp, &vl)) {
        reply_bulk(rb, fp, fl);
        reply_bulk(rb, vp, vl);
    }
}

static void entry_cb(void *priv, const stream_id *id, stream_fields *f) { reply_entry(priv, id, f); }

/* entry_cb that also records the ids of existing entries served (for propagation). */
typedef struct serve_ctx {
    reply_buf *rb;
    stream_id *ids;
    size_t n, cap;
} serve_ctx;

static void entry_record_cb(void *priv, const stream_id *id, stream_fields *f) {
    serve_ctx *sc = priv;
    reply_entry(sc->rb, id, f);
    if (!f) return;
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 16;
        sc->ids = xrealloc(sc->ids, sizeof(*sc->ids) * sc->cap);
    }
    sc->ids[sc->n++] = *id;
}

/* Live entries in [start, end], at most count (0 = all). */
static size_t range_count(const stream *s, const stream_id *start, const stream_id *end, size_t count) {
    stream_iter it;
    stream_id id;
    stream_fields f;
    size_t n = 0;
    stream_iter_init(&it, s, start, end, 0);
    while ((!count || n < count) && stream_iter_next(&it, &id, &f)) n++;
    return n;
}

/* The array of entries in [start, end] (backward if rev), at most count (0 = all). */
static void reply_range(reply_buf *rb, const stream *s, const stream_id *start, const stream_id *end, size_t count,
                        int rev) {
    size_t n = range_count(s, start, end, count);
    stream_iter it;
    stream_id id;
    stream_fields f;
    reply_array(rb, (long)n);
    stream_iter_init(&it, s, start, end, rev);
    while (n-- && stream_iter_next(&it, &id, &f)) reply_entry(rb, &id, &f);
}

/* The first or last live entry as [id, fields], or null (XINFO STREAM). */
static void reply_edge_entry(reply_buf *rb, const stream *s, int last) {
    stream_iter it;
    stream_id id;
    stream_fields f;
    stream_iter_init(&it, s, &id_min, &id_max, last);
    if (stream_iter_next(&it, &id, &f)) reply_entry(rb, &id, &f);
    else reply_null(rb);
}

/* Append everything in tmp to c's output. */
static void reply_append_buf(client *c, reply_buf *tmp) {
    struct iovec iov[32];
    int n;
    while ((n = reply_iov(tmp, iov, 32)) > 0) {
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            reply_raw(&c->out, iov[i].iov_base, iov[i].iov_len);
            total += iov[i].iov_len;
        }
        reply_consume(tmp, total);
    }
}

/* addReplySubcommandSyntaxError. */
static void reply_subcommand_syntax_error(client *c) {
    char cmd[32];
    size_t n = c->argv[0].len < sizeof(cmd) - 1 ? c->argv[0].len : sizeof(cmd) - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = c->argv[0].ptr[i];
        cmd[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    cmd[n] = '\0';
    int al = (int)(c->argv[1].len < 128 ? c->argv[1].len : 128);
    reply_errorf(&c->out, "unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                 (int)strnlen(c->argv[1].ptr, (size_t)al), c->argv[1].ptr, cmd);
}

/* ---------------------------------------------------------------- argument helpers */

/* argv[i] as an id (stream_id_parse's rules); replies the invalid-id error. */
static int id_or_reply(client *c, int i, uint64_t missing_seq, int strict, stream_id *id) {
    if (stream_id_parse(c->argv[i].ptr, c->argv[i].len, missing_seq, strict, id, NULL) == 0) return 1;
    reply_error(&c->out, STREAM_ERR_INVALID_ID);
    return 0;
}

static int strict_id_or_reply(client *c, int i, stream_id *id) { return id_or_reply(c, i, 0, 1, id); }

/* An interval bound: "-", "+", "<ms>", "<ms>-<seq>", or "(" + id exclusive (made
 * inclusive here). end selects the end bound (missing sequence = max, decrement). */
static int bound_or_reply(client *c, int i, int end, stream_id *id) {
    int ex;
    if (stream_id_parse_interval(c->argv[i].ptr, c->argv[i].len, end ? UINT64_MAX : 0, id, &ex) != 0) {
        reply_error(&c->out, STREAM_ERR_INVALID_ID);
        return 0;
    }
    if (ex && (end ? stream_id_decr(id) : stream_id_incr(id)) != 0) {
        reply_error(&c->out, end ? STREAM_ERR_END_INTERVAL : STREAM_ERR_START_INTERVAL);
        return 0;
    }
    return 1;
}

static int arg_is_str(const client *c, int i, const char *s) {
    return c->argv[i].len == strlen(s) && !memcmp(c->argv[i].ptr, s, c->argv[i].len);
}

/* Look up argv[i]: returns 1 with *sp the stream, or NULL if the key is absent; replies
 * WRONGTYPE and returns 0 if it holds another type. */
static int stream_lookup_or_reply(client *c, int i, int write, rkey **kp, stream **sp) {
    rkey *k = write ? db_lookup_write(c->db, KEYARG(c, i)) : db_lookup_read(c->db, KEYARG(c, i));
    if (kp) *kp = k;
    *sp = NULL;
    if (!k) return 1;
    if (rkey_type(k) != OBJ_STREAM) {
        reply_wrongtype(c);
        return 0;
    }
    *sp = rkey_ptr(k);
    return 1;
}

/* The id of the last live entry (streamLastValidID); 0 if the stream is empty. */
static int last_entry_id(const stream *s, stream_id *id) {
    stream_iter it;
    stream_fields f;
    stream_iter_init(&it, s, &id_min, &id_max, 1);
    return stream_iter_next(&it, id, &f);
}

/* ---------------------------------------------------------------- propagation */

/* XADD's and XTRIM's parsed options (add_trim_parse_or_reply). */
typedef struct add_args {
    stream_trim_args trim;
    int nomkstream;
    int id_given, seq_given;
    stream_id id;
    int approx_arg, value_arg; /* argv index of "~" / "=" (0 if none) and of the MAXLEN/MINID value */
} add_args;

/* XADD and XTRIM as Redis 7.0 propagates them (server/propagate.h): the id XADD
 * generated in place of "*" or "<ms>-*" at idpos (0 for XTRIM), and an approximate trim
 * as the exact one to what it left: MAXLEN = the length, MINID = the first entry's id
 * (the largest id if none is left), without LIMIT (an exact trim takes none). optend: where the options end. */
static void add_trim_propagate(client *c, const add_args *a, int optend, int idpos, const stream_id *id,
                               const stream *s) {
    char idbuf[STREAM_ID_STR_SIZE], valbuf[STREAM_ID_STR_SIZE];
    resp_slice *v = xmalloc(sizeof(*v) * (size_t)c->argc);
    int n = 0;
    for (int j = 0; j < c->argc; j++) {
        if (j >= 2 && j < optend && j != a->value_arg && arg_is(c, j, "limit")) {
            j++;
            continue;
        }
        v[n] = c->argv[j];
        if (a->trim.approx && j == a->approx_arg) {
            v[n] = PROP_STR("=");
        } else if (a->trim.approx && j == a->value_arg) {
            stream_id first;
            if (a->trim.strategy == STREAM_TRIM_MAXLEN) {
                v[n].len = (size_t)util_ll2str(valbuf, (long long)stream_length(s));
            } else {
                stream_iter it;
                stream_fields f;
                stream_iter_init(&it, s, &id_min, &id_max, 0);
                if (!stream_iter_next(&it, &first, &f)) first = id_max; /* empty: trims all, as Redis */
                v[n].len = (size_t)stream_id_format(valbuf, &first);
            }
            v[n].ptr = valbuf;
        } else if (idpos && j == idpos) {
            v[n].len = (size_t)stream_id_format(idbuf, id);
            v[n].ptr = idbuf;
        }
        n++;
    }
    propagate_replace(c, n, v);
    free(v);
}

/* XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last-id, as
 * Redis's streamPropagateXCLAIM: replays a pending message's owner, delivery time and
 * count exactly; for a message whose entry is gone (nk NULL, consumer the claimer) it
 * replays its removal from the PEL. */
static void propagate_xclaim(client *c, const resp_slice *key, const resp_slice *group, const stream_group *g,
                             const stream_id *id, const stream_nack *nk, const resp_slice *consumer) {
    char idbuf[STREAM_ID_STR_SIZE], lastbuf[STREAM_ID_STR_SIZE], tbuf[UTIL_LLSTR_SIZE], nbuf[UTIL_LLSTR_SIZE];
    stream_id last = stream_group_last_id(g);
    resp_slice v[14] = {PROP_STR("XCLAIM"),
                        *key,
                        *group,
                        *consumer,
                        PROP_STR("0"),
                        {idbuf, 0},
                        PROP_STR("TIME"),
                        {tbuf, 0},
                        PROP_STR("RETRYCOUNT"),
                        {nbuf, 0},
                        PROP_STR("FORCE"),
                        PROP_STR("JUSTID"),
                        PROP_STR("LASTID"),
                        {lastbuf, 0}};
    if (nk) v[3].ptr = (char *)stream_consumer_name(nk->consumer, &v[3].len);
    v[5].len = (size_t)stream_id_format(idbuf, id);
    v[7].len = (size_t)util_ll2str(tbuf, nk ? nk->delivery_time : storage_now_ms);
    v[9].len = (size_t)util_ll2str(nbuf, nk ? (long long)nk->delivery_count : 0);
    v[13].len = (size_t)stream_id_format(lastbuf, &last);
    propagate_add(db_id(c->db), 14, v);
}

/* XGROUP SETID key group last-id ENTRIESREAD n (streamPropagateGroupID). */
static void propagate_group_id(client *c, const resp_slice *key, const resp_slice *group, const stream_group *g) {
    char idbuf[STREAM_ID_STR_SIZE], nbuf[UTIL_LLSTR_SIZE];
    stream_id last = stream_group_last_id(g);
    resp_slice v[7] = {PROP_STR("XGROUP"), PROP_STR("SETID"),       *key,     *group,
                       {idbuf, 0},         PROP_STR("ENTRIESREAD"), {nbuf, 0}};
    v[4].len = (size_t)stream_id_format(idbuf, &last);
    v[6].len = (size_t)util_ll2str(nbuf, stream_group_entries_read(g));
    propagate_add(db_id(c->db), 7, v);
}

/* XGROUP CREATECONSUMER key group consumer (streamPropagateConsumerCreation). */
static void propagate_consumer_created(client *c, const resp_slice *key, const resp_slice *group,
                                       const resp_slice *consumer) {
    resp_slice v[5] = {PROP_STR("XGROUP"), PROP_STR("CREATECONSUMER"), *key, *group, *consumer};
    propagate_add(db_id(c->db), 5, v);
}

/* ---------------------------------------------------------------- XADD, XTRIM */

/* Redis's streamParseAddOrTrimArgsOrReply: XADD's options up to its id (xadd != 0) or
 * XTRIM's. Returns the index of XADD's id argument ("*" or an id; argc if none), or -1
 * after replying. */
static int add_trim_parse_or_reply(client *c, int xadd, add_args *a) {
    int i, limit_given = 0;
    memset(a, 0, sizeof(*a));
    for (i = 2; i < c->argc; i++) {
        int more = c->argc - 1 - i, maxlen = arg_is(c, i, "maxlen");
        if (xadd && arg_is_str(c, i, "*")) break;
        if ((maxlen || arg_is(c, i, "minid")) && more) {
            if (a->trim.strategy != STREAM_TRIM_NONE) {
                reply_error(&c->out, "syntax error, MAXLEN and MINID options at the same time are not compatible");
                return -1;
            }
            a->trim.approx = 0;
            a->approx_arg = 0;
            if (more >= 2 && (arg_is_str(c, i + 1, "~") || arg_is_str(c, i + 1, "="))) {
                a->trim.approx = c->argv[i + 1].ptr[0] == '~';
                a->approx_arg = ++i;
            }
            a->value_arg = ++i;
            if (maxlen) {
                long long v;
                if (!arg_ll_or_reply(c, i, &v)) return -1;
                if (v < 0) {
                    reply_error(&c->out, "The MAXLEN argument must be >= 0.");
                    return -1;
                }
                a->trim.maxlen = (uint64_t)v;
                a->trim.strategy = STREAM_TRIM_MAXLEN;
            } else {
                if (!strict_id_or_reply(c, i, &a->trim.minid)) return -1;
                a->trim.strategy = STREAM_TRIM_MINID;
            }
        } else if (arg_is(c, i, "limit") && more) {
            if (!arg_ll_or_reply(c, ++i, &a->trim.limit)) return -1;
            if (a->trim.limit < 0) {
                reply_error(&c->out, "The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
        } else if (xadd && arg_is(c, i, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            if (stream_id_parse(c->argv[i].ptr, c->argv[i].len, 0, 1, &a->id, &a->seq_given) != 0) {
                reply_error(&c->out, STREAM_ERR_INVALID_ID);
                return -1;
            }
            a->id_given = 1;
            break;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    if (a->trim.limit && a->trim.strategy == STREAM_TRIM_NONE) {
        reply_error(&c->out, "syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->trim.strategy == STREAM_TRIM_NONE) {
        reply_error(&c->out, "syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given && !a->trim.approx) {
        reply_error(&c->out, "syntax error, LIMIT cannot be used without the special ~ option");
        return -1;
    }
    if (!limit_given) a->trim.limit = a->trim.approx ? stream_trim_default_limit() : 0;
    return i;
}

static const char *add_error_text(int r) {
    switch (r) {
        case STREAM_E_ZERO: return STREAM_ERR_XADD_ZERO;
        case STREAM_E_SMALL: return STREAM_ERR_XADD_SMALL;
        case STREAM_E_EXHAUSTED: return STREAM_ERR_EXHAUSTED;
        default: return STREAM_ERR_TOO_LARGE;
    }
}

static void cmd_xadd(client *c) {
    add_args a;
    rkey *k;
    stream *s;
    stream_id id;
    int idpos = add_trim_parse_or_reply(c, 1, &a);
    if (idpos < 0) return;
    int fpos = idpos + 1, nf = c->argc - fpos;
    if (nf < 2 || nf % 2) {
        reply_arity_error(c);
        return;
    }
    if (a.id_given && a.seq_given && stream_id_is_zero(&a.id)) {
        reply_error(&c->out, STREAM_ERR_XADD_ZERO);
        return;
    }
    if (!stream_lookup_or_reply(c, 1, 1, &k, &s)) return;
    if (!s) {
        if (a.nomkstream) {
            reply_null(&c->out);
            return;
        }
        s = stream_new();
        k = db_add_ptr(c->db, KEYARG(c, 1), OBJ_STREAM, s);
    }
    stream_str small[16], *fv = nf <= 16 ? small : xmalloc(sizeof(*fv) * (size_t)nf);
    for (int j = 0; j < nf; j++) fv[j] = (stream_str){c->argv[fpos + j].ptr, c->argv[fpos + j].len};
    int mode = !a.id_given ? STREAM_ADD_AUTO : a.seq_given ? STREAM_ADD_EXPLICIT : STREAM_ADD_AUTO_SEQ;
    int r = stream_add(s, mode, &a.id, fv, (size_t)nf / 2, storage_now_ms, &id);
    if (fv != small) free(fv);
    if (r != STREAM_OK) {
        /* Redis 7.0 reports an exhausted "<ms>-*" sequence with the errno-less text. */
        if (r == STREAM_E_SMALL && mode == STREAM_ADD_AUTO_SEQ && stream_last_id(s).ms == a.id.ms)
            r = STREAM_E_TOO_LARGE;
        reply_error(&c->out, add_error_text(r));
        return;
    }
    reply_id(&c->out, &id);
    notify_arg(c, NOTIFY_STREAM, "xadd", 1);
    if (stream_trim(s, &a.trim)) notify_arg(c, NOTIFY_STREAM, "xtrim", 1);
    db_touch(c->db, k);
    if (propagate_wanted() && (!a.id_given || !a.seq_given || a.trim.approx))
        add_trim_propagate(c, &a, idpos, a.id_given && a.seq_given ? 0 : idpos, &id, s);
}

static void cmd_xtrim(client *c) {
    add_args a;
    rkey *k;
    stream *s;
    if (add_trim_parse_or_reply(c, 0, &a) < 0) return;
    if (!stream_lookup_or_reply(c, 1, 1, &k, &s)) return;
    uint64_t n = s ? stream_trim(s, &a.trim) : 0;
    if (n) db_touch(c->db, k);
    if (n) notify_arg(c, NOTIFY_STREAM, "xtrim", 1);
    reply_int(&c->out, (long long)n);
    if (n && a.trim.approx && propagate_wanted()) add_trim_propagate(c, &a, c->argc, 0, NULL, s);
}

/* ---------------------------------------------------------------- XLEN, XRANGE, XDEL, XSETID */

static void cmd_xlen(client *c) {
    stream *s;
    if (!stream_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    reply_int(&c->out, s ? (long long)stream_length(s) : 0);
}

static void xrange_generic(client *c, int rev) {
    stream_id start, end;
    stream *s;
    long long count = -1;
    if (!bound_or_reply(c, rev ? 3 : 2, 0, &start) || !bound_or_reply(c, rev ? 2 : 3, 1, &end)) return;
    for (int j = 4; j < c->argc; j++) {
        if (arg_is(c, j, "count") && j + 1 < c->argc) {
            if (!arg_ll_or_reply(c, ++j, &count)) return;
            if (count < 0) count = 0;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (!stream_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    if (!s) reply_array(&c->out, 0);
    else if (count == 0) reply_null_array(&c->out);
    else reply_range(&c->out, s, &start, &end, count < 0 ? 0 : (size_t)count, rev);
}

static void cmd_xrange(client *c) { xrange_generic(c, 0); }
static void cmd_xrevrange(client *c) { xrange_generic(c, 1); }

/* Parse argv[from..argc) as strict ids into a new array (*out, freed by the caller even
 * on failure). Returns 0 after replying. */
static int ids_or_reply(client *c, int from, stream_id **out) {
    *out = xmalloc(sizeof(**out) * (size_t)(c->argc - from));
    for (int j = from; j < c->argc; j++)
        if (!strict_id_or_reply(c, j, &(*out)[j - from])) return 0;
    return 1;
}

static void cmd_xdel(client *c) {
    rkey *k;
    stream *s;
    stream_id *ids;
    if (!stream_lookup_or_reply(c, 1, 1, &k, &s)) return;
    if (!s) {
        reply_int(&c->out, 0);
        return;
    }
    if (ids_or_reply(c, 2, &ids)) {
        /* One id per call: Redis 7.0 raises max-deleted-entry-id only to ids it deleted. */
        size_t n = 0;
        for (int j = 0; j < c->argc - 2; j++) n += stream_delete(s, &ids[j], 1);
        if (n) db_touch(c->db, k);
        if (n) notify_arg(c, NOTIFY_STREAM, "xdel", 1);
        reply_int(&c->out, (long long)n);
    }
    free(ids);
}

static void cmd_xsetid(client *c) {
    stream_id id, maxdel = {0, 0};
    long long added = -1;
    rkey *k;
    stream *s;
    if (!strict_id_or_reply(c, 2, &id)) return;
    for (int i = 3; i < c->argc; i += 2) {
        int more = i + 1 < c->argc;
        if (arg_is(c, i, "entriesadded") && more) {
            if (!arg_ll_or_reply(c, i + 1, &added)) return;
            if (added < 0) {
                reply_error(&c->out, "entries_added must be positive");
                return;
            }
        } else if (arg_is(c, i, "maxdeletedid") && more) {
            if (!strict_id_or_reply(c, i + 1, &maxdel)) return;
            if (stream_id_cmp(&id, &maxdel) < 0) {
                reply_error(&c->out, "The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (!stream_lookup_or_reply(c, 1, 1, &k, &s)) return;
    if (!s) {
        reply_error(&c->out, "no such key");
        return;
    }
    int r = stream_set_id(s, &id, added, &maxdel);
    if (r != STREAM_OK) {
        reply_error(&c->out, r == STREAM_E_SMALL ? STREAM_ERR_SETID_SMALL : STREAM_ERR_SETID_ADDED);
        return;
    }
    storage_dirty++;
    notify_arg(c, NOTIFY_STREAM, "xsetid", 1);
    reply_ok(&c->out); /* Redis 7.0 signals no modified key here */
}

/* ---------------------------------------------------------------- XREAD, XREADGROUP */

typedef struct xread_args {
    long long timeout; /* -1 without BLOCK, else absolute ms (0 = forever) */
    long long count;   /* 0 = no limit */
    int noack;
    int group;   /* argv index of the group name (the consumer follows), 0 for XREAD */
    int keys, n; /* argv index of the first key, number of streams */
} xread_args;

/* One stream of an XREAD: what it reads after. */
typedef struct xread_stream {
    stream *s;       /* NULL if the key is absent */
    stream_group *g; /* XREADGROUP's group */
    stream_id id;    /* entries after this one; id_max for ">" */
} xread_stream;

/* BLOCK's value as getTimeoutFromObjectOrReply in milliseconds: absolute, 0 = forever. */
static int timeout_or_reply(client *c, int i, long long *out) {
    long long t;
    if (!arg_ll_or_reply_msg(c, i, &t, "timeout is not an integer or out of range")) return 0;
    if (t < 0) {
        reply_error(&c->out, "timeout is negative");
        return 0;
    }
    /* 7.0: no range error. A clock before 1970 (now < 0) cannot overflow t + now. */
    if (t > 0) t = storage_now_ms > 0 && t > LLONG_MAX - storage_now_ms ? LLONG_MAX : t + storage_now_ms;
    *out = t;
    return 1;
}

static int xread_parse_or_reply(client *c, int xreadgroup, xread_args *a) {
    memset(a, 0, sizeof(*a));
    a->timeout = -1;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (arg_is(c, i, "block") && more) {
            if (c->flags & CLIENT_SCRIPT) { /* as Redis: BLOCK makes no sense in a script */
                reply_errorf(&c->out, "%.*s command is not allowed with BLOCK option from scripts", (int)c->argv[0].len,
                             c->argv[0].ptr);
                return 0;
            }
            if (!timeout_or_reply(c, ++i, &a->timeout)) return 0;
        } else if (arg_is(c, i, "count") && more) {
            if (!arg_ll_or_reply(c, ++i, &a->count)) return 0;
            if (a->count < 0) a->count = 0;
        } else if (arg_is(c, i, "streams") && more) {
            a->keys = i + 1;
            a->n = c->argc - a->keys;
            if (a->n % 2) {
                reply_error(&c->out,
                            "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return 0;
            }
            a->n /= 2;
            break;
        } else if (arg_is(c, i, "group") && more >= 2) {
            if (!xreadgroup) {
                reply_error(&c->out, "The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return 0;
            }
            a->group = i + 1;
            i += 2;
        } else if (arg_is(c, i, "noack")) {
            if (!xreadgroup) {
                reply_error(&c->out, "The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return 0;
            }
            a->noack = 1;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (!a->keys) {
        reply_syntax_error(c);
        return 0;
    }
    if (xreadgroup && !a->group) {
        reply_error(&c->out, "Missing GROUP option for XREADGROUP");
        return 0;
    }
    return 1;
}

/* Look up each stream, its group and the id to read after, in argument order. */
static int xread_resolve_or_reply(client *c, const xread_args *a, xread_stream *xs) {
    int retry = blocking_is_retry(c);
    for (int i = 0; i < a->n; i++) {
        int ki = a->keys + i, ii = a->keys + a->n + i;
        /* A blocked read served later looks its keys up as Redis's serving does: no
         * keyspace hit or miss (nor keymiss). */
        rkey *k = retry ? db_lookup_write(c->db, KEYARG(c, ki)) : db_lookup_read(c->db, KEYARG(c, ki));
        if (k && rkey_type(k) != OBJ_STREAM) {
            if (!retry) {
                reply_wrongtype(c);
                return 0;
            }
            k = NULL; /* served later as Redis 7.0 does: as if the key were gone */
        }
        stream *s = xs[i].s = k ? rkey_ptr(k) : NULL;
        xs[i].g = NULL;
        if (a->group) {
            if (retry && (!s || !stream_group_find(s, KEYARG(c, a->group)))) {
                reply_error(&c->out, !s ? "-UNBLOCKED the stream key no longer exists"
                                        : "-NOGROUP the consumer group this client was blocked on no longer exists");
                return 0;
            }
            if (!s || !(xs[i].g = stream_group_find(s, KEYARG(c, a->group)))) {
                reply_errorf(&c->out,
                             "-NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP with GROUP option",
                             NAMEARG(c, ki), NAMEARG(c, a->group));
                return 0;
            }
        }
        if (arg_is_str(c, ii, "$")) {
            if (a->group) {
                reply_error(&c->out,
                            "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
                            "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
                            "would just return an empty result set.");
                return 0;
            }
            xs[i].id = s ? stream_last_id(s) : id_min;
        } else if (arg_is_str(c, ii, ">")) {
            if (!a->group) {
                reply_error(&c->out, "The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
                                     "<consumer> option.");
                return 0;
            }
            xs[i].id = id_max;
        } else if (!strict_id_or_reply(c, ii, &xs[i].id)) {
            return 0;
        }
    }
    return 1;
}

/* Does x have something for this read (Redis's conditions, see the file comment)? */
static int xread_has_data(const xread_stream *x, int retry) {
    stream_id last, after = x->id;
    if (!x->s) return 0;
    if (x->g) {
        if (stream_id_cmp(&x->id, &id_max) != 0) return 1; /* history: always served */
        after = stream_group_last_id(x->g);
    }
    if (retry) {
        last = stream_last_id(x->s);
        return stream_id_cmp(&last, &after) > 0;
    }
    return last_entry_id(x->s, &last) && stream_id_cmp(&last, &after) > 0;
}

/* [key, entries] (RESP3: key => entries) of stream i into rb. */
static void xread_serve(client *c, reply_buf *rb, const xread_args *a, xread_stream *x, int i, size_t count) {
    stream_id start;
    if (rb->resp == 2) reply_array(rb, 2);
    reply_bulk(rb, KEYARG(c, a->keys + i));
    if (!x->g) {
        start = x->id;
        stream_id_incr(&start);
        reply_range(rb, x->s, &start, &id_max, count, 0);
        return;
    }
    const resp_slice *key = &c->argv[a->keys + i], *group = &c->argv[a->group], *name = &c->argv[a->group + 1];
    int prop = propagate_wanted();
    int fresh = (prop || notify_wanted(NOTIFY_STREAM)) && !stream_consumer_find(x->g, name->ptr, name->len);
    if (prop && fresh) propagate_consumer_created(c, key, group, name);
    stream_consumer *cons = stream_consumer_get(x->g, name->ptr, name->len, storage_now_ms);
    if (fresh) notify_keyspace_event(NOTIFY_STREAM, "xgroup-createconsumer", key->ptr, key->len, db_id(c->db));
    serve_ctx sc = {rb, NULL, 0, 0};
    stream_entry_fn fn = prop ? entry_record_cb : entry_cb;
    void *priv = prop ? (void *)&sc : (void *)rb;
    size_t n = 0;
    stream_id last = stream_group_last_id(x->g);
    if (stream_id_cmp(&x->id, &id_max) != 0) { /* the consumer's own history */
        start = x->id;
        stream_id_incr(&start);
        for (stream_nack *nk = stream_consumer_pel_seek(cons, &start); nk && (!count || n < count);
             nk = stream_consumer_pel_next(nk))
            n++;
        reply_array(rb, (long)n);
        stream_read_pending(x->s, cons, &start, count, storage_now_ms, fn, priv);
    } else {
        start = last;
        if (stream_id_incr(&start) == 0) n = range_count(x->s, &start, &id_max, count);
        reply_array(rb, (long)n);
        stream_read_group(x->s, x->g, cons, count, a->noack, storage_now_ms, fn, priv);
    }
    if (!prop) return;
    /* Replayed as Redis 7.0 does: an XCLAIM per message delivered into (or again from)
     * the PEL, then the group's last id and entries-read. */
    for (size_t j = 0; j < sc.n; j++) {
        const stream_nack *nk = stream_pel_find(x->g, &sc.ids[j]);
        if (nk) propagate_xclaim(c, key, group, x->g, &sc.ids[j], nk, name);
    }
    free(sc.ids);
    stream_id now_last = stream_group_last_id(x->g);
    if (stream_id_cmp(&now_last, &last) != 0) propagate_group_id(c, key, group, x->g);
}

static void xread_reply_header(reply_buf *rb, long n) {
    if (rb->resp == 2) reply_array(rb, n);
    else reply_map(rb, n);
}

/* Serve every stream that has data; returns how many (nothing is replied for 0). */
static int xread_reply(client *c, const xread_args *a, xread_stream *xs) {
    int retry = blocking_is_retry(c), served = 0;
    size_t count = a->count ? (size_t)a->count : retry ? XREAD_BLOCKED_DEFAULT_COUNT : 0;
    reply_buf *tmp = NULL;
    for (int i = 0; i < a->n; i++) {
        if (!retry) db_lookup_read(c->db, KEYARG(c, a->keys + i)); /* Redis 7.0 looks each key up again here */
        if (!xread_has_data(&xs[i], retry)) continue;
        if (a->n > 1 && !tmp) {
            tmp = xmalloc(sizeof(*tmp));
            reply_init(tmp);
            tmp->resp = c->out.resp;
        }
        if (!tmp) xread_reply_header(&c->out, 1);
        xread_serve(c, tmp ? tmp : &c->out, a, &xs[i], i, count);
        served++;
    }
    if (tmp) {
        if (served) {
            xread_reply_header(&c->out, served);
            reply_append_buf(c, tmp);
        }
        reply_free(tmp);
        free(tmp);
    }
    return served;
}

/* Nothing to serve: block (with "$" ids pinned in argv) or reply null. */
static void xread_block_or_null(client *c, const xread_args *a, const xread_stream *xs) {
    if (a->timeout == -1) {
        reply_null_array(&c->out);
        return;
    }
    char(*bufs)[STREAM_ID_STR_SIZE] = xmalloc(sizeof(*bufs) * (size_t)a->n);
    resp_slice *saved = xmalloc(sizeof(*saved) * (size_t)a->n);
    for (int i = 0; i < a->n; i++) {
        resp_slice *arg = &c->argv[a->keys + a->n + i];
        saved[i] = *arg;
        if (!a->group && arg_is_str(c, a->keys + a->n + i, "$")) {
            arg->len = (size_t)stream_id_format(bufs[i], &xs[i].id);
            arg->ptr = bufs[i];
        }
    }
    block_for_keys(c, &c->argv[a->keys], a->n, a->timeout, a->group);
    for (int i = 0; i < a->n; i++) c->argv[a->keys + a->n + i] = saved[i];
    free(saved);
    free(bufs);
}

static void xread_generic(client *c, int xreadgroup) {
    xread_args a;
    if (!xread_parse_or_reply(c, xreadgroup, &a)) return;
    xread_stream small[8], *xs = a.n <= 8 ? small : xmalloc(sizeof(*xs) * (size_t)a.n);
    if (xread_resolve_or_reply(c, &a, xs) && !xread_reply(c, &a, xs)) xread_block_or_null(c, &a, xs);
    if (xs != small) free(xs);
}

static void cmd_xread(client *c) { xread_generic(c, 0); }
static void cmd_xreadgroup(client *c) {
    if (propagate_wanted()) propagate_prevent(c); /* what it changed is propagated as XCLAIM & co */
    xread_generic(c, 1);
}

/* ---------------------------------------------------------------- XGROUP */

typedef struct xgroup_ctx {
    rkey *k;
    stream *s;       /* NULL only with MKSTREAM */
    stream_group *g; /* NULL if absent (CREATE, DESTROY) or with MKSTREAM */
    int mkstream;
    long long entries_read;
} xgroup_ctx;

/* What every XGROUP subcommand but HELP checks first, in Redis's order: CREATE's and
 * SETID's options, the key's type, its existence (unless MKSTREAM), and the group's
 * for SETID, CREATECONSUMER and DELCONSUMER. Returns 0 after replying. */
static int xgroup_prelude_or_reply(client *c, xgroup_ctx *x) {
    int create = arg_is(c, 1, "create");
    memset(x, 0, sizeof(*x));
    x->entries_read = STREAM_ENTRIES_READ_INVALID;
    if (create || arg_is(c, 1, "setid")) {
        for (int i = 5; i < c->argc;) {
            if (create && arg_is(c, i, "mkstream")) {
                x->mkstream = 1;
                i++;
            } else if (arg_is(c, i, "entriesread") && i + 1 < c->argc) {
                if (!arg_ll_or_reply(c, i + 1, &x->entries_read)) return 0;
                if (x->entries_read < 0 && x->entries_read != STREAM_ENTRIES_READ_INVALID) {
                    reply_error(&c->out, "value for ENTRIESREAD must be positive or -1");
                    return 0;
                }
                i += 2;
            } else {
                reply_subcommand_syntax_error(c);
                return 0;
            }
        }
    }
    if (!stream_lookup_or_reply(c, 2, 1, &x->k, &x->s)) return 0;
    if (x->mkstream) return 1;
    if (!x->s) {
        reply_error(&c->out, "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
                             "use the MKSTREAM option to create an empty stream automatically.");
        return 0;
    }
    x->g = stream_group_find(x->s, KEYARG(c, 3));
    if (!x->g && !create && !arg_is(c, 1, "destroy")) {
        reply_errorf(&c->out, "-NOGROUP No such consumer group '%.*s' for key name '%.*s'", NAMEARG(c, 3),
                     NAMEARG(c, 2));
        return 0;
    }
    return 1;
}

static void cmd_xgroup_create(client *c) {
    xgroup_ctx x;
    stream_id id;
    if (!xgroup_prelude_or_reply(c, &x)) return;
    if (c->argc > 8) {
        reply_subcommand_syntax_error(c);
        return;
    }
    if (arg_is_str(c, 4, "$")) id = x.s ? stream_last_id(x.s) : id_min;
    else if (!strict_id_or_reply(c, 4, &id)) return;
    if (!x.s) {
        x.s = stream_new();
        x.k = db_add_ptr(c->db, KEYARG(c, 2), OBJ_STREAM, x.s);
    }
    if (stream_group_create(x.s, KEYARG(c, 3), &id, x.entries_read)) {
        storage_dirty++;
        notify_arg(c, NOTIFY_STREAM, "xgroup-create", 2);
        reply_ok(&c->out);
    } else {
        reply_error(&c->out, "-BUSYGROUP Consumer Group name already exists");
    }
}

static void cmd_xgroup_setid(client *c) {
    xgroup_ctx x;
    stream_id id;
    if (!xgroup_prelude_or_reply(c, &x)) return;
    if (c->argc != 5 && c->argc != 7) {
        reply_subcommand_syntax_error(c);
        return;
    }
    if (arg_is_str(c, 4, "$")) id = stream_last_id(x.s);
    else if (!id_or_reply(c, 4, 0, 0, &id)) return;
    stream_group_set_id(x.g, &id, x.entries_read);
    storage_dirty++;
    notify_arg(c, NOTIFY_STREAM, "xgroup-setid", 2);
    reply_ok(&c->out);
}

static void cmd_xgroup_destroy(client *c) {
    xgroup_ctx x;
    if (!xgroup_prelude_or_reply(c, &x)) return;
    if (!x.g) {
        reply_int(&c->out, 0);
        return;
    }
    stream_group_destroy(x.s, KEYARG(c, 3));
    storage_dirty++;
    notify_arg(c, NOTIFY_STREAM, "xgroup-destroy", 2);
    blocking_touch(db_id(c->db), KEYARG(c, 2)); /* blocked XREADGROUPs get -NOGROUP */
    reply_int(&c->out, 1);
}

static void cmd_xgroup_createconsumer(client *c) {
    xgroup_ctx x;
    if (!xgroup_prelude_or_reply(c, &x)) return;
    int created = stream_consumer_create(x.g, KEYARG(c, 4), storage_now_ms) != NULL;
    storage_dirty += created;
    if (created) notify_arg(c, NOTIFY_STREAM, "xgroup-createconsumer", 2);
    reply_int(&c->out, created);
}

static void cmd_xgroup_delconsumer(client *c) {
    xgroup_ctx x;
    if (!xgroup_prelude_or_reply(c, &x)) return;
    long long pending = stream_consumer_delete(x.g, KEYARG(c, 4));
    if (pending >= 0) storage_dirty++;
    if (pending >= 0) notify_arg(c, NOTIFY_STREAM, "xgroup-delconsumer", 2);
    reply_int(&c->out, pending < 0 ? 0 : pending);
}

static void cmd_xgroup_help(client *c) {
    static const char *const lines[] = {
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

/* ---------------------------------------------------------------- XACK, XPENDING */

/* The stream at argv[1] and its group named by argv[2]: returns 1 with *g (NULL if the
 * key or group is absent), 0 after replying WRONGTYPE. */
static int group_lookup_or_reply(client *c, stream **s, stream_group **g) {
    if (!stream_lookup_or_reply(c, 1, 0, NULL, s)) return 0;
    *g = *s ? stream_group_find(*s, KEYARG(c, 2)) : NULL;
    return 1;
}

static void reply_nogroup(client *c) {
    reply_errorf(&c->out, "-NOGROUP No such key '%.*s' or consumer group '%.*s'", NAMEARG(c, 1), NAMEARG(c, 2));
}

static void cmd_xack(client *c) {
    stream *s;
    stream_group *g;
    stream_id *ids;
    if (!group_lookup_or_reply(c, &s, &g)) return;
    if (!g) {
        reply_int(&c->out, 0);
        return;
    }
    if (ids_or_reply(c, 3, &ids)) {
        long long acked = 0;
        for (int j = 0; j < c->argc - 3; j++) acked += stream_ack(g, &ids[j]);
        storage_dirty += acked; /* a change, though no key event (as Redis 7.0) */
        reply_int(&c->out, acked);
    }
    free(ids);
}

/* XPENDING key group: [count, first id, last id, [[consumer, count], ...]]. */
static void xpending_summary(client *c, stream_group *g) {
    size_t n = stream_group_pending_count(g), with = 0;
    reply_array(&c->out, 4);
    reply_int(&c->out, (long long)n);
    if (!n) {
        reply_null(&c->out);
        reply_null(&c->out);
        reply_null_array(&c->out);
        return;
    }
    reply_id(&c->out, &stream_pel_first(g)->id);
    reply_id(&c->out, &stream_pel_last(g)->id);
    for (size_t i = 0; i < stream_group_consumer_count(g); i++)
        with += stream_consumer_pending_count(stream_consumer_at(g, i)) != 0;
    reply_array(&c->out, (long)with);
    for (size_t i = 0; i < stream_group_consumer_count(g); i++) {
        stream_consumer *cons = stream_consumer_at(g, i);
        size_t len, cnt = stream_consumer_pending_count(cons);
        if (!cnt) continue;
        const char *name = stream_consumer_name(cons, &len);
        reply_array(&c->out, 2);
        reply_bulk(&c->out, name, len);
        reply_bulk_ll(&c->out, (long long)cnt);
    }
}

/* The pending messages in [start, end] of a PEL (the group's, or cons's when not NULL)
 * idle at least minidle, at most count: [[id, consumer, idle, deliveries], ...]. */
static void xpending_range(client *c, stream_group *g, stream_consumer *cons, const stream_id *start,
                           const stream_id *end, long long minidle, long long count) {
    long long now = storage_now_ms;
    for (int pass = 0; pass < 2; pass++) {
        long long n = 0;
        stream_nack *nk = cons ? stream_consumer_pel_seek(cons, start) : stream_pel_seek(g, start);
        for (; nk && n < count && stream_id_cmp(&nk->id, end) <= 0;
             nk = cons ? stream_consumer_pel_next(nk) : stream_pel_next(nk)) {
            if (minidle && now - nk->delivery_time < minidle) continue;
            n++;
            if (!pass) continue;
            size_t len;
            const char *name = stream_consumer_name(nk->consumer, &len);
            long long idle = now - nk->delivery_time;
            reply_array(&c->out, 4);
            reply_id(&c->out, &nk->id);
            reply_bulk(&c->out, name, len);
            reply_int(&c->out, idle < 0 ? 0 : idle);
            reply_int(&c->out, (long long)nk->delivery_count);
        }
        if (!pass) reply_array(&c->out, (long)n);
    }
}

static void cmd_xpending(client *c) {
    stream_id start, end;
    long long count = 0, minidle = 0;
    int consumer_arg = 0;
    stream *s;
    stream_group *g;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc >= 6) {
        int si = 3;
        if (arg_is(c, 3, "idle")) {
            if (!arg_ll_or_reply(c, 4, &minidle)) return;
            if (c->argc < 8) {
                reply_syntax_error(c);
                return;
            }
            si += 2;
        }
        if (!arg_ll_or_reply(c, si + 2, &count)) return;
        if (count < 0) count = 0;
        if (!bound_or_reply(c, si, 0, &start) || !bound_or_reply(c, si + 1, 1, &end)) return;
        if (si + 3 < c->argc) consumer_arg = si + 3;
    }
    if (!group_lookup_or_reply(c, &s, &g)) return;
    if (!g) {
        reply_nogroup(c);
        return;
    }
    if (c->argc == 3) {
        xpending_summary(c, g);
        return;
    }
    stream_consumer *cons = NULL;
    if (consumer_arg && !(cons = stream_consumer_find(g, KEYARG(c, consumer_arg)))) {
        reply_array(&c->out, 0);
        return;
    }
    xpending_range(c, g, cons, &start, &end, minidle, count);
}

/* ---------------------------------------------------------------- XCLAIM, XAUTOCLAIM */

/* XCLAIM's options after the ids (argv[from..]): fills a and *lastid. Returns 0 after
 * replying. */
static int xclaim_options_or_reply(client *c, int from, stream_claim_args *a, stream_id *lastid) {
    long long now = a->now, dt = -1, v;
    for (int j = from; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "force")) {
            a->force = 1;
        } else if (arg_is(c, j, "justid")) {
            a->justid = 1;
        } else if (arg_is(c, j, "idle") && more) {
            if (!arg_ll_or_reply_msg(c, ++j, &v, "Invalid IDLE option argument for XCLAIM")) return 0;
            dt = v <= 0 ? now : now - v;
        } else if (arg_is(c, j, "time") && more) {
            if (!arg_ll_or_reply_msg(c, ++j, &dt, "Invalid TIME option argument for XCLAIM")) return 0;
        } else if (arg_is(c, j, "retrycount") && more) {
            if (!arg_ll_or_reply_msg(c, ++j, &a->retry_count, "Invalid RETRYCOUNT option argument for XCLAIM"))
                return 0;
        } else if (arg_is(c, j, "lastid") && more) {
            if (!strict_id_or_reply(c, ++j, lastid)) return 0;
        } else {
            reply_errorf(&c->out, "Unrecognized XCLAIM option '%.*s'", NAMEARG(c, j));
            return 0;
        }
    }
    a->delivery_time = (dt < 0 || dt > now) ? now : dt;
    return 1;
}

/* XCLAIM/XAUTOCLAIM's claimed messages: ids (JUSTID) or entries. */
static void reply_claimed(client *c, const stream *s, const stream_id *ids, size_t n, int justid) {
    stream_fields f;
    reply_array(&c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        if (justid) reply_id(&c->out, &ids[i]);
        else if (stream_get(s, &ids[i], &f)) reply_entry(&c->out, &ids[i], &f);
        else reply_null(&c->out);
    }
}

/* XCLAIM and XAUTOCLAIM as Redis 7.0 propagates them: the consumer's creation, an
 * idempotent XCLAIM per message claimed or dropped (ids), and the group's last id if it
 * moved (LASTID); never the command itself, whose idle checks depend on the time. */
static void xclaim_propagate(client *c, const stream_group *g, int consumer_existed, const stream_id *oldlast,
                             const stream_id *ids, size_t n) {
    const resp_slice *key = &c->argv[1], *group = &c->argv[2], *name = &c->argv[3];
    propagate_prevent(c);
    if (!consumer_existed && stream_consumer_find(g, name->ptr, name->len))
        propagate_consumer_created(c, key, group, name);
    for (size_t i = 0; i < n; i++) propagate_xclaim(c, key, group, g, &ids[i], stream_pel_find(g, &ids[i]), name);
    stream_id last = stream_group_last_id(g);
    if (stream_id_cmp(&last, oldlast) != 0) propagate_group_id(c, key, group, g);
}

static void cmd_xclaim(client *c) {
    stream *s;
    stream_group *g;
    long long minidle;
    stream_id id, lastid = {0, 0};
    int j;
    if (!group_lookup_or_reply(c, &s, &g)) return;
    if (!g) {
        reply_nogroup(c);
        return;
    }
    if (!arg_ll_or_reply_msg(c, 4, &minidle, "Invalid min-idle-time argument for XCLAIM")) return;
    for (j = 5; j < c->argc; j++)
        if (stream_id_parse(c->argv[j].ptr, c->argv[j].len, 0, 1, &id, NULL) != 0) break;
    int nids = j - 5;
    stream_claim_args a = {.now = storage_now_ms, .min_idle = minidle < 0 ? 0 : minidle, .retry_count = -1};
    if (!xclaim_options_or_reply(c, j, &a, &lastid)) return;
    int prop = propagate_wanted();
    int existed = (prop || notify_wanted(NOTIFY_STREAM)) && stream_consumer_find(g, KEYARG(c, 3)) != NULL;
    stream_id oldlast = stream_group_last_id(g);
    stream_group_set_last_id_if_greater(g, &lastid);
    stream_id *claimed = xmalloc(sizeof(*claimed) * (size_t)(nids ? nids : 1));
    stream_id *changed = prop ? xmalloc(sizeof(*changed) * (size_t)(nids ? nids : 1)) : NULL;
    size_t n = 0, nchanged = 0;
    stream_consumer *cons = NULL;
    for (j = 5; j < 5 + nids; j++) {
        stream_id_parse(c->argv[j].ptr, c->argv[j].len, 0, 1, &id, NULL);
        int r = stream_claim(s, g, KEYARG(c, 3), &cons, &id, &a);
        if (r == STREAM_CLAIM_CLAIMED) claimed[n++] = id;
        if (prop && r != STREAM_CLAIM_SKIPPED) changed[nchanged++] = id;
    }
    if (!existed && cons) notify_arg(c, NOTIFY_STREAM, "xgroup-createconsumer", 1);
    reply_claimed(c, s, claimed, n, a.justid);
    free(claimed);
    if (prop) {
        xclaim_propagate(c, g, existed, &oldlast, changed, nchanged);
        free(changed);
    }
}

static void cmd_xautoclaim(client *c) {
    stream *s;
    stream_group *g;
    stream_id start;
    long long minidle, count = 100;
    int justid = 0;
    stream_autoclaim_result r;
    if (!arg_ll_or_reply_msg(c, 4, &minidle, "Invalid min-idle-time argument for XAUTOCLAIM")) return;
    if (minidle < 0) minidle = 0;
    if (!bound_or_reply(c, 5, 0, &start)) return;
    for (int j = 6; j < c->argc; j++) {
        if (arg_is(c, j, "count") && j + 1 < c->argc) {
            j++;
            if (!util_str2ll(c->argv[j].ptr, c->argv[j].len, &count) || count < 1 ||
                count > LONG_MAX / XAUTOCLAIM_ATTEMPTS_FACTOR) {
                reply_error(&c->out, "COUNT must be > 0");
                return;
            }
        } else if (arg_is(c, j, "justid")) {
            justid = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (!group_lookup_or_reply(c, &s, &g)) return;
    if (!g) {
        reply_nogroup(c);
        return;
    }
    int prop = propagate_wanted();
    int existed = (prop || notify_wanted(NOTIFY_STREAM)) && stream_consumer_find(g, KEYARG(c, 3)) != NULL;
    stream_id oldlast = stream_group_last_id(g);
    stream_autoclaim(s, g, KEYARG(c, 3), minidle, &start, (size_t)count, justid, storage_now_ms, &r);
    if (!existed && notify_wanted(NOTIFY_STREAM) && stream_consumer_find(g, KEYARG(c, 3)))
        notify_arg(c, NOTIFY_STREAM, "xgroup-createconsumer", 1);
    if (prop) {
        stream_id *ids = xmalloc(sizeof(*ids) * (r.nclaimed + r.ndeleted + 1));
        memcpy(ids, r.claimed, sizeof(*ids) * r.nclaimed);
        memcpy(ids + r.nclaimed, r.deleted, sizeof(*ids) * r.ndeleted);
        xclaim_propagate(c, g, existed, &oldlast, ids, r.nclaimed + r.ndeleted);
        free(ids);
    }
    reply_array(&c->out, 3);
    reply_id(&c->out, &r.next);
    reply_claimed(c, s, r.claimed, r.nclaimed, justid);
    reply_array(&c->out, (long)r.ndeleted);
    for (size_t i = 0; i < r.ndeleted; i++) reply_id(&c->out, &r.deleted[i]);
    stream_autoclaim_free(&r);
}

/* ---------------------------------------------------------------- XINFO */

/* XINFO's key (argv[2]): the stream, or NULL after replying. */
static stream *xinfo_stream_or_reply(client *c) {
    stream *s;
    if (!stream_lookup_or_reply(c, 2, 0, NULL, &s)) return NULL;
    if (!s) reply_error(&c->out, "no such key");
    return s;
}

static void reply_lag(client *c, const stream *s, const stream_group *g) {
    long long lag;
    if (stream_group_lag(s, g, &lag)) reply_int(&c->out, lag);
    else reply_null(&c->out);
}

static void reply_entries_read(client *c, const stream_group *g) {
    long long er = stream_group_entries_read(g);
    if (er != STREAM_ENTRIES_READ_INVALID) reply_int(&c->out, er);
    else reply_null(&c->out);
}

static void cmd_xinfo_consumers(client *c) {
    stream *s = xinfo_stream_or_reply(c);
    if (!s) return;
    stream_group *g = stream_group_find(s, KEYARG(c, 3));
    if (!g) {
        reply_errorf(&c->out, "-NOGROUP No such consumer group '%.*s' for key name '%.*s'", NAMEARG(c, 3),
                     NAMEARG(c, 2));
        return;
    }
    reply_array(&c->out, (long)stream_group_consumer_count(g));
    for (size_t i = 0; i < stream_group_consumer_count(g); i++) {
        stream_consumer *cons = stream_consumer_at(g, i);
        size_t len;
        const char *name = stream_consumer_name(cons, &len);
        long long idle = storage_now_ms - stream_consumer_seen_time(cons);
        reply_map(&c->out, 3);
        reply_bulk_cstr(&c->out, "name");
        reply_bulk(&c->out, name, len);
        reply_bulk_cstr(&c->out, "pending");
        reply_int(&c->out, (long long)stream_consumer_pending_count(cons));
        reply_bulk_cstr(&c->out, "idle");
        reply_int(&c->out, idle < 0 ? 0 : idle);
    }
}

static void cmd_xinfo_groups(client *c) {
    stream *s = xinfo_stream_or_reply(c);
    if (!s) return;
    reply_array(&c->out, (long)stream_group_count(s));
    for (size_t i = 0; i < stream_group_count(s); i++) {
        stream_group *g = stream_group_at(s, i);
        size_t len;
        const char *name = stream_group_name(g, &len);
        stream_id last = stream_group_last_id(g);
        reply_map(&c->out, 6);
        reply_bulk_cstr(&c->out, "name");
        reply_bulk(&c->out, name, len);
        reply_bulk_cstr(&c->out, "consumers");
        reply_int(&c->out, (long long)stream_group_consumer_count(g));
        reply_bulk_cstr(&c->out, "pending");
        reply_int(&c->out, (long long)stream_group_pending_count(g));
        reply_bulk_cstr(&c->out, "last-delivered-id");
        reply_id(&c->out, &last);
        reply_bulk_cstr(&c->out, "entries-read");
        reply_entries_read(c, g);
        reply_bulk_cstr(&c->out, "lag");
        reply_lag(c, s, g);
    }
}

/* A consumer of XINFO STREAM FULL: name, seen-time, pel-count, pending. */
static void xinfo_full_consumer(client *c, stream_consumer *cons, long long count) {
    size_t len, pel = stream_consumer_pending_count(cons);
    const char *name = stream_consumer_name(cons, &len);
    long long n = 0;
    reply_map(&c->out, 4);
    reply_bulk_cstr(&c->out, "name");
    reply_bulk(&c->out, name, len);
    reply_bulk_cstr(&c->out, "seen-time");
    reply_int(&c->out, stream_consumer_seen_time(cons));
    reply_bulk_cstr(&c->out, "pel-count");
    reply_int(&c->out, (long long)pel);
    reply_bulk_cstr(&c->out, "pending");
    reply_array(&c->out, (long)(count && (size_t)count < pel ? (size_t)count : pel));
    for (stream_nack *nk = stream_consumer_pel_seek(cons, &id_min); nk && (!count || n < count);
         nk = stream_consumer_pel_next(nk), n++) {
        reply_array(&c->out, 3);
        reply_id(&c->out, &nk->id);
        reply_int(&c->out, nk->delivery_time);
        reply_int(&c->out, (long long)nk->delivery_count);
    }
}

/* A group of XINFO STREAM FULL. */
static void xinfo_full_group(client *c, const stream *s, stream_group *g, long long count) {
    size_t len, pel = stream_group_pending_count(g);
    const char *name = stream_group_name(g, &len);
    stream_id last = stream_group_last_id(g);
    long long n = 0;
    reply_map(&c->out, 7);
    reply_bulk_cstr(&c->out, "name");
    reply_bulk(&c->out, name, len);
    reply_bulk_cstr(&c->out, "last-delivered-id");
    reply_id(&c->out, &last);
    reply_bulk_cstr(&c->out, "entries-read");
    reply_entries_read(c, g);
    reply_bulk_cstr(&c->out, "lag");
    reply_lag(c, s, g);
    reply_bulk_cstr(&c->out, "pel-count");
    reply_int(&c->out, (long long)pel);
    reply_bulk_cstr(&c->out, "pending");
    reply_array(&c->out, (long)(count && (size_t)count < pel ? (size_t)count : pel));
    for (stream_nack *nk = stream_pel_first(g); nk && (!count || n < count); nk = stream_pel_next(nk), n++) {
        size_t cl;
        const char *cname = stream_consumer_name(nk->consumer, &cl);
        reply_array(&c->out, 4);
        reply_id(&c->out, &nk->id);
        reply_bulk(&c->out, cname, cl);
        reply_int(&c->out, nk->delivery_time);
        reply_int(&c->out, (long long)nk->delivery_count);
    }
    reply_bulk_cstr(&c->out, "consumers");
    reply_array(&c->out, (long)stream_group_consumer_count(g));
    for (size_t i = 0; i < stream_group_consumer_count(g); i++) xinfo_full_consumer(c, stream_consumer_at(g, i), count);
}

static void cmd_xinfo_stream(client *c) {
    long long count = 10;
    int full = c->argc > 3;
    stream *s = xinfo_stream_or_reply(c);
    if (!s) return;
    if (full && ((c->argc != 4 && c->argc != 6) || !arg_is(c, 3, "full") || (c->argc == 6 && !arg_is(c, 4, "count")))) {
        reply_subcommand_syntax_error(c);
        return;
    }
    if (c->argc == 6) {
        if (!arg_ll_or_reply(c, 5, &count)) return;
        if (count < 0) count = 10;
    }
    stream_id last = stream_last_id(s), maxdel = stream_max_deleted_id(s), first = stream_first_id(s);
    size_t blocks = stream_block_count(s);
    reply_map(&c->out, full ? 9 : 10);
    reply_bulk_cstr(&c->out, "length");
    reply_int(&c->out, (long long)stream_length(s));
    reply_bulk_cstr(&c->out, "radix-tree-keys");
    reply_int(&c->out, (long long)blocks);
    reply_bulk_cstr(&c->out, "radix-tree-nodes"); /* no radix tree here: an estimate */
    reply_int(&c->out, blocks ? 2 * (long long)blocks : 1);
    reply_bulk_cstr(&c->out, "last-generated-id");
    reply_id(&c->out, &last);
    reply_bulk_cstr(&c->out, "max-deleted-entry-id");
    reply_id(&c->out, &maxdel);
    reply_bulk_cstr(&c->out, "entries-added");
    reply_int(&c->out, (long long)stream_entries_added(s));
    reply_bulk_cstr(&c->out, "recorded-first-entry-id");
    reply_id(&c->out, &first);
    if (!full) {
        reply_bulk_cstr(&c->out, "groups");
        reply_int(&c->out, (long long)stream_group_count(s));
        reply_bulk_cstr(&c->out, "first-entry");
        reply_edge_entry(&c->out, s, 0);
        reply_bulk_cstr(&c->out, "last-entry");
        reply_edge_entry(&c->out, s, 1);
        return;
    }
    reply_bulk_cstr(&c->out, "entries");
    reply_range(&c->out, s, &id_min, &id_max, (size_t)count, 0);
    reply_bulk_cstr(&c->out, "groups");
    reply_array(&c->out, (long)stream_group_count(s));
    for (size_t i = 0; i < stream_group_count(s); i++) xinfo_full_group(c, s, stream_group_at(s, i), count);
}

static void cmd_xinfo_help(client *c) {
    static const char *const lines[] = {
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

/* ---------------------------------------------------------------- the table */

static const command_binding xgroup_subcommands[] = {
    CMD("create", cmd_xgroup_create),
    CMD("setid", cmd_xgroup_setid),
    CMD("destroy", cmd_xgroup_destroy),
    CMD("createconsumer", cmd_xgroup_createconsumer),
    CMD("delconsumer", cmd_xgroup_delconsumer),
    CMD("help", cmd_xgroup_help),
    {0},
};

static const command_binding xinfo_subcommands[] = {
    CMD("consumers", cmd_xinfo_consumers),
    CMD("groups", cmd_xinfo_groups),
    CMD("stream", cmd_xinfo_stream),
    CMD("help", cmd_xinfo_help),
    {0},
};

const command_binding stream_commands[] = {
    CMD("xadd", cmd_xadd),
    CMD("xlen", cmd_xlen),
    CMD("xrange", cmd_xrange),
    CMD("xrevrange", cmd_xrevrange),
    CMD("xdel", cmd_xdel),
    CMD("xtrim", cmd_xtrim),
    CMD("xsetid", cmd_xsetid),
    CMD("xread", cmd_xread),
    CMD("xreadgroup", cmd_xreadgroup),
    CMD("xack", cmd_xack),
    CMD("xpending", cmd_xpending),
    CMD("xclaim", cmd_xclaim),
    CMD("xautoclaim", cmd_xautoclaim),
    CMD("xgroup", NULL, xgroup_subcommands),
    CMD("xinfo", NULL, xinfo_subcommands),
    {0},
};
