/*
 * large-slice: slices built by append, and made by make([]T, n).
 *
 * append grows a full slice with Go's growslice (goslice.h): the capacity
 * doubles below 256 elements, then grows by (cap + 768) / 4 until the new
 * length fits, and the bytes for it are rounded up by roundupsize (to the size
 * class up to 32 KiB, to 8 KiB pages above, where the large-object path takes
 * over). The new backing array is allocated, the old contents copied (the
 * bytes are counted) and the old array becomes garbage: freed at once, or at
 * the next GC with gc: paced, as Go's GC would reclaim it.
 * One operation builds one slice: with probability make_fraction it is
 * make([]T, n), n from make_len (one allocation of exactly n * elem_size
 * bytes, every line written as Go zeroes it); otherwise it is appended to,
 * append_batch elements per append, until it has `length` elements. New
 * elements are written (one word per 64-byte line). The finished slice lives
 * by `lifetime`; when it dies its first line is read back and it is freed.
 * Cost outside the allocator: O(growths) per slice (about log1.25 of the
 * length), not O(elements); the copies and writes are the work Go does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "goslice.h"
#include "kernels.h"

const mb_option_t slice_options[] = {
	MB_OPT_RANGE("elem_size", MB_OPT_SIZE, slice_params_t, elem_size, "8", 1, 1 << 20,
		     "bytes per element (unsafe.Sizeof(T))"),
	MB_OPT("noscan", MB_OPT_BOOL, slice_params_t, noscan, "true",
	       "elements hold no pointers (noscan; false adds Go's 8-byte malloc header "
	       "past 512 bytes)"),
	MB_OPT_DIST("length", slice_params_t, length,
		    "{dist: lognormal, median: 512, sigma: 1.5, min: 1, max: 262144}",
		    "elements appended to a slice", "{dist: uniform, min: 1, max: 100000}"),
	MB_OPT_RANGE("append_batch", MB_OPT_UINT, slice_params_t, append_batch, "1", 1, 1e9,
		     "elements per append call (1: one at a time)"),
	MB_OPT_RANGE("make_fraction", MB_OPT_DOUBLE, slice_params_t, make_fraction, "0.2", 0, 1,
		     "slices made by make([]T, n) instead of appends"),
	MB_OPT_DIST("make_len", slice_params_t, make_len,
		    "{dist: lognormal, median: 4096, sigma: 2, min: 1, max: 1048576}",
		    "n of make([]T, n)", "{dist: table, values: [1024, 65536, 1048576]}"),
	MB_OPT_LIFE("", slice_params_t, life, "ops", "{dist: exponential, mean: 32, max: 2000}",
		    "64", "lifetime of a finished slice"),
	MB_OPT_END,
};

int slice_validate(mb_yctx_t *y, yaml_node_t *node, const void *params)
{
	const slice_params_t *p = params;
	int bad = mb_life_validate(y, node, &p->life, "");
	double big = (double)p->elem_size * (mb_dist_max(&p->length) > mb_dist_max(&p->make_len)
		? mb_dist_max(&p->length) : mb_dist_max(&p->make_len));
	if (big * 1.25 + MB_GO_PAGE_SIZE >= 4294967296.0) {
		mb_yerr(y, node, "a slice of up to %.0f bytes: slices must stay below 4 GiB", big);
		bad++;
	}
	return bad;
}

/* A finished slice dies: its first line is read back, then it is garbage.
 * The queue's q->kill, and inlined where a tick or a full fifo kills. */
static inline __attribute__((always_inline)) void slice_kill_inline(mb_lifeq_t *q, void *p,
								    size_t size)
{
	slice_state_t *s = (slice_state_t *)((char *)q - offsetof(slice_state_t, q));
	mb_obj_check_into(p, size < 64 ? size : 64, &s->c[SL_BAD_READS]);
	mb_live_dead(q->L, p, size);
}

static void slice_kill(mb_lifeq_t *q, void *p, size_t size)
{
	slice_kill_inline(q, p, size);
}

/* The slices due at this tick die (lifetime: ops). */
static __attribute__((noinline)) void slice_due(slice_state_t *s)
{
	mb_lifeq_kill_due(&s->q, slice_kill_inline);
}

int slice_state_init(slice_state_t *s, mb_live_t *L, size_t params_off)
{
	int rc = mb_lifeq_init(&s->q, L, params_off + offsetof(slice_params_t, life));
	s->q.kill = slice_kill;
	s->p = NULL;
	return rc;
}

/* The rng lives in a local for the whole operation (see live.h); the live
 * engine is read from s->q.L at each use (a load), not kept in a register
 * across the allocator calls. */
