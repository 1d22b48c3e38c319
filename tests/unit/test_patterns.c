/*
 * Pattern kernels, run in-process on a counting test allocator: goroutine
 * stack grow/shrink on a scripted walk, lifetimes, GC pacing, the escape
 * fraction, MB_LOCAL use, slice growth counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "goslice.h"
#include "gostack.h"
#include "kernels.h"

/* --- a counting allocator ---------------------------------------------------- */
static uint64_t n_malloc, n_free, n_local, local_bytes_seen, n_stack;
static uint64_t fail_every, n_failed; /* fail_every: every that-many-th malloc fails */

static int t_init(void) { return 0; }
static void *t_malloc(size_t n, unsigned f)
{
	n_malloc++;
	if (fail_every && n_malloc % fail_every == 0)
		return n_failed++, NULL;
	if (f & MB_LOCAL)
		n_local++, local_bytes_seen += n;
	return malloc(n);
}
static void t_free(void *p, size_t n) { n_free++; free(p); }
static void *t_realloc(void *p, size_t o, size_t n) { return realloc(p, n); }
static size_t t_usable(void *p) { return 0; }
static void *t_stack_alloc(size_t n) { n_stack++; return malloc(n); }
static void t_stack_free(void *p, size_t n) { n_stack--; free(p); }

static const mb_alloc_ops_t test_alloc = {
	.abi_version = MB_ALLOC_ABI_VERSION, .name = "test", .init = t_init,
	.malloc = t_malloc, .free = t_free, .realloc = t_realloc, .usable_size = t_usable,
	.stack_alloc = t_stack_alloc, .stack_free = t_stack_free,
};

static mb_run_t run;
static mb_worker_t worker;
static const void *phase_params[1];
static mb_worker_t *workers[1];

static mb_worker_t *setup_worker(const void *params, bool ea, bool paced)
{
	memset(&run, 0, sizeof(run));
	memset(&worker, 0, sizeof(worker));
	n_malloc = n_free = n_local = local_bytes_seen = n_stack = n_failed = 0;
	phase_params[0] = params;
	workers[0] = &worker;
	run.alloc = &test_alloc;
	run.params = params;
	run.nthreads = 1;
	run.escape_analysis = ea;
	run.gc_paced = paced;
	run.gogc = 100;
	run.phase_params = phase_params;
	run.nphases = 1;
	run.workers = workers;
	worker.run = &run;
	worker.alloc = &test_alloc;
	worker.params = params;
	mb_opstats_start(&worker, false);
	mb_rng_seed(&worker.rng, 42, 0);
	return &worker;
}

/* w's accounting with its totals derived (mb_opstats_settle). */
static const mb_opstats_t *settled(mb_worker_t *w)
{
	mb_opstats_settle(&w->st);
	return &w->st;
}

static mb_dist_t fixed(double v)
{
	return (mb_dist_t){.kind = MB_DIST_FIXED, .value = v, .min = v, .max = v,
			   .ifixed = (uint64_t)v};
}

/* --- goroutine stacks -------------------------------------------------------- */

/* Goroutine stats with a frame record (which every return reads) at fr. */
static mb_gstats_t gstats(mb_gframes_t *fr)
{
	assert_int_equal(mb_gframes_init(fr), 0);
	return (mb_gstats_t){.fr = fr};
}

