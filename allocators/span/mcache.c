/*
 * Per-thread caches. See malloc.c for an overview.
 *
 * A thread's mcache owns the spans it allocates from (mimalloc's thread-owned
 * pages, where Go's mcache owns one per class): the current span of each span
 * class (alloc[spc], the fast path pops its free list) and, per class, the
 * spans it filled before (cls[spc]: partial, full, empty). The owner's frees
 * push onto any of them with no lock and no atomic; only the owner touches
 * their freelist and used. States of an owned span s of class spc in c:
 *   current  alloc[spc] == s, owner c, used counted down from
 *            SPAN_USED_CURRENT (allocations are not counted);
 *   full     owner MCACHE_FULL(c), freelist empty, used == nelems: it ran out;
 *            the owner's first free into it goes slow (mcache_free_full) and
 *            files it as partial; frees of other threads wait on its xfree
 *            until a refill looks (MCACHE_SCAN_FULL per refill, oldest first,
 *            and only after a push flagged the class in xfull);
 *   partial  owner c, used + |freelist| == nelems, 0 < used < nelems (objects
 *            on xfree count as used);
 *   empty    owner c, used == 0: at most MCACHE_KEEP_EMPTY per class; the free
 *            that empties one more queues it in retire (owner c, on no list),
 *            given back to the mcentrals MCACHE_RETIRE at a time.
 * A refill takes, in order: the current span's xfree, a partial span (the
 * one partial longest: spans join the list at the back, so under churn the
 * refill finds the span that had the most time to collect frees, not the one
 * just freed into with its single free slot), a full one with cross-thread
 * frees, an empty one, one from retire, a span from the mcentral. A flush
 * (thread exit, span_release) gives every owned span back.
 *
 * Frees into spans the thread does not own are buffered (object, span)
 * without touching either, and flushed 256 at a time: grouped by span class,
 * consecutive objects of one span chained into a run; a run goes with one CAS
 * onto its span's xfree list while another cache owns the span, and all runs
 * into spans held by an mcentral go under one lock of that mcentral. No atomic
 * per object: on random-order frees the objects' cache misses overlap instead
 * of each waiting for a locked instruction.
 *
 * Lifecycle: TLS starts at mcache_empty (whose spans have no free object, so
 * the first call falls into the slow path, which creates the cache); a thread
 * key destructor flushes the cache at thread exit and leaves mcache_dead,
 * which routes later calls of that thread through one shared, locked cache.
 */
#include <errno.h>
#include <string.h>

#include "span_internal.h"

#define CACHE_CHUNK (64 << 10) /* mcache structs are carved 64 KiB at a time */
#define MCACHE_KEEP_EMPTY 2     /* empty spans a cache keeps per class: a class
                                   whose objects come and go in waves finds
                                   spans without the central lock */
#define MCACHE_SCAN_FULL 4      /* full spans a refill checks for cross-thread
                                   frees: O(1) per refill; once another thread
                                   flagged the class (xfull), every full span
                                   is checked within |full| / 4 refills */

span_t span_empty = { .order = 0xff };
mcache_t mcache_empty = { .alloc = { [0 ... SPAN_NUM_SPAN_CLASSES - 1] = &span_empty } };
mcache_t mcache_dead = { .alloc = { [0 ... SPAN_NUM_SPAN_CLASSES - 1] = &span_empty } };
__thread mcache_t *mcache_tls __attribute__((tls_model("initial-exec"))) = &mcache_empty;
_Atomic int64_t mcache_stacks_exited[SPAN_STACK_ORDERS]; /* inuse folded at exit */

static mcache_t shared = { .alloc = { [0 ... SPAN_NUM_SPAN_CLASSES - 1] = &span_empty } };
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static mcache_t *caches;      /* every live cache, the shared one included */
static mcache_t *cache_free;  /* recycled structs */
static pthread_key_t cache_key;
static bool shared_linked;

static void thread_destructor(void *arg);

/* Once, from span_init: the key whose destructor flushes a thread's cache. */
int mcache_init(void)
{
	return pthread_key_create(&cache_key, thread_destructor) == 0 ? 0 : -1;
}

static void link_cache(mcache_t *c)
{
	c->prev = NULL;
	c->next = caches;
	if (caches)
		caches->prev = c;
	caches = c;
}

