/* test_stream.c: unit tests of storage/stream.c: id parsing and arithmetic, appends,
 * ranges both ways, XDEL and trims at 1M entries, consumer groups and PELs (deliver,
 * ack, history, claim, autoclaim, consumer deletion), Redis 7.0's lag rules, and the
 * bytes per entry of a 1M-entry stream (printed). */
#include "storage/stream.h"

#include <check.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For hot loops: Check's ck_assert logs every call (a write), which 1M-entry loops
 * cannot afford; this reports only failures. */
#define require(cond)                                                                                                  \
    do {                                                                                                               \
        if (!(cond)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                                             \
    } while (0)

static stream_id ID(uint64_t ms, uint64_t seq) {
    stream_id id = {ms, seq};
    return id;
}

static const stream_id MIN_ID = {0, 0};
static const stream_id MAX_ID = {UINT64_MAX, UINT64_MAX};

#define ck_id(a, ms_, seq_)                                                                                            \
    do {                                                                                                               \
        stream_id a_ = (a);                                                                                            \
        ck_assert_msg(a_.ms == (uint64_t)(ms_) && a_.seq == (uint64_t)(seq_), "id %llu-%llu, expected %llu-%llu",      \
                      (unsigned long long)a_.ms, (unsigned long long)a_.seq, (unsigned long long)(ms_),                \
                      (unsigned long long)(seq_));                                                                     \
    } while (0)

static int parse(const char *s, uint64_t missing, int strict, stream_id *out) {
    return stream_id_parse(s, strlen(s), missing, strict, out, NULL);
}

/* Append one entry with the given pairs (NULL-terminated list of strings). */
static int add(stream *s, int mode, stream_id id, long long now, stream_id *out, ...) {
    stream_str fv[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, out);
    const char *p;
    while ((p = va_arg(ap, const char *)) != NULL) {
        fv[n].ptr = p;
        fv[n].len = strlen(p);
        n++;
    }
    va_end(ap);
    return stream_add(s, mode, &id, fv, n / 2, now, out);
}

static stream_id add_x(stream *s, uint64_t ms, uint64_t seq, const char *f, const char *v) {
    stream_id out;
    require(add(s, STREAM_ADD_EXPLICIT, ID(ms, seq), 0, &out, f, v, NULL) == STREAM_OK);
    return out;
}

/* Does the entry's first pair equal f/v? */
static int first_pair_is(stream_fields *fl, const char *f, const char *v) {
    const char *fp, *vp;
    size_t flen, vlen;
    if (!stream_fields_next(fl, &fp, &flen, &vp, &vlen)) return 0;
    return flen == strlen(f) && memcmp(fp, f, flen) == 0 && vlen == strlen(v) && memcmp(vp, v, vlen) == 0;
}

/* ---------------------------------------------------------------- ids */

START_TEST(test_id_parse) {
    stream_id id;
    int given;
    ck_assert_int_eq(parse("-", 0, 0, &id), 0);
    ck_id(id, 0, 0);
    ck_assert_int_eq(parse("+", 0, 0, &id), 0);
    ck_id(id, UINT64_MAX, UINT64_MAX);
    ck_assert_int_eq(parse("-", 0, 1, &id), -1);
    ck_assert_int_eq(parse("+", 0, 1, &id), -1);
    ck_assert_int_eq(parse("5", 0, 1, &id), 0);
    ck_id(id, 5, 0);
    ck_assert_int_eq(parse("5", UINT64_MAX, 1, &id), 0);
    ck_id(id, 5, UINT64_MAX);
    ck_assert_int_eq(parse("5-3", 0, 1, &id), 0);
    ck_id(id, 5, 3);
    ck_assert_int_eq(parse("18446744073709551615-18446744073709551615", 0, 1, &id), 0);
    ck_id(id, UINT64_MAX, UINT64_MAX);
    /* string2ull's strtoull fallback, as Redis: leading zeros, spaces, '+', "-0" seq. */
    ck_assert_int_eq(parse("007", 0, 1, &id), 0);
    ck_id(id, 7, 0);
    ck_assert_int_eq(parse(" 5", 0, 1, &id), 0);
    ck_id(id, 5, 0);
    ck_assert_int_eq(parse("+5", 0, 1, &id), 0);
    ck_id(id, 5, 0);
    ck_assert_int_eq(parse("5-+1", 0, 1, &id), 0);
    ck_id(id, 5, 1);
    ck_assert_int_eq(parse("5--0", 0, 1, &id), 0);
    ck_id(id, 5, 0);
    const char *bad[] = {"",   "-0",  "5-",  "-5",    "1-2-3", "18446744073709551616",
                         "5 ", "0x5", "abc", "1-abc", "5--1",  "1-18446744073709551616",
                         "*",  "5-*"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(parse(bad[i], 0, 0, &id) == -1, "'%s' should be invalid", bad[i]);
    char longid[200];
    memset(longid, '1', sizeof(longid));
    ck_assert_int_eq(stream_id_parse(longid, 128, 0, 0, &id, NULL), -1);
    /* Embedded NUL: Redis reads the C string up to it. */
    ck_assert_int_eq(stream_id_parse("7\0zz", 4, 0, 0, &id, NULL), 0);
    ck_id(id, 7, 0);

    /* XADD forms. */
    ck_assert_int_eq(stream_id_parse("5-*", 3, 0, 1, &id, &given), 0);
    ck_assert_int_eq(given, 0);
    ck_id(id, 5, 0);
    ck_assert_int_eq(stream_id_parse("5-2", 3, 0, 1, &id, &given), 0);
    ck_assert_int_eq(given, 1);
    ck_assert_int_eq(stream_id_parse("5", 1, 0, 1, &id, &given), 0);
    ck_assert_int_eq(given, 1);
    ck_assert_int_eq(stream_id_parse("5-**", 4, 0, 1, &id, &given), -1);
    int mode;
    ck_assert_int_eq(stream_id_parse_add("*", 1, &mode, &id), 0);
    ck_assert_int_eq(mode, STREAM_ADD_AUTO);
    ck_assert_int_eq(stream_id_parse_add("12-*", 4, &mode, &id), 0);
    ck_assert_int_eq(mode, STREAM_ADD_AUTO_SEQ);
    ck_id(id, 12, 0);
    ck_assert_int_eq(stream_id_parse_add("12", 2, &mode, &id), 0);
    ck_assert_int_eq(mode, STREAM_ADD_EXPLICIT);
    ck_id(id, 12, 0);
    ck_assert_int_eq(stream_id_parse_add("12-3", 4, &mode, &id), 0);
    ck_id(id, 12, 3);
    ck_assert_int_eq(stream_id_parse_add("-", 1, &mode, &id), -1);
    ck_assert_int_eq(stream_id_parse_add("+", 1, &mode, &id), -1);
    ck_assert_int_eq(stream_id_parse_add("**", 2, &mode, &id), -1);
    ck_assert_int_eq(stream_id_parse_add("*-1", 3, &mode, &id), -1);
}
END_TEST

START_TEST(test_id_interval_format_arith) {
    stream_id id;
    int ex;
    ck_assert_int_eq(stream_id_parse_interval("(5-1", 4, 0, &id, &ex), 0);
    ck_assert_int_eq(ex, 1);
    ck_id(id, 5, 1);
    ck_assert_int_eq(stream_id_parse_interval("(5", 2, UINT64_MAX, &id, &ex), 0);
    ck_id(id, 5, UINT64_MAX);
    ck_assert_int_eq(stream_id_parse_interval("-", 1, 0, &id, &ex), 0);
    ck_assert_int_eq(ex, 0);
    ck_assert_int_eq(stream_id_parse_interval("(", 1, 0, &id, &ex), -1);
    ck_assert_int_eq(stream_id_parse_interval("(-", 2, 0, &id, &ex), -1);
    ck_assert_int_eq(stream_id_parse_interval("(+", 2, 0, &id, &ex), -1);

    char buf[STREAM_ID_STR_SIZE];
    ck_assert_int_eq(stream_id_format(buf, &MAX_ID), 41);
    ck_assert_str_eq(buf, "18446744073709551615-18446744073709551615");
    id = ID(0, 0);
    ck_assert_int_eq(stream_id_format(buf, &id), 3);
    ck_assert_str_eq(buf, "0-0");
    id = ID(1526919030474ULL, 55);
    stream_id_format(buf, &id);
    ck_assert_str_eq(buf, "1526919030474-55");

    id = MAX_ID;
    ck_assert_int_eq(stream_id_incr(&id), -1);
    ck_id(id, UINT64_MAX, UINT64_MAX);
    id = ID(0, 0);
    ck_assert_int_eq(stream_id_decr(&id), -1);
    ck_id(id, 0, 0);
    id = ID(3, UINT64_MAX);
    ck_assert_int_eq(stream_id_incr(&id), 0);
    ck_id(id, 4, 0);
    ck_assert_int_eq(stream_id_decr(&id), 0);
    ck_id(id, 3, UINT64_MAX);
    id = ID(3, 7);
    stream_id_incr(&id);
    ck_id(id, 3, 8);
    stream_id_decr(&id);
    stream_id_decr(&id);
    ck_id(id, 3, 6);
    stream_id a = ID(1, 2), b = ID(1, 3), c = ID(2, 0);
    ck_assert_int_eq(stream_id_cmp(&a, &b), -1);
    ck_assert_int_eq(stream_id_cmp(&c, &b), 1);
    ck_assert_int_eq(stream_id_cmp(&a, &a), 0);
}
END_TEST

/* ---------------------------------------------------------------- appends */

START_TEST(test_add_ids) {
    stream *s = stream_new();
    stream_id out;
    /* "*" follows the clock, never going back when it does. */
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO, MIN_ID, 1000, &out, "f", "v", NULL), STREAM_OK);
    ck_id(out, 1000, 0);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO, MIN_ID, 1000, &out, "f", "v", NULL), STREAM_OK);
    ck_id(out, 1000, 1);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO, MIN_ID, 900, &out, "f", "v", NULL), STREAM_OK);
    ck_id(out, 1000, 2);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO, MIN_ID, 1001, &out, "f", "v", NULL), STREAM_OK);
    ck_id(out, 1001, 0);
    /* "<ms>-*". */
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO_SEQ, ID(1001, 0), 0, &out, "f", "v", NULL), STREAM_OK);
    ck_id(out, 1001, 1);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO_SEQ, ID(2000, 0), 0, &out, "f", "v", NULL), STREAM_OK);
    ck_id(out, 2000, 0);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO_SEQ, ID(1999, 0), 0, &out, "f", "v", NULL), STREAM_E_SMALL);
    /* Explicit ids must grow; 0-0 has its own error. */
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(2000, 0), 0, &out, "f", "v", NULL), STREAM_E_SMALL);
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(0, 0), 0, &out, "f", "v", NULL), STREAM_E_ZERO);
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(2000, 5), 0, &out, "f", "v", NULL), STREAM_OK);
    ck_assert_int_eq(stream_length(s), 7);
    ck_assert_uint_eq(stream_entries_added(s), 7);
    ck_id(stream_first_id(s), 1000, 0);
    ck_id(stream_last_id(s), 2000, 5);
    /* Sequence exhaustion within one ms, then the last possible id. */
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(3000, UINT64_MAX), 0, &out, "f", "v", NULL), STREAM_OK);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO_SEQ, ID(3000, 0), 0, &out, "f", "v", NULL), STREAM_E_SMALL);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO, MIN_ID, 5, &out, "f", "v", NULL), STREAM_OK);
    ck_id(out, 3001, 0);
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, MAX_ID, 0, &out, "f", "v", NULL), STREAM_OK);
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO, MIN_ID, 5, &out, "f", "v", NULL), STREAM_E_EXHAUSTED);
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(1, 1), 0, &out, "f", "v", NULL), STREAM_E_EXHAUSTED);
    ck_assert_int_eq(stream_length(s), 10);
    stream_free(s);
}
END_TEST

