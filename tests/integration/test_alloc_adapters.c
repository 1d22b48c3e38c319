/*
 * Every installed allocator adapter, through the ABI in a real trial: a tiny
 * suite runs churn on each (2 threads, memory profile on), and each trial must
 * be ok, report the stats its allocator can tell, and keep the identity chain
 *     live_requested <= live_usable <= allocated <= active <= resident
 * on every sample. Adapters whose library is not installed are skipped (and
 * named in the output); system is always there.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* What each adapter must report: stats at all, which totals, class stats. */
static const struct expect {
	const char *name;
	int stats;         /* stats_end is an object (in a sanitizer build, system's may
	                      be null: ASan's malloc replaces glibc's, mallinfo2 is empty) */
	const char *known; /* stats fields that must be numbers */
	int classes;       /* per-size-class view */
} expects[] = {
	{"system", 1, "allocated active mapped", 0},
	{"jemalloc", 1, "allocated active resident mapped metadata retained", 1},
	{"tcmalloc", 1, "allocated active resident mapped retained", 0},
	{"mimalloc", 1, "mapped", 0},
	{"tbbmalloc", 0, "", 0},
};
#define NEXP (sizeof(expects) / sizeof(expects[0]))

static const char *B;
static char tmpdir[64];
static int installed[NEXP];
static json_t *trials[NEXP];

static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int setup(void **state)
{
	B = getenv("MB_BUILD_DIR");
	if (!B)
		B = "build";
	strcpy(tmpdir, "/tmp/mb-adapters-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	char list[256] = "", path[512], cmd[1024];
	static char out[1 << 16];
	for (size_t i = 0; i < NEXP; i++) {
		snprintf(path, sizeof(path), "%s/plugins/mb-%s.so", B, expects[i].name);
		installed[i] = access(path, R_OK) == 0;
		const char *skip_why = "plug-in not built here";
#ifdef MB_SANITIZER
		/* an external allocator replaces malloc, which a sanitizer runtime
		 * may own: only system runs in sanitizer builds */
		skip_why = "sanitizer build";
		installed[i] = installed[i] && i == 0;
#endif
		if (installed[i])
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? ", " : "", expects[i].name);
		else
			printf("skipped: %s (%s)\n", expects[i].name, skip_why);
	}
	snprintf(path, sizeof(path), "%s/all.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	fprintf(f, "name: all\nworkloads: [churn]\nallocators: [%s]\nthreads: [2]\nrepetitions: 1\n"
		   "ops_scale: 0.02\nsample_points: 10\nmemory_profile: true\ndrain_wait: 10ms\n",
		list);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/membench run --quiet --debug-results --output %s/res %s 2>&1", B, tmpdir,
		 path);
	if (run(cmd, out, sizeof(out)) != 0) {
		fprintf(stderr, "membench run failed: %s\n", out);
		return -1;
	}
	for (size_t i = 0; i < NEXP; i++) {
		if (!installed[i])
			continue;
		snprintf(path, sizeof(path), "%s/res/latest/trials/churn__%s__t2__r0.json", tmpdir,
			 expects[i].name);
		trials[i] = json_load_file(path, 0, NULL);
	}
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < NEXP; i++)
		json_decref(trials[i]);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

static json_t *res(size_t i)
{
	return json_object_get(trials[i], "result");
}

static void test_system_is_there(void **state)
{
	assert_true(installed[0]);
}

static void test_trials_ok(void **state)
{
	for (size_t i = 0; i < NEXP; i++) {
		if (!installed[i])
			continue;
		assert_non_null(trials[i]);
		const char *st = json_string_value(json_object_get(trials[i], "status"));
		if (strcmp(st, "ok"))
			fail_msg("%s: %s: %s", expects[i].name, st,
				 json_string_value(json_object_get(trials[i], "stderr_tail")));
		json_t *al = json_object_get(res(i), "allocator");
		assert_string_equal(json_string_value(json_object_get(al, "name")), expects[i].name);
		assert_non_null(json_string_value(json_object_get(al, "version")));
		/* allocations and frees went through: the drain freed everything */
		json_t *stream = json_object_get(res(i), "stream");
		assert_true(json_integer_value(json_object_get(stream, "allocs")) > 1000);
		assert_int_equal(json_integer_value(json_object_get(stream, "allocs")),
				 json_integer_value(json_object_get(stream, "frees")));
	}
}

