/* geohash.c: geohash encoding, decoding, neighbours, search cells and distances (see
 * geohash.h). Every floating-point expression keeps the order of Redis's so that the
 * results agree to the last bit. */
#include "common/geohash.h"

#include <math.h>
#include <stddef.h>

#define DEG_TO_RAD          (M_PI / 180.0)
#define EARTH_RADIUS_METERS 6372797.560856
#define MERCATOR_MAX        20037726.37

#define EVEN_BITS 0x5555555555555555ULL

static double deg_rad(double d) { return d * DEG_TO_RAD; }
static double rad_deg(double r) { return r / DEG_TO_RAD; }

/* The low 32 bits of v spread to the even bits of the result. */
static uint64_t spread(uint32_t v) {
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    x = (x | (x << 1)) & EVEN_BITS;
    return x;
}

/* The even bits of v gathered into 32 bits. */
static uint32_t compact(uint64_t v) {
    uint64_t x = v & EVEN_BITS;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

static const geohash_range wgs_lon = {GEO_LONG_MIN, GEO_LONG_MAX};
static const geohash_range wgs_lat = {GEO_LAT_MIN, GEO_LAT_MAX};

int geohash_encode(const geohash_range *lon_r, const geohash_range *lat_r, double lon, double lat, uint8_t step,
                   geohash_bits *out) {
    out->bits = 0;
    out->step = 0;
    if (step > 32 || step == 0) return 0;
    if (lon > GEO_LONG_MAX || lon < GEO_LONG_MIN || lat > GEO_LAT_MAX || lat < GEO_LAT_MIN) return 0;
    if (lat < lat_r->min || lat > lat_r->max || lon < lon_r->min || lon > lon_r->max) return 0;
    out->step = step;
    double lat_off = (lat - lat_r->min) / (lat_r->max - lat_r->min);
    double lon_off = (lon - lon_r->min) / (lon_r->max - lon_r->min);
    lat_off *= (double)(1ULL << step);
    lon_off *= (double)(1ULL << step);
    out->bits = spread((uint32_t)lat_off) | (spread((uint32_t)lon_off) << 1);
    return 1;
}

int geohash_encode_wgs84(double lon, double lat, uint8_t step, geohash_bits *out) {
    return geohash_encode(&wgs_lon, &wgs_lat, lon, lat, step, out);
}

static int decode(const geohash_range *lon_r, const geohash_range *lat_r, geohash_bits h, geohash_area *a) {
    if (h.bits == 0 && h.step == 0) return 0;
    double lat_scale = lat_r->max - lat_r->min, lon_scale = lon_r->max - lon_r->min;
    uint32_t ilat = compact(h.bits), ilon = compact(h.bits >> 1);
    double cells = (double)(1ULL << h.step);
    a->lat.min = lat_r->min + (ilat * 1.0 / cells) * lat_scale;
    a->lat.max = lat_r->min + ((ilat + 1) * 1.0 / cells) * lat_scale;
    a->lon.min = lon_r->min + (ilon * 1.0 / cells) * lon_scale;
    a->lon.max = lon_r->min + ((ilon + 1) * 1.0 / cells) * lon_scale;
    return 1;
}

int geohash_decode_wgs84(geohash_bits h, geohash_area *area) { return decode(&wgs_lon, &wgs_lat, h, area); }

int geohash_decode_to_lonlat(geohash_bits h, double xy[2]) {
    geohash_area a;
    if (!geohash_decode_wgs84(h, &a)) return 0;
    xy[0] = (a.lon.min + a.lon.max) / 2;
    if (xy[0] > GEO_LONG_MAX) xy[0] = GEO_LONG_MAX;
    if (xy[0] < GEO_LONG_MIN) xy[0] = GEO_LONG_MIN;
    xy[1] = (a.lat.min + a.lat.max) / 2;
    if (xy[1] > GEO_LAT_MAX) xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN) xy[1] = GEO_LAT_MIN;
    return 1;
}

/* The score as a 64-bit hash, as Redis's (uint64_t) cast of it gives on x86-64 for any
 * score a sorted set can hold (a negative one wraps, 2^64 and above become 0, -inf
 * 2^63), without the cast's undefined behaviour out of range. */
static uint64_t score_bits(double s) {
    const double two63 = 9223372036854775808.0;
    if (!(s >= two63)) return s >= -two63 ? (uint64_t)(int64_t)s : 0x8000000000000000ULL;
    s -= two63;
    return s < two63 ? (uint64_t)(int64_t)s ^ 0x8000000000000000ULL : 0;
}

void geohash_score_to_lonlat(double score, double xy[2]) {
    geohash_bits h = {score_bits(score), GEO_STEP_MAX};
    geohash_decode_to_lonlat(h, xy);
}

uint64_t geohash_align52(geohash_bits h) { return h.bits << (52 - h.step * 2); }

/* h moved by d cells (-1, 0, 1) along the longitude (the odd bits: lane 1) or the
 * latitude (lane 0), wrapping within its step; the other lane is kept as is. */
static geohash_bits move(geohash_bits h, int lane, int d) {
    if (d == 0) return h;
    uint64_t lane_mask = EVEN_BITS << lane;
    uint32_t v = compact(h.bits >> lane);
    uint64_t mask = h.step >= 32 ? 0xFFFFFFFFULL : (1ULL << h.step) - 1;
    v = (uint32_t)(((uint64_t)v + (uint64_t)(int64_t)d) & mask);
    h.bits = (h.bits & ~lane_mask) | (spread(v) << lane);
    return h;
}

