/*
 * Order statistics, the Mann-Whitney U test and the Hodges-Lehmann shift.
 * See stats.h for the contracts and analysis/README.md for the method.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void stats_sort(double *x, size_t n)
{
	qsort(x, n, sizeof(*x), cmp_double);
}

static double *sorted_copy(const double *x, size_t n)
{
	double *c = malloc((n ? n : 1) * sizeof(*c));
	if (n)
		memcpy(c, x, n * sizeof(*c));
	stats_sort(c, n);
	return c;
}

/* Type 7 on sorted input: h = (n-1)p, q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]). */
static double quantile_sorted(const double *s, size_t n, double p)
{
	if (n == 0)
		return NAN;
	if (p <= 0)
		return s[0];
	if (p >= 1)
		return s[n - 1];
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	if (lo + 1 >= n)
		return s[n - 1];
	return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

double stats_quantile(const double *x, size_t n, double p)
{
	double *s = sorted_copy(x, n);
	double q = quantile_sorted(s, n, p);
	free(s);
	return q;
}

double stats_median(const double *x, size_t n)
{
	return stats_quantile(x, n, 0.5);
}

double stats_min(const double *x, size_t n)
{
	double m = n ? x[0] : NAN;
	for (size_t i = 1; i < n; i++)
		if (x[i] < m)
			m = x[i];
	return m;
}

double stats_max(const double *x, size_t n)
{
	double m = n ? x[0] : NAN;
	for (size_t i = 1; i < n; i++)
		if (x[i] > m)
			m = x[i];
	return m;
}

double stats_norm_sf(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

/* z with stats_norm_sf(z) == p, for p in (0, 0.5], by bisection (60 halvings
 * of [0, 40] leave an error far below any p-value we print). */
static double norm_isf(double p)
{
	double lo = 0, hi = 40;
	for (int i = 0; i < 60; i++) {
		double mid = (lo + hi) / 2;
		if (stats_norm_sf(mid) > p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/* Null distribution of U for sizes m, n without ties: count[u] for u in
 * 0..m*n, by f(i,j,u) = f(i-1,j,u-j) + f(i,j-1,u) (the largest of the i+j
 * values belongs to the first sample, beating all j others, or to the second).
 * Counts reach C(100,50) ~ 1e29: doubles hold them to 1e-16 relative.
 * Returns the m*n+1 counts (owned here: valid until the next call with other
 * sizes) and their sum in *total. The last sizes are cached: a comparison
 * asks for the same m, n for every metric, and 50 x 50 costs ~6M additions. */
static const double *mwu_counts(size_t m, size_t n, double *total)
{
	static double *cache, cache_total;
	static size_t cache_m, cache_n;
	if (cache && cache_m == m && cache_n == n) {
		*total = cache_total;
		return cache;
	}
	size_t w = m * n + 1;
	double *prev = calloc((n + 1) * w, sizeof(double));
	double *cur = calloc((n + 1) * w, sizeof(double));
	for (size_t j = 0; j <= n; j++)
		prev[j * w] = 1; /* f(0, j, u) = [u == 0] */
	for (size_t i = 1; i <= m; i++) {
		memset(cur, 0, (n + 1) * w * sizeof(double));
		cur[0] = 1; /* f(i, 0, u) = [u == 0] */
		for (size_t j = 1; j <= n; j++) {
			double *f = cur + j * w, *left = cur + (j - 1) * w, *up = prev + j * w;
			size_t umax = i * j;
			for (size_t u = 0; u <= umax; u++)
				f[u] = (u >= j ? up[u - j] : 0) + (u <= i * (j - 1) ? left[u] : 0);
		}
		double *t = prev;
		prev = cur;
		cur = t;
	}
	free(cur);
	double *out = malloc(w * sizeof(double));
	memcpy(out, prev + n * w, w * sizeof(double));
	free(prev);
	double s = 0;
	for (size_t u = 0; u < w; u++)
		s += out[u];
	free(cache);
	cache = out;
	cache_m = m;
	cache_n = n;
	*total = cache_total = s;
	return out;
}

double stats_mwu_cdf(size_t m, size_t n, double u)
{
	if (m > STATS_EXACT_MAX || n > STATS_EXACT_MAX)
		return NAN;
	if (u < 0)
		return 0;
	double total, c = 0;
	const double *cnt = mwu_counts(m, n, &total);
	for (size_t k = 0; k <= m * n && (double)k <= u; k++)
		c += cnt[k];
	return c / total;
}

/* log C(a+b, a) */
static double lchoose(size_t a, size_t b)
{
	return lgamma((double)(a + b + 1)) - lgamma((double)(a + 1)) - lgamma((double)(b + 1));
}

typedef struct {
	double v;
	int grp; /* 0: first sample, 1: second */
} tagged_t;

static int cmp_tagged(const void *a, const void *b)
{
	return cmp_double(&((const tagged_t *)a)->v, &((const tagged_t *)b)->v);
}

int stats_mannwhitney(const double *a, size_t n1, const double *b, size_t n2, stats_mwu_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!n1 || !n2)
		return -1;
	size_t N = n1 + n2;
	tagged_t *t = malloc(N * sizeof(*t));
	for (size_t i = 0; i < n1; i++)
		t[i] = (tagged_t){a[i], 0};
	for (size_t j = 0; j < n2; j++)
		t[n1 + j] = (tagged_t){b[j], 1};
	qsort(t, N, sizeof(*t), cmp_tagged);
	/* mid-ranks: a tie group over positions i..k-1 (0-based) gets (i+1+k)/2 */
	double r1 = 0, tie_term = 0;
	for (size_t i = 0; i < N;) {
		size_t k = i + 1;
		while (k < N && t[k].v == t[i].v)
			k++;
		double rank = (double)(i + 1 + k) / 2.0, g = (double)(k - i);
		for (size_t q = i; q < k; q++)
			if (t[q].grp == 0)
				r1 += rank;
		if (k - i > 1) {
			out->ties++;
			tie_term += g * g * g - g;
		}
		i = k;
	}
	free(t);
	double nn1 = (double)n1, nn2 = (double)n2, nN = (double)N;
	out->u = r1 - nn1 * (nn1 + 1) / 2;
	out->p_min = fmin(1.0, 2.0 * exp(-lchoose(n1, n2)));
	double mu = nn1 * nn2 / 2;
	if (!out->ties && n1 <= STATS_EXACT_MAX && n2 <= STATS_EXACT_MAX) {
		double total;
		const double *cnt = mwu_counts(n1, n2, &total);
		size_t u = (size_t)llround(out->u), top = n1 * n2;
		double lo = 0, hi = 0; /* P(U <= u), P(U >= u) */
		for (size_t k = 0; k <= top; k++) {
			if (k <= u)
				lo += cnt[k];
			if (k >= u)
				hi += cnt[k];
		}
		out->exact = 1;
		out->p = fmin(1.0, 2.0 * fmin(lo, hi) / total);
		return 0;
	}
	double var = nn1 * nn2 / 12.0 * ((nN + 1) - tie_term / (nN * (nN - 1)));
	if (var <= 0) { /* every value ties: no evidence of any shift */
		out->p = 1;
		return 0;
	}
	double d = out->u - mu;
	double corr = d > 0 ? 0.5 : d < 0 ? -0.5 : 0;
	out->z = (d - corr) / sqrt(var);
	out->p = fmin(1.0, 2.0 * stats_norm_sf(fabs(out->z)));
	return 0;
}

int stats_hodges_lehmann(const double *a, size_t n1, const double *b, size_t n2, double conf,
			 double *shift, double *lo, double *hi, double *achieved)
{
	if (!n1 || !n2)
		return -1;
	size_t N = n1 * n2;
	double *d = malloc(N * sizeof(*d));
	for (size_t i = 0; i < n1; i++)
		for (size_t j = 0; j < n2; j++)
			d[i * n2 + j] = b[j] - a[i];
	stats_sort(d, N);
	*shift = quantile_sorted(d, N, 0.5);
	double alpha = 1 - conf;
	size_t k; /* 1-based: the interval is [d_(k), d_(N-k+1)] */
	if (n1 <= STATS_EXACT_MAX && n2 <= STATS_EXACT_MAX) {
		/* k = smallest u with P(U <= u) >= alpha/2 (R's qwilcox), at least 1;
		 * achieved confidence 1 - 2 P(U <= k-1). */
		double total, c = 0;
		const double *cnt = mwu_counts(n1, n2, &total);
		k = 0;
		while (k < N && (c + cnt[k]) / total < alpha / 2)
			c += cnt[k++];
		if (k == 0) { /* even the widest interval misses alpha/2: take it */
			k = 1;
			c = cnt[0];
		} /* now c / total == P(U <= k-1) */
		*achieved = 1 - 2 * c / total;
	} else {
		double z = norm_isf(alpha / 2);
		double s = sqrt((double)n1 * (double)n2 * (double)(n1 + n2 + 1) / 12.0);
		double kk = floor((double)N / 2 - z * s);
		k = kk < 1 ? 1 : (size_t)kk;
		*achieved = conf;
	}
	if (k > (N + 1) / 2)
		k = (N + 1) / 2;
	*lo = d[k - 1];
	*hi = d[N - k];
	free(d);
	return 0;
}
