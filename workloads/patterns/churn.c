/*
 * churn: malloc/free churn over a live set of fixed capacity. The baseline
 * pattern: no Go semantics, just the allocator's steady state.
 *
 * The live set is an array of `live` slots. Each operation picks a slot at
 * random, frees the object there (if any) and puts a new object of a size drawn
 * from `size` in it. Objects are written when made (mb_obj_write: one word per
 * 64-byte line), so RSS and cache figures reflect touched memory.
 * Cost per op outside the allocator: one rng draw for the slot, one for the size
 * (O(1)), the line writes.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

typedef struct churn_params {
	mb_dist_t size;
	uint64_t live;
	bool noscan;
} churn_params_t;

static const mb_option_t churn_options[] = {
	MB_OPT_DIST("size", churn_params_t, size, "{dist: uniform, min: 16, max: 256}",
		    "object size in bytes", "{dist: uniform, min: 16, max: 512}"),
	MB_OPT_RANGE("live", MB_OPT_UINT, churn_params_t, live, "10000", 1, 1e9,
		     "objects in the live set (slots)"),
	MB_OPT("noscan", MB_OPT_BOOL, churn_params_t, noscan, "true",
	       "objects hold no pointers (Go noscan span class)"),
	MB_OPT_END,
};

typedef struct churn_slot {
	void *p;
	size_t size;
} churn_slot_t;

typedef struct churn_state {
	churn_slot_t *slots;
	uint64_t n;
} churn_state_t;

static int churn_thread_init(mb_worker_t *w)
{
	const churn_params_t *pr = w->params;
	churn_state_t *s = calloc(1, sizeof(*s));
	if (!s)
		return -12;
	/* the live set is split evenly across threads */
	s->n = pr->live / w->run->nthreads + (w->tid < pr->live % w->run->nthreads);
	if (s->n == 0)
		s->n = 1;
	s->slots = calloc(s->n, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return -12;
	}
	w->state = s;
	return 0;
}

/* The rng lives in a local for the whole step: nothing out of line draws. */
static void churn_step(mb_worker_t *w, uint64_t nops)
{
	const churn_params_t *pr = w->params;
	churn_state_t *s = w->state;
	unsigned flags = pr->noscan ? MB_NOSCAN : 0;
	churn_slot_t *const slots = s->slots;
	const uint64_t n = s->n;
	mb_rng_t rng = w->rng;
	for (uint64_t i = 0; i < nops; i++) {
		churn_slot_t *sl = &slots[mb_rng_below(&rng, n)];
		if (sl->p)
			mb_free(w, sl->p, sl->size);
		size_t size = (size_t)mb_dist_sample_u64(&pr->size, &rng);
		size = size ? size : 1;
		sl->p = mb_alloc(w, size, flags);
		sl->size = size;
		if (sl->p)
			mb_obj_write(sl->p, size);
	}
	w->rng = rng;
}

static void churn_drain(mb_worker_t *w)
{
	churn_state_t *s = w->state;
	for (uint64_t i = 0; i < s->n; i++)
		if (s->slots[i].p) {
			mb_free(w, s->slots[i].p, s->slots[i].size);
			s->slots[i].p = NULL;
		}
}

static void churn_thread_fini(mb_worker_t *w)
{
	churn_state_t *s = w->state;
	free(s->slots);
	free(s);
	w->state = NULL;
}

const mb_pattern_t mb_pattern_churn = {
	.name = "churn",
	.help = "malloc/free churn over a fixed live set (no Go semantics; the baseline)",
	.options = churn_options,
	.params_size = sizeof(churn_params_t),
	.thread_init = churn_thread_init,
	.step = churn_step,
	.taped = true,
	.drain = churn_drain,
	.thread_fini = churn_thread_fini,
};
