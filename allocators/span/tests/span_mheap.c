/*
 * Page heap: split, coalesce, alignment, in-place resize, scavenging, and the
 * counter invariant arena = in use + free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tsan_options.h"
#include "span_internal.h"
#include "released.h"

static void check_counts(void)
{
	mheap_lock();
	mheap_counts_t c = mheap_counts;
	mheap_unlock();
	assert_int_equal(c.arena_pages, c.heap_inuse + c.stack_inuse + c.free);
	assert_true(c.released <= c.free);
}

static void test_split_and_coalesce(void **state)
{
	(void)state;
	assert_int_equal(span_init(), 0);
	span_t *a = mheap_alloc(3, 1, SPAN_LARGE, NULL);
	span_t *b = mheap_alloc(5, 1, SPAN_LARGE, NULL);
	span_t *c = mheap_alloc(2, 1, SPAN_LARGE, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/* Carved one after another out of the same free run. */
	assert_int_equal(b->base, a->base + 3 * SPAN_PAGE_SIZE);
	assert_int_equal(c->base, b->base + 5 * SPAN_PAGE_SIZE);
	for (int i = 0; i < 5; i++) /* every page of an in-use span maps to it */
		assert_ptr_equal(mheap_span_of(b->base + i * SPAN_PAGE_SIZE + 17), b);
	uintptr_t base = a->base;
	check_counts();
	mheap_free(b); /* a hole of 5 pages between a and c */
	span_t *hole = mheap_span_of(base + 3 * SPAN_PAGE_SIZE);
	assert_int_equal(hole->state, SPAN_FREE);
	assert_int_equal(hole->npages, 5);
	span_t *d = mheap_alloc(5, 1, SPAN_LARGE, NULL); /* best fit: the hole */
	assert_int_equal(d->base, base + 3 * SPAN_PAGE_SIZE);
	mheap_free(d);
	mheap_free(a); /* merges with the hole: 8 pages */
	span_t *m = mheap_span_of(base);
	assert_int_equal(m->state, SPAN_FREE);
	assert_int_equal(m->npages, 8);
	mheap_free(c); /* merges with both sides: one run through the arena's rest */
	m = mheap_span_of(base);
	assert_int_equal(m->state, SPAN_FREE);
	assert_true(m->npages > 10);
	assert_ptr_equal(mheap_span_of(base + ((uintptr_t)m->npages - 1) * SPAN_PAGE_SIZE), m);
	check_counts();
}

/* A batch free, in any order, leaves what one-by-one frees leave: the spans
 * that were next to each other and to the free rest merged into one run. */
static void test_free_batch(void **state)
{
	(void)state;
	assert_int_equal(span_init(), 0);
	span_t *v[6], *keep = mheap_alloc(1, 1, SPAN_LARGE, NULL);
	for (int i = 0; i < 6; i++) {
		v[i] = mheap_alloc((size_t)i % 3 + 1, 1, SPAN_LARGE, NULL);
		assert_non_null(v[i]);
	}
	for (int i = 1; i < 6; i++) /* carved one after another */
		assert_int_equal(v[i]->base, v[i - 1]->base + (uintptr_t)v[i - 1]->npages * SPAN_PAGE_SIZE);
	uintptr_t base = v[0]->base;
	mheap_lock();
	mheap_counts_t before = mheap_counts;
	mheap_unlock();
	span_t *order[6] = { v[3], v[0], v[5], v[1], v[4], v[2] };
	mheap_free_batch(order, 6);
	mheap_lock();
	mheap_counts_t after = mheap_counts;
	mheap_unlock();
	assert_int_equal(after.free, before.free + 12);
	assert_int_equal(after.large_objects, before.large_objects - 6);
	span_t *m = mheap_span_of(base);
	assert_int_equal(m->state, SPAN_FREE);
	assert_int_equal(m->base, base);
	assert_true(m->npages > 12); /* merged with the free rest after them */
	assert_ptr_equal(mheap_span_of(base + ((uintptr_t)m->npages - 1) * SPAN_PAGE_SIZE), m);
	assert_ptr_equal(mheap_span_of(keep->base), keep);
	assert_int_equal(keep->state, SPAN_LARGE);
	mheap_free(keep);
	check_counts();
}

