/*
 * The operation tape: a pattern's decisions made ahead of the measured window.
 *
 * A taped pattern (mb_pattern_t.taped) runs its step twice over, in two
 * passes of the same operations:
 *   record  the pattern's own code, unchanged, with w->tape set: mb_alloc and
 *           mb_free do the accounting (counts, bytes, checksum) and append an
 *           entry instead of calling the allocator, and mb_alloc returns a
 *           handle (a tagged slot number, never a real address) where the
 *           object would be; the mb_obj_* accesses of kernels.h (and
 *           gostack's frames) append entries for handles. All the choosing
 *           (sizes, lifetimes, which slot dies) happens here, outside the
 *           timed window.
 *   replay  mb_tape_replay walks the entries: the allocator calls, a slot
 *           table from handles to the real pointers, and the object writes.
 *           Only this pass is timed and counted.
 * So the operations, their order and every count are those of the pattern
 * run directly; what the measured window holds besides the allocator and the
 * objects is the replay loop, a few instructions an entry.
 *
 * Contract for a taped pattern: it touches object memory only through the
 * mb_obj_* functions, which know handles, and never reads an object to
 * decide anything (what it needs it keeps on its own side: mb_tape_size,
 * mb_tape_note, gostack's frame record); an object handed to another thread
 * crosses as a real pointer, written at replay (mb_tape_rec_handoff); objects
 * made before its first record pass (in thread_init) get handles there
 * (mb_tape_rec_adopt). The slot tables take 24 bytes per slot, for the most
 * objects the pattern has had live at once (a power of two, 64k at least).
 * A failed allocation is seen only at replay: the slot holds NULL, the later
 * writes and the free of that slot are skipped, and the counts of both are
 * taken back; the checksum stays that of the stream as requested. A pointer
 * word to the object (mb_tape_rec_pword) holds NULL.
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
 * countdown, as a direct run decides it per call. "base" is the slot's
 * pointer at replay; arg, size and aux as each kind says. */
enum {
	MB_TOP_ALLOC,        /* base = malloc(size, flags) */
	MB_TOP_ALLOC_W,      /* the same, then mb_obj_write(base, size) */
	MB_TOP_FREE,         /* free(base, size) */
	MB_TOP_FREE_PTR,     /* free((void *)arg, size): an object another
	                        thread's replay handed over (MB_TOP_HANDOFF) */
	MB_TOP_FREE_C,       /* *ctr[aux] += mb_obj_check(base, arg), then
	                        free(base, size): a check right before the free */
	MB_TOP_ALLOC_SLOW, MB_TOP_ALLOC_W_SLOW, MB_TOP_FREE_SLOW, MB_TOP_FREE_PTR_SLOW,
	MB_TOP_FREE_C_SLOW,
	MB_TOP_NOP,          /* an entry of an object whose allocation failed */
	MB_TOP_WRITE,        /* mb_obj_write(base + arg, size) */
	MB_TOP_WRITE_RANGE,  /* mb_obj_write_range(base, arg, size) */
	MB_TOP_CHECK,        /* *ctr[aux] += mb_obj_check(base + arg, size) */
	MB_TOP_COPY,         /* memcpy(base, the pointer of slot arg, size) */
	MB_TOP_WORD,         /* the word at base + arg = size */
	MB_TOP_PWORD,        /* the word at base + arg = the pointer of slot size */
	MB_TOP_CALLFV,       /* mb_obj_call_funcval(base, arg, size, &acc): false
	                        adds 1 to *ctr[aux] (bad reads) and takes 1 from
	                        *ctr[aux + 1] (calls, counted when recorded); true
	                        adds acc to *ctr[aux + 2] (the sink) */
	MB_TOP_FRAME_W,      /* mb_obj_write_frame(base + arg, size, arg) */
	MB_TOP_FRAME_R,      /* mb_obj_read_frame(base, arg) != size adds 1 to
	                        *ctr[aux] (bad frames) */
	MB_TOP_STACK_ALLOC,  /* base = stack_alloc(size) (or malloc, noscan) */
	MB_TOP_STACK_FREE,   /* stack_free(base, size) (or free) */
	MB_TOP_HANDOFF,      /* *(void **)arg = base: the object goes to another
	                        thread, which frees it after this chunk */
	MB_TOP_END,          /* the replay's stop, written after the last entry */
	MB_TOP_NKINDS
};

typedef struct mb_tape_op {
	uint8_t kind;     /* MB_TOP_* */
	uint8_t flags;    /* ALLOC: the mb_alloc flags */
	uint16_t aux;     /* a counter's index in mb_tape_t.ctr */
	uint32_t slot;
	uint64_t size;
	uint64_t arg;
} mb_tape_op_t;

#define MB_TAPE_NCTR 256 /* counters a tape's entries may name */

