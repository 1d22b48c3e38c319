/*
 * Plug-ins that must be refused, each with its clear message, and the generic
 * path: a malloc replacement given by path, preloaded ahead of the generic
 * plug-in, really serving the trial's allocations. Uses the fixtures in
 * tests/integration/plugin_fixtures/ (built into $MB_BUILD_DIR/tests/plugins/).
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

/* Sanitizer builds: leaks and ODR reports at exit from dlopen'd test plug-ins
 * are not what these tests check. A malloc replacement cannot run beside the
 * sanitizer's own malloc, so the generic tests are skipped there. */
#ifdef MB_SANITIZER
#define SAN_ENV "ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0"
#define SKIP_UNDER_SANITIZER() skip()
#else
#define SAN_ENV ""
#define SKIP_UNDER_SANITIZER() ((void)0)
#endif

static const char *B;
static char tmpdir[64];

/* Runs cmd (stderr folded into stdout); returns its exit status, output in out. */
static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void probe_refuses(const char *plugin, const char *want)
{
	char cmd[1024], out[4096];
	snprintf(cmd, sizeof(cmd), "%s %s/membench probe --plugin %s/tests/plugins/%s 2>&1",
		 SAN_ENV, B, B, plugin);
	int rc = run(cmd, out, sizeof(out));
	if (rc != 3 || !strstr(out, want))
		fail_msg("%s: exit %d, output: %s (wanted exit 3 and '%s')", plugin, rc, out, want);
}

static void test_wrong_abi_version(void **state)
{
	probe_refuses("mb-badabi.so", "built for ABI version 101, this membench needs 1");
}

static void test_missing_entry(void **state)
{
	probe_refuses("mb-nofree.so", "missing required entry 'free'");
	probe_refuses("mb-badstack.so", "stack_alloc and stack_free come together");
}

static void test_missing_symbol(void **state)
{
	probe_refuses("libtinymalloc.so", "no symbol 'membench_allocator' (not a membench plug-in)");
}

static void test_not_a_shared_object(void **state)
{
	probe_refuses("not-a-plugin.so", "cannot load plug-in");
	probe_refuses("not-a-plugin.so", "invalid ELF header");
}

static void test_selftest_catches_lies(void **state)
{
	probe_refuses("mb-badselftest.so", "usable_size smaller than the requested size");
}

static char *write_suite(const char *name, const char *allocators, const char *extra)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s.yaml", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "name: %s\nworkloads: [churn]\nallocators: %s\nthreads: [2]\nrepetitions: 1\n"
		   "ops_scale: 0.01\nsample_points: 8\ndrain_wait: 0s\n%s", name, allocators,
		extra);
	fclose(f);
	return path;
}

/* a bad plug-in named by path in a suite stops it at validation, with position */
static void test_suite_validation(void **state)
{
	char al[512], cmd[1024], out[4096];
	snprintf(al, sizeof(al), "[system, %s/tests/plugins/mb-badabi.so]", B);
	char *suite = write_suite("badabi", al, "");
	snprintf(cmd, sizeof(cmd), "%s/membench validate %s 2>&1", B, suite);
	assert_int_equal(run(cmd, out, sizeof(out)), 2);
	char want[300];
	snprintf(want, sizeof(want), "%s:3:22: allocators: '", suite);
	if (!strstr(out, want) || !strstr(out, "ABI version"))
		fail_msg("output: %s", out);
}

static json_t *only_trial(const char *outdir)
{
	char cmd[1024], out[4096];
	snprintf(cmd, sizeof(cmd), "ls %s/latest/trials/*.json", outdir);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	out[strcspn(out, "\n")] = 0;
	json_error_t e;
	json_t *j = json_load_file(out, 0, &e);
	assert_non_null(j);
	return j;
}

static void test_generic_tinymalloc(void **state)
{
	SKIP_UNDER_SANITIZER();
	char al[512], cmd[1024], out[8192], outdir[300];
	snprintf(al, sizeof(al), "[%s/tests/plugins/libtinymalloc.so]", B);
	char *suite = write_suite("tiny", al, "memory_profile: true\n");
	snprintf(outdir, sizeof(outdir), "%s/res-tiny", tmpdir);
	snprintf(cmd, sizeof(cmd), "%s/membench run --quiet --debug-results --output %s %s 2>&1", B, outdir, suite);
	if (run(cmd, out, sizeof(out)) != 0)
		fail_msg("run: %s", out);
	json_t *t = only_trial(outdir), *r = json_object_get(t, "result");
	assert_string_equal(json_string_value(json_object_get(t, "status")), "ok");
	/* malloc in the trial was the replacement's, not glibc's */
	const char *from = json_string_value(json_object_get(json_object_get(r, "allocator"),
							     "version"));
	assert_non_null(from);
	assert_non_null(strstr(from, "libtinymalloc.so"));
	/* usable bytes came from its malloc_usable_size: multiples of 16, and the
	 * identity chain holds on every sample */
	json_t *usable = json_object_get(json_object_get(r, "series"), "live_usable");
	json_t *req = json_object_get(json_object_get(r, "series"), "live_requested");
	assert_true(json_array_size(usable) >= 2);
	for (size_t i = 0; i < json_array_size(usable); i++) {
		json_int_t u = json_integer_value(json_array_get(usable, i));
		assert_int_equal(u % 16, 0);
		assert_true(u >= json_integer_value(json_array_get(req, i)));
	}
	json_t *id = json_object_get(json_object_get(r, "frag"), "identities");
	assert_int_equal(json_integer_value(json_object_get(id, "violations")), 0);
	/* RSS only: no allocator stats */
	assert_true(json_is_null(json_object_get(json_object_get(r, "allocator"), "stats_end")));
	json_decref(t);
}

/* a replacement without malloc_usable_size: usable bytes unknown, and the
 * result says why instead of reporting 0 */
static void test_generic_without_usable(void **state)
{
	SKIP_UNDER_SANITIZER();
	char al[512], cmd[1024], out[8192], outdir[300];
	snprintf(al, sizeof(al), "[\"generic:%s/tests/plugins/libtinymalloc-nousable.so\"]", B);
	char *suite = write_suite("nousable", al, "memory_profile: true\n");
	snprintf(outdir, sizeof(outdir), "%s/res-nousable", tmpdir);
	snprintf(cmd, sizeof(cmd), "%s/membench run --quiet --debug-results --output %s %s 2>&1", B, outdir, suite);
	if (run(cmd, out, sizeof(out)) != 0)
		fail_msg("run: %s", out);
	json_t *t = only_trial(outdir), *r = json_object_get(t, "result");
	assert_true(json_is_null(json_array_get(
		json_object_get(json_object_get(r, "series"), "live_usable"), 0)));
	json_t *id = json_object_get(json_object_get(r, "frag"), "identities");
	const char *why = json_string_value(json_object_get(json_object_get(id, "unknown"),
							    "live_usable"));
	assert_non_null(why);
	assert_non_null(strstr(why, "cannot tell"));
	json_decref(t);
}

static int setup(void **state)
{
	B = getenv("MB_BUILD_DIR");
	if (!B)
		B = "build";
	strcpy(tmpdir, "/tmp/mb-plugins-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrong_abi_version),
		cmocka_unit_test(test_missing_entry),
		cmocka_unit_test(test_missing_symbol),
		cmocka_unit_test(test_not_a_shared_object),
		cmocka_unit_test(test_selftest_catches_lies),
		cmocka_unit_test(test_suite_validation),
		cmocka_unit_test(test_generic_tinymalloc),
		cmocka_unit_test(test_generic_without_usable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
