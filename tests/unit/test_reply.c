/* test_reply.c: unit tests of the reply encoder (protocol/reply.c): every encoding in
 * RESP2 and RESP3 (texts checked against a Redis 7.0.15 server), replies spilling from
 * the fixed buffer into chunks, and reply_iov/reply_consume with partial writes checked
 * against a model of the byte stream. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/reply.h"

/* Everything pending, in order, as one malloc'd string (length in *n). */
static char *drain_copy(const reply_buf *rb, size_t *n) {
    struct iovec iov[256];
    int cnt = reply_iov(rb, iov, 256), i;
    size_t total = 0;
    char *out;

    for (i = 0; i < cnt; i++) total += iov[i].iov_len;
    ck_assert_uint_eq(total, reply_pending(rb));
    out = malloc(total + 1);
    total = 0;
    for (i = 0; i < cnt; i++) {
        memcpy(out + total, iov[i].iov_base, iov[i].iov_len);
        total += iov[i].iov_len;
    }
    out[total] = '\0';
    *n = total;
    return out;
}

/* Assert the pending bytes equal expect, then consume them all. */
static void expect_out(reply_buf *rb, const char *expect, size_t elen) {
    size_t n;
    char *got = drain_copy(rb, &n);
    ck_assert_msg(n == elen && memcmp(got, expect, n) == 0, "got \"%s\" expected \"%s\"", got, expect);
    free(got);
    reply_consume(rb, n);
    ck_assert_uint_eq(reply_pending(rb), 0);
}

#define EXPECT(rb, lit) expect_out((rb), lit, sizeof(lit) - 1)

static reply_buf *new_rb(int resp) {
    reply_buf *rb = malloc(sizeof *rb);
    reply_init(rb);
    ck_assert_int_eq(rb->resp, 2);
    rb->resp = resp;
    return rb;
}

static void free_rb(reply_buf *rb) {
    reply_free(rb);
    free(rb);
}

START_TEST(test_resp2_encodings) {
    reply_buf *rb = new_rb(2);

    reply_ok(rb);
    EXPECT(rb, "+OK\r\n");
    reply_simple(rb, "PONG");
    EXPECT(rb, "+PONG\r\n");
    reply_simple_len(rb, "QUEUEDxx", 6);
    EXPECT(rb, "+QUEUED\r\n");
    reply_int(rb, 0);
    reply_int(rb, 1);
    reply_int(rb, -1);
    reply_int(rb, 42);
    reply_int(rb, 1234567);
    reply_int(rb, LLONG_MAX);
    reply_int(rb, LLONG_MIN);
    EXPECT(rb, ":0\r\n:1\r\n:-1\r\n:42\r\n:1234567\r\n:9223372036854775807\r\n"
               ":-9223372036854775808\r\n");
    reply_bulk(rb, "foo", 3);
    reply_bulk(rb, "", 0);
    reply_bulk(rb, "a\r\n\0b", 5);
    EXPECT(rb, "$3\r\nfoo\r\n$0\r\n\r\n$5\r\na\r\n\0b\r\n");
    reply_bulk_cstr(rb, "hello");
    reply_bulk_ll(rb, -12345);
    reply_bulk_ll(rb, 0);
    EXPECT(rb, "$5\r\nhello\r\n$6\r\n-12345\r\n$1\r\n0\r\n");
    reply_null(rb);
    reply_null_array(rb);
    EXPECT(rb, "$-1\r\n*-1\r\n");
    reply_array(rb, 0);
    reply_array(rb, 3);
    reply_array(rb, 100000);
    reply_map(rb, 2);
    reply_set(rb, 5);
    reply_push(rb, 3);
    EXPECT(rb, "*0\r\n*3\r\n*100000\r\n*4\r\n*5\r\n*3\r\n");
    /* Redis 7.0's addReplyDouble: a bulk of "%.17g" */
    reply_double(rb, 1.1);
    reply_double(rb, 3.0);
    reply_double(rb, INFINITY);
    reply_double(rb, -INFINITY);
    reply_double(rb, 1e20);
    EXPECT(rb, "$18\r\n1.1000000000000001\r\n$1\r\n3\r\n$3\r\ninf\r\n$4\r\n-inf\r\n"
               "$5\r\n1e+20\r\n");
    reply_bool(rb, 1);
    reply_bool(rb, 0);
    reply_bool(rb, 7);
    EXPECT(rb, ":1\r\n:0\r\n:1\r\n");
    reply_verbatim(rb, "# Server\r\n", 10, "txt");
    EXPECT(rb, "$10\r\n# Server\r\n\r\n");
    reply_raw(rb, "raw\r\n", 5);
    EXPECT(rb, "raw\r\n");
    free_rb(rb);
}
END_TEST

