/*
 * The per-thread cache (mcache.c): its layout, shared with the stacks' and
 * large objects' per-thread parts, and its inline fast paths. Part of
 * span_internal.h, which includes it where the cache's section stood; not
 * to be included on its own.
 */
#ifndef SPAN_MCACHE_H
#define SPAN_MCACHE_H

/* ---- mcache.c: per-thread caches ------------------------------------------- */
#define MCACHE_REMOTE 256            /* frees into spans not owned, per flush */
#define MCACHE_REMOTE_BYTES (1u << 20) /* or this many bytes of them */
#define MCACHE_RETIRE 32             /* emptied spans given back per batch */

typedef struct frame_seg frame_seg_t;

/* The per-thread cache of freed large spans (mlarge.c): spans of at most
 * MLARGE_MAX_PAGES pages (128 KiB), MLARGE_SLOTS of them and
 * MLARGE_CACHE_PAGES pages (512 KiB, Go's per-P page cache) in all. */
#define MLARGE_MAX_PAGES 16
#define MLARGE_SLOTS 8
#define MLARGE_CACHE_PAGES 64

/* Free stacks a thread caches per order at most: 32 KiB of them (Go's
 * _StackCacheSize), so 16 of the smallest. */
#define STACK_CACHE_BYTES 32768u
#define STACK_CACHE_SLOTS (STACK_CACHE_BYTES / SPAN_STACK_MIN)

/* The spans a cache owns besides its current one, per span class. An owned
 * span stays with its cache until the cache is flushed (thread exit,
 * span_release) or, empty, beyond MCACHE_KEEP_EMPTY of them (mcache.c). */
typedef struct mcache_class {
	span_list_t partial; /* owner == c, free objects on freelist, used > 0 */
	span_list_t full;    /* owner == MCACHE_FULL(c), freelist empty, used ==
	                        nelems; cross-thread frees may wait on xfree */
	span_list_t empty;   /* owner == c, used == 0, every object on freelist */
	uint64_t scan_left;  /* full spans still to check for cross-thread frees
	                        (set to |full| when xfull flags the class) */
} mcache_class_t;

/* Words of a bit per span class (mcache_t.xfull). */
#define MCACHE_XFULL_WORDS ((SPAN_NUM_SPAN_CLASSES + 63) / 64)

/* The owner of a cache's full span: the cache's address with bit 0 set, so
 * the free fast path (owner == the thread's cache) misses it and a same-thread
 * free into a full span takes mcache_free_full, which files it as partial;
 * other threads see an owner as before (not NULL: xfree is open). */
#define MCACHE_FULL(c) ((struct mcache *)((uintptr_t)(c) | 1))

/* s->used of a cache's current span: the fast paths do not count its
 * allocations, only its frees (down), so it starts here, far from 0; reaching
 * 0 costs one slow call (mcache_span_emptied) that sets it back. */
#define SPAN_USED_CURRENT 0xffff

typedef struct mcache {
	span_t *alloc[SPAN_NUM_SPAN_CLASSES]; /* current span per class, or span_empty */
	mcache_class_t cls[SPAN_NUM_SPAN_CLASSES]; /* its other owned spans */
	remote_t remote[MCACHE_REMOTE];       /* frees into spans it does not own */
	uint8_t remote_spc[MCACHE_REMOTE];    /* their span classes */
	remote_t sorted[MCACHE_REMOTE];       /* the same, by span class (flush) */
	uint32_t nremote;                     /* entries in remote */
	span_t *retire[MCACHE_RETIRE];        /* emptied spans past the spares,
	                                         still owned (owner c, used 0),
	                                         on no list: [0, nretire) */
	uint8_t retire_spc[MCACHE_RETIRE];    /* their span classes */
	uint32_t nretire;
	uint32_t remote_bytes;                /* their object bytes */
	void *stacks[SPAN_STACK_ORDERS][STACK_CACHE_SLOTS]; /* free stacks, by
	                                        order: [0, nstacks) */
	_Atomic uint32_t nstacks[SPAN_STACK_ORDERS]; /* written by the owner only */
	_Atomic int64_t stacks_inuse[SPAN_STACK_ORDERS]; /* allocs - frees here;
	                                        written by the owner only */
	span_t *large[MLARGE_SLOTS];          /* freed large spans kept for reuse
	                                         (mlarge.c): [0, nlarge), oldest
	                                         first */
	uint8_t large_npages[MLARGE_SLOTS];   /* their page counts */
	_Atomic uint32_t nlarge;              /* written by the owner only */
	_Atomic uint32_t large_pages;         /* pages in large[]; owner only */
	frame_seg_t *frame;                   /* current frame segment */
	frame_seg_t *frame_spare;             /* one popped segment kept (hysteresis) */
	struct mcache *next, *prev;           /* all caches (stats, fork) */
	/* Span classes into whose owned spans another thread pushed the first
	 * object of an xfree chain since the owner last looked: set by the
	 * pusher (mcentral_push_xfree), taken by a refill, which then checks
	 * the class's full spans. Alone in its cache line: other threads write
	 * it. */
	_Alignas(64) _Atomic uint64_t xfull[MCACHE_XFULL_WORDS];
	char xfull_pad[64 - 8 * MCACHE_XFULL_WORDS];
} mcache_t;