START_TEST(test_fields) {
    stream *s = stream_new();
    stream_id out;
    stream_fields f;
    const char *fp, *vp;
    size_t fl, vl;
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(1, 0), 0, &out, "a", "1", "b", "2", NULL), 0);
    /* Same field names as the block's first entry: stored as values only. */
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(1, 1), 0, &out, "a", "x", "b", "", NULL), 0);
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(2, 0), 0, &out, "c", "3", NULL), 0);
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(2, 1), 0, &out, "", "", NULL), 0);
    char *big = malloc(100000);
    memset(big, 'z', 99999);
    big[99999] = '\0';
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(3, 0), 0, &out, "big", big, NULL), 0);
    ck_assert_int_eq(add(s, STREAM_ADD_EXPLICIT, ID(3, 1), 0, &out, "a", "after", NULL), 0);
    ck_assert_uint_ge(stream_block_count(s), 3);

    ck_assert(stream_get(s, &(stream_id){1, 1}, &f));
    ck_assert_uint_eq(f.count, 2);
    ck_assert(stream_fields_next(&f, &fp, &fl, &vp, &vl));
    ck_assert(fl == 1 && fp[0] == 'a' && vl == 1 && vp[0] == 'x');
    ck_assert(stream_fields_next(&f, &fp, &fl, &vp, &vl));
    ck_assert(fl == 1 && fp[0] == 'b' && vl == 0);
    ck_assert(!stream_fields_next(&f, &fp, &fl, &vp, &vl));
    ck_assert(stream_get(s, &(stream_id){2, 1}, &f));
    ck_assert(first_pair_is(&f, "", ""));
    ck_assert(stream_get(s, &(stream_id){3, 0}, &f));
    ck_assert(stream_fields_next(&f, &fp, &fl, &vp, &vl));
    ck_assert(vl == 99999 && memcmp(vp, big, vl) == 0);
    ck_assert(!stream_get(s, &(stream_id){2, 2}, &f));

    /* Reverse walk over all of them, crossing block edges. */
    stream_iter it;
    stream_id id;
    const stream_id expect[] = {{3, 1}, {3, 0}, {2, 1}, {2, 0}, {1, 1}, {1, 0}};
    size_t n = 0;
    stream_iter_init(&it, s, &MIN_ID, &MAX_ID, 1);
    while (stream_iter_next(&it, &id, &f)) {
        ck_assert_uint_lt(n, 6);
        ck_assert_int_eq(stream_id_cmp(&id, &expect[n]), 0);
        n++;
    }
    ck_assert_uint_eq(n, 6);
    free(big);
    stream_free(s);
}
END_TEST

/* ---------------------------------------------------------------- scale */

#define BIG 1000000

/* A stream of BIG entries with ids (i/4 + 1)-(i%4), one pair "f" = "v<i>". */
static stream *make_big(void) {
    stream *s = stream_new();
    char v[32];
    for (uint64_t i = 0; i < BIG; i++) {
        stream_str fv[2] = {{"f", 1}, {v, (size_t)snprintf(v, sizeof(v), "v%llu", (unsigned long long)i)}};
        stream_id id = ID(i / 4 + 1, i % 4), out;
        require(stream_add(s, STREAM_ADD_EXPLICIT, &id, fv, 1, 0, &out) == STREAM_OK);
    }
    return s;
}

