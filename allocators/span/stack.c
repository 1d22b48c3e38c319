/*
 * Stacks and frames, split from the heap. See malloc.c for an overview.
 *
 * Stack memory never lives in heap spans (Go: stackpool, stackLarge):
 *   order 0..3 (2, 4, 8, 16 KiB): carved from 32 KiB stack spans of the global
 *     pool (one lock per order), with a per-thread cache in front of it that
 *     refills with all free stacks of one pool span at once and gives half of
 *     STACK_CACHE_BYTES back when it holds that much (Go's stackcacherefill /
 *     stackcacherelease); a pool span whose stacks are all free goes back to
 *     the page heap when it has waited STACK_EMPTY_AGE_MS and a later take
 *     passed it over. The cache is an array and a pool span's free stacks a
 *     bitmap: the allocator never reads or writes a free stack, so handing
 *     one out or taking it back costs no cache miss on its memory, and its
 *     untouched pages stay untouched;
 *   32 KiB and up: a span of its own straight from the page heap.
 * Stacks grow down: the live part is the top `used` bytes, which grow and
 * shrink copy (Go's copystack).
 *
 * Frames: each thread bump-allocates non-escaping objects in a frame stack, a
 * chain of stack segments (16 KiB first, doubling). Objects cannot move, so
 * a full segment chains a new one instead of being copied. A free or a pop
 * resets the bump pointer; popping out of a segment keeps it as a spare.
 */
#include <string.h>

#include "span_internal.h"

#define STACK_SPAN_BYTES 32768u  /* pool span, Go: _StackCacheSize; holds
                                    STACK_CACHE_SLOTS >> order stacks, what a
                                    thread cache holds of that order at most */
#define FRAME_SEG_MIN 16384u     /* first frame segment */

#define STACK_EMPTY_AGE_MS 100 /* an all-free pool span goes back to the page
                                  heap after this long unused, and only once a
                                  later take of its order passed it over (the
                                  pool had newer empty spans to give): a
                                  program whose stacks come and go in waves
                                  reuses the same stack spans (and keeps
                                  untouched stack pages untouched) instead of
                                  re-carving heap pages, however slowly a wave
                                  runs on a busy machine */

static struct {
	pthread_mutex_t lock;
	span_list_t spans;  /* pool spans with free and used stacks */
	span_list_t empty;  /* all stacks free, newest first; xfree holds when
	                       the span became empty (empty_mark) */
	uint64_t nspans;    /* pool spans of this order, on a list or full */
	uint64_t nfree;     /* free stacks in them */
	uint32_t takes;     /* pool_take calls, wrapping */
} pool[SPAN_STACK_ORDERS] = {
	[0 ... SPAN_STACK_ORDERS - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER },
};
static _Atomic uint64_t large_stacks, large_stack_bytes;

void stack_init(void) {}

static size_t stack_round(size_t size)
{
	size_t n = SPAN_STACK_MIN;
	while (n < size && n)
		n <<= 1;
	return n;
}

static int stack_order(size_t size) /* size: a power of two >= 2 KiB */
{
	return __builtin_ctzl(size) - __builtin_ctzl(SPAN_STACK_MIN);
}

static inline void relaxed_add64(_Atomic int64_t *v, int64_t d)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

/* Moves every free stack of one pool span of order o into out (room for a
 * span's worth): addresses from the span's bitmap, no stack read. Prefers a
 * partly used span, then an empty one, else carves a fresh one from the page
 * heap. Returns how many, lowest address last (handed out first); 0 when out
 * of memory. */
