/*
 * closure-heavy: closures and the variables they capture.
 *
 * A Go closure is a funcval: the code pointer followed by its captured
 * variables, {fn, v0, v1, ...}, 8 + 8 * captures bytes here. A variable
 * captured by value is copied into it; one captured by reference (it is
 * shared with the enclosing function or mutated after capture) is moved to
 * its own heap object and the funcval holds a pointer to that box. When the
 * closure escapes, funcval and boxes are heap objects; when it does not (it
 * is made and called at once), the compiler keeps both in the stack frame.
 * One operation makes one closure:
 *   - `captures` variables, each by reference with probability by_ref_fraction
 *     (boxed: `var_size` bytes, noscan when var_noscan) or else by value;
 *   - with probability register_fraction the closure is registered in a
 *     callback table: it escapes (heap funcval and boxes) and lives by
 *     `lifetime`; when it dies it is called one last time, then funcval and
 *     boxes become garbage together;
 *   - otherwise it is called at once and dies at return: MB_LOCAL with
 *     escape_analysis on, garbage heap objects with it off.
 * Calling a closure reads its environment: each by-value word, and through
 * each box pointer the variable, which it increments (captured by reference
 * means mutated). The funcval is scan (it holds box pointers) when it has a
 * by-reference capture, noscan otherwise.
 * The code pointer encodes the closure's layout (captures, which are boxed),
 * as the compiled function knows the layout of its own funcval.
 */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

#define CLO_MAX_CAPTURES 8

/* One "function" per layout: fn = &closure_code[captures * 256 + by_ref_mask]. */
static const char closure_code[(CLO_MAX_CAPTURES + 1) * 256];

#define CLO_BYTES_LO 0x0101010101010101ull /* 1 in each byte */
#define CLO_BYTES_HI 0x8080808080808080ull /* each byte's top bit */

/* Bit i set when byte i of x is below t (t in 0..256), for all 8 bytes at
 * once: the same bits as the loop "byte < t" per byte. A byte compares by
 * its top bit first, then by its low 7 bits; lows are compared in parallel
 * by subtracting t's low 7 bits from each byte with its top bit forced on
 * (no borrow can leave a byte). The top bits are then gathered into the low
 * byte by one multiply (each lands on a distinct bit, no carries). */
static inline unsigned bytes_below(uint64_t x, unsigned t)
{
	if (t > 255)
		return 0xff;
	uint64_t tb = CLO_BYTES_LO * t;
	uint64_t lo_ge = ((x | CLO_BYTES_HI) - (tb & ~CLO_BYTES_HI)) & CLO_BYTES_HI;
	uint64_t xh = x & CLO_BYTES_HI, th = tb & CLO_BYTES_HI;
	uint64_t lt = (~xh & th) | (~(xh ^ th) & ~lo_ge & CLO_BYTES_HI);
	return (unsigned)(((lt >> 7) * 0x0102040810204080ull) >> 56);
}

const mb_option_t closure_options[] = {
	MB_OPT_DIST("captures", closure_params_t, captures, "{dist: uniform, min: 1, max: 4}",
		    "variables a closure captures (0..8)", "{dist: uniform, min: 0, max: 6}"),
	MB_OPT_RANGE("by_ref_fraction", MB_OPT_DOUBLE, closure_params_t, by_ref_fraction, "0.5",
		     0, 1, "captured variables that are shared or mutated: each boxed on the heap"),
	MB_OPT_DIST("var_size", closure_params_t, var_size,
		    "{dist: table, values: [8, 16, 24, 32, 64], weights: [50, 20, 10, 10, 10]}",
		    "bytes of a boxed variable (smaller draws are raised to 8)", "8"),
	MB_OPT("var_noscan", MB_OPT_BOOL, closure_params_t, var_noscan, "true",
	       "boxed variables hold no pointers (noscan)"),
	MB_OPT_RANGE("register_fraction", MB_OPT_DOUBLE, closure_params_t, register_fraction,
		     "0.1", 0, 1, "closures registered as callbacks (they escape and live long)"),
	MB_OPT_LIFE("", closure_params_t, life, "fifo", "{dist: exponential, mean: 5000, max: 100000}",
		    "20000", "lifetime of registered closures"),
	MB_OPT_END,
};

