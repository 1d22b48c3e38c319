/*
 * The trial child. See trial.h.
 *
 * Timing: the main thread only coordinates. Workers run the measured operations
 * in `samples` chunks; before and after each chunk all threads meet at a
 * barrier. Each worker reads the clock right before and after its step, and a
 * chunk's time is from the earliest start to the latest end: the barriers'
 * wake-up latency (tens of microseconds on a VM, per chunk) stays out of it.
 * Memory is sampled while the workers wait, so the sampling cost is outside
 * the timed total (it is in the run's wall time).
 * What sampling still costs the timed path (cache state, one barrier pair per
 * chunk) is measured by `make bench-sampling`; see analysis/METRICS.md.
 * Memory-profile trials (--memory-profile) also keep the live usable bytes,
 * one usable_size call per alloc and free: their ns/op is marked as such.
 */
#include "trial.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "barrier.h"
#include "frag.h"
#include "cachegrind.h"
#include "counters.h"
#include "plugin.h"
#include "procfs.h"
#include "result.h"
#include "tape.h"
#include "topology.h"
#include "trial_json.h"
#include "workload.h"

typedef struct trial {
	const mb_trial_args_t *a;
	mb_workload_t *wl;
	mb_run_t run;
	mb_barrier_t bar;        /* spins through sampling pauses: barrier.h */
	uint64_t spin_ns;        /* the workers' spin budget at it (main: 0) */
	pthread_barrier_t wbar; /* workers only: a drain phase ends */
	uint64_t nchunks;
	mb_sched_t sched;       /* chunks and their phases */
	int init_error;
	/* series, one row per sample */
	uint64_t nrows;
	uint64_t *s_ops, *s_ns;
	frag_sample_t *s_mem;
	/* the per-size-class view (class_stats), reused at every sample */
	mb_alloc_class_stats_t *cls;
	int ncls;
	bool usable_unknown; /* the allocator answers usable_size 0 (cannot tell) */
	/* counters and placement (COUNTERS.md) */
	mb_counters_t ctr;
	int simulated;          /* under callgrind: toggle collection per chunk */
	int main_parked;        /* simulated: the main thread is at the chunk end */
	mb_topo_t topo;
	mb_place_t *place;      /* per worker; NULL when not pinned */
} trial_t;

typedef struct worker_arg {
	trial_t *t;
	mb_worker_t *w;
	mb_counters_thread_t ct;
	char bind_error[160];   /* "" when bound as placed (or not pinned) */
	uint64_t c_start, c_end; /* this chunk's step, by the worker's clock; read
	                            by the main thread after the chunk-end barrier */
	uint64_t cpu_ns;         /* CPU time of this thread in measured steps: unlike
	                            the wall clock, not inflated while preempted */
	uint64_t c_ns;           /* a taped pattern: this chunk's replays, summed
	                            (the records between them are not timed) */
	mb_tape_t tape;          /* a taped pattern's (tape.h) */
} worker_arg_t;

/* How long a waiting worker spins at a barrier before it sleeps: longer than
 * one memory sample takes (statm plus the allocator's stats: 10 to 100 us), so
 * a worker keeps its core through the pause between chunks. */
#define MB_BARRIER_SPIN_NS 2000000

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Operations of worker tid in chunk c: total split evenly across threads, then
 * each thread's share evenly across chunks (the remainders go first). */
static uint64_t share(uint64_t total, uint64_t parts, uint64_t i)
{
	return total / parts + (i < total % parts);
}

/* Simulated trials, before collecting: the first time in a chunk, wait until
 * the main thread sleeps (its few steps would land at a different point of
 * the simulated cache's history run by run) and flush once; then all workers
 * start together. */
