/*
 * Page heap: arenas, the page map and runs of free pages (mscav.c returns
 * free pages to the OS). See malloc.c for an overview.
 *
 * Memory comes from the OS in arenas of 64 MiB (or multiples, for one huge
 * object), aligned to 64 MiB. Each 64 MiB has a leaf of the page map: the span
 * of every page, and a bit per page telling whether the page is released
 * (returned to the OS, or never touched: both read as zero).
 *
 * Every page of an arena belongs to exactly one span: free spans sit in the
 * free lists, all others are in use (small, large, stack). Invariants, under
 * the heap lock:
 *   - no two free spans are adjacent (a free span always coalesces);
 *   - an in-use span maps all of its pages, a free span its first and last;
 *   - counts.free == sum of free span pages, counts.released == set bits, and
 *     arena_pages == heap_inuse + stack_inuse + free.
 * Free spans of 1..MHEAP_FREE_EXACT-1 pages sit in exact-size lists (a bitmap
 * says which are non-empty); bigger ones in a treap by address (mtreap.c)
 * that finds the lowest-addressed one that fits in O(log runs).
 */
#include <string.h>

#include "span_internal.h"

#define SPAN_CHUNK (64 << 10)    /* span structs are carved 64 KiB at a time */
#define ARENA_HINT_FIRST ((uintptr_t)0xc0 << 32) /* Go's first arena hint
                                    (amd64): far below the libraries and the
                                    stacks, with room to grow upwards */
#define MAX_REGIONS 16384        /* arena regions: 16384 * 64 MiB = 1 TiB */
#define POPULATE_PAGES 16        /* a small span carved from untouched pages
                                    faults in 128 KiB from its base at once
                                    (the free pages after it included): one
                                    call instead of a page fault per 4 KiB,
                                    at most 120 KiB resident ahead of use
                                    (the call's cost is already spread over
                                    32 OS pages; more buys little) */

arena_leaf_t *mheap_map[(size_t)1 << ARENA_L1_BITS];
span_t span_none = { .order = 0xff };
mheap_counts_t mheap_counts;

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
span_list_t mheap_free_exact[MHEAP_FREE_EXACT];
static uint64_t free_nonempty[MHEAP_FREE_EXACT / 64];
span_t *mheap_free_big;
static span_t *span_structs;     /* recycled span structs */
static struct { uintptr_t base; size_t npages; } regions[MAX_REGIONS];
static int nregions;

void mheap_lock(void) { pthread_mutex_lock(&heap_lock); }
void mheap_unlock(void) { pthread_mutex_unlock(&heap_lock); }
void mheap_fork_child(void) { pthread_mutex_init(&heap_lock, NULL); }

int mheap_init(void)
{
	return 0;
}

/* A zeroed span struct, or NULL. Heap lock held. */
static span_t *span_struct_alloc(void)
{
	if (!span_structs) {
		span_t *chunk = sys_alloc_meta(SPAN_CHUNK);
		if (!chunk)
			return NULL;
		for (size_t i = 0; i < SPAN_CHUNK / sizeof(span_t); i++) {
			chunk[i].next = span_structs;
			span_structs = &chunk[i];
		}
	}
	span_t *s = span_structs;
	span_structs = s->next;
	memset(s, 0, sizeof *s);
	s->order = 0xff;
	return s;
}

static void span_struct_free(span_t *s)
{
	s->state = 0;
	s->next = span_structs;
	span_structs = s;
}

static inline arena_leaf_t *leaf_of(uintptr_t page_addr)
{
	return mheap_leaf_of(page_addr);
}

static inline void map_set(uintptr_t a, span_t *s)
{
	leaf_of(a)->spans[(a >> PAGE_SHIFT) & (ARENA_PAGES - 1)] = s;
}

static void map_all(span_t *s)
{
	for (size_t i = 0; i < s->npages;) { /* leaf by leaf: a span may cross arenas */
		uintptr_t a = s->base + (i << PAGE_SHIFT);
		size_t first = (a >> PAGE_SHIFT) & (ARENA_PAGES - 1);
		size_t n = ARENA_PAGES - first < s->npages - i ? ARENA_PAGES - first : s->npages - i;
		span_t **e = &leaf_of(a)->spans[first];
		size_t k = 0;
		for (; k + 4 <= n; k += 4)
			e[k] = e[k + 1] = e[k + 2] = e[k + 3] = s;
		for (; k < n; k++)
			e[k] = s;
		i += n;
	}
}

