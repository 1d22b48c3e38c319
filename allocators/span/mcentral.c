/*
 * Central free lists: one mcentral per span class. See malloc.c for an overview.
 *
 * An mcentral holds the spans of its class that no thread cache owns, filed by
 * occupancy (partial, full, empty), and the class's counters. Everything here
 * is under the mcentral's lock; lock order: mcentral -> heap.
 *
 * Ownership protocol of a small span s (Go's mcache/mcentral handoff):
 *   owned by cache c:  s->owner == c or MCACHE_FULL(c), s->xfree open (NULL
 *                      or a chain); only c touches s->freelist and s->used;
 *                      other threads push onto s->xfree. c keeps it until
 *                      it flushes or it is an empty spare too many (mcache.c).
 *   in the mcentral:   s->owner == NULL, s->xfree == SPAN_XFREE_CLOSED; the
 *                      lock guards s->freelist and s->used.
 * Both transitions happen under the lock, so holding it, owner != NULL implies
 * xfree is open. Counters: objects == sum(central used) + sum(owned nelems).
 */
#include "span_internal.h"

enum { LIST_NONE, LIST_PARTIAL, LIST_FULL, LIST_EMPTY };

static void flag_owner(span_t *s);

mcentral_t mcentral[SPAN_NUM_SPAN_CLASSES] = {
	[0 ... SPAN_NUM_SPAN_CLASSES - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER },
};

/* ceil(2^32 / nelems) per class (64-bit: nelems may be 1): x / nelems ==
 * (x * it) >> 32 for the x mcentral_bucket divides (< 8 * 1024; checked by
 * span_sizeclasses), so the occupancy histogram costs no division. */
static uint64_t nelems_magic[SPAN_NUM_CLASSES];

const uint8_t *mcentral_npages = sizeclasses_npages;
const uint16_t *mcentral_nelems = sizeclasses_nelems;

void mcentral_init(bool dropin)
{
	mcentral_npages = dropin ? sizeclasses_npages_dropin : sizeclasses_npages;
	mcentral_nelems = dropin ? sizeclasses_nelems_dropin : sizeclasses_nelems;
	for (int c = 1; c < SPAN_NUM_CLASSES; c++)
		nelems_magic[c] = ((1ull << 32) + mcentral_nelems[c] - 1) / mcentral_nelems[c];
}

/* Occupancy bucket: 0 empty, k in 1..8 for used/nelems in ((k-1)/8, k/8]. */
int mcentral_bucket(const span_t *s)
{
	if (s->used == 0)
		return 0;
	uint64_t x = (uint64_t)s->used * 8 - 1;
	return 1 + (int)((x * nelems_magic[s->spc >> 1]) >> 32);
}

static void file(mcentral_t *m, span_t *s)
{
	span_list_t *l;
	if (s->used == 0) {
		l = &m->empty;
		s->list = LIST_EMPTY;
	} else if (s->used == s->nelems) {
		l = &m->full;
		s->list = LIST_FULL;
	} else {
		l = &m->partial;
		s->list = LIST_PARTIAL;
	}
	span_list_push(l, s);
	m->occupancy[mcentral_bucket(s)]++;
}

static void unfile(mcentral_t *m, span_t *s)
{
	span_list_t *l = s->list == LIST_EMPTY ? &m->empty
	               : s->list == LIST_FULL  ? &m->full
	               : &m->partial;
	if (s->list == LIST_NONE)
		sys_throw("mcentral: span %p is on no list", (void *)s->base);
	span_list_remove(l, s);
	s->list = LIST_NONE;
	m->occupancy[mcentral_bucket(s)]--;
}

static void release_span(mcentral_t *m, span_t *s)
{
	unfile(m, s);
	m->nspans--;
	mheap_free(s);
}

/* Hysteresis: the span a free just emptied stays; older spare empty spans go
 * back to the page heap beyond 1 + nspans / 16 of them. */
