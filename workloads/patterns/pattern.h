/*
 * Workload patterns: the kernels that make allocation streams. See
 * workloads/README.md for what each pattern models.
 *
 * A pattern is one file in workloads/patterns/ that fills an mb_pattern_t and is
 * listed in registry.c. The harness owns threads, timing, sampling and results;
 * a pattern owns its live objects and never knows which allocator it runs on.
 *
 * Life of a trial, as the harness drives it (per worker thread w, tid 0..n-1):
 *   setup(run) once → thread_init(w) → step(w, k) ... (warm-up, then measured
 *   chunks; between chunks all workers are stopped at a barrier while memory is
 *   sampled) → drain(w) (free everything still live) → thread_fini(w) →
 *   teardown(run) once.
 * Phases (workload `phases:`) start and end on chunk boundaries: w->params points
 * at the current phase's params and may change between two steps, so step
 * re-reads it; phase_end(w) runs at the end of each phase, drain(w) too where
 * the phase says `end: drain`.
 *
 * Every allocation and free goes through mb_alloc / mb_free below, which keep the
 * accounting (per-size counts and bytes, stream checksum, sampled latency;
 * the totals and live bytes are derived from them: mb_opstats_settle).
 */
#ifndef MB_PATTERN_H
#define MB_PATTERN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dist.h"
#include "membench_alloc.h"
#include "options.h"
#include "rng.h"

/* Size buckets for the per-size counts: Go's size classes up to 32 KiB
 * (bucket = class 1..67, 0 for size 0; goslice.h), then one bucket per power of
 * two (68: up to 64 KiB, 69: up to 128 KiB, ...), the last one everything
 * above 2^(MB_NBUCKET - 52). mb_bucket_max(b) is a bucket's largest size. */
#define MB_NBUCKET 88
#define MB_BUCKET_LARGE 68

/* Latency histogram: log-linear, 8 sub-buckets per power of two of nanoseconds,
 * so a percentile is exact to within 12.5%. */
#define MB_LAT_SUB 8
#define MB_LAT_BUCKETS (64 * MB_LAT_SUB)
/* One operation in MB_LAT_PERIOD is timed (a prime, so no pattern period aliases). */
#define MB_LAT_PERIOD 997

/* The accounting of one worker's operation stream. mb_alloc and mb_free keep
 * only what must be counted per call: the call's size bucket and the stream
 * checksum. The totals are derived from the buckets by mb_opstats_settle,
 * when the worker is stopped (at a sample point, at the end):
 *   allocs = sum(bucket[b].allocs)      alloc_bytes = sum(bucket[b].alloc_bytes)
 *   frees  = sum(bucket[b].frees)       free_bytes  = sum(bucket[b].free_bytes)
 *   live_objects = allocs - frees       live_bytes  = alloc_bytes - free_bytes
 * A worker may free objects another one made, so its own live figures can be
 * negative; summed over the workers they are the live set. */
typedef struct mb_opcount {
	uint64_t allocs, alloc_bytes;     /* calls, requested bytes */
	uint64_t frees, free_bytes;
} mb_opcount_t;                       /* 32 bytes: an alloc and its free touch one line */

typedef struct mb_opstats {
	/* kept per call */
	uint64_t checksum;                /* of the op stream: (kind, size) in order */
	uint64_t failed;                  /* allocations that returned NULL */
	int64_t live_usable;              /* usable_size() of live objects: kept only
	                                     when the worker's track_usable is set */
	mb_opcount_t bucket[MB_NBUCKET];  /* by size bucket (mb_bucket) */
	/* derived by mb_opstats_settle; stale between two settles */
	uint64_t allocs, frees;
	uint64_t alloc_bytes, free_bytes;
	int64_t live_bytes, live_objects;
} mb_opstats_t;

/* Derives the totals of st from its buckets (the equations above). O(MB_NBUCKET);
 * the worker that owns st must be stopped. */
void mb_opstats_settle(mb_opstats_t *st);

typedef struct mb_lathist {
	uint64_t count[MB_LAT_BUCKETS];
	uint64_t max_ns;
} mb_lathist_t;

typedef struct mb_run mb_run_t;
typedef struct mb_worker mb_worker_t;

struct mb_run {
	const struct mb_pattern *pattern;
	const mb_alloc_ops_t *alloc;
	const void *params;     /* the pattern's params struct, current phase */
	unsigned nthreads;
	uint64_t seed;
	bool escape_analysis;   /* false: every allocation escapes (goes to the heap) */
	double cross_thread;    /* fraction of frees handed to the next thread (live.h) */
	bool gc_paced;          /* dead objects wait for a GC-paced batch free (live.h) */
	uint64_t gogc;          /* GOGC percent for gc_paced: heap goal = live * (1 + GOGC/100) */
	const void *const *phase_params; /* params of every phase, nphases entries;
	                                    patterns size their tables for the largest */
	unsigned nphases;
	void *shared;           /* the pattern's shared state (setup/teardown) */
	mb_worker_t **workers;  /* nthreads entries */
};