static void map_ends(span_t *s)
{
	map_set(s->base, s);
	map_set(s->base + ((uintptr_t)(s->npages - 1) << PAGE_SHIFT), s);
}

uint64_t mheap_released_op(uintptr_t base, size_t npages, int op)
{
	uint64_t was = 0;
	for (size_t i = 0; i < npages;) {
		unsigned bit;
		uint64_t *w = mheap_released_word(base + (i << PAGE_SHIFT), &bit);
		size_t n = 64 - bit < npages - i ? 64 - bit : npages - i;
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << bit;
		i += n;
		uint64_t had = *w & mask;
		if (had) /* none released, the common case: no popcount, no store */
			was += (uint64_t)__builtin_popcountll(had);
		if (op == MHEAP_REL_SET)
			*w |= mask;
		else if (op == MHEAP_REL_CLEAR && had)
			*w &= ~mask;
	}
	return was;
}

static void free_insert(span_t *s)
{
	s->state = SPAN_FREE;
	map_ends(s);
	if (s->npages >= MHEAP_FREE_EXACT) {
		mtreap_insert(&mheap_free_big, s);
		return;
	}
	span_list_push(&mheap_free_exact[s->npages], s);
	free_nonempty[s->npages >> 6] |= 1ull << (s->npages & 63);
}

static void free_remove(span_t *s)
{
	if (s->npages >= MHEAP_FREE_EXACT) {
		mtreap_remove(&mheap_free_big, s);
		return;
	}
	span_list_t *l = &mheap_free_exact[s->npages];
	span_list_remove(l, s);
	if (!l->first)
		free_nonempty[s->npages >> 6] &= ~(1ull << (s->npages & 63));
}

/* The free span at page address a, if a is in an arena and its span is free. */
static span_t *free_span_at(uintptr_t a)
{
	span_t *s = mheap_span_of(a);
	return s && s->state == SPAN_FREE ? s : NULL;
}

/* The free span whose first page is a, if any (the page after a span: its
 * right neighbour when that is free). */
static span_t *free_span_from(uintptr_t a)
{
	span_t *s = free_span_at(a);
	return s && s->base == a ? s : NULL;
}

/* The free time of a merged run: that of its larger part. (The newest would
 * let a small span freed now next to a big old run keep the run young forever;
 * the oldest would release what was freed a moment ago.) */
static uint32_t merged_ms(const span_t *a, const span_t *b)
{
	return a->npages >= b->npages ? a->freed_ms : b->freed_ms;
}

/* Inserts s (not yet in a list) into the free lists, merged with free
 * neighbours. Its pages are counted free by the caller. */
static void free_coalesce(span_t *s)
{
	span_t *left = free_span_at(s->base - SPAN_PAGE_SIZE);
	if (left && left->base + ((uintptr_t)left->npages << PAGE_SHIFT) == s->base) {
		free_remove(left);
		left->freed_ms = merged_ms(left, s);
		left->npages += s->npages;
		span_struct_free(s);
		s = left;
	}
	span_t *right = free_span_from(s->base + ((uintptr_t)s->npages << PAGE_SHIFT));
	if (right) {
		free_remove(right);
		s->freed_ms = merged_ms(s, right);
		s->npages += right->npages;
		span_struct_free(right);
	}
	free_insert(s);
}

/* A free span of at least npages: an exact-size one if any (the smallest
 * size class of run that fits), else the lowest-addressed big run. */
static span_t *free_find(size_t npages)
{
	if (npages < MHEAP_FREE_EXACT) {
		for (size_t w = npages >> 6; w < MHEAP_FREE_EXACT / 64; w++) {
			uint64_t bits = free_nonempty[w];
			if (w == npages >> 6)
				bits &= ~0ull << (npages & 63);
			if (bits)
				return mheap_free_exact[(w << 6) + (size_t)__builtin_ctzll(bits)].first;
		}
	}
	/* Among the big runs, the lowest address that fits (Go's page allocator
	 * order): memory freed low in the heap is reused before the untouched
	 * (released) tail of an arena, so a heap that shrinks and grows again
	 * stays resident in the same pages instead of touching new ones. */
	return mtreap_first_fit(mheap_free_big, npages);
}

