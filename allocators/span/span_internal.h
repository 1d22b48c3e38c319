/*
 * span internals, grouped by the file that defines them. See malloc.c for an
 * overview. Everything here is hidden from the shared objects' symbol tables.
 */
#ifndef SPAN_INTERNAL_H
#define SPAN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define SPAN_LIKELY(x)   __builtin_expect(!!(x), 1)
#define SPAN_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SPAN_NOINLINE    __attribute__((noinline))

#define PAGE_SHIFT 13                        /* SPAN_PAGE_SIZE = 1 << PAGE_SHIFT */
#define ARENA_SHIFT 26                       /* 64 MiB arenas (Go: heapArenaBytes) */
#define ARENA_BYTES ((uintptr_t)1 << ARENA_SHIFT)
#define ARENA_PAGES (ARENA_BYTES >> PAGE_SHIFT)   /* 8192 */
#define ARENA_L1_BITS 22                     /* 48-bit addresses / 64 MiB arenas */
#define SMALL_DIV_MAX 1024                   /* range of sizeclasses_class8 */

/* ---- sizeclasses.c (generated) ---------------------------------------------- */
extern const uint16_t sizeclasses_size[SPAN_NUM_CLASSES];
extern const uint8_t sizeclasses_npages[SPAN_NUM_CLASSES];
extern const uint16_t sizeclasses_nelems[SPAN_NUM_CLASSES];
extern const uint8_t sizeclasses_npages_dropin[SPAN_NUM_CLASSES];
extern const uint16_t sizeclasses_nelems_dropin[SPAN_NUM_CLASSES];
extern const uint32_t sizeclasses_divmagic[SPAN_NUM_CLASSES];
extern const uint8_t sizeclasses_class8[SMALL_DIV_MAX / 8 + 1];
extern const uint8_t sizeclasses_class128[(SPAN_MAX_SMALL - SMALL_DIV_MAX) / 128 + 1];
extern const uint8_t sizeclasses_class8_a16[SMALL_DIV_MAX / 8 + 1];

/* Size class of 0 < size <= SPAN_MAX_SMALL, O(1) with two small tables. */
static inline unsigned sizeclasses_class(size_t size)
{
	if (size <= SMALL_DIV_MAX)
		return sizeclasses_class8[(size + 7) >> 3];
	return sizeclasses_class128[(size - SMALL_DIV_MAX + 127) >> 7];
}

/* ---- span: a run of pages, the unit of every layer ------------------------- */
enum span_state {
	SPAN_FREE = 1,   /* in the page heap's free lists */
	SPAN_SMALL,      /* size-class objects; owner or central holds it */
	SPAN_LARGE,      /* one object > SPAN_MAX_SMALL */
	SPAN_STACK,      /* stack memory: pool span, large stack or frame segment */
};

struct mcache;

/* The cross-thread free list is closed while the span sits in its mcentral:
 * frees then go through the central lock instead. */
#define SPAN_XFREE_CLOSED ((void *)1)

typedef struct span {
	union {
		void *freelist;         /* free objects; owner-only while owned,
		                           else under the central lock */
		uint64_t stackfree;     /* stack pool span: bit i set = stack i
		                           free (under the pool lock) */
		uint64_t treap_max;     /* big free run: the most pages of any
		                           run in its treap subtree (mtreap.c) */
		uint64_t huge_seq;      /* live large object of MLARGE_HUGE_PAGES
		                           or more: when it became one (mlarge.c) */
	};
	_Atomic(struct mcache *) owner; /* thread cache owning it, or NULL */
	uintptr_t base;                 /* first byte */
	uint32_t npages;
	union {
		uint32_t elemsize;      /* in use: object or stack size */
		uint32_t freed_ms;      /* free: when its newest page was freed */
	};
	uint16_t nelems;                /* objects per span */
	uint16_t used;                  /* objects not on freelist (those on xfree
	                                   count): used + |freelist| == nelems,
	                                   except in a cache's current span
	                                   (SPAN_USED_CURRENT, counted down) */
	uint8_t spc;                    /* span class: class << 1 | noscan */
	uint8_t state;                  /* enum span_state */
	uint8_t order;                  /* stack order, or 0xff: not a pool span */
	uint8_t list;                   /* which list holds it (mcentral/mheap) */
	_Atomic(void *) xfree;          /* cross-thread frees (chain), or CLOSED */
	union {
		struct {                /* list links */
			struct span *next, *prev;
		};
		struct {                /* a big free run's treap links (mtreap.c) */
			struct span *right, *left;
		};
	};
} span_t;

