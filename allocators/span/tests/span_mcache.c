/*
 * Thread caches and spans: objects of a class are distinct slots of their
 * span; free lists, checked through the slow walk's per-span bitmap, account
 * for every slot; cross-thread frees come back to the owner; a thread keeps
 * the spans it filled and its frees into them stay local; a double free is
 * caught.
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

#define N 3000

static void test_objects_are_slots(void **state)
{
	(void)state;
	static void *p[N];
	for (size_t size = 1; size <= 2048; size = size * 3 + 1) {
		unsigned cls = sizeclasses_class(size);
		for (int i = 0; i < N; i++) {
			p[i] = span_alloc(size, i & 1 ? SPAN_NOSCAN : 0);
			assert_non_null(p[i]);
			span_t *s = mheap_span_of((uintptr_t)p[i]);
			assert_int_equal(s->state, SPAN_SMALL);
			assert_int_equal(s->spc, cls << 1 | (i & 1));
			assert_int_equal(((uintptr_t)p[i] - s->base) % s->elemsize, 0);
			assert_int_equal(span_usable_size(p[i]), sizeclasses_size[cls]);
			memset(p[i], i & 0xff, size);
		}
		for (int i = 0; i < N; i++) {
			for (size_t k = 0; k < size; k++)
				assert_int_equal(((unsigned char *)p[i])[k], i & 0xff);
			span_free(p[i], size);
		}
	}
}

/* A central span's free list as a bitmap: used + free == nelems, and a
 * freed object's bit is set. */
static void test_span_bitmap(void **state)
{
	(void)state;
	void *p[200];
	for (int i = 0; i < 200; i++)
		p[i] = span_alloc(64, 0);
	span_t *s = mheap_span_of((uintptr_t)p[0]);
	span_release(); /* flushes this thread's cache: s goes to its mcentral */
	assert_null(atomic_load(&s->owner));
	uint64_t bits[SPAN_FREEBITS_WORDS];
	mcentral_t *m = &mcentral[s->spc];
	pthread_mutex_lock(&m->lock);
	uint32_t nfree = mstats_span_freebits(s, bits);
	assert_int_equal(nfree + s->used, s->nelems);
	pthread_mutex_unlock(&m->lock);
	span_free(p[0], 64); /* not owned: batched, then flushed by span_release */
	span_release();
	pthread_mutex_lock(&m->lock);
	assert_int_equal(mstats_span_freebits(s, bits), nfree + 1);
	size_t slot = ((uintptr_t)p[0] - s->base) / s->elemsize;
	assert_true(bits[slot / 64] & (1ull << (slot % 64)));
	pthread_mutex_unlock(&m->lock);
	for (int i = 1; i < 200; i++)
		span_free(p[i], 64);
	span_release();
}

static void *q[N];

static void *free_all(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++)
		span_free(q[i], 48);
	span_thread_exit(); /* flushes the batches */
	return NULL;
}

static void test_cross_thread_free(void **state)
{
	(void)state;
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	span_t *mine = mcache_tls->alloc[sizeclasses_class(48) << 1];
	pthread_t t;
	pthread_create(&t, NULL, free_all, NULL);
	pthread_join(t, NULL);
	span_stats_t st;
	span_release();
	span_stats_slow(&st); /* walks and checks every free list */
	assert_int_equal(st.classes[sizeclasses_class(48) << 1].objects, 0);
	(void)mine;
	/* The memory comes back: allocating again does not grow the heap. */
	span_stats(&st);
	uint64_t mapped = st.heap.mapped;
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	span_stats(&st);
	assert_int_equal(st.heap.mapped, mapped);
	for (int i = 0; i < N; i++)
		span_free(q[i], 48);
}

static void test_remote_free_into_owned_span(void **state)
{
	(void)state;
	/* Objects freed by another thread while this one owns the span reach it
	 * through xfree and get reused before a new span is taken. */
	for (int i = 0; i < 8; i++)
		q[i] = span_alloc(4096, 0); /* 2 per span */
	pthread_t t;
	for (int i = 0; i < N; i++)
		q[i] = i < 8 ? q[i] : NULL;
	pthread_create(&t, NULL, free_all, NULL);
	pthread_join(t, NULL);
	span_stats_t st;
	span_release();
	span_stats_slow(&st);
	assert_int_equal(st.classes[sizeclasses_class(4096) << 1].objects, 0);
}

