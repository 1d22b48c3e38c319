/*
 * The `generic` plug-in: any malloc-replacement shared object, named by path in
 * a suite (`generic:PATH` or a path ending in .so). The runner preloads that
 * object ahead of this plug-in, so the plain malloc / free / realloc /
 * malloc_usable_size this plug-in calls resolve to it. No stats entry: the
 * trial records RSS only.
 *
 * usable_size: when the replacement does not define malloc_usable_size, the
 * symbol would resolve to glibc's, which must never see a foreign pointer; the
 * plug-in then answers 0 ("cannot tell", see membench_alloc.h).
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "membench_alloc.h"

static size_t (*usable_fn)(void *);
static const char *lib_name;

/* The object that defines sym first in the global search order, or NULL. */
static const char *owner_of(const char *sym)
{
	void *f = dlsym(RTLD_DEFAULT, sym);
	Dl_info di;
	if (!f || !dladdr(f, &di))
		return NULL;
	return di.dli_fname;
}

static int gen_init(void)
{
	const char *m = owner_of("malloc"), *u = owner_of("malloc_usable_size");
	lib_name = m;
	if (m && u && !strcmp(m, u))
		usable_fn = (size_t (*)(void *))dlsym(RTLD_DEFAULT, "malloc_usable_size");
	return 0;
}

static void *gen_malloc(size_t size, unsigned flags)
{
	return malloc(size);
}

static void gen_free(void *p, size_t size)
{
	free(p);
}

static void *gen_realloc(void *p, size_t old_size, size_t new_size)
{
	return realloc(p, new_size);
}

static size_t gen_usable_size(void *p)
{
	return usable_fn ? usable_fn(p) : 0;
}

/* No version call is common to malloc replacements: the path of the object
 * that serves malloc stands in for it (the manifest also records it). */
static const char *gen_version(void)
{
	return lib_name;
}

const mb_alloc_ops_t membench_allocator = {
	.abi_version = MB_ALLOC_ABI_VERSION,
	.name = "generic",
	.init = gen_init,
	.malloc = gen_malloc,
	.free = gen_free,
	.realloc = gen_realloc,
	.usable_size = gen_usable_size,
	.version = gen_version,
};
