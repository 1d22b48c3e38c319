/*
 * The `tbbmalloc` plug-in: oneTBB's scalable allocator (scalable_malloc ...).
 * It replaces only the calls made through this plug-in: plain malloc in the
 * trial process stays glibc's (preload libtbbmalloc_proxy.so.2 through the
 * generic plug-in to replace malloc everywhere). tbbmalloc exposes no memory
 * statistics, so the trial records RSS only (no stats entry).
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tbb/scalable_allocator.h>

#include "membench_alloc.h"

static int tbb_init(void)
{
	return 0;
}

static void *tbb_malloc(size_t size, unsigned flags)
{
	return scalable_malloc(size);
}

static void tbb_free(void *p, size_t size)
{
	scalable_free(p);
}

static void *tbb_realloc(void *p, size_t old_size, size_t new_size)
{
	return scalable_realloc(p, new_size);
}

static size_t tbb_usable_size(void *p)
{
	return scalable_msize(p);
}

/* The library has no call that returns its version (and oneTBB's version.h is
 * C++ only): this is the file name the loaded library resolves to, e.g.
 * "libtbbmalloc.so.2.8" (oneTBB 2021.8). */
static const char *tbb_version(void)
{
	static char v[PATH_MAX];
	Dl_info di;
	char real[PATH_MAX];
	if (!dladdr((void *)scalable_malloc, &di) || !di.dli_fname ||
	    !realpath(di.dli_fname, real))
		return NULL;
	const char *slash = strrchr(real, '/');
	snprintf(v, sizeof(v), "%s", slash ? slash + 1 : real);
	return v;
}

static void tbb_release(void)
{
	scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS, NULL);
}

const mb_alloc_ops_t membench_allocator = {
	.abi_version = MB_ALLOC_ABI_VERSION,
	.name = "tbbmalloc",
	.init = tbb_init,
	.malloc = tbb_malloc,
	.free = tbb_free,
	.realloc = tbb_realloc,
	.usable_size = tbb_usable_size,
	.version = tbb_version,
	.release = tbb_release,
};