static void test_stack_walk(void **st)
{
	mb_worker_t *w = setup_worker(NULL, true, false);
	mb_gframes_t fr;
	mb_gstats_t gs = gstats(&fr);
	mb_g_t g;
	assert_true(mb_g_start(w, &g, MB_STACK_MIN, NULL, &gs));
	assert_int_equal(g.size, 2048);
	/* 512-byte frames with the 928-byte guard (grow when used + 512 - 128 +
	 * 928 >= size): calls 1-2 fit in 2 KiB, call 3 doubles to 4 KiB (copying
	 * 1024), call 7 doubles to 8 KiB (copying 3072) */
	for (int i = 0; i < 7; i++)
		assert_true(mb_g_call(w, &g, 512, &gs));
	assert_int_equal(gs.grows, 2);
	assert_int_equal(gs.copied, 1024 + 3072);
	assert_int_equal(g.size, 8192);
	assert_int_equal(g.used, 7 * 512);
	for (int i = 0; i < 6; i++)
		mb_g_ret(&g, &gs);
	assert_int_equal(g.used, 512);
	assert_int_equal(gs.bad_frames, 0);
	/* GC points: 512 < 8192/4 → 4096; 512 < 1024 → 2048; never below 2 KiB */
	mb_g_shrink(w, &g, MB_STACK_MIN, &gs);
	mb_g_shrink(w, &g, MB_STACK_MIN, &gs);
	mb_g_shrink(w, &g, MB_STACK_MIN, &gs);
	assert_int_equal(gs.shrinks, 2);
	assert_int_equal(g.size, 2048);
	assert_int_equal(gs.copied, 4096 + 512 + 512);
	/* the frames survived the copies */
	mb_g_ret(&g, &gs);
	assert_int_equal(g.depth, 0);
	assert_int_equal(gs.bad_frames, 0);
	/* used == size/4 does not shrink (Go: "if used >= avail/4 return") */
	assert_true(mb_g_call(w, &g, 3072, &gs)); /* 3072 + 928 > 2048: → 4096 */
	assert_int_equal(g.size, 4096);
	mb_g_ret(&g, &gs);
	assert_true(mb_g_call(w, &g, 1024, &gs));
	mb_g_shrink(w, &g, MB_STACK_MIN, &gs);
	assert_int_equal(g.size, 4096);
	mb_g_ret(&g, &gs);
	assert_true(mb_g_call(w, &g, 1008, &gs));
	mb_g_shrink(w, &g, MB_STACK_MIN, &gs);
	assert_int_equal(g.size, 2048);
	mb_g_ret(&g, &gs);
	/* the prologue check: frames <= StackSmall (128) may dip into the slack;
	 * 1104 + 928 < 2048 fits, then a 128-byte frame still fits (1104 + 0 +
	 * 928 < 2048) and a 16-byte one at 1232 does not (1232 + 928 >= 2048) */
	{
		mb_g_t h;
		uint64_t g0 = gs.grows;
		assert_true(mb_g_start(w, &h, 2048, NULL, &gs));
		assert_true(mb_g_call(w, &h, 1104, &gs));
		assert_true(mb_g_call(w, &h, 128, &gs));
		assert_int_equal(gs.grows, g0);
		assert_true(mb_g_call(w, &h, 16, &gs));
		assert_int_equal(gs.grows, g0 + 1);
		assert_int_equal(h.size, 4096);
		mb_g_ret(&h, &gs), mb_g_ret(&h, &gs), mb_g_ret(&h, &gs);
		assert_int_equal(gs.bad_frames, 0);
		mb_g_free(w, &h, &gs);
	}
	/* a frame bigger than double: doubling repeats (2K → 4K → 8K → 16K) */
	uint64_t grows = gs.grows;
	assert_true(mb_g_call(w, &g, 10000 & ~15u, &gs));
	assert_int_equal(g.size, 16384);
	assert_int_equal(gs.grows, grows + 1);
	mb_g_ret(&g, &gs);
	mb_g_free(w, &g, &gs);
	assert_int_equal(gs.stack_bytes, 0);
	assert_int_equal(n_stack, 0); /* stack_alloc/stack_free used, balanced */
	assert_int_equal(settled(w)->live_bytes, 0);
	mb_gframes_fini(&fr);
}

static void test_stack_reuse(void **st)
{
	mb_worker_t *w = setup_worker(NULL, true, false);
	mb_gframes_t fr;
	mb_gstats_t gs = gstats(&fr);
	mb_g_t g, spare = {0};
	assert_true(mb_g_start(w, &g, 2048, &spare, &gs));
	char *stack = g.stack;
	mb_g_exit(w, &g, 2048, &spare, &gs); /* gfput keeps it */
	assert_ptr_equal(spare.stack, stack);
	assert_true(mb_g_start(w, &g, 2048, &spare, &gs));
	assert_ptr_equal(g.stack, stack);
	assert_null(spare.stack);
	assert_int_equal(settled(w)->allocs, 1);
	assert_true(mb_g_call(w, &g, 2048, &gs)); /* grown: not kept at exit */
	mb_g_ret(&g, &gs);
	mb_g_exit(w, &g, 2048, &spare, &gs);
	assert_null(spare.stack);
	assert_int_equal(settled(w)->live_bytes, 0);
	mb_gframes_fini(&fr);
}

/* A walk in parts, run directly or in a record pass (tape.h): part 0 starts
 * a goroutine and calls 20 deep (over several frame-record segments, and two
 * growths), part 1 returns once, part 2 returns to depth 2, halves at GC
 * points, calls and returns again, and exits. */
