/* test_geohash.c: common/geohash.c gives the scores, decoded centres, geohash strings and
 * distances redis-server 7.0.15 gives (the expected figures were read from it: GEOADD's
 * ZSCORE, GEOPOS, GEOHASH, GEODIST), and its neighbours, steps and search cells keep
 * their promises (adjacent cells, wrap-around, the centre's cell holds the point). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/geohash.h"
#include "common/util.h"

static uint64_t score_of(double lon, double lat) {
    geohash_bits h;
    ck_assert_int_eq(geohash_encode_wgs84(lon, lat, GEO_STEP_MAX, &h), 1);
    return geohash_align52(h);
}

/* The coordinate as GEOPOS prints it. */
static const char *human(double v) {
    static char buf[UTIL_LDSTR_SIZE];
    util_ld2str(buf, sizeof buf, (long double)v);
    return buf;
}

START_TEST(test_scores_and_positions) {
    static const struct {
        double lon, lat;
        uint64_t score;
        const char *plon, *plat, *hash;
    } in[] = {
        {13.361389, 38.115556, 3479099956230698ULL, "13.36138933897018433", "38.11555639549629859", "sqc8b49rny0"},
        {15.087269, 37.502669, 3479447370796909ULL, "15.08726745843887329", "37.50266842333162032", "sqdtr74hyu0"},
        {180, 85.05112878, 13510798882111488ULL, "180", "85.0511287799999991", "bp05b5048p0"},
        {-180, -85.05112878, 0, "-179.99999731779098511", "-85.05112751263942528", "00bh0hbj200"},
        {0, 0, 3377699720527872ULL, "0.00000268220901489", "0.00000126736058093", "s0000000000"},
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        uint64_t s = score_of(in[i].lon, in[i].lat);
        ck_assert_uint_eq(s, in[i].score);
        double xy[2];
        geohash_score_to_lonlat((double)s, xy);
        ck_assert_str_eq(human(xy[0]), in[i].plon);
        ck_assert_str_eq(human(xy[1]), in[i].plat);
        char gh[12];
        geohash_string(xy[0], xy[1], gh);
        ck_assert_str_eq(gh, in[i].hash);
    }
}
END_TEST

START_TEST(test_encode_limits) {
    geohash_bits h;
    ck_assert_int_eq(geohash_encode_wgs84(180.0000001, 0, 26, &h), 0);
    ck_assert_int_eq(geohash_encode_wgs84(0, 85.06, 26, &h), 0);
    ck_assert_int_eq(geohash_encode_wgs84(0, -85.06, 26, &h), 0);
    ck_assert_int_eq(geohash_encode_wgs84(0, 0, 0, &h), 0);
    ck_assert_int_eq(geohash_encode_wgs84(0, 0, 33, &h), 0);
    ck_assert_int_eq(geohash_encode_wgs84(0, 0, 1, &h), 1);
    ck_assert_uint_eq(h.bits, 3); /* the north-east quarter: both halves upper */
    ck_assert_int_eq(geohash_encode_wgs84(-1, -1, 1, &h), 1);
    ck_assert_uint_eq(h.bits, 0);
    ck_assert_int_eq(geohash_encode_wgs84(1, -1, 1, &h), 1);
    ck_assert_uint_eq(h.bits, 2); /* longitude in the odd bit */
}
END_TEST

START_TEST(test_distance) {
    char buf[64];
    double p[2], c[2];
    geohash_score_to_lonlat(3479099956230698.0, p);
    geohash_score_to_lonlat(3479447370796909.0, c);
    snprintf(buf, sizeof buf, "%.4f", geohash_distance(p[0], p[1], c[0], c[1]));
    ck_assert_str_eq(buf, "166274.1516");
    snprintf(buf, sizeof buf, "%.4f", geohash_distance(p[0], p[1], c[0], c[1]) / 1000);
    ck_assert_str_eq(buf, "166.2742");
    ck_assert(geohash_distance(10, 20, 10, 20) == 0);
    /* half the circumference between antipodes */
    ck_assert(fabs(geohash_distance(0, 0, 180, 0) - M_PI * 6372797.560856) < 1e-6);
    double d;
    ck_assert_int_eq(geohash_in_radius(0, 0, 0, 1, 111000, &d), 0);
    ck_assert_int_eq(geohash_in_radius(0, 0, 0, 1, 112000, &d), 1);
    ck_assert(d > 111000 && d < 112000);
    /* a box 250 km wide and 100 km high: 1 degree east is in, 1 degree north is not */
    ck_assert_int_eq(geohash_in_box(250000, 100000, 0, 0, 1, 0, &d), 1);
    ck_assert_int_eq(geohash_in_box(250000, 100000, 0, 0, 0, 1, &d), 0);
}
END_TEST

