/*
 * Introspection: the cheap counters equal the slow full walk (Go's
 * ReadMemStatsSlow test), after a mix of work on several threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tsan_options.h"
#include "span_internal.h"
#include "stats_differ.h"


static void compare(void)
{
	span_stats_t cheap, slow;
	const char *d = span_stats_now_differ(&cheap, &slow);
	if (d)
		fail_msg("cheap counters and the slow walk differ: %s", d);
}

#define KEEP 20000
static void *kept[KEEP];
static void *kept_stacks[64];
static void *handed[4][1000];
static void *handed_stacks[4][8];

/* Allocates a mix, frees a random half, some of it another thread's. */
static void *work(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, seed = id + 1;
	void *local[4000];
	for (int i = 0; i < 4000; i++) {
		size_t size = (size_t)(rand_r(&seed) % 3000) + 1;
		if (rand_r(&seed) % 100 == 0)
			size = 40000 + (size_t)rand_r(&seed) % 200000;
		local[i] = span_alloc(size, rand_r(&seed) & 1 ? SPAN_NOSCAN : 0);
	}
	for (int i = 0; i < 4000; i += 2)
		span_free(local[i], 0);
	for (int i = 3; i < 4000; i += 4)
		span_free(local[i], 0);
	for (int i = 1; i < 4000; i += 4) /* hand some to the main thread */
		handed[id][i / 4] = local[i];
	void *stk[16];
	for (int i = 0; i < 16; i++)
		stk[i] = span_stack_alloc(2048u << (i % 5));
	for (int i = 0; i < 16; i += 2)
		span_stack_free(stk[i], 2048u << (i % 5));
	for (int i = 1; i < 16; i += 2) /* stacks freed by another thread */
		handed_stacks[id][i / 2] = stk[i];
	return NULL;
}

static void test_cheap_equals_slow(void **state)
{
	(void)state;
	compare(); /* empty */
	for (int i = 0; i < KEEP; i++)
		kept[i] = span_alloc((size_t)(i % 700) + 1, 0);
	for (int i = 0; i < 64; i++)
		kept_stacks[i] = span_stack_alloc(2048u << (i % 6));
	void *mark = span_frame_push();
	span_frame_alloc(5000);
	compare(); /* the main thread's cache owns spans: counted full in both */
	for (int i = 0; i < KEEP; i += 3) {
		span_free(kept[i], 0);
		kept[i] = NULL;
	}
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, work, (void *)(uintptr_t)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	compare(); /* threads exited: their caches flushed */
	for (int i = 0; i < KEEP; i++)
		span_free(kept[i], 0);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 1000; k++)
			span_free(handed[i][k], 0);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 8; k++)
			span_stack_free(handed_stacks[i][k], 2048u << ((2 * k + 1) % 5));
	for (int i = 0; i < 64; i += 2)
		span_stack_free(kept_stacks[i], 2048u << (i % 6));
	compare(); /* frees batched in this thread's cache count as in use */
	span_frame_pop(mark);
	span_release();
	compare();
	span_stats_t st;
	span_stats(&st);
	assert_int_equal(st.heap.free_retained, 0); /* release scavenged all */
	for (int i = 1; i < 64; i += 2)
		span_stack_free(kept_stacks[i], 2048u << (i % 6));
	span_thread_exit();
	compare();
	span_stats(&st);
	for (int i = 2; i < SPAN_NUM_SPAN_CLASSES; i++) {
		assert_int_equal(st.classes[i].objects, 0);
		assert_int_equal(st.classes[i].cached_spans, 0);
	}
	for (int o = 0; o < SPAN_STACK_ORDERS; o++)
		assert_int_equal(st.stacks[o].inuse, 0);
	assert_int_equal(st.heap.large_objects, 0);
}

/* From an empty heap, 100 noscan objects of 24 B, the cache flushed (objects
 * now exact), and the counters then; free_100 takes them back. */
static void alloc_100(void *p[100], span_stats_t *st)
{
	span_release();
	for (int i = 0; i < 100; i++)
		p[i] = span_alloc(24, SPAN_NOSCAN);
	span_thread_exit();
	span_stats(st);
}

static void free_100(void *p[100])
{
	for (int i = 0; i < 100; i++)
		span_free(p[i], 24);
	span_thread_exit();
}

/* Per-class numbers mean what they say. */
static void test_class_numbers(void **state)
{
	(void)state;
	void *p[100];
	span_stats_t st;
	alloc_100(p, &st);
	span_class_stats_t *cs = &st.classes[3 << 1 | 1];
	assert_int_equal(cs->size, 24);
	assert_int_equal(cs->nelems, 341);
	assert_int_equal(cs->objects, 100);
	assert_int_equal(cs->bytes, 2400);
	assert_int_equal(cs->spans, 1);
	assert_int_equal(cs->tail_waste, 8);
	assert_int_equal(cs->occupancy[3], 1); /* 100/341 is in (2/8, 3/8] */
	free_100(p);
	compare();
}

/* The printed counters are the counters: the line of the class in use
 * parses back to the numbers test_class_numbers checks, and the heap's large
 * line tells a live large object from one the thread caches. */
static void test_print(void **state)
{
	(void)state;
	void *p[100];
	span_stats_t st;
	alloc_100(p, &st);
	void *live = span_alloc(64 << 10, 0), *gone = span_alloc(5 * SPAN_PAGE_SIZE, 0);
	span_free(gone, 0);
	span_stats(&st);
	int fd = memfd_create("span-stats", 0);
	assert_true(fd >= 0);
	span_stats_print(fd, &st);
	static char text[1 << 16];
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	close(fd);
	assert_true(n > 0);
	text[n] = 0;
	assert_non_null(strstr(text, "span: mapped "));
	const char *line = strstr(text, "span:     3 noscan ");
	assert_non_null(line);
	unsigned cls, size, pages, nelems;
	unsigned long long spans, objects, bytes, tail, cached, occ[SPAN_OCC_BUCKETS];
	char kind[8];
	int got = sscanf(line,
			 "span: %u %7s %u %u %u %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
			 "%llu %llu %llu %llu",
			 &cls, kind, &size, &pages, &nelems, &spans, &objects, &bytes, &tail, &cached,
			 &occ[0], &occ[1], &occ[2], &occ[3], &occ[4], &occ[5], &occ[6], &occ[7],
			 &occ[8]);
	assert_int_equal(got, 10 + SPAN_OCC_BUCKETS);
	assert_string_equal(kind, "noscan");
	assert_int_equal(size, 24);
	assert_int_equal(nelems, 341);
	assert_int_equal(spans, 1);
	assert_int_equal(objects, 100);
	assert_int_equal(bytes, 2400);
	assert_int_equal(tail, 8);
	assert_int_equal(occ[3], 1);
	line = strstr(text, "span: large objects ");
	assert_non_null(line);
	unsigned long long lobjs, lbytes, lcached, lcached_bytes;
	assert_int_equal(sscanf(line, "span: large objects %llu (%llu B), in thread caches %llu (%llu B)",
				&lobjs, &lbytes, &lcached, &lcached_bytes),
			 4);
	assert_int_equal(lobjs, 1);
	assert_int_equal(lbytes, 64 << 10);
	assert_int_equal(lcached, 1);
	assert_int_equal(lcached_bytes, 5 * SPAN_PAGE_SIZE);
	free_100(p);
	span_free(live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cheap_equals_slow),
		cmocka_unit_test(test_class_numbers),
		cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
