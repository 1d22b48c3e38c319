/*
 * The scavenger's order across free runs: it releases the pages reuse takes
 * last. Big runs (free_large) are handed out lowest address first, so the
 * highest is released first; an exact-size list hands out its newest run
 * first, so its oldest is released first. A process of its own: the test
 * needs a fresh heap, whose first spans lie side by side from its base.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsan_options.h"
#include "span_internal.h"
#include "released.h"

enum { EXACT = 16, BIG = 200 }; /* pages: an exact-size run, a big one */

static span_t *alloc_touched(size_t npages)
{
	span_t *s = mheap_alloc(npages, 1, SPAN_LARGE, NULL);
	assert_non_null(s);
	memset((void *)s->base, 1, npages * SPAN_PAGE_SIZE);
	return s;
}

static void test_scavenger_order(void **state)
{
	(void)state;
	assert_int_equal(span_init(), 0);
	/* guard, a, guard, b, guard, lo, guard, hi, guard: in-use guards keep
	 * the four runs from merging once they are free */
	span_t *g[5], *a, *b, *lo, *hi;
	g[0] = alloc_touched(1);
	a = alloc_touched(EXACT);
	g[1] = alloc_touched(1);
	b = alloc_touched(EXACT);
	g[2] = alloc_touched(1);
	lo = alloc_touched(BIG);
	g[3] = alloc_touched(1);
	hi = alloc_touched(BIG);
	g[4] = alloc_touched(1);
	assert_true(a->base < b->base && b->base < lo->base && lo->base < hi->base);
	uintptr_t ab = a->base, bb = b->base, lob = lo->base, hib = hi->base;
	/* b and hi freed first: a is its list's newest, lo the big list's first
	 * (list order alone would release a and lo) */
	mheap_free(b);
	mheap_free(hi);
	mheap_free(a);
	mheap_free(lo);
	mheap_lock();
	uint64_t retained = mheap_counts.free - mheap_counts.released;
	assert_true(retained >= 2 * EXACT + 2 * BIG);
	mscav_scavenge(8, retained - BIG, 0); /* one big run's worth */
	mheap_unlock();
	assert_int_equal(released_pages(hib, BIG), BIG);
	assert_int_equal(released_pages(lob, BIG), 0);
	assert_int_equal(released_pages(bb, EXACT) + released_pages(ab, EXACT), 0);
	/* lo is what a big request takes next (resident, lowest); with it in
	 * use, the next pages released are an exact-size run's: the oldest */
	lo = mheap_alloc(BIG, 1, SPAN_LARGE, NULL);
	assert_non_null(lo);
	assert_int_equal(lo->base, lob);
	mheap_lock();
	retained = mheap_counts.free - mheap_counts.released;
	mscav_scavenge(8, retained - EXACT, 0);
	mheap_unlock();
	assert_int_equal(released_pages(bb, EXACT), EXACT);
	assert_int_equal(released_pages(ab, EXACT), 0);
	mheap_free(lo);
	for (int i = 0; i < 5; i++)
		mheap_free(g[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scavenger_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
