/*
 * The membench plug-in face, loaded the way a trial loads it (dlopen of
 * $MB_BUILD_DIR/plugins/mb-span.so) into a process whose malloc is glibc's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membench_alloc.h"
#include "tsan_options.h"

static const mb_alloc_ops_t *ops;

static int load(void **state)
{
	(void)state;
	const char *b = getenv("MB_BUILD_DIR");
	char path[512];
	snprintf(path, sizeof path, "%s/plugins/mb-span.so", b ? b : "build");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return -1;
	}
	ops = dlsym(h, MB_ALLOC_SYMBOL);
	return ops ? 0 : -1;
}

static void test_ops_struct(void **state)
{
	(void)state;
	assert_int_equal(ops->abi_version, MB_ALLOC_ABI_VERSION);
	assert_string_equal(ops->name, "span");
	assert_non_null(ops->init);
	assert_non_null(ops->malloc);
	assert_non_null(ops->free);
	assert_non_null(ops->realloc);
	assert_non_null(ops->usable_size);
	assert_non_null(ops->version);
	assert_non_null(ops->stack_alloc);
	assert_non_null(ops->stack_free);
	assert_non_null(ops->stats);
	assert_non_null(ops->thread_enter);
	assert_non_null(ops->thread_exit);
	assert_non_null(ops->release);
	assert_int_equal(ops->init(), 0);
	assert_non_null(strstr(ops->version(), "span"));
}

static void test_heap_and_local(void **state)
{
	(void)state;
	char *p = ops->malloc(100, MB_NOSCAN);
	assert_int_equal(ops->usable_size(p), 112);
	memset(p, 1, 100);
	p = ops->realloc(p, 100, 5000);
	assert_int_equal(p[99], 1);
	ops->free(p, 5000);
	/* MB_LOCAL: frame objects, freed LIFO, the memory reused at once. */
	char *a = ops->malloc(64, MB_LOCAL);
	char *b = ops->malloc(200, MB_LOCAL | MB_NOSCAN);
	assert_ptr_equal(b, a + 64);
	memset(a, 2, 64);
	memset(b, 3, 200);
	ops->free(b, 200);
	ops->free(a, 64);
	assert_ptr_equal(ops->malloc(16, MB_LOCAL), a);
	ops->free(a, 16);
	void *stk = ops->stack_alloc(8192);
	memset(stk, 4, 8192);
	ops->stack_free(stk, 8192);
}

static void check_stats(void)
{
	mb_alloc_stats_t st;
	assert_int_equal(ops->stats(&st), 0);
	assert_true(st.allocated <= st.active);
	assert_true(st.active <= st.resident);
	assert_true(st.resident <= st.mapped);
	assert_true(st.metadata > 0);
}

static void *worker(void *arg)
{
	void **v = arg;
	ops->thread_enter();
	for (int i = 0; i < 1000; i++)
		ops->free(v[i], 0); /* another thread's objects */
	for (int i = 0; i < 1000; i++)
		v[i] = ops->malloc((size_t)i + 1, 0);
	ops->thread_exit();
	return NULL;
}

static void test_threads_stats_release(void **state)
{
	(void)state;
	static void *v[1000];
	for (int i = 0; i < 1000; i++)
		v[i] = ops->malloc((size_t)i * 40 + 1, 0);
	check_stats();
	pthread_t t;
	pthread_create(&t, NULL, worker, v);
	pthread_join(t, NULL);
	check_stats();
	for (int i = 0; i < 1000; i++)
		ops->free(v[i], (size_t)i + 1);
	ops->release();
	mb_alloc_stats_t st;
	ops->stats(&st);
	check_stats();
	assert_true(st.retained > 0); /* released pages are counted apart */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_struct),
		cmocka_unit_test(test_heap_and_local),
		cmocka_unit_test(test_threads_stats_release),
	};
	return cmocka_run_group_tests(tests, load, NULL);
}
