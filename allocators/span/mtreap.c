/*
 * The page heap's big free runs (>= MHEAP_FREE_EXACT pages), in a treap by
 * address. See malloc.c for an overview and mheap.c for the page heap.
 *
 * The page heap takes big runs lowest address first (Go's page allocator
 * order) and the scavenger releases them highest first. An unordered list
 * made both O(runs): a heap holding a thousand 1 MiB holes between live
 * objects paid ~2 us per 1 MiB malloc. Here:
 *   - the tree is a binary search tree by base address (left below, right
 *     above), through each span's left and right links;
 *   - it is a heap by a priority hashed from the base (no field: a free run's
 *     base does not change while it is in the tree), so its depth is
 *     O(log runs) with high probability whatever order runs come in;
 *   - each node keeps treap_max, the most pages of any run in its subtree, so
 *     the lowest-addressed run of at least n pages is found in one descent.
 * Insert, remove and first fit are O(log runs); a walk from the highest
 * address is O(runs visited + log runs). A run's base and npages must not
 * change while it is in the tree (the page heap removes, changes, reinserts).
 * The heap lock guards it all.
 */
#include "span_internal.h"

static uint64_t priority(const span_t *s)
{
	uint64_t x = s->base >> PAGE_SHIFT; /* a splitmix64 step: spread bases */
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void update(span_t *t)
{
	uint64_t m = t->npages;
	if (t->left && t->left->treap_max > m)
		m = t->left->treap_max;
	if (t->right && t->right->treap_max > m)
		m = t->right->treap_max;
	t->treap_max = m;
}

/* One tree of every node of a (all below b's) and of b. */
static span_t *merge(span_t *a, span_t *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (priority(a) > priority(b)) {
		a->right = merge(a->right, b);
		update(a);
		return a;
	}
	b->left = merge(a, b->left);
	update(b);
	return b;
}

/* Splits t into the nodes below base (*lo) and the rest (*hi). */
static void split(span_t *t, uintptr_t base, span_t **lo, span_t **hi)
{
	if (!t) {
		*lo = *hi = NULL;
	} else if (t->base < base) {
		split(t->right, base, &t->right, hi);
		update(t);
		*lo = t;
	} else {
		split(t->left, base, lo, &t->left);
		update(t);
		*hi = t;
	}
}

void mtreap_insert(span_t **root, span_t *s)
{
	s->left = s->right = NULL;
	s->treap_max = s->npages;
	uint64_t p = priority(s);
	span_t **at = root;
	while (*at && priority(*at) > p) { /* s goes below these: bump their max */
		if ((*at)->treap_max < s->npages)
			(*at)->treap_max = s->npages;
		at = s->base < (*at)->base ? &(*at)->left : &(*at)->right;
	}
	split(*at, s->base, &s->left, &s->right);
	update(s);
	*at = s;
}

/* Removes s, which is in the subtree at *at; returns whether it was. */
static bool remove_at(span_t **at, span_t *s)
{
	span_t *t = *at;
	if (!t)
		return false;
	if (t == s) {
		*at = merge(s->left, s->right);
		s->left = s->right = NULL;
		return true;
	}
	if (!remove_at(s->base < t->base ? &t->left : &t->right, s))
		return false;
	update(t);
	return true;
}

void mtreap_remove(span_t **root, span_t *s)
{
	if (!remove_at(root, s))
		sys_throw("mtreap_remove: free run %p is not in the tree", (void *)s->base);
}

span_t *mtreap_first_fit(span_t *t, size_t npages)
{
	if (!t || t->treap_max < npages)
		return NULL;
	for (;;) { /* invariant: t's subtree holds a run of >= npages */
		if (t->left && t->left->treap_max >= npages)
			t = t->left;
		else if (t->npages >= npages)
			return t;
		else
			t = t->right;
	}
}

bool mtreap_each_desc(span_t *t, bool (*fn)(span_t *s, void *arg), void *arg)
{
	while (t) {
		if (!mtreap_each_desc(t->right, fn, arg) || !fn(t, arg))
			return false;
		t = t->left; /* the loop, not a call: a left spine costs no stack */
	}
	return true;
}
