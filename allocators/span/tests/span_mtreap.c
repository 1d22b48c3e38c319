/*
 * The big-run treap (mtreap.c) against a brute-force model: random inserts
 * and removes of synthetic runs, then first fit, the descending walk and the
 * tree's own invariants (order, heap-free depth, subtree maxima); and the page
 * heap's first fit through it among many holes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tsan_options.h"
#include "span_internal.h"

#define NRUNS 3000

static span_t runs[NRUNS];
static bool in_tree[NRUNS];

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Checks t's subtree: bases strictly inside (lo, hi), treap_max exact;
 * returns its node count and stores its depth. */
static size_t check(const span_t *t, uintptr_t lo, uintptr_t hi, int *depth)
{
	if (!t) {
		*depth = 0;
		return 0;
	}
	if (t->base <= lo || t->base >= hi)
		fail_msg("run %#lx out of order", (unsigned long)t->base);
	int dl, dr;
	size_t n = 1 + check(t->left, lo, t->base, &dl) + check(t->right, t->base, hi, &dr);
	uint64_t m = t->npages;
	if (t->left && t->left->treap_max > m)
		m = t->left->treap_max;
	if (t->right && t->right->treap_max > m)
		m = t->right->treap_max;
	if (t->treap_max != m)
		fail_msg("run %#lx: treap_max %lu, subtree max %lu", (unsigned long)t->base,
			 (unsigned long)t->treap_max, (unsigned long)m);
	*depth = 1 + (dl > dr ? dl : dr);
	return n;
}

static span_t *model_first_fit(size_t npages)
{
	span_t *best = NULL;
	for (int i = 0; i < NRUNS; i++)
		if (in_tree[i] && runs[i].npages >= npages && (!best || runs[i].base < best->base))
			best = &runs[i];
	return best;
}

struct walk {
	uintptr_t last;
	size_t n, stop_after;
};

static bool visit(span_t *s, void *arg)
{
	struct walk *w = arg;
	if (s->base >= w->last)
		fail_msg("descending walk: %#lx after %#lx", (unsigned long)s->base,
			 (unsigned long)w->last);
	w->last = s->base;
	return ++w->n < w->stop_after;
}

static void test_against_model(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	span_t *root = NULL;
	size_t count = 0;
	for (int i = 0; i < NRUNS; i++) { /* bases in a shuffled order, as frees come */
		runs[i].base = ((uintptr_t)0x100000 + (uintptr_t)i * 4096) << PAGE_SHIFT;
		runs[i].npages = (uint32_t)(MHEAP_FREE_EXACT + rnd(&seed) % 5000);
	}
	for (int step = 0; step < 40000; step++) {
		int i = (int)(rnd(&seed) % NRUNS);
		if (in_tree[i]) {
			mtreap_remove(&root, &runs[i]);
			count--;
		} else {
			mtreap_insert(&root, &runs[i]);
			count++;
		}
		in_tree[i] = !in_tree[i];
		if (step % 1000 == 0) {
			int depth;
			assert_int_equal(check(root, 0, UINTPTR_MAX, &depth), count);
			if (count > 100 && depth > 60) /* ~2.5 log2 n expected */
				fail_msg("depth %d for %zu runs", depth, count);
		}
		size_t want = MHEAP_FREE_EXACT + rnd(&seed) % 5200;
		assert_ptr_equal(mtreap_first_fit(root, want), model_first_fit(want));
	}
	struct walk w = { UINTPTR_MAX, 0, SIZE_MAX };
	assert_true(mtreap_each_desc(root, visit, &w));
	assert_int_equal(w.n, count);
	struct walk part = { UINTPTR_MAX, 0, 10 };
	assert_false(mtreap_each_desc(root, visit, &part)); /* stops when asked */
	assert_int_equal(part.n, 10);
	for (int i = 0; i < NRUNS; i++)
		if (in_tree[i])
			mtreap_remove(&root, &runs[i]);
	assert_null(root);
}

/* A sorted insertion order (a heap freeing its arena tail by tail) keeps
 * the depth logarithmic: the priorities, not the order, shape the tree. */
static void test_sorted_inserts_stay_shallow(void **state)
{
	(void)state;
	span_t *root = NULL;
	for (int i = 0; i < NRUNS; i++) {
		runs[i].base = ((uintptr_t)0x200000 + (uintptr_t)i * 256) << PAGE_SHIFT;
		runs[i].npages = MHEAP_FREE_EXACT;
		mtreap_insert(&root, &runs[i]);
	}
	int depth;
	assert_int_equal(check(root, 0, UINTPTR_MAX, &depth), NRUNS);
	assert_true(depth <= 40); /* log2(3000) = 11.6 */
	for (int i = 0; i < NRUNS; i++)
		mtreap_remove(&root, &runs[i]);
	assert_null(root);
}

struct lowest_fit {
	size_t want;
	uintptr_t base;
};

static void find_lowest_fit(span_t *s, void *arg)
{
	struct lowest_fit *f = arg;
	if (s->state == SPAN_FREE && s->npages >= f->want && s->base < f->base)
		f->base = s->base;
}

/* The page heap among many big holes: a big allocation gets the lowest free
 * run that fits, by a walk of every span (arenas need not grow upwards: under
 * ASan and TSan the kernel places them), and freeing it restores the hole. */
static void test_heap_first_fit_among_holes(void **state)
{
	(void)state;
	assert_int_equal(span_init(), 0);
	enum { N = 200, RUN = MHEAP_FREE_EXACT + 8 };
	span_t *v[2 * N];
	for (int i = 0; i < 2 * N; i++) {
		v[i] = mheap_alloc(i % 2 ? 1 : RUN + (size_t)(i / 2), 1, SPAN_LARGE, NULL);
		assert_non_null(v[i]);
	}
	for (int i = 0; i < 2 * N; i += 2) /* holes, between 1-page walls */
		mheap_free(v[i]);
	for (int k = 0; k < N; k += 7) {
		struct lowest_fit f = { RUN + (size_t)k, UINTPTR_MAX };
		mheap_lock();
		mheap_walk(find_lowest_fit, &f);
		mheap_unlock();
		span_t *s = mheap_alloc(f.want, 1, SPAN_LARGE, NULL);
		assert_int_equal(s->base, f.base);
		mheap_free(s);
	}
	for (int i = 1; i < 2 * N; i += 2)
		mheap_free(v[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_sorted_inserts_stay_shallow),
		cmocka_unit_test(test_heap_first_fit_among_holes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