static void trim_empty(mcentral_t *m, span_t *just_emptied)
{
	while (m->empty.n > 1 + m->nspans / 16) {
		span_t *victim = m->empty.first;
		if (victim == just_emptied)
			victim = victim->next;
		if (!victim)
			return;
		release_span(m, victim);
	}
}

/* Carves a fresh span into objects: freelist in address order. */
static void init_span(span_t *s, int spc)
{
	int cls = spc >> 1;
	s->spc = (uint8_t)spc;
	s->elemsize = sizeclasses_size[cls];
	s->nelems = mcentral_nelems[cls];
	s->used = 0; /* s->list is LIST_NONE from mheap_alloc */
	char *p = (char *)s->base;
	for (uint32_t i = 0; i + 1 < s->nelems; i++, p += s->elemsize)
		*(void **)p = p + s->elemsize;
	*(void **)p = NULL;
	s->freelist = (void *)s->base;
}

span_t *mcentral_cache_span(int spc, mcache_t *c)
{
	mcentral_t *m = &mcentral[spc];
	pthread_mutex_lock(&m->lock);
	span_t *s = m->partial.first ? m->partial.first : m->empty.first;
	if (s) {
		unfile(m, s);
		m->objects += (uint64_t)(s->nelems - s->used);
	} else {
		pthread_mutex_unlock(&m->lock);
		s = mheap_alloc(mcentral_npages[spc >> 1], 1, SPAN_SMALL, NULL);
		if (!s)
			return NULL;
		init_span(s, spc);
		pthread_mutex_lock(&m->lock);
		m->nspans++;
		m->objects += s->nelems;
	}
	m->cached++;
	atomic_store_explicit(&s->xfree, NULL, memory_order_relaxed);
	atomic_store_explicit(&s->owner, c, memory_order_release);
	pthread_mutex_unlock(&m->lock);
	return s;
}

/* mcentral_uncache_span but for the trim; lock held. */
static void uncache_locked(mcentral_t *m, span_t *s, bool counted)
{
	atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
	void *chain = atomic_exchange_explicit(&s->xfree, SPAN_XFREE_CLOSED, memory_order_acq_rel);
	uint32_t nx = span_splice(s, chain), nfree = 0;
	if (counted) {
		if (nx > s->used)
			sys_throw("mcentral: %u cross-thread frees into span %p with %u in use "
				  "(double free?)", nx, (void *)s->base, s->used);
		nfree = s->nelems - s->used + nx;
	} else {
		for (void *p = s->freelist; p; p = *(void **)p)
			if (++nfree > s->nelems)
				sys_throw("mcentral: free list of span %p longer than %u (double free?)",
					  (void *)s->base, s->nelems);
	}
	s->used = (uint16_t)(s->nelems - nfree);
	m->objects -= nfree;
	m->cached--;
	file(m, s);
}

void mcentral_uncache_span(span_t *s, bool counted)
{
	mcentral_t *m = &mcentral[s->spc];
	pthread_mutex_lock(&m->lock);
	uncache_locked(m, s, counted);
	if (s->used == 0)
		trim_empty(m, s);
	pthread_mutex_unlock(&m->lock);
}

#define RETIRE_VICTIMS 64 /* spans per mheap_free_batch */

