/* cmd_list.c: the list commands (LPUSH ... LMPOP) and the blocking pops (BLPOP, BRPOP,
 * BLMOVE, BRPOPLPUSH, BLMPOP) with Redis 7.0's replies, error texts and order of checks,
 * on storage/t_list.c.
 *
 * Blocking follows Redis 7.0's serveClientsBlockedOnKeys: a blocked pop is served from
 * the key that became ready (blocking_ready_key), not by re-reading its keys in
 * argument order, and only if that key now holds a list; a waiter that finds it empty
 * or of another type keeps waiting and tells blocking.c the key is drained, so the
 * waiters behind it are not re-run for that change. The first-blocked client is served
 * first, in the same loop turn as the push (or the EXEC) that made the key ready. Inside
 * MULTI nothing blocks: the command answers as on a timeout, at once.
 *
 * A key whose last element goes is deleted; every change goes through db_touch (WATCH,
 * waking waiters, the memory figure). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/t_list.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

/* Replay as LPOP/RPOP key [count] (count < 0: none), as Redis 7.0 propagates BLPOP,
 * BRPOP, LMPOP and BLMPOP: the pop that ran. */
static void propagate_as_pop(client *c, int where, int keyi, long long count) {
    if (!propagate_wanted()) return;
    char buf[UTIL_LLSTR_SIZE];
    resp_slice v[3] = {where == LIST_HEAD ? PROP_STR("LPOP") : PROP_STR("RPOP"), c->argv[keyi], {buf, 0}};
    if (count >= 0) v[2].len = (size_t)util_ll2str(buf, count);
    propagate_replace(c, count >= 0 ? 3 : 2, v);
}

/* Replay BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH. */
static void propagate_as_move(client *c, int from, int to, int rpoplpush) {
    if (!propagate_wanted()) return;
    resp_slice v[5] = {PROP_STR("LMOVE"), c->argv[1], c->argv[2],
                       from == LIST_HEAD ? PROP_STR("LEFT") : PROP_STR("RIGHT"),
                       to == LIST_HEAD ? PROP_STR("LEFT") : PROP_STR("RIGHT")};
    if (rpoplpush) v[0] = PROP_STR("RPOPLPUSH");
    propagate_replace(c, rpoplpush ? 3 : 5, v);
}

/* ---------------------------------------------------------------- helpers */

/* The list at argv[i]: returns 1 with *l (NULL if the key is absent) and *k, or 0 after
 * replying WRONGTYPE. */
static int lookup_or_reply(client *c, int i, int write, rkey **k, list **l) {
    *k = write ? db_lookup_write(c->db, KEYARG(c, i)) : db_lookup_read(c->db, KEYARG(c, i));
    *l = NULL;
    if (!*k) return 1;
    if (rkey_type(*k) != OBJ_LIST) {
        reply_wrongtype(c);
        return 0;
    }
    *l = rkey_ptr(*k);
    return 1;
}

static void reply_val(client *c, const list_val *v) {
    if (v->hex) {
        char tmp[LIST_VAL_TMP];
        size_t len;
        const char *p = list_val_str(v, tmp, &len);
        reply_bulk(&c->out, p, len);
    } else if (v->prelen) {
        char *o = reply_bulk_reserve(&c->out, v->prelen + v->len);
        memcpy(o, v->pre, v->prelen);
        memcpy(o + v->prelen, v->p, v->len);
    } else if (v->p) reply_bulk(&c->out, v->p, v->len);
    else reply_bulk_ll(&c->out, v->v);
}

/* After removing elements from the list under key: publish event ("lpop", "lrem", ...),
 * then delete the key if it is empty ("del"), else report the change. */
static void changed_after_pop(client *c, const char *event, const char *key, size_t klen, rkey *k, list *l) {
    notify_keyspace_event(NOTIFY_LIST, event, key, klen, db_id(c->db));
    if (list_len(l) == 0) {
        db_delete(c->db, key, klen);
        notify_keyspace_event(NOTIFY_GENERIC, "del", key, klen, db_id(c->db));
    } else {
        db_touch(c->db, k);
    }
}