static uint32_t pool_take(int o, void **out)
{
	pthread_mutex_lock(&pool[o].lock);
	pool[o].takes++;
	span_t *s = pool[o].spans.first;
	if (s) {
		span_list_remove(&pool[o].spans, s);
	} else if ((s = pool[o].empty.first) != NULL) {
		span_list_remove(&pool[o].empty, s);
	} else {
		s = mheap_alloc(STACK_SPAN_BYTES >> PAGE_SHIFT, 1, SPAN_STACK, NULL);
		if (!s) {
			pthread_mutex_unlock(&pool[o].lock);
			return 0;
		}
		s->order = (uint8_t)o;
		s->elemsize = SPAN_STACK_MIN << o;
		s->nelems = (uint16_t)(STACK_SPAN_BYTES / s->elemsize);
		s->stackfree = (1ull << s->nelems) - 1; /* nelems <= 16 */
		s->used = 0;
		pool[o].nspans++;
		pool[o].nfree += s->nelems;
	}
	uint32_t got = (uint32_t)__builtin_popcountll(s->stackfree), i = got;
	for (uint64_t m = s->stackfree; m; m &= m - 1)
		out[--i] = (char *)s->base + (size_t)__builtin_ctzll(m) * s->elemsize;
	s->stackfree = 0; /* full now: on no list until a stack comes back */
	s->used = s->nelems;
	pool[o].nfree -= got;
	pthread_mutex_unlock(&pool[o].lock);
	return got;
}

/* When an empty pool span became empty: the clock (ms) in the low 32 bits,
 * its pool's take count in the high ones (xfree is unused by stack spans). */
static void *empty_mark(int o)
{
	return (void *)(uintptr_t)((uint64_t)pool[o].takes << 32 | sys_now_ms());
}

/* An empty span goes back once empty STACK_EMPTY_AGE_MS and passed over. */
static bool empty_stale(int o, span_t *s, uint32_t now)
{
	uint64_t mark = (uintptr_t)atomic_load_explicit(&s->xfree, memory_order_relaxed);
	return now - (uint32_t)mark >= STACK_EMPTY_AGE_MS &&
	       (uint32_t)(mark >> 32) != pool[o].takes;
}

static void release_span(int o, span_t *s)
{
	span_list_remove(&pool[o].empty, s);
	pool[o].nspans--;
	pool[o].nfree -= s->nelems;
	mheap_free(s);
}

/* Returns stacks stk[0..n) of order o to their pool spans (bitmaps; no stack
 * is touched); a span whose stacks all become free joins the empty list, and
 * stale empty spans (empty_stale) go back to the page heap. Pool lock taken. */
static void pool_give(int o, void *const *stk, uint32_t n)
{
	bool emptied = false;
	pthread_mutex_lock(&pool[o].lock);
	for (uint32_t i = 0; i < n; i++) {
		span_t *s = mheap_span_of((uintptr_t)stk[i]);
		uintptr_t off = (uintptr_t)stk[i] - (s ? s->base : 0);
		if (!s || s->state != SPAN_STACK || s->order != o || off % s->elemsize)
			sys_throw("stack_free: %p is not a stack of %u bytes", stk[i],
				  SPAN_STACK_MIN << o);
		uint64_t bit = 1ull << (off / s->elemsize);
		if (s->used == 0 || (s->stackfree & bit))
			sys_throw("stack_free: %p freed twice", stk[i]);
		if (!s->stackfree)
			span_list_push(&pool[o].spans, s);
		s->stackfree |= bit;
		s->used--;
		pool[o].nfree++;
		if (s->used == 0) {
			span_list_remove(&pool[o].spans, s);
			span_list_push(&pool[o].empty, s);
			atomic_store_explicit(&s->xfree, empty_mark(o), memory_order_relaxed);
			emptied = true;
		}
	}
	if (emptied) {
		uint32_t now = sys_now_ms();
		span_t *old;
		while ((old = pool[o].empty.last) != NULL && empty_stale(o, old, now))
			release_span(o, old);
	}
	pthread_mutex_unlock(&pool[o].lock);
}

void stack_release_empty(void)
{
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		pthread_mutex_lock(&pool[o].lock);
		while (pool[o].empty.last)
			release_span(o, pool[o].empty.last);
		pthread_mutex_unlock(&pool[o].lock);
	}
}

/* Large stacks: a span of their own. */
static void *stack_alloc_large(size_t size)
{
	if (span_init() != 0)
		return NULL;
	span_t *s = mheap_alloc(size >> PAGE_SHIFT, 1, SPAN_STACK, NULL);
	if (!s)
		return NULL;
	atomic_fetch_add_explicit(&large_stacks, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&large_stack_bytes, size, memory_order_relaxed);
	return (void *)s->base;
}

