/* rdb.c: Redis 7.0's RDB format (storage/rdb.h). The file is
 *   "REDIS0010", aux fields (250 key value), then per non-empty db: 254 <db id>,
 *   251 <keys> <keys with a TTL>, then per key: [252 <8-byte ms>] <type byte> <key>
 *   <value>; then 255 and the CRC-64 of everything before it (8 bytes, little-endian;
 *   zero when rdbchecksum is off).
 * Lengths: 00xxxxxx (6 bits), 01xxxxxx xxxxxxxx (14 bits, big-endian), 0x80 + 4 bytes
 * and 0x81 + 8 bytes (big-endian); 11xxxxxx marks an encoded string: 0/1/2 an 8/16/32-bit
 * little-endian integer, 3 LZF (compressed length, original length, data).
 * Writing goes through a 64 KB buffer whose CRC is taken as it is flushed; reading
 * through a 64 KB buffer, the CRC taken over what is consumed. */
#include "storage/rdb.h"

#include <errno.h>
#include <liblzf/lzf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc64.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "storage/evict.h"

int rdb_compress = 1;
void (*rdb_functions_foreach)(void (*fn)(void *priv, const char *code, size_t len), void *priv);
const char *(*rdb_function_load)(const char *code, size_t len, char *err, size_t errsize);

/* ------------------------------------------------------------ primitives: writing */

int rdb_write_raw(rdb_writer *w, const void *p, size_t len) { return len ? w->write(w->ctx, p, len) : 0; }

int rdb_save_u8(rdb_writer *w, unsigned v) {
    unsigned char b = (unsigned char)v;
    return rdb_write_raw(w, &b, 1);
}

int rdb_save_len(rdb_writer *w, uint64_t len) {
    unsigned char b[9];
    size_t n;
    if (len < (1 << 6)) {
        b[0] = (unsigned char)len;
        n = 1;
    } else if (len < (1 << 14)) {
        b[0] = (unsigned char)(0x40 | (len >> 8));
        b[1] = (unsigned char)len;
        n = 2;
    } else if (len <= UINT32_MAX) {
        b[0] = 0x80;
        for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        n = 5;
    } else {
        b[0] = 0x81;
        for (int i = 0; i < 8; i++) b[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 9;
    }
    return rdb_write_raw(w, b, n);
}

/* The integer encodings: 1 + 1/2/4 bytes, or 0 if v does not fit 32 bits. */
static size_t encode_int(long long v, unsigned char *b) {
    if (v >= -(1 << 7) && v <= (1 << 7) - 1) {
        b[0] = 0xC0;
        b[1] = (unsigned char)(v & 0xff);
        return 2;
    }
    if (v >= -(1 << 15) && v <= (1 << 15) - 1) {
        b[0] = 0xC1;
        b[1] = (unsigned char)(v & 0xff);
        b[2] = (unsigned char)((v >> 8) & 0xff);
        return 3;
    }
    if (v >= -((long long)1 << 31) && v <= ((long long)1 << 31) - 1) {
        b[0] = 0xC2;
        for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)((v >> (8 * i)) & 0xff);
        return 5;
    }
    return 0;
}

int rdb_save_ll_string(rdb_writer *w, long long v) {
    unsigned char b[5];
    size_t n = encode_int(v, b);
    if (n) return rdb_write_raw(w, b, n);
    char buf[UTIL_LLSTR_SIZE];
    int len = util_ll2str(buf, v);
    if (rdb_save_len(w, (uint64_t)len) < 0) return -1;
    return rdb_write_raw(w, buf, (size_t)len);
}

int rdb_save_string(rdb_writer *w, const char *s, size_t len) {
    if (len <= 11 && len > 0) {
        long long v;
        unsigned char b[5];
        size_t n;
        if (util_str2ll(s, len, &v) && (n = encode_int(v, b))) return rdb_write_raw(w, b, n);
    }
    if (rdb_compress && len > 20 && len <= UINT32_MAX) {
        size_t outcap = len - 4;
        unsigned char small[1024];
        unsigned char *out = outcap <= sizeof(small) ? small : xmalloc(outcap);
        unsigned clen = lzf_compress(s, (unsigned)len, out, (unsigned)outcap);
        int rc = 1;
        if (clen > 0)
            rc = rdb_save_u8(w, 0xC3) || rdb_save_len(w, clen) || rdb_save_len(w, len) || rdb_write_raw(w, out, clen)
                     ? -1
                     : 0;
        if (out != small) free(out);
        if (rc <= 0) return rc;
    }
    if (rdb_save_len(w, len) < 0) return -1;
    return rdb_write_raw(w, s, len);
}

int rdb_save_double(rdb_writer *w, double v) {
    unsigned char b[8];
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(u >> (8 * i));
    return rdb_write_raw(w, b, 8);
}

int rdb_save_ms(rdb_writer *w, long long ms) {
    unsigned char b[8];
    uint64_t u = (uint64_t)ms;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(u >> (8 * i));
    return rdb_write_raw(w, b, 8);
}

/* ------------------------------------------------------------ primitives: reading */

int rdb_read_raw(rdb_reader *r, void *p, size_t len) { return len ? r->read(r->ctx, p, len) : 0; }

int rdb_load_u8(rdb_reader *r, unsigned char *v) { return rdb_read_raw(r, v, 1); }

