/* cmd_string.c: the string commands (GET, SET and its variants, GETEX, MGET/MSET,
 * APPEND, GETRANGE/SETRANGE, INCR & co, INCRBYFLOAT, LCS) with Redis 7.0's semantics,
 * replies and error texts.
 *
 * SET and GETEX share one option parser (string_parse_options) and one expiry
 * converter (string_expire_ms), as Redis's parseExtendedStringArgumentsOrReply and
 * getExpireMillisecondsOrReply: options are validated first (syntax errors), then the
 * expiry value (integer and range errors), then the key is looked at. Expiry times are
 * absolute milliseconds computed from storage_now_ms, the command's time snapshot.
 *
 * Hot paths (GET, SET without options, INCR) do one lookup plus one store and never
 * copy the value: replies are encoded straight from the record or the argument. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/notify.h"
#include "server/server.h"

/* A key argument as the (pointer, length) pair db_* functions take. */
#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

/* SET / GETEX option flags. */
#define SO_NX      (1 << 0)
#define SO_XX      (1 << 1)
#define SO_GET     (1 << 2)
#define SO_KEEPTTL (1 << 3)
#define SO_PERSIST (1 << 4)
#define SO_EX      (1 << 5)
#define SO_PX      (1 << 6)
#define SO_EXAT    (1 << 7)
#define SO_PXAT    (1 << 8)
#define SO_EXPIRE  (SO_EX | SO_PX | SO_EXAT | SO_PXAT)

#define FOR_SET   1
#define FOR_GETEX 2

/* Each option: the commands that accept it, the flags it may not follow, and whether it
 * takes a value. Repeating an option is allowed (the last value wins), as in Redis. */
static const struct string_option {
    const char *name;
    int flag, cmds, conflicts, takes_value;
} string_options[] = {
    {"nx", SO_NX, FOR_SET, SO_XX, 0},
    {"xx", SO_XX, FOR_SET, SO_NX, 0},
    {"get", SO_GET, FOR_SET, 0, 0},
    {"keepttl", SO_KEEPTTL, FOR_SET, SO_PERSIST | SO_EXPIRE, 0},
    {"persist", SO_PERSIST, FOR_GETEX, SO_KEEPTTL | SO_EXPIRE, 0},
    {"ex", SO_EX, FOR_SET | FOR_GETEX, SO_KEEPTTL | SO_PERSIST | (SO_EXPIRE & ~SO_EX), 1},
    {"px", SO_PX, FOR_SET | FOR_GETEX, SO_KEEPTTL | SO_PERSIST | (SO_EXPIRE & ~SO_PX), 1},
    {"exat", SO_EXAT, FOR_SET | FOR_GETEX, SO_KEEPTTL | SO_PERSIST | (SO_EXPIRE & ~SO_EXAT), 1},
    {"pxat", SO_PXAT, FOR_SET | FOR_GETEX, SO_KEEPTTL | SO_PERSIST | (SO_EXPIRE & ~SO_PXAT), 1},
};

/* Parse SET (cmd FOR_SET, options from argv[3]) or GETEX (FOR_GETEX, from argv[2])
 * options into *flags; *exp_arg gets the index of the expiry value (0 if none).
 * Returns 1, or replies "syntax error" and returns 0. */
static int string_parse_options(client *c, int cmd, int *flags, int *exp_arg) {
    int f = 0;
    *exp_arg = 0;
    for (int j = cmd == FOR_SET ? 3 : 2; j < c->argc; j++) {
        const struct string_option *o = NULL;
        for (size_t i = 0; i < sizeof string_options / sizeof *string_options; i++) {
            if (util_eqi(c->argv[j].ptr, c->argv[j].len, string_options[i].name)) {
                o = &string_options[i];
                break;
            }
        }
        if (!o || !(o->cmds & cmd) || (f & o->conflicts) || (o->takes_value && j + 1 >= c->argc)) {
            reply_syntax_error(c);
            return 0;
        }
        f |= o->flag;
        if (o->takes_value) *exp_arg = ++j;
    }
    *flags = f;
    return 1;
}