START_TEST(test_resp3_encodings) {
    reply_buf *rb = new_rb(3);

    reply_null(rb);
    reply_null_array(rb);
    EXPECT(rb, "_\r\n_\r\n");
    reply_map(rb, 1);
    reply_map(rb, 0);
    reply_set(rb, 1);
    reply_push(rb, 3);
    reply_array(rb, 2);
    EXPECT(rb, "%1\r\n%0\r\n~1\r\n>3\r\n*2\r\n");
    reply_double(rb, 1.1);
    reply_double(rb, INFINITY);
    reply_double(rb, -INFINITY);
    reply_double(rb, 3);
    reply_double(rb, -0.5);
    EXPECT(rb, ",1.1000000000000001\r\n,inf\r\n,-inf\r\n,3\r\n,-0.5\r\n");
    reply_bool(rb, 1);
    reply_bool(rb, 0);
    EXPECT(rb, "#t\r\n#f\r\n");
    reply_verbatim(rb, "id=1\n", 5, "txt");
    EXPECT(rb, "=9\r\ntxt:id=1\n\r\n");
    reply_verbatim(rb, "x", 1, "md"); /* padded to three bytes, as Redis does */
    reply_verbatim(rb, "", 0, "");
    EXPECT(rb, "=5\r\nmd :x\r\n=4\r\n   :\r\n");
    /* the rest is shared with RESP2 */
    reply_int(rb, 5);
    reply_bulk(rb, "v", 1);
    reply_ok(rb);
    EXPECT(rb, ":5\r\n$1\r\nv\r\n+OK\r\n");
    free_rb(rb);
}
END_TEST

