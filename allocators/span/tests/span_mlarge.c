/*
 * The per-thread cache of freed large spans (mlarge.c): reuse without the
 * page heap, its bounds, the stats' account of it, double frees, flushes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsan_options.h"
#include "span_internal.h"
#include "released.h"
#include "stats_differ.h"

#define K64 ((size_t)64 << 10)

static void compare(void)
{
	span_stats_t cheap, slow;
	const char *d = span_stats_now_differ(&cheap, &slow);
	if (d)
		fail_msg("cheap counters and the slow walk differ: %s", d);
}

static span_heap_stats_t heap_now(void)
{
	span_stats_t st;
	span_stats(&st);
	return st.heap;
}

/* A freed 64 KiB object's span comes back for the next 64 KiB malloc: same
 * address, nothing taken from the page heap meanwhile. */
static void test_reuse_without_the_heap(void **state)
{
	(void)state;
	span_release();
	char *p = span_alloc(K64, 0);
	memset(p, 0x5a, K64);
	span_heap_stats_t live = heap_now();
	span_free(p, K64);
	span_heap_stats_t cached = heap_now();
	assert_int_equal(cached.large_objects, live.large_objects - 1);
	assert_int_equal(cached.large_cached, live.large_cached + 1);
	assert_int_equal(cached.large_cached_bytes, live.large_cached_bytes + K64);
	assert_int_equal(cached.heap_inuse, live.heap_inuse); /* still out of the heap */
	assert_int_equal(cached.free_retained + cached.released,
			 live.free_retained + live.released);
	compare();

	uint64_t free_before = mheap_counts.free;
	char *q = span_alloc(K64 - 100, 0); /* 8 pages as well */
	assert_ptr_equal(q, p);
	assert_int_equal(mheap_counts.free, free_before);
	assert_int_equal(span_usable_size(q), K64);
	assert_int_equal(heap_now().large_cached, live.large_cached);
	compare();
	span_free(q, 0);
	span_release(); /* gives it back */
	assert_int_equal(heap_now().large_cached, 0);
	compare();
}

/* Only exactly the page count is reused; larger-than-cached and aligned
 * requests go to the page heap and leave the cached span where it is. */
static void test_exact_pages_only(void **state)
{
	(void)state;
	span_release();
	void *p = span_alloc(K64, 0);
	span_free(p, 0);
	void *big = span_alloc(K64 + SPAN_PAGE_SIZE, 0); /* 9 pages */
	assert_ptr_not_equal(big, p);
	void *aligned = span_alloc_aligned(16 * SPAN_PAGE_SIZE, K64, 0);
	assert_ptr_not_equal(aligned, p);
	assert_int_equal((uintptr_t)aligned % (16 * SPAN_PAGE_SIZE), 0);
	assert_int_equal(heap_now().large_cached, 1);
	assert_ptr_equal(span_alloc(K64, 0), p);
	span_free(p, 0);
	span_free(big, 0);
	span_free(aligned, 0);
	compare();
	span_release();
}

/* The bounds: spans over MLARGE_MAX_PAGES are never cached; at most
 * MLARGE_SLOTS spans and MLARGE_CACHE_PAGES pages; when full, the oldest go. */