struct mb_worker {
	mb_run_t *run;
	const mb_alloc_ops_t *alloc;
	/* alloc->malloc and alloc->free, one load nearer the inline paths (set by
	 * mb_opstats_start) */
	void *(*malloc)(size_t size, unsigned flags);
	void (*free)(void *ptr, size_t size);
	unsigned tid;
	mb_rng_t rng;           /* seeded from (run->seed, tid) */
	void *state;            /* the pattern's per-thread state */
	const void *params;     /* the current phase's params (the harness sets it) */
	unsigned phase;         /* index of the current phase */
	uint64_t epoch;         /* 0 in warm-up, c + 1 in measured chunk c: cross-thread
	                           handoffs of chunk c are taken at the start of c + 1 */
	struct mb_live *live;   /* the thread's live-object engine, if the pattern has one */
	mb_opstats_t st;
	uint32_t slow_countdown; /* calls until the next one takes the out-of-line
	                            path (mb_opstats_alloc_slow): MB_LAT_PERIOD, or 1
	                            with track_usable */
	uint32_t lat_countdown; /* with track_usable: calls until the next timed one */
	bool lat_on;            /* latency sampling in the measured phase only */
	mb_lathist_t lat_alloc, lat_free;
	uint64_t local_bytes;   /* bytes that stayed in stack frames (no escape) */
	uint64_t kernel_counter[8]; /* pattern-specific counts, named by the pattern */
	struct mb_tape *tape;   /* set in a taped pattern's record pass (tape.h):
	                           mb_alloc / mb_free record, not call */
	bool track_usable;      /* memory-profile trials: keep st.live_usable (one
	                           usable_size call per alloc and free, untimed by
	                           the latency sampler; see analysis/METRICS.md) */
};

typedef struct mb_pattern {
	const char *name;
	const char *help;            /* one line for `membench list workloads` */
	const mb_option_t *options;  /* the `params:` schema */
	size_t params_size;          /* sizeof the params struct */
	const char *const *counter_names; /* names of kernel_counter[], NULL-terminated */
	/* Cross-field checks after parsing; report with mb_yerr, return errors. */
	int (*validate)(mb_yctx_t *y, yaml_node_t *node, const void *params);
	/* optional: frees what params own beyond the fields of `options` that the
	 * loader frees itself (strings, lists, top-level distributions) */
	void (*params_free)(void *params);
	int (*setup)(mb_run_t *run);          /* optional; 0 or -errno */
	int (*thread_init)(mb_worker_t *w);   /* 0 or -errno */
	void (*step)(mb_worker_t *w, uint64_t nops);
	/* step, phase_end and drain are recorded on a tape and replayed in
	 * the measured window (tape.h), not run there directly */
	bool taped;
	/* optional: copies the pattern's counts into w->kernel_counter; the
	 * harness calls it after the last replay (a taped pattern's replay
	 * counts some of them: bad reads) */
	void (*counters)(mb_worker_t *w);
	void (*drain)(mb_worker_t *w);        /* free everything this thread holds */
	/* optional: the current phase ends (objects living "until phase end" die);
	 * called before w->params moves to the next phase */
	void (*phase_end)(mb_worker_t *w);
	void (*thread_fini)(mb_worker_t *w);  /* optional */
	void (*teardown)(mb_run_t *run);      /* optional */
} mb_pattern_t;

/* The registry (registry.c). */
extern const mb_pattern_t *const mb_patterns[];
const mb_pattern_t *mb_pattern_find(const char *name);

/* mb_bucket_off8[(size + 7) / 8], for size <= 32768: the byte offset of
 * size's bucket in mb_opstats_t.bucket (bucket * sizeof(mb_opcount_t)). One
 * table serves all small sizes: Go's size classes above 1024 bytes are
 * multiples of 128, below of 8, so all sizes of an 8-byte step share a
 * class. Filled at start-up (goslice.c). */
extern uint16_t mb_bucket_off8[32768 / 8 + 1];
uint64_t mb_bucket_max(unsigned b);

/* The bucket of a size above 32 KiB: one per power of two. */
static inline unsigned mb_bucket_large(size_t size)
{
	unsigned b = MB_BUCKET_LARGE - 16 +
		     (64 - (unsigned)__builtin_clzll((unsigned long long)size - 1));
	return b < MB_NBUCKET ? b : MB_NBUCKET - 1;
}

/* O(1): a table load up to 32 KiB (Go's size_to_class8 / size_to_class128
 * in one), a clz above. */
static inline __attribute__((always_inline)) unsigned mb_bucket(size_t size)
{
	if (size <= 32768)
		return mb_bucket_off8[(size + 7) >> 3] / (unsigned)sizeof(mb_opcount_t);
	return mb_bucket_large(size);
}

/* The counts of size's bucket in st: one load and no shift for small sizes. */
static inline __attribute__((always_inline)) mb_opcount_t *mb_opstats_count(mb_opstats_t *st,
									    size_t size)
{
	if (__builtin_expect(size <= 32768, 1))
		return (mb_opcount_t *)((char *)st->bucket + mb_bucket_off8[(size + 7) >> 3]);
	return &st->bucket[mb_bucket_large(size)];
}

