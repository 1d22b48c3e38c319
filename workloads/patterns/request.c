/*
 * request: the composite. A request-serving loop that mixes the four Go
 * patterns the way a server does.
 *
 * Each worker thread runs `goroutines` handler goroutines (gostack.h), as
 * net/http runs one per connection. One operation serves one request on a
 * goroutine picked at random: it descends `depth` calls, each pushing a
 * `frame` on the goroutine's stack (growing it by copy when needed) and making
 * objects as escape-heavy does (`escape:` params, some escaping into the
 * heap); at each level a closure is made with probability closure_prob (as
 * closure-heavy does, `closure:` params: handlers, deferred funcs, callbacks);
 * with probability slice_prob the response is built as a slice by append
 * (large-slice, `slice:` params); then the calls return. With probability
 * exit_prob the connection closes: the goroutine exits and a new one takes its
 * slot. Every gc_every requests the thread reaches a GC point and shrinks
 * stacks under a quarter used. Lifetimes, GC pacing and cross-thread frees
 * apply to all heap objects as in the single patterns.
 */
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "gostack.h"
#include "kernels.h"

/* A kernel's params inside this pattern's params: `init` is set once the
 * kernel's defaults are in, so later mappings (workload, phase) add to them. */
typedef struct { bool init; escape_params_t p; } req_escape_t;
typedef struct { bool init; closure_params_t p; } req_closure_t;
typedef struct { bool init; slice_params_t p; } req_slice_t;

typedef struct request_params {
	uint64_t goroutines;
	mb_dist_t depth;
	mb_dist_t frame;
	double closure_prob, slice_prob, exit_prob;
	uint64_t gc_every;
	req_escape_t escape;
	req_closure_t closure;
	req_slice_t slice;
} request_params_t;

static int sub_parse(mb_yctx_t *y, yaml_node_t *n, bool *init, void *p,
		     const mb_option_t *table, const mb_option_t *o)
{
	if (!*init) {
		if (mb_opt_defaults(table, p))
			return -1;
		*init = true;
	}
	if (n->type != YAML_MAPPING_NODE) {
		mb_yerr(y, n, "%s: expected a mapping of the pattern's params", o->name);
		return -1;
	}
	return mb_opt_apply(y, table, NULL, n, p, false) ? -1 : 0;
}

static int escape_sub(mb_yctx_t *y, yaml_node_t *n, void *f, const mb_option_t *o)
{
	req_escape_t *s = f;
	return sub_parse(y, n, &s->init, &s->p, escape_options, o);
}

static int closure_sub(mb_yctx_t *y, yaml_node_t *n, void *f, const mb_option_t *o)
{
	req_closure_t *s = f;
	return sub_parse(y, n, &s->init, &s->p, closure_options, o);
}

static int slice_sub(mb_yctx_t *y, yaml_node_t *n, void *f, const mb_option_t *o)
{
	req_slice_t *s = f;
	return sub_parse(y, n, &s->init, &s->p, slice_options, o);
}

#define SUB(nm, f, fn, ex, hlp)                                                    \
	{ .name = nm, .type = MB_OPT_CUSTOM, .off = offsetof(request_params_t, f),    \
	  .def = "{}", .parse = fn, .type_doc = "mapping", .example = ex, .help = hlp }
static const mb_option_t request_options[] = {
	MB_OPT_RANGE("goroutines", MB_OPT_UINT, request_params_t, goroutines, "1000", 1,
		     1 << 24, "handler goroutines per worker thread"),
	MB_OPT_DIST("depth", request_params_t, depth, "{dist: uniform, min: 2, max: 10}",
		    "calls a request descends (each makes objects as `escape` does)", "6"),
	MB_OPT_DIST("frame", request_params_t, frame,
		    "{dist: lognormal, median: 160, sigma: 0.8, min: 16, max: 8192}",
		    "bytes per stack frame", "256"),
	MB_OPT_RANGE("closure_prob", MB_OPT_DOUBLE, request_params_t, closure_prob, "0.3", 0, 1,
		     "probability that a call makes a closure"),
	MB_OPT_RANGE("slice_prob", MB_OPT_DOUBLE, request_params_t, slice_prob, "0.5", 0, 1,
		     "probability that a request builds a response slice"),
	MB_OPT_RANGE("exit_prob", MB_OPT_DOUBLE, request_params_t, exit_prob, "0.05", 0, 1,
		     "probability that the goroutine exits after a request"),
	MB_OPT("gc_every", MB_OPT_UINT, request_params_t, gc_every, "0",
	       "requests between GC points (stack shrinking); 0: as many as goroutines"),
	SUB("escape", escape, escape_sub, "{escape_fraction: 0.2, lifetime: phase}",
	    "params of the objects each call makes (the `escape` pattern's keys)"),
	SUB("closure", closure, closure_sub, "{register_fraction: 0.05}",
	    "params of the closures (the `closure` pattern's keys)"),
	SUB("slice", slice, slice_sub, "{length: {dist: uniform, min: 16, max: 4096}}",
	    "params of the response slices (the `slice` pattern's keys)"),
	MB_OPT_END,
};
#undef SUB

