/*
 * The `tcmalloc` plug-in: gperftools' tcmalloc (libtcmalloc_minimal, without the
 * profiler) through its tc_* entry points, stats from MallocExtension numeric
 * properties. With the plug-in preloaded tcmalloc also serves plain malloc.
 *
 * Cost: one call per operation; stats reads seven properties (each takes the
 * page heap lock briefly) and runs between timed chunks only.
 */
#include <errno.h>
#include <gperftools/malloc_extension_c.h>
#include <gperftools/tcmalloc.h>
#include <stdio.h>

#include "membench_alloc.h"

static int tc_init(void)
{
	return 0;
}

static void *tc_mb_malloc(size_t size, unsigned flags)
{
	return tc_malloc(size);
}

static void tc_mb_free(void *p, size_t size)
{
	/* tc_free_sized needs the exact requested size; 0 means unknown */
	if (size)
		tc_free_sized(p, size);
	else
		tc_free(p);
}

static void *tc_mb_realloc(void *p, size_t old_size, size_t new_size)
{
	return tc_realloc(p, new_size);
}

static size_t tc_mb_usable_size(void *p)
{
	return tc_malloc_size(p);
}

static const char *tc_mb_version(void)
{
	int major, minor;
	const char *patch;
	return tc_version(&major, &minor, &patch); /* "gperftools 2.10" */
}

static uint64_t prop(const char *name)
{
	size_t v = 0;
	return MallocExtension_GetNumericProperty(name, &v) ? (uint64_t)v : MB_STAT_UNKNOWN;
}

/* heap_size is every page the page heap got from the system, unmapped ones
 * included; so resident = heap_size - unmapped, and active (pages given to
 * size classes or large objects) = resident - pageheap_free. Free objects in
 * the thread, transfer and central caches lie inside active. Metadata is
 * mapped apart from the page heap and is not in resident here. */
static int tc_mb_stats(mb_alloc_stats_t *s)
{
	uint64_t heap = prop("generic.heap_size");
	uint64_t unmapped = prop("tcmalloc.pageheap_unmapped_bytes");
	uint64_t pfree = prop("tcmalloc.pageheap_free_bytes");
	s->allocated = prop("generic.current_allocated_bytes");
	if (heap == MB_STAT_UNKNOWN || unmapped == MB_STAT_UNKNOWN || pfree == MB_STAT_UNKNOWN)
		return -ENOTSUP;
	s->mapped = heap;
	s->resident = heap - unmapped;
	s->active = heap - unmapped - pfree;
	s->retained = unmapped;
	s->metadata = prop("tcmalloc.metadata_bytes");
	return 0;
}

static void tc_mb_release(void)
{
	MallocExtension_ReleaseFreeMemory();
}

const mb_alloc_ops_t membench_allocator = {
	.abi_version = MB_ALLOC_ABI_VERSION,
	.name = "tcmalloc",
	.init = tc_init,
	.malloc = tc_mb_malloc,
	.free = tc_mb_free,
	.realloc = tc_mb_realloc,
	.usable_size = tc_mb_usable_size,
	.version = tc_mb_version,
	.stats = tc_mb_stats,
	.release = tc_mb_release,
};
