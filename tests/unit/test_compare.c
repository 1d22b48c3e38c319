/* Unit tests of analysis/compare.c on results folders written here (the trial
 * record's real layout, only the fields compare reads): an injected
 * regression must exit 1, noise of the same size as the spread must not,
 * too few samples must warn, deterministic metrics compare exactly. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "compare.h"
#include "result.h"

#define REPS 8

static char root[256];

/* xorshift, so the noise is the same on every machine */
static uint64_t rng_state;
static double urand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Writes DIR/trials/churn__system__t1__rK.json for K < reps: ns_per_op from
 * ns[], the stream (deterministic) from allocs. */
static void write_run(const char *dir, const double *ns, int reps, long allocs)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/trials", dir);
	mb_mkdirs(path);
	for (int k = 0; k < reps; k++) {
		json_t *rec = json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:s, s:{s:f, s:I, s:{s:I}}}",
			"schema_version", 1, "id", "x", "workload", "churn", "allocator", "system",
			"threads", 1, "rep", k, "status", "ok", "result", "ns_per_op", ns[k],
			"peak_rss", (json_int_t)(5 << 20), "stream", "allocs", (json_int_t)allocs);
		snprintf(path, sizeof(path), "%s/trials/churn__system__t1__r%d.json", dir, k);
		assert_int_equal(json_dump_file(rec, path, 0), 0); /* no fsync: a test folder */
		json_decref(rec);
	}
}

/* Compares two folders on ns_per_op (or the given metrics); returns the
 * number of regressions and the first row's verdict. */
static size_t run_compare(const char *a, const char *b, const char *metrics, int *verdict,
			  size_t *nwarn)
{
	char err[512];
	rundir_t *x = rundir_load(a, err, sizeof(err)), *y = rundir_load(b, err, sizeof(err));
	assert_non_null(x);
	assert_non_null(y);
	compare_opts_t o = {.alpha = 0.05, .threshold_pct = 5, .conf = 0.95, .metrics = metrics};
	compare_t c;
	compare_runs(x, y, &o, &c);
	assert_true(c.nrow >= 1);
	size_t n = c.nregress;
	if (verdict)
		*verdict = c.row[0].verdict;
	if (nwarn)
		*nwarn = c.nwarn;
	compare_free(&c);
	rundir_free(x);
	rundir_free(y);
	return n;
}

/* base: 100 ns +- 10% uniform; new: same distribution (noise) or shifted */
static void make_pair(uint64_t seed, double shift, const char *a, const char *b)
{
	double x[REPS], y[REPS];
	rng_state = seed * 2654435761u + 1;
	for (int k = 0; k < REPS; k++)
		x[k] = 100 * (1 + 0.1 * (2 * urand() - 1));
	for (int k = 0; k < REPS; k++)
		y[k] = 100 * (1 + shift) * (1 + 0.1 * (2 * urand() - 1));
	write_run(a, x, REPS, 1000);
	write_run(b, y, REPS, 1000);
}

static void test_injected_regression(void **state)
{
	/* +20% on a +-10% spread: found every time, and it is a regression */
	for (uint64_t seed = 1; seed <= 20; seed++) {
		char a[300], b[300];
		snprintf(a, sizeof(a), "%s/reg%lu-a", root, (unsigned long)seed);
		snprintf(b, sizeof(b), "%s/reg%lu-b", root, (unsigned long)seed);
		make_pair(seed, 0.20, a, b);
		int v;
		assert_int_equal(run_compare(a, b, "ns_per_op", &v, NULL), 1);
		assert_int_equal(v, CMP_WORSE);
		/* the other way round it is an improvement, not a regression */
		assert_int_equal(run_compare(b, a, "ns_per_op", &v, NULL), 0);
		assert_int_equal(v, CMP_BETTER);
	}
}