static void stack_free_large(void *stk)
{
	span_t *s = mheap_span_of((uintptr_t)stk);
	if (!s || s->state != SPAN_STACK || s->base != (uintptr_t)stk || s->order != 0xff)
		sys_throw("stack_free: %p is not a large stack", stk);
	atomic_fetch_sub_explicit(&large_stacks, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&large_stack_bytes, (uint64_t)s->npages << PAGE_SHIFT,
				  memory_order_relaxed);
	mheap_free(s);
}

/* A stack of size (rounded) bytes for cache c. NULL when out of memory. */
static void *stack_alloc_to(mcache_t *c, size_t size)
{
	if (size >= STACK_SPAN_BYTES)
		return stack_alloc_large(size);
	int o = stack_order(size);
	uint32_t n = atomic_load_explicit(&c->nstacks[o], memory_order_relaxed);
	if (n == 0 && (n = pool_take(o, c->stacks[o])) == 0)
		return NULL;
	atomic_store_explicit(&c->nstacks[o], n - 1, memory_order_relaxed);
	relaxed_add64(&c->stacks_inuse[o], 1);
	return c->stacks[o][n - 1];
}

/* Into c's cache; when it holds STACK_CACHE_BYTES of order o, the older half
 * goes back to the pool first. */
static void stack_free_to(mcache_t *c, void *stk, size_t size)
{
	if (size >= STACK_SPAN_BYTES) {
		stack_free_large(stk);
		return;
	}
	int o = stack_order(size);
	uint32_t n = atomic_load_explicit(&c->nstacks[o], memory_order_relaxed);
	if (n == STACK_CACHE_SLOTS >> o) {
		uint32_t half = n / 2;
		pool_give(o, c->stacks[o], half);
		memmove(c->stacks[o], c->stacks[o] + half, (n - half) * sizeof(void *));
		n -= half;
	}
	c->stacks[o][n] = stk;
	atomic_store_explicit(&c->nstacks[o], n + 1, memory_order_relaxed);
	relaxed_add64(&c->stacks_inuse[o], -1);
}

void *span_stack_alloc(size_t size)
{
	size = stack_round(size);
	if (size == 0)
		return NULL;
	if (size >= STACK_SPAN_BYTES)
		return stack_alloc_large(size);
	bool locked;
	mcache_t *c = mcache_get(&locked);
	void *stk = stack_alloc_to(c, size);
	mcache_put(locked);
	return stk;
}

void span_stack_free(void *stk, size_t size)
{
	if (!stk)
		return;
	size = stack_round(size);
	if (size == 0 || size >= STACK_SPAN_BYTES) {
		stack_free_large(stk);
		return;
	}
	bool locked;
	mcache_t *c = mcache_get(&locked);
	stack_free_to(c, stk, size);
	mcache_put(locked);
}

void stack_cache_flush(mcache_t *c)
{
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		pool_give(o, c->stacks[o], atomic_load_explicit(&c->nstacks[o], memory_order_relaxed));
		atomic_store_explicit(&c->nstacks[o], 0, memory_order_relaxed);
	}
}

/* Go's copystack: same top `used` bytes in a stack of new_size. */
static void *stack_move(void *stk, size_t size, size_t new_size, size_t used)
{
	if (used > size || used > new_size)
		sys_throw("stack: %zu bytes used of a %zu-byte stack", used, size);
	char *n = span_stack_alloc(new_size);
	if (!n)
		return NULL;
	memcpy(n + new_size - used, (char *)stk + size - used, used);
	span_stack_free(stk, size);
	return n;
}

void *span_stack_grow(void *stk, size_t size, size_t used)
{
	size = stack_round(size);
	return stack_move(stk, size, size * 2, used);
}

void *span_stack_shrink(void *stk, size_t size, size_t used)
{
	size = stack_round(size);
	if (size <= SPAN_STACK_MIN || used > size / 4)
		return stk;
	void *n = stack_move(stk, size, size / 2, used);
	return n ? n : stk;
}

void stack_pool_counts(int order, uint64_t *spans, uint64_t *free_stacks, bool lock)
{
	if (lock)
		pthread_mutex_lock(&pool[order].lock);
	*spans = pool[order].nspans;
	*free_stacks = pool[order].nfree;
	if (lock)
		pthread_mutex_unlock(&pool[order].lock);
}

