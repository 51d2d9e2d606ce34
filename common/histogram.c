/* histogram.c: the log-linear histogram (see histogram.h for the layout). Index of a
 * value v: bucket b = bit length of (v | 255) - 8, sub-bucket s = v >> b (128..255
 * above bucket 0), slot (b + 1) * 128 + s - 128. */
#include "common/histogram.h"

static int bucket_of(uint64_t v) { return 64 - __builtin_clzll(v | 255) - 8; }

void histogram_record(histogram *h, long long value) {
    uint64_t v = value < 1 ? 1 : value > HIST_MAX_VALUE ? (uint64_t)HIST_MAX_VALUE : (uint64_t)value;
    int b = bucket_of(v);
    h->counts[((b + 1) << 7) + (int)(v >> b) - 128]++;
    h->total++;
}

static uint64_t value_of_index(int i) {
    int b = (i >> 7) - 1;
    uint64_t s = (uint64_t)(i & 127) + 128;
    if (b < 0) {
        s -= 128;
        b = 0;
    }
    return s << b;
}

long long histogram_percentile(const histogram *h, double p) {
    if (!h->total) return 0;
    if (p > 100.0) p = 100.0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
    if (want < 1) want = 1;
    uint64_t seen = 0;
    int i = 0;
    for (; i < HIST_COUNTS - 1; i++) {
        seen += h->counts[i];
        if (seen >= want) break;
    }
    uint64_t v = value_of_index(i);
    int b = bucket_of(v);
    uint64_t lowest = (v >> b) << b;
    if (p == 0.0) return (long long)lowest;
    return (long long)(lowest + ((uint64_t)1 << b) - 1);
}