/* A length or, with *enc set, a string encoding marker (0..3). */
static int load_len_enc(rdb_reader *r, uint64_t *len, int *enc) {
    unsigned char b[8];
    *enc = 0;
    if (rdb_read_raw(r, b, 1) < 0) return -1;
    int kind = (b[0] & 0xC0) >> 6;
    if (kind == 0) {
        *len = b[0] & 0x3F;
    } else if (kind == 1) {
        unsigned char c;
        if (rdb_read_raw(r, &c, 1) < 0) return -1;
        *len = ((uint64_t)(b[0] & 0x3F) << 8) | c;
    } else if (kind == 3) {
        *enc = 1;
        *len = b[0] & 0x3F;
    } else if (b[0] == 0x80) {
        if (rdb_read_raw(r, b, 4) < 0) return -1;
        *len = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
    } else if (b[0] == 0x81) {
        if (rdb_read_raw(r, b, 8) < 0) return -1;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | b[i];
        *len = v;
    } else {
        return -1;
    }
    return 0;
}

int rdb_load_len(rdb_reader *r, uint64_t *len) {
    int enc;
    if (load_len_enc(r, len, &enc) < 0 || enc) return -1;
    return 0;
}

/* Read len bytes into a new buffer, growing it as bytes arrive so that a corrupt
 * length fails on the short read instead of asking for gigabytes up front. */
#define LOAD_CHUNK (1u << 20)
static char *load_bytes(rdb_reader *r, size_t len) {
    if (len > DB_STRING_MAX * 2) return NULL;
    size_t cap = len < LOAD_CHUNK ? len : LOAD_CHUNK;
    char *buf = xmalloc(cap + 1);
    size_t got = 0;
    while (got < len) {
        size_t n = len - got < LOAD_CHUNK ? len - got : LOAD_CHUNK;
        if (got + n > cap) {
            cap = got + n > cap * 2 ? got + n : cap * 2;
            if (cap > len) cap = len;
            buf = xrealloc(buf, cap + 1);
        }
        if (rdb_read_raw(r, buf + got, n) < 0) {
            free(buf);
            return NULL;
        }
        got += n;
    }
    buf[len] = '\0';
    return buf;
}

char *rdb_load_string(rdb_reader *r, size_t *len) { return rdb_load_string_buf(r, NULL, 0, len); }

char *rdb_load_string_buf(rdb_reader *r, char *buf, size_t cap, size_t *len) {
    uint64_t n;
    int enc;
    if (load_len_enc(r, &n, &enc) < 0) return NULL;
    if (!enc) {
        *len = n;
        if (n < cap) {
            if (rdb_read_raw(r, buf, n) < 0) return NULL;
            buf[n] = '\0';
            return buf;
        }
        return load_bytes(r, n);
    }
    unsigned char b[4];
    long long v;
    switch (n) {
        case 0:
            if (rdb_read_raw(r, b, 1) < 0) return NULL;
            v = (signed char)b[0];
            break;
        case 1:
            if (rdb_read_raw(r, b, 2) < 0) return NULL;
            v = (int16_t)(b[0] | b[1] << 8);
            break;
        case 2:
            if (rdb_read_raw(r, b, 4) < 0) return NULL;
            v = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
            break;
        case 3: {
            uint64_t clen, ulen;
            if (rdb_load_len(r, &clen) < 0 || rdb_load_len(r, &ulen) < 0) return NULL;
            if (ulen == 0 || ulen > DB_STRING_MAX * 2 || clen == 0 || clen > ulen + 64) return NULL;
            char cstack[4096];
            char *c = clen <= sizeof(cstack) ? cstack : load_bytes(r, clen);
            if (!c || (c == cstack && rdb_read_raw(r, cstack, clen) < 0)) return NULL;
            char *out = ulen < cap ? buf : xmalloc(ulen + 1);
            unsigned got = lzf_decompress(c, (unsigned)clen, out, (unsigned)ulen);
            if (c != cstack) free(c);
            if (got != ulen) {
                if (out != buf) free(out);
                return NULL;
            }
            out[ulen] = '\0';
            *len = ulen;
            return out;
        }
        default: return NULL;
    }
    char *out = cap >= UTIL_LLSTR_SIZE ? buf : xmalloc(UTIL_LLSTR_SIZE);
    *len = (size_t)util_ll2str(out, v);
    return out;
}

int rdb_load_double(rdb_reader *r, double *v) {
    unsigned char b[8];
    if (rdb_read_raw(r, b, 8) < 0) return -1;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | b[i];
    memcpy(v, &u, 8);
    return 0;
}

int rdb_load_ms(rdb_reader *r, long long *ms) {
    unsigned char b[8];
    if (rdb_read_raw(r, b, 8) < 0) return -1;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | b[i];
    *ms = (long long)u;
    return 0;
}

