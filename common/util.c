/* util.c: number parsing and formatting with Redis's exact rules, Redis's glob matcher,
 * a keyed 64-bit hash (SipHash-1-3) and clocks.
 *
 * The parsers and formatters reproduce Redis 7.0's util.c behaviour byte for byte,
 * because their accept/reject decisions and texts are visible to clients (INCR on "01"
 * is an error, INCRBYFLOAT prints "10.6", not "10.59999..."). Inputs are (pointer,
 * length) slices that are not NUL-terminated, so anything that needs libc's strto*
 * copies into a bounded local buffer first. */
#include "common/xmalloc.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- integers ---- */

int util_str2ll(const char *s, size_t len, long long *out) {
    size_t i = 0;
    int negative = 0;
    unsigned long long v;

    /* Redis rejects empty strings and anything of LONG_STR_SIZE (21) bytes or more. */
    if (len == 0 || len >= 21) return 0;
    if (len == 1 && s[0] == '0') {
        if (out) *out = 0;
        return 1;
    }
    if (s[0] == '-') {
        negative = 1;
        if (++i == len) return 0;
    }
    if (s[i] < '1' || s[i] > '9') return 0;
    v = (unsigned long long)(s[i++] - '0');
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ULLONG_MAX / 10) return 0;
        v *= 10;
        if (v > ULLONG_MAX - d) return 0;
        v += d;
        i++;
    }
    if (i < len) return 0;
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        if (out) *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        if (out) *out = (long long)v;
    }
    return 1;
}

int util_str2ull(const char *s, size_t len, unsigned long long *out) {
    size_t i;
    unsigned long long v = 0;

    if (len == 0 || len >= 21) return 0;
    if (len == 1 && s[0] == '0') {
        if (out) *out = 0;
        return 1;
    }
    if (s[0] < '1' || s[0] > '9') return 0;
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') return 0;
        d = (unsigned)(s[i] - '0');
        if (v > ULLONG_MAX / 10 || v * 10 > ULLONG_MAX - d) return 0;
        v = v * 10 + d;
    }
    if (out) *out = v;
    return 1;
}

int util_strtoull_redis(const char *s, size_t len, unsigned long long *out) {
    char buf[64];
    char *end;
    long long ll;
    unsigned long long v;

    if (util_str2ll(s, len, &ll)) {
        if (ll < 0) return 0;
        *out = (unsigned long long)ll;
        return 1;
    }
    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtoull(buf, &end, 10);
    if (errno == EINVAL || errno == ERANGE || *end != '\0') return 0;
    *out = v;
    return 1;
}

int util_ll2str(char *dst, long long v) {
    char tmp[UTIL_LLSTR_SIZE];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int n = 0, len = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) dst[len++] = '-';
    while (n) dst[len++] = tmp[--n];
    dst[len] = '\0';
    return len;
}

/* ---- floating point ---- */

int util_str2ld(const char *s, size_t len, long double *out) {
    char buf[UTIL_LDSTR_SIZE]; /* MAX_LONG_DOUBLE_CHARS */
    char *end;
    long double v;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) || errno == EINVAL ||
        isnan(v))
        return 0;
    if (out) *out = v;
    return 1;
}

int util_str2d(const char *s, size_t len, double *out) {
    char small[128];
    char *buf = small, *end;
    double v;
    int ok;

    if (len == 0) return 0;
    /* Redis parses the NUL-terminated sds: an embedded NUL stops strtod early, which
     * then fails the "whole string consumed" test. */
    if (len >= sizeof(small)) { buf = xmalloc(len + 1); }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    ok = !(isspace((unsigned char)buf[0]) || (size_t)(end - buf) != len ||
           (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) || isnan(v));
    if (buf != small) free(buf);
    if (ok && out) *out = v;
    return ok;
}

