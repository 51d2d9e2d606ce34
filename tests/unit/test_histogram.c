/* test_histogram.c: common/histogram.c reports the numbers Redis 7.0's HdrHistogram
 * (2 significant digits) reports for the same samples: INFO latencystats values seen
 * from redis-server (7 us -> 7.007, 11 us -> 11.007, 33 us -> 33.023). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/histogram.h"

static histogram *fresh(void) { return calloc(1, sizeof(histogram)); }

START_TEST(test_single_values) {
    static const long long in[][2] = {
        {7000, 7007}, {11000, 11007}, {33000, 33023}, {1000, 1003},
        {1, 1},       {255, 255},     {256, 257},     {100139000, 100139007},
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        histogram *h = fresh();
        histogram_record(h, in[i][0]);
        ck_assert_int_eq(histogram_percentile(h, 50), in[i][1]);
        ck_assert_int_eq(histogram_percentile(h, 99.9), in[i][1]);
        ck_assert_int_eq(histogram_percentile(h, 100), in[i][1]);
        free(h);
    }
}
END_TEST

START_TEST(test_percentiles) {
    histogram *h = fresh();
    ck_assert_int_eq(histogram_percentile(h, 50), 0);
    for (int i = 1; i <= 100; i++) histogram_record(h, i * 1000LL);
    ck_assert_int_eq(h->total, 100);
    ck_assert_int_eq(histogram_percentile(h, 50), 50175); /* 50000 in a 256-wide bucket */
    ck_assert_int_eq(histogram_percentile(h, 99), 99327);
    ck_assert_int_eq(histogram_percentile(h, 0), 1000); /* the lowest equivalent at p0 */
    /* clamping: 0 counts as 1 ns, anything over a second as one second */
    histogram_record(h, 0);
    histogram_record(h, 5000000000LL);
    ck_assert_int_eq(histogram_percentile(h, 0), 1);
    ck_assert_int_ge(histogram_percentile(h, 100), HIST_MAX_VALUE);
    free(h);
}
END_TEST

static Suite *histogram_suite(void) {
    Suite *s = suite_create("histogram");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_single_values);
    tcase_add_test(tc, test_percentiles);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(histogram_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