/* Records a region, keeping the table sorted and adjacent regions merged, so
 * that a walk never starts inside a span that coalesced across regions. */
static void regions_add(uintptr_t base, size_t npages)
{
	int i = 0;
	while (i < nregions && regions[i].base < base)
		i++;
	memmove(&regions[i + 1], &regions[i], (size_t)(nregions - i) * sizeof regions[0]);
	regions[i].base = base;
	regions[i].npages = npages;
	nregions++;
	for (int k = i > 0 ? i - 1 : 0; k + 1 < nregions && k <= i;) {
		if (regions[k].base + (regions[k].npages << PAGE_SHIFT) == regions[k + 1].base) {
			regions[k].npages += regions[k + 1].npages;
			memmove(&regions[k + 1], &regions[k + 2],
				(size_t)(nregions - k - 2) * sizeof regions[0]);
			nregions--;
		} else {
			k++;
		}
	}
}

/* Where the next arena should go: right above the highest one, so the heap
 * grows upwards as Go's does (arena hints from 0xc000000000). free_find takes
 * the lowest address that fits, which then means the memory used longest
 * (resident) before an arena's untouched tail; the kernel places plain
 * mappings top-down, which would put each new, untouched arena below the
 * resident ones and have a heap that shrinks and grows again touch it first. */
static void *arena_hint(void)
{
	if (nregions == 0)
		return (void *)ARENA_HINT_FIRST;
	return (void *)(regions[nregions - 1].base +
			((uintptr_t)regions[nregions - 1].npages << PAGE_SHIFT));
}

/* Whether span s ends where the highest region does: where grow() puts the
 * next arena when the kernel lets it. */
static bool at_top(const span_t *s)
{
	return SPAN_ARENA_HINTS && nregions > 0 &&
	       s->base + ((uintptr_t)s->npages << PAGE_SHIFT) == (uintptr_t)arena_hint();
}

/* Maps a new arena region of at least npages; its pages start released. */
static bool grow(size_t npages)
{
	size_t bytes = ((npages << PAGE_SHIFT) + ARENA_BYTES - 1) & ~(ARENA_BYTES - 1);
	if (nregions == MAX_REGIONS || bytes < (npages << PAGE_SHIFT))
		return false;
	char *base = SPAN_ARENA_HINTS ? sys_reserve_at(arena_hint(), bytes) : NULL;
	if (!base) /* taken: anywhere the kernel likes */
		base = sys_reserve(bytes, ARENA_BYTES);
	if (!base)
		return false;
	for (size_t off = 0; off < bytes; off += ARENA_BYTES) {
		arena_leaf_t *leaf = sys_alloc_meta(sizeof(arena_leaf_t));
		if (!leaf) {
			sys_free(base, bytes);
			return false;
		}
		memset(leaf->released, 0xff, sizeof leaf->released);
		for (size_t i = 0; i < ARENA_PAGES; i++)
			leaf->spans[i] = &span_none; /* the free path needs no NULL test */
		__atomic_store_n(&mheap_map[((uintptr_t)base + off) >> ARENA_SHIFT], leaf,
				 __ATOMIC_RELEASE);
	}
	span_t *s = span_struct_alloc();
	if (!s)
		return false;
	s->base = (uintptr_t)base;
	s->npages = (uint32_t)(bytes >> PAGE_SHIFT);
	s->freed_ms = sys_now_ms();
	regions_add(s->base, s->npages);
	mheap_counts.arena_pages += s->npages;
	mheap_counts.free += s->npages;
	mheap_counts.released += s->npages;
	free_coalesce(s);
	return true;
}

/* Splits the first npages off free span s (removed from the lists); the rest
 * goes back to the free lists. Returns false when no span struct is left. */
static bool split_front(span_t *s, size_t npages)
{
	if (s->npages == npages)
		return true;
	span_t *rest = span_struct_alloc();
	if (!rest)
		return false;
	rest->base = s->base + (npages << PAGE_SHIFT);
	rest->npages = s->npages - (uint32_t)npages;
	rest->freed_ms = s->freed_ms;
	s->npages = (uint32_t)npages;
	free_insert(rest);
	return true;
}