void mcentral_retire(span_t **v, uint32_t n)
{
	span_t *victims[RETIRE_VICTIMS];
	uint32_t nv = 0;
	for (uint32_t i = 1; i < n; i++) /* by span class: n is small */
		for (uint32_t j = i; j > 0 && v[j - 1]->spc > v[j]->spc; j--) {
			span_t *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (uint32_t i = 0; i < n;) {
		mcentral_t *m = &mcentral[v[i]->spc];
		uint8_t spc = v[i]->spc;
		pthread_mutex_lock(&m->lock);
		for (; i < n && v[i]->spc == spc; i++) {
			uncache_locked(m, v[i], true);
			if (v[i]->used != 0)
				sys_throw("mcentral: retired span %p has %u in use", (void *)v[i]->base,
					  v[i]->used);
		}
		/* Over the limit of spares: the newest go (just filed: hot). */
		while (m->empty.n > 1 + m->nspans / 16) {
			if (nv == RETIRE_VICTIMS) { /* lock order mcentral -> heap */
				mheap_free_batch(victims, nv);
				nv = 0;
			}
			span_t *s = m->empty.first;
			unfile(m, s);
			m->nspans--;
			victims[nv++] = s;
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (nv)
		mheap_free_batch(victims, nv);
}

bool mcentral_push_xfree(span_t *s, void *head, void *tail)
{
	void *old = atomic_load_explicit(&s->xfree, memory_order_relaxed);
	while (old != SPAN_XFREE_CLOSED) {
		*(void **)tail = old;
		if (atomic_compare_exchange_weak_explicit(&s->xfree, &old, head,
							  memory_order_release,
							  memory_order_relaxed)) {
			if (old == NULL)
				flag_owner(s);
			return true;
		}
	}
	return false;
}

/* Tells the owner of s, which just got the first object of an xfree chain,
 * that its spans of this class have cross-thread frees (mcache_t.xfull), so
 * its refills check its full spans only then. Any owner is told, not only
 * one whose span is full: a span may turn full (its xfree taken, then the
 * owner marked full) between the push and this load. The cache struct is
 * never unmapped, so a flag that reaches a cache which has since flushed s
 * only costs a later check. */
static void flag_owner(span_t *s)
{
	uintptr_t o = (uintptr_t)atomic_load_explicit(&s->owner, memory_order_relaxed);
	mcache_t *c = (mcache_t *)(o & ~(uintptr_t)1);
	if (c)
		atomic_fetch_or_explicit(&c->xfull[s->spc >> 6], 1ull << (s->spc & 63),
					 memory_order_release);
}

/* Objects head..tail (n) into a span held by the mcentral: relisted only
 * when its list changes (full -> partial, -> empty). Lock held. */
static void free_run_central(mcentral_t *m, span_t *s, void *head, void *tail, uint32_t n)
{
	if (n > s->used)
		sys_throw("mcentral: %u frees into span %p with %u in use (double free?)", n,
			  (void *)s->base, s->used);
	bool relist = s->used == s->nelems || s->used == n;
	if (relist)
		unfile(m, s);
	else
		m->occupancy[mcentral_bucket(s)]--;
	*(void **)tail = s->freelist;
	s->freelist = head;
	s->used = (uint16_t)(s->used - n);
	m->objects -= n;
	if (relist) {
		file(m, s);
		if (s->used == 0)
			trim_empty(m, s);
	} else {
		m->occupancy[mcentral_bucket(s)]++;
	}
}

void mcentral_free_batch(int spc, remote_t *e, uint32_t n)
{
	mcentral_t *m = &mcentral[spc];
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < n;) {
		span_t *s = e[i].s;
		if (!s) {
			i++;
			continue;
		}
		void *head = e[i].p, *tail = head;
		uint32_t k = 1;
		for (i++; i < n && e[i].s == s; i++, k++) {
			*(void **)tail = e[i].p;
			tail = e[i].p;
		}
		if (atomic_load_explicit(&s->owner, memory_order_relaxed) != NULL) {
			/* Owned again: xfree is open while we hold the lock. */
			if (!mcentral_push_xfree(s, head, tail))
				sys_throw("mcentral: owned span %p has closed xfree", (void *)s->base);
		} else {
			free_run_central(m, s, head, tail, k);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void mcentral_release_empty(void)
{
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++) {
		mcentral_t *m = &mcentral[i];
		pthread_mutex_lock(&m->lock);
		while (m->empty.first)
			release_span(m, m->empty.first);
		pthread_mutex_unlock(&m->lock);
	}
}

void mcentral_lock_all(void)
{
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++)
		pthread_mutex_lock(&mcentral[i].lock);
}

void mcentral_unlock_all(void)
{
	for (int i = SPAN_NUM_SPAN_CLASSES - 1; i >= 0; i--)
		pthread_mutex_unlock(&mcentral[i].lock);
}

void mcentral_fork_child(void)
{
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++)
		pthread_mutex_init(&mcentral[i].lock, NULL);
}