static const char *pop_event(int where) { return where == LIST_HEAD ? "lpop" : "rpop"; }

/* Pop count elements from where, replying each (the caller sent the array header). */
static void pop_reply(client *c, list *l, int where, long long count) {
    while (count-- > 0) {
        list_val v;
        size_t i = where == LIST_HEAD ? 0 : list_len(l) - 1;
        list_index(l, i, &v);
        reply_val(c, &v);
        list_delete_range(l, i, 1);
    }
}

static int where_or_reply(client *c, int i, int *where) {
    if (arg_is(c, i, "left")) *where = LIST_HEAD;
    else if (arg_is(c, i, "right")) *where = LIST_TAIL;
    else {
        reply_syntax_error(c);
        return 0;
    }
    return 1;
}

/* Redis's getTimeoutFromObjectOrReply in seconds: absolute ms, 0 = forever. */
static int timeout_or_reply(client *c, int i, long long *out) {
    long double t;
    if (!util_str2ld(c->argv[i].ptr, c->argv[i].len, &t)) {
        reply_error(&c->out, "timeout is not a float or out of range");
        return 0;
    }
    t = ceill(t * 1000.0L);
    /* Out of long long's range Redis's cast gives LLONG_MIN on x86: "negative". */
    long long ms = (t >= -9223372036854775808.0L && t < 9223372036854775808.0L) ? (long long)t : LLONG_MIN;
    if (ms < 0) {
        reply_error(&c->out, "timeout is negative");
        return 0;
    }
    if (ms > 0) ms = storage_now_ms > 0 && ms > LLONG_MAX - storage_now_ms ? LLONG_MAX : ms + storage_now_ms;
    *out = ms;
    return 1;
}

/* Redis's getRangeLongFromObjectOrReply(1, LONG_MAX) with msg for any failure. */
static int positive_or_reply(client *c, int i, long long *out, const char *msg) {
    long long v;
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &v) || v < 1) {
        reply_error(&c->out, msg);
        return 0;
    }
    *out = v;
    return 1;
}

/* Redis's start/end normalisation for LRANGE/LTRIM: 1 and [*s, *e] if non-empty. */
static int range_norm(long long start, long long end, long long len, long long *s, long long *e) {
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) return 0;
    if (end >= len) end = len - 1;
    *s = start;
    *e = end;
    return 1;
}

/* ---------------------------------------------------------------- pushes */

static void push_generic(client *c, int where, int xx) {
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
    if (!l) {
        if (xx) {
            reply_int(&c->out, 0);
            return;
        }
        l = list_new();
        for (int i = 2; i < c->argc; i++) list_push(l, where, c->argv[i].ptr, c->argv[i].len);
        db_add_ptr(c->db, KEYARG(c, 1), OBJ_LIST, l);
    } else {
        for (int i = 2; i < c->argc; i++) list_push(l, where, c->argv[i].ptr, c->argv[i].len);
        db_touch(c->db, k);
    }
    notify_arg(c, NOTIFY_LIST, where == LIST_HEAD ? "lpush" : "rpush", 1);
    reply_int(&c->out, (long long)list_len(l));
}

static void cmd_lpush(client *c) { push_generic(c, LIST_HEAD, 0); }
static void cmd_rpush(client *c) { push_generic(c, LIST_TAIL, 0); }
static void cmd_lpushx(client *c) { push_generic(c, LIST_HEAD, 1); }
static void cmd_rpushx(client *c) { push_generic(c, LIST_TAIL, 1); }

