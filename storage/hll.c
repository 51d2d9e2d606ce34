/* hll.c: HyperLogLog in Redis's string representation, so that a value moved between
 * respite and Redis (GET one side, SET the other) keeps counting and PFCOUNT gives the
 * same number. The layout is Redis's and must stay byte for byte identical:
 *
 *   +------+---+-----+----------+---------------------------+
 *   | HYLL | E | N/U | card (8) | registers ...             |
 *   +------+---+-----+----------+---------------------------+
 *
 * 16 header bytes: the magic "HYLL", the encoding E (0 dense, 1 sparse), 3 unused
 * zero bytes, and a cached cardinality, little endian, whose top bit (bit 7 of byte 15)
 * set means "stale". 16384 registers (the low 14 bits of a 64-bit MurmurHash64A, seed
 * 0xadc83b19, choose one; the register keeps the longest run of zeros + 1 seen in the
 * other 50 bits, 1..51).
 *
 * Dense: 6 bits a register, 12288 bytes, register i at bit 6i counting from the least
 * significant bit of each byte (a register may straddle two bytes).
 *
 * Sparse: a run-length sequence of opcodes covering exactly the 16384 registers:
 *   ZERO  00xxxxxx           x+1 (1..64) registers at 0
 *   XZERO 01xxxxxx yyyyyyyy  (x<<8|y)+1 (1..16384) registers at 0
 *   VAL   1vvvvvxx           x+1 (1..4) registers at v+1 (1..32)
 * A register over 32, or a sparse value growing past hll_sparse_max_bytes, promotes
 * the value to dense. Changing a run splits it into at most three opcodes, then
 * adjacent equal VAL runs near the change are merged, exactly as Redis does, since
 * the bytes are observable through GET.
 *
 * The estimator is Redis 7's (Otmar Ertl's improved raw estimator: a histogram of
 * register values through the tau and sigma corrections), so counts match exactly. */
#include "storage/hll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define HLL_Q         (64 - HLL_P) /* hash bits that feed the run length */
#define HLL_P_MASK    (HLL_REGISTERS - 1)
#define HLL_REG_MAX   63
#define HLL_ALPHA_INF 0.721347520444481703680 /* 1 / (2 ln 2) */

#define SP_ZERO_MAX  64
#define SP_XZERO_MAX 16384
#define SP_VAL_MAX_V 32
#define SP_VAL_MAX_L 4

#define SP_IS_ZERO(p)  ((*(p)&0xc0) == 0)
#define SP_IS_XZERO(p) ((*(p)&0xc0) == 0x40)
#define SP_IS_VAL(p)   ((*(p)&0x80) != 0)
#define SP_ZERO_LEN(p) ((*(p)&0x3f) + 1)
#define SP_VAL_V(p)    (((*(p) >> 2) & 0x1f) + 1)
#define SP_VAL_LEN(p)  ((*(p)&0x3) + 1)

size_t hll_sparse_max_bytes = 3000;

static const char hll_magic[4] = {'H', 'Y', 'L', 'L'};

/* An XZERO's length. A truncated one (its second byte missing) reads that byte as 0,
 * as Redis does (it reads the string's terminator): corrupt values fail the same way. */
static inline long sp_xzero_len(const uint8_t *p, const uint8_t *end) {
    return (((long)(*p & 0x3f) << 8) | (p + 1 < end ? p[1] : 0)) + 1;
}

static inline void sp_set_zero(uint8_t *p, int len) { *p = (uint8_t)(len - 1); }
static inline void sp_set_xzero(uint8_t *p, int len) {
    p[0] = (uint8_t)(((len - 1) >> 8) | 0x40);
    p[1] = (uint8_t)((len - 1) & 0xff);
}
static inline void sp_set_val(uint8_t *p, int v, int len) { *p = (uint8_t)(((v - 1) << 2) | (len - 1) | 0x80); }

/* Dense register access; regs has (HLL_REGISTERS*6)/8 bytes and no byte past them. */
static inline int dense_get(const uint8_t *regs, long i) {
    size_t byte = (size_t)i * 6 / 8;
    unsigned fb = (unsigned)(i * 6) & 7, fb8 = 8 - fb;
    unsigned b0 = regs[byte], b1 = byte + 1 < HLL_DENSE_SIZE - HLL_HDR_SIZE ? regs[byte + 1] : 0;
    return (int)(((b0 >> fb) | (b1 << fb8)) & HLL_REG_MAX);
}