/* Reply "invalid expire time in '<command>' command"; always returns 0. */
static int string_bad_expire(client *c) {
    reply_errorf(&c->out, "invalid expire time in '%s' command", c->cmd->name);
    return 0;
}

/* Convert argv[i], the value of the EX/PX/EXAT/PXAT option in flags, to an absolute
 * expiry time in ms (Redis's getExpireMillisecondsOrReply: the value must be > 0 and
 * the result must not overflow). Returns 1, or replies and returns 0. */
static int string_expire_ms(client *c, int i, int flags, long long *when) {
    long long v;
    int seconds = (flags & (SO_EX | SO_EXAT)) != 0;

    if (!arg_ll_or_reply(c, i, &v)) return 0;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) return string_bad_expire(c);
    if (seconds) v *= 1000;
    if (flags & (SO_EX | SO_PX)) {
        if (storage_now_ms > 0 && v > LLONG_MAX - storage_now_ms) return string_bad_expire(c);
        v += storage_now_ms;
    }
    *when = v;
    return 1;
}

/* Reply with a string record's value as a bulk. */
static void reply_string_value(client *c, const rkey *k) {
    char tmp[UTIL_LLSTR_SIZE];
    size_t n;
    const char *p = rkey_str(k, &n, tmp);
    reply_bulk(&c->out, p, n);
}

/* Reply with argv[1]'s string value, or null if absent (Redis's getGenericCommand).
 * Returns 0 after replying WRONGTYPE, 1 otherwise. */
static int string_reply_get(client *c) {
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    if (!k) {
        reply_null(&c->out);
        return 1;
    }
    if (rkey_type(k) != OBJ_STRING) {
        reply_wrongtype(c);
        return 0;
    }
    reply_string_value(c, k);
    return 1;
}

/* Look up argv[1] for writing; *k is NULL if absent. Returns 0 after replying
 * WRONGTYPE if the key holds another type. */
static int string_lookup_write(client *c, rkey **k) {
    *k = db_lookup_write(c->db, KEYARG(c, 1));
    if (*k && rkey_type(*k) != OBJ_STRING) {
        reply_wrongtype(c);
        return 0;
    }
    return 1;
}

/* Redis's checkStringLength: would size + add bytes exceed proto-max-bulk-len?
 * Returns 1 if it fits, or replies and returns 0. */
static int string_check_length(client *c, long long size, long long add) {
    long long max = server.cfg.proto_max_bulk_len > 0 ? server.cfg.proto_max_bulk_len : DB_STRING_MAX;
    if ((unsigned long long)size + (unsigned long long)add > (unsigned long long)max) {
        reply_error(&c->out, "string exceeds maximum allowed size (proto-max-bulk-len)");
        return 0;
    }
    return 1;
}

/* How a SET that stored its value is replayed, as Redis 7.0: with an expiry, as
 * SET key value PXAT <ms> (SETEX and PSETEX too); otherwise without its GET options. */
__attribute__((noinline)) static void string_set_propagate(client *c, int flags, int vi, long long when) {
    if (flags & SO_EXPIRE) {
        char ms[UTIL_LLSTR_SIZE];
        resp_slice v[5] = {PROP_STR("SET"), c->argv[1], c->argv[vi], PROP_STR("PXAT"), {ms, 0}};
        v[4].len = (size_t)util_ll2str(ms, when);
        propagate_replace(c, 5, v);
    } else if (flags & SO_GET) {
        resp_slice *v = xmalloc(sizeof(*v) * (size_t)c->argc);
        int n = 0;
        for (int j = 0; j < c->argc; j++)
            if (j < 3 || !arg_is(c, j, "get")) v[n++] = c->argv[j];
        propagate_replace(c, n, v);
        free(v);
    }
}

