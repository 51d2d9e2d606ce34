/* cmd_sort.c: SORT and SORT_RO, as Redis 7.0's sort.c. The key's elements come from its
 * type's collection slots (storage/type.h: length, elements; a STORE result is built by
 * the list type's from_elements), so SORT covers every type that fills them; BY and GET
 * patterns read strings, and hash fields (`pattern->field`) through the hash type's
 * field slot.
 *
 * Order of work as Redis: parse every option (the first bad one replies), look the key
 * up (another type than list/set/zset: WRONGTYPE), load the elements, clamp LIMIT, load
 * the sort keys (BY values or the elements, as doubles unless ALPHA), sort (ties broken
 * by the elements' bytes for numeric sorts), then GET or STORE. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/t_zset.h"
#include "storage/type.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

/* An element and its sort key. Strings are NUL-terminated copies (Redis compares and
 * parses them as C strings where it uses strcoll/strtod). */
typedef struct sort_obj {
    char *e;
    size_t elen;
    double score;
    char *cmp; /* BY value for ALPHA sorts, or NULL (missing) */
    size_t cmplen;
} sort_obj;

typedef struct sort_vec {
    sort_obj *v;
    size_t n, cap;
} sort_vec;

static void vec_push(void *priv, const char *e, size_t len) {
    sort_vec *s = priv;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xrealloc(s->v, sizeof(*s->v) * s->cap);
    }
    sort_obj *o = &s->v[s->n++];
    memset(o, 0, sizeof(*o));
    o->e = xstrndup(e, len);
    o->elen = len;
}

/* lookupKeyByPattern: the string a pattern names for element e (the element itself for
 * "#"), in *out (a copy the caller frees), or 0 when there is none. */
static int lookup_by_pattern(client *c, const resp_slice *pat, const char *e, size_t elen, int write, char **out,
                             size_t *outlen) {
    const char *p = pat->ptr;
    size_t plen = pat->len;
    if (plen == 1 && p[0] == '#') {
        *out = xstrndup(e, elen);
        *outlen = elen;
        return 1;
    }
    /* Redis works on the C string: a NUL ends the pattern. */
    size_t clen = strnlen(p, plen);
    const char *star = memchr(p, '*', clen);
    if (!star) return 0;
    const char *f = NULL;
    for (const char *q = star + 1; q + 1 < p + clen; q++)
        if (q[0] == '-' && q[1] == '>') {
            f = q;
            break;
        }
    if (f && f + 2 == p + clen) f = NULL;
    size_t prefix = (size_t)(star - p), fieldlen = f ? (size_t)(p + clen - (f + 2)) : 0;
    size_t postfix = clen - prefix - 1 - (f ? fieldlen + 2 : 0);
    size_t klen = prefix + elen + postfix;
    char small[256], *key = klen <= sizeof small ? small : xmalloc(klen);
    memcpy(key, p, prefix);
    memcpy(key + prefix, e, elen);
    memcpy(key + prefix + elen, star + 1, postfix);
    rkey *k = write ? db_lookup_write(c->db, key, klen) : db_lookup_read(c->db, key, klen);
    if (key != small) free(key);
    if (!k) return 0;
    char tmp[UTIL_LLSTR_SIZE];
    const char *v;
    size_t vlen;
    if (f) {
        const value_type *t = type_of(k);
        if (rkey_type(k) != OBJ_HASH || !t->field) return 0;
        v = t->field(rkey_ptr(k), f + 2, fieldlen, &vlen, tmp);
        if (!v) return 0;
    } else {
        if (rkey_type(k) != OBJ_STRING) return 0;
        v = rkey_str(k, &vlen, tmp);
    }
    *out = xstrndup(v, vlen);
    *outlen = vlen;
    return 1;
}

static struct { int desc, alpha, bypattern, store; } sort_cfg;

static int bin_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return alen < blen ? -1 : alen > blen;
}

static int sort_compare(const void *x, const void *y) {
    const sort_obj *a = x, *b = y;
    int cmp;
    if (!sort_cfg.alpha) {
        if (a->score > b->score) cmp = 1;
        else if (a->score < b->score) cmp = -1;
        else cmp = bin_cmp(a->e, a->elen, b->e, b->elen);
    } else if (sort_cfg.bypattern) {
        if (!a->cmp || !b->cmp) cmp = a->cmp == b->cmp ? 0 : !a->cmp ? -1 : 1;
        else if (sort_cfg.store) cmp = bin_cmp(a->cmp, a->cmplen, b->cmp, b->cmplen);
        else cmp = strcoll(a->cmp, b->cmp);
    } else {
        cmp = sort_cfg.store ? bin_cmp(a->e, a->elen, b->e, b->elen) : strcoll(a->e, b->e);
    }
    return sort_cfg.desc ? -cmp : cmp;
}

