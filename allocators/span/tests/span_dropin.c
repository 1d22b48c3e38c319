/*
 * The drop-in malloc face. This binary links libspan-malloc.so ahead of libc,
 * so span serves every malloc in the process (cmocka's too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "span.h"
#include "stats_differ.h"

/* Volatile: keeps the compiler from rejecting the overflows at build time. */
static volatile size_t huge = SIZE_MAX / 2, two33 = (size_t)1 << 33;

static void test_it_is_span(void **state)
{
	(void)state;
	span_stats_t st;
	void *p = malloc(100);
	span_stats(&st);
	assert_true(st.heap.mapped > 0);
	assert_int_equal(malloc_usable_size(p), 112); /* Go's 112-byte class */
	/* its spans are the drop-in face's: 32 KiB, not Go's 8 KiB */
	assert_int_equal(st.classes[9 << 1].size, 112);
	assert_int_equal(st.classes[9 << 1].npages, 4);
	assert_int_equal(st.classes[9 << 1].nelems, 4 * 8192 / 112);
	free(p);
	void *stk = span_stack_alloc(2048); /* exported for the benchmark (bench/spanbench.c) */
	assert_non_null(stk);
	span_stack_free(stk, 2048);
}

/* The drop-in face's bigger spans keep the cheap counters and the slow walk
 * in agreement: several spans per class, half their objects freed, then all. */
static void test_dropin_stats_agree(void **state)
{
	(void)state;
	enum { N = 3 * 2048 };
	static void *p[3][N];
	static const size_t sizes[3] = { 16, 100, 1000 };
	span_stats_t cheap, slow;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < N; i++)
			assert_non_null(p[k][i] = malloc(sizes[k]));
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < N; i += 2)
			free(p[k][i]);
	const char *d = span_stats_now_differ(&cheap, &slow);
	if (d)
		fail_msg("half freed: %s", d);
	assert_true(cheap.classes[2 << 1].spans >= 3); /* 16 B: 2048 a span */
	for (int k = 0; k < 3; k++)
		for (int i = 1; i < N; i += 2)
			free(p[k][i]);
	d = span_stats_now_differ(&cheap, &slow);
	if (d)
		fail_msg("all freed: %s", d);
}

static void test_alignment_16(void **state)
{
	(void)state;
	static void *p[4200];
	for (size_t n = 0; n < 4200; n++) {
		p[n] = malloc(n);
		assert_non_null(p[n]);
		assert_int_equal((uintptr_t)p[n] % 16, 0);
		assert_true(malloc_usable_size(p[n]) >= n);
		memset(p[n], 0x77, n);
	}
	for (size_t n = 0; n < 4200; n++)
		free(p[n]);
	assert_int_equal(malloc_usable_size(malloc(8)), 16);  /* Go's 8 -> 16 here */
	assert_int_equal(malloc_usable_size(malloc(24)), 32); /* and 24 -> 32 */
	free(NULL);
	assert_int_equal(malloc_usable_size(NULL), 0);
}