static void sim_start(trial_t *t, mb_worker_t *w, bool first)
{
	if (first) {
		do
			sched_yield();
		while (!__atomic_load_n(&t->main_parked, __ATOMIC_ACQUIRE) ||
		       !__atomic_load_n(&t->bar.sleepers, __ATOMIC_ACQUIRE));
		/* it counted itself a sleeper just before its futex call: let it
		 * get there (valgrind runs one thread at a time) */
		for (int y = 0; y < 4; y++)
			sched_yield();
		if (w->tid == 0)
			mb_cachegrind_flush();
	}
	pthread_barrier_wait(&t->wbar);
}

/* Replays the worker's tape under the clock and the counters (and, in a
 * simulated trial, collection): a piece, or a long record's flush. Not
 * inlined: workloads/kernel_cost.py collects inside it. */
static __attribute__((noinline)) void timed_replay(void *arg)
{
	worker_arg_t *wa = arg;
	trial_t *t = wa->t;
	if (t->simulated)
		mb_cachegrind_toggle();
	mb_counters_begin(&t->ctr, &wa->ct);
	uint64_t cpu0 = thread_cpu_ns(), t0 = mb_now_ns();
	mb_tape_replay(wa->w, &wa->tape);
	wa->c_ns += mb_now_ns() - t0;
	wa->cpu_ns += thread_cpu_ns() - cpu0;
	mb_counters_end(&t->ctr, &wa->ct);
	if (t->simulated)
		mb_cachegrind_toggle();
}

/* Chunk c of a taped pattern, after the chunk-start barrier: its k
 * operations in pieces of at most MB_TAPE_PIECE_OPS (of the busiest
 * worker: every worker makes the same number of pieces), each recorded
 * untimed and then replayed under the clock and the counters; the phase's
 * end is recorded with the last piece, and a drain (after the workers meet,
 * as in worker_main) is one more piece. A record that fills the tape
 * replays it (timed_replay) and goes on. */
static void tape_chunk(worker_arg_t *wa, uint64_t c, uint64_t k, bool phase_last)
{
	trial_t *t = wa->t;
	mb_worker_t *w = wa->w;
	const mb_pattern_t *pt = t->run.pattern;
	uint64_t most = mb_sched_ops(&t->sched, c, t->run.nthreads, 0);
	uint64_t pieces = most ? (most + MB_TAPE_PIECE_OPS - 1) / MB_TAPE_PIECE_OPS : 1;
	bool drain = phase_last && t->wl->phases[w->phase].end == MB_PHASE_DRAIN;
	wa->c_ns = 0;
	wa->tape.flush = timed_replay; /* a long record's flush is measured too */
	wa->tape.flush_arg = wa;
	for (uint64_t i = 0; i < pieces + drain; i++) {
		if (i < pieces) {
			mb_tape_record(w, &wa->tape, pt->step, share(k, pieces, i));
			if (i + 1 == pieces && phase_last && pt->phase_end)
				mb_tape_record(w, &wa->tape, mb_tape_pattern_phase_end, 0);
		} else {
			/* everyone's replays have sent their last handoffs:
			 * the drain frees them all */
			pthread_barrier_wait(&t->wbar);
			w->epoch = UINT64_MAX;
			mb_tape_record(w, &wa->tape, mb_tape_pattern_drain, 0);
		}
		if (t->simulated) /* every piece starts on all workers at once */
			sim_start(t, w, i == 0);
		timed_replay(wa);
	}
	wa->tape.flush = NULL;
}