/* The core of SET, SETEX, PSETEX and SETNX (Redis's setGenericCommand): store argv[vi]
 * under argv[1] as the option flags say; when is the absolute expiry (ms) if flags
 * carry one. intreply: answer :1/:0 (SETNX) instead of +OK/null. */
__attribute__((always_inline)) static inline void string_set(client *c, int flags, int vi, long long when,
                                                             int intreply) {
    if ((flags & SO_GET) && !string_reply_get(c)) return;
    if (flags & (SO_NX | SO_XX | SO_KEEPTTL)) {
        /* The lookup also reclaims an expired key, so KEEPTTL never keeps a dead TTL. */
        int found = db_lookup_write(c->db, KEYARG(c, 1)) != NULL;
        if (((flags & SO_NX) && found) || ((flags & SO_XX) && !found)) {
            if (intreply) reply_int(&c->out, 0);
            else if (!(flags & SO_GET)) reply_null(&c->out);
            return;
        }
    }
    if ((flags & (SO_EXPIRE | SO_GET)) && propagate_wanted()) string_set_propagate(c, flags, vi, when);
    if (flags & SO_EXPIRE) {
        /* Not arg_store_string: adding the TTL rebuilds the record, and a big value's
         * buffer taken over as the record would be freed under argv (SLOWLOG and the
         * propagation stream read argv after the command). */
        rkey *k = db_set_string(c->db, KEYARG(c, 1), c->argv[vi].ptr, c->argv[vi].len, 0);
        notify_arg(c, NOTIFY_STRING, "set", 1);
        db_set_expire(c->db, k, when);
        notify_arg(c, NOTIFY_GENERIC, "expire", 1);
    } else {
        arg_store_string(c, 1, vi, (flags & SO_KEEPTTL) != 0);
        notify_arg(c, NOTIFY_STRING, "set", 1);
    }
    if (intreply) reply_int(&c->out, 1);
    else if (!(flags & SO_GET)) reply_ok(&c->out);
}

static void cmd_get(client *c) { string_reply_get(c); }

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] */
static void cmd_set(client *c) {
    int flags, exp_arg;
    long long when = 0;

    if (!string_parse_options(c, FOR_SET, &flags, &exp_arg)) return;
    if (exp_arg && !string_expire_ms(c, exp_arg, flags, &when)) return;
    string_set(c, flags, 2, when, 0);
}

/* SETEX key seconds value / PSETEX key milliseconds value */
static void string_setex(client *c, int unit_flag) {
    long long when;
    if (!string_expire_ms(c, 2, unit_flag, &when)) return;
    string_set(c, unit_flag, 3, when, 0);
}

static void cmd_setex(client *c) { string_setex(c, SO_EX); }
static void cmd_psetex(client *c) { string_setex(c, SO_PX); }
static void cmd_setnx(client *c) { string_set(c, SO_NX, 2, 0, 1); }

static void cmd_getset(client *c) {
    if (!string_reply_get(c)) return;
    db_set_string(c->db, KEYARG(c, 1), c->argv[2].ptr, c->argv[2].len, 0);
    notify_arg(c, NOTIFY_STRING, "set", 1);
    if (propagate_wanted()) propagate_rewrite_arg(c, 0, "SET", 3);
}

