/* test_lazyfree.c: unit tests of lazy freeing (storage/lazyfree.c and the detached
 * keyspace and value jobs in storage/db.c and storage/stream.c): a lazily flushed db is
 * empty at once and usable, its records go a bounded step at a time with the pending
 * counters falling to 0 and the freed counter rising by the number of keys; a big stream
 * (blocks, a group with pending records and consumers) goes the same way whether it is
 * deleted alone or found inside a flushed db; small values are freed at once; the
 * lazyfree-lazy-* switches route expiry and overwrites. ASan's leak check (the sanitizer
 * build) proves every allocation is freed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/db.h"
#include "storage/lazyfree.h"
#include "storage/stream.h"
#include "storage/type.h"

#define REQ(cond)                                                                                                      \
    do {                                                                                                               \
        if (!(cond)) ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #cond);                                     \
    } while (0)

static db *fill(int n, int with_ttl) {
    db *d = db_create(0);
    char k[32], v[64];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "key:%d", i);
        int vl = snprintf(v, sizeof v, "value-%d-%032d", i, i);
        rkey *r = db_set_string(d, k, (size_t)kl, v, (size_t)vl, 0);
        if (with_ttl && i % 3 == 0) db_set_expire(d, r, 1LL << 50);
    }
    return d;
}

/* A stream of n entries with a group holding every entry pending for two consumers. */
static stream *big_stream(int n) {
    stream *s = stream_new();
    stream_str fv[2] = {{"field", 5}, {"value-value-value", 17}};
    for (int i = 0; i < n; i++) {
        stream_id id = {(uint64_t)i + 1, 0}, out;
        REQ(stream_add(s, STREAM_ADD_EXPLICIT, &id, fv, 1, 0, &out) == STREAM_OK);
    }
    stream_id zero = {0, 0};
    stream_group *g = stream_group_create(s, "g", 1, &zero, 0);
    stream_consumer *a = stream_consumer_create(g, "a", 1, 0);
    stream_consumer *b = stream_consumer_create(g, "b", 1, 0);
    stream_read_group(s, g, a, (size_t)n / 2, 0, 0, NULL, NULL);
    stream_read_group(s, g, b, 0, 0, 0, NULL, NULL);
    REQ(stream_group_pending_count(g) == (size_t)n);
    return s;
}

/* Steps of zero budget (one round of a job each) until the queue is empty; returns how
 * many it took. */
static int drain_in_steps(void) {
    int steps = 0;
    while (lazyfree_step(0)) {
        steps++;
        REQ(steps < 10000000);
    }
    return steps;
}

START_TEST(test_flush_lazy) {
    db *d = fill(20000, 1);
    size_t mem = db_memory(d);
    long long freed0 = lazyfree_freed_objects();
    REQ(db_flush_lazy(d) == 20000);
    REQ(db_size(d) == 0 && db_expires_size(d) == 0);
    REQ(db_memory(d) < mem / 100);
    REQ(lazyfree_pending_objects() == 20000);
    REQ(lazyfree_pending_bytes() > mem / 2);
    /* the db is usable at once, independent of what is being freed */
    REQ(db_set_string(d, "key:1", 5, "new", 3, 0) != NULL);
    REQ(db_lookup_read(d, "key:2", 5) == NULL);
    REQ(lazyfree_step(0) == 1);
    REQ(lazyfree_pending_objects() < 20000 && lazyfree_pending_objects() > 0);
    REQ(lazyfree_freed_objects() > freed0);
    int steps = drain_in_steps();
    REQ(steps > 100); /* bounded steps: 64 records (or 1024 empty buckets) each */
    REQ(lazyfree_pending_objects() == 0 && lazyfree_pending_bytes() == 0);
    REQ(lazyfree_freed_objects() == freed0 + 20000);
    REQ(db_size(d) == 1);
    db_destroy(d);
}
END_TEST

START_TEST(test_flush_lazy_while_rehashing_and_empty) {
    db *d = fill(1000, 0);
    /* grow past a power of two so the table is mid-rehash when detached */
    char k[32];
    for (int i = 1000; i < 1030; i++) db_set_string(d, k, (size_t)snprintf(k, sizeof k, "key:%d", i), "x", 1, 0);
    REQ(db_flush_lazy(d) == 1030);
    REQ(db_flush_lazy(d) == 0); /* nothing queued for an empty db */
    REQ(lazyfree_pending_objects() == 1030);
    drain_in_steps();
    REQ(lazyfree_pending_objects() == 0 && lazyfree_pending_bytes() == 0);
    db_destroy(d);
}
END_TEST

