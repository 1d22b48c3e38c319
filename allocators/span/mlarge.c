/*
 * Large objects (> SPAN_MAX_SMALL): a span each, from the page heap, and a
 * per-thread cache of freed large spans. See malloc.c for an overview.
 *
 * Without the cache every large malloc and free takes the page-heap lock and
 * searches, splits or coalesces free runs. Go's per-P page cache takes the
 * lock off the allocation half for runs under 16 pages; jemalloc's tcache and
 * mimalloc's thread-owned pages take it off both halves. Here a free of a
 * large span of at most MLARGE_MAX_PAGES pages keeps the span, whole, in the
 * freeing thread's cache; a page-aligned allocation of exactly that many
 * pages takes the newest such span back. A 64 KiB malloc+free pair so takes
 * no lock and writes no page-map entry.
 *
 * Invariants:
 *   - A cached span keeps state SPAN_LARGE and every page mapped to it: the
 *     page heap counts its pages in use and it as a large object; the stats
 *     move it from large objects to large_cached (mlarge_cached).
 *   - Its owner is MLARGE_OWNER(the cache); a live large object's is NULL. A
 *     second free of the object, or a realloc, finds it cached and throws (the
 *     tag is no cache's address, so the small-object fast path misses it).
 *   - A cache holds at most MLARGE_SLOTS spans and MLARGE_CACHE_PAGES pages,
 *     large[0, nlarge) oldest first. Only its thread touches it; nlarge and
 *     large_pages are atomics so that stats may read them.
 *   - Cached pages stay resident and are not the scavenger's: the bound above
 *     is all they can hold. A flush (thread exit, span_release) gives every
 *     cached span back; a free that does not fit gives back the oldest half
 *     (or more, until it fits), under one heap lock.
 *   - A thread's first free creates its cache, as its first small malloc
 *     does; a thread past its exit flush frees straight to the page heap.
 */
#include <errno.h>
#include <string.h>

#include "span_internal.h"

/* The tag a cached span's owner holds: c with bit 1 set (caches are 64-byte
 * aligned), never equal to a cache or to MCACHE_FULL of one. */
#define MLARGE_OWNER(c) ((struct mcache *)((uintptr_t)(c) | 2))
#define MLARGE_RELEASE_PAGES 128 /* 1 MiB: mlarge_free_moved releases at once */

static void set_counts(mcache_t *c, uint32_t n, uint32_t pages)
{
	atomic_store_explicit(&c->nlarge, n, memory_order_relaxed);
	atomic_store_explicit(&c->large_pages, pages, memory_order_relaxed);
}

/* The newest span of exactly npages in c's cache, taken out; NULL if none.
 * c may be mcache_empty or mcache_dead (they never hold any). */
static span_t *cache_take(mcache_t *c, size_t npages)
{
	uint32_t n = atomic_load_explicit(&c->nlarge, memory_order_relaxed);
	for (uint32_t i = n; i-- > 0;) {
		if (c->large_npages[i] != npages)
			continue;
		span_t *s = c->large[i];
		for (uint32_t j = i; j + 1 < n; j++) { /* a few slots: no memmove call */
			c->large[j] = c->large[j + 1];
			c->large_npages[j] = c->large_npages[j + 1];
		}
		set_counts(c, n - 1,
			   atomic_load_explicit(&c->large_pages, memory_order_relaxed) -
				   (uint32_t)npages);
		atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
		return s;
	}
	return NULL;
}

/* Gives the oldest cached spans back to the page heap: half of them at least
 * (all if all), and more until `incoming` pages fit in a free slot. (With
 * today's bounds half always makes room, large spans being >= 5 pages; the
 * page test keeps the bound should they change.) */
static void give_back(mcache_t *c, uint32_t incoming, bool all)
{
	uint32_t n = atomic_load_explicit(&c->nlarge, memory_order_relaxed);
	uint32_t pages = atomic_load_explicit(&c->large_pages, memory_order_relaxed);
	uint32_t k = 0;
	span_t *v[MLARGE_SLOTS];
	while (k < n && (all || k < (n + 1) / 2 || n - k >= MLARGE_SLOTS ||
			 pages + incoming > MLARGE_CACHE_PAGES)) {
		pages -= c->large_npages[k];
		v[k] = c->large[k];
		atomic_store_explicit(&v[k]->owner, NULL, memory_order_relaxed);
		k++;
	}
	if (k == 0)
		return;
	for (uint32_t j = k; j < n; j++) {
		c->large[j - k] = c->large[j];
		c->large_npages[j - k] = c->large_npages[j];
	}
	set_counts(c, n - k, pages);
	mheap_free_batch(v, k);
}