void stack_large_counts(uint64_t *n, uint64_t *bytes)
{
	*n = atomic_load_explicit(&large_stacks, memory_order_relaxed);
	*bytes = atomic_load_explicit(&large_stack_bytes, memory_order_relaxed);
}

/* ---- frames ---------------------------------------------------------------- */

static void seg_release(mcache_t *c, frame_seg_t *f)
{
	if (!c->frame_spare) {
		c->frame_spare = f;
		return;
	}
	stack_free_to(c, f, f->size);
}

static frame_seg_t *seg_new(mcache_t *c, size_t need)
{
	size_t size = c->frame ? c->frame->size * 2 : FRAME_SEG_MIN;
	while (size < need + FRAME_HDR)
		size *= 2;
	frame_seg_t *f = c->frame_spare;
	if (f && f->size >= need + FRAME_HDR) {
		c->frame_spare = NULL;
	} else {
		f = stack_alloc_to(c, size);
		if (!f)
			return NULL;
		f->size = size;
	}
	f->prev = c->frame;
	f->top = (char *)f + FRAME_HDR;
	f->limit = (char *)f + f->size;
	c->frame = f;
	return f;
}

void *span_frame_alloc(size_t size)
{
	return frame_alloc(size);
}

/* Everything frame_alloc_fast leaves: the first segment, a full one, a big
 * or zero size, a thread without a cache. */
void *frame_alloc_slow(size_t size)
{
	size_t n = (size + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (n < size)
		return NULL;
	if (n > SPAN_MAX_LOCAL)
		return span_alloc(size, 0); /* Go moves big locals to the heap too */
	bool locked;
	mcache_t *c = mcache_get(&locked);
	frame_seg_t *f = c->frame;
	if ((!f || (size_t)(f->limit - f->top) < n) && !(f = seg_new(c, n))) {
		mcache_put(locked);
		return NULL;
	}
	void *p = f->top;
	f->top += n;
	mcache_put(locked);
	return p;
}

void *span_frame_push(void)
{
	bool locked;
	mcache_t *c = mcache_get(&locked);
	frame_seg_t *f = c->frame ? c->frame : seg_new(c, 0);
	void *mark = f ? f->top : NULL;
	mcache_put(locked);
	return mark;
}

static bool seg_holds(frame_seg_t *f, const char *p)
{
	return p >= (char *)f + FRAME_HDR && p <= f->limit;
}

/* Pops back to p: segments above the one holding p go. false if no segment
 * of this thread holds p. */
static bool frame_pop_to(mcache_t *c, char *p)
{
	frame_seg_t *f = c->frame;
	while (f && !seg_holds(f, p))
		f = f->prev;
	if (!f)
		return false;
	while (c->frame != f) {
		frame_seg_t *top = c->frame;
		c->frame = top->prev;
		seg_release(c, top);
	}
	if (p < f->top)
		f->top = p; /* else freed already, by an older object's free */
	return true;
}

void span_frame_pop(void *mark)
{
	bool locked;
	mcache_t *c = mcache_get(&locked);
	if (mark && !frame_pop_to(c, mark))
		sys_throw("frame_pop: %p is no mark of this thread's frames", mark);
	mcache_put(locked);
}

bool stack_frame_free(void *p, span_t *s)
{
	(void)s;
	bool locked;
	mcache_t *c = mcache_get(&locked);
	bool ok = frame_pop_to(c, p);
	mcache_put(locked);
	return ok;
}

void stack_frame_flush(mcache_t *c)
{
	while (c->frame) {
		frame_seg_t *f = c->frame;
		c->frame = f->prev;
		stack_free_to(c, f, f->size);
	}
	if (c->frame_spare) {
		stack_free_to(c, c->frame_spare, c->frame_spare->size);
		c->frame_spare = NULL;
	}
}

void stack_lock_all(void)
{
	for (int o = 0; o < SPAN_STACK_ORDERS; o++)
		pthread_mutex_lock(&pool[o].lock);
}

void stack_unlock_all(void)
{
	for (int o = SPAN_STACK_ORDERS - 1; o >= 0; o--)
		pthread_mutex_unlock(&pool[o].lock);
}

void stack_fork_child(void)
{
	for (int o = 0; o < SPAN_STACK_ORDERS; o++)
		pthread_mutex_init(&pool[o].lock, NULL);
}
