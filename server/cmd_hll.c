/* cmd_hll.c: the HyperLogLog commands PFADD, PFCOUNT, PFMERGE (and PFDEBUG, PFSELFTEST)
 * over string values in Redis's HLL representation (storage/hll.c), with Redis 7.0's
 * replies and errors.
 *
 * A dense value (12304 bytes) is changed in place: PFADD first hashes its elements and
 * checks, read-only, whether any register rises, so an add that changes nothing neither
 * copies nor touches the key. A sparse value (at most hll-sparse-max-bytes) is changed
 * in a private copy, which may grow or turn dense, then stored back. PFCOUNT of one key
 * stores the estimate it computes in the value's header cache, as Redis does. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/hll.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

static const char hll_err_corrupt[] = "-INVALIDOBJ Corrupted HLL object detected";
static const char hll_err_type[] = "-WRONGTYPE Key is not a valid HyperLogLog string value.";

/* Redis's isHLLObjectOrReply: 1 with k's bytes in *p, *len if k holds an HLL, else reply
 * WRONGTYPE (another type, or a string that is not an HLL) and return 0. */
static int hll_value_or_reply(client *c, const rkey *k, const uint8_t **p, size_t *len) {
    if (rkey_type(k) != OBJ_STRING) {
        reply_wrongtype(c);
        return 0;
    }
    if (!rkey_is_int(k)) {
        *p = (const uint8_t *)rkey_str(k, len, NULL);
        if (hll_is_valid(*p, *len)) return 1;
    }
    reply_error(&c->out, hll_err_type);
    return 0;
}

/* Store h as the value of key argv[key_i]: over k's value if k (its record) exists,
 * keeping its TTL, else as a new raw string key (Redis creates HLLs raw, never embstr).
 * Returns the record. */
static rkey *hll_store(client *c, int key_i, rkey *k, const hll_buf *h) {
    if (!k) k = db_set_string(c->db, KEYARG(c, key_i), "", 0, DB_SET_NOINT);
    memcpy(db_string_resize(c->db, &k, h->len), h->p, h->len);
    return k;
}

/* A private, growable copy of an HLL value. */
static void hll_copy(hll_buf *h, const uint8_t *p, size_t len) {
    h->cap = len + 16;
    h->p = xmalloc(h->cap);
    h->len = len;
    memcpy(h->p, p, len);
}

/* PFADD on a dense value: hash every element, change (and touch) the value only if a
 * register rises. Returns 1 if it changed. */
static int pfadd_dense(client *c, rkey *k) {
    int n = c->argc - 2, changed = 0;
    long idx_stack[16], *idx = n <= 16 ? idx_stack : xmalloc(sizeof(long) * (size_t)n);
    int cnt_stack[16], *cnt = n <= 16 ? cnt_stack : xmalloc(sizeof(int) * (size_t)n);
    size_t len;
    const uint8_t *ro = (const uint8_t *)rkey_str(k, &len, NULL);

    for (int i = 0; i < n; i++) {
        cnt[i] = hll_pattern(c->argv[i + 2].ptr, c->argv[i + 2].len, &idx[i]);
        if (hll_dense_get(ro, idx[i]) < cnt[i]) changed = 1;
    }
    if (changed) {
        hll_buf h = {(uint8_t *)db_string_resize(c->db, &k, len), len, len};
        for (int i = 0; i < n; i++) hll_set(&h, (int)idx[i], cnt[i]);
        hll_invalidate(h.p);
    }
    if (idx != idx_stack) free(idx);
    if (cnt != cnt_stack) free(cnt);
    return changed;
}

/* PFADD key [element ...]: 1 if the key was created or a register changed. */
static void cmd_pfadd(client *c) {
    rkey *k = db_lookup_write(c->db, KEYARG(c, 1));
    const uint8_t *p;
    size_t len;
    hll_buf h;
    int updated = 0, corrupt = 0;

    if (k) {
        if (!hll_value_or_reply(c, k, &p, &len)) return;
        if (p[4] == HLL_DENSE) {
            int changed = pfadd_dense(c, k);
            if (changed) notify_arg(c, NOTIFY_STRING, "pfadd", 1);
            reply_int(&c->out, changed);
            return;
        }
        hll_copy(&h, p, len);
    } else {
        uint8_t empty[HLL_EMPTY_SIZE];
        hll_init_empty(empty);
        hll_copy(&h, empty, sizeof empty);
        updated = 1;
    }
    int changed = !k;
    for (int i = 2; i < c->argc; i++) {
        int r = hll_add(&h, c->argv[i].ptr, c->argv[i].len);
        if (r < 0) {
            corrupt = 1;
            break;
        }
        changed |= r;
    }
    updated |= changed;
    if (updated && !corrupt) hll_invalidate(h.p);
    if (changed) hll_store(c, 1, k, &h);
    if (updated && !corrupt) notify_arg(c, NOTIFY_STRING, "pfadd", 1);
    free(h.p);
    if (corrupt) reply_error(&c->out, hll_err_corrupt);
    else reply_int(&c->out, updated);
}

