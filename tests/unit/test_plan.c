/*
 * The plan: matrix size and run order (repetitions interleave allocators).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"

static mb_workload_t wl_a = {.name = "alpha", .threads = 4, .ops = 1000, .warmup = 100};
static mb_workload_t wl_b = {.name = "beta/x", .threads = 1, .ops = 10, .seed = 7};

static void make_suite(mb_suite_t *s, mb_alloc_ref_t *al, mb_workload_t **wls)
{
	memset(s, 0, sizeof(*s));
	static const char *names[] = {"A", "B", "C"};
	for (int i = 0; i < 3; i++) {
		memset(&al[i], 0, sizeof(al[i]));
		snprintf(al[i].name, sizeof(al[i].name), "%s", names[i]);
	}
	wls[0] = &wl_a;
	wls[1] = &wl_b;
	s->wl = wls;
	s->nwl = 2;
	s->al = al;
	s->nal = 3;
	s->repetitions = 2;
	s->seed = 42;
	s->ops_scale = 0.5;
}

static void test_matrix_and_order(void **st)
{
	mb_suite_t s;
	mb_alloc_ref_t al[3];
	mb_workload_t *wls[2];
	make_suite(&s, al, wls);
	uint64_t thr[] = {1, 2};
	s.threads.v = thr;
	s.threads.n = 2;
	mb_plan_t p;
	assert_int_equal(mb_plan_build(&s, &p), 0);
	assert_int_equal(p.n, 2 * 2 * 2 * 3); /* reps x workloads x threads x allocators */
	/* allocators alternate A B C for every (rep, workload, threads) */
	for (size_t k = 0; k < p.n; k++)
		assert_int_equal(p.t[k].al, k % 3);
	/* repetition is the outermost loop: all of rep 0 before any of rep 1 */
	for (size_t k = 0; k < p.n; k++)
		assert_int_equal(p.t[k].rep, k / 12);
	assert_string_equal(p.t[0].id, "alpha__A__t1__r0");
	assert_string_equal(p.t[4].id, "alpha__B__t2__r0");
	/* file-safe ids; per-workload seed wins over the suite's */
	assert_string_equal(p.t[6].id, "beta-x__A__t1__r0");
	assert_int_equal(p.t[6].seed, 7);
	assert_int_equal(p.t[0].seed, 42);
	/* ops_scale applies to ops and warmup */
	assert_int_equal(p.t[0].ops, 500);
	assert_int_equal(p.t[0].warmup, 50);
	/* ids are unique */
	for (size_t i = 0; i < p.n; i++)
		for (size_t j = i + 1; j < p.n; j++)
			assert_string_not_equal(p.t[i].id, p.t[j].id);
	mb_plan_free(&p);
}

static void test_threads_from_workload(void **st)
{
	mb_suite_t s;
	mb_alloc_ref_t al[3];
	mb_workload_t *wls[2];
	make_suite(&s, al, wls);
	mb_plan_t p;
	assert_int_equal(mb_plan_build(&s, &p), 0);
	assert_int_equal(p.n, 2 * 2 * 3);
	assert_int_equal(p.t[0].threads, 4);
	assert_int_equal(p.t[3].threads, 1);
	/* a workload scaled below one op per thread still gives each thread one */
	assert_int_equal(p.t[3].ops, 5);
	mb_plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_and_order),
		cmocka_unit_test(test_threads_from_workload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
