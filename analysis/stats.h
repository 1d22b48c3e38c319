/*
 * Statistics for comparing benchmark samples: order statistics, the
 * Mann-Whitney U test and the Hodges-Lehmann shift with its distribution-free
 * confidence interval (Moses). See analysis/README.md for why these and not a
 * t-test: benchmark times are skewed and heavy-tailed, and rank tests need no
 * assumption about the shape.
 *
 * Every function takes unsorted input and leaves it untouched unless it says
 * otherwise; NaN values must be filtered out by the caller. Not thread-safe:
 * the exact null distribution of U is kept in a one-entry cache.
 */
#ifndef MB_STATS_H
#define MB_STATS_H

#include <stddef.h>

/* Sorts x ascending in place. O(n log n). */
void stats_sort(double *x, size_t n);

/* Quantile p in [0,1] by linear interpolation between order statistics
 * (Hyndman & Fan type 7, R's default): q(0) = min, q(1) = max. NaN for n == 0.
 * Copies x; O(n log n). */
double stats_quantile(const double *x, size_t n, double p);
double stats_median(const double *x, size_t n);
double stats_min(const double *x, size_t n);
double stats_max(const double *x, size_t n);

/* Largest exact-distribution sample sizes: both n1, n2 <= this and no ties. */
#define STATS_EXACT_MAX 50

/* Result of a two-sided Mann-Whitney U test of a against b. */
typedef struct stats_mwu {
	double u;       /* U of the first sample: #{(i,j): a_i > b_j} + #{a_i == b_j}/2 */
	double p;       /* two-sided p-value; 1 when every value ties */
	double z;       /* normal score (0 for the exact test) */
	int exact;      /* 1: p from the exact null distribution, 0: normal approx. */
	int ties;       /* number of tied groups across both samples */
	double p_min;   /* smallest p any data of these sizes could give (exact) */
} stats_mwu_t;

/* Two-sided U test. Exact p (from the null distribution of U, computed by the
 * recurrence f(m,n,u) = f(m-1,n,u-n) + f(m,n-1,u)) when n1, n2 <=
 * STATS_EXACT_MAX and there are no ties; otherwise the normal approximation
 * with tie correction and a continuity correction of 1/2.
 * Returns 0, or -1 when a sample is empty. Cost O(n1^2 n2^2) for the exact
 * case (a few ms at 50 x 50), O((n1+n2) log(n1+n2)) otherwise. */
int stats_mannwhitney(const double *a, size_t n1, const double *b, size_t n2, stats_mwu_t *out);

/* P(U <= u) under the null for sizes m, n without ties (exact). NaN when
 * m or n exceeds STATS_EXACT_MAX. */
double stats_mwu_cdf(size_t m, size_t n, double u);

/* Hodges-Lehmann estimate of the shift b - a (median of all n1*n2 pairwise
 * differences b_j - a_i) and its two-sided confidence interval at level
 * `conf` (e.g. 0.95) by inverting the U test (Moses): the interval runs from
 * the k-th smallest to the k-th largest pairwise difference, k the lower
 * critical value of U. *achieved gets the confidence actually reached (it
 * can exceed `conf`: U is discrete, and small samples cannot reach any
 * narrower interval). Returns 0, or -1 on empty input. O(n1 n2 log(n1 n2)). */
int stats_hodges_lehmann(const double *a, size_t n1, const double *b, size_t n2, double conf,
			 double *shift, double *lo, double *hi, double *achieved);

/* Standard normal upper tail 1 - Phi(z). */
double stats_norm_sf(double z);

#endif
