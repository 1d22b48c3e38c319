/*
 * Per-trial memory cgroups: a child past the limit is OOM-killed by the kernel
 * and counted as such, one under it is not, the cgroup is removed afterwards,
 * and cgroups of a runner that died are swept. Skipped, with the reason, where
 * this process cannot make a memory cgroup (not root, no controller): the
 * runner then limits trials by its RSS watchdog (test_runner covers that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "memcg.h"

#define LIMIT (32u << 20)

static int make_or_skip(mb_memcg_t *cg)
{
	mb_memcg_create(cg, LIMIT);
	if (!cg->version) {
		print_message("no memory cgroup here: %s\n", cg->why);
		return -1;
	}
	return 0;
}

/* Runs a child in cg that touches bytes of fresh anonymous memory and exits 0;
 * returns its wait status. */
static int child_touches(const mb_memcg_t *cg, size_t bytes)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		mb_memcg_enter(cg);
		char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		for (size_t i = 0; i < bytes; i += 4096)
			p[i] = 1;
		_exit(0);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	return ws;
}

static int dir_exists(const char *d)
{
	struct stat sb;
	return stat(d, &sb) == 0;
}

static void past_the_limit_is_oom_killed(void **state)
{
	mb_memcg_t cg;
	if (make_or_skip(&cg))
		skip();
	assert_string_not_equal(mb_memcg_enforcer(&cg), "RSS watchdog");
	int ws = child_touches(&cg, 4 * (size_t)LIMIT);
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(WTERMSIG(ws), SIGKILL);
	assert_true(mb_memcg_oom_kills(&cg) >= 1);
	uint64_t peak = mb_memcg_peak(&cg);
	assert_true(peak > LIMIT / 2 && peak <= LIMIT);
	char dir[sizeof(cg.dir)];
	memcpy(dir, cg.dir, sizeof(dir));
	mb_memcg_destroy(&cg);
	assert_false(dir_exists(dir));
}

static void under_the_limit_runs_untouched(void **state)
{
	mb_memcg_t cg;
	if (make_or_skip(&cg))
		skip();
	int ws = child_touches(&cg, LIMIT / 4);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	assert_int_equal(mb_memcg_oom_kills(&cg), 0);
	assert_true(mb_memcg_peak(&cg) >= LIMIT / 4);
	mb_memcg_destroy(&cg);
}

/* A cgroup named for a runner pid that no longer exists is removed by the
 * next create in the same parent; one of a live runner is left alone. */
static void a_dead_runners_cgroup_is_swept(void **state)
{
	mb_memcg_t cg;
	if (make_or_skip(&cg))
		skip();
	char parent[sizeof(cg.dir)];
	snprintf(parent, sizeof(parent), "%s", cg.dir);
	*strrchr(parent, '/') = 0;
	mb_memcg_destroy(&cg);

	pid_t dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	char stale[sizeof(parent) + 64], alive[sizeof(parent) + 64];
	snprintf(stale, sizeof(stale), "%s/membench.%ld.7", parent, (long)dead);
	snprintf(alive, sizeof(alive), "%s/membench.%ld.7", parent, (long)getppid());
	assert_int_equal(mkdir(stale, 0755), 0);
	assert_int_equal(mkdir(alive, 0755), 0);

	mb_memcg_create(&cg, LIMIT);
	assert_int_not_equal(cg.version, 0);
	assert_false(dir_exists(stale));
	assert_true(dir_exists(alive));
	mb_memcg_destroy(&cg);
	assert_int_equal(rmdir(alive), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(past_the_limit_is_oom_killed),
		cmocka_unit_test(under_the_limit_runs_untouched),
		cmocka_unit_test(a_dead_runners_cgroup_is_swept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
