/*
 * The membench plug-in face of span: the ops struct over the library face.
 * See malloc.c for an overview. Exports only `membench_allocator` (and the
 * span_* API); it defines no malloc, so it loads safely into a process whose
 * malloc is glibc's.
 */
#include "membench_alloc.h"
#include "span_internal.h"

static int plugin_init(void)
{
	return span_init();
}

/* The ABI's allocation flags are span's, bit for bit, so malloc and free are
 * the library face's own functions (no call in between). MB_LOCAL: the object
 * does not escape and is freed LIFO before its frame returns, so it is
 * bump-allocated in the thread's frame stack. */
_Static_assert((unsigned)MB_NOSCAN == (unsigned)SPAN_NOSCAN &&
	       (unsigned)MB_LOCAL == (unsigned)SPAN_LOCAL,
	       "membench_alloc.h flags and span.h flags differ");

static void *plugin_realloc(void *p, size_t old_size, size_t new_size)
{
	return span_realloc(p, old_size, new_size);
}

/* The ABI's view from span's counters: allocated counts a small object from
 * the moment its span is in a thread cache (span granularity, as Go does),
 * large objects whole, and every stack handed out whole (frames, where
 * non-escaping objects live, are stacks too), so that
 * live requested <= allocated <= active holds. */
static int plugin_stats(mb_alloc_stats_t *out)
{
	span_stats_t st;
	span_stats(&st);
	uint64_t allocated = st.heap.large_stack_bytes; /* large objects: class 0 below */
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++)
		allocated += st.classes[i].bytes;
	for (int k = 0; k < SPAN_STACK_ORDERS; k++)
		allocated += st.stacks[k].inuse * ((uint64_t)SPAN_STACK_MIN << k);
	out->allocated = allocated;
	out->active = st.heap.heap_inuse + st.heap.stack_inuse;
	out->resident = out->active + st.heap.free_retained + st.heap.metadata;
	out->mapped = st.heap.mapped + st.heap.metadata;
	out->metadata = st.heap.metadata;
	out->retained = st.heap.released;
	return 0;
}

/* One entry per span class that has a size (class 0, large objects, is not
 * listed), in size order with the scan and noscan classes of a size side by
 * side, as membench_alloc.h asks. objects counts every slot of a span a thread
 * cache owns as taken, the way span's counters (and Go's) do. */
static int plugin_class_stats(mb_alloc_class_stats_t *out, size_t cap)
{
	span_stats_t st;
	span_stats(&st);
	int n = 0;
	for (int spc = 0; spc < SPAN_NUM_SPAN_CLASSES; spc++) {
		const span_class_stats_t *c = &st.classes[spc];
		if (c->size == 0)
			continue;
		if ((size_t)n < cap)
			out[n] = (mb_alloc_class_stats_t){
				.size = c->size,
				.span_bytes = (uint64_t)c->npages * SPAN_PAGE_SIZE,
				.span_objects = c->nelems,
				.spans = c->spans,
				.objects = c->objects,
				.flags = (spc & 1) ? MB_NOSCAN : 0,
			};
		n++;
	}
	return n;
}

SPAN_API const mb_alloc_ops_t membench_allocator = {
	.abi_version = MB_ALLOC_ABI_VERSION,
	.name = "span",
	.init = plugin_init,
	.malloc = span_alloc,
	.free = span_free,
	.realloc = plugin_realloc,
	.usable_size = span_usable_size,
	.version = span_version,
	.stack_alloc = span_stack_alloc,
	.stack_free = span_stack_free,
	.stats = plugin_stats,
	.thread_enter = span_thread_enter,
	.thread_exit = span_thread_exit,
	.release = span_release,
	.class_stats = plugin_class_stats,
};
