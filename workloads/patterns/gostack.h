/*
 * Goroutine stacks, as the Go runtime manages them (runtime/stack.go):
 * a goroutine starts with a small stack (_StackMin / fixedStack = 2 KiB on
 * linux/amd64); a call whose frame does not fit above the guard triggers
 * morestack → newstack, which doubles the size (again while the frame still
 * would not fit) and copystack copies the used part to the new stack; at
 * each GC, shrinkstack halves a stack whose used part is under a quarter of
 * it (used < size / 4, never below fixedStack). Exited goroutines keep a
 * standard-size stack for the next one (gfput / gfget), bigger ones are
 * freed.
 * Here a stack grows upward from base (Go's grow downward; only the mirror
 * image): frames are pushed at base + used. Each frame ends with a word that
 * holds its size, so a return reads the stack it pops, and a wrong copy would
 * show. Stacks come from the allocator's stack_alloc / stack_free where the
 * plug-in has them (a stack/heap split), else from its malloc (noscan).
 * A return takes its frame's size from the frame record (mb_gframes_t),
 * kept beside the stacks, and checks the stack's word against it: in a taped
 * pattern's record pass (tape.h) the stacks are handles, the calls and
 * copies are recorded, and the replay reads the word back.
 */
#ifndef MB_GOSTACK_H
#define MB_GOSTACK_H

#include "kernels.h"

#define MB_STACK_MIN 2048u  /* fixedStack on linux/amd64 (_StackMin, no _StackSystem) */
#define MB_STACK_GUARD 928u /* stackGuard = 928 * stackGuardMultiplier + _StackSystem */
#define MB_STACK_SMALL 128u /* abi.StackSmall: frames this small skip the frame-size term */

typedef struct mb_g {
	char *stack;       /* NULL: no goroutine in this slot; a handle in a
	                      record pass */
	uint32_t size;     /* bytes of the stack */
	uint32_t used;     /* bytes of frames on it */
	uint32_t depth;    /* frames on it */
	uint32_t fseg;     /* its newest segment in the frame record (0: none) */
} mb_g_t;

/* The frame record: the sizes of the frames on goroutines' stacks, kept
 * apart from the stacks, so that a return knows its frame's size without
 * reading the stack (a record pass cannot: its stacks are handles). A
 * goroutine's sizes lie in segments of MB_GFR_SEG, chained newest first from
 * mb_g_t.fseg; all but the newest are full, so g->depth says where the top
 * is: O(1) a call or a return. Segments come from an mmap'd array (never
 * the allocator under test), grown by doubling; index 0 is never handed
 * out. A goroutine's record moves with its mb_g_t (copies of it included):
 * a copystack changes the stack, never the record. */
#define MB_GFR_SEG 3 /* sizes a segment: 16 bytes with its link */

typedef struct mb_gfr_seg {
	uint32_t prev;                /* the goroutine's next older segment;
	                                 on the free list, the next free one */
	uint32_t frame[MB_GFR_SEG];
} mb_gfr_seg_t;

typedef struct mb_gframes {
	mb_gfr_seg_t *seg; /* cap mapped, [1, n) handed out at some time */
	uint32_t n, cap;
	uint32_t free;     /* free segments, chained through prev; 0: none */
} mb_gframes_t;

/* 0 or -ENOMEM. */
int mb_gframes_init(mb_gframes_t *fr);
void mb_gframes_fini(mb_gframes_t *fr);
/* A segment never handed out (the map doubles when full; out of memory
 * aborts, as the tape's own memory does). */
uint32_t mb_gframes_more(mb_gframes_t *fr);
/* Releases all of g's segments (g->fseg becomes 0). */
void mb_gframes_drop(mb_gframes_t *fr, mb_g_t *g);

/* Records a frame of `frame` bytes on g, before its depth counts it. */
static inline __attribute__((always_inline)) void mb_gframes_push(mb_gframes_t *fr, mb_g_t *g,
								  uint32_t frame)
{
	uint32_t i = g->depth % MB_GFR_SEG;
	if (i == 0) {
		uint32_t s = fr->free;
		if (s)
			fr->free = fr->seg[s].prev;
		else
			s = mb_gframes_more(fr);
		fr->seg[s].prev = g->fseg;
		g->fseg = s;
	}
	fr->seg[g->fseg].frame[i] = frame;
}

/* The size of g's top frame (depth > 0), taken off the record, before its
 * depth drops. */
static inline __attribute__((always_inline)) uint32_t mb_gframes_pop(mb_gframes_t *fr, mb_g_t *g)
{
	uint32_t i = (g->depth - 1) % MB_GFR_SEG, top = g->fseg;
	mb_gfr_seg_t *s = &fr->seg[top];
	uint32_t frame = s->frame[i];
	if (i == 0) {
		g->fseg = s->prev;
		s->prev = fr->free;
		fr->free = top;
	}
	return frame;
}