static uint64_t idx_of(const stream_id *id) { return (id->ms - 1) * 4 + id->seq; }

/* Count entries of [a, b] forward and backward, checking order and values. */
static uint64_t range_count(stream *s, stream_id a, stream_id b, int rev, uint64_t limit) {
    stream_iter it;
    stream_id id, prev = rev ? MAX_ID : MIN_ID;
    stream_fields f;
    uint64_t n = 0;
    int first = 1;
    stream_iter_init(&it, s, &a, &b, rev);
    while ((!limit || n < limit) && stream_iter_next(&it, &id, &f)) {
        if (!first) require(stream_id_cmp(&id, &prev) == (rev ? -1 : 1));
        require(stream_id_cmp(&id, &a) >= 0 && stream_id_cmp(&id, &b) <= 0);
        char v[32];
        snprintf(v, sizeof(v), "v%llu", (unsigned long long)idx_of(&id));
        require(first_pair_is(&f, "f", v));
        prev = id;
        first = 0;
        n++;
    }
    return n;
}

START_TEST(test_scale_range_delete) {
    stream *s = make_big();
    ck_assert_uint_eq(stream_length(s), BIG);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 0, 0), BIG);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 1, 0), BIG);
    /* Seeks into the middle, inclusive bounds, COUNT. */
    ck_assert_uint_eq(range_count(s, ID(1000, 2), ID(1010, 1), 0, 0), 40);
    ck_assert_uint_eq(range_count(s, ID(1000, 2), ID(1010, 1), 1, 0), 40);
    ck_assert_uint_eq(range_count(s, ID(200000, 0), MAX_ID, 0, 10), 10);
    ck_assert_uint_eq(range_count(s, ID(200000, 5), ID(200000, 9), 0, 0), 0);
    ck_assert_uint_eq(range_count(s, ID(3, 0), ID(2, 0), 0, 0), 0);
    ck_assert_uint_eq(range_count(s, ID(BIG, 0), MAX_ID, 0, 0), 0);
    stream_iter it;
    stream_id id;
    stream_fields f;
    stream_iter_init(&it, s, &(stream_id){123456, 3}, &MAX_ID, 0);
    ck_assert(stream_iter_next(&it, &id, &f));
    ck_id(id, 123456, 3);
    stream_iter_init(&it, s, &MIN_ID, &(stream_id){123456, 3}, 1);
    ck_assert(stream_iter_next(&it, &id, &f));
    ck_id(id, 123456, 3);

    /* Delete every third entry, in batches as XDEL gives them. */
    stream_id batch[100];
    size_t nb = 0, deleted = 0;
    for (uint64_t i = 0; i < BIG; i += 3) {
        batch[nb++] = ID(i / 4 + 1, i % 4);
        if (nb == 100) {
            deleted += stream_delete(s, batch, nb);
            nb = 0;
        }
    }
    deleted += stream_delete(s, batch, nb);
    ck_assert_uint_eq(deleted, (BIG + 2) / 3);
    ck_assert_uint_eq(stream_length(s), BIG - deleted);
    ck_id(stream_first_id(s), 1, 1);
    ck_id(stream_max_deleted_id(s), (BIG - 1) / 3 * 3 / 4 + 1, (BIG - 1) / 3 * 3 % 4);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 0, 0), BIG - deleted);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 1, 0), BIG - deleted);
    ck_assert(!stream_get(s, &(stream_id){1, 0}, NULL));
    ck_assert(stream_get(s, &(stream_id){1, 1}, NULL));
    /* Deleting again deletes nothing. */
    batch[0] = ID(1, 0);
    ck_assert_uint_eq(stream_delete(s, batch, 1), 0);

    /* Empty whole blocks in the middle: they are freed and ranges still work. */
    size_t blocks = stream_block_count(s);
    uint64_t len = stream_length(s);
    for (uint64_t ms = 100001; ms <= 110000; ms++) {
        stream_id ids[4] = {{ms, 0}, {ms, 1}, {ms, 2}, {ms, 3}};
        stream_delete(s, ids, 4);
    }
    ck_assert_uint_lt(stream_block_count(s), blocks);
    ck_assert_uint_eq(len - stream_length(s), 40000 - 40000 / 3);
    /* Live around the hole: 100000-1, 100000-2 and 110001-0, -2, -3. */
    ck_assert_uint_eq(range_count(s, ID(100000, 0), ID(110001, 3), 0, 0), 5);
    ck_assert_uint_eq(range_count(s, ID(100000, 0), ID(110001, 3), 1, 0), 5);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 1, 0), stream_length(s));

    /* Delete everything: first_id resets, max deleted stays. */
    for (uint64_t i = 0; i < BIG; i += 100) {
        nb = 0;
        for (uint64_t j = i; j < i + 100; j++) batch[nb++] = ID(j / 4 + 1, j % 4);
        stream_delete(s, batch, nb);
    }
    ck_assert_uint_eq(stream_length(s), 0);
    ck_assert_uint_eq(stream_block_count(s), 0);
    ck_id(stream_first_id(s), 0, 0);
    ck_id(stream_max_deleted_id(s), BIG / 4, 3);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 0, 0), 0);
    stream_id out;
    ck_assert_int_eq(add(s, STREAM_ADD_AUTO, MIN_ID, 0, &out, "f", "v1000000", NULL), 0);
    ck_id(out, BIG / 4, 4);
    ck_assert_uint_eq(stream_entries_added(s), BIG + 1);
    ck_id(stream_first_id(s), BIG / 4, 4);
    stream_free(s);
}
END_TEST

START_TEST(test_scale_trim) {
    stream *s = make_big();
    stream_trim_args a = {.strategy = STREAM_TRIM_MAXLEN, .maxlen = 900000};
    ck_assert_uint_eq(stream_trim(s, &a), 100000);
    ck_assert_uint_eq(stream_length(s), 900000);
    ck_id(stream_first_id(s), 100000 / 4 + 1, 0);
    /* Approximate: only whole blocks, never below maxlen. */
    a.approx = 1;
    a.maxlen = 500050;
    a.limit = 0;
    uint64_t removed = stream_trim(s, &a);
    ck_assert_uint_ge(stream_length(s), 500050);
    ck_assert_uint_lt(stream_length(s), 500050 + 200);
    ck_assert_uint_eq(removed + stream_length(s), 900000);
    /* LIMIT caps the work of an approximate trim. */
    a.maxlen = 0;
    a.limit = 1000;
    removed = stream_trim(s, &a);
    ck_assert_uint_le(removed, 1000);
    ck_assert_uint_gt(removed, 800);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 0, 0), stream_length(s));
    /* MINID exact. */
    stream_trim_args m = {.strategy = STREAM_TRIM_MINID, .minid = {200000, 2}};
    stream_trim(s, &m);
    ck_id(stream_first_id(s), 200000, 2);
    ck_assert_uint_eq(stream_length(s), BIG - (199999 * 4 + 2));
    /* MINID approximate keeps the block holding minid. */
    m.approx = 1;
    m.minid = ID(210000, 1);
    stream_trim(s, &m);
    ck_assert(stream_id_cmp(&(stream_id){stream_first_id(s).ms, stream_first_id(s).seq}, &m.minid) <= 0);
    ck_assert_uint_lt(BIG - idx_of(&(stream_id){210000, 1}), stream_length(s) + 1);
    ck_assert_uint_lt(stream_length(s), BIG - idx_of(&(stream_id){210000, 1}) + 200);
    ck_assert_uint_eq(range_count(s, MIN_ID, MAX_ID, 1, 0), stream_length(s));
    /* Exact MAXLEN 0 empties it. */
    stream_trim_args z = {.strategy = STREAM_TRIM_MAXLEN, .maxlen = 0};
    stream_trim(s, &z);
    ck_assert_uint_eq(stream_length(s), 0);
    ck_id(stream_first_id(s), 0, 0);
    ck_assert_uint_eq(stream_block_count(s), 0);
    ck_assert_uint_eq(stream_entries_added(s), BIG);
    stream_free(s);
}
END_TEST