int rdb_load_double_text(rdb_reader *r, double *v) {
    unsigned char n;
    char buf[256];
    if (rdb_load_u8(r, &n) < 0) return -1;
    if (n == 253) *v = NAN;
    else if (n == 254) *v = INFINITY;
    else if (n == 255) *v = -INFINITY;
    else {
        if (rdb_read_raw(r, buf, n) < 0) return -1;
        buf[n] = '\0';
        char *end;
        *v = strtod(buf, &end);
        if (end != buf + n || isnan(*v)) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ listpacks */

#define LP_HDR 6

void lpb_init(lp_builder *b) {
    b->cap = 256;
    b->buf = xmalloc(b->cap);
    b->len = LP_HDR;
    b->count = 0;
}

static void lpb_reserve(lp_builder *b, size_t n) {
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap *= 2;
        b->buf = xrealloc(b->buf, b->cap);
    }
}

/* The entry's back-length: its encoding+data size l, big end first, 7 bits a byte,
 * every byte but the first with the high bit set (read from the end backwards). */
static void lpb_backlen(lp_builder *b, size_t l) {
    unsigned char t[5];
    int n;
    if (l <= 127) n = 1;
    else if (l < 16383) n = 2;
    else if (l < 2097151) n = 3;
    else if (l < 268435455) n = 4;
    else n = 5;
    for (int i = n - 1; i >= 0; i--) {
        t[i] = (unsigned char)((l & 127) | (i == 0 ? 0 : 128));
        l >>= 7;
    }
    memcpy(b->buf + b->len, t, (size_t)n);
    b->len += (size_t)n;
}

void lpb_add_int(lp_builder *b, long long v) {
    lpb_reserve(b, 9 + 5);
    unsigned char *p = b->buf + b->len;
    size_t l;
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        p[0] = (unsigned char)v;
        l = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint64_t x = v < 0 ? (uint64_t)((1 << 13) + v) : u;
        p[0] = (unsigned char)(0xC0 | (x >> 8));
        p[1] = (unsigned char)(x & 0xff);
        l = 2;
    } else {
        int bytes;
        if (v >= -32768 && v <= 32767) p[0] = 0xF1, bytes = 2;
        else if (v >= -8388608 && v <= 8388607) p[0] = 0xF2, bytes = 3;
        else if (v >= INT32_MIN && v <= INT32_MAX) p[0] = 0xF3, bytes = 4;
        else p[0] = 0xF4, bytes = 8;
        for (int i = 0; i < bytes; i++) p[1 + i] = (unsigned char)(u >> (8 * i));
        l = 1 + (size_t)bytes;
    }
    b->len += l;
    lpb_backlen(b, l);
    b->count++;
}

void lpb_add(lp_builder *b, const char *s, size_t len) {
    long long v;
    if (len > 0 && len <= 20 && util_str2ll(s, len, &v)) {
        lpb_add_int(b, v);
        return;
    }
    lpb_reserve(b, len + 5 + 5);
    unsigned char *p = b->buf + b->len;
    size_t h;
    if (len < 64) {
        p[0] = (unsigned char)(0x80 | len);
        h = 1;
    } else if (len < 4096) {
        p[0] = (unsigned char)(0xE0 | (len >> 8));
        p[1] = (unsigned char)(len & 0xff);
        h = 2;
    } else {
        p[0] = 0xF0;
        for (int i = 0; i < 4; i++) p[1 + i] = (unsigned char)(len >> (8 * i));
        h = 5;
    }
    if (len) memcpy(p + h, s, len);
    b->len += h + len;
    lpb_backlen(b, h + len);
    b->count++;
}

size_t lpb_size(const lp_builder *b) { return b->len + 1; }

static size_t backlen_size(size_t l) { return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5; }

size_t lpb_entry_size(const char *s, size_t len) {
    long long v;
    size_t l;
    if (len > 0 && len <= 20 && util_str2ll(s, len, &v)) {
        if (v >= 0 && v <= 127) l = 1;
        else if (v >= -4096 && v <= 4095) l = 2;
        else if (v >= -32768 && v <= 32767) l = 3;
        else if (v >= -8388608 && v <= 8388607) l = 4;
        else if (v >= INT32_MIN && v <= INT32_MAX) l = 5;
        else l = 9;
    } else {
        l = len + (len < 64 ? 1 : len < 4096 ? 2 : 5);
    }
    return l + backlen_size(l);
}

void lpb_finish(lp_builder *b) {
    lpb_reserve(b, 1);
    b->buf[b->len++] = 0xFF;
    uint32_t total = (uint32_t)b->len;
    for (int i = 0; i < 4; i++) b->buf[i] = (unsigned char)(total >> (8 * i));
    uint16_t n = b->count < 65535 ? (uint16_t)b->count : 65535;
    b->buf[4] = (unsigned char)(n & 0xff);
    b->buf[5] = (unsigned char)(n >> 8);
}

void lpb_free(lp_builder *b) {
    free(b->buf);
    b->buf = NULL;
}

/* ------------------------------------------------------------ reading blobs */

static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int blob_iter_init(blob_iter *it, int kind, const unsigned char *p, size_t len) {
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->start = p;
    it->end = p + len;
    if (kind == BLOB_LISTPACK) {
        if (len < LP_HDR + 1 || rd32(p) != len || p[len - 1] != 0xFF) return -1;
        it->declared = (size_t)(p[4] | p[5] << 8);
        it->p = p + LP_HDR;
    } else if (kind == BLOB_ZIPLIST) {
        if (len < 11 || rd32(p) != len || p[len - 1] != 0xFF || rd32(p + 4) > len - 1) return -1;
        it->declared = (size_t)(p[8] | p[9] << 8);
        it->p = p + 10;
    } else {
        if (len < 8) return -1;
        uint32_t enc = rd32(p), n = rd32(p + 4);
        if ((enc != 2 && enc != 4 && enc != 8) || (uint64_t)enc * n + 8 != len) return -1;
        it->isenc = enc;
        it->declared = n;
        it->p = p + 8;
    }
    return 0;
}

size_t blob_declared(const blob_iter *it) { return it->declared; }

