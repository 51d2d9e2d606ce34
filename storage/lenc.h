/* lenc.h: the variable-length byte counts the compact collection encodings share
 * (storage/t_hash.c, storage/t_set.c): 1 byte below 128, 2 bytes below 16384, else a
 * marker byte and 4 bytes. A count is decoded from the front only. */
#ifndef RESPITE_LENC_H
#define RESPITE_LENC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LENC_MAX 5 /* bytes the largest count takes */

static inline size_t lenc_size(size_t n) { return n < 0x80 ? 1 : n < 0x4000 ? 2 : 5; }

/* Write n at p; returns the bytes written. */
static inline size_t lenc_put(unsigned char *p, size_t n) {
    if (n < 0x80) {
        p[0] = (unsigned char)n;
        return 1;
    }
    if (n < 0x4000) {
        p[0] = (unsigned char)(0x80 | (n >> 8));
        p[1] = (unsigned char)n;
        return 2;
    }
    uint32_t v = (uint32_t)n;
    p[0] = 0xC0;
    memcpy(p + 1, &v, 4);
    return 5;
}

/* Read the count at p into *n; returns the bytes it took. */
static inline size_t lenc_get(const unsigned char *p, size_t *n) {
    if (p[0] < 0x80) {
        *n = p[0];
        return 1;
    }
    if (p[0] < 0xC0) {
        *n = (size_t)(p[0] & 0x3f) << 8 | p[1];
        return 2;
    }
    uint32_t v;
    memcpy(&v, p + 1, 4);
    *n = v;
    return 5;
}

#endif