static void unlink_cache(mcache_t *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		caches = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static mcache_t *cache_create(void)
{
	if (span_init() != 0)
		return NULL;
	if (mcache_tls != &mcache_empty) /* span_init's first call allocated */
		return mcache_tls == &mcache_dead ? NULL : mcache_tls;
	pthread_mutex_lock(&list_lock);
	if (!shared_linked) {
		link_cache(&shared);
		shared_linked = true;
	}
	if (!cache_free) {
		char *chunk = sys_alloc_meta(CACHE_CHUNK);
		for (size_t i = 0; chunk && i + sizeof(mcache_t) <= CACHE_CHUNK; i += sizeof(mcache_t)) {
			mcache_t *c = (mcache_t *)(chunk + i);
			c->next = cache_free;
			cache_free = c;
		}
	}
	mcache_t *c = cache_free;
	if (c) {
		cache_free = c->next;
		memset(c, 0, sizeof *c);
		for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++)
			c->alloc[i] = &span_empty;
		link_cache(c);
	}
	pthread_mutex_unlock(&list_lock);
	if (c) {
		mcache_tls = c;
		pthread_setspecific(cache_key, c);
	}
	return c;
}

mcache_t *mcache_get_slow(bool *locked)
{
	mcache_t *c = mcache_tls;
	if (c == &mcache_empty && (c = cache_create()) != NULL)
		return c;
	pthread_mutex_lock(&shared_lock);
	*locked = true;
	return &shared;
}

void mcache_put_shared(void)
{
	pthread_mutex_unlock(&shared_lock);
}

/* Counts down s->used by n objects freed into it. Owner only. */
static void count_frees(span_t *s, uint32_t n)
{
	if (n > s->used)
		sys_throw("mcache: %u frees into span %p with %u in use (double free?)", n,
			  (void *)s->base, s->used);
	s->used = (uint16_t)(s->used - n);
}

/* Moves s's cross-thread frees onto its free list; returns how many. Owner. */
static uint32_t take_xfree(span_t *s)
{
	return span_splice(s, atomic_exchange_explicit(&s->xfree, NULL, memory_order_acquire));
}

void mcache_flush_retire(mcache_t *c)
{
	if (c->nretire) {
		mcentral_retire(c->retire, c->nretire);
		c->nretire = 0;
	}
}

/* Files s, not current, whose used just reached 0 (it is on the partial list
 * or on none): kept as an empty spare, or past MCACHE_KEEP_EMPTY of them
 * queued for its mcentral, which gets MCACHE_RETIRE at a time (one lock per
 * class and one page-heap lock per batch instead of two per span; a refill
 * of its class takes it back first). */
static void file_empty(mcache_t *c, span_t *s, bool on_partial)
{
	mcache_class_t *k = &c->cls[s->spc];
	if (on_partial)
		span_list_remove(&k->partial, s);
	if (k->empty.n < MCACHE_KEEP_EMPTY) {
		span_list_push(&k->empty, s);
		return;
	}
	c->retire[c->nretire] = s;
	c->retire_spc[c->nretire] = s->spc;
	if (++c->nretire == MCACHE_RETIRE)
		mcache_flush_retire(c);
}

/* An emptied span of class spc waiting in c's retire batch, taken out of
 * it, or NULL. */
static span_t *unretire(mcache_t *c, int spc)
{
	for (uint32_t i = c->nretire; i-- > 0;) {
		if (c->retire_spc[i] == spc) {
			span_t *s = c->retire[i];
			c->nretire--;
			c->retire[i] = c->retire[c->nretire];
			c->retire_spc[i] = c->retire_spc[c->nretire];
			return s;
		}
	}
	return NULL;
}

static void emptied(mcache_t *c, span_t *s)
{
	if (c->alloc[s->spc] == s)
		s->used = SPAN_USED_CURRENT; /* the current span: only its count ran down */
	else
		file_empty(c, s, true);
}

static void free_full(mcache_t *c, span_t *s, void *p)
{
	mcache_class_t *k = &c->cls[s->spc];
	span_list_remove(&k->full, s);
	atomic_store_explicit(&s->owner, c, memory_order_relaxed);
	*(void **)p = s->freelist;
	s->freelist = p;
	count_frees(s, 1);
	if (s->used == 0)
		file_empty(c, s, false);
	else
		span_list_push_back(&k->partial, s);
}

