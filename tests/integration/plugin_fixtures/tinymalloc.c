/*
 * A tiny malloc replacement for the generic plug-in's tests: a thread-safe bump
 * allocator over one big anonymous mapping, with a 16-byte header holding each
 * block's usable size; free keeps nothing (the tests are short). Usable size is
 * the request rounded up to 16, so a test can predict it. Built with
 * -DTINY_NO_USABLE it leaves out malloc_usable_size, as some replacements do.
 * tinymalloc_allocs() lets a test prove that calls reached it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA (1ull << 32) /* address space only; pages come on first touch */
#define HDR 16

static char *arena;
static uint64_t top, allocs;

size_t tinymalloc_allocs(void)
{
	return __atomic_load_n(&allocs, __ATOMIC_RELAXED);
}

static void *bump(size_t size, size_t align)
{
	if (!arena) {
		char *a = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (a == MAP_FAILED)
			return NULL;
		char *expect = NULL;
		if (!__atomic_compare_exchange_n(&arena, &expect, a, 0, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			munmap(a, ARENA);
	}
	size_t usable = (size + 15) & ~(size_t)15;
	if (usable == 0)
		usable = 16;
	size_t need = usable + HDR + (align > HDR ? align : 0);
	uint64_t off = __atomic_fetch_add(&top, need, __ATOMIC_RELAXED);
	if (off + need > ARENA) {
		errno = ENOMEM;
		return NULL;
	}
	uintptr_t p = (uintptr_t)arena + off + HDR;
	if (align > HDR)
		p = (p + align - 1) & ~(uintptr_t)(align - 1);
	((size_t *)p)[-1] = usable;
	__atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
	return (void *)p;
}

void *malloc(size_t size)
{
	return bump(size, 0);
}

void free(void *p)
{
}

void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return bump(n * size, 0); /* fresh mapping pages are zero, never reused */
}

void *realloc(void *p, size_t size)
{
	void *q = bump(size, 0);
	if (p && q) {
		size_t old = ((size_t *)p)[-1];
		memcpy(q, p, old < size ? old : size);
	}
	return q;
}

void *memalign(size_t align, size_t size)
{
	return bump(size, align);
}

void *aligned_alloc(size_t align, size_t size)
{
	return bump(size, align);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p = bump(size, align);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t size)
{
	return bump(size, 4096);
}

#ifndef TINY_NO_USABLE
size_t malloc_usable_size(void *p)
{
	return p ? ((size_t *)p)[-1] : 0;
}
#endif