typedef struct span_list {
	span_t *first, *last;
	uint64_t n;
} span_list_t;

/* A free into a span the freeing thread does not own (mcache.c buffers them). */
typedef struct remote {
	void *p;                /* the object */
	span_t *s;              /* its span */
} remote_t;

/* The lists every layer keeps spans in (through next and prev), O(1) each;
 * the caller holds whatever guards the list. */

/* Links s between prev and next, neighbours in l (NULL: l's end). */
static inline void span_list_link(span_list_t *l, span_t *prev, span_t *next, span_t *s)
{
	s->prev = prev;
	s->next = next;
	if (prev)
		prev->next = s;
	else
		l->first = s;
	if (next)
		next->prev = s;
	else
		l->last = s;
	l->n++;
}

static inline void span_list_push(span_list_t *l, span_t *s) /* at the front */
{
	span_list_link(l, NULL, l->first, s);
}

static inline void span_list_push_back(span_list_t *l, span_t *s)
{
	span_list_link(l, l->last, NULL, s);
}

static inline void span_list_remove(span_list_t *l, span_t *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->last = s->prev;
	s->next = s->prev = NULL;
	l->n--;
}

/* Puts the NULL-terminated object chain in front of s->freelist; returns the
 * chain's length. The caller holds s (its lock, or owns it). */
static inline uint32_t span_splice(span_t *s, void *chain)
{
	uint32_t n = 0;
	void *tail = NULL;
	for (void *p = chain; p; p = *(void **)p, n++)
		tail = p;
	if (tail) {
		*(void **)tail = s->freelist;
		s->freelist = chain;
	}
	return n;
}

/* ---- sys.c: every mmap, munmap and madvise --------------------------------- */
void *sys_reserve(size_t bytes, size_t align); /* zeroed, NULL on failure */
void *sys_reserve_at(void *hint, size_t bytes); /* exactly at hint, or NULL */
/* Whether arenas are asked for at addresses of our choosing (mheap.c). Not
 * under ASan or TSan: they own the address space's layout (shadow ranges), and
 * TSan takes a fixed mapping outside its application ranges as fatal. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPAN_ARENA_HINTS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPAN_ARENA_HINTS 0
#endif
#endif
#ifndef SPAN_ARENA_HINTS
#define SPAN_ARENA_HINTS 1
#endif
void *sys_alloc_meta(size_t bytes);            /* metadata, counted, zeroed */
void sys_release(void *p, size_t bytes);       /* MADV_DONTNEED: zero on reuse */
/* Faults the pages in, writable, in one call instead of a fault each: untouched
 * ones zero, resident ones unchanged (MADV_POPULATE_WRITE; no-op without it). */
void sys_populate(void *p, size_t bytes);
void sys_free(void *p, size_t bytes);
uint64_t sys_meta_bytes(void);
uint32_t sys_now_ms(void);                     /* coarse monotonic clock, wraps */
_Noreturn void sys_throw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- mheap.c: arenas, page map, page heap ---------------------------------- */
typedef struct arena_leaf {
	span_t *spans[ARENA_PAGES];              /* page -> span (in use: every page;
	                                            free: first and last page) */
	uint64_t released[ARENA_PAGES / 64];     /* page bit set: returned to the OS
	                                            or never touched (reads as zero) */
} arena_leaf_t;

/* Arena index -> leaf. 32 MiB of zero-initialised .bss: untouched pages cost
 * no memory, and a lookup works before initialisation (free(NULL) first). */
extern arena_leaf_t *mheap_map[(size_t)1 << ARENA_L1_BITS];

extern span_t span_none; /* what a leaf maps a page to before any span has it */

/* The leaf of address a: NULL if a is in no arena. Addresses are 48-bit
 * (x86-64 user space), so the index is masked rather than checked. */
static inline arena_leaf_t *mheap_leaf_of(uintptr_t a)
{
	return mheap_map[(a >> ARENA_SHIFT) & (((uintptr_t)1 << ARENA_L1_BITS) - 1)];
}

/* The span holding address a: NULL if a is in no arena; in an arena, never
 * NULL (span_none, state 0, for a page no span ever held; for a free span's
 * inner page, a stale struct). O(1), no lock. */
static inline span_t *mheap_span_of(uintptr_t a)
{
	arena_leaf_t *leaf = mheap_leaf_of(a);
	return leaf ? leaf->spans[(a >> PAGE_SHIFT) & (ARENA_PAGES - 1)] : NULL;
}

int mheap_init(void);
/* A span of npages whose base is aligned to align_pages pages (a power of two),
 * in state `state`, every page mapped to it. *zeroed tells whether every page
 * reads as zero. NULL when out of memory. Takes the heap lock. */