static void count_inuse(span_t *s, int64_t sign)
{
	if (s->state == SPAN_STACK)
		mheap_counts.stack_inuse += (uint64_t)(sign * s->npages);
	else
		mheap_counts.heap_inuse += (uint64_t)(sign * s->npages);
	if (s->state == SPAN_LARGE) {
		mheap_counts.large_objects += (uint64_t)sign;
		mheap_counts.large_pages += (uint64_t)(sign * s->npages);
	}
	mheap_counts.free -= (uint64_t)(sign * s->npages);
}

static size_t run_length(span_t *s, size_t i, bool released, size_t max);

/* Small span s (its pages just taken, every one released) is about to be
 * written all over (its free list is carved): how many pages from its base
 * to fault in at once: its own and those of the released free run right
 * after it, POPULATE_PAGES in all at most. Those free pages are counted
 * resident from now on (released bits cleared), so the next spans carved
 * from them skip this. Heap lock held. */
static size_t populate_ahead(span_t *s)
{
	size_t n = s->npages;
	if (n >= POPULATE_PAGES)
		return n;
	uintptr_t end = s->base + ((uintptr_t)n << PAGE_SHIFT);
	span_t *right = free_span_from(end);
	if (!right)
		return n;
	size_t more = run_length(right, 0, true, POPULATE_PAGES - n);
	mheap_counts.released -= mheap_released_op(end, more, MHEAP_REL_CLEAR);
	return n + more;
}

span_t *mheap_alloc(size_t npages, size_t align_pages, int state, bool *zeroed)
{
	if (npages == 0 || npages > ((size_t)1 << 31) || align_pages > ((size_t)1 << 20))
		return NULL;
	size_t want = npages + align_pages - 1;
	mheap_lock();
	span_t *s = free_find(want);
	if (!s && grow(want))
		s = free_find(want);
	if (!s) {
		mheap_unlock();
		return NULL;
	}
	free_remove(s);
	uintptr_t align_bytes = (uintptr_t)align_pages << PAGE_SHIFT;
	uintptr_t start = (s->base + align_bytes - 1) & ~(align_bytes - 1);
	if (start != s->base) { /* give the unaligned head back */
		span_t *head = s;
		size_t hp = (start - s->base) >> PAGE_SHIFT;
		if (!split_front(head, hp) || !(s = free_span_at(start))) {
			free_insert(head);
			mheap_unlock();
			return NULL;
		}
		free_remove(s);
		free_insert(head);
	}
	if (!split_front(s, npages)) {
		free_coalesce(s);
		mheap_unlock();
		return NULL;
	}
	uint64_t rel = mheap_released_op(s->base, npages, MHEAP_REL_CLEAR);
	mheap_counts.released -= rel;
	if (zeroed)
		*zeroed = rel == npages;
	size_t populate = state == SPAN_SMALL && rel == npages ? populate_ahead(s) : 0;
	s->state = (uint8_t)state;
	s->order = 0xff;
	s->list = 0; /* on no list: a small span in transit to its first owner */
	s->next = s->prev = NULL;
	s->freelist = NULL; /* was treap_max, for a big run */
	atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
	count_inuse(s, 1);
	map_all(s);
	mheap_unlock();
	if (populate) /* the pages are counted resident already */
		sys_populate((void *)s->base, populate << PAGE_SHIFT);
	return s;
}

static void free_locked(span_t *s)
{
	if (s->state == SPAN_FREE || s->state == 0)
		sys_throw("mheap_free: span %p is not in use", (void *)s->base);
	count_inuse(s, -1);
	uint32_t now = sys_now_ms();
	s->freed_ms = now;
	free_coalesce(s);
	mscav_maybe(now);
}

void mheap_free(span_t *s)
{
	mheap_lock();
	free_locked(s);
	mheap_unlock();
}

void mheap_free_released(span_t *s)
{
	mheap_lock();
	if (s->state != SPAN_FREE && s->state != 0)
		mheap_counts.released +=
			s->npages - mheap_released_op(s->base, s->npages, MHEAP_REL_SET);
	free_locked(s);
	mheap_unlock();
}

