/*
 * Fragmentation metrics and the identity chain (analysis/frag.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "frag.h"

#define U MB_STAT_UNKNOWN

static frag_sample_t sample(uint64_t req, uint64_t usable, uint64_t alloc, uint64_t active,
			    uint64_t resident)
{
	frag_sample_t s;
	frag_sample_clear(&s);
	s.rss = 1 << 20;
	s.live_requested = req;
	s.live_usable = usable;
	s.a.allocated = alloc;
	s.a.active = active;
	s.a.resident = resident;
	return s;
}

static void test_clear_is_unknown(void **state)
{
	frag_sample_t s;
	frag_sample_clear(&s);
	assert_true(s.rss == U && s.live_usable == U && s.a.retained == U && s.class_free == U);
}

static void test_chain_holds(void **state)
{
	frag_sample_t s = sample(100, 112, 200, 4096, 8192);
	char why[200];
	assert_int_equal(frag_check(&s, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* equal figures are fine: <= not < */
	s = sample(100, 100, 100, 100, 100);
	assert_int_equal(frag_check(&s, why, sizeof(why)), 0);
}

static void test_chain_violations(void **state)
{
	char why[200];
	frag_sample_t s = sample(120, 112, 200, 4096, 8192);
	assert_int_equal(frag_check(&s, why, sizeof(why)), 1);
	assert_string_equal(why, "live_requested 120 > live_usable 112");
	s = sample(100, 112, 5000, 4096, 8192);
	assert_int_equal(frag_check(&s, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "allocated 5000 > active 4096"));
	/* two broken links, the first one described */
	s = sample(120, 112, 200, 4096, 10);
	assert_int_equal(frag_check(&s, why, sizeof(why)), 2);
	assert_non_null(strstr(why, "live_requested"));
}

/* an unknown figure is skipped, and its neighbours are compared directly */
static void test_chain_skips_unknown(void **state)
{
	char why[200];
	frag_sample_t s = sample(300, U, 200, U, 8192);
	assert_int_equal(frag_check(&s, why, sizeof(why)), 1);
	assert_string_equal(why, "live_requested 300 > allocated 200");
	s = sample(100, U, U, U, U);
	assert_int_equal(frag_check(&s, why, sizeof(why)), 0);
}

static void test_metrics(void **state)
{
	frag_sample_t s = sample(100, 112, 200, 4096, 8192);
	assert_int_equal(frag_internal(&s), 12);
	assert_int_equal(frag_external(&s), 4096 - 200);
	assert_int_equal(frag_free_pages(&s), 8192 - 4096);
	assert_true(fabs(frag_overhead(&s) - (double)(1 << 20) / 100.0) < 1e-9);
	s = sample(0, U, U, U, U);
	assert_true(frag_internal(&s) == U);
	assert_true(frag_external(&s) == U);
	assert_true(isnan(frag_overhead(&s))); /* nothing live */
}

static void test_class_metrics(void **state)
{
	/* Go's class 5: 48 bytes in 8 KiB spans, 170 objects, 32 bytes of tail */
	mb_alloc_class_stats_t c = {.size = 48, .span_bytes = 8192, .span_objects = 170,
				    .spans = 2, .objects = 300};
	assert_int_equal(frag_class_tail(&c), 64);
	assert_int_equal(frag_class_free(&c), (340 - 300) * 48);
	assert_true(fabs(frag_class_utilisation(&c) - 300.0 / 340.0) < 1e-12);
	assert_null(frag_class_check(&c));
	mb_alloc_class_stats_t bad = c;
	bad.objects = 341;
	assert_non_null(frag_class_check(&bad));
	bad = c;
	bad.span_objects = 171;
	assert_non_null(frag_class_check(&bad));
	mb_alloc_class_stats_t two[2] = {c, {.size = 16, .span_bytes = 4096, .span_objects = 256,
					     .spans = 1, .objects = 6}};
	frag_sample_t s;
	frag_sample_clear(&s);
	frag_classes_sum(two, 2, &s);
	assert_int_equal(s.class_tail, 64);
	assert_int_equal(s.class_free, 40 * 48 + 250 * 16);
}

