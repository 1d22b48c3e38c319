/*
 * Live objects: lifetimes, GC pacing and cross-thread frees, shared by the
 * patterns. See workloads/README.md (Lifetimes, GC pacing, Cross-thread frees).
 *
 * Every heap object a pattern makes with mb_live_alloc is counted live; it
 * becomes dead either when the pattern says so (mb_live_dead) or when its
 * lifetime queue (mb_lifeq_t) decides:
 *   ops        dies after N operations of its queue, N from a distribution
 *              (a timing wheel: O(1) per add and per tick, amortised)
 *   fifo       the newest `window` objects of the queue live; adding one more
 *              kills the oldest (a ring: O(1))
 *   phase      lives until the current phase ends (a list: O(1) per object)
 *   permanent  lives until the trial's final drain
 * A dead object is freed at once (gc: off) or queued and freed in one batch
 * when this thread's heap, live + dead, reaches its goal (gc: paced):
 *   goal = max(live after the last GC * (1 + GOGC/100), 4 MiB * GOGC/100 / threads)
 * which is Go's heap goal (heapMarked * (1 + GOGC/100), heapMinimum 4 MiB),
 * paced per thread so that the stream stays deterministic.
 * A free goes to the next thread (tid + 1) with probability cross_thread_frees,
 * decided by a coin of the engine's own rng (handoff_rng), never by the
 * worker's: turning cross-thread frees on changes who frees each object, not
 * which objects are made, their sizes or lifetimes. The object is put in a batch of MB_LIVE_BATCH objects; a full batch is handed over
 * tagged with the sender's chunk (epoch), and the receiver frees the batches of
 * earlier chunks when its next chunk starts. Each thread has one sender and
 * takes its batches in order at fixed points, so every thread's stream, and
 * the live bytes at every sample, are the same on every run and allocator.
 *
 * The bookkeeping (nodes, wheel, rings, batches) lives in mmap'd memory of its
 * own: none of it goes through the allocator under test.
 */
#ifndef MB_LIVE_H
#define MB_LIVE_H

#include <pthread.h>

#include "pattern.h"

enum { MB_LIFE_OPS, MB_LIFE_FIFO, MB_LIFE_PHASE, MB_LIFE_PERMANENT };
extern const char *const mb_life_kinds[];

/* The longest `ops` lifetime: the timing wheel has at most 2^24 buckets. */
#define MB_LIFE_MAX_OPS ((1u << 24) - 1)

/* A lifetime, as a pattern's params hold it (MB_OPT_LIFE declares its keys). */
typedef struct mb_life {
	int kind;      /* MB_LIFE_* */
	mb_dist_t ops; /* kind ops: operations until death, 1..MB_LIFE_MAX_OPS */
	uint64_t window; /* kind fifo: how many of the newest objects live */
} mb_life_t;

/* Three option entries: <pre>lifetime, <pre>lifetime_ops, <pre>fifo_window. */
#define MB_OPT_LIFE(pre, st, f, dkind, dops, dwin, what)                                \
	{ .name = pre "lifetime", .type = MB_OPT_ENUM, .off = offsetof(st, f.kind),       \
	  .def = dkind, .values = mb_life_kinds, .example = "fifo",                        \
	  .help = what ": ops (dies after `" pre "lifetime_ops` operations), fifo (the "   \
		  "newest `" pre "fifo_window` live), phase (until the phase ends), "        \
		  "permanent (until the trial ends)" },                                      \
	MB_OPT_DIST(pre "lifetime_ops", st, f.ops, dops,                                  \
		    "operations an object lives, for `" pre "lifetime: ops` (<= 16M)",     \
		    "{dist: exponential, mean: 5000, max: 100000}"),                         \
	MB_OPT_RANGE(pre "fifo_window", MB_OPT_UINT, st, f.window, dwin, 1, 1e9,          \
		     "objects that live, for `" pre "lifetime: fifo`")

/* Schema check for a lifetime (validate hooks): errors via mb_yerr. */
int mb_life_validate(mb_yctx_t *y, yaml_node_t *node, const mb_life_t *l, const char *what);

typedef struct mb_obj {
	void *p;
	uint64_t size;
} mb_obj_t;

typedef struct mb_node {  /* an object in a wheel bucket or a list */
	void *p;
	uint32_t size;   /* objects in queues are < 4 GiB */
	uint32_t next;   /* node index; 0 = end of list (node 0 is never used) */
} mb_node_t;

#define MB_LIVE_BATCH 250 /* objects per handoff batch: one 4 KiB page */

typedef struct mb_batch {
	struct mb_batch *next;
	uint64_t epoch;  /* the sender's chunk when it was handed over */
	uint32_t n, from; /* objects; sender's tid */
	mb_obj_t o[MB_LIVE_BATCH];
} mb_batch_t;

