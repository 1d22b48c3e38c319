/*
 * Multi-threaded stress: threads allocate, fill every object with a pattern
 * derived from a tag, and publish it in a shared slot table; whoever replaces
 * it (usually another thread) checks the pattern and frees it. Stacks grow
 * and shrink with their contents checked; frames are filled and popped.
 * Overlapping objects or corrupted free lists break a pattern. At the end the
 * slow walk checks every free list and the counters.
 * MB_TEST_SHORT=1: a few seconds (make test); else MB_STRESS_SECONDS or 60 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsan_options.h"
#include "span.h"
#include "stats_differ.h"

#define SLOTS 8192
#define STACK_SLOTS 256
#define GOLDEN 0x9E3779B97F4A7C15ull

typedef struct {
	uint64_t size; /* requested bytes, >= 16 */
	uint64_t tag;
} hdr_t;

static _Atomic(hdr_t *) slots[SLOTS];
static _Atomic(uint64_t *) stack_slots[STACK_SLOTS]; /* word 0: size, 1: tag */
static _Atomic int stop;
static _Atomic uint64_t ops_done;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill_words(uint64_t *w, size_t n, uint64_t tag)
{
	for (size_t i = 0; i < n; i++)
		w[i] = tag ^ (i * GOLDEN);
}

static void check_words(const uint64_t *w, size_t n, uint64_t tag, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] != (tag ^ (i * GOLDEN))) {
			fprintf(stderr, "%s %p: word %zu of %zu corrupt\n", what, (void *)w, i, n);
			abort();
		}
}

static size_t pick_size(uint64_t *r)
{
	uint64_t x = rnd(r) % 1000;
	if (x < 700)
		return 16 + rnd(r) % 241;
	if (x < 950)
		return 257 + rnd(r) % 3840;
	if (x < 995)
		return 4097 + rnd(r) % 28672;
	return 32769 + rnd(r) % 300000;
}

static hdr_t *obj_new(uint64_t *r, size_t size)
{
	hdr_t *h = span_alloc(size, rnd(r) & 1 ? SPAN_NOSCAN : 0);
	if (!h)
		abort();
	h->size = size;
	h->tag = rnd(r) | 1;
	fill_words((uint64_t *)(h + 1), (size - sizeof *h) / 8, h->tag);
	return h;
}

static void obj_check(hdr_t *h)
{
	if (span_usable_size(h) < h->size) {
		fprintf(stderr, "object %p: usable %zu < %lu\n", (void *)h, span_usable_size(h),
			(unsigned long)h->size);
		abort();
	}
	check_words((uint64_t *)(h + 1), (h->size - sizeof *h) / 8, h->tag, "object");
}

static void obj_free(hdr_t *h)
{
	obj_check(h);
	span_free(h, h->size);
}

static void do_realloc(uint64_t *r)
{
	size_t i = rnd(r) % SLOTS;
	hdr_t *h = atomic_exchange(&slots[i], NULL);
	if (!h)
		return;
	obj_check(h);
	size_t old = h->size, size = pick_size(r);
	h = span_realloc(h, old, size);
	size_t keep = (old < size ? old : size) - sizeof *h;
	check_words((uint64_t *)(h + 1), keep / 8, h->tag, "realloc'd object");
	h->size = size;
	fill_words((uint64_t *)(h + 1), (size - sizeof *h) / 8, h->tag);
	h = atomic_exchange(&slots[i], h);
	if (h)
		obj_free(h);
}

static void do_frames(uint64_t *r)
{
	void *mark = span_frame_push();
	uint64_t *obj[16];
	size_t n[16];
	for (int i = 0; i < 16; i++) {
		n[i] = 1 + rnd(r) % 512;
		obj[i] = span_frame_alloc(n[i] * 8);
		fill_words(obj[i], n[i], (uint64_t)i + 77);
	}
	for (int i = 15; i >= 8; i--) { /* LIFO frees */
		check_words(obj[i], n[i], (uint64_t)i + 77, "frame object");
		span_free(obj[i], n[i] * 8);
	}
	for (int i = 0; i < 8; i++)
		check_words(obj[i], n[i], (uint64_t)i + 77, "frame object");
	span_frame_pop(mark);
}

