/*
 * Config loading: every error class gives `file:line:column: message` with the
 * exact position, and valid files load into the right typed values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char dir[256];

static void write_file(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char churn_wl[] = "pattern: churn\nops: 1000\nparams: {live: 10}\n";

/* Loads suite text (as s.yaml) and returns everything the loader printed. */
static char *suite_errors(const char *text, mb_suite_t **out)
{
	char *buf = NULL, p[512];
	size_t len = 0;
	write_file("s.yaml", text);
	snprintf(p, sizeof(p), "%s/s.yaml", dir);
	mb_yctx_t y = {.err = open_memstream(&buf, &len)};
	mb_suite_t *s = mb_suite_load(&y, p, dir);
	fclose(y.err);
	if (out)
		*out = s;
	else
		mb_suite_free(s);
	/* strip the temp folder so expectations read as "s.yaml:L:C: ..." */
	char *o = buf, *w = buf;
	size_t dl = strlen(dir) + 1;
	while (*o) {
		if (!strncmp(o, dir, dl - 1) && o[dl - 1] == '/')
			o += dl;
		else
			*w++ = *o++;
	}
	*w = 0;
	return buf;
}

#define EXPECT_ERR(text, msg)                                           \
	do {                                                            \
		char *e_ = suite_errors(text, NULL);                    \
		if (!strstr(e_, msg))                                   \
			fail_msg("expected\n  %s\ngot\n  %s", msg, e_); \
		free(e_);                                               \
	} while (0)

static void test_valid_suite(void **st)
{
	mb_suite_t *s;
	char *e = suite_errors("workloads: [churn]\nallocators: [system]\nthreads: [1, 2]\n"
			       "memory_limit: 2GiB\ntimeout: 1500ms\nops_scale: 0.5\n", &s);
	assert_string_equal(e, "");
	assert_non_null(s);
	assert_int_equal(s->nwl, 1);
	assert_int_equal(s->nal, 1);
	assert_int_equal(s->threads.n, 2);
	assert_int_equal(s->memory_limit, 2ull << 30);
	assert_int_equal(s->timeout_ns, 1500000000ull);
	assert_int_equal(s->repetitions, 3); /* the default */
	assert_true(s->ops_scale == 0.5);
	assert_string_equal(s->name, "s");
	mb_suite_free(s);
	free(e);
}

static void test_syntax_error(void **st)
{
	EXPECT_ERR("workloads: [churn\nallocators: [system]\n", "s.yaml:2:11: YAML syntax error");
}

static void test_unknown_key_suggests(void **st)
{
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nrepetitons: 3\n",
		   "s.yaml:3:1: unknown key 'repetitons' (did you mean 'repetitions'?)");
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nzzz: 3\n",
		   "s.yaml:3:1: unknown key 'zzz'\n");
}

static void test_wrong_type(void **st)
{
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nrepetitions: many\n",
		   "s.yaml:3:14: repetitions: expected a non-negative integer, got 'many'");
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nrepetitions: \"3\"\n",
		   "s.yaml:3:14: repetitions: expected a count, got a quoted string");
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nthreads: {a: 1}\n",
		   "s.yaml:3:10: threads: expected a list of counts, got a mapping");
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nmemory_limit: 2 parsecs\n",
		   "s.yaml:3:15: memory_limit: expected a size");
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\npin: diagonal\n",
		   "s.yaml:3:6: pin: 'diagonal' is not one of: none, compact, scatter");
}

static void test_out_of_range(void **st)
{
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nrepetitions: 0\n",
		   "s.yaml:3:14: repetitions: 0 is out of range [1, 1000]");
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nthreads: [1, 5000]\n",
		   "s.yaml:3:14: threads: 5000 is out of range [1, 1024]");
}

static void test_missing_required(void **st)
{
	EXPECT_ERR("workloads: [churn]\n", "s.yaml:1:1: missing required key 'allocators'");
}

static void test_duplicate_key(void **st)
{
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\nseed: 1\nseed: 2\n",
		   "s.yaml:4:1: duplicate key 'seed' (first at line 3)");
}