typedef struct mb_tape {
	mb_tape_op_t *op;  /* the recorded entries, n of cap */
	size_t n, cap;
	void **ptr;        /* replay: slot -> the allocator's pointer */
	uint32_t *idle;    /* record: slots free to hand out, nidle of them */
	uint32_t nidle, nslots; /* slots handed out so far */
	uint32_t slot_cap;  /* what the slot tables (ptr, idle, size, note,
	                       failed) hold; they double as needed */
	uint64_t *failed;  /* a bit per slot: its allocation returned NULL at
	                      replay, and its free is not recorded yet */
	uint32_t *size;    /* record: the size of each slot's object (capped at
	                      UINT32_MAX): mb_tape_size */
	uint64_t *note;    /* record: a word per slot that the pattern keeps in
	                      place of reading the object back: mb_tape_note */
	uint32_t countdown; /* record: calls until the next _SLOW one */
	unsigned nctr;
	uint64_t *ctr[MB_TAPE_NCTR]; /* the counters entries add to (aux) */
	mb_worker_t *w;    /* the worker recording */
	/* A record that reaches MB_TAPE_FLUSH entries replays them first:
	 * flush(flush_arg) when set (the harness times it as a replay), else
	 * mb_tape_replay(w, t). flush must replay and empty the tape. */
	void (*flush)(void *arg);
	void *flush_arg;
} mb_tape_t;

#define MB_TAPE_FLUSH (64u << 10) /* entries: 1.5 MiB */

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

/* The handle of slot's object (offset 0). */
static inline void *mb_tape_handle(uint32_t slot)
{
	return (void *)(uintptr_t)(MB_TAPE_TAG | (uint64_t)slot << MB_TAPE_OFF_BITS);
}

/* The offset into its object that a handle carries (handle + n is the
 * object's byte n, as a pointer would be). */
static inline uint64_t mb_tape_off(const void *p)
{
	return (uintptr_t)p & ((1ull << MB_TAPE_OFF_BITS) - 1);
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

/* Unmeasured runs of w's pattern (warm-up, the final drain, sampling):
 * k operations of its step, or its drain; a taped pattern's recorded and
 * replayed on t (the step in pieces of at most MB_TAPE_PIECE_OPS, so the
 * tape stays small), another's run directly (t unused). */
void mb_tape_run_ops(mb_worker_t *w, mb_tape_t *t, uint64_t k);
void mb_tape_run_drain(mb_worker_t *w, mb_tape_t *t);
/* The pattern's phase_end and drain in the shape mb_tape_record takes. */
void mb_tape_pattern_phase_end(mb_worker_t *w, uint64_t unused);
void mb_tape_pattern_drain(mb_worker_t *w, uint64_t unused);

/* The record pass's side of mb_alloc and mb_free (pattern.h): h is a handle,
 * or for mb_tape_rec_free also a real pointer (an object another thread's
 * replay handed over). */
void *mb_tape_rec_alloc(mb_worker_t *w, size_t size, unsigned flags);
void mb_tape_rec_free(mb_worker_t *w, void *h, size_t size);
/* ... of the stack calls (gostack.c): the accounting as stack_alloc's and
 * stack_free's, with their tags. */
void *mb_tape_rec_stack_alloc(mb_worker_t *w, size_t size);
void mb_tape_rec_stack_free(mb_worker_t *w, void *h, size_t size);
/* A handle for p, an object made outside any record pass (directly, as by a
 * pattern's thread_init), from here on: a slot never handed out before, so
 * that no entry of the tape names it yet and its pointer is set at once (no
 * entry). No accounting: p was counted when it was made. */
void *mb_tape_rec_adopt(mb_worker_t *w, void *p, size_t size);
/* ... of a cross-thread handoff (live.c): *dst gets the pointer at replay;
 * h's slot is free from here on the recording side. */
void mb_tape_rec_handoff(mb_worker_t *w, void *h, void **dst);
/* ... of the object accesses of kernels.h and gostack.h, on handles (the
 * handle's offset counts): the entries of the same names above. Counters
 * are named by address (at most MB_TAPE_NCTR per tape). */
void mb_tape_rec_write(void *h, size_t size);
void mb_tape_rec_write_range(void *h, size_t from, size_t to);
void mb_tape_rec_check(const void *h, size_t size, uint64_t *bad);
void mb_tape_rec_copy(void *dst, const void *src, size_t len);
void mb_tape_rec_word(void *h, uint64_t v);
void mb_tape_rec_pword(void *h, const void *src);
/* ... and counts the call in *calls (its entry takes it back if the call
 * fails, or if h's allocation does at replay). bad, calls and sink are named
 * as one unit: three consecutive counters of the tape. */
void mb_tape_rec_callfv(void *h, uintptr_t code, size_t len, uint64_t *bad, uint64_t *calls,
			uint64_t *sink);
void mb_tape_rec_frame_w(void *h, uint32_t frame, uint32_t off);
void mb_tape_rec_frame_r(const void *h, uint32_t used, uint64_t frame, uint64_t *bad);
/* The size a handle's object was allocated with (capped at UINT32_MAX): what
 * the record pass knows in place of reading the object. */
size_t mb_tape_size(const void *h);
/* The note of h's slot: what the record pass last set there with
 * mb_tape_set_note. A slot's note outlives its object (the next object of
 * the slot finds it), so a pattern sets an object's note before it reads it.
 * Generator-side only: nothing of it reaches the tape. */
uint64_t mb_tape_note(const void *h);
void mb_tape_set_note(const void *h, uint64_t v);

/* Operations a taped step records per piece of a measured chunk (a tape
 * holds at most MB_TAPE_FLUSH entries in any case). */
#define MB_TAPE_PIECE_OPS 4096

#endif