static void test_bounds(void **state)
{
	(void)state;
	span_release();
	void *huge = span_alloc((MLARGE_MAX_PAGES + 1) * SPAN_PAGE_SIZE, 0);
	span_free(huge, 0);
	assert_int_equal(heap_now().large_cached, 0);

	enum { N = 3 * MLARGE_SLOTS };
	uint64_t live_before = heap_now().large_objects;
	void *v[N];
	for (int i = 0; i < N; i++)
		v[i] = span_alloc(5 * SPAN_PAGE_SIZE, 0); /* 5 pages: the slots bind */
	for (int i = 0; i < N; i++) {
		span_free(v[i], 0);
		span_heap_stats_t h = heap_now();
		assert_true(h.large_cached >= 1 && h.large_cached <= MLARGE_SLOTS);
		assert_true(h.large_cached_bytes <= (uint64_t)MLARGE_CACHE_PAGES * SPAN_PAGE_SIZE);
	}
	assert_int_equal(heap_now().large_objects, live_before);
	/* The newest is cached (taken first). */
	assert_ptr_equal(span_alloc(5 * SPAN_PAGE_SIZE, 0), v[N - 1]);
	span_free(v[N - 1], 0);
	compare();

	void *w[MLARGE_SLOTS];
	for (int i = 0; i < MLARGE_SLOTS; i++)
		w[i] = span_alloc(MLARGE_MAX_PAGES * SPAN_PAGE_SIZE, 0); /* pages bind */
	for (int i = 0; i < MLARGE_SLOTS; i++) {
		span_free(w[i], 0);
		assert_true(heap_now().large_cached_bytes <=
			    (uint64_t)MLARGE_CACHE_PAGES * SPAN_PAGE_SIZE);
	}
	compare();
	span_release();
	span_heap_stats_t h = heap_now();
	assert_int_equal(h.large_cached, 0);
	assert_int_equal(h.large_cached_bytes, 0);
}

/* calloc's path (zero = true) clears a reused span. */
static void test_zeroed_reuse(void **state)
{
	(void)state;
	span_release();
	unsigned char *p = malloc_large(K64, 1, false);
	memset(p, 0xff, K64);
	span_free(p, 0);
	unsigned char *q = malloc_large(K64, 1, true);
	assert_ptr_equal(q, p);
	for (size_t i = 0; i < K64; i++)
		if (q[i])
			fail_msg("byte %zu of a zeroed large object is %u", i, q[i]);
	span_free(q, 0);
	span_release();
}

static void *free_and_exit(void *arg)
{
	span_free(arg, 0); /* this thread's first call: it gets a cache */
	assert_int_equal(heap_now().large_cached, 1);
	return NULL;
}

/* A span freed by another thread lands in that thread's cache, which gives
 * it back when the thread exits. */
static void test_thread_exit_flushes(void **state)
{
	(void)state;
	span_release();
	span_heap_stats_t before = heap_now();
	void *p = span_alloc(K64, 0);
	pthread_t t;
	pthread_create(&t, NULL, free_and_exit, p);
	pthread_join(t, NULL);
	span_heap_stats_t h = heap_now();
	assert_int_equal(h.large_cached, 0);
	assert_int_equal(h.large_objects, before.large_objects);
	assert_int_equal(h.heap_inuse, before.heap_inuse); /* its pages back in the heap */
	compare();
}

/* A second free of a cached large object aborts, as does realloc of it. */
static void test_double_free_is_caught(void **state)
{
	(void)state;
	for (int how = 0; how < 2; how++) {
		pid_t pid = fork();
		if (pid == 0) {
			close(2);
			void *p = span_alloc(K64, 0);
			span_free(p, 0);
			if (how == 0)
				span_free(p, 0);
			else
				(void)span_realloc(p, K64, 2 * K64);
			_exit(0);
		}
		int status;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGABRT);
	}
}

/* A realloc that has to copy a large block of 1 MiB or more away gives the old
 * block's pages back at once (a growing buffer's old copy); a smaller one is
 * freed the usual way, into the thread's cache. */