static void *worker_main(void *p)
{
	worker_arg_t *wa = p;
	trial_t *t = wa->t;
	mb_worker_t *w = wa->w;
	const mb_run_t *run = &t->run;
	if (t->place) /* a failed bind is recorded in bind_error; the trial runs on */
		mb_topo_bind_self(&t->topo, &t->place[w->tid], t->a->membind, wa->bind_error,
				  sizeof(wa->bind_error));
	mb_counters_thread_open(&t->ctr, &wa->ct);
	if (run->alloc->thread_enter)
		run->alloc->thread_enter();
	int rc = run->pattern->thread_init(w);
	if (!rc && run->pattern->taped)
		rc = mb_tape_init(&wa->tape);
	if (rc)
		__atomic_store_n(&t->init_error, rc, __ATOMIC_SEQ_CST);
	mb_barrier_wait(&t->bar, t->spin_ns); /* A: all initialised */
	mb_barrier_wait(&t->bar, t->spin_ns); /* B: go (or stop, on init error) */
	if (!__atomic_load_n(&t->init_error, __ATOMIC_SEQ_CST)) {
		uint64_t mine = share(t->a->warmup, run->nthreads, w->tid);
		if (mine)
			mb_tape_run_ops(w, &wa->tape, mine);
		mb_barrier_wait(&t->bar, t->spin_ns); /* C: warm-up done */
		mb_barrier_wait(&t->bar, t->spin_ns); /* C2: the schedule is final */
		w->lat_on = !t->simulated; /* simulated time means nothing */
		const mb_sched_t *sc = &t->sched;
		for (uint64_t c = 0; c < t->nchunks; c++) {
			unsigned ph = sc->phase[c];
			w->params = run->phase_params[ph];
			w->phase = ph;
			w->epoch = c + 1;
			mb_barrier_wait(&t->bar, t->spin_ns); /* chunk start */
			uint64_t k = mb_sched_ops(sc, c, run->nthreads, w->tid);
			if (run->pattern->taped) {
				tape_chunk(wa, c, k, c + 1 == sc->first[ph] + sc->count[ph]);
				mb_barrier_wait(&t->bar, t->spin_ns); /* chunk end */
				continue;
			}
			if (t->simulated) {
				sim_start(t, w, true);
				mb_cachegrind_toggle();
			}
			mb_counters_begin(&t->ctr, &wa->ct);
			uint64_t cpu0 = thread_cpu_ns();
			wa->c_start = mb_now_ns();
			if (k)
				run->pattern->step(w, k);
			if (c + 1 == sc->first[ph] + sc->count[ph]) { /* the phase's last chunk */
				if (run->pattern->phase_end)
					run->pattern->phase_end(w);
				if (t->wl->phases[ph].end == MB_PHASE_DRAIN) {
					/* everyone stops sending first: the drain frees all */
					pthread_barrier_wait(&t->wbar);
					w->epoch = UINT64_MAX;
					run->pattern->drain(w);
				}
			}
			wa->c_end = mb_now_ns();
			wa->cpu_ns += thread_cpu_ns() - cpu0;
			mb_counters_end(&t->ctr, &wa->ct);
			if (t->simulated)
				mb_cachegrind_toggle();
			mb_barrier_wait(&t->bar, t->spin_ns); /* chunk end */
		}
		mb_barrier_wait(&t->bar, t->spin_ns); /* E: the last sample is taken */
		w->lat_on = false;
		w->epoch = t->nchunks + 1; /* every handoff is in: drain takes them all */
		mb_tape_run_drain(w, &wa->tape);
		if (run->pattern->counters)
			run->pattern->counters(w);
		mb_barrier_wait(&t->bar, t->spin_ns); /* D: drained */
	}
	mb_counters_thread_close(&t->ctr, &wa->ct);
	if (run->pattern->taped)
		mb_tape_fini(&wa->tape);
	if (run->pattern->thread_fini)
		run->pattern->thread_fini(w);
	if (run->alloc->thread_exit)
		run->alloc->thread_exit();
	return NULL;
}

