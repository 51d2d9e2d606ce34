/* cmd_bitops.c: the bitmap commands on string values (SETBIT, GETBIT, BITCOUNT, BITPOS,
 * BITOP, BITFIELD, BITFIELD_RO) with Redis 7.0's semantics, replies and error texts.
 *
 * Bit numbering is Redis's: bit 0 is the most significant bit of byte 0. A string is an
 * array of bits zero-padded to the right: writing past the end grows the value with
 * zero bytes (db_string_resize), reading past it reads zeros. Offsets are capped by
 * proto-max-bulk-len (in bytes). A write makes the value raw, as Redis's
 * dbUnshareStringValue does (an integer-encoded value turns into its digits). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/notify.h"
#include "server/server.h"

#define KEYARG(c, i) (c)->argv[i].ptr, (c)->argv[i].len

/* Redis reports a string created by a command (not SET) as raw at any length; db.c
 * reports values stored by db_set_string up to this length as embstr. */
#define BIT_EMBSTR_MAX 44

static const char bit_err_offset[] = "bit offset is not an integer or out of range";

/* Redis's getBitOffsetFromArgument: argv[i] as a bit offset, or with hash set and bits
 * > 0, "#n" meaning n*bits. Returns 1, or replies and returns 0. */
static int bit_offset_or_reply(client *c, int i, int hash, int bits, uint64_t *out) {
    const char *p = c->argv[i].ptr;
    size_t n = c->argv[i].len;
    int usehash = hash && bits > 0 && n > 0 && p[0] == '#';
    long long v;
    long long max = server.cfg.proto_max_bulk_len > 0 ? server.cfg.proto_max_bulk_len : DB_STRING_MAX;

    if (!util_str2ll(p + usehash, n - (size_t)usehash, &v)) goto err;
    if (usehash) v = (long long)((unsigned long long)v * (unsigned long long)bits);
    if (v < 0 || (v >> 3) >= max) goto err;
    *out = (uint64_t)v;
    return 1;
err:
    reply_error(&c->out, bit_err_offset);
    return 0;
}

/* Redis's lookupStringForBitCommand: argv[1] as a writable raw string at least
 * maxbit/8+1 bytes long (created or zero-extended as needed, which touches the key).
 * *grew is set to 1 if the key was created or lengthened; if not, the caller touches
 * the key (db_touch) only if it changes a bit, as Redis signals. Returns the bytes
 * (valid until the db changes) with *len set, or NULL after replying WRONGTYPE. */
static uint8_t *bit_string_for_write(client *c, uint64_t maxbit, rkey **kp, size_t *len, int *grew) {
    rkey *k = db_lookup_write(c->db, KEYARG(c, 1));
    if (k && rkey_type(k) != OBJ_STRING) {
        reply_wrongtype(c);
        return NULL;
    }
    size_t need = (size_t)(maxbit >> 3) + 1, old = 0;
    if (!k) k = db_set_string(c->db, KEYARG(c, 1), "", 0, DB_SET_NOINT);
    else old = rkey_strlen(k);
    *len = need > old ? need : old;
    *grew = *len != old || old == 0;
    uint8_t *p = (uint8_t *)(*grew ? db_string_resize(c->db, &k, *len) : db_string_unshare(c->db, &k));
    *kp = k;
    return p;
}

/* argv[1] for reading: NULL (after replying WRONGTYPE, *wrong set) or if absent. */
static rkey *bit_string_for_read(client *c, int *wrong) {
    rkey *k = db_lookup_read(c->db, KEYARG(c, 1));
    *wrong = 0;
    if (k && rkey_type(k) != OBJ_STRING) {
        reply_wrongtype(c);
        *wrong = 1;
        return NULL;
    }
    return k;
}

/* SETBIT key offset value: the bit's old value. */
static void cmd_setbit(client *c) {
    uint64_t off;
    long long on;
    rkey *k;
    size_t len;
    int grew;

    if (!bit_offset_or_reply(c, 2, 0, 0, &off)) return;
    if (!arg_ll_or_reply_msg(c, 3, &on, "bit is not an integer or out of range")) return;
    if (on & ~1LL) {
        reply_error(&c->out, "bit is not an integer or out of range");
        return;
    }
    uint8_t *p = bit_string_for_write(c, off, &k, &len, &grew);
    if (!p) return;
    size_t byte = (size_t)(off >> 3);
    int bit = 7 - (int)(off & 7), old = (p[byte] >> bit) & 1;
    p[byte] = (uint8_t)((p[byte] & ~(1 << bit)) | ((int)on << bit));
    if (!grew && old != on) db_touch(c->db, k);
    if (grew || old != on) notify_arg(c, NOTIFY_STRING, "setbit", 1);
    reply_int(&c->out, old);
}