span_t *mheap_alloc(size_t npages, size_t align_pages, int state, bool *zeroed);
void mheap_free(span_t *s); /* back to the free lists, coalescing; heap lock */
void mheap_free_released(span_t *s); /* the same, its pages released already */
/* mheap_free of v[0..n) (reordered) under one lock: by address, so spans
 * next to each other merge while hot, and with the structs of their
 * neighbours prefetched first, so those cache misses overlap. */
void mheap_free_batch(span_t **v, uint32_t n);
/* Resizes a large span in place to npages (shrink: frees the tail; grow: takes
 * the free pages right after it). true on success. Heap lock. */
bool mheap_resize(span_t *s, size_t npages);
span_t *mheap_span_struct(void);        /* a zeroed span struct; heap lock inside */
void mheap_lock(void);
void mheap_unlock(void);
void mheap_fork_child(void);
/* Counters, in pages, under the heap lock. */
typedef struct mheap_counts {
	uint64_t arena_pages, heap_inuse, stack_inuse, free, released;
	uint64_t large_objects, large_pages, large_stacks, large_stack_pages;
} mheap_counts_t;
extern mheap_counts_t mheap_counts;
/* Calls fn for every span of every arena, in address order (heap lock held). */
void mheap_walk(void (*fn)(span_t *s, void *arg), void *arg);

/* The free runs (heap lock): 1..MHEAP_FREE_EXACT-1 pages in exact-size lists
 * (free_find takes a list's newest first), bigger ones in a treap by address
 * (taken lowest address first). */
#define MHEAP_FREE_EXACT 128
extern span_list_t mheap_free_exact[MHEAP_FREE_EXACT];
extern span_t *mheap_free_big; /* the treap's root */
/* The released-bit word holding page a (in an arena), and a's bit in it. */
static inline uint64_t *mheap_released_word(uintptr_t a, unsigned *bit)
{
	size_t page = (a >> PAGE_SHIFT) & (ARENA_PAGES - 1);
	*bit = page & 63;
	return &mheap_leaf_of(a)->released[page >> 6];
}
enum { MHEAP_REL_COUNT, MHEAP_REL_SET, MHEAP_REL_CLEAR };
/* Counts, sets or clears (op) the released bits of pages [base, base +
 * npages); returns how many were set before. Heap lock (counting: or no
 * concurrent change to those pages). */
uint64_t mheap_released_op(uintptr_t base, size_t npages, int op);

/* ---- mtreap.c: big free runs by address (heap lock) ------------------------- */
/* A run's base and npages must not change while it is in the tree. */
void mtreap_insert(span_t **root, span_t *s);
void mtreap_remove(span_t **root, span_t *s); /* throws if s is not in it */
/* The lowest-addressed run of at least npages, or NULL. O(log runs). */
span_t *mtreap_first_fit(span_t *root, size_t npages);
/* Calls fn on the runs from the highest address down while it returns true;
 * returns false if fn stopped it. fn must not change the tree. */
bool mtreap_each_desc(span_t *root, bool (*fn)(span_t *s, void *arg), void *arg);

/* ---- mscav.c: the scavenger (heap lock held) -------------------------------- */
/* On a page-heap free at now (sys_now_ms): a pass if over the goal. */
void mscav_maybe(uint32_t now);
/* At span_init, no heap lock: the release age from SPAN_SCAVENGE_AGE_MS,
 * and whether to run in the background, SPAN_SCAVENGE_BACKGROUND. */
void mscav_init(void);
bool mscav_parse_age(const char *v, uint32_t *ms);
uint32_t mscav_age_ms(void);
bool mscav_background(void);
/* After init, no lock held (pthread_create allocates): starts the background
 * thread if the setting is on and it is not running. */
void mscav_start(void);
bool mscav_parked(void); /* the background thread waits for a free to wake it */
void mscav_fork_child(void); /* in the child: no background thread */
/* Returns free pages to the OS: runs of >= min_pages in spans free for at
 * least min_age_ms, until at most keep_pages of free memory stay resident (or
 * a run's last min_pages went over); in the reverse of the order reuse takes
 * pages, each run from its top down. Returns the ms until the first span it
 * skipped for its age is old enough, 0 if it skipped none. */
uint32_t mscav_scavenge(size_t min_pages, uint64_t keep_pages, uint32_t min_age_ms);

