/* cmd_keys.c: the keyspace commands (DEL, EXISTS, TYPE, the EXPIRE family, TTL & co,
 * KEYS, SCAN, RANDOMKEY, RENAME, COPY, DBSIZE, FLUSHDB/FLUSHALL, SELECT, MOVE, SWAPDB,
 * OBJECT, TOUCH) with Redis 7.0's semantics, replies and error texts.
 *
 * EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT share expire_generic (Redis's
 * expireGenericCommand): options first, then the time with overflow checks, then the
 * key; a time already past deletes the key. SCAN follows Redis's scanGenericCommand:
 * db_scan is called until COUNT records were visited (matching or not), the cursor
 * ends, or COUNT*10 steps were made; the visited records are then filtered by MATCH,
 * TYPE and liveness, and matching keys found expired are reclaimed. FLUSHDB, FLUSHALL
 * and SWAPDB are one keyspace event per db (WATCH decides which keys count). TYPE,
 * SCAN's TYPE filter, OBJECT ENCODING and COPY ask the key's value type
 * (storage/type.h): nothing here depends on which types exist. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/xmalloc.h"
#include "server/propagate.h"
#include "server/persist.h"
#include "storage/evict.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/lazyfree.h"
#include "storage/type.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

/* Parse argv[i] as an int as Redis's getIntFromObjectOrReply; msg (or NULL for
 * Redis's defaults) is the error for both a bad number and one out of int range.
 * Returns 1, or replies and returns 0. */
static int arg_int_or_reply(client *c, int i, int *out, const char *msg) {
    long long v;
    if (msg ? !arg_ll_or_reply_msg(c, i, &v, msg) : !arg_ll_or_reply(c, i, &v)) return 0;
    if (v < INT_MIN || v > INT_MAX) {
        if (msg) reply_error(&c->out, msg);
        else reply_errorf(&c->out, "value is out of range, value must between %d and %d", INT_MIN, INT_MAX);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* Parse argv[i] as a db index that must exist (SELECT, MOVE). Returns the db, or
 * replies and returns NULL. */
static db *arg_db_or_reply(client *c, int i) {
    int id;
    if (!arg_int_or_reply(c, i, &id, NULL)) return NULL;
    if (id < 0 || id >= server.dbnum) {
        reply_error(&c->out, "DB index is out of range");
        return NULL;
    }
    return server.dbs[id];
}

/* DEL / UNLINK key [key ...]: the number of keys removed. UNLINK (and DEL under
 * lazyfree-lazy-user-del) frees big values later (storage/lazyfree.h). */
static void del_generic(client *c, int lazy) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        if (!db_delete_lazy(c->db, KEYARG(c, j), lazy)) continue;
        notify_arg(c, NOTIFY_GENERIC, "del", j);
        n++;
    }
    reply_int(&c->out, n);
}

static void cmd_del(client *c) { del_generic(c, server.cfg.lazyfree_lazy_user_del); }
static void cmd_unlink(client *c) { del_generic(c, 1); }

/* EXISTS / TOUCH key [key ...]: live keys named, repeats counted. */
static void cmd_exists(client *c) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++) n += db_lookup_read(c->db, KEYARG(c, j)) != NULL;
    reply_int(&c->out, n);
}

static void cmd_type(client *c) {
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    reply_simple(&c->out, k ? type_of(k)->name : "none");
}

/* ---- expiry ---- */

#define EXP_NX 1
#define EXP_XX 2
#define EXP_GT 4
#define EXP_LT 8

/* Parse the EXPIRE options from argv[3] on (Redis's parseExtendedExpireArgumentsOrReply).
 * Returns 1, or replies and returns 0. */