static void sort_generic(client *c, int readonly) {
    int desc = 0, alpha = 0, dontsort = 0, storeidx = 0, byidx = 0;
    long long lstart = 0, lcount = -1;
    int *gets = xmalloc(sizeof(int) * (size_t)c->argc), ngets = 0;
    sort_vec s = {0};
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "asc")) {
            desc = 0;
        } else if (arg_is(c, j, "desc")) {
            desc = 1;
        } else if (arg_is(c, j, "alpha")) {
            alpha = 1;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (!arg_ll_or_reply(c, j + 1, &lstart) || !arg_ll_or_reply(c, j + 2, &lcount)) goto done;
            j += 2;
        } else if (!readonly && arg_is(c, j, "store") && left >= 1) {
            storeidx = ++j;
        } else if (arg_is(c, j, "by") && left >= 1) {
            byidx = ++j;
            dontsort = !memchr(c->argv[j].ptr, '*', strnlen(c->argv[j].ptr, c->argv[j].len));
        } else if (arg_is(c, j, "get") && left >= 1) {
            gets[ngets++] = ++j;
        } else {
            reply_syntax_error(c);
            goto done;
        }
    }
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1)); /* a read even when storing, as Redis 7.0 (keymiss, stats) */
    int type = k ? rkey_type(k) : OBJ_LIST;
    if (type != OBJ_LIST && type != OBJ_SET && type != OBJ_ZSET) {
        reply_wrongtype(c);
        goto done;
    }
    /* A set's own order is not stable across replicas: a stored result is sorted. */
    if (dontsort && type == OBJ_SET && storeidx) {
        dontsort = 0;
        alpha = 1;
        byidx = 0;
    }
    if (k) {
        const value_type *t = type_of(k);
        /* Redis converts a listpack sorted set before sorting it (the change shows in
         * OBJECT ENCODING). */
        if (type == OBJ_ZSET) zset_convert_to_skiplist(rkey_ptr(k));
        if (t->elements) t->elements(rkey_ptr(k), vec_push, &s);
        if (type == OBJ_ZSET && dontsort && desc)
            for (size_t i = 0; i < s.n / 2; i++) {
                sort_obj tmp = s.v[i];
                s.v[i] = s.v[s.n - 1 - i];
                s.v[s.n - 1 - i] = tmp;
            }
    }
    long long vlen = (long long)s.n;
    long long start = lstart < 0 ? 0 : lstart;
    long long end = lcount < 0 ? vlen - 1 : start + lcount - 1;
    if (start >= vlen) {
        start = vlen - 1;
        end = vlen - 2;
    }
    if (end >= vlen) end = vlen - 1;
    int conv_error = 0;
    if (!dontsort) {
        for (size_t j = 0; j < s.n; j++) {
            char *by = NULL;
            size_t bylen = 0;
            if (byidx) {
                if (!lookup_by_pattern(c, &c->argv[byidx], s.v[j].e, s.v[j].elen, storeidx != 0, &by, &bylen)) continue;
            }
            if (alpha) {
                if (byidx) {
                    s.v[j].cmp = by;
                    s.v[j].cmplen = bylen;
                    by = NULL;
                }
            } else {
                const char *src = byidx ? by : s.v[j].e;
                char *eptr;
                errno = 0;
                s.v[j].score = strtod(src, &eptr);
                if (eptr[0] != '\0' || errno == ERANGE || isnan(s.v[j].score)) conv_error = 1;
            }
            free(by);
        }
        sort_cfg.desc = desc;
        sort_cfg.alpha = alpha;
        sort_cfg.bypattern = byidx != 0;
        sort_cfg.store = storeidx != 0;
        if (s.n) qsort(s.v, s.n, sizeof(*s.v), sort_compare);
    }
    long long outlen = ngets ? ngets * (end - start + 1) : end - start + 1;
    if (conv_error) {
        reply_error(&c->out, "One or more scores can't be converted into double");
    } else if (!storeidx) {
        reply_array(&c->out, (long)outlen);
        for (long long j = start; j <= end; j++) {
            if (!ngets) reply_bulk(&c->out, s.v[j].e, s.v[j].elen);
            for (int g = 0; g < ngets; g++) {
                char *v;
                size_t vl;
                if (lookup_by_pattern(c, &c->argv[gets[g]], s.v[j].e, s.v[j].elen, 0, &v, &vl)) {
                    reply_bulk(&c->out, v, vl);
                    free(v);
                } else {
                    reply_null(&c->out);
                }
            }
        }
    } else {
        const value_type *lt = type_get(OBJ_LIST);
        if (outlen > 0 && (!lt || !lt->from_elements)) {
            reply_error(&c->out, "SORT ... STORE needs the list type");
            goto done;
        }
        size_t n = outlen > 0 ? (size_t)outlen : 0, i = 0;
        const char **ev = xmalloc(sizeof(char *) * (n ? n : 1));
        size_t *lens = xmalloc(sizeof(size_t) * (n ? n : 1));
        char **owned = xcalloc(n ? n : 1, sizeof(char *));
        for (long long j = start; j <= end; j++) {
            if (!ngets) {
                ev[i] = s.v[j].e;
                lens[i++] = s.v[j].elen;
            }
            for (int g = 0; g < ngets; g++) {
                char *v;
                size_t vl;
                if (lookup_by_pattern(c, &c->argv[gets[g]], s.v[j].e, s.v[j].elen, 1, &v, &vl)) {
                    owned[i] = v;
                    ev[i] = v;
                    lens[i++] = vl;
                } else {
                    ev[i] = "";
                    lens[i++] = 0;
                }
            }
        }
        if (n) {
            db_set_ptr(c->db, KEYARG(c, storeidx), OBJ_LIST, lt->from_elements(n, ev, lens));
            notify_arg(c, NOTIFY_LIST, "sortstore", storeidx);
        } else if (db_delete(c->db, KEYARG(c, storeidx))) {
            notify_arg(c, NOTIFY_GENERIC, "del", storeidx);
        }
        for (size_t x = 0; x < n; x++) free(owned[x]);
        free(owned);
        free(ev);
        free(lens);
        reply_int(&c->out, n);
    }
done:
    for (size_t j = 0; j < s.n; j++) {
        free(s.v[j].e);
        free(s.v[j].cmp);
    }
    free(s.v);
    free(gets);
}

static void cmd_sort(client *c) { sort_generic(c, 0); }
static void cmd_sort_ro(client *c) { sort_generic(c, 1); }

const command_binding sort_commands[] = {
    CMD("sort", cmd_sort),
    CMD("sort_ro", cmd_sort_ro),
    {0},
};
