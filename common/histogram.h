/* histogram.h: a log-linear latency histogram with HdrHistogram's layout at two
 * significant digits (what Redis's latency-tracking uses), so percentiles come out as
 * the same numbers Redis reports: values below 256 are exact; above, each power of two
 * is split into 128 equal sub-buckets. Recording is a count-leading-zeros, a shift and
 * an increment. */
#ifndef RESPITE_HISTOGRAM_H
#define RESPITE_HISTOGRAM_H

#include <stdint.h>

#define HIST_MAX_VALUE 1000000000LL /* recorded values are clamped to 1..HIST_MAX_VALUE */
#define HIST_BUCKETS   23           /* 256 << 22 > HIST_MAX_VALUE */
#define HIST_COUNTS    ((HIST_BUCKETS + 1) * 128)

typedef struct histogram {
    uint64_t total;
    uint64_t counts[HIST_COUNTS];
} histogram;

void histogram_record(histogram *h, long long value);
/* The value at percentile p (0..100), as HdrHistogram's hdr_value_at_percentile: the
 * highest value equivalent to the one where the cumulative count reaches p% (the
 * lowest, for p = 0). 0 for an empty histogram. */
long long histogram_percentile(const histogram *h, double p);

#endif