START_TEST(test_trim_like_redis) {
    /* Redis's test: 1000 XADDs with MAXLEN ~ 555 and 100-entry nodes leave 600. */
    stream *s = stream_new();
    stream_trim_args a = {
        .strategy = STREAM_TRIM_MAXLEN, .approx = 1, .maxlen = 555, .limit = stream_trim_default_limit()};
    for (int j = 0; j < 1000; j++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", j);
        stream_id out;
        require(add(s, STREAM_ADD_AUTO, MIN_ID, 1, &out, "xitem", v, NULL) == 0);
        stream_trim(s, &a);
    }
    ck_assert_uint_eq(stream_length(s), 600);
    ck_assert_int_eq(stream_trim_default_limit(), 10000);
    stream_free(s);
}
END_TEST

/* The bytes one small entry costs, at 1M entries. */
START_TEST(test_memory_per_entry) {
    struct mallinfo2 before = mallinfo2();
    stream *s = stream_new();
    char v1[32], v2[32];
    for (uint64_t i = 0; i < BIG; i++) {
        stream_str fv[4] = {{"sensor", 6},
                            {v1, (size_t)snprintf(v1, sizeof(v1), "%llu", (unsigned long long)(i % 1000))},
                            {"temp", 4},
                            {v2, (size_t)snprintf(v2, sizeof(v2), "%llu.%llu", (unsigned long long)(i % 40),
                                                  (unsigned long long)(i % 10))}};
        stream_id out;
        /* A realistic clock: about 20 entries per millisecond. */
        require(stream_add(s, STREAM_ADD_AUTO, &MIN_ID, fv, 2, 1700000000000LL + (long long)(i / 20), &out) == 0);
    }
    struct mallinfo2 after = mallinfo2();
    double est = (double)stream_memory(s) / BIG;
    double real = (double)(after.uordblks - before.uordblks) / BIG;
    printf("stream memory at 1M entries {sensor:<0-999>, temp:<dd.d>} (payload ~12 bytes): "
           "stream_memory %.1f bytes/entry, mallinfo2 %.1f bytes/entry%s\n",
           est, real, after.uordblks == before.uordblks ? " (allocator not glibc's)" : "");
    ck_assert(est < 40);
    if (after.uordblks != before.uordblks) ck_assert(real < 40);
    stream_free(s);

    before = mallinfo2();
    s = stream_new();
    for (uint64_t i = 0; i < BIG; i++) {
        stream_str fv[2] = {{"f", 1}, {v1, (size_t)snprintf(v1, sizeof(v1), "%llu", (unsigned long long)i)}};
        stream_id out;
        require(stream_add(s, STREAM_ADD_AUTO, &MIN_ID, fv, 1, 1, &out) == 0);
    }
    after = mallinfo2();
    printf("stream memory at 1M entries {f:<i>}: stream_memory %.1f bytes/entry, "
           "mallinfo2 %.1f bytes/entry%s\n",
           (double)stream_memory(s) / BIG, (double)(after.uordblks - before.uordblks) / BIG,
           after.uordblks == before.uordblks ? " (allocator not glibc's)" : "");
    stream_free(s);
}
END_TEST

/* ---------------------------------------------------------------- groups */

typedef struct collected {
    stream_id ids[64];
    int null[64];
    size_t n;
} collected;

static void collect(void *priv, const stream_id *id, stream_fields *f) {
    collected *c = priv;
    if (c->n < 64) {
        c->ids[c->n] = *id;
        c->null[c->n] = f == NULL;
    }
    c->n++;
}

static stream *five(void) {
    stream *s = stream_new();
    for (uint64_t i = 1; i <= 5; i++) add_x(s, i, 0, "data", "a");
    return s;
}

START_TEST(test_group_deliver_ack) {
    stream *s = five();
    stream_group *g = stream_group_create(s, "g", 1, &MIN_ID, STREAM_ENTRIES_READ_INVALID);
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_null(stream_group_create(s, "g", 1, &MIN_ID, -1));
    ck_assert_ptr_nonnull(stream_group_create(s, "a", 1, &MIN_ID, -1));
    ck_assert_ptr_nonnull(stream_group_create(s, "gg", 2, &MIN_ID, -1));
    ck_assert_uint_eq(stream_group_count(s), 3);
    size_t nl;
    ck_assert_str_eq(stream_group_name(stream_group_at(s, 0), &nl), "a");
    ck_assert_str_eq(stream_group_name(stream_group_at(s, 1), &nl), "g");
    ck_assert_str_eq(stream_group_name(stream_group_at(s, 2), &nl), "gg");
    ck_assert_ptr_eq(stream_group_find(s, "g", 1), g);

    stream_consumer *alice = stream_consumer_get(g, "alice", 5, 100);
    stream_consumer *bob = stream_consumer_get(g, "bob", 3, 100);
    ck_assert_ptr_null(stream_consumer_create(g, "bob", 3, 100));
    ck_assert_int_eq(stream_consumer_active_time(alice), -1);
    collected c = {0};
    ck_assert_uint_eq(stream_read_group(s, g, alice, 2, 0, 1000, collect, &c), 2);
    ck_assert_uint_eq(c.n, 2);
    ck_id(c.ids[0], 1, 0);
    ck_id(c.ids[1], 2, 0);
    ck_id(stream_group_last_id(g), 2, 0);
    ck_assert_int_eq(stream_group_entries_read(g), 2);
    ck_assert_int_eq(stream_consumer_active_time(alice), 1000);
    c.n = 0;
    ck_assert_uint_eq(stream_read_group(s, g, bob, 0, 0, 2000, collect, &c), 3);
    ck_assert_uint_eq(stream_group_pending_count(g), 5);
    ck_assert_uint_eq(stream_consumer_pending_count(alice), 2);
    ck_assert_uint_eq(stream_consumer_pending_count(bob), 3);
    ck_assert_uint_eq(stream_read_group(s, g, bob, 0, 0, 2000, collect, &c), 0);
    long long lag;
    ck_assert(stream_group_lag(s, g, &lag));
    ck_assert_int_eq(lag, 0);

    stream_nack *n = stream_pel_find(g, &(stream_id){3, 0});
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_eq(n->consumer, bob);
    ck_assert_int_eq(n->delivery_time, 2000);
    ck_assert_uint_eq(n->delivery_count, 1);
    ck_id(stream_pel_first(g)->id, 1, 0);
    ck_id(stream_pel_last(g)->id, 5, 0);

    ck_assert_int_eq(stream_ack(g, &(stream_id){3, 0}), 1);
    ck_assert_int_eq(stream_ack(g, &(stream_id){3, 0}), 0);
    ck_assert_int_eq(stream_ack(g, &(stream_id){9, 0}), 0);
    ck_assert_uint_eq(stream_group_pending_count(g), 4);
    ck_assert_uint_eq(stream_consumer_pending_count(bob), 2);
    /* Group PEL in order: 1 2 4 5; bob's: 4 5. */
    const uint64_t want[] = {1, 2, 4, 5};
    size_t k = 0;
    for (n = stream_pel_seek(g, &MIN_ID); n; n = stream_pel_next(n)) ck_id(n->id, want[k++], 0);
    ck_assert_uint_eq(k, 4);
    n = stream_consumer_pel_seek(bob, &(stream_id){3, 0});
    ck_id(n->id, 4, 0);
    n = stream_consumer_pel_next(n);
    ck_id(n->id, 5, 0);
    ck_assert_ptr_null(stream_consumer_pel_next(n));
    ck_assert_ptr_null(stream_pel_seek(g, &(stream_id){5, 1}));

    /* History: bob's pending from 0, with a deleted entry reported as null. */
    stream_id del = ID(4, 0);
    ck_assert_uint_eq(stream_delete(s, &del, 1), 1);
    c.n = 0;
    ck_assert_uint_eq(stream_read_pending(s, bob, &MIN_ID, 0, 3000, collect, &c), 2);
    ck_id(c.ids[0], 4, 0);
    ck_assert(c.null[0]);
    ck_id(c.ids[1], 5, 0);
    ck_assert(!c.null[1]);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){4, 0})->delivery_count, 1);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){5, 0})->delivery_count, 2);
    ck_assert_int_eq(stream_pel_find(g, &(stream_id){5, 0})->delivery_time, 3000);
    c.n = 0;
    ck_assert_uint_eq(stream_read_pending(s, bob, &(stream_id){4, 1}, 1, 3000, collect, &c), 1);
    ck_id(c.ids[0], 5, 0);

    /* NOACK: delivered, last id moves, nothing pending. */
    add_x(s, 6, 0, "data", "b");
    ck_assert_uint_eq(stream_read_group(s, g, alice, 0, 1, 4000, collect, &c), 1);
    ck_assert_ptr_null(stream_pel_find(g, &(stream_id){6, 0}));
    ck_id(stream_group_last_id(g), 6, 0);

    /* SETID backwards then ">" re-delivers pending ids to the reader, reset. */
    stream_group_set_id(g, &MIN_ID, STREAM_ENTRIES_READ_INVALID);
    ck_assert_uint_eq(stream_read_group(s, g, bob, 1, 0, 5000, collect, &c), 1);
    n = stream_pel_find(g, &(stream_id){1, 0});
    ck_assert_ptr_eq(n->consumer, bob);
    ck_assert_uint_eq(n->delivery_count, 1);
    ck_assert_int_eq(n->delivery_time, 5000);
    ck_assert_uint_eq(stream_consumer_pending_count(alice), 1);
    ck_assert_uint_eq(stream_consumer_pending_count(bob), 3);

    ck_assert_uint_gt(stream_memory(s), 0);
    ck_assert_int_eq(stream_group_destroy(s, "a", 1), 1);
    ck_assert_int_eq(stream_group_destroy(s, "a", 1), 0);
    ck_assert_uint_eq(stream_group_count(s), 2);
    stream_free(s);
}
END_TEST