int closure_validate(mb_yctx_t *y, yaml_node_t *node, const void *params)
{
	const closure_params_t *p = params;
	int bad = mb_life_validate(y, node, &p->life, "");
	if (mb_dist_max(&p->captures) > CLO_MAX_CAPTURES) {
		mb_yerr(y, node, "captures: at most %d", CLO_MAX_CAPTURES);
		bad++;
	}
	return bad;
}

/* Calls the closure at fv (mb_obj_call_funcval), counting the call or the
 * overwritten funcval; what it read goes to the sink. */
static inline __attribute__((always_inline)) void call(closure_state_t *s, uint64_t *fv)
{
	mb_obj_call_funcval_into(fv, (uintptr_t)closure_code, sizeof(closure_code),
				 &s->c[CLO_BAD_READS], &s->c[CLO_CALLS], &s->sink);
}

/* A registered closure dies: it fires one last time, then its boxes, in
 * capture order, and the funcval are garbage (or freed at once while
 * draining). The queue's q->kill, and inlined where a registration or a tick
 * kills (closure_kill_inline). */
static inline __attribute__((always_inline)) void closure_kill_inline(mb_lifeq_t *q, void *p,
								      size_t size)
{
	closure_state_t *s = (closure_state_t *)((char *)q - offsetof(closure_state_t, q));
	uint64_t *fv = p, *box[CLO_MAX_CAPTURES];
	call(s, fv);
	unsigned k = mb_obj_funcval_boxes(fv, (uintptr_t)closure_code, sizeof(closure_code), box);
	for (unsigned i = 0; i < k; i++)
		mb_live_dead(q->L, box[i], mb_obj_box_size(box[i]));
	mb_live_dead(q->L, p, size);
}

static void closure_kill(mb_lifeq_t *q, void *p, size_t size)
{
	closure_kill_inline(q, p, size);
}

/* The closures due at this tick die (lifetime: ops). */
static __attribute__((noinline)) void closure_due(closure_state_t *s)
{
	mb_lifeq_kill_due(&s->q, closure_kill_inline);
}

int closure_state_init(closure_state_t *s, mb_live_t *L, size_t params_off)
{
	int rc = mb_lifeq_init(&s->q, L, params_off + offsetof(closure_params_t, life));
	s->q.kill = closure_kill;
	s->p = NULL;
	return rc;
}

/* The per-operation constants of p, computed when p changes (a new phase). */
static void closure_prep(closure_state_t *s, const closure_params_t *p)
{
	s->p = p;
	s->ref_t = (unsigned)(p->by_ref_fraction * 256.0);
	s->reg_t = mb_rng_chance_t(p->register_fraction);
}

/* The rng lives in a local for the whole operation (see live.h), so it
 * stays in a register across the allocator calls; the live engine is read
 * from s->q.L at each use (a load), not kept in one. */