void mcache_span_emptied(span_t *s)
{
	emptied(mcache_tls, s);
}

void mcache_free_full(span_t *s, void *p)
{
	free_full(mcache_tls, s, p);
}

/* A full span of class spc whose cross-thread frees are now on its free
 * list, owner c again, on no list; NULL if none of the MCACHE_SCAN_FULL
 * oldest has any (they move to the back). Looks only while a flag from
 * another thread's push (xfull) has full spans left to check: without
 * cross-thread frees a refill touches no full span (each check is a cache
 * miss on a span struct, and on its list neighbours). */
static span_t *scan_full(mcache_t *c, mcache_class_t *k, int spc)
{
	uint64_t bit = 1ull << (spc & 63);
	_Atomic uint64_t *w = &c->xfull[spc >> 6];
	if (atomic_load_explicit(w, memory_order_relaxed) & bit) {
		atomic_fetch_and_explicit(w, ~bit, memory_order_acquire);
		k->scan_left = k->full.n;
	}
	for (int i = 0; i < MCACHE_SCAN_FULL && k->scan_left && k->full.first; i++) {
		k->scan_left--;
		span_t *s = k->full.first;
		span_list_remove(&k->full, s);
		if (atomic_load_explicit(&s->xfree, memory_order_relaxed) != NULL) {
			count_frees(s, take_xfree(s));
			atomic_store_explicit(&s->owner, c, memory_order_relaxed);
			return s;
		}
		span_list_push_back(&k->full, s);
	}
	return NULL;
}

/* The next current span of class spc, with a free object: see the order in
 * the file comment. NULL when out of memory. */
static span_t *next_span(mcache_t *c, int spc)
{
	mcache_class_t *k = &c->cls[spc];
	span_t *s;
	if ((s = k->partial.first) != NULL) {
		span_list_remove(&k->partial, s);
		return s;
	}
	if ((s = scan_full(c, k, spc)) != NULL)
		return s;
	if ((s = k->empty.first) != NULL) {
		span_list_remove(&k->empty, s);
		return s;
	}
	if ((s = unretire(c, spc)) != NULL)
		return s;
	mcache_flush_remote(c);
	return mcentral_cache_span(spc, c);
}

void *mcache_refill(mcache_t *c, int spc)
{
	bool locked;
	c = mcache_get(&locked);
	span_t *s = c->alloc[spc];
	if (!s->freelist && s != &span_empty) {
		/* Cross-thread frees first: they keep the span we already own. A
		 * push this load misses flags the class (xfull) for a later refill. */
		if (atomic_load_explicit(&s->xfree, memory_order_relaxed) != NULL)
			s->freelist = atomic_exchange_explicit(&s->xfree, NULL, memory_order_acquire);
		if (!s->freelist) { /* ran out: every object in use, or on xfree */
			c->alloc[spc] = &span_empty;
			s->used = s->nelems;
			atomic_store_explicit(&s->owner, MCACHE_FULL(c), memory_order_relaxed);
			span_list_push_back(&c->cls[spc].full, s);
			s = &span_empty;
		}
	}
	if (!s->freelist) {
		s = next_span(c, spc);
		if (!s) {
			mcache_put(locked);
			errno = ENOMEM;
			return NULL;
		}
		s->used = SPAN_USED_CURRENT;
		c->alloc[spc] = s;
	}
	void *p = s->freelist;
	s->freelist = *(void **)p;
	mcache_put(locked);
	return p;
}

void mcache_free_remote_slow(span_t *s, void *p)
{
	bool locked;
	mcache_t *c = mcache_get(&locked);
	mcache_t *owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
	if (owner == c) { /* the shared cache's own span */
		*(void **)p = s->freelist;
		s->freelist = p;
		if (--s->used == 0)
			emptied(c, s);
	} else if (owner == MCACHE_FULL(c)) {
		free_full(c, s, p);
	} else {
		mcache_buffer_remote(c, s, p);
	}
	mcache_put(locked);
}