/* Spans of class 48 B this thread's cache owns, by state. */
static void owned_counts(int spc, uint64_t *full, uint64_t *partial, uint64_t *empty)
{
	mcache_class_t *k = &mcache_tls->cls[spc];
	*full = k->full.n;
	*partial = k->partial.n;
	*empty = k->empty.n;
}

/* The thread keeps the spans it filled; its frees into them are local (the
 * spans stay owned, none goes through the mcentral), and the spans emptied
 * beyond the spares go back. Cheap stats agree with the slow walk throughout. */
static void test_owned_full_spans(void **state)
{
	(void)state;
	int spc = sizeclasses_class(48) << 1;
	span_release();
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	span_t *first = mheap_span_of((uintptr_t)q[0]);
	assert_ptr_equal(atomic_load(&first->owner), MCACHE_FULL(mcache_tls));
	uint64_t full, partial, empty;
	owned_counts(spc, &full, &partial, &empty);
	uint64_t nspans = (N + first->nelems - 1) / first->nelems;
	assert_int_equal(full, nspans - 1); /* all but the current one */
	span_stats_t st, slow;
	span_stats(&st);
	assert_int_equal(st.classes[spc].cached_spans, nspans);
	span_free(q[0], 48); /* the first free into a full span files it as partial */
	assert_ptr_equal(atomic_load(&first->owner), mcache_tls);
	owned_counts(spc, &full, &partial, &empty);
	assert_int_equal(full, nspans - 2);
	assert_int_equal(partial, 1);
	for (int i = N - 1; i > 0; i -= 2) /* every other object: spans stay partial */
		span_free(q[i], 48);
	span_stats(&st);
	span_stats_slow(&slow);
	assert_int_equal(st.classes[spc].objects, slow.classes[spc].objects);
	assert_int_equal(st.classes[spc].cached_spans, nspans);
	for (int i = N - 2; i > 0; i -= 2)
		span_free(q[i], 48);
	owned_counts(spc, &full, &partial, &empty);
	assert_int_equal(full + partial, 0);
	assert_int_equal(empty, 2); /* the spares; the others queued to go back */
	span_stats(&st);
	span_stats_slow(&slow);
	assert_int_equal(st.classes[spc].cached_spans, 3 + mcache_tls->nretire);
	assert_int_equal(st.classes[spc].objects, slow.classes[spc].objects);
	mcache_flush_retire(mcache_tls);
	span_stats(&st);
	span_stats_slow(&slow);
	assert_int_equal(st.classes[spc].cached_spans, 3); /* with the current one */
	assert_int_equal(st.classes[spc].objects, slow.classes[spc].objects);
	assert_int_equal(st.classes[spc].spans, slow.classes[spc].spans);
	span_release();
	span_stats_slow(&slow);
	assert_int_equal(slow.classes[spc].objects, 0);
}

/* Spans that the owner's frees bring back from full are reused oldest first:
 * under churn (a free, then an allocation) a refill finds the span that has
 * had the longest to collect frees. Newest first, it would take the span just
 * freed into, whose one free slot sends the next allocation back to refill. */
static void test_partial_spans_oldest_first(void **state)
{
	(void)state;
	enum { M = 64 }; /* 8 spans of 1 KiB objects */
	void *o[M], *more[M];
	span_release();
	for (int i = 0; i < M; i++)
		o[i] = span_alloc(1024, 0);
	span_t *x = mheap_span_of((uintptr_t)o[0]), *y = mheap_span_of((uintptr_t)o[16]);
	assert_ptr_not_equal(x, y);
	assert_ptr_equal(atomic_load(&x->owner), MCACHE_FULL(mcache_tls));
	assert_ptr_equal(atomic_load(&y->owner), MCACHE_FULL(mcache_tls));
	span_free(o[0], 1024);  /* x: partial first */
	span_free(o[16], 1024); /* y: partial second */
	int n = 0;
	span_t *s;
	do { /* the current span's slots, then a refill */
		assert_true(n < M);
		more[n] = span_alloc(1024, 0);
		s = mheap_span_of((uintptr_t)more[n++]);
	} while (s != x && s != y);
	assert_ptr_equal(s, x);
	for (int i = 0; i < n; i++)
		span_free(more[i], 1024);
	for (int i = 1; i < M; i++)
		if (i != 16)
			span_free(o[i], 1024);
	span_release();
}

static void *free_all_no_exit(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++)
		span_free(q[i], 48);
	span_release(); /* flushes the batches; this thread owns nothing of 48 B */
	return NULL;
}