/* GETBIT key offset */
static void cmd_getbit(client *c) {
    uint64_t off;
    int wrong, bit = 0;
    char tmp[UTIL_LLSTR_SIZE];
    size_t len;

    if (!bit_offset_or_reply(c, 2, 0, 0, &off)) return;
    rkey *k = bit_string_for_read(c, &wrong);
    if (wrong) return;
    if (k) {
        const uint8_t *p = (const uint8_t *)rkey_str(k, &len, tmp);
        size_t byte = (size_t)(off >> 3);
        if (byte < len) bit = (p[byte] >> (7 - (off & 7))) & 1;
    }
    reply_int(&c->out, bit);
}

/* Set bits of a word (SWAR: no popcnt instruction is assumed). */
static inline uint64_t bit_pop64(uint64_t w) {
    w = w - ((w >> 1) & 0x5555555555555555ULL);
    w = (w & 0x3333333333333333ULL) + ((w >> 2) & 0x3333333333333333ULL);
    w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (w * 0x0101010101010101ULL) >> 56;
}

/* Set bits in n bytes. */
static long long bit_popcount(const uint8_t *p, size_t n) {
    uint64_t count = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        count += bit_pop64(w[0]) + bit_pop64(w[1]) + bit_pop64(w[2]) + bit_pop64(w[3]);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        count += bit_pop64(w);
    }
    for (; i < n; i++) count += bit_pop64(p[i]);
    return (long long)count;
}

/* Redis's redisBitpos: the position of the first bit equal to bit in n bytes; if none,
 * -1 when looking for 1, n*8 (the first bit past them) when looking for 0. */
static long long bit_first(const uint8_t *p, size_t n, int bit) {
    uint64_t skip = bit ? 0 : UINT64_MAX;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != skip) break;
    }
    for (; i < n; i++) {
        unsigned b = bit ? p[i] : (uint8_t)~p[i];
        if (b) return (long long)i * 8 + __builtin_clz(b) - (int)(sizeof(unsigned) * 8 - 8);
    }
    return bit ? -1 : (long long)n * 8;
}

/* A [start end [BYTE|BIT]] range over a string of len bytes, clamped as Redis does,
 * in bytes with masks of the out-of-range bits of the edge bytes (BIT ranges). */
typedef struct bit_range {
    long long start, end;
    uint8_t first_mask, last_mask;
} bit_range;

/* Clamp r (start/end already parsed, in bytes or bits) to a string of len bytes. */
static void bit_range_clamp(bit_range *r, long long len, int isbit) {
    long long tot = isbit ? len << 3 : len;
    if (r->start < 0) r->start += tot;
    if (r->end < 0) r->end += tot;
    if (r->start < 0) r->start = 0;
    if (r->end < 0) r->end = 0;
    if (r->end >= tot) r->end = tot - 1;
    r->first_mask = r->last_mask = 0;
    if (isbit && r->start <= r->end) {
        r->first_mask = (uint8_t)(~((1 << (8 - (r->start & 7))) - 1) & 0xff);
        r->last_mask = (uint8_t)((1 << (7 - (r->end & 7))) - 1);
        r->start >>= 3;
        r->end >>= 3;
    }
}

/* Parse a BYTE|BIT argument: 1 for BIT, 0 for BYTE, -1 after a syntax error reply. */
static int bit_unit_or_reply(client *c, int i) {
    if (arg_is(c, i, "bit")) return 1;
    if (arg_is(c, i, "byte")) return 0;
    reply_syntax_error(c);
    return -1;
}