extern span_t span_empty;              /* no free object, owned by nobody */
extern mcache_t mcache_empty;          /* TLS value before a thread's first call */
extern mcache_t mcache_dead;           /* TLS value after a thread's cache flush */
extern __thread mcache_t *mcache_tls;

int mcache_init(void);
mcache_t *mcache_get_slow(bool *locked);
void mcache_put_shared(void);

/* The calling thread's cache, created on first use; for a thread past its
 * exit flush, the shared cache with its lock held (*locked = true), which
 * mcache_put(locked) releases. */
static inline mcache_t *mcache_get(bool *locked)
{
	mcache_t *c = mcache_tls;
	*locked = false;
	if (SPAN_LIKELY(c != &mcache_empty && c != &mcache_dead))
		return c;
	return mcache_get_slow(locked);
}

static inline void mcache_put(bool locked)
{
	if (SPAN_UNLIKELY(locked))
		mcache_put_shared();
}
void *mcache_refill(mcache_t *c, int spc); /* one object of class spc, or NULL */
void mcache_flush_remote(mcache_t *c);
void mcache_flush_retire(mcache_t *c); /* gives back the retire batch */
void mcache_free_remote_slow(span_t *s, void *p); /* no cache yet, or past exit */
/* A free by the owner thread that brought s->used to 0: s is empty, or the
 * current span's count ran down (reset). */
void mcache_span_emptied(span_t *s);
/* A free by the owner thread into one of its full spans (owner MCACHE_FULL). */
void mcache_free_full(span_t *s, void *p);

/* Buffers a free of p in span s, which cache c does not own, flushing the
 * buffer when full: touches neither p nor s again until the flush. */
static inline void mcache_buffer_remote(mcache_t *c, span_t *s, void *p)
{
	uint32_t n = c->nremote;
	c->remote[n].p = p;
	c->remote[n].s = s;
	c->remote_spc[n] = s->spc;
	c->nremote = n + 1;
	c->remote_bytes += s->elemsize;
	if (SPAN_UNLIKELY(n + 1 == MCACHE_REMOTE || c->remote_bytes >= MCACHE_REMOTE_BYTES))
		mcache_flush_remote(c);
}

/* A free of p in span s, which the calling thread does not own. */
static inline void mcache_free_remote(span_t *s, void *p)
{
	mcache_t *c = mcache_tls;
	if (SPAN_UNLIKELY(c == &mcache_empty || c == &mcache_dead)) {
		mcache_free_remote_slow(s, p);
		return;
	}
	mcache_buffer_remote(c, s, p);
}
void mcache_flush(mcache_t *c); /* gives back spans, batches, stacks; not frames */
void mcache_thread_exit(void);
void mcache_lock_all(void);
void mcache_unlock_all(void);
void mcache_fork_child(void);
/* Calls fn for every cache (the cache list lock held). */
void mcache_each(void (*fn)(mcache_t *c, void *arg), void *arg);
extern _Atomic int64_t mcache_stacks_exited[SPAN_STACK_ORDERS];

#endif
