/*
 * Stacks and frames: stacks by order from stack spans (never heap spans),
 * grow and shrink keep the live top of the stack, frames bump and pop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "tsan_options.h"
#include "span_internal.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 31);
}

static void check(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 31))
			fail_msg("byte %zu of %zu differs", i, n);
}

static void test_orders_and_spans(void **state)
{
	(void)state;
	void *stk[64];
	for (size_t size = 2048; size <= 256 * 1024; size *= 2) {
		for (int i = 0; i < 64; i++) {
			stk[i] = span_stack_alloc(size);
			assert_non_null(stk[i]);
			span_t *s = mheap_span_of((uintptr_t)stk[i]);
			assert_int_equal(s->state, SPAN_STACK); /* never a heap span */
			if (size < 32768)
				assert_int_equal(s->elemsize, size);
			fill(stk[i], size, (unsigned)i);
		}
		for (int i = 0; i < 64; i++) {
			check(stk[i], size, (unsigned)i);
			span_stack_free(stk[i], size);
		}
	}
	void *small = span_stack_alloc(1000); /* rounded up to the 2 KiB minimum */
	assert_int_equal(mheap_span_of((uintptr_t)small)->elemsize, 2048);
	span_stack_free(small, 1000);
}

static void test_grow_keeps_contents(void **state)
{
	(void)state;
	size_t size = 2048, used = 1500;
	unsigned char *stk = span_stack_alloc(size);
	fill(stk + size - used, used, 7);
	while (size < 1024 * 1024) { /* through every order and into large stacks */
		stk = span_stack_grow(stk, size, used);
		assert_non_null(stk);
		size *= 2;
		check(stk + size - used, used, 7);
	}
	span_stack_free(stk, size);
}

static void test_shrink_keeps_contents(void **state)
{
	(void)state;
	size_t size = 256 * 1024, used = 1000;
	unsigned char *stk = span_stack_alloc(size);
	fill(stk + size - used, used, 3);
	assert_ptr_equal(span_stack_shrink(stk, size, size / 4 + 1), stk); /* too full */
	while (size > 4096) {
		stk = span_stack_shrink(stk, size, used);
		size /= 2;
		check(stk + size - used, used, 3);
	}
	assert_ptr_equal(span_stack_shrink(stk, size, 1025), stk); /* 4 KiB, > 1/4 used */
	stk = span_stack_shrink(stk, size, 200);
	size = 2048;
	assert_ptr_equal(span_stack_shrink(stk, size, 10), stk); /* the minimum */
	span_stack_free(stk, size);
}

static void test_frames(void **state)
{
	(void)state;
	void *mark = span_frame_push();
	char *first = span_frame_alloc(24);
	assert_non_null(first);
	assert_int_equal((uintptr_t)first % 16, 0);
	assert_int_equal(mheap_span_of((uintptr_t)first)->state, SPAN_STACK);
	char *prev = first;
	for (int i = 0; i < 5000; i++) { /* ~800 KiB: crosses segments */
		char *p = span_frame_alloc(160);
		assert_non_null(p);
		memset(p, i & 0xff, 160);
		assert_true(p != prev);
		prev = p;
	}
	span_frame_pop(mark);
	assert_ptr_equal(span_frame_alloc(24), first); /* the same bytes again */
	span_frame_pop(mark);

	/* LIFO frees through span_free, and SPAN_LOCAL through span_alloc. */
	char *a = span_alloc(100, SPAN_LOCAL);
	char *b = span_alloc(100, SPAN_LOCAL);
	assert_true(b > a);
	span_free(b, 100);
	assert_ptr_equal(span_alloc(50, SPAN_LOCAL), b);
	span_free(b, 50);
	span_free(a, 100);
	assert_ptr_equal(span_alloc(8, SPAN_LOCAL), a);
	span_free(a, 8);
	/* Too big for a frame: the heap, as Go does. */
	void *big = span_alloc(SPAN_MAX_LOCAL + 1, SPAN_LOCAL);
	assert_int_equal(mheap_span_of((uintptr_t)big)->state, SPAN_LARGE);
	span_free(big, SPAN_MAX_LOCAL + 1);
}

/* span_free of frame objects: one in the current segment pops back to it
 * (the fast path: no page-map lookup), one in an older segment pops the
 * segments above it too (through the page map); a heap object freed while
 * frames are live is freed into its span, the frame left as it was. */
