/* geohash.h: the geohash arithmetic behind the GEO commands, exactly as Redis 7.0 does
 * it so that scores, decoded coordinates, search cells and distances agree to the bit.
 *
 * A position is encoded by cutting the longitude range [-180, 180] and the latitude
 * range [-85.05112878, 85.05112878] (the Web Mercator limits) into 2^step slices each
 * and interleaving the two slice numbers, longitude in the odd bits and latitude in the
 * even bits. A geo set stores step 26 (52 bits) as the member's sorted-set score; a
 * coarser hash of step s covers the scores [bits << (52-2s), (bits+1) << (52-2s)).
 * Decoding gives the centre of the cell. Distances are haversine on a sphere of radius
 * 6372797.560856 m. No server dependencies. */
#ifndef RESPITE_GEOHASH_H
#define RESPITE_GEOHASH_H

#include <stdint.h>

#define GEO_LAT_MIN  -85.05112878
#define GEO_LAT_MAX  85.05112878
#define GEO_LONG_MIN -180
#define GEO_LONG_MAX 180
#define GEO_STEP_MAX 26

typedef struct geohash_bits {
    uint64_t bits;
    uint8_t step; /* 0 with bits 0: no cell (a neighbour the search leaves out) */
} geohash_bits;

typedef struct geohash_range {
    double min, max;
} geohash_range;

typedef struct geohash_area {
    geohash_range lon, lat;
} geohash_area;

/* Encode lon/lat over the given ranges with step bits per coordinate. Returns 0 (and
 * *out zeroed) if step is not 1..32 or the point is outside the Mercator limits or the
 * ranges. */
int geohash_encode(const geohash_range *lon_r, const geohash_range *lat_r, double lon, double lat, uint8_t step,
                   geohash_bits *out);
/* geohash_encode over the Mercator ranges. */
int geohash_encode_wgs84(double lon, double lat, uint8_t step, geohash_bits *out);
/* The cell of h over the Mercator ranges. Returns 0 for a zero hash. */
int geohash_decode_wgs84(geohash_bits h, geohash_area *area);
/* The centre of h's cell, clamped to the limits: xy[0] longitude, xy[1] latitude. */
int geohash_decode_to_lonlat(geohash_bits h, double xy[2]);
/* A geo set's score (read as a 52-bit step-26 hash) decoded to its centre. */
void geohash_score_to_lonlat(double score, double xy[2]);
/* h shifted to a 52-bit score. */
uint64_t geohash_align52(geohash_bits h);

/* The 8 cells around h, in the order north, south, east, west, north-east, north-west,
 * south-east, south-west (each wraps around within its step). */
void geohash_neighbors(const geohash_bits *h, geohash_bits out[8]);

/* Great-circle distance in metres between two lon/lat points (haversine). */
double geohash_distance(double lon1, double lat1, double lon2, double lat2);
/* 1 and *dist if (x2, y2) is within radius metres of (x1, y1), else 0 (*dist set). */
int geohash_in_radius(double x1, double y1, double x2, double y2, double radius, double *dist);
/* 1 and *dist (to the centre) if (x2, y2) is inside the width x height metres box
 * centred on (x1, y1), measured along the parallel and the meridian; else 0. */
int geohash_in_box(double width_m, double height_m, double x1, double y1, double x2, double y2, double *dist);

/* The step whose cells suit a search of range_m metres around latitude lat. */
uint8_t geohash_estimate_steps(double range_m, double lat);

#define GEO_SHAPE_CIRCLE 1
#define GEO_SHAPE_BOX    2

/* A search area: a circle of radius, or a box of width x height, in a unit of
 * conversion metres, centred on xy (lon, lat). */
typedef struct geo_shape {
    int type;
    double xy[2];
    double conversion;
    double radius;
    double width, height;
} geo_shape;

/* The lon/lat bounding box of the shape: min lon, min lat, max lon, max lat. */
void geohash_bounding_box(const geo_shape *s, double bounds[4]);
/* The cells a search must scan: cells[0] the centre's cell, cells[1..8] its neighbours
 * in geohash_neighbors' order, those lying wholly outside the bounding box zeroed. */
void geohash_search_cells(const geo_shape *s, geohash_bits cells[9]);

/* The 11-character standard geohash (latitude range [-90, 90]) of a lon/lat inside the
 * Mercator limits, NUL-terminated, as GEOHASH reports it. */
void geohash_string(double lon, double lat, char out[12]);

#endif