START_TEST(test_errors) {
    reply_buf *rb = new_rb(2);
    char big[2000];

    reply_error(rb, "unknown command");
    EXPECT(rb, "-ERR unknown command\r\n");
    reply_error(rb, "-WRONGTYPE Operation against a key holding the wrong kind of value");
    EXPECT(rb, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    reply_error(rb, "line1\r\nline2\n");
    EXPECT(rb, "-ERR line1  line2 \r\n");
    reply_error(rb, "");
    EXPECT(rb, "-ERR \r\n");
    reply_error_len(rb, "NOSCRIPTxx", 8);
    EXPECT(rb, "-ERR NOSCRIPT\r\n");
    reply_errorf(rb, "unknown command '%s', with args beginning with: ", "foo");
    EXPECT(rb, "-ERR unknown command 'foo', with args beginning with: \r\n");
    reply_errorf(rb, "-%s bad", "NOPERM");
    EXPECT(rb, "-NOPERM bad\r\n");
    /* the format variant trims CR/LF at the ends and maps inner ones */
    reply_errorf(rb, "\r\nin%cner\r\n", '\n');
    EXPECT(rb, "-ERR in ner\r\n");
    /* longer than the stack buffer */
    memset(big, 'e', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    reply_errorf(rb, "%s", big);
    {
        size_t n;
        char *got = drain_copy(rb, &n);
        ck_assert_uint_eq(n, 5 + 1999 + 2);
        ck_assert(memcmp(got, "-ERR eee", 8) == 0);
        ck_assert(memcmp(got + n - 3, "e\r\n", 3) == 0);
        free(got);
        reply_consume(rb, n);
    }
    free_rb(rb);
}
END_TEST

/* ---- spilling into chunks ---- */

START_TEST(test_large_replies_spill) {
    reply_buf *rb = new_rb(2);
    size_t n, big = 100000, i;
    char *data = malloc(big), *got;
    struct iovec iov[8];
    int cnt;

    for (i = 0; i < big; i++) data[i] = (char)('a' + i % 26);
    reply_ok(rb);
    reply_bulk(rb, data, big);
    reply_int(rb, 7);
    ck_assert_uint_eq(rb->used, REPLY_BUF_SIZE); /* the buffer was filled first */
    ck_assert_ptr_nonnull(rb->head);
    ck_assert_uint_eq(rb->chunk_bytes, reply_pending(rb) - REPLY_BUF_SIZE);
    got = drain_copy(rb, &n);
    ck_assert_uint_eq(n, 5 + 9 + big + 2 + 4);
    ck_assert(memcmp(got, "+OK\r\n$100000\r\n", 14) == 0);
    ck_assert(memcmp(got + 14, data, big) == 0);
    ck_assert(memcmp(got + 14 + big, "\r\n:7\r\n", 6) == 0);
    free(got);
    /* iov with less room than pieces */
    cnt = reply_iov(rb, iov, 1);
    ck_assert_int_eq(cnt, 1);
    ck_assert_ptr_eq(iov[0].iov_base, rb->buf);
    ck_assert_uint_eq(iov[0].iov_len, REPLY_BUF_SIZE);
    ck_assert_int_eq(reply_iov(rb, iov, 0), 0);
    /* consume all: chunks are freed, the buffer is rewound */
    reply_consume(rb, reply_pending(rb));
    ck_assert_ptr_null(rb->head);
    ck_assert_ptr_null(rb->tail);
    ck_assert_uint_eq(rb->used, 0);
    ck_assert_uint_eq(rb->chunk_bytes, 0);
    /* many small replies overflow too, in order */
    for (i = 0; i < 10000; i++) reply_int(rb, (long long)i);
    got = drain_copy(rb, &n);
    {
        size_t off = 0;
        char tmp[32];
        for (i = 0; i < 10000; i++) {
            int l = snprintf(tmp, sizeof tmp, ":%zu\r\n", i);
            ck_assert(memcmp(got + off, tmp, (size_t)l) == 0);
            off += (size_t)l;
        }
        ck_assert_uint_eq(off, n);
    }
    free(got);
    /* reply_clear drops everything; the buffer is usable again */
    reply_clear(rb);
    ck_assert_uint_eq(reply_pending(rb), 0);
    ck_assert_ptr_null(rb->head);
    reply_ok(rb);
    EXPECT(rb, "+OK\r\n");
    free(data);
    free_rb(rb);
}
END_TEST

START_TEST(test_bulk_reserve) {
    reply_buf *rb = new_rb(2);
    char *p;
    size_t n, i, big = 50000;
    char *got;

    p = reply_bulk_reserve(rb, 5);
    memcpy(p, "hello", 5);
    reply_int(rb, 1);
    EXPECT(rb, "$5\r\nhello\r\n:1\r\n");
    p = reply_bulk_reserve(rb, 0);
    ck_assert_ptr_nonnull(p);
    EXPECT(rb, "$0\r\n\r\n");
    /* bigger than the buffer: contiguous room in a chunk */
    reply_ok(rb);
    p = reply_bulk_reserve(rb, big);
    for (i = 0; i < big; i++) p[i] = (char)i;
    reply_ok(rb);
    got = drain_copy(rb, &n);
    ck_assert_uint_eq(n, 5 + 8 + big + 2 + 5);
    ck_assert(memcmp(got, "+OK\r\n$50000\r\n", 13) == 0);
    for (i = 0; i < big; i++) ck_assert_int_eq(got[13 + i], (char)i);
    ck_assert(memcmp(got + 13 + big, "\r\n+OK\r\n", 7) == 0);
    free(got);
    reply_consume(rb, n);
    /* a reserve that does not fit the buffer's remaining room */
    {
        char fill[REPLY_BUF_SIZE - 10];
        memset(fill, 'f', sizeof fill);
        reply_raw(rb, fill, sizeof fill);
        p = reply_bulk_reserve(rb, 20);
        memcpy(p, "01234567890123456789", 20);
        got = drain_copy(rb, &n);
        ck_assert_uint_eq(n, sizeof fill + 5 + 20 + 2);
        ck_assert(memcmp(got + sizeof fill, "$20\r\n01234567890123456789\r\n", 27) == 0);
        free(got);
        reply_consume(rb, n);
    }
    free_rb(rb);
}
END_TEST

/* reply_truncate drops exactly what came after the mark: within the buffer, from the
 * buffer into chunks, and from inside a chunk on. */
START_TEST(test_mark_truncate) {
    reply_buf *rb = new_rb(2);
    char fill[REPLY_BUF_SIZE - 10], *got;
    size_t n;
    reply_mark m = reply_mark_get(rb);
    reply_ok(rb);
    reply_truncate(rb, &m);
    ck_assert_uint_eq(reply_pending(rb), 0);
    reply_int(rb, 7);
    m = reply_mark_get(rb);
    reply_ok(rb);
    reply_truncate(rb, &m);
    EXPECT(rb, ":7\r\n");
    memset(fill, 'f', sizeof fill);
    reply_raw(rb, "+A\r\n", 4);
    m = reply_mark_get(rb);
    reply_raw(rb, fill, sizeof fill);
    reply_raw(rb, fill, sizeof fill);
    ck_assert_ptr_nonnull(rb->head);
    reply_truncate(rb, &m);
    ck_assert_ptr_null(rb->head);
    ck_assert_uint_eq(rb->chunk_bytes, 0);
    reply_ok(rb);
    EXPECT(rb, "+A\r\n+OK\r\n");
    reply_raw(rb, fill, sizeof fill);
    reply_raw(rb, fill, 20); /* into a chunk */
    m = reply_mark_get(rb);
    reply_raw(rb, fill, sizeof fill);
    got = calloc(1, 3 * REPLY_CHUNK_SIZE);
    reply_raw(rb, got, 3 * REPLY_CHUNK_SIZE);
    free(got);
    reply_truncate(rb, &m);
    reply_raw(rb, "+B\r\n", 4);
    got = drain_copy(rb, &n);
    ck_assert_uint_eq(n, sizeof fill + 20 + 4);
    ck_assert(memcmp(got + n - 4, "+B\r\n", 4) == 0);
    free(got);
    reply_consume(rb, n);
    ck_assert_uint_eq(reply_pending(rb), 0);
    free_rb(rb);
}
END_TEST

/* ---- partial writes against a model ---- */

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 7);
}

