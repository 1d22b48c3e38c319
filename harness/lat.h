/* Latency histograms: merge and percentiles. See lat.c; recording is in pattern.h. */
#ifndef MB_LAT_H
#define MB_LAT_H

#include "pattern.h"

void mb_lat_merge(mb_lathist_t *into, const mb_lathist_t *h);
uint64_t mb_lat_total(const mb_lathist_t *h);
/* The q-quantile (0..1) in ns, the middle of its bucket (within 12.5%). */
double mb_lat_percentile(const mb_lathist_t *h, double q);

#endif
