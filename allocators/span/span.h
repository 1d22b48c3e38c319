/*
 * span: a Go-runtime-style allocator. Public API of the library face.
 * See malloc.c for an overview of the design and README.md for the faces.
 *
 * Errors: out of memory returns NULL; a broken invariant (a bad free, a corrupt
 * span) aborts with "span: fatal: ..." on stderr, as Go's throw does.
 * Every function may be called from any thread.
 */
#ifndef SPAN_H
#define SPAN_H

#include <stddef.h>
#include <stdint.h>

#define SPAN_API __attribute__((visibility("default")))

/* Flags of span_alloc: the facts Go's compiler knows about an object. */
enum {
	SPAN_NOSCAN = 1u << 0, /* holds no pointers: noscan span class */
	SPAN_LOCAL  = 1u << 1, /* does not escape: bump-allocated in the current
	                          frame (span_frame_*), dies at span_frame_pop or
	                          when freed LIFO; > SPAN_MAX_LOCAL goes to the heap */
};

#define SPAN_PAGE_SIZE     8192u        /* page heap granule (Go: _PageSize) */
#define SPAN_MAX_SMALL     32768u       /* largest size-class object */
#define SPAN_NUM_CLASSES   68           /* size classes, class 0 = large */
#define SPAN_NUM_SPAN_CLASSES (2 * SPAN_NUM_CLASSES) /* × {scan, noscan} */
#define SPAN_STACK_MIN     2048u        /* smallest stack (Go: _StackMin) */
#define SPAN_STACK_ORDERS  4            /* 2, 4, 8, 16 KiB come from the stack pool */
#define SPAN_MAX_LOCAL     65536u       /* Go: maxImplicitStackVarSize */
#define SPAN_OCC_BUCKETS   9            /* occupancy: empty, then eighths */

/* Heap objects. span_free's size is the requested size, or 0 if unknown. */
SPAN_API void *span_alloc(size_t size, unsigned flags);
SPAN_API void span_free(void *p, size_t size);
/* Resizes in place where the object's class (or the pages after a large object)
 * allows, else moves. old_size may be 0 (unknown). realloc(NULL) = alloc. */
SPAN_API void *span_realloc(void *p, size_t old_size, size_t new_size);
SPAN_API size_t span_usable_size(void *p);
/* Power-of-two alignment, any size: small classes whose size is a multiple of
 * align (align <= page), else aligned pages. NULL for a bad alignment. */
SPAN_API void *span_alloc_aligned(size_t align, size_t size, unsigned flags);

/* Goroutine stacks: size is rounded up to a power of two >= SPAN_STACK_MIN.
 * Stacks grow down, as in Go: the live part of a stack of size bytes at stk is
 * [stk + size - used, stk + size). Stack memory never comes from heap spans. */
SPAN_API void *span_stack_alloc(size_t size);
SPAN_API void span_stack_free(void *stk, size_t size);
/* Go's copystack: a stack of twice the size holding the same top `used` bytes;
 * frees the old one. NULL (old one kept) when out of memory. */
SPAN_API void *span_stack_grow(void *stk, size_t size, size_t used);
/* Halves the stack when used <= size / 4 and size > SPAN_STACK_MIN, copying
 * the top `used` bytes; else returns stk unchanged. */
SPAN_API void *span_stack_shrink(void *stk, size_t size, size_t used);

/* Frame (bump) allocation inside the calling thread's frame stack. A mark from
 * push, given to pop, frees everything allocated since; cost O(1) unless a
 * stack segment boundary is crossed. Objects are 16-byte aligned. */
SPAN_API void *span_frame_push(void);
SPAN_API void *span_frame_alloc(size_t size);
SPAN_API void span_frame_pop(void *mark);

/* Per span class counters. A span owned by a thread cache counts all of its
 * objects as in use (Go's mcache accounting), so the numbers are exact at
 * span granularity at any time and object-exact once caches are flushed. */
typedef struct span_class_stats {
	uint32_t size;         /* bytes/obj (0: large objects, class 0) */
	uint32_t npages;       /* pages per span */
	uint32_t nelems;       /* objects per span */
	uint64_t spans;        /* spans of this class held from the page heap */
	uint64_t objects;      /* objects in use */
	uint64_t bytes;        /* objects * size (large: span bytes) */
	uint64_t tail_waste;   /* spans * (span bytes - nelems * size) */
	uint64_t cached_spans; /* spans owned by thread caches */
	uint64_t occupancy[SPAN_OCC_BUCKETS]; /* central spans: [0] empty,
	                          [k] in-use fraction in ((k-1)/8, k/8] */
} span_class_stats_t;

typedef struct span_stack_stats {
	uint64_t inuse;        /* stacks handed out */
	uint64_t cached;       /* free in thread stack caches */
	uint64_t pool_free;    /* free in the global stack pool */
	uint64_t pool_spans;   /* stack spans of the pool */
} span_stack_stats_t;

/* Page heap (bytes). mapped = heap_inuse + stack_inuse + free_retained + released. */
typedef struct span_heap_stats {
	uint64_t mapped;        /* arena address space */
	uint64_t heap_inuse;    /* pages in small and large heap spans (large
	                           spans in thread caches included) */
	uint64_t stack_inuse;   /* pages in stack spans (pool, large stacks, frames) */
	uint64_t free_retained; /* free pages still resident (Go: free - scavenged) */
	uint64_t released;      /* free pages returned to the OS or never touched */
	uint64_t metadata;      /* span structs, caches, page map leaves */
	uint64_t large_objects; /* objects > SPAN_MAX_SMALL */
	uint64_t large_bytes;
	uint64_t large_cached;  /* freed large spans thread caches keep for reuse */
	uint64_t large_cached_bytes;
	uint64_t large_stacks;  /* stacks > 16 KiB, from the page heap */
	uint64_t large_stack_bytes;
} span_heap_stats_t;

typedef struct span_stats {
	span_class_stats_t classes[SPAN_NUM_SPAN_CLASSES]; /* index: span class */
	span_stack_stats_t stacks[SPAN_STACK_ORDERS];      /* index: order */
	span_heap_stats_t heap;
} span_stats_t;

/* Cheap: reads counters, O(span classes). */
SPAN_API void span_stats(span_stats_t *out);
/* Slow: walks every arena, span and free list and recomputes the same numbers
 * (Go's ReadMemStatsSlow). Exact when no other thread allocates meanwhile.
 * Aborts on an inconsistency it finds (a corrupt free list). */
SPAN_API void span_stats_slow(span_stats_t *out);
/* Writes st as text to file descriptor fd (with write(2), no stdio stream,
 * so it can run at exit): two heap lines, one line per span class in use
 * (size, pages and objects per span, spans, objects, bytes in use, tail waste,
 * spans in thread caches, central spans by occupancy) and one per stack
 * order. The drop-in prints its counters so at exit when SPAN_SHOW_STATS is
 * set to anything but 0. */
SPAN_API void span_stats_print(int fd, const span_stats_t *st);

/* Flushes the calling thread's cache, empties the central lists' spare spans
 * and returns every free page to the OS (madvise). */
SPAN_API void span_release(void);
/* Thread life: enter creates the thread cache now; exit flushes it (it also
 * happens automatically when a thread ends). */
SPAN_API void span_thread_enter(void);
SPAN_API void span_thread_exit(void);
SPAN_API int span_init(void);            /* 0; idempotent, implicit */
SPAN_API const char *span_version(void);

#endif