/* A small span carved from released pages faults in the free pages after
 * it too (POPULATE_PAGES in all): they are counted resident, and are. */
static void test_populate_ahead(void **state)
{
	(void)state;
	assert_int_equal(span_init(), 0);
	mheap_lock();
	mscav_scavenge(1, 0, 0); /* every free page released */
	mheap_unlock();
	bool zeroed = false;
	span_t *s = mheap_alloc(1, 1, SPAN_SMALL, &zeroed);
	assert_non_null(s);
	assert_true(zeroed);
	span_t *right = mheap_span_of(s->base + SPAN_PAGE_SIZE);
	assert_int_equal(right->state, SPAN_FREE);
	assert_int_equal(right->base, s->base + SPAN_PAGE_SIZE);
	assert_true(right->npages > 15); /* the fresh rest of an arena */
	assert_int_equal(mheap_released_op(right->base, 15, MHEAP_REL_COUNT), 0);
	assert_int_equal(mheap_released_op(right->base + 15 * SPAN_PAGE_SIZE, 1, MHEAP_REL_COUNT), 1);
	unsigned char vec[16 * SPAN_PAGE_SIZE / 4096];
	assert_int_equal(mincore((void *)s->base, 16 * SPAN_PAGE_SIZE, vec), 0);
	for (size_t i = 0; i < sizeof vec; i++)
		assert_true(vec[i] & 1);
	/* The next span comes from the populated pages: nothing to do. */
	span_t *t = mheap_alloc(1, 1, SPAN_SMALL, &zeroed);
	assert_int_equal(t->base, s->base + SPAN_PAGE_SIZE);
	assert_false(zeroed); /* resident: not known to read as zero */
	mheap_free(t);
	mheap_free(s);
	check_counts();
}

static void test_aligned(void **state)
{
	(void)state;
	span_t *pad = mheap_alloc(1, 1, SPAN_LARGE, NULL);
	for (size_t align = 2; align <= 256; align *= 2) {
		span_t *s = mheap_alloc(3, align, SPAN_LARGE, NULL);
		assert_non_null(s);
		assert_int_equal(s->base % (align * SPAN_PAGE_SIZE), 0);
		assert_int_equal(s->npages, 3);
		mheap_free(s);
	}
	mheap_free(pad);
	check_counts();
}

static void test_resize_in_place(void **state)
{
	(void)state;
	span_t *s = mheap_alloc(4, 1, SPAN_LARGE, NULL);
	uintptr_t base = s->base;
	memset((void *)base, 0xab, 4 * SPAN_PAGE_SIZE);
	assert_true(mheap_resize(s, 10)); /* the pages after it are free */
	assert_int_equal(s->base, base);
	assert_int_equal(s->npages, 10);
	assert_ptr_equal(mheap_span_of(base + 9 * SPAN_PAGE_SIZE), s);
	assert_int_equal(((unsigned char *)base)[4 * SPAN_PAGE_SIZE - 1], 0xab);
	assert_true(mheap_resize(s, 2));
	span_t *tail = mheap_span_of(base + 2 * SPAN_PAGE_SIZE);
	assert_int_equal(tail->state, SPAN_FREE);
	span_t *block = mheap_alloc(1, 1, SPAN_LARGE, NULL); /* right after s */
	assert_int_equal(block->base, base + 2 * SPAN_PAGE_SIZE);
	assert_false(mheap_resize(s, 3));
	mheap_free(block);
	mheap_free(s);
	check_counts();
}

/* A large span that ends where the heap does grows into a new arena placed
 * right above it (the hint), in place, instead of failing (a realloc copy). */