static void cmd_getdel(client *c) {
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    if (!k) {
        reply_null(&c->out);
    } else if (rkey_type(k) != OBJ_STRING) {
        reply_wrongtype(c);
    } else {
        reply_string_value(c, k);
        db_delete(c->db, KEYARG(c, 1));
        notify_arg(c, NOTIFY_GENERIC, "del", 1);
        if (propagate_wanted()) propagate_rewrite_arg(c, 0, "DEL", 3);
    }
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST] */
static void cmd_getex(client *c) {
    int flags, exp_arg;
    long long when = 0;

    if (!string_parse_options(c, FOR_GETEX, &flags, &exp_arg)) return;
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    if (!k) {
        reply_null(&c->out);
        return;
    }
    if (rkey_type(k) != OBJ_STRING) {
        reply_wrongtype(c);
        return;
    }
    if (exp_arg && !string_expire_ms(c, exp_arg, flags, &when)) return;
    reply_string_value(c, k);

    /* Replayed, as in Redis 7.0, as DEL, PEXPIREAT or PERSIST: never as GETEX. */
    char ms[UTIL_LLSTR_SIZE];
    resp_slice v[3] = {PROP_STR("DEL"), c->argv[1], {ms, 0}};
    int n = 2;
    if ((flags & (SO_EXAT | SO_PXAT)) && when <= storage_now_ms) {
        db_delete(c->db, KEYARG(c, 1));
        notify_arg(c, NOTIFY_GENERIC, "del", 1);
    } else if (exp_arg) {
        db_set_expire(c->db, k, when);
        notify_arg(c, NOTIFY_GENERIC, "expire", 1);
        v[0] = PROP_STR("PEXPIREAT");
        v[2].len = (size_t)util_ll2str(ms, when);
        n = 3;
    } else if ((flags & SO_PERSIST) && rkey_expire(k) != -1) {
        db_persist(c->db, k);
        notify_arg(c, NOTIFY_GENERIC, "persist", 1);
        v[0] = PROP_STR("PERSIST");
    } else {
        return;
    }
    if (propagate_wanted()) propagate_replace(c, n, v);
}

static void cmd_mget(client *c) {
    reply_array(&c->out, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        rkey *k = db_lookup_read(c->db, KEYARG(c, j));
        if (k && rkey_type(k) == OBJ_STRING) reply_string_value(c, k);
        else reply_null(&c->out);
    }
}