void *malloc_large(size_t size, size_t align, bool zero)
{
	if (size > ((size_t)1 << 46)) {
		errno = ENOMEM;
		return NULL;
	}
	size_t npages = (size + SPAN_PAGE_SIZE - 1) >> PAGE_SHIFT;
	npages = npages ? npages : 1;
	bool zeroed = false;
	span_t *s = NULL;
	if (npages <= MLARGE_MAX_PAGES && align <= SPAN_PAGE_SIZE)
		s = cache_take(mcache_tls, npages); /* holds spans: initialised */
	if (!s) {
		if (span_init() != 0)
			return NULL;
		size_t align_pages = align > SPAN_PAGE_SIZE ? align >> PAGE_SHIFT : 1;
		s = mheap_alloc(npages, align_pages, SPAN_LARGE, &zeroed);
		if (!s) {
			errno = ENOMEM;
			return NULL;
		}
		s->spc = 0;
		mlarge_sized(s);
	}
	if (zero && !zeroed)
		memset((void *)s->base, 0, size);
	return (void *)s->base;
}

/* A cached span (owner set) is no live object: freeing it again throws. */
static void live_or_throw(span_t *s)
{
	if (atomic_load_explicit(&s->owner, memory_order_relaxed) != NULL)
		sys_throw("free of %p: a large object freed twice", (void *)s->base);
}

/* Frees live large object s with its pages given back to the OS at once. */
static void free_released(span_t *s)
{
	sys_release((void *)s->base, (size_t)s->npages << PAGE_SHIFT);
	mheap_free_released(s);
}

/* Huge objects (MLARGE_HUGE_PAGES, 32 MiB, or more) are numbered in the order
 * they became huge (allocated, or resized by realloc in place). Freeing one
 * that is not the newest releases its pages at once, instead of leaving them
 * to the scavenger's age: it is what a buffer grown by malloc, copy and free
 * leaves behind (Go's append, a C++ vector), which the next, bigger step
 * cannot reuse. glibc maps every block of 32 MiB or more on its own and
 * unmaps it on free; jemalloc purges objects of 8 MiB or more on free. The
 * newest keeps the age, so a loop that allocates and frees one big buffer
 * reuses resident pages instead of faulting them in again (a fault costs
 * many times what writing the page does). `spanbench grow` (a buffer doubled
 * to 256 MiB) peaks at 418 MiB with this rule, 514 without it (glibc 385,
 * jemalloc 396; BENCH.md). */
static _Atomic uint64_t huge_seq;

void mlarge_sized(span_t *s)
{
	if (s->npages >= MLARGE_HUGE_PAGES)
		s->huge_seq = atomic_fetch_add_explicit(&huge_seq, 1, memory_order_relaxed) + 1;
}

static bool superseded(span_t *s)
{
	return s->npages >= MLARGE_HUGE_PAGES &&
	       s->huge_seq != atomic_load_explicit(&huge_seq, memory_order_relaxed);
}

void mlarge_free(span_t *s)
{
	live_or_throw(s);
	if (superseded(s)) {
		free_released(s);
		return;
	}
	mcache_t *c = mcache_tls;
	if (SPAN_UNLIKELY(c == &mcache_empty || c == &mcache_dead)) {
		bool shared;
		c = mcache_get(&shared);
		if (shared) { /* past the thread's exit flush: no cache of its own */
			mcache_put(shared);
			c = NULL;
		}
	}
	if (!c || s->npages > MLARGE_MAX_PAGES) {
		mheap_free(s);
		return;
	}
	uint32_t n = atomic_load_explicit(&c->nlarge, memory_order_relaxed);
	if (n == MLARGE_SLOTS ||
	    atomic_load_explicit(&c->large_pages, memory_order_relaxed) + s->npages >
		    MLARGE_CACHE_PAGES) {
		give_back(c, s->npages, false);
		n = atomic_load_explicit(&c->nlarge, memory_order_relaxed);
	}
	c->large[n] = s;
	c->large_npages[n] = (uint8_t)s->npages;
	atomic_store_explicit(&s->owner, MLARGE_OWNER(c), memory_order_relaxed);
	set_counts(c, n + 1,
		   atomic_load_explicit(&c->large_pages, memory_order_relaxed) + s->npages);
}

/* After realloc copied p (in span s) to a bigger block: frees it. A large
 * block of MLARGE_RELEASE_PAGES or more gives its pages back to the OS at once
 * instead of waiting out the scavenger's age: it is a growing buffer's old
 * copy, smaller than the next step, which it cannot hold (glibc unmaps such
 * blocks too). Two buffers doubled by realloc to 512 and 128 MiB peaked at
 * 975 MiB without this, 656 MiB with glibc (BENCH.md). */
void mlarge_free_moved(span_t *s, void *p)
{
	if (s->state != SPAN_LARGE || (uintptr_t)p != s->base ||
	    s->npages < MLARGE_RELEASE_PAGES) {
		span_free(p, 0);
		return;
	}
	live_or_throw(s);
	free_released(s);
}

void mlarge_flush(mcache_t *c)
{
	give_back(c, 0, true);
}

static void add_cache(mcache_t *c, void *arg)
{
	uint64_t *acc = arg; /* [0] spans, [1] pages */
	acc[0] += atomic_load_explicit(&c->nlarge, memory_order_relaxed);
	acc[1] += atomic_load_explicit(&c->large_pages, memory_order_relaxed);
}

void mlarge_cached(uint64_t *spans, uint64_t *pages)
{
	uint64_t acc[2] = { 0, 0 };
	mcache_each(add_cache, acc);
	*spans = acc[0];
	*pages = acc[1];
}
