/* test_resp.c: unit tests of the incremental request parser (protocol/resp_parse.c):
 * a pipelined stream fed whole, at every split point and byte at a time, every error
 * with Redis 7.0.15's exact text, and a fuzz run that checks splitting never changes
 * the outcome. Each feed hands the parser an exactly sized, freshly allocated buffer so
 * that AddressSanitizer catches reads beyond len and stale offsets. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/resp_parse.h"

/* ---- a growable string for transcripts ---- */
typedef struct {
    char *s;
    size_t len, cap;
} str;

static void str_add(str *t, const char *p, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        ck_assert_ptr_nonnull(t->s);
    }
    memcpy(t->s + t->len, p, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void str_addf(str *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void str_addf(str *t, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    str_add(t, buf, (size_t)n);
}

/* Escape an argument so transcripts are printable and binary-exact. */
static void str_add_arg(str *t, const char *p, size_t n) {
    size_t i;
    str_addf(t, "%zu:", n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x21 && c < 0x7f && c != '\\') str_add(t, (const char *)&c, 1);
        else str_addf(t, "\\%02x", c);
    }
    str_add(t, " ", 1);
}

/* ---- a simulated connection ---- */
typedef struct {
    resp_parser p;
    char *qb; /* the unconsumed bytes, exactly qlen of them */
    size_t qlen;
    str log; /* one line per command, then "ERR <text>" on a protocol error */
    int errored;
    int commands;
} conn;

static int conn_unauth; /* new simulated connections have not authenticated */

static void conn_init(conn *c, long long max_bulk) {
    memset(c, 0, sizeof *c);
    resp_parser_init(&c->p, max_bulk);
    c->p.unauth = conn_unauth;
    str_add(&c->log, "", 0);
}

static void conn_free(conn *c) {
    resp_parser_free(&c->p);
    free(c->qb);
    free(c->log.s);
}

/* Append data to the query buffer (moving it to a new allocation), parse every complete
 * command, then keep only the unparsed tail, again in a new exact-size allocation. */
static void conn_feed(conn *c, const char *data, size_t n) {
    char *nb;
    size_t start = 0;

    if (c->errored) return;
    nb = malloc(c->qlen + n ? c->qlen + n : 1);
    ck_assert_ptr_nonnull(nb);
    if (c->qlen) memcpy(nb, c->qb, c->qlen);
    if (n) memcpy(nb + c->qlen, data, n);
    free(c->qb);
    c->qb = nb;
    c->qlen += n;
    for (;;) {
        ssize_t r = resp_parse(&c->p, c->qb + start, c->qlen - start);
        if (r == 0) break;
        if (r < 0) {
            ck_assert_ptr_nonnull(c->p.err);
            str_addf(&c->log, "ERR %s\n", c->p.err);
            c->errored = 1;
            break;
        }
        ck_assert_uint_le((size_t)r, c->qlen - start);
        {
            int i;
            str_addf(&c->log, "[%d] ", c->p.argc);
            for (i = 0; i < c->p.argc; i++) {
                resp_slice a = c->p.argv[i];
                ck_assert(a.ptr >= c->qb + start && a.ptr + a.len <= c->qb + start + r);
                str_add_arg(&c->log, a.ptr, a.len);
            }
            str_add(&c->log, "\n", 1);
        }
        c->commands++;
        resp_parser_reset(&c->p);
        start += (size_t)r;
    }
    /* move the tail */
    {
        size_t tail = c->qlen - start;
        char *t = malloc(tail ? tail : 1);
        ck_assert_ptr_nonnull(t);
        if (tail) memcpy(t, c->qb + start, tail);
        free(c->qb);
        c->qb = t;
        c->qlen = tail;
    }
}

/* Parse in pieces given by cut points; returns the transcript (caller frees). */
static char *run_cuts(const char *in, size_t len, const size_t *cuts, int ncuts, long long max_bulk) {
    conn c;
    size_t prev = 0;
    int i;
    char *out;

    conn_init(&c, max_bulk);
    for (i = 0; i < ncuts; i++) {
        conn_feed(&c, in + prev, cuts[i] - prev);
        prev = cuts[i];
    }
    conn_feed(&c, in + prev, len - prev);
    if (!c.errored && c.qlen) str_addf(&c.log, "PENDING %zu\n", c.qlen);
    out = c.log.s;
    c.log.s = NULL;
    conn_free(&c);
    return out;
}

static char *run_whole(const char *in, size_t len, long long max_bulk) { return run_cuts(in, len, NULL, 0, max_bulk); }

/* Check that the input gives expect whole, split at every point, split at every pair
 * of points (for short inputs) and byte at a time. */
static void check_all_splits(const char *in, size_t len, const char *expect, long long max_bulk) {
    char *got;
    size_t i, j;

    got = run_whole(in, len, max_bulk);
    ck_assert_str_eq(got, expect);
    free(got);
    for (i = 0; i <= len; i++) {
        got = run_cuts(in, len, &i, 1, max_bulk);
        ck_assert_msg(strcmp(got, expect) == 0, "split at %zu:\n%s\nexpected:\n%s", i, got, expect);
        free(got);
    }
    if (len <= 400) {
        for (i = 0; i <= len; i++) {
            for (j = i; j <= len; j++) {
                size_t cuts[2] = {i, j};
                got = run_cuts(in, len, cuts, 2, max_bulk);
                ck_assert_msg(strcmp(got, expect) == 0, "split at %zu,%zu", i, j);
                free(got);
            }
        }
    }
    {
        size_t *cuts = malloc((len + 1) * sizeof *cuts);
        for (i = 0; i < len; i++) cuts[i] = i;
        got = run_cuts(in, len, cuts, (int)len, max_bulk);
        ck_assert_msg(strcmp(got, expect) == 0, "byte at a time:\n%s", got);
        free(got);
        free(cuts);
    }
}

#define LIT(s) s, sizeof(s) - 1

/* ---- the pipelined stream ---- */

START_TEST(test_pipeline_every_split) {
    static const char in[] = "*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\r\n\r\n$6\r\n\0\1\r\n\r\xff\r\n" /* binary bulks */
                             "PING\r\n"                                                       /* inline */
                             "\r\n"                                                           /* empty line */
                             "\n"                                                             /* bare LF */
                             "   \t \r\n"                                                     /* blanks only */
                             "*0\r\n"                                                         /* empty multibulk */
                             "*-1\r\n"                                                        /* also empty */
                             "SET \"a b\\x41\\n\\\"\" 'c\\'d' e\"q\"  x\r\n"                  /* quotes, escapes */
                             "ECHO  lf-only\n"                                                /* LF-terminated */
                             "*1\r\n$0\r\n\r\n"                                               /* empty bulk */
                             "*2\r\n$4\r\nECHO\r\n$12\r\nhello\r\nworld\r\n"
                             "*1\rX$4\r\nPINGxx" /* Redis skips the byte after '\r' and after data unchecked */
                             "get k\r\n";
    static const char expect[] = "[3] 3:SET 5:k\\0d\\0a\\0d\\0a 6:\\00\\01\\0d\\0a\\0d\\ff \n"
                                 "[1] 4:PING \n"
                                 "[0] \n"
                                 "[0] \n"
                                 "[0] \n"
                                 "[0] \n"
                                 "[0] \n"
                                 "[5] 3:SET 6:a\\20bA\\0a\" 3:c'd 2:eq 1:x \n"
                                 "[2] 4:ECHO 7:lf-only \n"
                                 "[1] 0: \n"
                                 "[2] 4:ECHO 12:hello\\0d\\0aworld \n"
                                 "[1] 4:PING \n"
                                 "[2] 3:get 1:k \n";
    check_all_splits(in, sizeof in - 1, expect, RESP_DEFAULT_MAX_BULK);
}
END_TEST

START_TEST(test_incomplete_is_pending) {
    char *got;
    got = run_whole(LIT("*2\r\n$3\r\nGET\r\n$1\r\nk"), RESP_DEFAULT_MAX_BULK);
    ck_assert_str_eq(got, "PENDING 18\n");
    free(got);
    got = run_whole(LIT("PING"), RESP_DEFAULT_MAX_BULK);
    ck_assert_str_eq(got, "PENDING 4\n");
    free(got);
    got = run_whole(LIT("*1\r"), RESP_DEFAULT_MAX_BULK); /* '\r' but nothing after */
    ck_assert_str_eq(got, "PENDING 3\n");
    free(got);
    /* a bulk is complete only with the two bytes after its data */
    got = run_whole(LIT("*1\r\n$4\r\nPING\r"), RESP_DEFAULT_MAX_BULK);
    ck_assert_str_eq(got, "PENDING 13\n");
    free(got);
}
END_TEST

/* ---- errors ---- */

static void expect_error(const char *in, size_t len, const char *prefix_log, const char *err, long long max_bulk) {
    char expect[512];
    snprintf(expect, sizeof expect, "%sERR %s\n", prefix_log, err);
    check_all_splits(in, len, expect, max_bulk);
}

START_TEST(test_errors_exact_texts) {
    const long long D = RESP_DEFAULT_MAX_BULK;
    expect_error(LIT("*x\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("*\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("*01\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("*+1\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("* 1\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("*2147483648\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("*99999999999999999999\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("*1\r\n$-1\r\n"), "", "Protocol error: invalid bulk length", D);
    expect_error(LIT("*1\r\n$\r\n"), "", "Protocol error: invalid bulk length", D);
    expect_error(LIT("*1\r\n$01\r\n"), "", "Protocol error: invalid bulk length", D);
    expect_error(LIT("*1\r\n$1x\r\n"), "", "Protocol error: invalid bulk length", D);
    expect_error(LIT("*1\r\n$536870913\r\n"), "", "Protocol error: invalid bulk length", D);
    expect_error(LIT("*1\r\n$11\r\n"), "", "Protocol error: invalid bulk length", 10);
    expect_error(LIT("*1\r\nx\r\n"), "", "Protocol error: expected '$', got 'x'", D);
    expect_error(LIT("*1\r\n\r\n"), "", "Protocol error: expected '$', got ' '", D);
    expect_error(LIT("*1\r\n\n\r\n"), "", "Protocol error: expected '$', got ' '", D);
    expect_error(LIT("*2\r\n$1\r\na\r\n:1\r\n"), "", "Protocol error: expected '$', got ':'", D);
    expect_error(LIT("ECHO \"abc\r\n"), "", "Protocol error: unbalanced quotes in request", D);
    expect_error(LIT("ECHO \"abc\"x\r\n"), "", "Protocol error: unbalanced quotes in request", D);
    expect_error(LIT("ECHO 'abc'x\r\n"), "", "Protocol error: unbalanced quotes in request", D);
    expect_error(LIT("ECHO 'abc\r\n"), "", "Protocol error: unbalanced quotes in request", D);
    expect_error(LIT("ECHO a\"b c\"d\r\n"), "", "Protocol error: unbalanced quotes in request", D);
    expect_error(LIT("ECHO \"a\\\"\r\n"), "", "Protocol error: unbalanced quotes in request", D);
    /* commands before the bad one are still parsed */
    expect_error(LIT("PING\r\n*1\r\n$1\r\nx\r\n*y\r\n"), "[1] 4:PING \n[1] 1:x \n",
                 "Protocol error: invalid multibulk length", D);
}
END_TEST

START_TEST(test_max_bulk_boundary) {
    char *got = run_whole(LIT("*1\r\n$10\r\n0123456789\r\n"), 10);
    ck_assert_str_eq(got, "[1] 10:0123456789 \n");
    free(got);
}
END_TEST

/* Build "prefix" + n copies of fill + "suffix" */
static char *build(const char *prefix, char fill, size_t n, const char *suffix, size_t *len) {
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *b = malloc(pl + n + sl);
    memcpy(b, prefix, pl);
    memset(b + pl, fill, n);
    memcpy(b + pl + n, suffix, sl);
    *len = pl + n + sl;
    return b;
}

static void expect_whole_and_pieces(const char *in, size_t len, const char *expect) {
    char *got = run_whole(in, len, RESP_DEFAULT_MAX_BULK);
    size_t cuts[64];
    int i, n = 0;
    ck_assert_msg(strcmp(got, expect) == 0, "whole: %.200s", got);
    free(got);
    /* in 1000-byte reads, and at a few awkward points */
    for (i = 1; i < 64 && (size_t)i * 1000 < len; i++) cuts[n++] = (size_t)i * 1000;
    got = run_cuts(in, len, cuts, n, RESP_DEFAULT_MAX_BULK);
    ck_assert_msg(strcmp(got, expect) == 0, "1000-byte reads: %.200s", got);
    free(got);
    cuts[0] = len / 2;
    cuts[1] = len - 1;
    got = run_cuts(in, len, cuts, 2, RESP_DEFAULT_MAX_BULK);
    ck_assert_msg(strcmp(got, expect) == 0, "halves: %.200s", got);
    free(got);
}

START_TEST(test_limits) {
    size_t len;
    char *in;

    /* inline: 64 KiB without a newline is still pending, one more byte is too big */
    in = build("", 'A', 65536, "", &len);
    expect_whole_and_pieces(in, len, "PENDING 65536\n");
    free(in);
    in = build("", 'A', 65537, "", &len);
    expect_whole_and_pieces(in, len, "ERR Protocol error: too big inline request\n");
    free(in);
    /* a longer line is fine if its newline is already there */
    in = build("ECHO ", 'A', 70000, "\r\n", &len);
    {
        char *got = run_whole(in, len, RESP_DEFAULT_MAX_BULK);
        ck_assert(strncmp(got, "[2] 4:ECHO 70000:AAAA", 21) == 0);
        free(got);
    }
    free(in);
    /* multibulk count line */
    in = build("*1", '1', 65534, "", &len);
    expect_whole_and_pieces(in, len, "PENDING 65536\n");
    free(in);
    in = build("*1", '1', 65535, "", &len);
    expect_whole_and_pieces(in, len, "ERR Protocol error: too big mbulk count string\n");
    free(in);
    /* bulk count line: measured from the '$' */
    in = build("*1\r\n$1", '1', 65534, "", &len);
    expect_whole_and_pieces(in, len, "PENDING 65540\n");
    free(in);
    in = build("*1\r\n$1", '1', 65535, "", &len);
    expect_whole_and_pieces(in, len, "ERR Protocol error: too big bulk count string\n");
    free(in);
    /* garbage where a header should be is "too big" before it is "expected '$'" */
    in = build("*1\r\n", 'x', 65537, "", &len);
    expect_whole_and_pieces(in, len, "ERR Protocol error: too big bulk count string\n");
    free(in);
}
END_TEST

START_TEST(test_nul_hides_line_end) {
    /* Redis finds line ends with strchr, so a NUL before one keeps the request pending
     * until the 64 KiB limit turns it into an error. */
    char *got;
    size_t len;
    char *in;

    got = run_whole(LIT("ECHO x\0y\r\n"), RESP_DEFAULT_MAX_BULK);
    ck_assert_str_eq(got, "PENDING 10\n");
    free(got);
    got = run_whole(LIT("*1\0\r\n$4\r\nPING\r\n"), RESP_DEFAULT_MAX_BULK);
    ck_assert_str_eq(got, "PENDING 15\n");
    free(got);
    got = run_whole(LIT("*1\r\n$4\0\r\nPING\r\n"), RESP_DEFAULT_MAX_BULK);
    ck_assert_str_eq(got, "PENDING 15\n");
    free(got);
    /* but a NUL inside a bulk's data is just data */
    got = run_whole(LIT("*1\r\n$3\r\na\0b\r\n"), RESP_DEFAULT_MAX_BULK);
    ck_assert_str_eq(got, "[1] 3:a\\00b \n");
    free(got);
    in = build("*1\r\n$4\0\r\n", 'x', 65536, "", &len);
    expect_whole_and_pieces(in, len, "ERR Protocol error: too big bulk count string\n");
    free(in);
    in = build("GET x", '\n', 65533, "", &len);
    in[4] = '\0';
    expect_whole_and_pieces(in, len, "ERR Protocol error: too big inline request\n");
    free(in);
}
END_TEST

START_TEST(test_big_bulk_many_reads) {
    /* a 32 MiB bulk in 4 KiB reads, then a 48 KiB inline line byte at a time: both
     * only finish in time if parsing resumes where it stopped */
    const size_t n = 32u << 20;
    size_t len, i, hl;
    char hdr[64];
    char *in, *got;
    conn c;

    hl = (size_t)snprintf(hdr, sizeof hdr, "*2\r\n$3\r\nSET\r\n$%zu\r\n", n);
    len = hl + n + 2;
    in = malloc(len);
    memcpy(in, hdr, hl);
    for (i = 0; i < n; i++) in[hl + i] = (char)(i * 7);
    memcpy(in + hl + n, "\r\n", 2);

    /* feed into one growing buffer, as a server does, without the copying driver */
    {
        resp_parser p;
        char *buf = malloc(len);
        size_t have = 0;
        ssize_t r = 0;
        resp_parser_init(&p, RESP_DEFAULT_MAX_BULK);
        while (have < len) {
            size_t step = len - have < 4096 ? len - have : 4096;
            memcpy(buf + have, in + have, step);
            have += step;
            r = resp_parse(&p, buf, have);
            ck_assert_int_ge(r, 0);
            if (r > 0) break;
        }
        ck_assert_int_eq(r, (ssize_t)len);
        ck_assert_int_eq(p.argc, 2);
        ck_assert_uint_eq(p.argv[1].len, n);
        ck_assert(p.argv[1].ptr == buf + hl);
        ck_assert(memcmp(p.argv[1].ptr, in + hl, n) == 0);
        resp_parser_free(&p);
        free(buf);
    }
    free(in);

    in = build("ECHO ", 'z', 48 * 1024, "\r\n", &len);
    {
        resp_parser p;
        ssize_t r = 0;
        resp_parser_init(&p, RESP_DEFAULT_MAX_BULK);
        for (i = 1; i <= len; i++) {
            r = resp_parse(&p, in, i);
            if (r) break;
        }
        ck_assert_int_eq(r, (ssize_t)len);
        ck_assert_int_eq(p.argc, 2);
        ck_assert_uint_eq(p.argv[1].len, 48 * 1024);
        resp_parser_free(&p);
    }
    free(in);

    /* many arguments: argv grows */
    conn_init(&c, RESP_DEFAULT_MAX_BULK);
    conn_feed(&c, LIT("*5000\r\n"));
    for (i = 0; i < 5000; i++) conn_feed(&c, LIT("$1\r\nx\r\n"));
    ck_assert_int_eq(c.commands, 1);
    ck_assert(strncmp(c.log.s, "[5000] 1:x 1:x ", 15) == 0);
    conn_free(&c);
    (void)got;
}
END_TEST

START_TEST(test_unauth_limits) {
    /* Redis's pre-AUTH limits: more than 10 arguments or a bulk over 16 KiB, checked
     * after the invalid-length checks; an authenticated parser takes both */
    const long long D = RESP_DEFAULT_MAX_BULK;
    conn_unauth = 1;
    expect_error(LIT("*11\r\n"), "", "Protocol error: unauthenticated multibulk length", D);
    expect_error(LIT("*1000000000\r\n$1\r\na\r\n"), "", "Protocol error: unauthenticated multibulk length", D);
    expect_error(LIT("*2\r\n$16385\r\n"), "", "Protocol error: unauthenticated bulk length", D);
    expect_error(LIT("*2\r\n$3\r\nGET\r\n$99999\r\nxx"), "", "Protocol error: unauthenticated bulk length", D);
    expect_error(LIT("*-1\r\n*11\r\n"), "[0] \n", "Protocol error: unauthenticated multibulk length", D);
    expect_error(LIT("*1\r\n$4\r\nPING\r\n*12\r\n"), "[1] 4:PING \n",
                 "Protocol error: unauthenticated multibulk length", D);
    expect_error(LIT("*2147483648\r\n"), "", "Protocol error: invalid multibulk length", D);
    expect_error(LIT("*2\r\n$-5\r\n"), "", "Protocol error: invalid bulk length", D);
    expect_error(LIT("*2\r\n$2000000\r\n"), "", "Protocol error: invalid bulk length", 1024 * 1024);
    check_all_splits(LIT("*10\r\n"), "PENDING 5\n", D);
    check_all_splits(LIT("*2\r\n$16384\r\n"), "PENDING 12\n", D);
    check_all_splits(LIT("a b c d e f g h i j k l\r\n"), "[12] 1:a 1:b 1:c 1:d 1:e 1:f 1:g 1:h 1:i 1:j 1:k 1:l \n", D);
    conn_unauth = 0;
    check_all_splits(LIT("*11\r\n"), "PENDING 5\n", D);
    check_all_splits(LIT("*2\r\n$16385\r\n"), "PENDING 12\n", D);
}
END_TEST

/* Drive a big bulk as net.c does: when the parser wants a buffer for it, give one with
 * `room` bytes in front, move what arrived there, then receive the rest in `step`-byte
 * reads straight into it. Returns the command's length in cmd (which keeps only the
 * bytes around the big bulks). */
static ssize_t feed_with_big(resp_parser *p, const char *in, size_t len, size_t step, size_t room, char **cmd_out,
                             char **bigs, int *nbigs) {
    char *cmd = malloc(len);
    size_t have = 0, at = 0; /* bytes in cmd; bytes of in consumed */
    ssize_t r = 0;
    *nbigs = 0;
    while (at < len || r == 0) {
        size_t n, want, room_left;
        char *dst = resp_parser_big_room(p, &room_left);
        if (dst) {
            n = room_left < step ? room_left : step;
            if (n > len - at) n = len - at;
            memcpy(dst, in + at, n);
            resp_parser_big_filled(p, n);
        } else {
            n = len - at < step ? len - at : step;
            memcpy(cmd + have, in + at, n);
            have += n;
        }
        at += n;
        r = resp_parse(p, cmd, have);
        ck_assert_int_ge(r, 0);
        if (r > 0) break;
        want = resp_parser_big_wanted(p);
        if (want) {
            char *b = malloc(room + want);
            bigs[(*nbigs)++] = b;
            have = resp_parser_big_start(p, b, room, cmd, have);
            ck_assert_uint_ge(resp_parser_memory(p), room + want);
        }
        if (at == len && !resp_parser_big_room(p, &room_left)) {
            r = resp_parse(p, cmd, have);
            break;
        }
    }
    *cmd_out = cmd;
    return r;
}

START_TEST(test_big_arg_own_buffer) {
    const size_t n = 100000, m = RESP_BIG_ARG;
    char hdr[128], *in, *cmd, *bigs[4];
    size_t hl, len, steps[] = {1, 7, 4096, 65536, 1 << 20};
    int nbigs;
    /* SET key <100000 bytes> then a 32 KiB value of MSET's second pair, then a short one */
    hl = (size_t)snprintf(hdr, sizeof hdr, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$%zu\r\n", n);
    len = hl + n + 2;
    in = malloc(len + 64);
    memcpy(in, hdr, hl);
    for (size_t i = 0; i < n; i++) in[hl + i] = (char)(i * 13 + 1);
    memcpy(in + hl + n, "\r\n", 2);
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        resp_parser p;
        resp_parser_init(&p, RESP_DEFAULT_MAX_BULK);
        ssize_t r = feed_with_big(&p, in, len, steps[s], 24, &cmd, bigs, &nbigs);
        if (steps[s] >= len) { /* it came whole: parsed in place as ever */
            ck_assert_int_eq(r, (ssize_t)len);
            ck_assert_int_eq(nbigs, 0);
            ck_assert(p.argv[2].ptr == cmd + hl && resp_parser_take_arg(&p, 2) == NULL);
            resp_parser_free(&p);
            free(cmd);
            continue;
        }
        ck_assert_int_eq(r, (ssize_t)hl);
        ck_assert_int_eq(nbigs, 1);
        ck_assert_int_eq(p.argc, 3);
        ck_assert(p.argv[2].ptr == bigs[0] + 24); /* in its own buffer, where room said */
        ck_assert_uint_eq(p.argv[2].len, n);
        ck_assert(memcmp(p.argv[2].ptr, in + hl, n) == 0);
        ck_assert(p.argv[1].ptr == cmd + 17 && memcmp(p.argv[1].ptr, "key", 3) == 0);
        if (s % 2) { /* taken: the caller owns it; reset must not free it */
            ck_assert(resp_parser_take_arg(&p, 1) == NULL);
            ck_assert(resp_parser_take_arg(&p, 2) == bigs[0]);
            ck_assert(resp_parser_take_arg(&p, 2) == NULL);
            ck_assert_uint_lt(resp_parser_memory(&p), 24 + n);
            free(bigs[0]);
        }
        resp_parser_reset(&p); /* frees an untaken buffer (ASan checks both ways) */
        ck_assert_uint_lt(resp_parser_memory(&p), 24 + n);
        resp_parser_free(&p);
        free(cmd);
    }
    free(in);

    /* two big bulks and a small one in one command, with a pipelined command behind */
    {
        size_t o = 0;
        in = malloc(3 * m + 256);
        o += (size_t)sprintf(in + o, "*5\r\n$4\r\nMSET\r\n$%zu\r\n", m);
        memset(in + o, 'k', m), o += m;
        o += (size_t)sprintf(in + o, "\r\n$%zu\r\n", m + 1);
        memset(in + o, 'v', m + 1), o += m + 1;
        o += (size_t)sprintf(in + o, "\r\n$1\r\nx\r\n$1\r\ny\r\n");
        size_t first = o;
        o += (size_t)sprintf(in + o, "*1\r\n$4\r\nPING\r\n");
        resp_parser p;
        resp_parser_init(&p, RESP_DEFAULT_MAX_BULK);
        ssize_t r = feed_with_big(&p, in, first, 5000, 0, &cmd, bigs, &nbigs);
        ck_assert_int_eq(nbigs, 2);
        ck_assert_int_eq(p.argc, 5);
        ck_assert(p.argv[1].ptr == bigs[0] && p.argv[1].len == m && p.argv[1].ptr[m - 1] == 'k');
        ck_assert(p.argv[2].ptr == bigs[1] && p.argv[2].len == m + 1 && p.argv[2].ptr[m] == 'v');
        ck_assert(p.argv[3].len == 1 && p.argv[3].ptr[0] == 'x' && p.argv[4].ptr[0] == 'y');
        ck_assert_int_eq(r, (ssize_t)(first - m - (m + 1) - 4));
        resp_parser_reset(&p);
        r = resp_parse(&p, in + first, o - first);
        ck_assert_int_eq(r, (ssize_t)(o - first));
        ck_assert_int_eq(p.argc, 1);
        resp_parser_free(&p);
        free(cmd);
        free(in);
    }

    /* an unfinished big bulk is freed with the parser */
    {
        resp_parser p;
        char part[64];
        resp_parser_init(&p, RESP_DEFAULT_MAX_BULK);
        size_t pl = (size_t)snprintf(part, sizeof part, "*2\r\n$4\r\nECHO\r\n$%zu\r\nabc", m);
        ck_assert_int_eq(resp_parse(&p, part, pl), 0);
        ck_assert_uint_eq(resp_parser_big_wanted(&p), m + 2);
        ck_assert_uint_eq(resp_parser_big_start(&p, malloc(m + 2), 0, part, pl), pl - 3);
        ck_assert_uint_eq(resp_parser_big_wanted(&p), 0);
        resp_parser_free(&p);
    }
    /* below RESP_BIG_ARG nothing is offered */
    {
        resp_parser p;
        resp_parser_init(&p, RESP_DEFAULT_MAX_BULK);
        ck_assert_int_eq(resp_parse(&p, LIT("*2\r\n$4\r\nECHO\r\n$32767\r\nab")), 0);
        ck_assert_uint_eq(resp_parser_big_wanted(&p), 0);
        resp_parser_free(&p);
    }
}
END_TEST

/* ---- the inline splitter itself ---- */

START_TEST(test_split_inline) {
    resp_slice a[8];
    char line[128];
    int n;

#define SPLIT(s) (memcpy(line, s, sizeof(s) - 1), resp_split_inline(line, sizeof(s) - 1, a, 8))
    n = SPLIT("set k v");
    ck_assert_int_eq(n, 3);
    ck_assert(a[2].len == 1 && a[2].ptr[0] == 'v');
    n = SPLIT("  \"\\x4a\\x4B\\x4g\\t\\q\"  ");
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(a[0].len, 7);
    ck_assert(memcmp(a[0].ptr, "JKx4g\tq", 7) == 0); /* "\x4g" is not hex: "\x" gives 'x' */
    n = SPLIT("'a\\nb' \"\"");
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(a[0].len, 4); /* only \' is an escape inside single quotes */
    ck_assert(memcmp(a[0].ptr, "a\\nb", 4) == 0);
    ck_assert_uint_eq(a[1].len, 0);
    n = SPLIT("a\vb"); /* \v is a blank only between arguments */
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(a[0].len, 3);
    n = SPLIT("\"a\"\vb");
    ck_assert_int_eq(n, 2);
    n = SPLIT("x\0y z"); /* a NUL ends the line */
    ck_assert_int_eq(n, 1);
    n = SPLIT("");
    ck_assert_int_eq(n, 0);
    /* too many for the room: the count is returned and the line left alone */
    memcpy(line, "\"\\x41\" b c", 10);
    n = resp_split_inline(line, 10, a, 2);
    ck_assert_int_eq(n, 3);
    ck_assert(memcmp(line, "\"\\x41\" b c", 10) == 0);
    n = resp_split_inline(line, 10, a, 3);
    ck_assert_int_eq(n, 3);
    ck_assert(a[0].len == 1 && a[0].ptr[0] == 'A');
    /* unbalanced: -1 and untouched */
    memcpy(line, "\"\\x41", 5);
    ck_assert_int_eq(resp_split_inline(line, 5, a, 8), -1);
    ck_assert(memcmp(line, "\"\\x41", 5) == 0);
#undef SPLIT
}
END_TEST

/* ---- fuzz: splitting never changes the outcome, and nothing crashes ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

START_TEST(test_fuzz_split_invariance) {
    static const char *atoms[] = {
        "*",        "$",      "\r",     "\n",  "\r\n", "0",          "1",    "2",  "3",     "-",
        "-1",       "10",     "\"",     "'",   "\\",   "x",          " ",    "\0", "\\x41", "*1\r\n$1\r\na\r\n",
        "PING\r\n", "*2\r\n", "$3\r\n", "abc", "\t",   "2147483648", "\xff",
    };
    int iter;
    char in[256];

    for (iter = 0; iter < 3000; iter++) {
        size_t len = 0, cuts[4];
        int k, na = 1 + (int)(rnd() % 24), i;
        char *whole, *split;
        for (k = 0; k < na; k++) {
            const char *atom = atoms[rnd() % (sizeof atoms / sizeof *atoms)];
            size_t al = atom[0] ? strlen(atom) : 1;
            if (len + al > sizeof in) break;
            memcpy(in + len, atom, al);
            len += al;
        }
        whole = run_whole(in, len, 100);
        for (i = 0; i < 4; i++) cuts[i] = len ? rnd() % (len + 1) : 0;
        /* sort the cuts */
        for (i = 0; i < 4; i++)
            for (k = i + 1; k < 4; k++)
                if (cuts[k] < cuts[i]) {
                    size_t t = cuts[i];
                    cuts[i] = cuts[k];
                    cuts[k] = t;
                }
        split = run_cuts(in, len, cuts, 4, 100);
        ck_assert_msg(strcmp(whole, split) == 0, "iteration %d differs:\n%s\nvs\n%s", iter, whole, split);
        free(whole);
        free(split);
    }
}
END_TEST

static Suite *resp_suite(void) {
    Suite *s = suite_create("resp_parse");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_pipeline_every_split);
    tcase_add_test(tc, test_incomplete_is_pending);
    tcase_add_test(tc, test_errors_exact_texts);
    tcase_add_test(tc, test_max_bulk_boundary);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_nul_hides_line_end);
    tcase_add_test(tc, test_big_bulk_many_reads);
    tcase_add_test(tc, test_unauth_limits);
    tcase_add_test(tc, test_big_arg_own_buffer);
    tcase_add_test(tc, test_split_inline);
    tcase_add_test(tc, test_fuzz_split_invariance);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(resp_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
