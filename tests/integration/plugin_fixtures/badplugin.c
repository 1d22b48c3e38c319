/*
 * Plug-ins that must be refused at load, one per build flag:
 *   -DBAD_ABI       abi_version from the future
 *   -DBAD_NO_FREE   the required free entry missing
 *   -DBAD_STACK     stack_alloc without stack_free
 *   -DBAD_SELFTEST  usable_size smaller than the request (fails the self-test)
 */
#include <stdlib.h>

#include "membench_alloc.h"

static int bad_init(void)
{
	return 0;
}

static void *bad_malloc(size_t size, unsigned flags)
{
	return malloc(size);
}

__attribute__((unused)) static void bad_free(void *p, size_t size)
{
	free(p);
}

static void *bad_realloc(void *p, size_t old_size, size_t new_size)
{
	return realloc(p, new_size);
}

static size_t bad_usable_size(void *p)
{
#ifdef BAD_SELFTEST
	return 1;
#else
	return 0;
#endif
}

__attribute__((unused)) static void *bad_stack_alloc(size_t size)
{
	return malloc(size);
}

const mb_alloc_ops_t membench_allocator = {
#ifdef BAD_ABI
	.abi_version = MB_ALLOC_ABI_VERSION + 100,
#else
	.abi_version = MB_ALLOC_ABI_VERSION,
#endif
	.name = "bad",
	.init = bad_init,
	.malloc = bad_malloc,
#ifndef BAD_NO_FREE
	.free = bad_free,
#endif
	.realloc = bad_realloc,
	.usable_size = bad_usable_size,
#ifdef BAD_STACK
	.stack_alloc = bad_stack_alloc,
#endif
};
