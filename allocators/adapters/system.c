/*
 * The `system` plug-in: glibc malloc (ptmalloc2). Stats from mallinfo2.
 */
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

/* mallinfo2: uordblks = bytes in use (chunks incl. headers), fordblks = free
 * bytes held, arena + hblkhd = bytes obtained from the OS (sbrk heap + mmaps).
 * glibc cannot tell resident from mapped: resident is unknown. */
static int sys_stats(mb_alloc_stats_t *s)
{
	struct mallinfo2 mi = mallinfo2();
	s->allocated = mi.uordblks + mi.hblkhd;
	s->active = mi.uordblks + mi.hblkhd;
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
