/* test_type.c: unit tests of the value-type descriptor (storage/type.h): what types_init
 * registers and what a key's descriptor answers (name, encoding); COPY through db_copy
 * (strings keep their encoding and TTL, a stream's dup equals the original in every
 * field the API shows, groups, consumers and pending records of deleted entries
 * included, and shares nothing with it); value memory (the stream's O(1) count equals a
 * full recount after every kind of change; MEMORY USAGE grows and shrinks with values). */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/db.h"
#include "storage/stream.h"
#include "storage/type.h"

static const stream_id MIN_ID = {0, 0};
static const stream_id MAX_ID = {UINT64_MAX, UINT64_MAX};

static void setup(void) {
    uint8_t seed[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    util_hash_seed(seed);
    storage_now_ms = 1700000000000LL;
    types_init();
}

/* ---------------------------------------------------------------- a text dump of a stream */

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void tprintf(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        ck_assert_ptr_nonnull(t->p);
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void tid(text *t, const char *what, stream_id id) {
    tprintf(t, "%s=%llu-%llu ", what, (unsigned long long)id.ms, (unsigned long long)id.seq);
}

/* Everything the stream API shows about s, as text: metadata, entries, groups with
 * their counters and lag, consumers with times, both PELs with owners, delivery times
 * and counts. Two streams are equal to every command iff their dumps are equal. */
static char *dump(const stream *s) {
    text t = {NULL, 0, 0};
    tprintf(&t, "len=%llu added=%llu ", (unsigned long long)stream_length(s),
            (unsigned long long)stream_entries_added(s));
    tid(&t, "last", stream_last_id(s));
    tid(&t, "first", stream_first_id(s));
    tid(&t, "maxdel", stream_max_deleted_id(s));
    tprintf(&t, "\n");
    stream_iter it;
    stream_fields f;
    stream_id id;
    stream_iter_init(&it, s, &MIN_ID, &MAX_ID, 0);
    while (stream_iter_next(&it, &id, &f)) {
        tid(&t, "entry", id);
        const char *fp, *vp;
        size_t fl, vl;
        while (stream_fields_next(&f, &fp, &fl, &vp, &vl)) tprintf(&t, "%.*s:%.*s ", (int)fl, fp, (int)vl, vp);
        tprintf(&t, "\n");
    }
    for (size_t i = 0; i < stream_group_count(s); i++) {
        const stream_group *g = stream_group_at(s, i);
        size_t len;
        const char *name = stream_group_name(g, &len);
        long long lag = -2;
        int known = stream_group_lag(s, g, &lag);
        tprintf(&t, "group %.*s read=%lld pending=%zu consumers=%zu lag=%d/%lld ", (int)len, name,
                stream_group_entries_read(g), stream_group_pending_count(g), stream_group_consumer_count(g), known,
                known ? lag : 0);
        tid(&t, "last", stream_group_last_id(g));
        tprintf(&t, "\n");
        for (const stream_nack *n = stream_pel_first(g); n; n = stream_pel_next(n)) {
            size_t cl;
            const char *cn = stream_consumer_name(n->consumer, &cl);
            tid(&t, "  pel", n->id);
            tprintf(&t, "owner=%.*s time=%lld count=%llu entry=%d\n", (int)cl, cn, n->delivery_time,
                    (unsigned long long)n->delivery_count, stream_get(s, &n->id, NULL));
        }
        for (size_t j = 0; j < stream_group_consumer_count(g); j++) {
            const stream_consumer *c = stream_consumer_at(g, j);
            const char *cn = stream_consumer_name(c, &len);
            tprintf(&t, "  consumer %.*s seen=%lld active=%lld pending=%zu:", (int)len, cn,
                    stream_consumer_seen_time(c), stream_consumer_active_time(c), stream_consumer_pending_count(c));
            for (const stream_nack *n = stream_consumer_pel_seek(c, &MIN_ID); n; n = stream_consumer_pel_next(n))
                tid(&t, "", n->id);
            tprintf(&t, "\n");
        }
    }
    return t.p;
}

/* Fail with the first line where two dumps differ (Check cannot carry whole dumps). */
#define ck_dump_eq(a, b) dump_eq((a), (b), __LINE__)
static void dump_eq(const char *a, const char *b, int line) {
    size_t i = 0, start = 0;
    while (a[i] && a[i] == b[i]) {
        if (a[i] == '\n') start = i + 1;
        i++;
    }
    if (a[i] == b[i]) return;
    ck_abort_msg("line %d: dumps differ at:\n  %.200s\n  %.200s", line, a + start, b + start);
}

static stream_id add_n(stream *s, uint64_t ms, int npairs) {
    stream_str fv[8];
    char buf[8][16];
    for (int i = 0; i < 2 * npairs; i++) {
        fv[i].len = (size_t)snprintf(buf[i], sizeof buf[i], "%c%llu", i % 2 ? 'v' : 'f', (unsigned long long)ms + i);
        fv[i].ptr = buf[i];
    }
    stream_id id = {ms, 0}, out;
    ck_assert_int_eq(stream_add(s, STREAM_ADD_EXPLICIT, &id, fv, (size_t)npairs, 0, &out), STREAM_OK);
    return out;
}

/* A stream with two groups, three consumers, pending records of which some point at
 * deleted entries (the COPY bug: those must survive the copy), a claimed record, an
 * acked one, a consumer without pending messages and a group with an unknown
 * entries_read. */
static stream *busy_stream(void) {
    stream *s = stream_new();
    for (uint64_t ms = 1; ms <= 300; ms++) add_n(s, ms, 1 + (int)(ms % 3));
    stream_group *g = stream_group_create(s, "g", 1, &MIN_ID, 0);
    stream_group *h = stream_group_create(s, "h", 1, &(stream_id){150, 0}, STREAM_ENTRIES_READ_INVALID);
    stream_consumer *a = stream_consumer_get(g, "alice", 5, 1000);
    stream_consumer *b = stream_consumer_get(g, "bob", 3, 1001);
    stream_consumer_create(g, "idle", 4, 1002);
    stream_read_group(s, g, a, 10, 0, 2000, NULL, NULL);
    stream_read_group(s, g, b, 5, 0, 2001, NULL, NULL);
    stream_consumer *hc = stream_consumer_get(h, "carol", 5, 1003);
    stream_read_group(s, h, hc, 3, 0, 2002, NULL, NULL);
    stream_id del[] = {{2, 0}, {12, 0}, {151, 0}, {200, 0}};
    ck_assert_uint_eq(stream_delete(s, del, 4), 4);
    stream_ack(g, &(stream_id){3, 0});
    stream_claim_args ca = {.now = 3000, .delivery_time = 2500, .retry_count = 7};
    stream_consumer *cc = NULL;
    ck_assert_int_eq(stream_claim(s, g, "bob", 3, &cc, &(stream_id){4, 0}, &ca), STREAM_CLAIM_CLAIMED);
    return s;
}

/* ---------------------------------------------------------------- registration */

static const char *fake_encoding(const rkey *k) {
    (void)k;
    return "fake";
}

START_TEST(test_registration) {
    ck_assert_ptr_eq(type_get(OBJ_STRING), &string_type);
    ck_assert_ptr_eq(type_get(OBJ_STREAM), &stream_type);
    ck_assert_ptr_eq(type_get(OBJ_LIST), &list_type);
    ck_assert_str_eq(list_type.name, "list");
    ck_assert_ptr_null(type_get(-1));
    ck_assert_ptr_null(type_get(OBJ_TYPES));
    ck_assert_str_eq(string_type.name, "string");
    ck_assert_str_eq(stream_type.name, "stream");
    ck_assert_int_eq(string_type.id, OBJ_STRING);
    ck_assert_int_eq(stream_type.id, OBJ_STREAM);
    /* Strings live in the record; a stream is a pointer the descriptor manages. */
    ck_assert_ptr_null(string_type.free);
    ck_assert_ptr_null(string_type.dup);
    ck_assert_ptr_nonnull(stream_type.free);
    ck_assert_ptr_nonnull(stream_type.memory);
    ck_assert_ptr_nonnull(stream_type.dup);
    /* The RDB slots are filled (storage/rdb.h). */
    ck_assert_ptr_nonnull(stream_type.rdb_save);
    ck_assert_ptr_nonnull(stream_type.rdb_load);
    ck_assert_ptr_nonnull(string_type.rdb_save);

    db *d = db_create(0);
    char big[100];
    memset(big, 'x', sizeof big);
    rkey *k = db_set_string(d, "i", 1, "12345", 5, 0);
    ck_assert_ptr_eq(type_of(k), &string_type);
    ck_assert_str_eq(rkey_encoding(k), "int");
    ck_assert_str_eq(rkey_encoding(db_set_string(d, "e", 1, big, 44, 0)), "embstr");
    ck_assert_str_eq(rkey_encoding(db_set_string(d, "r", 1, big, 45, 0)), "raw");
    k = db_lookup_write(d, "e", 1);
    db_string_resize(d, &k, 10); /* APPEND/SETRANGE make it raw, however short */
    ck_assert_str_eq(rkey_encoding(k), "raw");
    k = db_add_ptr(d, "s", 1, OBJ_STREAM, stream_new());
    ck_assert_ptr_eq(type_of(k), &stream_type);
    ck_assert_str_eq(type_of(k)->name, "stream");
    ck_assert_str_eq(rkey_encoding(k), "stream");

    /* A registration replaces the slot and hands back what was there. */
    value_type fake = stream_type;
    fake.name = "fake";
    fake.encoding = fake_encoding;
    ck_assert_ptr_eq(type_register(&fake), &stream_type);
    ck_assert_str_eq(type_of(db_peek(d, "s", 1))->name, "fake");
    ck_assert_str_eq(rkey_encoding(db_peek(d, "s", 1)), "fake");
    ck_assert_ptr_eq(type_register(&stream_type), &fake);
    ck_assert_str_eq(rkey_encoding(db_peek(d, "s", 1)), "stream");
    /* types_init again is harmless. */
    types_init();
    ck_assert_ptr_eq(type_get(OBJ_STREAM), &stream_type);
    db_destroy(d); /* frees the stream through the descriptor (ASan checks) */
}
END_TEST

/* ---------------------------------------------------------------- dup / COPY */

START_TEST(test_stream_dup_equals_original) {
    stream *s = busy_stream();
    char *before = dump(s);
    /* the scenario the copy used to lose: pending records whose entries were deleted */
    ck_assert_ptr_nonnull(strstr(before, "pel=2-0 owner=alice"));
    ck_assert_ptr_nonnull(strstr(before, "pel=151-0 owner=carol"));
    ck_assert_ptr_nonnull(strstr(before, "pel=4-0 owner=bob time=2500 count=7"));
    ck_assert_ptr_nonnull(strstr(before, "consumer idle"));

    stream *c = stream_type.dup(s);
    char *copy = dump(c);
    ck_dump_eq(copy, before);
    ck_assert_uint_eq(stream_memory(c), stream_memory_recount(c));

    /* Nothing is shared: changing the original leaves the copy as it was. */
    stream_group *g = stream_group_find(s, "g", 1);
    stream_ack(g, &(stream_id){2, 0});
    stream_consumer_delete(g, "bob", 3);
    stream_group_destroy(s, "h", 1);
    add_n(s, 1000, 2);
    stream_id d = {1, 0};
    stream_delete(s, &d, 1);
    char *after = dump(c);
    ck_dump_eq(after, before);
    /* and the copy works on its own */
    stream_group *cg = stream_group_find(c, "g", 1);
    ck_assert_int_eq(stream_ack(cg, &(stream_id){2, 0}), 1);
    ck_assert_int_eq(stream_consumer_delete(cg, "alice", 5), 7); /* 1..10, less 3 (acked), 4 (claimed), 2 */
    stream_type.free(s);
    char *last = dump(c);
    ck_assert_ptr_null(strstr(last, "alice"));
    stream_type.free(c);
    free(before);
    free(copy);
    free(after);
    free(last);
}
END_TEST

START_TEST(test_stream_dup_empty_and_groupless) {
    stream *s = stream_new();
    stream *c = stream_dup(s);
    char *a = dump(s), *b = dump(c);
    ck_dump_eq(a, b);
    free(a);
    free(b);
    stream_free(c);
    /* entries all deleted, counters kept */
    for (uint64_t ms = 1; ms <= 5; ms++) add_n(s, ms, 1);
    stream_id ids[] = {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}};
    stream_delete(s, ids, 5);
    c = stream_dup(s);
    a = dump(s);
    b = dump(c);
    ck_dump_eq(a, b);
    ck_assert_ptr_nonnull(strstr(a, "len=0 added=5"));
    free(a);
    free(b);
    stream_free(c);
    stream_free(s);
}
END_TEST

START_TEST(test_db_copy) {
    db *d = db_create(0), *o = db_create(1);
    char big[200];
    memset(big, 'b', sizeof big);
    db_set_string(d, "i", 1, "-42", 3, 0);
    db_set_string(d, "e", 1, "hello", 5, 0);
    rkey *r = db_set_string(d, "r", 1, "ab", 2, 0);
    memcpy(db_string_resize(d, &r, 150), big, 150); /* raw, with room */
    db_set_expire(d, db_lookup_write(d, "e", 1), storage_now_ms + 5000);

    const char *names[] = {"i", "e", "r"};
    for (int i = 0; i < 3; i++) {
        char to[8];
        snprintf(to, sizeof to, "%s2", names[i]);
        rkey *k = db_lookup_read(d, names[i], 1);
        rkey *a = db_copy(d, k, to, 2); /* same db */
        k = db_lookup_read(d, names[i], 1);
        rkey *b = db_copy(o, k, names[i], 1); /* another db, same name */
        for (int j = 0; j < 2; j++) {
            rkey *n = j ? b : a;
            ck_assert_ptr_eq(type_of(n), &string_type);
            ck_assert_str_eq(rkey_encoding(n), rkey_encoding(k));
            ck_assert_int_eq(rkey_expire(n), rkey_expire(k));
            char t1[UTIL_LLSTR_SIZE], t2[UTIL_LLSTR_SIZE];
            size_t l1, l2;
            const char *v1 = rkey_str(k, &l1, t1), *v2 = rkey_str(n, &l2, t2);
            ck_assert_uint_eq(l1, l2);
            ck_assert_int_eq(memcmp(v1, v2, l1), 0);
        }
    }
    ck_assert_int_eq(rkey_expire(db_lookup_read(d, "e2", 2)), storage_now_ms + 5000);
    ck_assert_uint_eq(db_size(d), 6);
    ck_assert_uint_eq(db_expires_size(d), 2);
    ck_assert_uint_eq(db_size(o), 3);
    ck_assert_uint_eq(db_expires_size(o), 1);
    /* raw keeps raw: the copy is a separate record */
    rkey *r2 = db_lookup_write(d, "r2", 2);
    char *p = db_string_resize(d, &r2, 151);
    p[150] = '!';
    ck_assert_uint_eq(rkey_strlen(db_lookup_read(d, "r", 1)), 150);

    /* A stream: a deep copy, freed with its own key. */
    stream *s = busy_stream();
    char *want = dump(s);
    rkey *k = db_add_ptr(d, "s", 1, OBJ_STREAM, s);
    db_set_expire(d, k, storage_now_ms + 9000);
    k = db_lookup_read(d, "s", 1);
    rkey *n = db_copy(o, k, "s", 1);
    ck_assert_ptr_ne(rkey_ptr(n), rkey_ptr(k));
    ck_assert_int_eq(rkey_expire(n), storage_now_ms + 9000);
    ck_assert_str_eq(rkey_encoding(n), "stream");
    char *got = dump(rkey_ptr(n));
    ck_dump_eq(got, want);
    ck_assert_int_eq(db_delete(d, "s", 1), 1);
    free(got);
    got = dump(rkey_ptr(db_lookup_read(o, "s", 1)));
    ck_dump_eq(got, want);

    /* A type without dup cannot be copied: nothing is added. */
    value_type nodup = stream_type;
    nodup.dup = NULL;
    type_register(&nodup);
    k = db_add_ptr(d, "t", 1, OBJ_STREAM, stream_new());
    size_t keys = db_size(o);
    ck_assert_ptr_null(db_copy(o, k, "t", 1));
    ck_assert_uint_eq(db_size(o), keys);
    type_register(&stream_type);

    free(want);
    free(got);
    db_destroy(d);
    db_destroy(o);
}
END_TEST

/* ---------------------------------------------------------------- memory */

START_TEST(test_stream_memory_counts) {
    stream *s = stream_new();
    size_t empty = stream_memory(s);
    ck_assert_uint_eq(empty, stream_memory_recount(s));
    size_t prev = empty;
    for (uint64_t ms = 1; ms <= 2000; ms++) {
        add_n(s, ms, 2);
        if (ms % 100 == 0) {
            ck_assert_uint_gt(stream_memory(s), prev);
            prev = stream_memory(s);
        }
    }
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    /* every kind of change to groups, consumers and PELs, each checked against a recount */
    stream_group *g[3];
    char name[16];
    for (int i = 0; i < 3; i++) {
        int n = snprintf(name, sizeof name, "group-%d", i);
        g[i] = stream_group_create(s, name, (size_t)n, &MIN_ID, 0);
        ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    }
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 9; j++) {
            int n = snprintf(name, sizeof name, "c%d", j);
            stream_consumer *c = stream_consumer_get(g[i], name, (size_t)n, 5);
            stream_read_group(s, g[i], c, 20, j == 8, 6, NULL, NULL);
            ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
        }
    }
    size_t full = stream_memory(s);
    ck_assert_uint_gt(full, prev);
    for (uint64_t ms = 1; ms <= 10; ms++) ck_assert_int_eq(stream_ack(g[0], &(stream_id){ms, 0}), 1);
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    ck_assert_uint_lt(stream_memory(s), full);
    stream_consumer *cc = NULL;
    stream_claim_args ca = {.now = 10, .delivery_time = 10, .retry_count = -1, .force = 1};
    stream_claim(s, g[0], "new", 3, &cc, &(stream_id){5, 0}, &ca); /* FORCE: a new record */
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    stream_id del = {30, 0};
    stream_delete(s, &del, 1);
    stream_claim(s, g[0], "new", 3, &cc, &del, &ca); /* deleted entry: record dropped */
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    stream_autoclaim_result r;
    stream_autoclaim(s, g[1], "auto", 4, 0, &MIN_ID, 50, 0, 20, &r);
    stream_autoclaim_free(&r);
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    ck_assert_int_ge(stream_consumer_delete(g[1], "c3", 2), 0);
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    ck_assert_int_eq(stream_group_destroy(s, "group-2", 7), 1);
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    stream_trim_args t = {.strategy = STREAM_TRIM_MAXLEN, .maxlen = 100};
    stream_trim(s, &t);
    ck_assert_uint_eq(stream_memory(s), stream_memory_recount(s));
    ck_assert_uint_lt(stream_memory(s), full / 2);
    stream *c = stream_dup(s);
    ck_assert_uint_eq(stream_memory(c), stream_memory_recount(c));
    stream_free(c);
    stream_free(s);
}
END_TEST

