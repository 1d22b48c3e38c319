/*
 * The runner, end to end through the membench binary: failing trials are
 * recorded as such while the suite carries on; kill -9 mid-suite then --resume
 * redoes nothing finished and leaves no partial file; configs/ci.yaml runs.
 */
#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[256], exe[512];

static void write_file(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Starts membench with args (NULL-terminated), stdout/stderr to dir/out.log. */
static pid_t start(const char *const *args)
{
	const char *argv[32] = {exe};
	int n = 1;
	for (; args[n - 1]; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		char log[512];
		snprintf(log, sizeof(log), "%s/out.log", dir);
		freopen(log, "a", stdout);
		dup2(1, 2);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int run(const char *const *args)
{
	int st;
	waitpid(start(args), &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static json_t *load(const char *run_dir, const char *id)
{
	char p[1024];
	json_error_t e;
	snprintf(p, sizeof(p), "%s/trials/%s.json", run_dir, id);
	json_t *j = json_load_file(p, 0, &e);
	if (!j)
		fail_msg("cannot load %s: %s", p, e.text);
	return j;
}

static const char *status_of(json_t *j)
{
	return json_string_value(json_object_get(j, "status"));
}

static void faults_wl(const char *name, const char *mode)
{
	char text[256];
	snprintf(text, sizeof(text), "pattern: fault\nops: 100000\nparams: {mode: %s, after_ops: 100}\n",
		 mode);
	write_file(name, text);
}

static void test_failures_recorded_suite_goes_on(void **st)
{
	faults_wl("segv.yaml", "segv");
	faults_wl("abort.yaml", "abort");
	faults_wl("hang.yaml", "hang");
	faults_wl("oom.yaml", "oom");
	faults_wl("exit.yaml", "exit");
	write_file("ok.yaml", "pattern: churn\nops: 10000\nparams: {live: 100}\n");
	char text[1024];
	snprintf(text, sizeof(text),
		 "workloads: [segv, abort, hang, oom, exit, ok]\nallocators: [system]\n"
		 "repetitions: 1\ntimeout: 2s\nmemory_limit: 256MiB\nsample_points: 5\n"
		 "output: %s/out-faults\n", dir);
	write_file("faults.yaml", text);
	char cfg[512], wdir[512];
	snprintf(cfg, sizeof(cfg), "%s/faults.yaml", dir);
	snprintf(wdir, sizeof(wdir), "--workloads=%s", dir);
	time_t t0 = time(NULL);
	int rc = run((const char *const[]){"run", "--quiet", wdir, cfg, NULL});
	assert_int_equal(rc, 1); /* some trial failed */
	assert_true(time(NULL) - t0 < 30);
	char rd[512];
	snprintf(rd, sizeof(rd), "%s/out-faults/latest", dir);
	struct {
		const char *id, *status;
	} want[] = {
		{"segv__system__t1__r0", "crashed"}, {"abort__system__t1__r0", "crashed"},
		{"hang__system__t1__r0", "timeout"}, {"oom__system__t1__r0", "oom"},
		{"exit__system__t1__r0", "failed"},  {"ok__system__t1__r0", "ok"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		json_t *j = load(rd, want[i].id);
		if (strcmp(status_of(j), want[i].status))
			fail_msg("%s: status %s, want %s", want[i].id, status_of(j), want[i].status);
		json_decref(j);
	}
	json_t *j = load(rd, "segv__system__t1__r0");
	assert_int_equal(json_integer_value(json_object_get(j, "signal")), SIGSEGV);
	json_decref(j);
	j = load(rd, "abort__system__t1__r0");
	assert_int_equal(json_integer_value(json_object_get(j, "signal")), SIGABRT);
	json_decref(j);
	j = load(rd, "exit__system__t1__r0");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 7);
	json_decref(j);
	j = load(rd, "ok__system__t1__r0");
	json_t *res = json_object_get(j, "result");
	assert_int_equal(json_integer_value(json_object_get(res, "ops")), 10000);
	assert_true(json_real_value(json_object_get(res, "ns_per_op")) > 0);
	assert_true(json_integer_value(json_object_get(res, "peak_rss")) > 0);
	json_decref(j);
	/* the manifest counts them */
	char mp[600];
	snprintf(mp, sizeof(mp), "%s/manifest.json", rd);
	json_t *m = json_load_file(mp, 0, NULL);
	assert_non_null(m);
	json_t *c = json_object_get(m, "trial_counts");
	assert_int_equal(json_integer_value(json_object_get(c, "crashed")), 2);
	assert_int_equal(json_integer_value(json_object_get(c, "ok")), 1);
	assert_string_equal(json_string_value(json_object_get(m, "status")), "complete");
	json_decref(m);
}

/* Without a memory cgroup (MEMBENCH_MEMCG=off, or a machine that cannot make
 * one) the runner's RSS watchdog kills the trial at the limit; with one (as
 * test_failures_recorded_suite_goes_on ran where it can), the kernel does. */
static void test_oom_by_the_watchdog(void **st)
{
	faults_wl("oom.yaml", "oom");
	char text[1024];
	snprintf(text, sizeof(text), "workloads: [oom]\nallocators: [system]\nrepetitions: 1\n"
		 "timeout: 20s\nmemory_limit: 64MiB\nsample_points: 5\noutput: %s/out-wd\n", dir);
	write_file("wd.yaml", text);
	char cfg[512], wdir[512], rd[512];
	snprintf(cfg, sizeof(cfg), "%s/wd.yaml", dir);
	snprintf(wdir, sizeof(wdir), "--workloads=%s", dir);
	setenv("MEMBENCH_MEMCG", "off", 1);
	int rc = run((const char *const[]){"run", "--quiet", wdir, cfg, NULL});
	unsetenv("MEMBENCH_MEMCG");
	assert_int_equal(rc, 1);
	snprintf(rd, sizeof(rd), "%s/out-wd/latest", dir);
	json_t *j = load(rd, "oom__system__t1__r0");
	assert_string_equal(status_of(j), "oom");
	assert_string_equal(json_string_value(json_object_get(j, "memory_limit_by")),
			    "RSS watchdog");
	assert_string_equal(json_string_value(json_object_get(j, "cgroup_unavailable")),
			    "MEMBENCH_MEMCG=off");
	assert_true(json_integer_value(json_object_get(j, "watchdog_peak_rss")) > (64 << 20));
	json_decref(j);
	/* and the other trial of the faults suite said what limited it */
	snprintf(rd, sizeof(rd), "%s/out-faults/latest", dir);
	j = load(rd, "oom__system__t1__r0");
	const char *by = json_string_value(json_object_get(j, "memory_limit_by"));
	assert_non_null(by);
	if (strcmp(by, "RSS watchdog")) {
		assert_non_null(strstr(json_string_value(json_object_get(j, "reason")),
				       "OOM killer"));
		assert_true(json_integer_value(json_object_get(j, "cgroup_peak_bytes")) <=
			    (256 << 20));
	}
	json_decref(j);
}

static size_t count_files(const char *d, const char *suffix, int tmp)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	size_t n = 0;
	if (!dp)
		return 0;
	while ((e = readdir(dp))) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (tmp ? strstr(e->d_name, ".tmp.") != NULL
			: (l > sl && !strcmp(e->d_name + l - sl, suffix)))
			n++;
	}
	closedir(dp);
	return n;
}

static void test_kill9_then_resume(void **st)
{
	write_file("slow.yaml", "pattern: churn\nops: 400000\nparams: {live: 1000}\n");
	char text[1024];
	snprintf(text, sizeof(text), "workloads: [slow]\nallocators: [system]\nrepetitions: 12\n"
		 "sample_points: 10\noutput: %s/out-resume\n", dir);
	write_file("resume.yaml", text);
	char cfg[512], wdir[512], td[600], rd[600];
	snprintf(cfg, sizeof(cfg), "%s/resume.yaml", dir);
	snprintf(wdir, sizeof(wdir), "--workloads=%s", dir);
	pid_t pid = start((const char *const[]){"run", "--quiet", wdir, cfg, NULL});
	snprintf(rd, sizeof(rd), "%s/out-resume/latest", dir);
	snprintf(td, sizeof(td), "%s/trials", rd);
	/* wait until some but not all trials are done, then kill -9 */
	size_t done = 0;
	for (int i = 0; i < 3000 && done < 3; i++) {
		usleep(10000);
		done = count_files(td, ".json", 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	usleep(200000); /* let an orphaned trial child notice the closed pipe */
	done = count_files(td, ".json", 0);
	assert_true(done >= 3);
	assert_true(done < 12);
	/* every finished file is whole JSON; remember their inodes */
	ino_t inodes[12] = {0};
	for (int r = 0; r < 12; r++) {
		char p[700];
		snprintf(p, sizeof(p), "%s/slow__system__t1__r%d.json", td, r);
		struct stat sb;
		if (stat(p, &sb) == 0) {
			inodes[r] = sb.st_ino;
			json_t *j = json_load_file(p, 0, NULL);
			assert_non_null(j);
			json_decref(j);
		}
	}
	char real[600];
	assert_non_null(realpath(rd, real));
	int rc = run((const char *const[]){"run", "--quiet", "--resume", real, NULL});
	assert_int_equal(rc, 0);
	assert_int_equal(count_files(td, ".json", 0), 12);
	assert_int_equal(count_files(td, "", 1), 0); /* no temporary left behind */
	for (int r = 0; r < 12; r++) {
		char p[700];
		snprintf(p, sizeof(p), "%s/slow__system__t1__r%d.json", td, r);
		struct stat sb;
		assert_int_equal(stat(p, &sb), 0);
		if (inodes[r])
			assert_int_equal(sb.st_ino, inodes[r]); /* not redone */
	}
	/* resuming a run whose config changed is refused */
	snprintf(text, sizeof(text), "workloads: [slow]\nallocators: [system]\nrepetitions: 13\n"
		 "sample_points: 10\noutput: %s/out-resume\n", dir);
	write_file("resume.yaml", text);
	rc = run((const char *const[]){"run", "--quiet", "--resume", real, NULL});
	assert_int_equal(rc, 2);
}

static void test_bad_config_exit2_nothing_runs(void **st)
{
	char text[1024];
	snprintf(text, sizeof(text), "workloads: [ok]\nallocators: [system]\nrepetitons: 2\n"
		 "output: %s/out-bad\n", dir);
	write_file("bad.yaml", text);
	char cfg[512], wdir[512], od[600];
	snprintf(cfg, sizeof(cfg), "%s/bad.yaml", dir);
	snprintf(wdir, sizeof(wdir), "--workloads=%s", dir);
	assert_int_equal(run((const char *const[]){"run", wdir, cfg, NULL}), 2);
	snprintf(od, sizeof(od), "%s/out-bad", dir);
	assert_int_equal(access(od, F_OK), -1); /* no results folder at all */
	assert_int_equal(run((const char *const[]){"validate", wdir, cfg, NULL}), 2);
}

static void test_ci_suite_end_to_end(void **st)
{
	/* the shipped CI suite, from the repo root, into a temporary folder */
	char od[600];
	snprintf(od, sizeof(od), "--output=%s/out-ci", dir);
	assert_int_equal(run((const char *const[]){"run", "--quiet", od, "configs/ci.yaml", NULL}), 0);
	char rd[600], mp[700];
	snprintf(rd, sizeof(rd), "%s/out-ci/latest", dir);
	snprintf(mp, sizeof(mp), "%s/manifest.json", rd);
	json_t *m = json_load_file(mp, 0, NULL);
	assert_non_null(m);
	json_int_t planned = json_integer_value(json_object_get(m, "trials_planned"));
	assert_true(planned > 0);
	assert_int_equal(json_integer_value(json_object_get(m, "schema_version")), 1);
	assert_non_null(json_object_get(m, "build"));
	assert_non_null(json_object_get(m, "host"));
	assert_string_equal(json_string_value(json_object_get(m, "status")), "complete");
	char td[700], sd[700];
	snprintf(td, sizeof(td), "%s/trials", rd);
	snprintf(sd, sizeof(sd), "%s/series", rd);
	assert_int_equal((json_int_t)count_files(td, ".json", 0), planned);
	assert_int_equal((json_int_t)count_files(sd, ".csv", 0), planned);
	json_decref(m);
}

static int setup(void **st)
{
	snprintf(dir, sizeof(dir), "/tmp/mb-test-runner-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	const char *b = getenv("MB_BUILD_DIR");
	char rel[512];
	snprintf(rel, sizeof(rel), "%s/membench", b ? b : "build");
	if (!realpath(rel, exe))
		return -1;
	/* sanitizer builds refuse to write results unless told */
	if (strstr(exe, "build-"))
		setenv("MEMBENCH_DEBUG_RESULTS", "1", 1);
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
		cmocka_unit_test(test_failures_recorded_suite_goes_on),
		cmocka_unit_test(test_oom_by_the_watchdog),
		cmocka_unit_test(test_kill9_then_resume),
		cmocka_unit_test(test_bad_config_exit2_nothing_runs),
		cmocka_unit_test(test_ci_suite_end_to_end),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
