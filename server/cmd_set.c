/* cmd_set.c: the set commands (SADD ... SSCAN) over storage/t_set.h, with Redis 7.0's
 * replies, error texts and encoding rules. A new set takes the encoding of its first
 * member (setTypeCreate); results that are stored or replied as a built set (SUNION,
 * SDIFF, SINTERSTORE, SPOP of the whole set) are built as Redis builds them,
 * from an empty intset, so an all-integer result lists in ascending order as Redis's
 * does. SINTER replies in the order of its smallest set (ties keep argument order: a
 * stable sort, as glibc's qsort). SDIFF picks Redis's algorithm by the same cost
 * estimate, since the two can leave the result in different encodings. A set whose last
 * member goes is deleted with its key; the *STORE commands replace any type. SPOP is
 * propagated as Redis 7.0 does: SREM of the member, SREMs of up to 1024 members for a
 * count, DEL when it takes the whole set. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/dict.h"
#include "storage/lenc.h"
#include "storage/t_set.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len
#define ARG(c, i)    (c)->argv[i].ptr, (c)->argv[i].len

/* SPOP's strategy switch (Redis's SPOP_MOVE_STRATEGY_MUL) and SRANDMEMBER's. */
#define SPOP_MOVE_STRATEGY_MUL       5
#define SRANDMEMBER_SUB_STRATEGY_MUL 3
/* Members per SREM when SPOP with a count is propagated (Redis's batch). */
#define SPOP_PROPAGATE_BATCH         1024

/* Look up argv[i]: returns 1 with *sp the set (NULL if absent); replies WRONGTYPE and
 * returns 0 if the key holds another type. */
static int set_lookup_or_reply(client *c, int i, int write, rkey **kp, set **sp) {
    rkey *k = write ? db_lookup_write(c->db, KEYARG(c, i)) : db_lookup_read(c->db, KEYARG(c, i));
    if (kp) *kp = k;
    *sp = NULL;
    if (!k) return 1;
    if (rkey_type(k) != OBJ_SET) {
        reply_wrongtype(c);
        return 0;
    }
    *sp = rkey_ptr(k);
    return 1;
}

/* After a change to the set of key argv[i]: store the (possibly moved) set back, delete
 * the key if the set is empty, tell the db (WATCH, memory). */
static void set_changed(client *c, int i, rkey *k, set *s) {
    rkey_set_ptr(k, s);
    if (set_card(s) == 0) {
        db_delete(c->db, KEYARG(c, i));
        notify_arg(c, NOTIFY_GENERIC, "del", i);
    } else {
        db_touch(c->db, k);
    }
}

/* Members copied out of a set (an intset's are formatted), indexable. */
typedef struct mlist {
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t n, ncap;
} mlist;

static void mlist_add(void *priv, const char *m, size_t len) {
    mlist *l = priv;
    if (l->len + len + LENC_MAX > l->cap) {
        l->cap = (l->len + len + LENC_MAX) * 2;
        l->buf = xrealloc(l->buf, l->cap);
    }
    if (l->n == l->ncap) {
        l->ncap = l->ncap ? l->ncap * 2 : 16;
        l->off = xrealloc(l->off, l->ncap * sizeof(size_t));
    }
    l->off[l->n++] = l->len;
    l->len += lenc_put((unsigned char *)l->buf + l->len, len);
    memcpy(l->buf + l->len, m, len);
    l->len += len;
}

static const char *mlist_get(const mlist *l, size_t i, size_t *len) {
    const unsigned char *p = (const unsigned char *)l->buf + l->off[i];
    return (const char *)p + lenc_get(p, len);
}

static void mlist_free(mlist *l) {
    free(l->buf);
    free(l->off);
}

static void reply_member(void *priv, const char *m, size_t len) { reply_bulk(&((client *)priv)->out, m, len); }

/* ---- single-set commands ---- */

static void cmd_sadd(client *c) {
    rkey *k;
    set *s;
    if (!set_lookup_or_reply(c, 1, 1, &k, &s)) return;
    if (!s) {
        s = set_new_for(ARG(c, 2));
        k = db_add_ptr(c->db, KEYARG(c, 1), OBJ_SET, s);
    }
    long long added = 0;
    for (int i = 2; i < c->argc; i++) added += set_add(&s, ARG(c, i));
    rkey_set_ptr(k, s);
    if (added) db_touch(c->db, k);
    if (added) notify_arg(c, NOTIFY_SET, "sadd", 1);
    reply_int(&c->out, added);
}

