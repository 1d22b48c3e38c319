/*
 * Introspection: cheap counters and the slow full walk that recomputes them
 * (Go's ReadMemStats and ReadMemStatsSlow). See malloc.c for an overview.
 *
 * Cheap numbers are the counters each layer keeps under its own lock
 * (mcentral: spans, objects, occupancy; mheap: pages by state; thread caches:
 * stacks and cached large spans). The slow walk takes every lock (stack pools
 * -> mcentrals -> heap), visits every span of every arena and counts again
 * from the spans themselves, checking each free list on the way (a bitmap per
 * span catches an object listed twice or outside its span). With no other
 * thread allocating, both give identical numbers; span_stats_slow's test says
 * so.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "span_internal.h"

static void fill_class_shape(span_class_stats_t *cs, int spc)
{
	int cls = spc >> 1;
	cs->size = sizeclasses_size[cls];
	cs->npages = mcentral_npages[cls];
	cs->nelems = mcentral_nelems[cls];
}

static void finish_classes(span_stats_t *out)
{
	for (int spc = 2; spc < SPAN_NUM_SPAN_CLASSES; spc++) {
		span_class_stats_t *cs = &out->classes[spc];
		fill_class_shape(cs, spc);
		cs->bytes = cs->objects * cs->size;
		cs->tail_waste = cs->spans *
			(((uint64_t)cs->npages << PAGE_SHIFT) - (uint64_t)cs->nelems * cs->size);
	}
	span_class_stats_t *large = &out->classes[0];
	large->spans = large->objects = out->heap.large_objects;
	large->bytes = out->heap.large_bytes;
}

static void add_cache_stacks(mcache_t *c, void *arg)
{
	int64_t *acc = arg; /* [0..3] in use, [4..7] cached */
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		acc[o] += atomic_load_explicit(&c->stacks_inuse[o], memory_order_relaxed);
		acc[SPAN_STACK_ORDERS + o] +=
			atomic_load_explicit(&c->nstacks[o], memory_order_relaxed);
	}
}

void mstats_stack_counts(int64_t inuse[SPAN_STACK_ORDERS], uint64_t cached[SPAN_STACK_ORDERS])
{
	int64_t acc[2 * SPAN_STACK_ORDERS] = { 0 };
	mcache_each(add_cache_stacks, acc);
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		inuse[o] = acc[o] + atomic_load(&mcache_stacks_exited[o]);
		cached[o] = (uint64_t)acc[SPAN_STACK_ORDERS + o];
	}
}

static void heap_from_counts(span_heap_stats_t *h)
{
	h->mapped = mheap_counts.arena_pages << PAGE_SHIFT;
	h->heap_inuse = mheap_counts.heap_inuse << PAGE_SHIFT;
	h->stack_inuse = mheap_counts.stack_inuse << PAGE_SHIFT;
	h->free_retained = (mheap_counts.free - mheap_counts.released) << PAGE_SHIFT;
	h->released = mheap_counts.released << PAGE_SHIFT;
	h->large_objects = mheap_counts.large_objects;
	h->large_bytes = mheap_counts.large_pages << PAGE_SHIFT;
}

static uint64_t sub_floor0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void span_stats(span_stats_t *out)
{
	memset(out, 0, sizeof *out);
	if (span_init() != 0)
		return;
	for (int spc = 2; spc < SPAN_NUM_SPAN_CLASSES; spc++) {
		mcentral_t *m = &mcentral[spc];
		span_class_stats_t *cs = &out->classes[spc];
		pthread_mutex_lock(&m->lock);
		cs->spans = m->nspans;
		cs->objects = m->objects;
		cs->cached_spans = m->cached;
		memcpy(cs->occupancy, m->occupancy, sizeof cs->occupancy);
		pthread_mutex_unlock(&m->lock);
	}
	mheap_lock();
	heap_from_counts(&out->heap);
	mheap_unlock();
	/* The page heap counts cached large spans as large objects. Read
	 * apart from its counts (the cache list lock is taken before the
	 * heap's, never inside it), so while other threads move spans the
	 * two may disagree for a moment: hence the floor at 0. */
	uint64_t lspans, lpages;
	mlarge_cached(&lspans, &lpages);
	out->heap.large_cached = lspans;
	out->heap.large_cached_bytes = lpages << PAGE_SHIFT;
	out->heap.large_objects = sub_floor0(out->heap.large_objects, lspans);
	out->heap.large_bytes = sub_floor0(out->heap.large_bytes, lpages << PAGE_SHIFT);
	stack_large_counts(&out->heap.large_stacks, &out->heap.large_stack_bytes);
	out->heap.metadata = sys_meta_bytes();
	int64_t inuse[SPAN_STACK_ORDERS];
	uint64_t cached[SPAN_STACK_ORDERS];
	mstats_stack_counts(inuse, cached);
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		out->stacks[o].inuse = (uint64_t)inuse[o];
		out->stacks[o].cached = cached[o];
		stack_pool_counts(o, &out->stacks[o].pool_spans, &out->stacks[o].pool_free, true);
	}
	finish_classes(out);
}

