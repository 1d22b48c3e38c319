/*
 * Distributions: each kind takes its integer fast path, which draws exactly
 * what rounding the double draw gives; tables keep their weights, quantile
 * tables their mean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "dist.h"

static mb_dist_t parse(const char *text)
{
	mb_yctx_t y = {0};
	yaml_document_t doc;
	mb_dist_t d;
	memset(&d, 0, sizeof(d));
	mb_option_t o = {.name = "size"};
	assert_int_equal(mb_yaml_load_string(&y, "<test>", text, &doc), 0);
	y.doc = &doc;
	assert_int_equal(mb_dist_parse(&y, yaml_document_get_root_node(&doc), &d, &o), 0);
	yaml_document_delete(&doc);
	return d;
}

static void same_stream(const char *text)
{
	mb_dist_t d = parse(text);
	mb_rng_t a, b;
	mb_rng_seed(&a, 1, 2);
	mb_rng_seed(&b, 1, 2);
	for (int i = 0; i < 100000; i++) {
		double v = mb_dist_sample(&d, &a);
		uint64_t want = v <= 0 ? 0 : (uint64_t)(v + 0.5);
		uint64_t got = mb_dist_sample_u64(&d, &b);
		if (got != want)
			fail_msg("%s: draw %d: %llu, rounding the double gives %llu", text, i,
				 (unsigned long long)got, (unsigned long long)want);
	}
	mb_dist_free(&d);
}

static void test_u64_matches(void **st)
{
	same_stream("64");
	same_stream("{dist: uniform, min: 16, max: 512}");
	same_stream("{dist: uniform, min: 0, max: 3}");
	same_stream("{dist: uniform, min: 7, max: 7}");
	same_stream("{dist: uniform, min: 1.5, max: 9.25}"); /* not the integer path */
	same_stream("{dist: uniform, min: -4, max: 4}");     /* nor this (negative draws) */
	same_stream("{dist: uniform, min: 1, max: 1e15}");
	same_stream("{dist: exponential, mean: 128, min: 8, max: 4096}");
	same_stream("{dist: lognormal, median: 48, sigma: 0.8, max: 32768}");
	same_stream("{dist: table, values: [16, 32, 48, 64], weights: [40, 30, 20, 10]}");
	same_stream("{dist: table, values: [1KiB, 1MiB], weights: [1, 3]}");
}

/* Each kind takes the fast path its draw is tested for (same_stream above
 * checks that path's draws against the generic double draw). */
static void fast_path(const char *text, bool quantile, bool uniform, bool alias)
{
	mb_dist_t d = parse(text);
	if ((d.qtab != NULL) != quantile || (d.uspan != 0) != uniform ||
	    (d.iprob != NULL) != alias)
		fail_msg("%s: quantile %d uniform %d alias %d, want %d %d %d", text,
			 d.qtab != NULL, d.uspan != 0, d.iprob != NULL, quantile, uniform, alias);
	mb_dist_free(&d);
}

static void test_fast_paths(void **st)
{
	fast_path("64", false, false, false);
	fast_path("{dist: uniform, min: 16, max: 512}", false, true, false);
	fast_path("{dist: uniform, min: 1, max: 1e15}", false, true, false);
	fast_path("{dist: uniform, min: 1.5, max: 9.25}", false, false, false);
	fast_path("{dist: uniform, min: -4, max: 4}", false, false, false);
	fast_path("{dist: exponential, mean: 128, min: 8, max: 4096}", true, false, false);
	fast_path("{dist: lognormal, median: 48, sigma: 0.8, max: 32768}", true, false, false);
	fast_path("{dist: table, values: [16, 32], weights: [1, 3]}", false, false, true);
}

static void test_table_weights(void **st)
{
	mb_dist_t d = parse("{dist: table, values: [16, 32, 48, 64], weights: [40, 30, 20, 10]}");
	mb_rng_t r;
	mb_rng_seed(&r, 9, 0);
	uint64_t n[4] = {0}, N = 400000;
	for (uint64_t i = 0; i < N; i++)
		n[mb_dist_sample_u64(&d, &r) / 16 - 1]++;
	const double w[4] = {0.4, 0.3, 0.2, 0.1};
	for (int i = 0; i < 4; i++)
		if (fabs((double)n[i] / N - w[i]) > 0.005)
			fail_msg("value %d drawn %.4f of the time, want %.2f", 16 * (i + 1),
				 (double)n[i] / N, w[i]);
	assert_true(fabs(mb_dist_mean(&d) - 32) < 1e-9);
	mb_dist_free(&d);
}

static void test_quantile_mean(void **st)
{
	mb_dist_t d = parse("{dist: exponential, mean: 1000}");
	mb_rng_t r;
	mb_rng_seed(&r, 3, 0);
	double s = 0;
	for (int i = 0; i < 200000; i++)
		s += (double)mb_dist_sample_u64(&d, &r);
	double m = s / 200000;
	if (fabs(m - 1000) > 15) /* the 4096-slice table's mean is within 0.5% */
		fail_msg("exponential mean 1000: drew a mean of %.1f", m);
	mb_dist_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_matches),
		cmocka_unit_test(test_fast_paths),
		cmocka_unit_test(test_table_weights),
		cmocka_unit_test(test_quantile_mean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
