/*
 * many-goroutine-stacks: goroutines whose stacks grow and shrink as Go's do
 * (gostack.h).
 *
 * Each worker thread runs `goroutines` goroutines, each with its own stack,
 * `stack_start` bytes at start. One operation schedules one goroutine (picked
 * at random, as goroutines block and wake in no fixed order) for `burst`
 * steps of a random walk of call depth: a call (probability call_prob, never
 * past max_depth) pushes a frame of `frame` bytes, growing the stack by
 * doubling with a copy when the frame would reach the guard; otherwise the
 * top frame returns. When the goroutine's outermost function returns it
 * exits, and a new goroutine starts in its place at once (so `goroutines`
 * stay live) (reusing the exited one's
 * stack when it still has the start size, as Go's gfput/gfget do). Every
 * `gc_every` operations the thread reaches a GC point and every stack using
 * less than a quarter of itself is halved (shrinkstack).
 * Cost outside the allocator: two rng draws per step, O(1); a GC point is
 * O(goroutines), once per gc_every operations (default: as many operations as
 * goroutines, so O(1) amortised).
 * Taped (tape.h): the walk is recorded, its stack calls, frame writes, copies
 * and frame reads replayed. Returns take their frame sizes from the frame
 * record (gostack.h), kept from thread_init on; the goroutines thread_init
 * starts (directly) get handles in the first record pass.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "gostack.h"
#include "kernels.h"

typedef struct stacks_params {
	uint64_t goroutines;   /* per worker thread */
	uint64_t stack_start;  /* bytes */
	mb_dist_t frame;       /* bytes per frame */
	double call_prob;      /* a step is a call (else a return) */
	uint64_t max_depth;
	mb_dist_t burst;       /* steps per scheduling */
	uint64_t gc_every;     /* operations between GC points; 0: goroutines */
	bool reuse_stacks;     /* gfput/gfget keep start-size stacks */
} stacks_params_t;

static const mb_option_t stacks_options[] = {
	MB_OPT_RANGE("goroutines", MB_OPT_UINT, stacks_params_t, goroutines, "10000", 1,
		     1 << 24, "goroutines per worker thread (each with its own stack)"),
	MB_OPT_RANGE("stack_start", MB_OPT_SIZE, stacks_params_t, stack_start, "2KiB", 2048,
		     1 << 20, "a new goroutine's stack, a power of two (Go: 2 KiB)"),
	MB_OPT_DIST("frame", stacks_params_t, frame,
		    "{dist: lognormal, median: 128, sigma: 1, min: 16, max: 16384}",
		    "bytes per stack frame (rounded up to 16)", "{dist: uniform, min: 32, max: 512}"),
	MB_OPT_RANGE("call_prob", MB_OPT_DOUBLE, stacks_params_t, call_prob, "0.5", 0, 1,
		     "probability that a step is a call (else a return)"),
	MB_OPT_RANGE("max_depth", MB_OPT_UINT, stacks_params_t, max_depth, "64", 1, 100000,
		     "deepest call depth; at it a step always returns"),
	MB_OPT_DIST("burst", stacks_params_t, burst, "{dist: uniform, min: 1, max: 16}",
		    "steps a goroutine runs each time it is scheduled", "8"),
	MB_OPT("gc_every", MB_OPT_UINT, stacks_params_t, gc_every, "0",
	       "operations between GC points (stack shrinking); 0: as many as goroutines"),
	MB_OPT("reuse_stacks", MB_OPT_BOOL, stacks_params_t, reuse_stacks, "true",
	       "an exited goroutine's start-size stack goes to the next one (gfput/gfget)"),
	MB_OPT_END,
};

static int stacks_validate(mb_yctx_t *y, yaml_node_t *node, const void *params)
{
	const stacks_params_t *p = params;
	if (p->stack_start & (p->stack_start - 1)) {
		mb_yerr(y, node, "stack_start: %llu is not a power of two",
			(unsigned long long)p->stack_start);
		return 1;
	}
	if (mb_dist_max(&p->frame) * (double)p->max_depth > 1e9) {
		mb_yerr(y, node, "frame x max_depth: stacks could pass Go's 1 GB limit");
		return 1;
	}
	return 0;
}

typedef struct stacks_thread {
	mb_g_t *g;           /* n goroutine slots (mmap'd bookkeeping) */
	uint64_t n, since_gc;
	mb_g_t spare;        /* gFree: one cached goroutine with its stack */
	mb_gstats_t gs;      /* gs.fr = &fr */
	mb_gframes_t fr;
	bool adopted;        /* the stacks are handles (a record pass has run) */
} stacks_thread_t;

static const char *const stacks_counter_names[] = {
	"goroutines_live", "stack_bytes", "stack_bytes_peak", "grows", "shrinks",
	"bytes_copied", "exits", "bad_frames", NULL,
};

static void stacks_counters(mb_worker_t *w)
{
	stacks_thread_t *t = w->state;
	uint64_t *k = w->kernel_counter;
	k[0] = t->gs.live, k[1] = t->gs.stack_bytes, k[2] = t->gs.stack_bytes_peak;
	k[3] = t->gs.grows, k[4] = t->gs.shrinks, k[5] = t->gs.copied;
	k[6] = t->gs.exited, k[7] = t->gs.bad_frames;
}

static inline __attribute__((always_inline)) uint32_t frame_size(const stacks_params_t *p,
								  mb_rng_t *r)
{
	uint64_t f = mb_dist_sample_u64(&p->frame, r);
	return (uint32_t)((f < 16 ? 16 : f + 15) & ~(uint64_t)15);
}

