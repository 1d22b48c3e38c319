/*
 * The drop-in face of span: malloc and friends for LD_PRELOAD. See malloc.c
 * for an overview.
 *
 * Differences from the library face: every result is 16-byte aligned, so
 * small sizes round to the classes whose size is a multiple of 16
 * (sizeclasses_class8_a16: 8 -> 16, 24 -> 32 bytes); everything is a scan
 * object; a free of a pointer the heap does not know (memory from the
 * dynamic loader's early allocator) is ignored. Errors follow glibc: NULL
 * with errno ENOMEM, EINVAL for a bad alignment. SPAN_SHOW_STATS set (not
 * to 0) prints the cheap counters to stderr at exit, as MIMALLOC_SHOW_STATS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "span_internal.h"

#define DROPIN_API __attribute__((visibility("default")))

/* Replaces malloc.c's weak false: this face's small spans are the drop-in's,
 * at least 32 KiB (sizeclasses.c; BENCH.md, "Bigger small spans"). */
bool span_face_dropin = true;
#define DROPIN_ALIGN 16
#define OS_PAGE 4096 /* valloc, pvalloc: the OS page, not span's */

static inline void *dropin_malloc(size_t n)
{
	if (SPAN_LIKELY(n <= SMALL_DIV_MAX))
		return span_alloc_small_fast(sizeclasses_class8_a16[(n + 7) >> 3] << 1);
	if (n <= SPAN_MAX_SMALL)
		return span_alloc_small_fast(sizeclasses_class128[(n - SMALL_DIV_MAX + 127) >> 7] << 1);
	return malloc_large(n, 1, false);
}

static void dropin_not_ours(void *p)
{
	(void)p; /* NULL, or memory from before us: nothing to do */
}

static void *dropin_aligned(size_t align, size_t n)
{
	if (align <= DROPIN_ALIGN)
		return dropin_malloc(n);
	void *p = malloc_small_aligned(n, align, 0);
	if (!p)
		errno = ENOMEM;
	return p;
}

DROPIN_API void *malloc(size_t n)
{
	return dropin_malloc(n);
}

DROPIN_API void free(void *p)
{
	span_free_fast_or(p, dropin_not_ours);
}

DROPIN_API void *calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (total > SPAN_MAX_SMALL)
		return malloc_large(total, 1, true); /* fresh pages are not cleared */
	void *p = dropin_malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

DROPIN_API void *realloc(void *p, size_t n)
{
	if (!p)
		return dropin_malloc(n);
	if (n == 0) { /* glibc: frees and returns NULL */
		free(p);
		return NULL;
	}
	span_t *s = mheap_span_of((uintptr_t)p);
	if (!s)
		sys_throw("realloc of %p: not allocated by span", p);
	size_t usable = span_usable_size(p);
	if (malloc_resize_in_place(s, p, usable, n))
		return p;
	void *q = dropin_malloc(n);
	if (!q)
		return NULL; /* p stays valid, errno from malloc */
	memcpy(q, p, usable < n ? usable : n);
	mlarge_free_moved(s, p);
	return q;
}

DROPIN_API void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total);
}

DROPIN_API int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = dropin_aligned(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

DROPIN_API void *aligned_alloc(size_t align, size_t n)
{
	if (align == 0 || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return dropin_aligned(align, n);
}

DROPIN_API void *memalign(size_t align, size_t n)
{
	if (align & (align - 1)) { /* glibc rounds up to a power of two */
		size_t a = 1;
		while (a < align && a)
			a <<= 1;
		if (!a) {
			errno = EINVAL;
			return NULL;
		}
		align = a;
	}
	return dropin_aligned(align, n);
}

DROPIN_API void *valloc(size_t n)
{
	return dropin_aligned(OS_PAGE, n);
}

DROPIN_API void *pvalloc(size_t n)
{
	size_t r = (n + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
	if (r < n) {
		errno = ENOMEM;
		return NULL;
	}
	return dropin_aligned(OS_PAGE, r ? r : OS_PAGE);
}

DROPIN_API size_t malloc_usable_size(void *p)
{
	return p ? span_usable_size(p) : 0;
}

/* Runs after the program's own destructors (the preloaded library is
 * finalised last), so the counters are the heap as the program left it. */
__attribute__((destructor)) static void dropin_show_stats(void)
{
	const char *v = getenv("SPAN_SHOW_STATS");
	if (!v || !*v || (v[0] == '0' && !v[1]))
		return;
	span_stats_t st;
	span_stats(&st);
	span_stats_print(STDERR_FILENO, &st);
}