int util_ld2str(char *buf, size_t size, long double v) {
    int n;
    size_t l;

    if (isinf(v)) {
        if (size < 5) goto err;
        l = v > 0 ? 3 : 4;
        memcpy(buf, v > 0 ? "inf" : "-inf", l);
        buf[l] = '\0';
        return (int)l;
    }
    n = snprintf(buf, size, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > size) goto err;
    l = (size_t)n;
    if (memchr(buf, '.', l)) {
        while (buf[l - 1] == '0') l--;
        if (buf[l - 1] == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return (int)l;
err:
    if (size > 0) buf[0] = '\0';
    return 0;
}

int util_d2str(char *buf, size_t size, double v) {
    const char *lit = NULL;
    int n;

    if (isinf(v)) lit = v > 0 ? "inf" : "-inf";
    else if (isnan(v)) lit = "nan";
    /* An integral value below 2^53 prints as its digits under "%.17g" (at most 16 of
     * them, no exponent): format it as an integer, much faster than printf's float path
     * (scores are mostly integers). Zero keeps printf for its sign. */
    if (!lit && v != 0 && v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v &&
        size >= UTIL_LLSTR_SIZE)
        return util_ll2str(buf, (long long)v);
    if (lit) n = snprintf(buf, size, "%s", lit);
    else n = snprintf(buf, size, "%.17g", v);
    if (n < 0) n = 0;
    if (size > 0 && (size_t)n >= size) n = (int)size - 1;
    return n;
}

/* ---- glob matching ----
 * A transcription of Redis's stringmatchlen (7.0, including the 7.0.9 early exit that
 * makes "a*a*a*...b" linear, and the 1000-level '*' nesting cap later Redis versions
 * added against stack exhaustion). Redis runs on NUL-terminated sds strings and a few
 * of its steps peek one byte past the pattern's end; pc() reproduces that by reading
 * the byte at the end as '\0'. Every pattern element consumes exactly one string byte;
 * an unterminated '[' swallows the rest of the pattern; a trailing '\\' is literal. */

static inline int pc(const char *pat, size_t len, size_t i) { return i < len ? (unsigned char)pat[i] : 0; }

static int match_impl(const char *pat, size_t plen, const char *str, size_t slen, int nocase, int *skip_longer,
                      int nesting) {
    size_t p = 0, s = 0; /* cursors into pat and str */

    if (nesting > 1000) return 0;
    while (p < plen && s < slen) {
        int sc = (unsigned char)str[s];
        switch (pat[p]) {
            case '*':
                while (pc(pat, plen, p + 1) == '*') p++;
                if (plen - p == 1) return 1;
                while (s < slen) {
                    if (match_impl(pat + p + 1, plen - p - 1, str + s, slen - s, nocase, skip_longer, nesting + 1))
                        return 1;
                    if (*skip_longer) return 0;
                    s++;
                }
                /* The rest of the pattern matches nowhere in the rest of the string, so no
             * earlier '*' can help by matching more: give up everywhere. */
                *skip_longer = 1;
                return 0;
            case '?': s++; break;
            case '[': {
                int not, match = 0;
                p++;
                not = pc(pat, plen, p) == '^';
                if (not ) p++;
                for (;;) {
                    int c0 = pc(pat, plen, p);
                    if (c0 == '\\' && plen - p >= 2) {
                        p++;
                        if ((unsigned char)pat[p] == sc) match = 1;
                    } else if (c0 == ']' && p < plen) {
                        break;
                    } else if (p >= plen) {
                        p--; /* the unterminated class ends the pattern */
                        break;
                    } else if (plen - p >= 3 && pat[p + 1] == '-') {
                        int start = (unsigned char)pat[p], end = (unsigned char)pat[p + 2];
                        int c = sc;
                        if (start > end) {
                            int t = start;
                            start = end;
                            end = t;
                        }
                        if (nocase) {
                            start = tolower(start);
                            end = tolower(end);
                            c = tolower(c);
                        }
                        p += 2;
                        if (c >= start && c <= end) match = 1;
                    } else if (!nocase ? c0 == sc : tolower(c0) == tolower(sc)) {
                        match = 1;
                    }
                    p++;
                }
                if (not ) match = !match;
                if (!match) return 0;
                s++;
                break;
            }
            case '\\':
                if (plen - p >= 2) p++;
                /* fall through */
            default: {
                int c0 = (unsigned char)pat[p];
                if (!nocase ? c0 != sc : tolower(c0) != tolower(sc)) return 0;
                s++;
                break;
            }
        }
        p++;
        if (s == slen) {
            while (p < plen && pat[p] == '*') p++;
            break;
        }
    }
    return p >= plen && s == slen;
}

int util_stringmatch(const char *pat, size_t patlen, const char *s, size_t slen, int nocase) {
    int skip_longer = 0;
    return match_impl(pat, patlen, s, slen, nocase, &skip_longer, 0);
}

/* ---- hashing: SipHash-1-3 (one compression round, three finalisation rounds) ---- */

static uint64_t hash_k0 = 0x736f6d6570736575ULL, hash_k1 = 0x646f72616e646f6dULL;

static inline uint64_t load64le(const uint8_t *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
           (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                       \
    do {                                                                                                               \
        v0 += v1;                                                                                                      \
        v1 = ROTL64(v1, 13);                                                                                           \
        v1 ^= v0;                                                                                                      \
        v0 = ROTL64(v0, 32);                                                                                           \
        v2 += v3;                                                                                                      \
        v3 = ROTL64(v3, 16);                                                                                           \
        v3 ^= v2;                                                                                                      \
        v0 += v3;                                                                                                      \
        v3 = ROTL64(v3, 21);                                                                                           \
        v3 ^= v0;                                                                                                      \
        v2 += v1;                                                                                                      \
        v1 = ROTL64(v1, 17);                                                                                           \
        v1 ^= v2;                                                                                                      \
        v2 = ROTL64(v2, 32);                                                                                           \
    } while (0)

void util_hash_seed(const uint8_t seed[16]) {
    hash_k0 = load64le(seed);
    hash_k1 = load64le(seed + 8);
}

uint64_t util_hash(const void *data, size_t len) {
    const uint8_t *in = data;
    const uint8_t *end = in + (len & ~(size_t)7);
    uint64_t v0 = 0x736f6d6570736575ULL ^ hash_k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ hash_k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ hash_k0;
    uint64_t v3 = 0x7465646279746573ULL ^ hash_k1;
    uint64_t b = (uint64_t)len << 56;

    for (; in != end; in += 8) {
        uint64_t m = load64le(in);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    switch (len & 7) {
        case 7: b |= (uint64_t)in[6] << 48; /* fall through */
        case 6: b |= (uint64_t)in[5] << 40; /* fall through */
        case 5: b |= (uint64_t)in[4] << 32; /* fall through */
        case 4: b |= (uint64_t)in[3] << 24; /* fall through */
        case 3: b |= (uint64_t)in[2] << 16; /* fall through */
        case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
        case 1: b |= (uint64_t)in[0]; break;
        case 0: break;
    }
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- misc ---- */

/* ASCII case folding without the locale: command names and options are ASCII. */
static inline unsigned char ascii_lower(unsigned char ch) {
    return (unsigned char)((unsigned)(ch - 'A') < 26u ? ch | 0x20 : ch);
}

int util_eqi(const char *s, size_t len, const char *cstr) {
    size_t i;
    for (i = 0; i < len; i++) {
        if (cstr[i] == '\0' || ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)cstr[i])) return 0;
    }
    return cstr[len] == '\0';
}

long long util_ustime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long util_mstime(void) { return util_ustime() / 1000; }

long long util_monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
