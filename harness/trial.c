/*
 * The trial child. See trial.h.
 *
 * Timing: the main thread only coordinates. Workers run the measured operations
 * in `samples` chunks; before and after each chunk all threads meet at a
 * barrier, and the main thread's clock runs from the release of the first to
 * the arrival at the second. Memory is sampled while the workers wait, so the
 * sampling cost is outside the timed total (it is in the run's wall time).
 */
#include "trial.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lat.h"
#include "plugin.h"
#include "procfs.h"
#include "result.h"
#include "workload.h"

typedef struct trial {
	const mb_trial_args_t *a;
	mb_workload_t *wl;
	mb_run_t run;
	pthread_barrier_t bar;
	pthread_barrier_t wbar; /* workers only: a drain phase ends */
	uint64_t nchunks;
	mb_sched_t sched;       /* chunks and their phases */
	int init_error;
	/* series, one row per sample */
	uint64_t nrows;
	uint64_t *s_ops, *s_rss, *s_live, *s_live_objs, *s_ns;
	mb_alloc_stats_t *s_astats;
} trial_t;

typedef struct worker_arg {
	trial_t *t;
	mb_worker_t *w;
} worker_arg_t;

/* Operations of worker tid in chunk c: total split evenly across threads, then
 * each thread's share evenly across chunks (the remainders go first). */
static uint64_t share(uint64_t total, uint64_t parts, uint64_t i)
{
	return total / parts + (i < total % parts);
}

static void *worker_main(void *p)
{
	worker_arg_t *wa = p;
	trial_t *t = wa->t;
	mb_worker_t *w = wa->w;
	const mb_run_t *run = &t->run;
	if (run->alloc->thread_enter)
		run->alloc->thread_enter();
	int rc = run->pattern->thread_init(w);
	if (rc)
		__atomic_store_n(&t->init_error, rc, __ATOMIC_SEQ_CST);
	pthread_barrier_wait(&t->bar); /* A: all initialised */
	pthread_barrier_wait(&t->bar); /* B: go (or stop, on init error) */
	if (!__atomic_load_n(&t->init_error, __ATOMIC_SEQ_CST)) {
		uint64_t mine = share(t->a->warmup, run->nthreads, w->tid);
		if (mine)
			run->pattern->step(w, mine);
		pthread_barrier_wait(&t->bar); /* C: warm-up done */
		pthread_barrier_wait(&t->bar); /* C2: the schedule is final */
		w->lat_on = true;
		const mb_sched_t *sc = &t->sched;
		for (uint64_t c = 0; c < t->nchunks; c++) {
			unsigned ph = sc->phase[c];
			w->params = run->phase_params[ph];
			w->phase = ph;
			w->epoch = c + 1;
			pthread_barrier_wait(&t->bar); /* chunk start */
			uint64_t k = mb_sched_ops(sc, c, run->nthreads, w->tid);
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
			pthread_barrier_wait(&t->bar); /* chunk end */
		}
		pthread_barrier_wait(&t->bar); /* E: the last sample is taken */
		w->lat_on = false;
		w->epoch = t->nchunks + 1; /* every handoff is in: drain takes them all */
		run->pattern->drain(w);
		pthread_barrier_wait(&t->bar); /* D: drained */
	}
	if (run->pattern->thread_fini)
		run->pattern->thread_fini(w);
	if (run->alloc->thread_exit)
		run->alloc->thread_exit();
	return NULL;
}

static void sample(trial_t *t, uint64_t ops_done, uint64_t ns)
{
	uint64_t r = t->nrows++;
	int64_t live = 0, objs = 0;
	for (unsigned i = 0; i < t->run.nthreads; i++) {
		live += t->run.workers[i]->st.live_bytes;
		objs += t->run.workers[i]->st.live_objects;
	}
	t->s_ops[r] = ops_done;
	t->s_ns[r] = ns;
	t->s_rss[r] = mb_proc_rss(0);
	t->s_live[r] = (uint64_t)live;
	t->s_live_objs[r] = (uint64_t)objs;
	for (size_t k = 0; k < sizeof(mb_alloc_stats_t) / 8; k++)
		((uint64_t *)&t->s_astats[r])[k] = MB_STAT_UNKNOWN;
	if (t->run.alloc->stats)
		t->run.alloc->stats(&t->s_astats[r]);
}

static json_t *u64_array(const uint64_t *v, uint64_t n, size_t stride)
{
	json_t *a = json_array();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = *(const uint64_t *)((const char *)v + i * stride);
		json_array_append_new(a, x == MB_STAT_UNKNOWN ? json_null()
							      : json_integer((json_int_t)x));
	}
	return a;
}