void geohash_neighbors(const geohash_bits *h, geohash_bits out[8]) {
    static const int dir[8][2] = {{0, 1}, {0, -1}, {1, 0}, {-1, 0}, {1, 1}, {-1, 1}, {1, -1}, {-1, -1}};
    for (int i = 0; i < 8; i++) out[i] = move(move(*h, 1, dir[i][0]), 0, dir[i][1]);
}

double geohash_distance(double lon1d, double lat1d, double lon2d, double lat2d) {
    double lat1r = deg_rad(lat1d), lon1r = deg_rad(lon1d), lat2r = deg_rad(lat2d), lon2r = deg_rad(lon2d);
    double u = sin((lat2r - lat1r) / 2), v = sin((lon2r - lon1r) / 2);
    return 2.0 * EARTH_RADIUS_METERS * asin(sqrt(u * u + cos(lat1r) * cos(lat2r) * v * v));
}

int geohash_in_radius(double x1, double y1, double x2, double y2, double radius, double *dist) {
    *dist = geohash_distance(x1, y1, x2, y2);
    return *dist <= radius;
}

int geohash_in_box(double width_m, double height_m, double x1, double y1, double x2, double y2, double *dist) {
    double lon_dist = geohash_distance(x2, y2, x1, y2);
    double lat_dist = geohash_distance(x2, y2, x2, y1);
    if (lon_dist > width_m / 2 || lat_dist > height_m / 2) return 0;
    *dist = geohash_distance(x1, y1, x2, y2);
    return 1;
}

uint8_t geohash_estimate_steps(double range_m, double lat) {
    if (range_m == 0) return 26;
    int step = 1;
    while (range_m < MERCATOR_MAX) {
        range_m *= 2;
        step++;
    }
    step -= 2;
    /* Cells are narrower towards the poles. */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > 26) step = 26;
    return (uint8_t)step;
}

void geohash_bounding_box(const geo_shape *s, double bounds[4]) {
    double lon = s->xy[0], lat = s->xy[1];
    double height = s->conversion * (s->type == GEO_SHAPE_CIRCLE ? s->radius : s->height / 2);
    double width = s->conversion * (s->type == GEO_SHAPE_CIRCLE ? s->radius : s->width / 2);
    const double lat_delta = rad_deg(height / EARTH_RADIUS_METERS);
    const double lon_delta_top = rad_deg(width / EARTH_RADIUS_METERS / cos(deg_rad(lat + lat_delta)));
    const double lon_delta_bottom = rad_deg(width / EARTH_RADIUS_METERS / cos(deg_rad(lat - lat_delta)));
    /* The edge nearer the pole spans more longitude. */
    int south = lat < 0;
    bounds[0] = south ? lon - lon_delta_bottom : lon - lon_delta_top;
    bounds[2] = south ? lon + lon_delta_bottom : lon + lon_delta_top;
    bounds[1] = lat - lat_delta;
    bounds[3] = lat + lat_delta;
}

enum { N_NORTH, N_SOUTH, N_EAST, N_WEST, N_NE, N_NW, N_SE, N_SW };

void geohash_search_cells(const geo_shape *s, geohash_bits cells[9]) {
    double b[4];
    geohash_bounding_box(s, b);
    double min_lon = b[0], min_lat = b[1], max_lon = b[2], max_lat = b[3];
    double lon = s->xy[0], lat = s->xy[1];
    double radius_m = s->type == GEO_SHAPE_CIRCLE
                          ? s->radius
                          : sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2));
    radius_m *= s->conversion;
    int steps = geohash_estimate_steps(radius_m, lat);
    geohash_bits h, *n = cells + 1;
    geohash_area area, north, south, east, west;
    geohash_encode_wgs84(lon, lat, (uint8_t)steps, &h);
    geohash_neighbors(&h, n);
    /* A cell too wide for the area near its edge: one step coarser. */
    geohash_decode_wgs84(n[N_NORTH], &north);
    geohash_decode_wgs84(n[N_SOUTH], &south);
    geohash_decode_wgs84(n[N_EAST], &east);
    geohash_decode_wgs84(n[N_WEST], &west);
    int decrease =
        north.lat.max < max_lat || south.lat.min > min_lat || east.lon.max < max_lon || west.lon.min > min_lon;
    if (steps > 1 && decrease) {
        steps--;
        geohash_encode_wgs84(lon, lat, (uint8_t)steps, &h);
        geohash_neighbors(&h, n);
    }
    geohash_decode_wgs84(h, &area);
    cells[0] = h;
    if (steps >= 2) {
        static const geohash_bits zero = {0, 0};
        if (area.lat.min < min_lat) n[N_SOUTH] = n[N_SW] = n[N_SE] = zero;
        if (area.lat.max > max_lat) n[N_NORTH] = n[N_NE] = n[N_NW] = zero;
        if (area.lon.min < min_lon) n[N_WEST] = n[N_SW] = n[N_NW] = zero;
        if (area.lon.max > max_lon) n[N_EAST] = n[N_SE] = n[N_NE] = zero;
    }
}

void geohash_string(double lon, double lat, char out[12]) {
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    static const geohash_range lon_r = {-180, 180}, lat_r = {-90, 90};
    geohash_bits h;
    geohash_encode(&lon_r, &lat_r, lon, lat, GEO_STEP_MAX, &h);
    for (int i = 0; i < 11; i++) {
        /* 52 bits make 10 characters and 2 bits; the 11th is taken as 0. */
        int idx = i == 10 ? 0 : (int)((h.bits >> (52 - ((i + 1) * 5))) & 0x1f);
        out[i] = alphabet[idx];
    }
    out[11] = '\0';
}
