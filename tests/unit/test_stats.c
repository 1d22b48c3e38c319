/* Unit tests of analysis/stats.c against published values: two-sided
 * Mann-Whitney critical values at alpha = 0.05 (the standard tables, e.g.
 * Siegel & Castellan, Nonparametric Statistics, table J), the Hollander &
 * Wolfe permeability example of R's ?wilcox.test (W = 35, one-sided
 * p = 0.1272), and an exact permutation enumeration for the tied case. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "stats.h"

static void test_quantiles(void **state)
{
	double a[] = {3, 1, 2};
	double b[] = {4, 1, 3, 2};
	double c[] = {10, 1, 2, 3, 4};
	assert_float_equal(stats_median(a, 3), 2, 1e-12);
	assert_float_equal(stats_median(b, 4), 2.5, 1e-12);
	assert_float_equal(stats_quantile(c, 5, 0.25), 2, 1e-12);
	assert_float_equal(stats_quantile(c, 5, 0.9), 7.6, 1e-12); /* R: quantile(.., .9) */
	assert_float_equal(stats_quantile(c, 5, 0), 1, 1e-12);
	assert_float_equal(stats_quantile(c, 5, 1), 10, 1e-12);
	assert_true(isnan(stats_median(a, 0)));
	assert_float_equal(stats_min(c, 5), 1, 0);
	assert_float_equal(stats_max(c, 5), 10, 0);
	assert_float_equal(c[0], 10, 0); /* input untouched */
}

/* Critical U (two-sided, alpha = .05): P(U <= crit) <= .025 < P(U <= crit+1). */
static void test_critical_values(void **state)
{
	static const struct { int m, n, crit; } tab[] = {
		{4, 4, 0}, {5, 5, 2}, {6, 6, 5}, {7, 7, 8}, {8, 8, 13}, {9, 9, 17},
		{10, 10, 23}, {20, 20, 127}, {5, 10, 8}, {3, 7, 1},
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		double lo = stats_mwu_cdf(tab[i].m, tab[i].n, tab[i].crit);
		double up = stats_mwu_cdf(tab[i].m, tab[i].n, tab[i].crit + 1);
		assert_true(lo <= 0.025);
		assert_true(up > 0.025);
	}
	/* the full distribution for 5 x 5: C(10,5) = 252 arrangements, 1,1,2 of U = 0,1,2 */
	assert_float_equal(stats_mwu_cdf(5, 5, 2), 4.0 / 252, 1e-12);
	assert_float_equal(stats_mwu_cdf(5, 5, 25), 1, 1e-12);
	assert_float_equal(stats_mwu_cdf(5, 5, 12), 0.5, 1e-12); /* symmetric about 12.5 */
}

static void test_exact_example(void **state)
{
	double x[] = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
	double y[] = {1.15, 0.88, 0.90, 0.74, 1.21};
	stats_mwu_t r;
	assert_int_equal(stats_mannwhitney(x, 10, y, 5, &r), 0);
	assert_true(r.exact);
	assert_float_equal(r.u, 35, 1e-12);
	assert_float_equal(r.p, 2 * 0.1272, 0.0001); /* R prints the one-sided p = 0.1272 */
	/* swapping the samples: U' = n1 n2 - U, same two-sided p */
	stats_mwu_t s;
	stats_mannwhitney(y, 5, x, 10, &s);
	assert_float_equal(s.u, 15, 1e-12);
	assert_float_equal(s.p, r.p, 1e-12);
	/* complete separation of 5 vs 5: the smallest p there is, 2/252 */
	double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};
	stats_mannwhitney(a, 5, b, 5, &r);
	assert_float_equal(r.p, 2.0 / 252, 1e-12);
	assert_float_equal(r.p_min, 2.0 / 252, 1e-12);
	/* 2 vs 2 can never reach 0.05 */
	stats_mannwhitney(a, 2, b, 2, &r);
	assert_float_equal(r.p, 1.0 / 3, 1e-12);
	assert_true(r.p_min > 0.05);
}