static void test_dropin_calloc(void **state)
{
	(void)state;
	errno = 0;
	assert_null(calloc(huge, 3));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(calloc(two33, two33));
	assert_int_equal(errno, ENOMEM);
	for (size_t n = 1; n < 100000; n = n * 2 + 3) { /* reuse dirty memory */
		unsigned char *d = malloc(n);
		memset(d, 0xee, n);
		free(d);
		unsigned char *z = calloc(1, n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(z[i], 0);
		memset(z, 0xee, n);
		free(z);
	}
	errno = 0;
	assert_null(malloc(huge * 2 - 4096));
	assert_int_equal(errno, ENOMEM);
}

static void test_aligned(void **state)
{
	(void)state;
	for (size_t align = 8; align <= (4u << 20); align *= 2) {
		for (size_t n = 1; n < 100000; n = n * 5 + 1) {
			void *p = NULL;
			assert_int_equal(posix_memalign(&p, align, n), 0);
			assert_int_equal((uintptr_t)p % align, 0);
			assert_true(malloc_usable_size(p) >= n);
			memset(p, 1, n);
			void *q = aligned_alloc(align, n);
			assert_int_equal((uintptr_t)q % align, 0);
			void *m = memalign(align, n);
			assert_int_equal((uintptr_t)m % align, 0);
			free(p);
			free(q);
			free(m);
		}
	}
	void *p = (void *)1;
	assert_int_equal(posix_memalign(&p, 24, 10), EINVAL);
	assert_int_equal(posix_memalign(&p, 4, 10), EINVAL);
	assert_ptr_equal(p, (void *)1);
	errno = 0;
	assert_null(aligned_alloc(48, 10));
	assert_int_equal(errno, EINVAL);
	void *m = memalign(48, 10); /* rounded up to 64, as glibc does */
	assert_int_equal((uintptr_t)m % 64, 0);
	free(m);
	void *v = valloc(10);
	assert_int_equal((uintptr_t)v % 4096, 0);
	void *pv = pvalloc(5000);
	assert_int_equal((uintptr_t)pv % 4096, 0);
	assert_true(malloc_usable_size(pv) >= 8192);
	free(v);
	free(pv);
}

static void test_dropin_realloc(void **state)
{
	(void)state;
	unsigned char *p = malloc(100);
	for (int i = 0; i < 100; i++)
		p[i] = (unsigned char)i;
	uintptr_t was = (uintptr_t)p;
	p = realloc(p, 112); /* grows within its class */
	assert_int_equal((uintptr_t)p, was);
	p = realloc(p, 60); /* shrinks within it */
	assert_int_equal((uintptr_t)p, was);
	p = realloc(p, 5000);                 /* moves, keeps the bytes */
	for (int i = 0; i < 60; i++)
		assert_int_equal(p[i], i);
	p = realloc(p, 100000); /* large */
	for (int i = 0; i < 60; i++)
		assert_int_equal(p[i], i);
	uintptr_t big = (uintptr_t)p;
	p = realloc(p, 50000); /* large shrink: in place, tail pages freed */
	assert_int_equal((uintptr_t)p, big);
	p = realloc(p, 100000); /* large grow: takes back the free pages after it */
	assert_int_equal((uintptr_t)p, big);
	for (int i = 0; i < 60; i++)
		assert_int_equal(p[i], i);
	p = realloc(p, 10); /* back to a small class */
	for (int i = 0; i < 10; i++)
		assert_int_equal(p[i], i);
	assert_null(realloc(p, 0)); /* frees, as glibc does */
	p = realloc(NULL, 10);
	assert_non_null(p);
	errno = 0;
	void *(*volatile ra)(void *, size_t, size_t) = reallocarray; /* opaque */
	assert_null(ra(p, huge, 4));
	assert_int_equal(errno, ENOMEM); /* and p is still ours */
	p = ra(p, 10, 10);
	assert_true(malloc_usable_size(p) >= 100);
	free(p);
}

static void *thread_frees(void *arg)
{
	void **v = arg;
	for (int i = 0; i < 10000; i++)
		free(v[i]);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	static void *v[10000];
	for (int i = 0; i < 10000; i++)
		v[i] = malloc((size_t)(i % 500) + 1);
	pthread_t t;
	pthread_create(&t, NULL, thread_frees, v);
	pthread_join(t, NULL);
	for (int i = 0; i < 10000; i++)
		v[i] = malloc((size_t)(i % 500) + 1);
	for (int i = 0; i < 10000; i++)
		free(v[i]);
}

/* What a child that exits with SPAN_SHOW_STATS set to v writes to stderr. */
static size_t child_stderr(const char *v, char *out, size_t cap)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL); /* the child's exit must not write the parent's buffers again */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		setenv("SPAN_SHOW_STATS", v, 1);
		void *keep = malloc(24); /* alive at exit: one 32-byte object */
		(void)keep;
		exit(0);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n < cap - 1 && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return n;
}

/* SPAN_SHOW_STATS prints the counters at exit (not when unset or 0). */
static void test_show_stats(void **state)
{
	(void)state;
	static char text[1 << 16];
	assert_true(child_stderr("1", text, sizeof text) > 0);
	assert_non_null(strstr(text, "span: mapped "));
	assert_non_null(strstr(text, "span:     4   scan     32 ")); /* 24 B rounds to 32 */
	assert_non_null(strstr(text, "span: stacks of 2 KiB: in use 0"));
	assert_int_equal(child_stderr("0", text, sizeof text), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_it_is_span),
		cmocka_unit_test(test_dropin_stats_agree),
		cmocka_unit_test(test_alignment_16),
		cmocka_unit_test(test_dropin_calloc),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_dropin_realloc),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_show_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
