/*
 * Goroutine stacks: grow by doubling with a copy, shrink at GC. See gostack.h.
 */
#include "gostack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define GFR_CAP0 4096u /* segments mapped at first (64 KiB) */

int mb_gframes_init(mb_gframes_t *fr)
{
	*fr = (mb_gframes_t){.n = 1}; /* segment 0 means none */
	void *p = mmap(NULL, GFR_CAP0 * sizeof(mb_gfr_seg_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	fr->seg = p;
	fr->cap = GFR_CAP0;
	return 0;
}

void mb_gframes_fini(mb_gframes_t *fr)
{
	if (fr->seg)
		munmap(fr->seg, (size_t)fr->cap * sizeof(mb_gfr_seg_t));
	*fr = (mb_gframes_t){0};
}

uint32_t mb_gframes_more(mb_gframes_t *fr)
{
	if (fr->n == fr->cap) {
		size_t bytes = (size_t)fr->cap * sizeof(mb_gfr_seg_t);
		void *p = fr->cap <= UINT32_MAX / 2
				  ? mremap(fr->seg, bytes, 2 * bytes, MREMAP_MAYMOVE)
				  : MAP_FAILED;
		if (p == MAP_FAILED) {
			fprintf(stderr, "membench: goroutine stacks: out of memory for the frame record\n");
			abort();
		}
		fr->seg = p;
		fr->cap *= 2;
	}
	return fr->n++;
}

void mb_gframes_drop(mb_gframes_t *fr, mb_g_t *g)
{
	while (g->fseg) {
		uint32_t s = g->fseg;
		g->fseg = fr->seg[s].prev;
		fr->seg[s].prev = fr->free;
		fr->free = s;
	}
}

/* The stream records stack operations apart from heap ones (their own tag in
 * the checksum), but they count in allocs/frees and live bytes: stacks are
 * memory the allocator serves. In a record pass the call is a tape entry,
 * counted there the same way. */
static void *stack_alloc(mb_worker_t *w, size_t size)
{
	if (w->tape)
		return mb_tape_rec_stack_alloc(w, size);
	void *p = mb_stack_alloc_raw(w->alloc, size);
	if (!p) {
		w->st.failed++;
		return NULL;
	}
	mb_opstats_alloc(&w->st, size, ~(uint64_t)(size << 1));
	return p;
}

static void stack_free(mb_worker_t *w, void *p, size_t size)
{
	if (w->tape) {
		mb_tape_rec_stack_free(w, p, size);
		return;
	}
	mb_stack_free_raw(w->alloc, p, size);
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
	mb_obj_copy(ns, g->stack, g->used);
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
	g->fseg = 0;
	gs->started++;
	gs->live++;
	return true;
}

void mb_g_free(mb_worker_t *w, mb_g_t *g, mb_gstats_t *gs)
{
	if (!g->stack)
		return;
	mb_gframes_drop(gs->fr, g);
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
		mb_gframes_drop(gs->fr, g);
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

void mb_g_adopt(mb_worker_t *w, mb_g_t *g, uint64_t n, mb_g_t *spare, bool *done)
{
	if (!w->tape || *done)
		return;
	*done = true;
	for (uint64_t i = 0; i < n; i++)
		if (g[i].stack)
			g[i].stack = mb_tape_rec_adopt(w, g[i].stack, g[i].size);
	if (spare && spare->stack)
		spare->stack = mb_tape_rec_adopt(w, spare->stack, spare->size);
}