static void cmd_srem(client *c) {
    rkey *k;
    set *s;
    if (!set_lookup_or_reply(c, 1, 1, &k, &s)) return;
    long long removed = 0;
    for (int i = 2; s && i < c->argc && set_card(s) > 0; i++) removed += set_remove(&s, ARG(c, i));
    if (removed) notify_arg(c, NOTIFY_SET, "srem", 1);
    if (removed) set_changed(c, 1, k, s);
    reply_int(&c->out, removed);
}

static void cmd_scard(client *c) {
    set *s;
    if (!set_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    reply_int(&c->out, s ? (long long)set_card(s) : 0);
}

static void cmd_sismember(client *c) {
    set *s;
    if (!set_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    reply_int(&c->out, s && set_ismember(s, ARG(c, 2)));
}

static void cmd_smismember(client *c) {
    set *s;
    if (!set_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) reply_int(&c->out, s && set_ismember(s, ARG(c, i)));
}

static void cmd_smembers(client *c) {
    set *s;
    if (!set_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    reply_set(&c->out, s ? (long)set_card(s) : 0);
    if (s) set_foreach(s, reply_member, c);
}

static void cmd_smove(client *c) {
    rkey *ks = db_lookup_write(c->db, KEYARG(c, 1));
    rkey *kd = db_lookup_write(c->db, KEYARG(c, 2));
    if (!ks) {
        reply_int(&c->out, 0);
        return;
    }
    if (rkey_type(ks) != OBJ_SET || (kd && rkey_type(kd) != OBJ_SET)) {
        reply_wrongtype(c);
        return;
    }
    set *src = rkey_ptr(ks);
    if (ks == kd) {
        reply_int(&c->out, set_ismember(src, ARG(c, 3)));
        return;
    }
    if (!set_remove(&src, ARG(c, 3))) {
        reply_int(&c->out, 0);
        return;
    }
    notify_arg(c, NOTIFY_SET, "srem", 1);
    set_changed(c, 1, ks, src);
    kd = db_lookup_write(c->db, KEYARG(c, 2));
    set *dst;
    if (!kd) {
        dst = set_new_for(ARG(c, 3));
        kd = db_add_ptr(c->db, KEYARG(c, 2), OBJ_SET, dst);
    } else {
        dst = rkey_ptr(kd);
    }
    int added = set_add(&dst, ARG(c, 3));
    rkey_set_ptr(kd, dst);
    db_touch(c->db, kd);
    if (added) notify_arg(c, NOTIFY_SET, "sadd", 2);
    reply_int(&c->out, 1);
}

/* ---- SUNION / SDIFF / SINTER ---- */

enum { SET_OP_UNION, SET_OP_DIFF };

/* Look up nkeys keys from argv[first] (read lookups even when storing, as Redis 7.0:
 * they count keyspace hits and misses, and publish keymiss): 1 with sets[] filled (NULL
 * for absent keys), or 0 after replying WRONGTYPE. */
static int sets_lookup_or_reply(client *c, int first, int nkeys, set **sets) {
    for (int j = 0; j < nkeys; j++)
        if (!set_lookup_or_reply(c, first + j, 0, NULL, &sets[j])) return 0;
    return 1;
}

/* Store result (owned) under argv[dst], replacing any value, and reply its size; an
 * empty result deletes the key instead and replies 0. */
static void set_store_reply(client *c, int dsti, set *result) {
    size_t n = set_card(result);
    if (n > 0) {
        db_set_ptr(c->db, KEYARG(c, dsti), OBJ_SET, result);
        notify_arg(c, NOTIFY_SET, c->cmd->name, dsti); /* "sinterstore", ... */
    } else {
        set_free(result);
        if (db_delete(c->db, KEYARG(c, dsti))) notify_arg(c, NOTIFY_GENERIC, "del", dsti);
    }
    reply_int(&c->out, (long long)n);
}

static void reply_whole_set(client *c, set *s) {
    reply_set(&c->out, (long)set_card(s));
    set_foreach(s, reply_member, c);
}

typedef struct set_acc {
    set **dst;
    int remove;
} set_acc;

static void acc_member(void *priv, const char *m, size_t len) {
    set_acc *a = priv;
    if (a->remove) set_remove(a->dst, m, len);
    else set_add(a->dst, m, len);
}

typedef struct diff_state {
    set **sets;
    int n;
    set **dst;
} diff_state;

static void diff_member(void *priv, const char *m, size_t len) {
    diff_state *d = priv;
    for (int j = 1; j < d->n; j++) {
        if (!d->sets[j]) continue;
        if (d->sets[j] == d->sets[0] || set_ismember(d->sets[j], m, len)) return;
    }
    set_add(d->dst, m, len);
}

static int cmp_card_desc(const void *a, const void *b) {
    size_t x = *(set *const *)a ? set_card(*(set *const *)a) : 0, y = *(set *const *)b ? set_card(*(set *const *)b) : 0;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* SUNION/SDIFF[STORE] over nkeys keys from argv[first]; dsti is the destination's index
 * or 0. As Redis's sunionDiffGenericCommand. */
static void sunion_diff_generic(client *c, int first, int nkeys, int dsti, int op) {
    set **sets = xmalloc(sizeof(set *) * (size_t)nkeys);
    if (!sets_lookup_or_reply(c, first, nkeys, sets)) {
        free(sets);
        return;
    }
    set *result = set_new_intset();
    if (op == SET_OP_UNION) {
        set_acc a = {&result, 0};
        for (int j = 0; j < nkeys; j++)
            if (sets[j]) set_foreach(sets[j], acc_member, &a);
    } else if (sets[0]) {
        long long work1 = 0, work2 = 0;
        for (int j = 0; j < nkeys; j++) {
            if (!sets[j]) continue;
            work1 += (long long)set_card(sets[0]);
            work2 += (long long)set_card(sets[j]);
        }
        work1 /= 2;
        if (work1 <= work2) {
            /* Redis's algorithm 1: each member of the first set against the others,
             * the largest first. Stable insertion sort, as glibc's qsort. */
            for (int i = 2; i < nkeys; i++)
                for (int j = i; j > 1 && cmp_card_desc(&sets[j - 1], &sets[j]) > 0; j--) {
                    set *t = sets[j];
                    sets[j] = sets[j - 1];
                    sets[j - 1] = t;
                }
            diff_state d = {sets, nkeys, &result};
            set_foreach(sets[0], diff_member, &d);
        } else {
            /* Algorithm 2: add the first set, remove the others. */
            set_acc a = {&result, 0};
            set_foreach(sets[0], acc_member, &a);
            a.remove = 1;
            for (int j = 1; j < nkeys && set_card(result) > 0; j++)
                if (sets[j]) set_foreach(sets[j], acc_member, &a);
        }
    }
    free(sets);
    if (dsti) {
        set_store_reply(c, dsti, result);
        return;
    }
    reply_whole_set(c, result);
    set_free(result);
}

typedef struct inter_state {
    set **sets;
    int n;
    mlist out;             /* reply mode */
    set **dst;             /* store mode */
    long long card, limit; /* cardinality mode (dst NULL, count_only) */
    int count_only, done;
} inter_state;

static void inter_member(void *priv, const char *m, size_t len) {
    inter_state *st = priv;
    if (st->done) return;
    for (int j = 1; j < st->n; j++) {
        if (st->sets[j] == st->sets[0]) continue;
        if (!set_ismember(st->sets[j], m, len)) return;
    }
    if (st->count_only) {
        st->card++;
        if (st->limit && st->card >= st->limit) st->done = 1;
    } else if (st->dst) {
        set_add(st->dst, m, len);
    } else {
        mlist_add(&st->out, m, len);
    }
}

/* SINTER/SINTERSTORE/SINTERCARD, as Redis's sinterGenericCommand. */
static void sinter_generic(client *c, int first, int nkeys, int dsti, int count_only, long long limit) {
    set **sets = xmalloc(sizeof(set *) * (size_t)nkeys);
    int empty = 0;
    for (int j = 0; j < nkeys; j++) {
        if (!set_lookup_or_reply(c, first + j, 0, NULL, &sets[j])) {
            free(sets);
            return;
        }
        if (!sets[j]) empty++;
    }
    if (empty) {
        free(sets);
        if (dsti) {
            if (db_delete(c->db, KEYARG(c, dsti))) notify_arg(c, NOTIFY_GENERIC, "del", dsti);
            reply_int(&c->out, 0);
        } else if (count_only) {
            reply_int(&c->out, 0);
        } else {
            reply_set(&c->out, 0);
        }
        return;
    }
    /* Smallest first; stable for equal sizes. */
    for (int i = 1; i < nkeys; i++)
        for (int j = i; j > 0 && set_card(sets[j - 1]) > set_card(sets[j]); j--) {
            set *t = sets[j];
            sets[j] = sets[j - 1];
            sets[j - 1] = t;
        }
    set *result = dsti ? set_new_intset() : NULL;
    inter_state st = {.sets = sets, .n = nkeys, .dst = dsti ? &result : NULL, .limit = limit, .count_only = count_only};
    set_foreach(sets[0], inter_member, &st);
    free(sets);
    if (dsti) {
        set_store_reply(c, dsti, result);
    } else if (count_only) {
        reply_int(&c->out, st.card);
    } else {
        reply_set(&c->out, (long)st.out.n);
        for (size_t i = 0; i < st.out.n; i++) {
            size_t len;
            const char *m = mlist_get(&st.out, i, &len);
            reply_bulk(&c->out, m, len);
        }
        mlist_free(&st.out);
    }
}

static void cmd_sunion(client *c) { sunion_diff_generic(c, 1, c->argc - 1, 0, SET_OP_UNION); }
static void cmd_sunionstore(client *c) { sunion_diff_generic(c, 2, c->argc - 2, 1, SET_OP_UNION); }
static void cmd_sdiff(client *c) { sunion_diff_generic(c, 1, c->argc - 1, 0, SET_OP_DIFF); }
static void cmd_sdiffstore(client *c) { sunion_diff_generic(c, 2, c->argc - 2, 1, SET_OP_DIFF); }
static void cmd_sinter(client *c) { sinter_generic(c, 1, c->argc - 1, 0, 0, 0); }
static void cmd_sinterstore(client *c) { sinter_generic(c, 2, c->argc - 2, 1, 0, 0); }

static void cmd_sintercard(client *c) {
    long long numkeys, limit = 0;
    if (!arg_ll_or_reply_msg(c, 1, &numkeys, "numkeys should be greater than 0")) return;
    if (numkeys < 1) {
        reply_error(&c->out, "numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(&c->out, "Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_is(c, j, "limit") && j + 1 < c->argc) {
            j++;
            if (!arg_ll_or_reply_msg(c, j, &limit, "LIMIT can't be negative")) return;
            if (limit < 0) {
                reply_error(&c->out, "LIMIT can't be negative");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    sinter_generic(c, 2, (int)numkeys, 0, 1, limit);
}

/* ---- random members ---- */

/* A count argument in [-LONG_MAX, LONG_MAX] (getRangeLongFromObjectOrReply). */
static int count_arg_or_reply(client *c, int i, long long *out) {
    if (!arg_ll_or_reply(c, i, out)) return 0;
    if (*out < -LLONG_MAX) {
        reply_errorf(&c->out, "value is out of range, value must between %lld and %lld", -LLONG_MAX, LLONG_MAX);
        return 0;
    }
    return 1;
}

static void srandmember_count(client *c, long long count) {
    set *s;
    if (!set_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    if (!s || count == 0) {
        reply_array(&c->out, 0);
        return;
    }
    size_t size = set_card(s);
    char buf[SET_MEMBER_BUF];
    if (count < 0 || count == 1) {
        /* With repeats (a negative count), or the one-member case. */
        unsigned long long n = count < 0 ? (unsigned long long)-count : 1;
        reply_array(&c->out, (long)n);
        if (set_encoding(s) == SET_HASHTABLE) {
            for (unsigned long long i = 0; i < n; i++) {
                const char *m;
                size_t len;
                set_random(s, buf, &m, &len);
                reply_bulk(&c->out, m, len);
            }
            return;
        }
        mlist all = {0};
        set_foreach(s, mlist_add, &all);
        for (unsigned long long i = 0; i < n; i++) {
            size_t len;
            const char *m = mlist_get(&all, dict_random() % all.n, &len);
            reply_bulk(&c->out, m, len);
        }
        mlist_free(&all);
        return;
    }
    if ((unsigned long long)count >= size) {
        reply_array(&c->out, (long)size);
        set_foreach(s, reply_member, c);
        return;
    }
    reply_array(&c->out, (long)count);
    if ((unsigned long long)count * SRANDMEMBER_SUB_STRATEGY_MUL > size || set_encoding(s) == SET_INTSET ||
        set_converting(s)) { /* an intset's members are formatted: no pointer to tell apart */
        mlist all = {0};
        set_foreach(s, mlist_add, &all);
        for (long long i = 0; i < count; i++) {
            size_t j = (size_t)i + dict_random() % (all.n - (size_t)i), t = all.off[i], len;
            all.off[i] = all.off[j];
            all.off[j] = t;
            const char *m = mlist_get(&all, (size_t)i, &len);
            reply_bulk(&c->out, m, len);
        }
        mlist_free(&all);
        return;
    }
    /* Few members of a big table: sample until count distinct ones came up. */
    size_t cap = 16;
    while (cap < (size_t)count * 2) cap <<= 1;
    const char **seen = xcalloc(cap, sizeof(char *));
    for (long long got = 0; got < count;) {
        const char *m;
        size_t len;
        set_random(s, buf, &m, &len);
        size_t i = (size_t)(((uintptr_t)m >> 3) * 0x9E3779B97F4A7C15ULL) & (cap - 1);
        while (seen[i] && seen[i] != m) i = (i + 1) & (cap - 1);
        if (seen[i]) continue;
        seen[i] = m;
        reply_bulk(&c->out, m, len);
        got++;
    }
    free(seen);
}

static void cmd_srandmember(client *c) {
    if (c->argc == 3) {
        long long count;
        if (count_arg_or_reply(c, 2, &count)) srandmember_count(c, count);
        return;
    }
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    set *s;
    if (!set_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    if (!s) {
        reply_null(&c->out);
        return;
    }
    char buf[SET_MEMBER_BUF];
    const char *m;
    size_t len;
    set_random(s, buf, &m, &len);
    reply_bulk(&c->out, m, len);
}

/* SPOP with a count smaller than the set, few to pop: take them one at a time. */
static void spop_each(set **s, long long count, mlist *popped) {
    char buf[SET_MEMBER_BUF];
    for (long long i = 0; i < count; i++) {
        const char *m;
        size_t len;
        set_random(*s, buf, &m, &len);
        mlist_add(popped, m, len);
        m = mlist_get(popped, popped->n - 1, &len);
        set_remove(s, m, len);
    }
}

/* Most of the set goes: keep `remaining` random members in a new set (Redis's case 3,
 * which builds it from its first member: an intset if that is an integer). */
static void spop_keep(set **s, size_t remaining, mlist *popped) {
    mlist all = {0};
    set_foreach(*s, mlist_add, &all);
    for (size_t i = 0; i < remaining; i++) {
        size_t j = i + dict_random() % (all.n - i), t = all.off[i];
        all.off[i] = all.off[j];
        all.off[j] = t;
    }
    set *kept = NULL;
    for (size_t i = 0; i < all.n; i++) {
        size_t len;
        const char *m = mlist_get(&all, i, &len);
        if (i >= remaining) {
            mlist_add(popped, m, len);
        } else {
            if (!kept) kept = set_new_for(m, len);
            set_add(&kept, m, len);
        }
    }
    mlist_free(&all);
    set_free(*s);
    *s = kept;
}

/* SPOP with a count is replayed as SREMs of what it popped, in batches (as Redis). */
static void spop_propagate(client *c, const mlist *popped) {
    resp_slice *v = xmalloc(sizeof(resp_slice) * (SPOP_PROPAGATE_BATCH + 2));
    v[0] = PROP_STR("SREM");
    v[1] = c->argv[1];
    for (size_t i = 0; i < popped->n;) {
        int n = 2;
        for (; n < SPOP_PROPAGATE_BATCH + 2 && i < popped->n; n++, i++) {
            size_t len;
            const char *m = mlist_get(popped, i, &len);
            v[n] = (resp_slice){(char *)m, len};
        }
        propagate_add(db_id(c->db), n, v);
    }
    free(v);
    propagate_prevent(c);
}

static void spop_count(client *c, long long count) {
    rkey *k;
    set *s;
    if (!set_lookup_or_reply(c, 1, 1, &k, &s)) return;
    if (!s || count == 0) {
        reply_set(&c->out, 0);
        return;
    }
    size_t size = set_card(s);
    notify_arg(c, NOTIFY_SET, "spop", 1);
    if ((unsigned long long)count >= size) {
        sunion_diff_generic(c, 1, 1, 0, SET_OP_UNION);
        db_delete(c->db, KEYARG(c, 1));
        notify_arg(c, NOTIFY_GENERIC, "del", 1);
        if (propagate_wanted()) {
            resp_slice v[2] = {PROP_STR("DEL"), c->argv[1]};
            propagate_replace(c, 2, v);
        }
        return;
    }
    size_t remaining = size - (size_t)count;
    mlist popped = {0};
    if (remaining * SPOP_MOVE_STRATEGY_MUL > (size_t)count) spop_each(&s, count, &popped);
    else spop_keep(&s, remaining, &popped);
    reply_set(&c->out, (long)popped.n);
    for (size_t i = 0; i < popped.n; i++) {
        size_t len;
        const char *m = mlist_get(&popped, i, &len);
        reply_bulk(&c->out, m, len);
    }
    if (propagate_wanted()) spop_propagate(c, &popped);
    mlist_free(&popped);
    set_changed(c, 1, k, s);
}

static void cmd_spop(client *c) {
    if (c->argc == 3) {
        long long count;
        if (!arg_ll_or_reply_msg(c, 2, &count, "value is out of range, must be positive")) return;
        if (count < 0) {
            reply_error(&c->out, "value is out of range, must be positive");
            return;
        }
        spop_count(c, count);
        return;
    }
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    rkey *k;
    set *s;
    if (!set_lookup_or_reply(c, 1, 1, &k, &s)) return;
    if (!s) {
        reply_null(&c->out);
        return;
    }
    char buf[SET_MEMBER_BUF];
    const char *m;
    size_t len;
    set_random(s, buf, &m, &len);
    reply_bulk(&c->out, m, len);
    char small[64], *copy = len <= sizeof small ? small : xmalloc(len);
    memcpy(copy, m, len);
    set_remove(&s, copy, len);
    if (propagate_wanted()) {
        resp_slice v[3] = {PROP_STR("SREM"), c->argv[1], {copy, len}};
        propagate_replace(c, 3, v);
    }
    if (copy != small) free(copy);
    notify_arg(c, NOTIFY_SET, "spop", 1);
    set_changed(c, 1, k, s);
}

/* ---- SSCAN ---- */

static void cmd_sscan(client *c) {
    unsigned long cursor;
    long long count;
    const char *pat;
    size_t patlen;
    set *s;
    if (!scan_parse_cursor(c, 2, &cursor)) return;
    if (!set_lookup_or_reply(c, 1, 0, NULL, &s)) return;
    if (!s) {
        scan_reply_empty(c);
        return;
    }
    if (!scan_collection_options_or_reply(c, 3, &count, &pat, &patlen)) return;
    mlist items = {0};
    unsigned long long maxiter = (unsigned long long)count * 10;
    do {
        cursor = set_scan(s, cursor, mlist_add, &items);
    } while (cursor && maxiter-- && items.n < (unsigned long long)count);
    size_t keep = 0;
    for (size_t i = 0; i < items.n; i++) {
        size_t len;
        const char *m = mlist_get(&items, i, &len);
        if (!pat || util_stringmatch(pat, patlen, m, len, 0)) items.off[keep++] = items.off[i];
    }
    reply_array(&c->out, 2);
    reply_bulk_ll(&c->out, (long long)cursor);
    reply_array(&c->out, (long)keep);
    for (size_t i = 0; i < keep; i++) {
        size_t len;
        const char *m = mlist_get(&items, i, &len);
        reply_bulk(&c->out, m, len);
    }
    mlist_free(&items);
}

/* ---------------------------------------------------------------- the table */

const command_binding set_commands[] = {
    CMD("sadd", cmd_sadd),
    CMD("srem", cmd_srem),
    CMD("scard", cmd_scard),
    CMD("sismember", cmd_sismember),
    CMD("smismember", cmd_smismember),
    CMD("smembers", cmd_smembers),
    CMD("srandmember", cmd_srandmember),
    CMD("spop", cmd_spop),
    CMD("smove", cmd_smove),
    CMD("sinter", cmd_sinter),
    CMD("sintercard", cmd_sintercard),
    CMD("sinterstore", cmd_sinterstore),
    CMD("sunion", cmd_sunion),
    CMD("sunionstore", cmd_sunionstore),
    CMD("sdiff", cmd_sdiff),
    CMD("sdiffstore", cmd_sdiffstore),
    CMD("sscan", cmd_sscan),
    {0},
};