static void test_noise_is_not_a_regression(void **state)
{
	/* same distribution, spread +-10%: a false alarm needs p < .05 (5% of
	 * pairs) and a median shift past 5%, so about 2 in 40 are expected; 5 or
	 * fewer holds with probability > 98% under that rate, while a compare that
	 * ignored p would alarm on about half the pairs. Fixed seeds: the count is
	 * the same on every run. */
	int alarms = 0;
	for (uint64_t seed = 100; seed < 140; seed++) {
		char a[300], b[300];
		snprintf(a, sizeof(a), "%s/noise%lu-a", root, (unsigned long)seed);
		snprintf(b, sizeof(b), "%s/noise%lu-b", root, (unsigned long)seed);
		make_pair(seed, 0, a, b);
		alarms += run_compare(a, b, "ns_per_op", NULL, NULL) > 0;
	}
	print_message("noise: %d false alarm(s) in 40 pairs\n", alarms);
	assert_true(alarms <= 5);
	/* the first seed in particular exits clean (the shell test's case) */
	char a[300], b[300];
	snprintf(a, sizeof(a), "%s/noise100-a", root);
	snprintf(b, sizeof(b), "%s/noise100-b", root);
	int v;
	assert_int_equal(run_compare(a, b, "ns_per_op", &v, NULL), 0);
	assert_int_equal(v, CMP_SAME);
}

static void test_too_few_samples(void **state)
{
	char a[300], b[300];
	double x[] = {100, 101}, y[] = {150, 151};
	snprintf(a, sizeof(a), "%s/few-a", root);
	snprintf(b, sizeof(b), "%s/few-b", root);
	write_run(a, x, 2, 1000);
	write_run(b, y, 2, 1000);
	int v;
	size_t nw;
	/* +50%, but 2+2 samples can never give p < .05: undecided, warned, exit 0 */
	assert_int_equal(run_compare(a, b, "ns_per_op", &v, &nw), 0);
	assert_int_equal(v, CMP_UNDECIDED);
	assert_true(nw >= 1);
}

static void test_exact_metric(void **state)
{
	char a[300], b[300];
	double x[REPS], y[REPS];
	for (int k = 0; k < REPS; k++)
		x[k] = y[k] = 100 + k;
	snprintf(a, sizeof(a), "%s/exact-a", root);
	snprintf(b, sizeof(b), "%s/exact-b", root);
	write_run(a, x, REPS, 1000);
	write_run(b, y, REPS, 1001);
	int v;
	size_t nw;
	/* one allocation more in the stream: an exact, significant change (no
	 * direction, so not a regression), and a warning that the runs differ */
	assert_int_equal(run_compare(a, b, "stream_allocs", &v, &nw), 0);
	assert_int_equal(v, CMP_CHANGED);
	assert_true(nw >= 1);
	assert_int_equal(run_compare(a, a, "stream_allocs", &v, NULL), 0);
	assert_int_equal(v, CMP_SAME);
}

static void write_manifest(const char *dir, const char *timing)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	json_t *m = timing ? json_pack("{s:{s:s}}", "build", "timing", timing)
			   : json_pack("{s:{}}", "build");
	assert_int_equal(json_dump_file(m, path, 0), 0);
	json_decref(m);
}

/* A run timed the old way (no build.timing: the whole step) against one that
 * times the tape's replays: one warning more than between two of a kind. */
static void test_timing_kinds_warn(void **state)
{
	char a[300], b[300];
	size_t same, mixed;
	snprintf(a, sizeof(a), "%s/timing-a", root);
	snprintf(b, sizeof(b), "%s/timing-b", root);
	make_pair(7, 0, a, b);
	write_manifest(a, "tape-replay");
	write_manifest(b, "tape-replay");
	run_compare(a, b, NULL, NULL, &same);
	write_manifest(a, NULL);
	run_compare(a, b, NULL, NULL, &mixed);
	assert_int_equal(mixed, same + 1);
}

int main(void)
{
	snprintf(root, sizeof(root), "%s/mb-test-compare-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_injected_regression),
		cmocka_unit_test(test_noise_is_not_a_regression),
		cmocka_unit_test(test_too_few_samples),
		cmocka_unit_test(test_exact_metric),
		cmocka_unit_test(test_timing_kinds_warn),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