static void cmd_linsert(client *c) {
    int after;
    if (arg_is(c, 2, "after")) after = 1;
    else if (arg_is(c, 2, "before")) after = 0;
    else {
        reply_syntax_error(c);
        return;
    }
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
    if (!l) {
        reply_int(&c->out, 0);
        return;
    }
    list_iter it;
    list_val v;
    size_t i = 0;
    int found = 0;
    list_iter_init(&it, l, 0, LIST_TAIL);
    while (list_iter_next(&it, &v)) {
        if (list_val_eq(&v, c->argv[3].ptr, c->argv[3].len)) {
            found = 1;
            break;
        }
        i++;
    }
    list_iter_release(&it);
    if (!found) {
        reply_int(&c->out, -1);
        return;
    }
    list_insert_at(l, i + (size_t)after, c->argv[4].ptr, c->argv[4].len);
    db_touch(c->db, k);
    notify_arg(c, NOTIFY_LIST, "linsert", 1);
    reply_int(&c->out, (long long)list_len(l));
}

/* ---------------------------------------------------------------- reads */

static void cmd_llen(client *c) {
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 0, &k, &l)) return;
    reply_int(&c->out, l ? (long long)list_len(l) : 0);
}

static void cmd_lindex(client *c) {
    rkey *k;
    list *l;
    long long idx;
    if (!lookup_or_reply(c, 1, 0, &k, &l)) return;
    if (!l) {
        reply_null(&c->out);
        return;
    }
    if (!arg_ll_or_reply(c, 2, &idx)) return;
    long long len = (long long)list_len(l);
    if (idx < 0) idx += len;
    if (idx < 0 || idx >= len) {
        reply_null(&c->out);
        return;
    }
    list_val v;
    list_index(l, (size_t)idx, &v);
    reply_val(c, &v);
}

/* Elements [start, end] (valid indexes) forward, or backward from end to start. */
static void reply_range(client *c, const list *l, long long start, long long end, int backward) {
    reply_array(&c->out, end - start + 1);
    list_iter it;
    list_val v;
    list_iter_init(&it, l, (size_t)(backward ? end : start), backward ? LIST_HEAD : LIST_TAIL);
    for (long long n = end - start + 1; n > 0 && list_iter_next(&it, &v); n--) reply_val(c, &v);
    list_iter_release(&it);
}

static void cmd_lrange(client *c) {
    long long start, end, s, e;
    if (!arg_ll_or_reply(c, 2, &start) || !arg_ll_or_reply(c, 3, &end)) return;
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 0, &k, &l)) return;
    if (!l || !range_norm(start, end, (long long)list_len(l), &s, &e)) {
        reply_array(&c->out, 0);
        return;
    }
    reply_range(c, l, s, e, 0);
}