/* A new goroutine in slot g, in its entry function (its frame drawn from r).
 * false when out of memory. Inline, so that the step's rng can stay in a
 * register: its address never leaves the step. */
static inline __attribute__((always_inline)) bool go_start(mb_worker_t *w, stacks_thread_t *t,
							  const stacks_params_t *p,
							  mb_g_t *g, mb_rng_t *r)
{
	if (!mb_g_start(w, g, (uint32_t)p->stack_start, p->reuse_stacks ? &t->spare : NULL,
			&t->gs))
		return false;
	if (!mb_g_call(w, g, frame_size(p, r), &t->gs)) {
		mb_g_free(w, g, &t->gs);
		return false;
	}
	return true;
}

static int stacks_thread_init(mb_worker_t *w)
{
	const stacks_params_t *p = w->params;
	stacks_thread_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -12;
	w->state = t;
	if (mb_gframes_init(&t->fr))
		return -12;
	t->gs.fr = &t->fr;
	t->n = p->goroutines;
	t->g = mmap(NULL, t->n * sizeof(mb_g_t), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->g == MAP_FAILED) {
		t->g = NULL;
		return -12;
	}
	for (uint64_t i = 0; i < t->n; i++)
		if (!go_start(w, t, p, &t->g[i], &w->rng))
			return -12;
	stacks_counters(w);
	return 0;
}

static void gc_point(mb_worker_t *w, stacks_thread_t *t)
{
	for (uint64_t i = 0; i < t->n; i++)
		mb_g_shrink(w, &t->g[i], MB_STACK_MIN, &t->gs);
}

/* The rng and the parameters live in locals for the whole step: the frames'
 * word stores could otherwise alias them, forcing a reload per step. w->rng
 * is written back at the end; nothing called out of line draws from it. */
static void stacks_step(mb_worker_t *w, uint64_t nops)
{
	stacks_thread_t *t = w->state;
	const stacks_params_t *p = w->params;
	const uint64_t n = t->n, max_depth = p->max_depth;
	const uint64_t gc_every = p->gc_every ? p->gc_every : n;
	const uint64_t call_t = (uint64_t)(p->call_prob * 4294967296.0);
	const uint32_t stack_start = (uint32_t)p->stack_start;
	mb_g_t *const spare = p->reuse_stacks ? &t->spare : NULL;
	mb_g_adopt(w, t->g, t->n, &t->spare, &t->adopted);
	mb_rng_t rng = w->rng;
	for (uint64_t i = 0; i < nops; i++) {
		mb_g_t *g = &t->g[mb_rng_below(&rng, n)];
		uint64_t steps = mb_dist_sample_u64(&p->burst, &rng);
		/* an empty slot (a start that ran out of memory) starts first; a
		 * burst leaves none behind but where it stops (break) */
		if (steps && (g->stack || go_start(w, t, p, g, &rng))) {
			/* the goroutine in locals across the burst: lg is the
			 * slot's goroutine, written back before the out-of-line
			 * paths and at the end (*g == lg there) */
			mb_g_t lg = *g;
			for (uint64_t s = 0; s < steps; s++) {
				bool call = lg.depth < max_depth &&
					    (mb_rng_next(&rng) >> 32) < call_t;
				if (call) {
					if (!mb_g_call_in(w, &lg, g, frame_size(p, &rng), &t->gs))
						break;
				} else {
					mb_g_ret(&lg, &t->gs);
					if (lg.depth == 0) { /* the entry function returned */
						*g = lg;
						mb_g_exit(w, g, stack_start, spare, &t->gs);
						/* and a new goroutine takes the slot */
						bool ok = go_start(w, t, p, g, &rng);
						lg = *g;
						if (!ok)
							break;
					}
				}
			}
			*g = lg;
		}
		if (++t->since_gc >= gc_every) {
			t->since_gc = 0;
			gc_point(w, t);
		}
	}
	w->rng = rng;
	stacks_counters(w);
}

static void stacks_drain(mb_worker_t *w)
{
	stacks_thread_t *t = w->state;
	mb_g_adopt(w, t->g, t->n, &t->spare, &t->adopted);
	for (uint64_t i = 0; t->g && i < t->n; i++)
		mb_g_free(w, &t->g[i], &t->gs);
	if (t->spare.stack) {
		t->gs.live++; /* mb_g_free counts an exit: the spare had exited already */
		t->gs.exited--;
		mb_g_free(w, &t->spare, &t->gs);
	}
}

/* The counters keep the state at the end of the last step (the drain's exits
 * are not in them); bad frames are counted at replay, after the step's
 * record copied them. */
static void stacks_final_counters(mb_worker_t *w)
{
	stacks_thread_t *t = w->state;
	w->kernel_counter[7] = t->gs.bad_frames;
}

static void stacks_thread_fini(mb_worker_t *w)
{
	stacks_thread_t *t = w->state;
	if (!t)
		return;
	if (t->g) {
		stacks_drain(w); /* after a failed init, what was made */
		munmap(t->g, t->n * sizeof(mb_g_t));
	}
	mb_gframes_fini(&t->fr);
	free(t);
	w->state = NULL;
}

const mb_pattern_t mb_pattern_stacks = {
	.name = "stacks",
	.help = "many goroutines whose 2 KiB stacks grow by doubling with a copy and "
		"shrink at GC when a quarter used",
	.options = stacks_options,
	.params_size = sizeof(stacks_params_t),
	.counter_names = stacks_counter_names,
	.validate = stacks_validate,
	.thread_init = stacks_thread_init,
	.step = stacks_step,
	.taped = true,
	.counters = stacks_final_counters,
	.drain = stacks_drain,
	.thread_fini = stacks_thread_fini,
};