START_TEST(test_claim) {
    stream *s = five();
    stream_group *g = stream_group_create(s, "g", 1, &MIN_ID, -1);
    stream_consumer *alice = stream_consumer_get(g, "alice", 5, 0);
    stream_read_group(s, g, alice, 0, 0, 1000, NULL, NULL);
    stream_claim_args a = {.now = 1500, .min_idle = 1000, .delivery_time = 1500, .retry_count = -1};
    stream_consumer *bob = NULL;
    /* Not idle long enough: skipped, and bob is not created. */
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &(stream_id){1, 0}, &a), STREAM_CLAIM_SKIPPED);
    ck_assert_ptr_null(bob);
    ck_assert_ptr_null(stream_consumer_find(g, "bob", 3));
    a.now = 2500;
    a.delivery_time = 2500;
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &(stream_id){1, 0}, &a), STREAM_CLAIM_CLAIMED);
    ck_assert_ptr_nonnull(bob);
    stream_nack *n = stream_pel_find(g, &(stream_id){1, 0});
    ck_assert_ptr_eq(n->consumer, bob);
    ck_assert_uint_eq(n->delivery_count, 2);
    ck_assert_int_eq(n->delivery_time, 2500);
    ck_assert_uint_eq(stream_consumer_pending_count(alice), 4);
    ck_assert_uint_eq(stream_consumer_pending_count(bob), 1);
    /* JUSTID keeps the count; RETRYCOUNT sets it; not pending: skipped. */
    a.justid = 1;
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &(stream_id){2, 0}, &a), STREAM_CLAIM_CLAIMED);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){2, 0})->delivery_count, 1);
    a.justid = 0;
    a.min_idle = 0;
    a.retry_count = 7;
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &(stream_id){2, 0}, &a), STREAM_CLAIM_CLAIMED);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){2, 0})->delivery_count, 7);
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &(stream_id){9, 0}, &a), STREAM_CLAIM_DELETED);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){2, 0})->delivery_count, 7);
    /* FORCE creates a pending record for an existing, unpending entry. */
    ck_assert_int_eq(stream_ack(g, &(stream_id){3, 0}), 1);
    a.retry_count = -1;
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &(stream_id){3, 0}, &a), STREAM_CLAIM_SKIPPED);
    a.force = 1;
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &(stream_id){3, 0}, &a), STREAM_CLAIM_CLAIMED);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){3, 0})->delivery_count, 2);
    ck_assert_uint_eq(stream_consumer_pending_count(bob), 3);
    /* A deleted entry's pending record is dropped by a claim. */
    stream_id del = ID(4, 0);
    stream_delete(s, &del, 1);
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &bob, &del, &a), STREAM_CLAIM_DELETED);
    ck_assert_ptr_null(stream_pel_find(g, &del));
    ck_assert_uint_eq(stream_consumer_pending_count(alice), 1);
    ck_assert_uint_eq(stream_group_pending_count(g), 4);
    stream_group_set_last_id_if_greater(g, &(stream_id){3, 0});
    ck_id(stream_group_last_id(g), 5, 0);
    stream_group_set_last_id_if_greater(g, &(stream_id){7, 0});
    ck_id(stream_group_last_id(g), 7, 0);
    stream_free(s);
}
END_TEST