static int expire_parse_options(client *c, int *flags) {
    static const char *names[] = {"nx", "xx", "gt", "lt"};
    int f = 0;

    for (int j = 3; j < c->argc; j++) {
        int bit = 0;
        for (int i = 0; i < 4 && !bit; i++)
            if (util_eqi(c->argv[j].ptr, c->argv[j].len, names[i])) bit = 1 << i;
        if (!bit) {
            /* Redis prints the option as a C string: up to a NUL byte. */
            reply_errorf(&c->out, "Unsupported option %.*s", (int)c->argv[j].len, c->argv[j].ptr);
            return 0;
        }
        f |= bit;
    }
    if ((f & EXP_NX) && (f & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(&c->out, "NX and XX, GT or LT options at the same time are not compatible");
        return 0;
    }
    if ((f & EXP_GT) && (f & EXP_LT)) {
        reply_error(&c->out, "GT and LT options at the same time are not compatible");
        return 0;
    }
    *flags = f;
    return 1;
}

/* How an EXPIRE-family command that acted is replayed, as Redis 7.0: DEL if the time
 * had passed, else PEXPIREAT key <absolute ms> with its options. */
static void expire_propagate(client *c, long long when) {
    if (when <= storage_now_ms) {
        resp_slice v[2] = {PROP_STR("DEL"), c->argv[1]};
        propagate_replace(c, 2, v);
        return;
    }
    char ms[UTIL_LLSTR_SIZE];
    int n = util_ll2str(ms, when);
    propagate_rewrite_arg(c, 0, "PEXPIREAT", 9);
    propagate_rewrite_arg(c, 2, ms, (size_t)n);
}

/* EXPIRE/PEXPIRE (basetime now) and EXPIREAT/PEXPIREAT (basetime 0) key time [NX|XX|GT|LT]:
 * :1 if the TTL was set (or the key deleted for a time already past), :0 if the key is
 * absent or a condition failed. */
static void expire_generic(client *c, long long basetime, int seconds) {
    int flags;
    long long when;

    if (!expire_parse_options(c, &flags) || !arg_ll_or_reply(c, 2, &when)) return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) goto invalid;
        when *= 1000;
    }
    if ((basetime > 0 && when > LLONG_MAX - basetime) || (basetime < 0 && when < LLONG_MIN - basetime)) goto invalid;
    when += basetime;

    rkey *k = db_lookup_write(c->db, KEYARG(c, 1));
    if (!k) {
        reply_int(&c->out, 0);
        return;
    }
    long long cur = rkey_expire(k);
    if (((flags & EXP_NX) && cur != -1) || ((flags & EXP_XX) && cur == -1) ||
        ((flags & EXP_GT) && (cur == -1 || when <= cur)) || ((flags & EXP_LT) && cur != -1 && when >= cur)) {
        reply_int(&c->out, 0);
        return;
    }
    if (when <= storage_now_ms) {
        db_delete_lazy(c->db, KEYARG(c, 1), lazyfree_cfg.lazy_expire);
        notify_arg(c, NOTIFY_GENERIC, "del", 1);
    } else {
        db_set_expire(c->db, k, when);
        notify_arg(c, NOTIFY_GENERIC, "expire", 1);
    }
    reply_int(&c->out, 1);
    if (propagate_wanted()) expire_propagate(c, when);
    return;

invalid:
    reply_errorf(&c->out, "invalid expire time in '%s' command", c->cmd->name);
}

static void cmd_expire(client *c) { expire_generic(c, storage_now_ms, 1); }
static void cmd_pexpire(client *c) { expire_generic(c, storage_now_ms, 0); }
static void cmd_expireat(client *c) { expire_generic(c, 0, 1); }
static void cmd_pexpireat(client *c) { expire_generic(c, 0, 0); }

/* TTL/PTTL (remaining time) and EXPIRETIME/PEXPIRETIME (absolute): -2 if the key is
 * absent, -1 if it has no TTL; seconds are rounded as Redis: (ms + 500) / 1000. */
static void ttl_generic(client *c, int ms, int absolute) {
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    if (!k) {
        reply_int(&c->out, -2);
        return;
    }
    long long when = rkey_expire(k);
    if (when == -1) {
        reply_int(&c->out, -1);
        return;
    }
    long long t = absolute ? when : when - storage_now_ms;
    if (t < 0) t = 0;
    reply_int(&c->out, ms ? t : (long long)(((unsigned long long)t + 500) / 1000)); /* no overflow near LLONG_MAX */
}

static void cmd_ttl(client *c) { ttl_generic(c, 0, 0); }
static void cmd_pttl(client *c) { ttl_generic(c, 1, 0); }
static void cmd_expiretime(client *c) { ttl_generic(c, 0, 1); }
static void cmd_pexpiretime(client *c) { ttl_generic(c, 1, 1); }

static void cmd_persist(client *c) {
    rkey *k = db_lookup_write(c->db, KEYARG(c, 1));
    if (k && rkey_expire(k) != -1) {
        db_persist(c->db, k);
        notify_arg(c, NOTIFY_GENERIC, "persist", 1);
        reply_int(&c->out, 1);
    } else {
        reply_int(&c->out, 0);
    }
}