START_TEST(test_partial_consume_model) {
    reply_buf *rb = new_rb(2);
    size_t cap = 1 << 24;
    char *model = malloc(cap); /* every byte ever appended */
    size_t appended = 0, sent = 0;
    char *payload = malloc(70000);
    int round;
    size_t i;

    for (i = 0; i < 70000; i++) payload[i] = (char)(rnd() & 0xff);

    for (round = 0; round < 4000 && appended < cap - 100000; round++) {
        /* append a few replies of random sizes */
        int k, nrep = (int)(rnd() % 5);
        for (k = 0; k < nrep; k++) {
            size_t len = rnd() % 4 == 0 ? rnd() % 70000 : rnd() % 300;
            char hdr[32];
            int hl = snprintf(hdr, sizeof hdr, "$%zu\r\n", len);
            reply_bulk(rb, payload, len);
            memcpy(model + appended, hdr, (size_t)hl);
            appended += (size_t)hl;
            memcpy(model + appended, payload, len);
            appended += len;
            memcpy(model + appended, "\r\n", 2);
            appended += 2;
        }
        ck_assert_uint_eq(reply_pending(rb), appended - sent);
        /* "write" a random prefix through a small iovec array, as writev would */
        {
            struct iovec iov[3];
            int cnt = reply_iov(rb, iov, 3), j;
            size_t avail = 0, take, off = 0;
            for (j = 0; j < cnt; j++) avail += iov[j].iov_len;
            take = avail ? rnd() % (avail + 1) : 0;
            if (rnd() % 3 == 0) take = avail;
            for (j = 0; j < cnt && off < take; j++) {
                size_t l = iov[j].iov_len < take - off ? iov[j].iov_len : take - off;
                ck_assert(memcmp(iov[j].iov_base, model + sent + off, l) == 0);
                off += l;
            }
            reply_consume(rb, take);
            sent += take;
        }
        ck_assert_uint_eq(reply_pending(rb), appended - sent);
        {
            size_t inchunks = 0;
            reply_chunk *c;
            for (c = rb->head; c; c = c->next) inchunks += c->used - c->sent;
            ck_assert_uint_eq(inchunks, rb->chunk_bytes);
        }
    }
    /* drain the rest */
    while (reply_pending(rb)) {
        struct iovec iov[16];
        int cnt = reply_iov(rb, iov, 16), j;
        for (j = 0; j < cnt; j++) {
            ck_assert(memcmp(iov[j].iov_base, model + sent, iov[j].iov_len) == 0);
            sent += iov[j].iov_len;
            reply_consume(rb, iov[j].iov_len);
        }
    }
    ck_assert_uint_eq(sent, appended);
    ck_assert_ptr_null(rb->head);
    ck_assert_uint_eq(rb->used, 0);
    free(model);
    free(payload);
    free_rb(rb);
}
END_TEST