/* MSET / MSETNX key value [key value ...]: MSETNX sets nothing if any key exists. */
static void string_mset(client *c, int nx) {
    if (c->argc % 2 == 0) {
        reply_arity_error(c);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (db_lookup_write(c->db, KEYARG(c, j))) {
                reply_int(&c->out, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        db_set_string(c->db, KEYARG(c, j), c->argv[j + 1].ptr, c->argv[j + 1].len, 0);
        notify_arg(c, NOTIFY_STRING, "set", j);
    }
    if (nx) reply_int(&c->out, 1);
    else reply_ok(&c->out);
}

static void cmd_mset(client *c) { string_mset(c, 0); }
static void cmd_msetnx(client *c) { string_mset(c, 1); }

static void cmd_append(client *c) {
    rkey *k;
    const resp_slice *add = &c->argv[2];

    if (!string_lookup_write(c, &k)) return;
    if (!k) {
        db_set_string(c->db, KEYARG(c, 1), add->ptr, add->len, 0);
        notify_arg(c, NOTIFY_STRING, "append", 1);
        reply_int(&c->out, (long long)add->len);
        return;
    }
    size_t olen = rkey_strlen(k);
    if (!string_check_length(c, (long long)olen, (long long)add->len)) return;
    /* Even an empty append leaves the value raw, as Redis's dbUnshareStringValue does. */
    char *p = db_string_resize(c->db, &k, olen + add->len);
    memcpy(p + olen, add->ptr, add->len);
    notify_arg(c, NOTIFY_STRING, "append", 1);
    reply_int(&c->out, (long long)(olen + add->len));
}

static void cmd_strlen(client *c) {
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    if (!k) reply_int(&c->out, 0);
    else if (rkey_type(k) != OBJ_STRING) reply_wrongtype(c);
    else reply_int(&c->out, (long long)rkey_strlen(k));
}

/* GETRANGE key start end (and SUBSTR): Redis 7.0's index rules, inclusive end. */
static void cmd_getrange(client *c) {
    long long start, end;
    char tmp[UTIL_LLSTR_SIZE];
    size_t len;

    if (!arg_ll_or_reply(c, 2, &start) || !arg_ll_or_reply(c, 3, &end)) return;
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    if (!k) {
        reply_bulk(&c->out, "", 0);
        return;
    }
    if (rkey_type(k) != OBJ_STRING) {
        reply_wrongtype(c);
        return;
    }
    const char *s = rkey_str(k, &len, tmp);
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(&c->out, "", 0);
        return;
    }
    if (start < 0) start += (long long)len;
    if (end < 0) end += (long long)len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if ((unsigned long long)end >= len) end = (long long)len - 1;
    if (start > end || len == 0) reply_bulk(&c->out, "", 0);
    else reply_bulk(&c->out, s + start, (size_t)(end - start + 1));
}

/* SETRANGE key offset value: zero-pads; returns the new length. */
static void cmd_setrange(client *c) {
    long long offset;
    rkey *k;
    const resp_slice *v = &c->argv[3];

    if (!arg_ll_or_reply(c, 2, &offset)) return;
    if (offset < 0) {
        reply_error(&c->out, "offset is out of range");
        return;
    }
    if (!string_lookup_write(c, &k)) return;
    size_t olen = k ? rkey_strlen(k) : 0;
    if (v->len == 0) {
        reply_int(&c->out, (long long)olen);
        return;
    }
    if (!string_check_length(c, offset, (long long)v->len)) return;
    if (!k) k = db_set_string(c->db, KEYARG(c, 1), "", 0, 0);
    size_t need = (size_t)offset + v->len;
    size_t nlen = need > olen ? need : olen;
    char *p = db_string_resize(c->db, &k, nlen);
    memcpy(p + offset, v->ptr, v->len);
    notify_arg(c, NOTIFY_STRING, "setrange", 1);
    reply_int(&c->out, (long long)nlen);
}

/* INCR/DECR/INCRBY/DECRBY: add incr to argv[1]'s integer value (0 if absent). */
static void string_incr(client *c, long long incr) {
    rkey *k;
    long long v = 0;

    if (!string_lookup_write(c, &k)) return;
    if (k) {
        if (rkey_is_int(k)) {
            v = rkey_int(k);
        } else {
            char tmp[UTIL_LLSTR_SIZE];
            size_t n;
            const char *s = rkey_str(k, &n, tmp);
            if (!util_str2ll(s, n, &v)) {
                reply_error(&c->out, "value is not an integer or out of range");
                return;
            }
        }
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) || (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(&c->out, "increment or decrement would overflow");
        return;
    }
    v += incr;
    db_set_int(c->db, KEYARG(c, 1), v);
    notify_arg(c, NOTIFY_STRING, "incrby", 1);
    reply_int(&c->out, v);
}

static void cmd_incr(client *c) { string_incr(c, 1); }
static void cmd_decr(client *c) { string_incr(c, -1); }

static void cmd_incrby(client *c) {
    long long incr;
    if (arg_ll_or_reply(c, 2, &incr)) string_incr(c, incr);
}

static void cmd_decrby(client *c) {
    long long incr;
    if (!arg_ll_or_reply(c, 2, &incr)) return;
    if (incr == LLONG_MIN) {
        reply_error(&c->out, "decrement would overflow");
        return;
    }
    string_incr(c, -incr);
}

static void cmd_incrbyfloat(client *c) {
    rkey *k;
    long double v = 0, incr;
    char buf[UTIL_LDSTR_SIZE];

    if (!string_lookup_write(c, &k)) return;
    if (k) {
        if (rkey_is_int(k)) {
            v = (long double)rkey_int(k);
        } else {
            char tmp[UTIL_LLSTR_SIZE];
            size_t n;
            const char *s = rkey_str(k, &n, tmp);
            if (!util_str2ld(s, n, &v)) {
                reply_error(&c->out, "value is not a valid float");
                return;
            }
        }
    }
    if (!arg_ld_or_reply(c, 2, &incr)) return;
    v += incr;
    if (isnan(v) || isinf(v)) {
        reply_error(&c->out, "increment would produce NaN or Infinity");
        return;
    }
    int n = util_ld2str(buf, sizeof buf, v);
    db_set_string(c->db, KEYARG(c, 1), buf, (size_t)n, DB_SET_KEEPTTL | DB_SET_NOINT);
    notify_arg(c, NOTIFY_STRING, "incrbyfloat", 1);
    reply_bulk(&c->out, buf, (size_t)n);
    if (propagate_wanted()) {
        /* Replayed as the value it produced, as Redis 7.0: float formatting never differs. */
        resp_slice v[4] = {PROP_STR("SET"), c->argv[1], {buf, (size_t)n}, PROP_STR("KEEPTTL")};
        propagate_replace(c, 4, v);
    }
}

/* ---- LCS ---- */

/* One common run found by the LCS walk: a[a0..a1] == b[b0..b1]. */
typedef struct lcs_range {
    uint32_t a0, a1, b0, b1;
} lcs_range;

/* Fill the (alen+1)*(blen+1) table T[i][j] = LCS length of a[0..i) and b[0..j). */
static void lcs_table(uint32_t *t, const char *a, uint32_t alen, const char *b, uint32_t blen) {
    size_t w = (size_t)blen + 1;
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            uint32_t *cell = &t[i * w + j];
            if (i == 0 || j == 0) *cell = 0;
            else if (a[i - 1] == b[j - 1]) *cell = t[(i - 1) * w + j - 1] + 1;
            else *cell = t[(i - 1) * w + j] > t[i * w + j - 1] ? t[(i - 1) * w + j] : t[i * w + j - 1];
        }
    }
}