static void test_resize_across_arenas(void **state)
{
	(void)state;
	span_t *v[8];
	int n = 0;
	span_t *s = NULL;
	while (n < 8) { /* a whole arena's span, until one ends at the heap's top */
		v[n] = mheap_alloc(ARENA_PAGES, 1, SPAN_LARGE, NULL);
		assert_non_null(v[n]);
		uintptr_t end = v[n]->base + ((uintptr_t)ARENA_PAGES << PAGE_SHIFT);
		if (mheap_leaf_of(end) == NULL) {
			s = v[n++];
			break;
		}
		n++;
	}
	assert_non_null(s);
	uintptr_t base = s->base;
	((unsigned char *)base)[0] = 0x5c;
	bool grown = mheap_resize(s, ARENA_PAGES + 3);
#if SPAN_ARENA_HINTS
	assert_true(grown); /* the kernel honours the hint on this address space */
#endif
	if (grown) {
		assert_int_equal(s->base, base);
		assert_int_equal(s->npages, ARENA_PAGES + 3);
		uintptr_t last = base + ((uintptr_t)ARENA_PAGES + 2) * SPAN_PAGE_SIZE;
		assert_ptr_equal(mheap_span_of(last), s);
		((unsigned char *)last)[SPAN_PAGE_SIZE - 1] = 1;
		span_t *rest = mheap_span_of(last + SPAN_PAGE_SIZE); /* the new arena's rest */
		assert_int_equal(rest->state, SPAN_FREE);
		assert_int_equal(rest->npages, ARENA_PAGES - 3);
	}
	assert_int_equal(((unsigned char *)base)[0], 0x5c);
	check_counts();
	for (int i = 0; i < n; i++)
		mheap_free(v[i]);
	check_counts();
}

static void test_scavenge_and_zero(void **state)
{
	(void)state;
	bool zeroed;
	span_t *s = mheap_alloc(64, 1, SPAN_LARGE, &zeroed);
	memset((void *)s->base, 0x5a, 64 * SPAN_PAGE_SIZE);
	uintptr_t base = s->base;
	mheap_free(s);
	s = mheap_alloc(64, 1, SPAN_LARGE, &zeroed);
	assert_int_equal(s->base, base);
	assert_false(zeroed); /* retained pages hold old bytes */
	mheap_free(s);
	mheap_lock();
	uint64_t before = mheap_counts.released;
	mscav_scavenge(8, 0, 0);
	uint64_t after = mheap_counts.released;
	mheap_unlock();
	assert_true(after >= before + 64);
	check_counts();
	s = mheap_alloc(64, 1, SPAN_LARGE, &zeroed);
	assert_true(zeroed); /* released pages read as zero */
	for (size_t i = 0; i < 64 * SPAN_PAGE_SIZE; i += 4096)
		assert_int_equal(((unsigned char *)s->base)[i], 0);
	mheap_free(s);
}

static void test_huge(void **state)
{
	(void)state;
	size_t npages = (200u << 20) / SPAN_PAGE_SIZE; /* more than one arena */
	span_t *s = mheap_alloc(npages, 1, SPAN_LARGE, NULL);
	assert_non_null(s);
	((char *)s->base)[npages * SPAN_PAGE_SIZE - 1] = 1;
	assert_ptr_equal(mheap_span_of(s->base + (npages - 1) * SPAN_PAGE_SIZE), s);
	mheap_free(s);
	check_counts();
	assert_null(mheap_alloc((size_t)1 << 40, 1, SPAN_LARGE, NULL));
}

/* Resident free pages of the page heap (*retained), and the scavenger's goal
 * for them (*keep): an eighth of the pages in use, 4 MiB at least. */
static void retained_and_goal(uint64_t *retained, uint64_t *keep)
{
	mheap_lock();
	*retained = mheap_counts.free - mheap_counts.released;
	uint64_t inuse = mheap_counts.heap_inuse + mheap_counts.stack_inuse;
	mheap_unlock();
	*keep = inuse / 8 > 512 ? inuse / 8 : 512;
}