static void test_realloc_copy_releases(void **state)
{
	(void)state;
	size_t big = (size_t)2 << 20, npages = big >> PAGE_SHIFT;
	unsigned char *a = span_alloc(big, 0);
	assert_non_null(a);
	memset(a, 0x3c, big);
	uintptr_t end = (uintptr_t)a + big;
	void *blockers[8];
	int nb = 0;
	while (nb < 8 && mheap_span_of(end)->state == SPAN_FREE) /* no room after a */
		blockers[nb++] = span_alloc(big, 0);
	assert_int_not_equal(mheap_span_of(end)->state, SPAN_FREE);
	assert_int_equal(released_pages((uintptr_t)a, npages), 0);
	unsigned char *b = span_realloc(a, big, 2 * big);
	assert_non_null(b);
	assert_ptr_not_equal(b, a); /* copied */
	for (size_t i = 0; i < big; i += 4096)
		assert_int_equal(b[i], 0x3c);
	assert_int_equal(released_pages((uintptr_t)a, npages), npages);
	assert_int_equal(mheap_span_of((uintptr_t)a)->state, SPAN_FREE);
	compare();

	unsigned char *c = span_alloc(K64, 0); /* below the bound: cached, resident */
	memset(c, 1, K64);
	end = (uintptr_t)c + K64;
	void *small_blockers[8];
	int ns = 0;
	while (ns < 8 && mheap_span_of(end)->state == SPAN_FREE)
		small_blockers[ns++] = span_alloc(K64, 0);
	unsigned char *d = span_realloc(c, K64, 4 * K64);
	assert_ptr_not_equal(d, c);
	assert_int_equal(released_pages((uintptr_t)c, K64 >> PAGE_SHIFT), 0);
	span_t *cs = mheap_span_of((uintptr_t)c);
	assert_int_equal(cs->state, SPAN_LARGE); /* kept whole, in the cache */
	assert_non_null(atomic_load_explicit(&cs->owner, memory_order_relaxed));
	span_free(d, 0);
	span_free(b, 0);
	for (int i = 0; i < nb; i++)
		span_free(blockers[i], 0);
	for (int i = 0; i < ns; i++)
		span_free(small_blockers[i], 0);
	span_release();
	compare();
}

/* A free of a huge object (32 MiB or more) that another became huge after
 * gives the pages back at once; the newest huge one, and a big one a page
 * short of huge, keep theirs resident for the scavenger's age. */
static void test_superseded_huge_free_releases(void **state)
{
	(void)state;
	size_t huge = (size_t)MLARGE_HUGE_PAGES << PAGE_SHIFT;
	for (int i = 0; i < 3; i++) {
		size_t size = i == 2 ? huge - SPAN_PAGE_SIZE : huge, npages = size >> PAGE_SHIFT;
		unsigned char *a = span_alloc(size, 0), *b = NULL;
		assert_non_null(a);
		memset(a, 0x5a, size);
		if (i > 0) { /* b: huge, and newer than a */
			b = span_alloc(huge, 0);
			assert_non_null(b);
			memset(b, 0xa5, huge);
		}
		assert_int_equal(released_pages((uintptr_t)a, npages), 0);
		span_free(a, 0);
		assert_int_equal(mheap_span_of((uintptr_t)a)->state, SPAN_FREE);
		assert_int_equal(released_pages((uintptr_t)a, npages), i == 1 ? npages : 0);
		if (b) {
			span_free(b, 0); /* the newest */
			assert_int_equal(released_pages((uintptr_t)b, huge >> PAGE_SHIFT), 0);
		}
		compare();
	}
	unsigned char *c = span_alloc(huge / 2, 0); /* huge by realloc in place */
	assert_non_null(c);
	unsigned char *d = span_alloc(huge, 0);
	assert_non_null(d);
	span_free(d, 0);
	c = span_realloc(c, huge / 2, huge);
	assert_non_null(c);
	memset(c, 0x3c, huge);
	span_free(c, 0); /* the newest again: kept */
	assert_int_equal(released_pages((uintptr_t)c, huge >> PAGE_SHIFT), 0);
	span_release();
	compare();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_without_the_heap),
		cmocka_unit_test(test_exact_pages_only),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_zeroed_reuse),
		cmocka_unit_test(test_thread_exit_flushes),
		cmocka_unit_test(test_double_free_is_caught),
		cmocka_unit_test(test_realloc_copy_releases),
		cmocka_unit_test(test_superseded_huge_free_releases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