static void test_stats_reported(void **state)
{
	for (size_t i = 0; i < NEXP; i++) {
		if (!installed[i])
			continue;
		json_t *s = json_object_get(json_object_get(res(i), "allocator"), "stats_end");
#ifdef MB_SANITIZER
		if (json_is_null(s))
			continue;
#endif
		if (!expects[i].stats) {
			assert_true(json_is_null(s));
			continue;
		}
		if (!json_is_object(s))
			fail_msg("%s: no stats", expects[i].name);
		char known[128];
		snprintf(known, sizeof(known), "%s", expects[i].known);
		for (char *k = strtok(known, " "); k; k = strtok(NULL, " ")) {
			if (!json_is_integer(json_object_get(s, k)))
				fail_msg("%s: stats_end.%s is not a number", expects[i].name, k);
			/* the same figure is in the series at every sample */
			char col[64];
			snprintf(col, sizeof(col), "alloc_%s", k);
			json_t *c = json_object_get(json_object_get(res(i), "series"), col);
			for (size_t r = 0; r < json_array_size(c); r++)
				if (!json_is_integer(json_array_get(c, r)))
					fail_msg("%s: series %s[%zu] unknown", expects[i].name, col, r);
		}
	}
}

static void test_identities_hold(void **state)
{
	for (size_t i = 0; i < NEXP; i++) {
		if (!installed[i])
			continue;
		json_t *id = json_object_get(json_object_get(res(i), "frag"), "identities");
		assert_true(json_integer_value(json_object_get(id, "samples")) >= 11);
		if (json_integer_value(json_object_get(id, "violations")) != 0)
			fail_msg("%s: %s", expects[i].name,
				 json_string_value(json_object_get(id, "first_violation")));
		/* memory profile: usable is known for every adapter here, so at least
		 * requested <= usable is checked */
		json_t *checked = json_object_get(id, "checked");
		int usable = 0;
		for (size_t k = 0; k < json_array_size(checked); k++)
			usable |= !strcmp(json_string_value(json_array_get(checked, k)), "live_usable");
		if (!usable)
			fail_msg("%s: live_usable was not checked", expects[i].name);
	}
}

static void test_class_stats(void **state)
{
	for (size_t i = 0; i < NEXP; i++) {
		if (!installed[i])
			continue;
		json_t *cls = json_object_get(json_object_get(res(i), "allocator"),
					      "classes_end_of_measure");
		if (!expects[i].classes) {
			assert_true(json_is_null(cls));
			continue;
		}
		assert_true(json_array_size(cls) > 10);
		json_int_t objects = 0, prev = 0;
		for (size_t k = 0; k < json_array_size(cls); k++) {
			json_t *c = json_array_get(cls, k);
			json_int_t size = json_integer_value(json_object_get(c, "size"));
			json_int_t span = json_integer_value(json_object_get(c, "span_bytes"));
			json_int_t per = json_integer_value(json_object_get(c, "span_objects"));
			json_int_t spans = json_integer_value(json_object_get(c, "spans"));
			json_int_t obj = json_integer_value(json_object_get(c, "objects"));
			assert_true(size > prev);
			assert_true(per * size <= span);
			assert_true(obj <= spans * per);
			objects += obj;
			prev = size;
		}
		/* churn keeps objects of 16..256 bytes live: the bins hold them */
		assert_true(objects > 1000);
		json_t *tail = json_object_get(json_object_get(res(i), "series"), "class_tail_waste");
		assert_true(json_is_integer(json_array_get(tail, 0)));
	}
}

/* drain: RSS read at once and after the configured wait */
static void test_drain_figures(void **state)
{
	for (size_t i = 0; i < NEXP; i++) {
		if (!installed[i])
			continue;
		json_t *f = json_object_get(res(i), "frag");
		assert_true(json_is_object(json_object_get(f, "after_drain")));
		assert_true(json_is_object(json_object_get(f, "after_drain_wait")));
		assert_int_equal(json_integer_value(json_object_get(res(i), "drain_wait_ns")),
				 10000000);
	}
}

/* tunables reach the allocator: jemalloc rejects a bad MALLOC_CONF at start-up,
 * and the suite fails at validation, before any trial */
static void test_tunable_reaches_allocator(void **state)
{
	if (!installed[1])
		skip();
	char path[256], cmd[1024], out[4096];
	snprintf(path, sizeof(path), "%s/tune.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	fprintf(f, "name: tune\nworkloads: [churn]\nallocators: [je-bad]\n"
		   "tunables:\n  je-bad: {allocator: jemalloc, env: {MALLOC_CONF: \"no_such_knob:1\"}}\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/membench validate %s 2>&1", B, path);
	assert_int_equal(run(cmd, out, sizeof(out)), 2);
	if (!strstr(out, ":3:") || !strstr(out, "no_such_knob"))
		fail_msg("output: %s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_is_there),
		cmocka_unit_test(test_trials_ok),
		cmocka_unit_test(test_stats_reported),
		cmocka_unit_test(test_identities_hold),
		cmocka_unit_test(test_class_stats),
		cmocka_unit_test(test_drain_figures),
		cmocka_unit_test(test_tunable_reaches_allocator),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
