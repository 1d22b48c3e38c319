/*
 * Distributions for sizes, lifetimes and counts, as written in workload YAML:
 *
 *   size: 64                                   # fixed (units allowed: 4KiB)
 *   size: {dist: uniform, min: 16, max: 512}
 *   size: {dist: exponential, mean: 128, min: 8, max: 4096}
 *   size: {dist: lognormal, median: 48, sigma: 0.8, max: 32768}
 *   size: {dist: table, values: [16, 32, 48, 64], weights: [40, 30, 20, 10]}
 *
 * Sampling is O(1) (the table uses Walker's alias method) and draws only from
 * the worker's rng, so it is deterministic per (seed, thread).
 */
#ifndef MB_DIST_H
#define MB_DIST_H

#include <stdint.h>

#include "options.h"
#include "rng.h"

typedef enum mb_dist_kind {
	MB_DIST_FIXED,
	MB_DIST_UNIFORM,
	MB_DIST_EXPONENTIAL,
	MB_DIST_LOGNORMAL,
	MB_DIST_TABLE,
} mb_dist_kind_t;

typedef struct mb_dist {
	mb_dist_kind_t kind;
	double value;          /* fixed */
	double min, max;       /* uniform bounds; clamp for the others */
	double mean;           /* exponential */
	double mu, sigma;      /* lognormal, of the underlying normal */
	uint32_t n;            /* table: entries */
	double *values;        /* table: the values */
	double *prob;          /* table: alias probabilities, n entries */
	uint32_t *alias;       /* table: alias indices, n entries */
	uint64_t *ivalues;     /* values rounded to integers (>= 0), n entries */
	uint64_t ifixed;       /* fixed: value rounded */
	uint32_t *iprob;       /* table: prob scaled to 2^32 (a u32 compare) */
	uint64_t ulo, uspan;   /* uniform with an integer min >= 0 and max < 2^53:
	                          draws are ulo + [0, uspan); uspan 0: not such */
	const uint64_t *qtab;  /* exponential, lognormal: ivalues (the quantile
	                          table, 4096 entries); NULL for the other kinds */
} mb_dist_t;

/* MB_OPT_CUSTOM parser for a field of type mb_dist_t. */
int mb_dist_parse(mb_yctx_t *y, yaml_node_t *node, void *field, const mb_option_t *opt);

/* A draw, as a double; callers round what they need as integers. Inline: it
 * is on every operation's path (one rng draw and a table load at most). */
static inline __attribute__((always_inline)) double mb_dist_sample(const mb_dist_t *d, mb_rng_t *r)
{
	switch (d->kind) {
	case MB_DIST_FIXED:
		return d->value;
	case MB_DIST_UNIFORM:
		return d->min + (double)mb_rng_below(r, (uint64_t)(d->max - d->min) + 1);
	case MB_DIST_EXPONENTIAL:
	case MB_DIST_LOGNORMAL:
		return d->values[mb_rng_next(r) >> 52]; /* 4096 = 2^12 slices */
	case MB_DIST_TABLE: {
		uint64_t x = mb_rng_next(r);
		uint32_t i = (uint32_t)(((unsigned __int128)x * d->n) >> 64);
		double u = (double)(x & 0xffffffffu) * 0x1.0p-32;
		return d->values[u < d->prob[i] ? i : d->alias[i]];
	}
	}
	return 0;
}

/* A draw rounded to an integer (negative draws give 0): sizes, lifetimes,
 * counts. The same stream of values as rounding mb_dist_sample, without the
 * floating point on the common kinds. The kind is picked by testing the
 * pointer or span its draw then uses, set at parse time only for that kind
 * (qtab, uspan, iprob), in the order of how often the workloads draw them:
 * a quantile draw costs two instructions more than its table load. */
static inline __attribute__((always_inline)) uint64_t mb_dist_sample_u64(const mb_dist_t *d, mb_rng_t *r)
{
	const uint64_t *q = d->qtab;
	if (q)
		return q[mb_rng_next(r) >> 52]; /* 4096 = 2^12 slices */
	uint64_t span = d->uspan;
	if (span)
		return d->ulo + mb_rng_below(r, span);
	const uint32_t *t = d->iprob;
	if (t) {
		uint64_t x = mb_rng_next(r);
		uint32_t i = (uint32_t)(((unsigned __int128)x * d->n) >> 64);
		return d->ivalues[(uint32_t)x < t[i] ? i : d->alias[i]];
	}
	if (d->kind == MB_DIST_FIXED)
		return d->ifixed;
	double v = mb_dist_sample(d, r); /* uniform with a fractional or huge bound */
	return v <= 0 ? 0 : (uint64_t)(v + 0.5);
}

/* The largest value the distribution can produce (its max clamp, or the
 * fixed/table maximum); +inf when unbounded. */
double mb_dist_max(const mb_dist_t *d);
/* The mean, exact where the distribution has a closed form (unclamped). */
double mb_dist_mean(const mb_dist_t *d);

void mb_dist_free(mb_dist_t *d);

/* Declares an option table entry for a distribution field. */
#define MB_OPT_DIST(nm, st, field, dflt, hlp, ex)                                      \
	{ .name = nm, .type = MB_OPT_CUSTOM, .off = offsetof(st, field), .def = dflt,      \
	  .help = hlp, .example = ex, .parse = mb_dist_parse, .type_doc = "distribution" }

#endif