/* ---- iteration ---- */

/* KEYS: the live records matching the pattern, gathered by db_foreach. */
typedef struct keys_state {
    const char *pat;
    size_t patlen;
    int all;
    db *d;
    const rkey **found;
    size_t n, cap;
} keys_state;

static void keys_visit(void *priv, const rkey *k) {
    keys_state *st = priv;
    size_t klen;
    const char *key = rkey_key(k, &klen);

    if (!st->all && !util_stringmatch(st->pat, st->patlen, key, klen, 0)) return;
    if (!db_key_alive(st->d, k)) return;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        const rkey **p = xrealloc(st->found, cap * sizeof *p);
        st->found = p;
        st->cap = cap;
    }
    st->found[st->n++] = k;
}

/* KEYS pattern. The records stay valid while we reply: nothing changes the db. */
static void cmd_keys(client *c) {
    keys_state st = {c->argv[1].ptr, c->argv[1].len, 0, c->db, NULL, 0, 0};
    st.all = st.patlen == 1 && st.pat[0] == '*';
    db_foreach(c->db, keys_visit, &st);
    reply_array(&c->out, (long)st.n);
    for (size_t i = 0; i < st.n; i++) {
        size_t klen;
        const char *key = rkey_key(st.found[i], &klen);
        reply_bulk(&c->out, key, klen);
    }
    free(st.found);
}

/* A growable list of copied key names: each entry is a size_t length then the bytes. */
typedef struct name_list {
    char *buf;
    size_t used, cap, count;
} name_list;

static void name_list_add(name_list *l, const char *p, size_t n) {
    size_t need = l->used + sizeof n + n;
    if (need > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < need) cap *= 2;
        char *b = xrealloc(l->buf, cap);
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->used, &n, sizeof n);
    memcpy(l->buf + l->used + sizeof n, p, n);
    l->used = need;
    l->count++;
}

/* Step through a name_list: *pos starts at 0; returns the next name or NULL at the end. */
static const char *name_list_next(const name_list *l, size_t *pos, size_t *n) {
    if (*pos >= l->used) return NULL;
    memcpy(n, l->buf + *pos, sizeof *n);
    const char *p = l->buf + *pos + sizeof *n;
    *pos += sizeof *n + *n;
    return p;
}

typedef struct scan_state {
    const char *pat, *type;
    size_t patlen, typelen;
    int use_pat;
    db *d;
    unsigned long visited; /* records seen, filtered or not (Redis's COUNT measure) */
    name_list keys;        /* to reply with */
    name_list expired;     /* matched but expired: reclaimed after the scan */
} scan_state;

static void scan_visit(void *priv, const rkey *k) {
    scan_state *st = priv;
    size_t klen;
    const char *key = rkey_key(k, &klen);

    st->visited++;
    if (st->use_pat && !util_stringmatch(st->pat, st->patlen, key, klen, 0)) return;
    if (!db_key_alive(st->d, k)) {
        /* Reclaimed after the scan; Redis's TYPE filter sees it as "none" then. */
        name_list_add(&st->expired, key, klen);
        if (st->type && util_eqi(st->type, st->typelen, "none")) name_list_add(&st->keys, key, klen);
        return;
    }
    if (st->type && !util_eqi(st->type, st->typelen, type_of(k)->name)) return;
    name_list_add(&st->keys, key, klen);
}

/* Parse a SCAN cursor as Redis's parseScanCursorOrReply (strtoul: a sign is accepted,
 * leading space is not, the whole text must be consumed, no overflow). */
int scan_parse_cursor(client *c, int i, unsigned long *cursor) {
    char small[64], *s = small, *end;
    const resp_slice *a = &c->argv[i];

    if (a->len < sizeof small) {
        memcpy(small, a->ptr, a->len);
        small[a->len] = '\0';
    } else {
        s = arg_dup(c, i);
    }
    errno = 0;
    *cursor = strtoul(s, &end, 10);
    int ok = !isspace((unsigned char)s[0]) && *end == '\0' && errno != ERANGE;
    if (s != small) free(s);
    if (!ok) reply_error(&c->out, "invalid cursor");
    return ok;
}