/* BITCOUNT key [start end [BYTE|BIT]] */
static void cmd_bitcount(client *c) {
    char tmp[UTIL_LLSTR_SIZE];
    size_t len;
    int wrong, isbit = 0;
    bit_range r = {0, 0, 0, 0};

    rkey *k = bit_string_for_read(c, &wrong);
    if (wrong) return;
    if (!k) {
        reply_int(&c->out, 0);
        return;
    }
    const uint8_t *p = (const uint8_t *)rkey_str(k, &len, tmp);
    if (c->argc == 4 || c->argc == 5) {
        if (!arg_ll_or_reply(c, 2, &r.start) || !arg_ll_or_reply(c, 3, &r.end)) return;
        if (c->argc == 5 && (isbit = bit_unit_or_reply(c, 4)) < 0) return;
        if (r.start < 0 && r.end < 0 && r.start > r.end) {
            reply_int(&c->out, 0);
            return;
        }
        bit_range_clamp(&r, (long long)len, isbit);
    } else if (c->argc == 2) {
        r.end = (long long)len - 1;
    } else {
        reply_syntax_error(c);
        return;
    }
    if (r.start > r.end) {
        reply_int(&c->out, 0);
        return;
    }
    long long count = bit_popcount(p + r.start, (size_t)(r.end - r.start + 1));
    if (r.first_mask) count -= __builtin_popcount(p[r.start] & r.first_mask);
    if (r.last_mask) count -= __builtin_popcount(p[r.end] & r.last_mask);
    reply_int(&c->out, count);
}

/* BITPOS over r (clamped, start <= end) of p, as Redis's bitposCommand: the edge bytes
 * of a BIT range are searched with their out-of-range bits set to the opposite of bit. */