/* The exact permutation p of U with ties, by enumerating all C(10,5) splits. */
static double perm_p(const double *all, int n1, int n, double u_obs)
{
	double mu = n1 * (n - n1) / 2.0;
	int hits = 0, total = 0;
	for (int mask = 0; mask < (1 << n); mask++) {
		if (__builtin_popcount(mask) != n1)
			continue;
		double u = 0;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				if ((mask >> i & 1) && !(mask >> j & 1))
					u += all[i] > all[j] ? 1 : all[i] == all[j] ? 0.5 : 0;
		total++;
		if (fabs(u - mu) >= fabs(u_obs - mu) - 1e-9)
			hits++;
	}
	return (double)hits / total;
}

static void test_ties_normal(void **state)
{
	/* 7 vs 7 with heavy ties (page-granular RSS values look like this) */
	double a[] = {4096, 4096, 8192, 8192, 8192, 12288, 16384};
	double b[] = {8192, 12288, 12288, 16384, 16384, 20480, 20480};
	double all[14];
	for (int i = 0; i < 7; i++)
		all[i] = a[i], all[7 + i] = b[i];
	stats_mwu_t r;
	assert_int_equal(stats_mannwhitney(a, 7, b, 7, &r), 0);
	assert_false(r.exact);
	assert_true(r.ties > 0);
	double exact = perm_p(all, 7, 14, r.u);
	assert_true(fabs(r.p - exact) < 0.01);
	assert_true(r.p < 0.05);
	/* all values equal: no evidence at all */
	double c[] = {5, 5, 5}, d[] = {5, 5, 5, 5};
	stats_mannwhitney(c, 3, d, 4, &r);
	assert_float_equal(r.p, 1, 0);
	/* large samples use the normal approximation; p stays in (0, 1] */
	double big1[60], big2[60];
	for (int i = 0; i < 60; i++)
		big1[i] = i, big2[i] = i + 0.5;
	stats_mannwhitney(big1, 60, big2, 60, &r);
	assert_false(r.exact);
	assert_true(r.p > 0.5 && r.p <= 1);
	assert_int_equal(stats_mannwhitney(big1, 0, big2, 60, &r), -1);
}

static void test_hodges_lehmann(void **state)
{
	double a[] = {1, 2, 3}, b[] = {4, 5, 6};
	double s, lo, hi, ach;
	assert_int_equal(stats_hodges_lehmann(a, 3, b, 3, 0.95, &s, &lo, &hi, &ach), 0);
	assert_float_equal(s, 3, 1e-12);
	assert_float_equal(lo, 1, 1e-12); /* 3 x 3 cannot reach 95%: widest interval */
	assert_float_equal(hi, 5, 1e-12);
	assert_float_equal(ach, 0.9, 1e-12); /* 1 - 2/20 */
	/* 10 vs 10, a pure shift of 100 plus a small distinct jitter: the interval
	 * holds 100 and the achieved level is at least the asked one */
	double x[10], y[10];
	for (int i = 0; i < 10; i++) {
		x[i] = 1000 + i * 3.1;
		y[i] = 1100 + ((i * 7) % 10) * 3.1 + 0.01;
	}
	stats_hodges_lehmann(x, 10, y, 10, 0.95, &s, &lo, &hi, &ach);
	assert_float_equal(s, 100.01, 1e-9);
	assert_true(lo < 100.01 && hi > 100.01);
	assert_true(ach >= 0.95 && ach < 0.97);
	/* k for 10 x 10 at 95% is 24 (critical U 23, plus one) */
	double d[100];
	for (int i = 0; i < 10; i++)
		for (int j = 0; j < 10; j++)
			d[i * 10 + j] = y[j] - x[i];
	stats_sort(d, 100);
	assert_float_equal(lo, d[23], 1e-12);
	assert_float_equal(hi, d[76], 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_critical_values),
		cmocka_unit_test(test_exact_example),
		cmocka_unit_test(test_ties_normal),
		cmocka_unit_test(test_hodges_lehmann),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