/* PFCOUNT of many keys: the estimate of their union (no cache involved). */
static void pfcount_union(client *c) {
    uint8_t max[HLL_REGISTERS];
    memset(max, 0, sizeof max);
    for (int i = 1; i < c->argc; i++) {
        const uint8_t *p;
        size_t len;
        rkey *k = db_lookup_read(c->db, KEYARG(c, i));
        if (!k) continue;
        if (!hll_value_or_reply(c, k, &p, &len)) return;
        if (hll_merge(max, p, len) < 0) {
            reply_error(&c->out, hll_err_corrupt);
            return;
        }
    }
    reply_int(&c->out, (long long)hll_count_raw(max));
}

/* PFCOUNT key [key ...] */
static void cmd_pfcount(client *c) {
    const uint8_t *p;
    size_t len;
    int invalid = 0;

    if (c->argc > 2) {
        pfcount_union(c);
        return;
    }
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1)); /* counted as a read, as Redis 7.0 does */
    if (!k) {
        reply_int(&c->out, 0);
        return;
    }
    if (!hll_value_or_reply(c, k, &p, &len)) return;
    if (hll_cache_valid(p)) {
        reply_int(&c->out, (long long)hll_cache_get(p));
        return;
    }
    uint64_t card = hll_count(p, len, &invalid);
    if (invalid) {
        reply_error(&c->out, hll_err_corrupt);
        return;
    }
    hll_cache_set((uint8_t *)db_string_resize(c->db, &k, len), card);
    reply_int(&c->out, (long long)card);
}

/* PFMERGE destkey [sourcekey ...]: destkey (a source too) gets the union. */
static void cmd_pfmerge(client *c) {
    uint8_t max[HLL_REGISTERS];
    const uint8_t *p;
    size_t len;
    int use_dense = 0;
    hll_buf h;

    memset(max, 0, sizeof max);
    for (int i = 1; i < c->argc; i++) {
        rkey *k = db_lookup_read(c->db, KEYARG(c, i));
        if (!k) continue;
        if (!hll_value_or_reply(c, k, &p, &len)) return;
        if (p[4] == HLL_DENSE) use_dense = 1;
        if (hll_merge(max, p, len) < 0) {
            reply_error(&c->out, hll_err_corrupt);
            return;
        }
    }
    rkey *k = db_lookup_write(c->db, KEYARG(c, 1));
    if (k) {
        p = (const uint8_t *)rkey_str(k, &len, NULL);
        hll_copy(&h, p, len);
    } else {
        uint8_t empty[HLL_EMPTY_SIZE];
        hll_init_empty(empty);
        hll_copy(&h, empty, sizeof empty);
    }
    if (use_dense && hll_to_dense(&h) < 0) {
        free(h.p);
        reply_error(&c->out, hll_err_corrupt);
        return;
    }
    for (int j = 0; j < HLL_REGISTERS; j++)
        if (max[j]) hll_set(&h, j, max[j]);
    hll_invalidate(h.p);
    hll_store(c, 1, k, &h);
    notify_arg(c, NOTIFY_STRING, "pfadd", 1); /* as Redis: a merge is a mass add */
    free(h.p);
    reply_ok(&c->out);
}