/* The scavenger runs on frees, paced: a free right after a big free releases
 * none of it (younger than SCAV_AGE_MS); 1.1 s later, the next free releases the heap's free pages down to its goal,
 * though that free is a fresh neighbour of the big run (the run keeps the age
 * of its larger part). */
static void test_scavenger_pacing(void **state)
{
	(void)state;
	span_release(); /* start from nothing resident and free */
	span_t *big = mheap_alloc(4096, 1, SPAN_LARGE, NULL); /* 32 MiB */
	uintptr_t base = big->base;
	memset((void *)big->base, 1, 4096 * SPAN_PAGE_SIZE);
	span_t *small = mheap_alloc(1, 1, SPAN_LARGE, NULL);
	span_t *early = mheap_alloc(1, 1, SPAN_LARGE, NULL);
	mheap_free(big);
	mheap_free(early); /* a pass may run, but the run is too young to release */
	assert_int_equal(released_pages(base, 4096), 0);
	usleep(1100 * 1000);
	mheap_free(small); /* a free after the age: the pass runs */
	uint64_t retained, keep;
	retained_and_goal(&retained, &keep);
	assert_true(retained <= keep + 8); /* down to the goal (runs < 64 KiB stay) */
	/* Released from the top down: the big run's pages still resident are its
	 * lowest, the ones lowest-address-first reuse takes next. */
	uint64_t resident = 4096 - released_pages(base, 4096);
	uint64_t low_released = released_pages(base, resident);
	assert_true(resident > 0);
	assert_int_equal(low_released, 0);
	check_counts();
}

/* SPAN_SCAVENGE_AGE_MS: whole milliseconds up to an hour set the age at init;
 * anything else keeps the default (and says so on stderr). */