static void test_bad_references(void **st)
{
	EXPECT_ERR("workloads: [churn, nope]\nallocators: [system]\n",
		   "s.yaml:1:20: workloads: no workload 'nope'");
	EXPECT_ERR("workloads: [churn]\nallocators: [system, jemaloc]\n",
		   "s.yaml:2:22: allocators: no allocator named 'jemaloc' (did you mean 'jemalloc'?)");
	EXPECT_ERR("workloads: [churn]\nallocators: [system, system]\n",
		   "s.yaml:2:22: allocators: 'system' is listed twice");
}

static void test_workload_errors(void **st)
{
	write_file("bad.yaml", "pattern: churn\nops: 10\nparams:\n  live: -3\n  sise: 8\n");
	EXPECT_ERR("workloads: [bad]\nallocators: [system]\n",
		   "bad.yaml:4:9: live: expected a non-negative integer, got '-3'");
	EXPECT_ERR("workloads: [bad]\nallocators: [system]\n",
		   "bad.yaml:5:3: unknown key 'sise' (did you mean 'size'?)");
	write_file("bad2.yaml", "pattern: chrun\nops: 10\n");
	EXPECT_ERR("workloads: [bad2]\nallocators: [system]\n",
		   "bad2.yaml:1:10: pattern: no pattern named 'chrun' (did you mean 'churn'?)");
	write_file("bad3.yaml", "pattern: churn\nops: 10\nparams:\n"
				"  size: {dist: uniform, min: 64, max: 8}\n");
	EXPECT_ERR("workloads: [bad3]\nallocators: [system]\n",
		   "bad3.yaml:4:9: size: uniform needs min <= max");
	write_file("bad4.yaml", "pattern: churn\nops: 10\nparams:\n"
				"  size: {dist: table, values: [8, 16], weights: [1]}\n");
	EXPECT_ERR("workloads: [bad4]\nallocators: [system]\n",
		   "bad4.yaml:4:9: size: table has 2 values but 1 weights");
}

static void test_empty_and_multi_doc(void **st)
{
	EXPECT_ERR("", "s.yaml:1:1: empty document");
	EXPECT_ERR("workloads: [churn]\nallocators: [system]\n---\na: 1\n",
		   "s.yaml:4:1: more than one YAML document");
	EXPECT_ERR("- a\n- b\n", "s.yaml:1:1: expected a mapping");
}

static void test_scalar_parsers(void **st)
{
	char err[160];
	uint64_t v;
	assert_int_equal(mb_parse_size("64KiB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(mb_parse_size("1.5GiB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3ull << 29);
	assert_int_equal(mb_parse_size("2MB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2000000);
	assert_int_equal(mb_parse_size("1.5", &v, err, sizeof(err)), -1);
	assert_int_equal(mb_parse_duration("250ms", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 250000000);
	assert_int_equal(mb_parse_duration("2m", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 120000000000ull);
	assert_int_equal(mb_parse_uint("1_000_000", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1000000);
	assert_int_equal(mb_parse_uint("1e6", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1000000);
	assert_int_equal(mb_parse_uint("1.5e0", &v, err, sizeof(err)), -1);
	assert_int_equal(mb_parse_uint("-1", &v, err, sizeof(err)), -1);
}

static void test_defaults_parse(void **st)
{
	/* every default in every table must parse: a bad one is a programming error */
	mb_suite_t s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(mb_opt_defaults(mb_suite_options, &s), 0);
	mb_opt_free(mb_suite_options, &s);
	for (const mb_pattern_t *const *p = mb_patterns; *p; p++) {
		void *params = calloc(1, (*p)->params_size);
		assert_int_equal(mb_opt_defaults((*p)->options, params), 0);
		mb_workload_params_free(*p, params);
	}
}

static int setup(void **st)
{
	snprintf(dir, sizeof(dir), "/tmp/mb-test-config-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	write_file("churn.yaml", churn_wl);
	char plugins[512];
	const char *b = getenv("MB_BUILD_DIR");
	snprintf(plugins, sizeof(plugins), "%s/plugins", b ? b : "build");
	setenv("MEMBENCH_PLUGIN_DIR", plugins, 1);
	return 0;
}

static int teardown(void **st)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_suite),      cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unknown_key_suggests), cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_out_of_range),     cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_duplicate_key),    cmocka_unit_test(test_bad_references),
		cmocka_unit_test(test_workload_errors),  cmocka_unit_test(test_empty_and_multi_doc),
		cmocka_unit_test(test_scalar_parsers),   cmocka_unit_test(test_defaults_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
