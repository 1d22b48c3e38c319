/*
 * Workload schema errors: every pattern's options and the common knobs are
 * checked, each error as file:line:col: message, and good files load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kernels.h"
#include "workload.h"

static char dir[] = "/tmp/mb-wlschema-XXXXXX";

/* Loads text as a workload file; returns the error text (static), and
 * whether it loaded in *ok. */
static const char *load(const char *text, bool *ok)
{
	static char buf[8192];
	char path[128];
	snprintf(path, sizeof(path), "%s/w.yaml", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	memset(buf, 0, sizeof(buf));
	FILE *err = fmemopen(buf, sizeof(buf) - 1, "w");
	mb_yctx_t y = {.err = err};
	mb_workload_t *w = mb_workload_load(&y, path);
	fclose(err);
	*ok = w != NULL;
	mb_workload_free(w);
	return buf;
}

/* The file must fail with msg at line:col. */
static void bad(const char *text, int line, int col, const char *msg)
{
	bool ok;
	const char *out = load(text, &ok);
	char where[64];
	snprintf(where, sizeof(where), "w.yaml:%d:%d: ", line, col);
	if (ok || !strstr(out, where) || !strstr(out, msg))
		fail_msg("want error at %s'%s', got %s: '%s'\nfor:\n%s", where, msg,
			 ok ? "loaded" : "error", out, text);
}

static void good(const char *text)
{
	bool ok;
	const char *out = load(text, &ok);
	if (!ok)
		fail_msg("did not load: %s\nfor:\n%s", out, text);
}

#define HEAD(p) "pattern: " p "\nops: 1000\n"

static void test_escape(void **st)
{
	good(HEAD("escape") "params: {escape_fraction: 0.5, lifetime: permanent}\n");
	bad(HEAD("escape") "params:\n  escape_fraction: 1.5\n", 4, 20, "escape_fraction");
	bad(HEAD("escape") "params:\n  objects: {dist: uniform, min: 1, max: 100}\n", 4, 3,
	    "at most 64 objects");
	bad(HEAD("escape") "params:\n  lifetime: forever\n", 4, 13, "lifetime");
	bad(HEAD("escape") "params:\n  lifetime_ops: {dist: uniform, min: 1, max: 2e7}\n", 4, 3,
	    "lifetime_ops: at most 16777215");
	bad(HEAD("escape") "params:\n  escape_fractoin: 0.5\n", 4, 3, "escape_fraction");
}

static void test_closure(void **st)
{
	good(HEAD("closure") "params: {captures: 8, lifetime: ops}\n");
	bad(HEAD("closure") "params:\n  captures: 9\n", 4, 3, "captures: at most 8");
	bad(HEAD("closure") "params:\n  by_ref_fraction: -1\n", 4, 20, "by_ref_fraction");
	bad(HEAD("closure") "params:\n  var_noscan: maybe\n", 4, 15, "var_noscan");
}

static void test_slice(void **st)
{
	good(HEAD("slice") "params: {elem_size: 24, make_len: {dist: table, values: [1MiB]}}\n");
	bad(HEAD("slice") "params:\n  elem_size: 0\n", 4, 14, "elem_size");
	bad(HEAD("slice") "params:\n  append_batch: 0\n", 4, 17, "append_batch");
	bad(HEAD("slice") "params:\n  elem_size: 1MiB\n  make_len: 5000\n", 4, 3,
	    "slices must stay below 4 GiB");
	bad(HEAD("slice") "params:\n  length: {dist: lognormal, sigma: 0}\n", 4, 11, "sigma");
}

static void test_stacks(void **st)
{
	good(HEAD("stacks") "params: {goroutines: 1000000, stack_start: 8KiB}\n");
	bad(HEAD("stacks") "params:\n  stack_start: 3000\n", 4, 3, "not a power of two");
	bad(HEAD("stacks") "params:\n  stack_start: 1KiB\n", 4, 16, "stack_start");
	bad(HEAD("stacks") "params:\n  goroutines: 0\n", 4, 15, "goroutines");
	bad(HEAD("stacks") "params:\n  call_prob: 2\n", 4, 14, "call_prob");
}

static void test_request(void **st)
{
	good(HEAD("request") "params:\n  escape: {escape_fraction: 0.1}\n  slice: {elem_size: 16}\n");
	bad(HEAD("request") "params:\n  escape: {bogus: 1}\n", 4, 12, "bogus");
	bad(HEAD("request") "params:\n  slice: 5\n", 4, 10, "expected a mapping");
	bad(HEAD("request") "params:\n  closure:\n    captures: 20\n", 5, 5, "captures: at most 8");
	bad(HEAD("request") "params:\n  depth: {dist: nope}\n", 4, 17, "dist");
}

static void test_common(void **st)
{
	good("pattern: escape\nops: 10\ngc: paced\ngogc: 50\ncross_thread_frees: 0.5\n"
	     "escape_analysis: false\n");
	bad("pattern: escape\nops: 10\ngc: maybe\n", 3, 5, "gc");
	bad("pattern: escape\nops: 10\ncross_thread_frees: 2\n", 3, 21, "cross_thread_frees");
	bad("pattern: escape\nops: 10\ngogc: 0\n", 3, 7, "gogc");
	bad("pattern: escape\n", 1, 1, "missing required key 'ops'");
	good("pattern: escape\nduration: 2s\nwarmup: 1000\n");
	bad("pattern: escape\nduration: 2s\n", 2, 11, "needs warmup > 0");
	bad("pattern: escape\nops: 5\nduration: soon\n", 3, 11, "duration");
	/* phases */
	good("pattern: escape\nphases:\n  - {name: a, ops: 10}\n  - {ops: 20, end: drain, "
	     "params: {escape_fraction: 0.9}}\n");
	bad("pattern: escape\nphases: []\n", 2, 9, "non-empty list");
	bad("pattern: escape\nphases:\n  - {name: a}\n", 3, 5, "ops");
	bad("pattern: escape\nphases:\n  - {ops: 5, end: never}\n", 3, 19, "end");
	bad("pattern: escape\nphases:\n  - {ops: 5, params: {escape_fraction: 3}}\n", 3, 40,
	    "escape_fraction");
	bad("pattern: escape\nphases:\n  - {ops: 5, params: 7}\n", 3, 22, "expected a mapping");
	bad("pattern: nosuch\nops: 1\n", 1, 10, "no pattern named 'nosuch'");
}

static void test_phases_params(void **st)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/p.yaml", dir);
	FILE *f = fopen(path, "w");
	fputs("pattern: escape\nparams: {escape_fraction: 0.4, scan_fraction: 0.1}\nphases:\n"
	      "  - {name: up, ops: 100}\n  - {name: down, ops: 300, end: drain,\n"
	      "     params: {escape_fraction: 0.9}}\n", f);
	fclose(f);
	mb_yctx_t y = {0};
	mb_workload_t *w = mb_workload_load(&y, path);
	assert_non_null(w);
	assert_int_equal(w->nphases, 2);
	assert_int_equal(w->ops, 400);
	const escape_params_t *a = w->phases[0].params, *b = w->phases[1].params;
	assert_true(a->escape_fraction == 0.4 && b->escape_fraction == 0.9);
	assert_true(a->scan_fraction == 0.1 && b->scan_fraction == 0.1); /* inherited */
	assert_int_equal(w->phases[1].end, MB_PHASE_DRAIN);
	mb_sched_t s;
	assert_int_equal(mb_sched_make(w, 1000, 8, &s), 0);
	assert_int_equal(s.phase_ops[0] + s.phase_ops[1], 1000);
	assert_int_equal(s.phase_ops[0], 250);
	assert_int_equal(s.count[0], 2);
	assert_int_equal(s.count[1], 6);
	uint64_t sum = 0;
	for (uint64_t c = 0; c < s.nchunks; c++)
		for (unsigned t = 0; t < 3; t++)
			sum += mb_sched_ops(&s, c, 3, t);
	assert_int_equal(sum, 1000);
	mb_sched_free(&s);
	mb_workload_free(w);
}

static int setup(void **st)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),   cmocka_unit_test(test_closure),
		cmocka_unit_test(test_slice),    cmocka_unit_test(test_stacks),
		cmocka_unit_test(test_request),  cmocka_unit_test(test_common),
		cmocka_unit_test(test_phases_params),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