static void cmd_lpos(client *c) {
    long long rank = 1, count = -1, maxlen = 0;
    for (int i = 3; i < c->argc; i++) {
        int more = i + 1 < c->argc;
        if (arg_is(c, i, "rank") && more) {
            if (!arg_ll_or_reply(c, ++i, &rank)) return;
            if (rank == 0) {
                reply_error(&c->out, "RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                                     "or use negative to start from the end of the list");
                return;
            }
        } else if (arg_is(c, i, "count") && more) {
            if (!arg_ll_or_reply(c, ++i, &count)) return;
            if (count < 0) {
                reply_error(&c->out, "COUNT can't be negative");
                return;
            }
        } else if (arg_is(c, i, "maxlen") && more) {
            if (!arg_ll_or_reply(c, ++i, &maxlen)) return;
            if (maxlen < 0) {
                reply_error(&c->out, "MAXLEN can't be negative");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 0, &k, &l)) return;
    if (!l) {
        if (count != -1) reply_array(&c->out, 0);
        else reply_null(&c->out);
        return;
    }
    int dir = LIST_TAIL;
    if (rank < 0) {
        rank = (long long)(0ULL - (unsigned long long)rank); /* LLONG_MIN stays, as in Redis */
        dir = LIST_HEAD;
    }
    size_t len = list_len(l);
    long long *hits = NULL, nhits = 0, cap = 0, matches = 0, index = 0;
    list_iter it;
    list_val v;
    list_iter_init(&it, l, dir == LIST_TAIL ? 0 : len - 1, dir);
    while ((maxlen == 0 || index < maxlen) && list_iter_next(&it, &v)) {
        if (list_val_eq(&v, c->argv[2].ptr, c->argv[2].len)) {
            matches++;
            if (matches >= rank) {
                if (nhits == cap) {
                    cap = cap ? cap * 2 : 8;
                    hits = xrealloc(hits, sizeof(*hits) * (size_t)cap);
                }
                hits[nhits++] = dir == LIST_TAIL ? index : (long long)len - index - 1;
                if (count == -1) break;
                if (count && (long long)((unsigned long long)matches - (unsigned long long)rank + 1) >= count) break;
            }
        }
        index++;
    }
    list_iter_release(&it);
    if (count == -1) {
        if (nhits) reply_int(&c->out, hits[0]);
        else reply_null(&c->out);
    } else {
        reply_array(&c->out, nhits);
        for (long long i = 0; i < nhits; i++) reply_int(&c->out, hits[i]);
    }
    free(hits);
}

/* ---------------------------------------------------------------- changes */

static void cmd_lset(client *c) {
    rkey *k;
    list *l;
    long long idx;
    if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
    if (!l) {
        reply_error(&c->out, "no such key");
        return;
    }
    if (!arg_ll_or_reply(c, 2, &idx)) return;
    long long len = (long long)list_len(l);
    if (idx < 0) idx += len;
    if (idx < 0 || idx >= len) {
        reply_error(&c->out, "index out of range");
        return;
    }
    list_set(l, (size_t)idx, c->argv[3].ptr, c->argv[3].len);
    db_touch(c->db, k);
    notify_arg(c, NOTIFY_LIST, "lset", 1);
    reply_ok(&c->out);
}

static void cmd_lrem(client *c) {
    long long count;
    if (!arg_ll_or_reply(c, 2, &count)) return;
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
    if (!l) {
        reply_int(&c->out, 0);
        return;
    }
    /* Collect the indexes first (the iterator needs an unchanged list), then delete
     * runs from the highest index down. */
    size_t len = list_len(l), *idx = NULL, n = 0, cap = 0;
    int dir = count < 0 ? LIST_HEAD : LIST_TAIL;
    unsigned long long want = count < 0 ? 0ULL - (unsigned long long)count : (unsigned long long)count;
    list_iter it;
    list_val v;
    size_t pos = dir == LIST_TAIL ? 0 : len - 1;
    list_iter_init(&it, l, pos, dir);
    while (list_iter_next(&it, &v)) {
        if (list_val_eq(&v, c->argv[3].ptr, c->argv[3].len)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                idx = xrealloc(idx, sizeof(*idx) * cap);
            }
            idx[n++] = pos;
            if (want && n == want) break;
        }
        pos += dir == LIST_TAIL ? 1 : (size_t)-1;
    }
    list_iter_release(&it);
    /* ascending order for the run detection below */
    if (dir == LIST_TAIL)
        for (size_t i = 0; i < n / 2; i++) {
            size_t t = idx[i];
            idx[i] = idx[n - 1 - i];
            idx[n - 1 - i] = t;
        }
    /* idx is now descending: delete runs of consecutive indexes */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && idx[j] == idx[j - 1] - 1) j++;
        list_delete_range(l, idx[j - 1], j - i);
        i = j;
    }
    free(idx);
    if (n) changed_after_pop(c, "lrem", KEYARG(c, 1), k, l);
    reply_int(&c->out, (long long)n);
}

