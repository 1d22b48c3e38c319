/*
 * Latency histograms (log-linear; see MB_LAT_* in pattern.h).
 * Bucket b < 8 holds exactly b ns; bucket b >= 8 holds [lo(b), lo(b+1)) with
 * lo(b) = (8 + b % 8) << (b / 8 - 1).
 */
#include "lat.h"

void mb_lat_record(mb_lathist_t *h, uint64_t ns)
{
	unsigned b;
	if (ns < MB_LAT_SUB) {
		b = (unsigned)ns;
	} else {
		unsigned e = 63 - (unsigned)__builtin_clzll(ns); /* ns in [2^e, 2^(e+1)) */
		unsigned sub = (unsigned)((ns >> (e - 3)) & (MB_LAT_SUB - 1));
		b = (e - 2) * MB_LAT_SUB + sub;
	}
	if (b >= MB_LAT_BUCKETS)
		b = MB_LAT_BUCKETS - 1;
	h->count[b]++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static uint64_t bucket_lo(unsigned b)
{
	if (b < MB_LAT_SUB)
		return b;
	return (uint64_t)(MB_LAT_SUB + b % MB_LAT_SUB) << (b / MB_LAT_SUB - 1);
}

void mb_lat_merge(mb_lathist_t *into, const mb_lathist_t *h)
{
	for (unsigned b = 0; b < MB_LAT_BUCKETS; b++)
		into->count[b] += h->count[b];
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

uint64_t mb_lat_total(const mb_lathist_t *h)
{
	uint64_t n = 0;
	for (unsigned b = 0; b < MB_LAT_BUCKETS; b++)
		n += h->count[b];
	return n;
}

double mb_lat_percentile(const mb_lathist_t *h, double q)
{
	uint64_t n = mb_lat_total(h);
	if (n == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)n);
	if (rank >= n)
		rank = n - 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < MB_LAT_BUCKETS; b++) {
		seen += h->count[b];
		if (seen > rank) {
			uint64_t lo = bucket_lo(b), hi = bucket_lo(b + 1);
			double mid = b < MB_LAT_SUB ? (double)lo : ((double)lo + (double)hi) / 2;
			return mid > (double)h->max_ns ? (double)h->max_ns : mid;
		}
	}
	return (double)h->max_ns;
}
