/*
 * escape-heavy: function calls that make objects, some of which escape.
 *
 * Go's compiler proves for each allocation whether the object can outlive the
 * function that makes it (escape analysis). An object that does not escape is
 * put in the goroutine's stack frame and is gone when the call returns; one
 * that escapes is a heap object, reclaimed later by the GC. Here one operation
 * is one call:
 *   - it makes `objects` objects of `size` bytes; each escapes with
 *     probability escape_fraction and has pointers (scan) with probability
 *     scan_fraction (the allocator gets MB_NOSCAN for the others, as Go picks
 *     a noscan span class);
 *   - an escaping object is a heap object (no MB_LOCAL) that lives by
 *     `lifetime`; when it dies it is read back, then freed;
 *   - a non-escaping one is allocated with MB_LOCAL (with escape_analysis on)
 *     and freed in LIFO order when the call returns, after being read;
 *     with escape_analysis off it is an ordinary heap object that becomes
 *     garbage at the return (freed then, or at the next GC with gc: paced);
 *   - with probability box_fraction the call converts an integer to an
 *     interface (convT64): a value below 256 points into Go's staticuint64s
 *     and allocates nothing, any other is an 8-byte noscan heap object that
 *     escapes (it lives as the escaped objects do).
 * Cost outside the allocator: three rng draws per object (count/size from the
 * distributions' O(1) samplers, one for both coin flips), O(1) queue work.
 */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

#define E(nm, ty, f, dflt, hlp) MB_OPT(nm, ty, escape_params_t, f, dflt, hlp)
#define ER(nm, f, dflt, hlp) MB_OPT_RANGE(nm, MB_OPT_DOUBLE, escape_params_t, f, dflt, 0, 1, hlp)
const mb_option_t escape_options[] = {
	MB_OPT_DIST("objects", escape_params_t, objects, "{dist: uniform, min: 1, max: 6}",
		    "objects one call makes (1..64)", "{dist: uniform, min: 1, max: 8}"),
	MB_OPT_DIST("size", escape_params_t, size,
		    "{dist: lognormal, median: 48, sigma: 0.8, min: 8, max: 2048}",
		    "bytes per object", "{dist: table, values: [16, 32, 64], weights: [5, 3, 2]}"),
	ER("escape_fraction", escape_fraction, "0.3",
	   "fraction of objects that escape to the heap"),
	ER("scan_fraction", scan_fraction, "0.5",
	   "fraction of objects with pointers (the rest are noscan)"),
	ER("box_fraction", box_fraction, "0.2",
	   "fraction of calls that box an integer into an interface"),
	ER("box_small", box_small, "0.3",
	   "fraction of boxed values below 256 (no allocation: staticuint64s)"),
	MB_OPT_LIFE("", escape_params_t, life, "ops",
		    "{dist: exponential, mean: 2000, max: 50000}", "10000",
		    "lifetime of escaped objects"),
	MB_OPT_END,
};
#undef E
#undef ER

int escape_validate(mb_yctx_t *y, yaml_node_t *node, const void *params)
{
	const escape_params_t *p = params;
	int bad = mb_life_validate(y, node, &p->life, "");
	if (mb_dist_max(&p->objects) > ESC_FRAME_MAX) {
		mb_yerr(y, node, "objects: at most %d objects per call", ESC_FRAME_MAX);
		bad++;
	}
	if (mb_dist_max(&p->size) >= 4294967296.0) {
		mb_yerr(y, node, "size: objects must be smaller than 4 GiB");
		bad++;
	}
	return bad;
}

/* An escaped object or box dies: read it, then it is garbage. The queue's
 * q->kill; inlined (escape_kill_inline) where the wheel's deaths are due. */
static inline __attribute__((always_inline)) void escape_kill_inline(mb_lifeq_t *q, void *p,
								     size_t size)
{
	escape_state_t *s = (escape_state_t *)((char *)q - offsetof(escape_state_t, q));
	mb_obj_check_into(p, size, &s->c[ESC_BAD_READS]);
	mb_live_dead(q->L, p, size);
}

static void escape_kill(mb_lifeq_t *q, void *p, size_t size)
{
	escape_kill_inline(q, p, size);
}

/* The objects due at this tick die: one call per tick, none per object. */
static __attribute__((noinline)) void escape_due(escape_state_t *s)
{
	mb_lifeq_kill_due(&s->q, escape_kill_inline);
}

int escape_state_init(escape_state_t *s, mb_live_t *L, size_t params_off)
{
	int rc = mb_lifeq_init(&s->q, L, params_off + offsetof(escape_params_t, life));
	s->q.kill = escape_kill;
	s->p = NULL;
	return rc;
}

/* A probability as a threshold for 32 bits of a draw: x < t with probability p. */
static inline uint64_t chance32(double p)
{
	return (uint64_t)(p * 4294967296.0);
}

/* The per-call constants of p, computed when p changes (a new phase). */
static void escape_prep(escape_state_t *s, const escape_params_t *p)
{
	s->p = p;
	s->esc_t = chance32(p->escape_fraction);
	s->scan_t = chance32(p->scan_fraction);
	s->box_t = mb_rng_chance_t(p->box_fraction);
	s->box_small_t = mb_rng_chance_t(p->box_small);
}

/* The rng lives in a local for the whole call (see live.h), so it stays in
 * a register across the allocator calls. The coin thresholds and the live
 * engine (s->q.L) are read from s where they are used (a compare with
 * memory, a load): kept in locals, they would take callee-saved registers
 * or stack slots across every allocator call. */