START_TEST(test_autoclaim) {
    stream *s = stream_new();
    for (uint64_t i = 1; i <= 30; i++) add_x(s, i, 0, "k", "v");
    stream_group *g = stream_group_create(s, "g", 1, &MIN_ID, -1);
    stream_consumer *alice = stream_consumer_get(g, "alice", 5, 0);
    stream_read_group(s, g, alice, 0, 0, 1000, NULL, NULL);
    stream_id dels[] = {{2, 0}, {3, 0}};
    stream_delete(s, dels, 2);
    stream_autoclaim_result r;
    /* COUNT 3 from 0: 1 claimed, 2 and 3 deleted (they count), cursor 4-0. */
    ck_assert_int_eq(stream_autoclaim(s, g, "bob", 3, 0, &MIN_ID, 3, 0, 2000, &r), 0);
    ck_assert_uint_eq(r.nclaimed, 1);
    ck_id(r.claimed[0], 1, 0);
    ck_assert_uint_eq(r.ndeleted, 2);
    ck_id(r.deleted[1], 3, 0);
    ck_id(r.next, 4, 0);
    stream_autoclaim_free(&r);
    stream_consumer *bob = stream_consumer_find(g, "bob", 3);
    ck_assert_ptr_nonnull(bob);
    ck_assert_uint_eq(stream_consumer_pending_count(bob), 1);
    ck_assert_uint_eq(stream_group_pending_count(g), 28);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){1, 0})->delivery_count, 2);
    /* Min idle excludes what was just claimed; scanning is bounded by count*10. */
    ck_assert_int_eq(stream_autoclaim(s, g, "carol", 5, 500, &MIN_ID, 2, 1, 2100, &r), 0);
    ck_assert_uint_eq(r.nclaimed, 2);
    ck_id(r.claimed[0], 4, 0);
    ck_id(r.claimed[1], 5, 0);
    ck_id(r.next, 6, 0);
    ck_assert_uint_eq(stream_pel_find(g, &(stream_id){4, 0})->delivery_count, 1);
    stream_autoclaim_free(&r);
    ck_assert_int_eq(stream_autoclaim(s, g, "dave", 4, 5000, &MIN_ID, 1, 0, 2200, &r), 0);
    ck_assert_uint_eq(r.nclaimed, 0);
    ck_id(r.next, 13, 0); /* 10 attempts: 1 4 5 6 7 8 9 10 11 12, then the cursor */
    stream_autoclaim_free(&r);
    ck_assert_ptr_null(stream_consumer_find(g, "dave", 4));
    /* To the end: cursor 0-0. */
    ck_assert_int_eq(stream_autoclaim(s, g, "bob", 3, 0, &(stream_id){20, 0}, 100, 0, 2300, &r), 0);
    ck_assert_uint_eq(r.nclaimed, 11);
    ck_id(r.next, 0, 0);
    stream_autoclaim_free(&r);
    ck_assert_uint_eq(stream_consumer_pending_count(bob), 12);
    stream_free(s);
}
END_TEST

START_TEST(test_consumer_delete) {
    stream *s = stream_new();
    for (uint64_t i = 1; i <= 1000; i++) add_x(s, i, 0, "k", "v");
    stream_group *g = stream_group_create(s, "g", 1, &MIN_ID, -1);
    stream_consumer *a = stream_consumer_get(g, "a", 1, 0);
    stream_consumer *b = stream_consumer_get(g, "b", 1, 0);
    stream_consumer *c = stream_consumer_create(g, "c", 1, 0);
    ck_assert_ptr_nonnull(c);
    stream_read_group(s, g, a, 300, 0, 10, NULL, NULL);
    stream_read_group(s, g, b, 0, 0, 10, NULL, NULL);
    /* Move half of a's pending to c, then delete a: its 150 are dropped from the group. */
    stream_claim_args ca = {.now = 20, .delivery_time = 20, .retry_count = -1};
    for (uint64_t i = 2; i <= 300; i += 2) {
        stream_consumer *cc = NULL;
        ck_assert_int_eq(stream_claim(s, g, "c", 1, &cc, &(stream_id){i, 0}, &ca), STREAM_CLAIM_CLAIMED);
        ck_assert_ptr_eq(cc, c);
    }
    ck_assert_uint_eq(stream_consumer_pending_count(a), 150);
    ck_assert_uint_eq(stream_consumer_pending_count(c), 150);
    ck_assert_int_eq(stream_consumer_delete(g, "a", 1), 150);
    ck_assert_int_eq(stream_consumer_delete(g, "a", 1), -1);
    ck_assert_uint_eq(stream_group_consumer_count(g), 2);
    ck_assert_uint_eq(stream_group_pending_count(g), 850);
    ck_assert_ptr_null(stream_pel_find(g, &(stream_id){1, 0}));
    ck_assert_ptr_eq(stream_pel_find(g, &(stream_id){2, 0})->consumer, c);
    size_t k = 0;
    for (stream_nack *n = stream_pel_first(g); n; n = stream_pel_next(n)) {
        require(n->consumer == b || n->consumer == c);
        k++;
    }
    ck_assert_uint_eq(k, 850);
    size_t nl;
    ck_assert_str_eq(stream_consumer_name(stream_consumer_at(g, 0), &nl), "b");
    ck_assert_str_eq(stream_consumer_name(stream_consumer_at(g, 1), &nl), "c");
    ck_assert_int_eq(stream_consumer_delete(g, "b", 1), 700);
    ck_assert_uint_eq(stream_group_pending_count(g), 150);
    /* Leave c's PEL for stream_free to release. */
    stream_free(s);
}
END_TEST

START_TEST(test_pel_scale) {
    /* 200k pending records: ordered walk, random acks, PEL trees stay consistent. */
    stream *s = stream_new();
    const uint64_t N = 200000;
    for (uint64_t i = 1; i <= N; i++) add_x(s, i, 0, "k", "v");
    stream_group *g = stream_group_create(s, "g", 1, &MIN_ID, -1);
    stream_consumer *cs[4];
    for (int i = 0; i < 4; i++) {
        char nm[2] = {(char)('a' + i), 0};
        cs[i] = stream_consumer_get(g, nm, 1, 0);
    }
    for (uint64_t i = 0; i < N / 1000; i++) stream_read_group(s, g, cs[i % 4], 1000, 0, 1, NULL, NULL);
    ck_assert_uint_eq(stream_group_pending_count(g), N);
    uint64_t x = 12345, acked = 0;
    for (int i = 0; i < 100000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        acked += (uint64_t)stream_ack(g, &(stream_id){(x >> 33) % N + 1, 0});
    }
    ck_assert_uint_eq(stream_group_pending_count(g), N - acked);
    uint64_t k = 0;
    stream_id prev = MIN_ID;
    for (stream_nack *n = stream_pel_first(g); n; n = stream_pel_next(n), k++) {
        require(stream_id_cmp(&n->id, &prev) == 1);
        prev = n->id;
    }
    ck_assert_uint_eq(k, N - acked);
    size_t per = 0;
    for (int i = 0; i < 4; i++) {
        size_t m = 0;
        for (stream_nack *n = stream_consumer_pel_seek(cs[i], &MIN_ID); n; n = stream_consumer_pel_next(n), m++)
            require(n->consumer == cs[i]);
        ck_assert_uint_eq(m, stream_consumer_pending_count(cs[i]));
        per += m;
    }
    ck_assert_uint_eq(per, N - acked);
    stream_free(s);
}
END_TEST

/* ---------------------------------------------------------------- lag */

static int lag_of(stream *s, stream_group *g, long long *lag) { return stream_group_lag(s, g, lag); }