START_TEST(test_key_memory) {
    db *d = db_create(0);
    char v[4096];
    memset(v, 'v', sizeof v);
    size_t prev = 0;
    for (size_t len = 1; len <= sizeof v; len *= 4) {
        rkey *k = db_set_string(d, "k", 1, v, len, 0);
        size_t m = db_key_memory(d, k);
        ck_assert_uint_ge(m, len + 1);
        if (len > 16) ck_assert_uint_gt(m, prev);
        prev = m;
    }
    /* a TTL costs its block and its expires slot */
    rkey *k = db_set_string(d, "t", 1, v, 10, 0);
    size_t plain = db_key_memory(d, k);
    k = db_set_expire(d, k, storage_now_ms + 1000);
    ck_assert_uint_gt(db_key_memory(d, k), plain);

    stream *s = stream_new();
    k = db_add_ptr(d, "s", 1, OBJ_STREAM, s);
    size_t m0 = db_key_memory(d, k);
    ck_assert_uint_ge(m0, stream_memory(s));
    for (uint64_t ms = 1; ms <= 500; ms++) add_n(s, ms, 3);
    k = db_peek(d, "s", 1);
    size_t m1 = db_key_memory(d, k); /* measured now, not the cached figure */
    ck_assert_uint_gt(m1, m0 + 500 * 20);
    stream_trim_args t = {.strategy = STREAM_TRIM_MAXLEN, .maxlen = 10};
    stream_trim(s, &t);
    size_t m2 = db_key_memory(d, k);
    ck_assert_uint_lt(m2, m1 / 3);
    /* the db's total followed the last measure */
    size_t total = db_memory(d);
    for (uint64_t ms = 1000; ms < 1200; ms++) add_n(s, ms, 3);
    db_key_memory(d, k);
    ck_assert_uint_gt(db_memory(d), total);
    db_destroy(d);
}
END_TEST

int main(void) {
    Suite *su = suite_create("type");
    TCase *tc = tcase_create("type");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_registration);
    tcase_add_test(tc, test_stream_dup_equals_original);
    tcase_add_test(tc, test_stream_dup_empty_and_groupless);
    tcase_add_test(tc, test_db_copy);
    tcase_add_test(tc, test_stream_memory_counts);
    tcase_add_test(tc, test_key_memory);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