void scan_reply_empty(client *c) {
    reply_array(&c->out, 2);
    reply_bulk(&c->out, "0", 1);
    reply_array(&c->out, 0);
}

int scan_collection_options_or_reply(client *c, int first, long long *count, const char **pat, size_t *patlen) {
    *count = 10;
    *pat = NULL;
    *patlen = 0;
    for (int i = first; i < c->argc; i += 2) {
        int has_value = i + 1 < c->argc;
        if (has_value && arg_is(c, i, "count")) {
            if (!arg_ll_or_reply(c, i + 1, count)) return 0;
            if (*count < 1) {
                reply_syntax_error(c);
                return 0;
            }
        } else if (has_value && arg_is(c, i, "match")) {
            *pat = c->argv[i + 1].ptr;
            *patlen = c->argv[i + 1].len;
            if (*patlen == 1 && (*pat)[0] == '*') *pat = NULL;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void cmd_scan(client *c) {
    unsigned long cursor;
    long long count = 10;
    scan_state st;

    memset(&st, 0, sizeof st);
    st.d = c->db;
    if (!scan_parse_cursor(c, 1, &cursor)) return;
    for (int i = 2; i < c->argc; i += 2) {
        int has_value = i + 1 < c->argc;
        if (has_value && arg_is(c, i, "count")) {
            if (!arg_ll_or_reply(c, i + 1, &count)) return;
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
        } else if (has_value && arg_is(c, i, "match")) {
            st.pat = c->argv[i + 1].ptr;
            st.patlen = c->argv[i + 1].len;
            st.use_pat = !(st.patlen == 1 && st.pat[0] == '*');
        } else if (has_value && arg_is(c, i, "type")) {
            st.type = c->argv[i + 1].ptr;
            st.typelen = c->argv[i + 1].len;
        } else {
            reply_syntax_error(c);
            return;
        }
    }

    unsigned long long maxiter = (unsigned long long)count * 10;
    do {
        cursor = db_scan(c->db, cursor, scan_visit, &st);
    } while (cursor && maxiter-- && st.visited < (unsigned long long)count);

    reply_array(&c->out, 2);
    reply_bulk_ll(&c->out, (long long)cursor);
    reply_array(&c->out, (long)st.keys.count);
    size_t pos = 0, n;
    const char *p;
    while ((p = name_list_next(&st.keys, &pos, &n))) reply_bulk(&c->out, p, n);
    pos = 0;
    while ((p = name_list_next(&st.expired, &pos, &n))) db_lookup_write(c->db, p, n);
    free(st.keys.buf);
    free(st.expired.buf);
}

static void cmd_randomkey(client *c) {
    rkey *k = db_random_key(c->db);
    if (!k) {
        reply_null(&c->out);
        return;
    }
    size_t klen;
    const char *key = rkey_key(k, &klen);
    reply_bulk(&c->out, key, klen);
}

/* ---- renaming and databases ---- */

/* RENAME / RENAMENX src dst: "no such key" if src is absent. */
static void rename_generic(client *c, int nx) {
    const resp_slice *src = &c->argv[1], *dst = &c->argv[2];

    if (!db_lookup_write(c->db, src->ptr, src->len)) {
        reply_error(&c->out, "no such key");
        return;
    }
    if (src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        if (nx) reply_int(&c->out, 0);
        else reply_ok(&c->out);
        return;
    }
    if (db_lookup_write(c->db, dst->ptr, dst->len) && nx) {
        reply_int(&c->out, 0);
        return;
    }
    notify_arg(c, NOTIFY_NEW, "new", 2); /* Redis adds dst before removing src */
    db_rename(c->db, src->ptr, src->len, dst->ptr, dst->len);
    notify_arg(c, NOTIFY_GENERIC, "rename_from", 1);
    notify_arg(c, NOTIFY_GENERIC, "rename_to", 2);
    if (nx) reply_int(&c->out, 1);
    else reply_ok(&c->out);
}

static void cmd_rename(client *c) { rename_generic(c, 0); }
static void cmd_renamenx(client *c) { rename_generic(c, 1); }

/* COPY source destination [DB destination-db] [REPLACE] */
static void cmd_copy(client *c) {
    db *dst = c->db;
    int replace = 0;
    const resp_slice *src = &c->argv[1], *to = &c->argv[2];

    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "replace")) {
            replace = 1;
        } else if (arg_is(c, j, "db") && j + 1 < c->argc) {
            if (!(dst = arg_db_or_reply(c, ++j))) return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (dst == c->db && src->len == to->len && memcmp(src->ptr, to->ptr, src->len) == 0) {
        reply_error(&c->out, "source and destination objects are the same");
        return;
    }
    rkey *k = db_lookup_read(c->db, src->ptr, src->len);
    if (!k) {
        reply_int(&c->out, 0);
        return;
    }
    if (db_lookup_write(dst, to->ptr, to->len)) {
        if (!replace) {
            reply_int(&c->out, 0);
            return;
        }
        db_delete(dst, to->ptr, to->len);
        k = db_lookup_write(c->db, src->ptr, src->len); /* the delete may have moved it */
    }
    if (!db_copy(dst, k, to->ptr, to->len)) {
        reply_error(&c->out, "unknown type object");
        return;
    }
    notify_keyspace_event(NOTIFY_GENERIC, "copy_to", to->ptr, to->len, db_id(dst));
    reply_int(&c->out, 1);
}

static void cmd_dbsize(client *c) { reply_int(&c->out, (long long)db_size(c->db)); }

/* FLUSHDB/FLUSHALL [ASYNC|SYNC]: ASYNC detaches the keyspace and frees it later
 * (storage/lazyfree.h), SYNC frees it now, neither takes lazyfree-lazy-user-flush.
 * Returns 1 for lazy, 0 for now, or replies and returns -1. A synchronous flush then
 * gives the freed memory back to the system (as Redis 7 purges jemalloc after one: an
 * idle allocator would keep it); a lazy one does when the queue is done (server/cron.c). */
static int flush_mode_or_reply(client *c) {
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "sync") && !arg_is(c, 1, "async"))) {
        reply_syntax_error(c);
        return -1;
    }
    if (c->argc == 2) return arg_is(c, 1, "async");
    return server.cfg.lazyfree_lazy_user_flush;
}