static json_t *lat_json(const mb_lathist_t *h)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:I}", "samples", (json_int_t)mb_lat_total(h),
			 "p50_ns", mb_lat_percentile(h, 0.50), "p99_ns", mb_lat_percentile(h, 0.99),
			 "p999_ns", mb_lat_percentile(h, 0.999), "max_ns", (json_int_t)h->max_ns);
}

static json_t *astats_json(const mb_alloc_stats_t *s)
{
	json_t *j = json_object();
#define F(x) json_object_set_new(j, #x, s->x == MB_STAT_UNKNOWN ? json_null() \
						       : json_integer((json_int_t)s->x))
	F(allocated);
	F(active);
	F(resident);
	F(mapped);
	F(metadata);
	F(retained);
#undef F
	return j;
}

static json_t *series_json(const trial_t *t)
{
	json_t *j = json_object();
	size_t st = sizeof(mb_alloc_stats_t);
	json_object_set_new(j, "ops", u64_array(t->s_ops, t->nrows, 8));
	json_object_set_new(j, "elapsed_ns", u64_array(t->s_ns, t->nrows, 8));
	json_object_set_new(j, "rss", u64_array(t->s_rss, t->nrows, 8));
	json_object_set_new(j, "live_requested", u64_array(t->s_live, t->nrows, 8));
	json_object_set_new(j, "live_objects", u64_array(t->s_live_objs, t->nrows, 8));
	if (t->run.alloc->stats) {
		const mb_alloc_stats_t *s = t->s_astats;
		json_object_set_new(j, "alloc_allocated", u64_array(&s->allocated, t->nrows, st));
		json_object_set_new(j, "alloc_active", u64_array(&s->active, t->nrows, st));
		json_object_set_new(j, "alloc_resident", u64_array(&s->resident, t->nrows, st));
		json_object_set_new(j, "alloc_mapped", u64_array(&s->mapped, t->nrows, st));
		json_object_set_new(j, "alloc_metadata", u64_array(&s->metadata, t->nrows, st));
	}
	return j;
}

