/*
 * Counters: a software event that must move, the unavailable path with PAPI's
 * reason, per-operation normalisation, summing over threads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "counters.h"

#define TOUCH_PAGES 2048

/* Touches TOUCH_PAGES fresh pages (no transparent huge pages, so one fault
 * each) between begin and end; returns the event's JSON. */
static json_t *count_touch(mb_counters_t *c, int touch)
{
	mb_counters_thread_t th, *thp = &th;
	mb_counters_thread_open(c, &th);
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)pg * TOUCH_PAGES;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	madvise(p, len, MADV_NOHUGEPAGE);
	mb_counters_begin(c, &th);
	if (touch)
		for (size_t i = 0; i < len; i += (size_t)pg)
			p[i] = 1;
	mb_counters_end(c, &th);
	mb_counters_thread_close(c, &th);
	munmap(p, len);
	return mb_counters_json(c, &thp, 1, 1000);
}

static void page_faults_rise_when_fresh_pages_are_touched(void **state)
{
	char *names[] = {"perf::PAGE-FAULTS"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 1), 0);
	assert_int_not_equal(c.ev[0].src, MB_CSRC_NONE);

	json_t *idle = count_touch(&c, 0), *busy = count_touch(&c, 1);
	json_t *e0 = json_object_get(idle, "perf::PAGE-FAULTS");
	json_t *e1 = json_object_get(busy, "perf::PAGE-FAULTS");
	json_int_t v0 = json_integer_value(json_object_get(e0, "value"));
	json_int_t v1 = json_integer_value(json_object_get(e1, "value"));
	assert_true(json_is_integer(json_object_get(e1, "value")));
	assert_true(v1 >= TOUCH_PAGES);
	assert_true(v0 < TOUCH_PAGES / 4);
	/* per_op = value / ops (1000 here) */
	assert_true(json_real_value(json_object_get(e1, "per_op")) * 1000 == (double)v1);
	const char *src = json_string_value(json_object_get(e1, "source"));
	assert_non_null(src);
	if (!strcmp(src, "rusage")) /* then PAPI said why it could not */
		assert_true(strlen(json_string_value(json_object_get(e1, "papi_unavailable"))) > 0);
	json_decref(idle);
	json_decref(busy);
	mb_counters_close(&c);
}

static void an_unknown_event_is_unavailable_with_papis_reason(void **state)
{
	char *names[] = {"NO_SUCH_EVENT_ANYWHERE", "perf::PAGE-FAULTS"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 2), 0);
	assert_int_equal(c.ev[0].src, MB_CSRC_NONE);
	json_t *j = count_touch(&c, 1);
	json_t *e = json_object_get(j, "NO_SUCH_EVENT_ANYWHERE");
	assert_non_null(e);
	assert_null(json_object_get(e, "value")); /* never a zero */
	const char *why = json_string_value(json_object_get(e, "unavailable"));
	assert_non_null(why);
	/* the failing call, then PAPI_strerror's text */
	assert_non_null(strstr(why, "PAPI_event_name_to_code: "));
	assert_true(strlen(why) > strlen("PAPI_event_name_to_code: "));
	/* the other event is still counted */
	assert_true(json_integer_value(json_object_get(json_object_get(j, "perf::PAGE-FAULTS"),
						      "value")) >= TOUCH_PAGES);
	json_decref(j);
}

/* A hardware event: counted where the machine has a PMU, otherwise recorded
 * with PAPI's reason (this is the path a VM without a PMU takes). */
static void a_hardware_event_is_counted_or_says_why(void **state)
{
	char *names[] = {"PAPI_TOT_INS"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 1), 0);
	json_t *j = count_touch(&c, 1);
	json_t *e = json_object_get(j, "PAPI_TOT_INS");
	if (c.ev[0].src == MB_CSRC_PAPI) {
		assert_true(json_integer_value(json_object_get(e, "value")) >= TOUCH_PAGES);
	} else {
		assert_int_equal(c.ev[0].src, MB_CSRC_NONE);
		assert_null(json_object_get(e, "value"));
		const char *why = json_string_value(json_object_get(e, "unavailable"));
		assert_non_null(why);
		assert_true(strncmp(why, "PAPI_", 5) == 0); /* names the failing PAPI call */
		assert_true(strlen(why) > 12);
	}
	json_decref(j);
}

static void threads_are_summed(void **state)
{
	char *names[] = {"perf::MINOR-FAULTS"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 1), 0);
	/* the per-thread sums are set by hand where the source keeps them: by event
	 * set position for PAPI (a machine with perf_event), by event for the
	 * rusage stand-in (a machine without) */
	assert_true(c.ev[0].src == MB_CSRC_PAPI || c.ev[0].src == MB_CSRC_RUSAGE);
	mb_counters_thread_t a, b, *both[] = {&a, &b};
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.eventset = b.eventset = -1;
	if (c.ev[0].src == MB_CSRC_PAPI)
		a.sum[0] = 30, b.sum[0] = 12;
	else
		a.ru_sum[0] = 30, b.ru_sum[0] = 12;
	json_t *j = mb_counters_json(&c, both, 2, 21);
	json_t *e = json_object_get(j, "perf::MINOR-FAULTS");
	assert_int_equal(json_integer_value(json_object_get(e, "value")), 42);
	assert_true(json_real_value(json_object_get(e, "per_op")) == 2.0);
	assert_string_equal(json_string_value(json_object_get(e, "source")),
			    c.ev[0].src == MB_CSRC_PAPI ? "papi" : "rusage");
	json_decref(j);
}

static void too_many_events_are_refused(void **state)
{
	char *names[MB_COUNTERS_MAX + 1];
	for (int i = 0; i <= MB_COUNTERS_MAX; i++)
		names[i] = "perf::PAGE-FAULTS";
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, MB_COUNTERS_MAX + 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(page_faults_rise_when_fresh_pages_are_touched),
		cmocka_unit_test(an_unknown_event_is_unavailable_with_papis_reason),
		cmocka_unit_test(a_hardware_event_is_counted_or_says_why),
		cmocka_unit_test(threads_are_summed),
		cmocka_unit_test(too_many_events_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