/* One memory sample; the workers must be stopped (at a barrier, or gone). */
static void sample_memory(trial_t *t, frag_sample_t *m)
{
	int64_t live = 0, objs = 0, usable = 0;
	for (unsigned i = 0; i < t->run.nthreads; i++) {
		mb_opstats_settle(&t->run.workers[i]->st);
		live += t->run.workers[i]->st.live_bytes;
		objs += t->run.workers[i]->st.live_objects;
		usable += t->run.workers[i]->st.live_usable;
	}
	frag_sample_clear(m);
	uint64_t res, shr;
	if (mb_proc_statm(0, &res, &shr) == 0)
		m->rss = res, m->rss_anon = res - shr;
	m->live_requested = (uint64_t)live;
	m->live_objects = (uint64_t)objs;
	if (t->a->memory_profile && !t->usable_unknown)
		m->live_usable = (uint64_t)usable;
	if (t->run.alloc->stats && t->run.alloc->stats(&m->a) != 0)
		memset(&m->a, 0xff, sizeof(m->a)); /* all unknown */
	if (t->ncls > 0 && t->run.alloc->class_stats(t->cls, (size_t)t->ncls) == t->ncls)
		frag_classes_sum(t->cls, (size_t)t->ncls, m);
}

static void sample(trial_t *t, uint64_t ops_done, uint64_t ns)
{
	uint64_t r = t->nrows++;
	t->s_ops[r] = ops_done;
	t->s_ns[r] = ns;
	sample_memory(t, &t->s_mem[r]);
}

/* Counters and placement, before any worker starts. Returns 0, or the exit
 * status (2) after saying why on stderr. */