/* PFDEBUG DECODE: the sparse opcodes as text ("z:n" ZERO, "Z:n" XZERO, "v:value,len"). */
static void pfdebug_decode(client *c, const uint8_t *p, size_t len) {
    if (p[4] != HLL_SPARSE) {
        reply_error(&c->out, "HLL encoding is not sparse");
        return;
    }
    /* at most 12 characters an opcode byte ("v:32,4 " is 7; "Z:16384 " 8 for two) */
    char *out = xmalloc((len - HLL_HDR_SIZE) * 12 + 1);
    size_t n = 0;
    const uint8_t *q = p + HLL_HDR_SIZE, *end = p + len;
    while (q < end) {
        if (hll_sparse_is_zero(q)) {
            n += (size_t)sprintf(out + n, "z:%d ", (*q & 0x3f) + 1);
            q++;
        } else if (hll_sparse_is_xzero(q)) {
            n += (size_t)sprintf(out + n, "Z:%d ", (((*q & 0x3f) << 8) | (q + 1 < end ? q[1] : 0)) + 1);
            q += 2;
        } else {
            n += (size_t)sprintf(out + n, "v:%d,%d ", ((*q >> 2) & 0x1f) + 1, (*q & 3) + 1);
            q++;
        }
    }
    while (n > 0 && out[n - 1] == ' ') n--;
    reply_bulk(&c->out, out, n);
    free(out);
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key: Redis's HLL debugging command. GETREG and
 * TODENSE leave the value dense. */
static void cmd_pfdebug(client *c) {
    const uint8_t *p;
    size_t len;
    rkey *k = db_lookup_write(c->db, KEYARG(c, 2));

    if (!k) {
        reply_error(&c->out, "The specified key does not exist");
        return;
    }
    if (!hll_value_or_reply(c, k, &p, &len)) return;
    int getreg = arg_is(c, 1, "getreg"), todense = arg_is(c, 1, "todense");
    if (getreg || todense) {
        int conv = p[4] == HLL_SPARSE;
        if (conv) {
            hll_buf h;
            hll_copy(&h, p, len);
            if (hll_to_dense(&h) < 0) {
                free(h.p);
                reply_error(&c->out, hll_err_corrupt);
                return;
            }
            k = hll_store(c, 2, k, &h);
            free(h.p);
            p = (const uint8_t *)rkey_str(k, &len, NULL);
        }
        if (todense) {
            reply_int(&c->out, conv);
            return;
        }
        reply_array(&c->out, HLL_REGISTERS);
        for (long i = 0; i < HLL_REGISTERS; i++) reply_int(&c->out, hll_dense_get(p, i));
    } else if (arg_is(c, 1, "decode")) {
        pfdebug_decode(c, p, len);
    } else if (arg_is(c, 1, "encoding")) {
        reply_simple(&c->out, p[4] == HLL_SPARSE ? "sparse" : "dense");
    } else {
        reply_errorf(&c->out, "Unknown PFDEBUG subcommand '%.*s'", (int)c->argv[1].len, c->argv[1].ptr);
    }
}

/* PFSELFTEST: check the register packing and that sparse and dense values of the same
 * elements agree, within the estimator's error, as Redis's self test does (in less
 * time: up to 100000 elements). "+OK" or "-TESTFAILED <what>". */
static void cmd_pfselftest(client *c) {
    hll_buf sparse, dense;
    uint8_t empty[HLL_EMPTY_SIZE];
    char msg[128] = "";
    uint64_t rnd = 0x9e3779b97f4a7c15ULL;

    hll_init_empty(empty);
    hll_copy(&sparse, empty, sizeof empty);
    hll_copy(&dense, empty, sizeof empty);
    hll_to_dense(&dense);
    for (int pass = 0; pass < 20 && !msg[0]; pass++) {
        static uint8_t want[HLL_REGISTERS];
        uint8_t *regs = dense.p + HLL_HDR_SIZE;
        memset(regs, 0, HLL_DENSE_SIZE - HLL_HDR_SIZE);
        for (int i = 0; i < HLL_REGISTERS; i++) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            want[i] = (uint8_t)((rnd >> 33) & 63);
            if (want[i]) hll_set(&dense, i, want[i]);
        }
        for (int i = 0; i < HLL_REGISTERS && !msg[0]; i++)
            if (hll_dense_get(dense.p, i) != want[i]) snprintf(msg, sizeof msg, "Register error at %d", i);
    }
    memset(dense.p + HLL_HDR_SIZE, 0, HLL_DENSE_SIZE - HLL_HDR_SIZE);
    char e[32];
    double relerr = 1.04 / 128; /* 1.04 / sqrt(registers) */
    for (long n = 1; n <= 100000 && !msg[0]; n++) {
        int len = snprintf(e, sizeof e, "%ld", n);
        hll_add(&sparse, e, (size_t)len);
        hll_add(&dense, e, (size_t)len);
        if (n % 997 && n != 100000) continue;
        uint64_t cs = hll_count(sparse.p, sparse.len, NULL), cd = hll_count(dense.p, dense.len, NULL);
        double maxerr = n < 1000 ? relerr * 4 * n + 1 : relerr * 5 * n;
        if (cs != cd)
            snprintf(msg, sizeof msg, "Sparse and dense disagree: %llu != %llu", (unsigned long long)cs,
                     (unsigned long long)cd);
        else if ((double)cd > n + maxerr || (double)cd < n - maxerr)
            snprintf(msg, sizeof msg, "Too big error. card:%llu abserr:%f", (unsigned long long)cd, (double)cd - n);
    }
    free(sparse.p);
    free(dense.p);
    if (msg[0]) reply_errorf(&c->out, "-TESTFAILED %s", msg);
    else reply_ok(&c->out);
}

// clang-format off
const command_binding hll_commands[] = {
    CMD("pfadd", cmd_pfadd),
    CMD("pfcount", cmd_pfcount),
    CMD("pfmerge", cmd_pfmerge),
    CMD("pfdebug", cmd_pfdebug),
    CMD("pfselftest", cmd_pfselftest),
    {0},
};
// clang-format on
