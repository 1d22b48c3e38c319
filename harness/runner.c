/*
 * The runner. See runner.h.
 */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cachegrind.h"
#include "memcg.h"
#include "pattern.h"
#include "procfs.h"
#include "result.h"
#include "suiterun.h"

#define MB_STATUS_NAME(e, s) s,
const char *const mb_status_names[] = {MB_STATUSES(MB_STATUS_NAME)};

#define STDERR_TAIL 2048 /* bytes of a child's stderr kept in its record */
#define POLL_MS 20       /* how often the watchdog looks at time and RSS */
#define MB_STR_(x) #x
#define MB_STR(x) MB_STR_(x)

typedef struct child_io {
	char *result;          /* everything read from the result pipe */
	size_t rlen, rcap;
	char tail[STDERR_TAIL]; /* ring of the last bytes of stderr */
	size_t tlen;            /* total stderr bytes seen */
} child_io_t;

static void tail_add(child_io_t *io, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		io->tail[(io->tlen + i) % STDERR_TAIL] = b[i];
	io->tlen += n;
}

static json_t *tail_json(const child_io_t *io)
{
	size_t n = io->tlen < STDERR_TAIL ? io->tlen : STDERR_TAIL;
	size_t start = io->tlen < STDERR_TAIL ? 0 : io->tlen % STDERR_TAIL;
	char buf[STDERR_TAIL + 1];
	for (size_t i = 0; i < n; i++) {
		char c = io->tail[(start + i) % STDERR_TAIL];
		buf[i] = (c == '\n' || c == '\t' || (unsigned char)c >= 0x20) ? c : '?';
	}
	buf[n] = 0;
	/* jansson refuses invalid UTF-8: fall back to ASCII-only */
	json_t *j = json_string(buf);
	if (!j) {
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] >= 0x80)
				buf[i] = '?';
		j = json_string(buf);
	}
	return j;
}

/* Drains whatever is readable on fd into io; returns 0 at EOF, 1 otherwise. */
static int drain_fd(int fd, child_io_t *io, int is_result)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (!is_result) {
		tail_add(io, buf, (size_t)n);
		return 1;
	}
	if (io->rlen + (size_t)n + 1 > io->rcap) {
		io->rcap = (io->rlen + (size_t)n + 1) * 2;
		io->result = realloc(io->result, io->rcap);
	}
	memcpy(io->result + io->rlen, buf, (size_t)n);
	io->rlen += (size_t)n;
	io->result[io->rlen] = 0;
	return 1;
}

static volatile sig_atomic_t interrupted;
static pid_t current_child;

static void on_signal(int sig)
{
	interrupted = sig;
	if (current_child > 0)
		kill(-current_child, SIGKILL);
}

static char *u64s(char *buf, uint64_t v)
{
	sprintf(buf, "%llu", (unsigned long long)v);
	return buf;
}

/* The suite's `counters:` as the trial's --counters value. */
static void counters_arg(const mb_suite_t *s, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t i = 0; i < s->counters.n && s->counters_mode == MB_COUNTERS_PAPI; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "",
			 s->counters.v[i]);
	if (s->counters_mode == MB_COUNTERS_CACHEGRIND)
		snprintf(buf, len, "cachegrind");
}

/* The simulated cache geometry, from this machine's topology (once). */
static const mb_cg_geom_t *cg_geom(void)
{
	static mb_cg_geom_t g;
	static int done;
	if (!done) {
		mb_topo_t tp;
		char err[256];
		memset(&g, 0, sizeof(g));
		if (mb_topo_open(&tp, NULL, err, sizeof(err)) == 0) {
			mb_cachegrind_geom(&tp, &g);
			mb_topo_close(&tp);
		}
		done = 1;
	}
	return &g;
}

/* Forks and execs the trial child (under valgrind when cg_out names the
 * callgrind output file) inside memcg; returns its pid, or -errno. */