static inline void dense_set(uint8_t *regs, long i, int val) {
    size_t byte = (size_t)i * 6 / 8;
    unsigned fb = (unsigned)(i * 6) & 7, fb8 = 8 - fb, v = (unsigned)val;
    regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REG_MAX << fb)) | (v << fb));
    if (byte + 1 < HLL_DENSE_SIZE - HLL_HDR_SIZE)
        regs[byte + 1] = (uint8_t)((regs[byte + 1] & ~(HLL_REG_MAX >> fb8)) | (v >> fb8));
}

/* Every register of a dense value, four per three bytes. */
static void dense_unpack(const uint8_t *regs, uint8_t out[HLL_REGISTERS]) {
    for (long i = 0; i < HLL_REGISTERS; i += 4, regs += 3) {
        unsigned b0 = regs[0], b1 = regs[1], b2 = regs[2];
        out[i] = (uint8_t)(b0 & 63);
        out[i + 1] = (uint8_t)((b0 >> 6) | ((b1 & 15) << 2));
        out[i + 2] = (uint8_t)((b1 >> 4) | ((b2 & 3) << 4));
        out[i + 3] = (uint8_t)(b2 >> 2);
    }
}

int hll_dense_get(const uint8_t *p, long index) { return dense_get(p + HLL_HDR_SIZE, index); }

uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed) {
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ (len * m);
    const uint8_t *data = key, *end = data + (len - (len & 7));

    for (; data != end; data += 8) {
        uint64_t k = (uint64_t)data[0] | (uint64_t)data[1] << 8 | (uint64_t)data[2] << 16 | (uint64_t)data[3] << 24 |
                     (uint64_t)data[4] << 32 | (uint64_t)data[5] << 40 | (uint64_t)data[6] << 48 |
                     (uint64_t)data[7] << 56;
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    switch (len & 7) {
        case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
        case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
        case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
        case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
        case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
        case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
        case 1: h ^= (uint64_t)data[0]; h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

int hll_pattern(const void *ele, size_t n, long *index) {
    uint64_t hash = hll_murmur64a(ele, n, 0xadc83b19ULL);
    *index = (long)(hash & HLL_P_MASK);
    hash >>= HLL_P;
    hash |= 1ULL << HLL_Q; /* a sentinel so the loop ends */
    int count = 1;
    for (uint64_t bit = 1; !(hash & bit); bit <<= 1) count++;
    return count;
}

void hll_init_empty(uint8_t out[HLL_EMPTY_SIZE]) {
    memset(out, 0, HLL_EMPTY_SIZE);
    memcpy(out, hll_magic, 4);
    out[4] = HLL_SPARSE;
    sp_set_xzero(out + HLL_HDR_SIZE, HLL_REGISTERS);
}

int hll_is_valid(const uint8_t *p, size_t len) {
    if (len < HLL_HDR_SIZE || memcmp(p, hll_magic, 4) != 0 || p[4] > HLL_SPARSE) return 0;
    return p[4] != HLL_DENSE || len == HLL_DENSE_SIZE;
}

int hll_cache_valid(const uint8_t *p) { return (p[15] & 0x80) == 0; }
void hll_invalidate(uint8_t *p) { p[15] |= 0x80; }

uint64_t hll_cache_get(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[8 + i];
    return v;
}

void hll_cache_set(uint8_t *p, uint64_t card) {
    for (int i = 0; i < 8; i++) p[8 + i] = (uint8_t)(card >> (8 * i));
}

/* Make room for extra more bytes in an owned buffer. */
static void buf_reserve(hll_buf *h, size_t extra) {
    if (h->len + extra <= h->cap) return;
    h->cap = h->len + extra;
    h->p = xrealloc(h->p, h->cap);
}

int hll_to_dense(hll_buf *h) {
    if (h->p[4] == HLL_DENSE) return 0;
    uint8_t *d = xcalloc(1, HLL_DENSE_SIZE), *regs = d + HLL_HDR_SIZE;
    const uint8_t *p = h->p + HLL_HDR_SIZE, *end = h->p + h->len;
    long idx = 0;

    memcpy(d, h->p, HLL_HDR_SIZE);
    d[4] = HLL_DENSE;
    while (p < end) {
        if (SP_IS_ZERO(p)) {
            idx += SP_ZERO_LEN(p);
            p++;
        } else if (SP_IS_XZERO(p)) {
            idx += sp_xzero_len(p, end);
            p += 2;
        } else {
            int run = SP_VAL_LEN(p), v = SP_VAL_V(p);
            if (idx + run > HLL_REGISTERS) break; /* a run past the last register: corrupt */
            while (run--) dense_set(regs, idx++, v);
            p++;
        }
    }
    if (idx != HLL_REGISTERS || p < end) {
        free(d);
        return -1;
    }
    free(h->p);
    h->p = d;
    h->len = h->cap = HLL_DENSE_SIZE;
    return 0;
}

/* Redis's hllSparseSet: the general split of the run holding index, then the merge
 * of adjacent equal VAL opcodes around it. */
static int sparse_set(hll_buf *h, long index, int count) {
    if (count > SP_VAL_MAX_V) goto promote;
    buf_reserve(h, 4); /* a split adds at most 3 bytes; a truncated XZERO one more */

    uint8_t *sparse = h->p + HLL_HDR_SIZE, *p = sparse, *end = h->p + h->len, *prev = NULL, *next;
    long first = 0, span = 0;
    while (p < end) {
        long oplen = 1;
        if (SP_IS_ZERO(p)) {
            span = SP_ZERO_LEN(p);
        } else if (SP_IS_VAL(p)) {
            span = SP_VAL_LEN(p);
        } else {
            span = sp_xzero_len(p, end);
            oplen = 2;
        }
        if (index <= first + span - 1) break;
        prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end) return -1;

    next = SP_IS_XZERO(p) ? p + 2 : p + 1;
    if (next >= end) next = NULL;
    int is_zero = SP_IS_ZERO(p), is_xzero = SP_IS_XZERO(p), is_val = SP_IS_VAL(p);
    long runlen = is_zero ? SP_ZERO_LEN(p) : is_xzero ? sp_xzero_len(p, end) : SP_VAL_LEN(p);

    if (is_val) {
        if (SP_VAL_V(p) >= count) return 0;
        if (runlen == 1) {
            sp_set_val(p, count, 1);
            goto updated;
        }
    }
    if (is_zero && runlen == 1) {
        sp_set_val(p, count, 1);
        goto updated;
    }

    uint8_t seq[5], *n = seq;
    long last = first + span - 1, len;
    if (is_zero || is_xzero) {
        if (index != first) {
            len = index - first;
            if (len > SP_ZERO_MAX) sp_set_xzero(n, (int)len), n += 2;
            else sp_set_zero(n, (int)len), n++;
        }
        sp_set_val(n++, count, 1);
        if (index != last) {
            len = last - index;
            if (len > SP_ZERO_MAX) sp_set_xzero(n, (int)len), n += 2;
            else sp_set_zero(n, (int)len), n++;
        }
    } else {
        int cur = SP_VAL_V(p);
        if (index != first) sp_set_val(n++, cur, (int)(index - first));
        sp_set_val(n++, count, 1);
        if (index != last) sp_set_val(n++, cur, (int)(last - index));
    }

    long seqlen = n - seq, oldlen = is_xzero ? 2 : 1, delta = seqlen - oldlen;
    if (delta > 0 && h->len + (size_t)delta > hll_sparse_max_bytes) goto promote;
    if (delta && next) memmove(next + delta, next, (size_t)(end - next));
    h->len = (size_t)((long)h->len + delta);
    memcpy(p, seq, (size_t)seqlen);
    end += delta;

updated:
    p = prev ? prev : sparse;
    for (int scan = 5; p < end && scan--;) {
        if (SP_IS_XZERO(p)) {
            p += 2;
            continue;
        }
        if (SP_IS_ZERO(p)) {
            p++;
            continue;
        }
        if (p + 1 < end && SP_IS_VAL(p + 1)) {
            int v1 = SP_VAL_V(p), v2 = SP_VAL_V(p + 1);
            if (v1 == v2) {
                int l = SP_VAL_LEN(p) + SP_VAL_LEN(p + 1);
                if (l <= SP_VAL_MAX_L) {
                    sp_set_val(p + 1, v1, l);
                    memmove(p, p + 1, (size_t)(end - p));
                    h->len--;
                    end--;
                    continue;
                }
            }
        }
        p++;
    }
    hll_invalidate(h->p);
    return 1;

promote:
    if (hll_to_dense(h) < 0) return -1;
    return hll_set(h, (int)index, count);
}

int hll_set(hll_buf *h, int index, int count) {
    if (h->p[4] == HLL_SPARSE) return sparse_set(h, index, count);
    if (h->p[4] != HLL_DENSE) return -1;
    uint8_t *regs = h->p + HLL_HDR_SIZE;
    if (dense_get(regs, index) >= count) return 0;
    dense_set(regs, index, count);
    return 1;
}

int hll_add(hll_buf *h, const void *ele, size_t n) {
    long index;
    int count = hll_pattern(ele, n, &index);
    return hll_set(h, (int)index, count);
}

/* sigma and tau of Ertl's estimator, as Redis's hllSigma / hllTau. */
static double hll_sigma(double x) {
    if (x == 1.) return INFINITY;
    double zp, y = 1, z = x;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double hll_tau(double x) {
    if (x == 0. || x == 1.) return 0.;
    double zp, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zp != z);
    return z / 3;
}

static uint64_t hll_estimate(const int *histo) {
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

uint64_t hll_count(const uint8_t *p, size_t len, int *invalid) {
    int histo[64] = {0};
    if (p[4] == HLL_DENSE) {
        uint8_t regs[HLL_REGISTERS];
        dense_unpack(p + HLL_HDR_SIZE, regs);
        for (long i = 0; i < HLL_REGISTERS; i++) histo[regs[i]]++;
    } else {
        const uint8_t *q = p + HLL_HDR_SIZE, *end = p + len;
        long idx = 0;
        while (q < end) {
            long run;
            if (SP_IS_ZERO(q)) {
                run = SP_ZERO_LEN(q), q++;
                histo[0] += (int)run;
            } else if (SP_IS_XZERO(q)) {
                run = sp_xzero_len(q, end), q += 2;
                histo[0] += (int)run;
            } else {
                run = SP_VAL_LEN(q);
                histo[SP_VAL_V(q)] += (int)run;
                q++;
            }
            idx += run;
            if (idx > HLL_REGISTERS) break; /* keep histo's sum bounded: it is corrupt */
        }
        if (idx != HLL_REGISTERS && invalid) *invalid = 1;
    }
    return hll_estimate(histo);
}

uint64_t hll_count_raw(const uint8_t regs[HLL_REGISTERS]) {
    int histo[64] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++) histo[regs[i] & 63]++;
    return hll_estimate(histo);
}

int hll_merge(uint8_t max[HLL_REGISTERS], const uint8_t *p, size_t len) {
    if (p[4] == HLL_DENSE) {
        uint8_t regs[HLL_REGISTERS];
        dense_unpack(p + HLL_HDR_SIZE, regs);
        for (long i = 0; i < HLL_REGISTERS; i++) max[i] = regs[i] > max[i] ? regs[i] : max[i];
        return 0;
    }
    const uint8_t *q = p + HLL_HDR_SIZE, *end = p + len;
    long i = 0;
    while (q < end) {
        if (SP_IS_ZERO(q)) {
            i += SP_ZERO_LEN(q);
            q++;
        } else if (SP_IS_XZERO(q)) {
            i += sp_xzero_len(q, end);
            q += 2;
        } else {
            int run = SP_VAL_LEN(q), v = SP_VAL_V(q);
            if (i + run > HLL_REGISTERS)
                return -1; /* corrupt, even after a complete run (redis-server 7.0.15 agrees) */
            while (run--) {
                if (v > max[i]) max[i] = (uint8_t)v;
                i++;
            }
            q++;
        }
    }
    return i == HLL_REGISTERS ? 0 : -1;
}