static int lp_next(blob_iter *it, const char **s, size_t *len) {
    const unsigned char *p = it->p;
    if (p >= it->end) return -1;
    if (*p == 0xFF) {
        if (p + 1 != it->end) return -1;
        if (it->declared != 65535 && it->declared != it->count) return -1;
        return 0;
    }
    size_t avail = (size_t)(it->end - p) - 1; /* the terminator stays */
    size_t l;
    long long v = 0;
    int isint = 1;
    unsigned c = p[0];
    if ((c & 0x80) == 0) {
        v = c;
        l = 1;
    } else if ((c & 0xC0) == 0x80) {
        *len = c & 0x3F;
        l = 1 + *len;
        isint = 0;
    } else if ((c & 0xE0) == 0xC0) {
        if (avail < 2) return -1;
        uint64_t x = ((uint64_t)(c & 0x1F) << 8) | p[1];
        v = x >= (1 << 12) ? (long long)x - (1 << 13) : (long long)x;
        l = 2;
    } else if ((c & 0xF0) == 0xE0) {
        if (avail < 2) return -1;
        *len = ((size_t)(c & 0x0F) << 8) | p[1];
        l = 2 + *len;
        isint = 0;
    } else if (c == 0xF0) {
        if (avail < 5) return -1;
        *len = rd32(p + 1);
        l = 5 + *len;
        isint = 0;
    } else if (c >= 0xF1 && c <= 0xF4) {
        int bytes = c == 0xF1 ? 2 : c == 0xF2 ? 3 : c == 0xF3 ? 4 : 8;
        if (avail < 1 + (size_t)bytes) return -1;
        uint64_t u = 0;
        for (int i = bytes - 1; i >= 0; i--) u = u << 8 | p[1 + i];
        if (bytes < 8) {
            uint64_t sign = (uint64_t)1 << (8 * bytes - 1);
            v = (u & sign) ? (long long)(u - (sign << 1)) : (long long)u;
        } else {
            v = (long long)u;
        }
        l = 1 + (size_t)bytes;
    } else {
        return -1;
    }
    if (l > avail) return -1;
    /* the back-length */
    size_t bl = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    if (l + bl > avail) return -1;
    const unsigned char *q = p + l;
    size_t x = 0;
    for (size_t i = 0; i < bl; i++) {
        if ((i == 0) != ((q[i] & 128) == 0)) return -1;
        x = x << 7 | (q[i] & 127);
    }
    if (x != l) return -1;
    if (isint) {
        *len = (size_t)util_ll2str(it->num, v);
        *s = it->num;
    } else {
        *s = (const char *)(c == 0xF0 ? p + 5 : (c & 0xF0) == 0xE0 ? p + 2 : p + 1);
    }
    it->p = p + l + bl;
    it->count++;
    return 1;
}

static int zl_next(blob_iter *it, const char **s, size_t *len) {
    const unsigned char *p = it->p;
    if (p >= it->end) return -1;
    if (*p == 0xFF) {
        if (p + 1 != it->end) return -1;
        if (it->declared != 65535 && it->declared != it->count) return -1;
        return 0;
    }
    size_t avail = (size_t)(it->end - p) - 1;
    size_t pl = p[0] < 254 ? 1 : 5;
    if (p[0] == 255 || avail < pl + 1) return -1;
    const unsigned char *e = p + pl;
    avail -= pl;
    unsigned c = e[0];
    long long v;
    size_t h, dl;
    int isint = 1;
    switch (c >> 6) {
        case 0:
            isint = 0;
            h = 1;
            dl = c & 0x3F;
            break;
        case 1:
            if (avail < 2) return -1;
            isint = 0;
            h = 2;
            dl = ((size_t)(c & 0x3F) << 8) | e[1];
            break;
        case 2:
            if (c != 0x80 || avail < 5) return -1;
            isint = 0;
            h = 5;
            dl = (size_t)e[1] << 24 | (size_t)e[2] << 16 | (size_t)e[3] << 8 | e[4];
            break;
        default:
            h = 1;
            if (c == 0xC0) dl = 2;
            else if (c == 0xD0) dl = 4;
            else if (c == 0xE0) dl = 8;
            else if (c == 0xF0) dl = 3;
            else if (c == 0xFE) dl = 1;
            else if (c >= 0xF1 && c <= 0xFD) dl = 0;
            else return -1;
            break;
    }
    if (h + dl > avail) return -1;
    if (isint) {
        if (dl == 0) v = (long long)(c & 0x0F) - 1;
        else {
            uint64_t u = 0;
            for (int i = (int)dl - 1; i >= 0; i--) u = u << 8 | e[1 + i];
            uint64_t sign = (uint64_t)1 << (8 * dl - 1);
            v = (dl < 8 && (u & sign)) ? (long long)(u - (sign << 1)) : (long long)u;
        }
        *len = (size_t)util_ll2str(it->num, v);
        *s = it->num;
    } else {
        *s = (const char *)(e + h);
        *len = dl;
    }
    it->p = e + h + dl;
    it->count++;
    return 1;
}