static void test_scavenge_age_env(void **state)
{
	(void)state;
	static const struct { const char *v; bool ok; uint32_t ms; } cases[] = {
		{ "0", true, 0 },       { "250", true, 250 },  { "3600000", true, 3600000 },
		{ "", false, 0 },       { "-5", false, 0 },    { " 5", false, 0 },
		{ "5ms", false, 0 },    { "3600001", false, 0 }, { "99999999999999999999", false, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t ms = 77;
		assert_int_equal(mscav_parse_age(cases[i].v, &ms), cases[i].ok);
		assert_int_equal(ms, cases[i].ok ? cases[i].ms : 77);
	}
	setenv("SPAN_SCAVENGE_AGE_MS", "250", 1);
	mscav_init();
	assert_int_equal(mscav_age_ms(), 250);
	setenv("SPAN_SCAVENGE_AGE_MS", "soon", 1);
	mscav_init();
	assert_int_equal(mscav_age_ms(), 1000);
	unsetenv("SPAN_SCAVENGE_AGE_MS");
	mscav_init();
	assert_int_equal(mscav_age_ms(), 1000);
}

/* Resident free pages of the page heap over the scavenger's goal for them
 * (0 within it, or within its 8 pages' slack: runs < 64 KiB stay). */
static uint64_t retained_over_goal(void)
{
	uint64_t retained, keep;
	retained_and_goal(&retained, &keep);
	return retained > keep + 8 ? retained - keep : 0;
}

static void set_scavenger(const char *age, const char *background)
{
	setenv("SPAN_SCAVENGE_AGE_MS", age, 1);
	if (background)
		setenv("SPAN_SCAVENGE_BACKGROUND", background, 1);
	else
		unsetenv("SPAN_SCAVENGE_BACKGROUND");
	mheap_lock(); /* the background thread reads the age under it */
	mscav_init();
	mheap_unlock();
}

/* 32 MiB freed to the page heap, resident; *guard: the page after it, in
 * use (a free run merged with a bigger one takes that one's free time). */
static uintptr_t free_touched_32m(span_t **guard)
{
	span_t *big = mheap_alloc(4096, 1, SPAN_LARGE, NULL);
	assert_non_null(big);
	*guard = mheap_alloc(1, 1, SPAN_LARGE, NULL);
	assert_non_null(*guard);
	memset((void *)big->base, 1, 4096 * SPAN_PAGE_SIZE);
	uintptr_t base = big->base;
	mheap_free(big);
	return base;
}

/* Waits up to 5 s for cond(); false if it never held. */
static bool within_5s(bool (*cond)(void))
{
	for (int i = 0; i < 500; i++) {
		if (cond())
			return true;
		usleep(10 * 1000);
	}
	return cond();
}

static bool at_goal(void) { return retained_over_goal() == 0; }

/* SPAN_SCAVENGE_BACKGROUND=1: a thread releases free pages once they have
 * waited out the age, with no further call into the allocator, and a free
 * past the trigger wakes it when parked; without it an idle heap keeps its
 * free pages. Anything but 0 or 1 keeps it off. */
static void test_background_scavenger(void **state)
{
	(void)state;
	set_scavenger("50", "yes");
	assert_false(mscav_background());
	set_scavenger("50", NULL);
	span_release();
	span_t *guard[2];
	uintptr_t base = free_touched_32m(&guard[0]);
	usleep(200 * 1000); /* idle, past the age */
	assert_int_equal(released_pages(base, 4096), 0);

	set_scavenger("50", "1");
	assert_true(mscav_background());
	mscav_start();
	assert_true(within_5s(at_goal)); /* no call into the allocator meanwhile */
	assert_true(released_pages(base, 4096) > 0);
	assert_true(within_5s(mscav_parked));

	base = free_touched_32m(&guard[1]); /* past the trigger: wakes it */
	assert_true(within_5s(at_goal));
	assert_true(released_pages(base, 4096) > 0);
	mheap_free(guard[0]);
	mheap_free(guard[1]);
	check_counts();
	set_scavenger("1000", NULL);
	unsetenv("SPAN_SCAVENGE_AGE_MS");
}

/* A new arena goes right above the highest one (the heap grows upwards, as
 * Go's does), so that lowest-address-first reuse takes resident pages before
 * a new arena's untouched ones. Mapped top-down (the kernel's default), the
 * new arena would sit below every resident page. */
static void test_arenas_grow_upwards(void **state)
{
	(void)state;
	enum { RUN = ARENA_PAGES / 8, MAXV = 512 }; /* 8 MiB runs, 4 GiB at most */
	static span_t *v[MAXV];
	if (!SPAN_ARENA_HINTS)
		skip(); /* a sanitizer build: the kernel places the arenas */
	assert_int_equal(span_init(), 0);
	mheap_lock();
	uint64_t arena_pages = mheap_counts.arena_pages;
	mheap_unlock();
	size_t n = 0, grown = 0;
	uintptr_t highest = 0;
	while (n < MAXV && !grown) { /* runs until one needs a new arena */
		v[n] = mheap_alloc(RUN, 1, SPAN_LARGE, NULL);
		assert_non_null(v[n]);
		mheap_lock();
		if (mheap_counts.arena_pages > arena_pages)
			grown = n + 1;
		mheap_unlock();
		if (!grown && v[n]->base > highest)
			highest = v[n]->base;
		n++;
	}
	assert_true(grown > 0);
	/* The span that made the heap grow is above every span before it. */
	assert_true(v[grown - 1]->base > highest);
	for (size_t i = 0; i < n; i++)
		mheap_free(v[i]);
	check_counts();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_and_coalesce),
		cmocka_unit_test(test_free_batch),
		cmocka_unit_test(test_populate_ahead),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_resize_in_place),
		cmocka_unit_test(test_resize_across_arenas),
		cmocka_unit_test(test_scavenge_and_zero),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_scavenger_pacing),
		cmocka_unit_test(test_scavenge_age_env),
		cmocka_unit_test(test_background_scavenger),
		cmocka_unit_test(test_arenas_grow_upwards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