START_TEST(test_lag_like_redis) {
    /* Values observed on redis-server 7.0.15 for the same commands. */
    stream *s = five();
    stream_group *g1 = stream_group_create(s, "g1", 2, &MIN_ID, -1);
    stream_consumer *c = stream_consumer_get(g1, "c11", 3, 0);
    long long lag;
    stream_read_group(s, g1, c, 1, 0, 0, NULL, NULL);
    ck_assert_int_eq(stream_group_entries_read(g1), 1);
    ck_assert(lag_of(s, g1, &lag) && lag == 4);
    stream_id d3 = ID(3, 0);
    stream_delete(s, &d3, 1);
    ck_assert_int_eq(stream_group_entries_read(g1), 1);
    ck_assert(!lag_of(s, g1, &lag));
    stream_read_group(s, g1, c, 1, 0, 0, NULL, NULL); /* 2-0 */
    ck_assert_int_eq(stream_group_entries_read(g1), -1);
    ck_assert(!lag_of(s, g1, &lag));
    stream_read_group(s, g1, c, 1, 0, 0, NULL, NULL); /* 4-0 */
    ck_assert_int_eq(stream_group_entries_read(g1), -1);
    ck_assert(!lag_of(s, g1, &lag));
    stream_read_group(s, g1, c, 1, 0, 0, NULL, NULL); /* 5-0 */
    ck_assert_int_eq(stream_group_entries_read(g1), 5);
    ck_assert(lag_of(s, g1, &lag) && lag == 0);
    add_x(s, 6, 0, "data", "f");
    ck_assert(lag_of(s, g1, &lag) && lag == 1);
    stream_trim_args t = {.strategy = STREAM_TRIM_MAXLEN, .maxlen = 1};
    stream_trim(s, &t);
    ck_assert(lag_of(s, g1, &lag) && lag == 1);
    stream_group *g2 = stream_group_create(s, "g2", 2, &MIN_ID, -1);
    ck_assert(lag_of(s, g2, &lag) && lag == 1);
    stream_id last = stream_last_id(s);
    stream_group *g3 = stream_group_create(s, "g3", 2, &last, 3);
    ck_assert(lag_of(s, g3, &lag) && lag == 3);
    stream_group_set_id(g3, &(stream_id){2, 0}, -1);
    ck_assert(lag_of(s, g3, &lag) && lag == 1);
    stream_consumer *c2 = stream_consumer_get(g2, "c", 1, 0);
    stream_read_group(s, g2, c2, 1, 0, 0, NULL, NULL);
    ck_assert_int_eq(stream_group_entries_read(g2), 6);
    ck_assert(lag_of(s, g2, &lag) && lag == 0);
    stream_free(s);

    /* A never-used stream has lag 0. */
    s = stream_new();
    g1 = stream_group_create(s, "g", 1, &MIN_ID, -1);
    ck_assert(lag_of(s, g1, &lag) && lag == 0);
    stream_free(s);
}
END_TEST

/* ---------------------------------------------------------------- model check */

/* Random adds, XDELs, trims and ranges, with tiny blocks, against a plain array. The
 * pairs of an entry are a function of its id, so they can be checked anywhere. */
typedef struct model_entry {
    stream_id id;
    int live;
} model_entry;

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(uint64_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? rng_state % n : 0;
}

/* The pairs of entry id: shape and lengths vary (shared names, long names, empty). */
static size_t pairs_of(const stream_id *id, stream_str *fv, char *buf) {
    static const char *names[] = {"a", "b", "temperature", ""};
    uint64_t h = id->ms * 31 + id->seq * 7;
    size_t np = 1 + h % 3, off = 0;
    for (size_t i = 0; i < np; i++) {
        fv[2 * i].ptr = (h % 5 == 0 && i == 0) ? "a-much-longer-field-name-than-usual" : names[(h + i) % 4];
        fv[2 * i].len = strlen(fv[2 * i].ptr);
        size_t vl = (h >> (4 * i)) % 7 == 0 ? 150 + h % 200 : (h >> (3 * i)) % 9;
        for (size_t k = 0; k < vl; k++) buf[off + k] = (char)('a' + (h + k) % 26);
        fv[2 * i + 1].ptr = buf + off;
        fv[2 * i + 1].len = vl;
        off += vl;
    }
    return np;
}

static void check_pairs(const stream_id *id, stream_fields *f) {
    stream_str fv[8];
    char buf[2048];
    size_t np = pairs_of(id, fv, buf);
    const char *fp, *vp;
    size_t fl, vl;
    require(f->count == np);
    for (size_t i = 0; i < np; i++) {
        require(stream_fields_next(f, &fp, &fl, &vp, &vl));
        require(fl == fv[2 * i].len && memcmp(fp, fv[2 * i].ptr, fl) == 0);
        require(vl == fv[2 * i + 1].len && memcmp(vp, fv[2 * i + 1].ptr, vl) == 0);
    }
    require(!stream_fields_next(f, &fp, &fl, &vp, &vl));
}

/* Block limits and steps for each run of the model test. */
static const struct {
    size_t max_entries, max_bytes;
    int steps;
} model_cfg[] = {{7, 300, 60000}, {0, 2000, 20000}, {0, 0, 4000}, {100, 4096, 20000}};

START_TEST(test_model) {
    size_t saved_e = stream_node_max_entries, saved_b = stream_node_max_bytes;
    stream_node_max_entries = model_cfg[_i].max_entries;
    stream_node_max_bytes = model_cfg[_i].max_bytes;
    stream *s = stream_new();
    size_t cap = 200000, n = 0, live = 0;
    model_entry *m = malloc(cap * sizeof(*m));
    long long clock = 1000;
    for (int step = 0; step < model_cfg[_i].steps; step++) {
        uint64_t op = rnd(100);
        if (op < 55 && n < cap) {
            stream_str fv[8];
            char buf[2048];
            stream_id want, out, last = stream_last_id(s);
            int mode = (int)rnd(3), rc;
            clock += (long long)rnd(4) - 1; /* the clock sometimes goes back */
            /* The id stream_add should choose (the pairs depend on it). */
            if (mode == STREAM_ADD_AUTO) {
                want = (uint64_t)clock > last.ms ? ID(clock, 0) : ID(last.ms, last.seq + 1);
            } else {
                want = ID(last.ms + rnd(3) - (last.ms ? 1 : 0), rnd(3));
                if (mode == STREAM_ADD_AUTO_SEQ) want.seq = want.ms == last.ms ? last.seq + 1 : 0;
            }
            size_t np = pairs_of(&want, fv, buf);
            rc = stream_add(s, mode, &want, fv, np, clock, &out);
            if (mode == STREAM_ADD_EXPLICIT && stream_id_is_zero(&want)) {
                require(rc == STREAM_E_ZERO);
                continue;
            }
            if (stream_id_cmp(&want, &last) <= 0) {
                require(rc == STREAM_E_SMALL);
                continue;
            }
            require(rc == STREAM_OK);
            require(stream_id_cmp(&out, &want) == 0);
            m[n].id = out;
            m[n].live = 1;
            n++;
            live++;
        } else if (op < 70 && n) {
            stream_id ids[5];
            size_t k = 1 + rnd(5), expect = 0;
            for (size_t i = 0; i < k; i++) {
                size_t j = n - 1 - rnd(n < 50 ? n : 50);
                ids[i] = m[j].id;
                if (rnd(4) == 0) ids[i].seq += 1000; /* usually absent */
            }
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < n; j++)
                    if (m[j].live && stream_id_cmp(&m[j].id, &ids[i]) == 0) {
                        m[j].live = 0;
                        expect++;
                        live--;
                    }
            require(stream_delete(s, ids, k) == expect);
        } else if (op < 75) {
            stream_trim_args a = {.strategy = (int)(1 + rnd(2)), .approx = (int)rnd(2)};
            uint64_t removed, exact = 0;
            if (a.strategy == STREAM_TRIM_MAXLEN) {
                a.maxlen = live > 20 ? live - rnd(20) : live;
                exact = live - a.maxlen;
            } else {
                a.minid = n ? m[n - 1 - rnd(n < 40 ? n : 40)].id : ID(0, 0);
                for (size_t j = 0; j < n; j++)
                    if (m[j].live && stream_id_cmp(&m[j].id, &a.minid) < 0) exact++;
            }
            if (a.approx && rnd(2)) a.limit = (long long)rnd(30);
            removed = stream_trim(s, &a);
            if (a.approx) require(removed <= exact);
            else require(removed == exact);
            for (size_t j = 0; j < n && removed; j++)
                if (m[j].live) {
                    m[j].live = 0;
                    live--;
                    removed--;
                }
        } else if (op < 77 && live) {
            /* XSETID down to the last live id: later ids may equal deleted ones. */
            stream_id top = ID(0, 0);
            for (size_t j = n; j > 0; j--)
                if (m[j - 1].live) {
                    top = m[j - 1].id;
                    break;
                }
            require(stream_set_id(s, &top, -1, NULL) == STREAM_OK);
            stream_id below = top;
            stream_id_decr(&below);
            require(stream_set_id(s, &below, -1, NULL) == STREAM_E_SMALL);
        } else {
            /* A range over random bounds, one way or the other, with a count. */
            stream_id a = n ? m[rnd(n)].id : ID(0, 0), b = n ? m[rnd(n)].id : ID(5, 5);
            if (rnd(3) == 0) a = MIN_ID;
            if (rnd(3) == 0) b = MAX_ID;
            int rev = (int)rnd(2);
            size_t limit = rnd(3) ? 0 : 1 + rnd(10), got = 0;
            stream_iter it;
            stream_id id;
            stream_fields f;
            stream_iter_init(&it, s, &a, &b, rev);
            size_t j = rev ? n : 0;
            for (;;) {
                /* Next expected live entry in [a, b]. */
                int found = 0;
                while (rev ? j > 0 : j < n) {
                    model_entry *e = rev ? &m[j - 1] : &m[j];
                    rev ? j-- : j++;
                    if (e->live && stream_id_cmp(&e->id, &a) >= 0 && stream_id_cmp(&e->id, &b) <= 0) {
                        id = e->id;
                        found = 1;
                        break;
                    }
                }
                if (limit && got == limit) break;
                stream_id want = id;
                int have = stream_iter_next(&it, &id, &f);
                require(have == found);
                if (!have) break;
                require(stream_id_cmp(&id, &want) == 0);
                check_pairs(&id, &f);
                got++;
            }
        }
        require(stream_length(s) == live);
        stream_id first = ID(0, 0);
        for (size_t j = 0; j < n; j++)
            if (m[j].live) {
                first = m[j].id;
                break;
            }
        require(stream_id_cmp(&first, &(stream_id){stream_first_id(s).ms, stream_first_id(s).seq}) == 0);
    }
    ck_assert_uint_gt(n, (size_t)model_cfg[_i].steps / 6);
    free(m);
    stream_free(s);
    stream_node_max_entries = saved_e;
    stream_node_max_bytes = saved_b;
}
END_TEST