static json_t *totals_json(const trial_t *t, mb_opstats_t *sum, mb_lathist_t *la,
			   mb_lathist_t *lf)
{
	memset(sum, 0, sizeof(*sum));
	uint64_t checksum = 0, local = 0;
	json_t *kc = json_object();
	for (unsigned i = 0; i < t->run.nthreads; i++) {
		const mb_worker_t *w = t->run.workers[i];
		sum->allocs += w->st.allocs;
		sum->frees += w->st.frees;
		sum->alloc_bytes += w->st.alloc_bytes;
		sum->free_bytes += w->st.free_bytes;
		sum->failed += w->st.failed;
		for (unsigned b = 0; b < MB_NBUCKET; b++) {
			sum->bucket_allocs[b] += w->st.bucket_allocs[b];
			sum->bucket_bytes[b] += w->st.bucket_bytes[b];
			sum->bucket_frees[b] += w->st.bucket_frees[b];
		}
		/* per-thread streams are deterministic; combine them in tid order */
		checksum = (checksum ^ w->st.checksum) * 0x100000001b3ull + i;
		local += w->local_bytes;
		mb_lat_merge(la, &w->lat_alloc);
		mb_lat_merge(lf, &w->lat_free);
		const char *const *names = t->run.pattern->counter_names;
		for (unsigned k = 0; names && names[k] && k < 8; k++) {
			json_t *old = json_object_get(kc, names[k]);
			json_int_t v = (old ? json_integer_value(old) : 0) +
				       (json_int_t)w->kernel_counter[k];
			json_object_set_new(kc, names[k], json_integer(v));
		}
	}
	char hex[20];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)checksum);
	json_t *buckets = json_array();
	for (unsigned b = 0; b < MB_NBUCKET; b++)
		if (sum->bucket_allocs[b] || sum->bucket_frees[b])
			json_array_append_new(buckets,
				json_pack("{s:I, s:I, s:I, s:I}", "max_size",
					  (json_int_t)mb_bucket_max(b), "allocs",
					  (json_int_t)sum->bucket_allocs[b], "bytes",
					  (json_int_t)sum->bucket_bytes[b], "frees",
					  (json_int_t)sum->bucket_frees[b]));
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "checksum", hex,
			 "allocs", (json_int_t)sum->allocs, "frees", (json_int_t)sum->frees,
			 "alloc_bytes", (json_int_t)sum->alloc_bytes, "free_bytes",
			 (json_int_t)sum->free_bytes, "failed_allocs", (json_int_t)sum->failed,
			 "local_bytes", (json_int_t)local, "by_size", buckets, "kernel", kc);
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
	if (mb_sched_make(t.wl, a->ops, a->samples ? a->samples : 1, &t.sched))
		return 4;
	t.nchunks = t.sched.nchunks;
	uint64_t rows = t.nchunks + 1;
	t.s_ops = calloc(rows, 8), t.s_rss = calloc(rows, 8), t.s_live = calloc(rows, 8);
	t.s_live_objs = calloc(rows, 8), t.s_ns = calloc(rows, 8);
	t.s_astats = calloc(rows, sizeof(*t.s_astats));
	run->workers = calloc(a->threads, sizeof(*run->workers));
	worker_arg_t *wa = calloc(a->threads, sizeof(*wa));
	pthread_t *th = calloc(a->threads, sizeof(*th));
	pthread_barrier_init(&t.bar, NULL, a->threads + 1);
	pthread_barrier_init(&t.wbar, NULL, a->threads);
	for (unsigned i = 0; i < a->threads; i++) {
		mb_worker_t *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
		memset(w, 0, sizeof(*w));
		w->run = run;
		w->alloc = ops;
		w->tid = i;
		w->params = run->params;
		w->lat_countdown = MB_LAT_PERIOD;
		mb_rng_seed(&w->rng, a->seed, i);
		run->workers[i] = w;
		wa[i] = (worker_arg_t){&t, w};
	}
	for (unsigned i = 0; i < a->threads; i++)
		if (pthread_create(&th[i], NULL, worker_main, &wa[i])) {
			fprintf(stderr, "membench trial: cannot start thread %u\n", i);
			_exit(2);
		}
	pthread_barrier_wait(&t.bar); /* A */
	int init_error = __atomic_load_n(&t.init_error, __ATOMIC_SEQ_CST);
	pthread_barrier_wait(&t.bar); /* B */
	uint64_t warm0 = mb_now_ns();
	uint64_t elapsed = 0, ops_done = 0, rss_drained = 0;
	struct rusage ru0, ru1;
	if (!init_error) {
		pthread_barrier_wait(&t.bar); /* C */
		if (mb_workload_calibrate(t.wl, a->ops, a->warmup, mb_now_ns() - warm0,
					  a->samples ? a->samples : 1, &t.sched))
			_exit(4);
		pthread_barrier_wait(&t.bar); /* C2 */
		sample(&t, 0, 0);
		getrusage(RUSAGE_SELF, &ru0);
		for (uint64_t c = 0; c < t.nchunks; c++) {
			pthread_barrier_wait(&t.bar);
			uint64_t t0 = mb_now_ns();
			pthread_barrier_wait(&t.bar);
			elapsed += mb_now_ns() - t0;
			for (unsigned i = 0; i < a->threads; i++)
				ops_done += mb_sched_ops(&t.sched, c, a->threads, i);
			sample(&t, ops_done, elapsed);
		}
		getrusage(RUSAGE_SELF, &ru1);
		pthread_barrier_wait(&t.bar); /* E: workers may drain now */
		pthread_barrier_wait(&t.bar); /* D */
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
	if (ops->release)
		ops->release();
	uint64_t rss_released = mb_proc_rss(0);
	mb_alloc_stats_t end_stats;
	int have_stats = ops->stats && ops->stats(&end_stats) == 0;
	if (run->pattern->teardown)
		run->pattern->teardown(run);

	mb_opstats_t sum;
	mb_lathist_t la, lf;
	memset(&la, 0, sizeof(la));
	memset(&lf, 0, sizeof(lf));
	json_t *totals = totals_json(&t, &sum, &la, &lf);
	json_t *r = json_object();
	json_object_set_new(r, "ops", json_integer((json_int_t)ops_done));
	json_object_set_new(r, "warmup_ops", json_integer((json_int_t)a->warmup));
	json_object_set_new(r, "elapsed_ns", json_integer((json_int_t)elapsed));
	json_object_set_new(r, "ns_per_op", json_real(ops_done ? (double)elapsed / ops_done : 0));
	json_object_set_new(r, "cpu_user_s", json_real(tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime)));
	json_object_set_new(r, "cpu_sys_s", json_real(tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime)));
	json_object_set_new(r, "peak_rss", json_integer((json_int_t)mb_proc_status_kb_field(0, "VmHWM")));
	json_object_set_new(r, "rss_after_drain", json_integer((json_int_t)rss_drained));
	json_object_set_new(r, "rss_after_thread_exit", json_integer((json_int_t)rss_exited));
	json_object_set_new(r, "rss_after_release", json_integer((json_int_t)rss_released));
	json_object_set_new(r, "stream", totals);
	json_object_set_new(r, "latency", json_pack("{s:o, s:o}", "malloc", lat_json(&la),
						    "free", lat_json(&lf)));
	json_object_set_new(r, "allocator", json_pack("{s:s, s:s?, s:o}", "name", ops->name,
		"version", ops->version ? ops->version() : NULL,
		"stats_end", have_stats ? astats_json(&end_stats) : json_null()));
	json_object_set_new(r, "series", series_json(&t));
	json_object_set_new(r, "phases", mb_workload_phases_json(t.wl, &t.sched, t.s_rss, t.s_live));
	char *s = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(10));
	int wr = s ? write_all(a->result_fd, s) : -1;
	free(s);
	json_decref(r);
	if (wr)
		fprintf(stderr, "membench trial: cannot write the result: %s\n", strerror(errno));
	for (unsigned i = 0; i < a->threads; i++)
		free(run->workers[i]);
	free(run->workers), free(wa), free(th);
	free(t.s_ops), free(t.s_rss), free(t.s_live), free(t.s_live_objs), free(t.s_ns);
	free(t.s_astats);
	pthread_barrier_destroy(&t.bar);
	pthread_barrier_destroy(&t.wbar);
	mb_sched_free(&t.sched);
	mb_workload_free(t.wl);
	if (wr)
		return 2;
	return sum.failed ? 4 : 0;
}

