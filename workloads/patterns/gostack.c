/*
 * Goroutine stacks: grow by doubling with a copy, shrink at GC. See gostack.h.
 */
#include "gostack.h"

#include <string.h>

/* The stream records stack operations apart from heap ones (their own tag in
 * the checksum), but they count in allocs/frees and live bytes: stacks are
 * memory the allocator serves. */
static void *stack_alloc(mb_worker_t *w, size_t size)
{
	const mb_alloc_ops_t *a = w->alloc;
	void *p = a->stack_alloc ? a->stack_alloc(size) : a->malloc(size, MB_NOSCAN);
	if (!p) {
		w->st.failed++;
		return NULL;
	}
	mb_opstats_alloc(&w->st, size, ~(uint64_t)(size << 1));
	return p;
}

static void stack_free(mb_worker_t *w, void *p, size_t size)
{
	const mb_alloc_ops_t *a = w->alloc;
	if (a->stack_free)
		a->stack_free(p, size);
	else
		a->free(p, size);
	mb_opstats_free(&w->st, size, ~(uint64_t)((size << 1) | 1));
}

static void account(mb_gstats_t *gs, int64_t delta)
{
	gs->stack_bytes += (uint64_t)delta;
	if (gs->stack_bytes > gs->stack_bytes_peak)
		gs->stack_bytes_peak = gs->stack_bytes;
}

/* copystack: a new stack of newsize, the used part copied, the old one freed. */
static bool copystack(mb_worker_t *w, mb_g_t *g, uint32_t newsize, mb_gstats_t *gs)
{
	char *ns = stack_alloc(w, newsize);
	if (!ns)
		return false;
	memcpy(ns, g->stack, g->used);
	gs->copied += g->used;
	stack_free(w, g->stack, g->size);
	account(gs, (int64_t)newsize - (int64_t)g->size);
	g->stack = ns;
	g->size = newsize;
	return true;
}

bool mb_g_start(mb_worker_t *w, mb_g_t *g, uint32_t size, mb_g_t *spare, mb_gstats_t *gs)
{
	if (spare && spare->stack && spare->size == size) {
		*g = *spare; /* gfget: a cached goroutine with its stack */
		spare->stack = NULL;
	} else {
		g->stack = stack_alloc(w, size);
		if (!g->stack)
			return false;
		g->size = size;
		account(gs, size);
	}
	g->used = 0;
	g->depth = 0;
	gs->started++;
	gs->live++;
	return true;
}

void mb_g_free(mb_worker_t *w, mb_g_t *g, mb_gstats_t *gs)
{
	if (!g->stack)
		return;
	stack_free(w, g->stack, g->size);
	account(gs, -(int64_t)g->size);
	g->stack = NULL;
	gs->exited++;
	gs->live--;
}

void mb_g_exit(mb_worker_t *w, mb_g_t *g, uint32_t start_size, mb_g_t *spare,
	       mb_gstats_t *gs)
{
	if (spare && !spare->stack && g->size == start_size) {
		*spare = *g; /* gfput keeps a standard-size stack */
		g->stack = NULL;
		gs->exited++;
		gs->live--;
		return;
	}
	mb_g_free(w, g, gs);
}

bool mb_g_grow(mb_worker_t *w, mb_g_t *g, uint32_t frame, mb_gstats_t *gs)
{
	uint64_t ns = (uint64_t)g->size * 2;
	while (ns - g->used < (uint64_t)frame + MB_STACK_GUARD)
		ns *= 2;
	if (ns > UINT32_MAX || !copystack(w, g, (uint32_t)ns, gs))
		return false;
	gs->grows++;
	return true;
}

void mb_g_halve(mb_worker_t *w, mb_g_t *g, mb_gstats_t *gs)
{
	if (copystack(w, g, g->size / 2, gs))
		gs->shrinks++;
}