/* ---- mcentral.c: per span class lists of spans ----------------------------- */
typedef struct mcentral {
	pthread_mutex_t lock;
	span_list_t partial;   /* free objects left, not owned */
	span_list_t full;      /* no free object */
	span_list_t empty;     /* every object free, kept as spare (hysteresis) */
	uint64_t nspans;       /* spans of this class out of the page heap */
	uint64_t objects;      /* in use; an owned span counts nelems */
	uint64_t cached;       /* spans owned by thread caches */
	uint64_t occupancy[SPAN_OCC_BUCKETS];
} mcentral_t;

extern mcentral_t mcentral[SPAN_NUM_SPAN_CLASSES];

/* Pages and objects per span of each class in this face: Go's table, or the
 * drop-in's bigger small spans (sizeclasses.c). Set by mcentral_init. */
extern const uint8_t *mcentral_npages;
extern const uint16_t *mcentral_nelems;
/* At span_init, before any span: dropin chooses the drop-in face's spans. */
void mcentral_init(bool dropin);
/* A span of class spc with at least one free object, now owned by c (xfree
 * open). NULL when out of memory. Takes the central lock, maybe the heap's. */
span_t *mcentral_cache_span(int spc, struct mcache *c);
/* Gives back a span owned by the caller's cache: collects its cross-thread
 * frees, closes xfree, files it by occupancy. counted: s->used is exact (not
 * a current span), so the free list is not walked; else it is walked and
 * counted (a list longer than nelems throws). */
void mcentral_uncache_span(span_t *s, bool counted);
/* mcentral_uncache_span (counted) of the empty spans v[0..n) (reordered),
 * one lock per span class among them; the spare empty spans that this puts
 * over its mcentral's limit go back to the page heap in one mheap_free_batch. */
void mcentral_retire(span_t **v, uint32_t n);
/* Lock-free push of a run onto its span's xfree; false when the span sits in
 * its mcentral (xfree closed): then the run goes to mcentral_free_runs. */
bool mcentral_push_xfree(span_t *s, void *head, void *tail);
/* Frees objects e[0..n) of class spc (entries with s == NULL skipped) into
 * their spans, whoever holds each now, under one central lock: runs of one
 * span go onto its xfree while owned, into the span if not. */
void mcentral_free_batch(int spc, remote_t *e, uint32_t n);
/* Gives every spare empty span back to the page heap. */
void mcentral_release_empty(void);
int mcentral_bucket(const span_t *s);
void mcentral_lock_all(void);
void mcentral_unlock_all(void);
void mcentral_fork_child(void);

/* ---- mcache.c: per-thread caches (mcache.h) ------------------------------- */
#include "mcache.h"

/* ---- stack.c: stacks and frames -------------------------------------------- */
/* The allocator never touches a free stack's memory: a thread cache holds
 * free stacks in an array, a pool span in a bitmap (stackfree). */
void stack_init(void);
void stack_cache_flush(mcache_t *c);       /* thread cache -> pool */
void stack_release_empty(void);            /* empty pool spans -> page heap */
void stack_frame_flush(mcache_t *c);       /* frees the frame segments */
bool stack_frame_free(void *p, span_t *s); /* LIFO free of a frame object */
void stack_lock_all(void);
void stack_unlock_all(void);
void stack_fork_child(void);
/* Pool spans of an order and the free stacks in them (takes the pool lock). */
void stack_pool_counts(int order, uint64_t *spans, uint64_t *free_stacks, bool lock);
void stack_large_counts(uint64_t *n, uint64_t *bytes);

/* A frame segment: a stack whose first FRAME_HDR bytes are this header and
 * whose objects are bump-allocated in [top, limit). */
struct frame_seg {
	frame_seg_t *prev; /* older segment */
	char *top;         /* next free byte */
	char *limit;       /* end of the segment */
	size_t size;       /* segment (stack) bytes */
};
#define FRAME_HDR ((sizeof(frame_seg_t) + 15) & ~(size_t)15)

/* The frame fast paths, touching only the thread's cache and the current
 * segment's header: an allocation that fits the current segment, and a free
 * of an object in it (LIFO: everything allocated after p goes too). NULL or
 * false: the caller takes the slow path (frame_alloc_slow; the page map),
 * which handles no segment yet, a full one, an older segment, a size of 0 or
 * over SPAN_MAX_LOCAL, and a thread without a cache (mcache_empty and
 * mcache_dead have no frame). */
void *frame_alloc_slow(size_t size);
static inline void *frame_alloc_fast(size_t size)
{
	size_t n = (size + 15) & ~(size_t)15;
	frame_seg_t *f = mcache_tls->frame;
	/* n - 1 wraps for n == 0 (size 0, or so big that n did) */
	if (SPAN_UNLIKELY(n - 1 >= SPAN_MAX_LOCAL || !f || (size_t)(f->limit - f->top) < n))
		return NULL;
	void *p = f->top;
	f->top += n;
	return p;
}

