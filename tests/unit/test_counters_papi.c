/*
 * The PAPI path of counters.c against a fake PAPI with two hardware counters,
 * for machines (like virtual ones) where the real PAPI counts nothing:
 * multiplexing when events outnumber counters, per-chunk differences summed
 * over threads, reasons from a disabled component, a thread whose event set
 * will not start.
 *
 * The fake is this file's definitions of the PAPI_* functions counters.c
 * calls: a program's own definitions come before those of libpapi.so.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <papi.h>

#include "counters.h"

/* --- the fake: events FAKE_A/B/C (cpu component, 2 counters) and FAKE_OFF
 * (a disabled component). Reading event k gives work * (k + 1), where work is
 * what the calling thread has "done" so far. */
static const char *const fake_names[] = {"FAKE_A", "FAKE_B", "FAKE_C", "FAKE_OFF"};
#define FAKE_CODE(i) (0x40000000 | (i))
#define FAKE_COUNTERS 2
static __thread long long work;
static int inited, fail_start_in_threads, mux_inited;
static pthread_t main_thread;

typedef struct fake_set {
	int used, mux, n, running;
	int ev[8];
} fake_set_t;
static fake_set_t sets[64];
static pthread_mutex_t sets_lock = PTHREAD_MUTEX_INITIALIZER;

int PAPI_is_initialized(void) { return inited ? PAPI_LOW_LEVEL_INITED : PAPI_NOT_INITED; }
int PAPI_library_init(int v) { inited = 1; return v; }
int PAPI_thread_init(unsigned long (*id_fn)(void)) { return PAPI_OK; }
int PAPI_multiplex_init(void) { mux_inited = 1; return PAPI_OK; }
int PAPI_unregister_thread(void) { return PAPI_OK; }
int PAPI_register_thread(void) { return PAPI_OK; }
int PAPI_num_components(void) { return 2; }
int PAPI_enum_event(int *code, int modifier) { return PAPI_ENOEVNT; }
int PAPI_get_event_info(int code, PAPI_event_info_t *info) { return PAPI_ENOEVNT; }

const PAPI_component_info_t *PAPI_get_component_info(int cidx)
{
	static PAPI_component_info_t c[2];
	strcpy(c[0].name, "fakecpu");
	strcpy(c[1].name, "fakeoff");
	c[1].disabled = PAPI_ECMP;
	strcpy(c[1].disabled_reason, "no fake PMU here");
	return cidx >= 0 && cidx < 2 ? &c[cidx] : NULL;
}

char *PAPI_strerror(int rc)
{
	switch (rc) {
	case PAPI_ENOEVNT: return "Event does not exist";
	case PAPI_ECNFLCT: return "Event exists, but cannot be counted due to hardware resource limits";
	case PAPI_ECMP_DISABLED: return "Component containing event is disabled";
	case PAPI_ESYS: return "A System/C library call failed";
	default: return "fake error";
	}
}

int PAPI_event_name_to_code(const char *in, int *out)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(in, fake_names[i]))
			return *out = FAKE_CODE(i), PAPI_OK;
	return PAPI_ENOEVNT;
}

int PAPI_get_event_component(int code) { return (code & 0xff) == 3 ? 1 : 0; }

int PAPI_create_eventset(int *es)
{
	int rc = PAPI_ENOMEM;
	pthread_mutex_lock(&sets_lock);
	for (int i = 0; i < 64 && rc != PAPI_OK; i++)
		if (!sets[i].used) {
			memset(&sets[i], 0, sizeof(sets[i]));
			sets[i].used = 1;
			*es = i;
			rc = PAPI_OK;
		}
	pthread_mutex_unlock(&sets_lock);
	return rc;
}
int PAPI_cleanup_eventset(int es) { sets[es].n = 0; return PAPI_OK; }
int PAPI_destroy_eventset(int *es)
{
	pthread_mutex_lock(&sets_lock);
	sets[*es].used = 0;
	pthread_mutex_unlock(&sets_lock);
	*es = PAPI_NULL;
	return PAPI_OK;
}
int PAPI_assign_eventset_component(int es, int cidx) { return PAPI_OK; }
int PAPI_set_multiplex(int es) { return mux_inited ? (sets[es].mux = 1, PAPI_OK) : PAPI_EINVAL; }

int PAPI_add_event(int es, int code)
{
	if (PAPI_get_event_component(code) == 1)
		return PAPI_ECMP_DISABLED;
	if (!sets[es].mux && sets[es].n == FAKE_COUNTERS)
		return PAPI_ECNFLCT;
	sets[es].ev[sets[es].n++] = code & 0xff;
	return PAPI_OK;
}

int PAPI_start(int es)
{
	if (fail_start_in_threads && !pthread_equal(pthread_self(), main_thread))
		return PAPI_ESYS;
	sets[es].running = 1;
	return PAPI_OK;
}

int PAPI_read(int es, long long *v)
{
	for (int k = 0; k < sets[es].n; k++)
		v[k] = work * (sets[es].ev[k] + 1);
	return PAPI_OK;
}