static void cmd_ltrim(client *c) {
    long long start, end, s, e;
    if (!arg_ll_or_reply(c, 2, &start) || !arg_ll_or_reply(c, 3, &end)) return;
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
    if (!l) {
        reply_ok(&c->out);
        return;
    }
    size_t len = list_len(l);
    if (!range_norm(start, end, (long long)len, &s, &e)) {
        notify_arg(c, NOTIFY_LIST, "ltrim", 1);
        db_delete(c->db, KEYARG(c, 1));
        notify_arg(c, NOTIFY_GENERIC, "del", 1);
    } else {
        list_delete_range(l, (size_t)e + 1, len - (size_t)e - 1);
        list_delete_range(l, 0, (size_t)s);
        db_touch(c->db, k); /* Redis signals even when nothing was removed */
        notify_arg(c, NOTIFY_LIST, "ltrim", 1);
    }
    reply_ok(&c->out);
}

/* ---------------------------------------------------------------- pops */

static void pop_generic(client *c, int where) {
    long long count = 0;
    int hascount = c->argc == 3;
    if (c->argc > 3) {
        reply_arity_error(c);
        return;
    }
    if (hascount) {
        long long v;
        if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &v) || v < 0) {
            reply_error(&c->out, "value is out of range, must be positive");
            return;
        }
        count = v;
    }
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
    if (!l) {
        if (hascount) reply_null_array(&c->out);
        else reply_null(&c->out);
        return;
    }
    if (hascount && !count) {
        reply_array(&c->out, 0);
        return;
    }
    if (!hascount) {
        pop_reply(c, l, where, 1);
    } else {
        long long n = count < (long long)list_len(l) ? count : (long long)list_len(l);
        reply_array(&c->out, n);
        pop_reply(c, l, where, n);
    }
    changed_after_pop(c, pop_event(where), KEYARG(c, 1), k, l);
}

static void cmd_lpop(client *c) { pop_generic(c, LIST_HEAD); }
static void cmd_rpop(client *c) { pop_generic(c, LIST_TAIL); }

/* Move one element from src's where_from end to dst's where_to end (src is a non-empty
 * list; dst is checked here). Replies the element or WRONGTYPE. */
static void move_one(client *c, rkey *sk, list *src, int from, int to) {
    rkey *dk;
    list *dst;
    const char *skey = c->argv[1].ptr, *dkey = c->argv[2].ptr;
    size_t slen = c->argv[1].len, dlen = c->argv[2].len;
    if (!lookup_or_reply(c, 2, 1, &dk, &dst)) return;
    sk = db_lookup_write(c->db, skey, slen); /* dst's lookup may have moved records */
    list_val v;
    char tmp[LIST_VAL_TMP];
    size_t len;
    list_index(src, from == LIST_HEAD ? 0 : list_len(src) - 1, &v);
    const char *p = list_val_str(&v, tmp, &len);
    char small[64], *copy = len <= sizeof(small) ? small : xmalloc(len);
    memcpy(copy, p, len);
    list_delete_range(src, from == LIST_HEAD ? 0 : list_len(src) - 1, 1);
    if (dst) {
        list_push(dst, to, copy, len);
        db_touch(c->db, db_lookup_write(c->db, dkey, dlen));
    } else {
        dst = list_new();
        list_push(dst, to, copy, len);
        db_add_ptr(c->db, dkey, dlen, OBJ_LIST, dst);
    }
    notify_arg(c, NOTIFY_LIST, to == LIST_HEAD ? "lpush" : "rpush", 2);
    reply_bulk(&c->out, copy, len);
    if (copy != small) free(copy);
    if (dst != src) {
        sk = db_lookup_write(c->db, skey, slen);
        changed_after_pop(c, pop_event(from), skey, slen, sk, src);
    } else {
        notify_arg(c, NOTIFY_LIST, pop_event(from), 1);
    }
}

static void lmove_generic(client *c, int from, int to) {
    rkey *k;
    list *l;
    if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
    if (!l) {
        reply_null(&c->out);
        return;
    }
    move_one(c, k, l, from, to);
}