/* Free objects of small span s by walking its free list, each checked
 * against a bitmap of the span's slots. Lock (or ownership) of s held. */
uint32_t mstats_span_freebits(const span_t *s, uint64_t bits[SPAN_FREEBITS_WORDS])
{
	uint32_t n = 0;
	memset(bits, 0, SPAN_FREEBITS_WORDS * sizeof bits[0]);
	for (void *p = s->freelist; p; p = *(void **)p) {
		uintptr_t off = (uintptr_t)p - s->base;
		if ((uintptr_t)p < s->base || off % s->elemsize || off / s->elemsize >= s->nelems)
			sys_throw("span %p: free list holds %p, not one of its objects",
				  (void *)s->base, p);
		size_t i = off / s->elemsize;
		if (bits[i >> 6] & (1ull << (i & 63)))
			sys_throw("span %p: object %p is on the free list twice (double free)",
				  (void *)s->base, p);
		bits[i >> 6] |= 1ull << (i & 63);
		n++;
	}
	return n;
}

static void walk_span(span_t *s, void *arg)
{
	span_stats_t *out = arg;
	span_heap_stats_t *h = &out->heap;
	uint64_t bytes = (uint64_t)s->npages << PAGE_SHIFT;
	uint64_t bits[SPAN_FREEBITS_WORDS];
	h->mapped += bytes;
	if (s->state != SPAN_FREE && mheap_released_op(s->base, s->npages, MHEAP_REL_COUNT))
		sys_throw("span %p: in use but has released pages", (void *)s->base);
	switch (s->state) {
	case SPAN_FREE: {
		uint64_t rel = mheap_released_op(s->base, s->npages, MHEAP_REL_COUNT) << PAGE_SHIFT;
		h->released += rel;
		h->free_retained += bytes - rel;
		break;
	}
	case SPAN_SMALL: {
		h->heap_inuse += bytes;
		/* Owned: its class fields were written before the owner was
		 * published. On no list and not owned: fresh from the page heap,
		 * being carved (no lock covers that); counted by neither side. */
		bool owned = atomic_load_explicit(&s->owner, memory_order_acquire) != NULL;
		if (!owned && s->list == 0)
			break;
		span_class_stats_t *cs = &out->classes[s->spc];
		cs->spans++;
		if (owned) {
			cs->objects += s->nelems;
			cs->cached_spans++;
			break;
		}
		uint32_t nfree = mstats_span_freebits(s, bits);
		if (s->used != s->nelems - nfree)
			sys_throw("span %p: used %u but %u of %u objects free", (void *)s->base,
				  s->used, nfree, s->nelems);
		cs->objects += s->used;
		cs->occupancy[mcentral_bucket(s)]++;
		break;
	}
	case SPAN_LARGE:
		h->heap_inuse += bytes;
		if (span_large_live(s)) {
			h->large_objects++;
			h->large_bytes += bytes;
		} else {
			h->large_cached++;
			h->large_cached_bytes += bytes;
		}
		break;
	case SPAN_STACK:
		h->stack_inuse += bytes;
		if (s->order == 0xff) {
			h->large_stacks++;
			h->large_stack_bytes += bytes;
		} else {
			span_stack_stats_t *st = &out->stacks[s->order];
			st->pool_spans++;
			if (s->nelems > 64 || (s->nelems < 64 && s->stackfree >> s->nelems))
				sys_throw("span %p: free-stack bits past its %u stacks",
					  (void *)s->base, s->nelems);
			st->pool_free += (uint64_t)__builtin_popcountll(s->stackfree);
			st->inuse += s->nelems; /* minus free and cached, below */
		}
		break;
	default:
		sys_throw("span %p: bad state %d", (void *)s->base, s->state);
	}
}