START_TEST(test_free_and_reinit) {
    reply_buf *rb = new_rb(3);
    char big[40000];
    memset(big, 'x', sizeof big);
    reply_bulk(rb, big, sizeof big);
    reply_consume(rb, 100);
    reply_free(rb);
    reply_init(rb);
    ck_assert_int_eq(rb->resp, 2);
    ck_assert_uint_eq(reply_pending(rb), 0);
    reply_null(rb);
    EXPECT(rb, "$-1\r\n");
    free_rb(rb);
}
END_TEST

/* A lent buffer: replies go into it; refused while the reply_buf has one; unsent bytes
 * (and chunks after them) survive giving it back; reply_free never frees it (ASan
 * would report freeing this static array). */
/* A reply held a moment keeps only its own bytes; replies after it fill the small buffer
 * and go on in chunks, all in order. */
START_TEST(test_unlend_fit) {
    static char shared[REPLY_BUF_SIZE];
    reply_buf *rb = new_rb(2);
    ck_assert_int_eq(reply_lend(rb, shared), 1);
    reply_ok(rb);
    reply_unlend_fit(rb);
    ck_assert_ptr_ne(rb->buf, shared);
    ck_assert_uint_lt(rb->cap, 128);
    ck_assert_uint_ge(rb->cap, 5);
    memset(shared, 'x', sizeof shared);
    char big[200];
    memset(big, 'z', sizeof big);
    reply_int(rb, 7);
    reply_bulk(rb, big, sizeof big);
    char want[300];
    int w = snprintf(want, sizeof want, "+OK\r\n:7\r\n$200\r\n");
    memcpy(want + w, big, sizeof big);
    w += (int)sizeof big;
    memcpy(want + w, "\r\n", 2);
    w += 2;
    expect_out(rb, want, (size_t)w);
    reply_release_idle(rb);
    ck_assert_ptr_null(rb->buf);

    ck_assert_int_eq(reply_lend(rb, shared), 1); /* all sent: nothing to keep */
    reply_unlend_fit(rb);
    ck_assert_ptr_null(rb->buf);
    ck_assert_uint_eq(rb->cap, 0);
    free_rb(rb);
}
END_TEST

START_TEST(test_lend_and_give_back) {
    static char shared[REPLY_BUF_SIZE];
    static char other[REPLY_BUF_SIZE];
    reply_buf *rb = new_rb(2);
    ck_assert_int_eq(reply_lend(rb, shared), 1);
    ck_assert_int_eq(reply_lend(rb, other), 0);
    reply_ok(rb);
    ck_assert_ptr_eq(rb->buf, shared);
    reply_consume(rb, 5); /* all sent: give back leaves no buffer */
    reply_unlend(rb);
    ck_assert_ptr_null(rb->buf);
    ck_assert_uint_eq(rb->cap, 0);

    ck_assert_int_eq(reply_lend(rb, shared), 1);
    char big[REPLY_BUF_SIZE];
    memset(big, 'y', sizeof big);
    reply_int(rb, 42);
    reply_bulk(rb, big, sizeof big); /* fills the lent buffer, spills into a chunk */
    reply_consume(rb, 2);            /* ":4" sent */
    reply_unlend(rb);
    ck_assert_ptr_nonnull(rb->buf);
    ck_assert_ptr_ne(rb->buf, shared);
    memset(shared, 0, sizeof shared); /* the caller reuses its buffer */
    char *want = malloc(sizeof big + 64);
    size_t w = 0;
    const char *head = "2\r\n$16384\r\n";
    memcpy(want + w, head, strlen(head));
    w += strlen(head);
    memcpy(want + w, big, sizeof big);
    w += sizeof big;
    memcpy(want + w, "\r\n", 2);
    w += 2;
    expect_out(rb, want, w);
    free(want);
    reply_release_idle(rb); /* nothing pending: its own buffer goes */
    ck_assert_ptr_null(rb->buf);

    ck_assert_int_eq(reply_lend(rb, shared), 1);
    reply_null(rb);
    reply_free(rb); /* must not free shared */
    reply_init(rb);
    reply_null(rb);
    EXPECT(rb, "$-1\r\n");
    free_rb(rb);
}
END_TEST

static Suite *reply_suite(void) {
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_resp2_encodings);
    tcase_add_test(tc, test_resp3_encodings);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_large_replies_spill);
    tcase_add_test(tc, test_bulk_reserve);
    tcase_add_test(tc, test_mark_truncate);
    tcase_add_test(tc, test_partial_consume_model);
    tcase_add_test(tc, test_free_and_reinit);
    tcase_add_test(tc, test_lend_and_give_back);
    tcase_add_test(tc, test_unlend_fit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(reply_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