typedef struct mb_live {
	mb_worker_t *w;
	mb_node_t *node;         /* node pool; node_used entries handed out so far */
	size_t node_bytes;
	uint32_t node_used, node_free; /* free list head (0: none) */
	uint64_t heap_live;      /* bytes of this thread's live objects */
	uint64_t heap_dead;      /* bytes dead but not yet freed (gc: paced) */
	uint64_t goal, heap_min; /* GC heap goal (UINT64_MAX without gc: paced); its floor */
	bool paced;              /* the run's gc_paced */
	uint64_t handoff_t;      /* a free goes to the next thread when
	                            mb_rng_chance_at(handoff_rng, handoff_t):
	                            mb_rng_chance_t(cross_thread_frees) with more
	                            than one thread, else 0 (handoff_rng unused) */
	mb_rng_t handoff_rng;    /* the handoff coins only: seeded from (run seed,
	                            2^32 + tid), a stream no worker's rng starts from */
	mb_obj_t *dead;          /* dead objects awaiting the GC, ndead of them */
	size_t ndead, dead_bytes_cap;
	bool draining;           /* drain: dead objects are freed at once, locally */
	mb_batch_t *out;         /* batch being filled for the next thread */
	pthread_mutex_t lock;    /* guards in_head, in_tail, spare */
	mb_batch_t *in_head, *in_tail; /* handed to this thread, oldest first */
	mb_batch_t *spare;       /* emptied batches given back by the receiver */
	uint64_t gcs, handed, received; /* counts: GC cycles, objects sent, received */
} mb_live_t;

typedef struct mb_lifeq mb_lifeq_t;
/* What death means for an object of a queue. */
typedef void mb_kill_fn(mb_lifeq_t *q, void *p, size_t size);
struct mb_lifeq {
	mb_live_t *L;
	size_t off;              /* offsetof the mb_life_t in the pattern's params */
	uint64_t now;            /* ticks (operations) so far */
	uint32_t *wheel;         /* kind ops: bucket heads, mask + 1 of them */
	uint64_t mask;
	mb_obj_t *ring;          /* kind fifo: ring_cap slots, ring_n used from ring_head */
	uint64_t ring_cap, ring_head, ring_n;
	uint32_t phase_head, perm_head; /* kind phase / permanent lists */
	/* NULL: mb_live_dead. A pattern whose objects own others (a closure its
	 * boxes) frees them here. */
	mb_kill_fn *kill;
};

/* The one draw of the paths below from the kernel's rng is an `ops`
 * lifetime (mb_lifeq_add_ops), from r: the worker's w->rng, or a copy of it
 * that the caller keeps in a local for a whole operation (so that it stays in
 * a register across the allocator calls; its address must then never leave
 * the caller). Deaths, GCs and handoffs draw nothing from it (the handoff
 * coins come from L->handoff_rng), so no out-of-line path needs the copy. */

/* Per-thread engine: init sets w->live. 0 or -ENOMEM. */
int mb_live_init(mb_live_t *L, mb_worker_t *w);
void mb_live_fini(mb_live_t *L);

/* A queue for the mb_life_t at offset off in the params; sized for the largest
 * lifetime over all phases. 0 or -ENOMEM. */
int mb_lifeq_init(mb_lifeq_t *q, mb_live_t *L, size_t off);
void mb_lifeq_fini(mb_lifeq_t *q);
void mb_live_node_grow(mb_live_t *L);
/* mb_lifeq_add for the list kinds (fifo, phase, permanent), out of line: its
 * kills go through q->kill. */
void mb_lifeq_add_list(mb_lifeq_t *q, const mb_life_t *l, void *p, size_t size);

/* A node from L's pool (its free list first). O(1) amortised. */
static inline __attribute__((always_inline)) uint32_t mb_live_node_get(mb_live_t *L)
{
	uint32_t i = L->node_free;
	if (i) {
		L->node_free = L->node[i].next;
		return i;
	}
	if (__builtin_expect((size_t)(L->node_used + 1) * sizeof(mb_node_t) > L->node_bytes, 0))
		mb_live_node_grow(L);
	return L->node_used++;
}

/* mb_lifeq_add for an `ops` lifetime: a wheel bucket push. */
static inline __attribute__((always_inline)) void
mb_lifeq_add_ops(mb_lifeq_t *q, const mb_life_t *l, mb_rng_t *r, void *p, size_t size)
{
	uint64_t life = mb_dist_sample_u64(&l->ops, r);
	life = life < 1 ? 1 : life > q->mask ? q->mask : life;
	mb_live_t *L = q->L;
	uint32_t *head = &q->wheel[(q->now + life) & q->mask];
	uint32_t i = mb_live_node_get(L);
	L->node[i] = (mb_node_t){p, (uint32_t)size, *head};
	*head = i;
}

/* mb_lifeq_add with the deaths of a full fifo by kill, inlined: kill must be
 * what q->kill does (a constant, so that it is inlined here). Inline for `ops`
 * (a wheel bucket push) and `fifo` (a ring pop and push) lifetimes. */