START_TEST(test_unlink_big_stream) {
    db *d = db_create(0);
    stream *s = big_stream(20000);
    REQ(stream_free_effort(s) > LAZYFREE_THRESHOLD);
    db_add_ptr(d, "s", 1, OBJ_STREAM, s);
    size_t before = db_memory(d);
    long long freed0 = lazyfree_freed_objects();
    REQ(db_delete_lazy(d, "s", 1, 1) == 1);
    REQ(db_size(d) == 0 && db_memory(d) < before / 100);
    REQ(lazyfree_pending_objects() == 1);
    REQ(lazyfree_pending_bytes() > before / 2);
    REQ(drain_in_steps() > 20000 / 64);
    REQ(lazyfree_pending_objects() == 0 && lazyfree_pending_bytes() == 0);
    REQ(lazyfree_freed_objects() == freed0 + 1);
    db_destroy(d);
}
END_TEST

START_TEST(test_small_values_and_strings_freed_at_once) {
    db *d = db_create(0);
    db_add_ptr(d, "s", 1, OBJ_STREAM, big_stream(10)); /* effort under the threshold */
    db_set_string(d, "str", 3, "value", 5, 0);
    REQ(db_delete_lazy(d, "s", 1, 1) == 1);
    REQ(db_delete_lazy(d, "str", 3, 1) == 1);
    REQ(lazyfree_pending_objects() == 0);
    REQ(lazyfree_step(0) == 0);
    db_destroy(d);
}
END_TEST

START_TEST(test_big_stream_inside_flushed_db) {
    db *d = fill(100, 0);
    db_add_ptr(d, "s", 1, OBJ_STREAM, big_stream(20000));
    long long freed0 = lazyfree_freed_objects();
    REQ(db_flush_lazy(d) == 101);
    REQ(lazyfree_pending_objects() == 101);
    drain_in_steps();
    REQ(lazyfree_pending_objects() == 0 && lazyfree_pending_bytes() == 0);
    REQ(lazyfree_freed_objects() == freed0 + 101);
    db_destroy(d);
}
END_TEST

START_TEST(test_settings_route_implicit_deletes) {
    db *d = db_create(0);
    /* overwrite under lazyfree-lazy-server-del */
    lazyfree_cfg.lazy_server_del = 1;
    db_add_ptr(d, "s", 1, OBJ_STREAM, big_stream(5000));
    db_set_string(d, "s", 1, "v", 1, 0);
    REQ(lazyfree_pending_objects() == 1);
    drain_in_steps();
    lazyfree_cfg.lazy_server_del = 0;
    db_add_ptr(d, "t", 1, OBJ_STREAM, big_stream(5000));
    db_set_string(d, "t", 1, "v", 1, 0);
    REQ(lazyfree_pending_objects() == 0);
    /* expiry under lazyfree-lazy-expire */
    lazyfree_cfg.lazy_expire = 1;
    rkey *k = db_add_ptr(d, "u", 1, OBJ_STREAM, big_stream(5000));
    storage_now_ms = 1000;
    db_set_expire(d, k, 1500);
    storage_now_ms = 2000;
    REQ(db_lookup_read(d, "u", 1) == NULL);
    REQ(lazyfree_pending_objects() == 1);
    drain_in_steps();
    lazyfree_cfg.lazy_expire = 0;
    REQ(lazyfree_pending_objects() == 0 && lazyfree_pending_bytes() == 0);
    db_destroy(d);
}
END_TEST

START_TEST(test_drain_and_time_budget) {
    db *d = fill(50000, 0);
    db_flush_lazy(d);
    REQ(lazyfree_step(100) == 1); /* 100 us is not enough for 50k records */
    lazyfree_drain();
    REQ(lazyfree_pending_objects() == 0 && lazyfree_step(1000) == 0);
    db_destroy(d);
}
END_TEST

static Suite *lazyfree_suite(void) {
    Suite *s = suite_create("lazyfree");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_flush_lazy);
    tcase_add_test(tc, test_flush_lazy_while_rehashing_and_empty);
    tcase_add_test(tc, test_unlink_big_stream);
    tcase_add_test(tc, test_small_values_and_strings_freed_at_once);
    tcase_add_test(tc, test_big_stream_inside_flushed_db);
    tcase_add_test(tc, test_settings_route_implicit_deletes);
    tcase_add_test(tc, test_drain_and_time_budget);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    types_init();
    SRunner *sr = srunner_create(lazyfree_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