void slice_op(mb_worker_t *w, const slice_params_t *p, slice_state_t *s)
{
	if (__builtin_expect(s->p != p, 0)) {
		s->p = p;
		s->make_t = mb_rng_chance_t(p->make_fraction);
	}
	mb_rng_t rng = w->rng;
	size_t es = p->elem_size;
	unsigned flags = p->noscan ? MB_NOSCAN : 0;
	char *arr = NULL;
	size_t bytes = 0;
	s->c[SL_SLICES]++;
	if (s->make_t && mb_rng_chance_at(&rng, s->make_t)) {
		uint64_t n = mb_dist_sample_u64(&p->make_len, &rng);
		bytes = (size_t)(n ? n : 1) * es;
		if (!(arr = mb_live_alloc(s->q.L, bytes, flags)))
			goto out;
		mb_obj_write_range(arr, 0, bytes);
		s->c[SL_MAKES]++;
		s->c[SL_LARGE] += bytes > MB_GO_MAX_SMALL;
	} else {
		uint64_t len = 0, cap = 0, target = mb_dist_sample_u64(&p->length, &rng);
		uint64_t b = p->append_batch;
		target = target ? target : 1;
		while (len < target) {
			/* the appends that fit, then the one that does not */
			uint64_t fit = cap - len < target - len ? (cap - len) / b * b : target - len;
			if (fit) {
				mb_obj_write_range(arr, len * es, (len + fit) * es);
				len += fit;
				continue;
			}
			uint64_t newlen = len + b < target ? len + b : target;
			uint64_t ncap = mb_go_growslice_cap(cap, newlen, es, p->noscan);
			size_t nbytes = (size_t)(ncap * es);
			char *na = mb_live_alloc(s->q.L, nbytes, flags);
			if (!na)
				break;
			if (len) {
				mb_obj_copy(na, arr, len * es);
				s->c[SL_COPIED] += len * es;
				mb_obj_write_range(na, 0, 8); /* the check word names the new array */
			}
			if (arr)
				mb_live_dead(s->q.L, arr, bytes);
			s->c[SL_GROWTHS]++;
			s->c[SL_LARGE] += nbytes > MB_GO_MAX_SMALL;
			arr = na, bytes = nbytes, cap = ncap;
			mb_obj_write_range(arr, len * es, newlen * es);
			len = newlen;
		}
		if (!arr)
			goto out;
	}
	s->c[SL_BYTES] += bytes;
	mb_lifeq_add_k(&s->q, &p->life, &rng, arr, bytes, slice_kill_inline);
	w->rng = rng;
	if (mb_lifeq_tick_due(&s->q))
		slice_due(s);
	return;
out:
	w->rng = rng;
}

/* --- the large-slice pattern ---------------------------------------------- */

typedef struct sl_thread {
	mb_live_t live;
	slice_state_t s;
} sl_thread_t;

static const char *const slice_counter_names[] = {
	"slices", "makes", "growths", "bytes_copied", "large_allocs", "slice_bytes",
	"bad_reads", "gc_cycles", NULL,
};

static int slice_thread_init(mb_worker_t *w)
{
	sl_thread_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -12;
	w->state = t;
	mb_live_init(&t->live, w);
	return slice_state_init(&t->s, &t->live, 0);
}

static void slice_counters(mb_worker_t *w)
{
	sl_thread_t *t = w->state;
	for (int i = 0; i < SL_NCOUNT; i++)
		w->kernel_counter[i] = t->s.c[i];
	w->kernel_counter[SL_NCOUNT] = t->live.gcs;
}

static void slice_step(mb_worker_t *w, uint64_t nops)
{
	sl_thread_t *t = w->state;
	const slice_params_t *p = w->params;
	mb_live_step_begin(&t->live);
	for (uint64_t i = 0; i < nops; i++)
		slice_op(w, p, &t->s);
	slice_counters(w);
}

static void slice_phase_end(mb_worker_t *w)
{
	sl_thread_t *t = w->state;
	mb_lifeq_phase_end(&t->s.q);
}

static void slice_drain(mb_worker_t *w)
{
	sl_thread_t *t = w->state;
	mb_lifeq_drain(&t->s.q);
	mb_live_drain(&t->live);
	slice_counters(w);
}

static void slice_thread_fini(mb_worker_t *w)
{
	sl_thread_t *t = w->state;
	mb_lifeq_fini(&t->s.q);
	mb_live_fini(&t->live);
	free(t);
	w->state = NULL;
}

const mb_pattern_t mb_pattern_slice = {
	.name = "slice",
	.help = "slices grown by append with Go's growslice and roundupsize (old array "
		"freed, copies counted), and make([]T, n) up to many MiB",
	.options = slice_options,
	.params_size = sizeof(slice_params_t),
	.counter_names = slice_counter_names,
	.validate = slice_validate,
	.thread_init = slice_thread_init,
	.step = slice_step,
	.taped = true,
	.counters = slice_counters,
	.phase_end = slice_phase_end,
	.drain = slice_drain,
	.thread_fini = slice_thread_fini,
};