static mb_g_t tw_g, tw_spare;
static mb_gstats_t tw_gs;

static void taped_walk(mb_worker_t *w, uint64_t part)
{
	if (part == 0) {
		assert_true(mb_g_start(w, &tw_g, MB_STACK_MIN, &tw_spare, &tw_gs));
		for (unsigned i = 0; i < 20; i++)
			assert_true(mb_g_call(w, &tw_g, 32 * (1 + i * 7 % 19), &tw_gs));
	} else if (part == 1) {
		mb_g_ret(&tw_g, &tw_gs);
	} else {
		while (tw_g.depth > 2)
			mb_g_ret(&tw_g, &tw_gs);
		for (int i = 0; i < 3; i++)
			mb_g_shrink(w, &tw_g, MB_STACK_MIN, &tw_gs);
		assert_true(mb_g_call(w, &tw_g, 1024, &tw_gs));
		mb_g_ret(&tw_g, &tw_gs), mb_g_ret(&tw_g, &tw_gs), mb_g_ret(&tw_g, &tw_gs);
		mb_g_exit(w, &tw_g, MB_STACK_MIN, &tw_spare, &tw_gs);
		mb_g_free(w, &tw_spare, &tw_gs);
	}
}

static void test_stack_taped(void **st)
{
	/* directly, on the real stacks */
	mb_worker_t *w = setup_worker(NULL, true, false);
	mb_gframes_t fr0;
	tw_gs = gstats(&fr0);
	tw_spare = (mb_g_t){0};
	for (uint64_t part = 0; part < 3; part++)
		taped_walk(w, part);
	mb_gstats_t direct = tw_gs;
	direct.fr = NULL;
	mb_gframes_fini(&fr0);
	uint64_t checksum = settled(w)->checksum;
	assert_int_equal(direct.bad_frames, 0);
	assert_true(direct.grows >= 2 && direct.shrinks >= 1);
	/* taped, the returns taking their sizes from the frame record */
	w = setup_worker(NULL, true, false);
	mb_gframes_t fr;
	mb_tape_t t;
	assert_int_equal(mb_gframes_init(&fr), 0);
	assert_int_equal(mb_tape_init(&t), 0);
	tw_gs = (mb_gstats_t){.fr = &fr};
	for (uint64_t part = 0; part < 3; part++) {
		mb_tape_record(w, &t, taped_walk, part);
		if (part == 1) { /* spoil the next frame down before its read */
			char *base = t.ptr[mb_tape_slot(tw_g.stack)];
			*(uint64_t *)(base + tw_g.used - 8) ^= 16;
		}
		mb_tape_replay(w, &t);
	}
	assert_int_equal(tw_gs.bad_frames, 1); /* counted; the walk went on */
	tw_gs.bad_frames = 0;
	tw_gs.fr = NULL;
	assert_memory_equal(&tw_gs, &direct, sizeof(direct));
	assert_int_equal(settled(w)->checksum, checksum);
	assert_int_equal(w->st.live_bytes, 0);
	assert_int_equal(n_stack, 0);
	assert_int_equal(fr.n, 1 + (20 + MB_GFR_SEG - 1) / MB_GFR_SEG); /* at depth 20; reused after */
	mb_tape_fini(&t);
	mb_gframes_fini(&fr);
}

/* --- lifetimes and GC pacing --------------------------------------------------- */

typedef struct { mb_life_t life; } lp_t;