int PAPI_stop(int es, long long *v)
{
	sets[es].running = 0;
	return PAPI_read(es, v);
}

/* --- the tests ---------------------------------------------------------- */

typedef struct worker {
	const mb_counters_t *c;
	mb_counters_thread_t th;
	long long chunk[2], between;
} worker_t;

/* One worker: two measured chunks, work outside them that must not count. */
static void *worker_main(void *p)
{
	worker_t *w = p;
	mb_counters_thread_open(w->c, &w->th);
	work += 777; /* warm-up */
	for (int i = 0; i < 2; i++) {
		mb_counters_begin(w->c, &w->th);
		work += w->chunk[i];
		mb_counters_end(w->c, &w->th);
		work += w->between; /* barriers, memory sampling */
	}
	mb_counters_thread_close(w->c, &w->th);
	return NULL;
}

static json_t *run_two_workers(const mb_counters_t *c, uint64_t ops)
{
	worker_t w[2] = {{.c = c, .chunk = {100, 50}, .between = 1000},
			 {.c = c, .chunk = {30, 20}, .between = 5000}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	mb_counters_thread_t *th[2] = {&w[0].th, &w[1].th};
	return mb_counters_json(c, th, 2, ops);
}

static json_int_t value(json_t *j, const char *ev)
{
	json_t *v = json_object_get(json_object_get(j, ev), "value");
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void more_events_than_counters_are_multiplexed(void **state)
{
	char *names[] = {"FAKE_A", "FAKE_B", "FAKE_C"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 3), 0);
	assert_int_equal(c.npapi, 3);
	assert_true(c.multiplexed);
	json_t *j = run_two_workers(&c, 40);
	/* measured work: 100 + 50 + 30 + 20 = 200; event k reads work * (k + 1) */
	assert_int_equal(value(j, "FAKE_A"), 200);
	assert_int_equal(value(j, "FAKE_B"), 400);
	assert_int_equal(value(j, "FAKE_C"), 600);
	json_t *a = json_object_get(j, "FAKE_A");
	assert_true(json_real_value(json_object_get(a, "per_op")) == 5.0);
	assert_true(json_is_true(json_object_get(a, "multiplexed")));
	assert_string_equal(json_string_value(json_object_get(a, "source")), "papi");
	json_decref(j);
}

static void events_that_fit_are_not_multiplexed(void **state)
{
	char *names[] = {"FAKE_B", "FAKE_A"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 2), 0);
	assert_false(c.multiplexed);
	json_t *j = run_two_workers(&c, 200);
	assert_int_equal(value(j, "FAKE_A"), 200);
	assert_int_equal(value(j, "FAKE_B"), 400); /* kept apart from A: order of the list */
	assert_true(json_is_false(json_object_get(json_object_get(j, "FAKE_A"), "multiplexed")));
	json_decref(j);
}

static void a_disabled_component_gives_its_reason(void **state)
{
	char *names[] = {"FAKE_OFF", "FAKE_A", "FAKE_NONE"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 3), 0);
	json_t *j = run_two_workers(&c, 10);
	const char *off = json_string_value(json_object_get(json_object_get(j, "FAKE_OFF"),
							    "unavailable"));
	assert_non_null(off);
	assert_non_null(strstr(off, "PAPI_add_event: Component containing event is disabled"));
	assert_non_null(strstr(off, "fakeoff is disabled: no fake PMU here"));
	assert_null(json_object_get(json_object_get(j, "FAKE_OFF"), "value"));
	const char *none = json_string_value(json_object_get(json_object_get(j, "FAKE_NONE"),
							     "unavailable"));
	assert_string_equal(none, "PAPI_event_name_to_code: Event does not exist");
	assert_int_equal(value(j, "FAKE_A"), 200); /* the rest is counted */
	json_decref(j);
}

static void a_thread_that_cannot_start_makes_the_event_unavailable(void **state)
{
	char *names[] = {"FAKE_A", "perf::PAGE-FAULTS"};
	mb_counters_t c;
	assert_int_equal(mb_counters_open(&c, names, 2), 0);
	assert_int_equal(c.ev[0].src, MB_CSRC_PAPI);
	fail_start_in_threads = 1;
	json_t *j = run_two_workers(&c, 10);
	fail_start_in_threads = 0;
	const char *why = json_string_value(json_object_get(json_object_get(j, "FAKE_A"),
							    "unavailable"));
	assert_non_null(why);
	assert_non_null(strstr(why, "PAPI_start: A System/C library call failed"));
	/* the fake PAPI has no perf:: events: the kernel's count stands in */
	json_t *pf = json_object_get(j, "perf::PAGE-FAULTS");
	assert_string_equal(json_string_value(json_object_get(pf, "source")), "rusage");
	assert_true(json_is_integer(json_object_get(pf, "value")));
	json_decref(j);
}

int main(void)
{
	main_thread = pthread_self();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(more_events_than_counters_are_multiplexed),
		cmocka_unit_test(events_that_fit_are_not_multiplexed),
		cmocka_unit_test(a_disabled_component_gives_its_reason),
		cmocka_unit_test(a_thread_that_cannot_start_makes_the_event_unavailable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