static void cmd_flushdb(client *c) {
    int lazy = flush_mode_or_reply(c);
    if (lazy < 0) return;
    if (lazy) db_flush_lazy(c->db);
    else db_flush(c->db);
    if (!lazy) alloc_purge();
    reply_ok(&c->out);
}

static void cmd_flushall(client *c) {
    int lazy = flush_mode_or_reply(c);
    if (lazy < 0) return;
    for (int i = 0; i < server.dbnum; i++) {
        if (lazy) db_flush_lazy(server.dbs[i]);
        else db_flush(server.dbs[i]);
    }
    persist_after_flushall();
    if (!lazy) alloc_purge();
    reply_ok(&c->out);
}

static void cmd_select(client *c) {
    db *d = arg_db_or_reply(c, 1);
    if (!d) return;
    client_select_db(c, db_id(d));
    reply_ok(&c->out);
}

/* MOVE key db: :1 if moved, :0 if absent here or present there. */
static void cmd_move(client *c) {
    db *dst = arg_db_or_reply(c, 2);
    if (!dst) return;
    if (dst == c->db) {
        reply_error(&c->out, "source and destination objects are the same");
        return;
    }
    if (!db_lookup_write(c->db, KEYARG(c, 1)) || db_lookup_write(dst, KEYARG(c, 1))) {
        reply_int(&c->out, 0);
        return;
    }
    notify_keyspace_event(NOTIFY_NEW, "new", c->argv[1].ptr, c->argv[1].len, db_id(dst));
    db_move(c->db, dst, KEYARG(c, 1));
    notify_arg(c, NOTIFY_GENERIC, "move_from", 1);
    notify_keyspace_event(NOTIFY_GENERIC, "move_to", c->argv[1].ptr, c->argv[1].len, db_id(dst));
    reply_int(&c->out, 1);
}

static void cmd_swapdb(client *c) {
    int a, b;
    if (!arg_int_or_reply(c, 1, &a, "invalid first DB index") || !arg_int_or_reply(c, 2, &b, "invalid second DB index"))
        return;
    if (a < 0 || a >= server.dbnum || b < 0 || b >= server.dbnum) {
        reply_error(&c->out, "DB index is out of range");
        return;
    }
    if (a != b) db_swap(server.dbs[a], server.dbs[b]);
    reply_ok(&c->out);
}

/* ---- OBJECT ---- */