static void test_life_ops_fifo_phase(void **st)
{
	lp_t p = {.life = {.kind = MB_LIFE_OPS, .ops = fixed(10)}};
	mb_worker_t *w = setup_worker(&p, true, false);
	mb_live_t L;
	mb_lifeq_t q;
	mb_live_init(&L, w);
	assert_int_equal(mb_lifeq_init(&q, &L, 0), 0);
	void *o = mb_live_alloc(&L, 100, 0);
	mb_lifeq_add(&q, &p.life, &w->rng, o, 100);
	for (int i = 0; i < 9; i++)
		mb_lifeq_tick(&q);
	assert_int_equal(n_free, 0);
	mb_lifeq_tick(&q); /* the 10th operation */
	assert_int_equal(n_free, 1);
	assert_int_equal(L.heap_live, 0);
	/* fifo: the newest 3 live */
	p.life.kind = MB_LIFE_FIFO;
	p.life.window = 3;
	mb_lifeq_t f;
	mb_lifeq_init(&f, &L, 0);
	for (int i = 0; i < 5; i++)
		mb_lifeq_add(&f, &p.life, &w->rng, mb_live_alloc(&L, 8, 0), 8);
	assert_int_equal(n_free, 1 + 2);
	assert_int_equal(f.ring_n, 3);
	/* phase: until the phase ends; permanent: until the drain */
	p.life.kind = MB_LIFE_PHASE;
	mb_lifeq_add(&f, &p.life, &w->rng, mb_live_alloc(&L, 8, 0), 8);
	p.life.kind = MB_LIFE_PERMANENT;
	mb_lifeq_add(&f, &p.life, &w->rng, mb_live_alloc(&L, 8, 0), 8);
	mb_lifeq_phase_end(&f);
	assert_int_equal(n_free, 4);
	mb_lifeq_drain(&f);
	mb_lifeq_drain(&q);
	mb_live_drain(&L);
	assert_int_equal(n_free, n_malloc);
	assert_int_equal(settled(w)->live_bytes, 0);
	mb_lifeq_fini(&f);
	mb_lifeq_fini(&q);
	mb_live_fini(&L);
}

static void test_gc_paced(void **st)
{
	lp_t p = {.life = {.kind = MB_LIFE_OPS, .ops = fixed(1)}};
	mb_worker_t *w = setup_worker(&p, true, true);
	mb_live_t L;
	mb_lifeq_t q;
	mb_live_init(&L, w);
	mb_lifeq_init(&q, &L, 0);
	/* 1 KiB objects dying one operation after birth: nothing is freed until
	 * live + dead reaches the 4 MiB minimum heap goal (GOGC 100) */
	for (int i = 0; i < 4095; i++) {
		mb_lifeq_add(&q, &p.life, &w->rng, mb_live_alloc(&L, 1024, 0), 1024);
		mb_lifeq_tick(&q);
	}
	assert_int_equal(n_free, 0);
	assert_int_equal(L.heap_dead, 4095 * 1024);
	mb_lifeq_add(&q, &p.life, &w->rng, mb_live_alloc(&L, 1024, 0), 1024); /* 4 MiB: GC */
	assert_int_equal(n_free, 4095);
	assert_int_equal(L.gcs, 1);
	assert_int_equal(L.goal, 4u << 20);
	/* a live heap of 3 MiB: the next goal is 6 MiB (live * 2) */
	p.life.kind = MB_LIFE_PERMANENT;
	for (int i = 0; i < 3 * 1024 - 1; i++)
		mb_lifeq_add(&q, &p.life, &w->rng, mb_live_alloc(&L, 1024, 0), 1024);
	mb_live_gc(&L);
	assert_int_equal(L.goal, 6u << 20);
	mb_lifeq_drain(&q);
	mb_live_drain(&L);
	assert_int_equal(n_free, n_malloc);
	mb_lifeq_fini(&q);
	mb_live_fini(&L);
}

/* --- escape-heavy -------------------------------------------------------------- */

static escape_params_t escape_defaults(void)
{
	escape_params_t p;
	memset(&p, 0, sizeof(p));
	assert_int_equal(mb_opt_defaults(escape_options, &p), 0);
	return p;
}

static void free_dists(const mb_option_t *t, void *p)
{
	for (const mb_option_t *o = t; o->name; o++)
		if (o->type == MB_OPT_CUSTOM && o->parse == mb_dist_parse)
			mb_dist_free((mb_dist_t *)((char *)p + o->off));
}

static void run_escape(bool ea, uint64_t calls, escape_state_t *s, escape_params_t *p)
{
	mb_worker_t *w = setup_worker(p, ea, false);
	static mb_live_t L;
	mb_live_init(&L, w);
	assert_int_equal(escape_state_init(s, &L, 0), 0);
	for (uint64_t i = 0; i < calls; i++)
		escape_call(w, p, s);
	mb_lifeq_drain(&s->q);
	mb_live_drain(&L);
	mb_lifeq_fini(&s->q);
	mb_live_fini(&L);
	assert_int_equal(n_free, n_malloc);
	assert_int_equal(settled(w)->live_bytes, 0);
	assert_int_equal(s->c[ESC_BAD_READS], 0);
}

