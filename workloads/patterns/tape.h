/*
 * The operation tape: a pattern's decisions made ahead of the measured window.
 *
 * A taped pattern (mb_pattern_t.taped) runs its step twice over, in two
 * passes of the same operations:
 *   record  the pattern's own code, unchanged, with w->tape set: mb_alloc and
 *           mb_free do the accounting (counts, bytes, checksum) and append an
 *           entry instead of calling the allocator, and mb_alloc returns a
 *           handle (a tagged slot number, never a real address) where the
 *           object would be; the mb_obj_* writes of kernels.h append entries
 *           for handles. All the choosing (sizes, lifetimes, which slot dies)
 *           happens here, outside the timed window.
 *   replay  mb_tape_replay walks the entries: the allocator calls, a slot
 *           table from handles to the real pointers, and the object writes.
 *           Only this pass is timed and counted.
 * So the operations, their order and every count are those of the pattern
 * run directly; what the measured window holds besides the allocator and the
 * objects is the replay loop, a few instructions an entry.
 *
 * Contract for a taped pattern: it touches object memory only through the
 * mb_obj_* functions that know handles (mb_obj_write) and never compares or
 * reads a handle otherwise; it hands no objects to other threads.
 * A failed allocation is seen only at replay: the slot holds NULL, the later
 * writes and the free of that slot are skipped, and the counts of both are
 * taken back; the checksum stays that of the stream as requested.
 *
 * Everything here lives in mmap'd memory of its own: none of it goes
 * through the allocator under test.
 */
#ifndef MB_TAPE_H
#define MB_TAPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mb_worker mb_worker_t;

/* Entry kinds. _W: the object is written whole (mb_obj_write) after its
 * allocation; _SLOW: the call takes the out-of-line path of opstats.c (the
 * latency sample, usable sizes), decided at record time by the worker's
 * countdown, as a direct run decides it per call. */
enum {
	MB_TOP_ALLOC, MB_TOP_ALLOC_W, MB_TOP_FREE, MB_TOP_WRITE,
	MB_TOP_ALLOC_SLOW, MB_TOP_ALLOC_W_SLOW, MB_TOP_FREE_SLOW,
	MB_TOP_NOP,       /* an entry of an object whose allocation failed */
	MB_TOP_NKINDS
};

typedef struct mb_tape_op {
	uint8_t kind;     /* MB_TOP_* */
	uint8_t flags;    /* ALLOC: the mb_alloc flags */
	uint16_t unused;
	uint32_t slot;
	uint64_t size;    /* ALLOC, FREE: the object's size; WRITE: its size */
} mb_tape_op_t;

typedef struct mb_tape {
	mb_tape_op_t *op;  /* the recorded entries, n of cap */
	size_t n, cap;
	void **ptr;        /* replay: slot -> the allocator's pointer */
	uint32_t *idle;    /* record: slots free to hand out, nidle of them */
	uint32_t nidle, nslots; /* slots handed out so far (ptr, idle sized for
	                           MB_TAPE_SLOTS, touched as used) */
	uint64_t *failed;  /* a bit per slot: its allocation returned NULL at
	                      replay, and its free is not recorded yet */
	uint32_t countdown; /* record: calls until the next _SLOW one */
} mb_tape_t;

/* Handles: bit 63 set (so that a stray dereference faults: not canonical),
 * the slot above bit MB_TAPE_OFF_BITS, an offset into the object below it. */
#define MB_TAPE_TAG (1ull << 63)
#define MB_TAPE_OFF_BITS 34
#define MB_TAPE_SLOTS (1u << 29) /* live objects at most */

static inline int mb_tape_is_handle(const void *p)
{
	return ((uintptr_t)p & MB_TAPE_TAG) != 0;
}

static inline uint32_t mb_tape_slot(const void *p)
{
	return (uint32_t)(((uintptr_t)p & ~MB_TAPE_TAG) >> MB_TAPE_OFF_BITS);
}

/* The tape being recorded on this thread (NULL: none), for the mb_obj_*
 * functions, which see handles but not the worker. */
extern __thread mb_tape_t *mb_tape_recording;

/* 0 or -ENOMEM. */
int mb_tape_init(mb_tape_t *t);
void mb_tape_fini(mb_tape_t *t);

/* Records what fn(w, arg) does (the record pass: w->tape set, the latency
 * countdown kept aside), after what t already holds. */
void mb_tape_record(mb_worker_t *w, mb_tape_t *t, void (*fn)(mb_worker_t *, uint64_t),
		    uint64_t arg);
/* Replays t on w's allocator (the replay pass) and empties it. */
void mb_tape_replay(mb_worker_t *w, mb_tape_t *t);
/* Record then replay: for callers that time nothing (warm-up, drains). */
void mb_tape_run(mb_worker_t *w, mb_tape_t *t, void (*fn)(mb_worker_t *, uint64_t),
		 uint64_t arg);

/* k operations of w's pattern's step, recorded and replayed in pieces of at
 * most MB_TAPE_PIECE_OPS (the tape stays small). */
void mb_tape_run_ops(mb_worker_t *w, mb_tape_t *t, uint64_t k);

/* The record pass's mb_alloc / mb_free / mb_obj_write (pattern.h, kernels.h). */
void *mb_tape_rec_alloc(mb_worker_t *w, size_t size, unsigned flags);
void mb_tape_rec_free(mb_worker_t *w, void *h, size_t size);
void mb_tape_rec_write(void *h, size_t size);

/* Operations a taped step records per piece of a measured chunk: few enough
 * that the tape stays small (a few entries, 16 bytes each, an operation). */
#define MB_TAPE_PIECE_OPS 4096

#endif