/* The record OBJECT <sub> key names, or NULL after replying null. */
static rkey *object_lookup(client *c) {
    rkey *k = db_lookup_read_quiet(c->db, KEYARG(c, 2));
    if (!k) reply_null(&c->out);
    return k;
}

static void cmd_object_encoding(client *c) {
    rkey *k = object_lookup(c);
    if (k) reply_bulk_cstr(&c->out, rkey_encoding(k));
}

/* Accesses are not tracked: IDLETIME is 0 and FREQ Redis's initial counter (5); each
 * errs under the other kind of policy, as Redis. REFCOUNT is 1, except that Redis shares
 * the integers 0..9999 (reported as INT_MAX) unless an LRU/LFU policy with a memory
 * limit forbids it. */
static int object_lfu_policy(void) {
    return server.cfg.maxmemory_policy && strstr(server.cfg.maxmemory_policy, "lfu") != NULL;
}

static void cmd_object_refcount(client *c) {
    rkey *k = object_lookup(c);
    if (!k) return;
    const char *pol = server.cfg.maxmemory_policy ? server.cfg.maxmemory_policy : "";
    int no_shared = server.cfg.maxmemory && (strstr(pol, "lru") || strstr(pol, "lfu"));
    int shared = rkey_is_int(k) && rkey_int(k) >= 0 && rkey_int(k) < 10000;
    reply_int(&c->out, shared && !no_shared ? INT_MAX : 1);
}

/* OBJECT IDLETIME/FREQ look without touching (Redis's LOOKUP_NOTOUCH): the access field
 * as it was. */
static rkey *object_lookup_notouch(client *c) {
    rkey *k = db_peek(c->db, KEYARG(c, 2));
    if (k && db_key_alive(c->db, k)) return k;
    return object_lookup(c); /* absent or expired: reclaimed and null replied */
}

static void cmd_object_idletime(client *c) {
    rkey *k = object_lookup_notouch(c);
    if (!k) return;
    if (object_lfu_policy())
        reply_error(&c->out, "An LFU maxmemory policy is selected, idle time not tracked. Please note "
                             "that when switching between policies at runtime LRU and LFU data will "
                             "take some time to adjust.");
    else reply_int(&c->out, (long long)(evict_lru_idle_ms(rkey_access(k)) / 1000));
}

static void cmd_object_freq(client *c) {
    rkey *k = object_lookup_notouch(c);
    if (!k) return;
    if (object_lfu_policy()) reply_int(&c->out, evict_lfu_decr(rkey_access(k)));
    else
        reply_error(&c->out, "An LFU maxmemory policy is not selected, access frequency not tracked. "
                             "Please note that when switching between policies at runtime LRU and LFU "
                             "data will take some time to adjust.");
}

static void cmd_object_help(client *c) {
    static const char *const help[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

// clang-format off
static const command_binding object_subcommands[] = {
    CMD("encoding", cmd_object_encoding),
    CMD("freq", cmd_object_freq),
    CMD("help", cmd_object_help),
    CMD("idletime", cmd_object_idletime),
    CMD("refcount", cmd_object_refcount),
    {0},
};
// clang-format on

const command_binding keys_commands[] = {
    CMD("del", cmd_del),
    CMD("unlink", cmd_unlink),
    CMD("exists", cmd_exists),
    CMD("type", cmd_type),
    CMD("expire", cmd_expire),
    CMD("pexpire", cmd_pexpire),
    CMD("expireat", cmd_expireat),
    CMD("pexpireat", cmd_pexpireat),
    CMD("ttl", cmd_ttl),
    CMD("pttl", cmd_pttl),
    CMD("expiretime", cmd_expiretime),
    CMD("pexpiretime", cmd_pexpiretime),
    CMD("persist", cmd_persist),
    CMD("keys", cmd_keys),
    CMD("scan", cmd_scan),
    CMD("randomkey", cmd_randomkey),
    CMD("rename", cmd_rename),
    CMD("renamenx", cmd_renamenx),
    CMD("copy", cmd_copy),
    CMD("dbsize", cmd_dbsize),
    CMD("flushdb", cmd_flushdb),
    CMD("flushall", cmd_flushall),
    CMD("select", cmd_select),
    CMD("move", cmd_move),
    CMD("swapdb", cmd_swapdb),
    CMD("object", NULL, object_subcommands),
    CMD("touch", cmd_exists),
    {0},
};
