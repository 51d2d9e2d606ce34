/* fuzz_resp.c: libFuzzer target for the request parser (protocol/resp_parse.c).
 *
 * Input layout (all of it fuzzer-chosen):
 *   byte 0      flags: bits 0-1 pick max_bulk (512 MB, 1 MB, 16, 0); bits 2-4 pick how
 *               the stream is cut into reads (see next_chunk); bit 5 parses as a
 *               client that has not authenticated (the pre-AUTH limits); bit 6 also fuzzes
 *               resp_split_inline on the first line; with RESPITE_FUZZ_FILLER=1 in
 *               the environment, bits 5-7 all set with the top 4 bits of byte 1 set
 *               insert a run of 64 KiB-ish filler (the last input byte) in the
 *               middle, so the "too big" limits are reachable from short inputs
 *               (off by default: such inputs run 20 times slower)
 *   byte 1      seed of the split schedule (its low 2 bits also pick the filler size)
 *   bytes 2..   the byte stream a client sends
 *
 * The stream is parsed twice, like server/net.c's client_process_input does:
 *   1. whole: all bytes in one buffer;
 *   2. split: the bytes arrive in pieces; after each piece the unconsumed tail is moved
 *      into a fresh allocation of exactly its size (so ASan flags any read past the
 *      data, and the parser must cope with its buffer moving while a command is
 *      incomplete) and parsing resumes.
 * Invariants checked (abort() on violation, so libFuzzer reports a crash):
 *   - a complete command occupies 0 < n <= len bytes; argc <= cap; every argv slice lies
 *     inside those n bytes, or inside its own big-bulk buffer: the split run gives every
 *     bulk of RESP_BIG_ARG bytes or more that arrives in pieces a buffer of its own and
 *     reads the rest straight into it, as net.c does;
 *   - before AUTH (bit 5) no multibulk command has more than RESP_UNAUTH_MAX_ARGS
 *     arguments or one longer than RESP_UNAUTH_MAX_BULK;
 *   - both runs produce the same commands (argv bytes) and the same final outcome
 *     (incomplete tail or the same error text), except that the 64 KiB "too big"
 *     limits depend on how much unterminated data had arrived, as in Redis;
 *   - resp_split_inline: the count-only call and the filling call agree, a call with
 *     too little room leaves the line untouched, slices lie inside the line and are no
 *     longer than the input they came from. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/resp_parse.h"

#define MAX_CMDS 4096

/* One parsed command, flattened: argc, then (len, bytes) per argument. */
typedef struct cmd_log {
    size_t n; /* commands recorded */
    size_t bytes_len, bytes_cap;
    unsigned char *bytes;
    size_t offs[MAX_CMDS + 1];
    int outcome; /* 0: incomplete tail (or nothing left), 1: protocol error */
    char err[64];
    int too_big; /* the error was one of the 64 KiB limits */
} cmd_log;

static void fail(const char *what) {
    fprintf(stderr, "fuzz_resp: invariant violated: %s\n", what);
    abort();
}

static void log_put(cmd_log *l, const void *p, size_t n) {
    if (l->bytes_len + n > l->bytes_cap) {
        size_t cap = l->bytes_cap ? l->bytes_cap : 256;
        while (cap < l->bytes_len + n) cap *= 2;
        l->bytes = realloc(l->bytes, cap);
        if (!l->bytes) fail("out of memory");
        l->bytes_cap = cap;
    }
    memcpy(l->bytes + l->bytes_len, p, n);
    l->bytes_len += n;
}

/* Check a complete command's shape and record it. buf[0..n) is the command. */
static void log_command(cmd_log *l, const resp_parser *p, const char *buf, size_t n) {
    int i;
    if (p->argc < 0 || (p->argc > 0 && p->argc > p->cap)) fail("argc out of range");
    for (i = 0; i < p->argc; i++) {
        const resp_slice *s = &p->argv[i];
        if (p->ext && p->ext[i]) {
            if (s->ptr != p->ext[i] + p->off[i] || s->len < RESP_BIG_ARG) fail("a big argument outside its buffer");
        } else if (s->ptr < buf || s->ptr > buf + n || s->len > (size_t)(buf + n - s->ptr)) {
            fail("argv slice outside the command's bytes");
        }
        if (p->unauth && p->kind == '*' && s->len > RESP_UNAUTH_MAX_BULK) fail("a long bulk passed before AUTH");
    }
    if (p->unauth && p->kind == '*' && p->argc > RESP_UNAUTH_MAX_ARGS) fail("too many arguments passed before AUTH");
    if (l->n >= MAX_CMDS) return;
    l->offs[l->n] = l->bytes_len;
    log_put(l, &p->argc, sizeof p->argc);
    for (i = 0; i < p->argc; i++) {
        log_put(l, &p->argv[i].len, sizeof p->argv[i].len);
        log_put(l, p->argv[i].ptr, p->argv[i].len);
    }
    l->n++;
    l->offs[l->n] = l->bytes_len;
}

