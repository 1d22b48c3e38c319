/*
 * membench allocator plug-in ABI. See ../../README.md (Allocators) for an overview.
 *
 * An allocator plug-in is a shared object that exports one symbol,
 *
 *     const mb_alloc_ops_t membench_allocator;
 *
 * filled with designated initialisers. The trial child is exec'd with the plug-in
 * in LD_PRELOAD, so the allocator's TLS and malloc interposition are set up as in a
 * real program; the child then finds the symbol with dlsym(RTLD_DEFAULT, ...).
 * A wrong abi_version or a missing required entry is refused at load.
 *
 * Threading contract: every entry may be called from any thread, concurrently,
 * except init (called once, before any other entry, on the main thread).
 * thread_enter / thread_exit, when present, bracket each worker thread's use.
 */
#ifndef MEMBENCH_ALLOC_H
#define MEMBENCH_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Bump on every incompatible change of mb_alloc_ops_t or mb_alloc_stats_t. */
#define MB_ALLOC_ABI_VERSION 1
#define MB_ALLOC_SYMBOL "membench_allocator"

/* Allocation flags: the facts Go's compiler knows about an object. */
enum {
	MB_NOSCAN = 1u << 0, /* holds no pointers (Go: noscan span class) */
	MB_LOCAL  = 1u << 1, /* does not escape: lives in the current stack frame
	                        and dies at return; without it the object escapes */
};

/* The allocator's own view of its memory, in bytes. A field it cannot tell is
 * UINT64_MAX ("unknown"), never 0. Invariant where all are known:
 * allocated <= active <= resident <= mapped. */
typedef struct mb_alloc_stats {
	uint64_t allocated; /* bytes handed out to the program (usable sizes) */
	uint64_t active;    /* bytes in pages/spans that hold at least one object */
	uint64_t resident;  /* bytes the allocator has touched and not returned */
	uint64_t mapped;    /* bytes of address space mapped */
	uint64_t metadata;  /* bytes of the allocator's own bookkeeping */
	uint64_t retained;  /* bytes free, kept mapped but returned to the OS */
} mb_alloc_stats_t;

#define MB_STAT_UNKNOWN UINT64_MAX

/* One size class (span allocator: one span class) as the allocator sees it now.
 * Filled by the optional class_stats entry; analysis/frag.c turns it into
 * utilisation and tail waste per class (analysis/METRICS.md). Invariants:
 *   span_objects * size <= span_bytes            (tail = the difference)
 *   objects <= spans * span_objects
 * jemalloc: a bin (arenas.bin.<i>.*, stats.arenas.<all>.bins.<i>.*), a span is
 * a slab. span (the in-repo allocator): one entry per span class in use order
 * (size class 1..67 x {scan, noscan}; flags MB_NOSCAN on the noscan one);
 * spans = spans of that span class held by the mcentral lists and the mcaches,
 * objects = their allocated slots (allocCount), counting slots a cache holds;
 * size class 0 (large objects) is not listed. Two entries of one size must be
 * adjacent; consumers merge them by size where they need one row per class. */
typedef struct mb_alloc_class_stats {
	uint64_t size;         /* bytes per object */
	uint64_t span_bytes;   /* bytes of one span (jemalloc: slab_size) */
	uint64_t span_objects; /* objects one span holds (jemalloc: nregs) */
	uint64_t spans;        /* spans of this class held now (jemalloc: curslabs) */
	uint64_t objects;      /* objects not free in those spans: held by the program
	                          or parked in a thread cache (jemalloc: curregs) */
	uint32_t flags;        /* MB_NOSCAN for a noscan span class, else 0 */
	uint32_t pad;          /* zero */
} mb_alloc_class_stats_t;

typedef struct mb_alloc_ops {
	uint32_t abi_version; /* == MB_ALLOC_ABI_VERSION */
	const char *name;     /* short name, as in configs ("jemalloc") */

	/* Required. init returns 0 or a negative errno. */
	int (*init)(void);
	void *(*malloc)(size_t size, unsigned flags);
	void (*free)(void *ptr, size_t size); /* size: as requested, or 0 if unknown */
	void *(*realloc)(void *ptr, size_t old_size, size_t new_size);
	size_t (*usable_size)(void *ptr); /* >= the requested size; 0 only when the
	                                     allocator cannot tell (generic) */

	/* Optional (NULL when absent). */
	const char *(*version)(void);                /* library version string */
	void *(*stack_alloc)(size_t size);           /* goroutine stack of size bytes */
	void (*stack_free)(void *stack, size_t size);
	int (*stats)(mb_alloc_stats_t *out);         /* 0 or a negative errno */
	void (*thread_enter)(void);
	void (*thread_exit)(void);
	/* Frees everything cached and returns free memory to the OS, as far as the
	 * allocator can (jemalloc arena purge, mi_collect, malloc_trim). */
	void (*release)(void);
	/* Per-size-class view: writes min(n, cap) entries to out, in increasing size,
	 * and returns n, the number of classes (call with cap 0 to learn it), or a
	 * negative errno. Called, like stats, while the workers are stopped; it may
	 * be slow (it is outside every timed interval). Entries appended here keep
	 * abi_version: a plug-in that leaves them out gets NULL from the
	 * designated initialiser. */
	int (*class_stats)(mb_alloc_class_stats_t *out, size_t cap);
} mb_alloc_ops_t;

#endif