static void test_escape_fraction(void **st)
{
	escape_params_t p = escape_defaults();
	escape_state_t s;
	memset(&s, 0, sizeof(s));
	run_escape(true, 100000, &s, &p);
	double esc = (double)s.c[ESC_ESCAPED], loc = (double)s.c[ESC_LOCAL];
	double frac = esc / (esc + loc);
	/* ~350k objects: one standard deviation is 0.0008 */
	if (frac < 0.29 || frac > 0.31)
		fail_msg("escape fraction %.4f, want 0.30 +- 0.01", frac);
	assert_int_equal(n_local, s.c[ESC_LOCAL]); /* MB_LOCAL exactly for those */
	assert_int_equal(local_bytes_seen, worker.local_bytes);
	/* boxes: 20% of calls box, 30% of those use staticuint64s */
	double box = (double)s.c[ESC_BOXED] / 100000, stat = (double)s.c[ESC_BOX_STATIC] /
							  (double)s.c[ESC_BOXED];
	assert_true(box > 0.19 && box < 0.21);
	assert_true(stat > 0.28 && stat < 0.32);
	/* escape analysis off: same objects, all to the heap */
	escape_state_t s2;
	memset(&s2, 0, sizeof(s2));
	run_escape(false, 100000, &s2, &p);
	assert_int_equal(n_local, 0);
	assert_int_equal(s2.c[ESC_HEAP_NOESC], s.c[ESC_LOCAL]);
	assert_int_equal(s2.c[ESC_ESCAPED], s.c[ESC_ESCAPED]);
	free_dists(escape_options, &p);
}

/* --- closures -------------------------------------------------------------------- */

static void test_closure(void **st)
{
	closure_params_t p;
	memset(&p, 0, sizeof(p));
	assert_int_equal(mb_opt_defaults(closure_options, &p), 0);
	p.captures = fixed(4);
	p.by_ref_fraction = 1; /* every variable boxed: 4 boxes + a funcval each */
	p.register_fraction = 0;
	mb_worker_t *w = setup_worker(&p, true, false);
	mb_live_t L;
	closure_state_t s;
	memset(&s, 0, sizeof(s));
	mb_live_init(&L, w);
	closure_state_init(&s, &L, 0);
	for (int i = 0; i < 1000; i++)
		closure_op(w, &p, &s);
	assert_int_equal(s.c[CLO_BOXES], 4000);
	assert_int_equal(n_malloc, 5000);
	assert_int_equal(n_local, 5000); /* not registered: all in the frame */
	assert_int_equal(s.c[CLO_CALLS], 1000);
	/* registered: heap, then called once more when they die */
	p.register_fraction = 1;
	s.p = NULL; /* p changed in place: the state recomputes its thresholds */
	for (int i = 0; i < 100; i++)
		closure_op(w, &p, &s);
	assert_int_equal(n_local, 5000);
	mb_lifeq_drain(&s.q);
	mb_live_drain(&L);
	assert_int_equal(s.c[CLO_CALLS], 1100);
	assert_int_equal(s.c[CLO_BAD_READS], 0);
	assert_int_equal(n_free, n_malloc);
	mb_lifeq_fini(&s.q);
	mb_live_fini(&L);
	free_dists(closure_options, &p);
}

/* A closure kernel's run: directly, or recorded and replayed on a tape in
 * pieces (the taped pattern's way); its stream and what its calls read. */
typedef struct clo_run {
	uint64_t checksum, local, mallocs, frees, sink, c[CLO_NCOUNT];
} clo_run_t;

static closure_params_t *clo_p;
static closure_state_t *clo_s;

static void clo_ops(mb_worker_t *w, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		closure_op(w, clo_p, clo_s);
}

static void clo_drain(mb_worker_t *w, uint64_t unused)
{
	mb_lifeq_drain(&clo_s->q);
	mb_live_drain(clo_s->q.L);
}

static clo_run_t run_closure(closure_params_t *p, bool ea, bool paced, bool taped)
{
	mb_worker_t *w = setup_worker(p, ea, paced);
	mb_live_t L;
	closure_state_t s;
	memset(&s, 0, sizeof(s));
	mb_live_init(&L, w);
	assert_int_equal(closure_state_init(&s, &L, 0), 0);
	clo_p = p, clo_s = &s;
	if (taped) {
		mb_tape_t t;
		assert_int_equal(mb_tape_init(&t), 0);
		for (int i = 0; i < 20; i++)
			mb_tape_run(w, &t, clo_ops, 1000);
		mb_tape_run(w, &t, clo_drain, 0);
		mb_tape_fini(&t);
	} else {
		clo_ops(w, 20000);
		clo_drain(w, 0);
	}
	clo_run_t r = {.checksum = w->st.checksum, .local = w->local_bytes, .mallocs = n_malloc,
		       .frees = n_free, .sink = s.sink};
	memcpy(r.c, s.c, sizeof(r.c));
	mb_lifeq_fini(&s.q);
	mb_live_fini(&L);
	return r;
}

