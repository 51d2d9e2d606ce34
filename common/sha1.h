/* sha1.h: SHA-1 (FIPS 180-4), for the script cache's names (EVALSHA, redis.sha1hex). */
#ifndef RESPITE_SHA1_H
#define RESPITE_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t bits;
    uint8_t block[64];
    size_t used;
} sha1_ctx;

void sha1_init(sha1_ctx *ctx);
void sha1_update(sha1_ctx *ctx, const void *data, size_t len);
void sha1_final(sha1_ctx *ctx, uint8_t out[20]);
/* The digest of len bytes as 40 lower-case hex digits and a NUL. */
void sha1_hex(const void *data, size_t len, char out[41]);

#endif
