/*
 * Where span's cheap counters and the slow walk disagree, for the tests that
 * compare them (span_stats, span_mlarge, span_stress, fuzz_span). Included
 * once per test binary.
 */
#ifndef SPAN_TESTS_STATS_DIFFER_H
#define SPAN_TESTS_STATS_DIFFER_H
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "span.h"

/* A description of the first difference between the cheap counters a and the
 * slow walk's b (every span class and stack order field by field, the page
 * heap's numbers but metadata, which the walk does not recount), or of a's
 * page heap numbers not adding up to the mapped bytes; NULL when neither. */
static inline const char *span_stats_differ(const span_stats_t *a, const span_stats_t *b)
{
	static char msg[256];
	static const struct {
		const char *name;
		size_t off;
	} heap[] = {
		{ "mapped", offsetof(span_heap_stats_t, mapped) },
		{ "heap_inuse", offsetof(span_heap_stats_t, heap_inuse) },
		{ "stack_inuse", offsetof(span_heap_stats_t, stack_inuse) },
		{ "free_retained", offsetof(span_heap_stats_t, free_retained) },
		{ "released", offsetof(span_heap_stats_t, released) },
		{ "large_objects", offsetof(span_heap_stats_t, large_objects) },
		{ "large_bytes", offsetof(span_heap_stats_t, large_bytes) },
		{ "large_cached", offsetof(span_heap_stats_t, large_cached) },
		{ "large_cached_bytes", offsetof(span_heap_stats_t, large_cached_bytes) },
		{ "large_stacks", offsetof(span_heap_stats_t, large_stacks) },
		{ "large_stack_bytes", offsetof(span_heap_stats_t, large_stack_bytes) },
	};
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++) {
		const span_class_stats_t *x = &a->classes[i], *y = &b->classes[i];
		if (memcmp(x, y, sizeof *x) != 0) {
			snprintf(msg, sizeof msg, "span class %d: spans %lu/%lu objects %lu/%lu cached %lu/%lu",
				 i, (unsigned long)x->spans, (unsigned long)y->spans,
				 (unsigned long)x->objects, (unsigned long)y->objects,
				 (unsigned long)x->cached_spans, (unsigned long)y->cached_spans);
			return msg;
		}
	}
	for (int o = 0; o < SPAN_STACK_ORDERS; o++) {
		const span_stack_stats_t *x = &a->stacks[o], *y = &b->stacks[o];
		if (memcmp(x, y, sizeof *x) != 0) {
			snprintf(msg, sizeof msg, "stack order %d: inuse %lu/%lu cached %lu/%lu pool %lu/%lu",
				 o, (unsigned long)x->inuse, (unsigned long)y->inuse,
				 (unsigned long)x->cached, (unsigned long)y->cached,
				 (unsigned long)x->pool_free, (unsigned long)y->pool_free);
			return msg;
		}
	}
	for (size_t f = 0; f < sizeof heap / sizeof heap[0]; f++) {
		uint64_t x, y;
		memcpy(&x, (const char *)&a->heap + heap[f].off, sizeof x);
		memcpy(&y, (const char *)&b->heap + heap[f].off, sizeof y);
		if (x != y) {
			snprintf(msg, sizeof msg, "page heap %s: %lu/%lu", heap[f].name,
				 (unsigned long)x, (unsigned long)y);
			return msg;
		}
	}
	const span_heap_stats_t *h = &a->heap;
	if (h->mapped != h->heap_inuse + h->stack_inuse + h->free_retained + h->released) {
		snprintf(msg, sizeof msg, "page heap: mapped %lu != in use %lu + %lu, free %lu + %lu",
			 (unsigned long)h->mapped, (unsigned long)h->heap_inuse,
			 (unsigned long)h->stack_inuse, (unsigned long)h->free_retained,
			 (unsigned long)h->released);
		return msg;
	}
	return NULL;
}

/* Reads the cheap counters into *cheap and walks the heap into *slow, one
 * after the other (exact when no other thread allocates meanwhile); returns
 * span_stats_differ of the two. */
static inline const char *span_stats_now_differ(span_stats_t *cheap, span_stats_t *slow)
{
	span_stats(cheap);
	span_stats_slow(slow); /* aborts on a corrupt free list */
	return span_stats_differ(cheap, slow);
}

#endif