static void do_stack(uint64_t *r)
{
	size_t size = (size_t)2048 << (rnd(r) % 5);
	uint64_t *stk = span_stack_alloc(size);
	size_t used = size / 8; /* bytes at the top, a multiple of 8 */
	uint64_t tag = rnd(r);
	uint64_t *top = (uint64_t *)((char *)stk + size - used);
	fill_words(top, used / 8, tag);
	stk = span_stack_grow(stk, size, used);
	size *= 2;
	check_words((uint64_t *)((char *)stk + size - used), used / 8, tag, "grown stack");
	stk = span_stack_shrink(stk, size, used);
	size /= 2;
	check_words((uint64_t *)((char *)stk + size - used), used / 8, tag, "shrunk stack");
	stk[0] = size;
	stk[1] = tag;
	fill_words(stk + 2, (size - used) / 8 - 2, tag);
	uint64_t *old = atomic_exchange(&stack_slots[rnd(r) % STACK_SLOTS], stk);
	if (old) { /* another thread's stack, freed here */
		check_words(old + 2, (old[0] - old[0] / 8) / 8 - 2, old[1], "stack");
		span_stack_free(old, old[0]);
	}
}

static void *worker(void *arg)
{
	uint64_t r = (uint64_t)(uintptr_t)arg * GOLDEN + 1, ops = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < 256; k++, ops++) {
			uint64_t x = rnd(&r) % 1000;
			if (x < 960) {
				hdr_t *h = obj_new(&r, pick_size(&r));
				h = atomic_exchange(&slots[rnd(&r) % SLOTS], h);
				if (h)
					obj_free(h);
			} else if (x < 980) {
				do_realloc(&r);
			} else if (x < 995) {
				do_frames(&r);
			} else {
				do_stack(&r);
			}
		}
	}
	atomic_fetch_add(&ops_done, ops);
	return NULL;
}

static void test_stress(void **state)
{
	(void)state;
	const char *s = getenv("MB_TEST_SHORT"), *secs_env = getenv("MB_STRESS_SECONDS");
	int secs = s && strcmp(s, "1") == 0 ? 3 : 60;
	if (secs_env)
		secs = atoi(secs_env);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = ncpu < 2 ? 4 : (int)(2 * ncpu > 16 ? 16 : 2 * ncpu);
	pthread_t t[16];
	for (int i = 0; i < nthreads; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)), 0);
	/* The slow walk, meanwhile, checks every free list of every span the
	 * threads do not own (it aborts on an inconsistency). */
	span_stats_t mid;
	for (int ms = 0; ms < secs * 1000; ms += 50) {
		usleep(50000);
		span_stats_slow(&mid);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++) {
		hdr_t *h = atomic_exchange(&slots[i], NULL);
		if (h)
			obj_free(h);
	}
	for (int i = 0; i < STACK_SLOTS; i++) {
		uint64_t *stk = atomic_exchange(&stack_slots[i], NULL);
		if (stk)
			span_stack_free(stk, stk[0]);
	}
	span_thread_exit();
	span_stats_t cheap, slow;
	const char *d = span_stats_now_differ(&cheap, &slow);
	if (d)
		fail_msg("cheap counters and the slow walk differ: %s", d);
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++)
		assert_int_equal(cheap.classes[i].objects, 0);
	for (int o = 0; o < SPAN_STACK_ORDERS; o++)
		assert_int_equal(cheap.stacks[o].inuse, 0);
	assert_int_equal(cheap.heap.large_objects, 0);
	assert_int_equal(cheap.heap.large_cached, 0); /* every thread has exited */
	printf("span_stress: %d threads, %d s, %lu ops, heap mapped %lu MiB\n", nthreads, secs,
	       (unsigned long)atomic_load(&ops_done), (unsigned long)(cheap.heap.mapped >> 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