/* Taped, the closure kernel makes the same stream and its calls read the
 * same: registered closures killed by a fifo and by `ops` lifetimes, with
 * paced GC, and without escape analysis. */
static void test_closure_taped(void **st)
{
	closure_params_t p;
	memset(&p, 0, sizeof(p));
	assert_int_equal(mb_opt_defaults(closure_options, &p), 0);
	p.register_fraction = 0.3;
	p.life.window = 100;
	for (int v = 0; v < 4; v++) {
		p.life.kind = v & 1 ? MB_LIFE_OPS : MB_LIFE_FIFO;
		clo_run_t a = run_closure(&p, v != 2, v >= 2, false);
		clo_run_t b = run_closure(&p, v != 2, v >= 2, true);
		assert_int_equal(a.checksum, b.checksum);
		assert_int_equal(a.local, b.local);
		assert_int_equal(a.mallocs, b.mallocs);
		assert_int_equal(b.frees, b.mallocs);
		assert_int_equal(a.sink, b.sink);
		assert_memory_equal(a.c, b.c, sizeof(a.c));
		assert_int_equal(b.c[CLO_CALLS], b.c[CLO_MADE]);
		assert_int_equal(b.c[CLO_BAD_READS], 0);
	}
	/* out of memory at replay: a funcval or box that failed is skipped (its
	 * call not counted, no NULL box read), the rest freed */
	fail_every = 7;
	clo_run_t f = run_closure(&p, true, false, true);
	fail_every = 0;
	assert_true(n_failed > 0);
	assert_int_equal(f.frees, f.mallocs - n_failed);
	assert_true(f.c[CLO_CALLS] < f.c[CLO_MADE]);
	assert_int_equal(f.c[CLO_BAD_READS], 0);
	free_dists(closure_options, &p);
}

/* --- slices ---------------------------------------------------------------------- */

static void test_slice_growth(void **st)
{
	slice_params_t p;
	memset(&p, 0, sizeof(p));
	assert_int_equal(mb_opt_defaults(slice_options, &p), 0);
	p.make_fraction = 0;
	mb_dist_free(&p.length);
	p.length = fixed(1000); /* []int to 1000: caps 1..512, 848, 1280: 12 arrays */
	mb_worker_t *w = setup_worker(&p, true, false);
	mb_live_t L;
	slice_state_t s;
	memset(&s, 0, sizeof(s));
	mb_live_init(&L, w);
	slice_state_init(&s, &L, 0);
	slice_op(w, &p, &s);
	assert_int_equal(s.c[SL_GROWTHS], 12);
	/* each growth copies the full old array: 8 * (1+2+...+512+848) */
	assert_int_equal(s.c[SL_COPIED], 8 * (1023 + 848));
	assert_int_equal(s.c[SL_BYTES], 1280 * 8);
	assert_int_equal(n_free, 11); /* the old arrays */
	p.append_batch = 100; /* 0+100 → 100 → 208 (roundup) ... */
	slice_op(w, &p, &s);
	uint64_t cap = 0, len = 0, growths = 0;
	while (len < 1000) {
		uint64_t nl = len + 100;
		if (nl > cap)
			cap = mb_go_growslice_cap(cap, nl, 8, true), growths++;
		len = nl;
	}
	assert_int_equal(s.c[SL_GROWTHS], 12 + growths);
	mb_lifeq_drain(&s.q);
	mb_live_drain(&L);
	assert_int_equal(n_free, n_malloc);
	assert_int_equal(s.c[SL_BAD_READS], 0);
	mb_lifeq_fini(&s.q);
	mb_live_fini(&L);
	free_dists(slice_options, &p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_walk),    cmocka_unit_test(test_stack_reuse),
		cmocka_unit_test(test_stack_taped),
		cmocka_unit_test(test_life_ops_fifo_phase), cmocka_unit_test(test_gc_paced),
		cmocka_unit_test(test_escape_fraction), cmocka_unit_test(test_closure),
		cmocka_unit_test(test_closure_taped),
		cmocka_unit_test(test_slice_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