static const struct option trial_opts[] = {
	{"workload", required_argument, NULL, 'w'}, {"plugin", required_argument, NULL, 'p'},
	{"threads", required_argument, NULL, 't'},  {"seed", required_argument, NULL, 's'},
	{"ops", required_argument, NULL, 'o'},      {"warmup", required_argument, NULL, 'u'},
	{"samples", required_argument, NULL, 'n'},  {"result-fd", required_argument, NULL, 'f'},
	{"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
};

static const char trial_usage[] =
	"usage: membench trial --workload FILE [--plugin SO] [--threads N] [--seed S]\n"
	"                      [--ops N] [--warmup N] [--samples N] [--result-fd FD]\n"
	"Internal: runs one trial in this process and writes its measurements as JSON\n"
	"to FD (default 1). `membench run` starts one per trial with the plug-in in\n"
	"LD_PRELOAD. Exit: 0 measured, 2 bad arguments, 3 plug-in refused, 4 out of memory.\n";

int mb_cmd_trial(int argc, char **argv)
{
	mb_trial_args_t a = {.threads = 0, .result_fd = 1, .samples = 200};
	uint64_t thr = 0;
	int have_ops = 0, have_warmup = 0, c;
	char err[160];
	while ((c = getopt_long(argc, argv, "h", trial_opts, NULL)) != -1) {
		uint64_t v = 0;
		if (c != 'w' && c != 'p' && c != 'h' && c != '?' &&
		    mb_parse_uint(optarg, &v, err, sizeof(err))) {
			fprintf(stderr, "membench trial: %s\n", err);
			return 2;
		}
		switch (c) {
		case 'w': a.workload = optarg; break;
		case 'p': a.plugin = optarg; break;
		case 't': thr = v; break;
		case 's': a.seed = v; break;
		case 'o': a.ops = v, have_ops = 1; break;
		case 'u': a.warmup = v, have_warmup = 1; break;
		case 'n': a.samples = v; break;
		case 'f': a.result_fd = (int)v; break;
		case 'h': fputs(trial_usage, stdout); return 0;
		default: fputs(trial_usage, stderr); return 2;
		}
	}
	if (!a.workload || optind != argc) {
		fputs(trial_usage, stderr);
		return 2;
	}
	if (!have_ops || !thr || !a.seed || !have_warmup) {
		/* defaults from the workload file itself, for running a trial by hand */
		mb_yctx_t y = {0};
		mb_workload_t *wl = mb_workload_load(&y, a.workload);
		if (!wl)
			return 2;
		a.ops = have_ops ? a.ops : wl->ops;
		a.warmup = have_warmup ? a.warmup : wl->warmup;
		thr = thr ? thr : wl->threads;
		a.seed = a.seed ? a.seed : wl->seed ? wl->seed : 42;
		mb_workload_free(wl);
	}
	if (thr > 1024) {
		fprintf(stderr, "membench trial: --threads must be 1..1024\n");
		return 2;
	}
	a.threads = (unsigned)thr;
	return mb_trial_run(&a);
}