void escape_call(mb_worker_t *w, const escape_params_t *p, escape_state_t *s)
{
	if (__builtin_expect(s->p != p, 0))
		escape_prep(s, p);
	mb_rng_t rng = w->rng;
	bool ea = w->run->escape_analysis;
	uint64_t n = mb_dist_sample_u64(&p->objects, &rng);
	n = n < 1 ? 1 : n > ESC_FRAME_MAX ? ESC_FRAME_MAX : n;
	/* the frame's objects: [s->frame, fp); counted and their bytes summed
	 * at the return, where each is read anyway */
	mb_obj_t *fp = s->frame;
	s->c[ESC_CALLS]++;
	for (; n; n--) {
		size_t size = (size_t)mb_dist_sample_u64(&p->size, &rng);
		size = size ? size : 1;
		uint64_t coins = mb_rng_next(&rng); /* two coin flips: 32 bits each */
		unsigned flags = (coins & 0xffffffffu) < s->scan_t ? 0 : MB_NOSCAN;
		void *o;
		if ((coins >> 32) < s->esc_t) {
			if (!(o = mb_live_alloc(s->q.L, size, flags)))
				continue;
			mb_obj_write(o, size);
			mb_lifeq_add(&s->q, &p->life, &rng, o, size);
			s->c[ESC_ESCAPED]++;
		} else {
			o = ea ? mb_alloc(w, size, flags | MB_LOCAL) :
				 mb_live_alloc(s->q.L, size, flags);
			if (!o)
				continue;
			mb_obj_write(o, size);
			*fp++ = (mb_obj_t){o, size};
		}
	}
	if (s->box_t && mb_rng_chance_at(&rng, s->box_t)) {
		s->c[ESC_BOXED]++;
		if (mb_rng_chance_at(&rng, s->box_small_t)) {
			s->c[ESC_BOX_STATIC]++;
		} else {
			void *b = mb_live_alloc(s->q.L, 8, MB_NOSCAN);
			if (b) {
				mb_obj_write(b, 8);
				mb_lifeq_add(&s->q, &p->life, &rng, b, 8);
			}
		}
	}
	/* return: the frame's objects go, newest first */
	mb_live_t *L = s->q.L;
	s->c[ea ? ESC_LOCAL : ESC_HEAP_NOESC] += (uint64_t)(fp - s->frame);
	if (ea) {
		uint64_t local = 0;
		while (fp != s->frame) {
			mb_obj_t o = *--fp;
			mb_obj_check_into(o.p, o.size, &s->c[ESC_BAD_READS]);
			local += o.size;
			mb_free(w, o.p, o.size);
		}
		w->local_bytes += local;
	} else {
		while (fp != s->frame) {
			mb_obj_t o = *--fp;
			mb_obj_check_into(o.p, o.size, &s->c[ESC_BAD_READS]);
			mb_live_dead(L, o.p, o.size);
		}
	}
	w->rng = rng;
	if (mb_lifeq_tick_due(&s->q))
		escape_due(s);
}

/* --- the escape-heavy pattern --------------------------------------------- */

typedef struct esc_thread {
	mb_live_t live;
	escape_state_t s;
} esc_thread_t;

static const char *const escape_counter_names[] = {
	"calls", "escaped", "local", "heap_not_escaping", "boxed", "boxed_static",
	"bad_reads", "gc_cycles", NULL,
};

static int escape_thread_init(mb_worker_t *w)
{
	esc_thread_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -12;
	w->state = t;
	mb_live_init(&t->live, w);
	return escape_state_init(&t->s, &t->live, 0);
}

static void escape_counters(mb_worker_t *w)
{
	esc_thread_t *t = w->state;
	for (int i = 0; i < ESC_NCOUNT; i++)
		w->kernel_counter[i] = t->s.c[i];
	w->kernel_counter[ESC_NCOUNT] = t->live.gcs;
}

static void escape_step(mb_worker_t *w, uint64_t nops)
{
	esc_thread_t *t = w->state;
	const escape_params_t *p = w->params;
	mb_live_step_begin(&t->live);
	for (uint64_t i = 0; i < nops; i++)
		escape_call(w, p, &t->s);
	escape_counters(w);
}

static void escape_phase_end(mb_worker_t *w)
{
	esc_thread_t *t = w->state;
	mb_lifeq_phase_end(&t->s.q);
}

static void escape_drain(mb_worker_t *w)
{
	esc_thread_t *t = w->state;
	mb_lifeq_drain(&t->s.q);
	mb_live_drain(&t->live);
	escape_counters(w);
}

static void escape_thread_fini(mb_worker_t *w)
{
	esc_thread_t *t = w->state;
	mb_lifeq_fini(&t->s.q);
	mb_live_fini(&t->live);
	free(t);
	w->state = NULL;
}

const mb_pattern_t mb_pattern_escape = {
	.name = "escape",
	.help = "calls making objects; a fraction escapes to the heap, the rest stays in "
		"the frame (MB_LOCAL) and dies at return",
	.options = escape_options,
	.params_size = sizeof(escape_params_t),
	.counter_names = escape_counter_names,
	.validate = escape_validate,
	.thread_init = escape_thread_init,
	.step = escape_step,
	.taped = true,
	.counters = escape_counters,
	.phase_end = escape_phase_end,
	.drain = escape_drain,
	.thread_fini = escape_thread_fini,
};