void span_stats_slow(span_stats_t *out)
{
	memset(out, 0, sizeof *out);
	if (span_init() != 0)
		return;
	stack_lock_all();
	mcentral_lock_all();
	mheap_lock();
	mheap_walk(walk_span, out);
	mheap_unlock();
	mcentral_unlock_all();
	stack_unlock_all();
	out->heap.metadata = sys_meta_bytes();
	int64_t inuse[SPAN_STACK_ORDERS];
	uint64_t cached[SPAN_STACK_ORDERS];
	mstats_stack_counts(inuse, cached);
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		out->stacks[o].cached = cached[o];
		out->stacks[o].inuse -= out->stacks[o].pool_free + cached[o];
	}
	finish_classes(out);
}

/* One formatted line to fd; a line longer than the buffer is cut. */
__attribute__((format(printf, 2, 3))) static void put(int fd, const char *fmt, ...)
{
	char buf[512]; /* a class line at its widest (20-digit counts) fits */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

void span_stats_print(int fd, const span_stats_t *st)
{
	const span_heap_stats_t *h = &st->heap;
	put(fd, "span: mapped %.1f MiB: heap in use %.1f MiB, stacks %.1f MiB, free resident "
		"%.1f MiB, released %.1f MiB; metadata %.1f MiB\n",
	    mib(h->mapped), mib(h->heap_inuse), mib(h->stack_inuse), mib(h->free_retained),
	    mib(h->released), mib(h->metadata));
	put(fd, "span: large objects %llu (%llu B), in thread caches %llu (%llu B), "
		"large stacks %llu (%llu B)\n",
	    (unsigned long long)h->large_objects, (unsigned long long)h->large_bytes,
	    (unsigned long long)h->large_cached, (unsigned long long)h->large_cached_bytes,
	    (unsigned long long)h->large_stacks, (unsigned long long)h->large_stack_bytes);
	put(fd, "span: %5s %6s %6s %5s %9s %10s %12s %14s %10s %6s  %s\n", "class", "kind",
	    "size", "pages", "objs/span", "spans", "objects", "bytes", "tail waste", "cached",
	    "central spans: empty, in use <= 1/8 .. 8/8");
	for (int spc = 2; spc < SPAN_NUM_SPAN_CLASSES; spc++) {
		const span_class_stats_t *c = &st->classes[spc];
		if (c->spans == 0)
			continue;
		char occ[SPAN_OCC_BUCKETS * 21 + 1] = "", *o = occ; /* " %llu" <= 21 each */
		for (int k = 0; k < SPAN_OCC_BUCKETS; k++)
			o += snprintf(o, sizeof occ - (size_t)(o - occ), " %llu",
				      (unsigned long long)c->occupancy[k]);
		put(fd, "span: %5d %6s %6u %5u %9u %10llu %12llu %14llu %10llu %6llu %s\n",
		    spc >> 1, spc & 1 ? "noscan" : "scan", c->size, c->npages, c->nelems,
		    (unsigned long long)c->spans, (unsigned long long)c->objects,
		    (unsigned long long)c->bytes, (unsigned long long)c->tail_waste,
		    (unsigned long long)c->cached_spans, occ);
	}
	put(fd, "span: (a span a thread cache holds counts all its objects in use: objects "
		"are exact once the caches are flushed)\n");
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		const span_stack_stats_t *k = &st->stacks[o];
		put(fd, "span: stacks of %u KiB: in use %llu, in thread caches %llu, pool free %llu "
			"in %llu spans\n",
		    (SPAN_STACK_MIN << o) >> 10, (unsigned long long)k->inuse,
		    (unsigned long long)k->cached, (unsigned long long)k->pool_free,
		    (unsigned long long)k->pool_spans);
	}
}