static void cmd_lmove(client *c) {
    int from, to;
    if (!where_or_reply(c, 3, &from) || !where_or_reply(c, 4, &to)) return;
    lmove_generic(c, from, to);
}

static void cmd_rpoplpush(client *c) { lmove_generic(c, LIST_TAIL, LIST_HEAD); }

/* [key, [elements...]] of up to count popped from where. */
static void mpop_reply(client *c, int keyi, rkey *k, list *l, int where, long long count) {
    long long n = count < (long long)list_len(l) ? count : (long long)list_len(l);
    propagate_as_pop(c, where, keyi, n);
    reply_array(&c->out, 2);
    reply_bulk(&c->out, KEYARG(c, keyi));
    reply_array(&c->out, n);
    pop_reply(c, l, where, n);
    changed_after_pop(c, pop_event(where), KEYARG(c, keyi), k, l);
}

typedef struct mpop_args {
    long long numkeys, count;
    int first, where;
} mpop_args;

/* LMPOP/BLMPOP's arguments from numkeys at argv[ni], in Redis's order of checks. */
static int mpop_parse_or_reply(client *c, int ni, mpop_args *a) {
    if (!positive_or_reply(c, ni, &a->numkeys, "numkeys should be greater than 0")) return 0;
    a->first = ni + 1;
    a->count = -1;
    if (a->numkeys >= c->argc - ni - 1) {
        reply_syntax_error(c);
        return 0;
    }
    int wi = ni + 1 + (int)a->numkeys;
    if (!where_or_reply(c, wi, &a->where)) return 0;
    for (int j = wi + 1; j < c->argc; j++) {
        if (a->count == -1 && arg_is(c, j, "count") && j + 1 < c->argc) {
            if (!positive_or_reply(c, ++j, &a->count, "count should be greater than 0")) return 0;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (a->count == -1) a->count = 1;
    return 1;
}

/* Pop from the first non-empty list among the keys; 1 if served (or an error was
 * replied), 0 if they are all empty. */
static int mpop_first(client *c, const mpop_args *a) {
    for (int j = a->first; j < a->first + a->numkeys; j++) {
        rkey *k;
        list *l;
        if (!lookup_or_reply(c, j, 1, &k, &l)) return 1;
        if (!l) continue;
        mpop_reply(c, j, k, l, a->where, a->count);
        return 1;
    }
    return 0;
}

static void cmd_lmpop(client *c) {
    mpop_args a;
    if (!mpop_parse_or_reply(c, 1, &a)) return;
    if (!mpop_first(c, &a)) reply_null_array(&c->out);
}

/* ---------------------------------------------------------------- blocking pops */

/* On a re-run: the argv index of the ready key among [first, first+n), its record and
 * list, if it holds a non-empty list now; 0 (and the key is drained for list waiters)
 * otherwise. */
static int ready_list(client *c, int first, int n, rkey **k, list **l) {
    size_t klen;
    const char *key = blocking_ready_key(c, &klen);
    for (int j = first; key && j < first + n; j++) {
        if (c->argv[j].len != klen || memcmp(c->argv[j].ptr, key, klen)) continue;
        *k = db_lookup_write(c->db, KEYARG(c, j));
        if (!*k || rkey_type(*k) != OBJ_LIST) break;
        *l = rkey_ptr(*k);
        return j;
    }
    blocking_drained(c);
    return 0;
}

static void block_or_null(client *c, int first, int n, long long timeout) {
    if (c->flags & (CLIENT_EXECUTING_EXEC | CLIENT_SCRIPT)) {
        reply_null_array(&c->out);
        return;
    }
    block_for_keys(c, &c->argv[first], n, timeout, 0);
}

static void bpop_generic(client *c, int where) {
    long long timeout;
    if (!timeout_or_reply(c, c->argc - 1, &timeout)) return;
    rkey *k;
    list *l;
    int j;
    if (blocking_is_retry(c)) {
        if (!(j = ready_list(c, 1, c->argc - 2, &k, &l))) {
            block_for_keys(c, NULL, 0, 0, 0);
            return;
        }
    } else {
        for (j = 1; j < c->argc - 1; j++) {
            if (!lookup_or_reply(c, j, 1, &k, &l)) return;
            if (l) break;
        }
        if (j == c->argc - 1) {
            block_or_null(c, 1, c->argc - 2, timeout);
            return;
        }
    }
    propagate_as_pop(c, where, j, -1);
    reply_array(&c->out, 2);
    reply_bulk(&c->out, KEYARG(c, j));
    pop_reply(c, l, where, 1);
    changed_after_pop(c, pop_event(where), KEYARG(c, j), k, l);
}

static void cmd_blpop(client *c) { bpop_generic(c, LIST_HEAD); }
static void cmd_brpop(client *c) { bpop_generic(c, LIST_TAIL); }

static void blmove_generic(client *c, int from, int to, int ti) {
    long long timeout;
    if (!timeout_or_reply(c, ti, &timeout)) return;
    rkey *k;
    list *l;
    if (blocking_is_retry(c)) {
        if (!ready_list(c, 1, 1, &k, &l)) {
            block_for_keys(c, NULL, 0, 0, 0);
            return;
        }
    } else {
        if (!lookup_or_reply(c, 1, 1, &k, &l)) return;
        if (!l) {
            if (c->flags & (CLIENT_EXECUTING_EXEC | CLIENT_SCRIPT)) reply_null(&c->out);
            else block_for_keys(c, &c->argv[1], 1, timeout, 0);
            return;
        }
    }
    propagate_as_move(c, from, to, c->argc == 4); /* BRPOPLPUSH has 4 arguments, BLMOVE 6 */
    move_one(c, k, l, from, to);
}

static void cmd_blmove(client *c) {
    int from, to;
    if (!where_or_reply(c, 3, &from) || !where_or_reply(c, 4, &to)) return;
    blmove_generic(c, from, to, 5);
}

static void cmd_brpoplpush(client *c) { blmove_generic(c, LIST_TAIL, LIST_HEAD, 3); }

static void cmd_blmpop(client *c) {
    mpop_args a;
    long long timeout;
    if (!mpop_parse_or_reply(c, 2, &a) || !timeout_or_reply(c, 1, &timeout)) return;
    if (blocking_is_retry(c)) {
        rkey *k;
        list *l;
        int j = ready_list(c, a.first, (int)a.numkeys, &k, &l);
        if (!j) block_for_keys(c, NULL, 0, 0, 0);
        else mpop_reply(c, j, k, l, a.where, a.count);
        return;
    }
    if (!mpop_first(c, &a)) block_or_null(c, a.first, (int)a.numkeys, timeout);
}

/* ---------------------------------------------------------------- the table */

const command_binding list_commands[] = {
    CMD("lpush", cmd_lpush),
    CMD("rpush", cmd_rpush),
    CMD("lpushx", cmd_lpushx),
    CMD("rpushx", cmd_rpushx),
    CMD("linsert", cmd_linsert),
    CMD("llen", cmd_llen),
    CMD("lindex", cmd_lindex),
    CMD("lrange", cmd_lrange),
    CMD("lpos", cmd_lpos),
    CMD("lset", cmd_lset),
    CMD("lrem", cmd_lrem),
    CMD("ltrim", cmd_ltrim),
    CMD("lpop", cmd_lpop),
    CMD("rpop", cmd_rpop),
    CMD("lmove", cmd_lmove),
    CMD("rpoplpush", cmd_rpoplpush),
    CMD("lmpop", cmd_lmpop),
    CMD("blpop", cmd_blpop),
    CMD("brpop", cmd_brpop),
    CMD("blmove", cmd_blmove),
    CMD("brpoplpush", cmd_brpoplpush),
    CMD("blmpop", cmd_blmpop),
    {0},
};