static void test_frame_free_paths(void **state)
{
	(void)state;
	char *old = span_alloc(64, SPAN_LOCAL);
	char *heap = span_alloc(64, 0);
	assert_int_equal(mheap_span_of((uintptr_t)heap)->state, SPAN_SMALL);
	char *p = NULL;
	for (int i = 0; i < 40; i++) /* 40 KiB: past the 16 KiB first segment */
		p = span_alloc(1024, SPAN_LOCAL);
	assert_ptr_not_equal(mheap_span_of((uintptr_t)p), mheap_span_of((uintptr_t)old));

	span_free(heap, 64);
	assert_ptr_equal(span_alloc(1024, SPAN_LOCAL), p + 1024); /* frame untouched */
	assert_ptr_equal(span_alloc(64, 0), heap);                /* back in its span */
	span_free(p, 1024); /* the current segment: p and the one after it */
	assert_ptr_equal(span_alloc(16, SPAN_LOCAL), p);

	span_free(old, 64); /* the first segment: everything since goes */
	assert_ptr_equal(span_alloc(64, SPAN_LOCAL), old);
	span_free(old, 64);
	span_free(heap, 64);
}

/* All-free pool spans wait before going back to the page heap: a second wave
 * of stacks reuses them; once aged, the next emptying releases them; and
 * span_release releases them at once. */
static void test_pool_keeps_empty_spans(void **state)
{
	(void)state;
	enum { N = 400 }; /* 25 pool spans of 2 KiB stacks */
	static void *stk[N];
	span_stats_t st;
	for (int i = 0; i < N; i++)
		stk[i] = span_stack_alloc(2048);
	span_stats(&st);
	uint64_t spans = st.stacks[0].pool_spans, mapped = st.heap.stack_inuse;
	assert_true(spans >= N / 16);
	for (int i = 0; i < N; i++)
		span_stack_free(stk[i], 2048);
	span_stats(&st);
	assert_int_equal(st.stacks[0].pool_spans, spans); /* kept */
	assert_int_equal(st.heap.stack_inuse, mapped);
	for (int i = 0; i < N; i++) /* the second wave: no new span */
		stk[i] = span_stack_alloc(2048);
	span_stats(&st);
	assert_int_equal(st.stacks[0].pool_spans, spans);
	for (int i = 0; i < N; i++)
		span_stack_free(stk[i], 2048);
	usleep(150 * 1000);
	for (int i = 0; i < 64; i++) /* empties a span again: the old ones go */
		stk[i] = span_stack_alloc(2048);
	for (int i = 0; i < 64; i++)
		span_stack_free(stk[i], 2048);
	span_stats(&st);
	assert_true(st.stacks[0].pool_spans < spans / 2);
	span_release();
	span_stats(&st);
	assert_int_equal(st.stacks[0].pool_spans, 0);
	assert_int_equal(st.stacks[0].pool_free, 0);
}

/* A wave that runs slowly keeps its spans: empty spans older than the age
 * but not passed over by a later take stay in the pool (the next wave
 * needs them); once a take passes them over, the next emptying releases
 * them. */
static void test_slow_wave_keeps_spans(void **state)
{
	(void)state;
	enum { N = 400, M = 64 };
	static void *stk[N], *more[M];
	span_stats_t st;
	span_release();
	for (int i = 0; i < N; i++)
		stk[i] = span_stack_alloc(2048);
	for (int i = 0; i < M; i++)
		more[i] = span_stack_alloc(2048);
	span_stats(&st);
	uint64_t spans = st.stacks[0].pool_spans;
	for (int i = 0; i < N; i++)
		span_stack_free(stk[i], 2048);
	usleep(150 * 1000);
	for (int i = 0; i < M; i++) /* empties spans: no take since the others */
		span_stack_free(more[i], 2048);
	span_stats(&st);
	assert_int_equal(st.stacks[0].pool_spans, spans);
	for (int i = 0; i < M; i++) /* takes the newest spans, passing the old over */
		more[i] = span_stack_alloc(2048);
	usleep(150 * 1000);
	for (int i = 0; i < M; i++)
		span_stack_free(more[i], 2048);
	span_stats(&st);
	assert_true(st.stacks[0].pool_spans < spans / 2);
	span_release();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_and_spans),
		cmocka_unit_test(test_grow_keeps_contents),
		cmocka_unit_test(test_shrink_keeps_contents),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_frame_free_paths),
		cmocka_unit_test(test_pool_keeps_empty_spans),
		cmocka_unit_test(test_slow_wave_keeps_spans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