/* Walk the table back from the end as Redis's lcsCommand does: write the common
 * subsequence into out (if not NULL) and the runs of at least minlen into ranges (if
 * not NULL; room for len+1 entries), last run first. Returns the number of runs. */
static size_t lcs_walk(const uint32_t *t, const char *a, uint32_t alen, const char *b, uint32_t blen, char *out,
                       lcs_range *ranges, long long minlen) {
    size_t w = (size_t)blen + 1, n = 0;
    uint32_t i = alen, j = blen, idx = t[(size_t)alen * w + blen];
    lcs_range r = {alen, 0, 0, 0}; /* r.a0 == alen: no run open */

    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (out) out[idx - 1] = a[i - 1];
            if (r.a0 == alen) r = (lcs_range){i - 1, i - 1, j - 1, j - 1};
            else if (r.a0 == i && r.b0 == j) r.a0--, r.b0--;
            else emit = 1;
            if (r.a0 == 0 || r.b0 == 0) emit = 1;
            idx--, i--, j--;
        } else {
            if (t[(i - 1) * w + j] > t[i * w + j - 1]) i--;
            else j--;
            if (r.a0 != alen) emit = 1;
        }
        if (emit) {
            if (ranges && (minlen == 0 || r.a1 - r.a0 + 1 >= minlen)) ranges[n++] = r;
            r.a0 = alen;
        }
    }
    return n;
}

/* LCS options. */
typedef struct lcs_opts {
    int getlen, getidx, withlen;
    long long minlen;
} lcs_opts;

/* Parse LCS's options from argv[3] on. Returns 1, or replies and returns 0. */
static int lcs_parse_options(client *c, lcs_opts *o) {
    memset(o, 0, sizeof *o);
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "idx")) {
            o->getidx = 1;
        } else if (arg_is(c, j, "len")) {
            o->getlen = 1;
        } else if (arg_is(c, j, "withmatchlen")) {
            o->withlen = 1;
        } else if (arg_is(c, j, "minmatchlen") && j + 1 < c->argc) {
            if (!arg_ll_or_reply(c, ++j, &o->minlen)) return 0;
            if (o->minlen < 0) o->minlen = 0;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (o->getidx && o->getlen) {
        reply_error(&c->out, "If you want both the length and indexes, please just use IDX.");
        return 0;
    }
    return 1;
}