static inline uint64_t mb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mb_lat_record(mb_lathist_t *h, uint64_t ns);

static inline __attribute__((always_inline)) void mb_stream_mix(mb_opstats_t *st, uint64_t v)
{
	st->checksum = (st->checksum ^ v) * 0x100000001b3ull; /* FNV-1a step */
}

/* The per-call accounting of a successful allocation of size bytes: its
 * bucket, and tag mixed into the stream checksum. */
static inline __attribute__((always_inline)) void mb_opstats_alloc(mb_opstats_t *st, size_t size,
								   uint64_t tag)
{
	mb_opcount_t *c = mb_opstats_count(st, size);
	c->allocs++;
	c->alloc_bytes += size;
	mb_stream_mix(st, tag);
}

/* The per-call accounting of a free of size bytes. */
static inline __attribute__((always_inline)) void mb_opstats_free(mb_opstats_t *st, size_t size,
								  uint64_t tag)
{
	mb_opcount_t *c = mb_opstats_count(st, size);
	c->frees++;
	c->free_bytes += size;
	mb_stream_mix(st, tag);
}

/* Sets w's latency countdowns (the MB_LAT_PERIOD-th call from here is timed),
 * whether it keeps st.live_usable, and w->malloc / w->free from w->alloc;
 * before w's first mb_alloc, after w->alloc is set. */
void mb_opstats_start(mb_worker_t *w, bool track_usable);

/* The out-of-line paths of mb_alloc and mb_free (opstats.c), taken once per
 * MB_LAT_PERIOD calls (the timed one: latency sampling) or, with
 * track_usable, on every call (usable_size, untimed). Same contract and the
 * same accounting as the inline paths; they reset w->slow_countdown. */
void *mb_opstats_alloc_slow(mb_worker_t *w, size_t size, unsigned flags);
void mb_opstats_free_slow(mb_worker_t *w, void *p, size_t size);
/* Their allocator calls alone, without the accounting (a replay's: tape.h);
 * malloc_slow's NULL is not counted as a failure here. */
void *mb_opstats_malloc_slow(mb_worker_t *w, size_t size, unsigned flags);
void mb_opstats_dofree_slow(mb_worker_t *w, void *p, size_t size);

/* An allocation that returned NULL: takes back what mb_opstats_alloc(st,
 * size, tag) counted (FNV's prime is odd, so its step is undone by its
 * inverse mod 2^64) and counts the failure. Out of line: it is rare. */
void mb_opstats_alloc_failed(mb_opstats_t *st, size_t size, uint64_t tag);

/* Allocates size bytes with flags (MB_NOSCAN, MB_LOCAL). NULL only when the
 * allocator is out of memory; the caller must cope (skip the object).
 * Inline cost: a countdown, a bucket lookup, two counter updates and a
 * checksum step, then the indirect call (the accounting comes first, so that
 * size need not outlive the call here; a failure takes it back). */
static inline __attribute__((always_inline)) void *mb_alloc(mb_worker_t *w, size_t size, unsigned flags)
{
	if (__builtin_expect(--w->slow_countdown == 0, 0))
		return mb_opstats_alloc_slow(w, size, flags);
	mb_opstats_alloc(&w->st, size, size << 1);
	void *p = w->malloc(size, flags);
	if (__builtin_expect(p == NULL, 0))
		mb_opstats_alloc_failed(&w->st, size, size << 1);
	return p;
}

/* Frees p, which was allocated with size bytes (by any worker of the run). */
static inline __attribute__((always_inline)) void mb_free(mb_worker_t *w, void *p, size_t size)
{
	if (__builtin_expect(--w->slow_countdown == 0, 0)) {
		mb_opstats_free_slow(w, p, size);
		return;
	}
	mb_opstats_free(&w->st, size, (size << 1) | 1);
	w->free(p, size);
}

/* The allocator's stack entries (a stack/heap split), or its malloc and free
 * (noscan) where it has none: the calls themselves, no accounting. */
static inline void *mb_stack_alloc_raw(const mb_alloc_ops_t *a, size_t size)
{
	return a->stack_alloc ? a->stack_alloc(size) : a->malloc(size, MB_NOSCAN);
}

static inline void mb_stack_free_raw(const mb_alloc_ops_t *a, void *p, size_t size)
{
	if (a->stack_free)
		a->stack_free(p, size);
	else
		a->free(p, size);
}

/* Declares an option table entry: MB_OPT(name, type, struct, field, default, help). */
#define MB_OPT(nm, ty, st, f, dflt, hlp) \
	{ .name = nm, .type = ty, .off = offsetof(st, f), .def = dflt, .help = hlp }
#define MB_OPT_RANGE(nm, ty, st, f, dflt, lo, hi, hlp)                               \
	{ .name = nm, .type = ty, .off = offsetof(st, f), .def = dflt, .ranged = true, \
	  .min = lo, .max = hi, .help = hlp }

#endif