static void log_error(cmd_log *l, const resp_parser *p) {
    if (!p->err) fail("-1 without an error text");
    l->outcome = 1;
    snprintf(l->err, sizeof l->err, "%s", p->err);
    l->too_big = strstr(p->err, "too big") != NULL;
}

/* Parse every complete command in buf[0..len) from *start on, as net.c does. Returns 0
 * to go on reading, -1 after a protocol error. */
static int process(cmd_log *l, resp_parser *p, char *buf, size_t len, size_t *start) {
    while (*start < len) {
        ssize_t n = resp_parse(p, buf + *start, len - *start);
        if (n == 0) return 0;
        if (n < 0) {
            log_error(l, p);
            return -1;
        }
        if ((size_t)n > len - *start) fail("consumed more bytes than given");
        log_command(l, p, buf + *start, (size_t)n);
        *start += (size_t)n;
        resp_parser_reset(p);
    }
    return 0;
}

static int unauth; /* this input parses as a client that has not authenticated */

static void parse_whole(cmd_log *l, long long max_bulk, const char *data, size_t len) {
    resp_parser p;
    size_t start = 0;
    char *buf = malloc(len ? len : 1);
    memcpy(buf, data, len);
    resp_parser_init(&p, max_bulk);
    p.unauth = unauth;
    process(l, &p, buf, len, &start);
    resp_parser_free(&p);
    free(buf);
}

/* Size of the next read, from a small xorshift generator seeded by the input. Modes:
 * 0 one byte at a time, 1 two bytes, 2 random 1..16, 3 random 1..512, 4 random
 * 1..len, 5 halves, 6 primes-ish 7/13, 7 random 1..3; at most 256 reads (16 for a
 * long filler input). */
static size_t next_chunk(int mode, uint32_t *rng, size_t left, size_t total) {
    size_t n;
    *rng ^= *rng << 13;
    *rng ^= *rng >> 17;
    *rng ^= *rng << 5;
    switch (mode) {
        case 0: n = 1; break;
        case 1: n = 2; break;
        case 2: n = 1 + *rng % 16; break;
        case 3: n = 1 + *rng % 512; break;
        case 4: n = 1 + *rng % (left ? left : 1); break;
        case 5: n = left / 2 ? left / 2 : 1; break;
        case 6: n = (*rng & 1) ? 7 : 13; break;
        default: n = 1 + *rng % 3; break;
    }
    /* Each read copies the unconsumed tail, so reads cost O(n^2) bytes: at most 256
     * reads (one byte at a time up to 256-byte inputs), 16 for a long filler input. */
    if (n < total / 256) n = total / 256;
    if (total > 4096 && n < total / 16) n = total / 16;
    return n < left ? n : left;
}

static void parse_split(cmd_log *l, long long max_bulk, const char *data, size_t len, int mode, uint32_t seed) {
    resp_parser p;
    char *q = NULL; /* the unconsumed tail, exactly qlen bytes */
    size_t qlen = 0, fed = 0;
    uint32_t rng = seed * 2654435761u + 1;

    resp_parser_init(&p, max_bulk);
    p.unauth = unauth;
    while (fed < len) {
        size_t n = next_chunk(mode, &rng, len - fed, len), start = 0, room;
        char *big = resp_parser_big_room(&p, &room), *nq;
        if (big) { /* the rest of a big bulk goes straight to its buffer */
            if (n > room) n = room;
            memcpy(big, data + fed, n);
            resp_parser_big_filled(&p, n);
            fed += n;
            n = 0;
        }
        nq = malloc(qlen + n ? qlen + n : 1);
        if (qlen) memcpy(nq, q, qlen);
        memcpy(nq + qlen, data + fed, n);
        free(q);
        q = nq;
        qlen += n;
        fed += n;
        if (process(l, &p, q, qlen, &start) < 0) break;
        if (resp_parser_big_wanted(&p)) { /* a big bulk has begun: give it its own buffer */
            size_t want = resp_parser_big_wanted(&p), room_front = seed & 32;
            qlen = start + resp_parser_big_start(&p, malloc(room_front + want), room_front, q + start, qlen - start);
        }
        /* Drop the consumed prefix into a new exact-size buffer: the parser's state
         * must survive its command moving. */
        if (qlen - start) {
            nq = malloc(qlen - start);
            memcpy(nq, q + start, qlen - start);
        } else {
            nq = NULL;
        }
        free(q);
        q = nq;
        qlen -= start;
    }
    free(q);
    resp_parser_free(&p);
}