void mcache_flush_remote(mcache_t *c)
{
	uint32_t n = c->nremote;
	if (n == 0)
		return;
	/* Counting sort by span class, order kept within a class. */
	uint16_t start[SPAN_NUM_SPAN_CLASSES + 1] = { 0 };
	remote_t *e = c->sorted;
	uint8_t *spcs = c->remote_spc;
	for (uint32_t i = 0; i < n; i++)
		start[spcs[i] + 1]++;
	for (int k = 0; k < SPAN_NUM_SPAN_CLASSES; k++)
		start[k + 1] = (uint16_t)(start[k + 1] + start[k]);
	for (uint32_t i = 0; i < n; i++) {
		/* Each object gets written below (its free-list link): start
		 * the cache misses now, all together, instead of one at a time. */
		__builtin_prefetch(c->remote[i].p, 1);
		e[start[spcs[i]]++] = c->remote[i];
	}
	/* start[k] is now the end of class k's entries in e. */
	for (uint32_t i = 0; i < n;) {
		uint32_t first = i;
		int spc = e[i].s->spc;
		uint32_t end = start[spc];
		bool left = false; /* runs into spans the mcentral holds */
		while (i < end) {
			uint32_t r = i;
			void *tail = e[i].p;
			for (i++; i < end && e[i].s == e[r].s; i++) {
				*(void **)tail = e[i].p;
				tail = e[i].p;
			}
			if (atomic_load_explicit(&e[r].s->owner, memory_order_relaxed) &&
			    mcentral_push_xfree(e[r].s, e[r].p, tail))
				for (uint32_t k = r; k < i; k++)
					e[k].s = NULL; /* done: one CAS for the run */
			else
				left = true;
		}
		if (left)
			mcentral_free_batch(spc, e + first, i - first);
	}
	c->nremote = 0;
	c->remote_bytes = 0;
}

static void uncache_list(span_list_t *l)
{
	span_t *s;
	while ((s = l->first) != NULL) {
		span_list_remove(l, s);
		mcentral_uncache_span(s, true);
	}
}

void mcache_flush(mcache_t *c)
{
	mcache_flush_remote(c);
	mcache_flush_retire(c);
	mlarge_flush(c);
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++) {
		span_t *s = c->alloc[i];
		if (s != &span_empty) {
			c->alloc[i] = &span_empty;
			mcentral_uncache_span(s, false);
		}
		uncache_list(&c->cls[i].partial);
		uncache_list(&c->cls[i].full);
		uncache_list(&c->cls[i].empty);
	}
	stack_cache_flush(c);
}

/* Flushes c, folds its stack counters and recycles the struct. */
static void destroy(mcache_t *c)
{
	stack_frame_flush(c);
	mcache_flush(c);
	for (int o = 0; o < SPAN_STACK_ORDERS; o++)
		atomic_fetch_add(&mcache_stacks_exited[o],
				 atomic_load_explicit(&c->stacks_inuse[o], memory_order_relaxed));
	pthread_mutex_lock(&list_lock);
	unlink_cache(c);
	c->next = cache_free;
	cache_free = c;
	pthread_mutex_unlock(&list_lock);
}

static void thread_destructor(void *arg)
{
	mcache_tls = &mcache_dead;
	destroy(arg);
}

void mcache_thread_exit(void)
{
	mcache_t *c = mcache_tls;
	if (c == &mcache_empty || c == &mcache_dead)
		return;
	pthread_setspecific(cache_key, NULL);
	mcache_tls = &mcache_empty;
	destroy(c);
}

void mcache_each(void (*fn)(mcache_t *c, void *arg), void *arg)
{
	pthread_mutex_lock(&list_lock);
	for (mcache_t *c = caches; c; c = c->next)
		fn(c, arg);
	pthread_mutex_unlock(&list_lock);
}

void mcache_lock_all(void)
{
	pthread_mutex_lock(&shared_lock);
	pthread_mutex_lock(&list_lock);
}

void mcache_unlock_all(void)
{
	pthread_mutex_unlock(&list_lock);
	pthread_mutex_unlock(&shared_lock);
}

/* In the child of fork only this thread survives. The other threads' caches
 * stay as they are, orphaned: a thread may have been inside its lock-free fast
 * path at the fork, so their contents cannot be trusted to flush. Their spans
 * stay owned (leaked to the child, as jemalloc's and tcmalloc's thread caches
 * are); frees into them take the cross-thread path and stay correct. */
void mcache_fork_child(void)
{
	pthread_mutex_init(&shared_lock, NULL);
	pthread_mutex_init(&list_lock, NULL);
}