static void free_sub(const mb_option_t *table, void *p)
{
	for (const mb_option_t *o = table; o->name; o++)
		if (o->type == MB_OPT_CUSTOM && o->parse == mb_dist_parse)
			mb_dist_free((mb_dist_t *)((char *)p + o->off));
	mb_opt_free(table, p);
}

static void request_params_free(void *params)
{
	request_params_t *p = params;
	free_sub(escape_options, &p->escape.p);
	free_sub(closure_options, &p->closure.p);
	free_sub(slice_options, &p->slice.p);
}

static int request_validate(mb_yctx_t *y, yaml_node_t *node, const void *params)
{
	const request_params_t *p = params;
	yaml_node_t *e = NULL, *c = NULL, *s = NULL;
	if (node && node->type == YAML_MAPPING_NODE) { /* point at the kernel's own mapping */
		e = mb_yaml_get(y->doc, node, "escape");
		c = mb_yaml_get(y->doc, node, "closure");
		s = mb_yaml_get(y->doc, node, "slice");
	}
	return escape_validate(y, e ? e : node, &p->escape.p) +
	       closure_validate(y, c ? c : node, &p->closure.p) +
	       slice_validate(y, s ? s : node, &p->slice.p);
}

typedef struct req_thread {
	mb_live_t live;
	escape_state_t esc;
	closure_state_t clo;
	slice_state_t sl;
	mb_g_t *g;
	uint64_t n, since_gc, requests, gcs_stack;
	mb_g_t spare;
	mb_gstats_t gs;      /* gs.fr = &fr */
	mb_gframes_t fr;
	bool adopted;        /* the stacks are handles (a record pass has run) */
	const request_params_t *p; /* the params the thresholds below are of */
	uint64_t closure_t, slice_t, exit_t; /* closure_prob, ...: mb_rng_chance_t */
} req_thread_t;

static const char *const request_counter_names[] = {
	"requests", "calls", "closures", "slices", "stack_grows", "stack_shrinks",
	"bytes_copied", "gc_cycles", NULL,
};

static void request_counters(mb_worker_t *w)
{
	req_thread_t *t = w->state;
	uint64_t *k = w->kernel_counter;
	k[0] = t->requests, k[1] = t->esc.c[ESC_CALLS], k[2] = t->clo.c[CLO_MADE];
	k[3] = t->sl.c[SL_SLICES], k[4] = t->gs.grows, k[5] = t->gs.shrinks;
	k[6] = t->gs.copied + t->sl.c[SL_COPIED], k[7] = t->live.gcs;
}

static inline uint32_t frame_size(const request_params_t *p, mb_rng_t *r)
{
	uint64_t f = mb_dist_sample_u64(&p->frame, r);
	return (uint32_t)((f < 16 ? 16 : f + 15) & ~(uint64_t)15);
}

static inline __attribute__((always_inline)) bool go_start(mb_worker_t *w, req_thread_t *t,
							  const request_params_t *p, mb_g_t *g,
							  mb_rng_t *r)
{
	if (!mb_g_start(w, g, MB_STACK_MIN, &t->spare, &t->gs))
		return false;
	if (!mb_g_call(w, g, frame_size(p, r), &t->gs)) { /* the serve loop's frame */
		mb_g_free(w, g, &t->gs);
		return false;
	}
	return true;
}

static int request_thread_init(mb_worker_t *w)
{
	const request_params_t *p = w->params;
	req_thread_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -12;
	w->state = t;
	mb_live_init(&t->live, w);
	int rc = escape_state_init(&t->esc, &t->live, offsetof(request_params_t, escape.p));
	rc = rc ? rc : closure_state_init(&t->clo, &t->live, offsetof(request_params_t, closure.p));
	rc = rc ? rc : slice_state_init(&t->sl, &t->live, offsetof(request_params_t, slice.p));
	if (rc)
		return rc;
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
	return 0;
}