START_TEST(test_neighbors) {
    geohash_bits h, n[8];
    geohash_area a, b;
    ck_assert_int_eq(geohash_encode_wgs84(10, 20, 10, &h), 1);
    geohash_neighbors(&h, n);
    geohash_decode_wgs84(h, &a);
    /* north, south, east, west share an edge with the cell */
    geohash_decode_wgs84(n[0], &b);
    ck_assert(b.lat.min == a.lat.max && b.lon.min == a.lon.min);
    geohash_decode_wgs84(n[1], &b);
    ck_assert(b.lat.max == a.lat.min && b.lon.min == a.lon.min);
    geohash_decode_wgs84(n[2], &b);
    ck_assert(b.lon.min == a.lon.max && b.lat.min == a.lat.min);
    geohash_decode_wgs84(n[3], &b);
    ck_assert(b.lon.max == a.lon.min && b.lat.min == a.lat.min);
    geohash_decode_wgs84(n[4], &b); /* north-east */
    ck_assert(b.lat.min == a.lat.max && b.lon.min == a.lon.max);
    geohash_decode_wgs84(n[7], &b); /* south-west */
    ck_assert(b.lat.max == a.lat.min && b.lon.max == a.lon.min);
    /* east of the easternmost cell wraps to the westernmost */
    ck_assert_int_eq(geohash_encode_wgs84(179.99, 0, 5, &h), 1);
    geohash_neighbors(&h, n);
    geohash_decode_wgs84(n[2], &b);
    ck_assert(b.lon.min == -180);
    for (int i = 0; i < 8; i++) ck_assert_int_eq(n[i].step, 5);
}
END_TEST

START_TEST(test_steps_and_cells) {
    ck_assert_int_eq(geohash_estimate_steps(0, 0), 26);
    ck_assert_int_eq(geohash_estimate_steps(200000, 0), 6);
    ck_assert_int_eq(geohash_estimate_steps(200000, 70), 5);
    ck_assert_int_eq(geohash_estimate_steps(200000, -81), 4);
    ck_assert_int_eq(geohash_estimate_steps(1, 0), 24);
    ck_assert_int_eq(geohash_estimate_steps(1e9, 0), 1);
    geo_shape s = {.type = GEO_SHAPE_CIRCLE, .xy = {15, 37}, .conversion = 1000, .radius = 200};
    double b[4];
    geohash_bounding_box(&s, b);
    ck_assert(b[0] < 15 && b[2] > 15 && b[1] < 37 && b[3] > 37);
    ck_assert(fabs((37 - b[1]) - (b[3] - 37)) < 1e-12);
    geohash_bits cells[9];
    geohash_search_cells(&s, cells);
    geohash_area a;
    geohash_decode_wgs84(cells[0], &a);
    ck_assert(a.lon.min <= 15 && a.lon.max >= 15 && a.lat.min <= 37 && a.lat.max >= 37);
    /* every cell kept overlaps the bounding box */
    for (int i = 0; i < 9; i++) {
        if (cells[i].bits == 0 && cells[i].step == 0) continue;
        geohash_decode_wgs84(cells[i], &a);
        ck_assert(a.lon.max >= b[0] && a.lon.min <= b[2] && a.lat.max >= b[1] && a.lat.min <= b[3]);
    }
    /* a box: its radius is the half-diagonal */
    geo_shape box = {.type = GEO_SHAPE_BOX, .xy = {0, 0}, .conversion = 1, .width = 6000, .height = 8000};
    geohash_bounding_box(&box, b);
    ck_assert(fabs(b[3] - 4000 / 6372797.560856 * 180 / M_PI) < 1e-12);
}
END_TEST

static Suite *geohash_suite(void) {
    Suite *s = suite_create("geohash");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scores_and_positions);
    tcase_add_test(tc, test_encode_limits);
    tcase_add_test(tc, test_distance);
    tcase_add_test(tc, test_neighbors);
    tcase_add_test(tc, test_steps_and_cells);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(geohash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
