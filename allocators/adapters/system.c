/*
 * The `system` plug-in: glibc malloc (ptmalloc2). Stats from mallinfo2.
 */
#include <errno.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdlib.h>

#include "membench_alloc.h"

static int sys_init(void)
{
	return 0;
}

static void *sys_malloc(size_t size, unsigned flags)
{
	return malloc(size);
}

static void sys_free(void *p, size_t size)
{
	free(p);
}

static void *sys_realloc(void *p, size_t old_size, size_t new_size)
{
	return realloc(p, new_size);
}

static size_t sys_usable_size(void *p)
{
	return malloc_usable_size(p);
}

static const char *sys_version(void)
{
	return gnu_get_libc_version();
}

/* mallinfo2, summed over every arena: uordblks = bytes of chunks in use
 * (headers included, so >= the usable sizes; chunks parked in the per-thread
 * tcache count as in use), fordblks = bytes of free chunks, keepcost = the main
 * arena's top chunk (free space at the end, trimmable), arena = bytes of the
 * arenas, hblkhd = bytes of chunks mmapped one by one.
 *   allocated = uordblks + hblkhd
 *   active    = arena + hblkhd - keepcost: every chunk except the trimmable top,
 *               so active - allocated = free chunks between objects (plus the
 *               top chunks of the other arenas, which mallinfo2 does not split)
 *   mapped    = arena + hblkhd
 * glibc cannot tell resident from mapped, and keeps no count of its metadata:
 * those are unknown. It never keeps memory unmapped-but-reserved (retained 0)
 * other than what malloc_trim madvises away inside arenas, which it does not
 * count either: unknown. Cost: mallinfo2 walks every arena's bins (locks each
 * arena; microseconds), so it runs between timed chunks only. */
static int sys_stats(mb_alloc_stats_t *s)
{
	struct mallinfo2 mi = mallinfo2();
	/* the process has allocated (the harness has) long before any sample: an
	 * empty mallinfo2 means glibc's malloc is not the one serving it (a
	 * sanitizer runtime or a preloaded allocator replaced it) */
	if (mi.arena == 0 && mi.hblkhd == 0)
		return -ENOTSUP;
	s->allocated = mi.uordblks + mi.hblkhd;
	s->active = mi.arena + mi.hblkhd - mi.keepcost;
	if (s->active < s->allocated) /* cannot happen: arena = uordblks + fordblks */
		s->active = s->allocated;
	s->resident = MB_STAT_UNKNOWN;
	s->mapped = mi.arena + mi.hblkhd;
	s->metadata = MB_STAT_UNKNOWN;
	s->retained = MB_STAT_UNKNOWN;
	return 0;
}

static void sys_release(void)
{
	malloc_trim(0);
}

const mb_alloc_ops_t membench_allocator = {
	.abi_version = MB_ALLOC_ABI_VERSION,
	.name = "system",
	.init = sys_init,
	.malloc = sys_malloc,
	.free = sys_free,
	.realloc = sys_realloc,
	.usable_size = sys_usable_size,
	.version = sys_version,
	.stats = sys_stats,
	.release = sys_release,
};