/* The per-request constants of p, computed when p changes (a new phase). */
static void request_prep(req_thread_t *t, const request_params_t *p)
{
	t->p = p;
	t->closure_t = mb_rng_chance_t(p->closure_prob);
	t->slice_t = mb_rng_chance_t(p->slice_prob);
	t->exit_t = mb_rng_chance_t(p->exit_prob);
}

/* The rng lives in a local between the kernels' operations (which take it
 * from w->rng and put it back). */
static void request_step(mb_worker_t *w, uint64_t nops)
{
	req_thread_t *t = w->state;
	const request_params_t *p = w->params;
	uint64_t gc_every = p->gc_every ? p->gc_every : t->n;
	if (t->p != p)
		request_prep(t, p);
	mb_g_adopt(w, t->g, t->n, &t->spare, &t->adopted);
	const uint64_t closure_t = t->closure_t, slice_t = t->slice_t, exit_t = t->exit_t;
	mb_live_step_begin(&t->live);
	mb_rng_t rng = w->rng;
	for (uint64_t i = 0; i < nops; i++) {
		mb_g_t *g = &t->g[mb_rng_below(&rng, t->n)];
		if (!g->stack && !go_start(w, t, p, g, &rng))
			continue;
		uint64_t depth = mb_dist_sample_u64(&p->depth, &rng), d = 0;
		for (; d < depth; d++) {
			if (!mb_g_call(w, g, frame_size(p, &rng), &t->gs))
				break;
			w->rng = rng;
			escape_call(w, &p->escape.p, &t->esc);
			rng = w->rng;
			if (closure_t && mb_rng_chance_at(&rng, closure_t)) {
				w->rng = rng;
				closure_op(w, &p->closure.p, &t->clo);
				rng = w->rng;
			}
		}
		if (slice_t && mb_rng_chance_at(&rng, slice_t)) {
			w->rng = rng;
			slice_op(w, &p->slice.p, &t->sl);
			rng = w->rng;
		}
		while (d--)
			mb_g_ret(g, &t->gs);
		t->requests++;
		if (exit_t && mb_rng_chance_at(&rng, exit_t)) {
			mb_g_ret(g, &t->gs); /* the serve loop returns */
			mb_g_exit(w, g, MB_STACK_MIN, &t->spare, &t->gs);
		}
		if (++t->since_gc >= gc_every) {
			t->since_gc = 0;
			for (uint64_t k = 0; k < t->n; k++)
				mb_g_shrink(w, &t->g[k], MB_STACK_MIN, &t->gs);
		}
	}
	w->rng = rng;
	request_counters(w);
}

static void request_phase_end(mb_worker_t *w)
{
	req_thread_t *t = w->state;
	mb_lifeq_phase_end(&t->esc.q);
	mb_lifeq_phase_end(&t->clo.q);
	mb_lifeq_phase_end(&t->sl.q);
}

static void request_drain(mb_worker_t *w)
{
	req_thread_t *t = w->state;
	mb_g_adopt(w, t->g, t->n, &t->spare, &t->adopted);
	mb_lifeq_drain(&t->esc.q);
	mb_lifeq_drain(&t->clo.q);
	mb_lifeq_drain(&t->sl.q);
	mb_live_drain(&t->live);
	for (uint64_t i = 0; t->g && i < t->n; i++)
		mb_g_free(w, &t->g[i], &t->gs);
	if (t->spare.stack)
		mb_g_free(w, &t->spare, &t->gs);
	/* goroutines restart on the next request after a phase drain */
}

static void request_thread_fini(mb_worker_t *w)
{
	req_thread_t *t = w->state;
	if (!t)
		return;
	request_drain(w);
	mb_lifeq_fini(&t->esc.q);
	mb_lifeq_fini(&t->clo.q);
	mb_lifeq_fini(&t->sl.q);
	mb_live_fini(&t->live);
	if (t->g)
		munmap(t->g, t->n * sizeof(mb_g_t));
	mb_gframes_fini(&t->fr);
	free(t);
	w->state = NULL;
}

const mb_pattern_t mb_pattern_request = {
	.name = "request",
	.help = "composite request-serving loop: handler goroutine stacks, escaping and "
		"frame objects per call, closures, response slices",
	.options = request_options,
	.params_size = sizeof(request_params_t),
	.counter_names = request_counter_names,
	.validate = request_validate,
	.params_free = request_params_free,
	.thread_init = request_thread_init,
	.step = request_step,
	.taped = true,
	.phase_end = request_phase_end,
	.drain = request_drain,
	.thread_fini = request_thread_fini,
};