static int is_next(blob_iter *it, const char **s, size_t *len) {
    if (it->count == it->declared) return 0;
    const unsigned char *p = it->p;
    long long v;
    if (it->isenc == 2) v = (int16_t)(p[0] | p[1] << 8);
    else if (it->isenc == 4) v = (int32_t)rd32(p);
    else v = (long long)((uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32);
    if (it->count > 0) {
        /* strictly ascending, as an intset must be */
        const unsigned char *q = p - it->isenc;
        long long prev;
        if (it->isenc == 2) prev = (int16_t)(q[0] | q[1] << 8);
        else if (it->isenc == 4) prev = (int32_t)rd32(q);
        else prev = (long long)((uint64_t)rd32(q) | (uint64_t)rd32(q + 4) << 32);
        if (prev >= v) return -1;
    }
    *len = (size_t)util_ll2str(it->num, v);
    *s = it->num;
    it->p += it->isenc;
    it->count++;
    return 1;
}

int blob_iter_next(blob_iter *it, const char **s, size_t *len) {
    switch (it->kind) {
        case BLOB_LISTPACK: return lp_next(it, s, len);
        case BLOB_ZIPLIST: return zl_next(it, s, len);
        default: return is_next(it, s, len);
    }
}

/* ------------------------------------------------------------ file writer */

void rdb_set_access(rkey *k, long long idle_s, long long freq) {
    if (freq >= 0 && evict_lfu_mode()) {
        rkey_set_access(k, (uint32_t)((storage_now_ms / 60000) & 0xFFFF) << 8 | (uint32_t)(freq & 0xFF));
    } else if (idle_s >= 0 && (evict_cfg.policy & EVICT_FLAG_LRU)) {
        long long ticks = idle_s * 1000 / EVICT_LRU_RES_MS;
        rkey_set_access(k, (uint32_t)(((long long)evict_lru_clock() - ticks) & EVICT_LRU_MAX));
    }
}

#define IOBUF (64 * 1024)

typedef struct fd_out {
    int fd;
    unsigned char *buf;
    size_t len;
    uint64_t crc;
} fd_out;

static int fd_write_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int fd_out_flush(fd_out *o) {
    o->crc = crc64(o->crc, o->buf, o->len);
    int rc = fd_write_all(o->fd, o->buf, o->len);
    o->len = 0;
    return rc;
}

static int fd_out_write(void *ctx, const void *p, size_t n) {
    fd_out *o = ctx;
    if (o->len + n > IOBUF) {
        if (fd_out_flush(o) < 0) return -1;
        if (n >= IOBUF) {
            o->crc = crc64(o->crc, p, n);
            return fd_write_all(o->fd, p, n);
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

static int save_aux(rdb_writer *w, const char *k, const char *v, size_t vlen) {
    if (rdb_save_u8(w, RDB_OPCODE_AUX) < 0 || rdb_save_string(w, k, strlen(k)) < 0) return -1;
    return rdb_save_string(w, v, vlen);
}

static int save_aux_ll(rdb_writer *w, const char *k, long long v) {
    char buf[UTIL_LLSTR_SIZE];
    int n = util_ll2str(buf, v);
    return save_aux(w, k, buf, (size_t)n);
}

typedef struct save_ctx {
    rdb_writer *w;
    int err;
} save_ctx;

static int save_key(rdb_writer *w, const rkey *k) {
    const value_type *t = type_of(k);
    if (!t->rdb_type || !t->rdb_save) {
        errno = EINVAL;
        return -1;
    }
    long long exp = rkey_expire(k);
    if (exp != -1 && (rdb_save_u8(w, RDB_OPCODE_EXPIRETIME_MS) < 0 || rdb_save_ms(w, exp) < 0)) return -1;
    /* the access field, as Redis under an LRU (idle seconds) or LFU (counter) policy */
    if (evict_cfg.policy & EVICT_FLAG_LRU) {
        if (rdb_save_u8(w, RDB_OPCODE_IDLE) < 0 || rdb_save_len(w, evict_lru_idle_ms(rkey_access(k)) / 1000) < 0)
            return -1;
    } else if (evict_cfg.policy & EVICT_FLAG_LFU) {
        if (rdb_save_u8(w, RDB_OPCODE_FREQ) < 0 || rdb_save_u8(w, evict_lfu_decr(rkey_access(k))) < 0) return -1;
    }
    size_t klen;
    const char *key = rkey_key(k, &klen);
    if (rdb_save_u8(w, (unsigned)t->rdb_type(k)) < 0 || rdb_save_string(w, key, klen) < 0) return -1;
    return t->rdb_save(k, w);
}

static void save_function(void *priv, const char *code, size_t len) {
    save_ctx *s = priv;
    if (!s->err && (rdb_save_u8(s->w, RDB_OPCODE_FUNCTION2) < 0 || rdb_save_string(s->w, code, len) < 0))
        s->err = errno ? errno : EIO;
}

static void save_one(void *priv, const rkey *k) {
    save_ctx *s = priv;
    if (!s->err && save_key(s->w, k) < 0) s->err = errno ? errno : EIO;
}

int rdb_save_fd(int fd, db *const *dbs, int n, const rdb_save_opts *opt) {
    fd_out o = {fd, xmalloc(IOBUF), 0, 0};
    rdb_writer w = {fd_out_write, &o};
    char magic[16];
    int rc = -1;
    snprintf(magic, sizeof(magic), "REDIS%04d", RDB_VERSION);
    const char *ver = opt->redis_ver ? opt->redis_ver : "7.0.15";
    if (rdb_write_raw(&w, magic, 9) < 0 || save_aux(&w, "redis-ver", ver, strlen(ver)) < 0 ||
        save_aux_ll(&w, "redis-bits", (long long)sizeof(void *) * 8) < 0 || save_aux_ll(&w, "ctime", opt->ctime) < 0 ||
        save_aux_ll(&w, "used-mem", opt->used_mem) < 0 || save_aux_ll(&w, "aof-base", opt->aof_base ? 1 : 0) < 0)
        goto out;
    if (rdb_functions_foreach) {
        save_ctx fs = {&w, 0};
        rdb_functions_foreach(save_function, &fs);
        if (fs.err) {
            errno = fs.err;
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        db *d = dbs[i];
        if (db_size(d) == 0) continue;
        if (rdb_save_u8(&w, RDB_OPCODE_SELECTDB) < 0 || rdb_save_len(&w, (uint64_t)i) < 0 ||
            rdb_save_u8(&w, RDB_OPCODE_RESIZEDB) < 0 || rdb_save_len(&w, db_size(d)) < 0 ||
            rdb_save_len(&w, db_expires_size(d)) < 0)
            goto out;
        save_ctx s = {&w, 0};
        db_foreach(d, save_one, &s);
        if (s.err) {
            errno = s.err;
            goto out;
        }
    }
    if (rdb_save_u8(&w, RDB_OPCODE_EOF) < 0 || fd_out_flush(&o) < 0) goto out;
    {
        unsigned char b[8];
        uint64_t crc = opt->checksum ? o.crc : 0;
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(crc >> (8 * i));
        rc = fd_write_all(fd, b, 8);
    }
out:
    free(o.buf);
    return rc;
}

/* ------------------------------------------------------------ file reader */

typedef struct fd_in {
    int fd;
    unsigned char *buf;
    size_t pos, len;
    size_t crcpos; /* buf[0..crcpos) is in crc */
    uint64_t crc;
    long long offset; /* bytes consumed */
    rdb_load_info *info;
    long long next_progress; /* read offset at which info->progress is due */
} fd_in;

/* Called as a buffer is refilled, so it costs nothing per key. */
static int fd_in_progress(fd_in *in, long long read_to) {
    rdb_load_info *info = in->info;
    if (!info->progress || read_to < in->next_progress) return 0;
    in->next_progress = read_to + info->progress_bytes;
    if (info->progress(info, in->offset) == 0) return 0;
    info->aborted = 1;
    return -1;
}

/* The CRC of everything consumed so far. */
static uint64_t fd_in_crc(fd_in *in) {
    in->crc = crc64(in->crc, in->buf + in->crcpos, in->pos - in->crcpos);
    in->crcpos = in->pos;
    return in->crc;
}

static int fd_in_read(void *ctx, void *out, size_t n) {
    fd_in *in = ctx;
    unsigned char *dst = out;
    size_t want = n;
    while (n) {
        if (in->pos == in->len) {
            fd_in_crc(in);
            if (n >= IOBUF) {
                ssize_t k = read(in->fd, dst, n);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0 || fd_in_progress(in, in->offset + k) < 0) return -1;
                in->crc = crc64(in->crc, dst, (size_t)k);
                dst += k;
                n -= (size_t)k;
                in->offset += k;
                continue;
            }
            ssize_t k = read(in->fd, in->buf, IOBUF);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0 || fd_in_progress(in, in->offset + k) < 0) return -1;
            in->pos = in->crcpos = 0;
            in->len = (size_t)k;
        }
        size_t c = in->len - in->pos < n ? in->len - in->pos : n;
        memcpy(dst, in->buf + in->pos, c);
        in->pos += c;
        dst += c;
        n -= c;
        in->offset += (long long)c;
    }
    (void)want;
    return 0;
}

static const value_type *loaders[256];
static int loaders_ready;

const value_type *rdb_type_loader(int rdbtype) {
    if (!loaders_ready) {
        for (int id = 0; id < OBJ_TYPES; id++) {
            const value_type *t = type_get(id);
            if (!t || !t->rdb_load_types || !t->rdb_load) continue;
            for (const int *p = t->rdb_load_types; *p >= 0; p++)
                if (*p < 256) loaders[*p] = t;
        }
        loaders_ready = 1;
    }
    return rdbtype >= 0 && rdbtype < 256 ? loaders[rdbtype] : NULL;
}

#define LOAD_ERR(...)                                                                                                  \
    do {                                                                                                               \
        snprintf(info->err, sizeof(info->err), __VA_ARGS__);                                                           \
        goto fail;                                                                                                     \
    } while (0)

static const char *short_read = "Short read or OOM loading DB. Unrecoverable error, aborting now.";

int rdb_load_fd(int fd, db *const *dbs, int n, rdb_load_info *info) {
    fd_in in = {fd, xmalloc(IOBUF), 0, 0, 0, 0, 0, info, info->progress_bytes};
    rdb_reader r = {fd_in_read, &in};
    char *key = NULL, *val = NULL;
    char keybuf[256];
    char magic[10];
    int dbi = 0;
    long long expire = -1, idle = -1, freq = -1;
    info->err[0] = '\0';
    info->keys_loaded = info->keys_expired = 0;
    struct stat st;
    long long fsize = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size - lseek(fd, 0, SEEK_CUR) : 0;
    if (rdb_read_raw(&r, magic, 9) < 0) LOAD_ERR("%s", short_read);
    magic[9] = '\0';
    if (memcmp(magic, "REDIS", 5) != 0) LOAD_ERR("Wrong signature trying to load DB from file");
    int ver = atoi(magic + 5);
    if (ver < 1 || ver > RDB_VERSION) LOAD_ERR("Can't handle RDB format version %d", ver);
    for (;;) {
        unsigned char op;
        uint64_t a, b;
        size_t klen, vlen;
        if (rdb_load_u8(&r, &op) < 0) LOAD_ERR("%s", short_read);
        switch (op) {
            case RDB_OPCODE_EXPIRETIME: {
                unsigned char t[4];
                if (rdb_read_raw(&r, t, 4) < 0) LOAD_ERR("%s", short_read);
                expire = (long long)(int32_t)rd32(t) * 1000;
                continue;
            }
            case RDB_OPCODE_EXPIRETIME_MS:
                if (rdb_load_ms(&r, &expire) < 0) LOAD_ERR("%s", short_read);
                continue;
            case RDB_OPCODE_FREQ: {
                unsigned char f;
                if (rdb_load_u8(&r, &f) < 0) LOAD_ERR("%s", short_read);
                freq = f;
                continue;
            }
            case RDB_OPCODE_IDLE:
                if (rdb_load_len(&r, &a) < 0) LOAD_ERR("%s", short_read);
                idle = a > (1ULL << 40) ? (1LL << 40) : (long long)a;
                continue;
            case RDB_OPCODE_EOF: goto done;
            case RDB_OPCODE_SELECTDB:
                if (rdb_load_len(&r, &a) < 0) LOAD_ERR("%s", short_read);
                if (a >= (uint64_t)n)
                    LOAD_ERR("FATAL: Data file was created with a Redis server configured to handle more than %d "
                             "databases. Exiting",
                             n);
                dbi = (int)a;
                continue;
            case RDB_OPCODE_RESIZEDB:
                if (rdb_load_len(&r, &a) < 0 || rdb_load_len(&r, &b) < 0) LOAD_ERR("%s", short_read);
                /* a corrupt count must not size a huge table: every key takes 3 bytes or more */
                if (a <= (uint64_t)(fsize - in.offset) / 3) db_reserve(dbs[dbi], (size_t)a);
                continue;
            case RDB_OPCODE_AUX:
                if (!(key = rdb_load_string(&r, &klen)) || !(val = rdb_load_string(&r, &vlen)))
                    LOAD_ERR("%s", short_read);
                if (klen == 8 && !memcmp(key, "aof-base", 8)) info->aof_base = atoi(val) != 0;
                if (klen == 8 && !memcmp(key, "used-mem", 8)) info->used_mem = strtoll(val, NULL, 10);
                free(key);
                free(val);
                key = val = NULL;
                continue;
            case RDB_OPCODE_MODULE_AUX:
                LOAD_ERR("The RDB file contains AUX module data I can't load: respite has no modules");
            case RDB_OPCODE_FUNCTION2: {
                if (!(val = rdb_load_string(&r, &vlen))) LOAD_ERR("%s", short_read);
                if (rdb_function_load) {
                    char ferr[256];
                    if (!rdb_function_load(val, vlen, ferr, sizeof(ferr))) LOAD_ERR("Failed loading library: %s", ferr);
                } else {
                    info->functions_skipped++;
                }
                free(val);
                val = NULL;
                continue;
            }
            case RDB_OPCODE_FUNCTION_PRE_GA:
                LOAD_ERR("Pre-release function format not supported: the file holds functions respite cannot load");
            default: break;
        }
        /* a key and its value */
        if (!(key = rdb_load_string_buf(&r, keybuf, sizeof(keybuf), &klen))) LOAD_ERR("%s", short_read);
        const value_type *t = rdb_type_loader(op);
        if (!t) {
            if (op == RDB_TYPE_MODULE || op == RDB_TYPE_MODULE_2)
                LOAD_ERR("The RDB file contains module data for key '%.64s' (respite has no modules)", key);
            LOAD_ERR("Unknown RDB value type %d for key '%.64s' at offset %lld", op, key, in.offset);
        }
        db *d = dbs[dbi];
        /* a string replaces silently: its duplicate shows as a db that did not grow */
        size_t before = db_size(d);
        if (op != RDB_TYPE_STRING && db_peek(d, key, klen))
            LOAD_ERR("RDB has duplicated key '%.64s' in DB %d", key, dbi);
        rkey *k = t->rdb_load(&r, op, d, key, klen);
        if (k && db_size(d) == before) LOAD_ERR("RDB has duplicated key '%.64s' in DB %d", key, dbi);
        if (!k)
            LOAD_ERR("Corrupt or truncated RDB file: bad %s value (type %d) for key '%.64s' near offset %lld", t->name,
                     op, key, in.offset);
        if (expire != -1) {
            if (expire < info->now_ms) {
                db_delete(d, key, klen);
                k = NULL;
                info->keys_expired++;
            } else {
                k = db_set_expire(d, k, expire);
                info->keys_loaded++;
            }
        } else {
            info->keys_loaded++;
        }
        if (k) rdb_set_access(k, idle, freq);
        if (key != keybuf) free(key);
        key = NULL;
        expire = idle = freq = -1;
    }
done:
    if (ver >= 5) {
        uint64_t expected = fd_in_crc(&in);
        unsigned char c[8];
        if (rdb_read_raw(&r, c, 8) < 0) LOAD_ERR("%s", short_read);
        uint64_t got = (uint64_t)rd32(c) | (uint64_t)rd32(c + 4) << 32;
        if (info->verify_checksum && got != 0 && got != expected)
            LOAD_ERR("Wrong RDB checksum expected: (%llx) got (%llx). Aborting now.", (unsigned long long)got,
                     (unsigned long long)expected);
    }
    /* leave the offset just past the RDB */
    if (in.len > in.pos) lseek(fd, -(off_t)(in.len - in.pos), SEEK_CUR);
    free(in.buf);
    return 0;
fail:
    if (key != keybuf) free(key);
    free(val);
    free(in.buf);
    return -1;
}

/* ------------------------------------------------------------ DUMP / RESTORE */

typedef struct mem_out {
    char *buf;
    size_t len, cap;
} mem_out;

static int mem_write(void *ctx, const void *p, size_t n) {
    mem_out *m = ctx;
    if (m->len + n > m->cap) {
        while (m->len + n > m->cap) m->cap = m->cap ? m->cap * 2 : 64;
        m->buf = xrealloc(m->buf, m->cap);
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    return 0;
}

/* The payload's footer (RDB version, CRC-64 of all before it); returns the buffer. */
static char *payload_finish(mem_out *m, size_t *len) {
    unsigned char tail[10];
    tail[0] = RDB_VERSION & 0xff;
    tail[1] = (RDB_VERSION >> 8) & 0xff;
    mem_write(m, tail, 2);
    uint64_t crc = crc64(0, m->buf, m->len);
    for (int i = 0; i < 8; i++) tail[i] = (unsigned char)(crc >> (8 * i));
    mem_write(m, tail, 8);
    *len = m->len;
    return (char *)m->buf;
}

char *rdb_dump_payload(const rkey *k, size_t *len) {
    const value_type *t = type_of(k);
    if (!t->rdb_type || !t->rdb_save) return NULL;
    mem_out m = {NULL, 0, 0};
    rdb_writer w = {mem_write, &m};
    rdb_save_u8(&w, (unsigned)t->rdb_type(k));
    t->rdb_save(k, &w);
    return payload_finish(&m, len);
}

char *rdb_dump_functions(size_t *len) {
    mem_out m = {NULL, 0, 0};
    rdb_writer w = {mem_write, &m};
    save_ctx fs = {&w, 0};
    if (rdb_functions_foreach) rdb_functions_foreach(save_function, &fs);
    return payload_finish(&m, len);
}

int rdb_payload_verify(const char *p, size_t len) {
    if (len < 10) return 0;
    const unsigned char *f = (const unsigned char *)p + len - 10;
    unsigned ver = (unsigned)(f[0] | f[1] << 8);
    if (ver > RDB_VERSION) return 0;
    uint64_t crc = (uint64_t)rd32(f + 2) | (uint64_t)rd32(f + 6) << 32;
    return crc64(0, p, len - 8) == crc;
}

typedef struct mem_in {
    const unsigned char *p;
    size_t left;
} mem_in;

static int mem_read(void *ctx, void *out, size_t n) {
    mem_in *m = ctx;
    if (n > m->left) return -1;
    memcpy(out, m->p, n);
    m->p += n;
    m->left -= n;
    return 0;
}

rkey *rdb_restore_payload(db *d, const char *key, size_t klen, const char *p, size_t len) {
    if (len < 11) return NULL;
    mem_in m = {(const unsigned char *)p + 1, len - 11};
    rdb_reader r = {mem_read, &m};
    const value_type *t = rdb_type_loader((unsigned char)p[0]);
    if (!t) return NULL;
    rkey *k = t->rdb_load(&r, (unsigned char)p[0], d, key, klen);
    if (k && m.left != 0) {
        /* bytes left over: the payload is not one value */
        db_delete(d, key, klen);
        return NULL;
    }
    return k;
}

int rdb_restore_functions(const char *p, size_t len, rdb_function_cb load, void *priv, char *err, size_t errsize) {
    /* Redis reads the payload with its footer, up to the last 10 bytes */
    mem_in m = {(const unsigned char *)p, len};
    rdb_reader r = {mem_read, &m};
    while (m.left > 10) {
        unsigned char type;
        if (rdb_load_u8(&r, &type) < 0) {
            snprintf(err, errsize, "can not read data type");
            return -1;
        }
        char *code = NULL;
        size_t clen = 0;
        if (type == RDB_OPCODE_FUNCTION2) {
            if (!(code = rdb_load_string(&r, &clen))) {
                snprintf(err, errsize, "Failed loading library payload");
                return -1;
            }
        } else if (type == RDB_OPCODE_FUNCTION_PRE_GA) {
            /* 7.0's release candidates: name, engine, an optional description, the body */
            size_t n;
            char *name = NULL, *engine = NULL, *desc = NULL, *body = NULL;
            uint64_t has_desc = 0;
            const char *what = NULL;
            if (!(name = rdb_load_string(&r, &n))) what = "Failed loading library name";
            else if (!(engine = rdb_load_string(&r, &n))) what = "Failed loading engine name";
            else if (rdb_load_len(&r, &has_desc) < 0) what = "Failed loading library description indicator";
            else if (has_desc && !(desc = rdb_load_string(&r, &n))) what = "Failed loading library description";
            else if (!(body = rdb_load_string(&r, &n))) what = "Failed loading library blob";
            if (!what) {
                /* as Redis's "%s" formatting: each part up to its first NUL */
                clen = strlen(engine) + strlen(name) + strlen(body) + 9;
                code = xmalloc(clen + 1);
                clen = (size_t)snprintf(code, clen + 1, "#!%s name=%s\n%s", engine, name, body);
            }
            free(name);
            free(engine);
            free(desc);
            free(body);
            if (what) {
                snprintf(err, errsize, "%s", what);
                return -1;
            }
        } else {
            snprintf(err, errsize, "given type is not a function");
            return -1;
        }
        int rc = load(priv, code, clen, err, errsize);
        free(code);
        if (rc < 0) return -1;
    }
    return 0;
}