typedef struct mb_gstats {
	uint64_t grows, shrinks, copied; /* copystack calls and bytes they copied */
	uint64_t started, exited;        /* goroutines */
	uint64_t calls, stack_bytes, stack_bytes_peak, live; /* live: goroutines now */
	uint64_t bad_frames;             /* frame words that did not read back */
	mb_gframes_t *fr; /* the frame record of these goroutines, kept by every
	                     call and return (required: a return takes its
	                     frame's size from it) */
} mb_gstats_t;

/* A goroutine starts in g with a stack of `size` bytes (the spare one when
 * `spare` holds one of that size). false when out of memory. */
bool mb_g_start(mb_worker_t *w, mb_g_t *g, uint32_t size, mb_g_t *spare, mb_gstats_t *gs);
/* The goroutine exits; its stack is kept in `spare` if that is empty and the
 * stack has the start size, else freed. */
void mb_g_exit(mb_worker_t *w, mb_g_t *g, uint32_t start_size, mb_g_t *spare,
	       mb_gstats_t *gs);
/* newstack for a call with a frame of `frame` bytes: the size doubles, again
 * while the frame would not fit; copystack moves the used part. false when
 * out of memory. */
bool mb_g_grow(mb_worker_t *w, mb_g_t *g, uint32_t frame, mb_gstats_t *gs);

/* mb_g_call on g, a copy of the goroutine in slot `home` that the caller
 * keeps in locals (in registers) across several steps: *g == *home on entry
 * is not needed, but a growth writes g to home, grows home out of line and
 * reads it back, so that on return g is the goroutine (and home is stale
 * until the caller writes g back). */
static inline __attribute__((always_inline)) bool mb_g_call_in(mb_worker_t *w, mb_g_t *g,
							       mb_g_t *home, uint32_t frame,
							       mb_gstats_t *gs)
{
	/* the function prologue's check (cmd/internal/obj/x86 stacksplit): a
	 * frame of at most StackSmall bytes may use the slack below the guard,
	 * a bigger one needs SP - (frame - StackSmall) > stackguard0 */
	uint64_t over = frame > MB_STACK_SMALL ? frame - MB_STACK_SMALL : 0;
	if (__builtin_expect((uint64_t)g->used + over + MB_STACK_GUARD >= g->size, 0)) {
		*home = *g;
		bool ok = mb_g_grow(w, home, frame, gs);
		*g = *home;
		if (!ok)
			return false;
	}
	mb_gframes_push(gs->fr, g, frame);
	/* the frame's locals: a word per line; its last word is its size */
	mb_obj_write_frame(g->stack + g->used, frame, g->used);
	g->used += frame;
	g->depth++;
	gs->calls++;
	return true;
}

/* A call with a frame of `frame` bytes (a multiple of 16, >= 16): grows the
 * stack first when Go's prologue would call morestack, i.e. when
 * used + max(frame - 128, 0) + 928 >= size. false when out of memory.
 * Inline; the growth is out of line. */
static inline __attribute__((always_inline)) bool mb_g_call(mb_worker_t *w, mb_g_t *g,
							    uint32_t frame, mb_gstats_t *gs)
{
	return mb_g_call_in(w, g, g, frame, gs);
}

/* Returns from the top frame (depth > 0). Its size comes from the frame
 * record, and the stack's frame is read back and checked against it (at
 * replay for a handle): a frame that does not read back is counted and the
 * walk goes on (a record pass has decided it before the read). */
static inline __attribute__((always_inline)) void mb_g_ret(mb_g_t *g, mb_gstats_t *gs)
{
	uint32_t frame = mb_gframes_pop(gs->fr, g);
	mb_obj_check_frame_into(g->stack, g->used, frame, &gs->bad_frames);
	g->used -= frame;
	g->depth--;
}

/* copystack to half the size (the shrink itself; mb_g_shrink decides). */
void mb_g_halve(mb_worker_t *w, mb_g_t *g, mb_gstats_t *gs);

/* The GC point for one goroutine: halve the stack when used < size / 4
 * (shrinkstack: "if used >= avail/4 { return }"), never below min_size.
 * Inline: a GC point visits every goroutine, and most keep their stack. */
static inline __attribute__((always_inline)) void mb_g_shrink(mb_worker_t *w, mb_g_t *g,
							      uint32_t min_size,
							      mb_gstats_t *gs)
{
	if (!g->stack || g->size / 2 < min_size || g->used >= g->size / 4)
		return;
	mb_g_halve(w, g, gs);
}
/* In a taped pattern's first record pass (tape.h; *done still false), the
 * stacks of the n goroutines at g and of spare (may be NULL), made directly
 * in thread_init, become handles, and *done is set. Outside a record pass,
 * or once *done, nothing. */
void mb_g_adopt(mb_worker_t *w, mb_g_t *g, uint64_t n, mb_g_t *spare, bool *done);
/* Frees the stack (drain), counting it as an exit. */
void mb_g_free(mb_worker_t *w, mb_g_t *g, mb_gstats_t *gs);

#endif