void closure_op(mb_worker_t *w, const closure_params_t *p, closure_state_t *s)
{
	if (__builtin_expect(s->p != p, 0))
		closure_prep(s, p);
	mb_rng_t rng = w->rng;
	unsigned n = (unsigned)mb_dist_sample_u64(&p->captures, &rng);
	n = n > CLO_MAX_CAPTURES ? CLO_MAX_CAPTURES : n;
	uint64_t coins = mb_rng_next(&rng);
	/* byte i of the draw decides capture i */
	unsigned refs = bytes_below(coins, s->ref_t) & ((1u << n) - 1);
	bool reg = s->reg_t && mb_rng_chance_at(&rng, s->reg_t);
	bool heap = reg || !w->run->escape_analysis;
	unsigned local = heap ? 0 : MB_LOCAL;
	size_t fsize = 8 + 8 * (size_t)n;
	uint64_t *box[CLO_MAX_CAPTURES];
	unsigned vflags = (p->var_noscan ? MB_NOSCAN : 0) | local;
	/* the variables are moved to the heap (or the frame) first, as the
	 * enclosing function declares them before the func literal */
	for (unsigned m = refs; m; m &= m - 1) { /* the set bits, lowest first */
		unsigned i = (unsigned)__builtin_ctz(m);
		size_t bs = (size_t)mb_dist_sample_u64(&p->var_size, &rng);
		bs = bs < 8 ? 8 : bs;
		box[i] = heap ? mb_live_alloc(s->q.L, bs, vflags) : mb_alloc(w, bs, vflags);
		if (!box[i]) { /* out of memory: capture by value instead */
			refs &= ~(1u << i);
			continue;
		}
		mb_obj_write_box(box[i], bs);
		s->c[CLO_BOXES]++;
		s->c[CLO_BOX_BYTES] += bs;
	}
	unsigned fflags = (refs ? 0 : MB_NOSCAN) | local;
	uint64_t *fv = heap ? mb_live_alloc(s->q.L, fsize, fflags) : mb_alloc(w, fsize, fflags);
	if (fv) {
		mb_obj_write_funcval(fv, (uintptr_t)&closure_code[n * 256 + refs], n, refs, coins,
				     box);
		s->c[CLO_MADE]++;
	}
	if (fv && reg) {
		mb_lifeq_add_k(&s->q, &p->life, &rng, fv, fsize, closure_kill_inline);
		s->c[CLO_REGISTERED]++;
	} else {
		/* made, called at once, dead at return */
		if (fv)
			call(s, fv);
		if (!heap) {
			s->c[CLO_LOCAL]++;
			w->local_bytes += fsize;
		}
		if (fv)
			heap ? mb_live_dead(s->q.L, fv, fsize) : mb_free(w, fv, fsize);
		for (unsigned m = refs; m;) { /* the set bits, highest first */
			unsigned i = 31 - (unsigned)__builtin_clz(m);
			m ^= 1u << i;
			size_t bs = mb_obj_box_size(box[i]);
			if (!heap)
				w->local_bytes += bs;
			heap ? mb_live_dead(s->q.L, box[i], bs) : mb_free(w, box[i], bs);
		}
	}
	w->rng = rng;
	if (mb_lifeq_tick_due(&s->q))
		closure_due(s);
}

/* --- the closure-heavy pattern -------------------------------------------- */

typedef struct clo_thread {
	mb_live_t live;
	closure_state_t s;
} clo_thread_t;

static const char *const closure_counter_names[] = {
	"closures", "registered", "boxes", "box_bytes", "calls", "local_closures",
	"bad_reads", "gc_cycles", NULL,
};

static int closure_thread_init(mb_worker_t *w)
{
	clo_thread_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -12;
	w->state = t;
	mb_live_init(&t->live, w);
	return closure_state_init(&t->s, &t->live, 0);
}

static void closure_counters(mb_worker_t *w)
{
	clo_thread_t *t = w->state;
	for (int i = 0; i < CLO_NCOUNT; i++)
		w->kernel_counter[i] = t->s.c[i];
	w->kernel_counter[CLO_NCOUNT] = t->live.gcs;
}

static void closure_step(mb_worker_t *w, uint64_t nops)
{
	clo_thread_t *t = w->state;
	const closure_params_t *p = w->params;
	mb_live_step_begin(&t->live);
	for (uint64_t i = 0; i < nops; i++)
		closure_op(w, p, &t->s);
	closure_counters(w);
}

static void closure_phase_end(mb_worker_t *w)
{
	clo_thread_t *t = w->state;
	mb_lifeq_phase_end(&t->s.q);
}

static void closure_drain(mb_worker_t *w)
{
	clo_thread_t *t = w->state;
	mb_lifeq_drain(&t->s.q);
	mb_live_drain(&t->live);
	closure_counters(w);
}

static void closure_thread_fini(mb_worker_t *w)
{
	clo_thread_t *t = w->state;
	mb_lifeq_fini(&t->s.q);
	mb_live_fini(&t->live);
	free(t);
	w->state = NULL;
}

const mb_pattern_t mb_pattern_closure = {
	.name = "closure",
	.help = "closures (funcval + captured variables, each shared one boxed on the heap); "
		"some registered as long-lived callbacks, most called at once",
	.options = closure_options,
	.params_size = sizeof(closure_params_t),
	.counter_names = closure_counter_names,
	.validate = closure_validate,
	.thread_init = closure_thread_init,
	.step = closure_step,
	.taped = true,
	.counters = closure_counters,
	.phase_end = closure_phase_end,
	.drain = closure_drain,
	.thread_fini = closure_thread_fini,
};