/* span_frame_alloc, inline for span_alloc's SPAN_LOCAL. */
static inline void *frame_alloc(size_t size)
{
	void *p = frame_alloc_fast(size);
	return SPAN_LIKELY(p != NULL) ? p : frame_alloc_slow(size);
}

static inline bool frame_free_fast(void *p)
{
	frame_seg_t *f = mcache_tls->frame;
	if (!f || (char *)p < (char *)f + FRAME_HDR || (char *)p >= f->top)
		return false;
	f->top = p;
	return true;
}

/* ---- mlarge.c: large objects and the thread caches' large spans ------------ */
/* A large object of size bytes (zeroed if zero), its base aligned to align (a
 * power of two); NULL with errno ENOMEM. A page-aligned one of at most
 * MLARGE_MAX_PAGES pages comes from the thread's cache when it holds a span
 * of exactly that many pages. */
void *malloc_large(size_t size, size_t align, bool zero);
/* Frees live large span s: into the calling thread's cache, or to the page
 * heap; one of MLARGE_HUGE_PAGES (32 MiB) or more that another became huge
 * since it did is released at once. Throws if s is cached already (a double
 * free). */
void mlarge_free(span_t *s);
#define MLARGE_HUGE_PAGES 4096
/* Large span s has just been allocated or resized: stamps it if huge. */
void mlarge_sized(span_t *s);
void mlarge_flush(mcache_t *c); /* every cached large span back to the heap */
void mlarge_free_moved(span_t *s, void *p); /* realloc copied p (in s) away */
/* Spans and pages in every thread's large cache (the cache list lock). */
void mlarge_cached(uint64_t *spans, uint64_t *pages);
/* Whether large span s holds a live object (not one a thread cache keeps). */
static inline bool span_large_live(span_t *s)
{
	return s->state == SPAN_LARGE &&
	       atomic_load_explicit(&s->owner, memory_order_relaxed) == NULL;
}

/* ---- malloc.c: the library face -------------------------------------------- */
extern bool span_face_dropin; /* read once, at span_init (malloc.c) */
void *malloc_small_aligned(size_t size, size_t align, unsigned flags);
void malloc_free_slow(void *p); /* a pointer in no arena: NULL is a no-op, else throws */
void malloc_free_span(void *p, span_t *s); /* the free path past the owner check */
/* Whether p (in span s, usable bytes) can hold n bytes where it is: within
 * its size class (n at least half of it), or a live large object whose span
 * shrank or took the free pages after it (mheap_resize). Both faces' realloc. */
bool malloc_resize_in_place(span_t *s, void *p, size_t usable, size_t n);

/* ---- mstats.c: counters and the slow walk ---------------------------------- */
#define SPAN_FREEBITS_WORDS 64 /* a bit per object: 4096 objects at most (the
                                  drop-in face's 8-byte class) */
uint32_t mstats_span_freebits(const span_t *s, uint64_t bits[SPAN_FREEBITS_WORDS]);
void mstats_stack_counts(int64_t inuse[SPAN_STACK_ORDERS], uint64_t cached[SPAN_STACK_ORDERS]);

/* Fast path helpers shared by the faces (malloc.c, dropin.c). */
static inline void *span_alloc_small_fast(int spc)
{
	span_t *s = mcache_tls->alloc[spc];
	void *p = s->freelist;
	if (SPAN_UNLIKELY(p == NULL))
		return mcache_refill(mcache_tls, spc);
	s->freelist = *(void **)p;
	return p;
}

/* The free fast path: push onto the span's free list when the calling thread
 * owns it (counting it down; 0 means the span is empty); any other pointer in
 * an arena goes to malloc_free_span, and one in no arena (NULL included) to
 * not_ours. */
static inline void span_free_fast_or(void *p, void (*not_ours)(void *))
{
	uintptr_t a = (uintptr_t)p;
	arena_leaf_t *leaf = mheap_leaf_of(a);
	if (SPAN_UNLIKELY(leaf == NULL)) {
		not_ours(p);
		return;
	}
	span_t *s = leaf->spans[(a >> PAGE_SHIFT) & (ARENA_PAGES - 1)];
	if (SPAN_LIKELY(atomic_load_explicit(&s->owner, memory_order_relaxed) == mcache_tls)) {
		*(void **)p = s->freelist;
		s->freelist = p;
		if (SPAN_UNLIKELY(--s->used == 0))
			mcache_span_emptied(s);
		return;
	}
	malloc_free_span(p, s);
}

#endif