static pid_t spawn(const mb_suite_t *s, const mb_trial_spec_t *t, int rfd_w, int efd_w,
		   const char *cg_out, const mb_memcg_t *memcg)
{
	char thr[24], seed[24], ops[24], warm[24], samples[24], wait[24], ctrs[4096], cg_store[8192];
	const mb_alloc_ref_t *al = &s->al[t->al];
	counters_arg(s, ctrs, sizeof(ctrs));
	/* simulated: the same workload file gives the same path (and so the same
	 * heap layout) from whatever folder the suite is started */
	char wl_real[PATH_MAX];
	const char *wl_path = s->wl[t->wl]->path;
	if (cg_out && realpath(wl_path, wl_real))
		wl_path = wl_real;
	const char *exe = mb_membench_exe();
	const char *trial_argv[] = {exe ? exe : "membench (not found)", "trial", "--workload", wl_path,
			      "--plugin", al->plugin, "--threads", u64s(thr, t->threads),
			      "--seed", u64s(seed, t->seed), "--ops", u64s(ops, t->ops),
			      "--warmup", u64s(warm, t->warmup), "--samples",
			      /* under valgrind one chunk: the main thread's memory sampling
			       * between chunks would stir the simulated caches run by run */
			      cg_out ? "1" : u64s(samples, s->sample_points), "--result-fd", "3",
			      "--counters", ctrs, "--pin", mb_pin_names[s->pin],
			      "--membind", mb_membind_names[s->membind],
			      "--drain-wait-ns", u64s(wait, s->drain_wait_ns),
			      s->memory_profile ? "--memory-profile" : NULL, NULL};
	const char *argv[64];
	int n = cg_out ? mb_cachegrind_argv(cg_geom(), cg_out, argv, cg_store,
					    sizeof(cg_store)) : 0;
	if (n < 0)
		return -ENOENT;
	memcpy(argv + n, trial_argv, sizeof(trial_argv));
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	/* child: own process group, so a timeout kills everything it started */
	setpgid(0, 0);
	mb_memcg_enter(memcg);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	int devnull = open("/dev/null", O_RDWR);
	dup2(devnull, 0);
	dup2(efd_w, 1);
	dup2(efd_w, 2);
	if (rfd_w != 3) {
		dup2(rfd_w, 3);
		close(rfd_w);
	}
	mb_allocator_setenv(al); /* LD_PRELOAD, the allocator's tunables (and sanitizer options) */
	if (cg_out) {
		mb_cachegrind_flush_env(cg_geom());
		mb_cachegrind_pad_env(trial_argv);
	}
	execv(argv[0], (char *const *)argv);
	fprintf(stderr, "membench: cannot exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

json_t *mb_trial_exec(const mb_suite_t *s, const mb_trial_spec_t *t)
{
	const mb_workload_t *wl = s->wl[t->wl];
	json_t *rec = json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:I}",
		"schema_version", MB_RESULT_SCHEMA, "id", t->id, "workload", wl->name,
		"allocator", s->al[t->al].name, "threads", (int)t->threads, "rep", (int)t->rep,
		"seed", (json_int_t)t->seed, "ops", (json_int_t)t->ops, "warmup",
		(json_int_t)t->warmup);
	/* the cachegrind mode: callgrind writes its totals to cg_out at exit */
	char cg_out[4096] = "";
	int sim = s->counters_mode == MB_COUNTERS_CACHEGRIND;
	uint64_t timeout_ns = s->timeout_ns * (sim ? MB_CG_TIMEOUT_FACTOR : 1);
	if (sim) {
		const char *tmp = getenv("TMPDIR");
		snprintf(cg_out, sizeof(cg_out), "%s/membench-cg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		int fd = mkstemp(cg_out);
		if (fd >= 0)
			close(fd);
	}
	int rp[2], ep[2];
	if (pipe2(rp, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		json_object_set_new(rec, "status", json_string(mb_status_names[MB_ST_ERROR]));
		json_object_set_new(rec, "error", json_string(strerror(errno)));
		return rec;
	}
	/* the child's ends must survive exec: clear CLOEXEC on them in the child
	 * via dup2 (dup2 clears it), except rp[1] when it already is fd 3 */
	if (rp[1] == 3) {
		int d = dup(rp[1]);
		close(rp[1]);
		rp[1] = d;
		fcntl(rp[1], F_SETFD, FD_CLOEXEC);
	}
	child_io_t io = {0};
	uint64_t t0 = mb_now_ns(), peak_rss = 0;
	mb_memcg_t memcg;
	mb_memcg_create(&memcg, s->memory_limit);
	/* with a cgroup the kernel stops the trial at the limit and the watchdog
	 * is a backstop (a child that could not enter it): an eighth above, as
	 * RSS also counts shared file pages the cgroup does not charge */
	uint64_t rss_limit = s->memory_limit + (memcg.version ? s->memory_limit / 8 : 0);
	pid_t pid = spawn(s, t, rp[1], ep[1], sim ? cg_out : NULL, &memcg);
	close(rp[1]);
	close(ep[1]);
	mb_status_t st = MB_ST_OK;
	int wstatus = 0, killed_for = -1, open_r = 1, open_e = 1;
	if (pid < 0) {
		st = MB_ST_ERROR;
		tail_add(&io, "cannot fork", 11);
		open_r = open_e = 0;
	} else {
		current_child = pid;
		setpgid(pid, pid); /* also here: no race with the child's own setpgid */
	}
	int done = pid < 0;
	while (!done) {
		struct pollfd pf[2] = {{rp[0], POLLIN, 0}, {ep[0], POLLIN, 0}};
		if (open_r || open_e) {
			if (poll(pf, 2, POLL_MS) > 0) {
				if (open_r && (pf[0].revents & (POLLIN | POLLHUP)))
					open_r = drain_fd(rp[0], &io, 1);
				if (open_e && (pf[1].revents & (POLLIN | POLLHUP)))
					open_e = drain_fd(ep[0], &io, 0);
				if (!open_r)
					pf[0].fd = -1;
				if (!open_e)
					pf[1].fd = -1;
			}
		} else {
			usleep(POLL_MS * 1000);
		}
		pid_t w = waitpid(pid, &wstatus, WNOHANG);
		if (w == pid) {
			/* read what is left in the pipes */
			while (open_r && (open_r = drain_fd(rp[0], &io, 1)))
				;
			while (open_e && (open_e = drain_fd(ep[0], &io, 0)))
				;
			done = 1;
			break;
		}
		uint64_t rss = mb_proc_rss(pid);
		if (rss > peak_rss)
			peak_rss = rss;
		if (killed_for < 0 && mb_now_ns() - t0 > timeout_ns)
			killed_for = MB_ST_TIMEOUT;
		else if (killed_for < 0 && rss > rss_limit)
			killed_for = MB_ST_OOM;
		else if (killed_for < 0 && interrupted)
			killed_for = MB_ST_ERROR;
		if (killed_for >= 0)
			kill(-pid, SIGKILL);
	}
	current_child = 0;
	uint64_t cg_ooms = mb_memcg_oom_kills(&memcg), cg_peak = mb_memcg_peak(&memcg);
	close(rp[0]);
	close(ep[0]);
	double wall = (double)(mb_now_ns() - t0) / 1e9;
	json_t *result = NULL;
	if (pid > 0) {
		if (killed_for >= 0) {
			st = (mb_status_t)killed_for;
		} else if (cg_ooms) {
			st = MB_ST_OOM;
		} else if (WIFSIGNALED(wstatus)) {
			st = WTERMSIG(wstatus) == SIGKILL ? MB_ST_OOM : MB_ST_CRASHED;
			/* SIGKILL we did not send: the kernel's OOM killer */
		} else if (WEXITSTATUS(wstatus) == 4) {
			st = MB_ST_OOM;
		} else if (WEXITSTATUS(wstatus) != 0) {
			st = MB_ST_FAILED;
		}
		if (st == MB_ST_OK) {
			json_error_t jerr;
			result = io.rlen ? json_loads(io.result, 0, &jerr) : NULL;
			if (!result) {
				st = MB_ST_FAILED;
				tail_add(&io, "\n[membench: no result from the trial]", 37);
			}
		}
		if (result && sim) {
			mb_cg_totals_t tot;
			char why[512];
			int ok = mb_cachegrind_parse(cg_out, &tot, why, sizeof(why)) == 0;
			mb_cachegrind_merge(result, ok ? &tot : NULL, cg_geom(), why);
		}
		if (WIFSIGNALED(wstatus)) {
			json_object_set_new(rec, "signal", json_integer(WTERMSIG(wstatus)));
			json_object_set_new(rec, "signal_name", json_string(strsignal(WTERMSIG(wstatus))));
		} else {
			json_object_set_new(rec, "exit_code", json_integer(WEXITSTATUS(wstatus)));
		}
	}
	if (killed_for == MB_ST_TIMEOUT)
		json_object_set_new(rec, "reason", json_sprintf("killed after the %.1f s timeout%s",
			(double)timeout_ns / 1e9, sim ? " (the suite's timeout times "
			MB_STR(MB_CG_TIMEOUT_FACTOR) " under valgrind)" : ""));
	else if (cg_ooms)
		json_object_set_new(rec, "reason",
			json_sprintf("killed by the kernel's OOM killer at the trial's memory "
				     "cgroup limit of %llu bytes (%s)",
				     (unsigned long long)s->memory_limit, mb_memcg_enforcer(&memcg)));
	else if (st == MB_ST_OOM)
		json_object_set_new(rec, "reason",
			json_sprintf("RSS passed the memory limit of %llu bytes, or an allocation failed",
				     (unsigned long long)s->memory_limit));
	json_object_set_new(rec, "status", json_string(mb_status_names[st]));
	json_object_set_new(rec, "wall_s", json_real(wall));
	json_object_set_new(rec, "watchdog_peak_rss", json_integer((json_int_t)peak_rss));
	json_object_set_new(rec, "memory_limit_by", json_string(mb_memcg_enforcer(&memcg)));
	if (memcg.version)
		json_object_set_new(rec, "cgroup_peak_bytes", json_integer((json_int_t)cg_peak));
	else
		json_object_set_new(rec, "cgroup_unavailable", json_string(memcg.why));
	mb_memcg_destroy(&memcg);
	json_object_set_new(rec, "stderr_tail", tail_json(&io));
	json_object_set_new(rec, "result", result ? result : json_null());
	free(io.result);
	if (sim)
		unlink(cg_out);
	return rec;
}

static const struct option run_opts[] = {
	{"resume", required_argument, NULL, 'r'},   {"output", required_argument, NULL, 'o'},
	{"workloads", required_argument, NULL, 'w'}, {"debug-results", no_argument, NULL, 'd'},
	{"quiet", no_argument, NULL, 'q'},           {"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const char run_usage[] =
	"usage: membench run [options] CONFIG.yaml\n"
	"       membench run --resume RESULTS_DIR\n"
	"Runs a suite: every workload x allocator x thread count x repetition, each\n"
	"trial in its own process. Results go to <output>/<suite>-<time>/ and\n"
	"<output>/latest points at the newest run.\n"
	"  --resume DIR      finish an interrupted run; finished trials are kept\n"
	"  --output DIR      results folder (default: the config's `output`, results)\n"
	"  --workloads DIR   where workload names are looked up (default: workloads)\n"
	"  --debug-results   allow a sanitizer or unoptimised build to write results\n"
	"                    (marked as such; their numbers mislead); also\n"
	"                    MEMBENCH_DEBUG_RESULTS=1\n"
	"  --quiet           no progress output\n"
	"Exit: 0 every trial ok, 1 some trial failed, 2 usage or config error.\n";

int mb_cmd_run(int argc, char **argv)
{
	mb_suiterun_opts_t o = {.wl_dir = "workloads"};
	int c;
	while ((c = getopt_long(argc, argv, "h", run_opts, NULL)) != -1) {
		switch (c) {
		case 'r': o.resume = optarg; break;
		case 'o': o.output = optarg; break;
		case 'w': o.wl_dir = optarg; break;
		case 'd': o.debug_results = 1; break;
		case 'q': o.quiet = 1; break;
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	const char *dbg = getenv("MEMBENCH_DEBUG_RESULTS");
	if (dbg && *dbg && strcmp(dbg, "0"))
		o.debug_results = 1;
	if (o.resume ? optind != argc : optind != argc - 1) {
		fputs(run_usage, stderr);
		return 2;
	}
	o.config = o.resume ? NULL : argv[optind];
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = mb_suiterun(&o, &interrupted);
	return rc;
}