/* Another thread's frees into this thread's full spans wait on their xfree
 * and are found by later refills: allocating the same again takes no new
 * span. */
static void test_remote_frees_into_full_spans(void **state)
{
	(void)state;
	int spc = sizeclasses_class(48) << 1;
	span_release();
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	span_stats_t st;
	span_stats(&st);
	uint64_t spans = st.classes[spc].spans;
	pthread_t t;
	pthread_create(&t, NULL, free_all_no_exit, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	span_stats(&st);
	assert_int_equal(st.classes[spc].spans, spans);
	for (int i = 0; i < N; i++)
		span_free(q[i], 48);
	span_release();
	span_stats_slow(&st);
	assert_int_equal(st.classes[spc].objects, 0);
}

/* Emptied spans past the spares queue in the cache's retire batch (owned,
 * counted as cached), go back MCACHE_RETIRE at a time, and a refill of their
 * class takes one back before asking the mcentral. */
static void test_retire_batch(void **state)
{
	(void)state;
	int spc = sizeclasses_class(48) << 1;
	span_release();
	assert_int_equal(mcache_tls->nretire, 0);
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	span_t *s0 = mheap_span_of((uintptr_t)q[0]);
	uint64_t nspans = (N + s0->nelems - 1) / s0->nelems;
	assert_true(nspans - 3 > 2 && nspans - 3 < MCACHE_RETIRE);
	for (int i = 0; i < N; i++)
		span_free(q[i], 48);
	/* Every span but the current one emptied: 2 spares, the rest queued. */
	assert_int_equal(mcache_tls->nretire, nspans - 3);
	for (uint32_t i = 0; i < mcache_tls->nretire; i++) {
		span_t *s = mcache_tls->retire[i];
		assert_int_equal(mcache_tls->retire_spc[i], spc);
		assert_ptr_equal(atomic_load(&s->owner), mcache_tls);
		assert_int_equal(s->used, 0);
	}
	span_stats_t st, slow;
	span_stats(&st);
	span_stats_slow(&slow);
	assert_int_equal(st.classes[spc].cached_spans, nspans);
	assert_int_equal(slow.classes[spc].cached_spans, nspans);
	assert_int_equal(st.classes[spc].objects, slow.classes[spc].objects);
	/* Allocating them again: the spares, then the retired ones, no new span. */
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	assert_int_equal(mcache_tls->nretire, 0);
	span_stats(&st);
	assert_int_equal(st.classes[spc].spans, nspans);
	/* More than a batch of emptied spans of two classes: flushed on the way. */
	for (int i = 0; i < N; i++)
		span_free(q[i], 48);
	int spc2 = sizeclasses_class(1024) << 1;
	static void *big[40 * 8];
	for (int i = 0; i < 40 * 8; i++)
		big[i] = span_alloc(1024, 0);
	for (int i = 0; i < 40 * 8; i++)
		span_free(big[i], 1024);
	assert_true(mcache_tls->nretire < MCACHE_RETIRE);
	span_stats(&st);
	span_stats_slow(&slow);
	assert_true(st.classes[spc2].cached_spans < 40);
	for (int k = 0; k < SPAN_NUM_SPAN_CLASSES; k++) {
		assert_int_equal(st.classes[k].objects, slow.classes[k].objects);
		assert_int_equal(st.classes[k].spans, slow.classes[k].spans);
		assert_int_equal(st.classes[k].cached_spans, slow.classes[k].cached_spans);
	}
	span_release();
	assert_int_equal(mcache_tls->nretire, 0);
	span_stats_slow(&slow);
	assert_int_equal(slow.classes[spc].objects, 0);
	assert_int_equal(slow.classes[spc2].objects, 0);
}

/* A refill touches no full span until another thread's push flags the
 * class (xfull); then the flag is taken and the full spans are checked. */
static void test_xfull_flag(void **state)
{
	(void)state;
	int spc = sizeclasses_class(48) << 1;
	uint64_t bit = 1ull << (spc & 63);
	span_release();
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	mcache_class_t *k = &mcache_tls->cls[spc];
	assert_int_equal(atomic_load(&mcache_tls->xfull[spc >> 6]) & bit, 0);
	assert_int_equal(k->scan_left, 0);
	span_t *oldest = k->full.first;
	uint64_t nfull = k->full.n;
	static void *extra[400]; /* two refills at least: no cross-thread frees, */
	for (int i = 0; i < 400; i++) /* so the full list is not looked at */
		extra[i] = span_alloc(48, 0);
	assert_ptr_equal(k->full.first, oldest);
	assert_true(k->full.n > nfull);
	pthread_t t;
	pthread_create(&t, NULL, free_all_no_exit, NULL);
	pthread_join(t, NULL);
	assert_int_not_equal(atomic_load(&mcache_tls->xfull[spc >> 6]) & bit, 0);
	for (int i = 0; i < N; i++)
		q[i] = span_alloc(48, 0);
	assert_int_equal(atomic_load(&mcache_tls->xfull[spc >> 6]) & bit, 0);
	for (int i = 0; i < 400; i++)
		span_free(extra[i], 48);
	for (int i = 0; i < N; i++)
		span_free(q[i], 48);
	span_release();
	span_stats_t slow;
	span_stats_slow(&slow);
	assert_int_equal(slow.classes[spc].objects, 0);
}

/* A thread past its cache's exit flush (TLS mcache_dead, as other TLS
 * destructors find it) still allocates and frees, through the shared cache
 * under its lock: heap objects, stacks, frame objects. Twice, so a lock the
 * first round failed to release would hang the second (the alarm ends it). */
static void *after_exit_flush(void *arg)
{
	(void)arg;
	mcache_tls = &mcache_dead;
	for (int round = 0; round < 2; round++) {
		char *p = span_alloc(100, 0);
		assert_non_null(p);
		memset(p, 0x5a, 100);
		void *stk = span_stack_alloc(4096);
		assert_non_null(stk);
		char *f = span_alloc(64, SPAN_LOCAL);
		assert_non_null(f);
		assert_int_equal(mheap_span_of((uintptr_t)f)->state, SPAN_STACK);
		memset(f, 0xa5, 64);
		span_free(f, 64);
		span_stack_free(stk, 4096);
		assert_int_equal(p[99], 0x5a);
		span_free(p, 100);
	}
	return NULL;
}

static void test_after_exit_flush(void **state)
{
	(void)state;
	pthread_t t;
	alarm(30); /* a hang (the shared lock kept) kills the test: a failure */
	assert_int_equal(pthread_create(&t, NULL, after_exit_flush, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	alarm(0);
}

static void test_double_free_is_caught(void **state)
{
	(void)state;
	pid_t pid = fork();
	if (pid == 0) {
		close(2);
		void *p = span_alloc(32, 0);
		void *keep[3] = { span_alloc(32, 0), span_alloc(32, 0), span_alloc(32, 0) };
		(void)keep; /* the span stays in use: its count is what gets checked */
		span_release();
		span_free(p, 32);
		span_free(p, 32);
		span_release();
		span_stats_t st;
		span_stats_slow(&st);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static _Atomic int forking;

static void *churn(void *arg)
{
	(void)arg;
	void *keep[64] = { 0 };
	for (unsigned i = 0; atomic_load(&forking); i++) {
		unsigned k = i % 64;
		span_free(keep[k], 0);
		keep[k] = span_alloc((i * 37) % 5000 + 1, 0);
		if (i % 128 == 0)
			span_stack_free(span_stack_alloc(4096), 4096);
	}
	for (int k = 0; k < 64; k++)
		span_free(keep[k], 0);
	return NULL;
}

/* Fork while other threads allocate: the child finds every lock free and every
 * structure consistent (the slow walk checks), and can allocate. */
static void test_fork_while_threads_allocate(void **state)
{
	(void)state;
	atomic_store(&forking, 1);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (int round = 0; round < 20; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			void *p[1000];
			for (int i = 0; i < 1000; i++)
				p[i] = span_alloc((size_t)i * 7 + 1, 0);
			for (int i = 0; i < 1000; i++)
				span_free(p[i], 0);
			span_release();
			span_stats_t st;
			span_stats_slow(&st);
			_exit(0);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	atomic_store(&forking, 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects_are_slots),
		cmocka_unit_test(test_span_bitmap),
		cmocka_unit_test(test_cross_thread_free),
		cmocka_unit_test(test_remote_free_into_owned_span),
		cmocka_unit_test(test_owned_full_spans),
		cmocka_unit_test(test_partial_spans_oldest_first),
		cmocka_unit_test(test_remote_frees_into_full_spans),
		cmocka_unit_test(test_retire_batch),
		cmocka_unit_test(test_xfull_flag),
		cmocka_unit_test(test_after_exit_flush),
		cmocka_unit_test(test_double_free_is_caught),
		cmocka_unit_test(test_fork_while_threads_allocate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