static long long bitpos_range(const uint8_t *p, bit_range r, int bit, int end_given) {
    long long bytes = r.end - r.start + 1, pos;
    uint8_t tmp;

    if (r.first_mask) {
        tmp = bit ? p[r.start] & ~r.first_mask : p[r.start] | r.first_mask;
        if (r.last_mask && bytes == 1) tmp = bit ? tmp & ~r.last_mask : tmp | r.last_mask;
        pos = bit_first(&tmp, 1, bit);
        if (bytes == 1 || (pos != -1 && pos != 8)) goto result;
        r.start++;
        bytes--;
    }
    long long cur = bytes - (r.last_mask ? 1 : 0);
    if (cur > 0) {
        pos = bit_first(p + r.start, (size_t)cur, bit);
        if (bytes == cur || (pos != -1 && pos != cur << 3)) goto result;
        r.start += cur;
        bytes -= cur;
    }
    tmp = bit ? p[r.end] & ~r.last_mask : p[r.end] | r.last_mask;
    pos = bit_first(&tmp, 1, bit);
result:
    if (end_given && bit == 0 && pos == bytes << 3) return -1;
    return pos != -1 ? pos + (r.start << 3) : -1;
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
static void cmd_bitpos(client *c) {
    char tmp[UTIL_LLSTR_SIZE];
    size_t len;
    long long bit;
    int wrong, isbit = 0, end_given = 0;
    bit_range r = {0, 0, 0, 0};

    if (!arg_ll_or_reply(c, 2, &bit)) return;
    if (bit != 0 && bit != 1) {
        reply_error(&c->out, "The bit argument must be 1 or 0.");
        return;
    }
    rkey *k = bit_string_for_read(c, &wrong);
    if (wrong) return;
    if (!k) {
        reply_int(&c->out, bit ? -1 : 0);
        return;
    }
    const uint8_t *p = (const uint8_t *)rkey_str(k, &len, tmp);
    if (c->argc >= 4 && c->argc <= 6) {
        if (!arg_ll_or_reply(c, 3, &r.start)) return;
        if (c->argc == 6 && (isbit = bit_unit_or_reply(c, 5)) < 0) return;
        if (c->argc >= 5) {
            if (!arg_ll_or_reply(c, 4, &r.end)) return;
            end_given = 1;
        } else {
            r.end = (long long)len - 1;
        }
        bit_range_clamp(&r, (long long)len, isbit);
    } else if (c->argc == 3) {
        r.end = (long long)len - 1;
    } else {
        reply_syntax_error(c);
        return;
    }
    if (r.start > r.end) reply_int(&c->out, -1);
    else reply_int(&c->out, bitpos_range(p, r, (int)bit, end_given));
}

enum { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

/* BITOP AND|OR|XOR|NOT destkey key [key ...]: the result's length (the longest source;
 * shorter ones are zero-padded). An empty result deletes destkey. */
static void cmd_bitop(client *c) {
    static const char *const names[] = {"and", "or", "xor", "not"};
    int op = -1, nsrc = c->argc - 3;
    size_t maxlen = 0;

    for (int i = 0; i < 4; i++)
        if (arg_is(c, 1, names[i])) op = i;
    if (op < 0) {
        reply_syntax_error(c);
        return;
    }
    if (op == BITOP_NOT && c->argc != 4) {
        reply_error(&c->out, "BITOP NOT must be called with a single source key.");
        return;
    }
    /* Pointers into the records stay valid: only other keys are looked up meanwhile. */
    const uint8_t **src = xcalloc((size_t)nsrc, sizeof *src);
    size_t *len = xcalloc((size_t)nsrc, sizeof *len);
    char(*tmp)[UTIL_LLSTR_SIZE] = xmalloc((size_t)nsrc * sizeof *tmp);
    for (int j = 0; j < nsrc; j++) {
        rkey *k = db_lookup_read(c->db, KEYARG(c, j + 3));
        if (!k) continue;
        if (rkey_type(k) != OBJ_STRING) {
            free(src);
            free(len);
            free(tmp);
            reply_wrongtype(c);
            return;
        }
        src[j] = (const uint8_t *)rkey_str(k, &len[j], tmp[j]);
        if (len[j] > maxlen) maxlen = len[j];
    }
    uint8_t *res = xmalloc(maxlen ? maxlen : 1);
    size_t minlen = maxlen, i = 0;
    for (int j = 0; j < nsrc; j++) minlen = len[j] < minlen ? len[j] : minlen;
    /* A word at a time while every source has bytes, then byte by byte with padding. */
    for (; i + 8 <= minlen; i += 8) {
        uint64_t out, w;
        memcpy(&out, src[0] + i, 8);
        if (op == BITOP_NOT) out = ~out;
        for (int j = 1; j < nsrc; j++) {
            memcpy(&w, src[j] + i, 8);
            if (op == BITOP_AND) out &= w;
            else if (op == BITOP_OR) out |= w;
            else out ^= w;
        }
        memcpy(res + i, &out, 8);
    }
    for (; i < maxlen; i++) {
        uint8_t out = i < len[0] ? src[0][i] : 0;
        if (op == BITOP_NOT) out = (uint8_t)~out;
        for (int j = 1; j < nsrc; j++) {
            uint8_t b = i < len[j] ? src[j][i] : 0;
            if (op == BITOP_AND) out &= b;
            else if (op == BITOP_OR) out |= b;
            else out ^= b;
        }
        res[i] = out;
    }
    free(src);
    free(len);
    free(tmp);
    if (maxlen) {
        rkey *k = db_set_string(c->db, KEYARG(c, 2), (const char *)res, maxlen, DB_SET_NOINT);
        if (maxlen <= BIT_EMBSTR_MAX) db_string_resize(c->db, &k, maxlen);
        notify_arg(c, NOTIFY_STRING, "set", 2);
    } else if (db_delete(c->db, KEYARG(c, 2))) {
        notify_arg(c, NOTIFY_GENERIC, "del", 2);
    }
    free(res);
    reply_int(&c->out, (long long)maxlen);
}

/* ---- BITFIELD ---- */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { BF_WRAP, BF_SAT, BF_FAIL };

typedef struct bf_op {
    uint64_t offset;
    int64_t value;
    int opcode, overflow, bits, sign;
} bf_op;

static uint64_t bf_get_unsigned(const uint8_t *p, uint64_t offset, int bits) {
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++) v = v << 1 | ((p[offset >> 3] >> (7 - (offset & 7))) & 1);
    return v;
}

static int64_t bf_get_signed(const uint8_t *p, uint64_t offset, int bits) {
    uint64_t v = bf_get_unsigned(p, offset, bits);
    if (bits < 64 && (v & (1ULL << (bits - 1)))) v |= UINT64_MAX << bits;
    return (int64_t)v;
}

static void bf_set(uint8_t *p, uint64_t offset, int bits, uint64_t v) {
    for (int j = 0; j < bits; j++, offset++) {
        int bit = 7 - (int)(offset & 7), b = (int)((v >> (bits - 1 - j)) & 1);
        p[offset >> 3] = (uint8_t)((p[offset >> 3] & ~(1 << bit)) | (b << bit));
    }
}

/* Redis's checkUnsignedBitfieldOverflow: 0 if value+incr fits in bits, else 1 (over)
 * or -1 (under) with *limit the wrapped or saturated result. */
static int bf_overflow_unsigned(uint64_t value, int64_t incr, int bits, int mode, uint64_t *limit) {
    uint64_t max = bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;
    int64_t maxincr = (int64_t)(max - value), minincr = (int64_t)(0 - value);
    int r;
    if (value > max || (incr > 0 && incr > maxincr)) r = 1;
    else if (incr < 0 && incr < minincr) r = -1;
    else return 0;
    if (mode == BF_WRAP) *limit = (value + (uint64_t)incr) & ~(UINT64_MAX << bits);
    else if (mode == BF_SAT) *limit = r > 0 ? max : 0;
    return r;
}

/* Redis's checkSignedBitfieldOverflow, same contract. */
static int bf_overflow_signed(int64_t value, int64_t incr, int bits, int mode, int64_t *limit) {
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)((1ULL << (bits - 1)) - 1), min = -max - 1;
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value), minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int r;
    if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) r = 1;
    else if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr)) r = -1;
    else return 0;
    if (mode == BF_WRAP) {
        uint64_t sum = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            if (sum & (1ULL << (bits - 1))) sum |= mask;
            else sum &= ~mask;
        }
        *limit = (int64_t)sum;
    } else if (mode == BF_SAT) {
        *limit = r > 0 ? max : min;
    }
    return r;
}

/* Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63. Returns 1, or replies. */
static int bf_type_or_reply(client *c, int i, int *sign, int *bits) {
    const char *p = c->argv[i].ptr;
    size_t n = c->argv[i].len;
    long long v;
    if (n > 0 && (p[0] == 'i' || p[0] == 'u') && util_str2ll(p + 1, strnlen(p + 1, n - 1), &v) && v >= 1 &&
        v <= (p[0] == 'i' ? 64 : 63)) {
        *sign = p[0] == 'i';
        *bits = (int)v;
        return 1;
    }
    reply_error(&c->out,
                "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
    return 0;
}

/* Parse BITFIELD's operations into *ops (caller frees). Returns the count, or -1 after
 * replying. *highest is the last bit a write reaches, *readonly 1 if only GETs. */
static int bf_parse(client *c, bf_op **ops, uint64_t *highest, int *readonly) {
    int n = 0, overflow = BF_WRAP;
    *ops = NULL;
    *highest = 0;
    *readonly = 1;
    for (int j = 2; j < c->argc; j++) {
        int rem = c->argc - j - 1, opcode;
        bf_op op = {0};
        if (arg_is(c, j, "get") && rem >= 2) opcode = BF_GET;
        else if (arg_is(c, j, "set") && rem >= 3) opcode = BF_SET;
        else if (arg_is(c, j, "incrby") && rem >= 3) opcode = BF_INCRBY;
        else if (arg_is(c, j, "overflow") && rem >= 1) {
            j++;
            if (arg_is(c, j, "wrap")) overflow = BF_WRAP;
            else if (arg_is(c, j, "sat")) overflow = BF_SAT;
            else if (arg_is(c, j, "fail")) overflow = BF_FAIL;
            else {
                reply_error(&c->out, "Invalid OVERFLOW type specified");
                return -1;
            }
            continue;
        } else {
            reply_syntax_error(c);
            return -1;
        }
        if (!bf_type_or_reply(c, j + 1, &op.sign, &op.bits)) return -1;
        if (!bit_offset_or_reply(c, j + 2, 1, op.bits, &op.offset)) return -1;
        if (opcode != BF_GET) {
            long long v;
            *readonly = 0;
            if (*highest < op.offset + (uint64_t)op.bits - 1) *highest = op.offset + (uint64_t)op.bits - 1;
            if (!arg_ll_or_reply(c, j + 3, &v)) return -1;
            op.value = v;
        }
        op.opcode = opcode;
        op.overflow = overflow;
        *ops = xrealloc(*ops, sizeof(bf_op) * (size_t)(n + 1));
        (*ops)[n++] = op;
        j += opcode == BF_GET ? 2 : 3;
    }
    return n;
}

/* SET or INCRBY on the writable bytes p: reply the old (SET) or new (INCRBY) value, or
 * null if OVERFLOW FAIL refused the write. Returns 1 if the field's value changed. */
static int bf_write(client *c, uint8_t *p, const bf_op *op) {
    int of;
    if (op->sign) {
        int64_t old = bf_get_signed(p, op->offset, op->bits), nv, wrapped = 0, ret;
        if (op->opcode == BF_INCRBY) {
            of = bf_overflow_signed(old, op->value, op->bits, op->overflow, &wrapped);
            nv = of ? wrapped : (int64_t)((uint64_t)old + (uint64_t)op->value);
            ret = nv;
        } else {
            nv = op->value;
            of = bf_overflow_signed(nv, 0, op->bits, op->overflow, &wrapped);
            if (of) nv = wrapped;
            ret = old;
        }
        if (of && op->overflow == BF_FAIL) {
            reply_null(&c->out);
            return 0;
        }
        reply_int(&c->out, ret);
        bf_set(p, op->offset, op->bits, (uint64_t)nv);
        return old != nv;
    } else {
        uint64_t old = bf_get_unsigned(p, op->offset, op->bits), nv, wrapped = 0, ret;
        if (op->opcode == BF_INCRBY) {
            of = bf_overflow_unsigned(old, op->value, op->bits, op->overflow, &wrapped);
            nv = of ? wrapped : old + (uint64_t)op->value;
            ret = nv;
        } else {
            nv = (uint64_t)op->value;
            of = bf_overflow_unsigned(nv, 0, op->bits, op->overflow, &wrapped);
            if (of) nv = wrapped;
            ret = old;
        }
        if (of && op->overflow == BF_FAIL) {
            reply_null(&c->out);
            return 0;
        }
        reply_int(&c->out, (long long)ret);
        bf_set(p, op->offset, op->bits, nv);
        return old != nv;
    }
}

/* GET over the value's len bytes p (NULL if absent): reads past the end are zeros. */
static void bf_read(client *c, const uint8_t *p, size_t len, const bf_op *op) {
    uint8_t buf[9] = {0};
    uint64_t byte = op->offset >> 3;
    for (uint64_t i = 0; i < 9 && p && byte + i < len; i++) buf[i] = p[byte + i];
    uint64_t off = op->offset - byte * 8;
    if (op->sign) reply_int(&c->out, bf_get_signed(buf, off, op->bits));
    else reply_int(&c->out, (long long)bf_get_unsigned(buf, off, op->bits));
}

/* BITFIELD and BITFIELD_RO (ro set: only GET allowed). */
static void bitfield_generic(client *c, int ro) {
    bf_op *ops;
    uint64_t highest;
    int readonly;
    int n = bf_parse(c, &ops, &highest, &readonly), grew = 0, changed = 0;
    rkey *k = NULL;
    const uint8_t *rp = NULL;
    uint8_t *wp = NULL;
    size_t len = 0;
    char tmp[UTIL_LLSTR_SIZE];

    if (n < 0) {
        free(ops);
        return;
    }
    if (readonly) {
        int wrong;
        k = bit_string_for_read(c, &wrong);
        if (wrong) {
            free(ops);
            return;
        }
        if (k) rp = (const uint8_t *)rkey_str(k, &len, tmp);
    } else {
        if (ro) {
            free(ops);
            reply_error(&c->out, "BITFIELD_RO only supports the GET subcommand");
            return;
        }
        if (!(wp = bit_string_for_write(c, highest, &k, &len, &grew))) {
            free(ops);
            return;
        }
        rp = wp;
    }
    reply_array(&c->out, n);
    for (int j = 0; j < n; j++) {
        if (ops[j].opcode == BF_GET) bf_read(c, rp, len, &ops[j]);
        else changed |= bf_write(c, wp, &ops[j]);
    }
    if (changed && !grew) db_touch(c->db, k);
    if (changed) notify_arg(c, NOTIFY_STRING, "setbit", 1);
    free(ops);
}

static void cmd_bitfield(client *c) { bitfield_generic(c, 0); }
static void cmd_bitfield_ro(client *c) { bitfield_generic(c, 1); }

// clang-format off
const command_binding bitops_commands[] = {
    CMD("setbit", cmd_setbit),
    CMD("getbit", cmd_getbit),
    CMD("bitcount", cmd_bitcount),
    CMD("bitpos", cmd_bitpos),
    CMD("bitop", cmd_bitop),
    CMD("bitfield", cmd_bitfield),
    CMD("bitfield_ro", cmd_bitfield_ro),
    {0},
};
// clang-format on