START_TEST(test_dup) {
    stream *s = stream_new();
    for (uint64_t i = 1; i <= 1000; i++) add_x(s, i, 0, "k", "v");
    stream_id d = ID(500, 0);
    stream_delete(s, &d, 1);
    stream_group *g = stream_group_create(s, "g", 1, &MIN_ID, -1);
    stream_consumer *a = stream_consumer_get(g, "a", 1, 7);
    stream_consumer *b = stream_consumer_get(g, "b", 1, 8);
    stream_read_group(s, g, a, 10, 0, 100, NULL, NULL);
    stream_read_group(s, g, b, 10, 0, 200, NULL, NULL);
    stream_claim_args ca = {.now = 300, .delivery_time = 300, .retry_count = 5, .force = 1};
    stream_consumer *cc = NULL;
    stream_claim(s, g, "b", 1, &cc, &(stream_id){900, 0}, &ca);

    stream *c = stream_dup(s);
    stream_free(s);
    ck_assert_uint_eq(stream_length(c), 999);
    ck_id(stream_max_deleted_id(c), 500, 0);
    ck_assert_uint_eq(stream_entries_added(c), 1000);
    stream_iter it;
    stream_fields f;
    stream_id id;
    size_t n = 0;
    stream_iter_init(&it, c, &MIN_ID, &MAX_ID, 1);
    while (stream_iter_next(&it, &id, &f)) n++;
    ck_assert_uint_eq(n, 999);
    g = stream_group_find(c, "g", 1);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(stream_group_pending_count(g), 21);
    ck_id(stream_group_last_id(g), 20, 0);
    ck_assert_int_eq(stream_group_entries_read(g), -1); /* a tombstone lies ahead */
    b = stream_consumer_find(g, "b", 1);
    ck_assert_uint_eq(stream_consumer_pending_count(b), 11);
    ck_assert_int_eq(stream_consumer_seen_time(b), 300); /* the claim saw it */
    stream_nack *nk = stream_pel_find(g, &(stream_id){900, 0});
    ck_assert_ptr_eq(nk->consumer, b);
    ck_assert_uint_eq(nk->delivery_count, 5);
    ck_assert_int_eq(nk->delivery_time, 300);
    ck_assert_int_eq(stream_consumer_delete(g, "a", 1), 10);
    add_x(c, 2000, 0, "k", "v");
    ck_assert_uint_eq(stream_length(c), 1000);
    stream_free(c);
}
END_TEST

START_TEST(test_set_id) {
    stream *s = five();
    stream_id d = ID(5, 0);
    stream_delete(s, &d, 1);
    ck_assert_int_eq(stream_set_id(s, &(stream_id){3, 0}, -1, NULL), STREAM_E_SMALL);
    ck_assert_int_eq(stream_set_id(s, &(stream_id){4, 0}, 2, NULL), STREAM_E_ADDED);
    ck_assert_int_eq(stream_set_id(s, &(stream_id){4, 0}, 10, &(stream_id){4, 0}), STREAM_OK);
    ck_id(stream_last_id(s), 4, 0);
    ck_assert_uint_eq(stream_entries_added(s), 10);
    ck_id(stream_max_deleted_id(s), 4, 0);
    /* An id equal to the deleted tombstone's goes in again; ranges stay right. */
    add_x(s, 5, 0, "data", "again");
    add_x(s, 5, 1, "data", "x");
    stream_iter it;
    stream_id id;
    stream_fields f;
    size_t n = 0;
    stream_iter_init(&it, s, &(stream_id){4, 1}, &MAX_ID, 0);
    while (stream_iter_next(&it, &id, &f)) n++;
    ck_assert_uint_eq(n, 2);
    ck_assert(stream_get(s, &(stream_id){5, 0}, &f));
    ck_assert(first_pair_is(&f, "data", "again"));
    stream_free(s);
}
END_TEST

int main(void) {
    Suite *su = suite_create("stream");
    TCase *ids = tcase_create("ids");
    tcase_add_test(ids, test_id_parse);
    tcase_add_test(ids, test_id_interval_format_arith);
    suite_add_tcase(su, ids);
    TCase *log = tcase_create("log");
    tcase_set_timeout(log, 240);
    tcase_add_test(log, test_add_ids);
    tcase_add_test(log, test_fields);
    tcase_add_test(log, test_scale_range_delete);
    tcase_add_test(log, test_scale_trim);
    tcase_add_test(log, test_trim_like_redis);
    tcase_add_test(log, test_memory_per_entry);
    tcase_add_test(log, test_set_id);
    tcase_add_test(log, test_dup);
    tcase_add_loop_test(log, test_model, 0, (int)(sizeof(model_cfg) / sizeof(*model_cfg)));
    suite_add_tcase(su, log);
    TCase *grp = tcase_create("groups");
    tcase_set_timeout(grp, 120);
    tcase_add_test(grp, test_group_deliver_ack);
    tcase_add_test(grp, test_claim);
    tcase_add_test(grp, test_autoclaim);
    tcase_add_test(grp, test_consumer_delete);
    tcase_add_test(grp, test_pel_scale);
    tcase_add_test(grp, test_lag_like_redis);
    suite_add_tcase(su, grp);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
