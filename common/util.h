/* util.h: layer-neutral helpers shared by protocol/, storage/ and server/:
 * strict number parsing and formatting with Redis's rules, hashing, glob matching. */
#ifndef RESPITE_UTIL_H
#define RESPITE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Longest text util_ll2str can produce, with its NUL. */
#define UTIL_LLSTR_SIZE 21
/* Buffer size for util_ld2str / util_d2str. */
#define UTIL_LDSTR_SIZE 5120

/* Parse a whole string as a signed 64-bit integer exactly as Redis's string2ll:
 * optional '-', then digits; no '+', no spaces, no leading zeros ("0" itself is fine),
 * no empty string, no overflow. Returns 1 and sets *out on success, 0 otherwise. */
int util_str2ll(const char *s, size_t len, long long *out);

/* Same as util_str2ll for unsigned 64-bit values (no '-'). Returns 1 on success. */
int util_str2ull(const char *s, size_t len, unsigned long long *out);

/* Redis's own string2ull, which stream ids use: util_str2ll, else libc strtoull
 * (so it also takes "01", "+1", " 1" and, as Redis does, wraps "-1" only when str2ll
 * rejects it, e.g. "-18446744073709551615"). Returns 1 on success. */
int util_strtoull_redis(const char *s, size_t len, unsigned long long *out);

/* Write v in decimal into dst (at least UTIL_LLSTR_SIZE bytes), NUL-terminated.
 * Returns the length without the NUL. */
int util_ll2str(char *dst, long long v);

/* Parse a whole string as a long double as Redis's string2ld: no leading/trailing
 * space, the whole string consumed, not NaN. Returns 1 on success. */
int util_str2ld(const char *s, size_t len, long double *out);

/* Parse a whole string as a double as Redis's getDoubleFromObject (strtod, no spaces,
 * whole string consumed, not NaN). Returns 1 on success. */
int util_str2d(const char *s, size_t len, double *out);

/* Format a long double as Redis's ld2string in LD_STR_HUMAN mode (what INCRBYFLOAT
 * stores and returns: "%.17Lf" with trailing zeros and dot removed, "-0" as "0"),
 * "inf"/"-inf" for infinities. buf must be UTIL_LDSTR_SIZE bytes. Returns the
 * length, or 0 if it does not fit. */
int util_ld2str(char *buf, size_t size, long double v);

/* Format a double as Redis does for RESP double replies ("%.17g"; "inf", "-inf",
 * "nan"). Returns the length. */
int util_d2str(char *buf, size_t size, double v);

/* Glob-style match, exactly Redis's stringmatchlen: '*', '?', '[...]' with ranges and
 * '^' negation, '\\' escapes. nocase != 0 folds case. Returns 1 on a match. */
int util_stringmatch(const char *pat, size_t patlen, const char *s, size_t slen, int nocase);

/* A fast 64-bit hash of len bytes keyed by a per-process random seed
 * (util_hash_seed sets it; call once at start-up). */
void util_hash_seed(const uint8_t seed[16]);
uint64_t util_hash(const void *p, size_t len);

/* Case-insensitive compare of a length-delimited string with a NUL-terminated one:
 * 1 when equal. */
int util_eqi(const char *s, size_t len, const char *cstr);

/* Milliseconds and microseconds of the wall clock (CLOCK_REALTIME). */
long long util_mstime(void);
long long util_ustime(void);
/* Microseconds of a monotonic clock, for measuring durations. */
long long util_monotonic_us(void);

#endif
