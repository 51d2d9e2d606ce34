/* hll.h: HyperLogLog values in Redis's string representation (see hll.c's opening
 * comment for the layout). These functions work on plain byte buffers and know nothing
 * of keys or clients: the PF* commands (server/cmd_hll.c) read a string value, change
 * it through an hll_buf and store it back. */
#ifndef RESPITE_HLL_H
#define RESPITE_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P          14
#define HLL_REGISTERS  (1 << HLL_P) /* 16384 */
#define HLL_HDR_SIZE   16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * 6 + 7) / 8) /* 12304 */
#define HLL_EMPTY_SIZE (HLL_HDR_SIZE + 2)                           /* one XZERO */
#define HLL_DENSE      0
#define HLL_SPARSE     1

/* Largest sparse value (header included) before it is promoted to dense, as Redis's
 * hll-sparse-max-bytes (the server copies the setting here). */
extern size_t hll_sparse_max_bytes;

/* A value being changed. p is either a malloc'd block of cap bytes the caller owns
 * (hll functions may xrealloc it: sparse values grow, promotion makes them dense) or,
 * for a dense value, the stored bytes themselves with cap == len (dense values never
 * change length, so such a buffer is never reallocated). */
typedef struct hll_buf {
    uint8_t *p;
    size_t len, cap;
} hll_buf;

/* Write an empty sparse HLL (valid cached cardinality 0) into out. */
void hll_init_empty(uint8_t out[HLL_EMPTY_SIZE]);
/* Redis's isHLLObject: the "HYLL" magic, a known encoding, a dense value exactly
 * HLL_DENSE_SIZE long. 1 if p looks like an HLL, 0 if not. */
int hll_is_valid(const uint8_t *p, size_t len);
/* Add an element: 1 if a register changed, 0 if not, -1 if the value is corrupt. As in
 * Redis, a sparse change marks the cached cardinality stale and a dense one does not:
 * the caller calls hll_invalidate once after its changes. */
int hll_add(hll_buf *h, const void *ele, size_t n);
/* Raise register index to at least count (PFMERGE): as hll_add. */
int hll_set(hll_buf *h, int index, int count);
/* Convert a sparse value to dense (no-op if dense): 0, or -1 if the sparse data is
 * corrupt (h unchanged). */
int hll_to_dense(hll_buf *h);
/* The cardinality estimate of a valid value (Redis 7's estimator). *invalid (if not
 * NULL) is set to 1 when sparse data does not cover exactly the 16384 registers. */
uint64_t hll_count(const uint8_t *p, size_t len, int *invalid);
/* The estimate from 16384 one-byte registers (a PFCOUNT of many keys). */
uint64_t hll_count_raw(const uint8_t regs[HLL_REGISTERS]);
/* Fold a value's registers into max (register-wise maximum): 0, or -1 if corrupt. */
int hll_merge(uint8_t max[HLL_REGISTERS], const uint8_t *p, size_t len);
/* The cached cardinality: hll_cache_valid says whether it holds. */
int hll_cache_valid(const uint8_t *p);
uint64_t hll_cache_get(const uint8_t *p);
void hll_cache_set(uint8_t *p, uint64_t card);
void hll_invalidate(uint8_t *p);
/* Sparse opcode kinds at p (PFDEBUG DECODE). */
static inline int hll_sparse_is_zero(const uint8_t *p) { return (*p & 0xc0) == 0; }
static inline int hll_sparse_is_xzero(const uint8_t *p) { return (*p & 0xc0) == 0x40; }
/* Register index of a dense value (p points at the header). */
int hll_dense_get(const uint8_t *p, long index);
/* The register index and run length ("count") an element hashes to. */
int hll_pattern(const void *ele, size_t n, long *index);
uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed);

#endif
