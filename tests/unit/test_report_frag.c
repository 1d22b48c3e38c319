/* Unit tests of the breakdown of figure (d) (analysis/report_frag.c): the
 * parts follow the identity chain and add up to RSS whatever the allocator
 * can tell; an unknown figure makes its segment "not attributable"; a
 * negative segment is counted, not drawn. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "report.h"

/* A trial whose result.frag.at_peak_live is the JSON object text p. */
static int stack_of(const char *p, double part[REPORT_FRAG_N], int *clamped)
{
	json_error_t e;
	json_t *at = json_loads(p, 0, &e);
	assert_non_null(at);
	json_t *res = json_pack("{s:{s:o}}", "frag", "at_peak_live", at);
	rundir_trial_t t = {.ok = 1, .result = res, .allocator = "x"};
	int rc = report_frag_stack(&t, part, clamped);
	json_decref(res);
	return rc;
}

static double sum(const double *part)
{
	double s = 0;
	for (int k = 0; k < REPORT_FRAG_N; k++)
		s += isnan(part[k]) ? 0 : part[k];
	return s;
}

static void test_full_chain(void **state)
{
	double p[REPORT_FRAG_N];
	int cl;
	assert_int_equal(stack_of("{\"rss\": 1000, \"live_requested\": 100, \"live_usable\": 120,"
				  "\"allocated\": 150, \"active\": 300, \"resident\": 600,"
				  "\"tail_waste\": 20, \"class_free\": 50}", p, &cl), 0);
	assert_int_equal(cl, 0);
	assert_float_equal(p[FP_LIVE], 100, 0);
	assert_float_equal(p[FP_INTERNAL], 20, 0);
	assert_float_equal(p[FP_CACHED], 30, 0);
	assert_float_equal(p[FP_TAIL], 20, 0);
	assert_float_equal(p[FP_FREE_SLOTS], 50, 0);
	assert_float_equal(p[FP_EXTERNAL], 80, 0); /* 150 external - 20 tail - 50 free */
	assert_float_equal(p[FP_FREE_PAGES], 300, 0);
	assert_float_equal(p[FP_OUTSIDE], 400, 0);
	assert_true(isnan(p[FP_UNATTRIBUTED]));
	assert_float_equal(sum(p), 1000, 0);
}

/* glibc: allocated and active, no resident; mimalloc: nothing */
static void test_unknown_figures(void **state)
{
	double p[REPORT_FRAG_N];
	int cl;
	assert_int_equal(stack_of("{\"rss\": 1000, \"live_requested\": 100, \"live_usable\": null,"
				  "\"allocated\": 150, \"active\": 300, \"resident\": null}", p, &cl), 0);
	assert_true(isnan(p[FP_INTERNAL]) && isnan(p[FP_FREE_PAGES]) && isnan(p[FP_OUTSIDE]));
	assert_true(isnan(p[FP_TAIL]) && isnan(p[FP_FREE_SLOTS]));
	assert_float_equal(p[FP_CACHED], 50, 0);
	assert_float_equal(p[FP_EXTERNAL], 150, 0);
	assert_float_equal(p[FP_UNATTRIBUTED], 700, 0);
	assert_float_equal(sum(p), 1000, 0);

	assert_int_equal(stack_of("{\"rss\": 1000, \"live_requested\": 100}", p, &cl), 0);
	assert_float_equal(p[FP_LIVE], 100, 0);
	assert_float_equal(p[FP_UNATTRIBUTED], 900, 0);
	assert_float_equal(sum(p), 1000, 0);
}

/* allocated below live bytes (an allocator that does not count some of
 * them): the segment is 0 and counted; no live bytes: no bar */
static void test_broken_chain(void **state)
{
	double p[REPORT_FRAG_N];
	int cl;
	assert_int_equal(stack_of("{\"rss\": 1000, \"live_requested\": 400, \"allocated\": 300,"
				  "\"active\": 500, \"resident\": 800}", p, &cl), 0);
	assert_int_equal(cl, 1);
	assert_float_equal(p[FP_CACHED], 0, 0);
	assert_float_equal(p[FP_EXTERNAL], 200, 0);
	assert_int_equal(stack_of("{\"rss\": 1000, \"live_requested\": null}", p, &cl), -1);
	rundir_trial_t failed = {.ok = 0};
	assert_int_equal(report_frag_stack(&failed, p, &cl), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_chain),
		cmocka_unit_test(test_unknown_figures),
		cmocka_unit_test(test_broken_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