/* The IDX reply: {matches: [[[a0 a1] [b0 b1] (len)] ...], len: n}, last run first. */
static void lcs_reply_idx(client *c, const uint32_t *t, const char *a, uint32_t alen, const char *b, uint32_t blen,
                          const lcs_opts *o) {
    uint32_t len = t[(size_t)alen * (blen + 1) + blen];
    lcs_range *r = malloc(/* may fail: Redis replies an error (ztrymalloc) */ ((size_t)len + 1) * sizeof *r);
    if (!r) {
        reply_error(&c->out, "Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    size_t n = lcs_walk(t, a, alen, b, blen, NULL, r, o->minlen);
    reply_map(&c->out, 2);
    reply_bulk_cstr(&c->out, "matches");
    reply_array(&c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        reply_array(&c->out, 2 + o->withlen);
        reply_array(&c->out, 2);
        reply_int(&c->out, r[i].a0);
        reply_int(&c->out, r[i].a1);
        reply_array(&c->out, 2);
        reply_int(&c->out, r[i].b0);
        reply_int(&c->out, r[i].b1);
        if (o->withlen) reply_int(&c->out, r[i].a1 - r[i].a0 + 1);
    }
    reply_bulk_cstr(&c->out, "len");
    reply_int(&c->out, len);
    free(r);
}

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: absent keys are empty. */
static void cmd_lcs(client *c) {
    char ta[UTIL_LLSTR_SIZE], tb[UTIL_LLSTR_SIZE];
    size_t alen = 0, blen = 0;
    const char *a = "", *b = "";
    lcs_opts o;

    rkey *ka = db_lookup_read(c->db, KEYARG(c, 1)), *kb = db_lookup_read(c->db, KEYARG(c, 2));
    if ((ka && rkey_type(ka) != OBJ_STRING) || (kb && rkey_type(kb) != OBJ_STRING)) {
        reply_error(&c->out, "The specified keys must contain string values");
        return;
    }
    if (ka) a = rkey_str(ka, &alen, ta);
    if (kb) b = rkey_str(kb, &blen, tb);
    if (!lcs_parse_options(c, &o)) return;
    if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
        reply_error(&c->out, "String too long for LCS");
        return;
    }
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    long long max = server.cfg.proto_max_bulk_len > 0 ? server.cfg.proto_max_bulk_len : DB_STRING_MAX;
    if (cells * sizeof(uint32_t) > (unsigned long long)max) {
        reply_error(&c->out, "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *t = malloc(/* may fail, as above */ cells * sizeof *t);
    if (!t) {
        reply_error(&c->out, "Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    lcs_table(t, a, (uint32_t)alen, b, (uint32_t)blen);
    if (o.getlen) reply_int(&c->out, t[cells - 1]);
    else if (o.getidx) lcs_reply_idx(c, t, a, (uint32_t)alen, b, (uint32_t)blen, &o);
    else lcs_walk(t, a, (uint32_t)alen, b, (uint32_t)blen, reply_bulk_reserve(&c->out, t[cells - 1]), NULL, 0);
    free(t);
}

const command_binding string_commands[] = {
    CMD("get", cmd_get),
    CMD("set", cmd_set),
    CMD("setex", cmd_setex),
    CMD("psetex", cmd_psetex),
    CMD("setnx", cmd_setnx),
    CMD("getset", cmd_getset),
    CMD("getdel", cmd_getdel),
    CMD("getex", cmd_getex),
    CMD("mget", cmd_mget),
    CMD("mset", cmd_mset),
    CMD("msetnx", cmd_msetnx),
    CMD("append", cmd_append),
    CMD("strlen", cmd_strlen),
    CMD("getrange", cmd_getrange),
    CMD("substr", cmd_getrange),
    CMD("setrange", cmd_setrange),
    CMD("incr", cmd_incr),
    CMD("decr", cmd_decr),
    CMD("incrby", cmd_incrby),
    CMD("decrby", cmd_decrby),
    CMD("lcs", cmd_lcs),
    CMD("incrbyfloat", cmd_incrbyfloat),
    {0},
};
