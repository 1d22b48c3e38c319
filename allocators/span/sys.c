/*
 * OS interface: every mmap, munmap and madvise of the allocator is here.
 * See malloc.c for an overview.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "span_internal.h"

static _Atomic uint64_t sys_meta; /* bytes mapped by sys_alloc_meta */

/* Maps bytes of zeroed, readable and writable memory aligned to align (a power
 * of two, at least the OS page): over-maps by align and trims both ends.
 * Untouched pages cost no RSS. NULL when the OS refuses. */
void *sys_reserve(size_t bytes, size_t align)
{
	size_t span = bytes + align;
	char *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t start = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	size_t head = start - (uintptr_t)p, tail = span - head - bytes;
	if (head)
		munmap(p, head);
	if (tail)
		munmap((char *)start + bytes, tail);
	return (void *)start;
}

/* Maps bytes at exactly hint (zeroed, readable, writable), or returns NULL
 * and maps nothing when anything is mapped there already or the kernel will
 * not place it there (kernels before 4.17 take MAP_FIXED_NOREPLACE as a
 * plain hint: a mapping elsewhere is undone). errno is left as it was: the
 * caller falls back to sys_reserve, and a malloc that succeeds sets none. */
void *sys_reserve_at(void *hint, size_t bytes)
{
	int saved = errno;
	char *p = mmap(hint, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != MAP_FAILED && p != hint)
		munmap(p, bytes);
	errno = saved;
	return p == hint ? p : NULL;
}

/* Metadata: span structs, caches, page map leaves. Counted in sys_meta_bytes. */
void *sys_alloc_meta(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	atomic_fetch_add_explicit(&sys_meta, bytes, memory_order_relaxed);
	return p;
}

uint64_t sys_meta_bytes(void)
{
	return atomic_load_explicit(&sys_meta, memory_order_relaxed);
}

/* Returns the pages to the OS; they stay mapped and read as zero when touched
 * again (MADV_DONTNEED on private anonymous memory, unlike MADV_FREE). */
void sys_release(void *p, size_t bytes)
{
	if (madvise(p, bytes, MADV_DONTNEED) != 0)
		sys_throw("madvise(%p, %zu) failed", p, bytes);
}

void sys_populate(void *p, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	static _Atomic bool unsupported; /* kernels before 5.14: EINVAL */
	int saved = errno; /* a malloc that succeeds leaves errno alone */
	if (!atomic_load_explicit(&unsupported, memory_order_relaxed) &&
	    madvise(p, bytes, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
		atomic_store_explicit(&unsupported, true, memory_order_relaxed);
	errno = saved; /* ENOMEM here is no failure: the pages fault in later */
#else
	(void)p;
	(void)bytes;
#endif
}

uint32_t sys_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

void sys_free(void *p, size_t bytes)
{
	munmap(p, bytes);
}

/* Go's throw: a broken invariant ends the process with a precise message.
 * Formats into a stack buffer: no allocation on the way out. */
_Noreturn void sys_throw(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	ssize_t w = write(2, "span: fatal: ", 13);
	w = write(2, buf, (size_t)n);
	(void)w;
	abort();
}