static void compare(const cmd_log *whole, const cmd_log *split) {
    size_t n = whole->n < split->n ? whole->n : split->n;
    size_t i;
    for (i = 0; i < n; i++) {
        size_t a = whole->offs[i + 1] - whole->offs[i], b = split->offs[i + 1] - split->offs[i];
        if (a != b || memcmp(whole->bytes + whole->offs[i], split->bytes + split->offs[i], a))
            fail("whole and split parses differ in a command");
    }
    /* The 64 KiB limits apply to data received without a line end: a split delivery can
     * hit one where the whole buffer (which has the line end) does not. Redis behaves
     * the same way. Everything before it must still agree. */
    if (split->outcome == 1 && split->too_big) {
        if (split->n > whole->n) fail("split parse found more commands before a size-limit error");
        return;
    }
    if (whole->n != split->n) fail("whole and split parses differ in the number of commands");
    if (whole->outcome != split->outcome) fail("whole and split parses differ in outcome");
    if (whole->outcome == 1 && strcmp(whole->err, split->err)) fail("whole and split parses differ in error text");
}

/* resp_split_inline on one line of the input. */
static void fuzz_split_inline(const char *data, size_t len) {
    const char *nl = memchr(data, '\n', len);
    size_t linelen = nl ? (size_t)(nl - data) : len;
    char *line = malloc(linelen ? linelen : 1), *orig = malloc(linelen ? linelen : 1);
    resp_slice *out;
    int n, m, i;

    memcpy(line, data, linelen);
    memcpy(orig, data, linelen);
    n = resp_split_inline(line, linelen, NULL, 0);
    if (memcmp(line, orig, linelen)) fail("resp_split_inline changed the line without room for the result");
    if (n <= 0) {
        free(line);
        free(orig);
        return;
    }
    if (n > 1) {
        resp_slice few[1];
        m = resp_split_inline(line, linelen, few, 1);
        if (m != n || memcmp(line, orig, linelen))
            fail("resp_split_inline with little room: different count or line changed");
    }
    out = malloc(sizeof *out * (size_t)n);
    m = resp_split_inline(line, linelen, out, n);
    if (m != n) fail("resp_split_inline count differs when filling");
    for (i = 0; i < n; i++) {
        if (out[i].ptr < line || out[i].ptr + out[i].len > line + linelen)
            fail("resp_split_inline slice outside the line");
        if (i > 0 && out[i].ptr < out[i - 1].ptr + out[i - 1].len) fail("resp_split_inline slices overlap");
    }
    free(out);
    free(line);
    free(orig);
}

/* ASan defaults for this target (ASAN_OPTIONS overrides them): a smaller quarantine
 * and malloc fill run it ~20% faster; every read allocates a fresh buffer. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=16:max_malloc_fill_size=256"; }

static const long long max_bulks[4] = {RESP_DEFAULT_MAX_BULK, 1024 * 1024, 16, 0};
static const size_t filler_sizes[4] = {RESP_INLINE_MAX - 8, RESP_INLINE_MAX, RESP_INLINE_MAX + 1, RESP_INLINE_MAX + 64};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
    static cmd_log whole, split;
    static int filler_on = -1;
    const char *data;
    char *expanded = NULL;
    size_t len;
    int flags, mode;
    uint32_t seed;

    if (filler_on < 0) filler_on = getenv("RESPITE_FUZZ_FILLER") && atoi(getenv("RESPITE_FUZZ_FILLER")) > 0;
    if (size < 2) return 0;
    flags = in[0];
    seed = in[1];
    data = (const char *)in + 2;
    len = size - 2;
    mode = (flags >> 2) & 7;

    if (filler_on && (flags & 0xe0) == 0xe0 && (seed & 0xf0) == 0xf0) {
        /* Insert filler at the input's midpoint: a long argument, or a long header
         * or inline line if the filler byte is not a line end. */
        size_t fill = filler_sizes[seed & 3], at = len / 2;
        char byte = len ? data[len - 1] : 'a';
        if (byte == '\n') byte = 'x'; /* 64K one-line commands would only make the run slow */
        expanded = malloc(len + fill);
        memcpy(expanded, data, at);
        memset(expanded + at, byte, fill);
        memcpy(expanded + at + fill, data + at, len - at);
        data = expanded;
        len += fill;
    }
    if (flags & 0x40) fuzz_split_inline(data, len);
    unauth = (flags & 0x20) != 0;

    whole.n = split.n = 0;
    whole.bytes_len = split.bytes_len = 0;
    whole.outcome = split.outcome = 0;
    whole.too_big = split.too_big = 0;
    parse_whole(&whole, max_bulks[flags & 3], data, len);
    parse_split(&split, max_bulks[flags & 3], data, len, mode, seed);
    compare(&whole, &split);
    free(expanded);
    return 0;
}