static inline __attribute__((always_inline)) void
mb_lifeq_add_k(mb_lifeq_t *q, const mb_life_t *l, mb_rng_t *r, void *p, size_t size,
	       mb_kill_fn *kill)
{
	if (l->kind == MB_LIFE_OPS) {
		mb_lifeq_add_ops(q, l, r, p, size);
	} else if (l->kind == MB_LIFE_FIFO) {
		uint64_t n = q->ring_n, head = q->ring_head, cap = q->ring_cap;
		while (n >= l->window) { /* the oldest die */
			mb_obj_t o = q->ring[head];
			head = head + 1 == cap ? 0 : head + 1;
			q->ring_head = head;
			q->ring_n = --n;
			kill(q, o.p, o.size);
		}
		uint64_t at = head + n;
		q->ring[at >= cap ? at - cap : at] = (mb_obj_t){p, size};
		q->ring_n = n + 1;
	} else {
		mb_lifeq_add_list(q, l, p, size);
	}
}

/* The queue now owns p (allocated with mb_live_alloc); it dies by l, the
 * current phase's lifetime: the mb_life_t at q's offset in w->params, which
 * the caller holds. O(1) amortised; inline for `ops` lifetimes. */
static inline __attribute__((always_inline)) void mb_lifeq_add(mb_lifeq_t *q, const mb_life_t *l,
							      mb_rng_t *r, void *p, size_t size)
{
	if (l->kind != MB_LIFE_OPS) {
		mb_lifeq_add_list(q, l, p, size);
		return;
	}
	mb_lifeq_add_ops(q, l, r, p, size);
}
/* One operation passes for the queue: objects due now die (through q->kill).
 * O(1) amortised. */
void mb_lifeq_tick_slow(mb_lifeq_t *q);
/* The tick without the deaths: true when objects are due now, which the caller
 * then kills with mb_lifeq_kill_due (or mb_lifeq_tick_slow). */
static inline __attribute__((always_inline)) bool mb_lifeq_tick_due(mb_lifeq_t *q)
{
	q->now++;
	return q->wheel && q->wheel[q->now & q->mask];
}
static inline __attribute__((always_inline)) void mb_lifeq_tick(mb_lifeq_t *q)
{
	if (mb_lifeq_tick_due(q))
		mb_lifeq_tick_slow(q);
}
/* Kills the objects due now (after mb_lifeq_tick_due said so) by kill, in the
 * order mb_lifeq_tick_slow kills them through q->kill. kill must be what
 * q->kill does; given as a constant, it is inlined here, so a pattern can
 * spend one call per tick rather than an indirect call per object. */
static inline __attribute__((always_inline)) void
mb_lifeq_kill_due(mb_lifeq_t *q, mb_kill_fn *kill)
{
	mb_live_t *L = q->L;
	uint32_t *head = &q->wheel[q->now & q->mask];
	uint32_t i = *head;
	*head = 0;
	while (i) {
		mb_node_t n = L->node[i];
		L->node[i].next = L->node_free;
		L->node_free = i;
		kill(q, n.p, n.size);
		i = n.next;
	}
}
/* Objects living until the phase end die. */
void mb_lifeq_phase_end(mb_lifeq_t *q);
/* Every object of the queue dies (freed at once while L->draining). */
void mb_lifeq_drain(mb_lifeq_t *q);

/* A GC cycle: the dead are freed (their handoff coins from L->handoff_rng). */
void mb_live_gc(mb_live_t *L);
void mb_live_handoff(mb_live_t *L, void *p, size_t size);
void mb_live_dead_grow(mb_live_t *L);

/* Frees p now: on this thread, or (cross_thread_frees) on the next one. */
static inline __attribute__((always_inline)) void mb_live_release(mb_live_t *L, void *p,
								  size_t size)
{
	if (L->handoff_t && !L->draining && mb_rng_chance_at(&L->handoff_rng, L->handoff_t))
		mb_live_handoff(L, p, size);
	else
		mb_free(L->w, p, size);
}

/* A heap object: mb_alloc plus live accounting, and a GC when the heap goal is
 * reached (gc: paced; without it the goal is never reached). */
static inline __attribute__((always_inline)) void *mb_live_alloc(mb_live_t *L, size_t size,
								 unsigned flags)
{
	void *p = mb_alloc(L->w, size, flags);
	if (p) {
		L->heap_live += size;
		if (__builtin_expect(L->heap_live + L->heap_dead >= L->goal, 0))
			mb_live_gc(L);
	}
	return p;
}

/* p is garbage from now on: freed at once, or at the next GC (gc: paced). */
static inline __attribute__((always_inline)) void mb_live_dead(mb_live_t *L, void *p, size_t size)
{
	L->heap_live -= size;
	if (L->paced && !L->draining) {
		if (__builtin_expect((L->ndead + 1) * sizeof(mb_obj_t) > L->dead_bytes_cap, 0))
			mb_live_dead_grow(L);
		L->dead[L->ndead++] = (mb_obj_t){p, size};
		L->heap_dead += size;
	} else {
		mb_live_release(L, p, size);
	}
}

/* At the start of each step: frees what the previous thread handed over in
 * earlier chunks. */
void mb_live_step_begin(mb_live_t *L);
/* After the pattern drained its queues: frees the dead, the unsent batch and
 * the handed-over batches of earlier chunks. Leaves L->draining false. */
void mb_live_drain(mb_live_t *L);

#endif