static json_t *col(const json_int_t *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, v[i] < 0 ? json_null() : json_integer(v[i]));
	return a;
}

/* a result as a trial writes it: three samples, the second the peak */
static json_t *result(json_int_t usable1)
{
	json_int_t ops[] = {0, 10, 20}, rss[] = {4000, 9000, 8000}, req[] = {100, 500, 300},
		   usable[] = {112, usable1, 320}, alloc[] = {200, 600, 400},
		   active[] = {4096, 8192, 8192}, resident[] = {-1, -1, -1};
	json_t *series = json_object();
	json_object_set_new(series, "ops", col(ops, 3));
	json_object_set_new(series, "rss", col(rss, 3));
	json_object_set_new(series, "live_requested", col(req, 3));
	json_object_set_new(series, "live_usable", col(usable, 3));
	json_object_set_new(series, "alloc_allocated", col(alloc, 3));
	json_object_set_new(series, "alloc_active", col(active, 3));
	json_object_set_new(series, "alloc_resident", col(resident, 3));
	return json_pack("{s:o, s:I, s:I, s:I, s:n, s:I, s:b}", "series", series, "peak_rss",
			 (json_int_t)9500, "rss_baseline", (json_int_t)2000, "rss_after_drain",
			 (json_int_t)7000, "rss_after_drain_wait", "rss_after_release",
			 (json_int_t)3000, "memory_profile", 1);
}

static void test_series_roundtrip(void **state)
{
	json_t *r = result(540);
	frag_sample_t s;
	assert_int_equal(frag_sample_from_series(json_object_get(r, "series"), 1, &s), 0);
	assert_int_equal(s.live_requested, 500);
	assert_int_equal(s.live_usable, 540);
	assert_true(s.a.resident == U);  /* null cell */
	assert_true(s.a.metadata == U);  /* missing column */
	assert_int_equal(frag_sample_from_series(json_object_get(r, "series"), 3, &s), -1);
	json_decref(r);
}

static void test_summary(void **state)
{
	json_t *r = result(540);
	json_t *f = frag_summary_json(r);
	json_t *peak = json_object_get(f, "at_peak_live");
	assert_int_equal(json_integer_value(json_object_get(peak, "sample")), 1);
	assert_int_equal(json_integer_value(json_object_get(peak, "internal")), 40);
	assert_int_equal(json_integer_value(json_object_get(peak, "external")), 8192 - 600);
	assert_true(json_is_null(json_object_get(peak, "free_pages")));
	assert_int_equal(json_integer_value(json_object_get(f, "peak_rss_sampled")), 9000);
	/* end RSS 8000, baseline 2000: the drain gave back 1000 of 6000 */
	json_t *d = json_object_get(f, "after_drain");
	assert_int_equal(json_integer_value(json_object_get(d, "returned")), 1000);
	assert_true(fabs(json_real_value(json_object_get(d, "returned_fraction")) - 1000.0 / 6000.0) <
		    1e-9);
	assert_true(json_is_null(json_object_get(f, "after_drain_wait")));
	json_t *id = json_object_get(f, "identities");
	assert_int_equal(json_integer_value(json_object_get(id, "violations")), 0);
	assert_int_equal(json_integer_value(json_object_get(id, "samples")), 3);
	assert_non_null(json_object_get(json_object_get(id, "unknown"), "resident"));
	json_decref(f);
	json_decref(r);

	/* usable below requested in one sample: found, with where */
	r = result(480);
	f = frag_summary_json(r);
	id = json_object_get(f, "identities");
	assert_int_equal(json_integer_value(json_object_get(id, "violations")), 1);
	assert_string_equal(json_string_value(json_object_get(id, "first_violation")),
			    "sample 1: live_requested 500 > live_usable 480");
	json_decref(f);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clear_is_unknown),
		cmocka_unit_test(test_chain_holds),
		cmocka_unit_test(test_chain_violations),
		cmocka_unit_test(test_chain_skips_unknown),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_class_metrics),
		cmocka_unit_test(test_series_roundtrip),
		cmocka_unit_test(test_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