static int measure_open(trial_t *t)
{
	const mb_trial_args_t *a = t->a;
	char err[256];
	if (a->counters && !strcmp(a->counters, "cachegrind")) {
		if (!mb_cachegrind_active()) {
			fprintf(stderr, "membench trial: --counters cachegrind runs only under "
				"valgrind's callgrind, as `membench run` starts it\n");
			return 2;
		}
		t->simulated = 1;
	} else if (a->counters && *a->counters && strcmp(a->counters, "off")) {
		char *copy = strdup(a->counters), *names[MB_COUNTERS_MAX + 1];
		size_t n = 0;
		for (char *sv, *e = strtok_r(copy, ",", &sv); e; e = strtok_r(NULL, ",", &sv))
			if (n <= MB_COUNTERS_MAX)
				names[n++] = e;
		int rc = mb_counters_open(&t->ctr, names, n);
		free(copy);
		if (rc) {
			fprintf(stderr, "membench trial: at most %d counters\n", MB_COUNTERS_MAX);
			return 2;
		}
	}
	if (a->pin == MB_PIN_NONE && a->membind == MB_MEMBIND_NONE)
		return 0;
	if (mb_topo_open(&t->topo, NULL, err, sizeof(err))) {
		fprintf(stderr, "membench trial: %s\n", err);
		return 2;
	}
	t->place = calloc(a->threads, sizeof(*t->place));
	mb_topo_place(&t->topo, a->pin, a->threads, t->place);
	return 0;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int write_all(int fd, const char *s)
{
	size_t left = strlen(s);
	while (left) {
		ssize_t n = write(fd, s, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		left -= (size_t)n;
	}
	return 0;
}

int mb_trial_run(const mb_trial_args_t *a)
{
	trial_t t = {.a = a};
	mb_yctx_t y = {0};
	char why[512];
	t.wl = mb_workload_load(&y, a->workload);
	if (!t.wl)
		return 2;
	const mb_alloc_ops_t *ops = mb_plugin_load(a->plugin, why, sizeof(why));
	if (!ops) {
		fprintf(stderr, "membench trial: %s\n", why);
		return 3;
	}
	int rc = ops->init();
	if (rc) {
		fprintf(stderr, "membench trial: %s: init failed: %s\n", ops->name, strerror(-rc));
		return 3;
	}
	uint64_t rss_baseline = mb_proc_rss(0); /* before the workload exists */
	mb_run_t *run = &t.run;
	run->pattern = t.wl->pattern;
	run->alloc = ops;
	run->params = t.wl->params;
	run->nthreads = a->threads;
	run->seed = a->seed;
	run->escape_analysis = t.wl->escape_analysis;
	run->cross_thread = t.wl->cross_thread;
	run->gc_paced = t.wl->gc == 1;
	run->gogc = t.wl->gogc;
	run->phase_params = t.wl->phase_params;
	run->nphases = t.wl->nphases;
	if (run->pattern->setup && (rc = run->pattern->setup(run))) {
		fprintf(stderr, "membench trial: pattern setup failed: %s\n", strerror(-rc));
		return rc == -ENOMEM ? 4 : 2;
	}
	if ((rc = measure_open(&t)))
		return rc;
	if (mb_sched_make(t.wl, a->ops, a->samples ? a->samples : 1, &t.sched))
		return 4;
	t.nchunks = t.sched.nchunks;
	uint64_t rows = t.nchunks + 1;
	t.s_ops = calloc(rows, 8), t.s_ns = calloc(rows, 8);
	t.s_mem = calloc(rows, sizeof(*t.s_mem));
	if (ops->class_stats && (t.ncls = ops->class_stats(NULL, 0)) > 0)
		t.cls = calloc((size_t)t.ncls, sizeof(*t.cls));
	if (a->memory_profile) {
		void *probe = ops->malloc(16, 0);
		t.usable_unknown = probe && ops->usable_size(probe) == 0;
		ops->free(probe, 16);
	}
	run->workers = calloc(a->threads, sizeof(*run->workers));
	worker_arg_t *wa = calloc(a->threads, sizeof(*wa));
	pthread_t *th = calloc(a->threads, sizeof(*th));
	/* spin through the sampling pause only when every thread has a core */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	mb_barrier_init(&t.bar, a->threads + 1);
	t.spin_ns = (long)a->threads + 1 <= cpus ? MB_BARRIER_SPIN_NS : 0;
	if (t.simulated) /* under valgrind spinning only burns simulated time */
		t.spin_ns = 0;
	pthread_barrier_init(&t.wbar, NULL, a->threads);
	for (unsigned i = 0; i < a->threads; i++) {
		mb_worker_t *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
		memset(w, 0, sizeof(*w));
		w->run = run;
		w->alloc = ops;
		w->tid = i;
		w->params = run->params;
		mb_opstats_start(w, a->memory_profile); /* from the first allocation on */
		mb_rng_seed(&w->rng, a->seed, i);
		run->workers[i] = w;
		wa[i] = (worker_arg_t){.t = &t, .w = w};
	}
	for (unsigned i = 0; i < a->threads; i++)
		if (pthread_create(&th[i], NULL, worker_main, &wa[i])) {
			fprintf(stderr, "membench trial: cannot start thread %u\n", i);
			_exit(2);
		}
	mb_barrier_wait(&t.bar, 0); /* A */
	int init_error = __atomic_load_n(&t.init_error, __ATOMIC_SEQ_CST);
	mb_barrier_wait(&t.bar, 0); /* B */
	uint64_t warm0 = mb_now_ns();
	uint64_t elapsed = 0, ops_done = 0, rss_drained = 0;
	struct rusage ru0, ru1;
	json_t *smaps_end = NULL, *smaps_drained = NULL, *classes_end = json_null();
	if (!init_error) {
		mb_barrier_wait(&t.bar, 0); /* C */
		if (mb_workload_calibrate(t.wl, a->ops, a->warmup, mb_now_ns() - warm0,
					  a->samples ? a->samples : 1, &t.sched))
			_exit(4);
		mb_barrier_wait(&t.bar, 0); /* C2 */
		sample(&t, 0, 0);
		getrusage(RUSAGE_SELF, &ru0);
		for (uint64_t c = 0; c < t.nchunks; c++) {
			mb_barrier_wait(&t.bar, 0);
			__atomic_store_n(&t.main_parked, 1, __ATOMIC_RELEASE);
			mb_barrier_wait(&t.bar, 0);
			__atomic_store_n(&t.main_parked, 0, __ATOMIC_RELEASE);
			uint64_t first = UINT64_MAX, last = 0, most = 0;
			for (unsigned i = 0; i < a->threads; i++) {
				first = wa[i].c_start < first ? wa[i].c_start : first;
				last = wa[i].c_end > last ? wa[i].c_end : last;
				most = wa[i].c_ns > most ? wa[i].c_ns : most;
			}
			/* a taped pattern's chunk: its busiest worker's replays */
			elapsed += t.run.pattern->taped ? most : last - first;
			for (unsigned i = 0; i < a->threads; i++)
				ops_done += mb_sched_ops(&t.sched, c, a->threads, i);
			sample(&t, ops_done, elapsed);
		}
		getrusage(RUSAGE_SELF, &ru1);
		/* untimed: the live set's shape at the end of the measured phase */
		smaps_end = mb_proc_smaps_rollup();
		if (t.ncls > 0 && ops->class_stats(t.cls, (size_t)t.ncls) == t.ncls) {
			classes_end = json_array();
			for (int k = 0; k < t.ncls; k++)
				json_array_append_new(classes_end, frag_class_json(&t.cls[k]));
		}
		mb_barrier_wait(&t.bar, 0); /* E */
		mb_barrier_wait(&t.bar, 0); /* D */
		rss_drained = mb_proc_rss(0);
	}
	for (unsigned i = 0; i < a->threads; i++)
		pthread_join(th[i], NULL);
	if (init_error) {
		fprintf(stderr, "membench trial: pattern thread_init failed: %s\n",
			strerror(-init_error));
		return init_error == -ENOMEM ? 4 : 2;
	}
	uint64_t rss_exited = mb_proc_rss(0);
	smaps_drained = mb_proc_smaps_rollup();
	uint64_t rss_waited = MB_STAT_UNKNOWN;
	if (a->drain_wait_ns) {
		struct timespec ts = {(time_t)(a->drain_wait_ns / 1000000000u),
				      (long)(a->drain_wait_ns % 1000000000u)};
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		rss_waited = mb_proc_rss(0);
	}
	if (ops->release)
		ops->release();
	uint64_t rss_released = mb_proc_rss(0);
	mb_alloc_stats_t end_stats;
	memset(&end_stats, 0xff, sizeof(end_stats)); /* every field MB_STAT_UNKNOWN */
	int have_stats = ops->stats && ops->stats(&end_stats) == 0;
	if (run->pattern->teardown)
		run->pattern->teardown(run);

	mb_opstats_t sum;
	mb_lathist_t la, lf;
	memset(&la, 0, sizeof(la));
	memset(&lf, 0, sizeof(lf));
	json_t *totals = mb_trial_json_stream(run, &sum, &la, &lf);
	json_t *r = json_object();
	json_object_set_new(r, "ops", json_integer((json_int_t)ops_done));
	json_object_set_new(r, "warmup_ops", json_integer((json_int_t)a->warmup));
	json_object_set_new(r, "elapsed_ns", json_integer((json_int_t)elapsed));
	json_object_set_new(r, "ns_per_op", json_real(ops_done ? (double)elapsed / ops_done : 0));
	uint64_t cpu_ns = 0;
	for (unsigned i = 0; i < a->threads; i++)
		cpu_ns += wa[i].cpu_ns;
	/* workers' CPU time in the measured steps per operation: with one thread,
	 * ns_per_op without the time the thread spent preempted */
	json_object_set_new(r, "cpu_ns_per_op", json_real(ops_done ? (double)cpu_ns / ops_done : 0));
	json_object_set_new(r, "cpu_user_s", json_real(tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime)));
	json_object_set_new(r, "cpu_sys_s", json_real(tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime)));
	json_object_set_new(r, "peak_rss", json_integer((json_int_t)mb_proc_status_kb_field(0, "VmHWM")));
	json_object_set_new(r, "rss_after_drain", json_integer((json_int_t)rss_drained));
	json_object_set_new(r, "rss_after_thread_exit", json_integer((json_int_t)rss_exited));
	json_object_set_new(r, "rss_after_release", json_integer((json_int_t)rss_released));
	json_object_set_new(r, "rss_baseline", json_integer((json_int_t)rss_baseline));
	json_object_set_new(r, "drain_wait_ns", json_integer((json_int_t)a->drain_wait_ns));
	json_object_set_new(r, "rss_after_drain_wait", rss_waited == MB_STAT_UNKNOWN ? json_null()
				: json_integer((json_int_t)rss_waited));
	json_object_set_new(r, "smaps_rollup", json_pack("{s:o, s:o}", "end_of_measure",
		smaps_end ? smaps_end : json_null(), "after_drain",
		smaps_drained ? smaps_drained : json_null()));
	/* usable bytes are kept only here, at one usable_size call per operation:
	 * this trial's ns/op includes that cost */
	json_object_set_new(r, "memory_profile", json_boolean(a->memory_profile));
	json_object_set_new(r, "stream", totals);
	json_object_set_new(r, "latency", json_pack("{s:o, s:o}", "malloc", mb_trial_json_lat(&la),
						    "free", mb_trial_json_lat(&lf)));
	json_object_set_new(r, "allocator", json_pack("{s:s, s:s?, s:o, s:o}", "name", ops->name,
		"version", ops->version ? ops->version() : NULL,
		"stats_end", have_stats ? mb_trial_json_astats(&end_stats) : json_null(),
		"classes_end_of_measure", classes_end));
	json_object_set_new(r, "series", mb_trial_json_series(t.s_ops, t.s_ns, t.s_mem, t.nrows));
	{
		/* the phases summary reads RSS and live bytes at each phase's last row */
		uint64_t *prss = calloc(t.nrows ? t.nrows : 1, 8), *plive = calloc(t.nrows ? t.nrows : 1, 8);
		for (uint64_t k = 0; k < t.nrows; k++) {
			prss[k] = t.s_mem[k].rss;
			plive[k] = t.s_mem[k].live_requested;
		}
		json_object_set_new(r, "phases", mb_workload_phases_json(t.wl, &t.sched, prss, plive));
		free(prss);
		free(plive);
	}
	json_object_set_new(r, "frag", frag_summary_json(r));
	json_object_set_new(r, "counters_mode", json_string(t.simulated ? "cachegrind" :
		t.ctr.n ? "papi" : "off"));
	if (t.ctr.n) {
		mb_counters_thread_t **cts = calloc(a->threads, sizeof(*cts));
		for (unsigned i = 0; i < a->threads; i++)
			cts[i] = &wa[i].ct;
		json_object_set_new(r, "counters", mb_counters_json(&t.ctr, cts, a->threads,
								    ops_done));
		free(cts);
	}
	const char **bind_error = calloc(a->threads, sizeof(*bind_error));
	for (unsigned i = 0; i < a->threads; i++)
		bind_error[i] = wa[i].bind_error;
	json_object_set_new(r, "placement", mb_trial_json_placement(a->pin, a->membind, t.place,
		a->threads, bind_error));
	free(bind_error);
	char *s = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(10));
	int wr = s ? write_all(a->result_fd, s) : -1;
	free(s);
	json_decref(r);
	if (wr)
		fprintf(stderr, "membench trial: cannot write the result: %s\n", strerror(errno));
	for (unsigned i = 0; i < a->threads; i++)
		free(run->workers[i]);
	free(run->workers), free(wa), free(th);
	free(t.s_ops), free(t.s_ns), free(t.s_mem), free(t.cls);
	pthread_barrier_destroy(&t.wbar);
	mb_sched_free(&t.sched);
	mb_counters_close(&t.ctr);
	free(t.place);
	if (t.topo.t)
		mb_topo_close(&t.topo);
	mb_workload_free(t.wl);
	if (wr)
		return 2;
	return sum.failed ? 4 : 0;
}