void mheap_free_batch(span_t **v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) /* by address: n is small */
		for (uint32_t j = i; j > 0 && v[j - 1]->base > v[j]->base; j--) {
			span_t *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	mheap_lock();
	for (uint32_t i = 0; i < n; i++) { /* the neighbours coalescing reads */
		span_t *s = v[i];
		__builtin_prefetch(mheap_span_of(s->base - SPAN_PAGE_SIZE));
		__builtin_prefetch(mheap_span_of(s->base + ((uintptr_t)s->npages << PAGE_SHIFT)));
	}
	uint32_t now = sys_now_ms();
	for (uint32_t i = 0; i < n; i++) {
		span_t *s = v[i];
		if (s->state == SPAN_FREE || s->state == 0)
			sys_throw("mheap_free: span %p is not in use", (void *)s->base);
		count_inuse(s, -1);
		s->freed_ms = now;
		free_coalesce(s);
	}
	mscav_maybe(now);
	mheap_unlock();
}

bool mheap_resize(span_t *s, size_t npages)
{
	bool ok = false;
	mheap_lock();
	if (npages < s->npages) {
		span_t *tail = span_struct_alloc();
		if (tail) {
			tail->base = s->base + (npages << PAGE_SHIFT);
			tail->npages = s->npages - (uint32_t)npages;
			tail->state = s->state;
			tail->freed_ms = sys_now_ms();
			count_inuse(tail, -1);
			if (s->state == SPAN_LARGE)
				mheap_counts.large_objects++; /* the tail was no object */
			s->npages = (uint32_t)npages;
			free_coalesce(tail);
			ok = true;
		}
	} else if (npages == s->npages) {
		ok = true;
	} else {
		uintptr_t end = s->base + ((uintptr_t)s->npages << PAGE_SHIFT);
		size_t more = npages - s->npages;
		span_t *right = free_span_from(end);
		if ((right ? right->npages : 0) < more && at_top(right ? right : s)) {
			/* The heap grows upwards (arena_hint): a new arena right above
			 * coalesces with what is free after s, so an object at the top
			 * grows across arenas instead of being copied (Go's heap, grown
			 * contiguously from its hints, lets spans cross arenas too). If
			 * the kernel puts it elsewhere, it is there for the copy. */
			if (grow(more - (right ? right->npages : 0)))
				right = free_span_from(end);
		}
		if (right && right->npages >= more) {
			free_remove(right);
			if (split_front(right, more)) {
				mheap_counts.released -= mheap_released_op(right->base, more, MHEAP_REL_CLEAR);
				span_struct_free(right);
				mheap_counts.free -= more;
				mheap_counts.heap_inuse += more;
				if (s->state == SPAN_LARGE)
					mheap_counts.large_pages += more;
				s->npages = (uint32_t)npages;
				map_all(s);
				ok = true;
			} else {
				free_insert(right);
			}
		}
	}
	mheap_unlock();
	return ok;
}

/* Length of the run of pages from page i of s whose released bit equals
 * `released`, at most max, scanning a word (64 pages) at a time. */
static size_t run_length(span_t *s, size_t i, bool released, size_t max)
{
	size_t j = i, end = max < s->npages - i ? i + max : s->npages;
	while (j < end) {
		unsigned bit;
		uint64_t w = *mheap_released_word(s->base + (j << PAGE_SHIFT), &bit);
		w = (released ? ~w : w) >> bit; /* ones where the run ends */
		size_t left = 64 - bit;
		if (w) {
			size_t n = (size_t)__builtin_ctzll(w);
			j += n < left ? n : left;
			if (n < left)
				break;
		} else {
			j += left;
		}
	}
	return (j > end ? end : j) - i;
}

void mheap_walk(void (*fn)(span_t *s, void *arg), void *arg)
{
	for (int r = 0; r < nregions; r++) {
		uintptr_t a = regions[r].base, end = a + (regions[r].npages << PAGE_SHIFT);
		while (a < end) {
			span_t *s = mheap_span_of(a);
			if (!s || s->state == 0 || s->base != a || s->npages == 0)
				sys_throw("mheap_walk: page %p has no span", (void *)a);
			fn(s, arg);
			a += (uintptr_t)s->npages << PAGE_SHIFT;
		}
	}
}
