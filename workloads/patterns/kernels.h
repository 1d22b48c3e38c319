/*
 * The Go-pattern kernels, as building blocks: each pattern file (escape.c,
 * closure.c, slice.c) defines one kernel's params, option table and one
 * operation, and registers a pattern that runs it; request.c (the composite)
 * runs several of them per request. See workloads/README.md.
 *
 * A kernel's state holds its lifetime queue; its counters are kept in a block
 * of uint64_t that the pattern copies into mb_worker_t.kernel_counter.
 */
#ifndef MB_KERNELS_H
#define MB_KERNELS_H

#include <string.h>

#include "live.h"
#include "tape.h"

/* A kernel's state caches constants derived from the params it was last
 * called with (the pointer, `p` in the state; a phase's params never change
 * once loaded). A caller that changes params in place sets the state's p to
 * NULL. */

/* Object access lives in this header only (mb_obj_*), so that a profile can
 * tell the kernels' own work from the memory traffic of the objects.
 * Writes one word per 64-byte line of [p, p + size): the value is derived from
 * the address, so mb_obj_check can tell whether the memory was kept intact. */
static inline void mb_obj_write_raw(void *p, size_t size)
{
	for (size_t off = 0; off + sizeof(uintptr_t) <= size; off += 64)
		*(uintptr_t *)((char *)p + off) = ((uintptr_t)p + off) ^ 0x5bd1e995u;
}

/* The same for an object of a taped pattern's record pass (a handle:
 * tape.h), where the write is recorded and made at replay. */
static inline void mb_obj_write(void *p, size_t size)
{
	if (__builtin_expect(mb_tape_is_handle(p), 0))
		mb_tape_rec_write(p, size);
	else
		mb_obj_write_raw(p, size);
}

/* Reads the words mb_obj_write wrote; returns how many differ (0 when the
 * allocator kept the object intact). */
static inline unsigned mb_obj_check(const void *p, size_t size)
{
	unsigned bad = 0;
	for (size_t off = 0; off + sizeof(uintptr_t) <= size; off += 64)
		bad += *(const uintptr_t *)((const char *)p + off) !=
		       (((uintptr_t)p + off) ^ 0x5bd1e995u);
	return bad;
}

/* mb_obj_check's count added to *bad (a handle: at replay). */
static inline void mb_obj_check_into(const void *p, size_t size, uint64_t *bad)
{
	if (__builtin_expect(mb_tape_is_handle(p), 0))
		mb_tape_rec_check(p, size, bad);
	else
		*bad += mb_obj_check(p, size);
}

/* Writes the words of [from, to) that mb_obj_write would write for the whole
 * object at p (lines counted from the object's start). */
static inline void mb_obj_write_range_raw(void *p, size_t from, size_t to)
{
	for (size_t off = (from + 63) & ~(size_t)63; off + sizeof(uintptr_t) <= to; off += 64)
		*(uintptr_t *)((char *)p + off) = ((uintptr_t)p + off) ^ 0x5bd1e995u;
}

static inline void mb_obj_write_range(void *p, size_t from, size_t to)
{
	if (__builtin_expect(mb_tape_is_handle(p), 0))
		mb_tape_rec_write_range(p, from, to);
	else
		mb_obj_write_range_raw(p, from, to);
}

/* Copies len bytes of the object at src to the one at dst (growslice's and
 * copystack's copy). */
static inline void mb_obj_copy(void *dst, const void *src, size_t len)
{
	if (__builtin_expect(mb_tape_is_handle(dst), 0))
		mb_tape_rec_copy(dst, src, len);
	else
		memcpy(dst, src, len);
}

/* A stack frame of `frame` bytes at f, `off` bytes from the stack base: a word
 * per line (its offset), and the last word holds the frame's size. */
static inline void mb_obj_write_frame_raw(char *f, uint32_t frame, uint32_t off)
{
	for (uint32_t o = 0; o + 16 <= frame; o += 64)
		*(uint64_t *)(f + o) = (uint64_t)(off + o);
	*(uint64_t *)(f + frame - 8) = frame;
}

static inline void mb_obj_write_frame(char *f, uint32_t frame, uint32_t off)
{
	if (__builtin_expect(mb_tape_is_handle(f), 0))
		mb_tape_rec_frame_w(f, frame, off);
	else
		mb_obj_write_frame_raw(f, frame, off);
}

/* The size of the frame that ends at base + used, read from its last word
 * and checked against its first (as mb_obj_write_frame wrote them); 0 when
 * the stack was not kept intact. */
static inline uint64_t mb_obj_read_frame(const char *base, uint32_t used)
{
	uint64_t frame = *(const uint64_t *)(base + used - 8);
	if (frame < 16 || frame > used || (frame & 15) ||
	    *(const uint64_t *)(base + used - frame) != used - frame)
		return 0;
	return frame;
}

/* mb_obj_read_frame(base, used) != frame added to *bad: the check of a
 * return whose frame size is known without the read (a handle: at replay). */
static inline void mb_obj_check_frame_into(const char *base, uint32_t used, uint64_t frame,
					   uint64_t *bad)
{
	if (__builtin_expect(mb_tape_is_handle(base), 0))
		mb_tape_rec_frame_r(base, used, frame, bad);
	else
		*bad += mb_obj_read_frame(base, used) != frame;
}

/* One word of an object (a box's header, a funcval's word): the replay's
 * store, here so that a profile counts it with the objects' traffic. */
static inline void mb_obj_set_word(void *at, uint64_t v)
{
	*(uint64_t *)at = v;
}

/* A closure's boxed variable of size bytes at box: word 0 is the variable
 * (the bytes after it are its other fields); its size is kept in the high 32
 * bits of word 0, which the calls' increments never reach. */
static inline void mb_obj_write_box(uint64_t *box, size_t size)
{
	if (__builtin_expect(mb_tape_is_handle(box), 0))
		mb_tape_rec_word(box, (uint64_t)size << 32);
	else
		box[0] = (uint64_t)size << 32;
}

/* A record pass knows the size it allocated the box with, which is what the
 * box holds. */
static inline size_t mb_obj_box_size(const uint64_t *box)
{
	if (__builtin_expect(mb_tape_is_handle(box), 0))
		return mb_tape_size(box);
	return (size_t)(box[0] >> 32);
}

/* A closure's funcval at fv: fv[0] the code pointer, then n captured words;
 * capture i (bit i of refs) holds box[i], the others word v ^ i. For a
 * handle the words are recorded, and its boxes are noted on the record side
 * for mb_obj_funcval_boxes: a chain of notes (tape.h) from fv through each
 * box in capture order, each the next box's slot + 1, 0 at the end. */
static inline void mb_obj_write_funcval(uint64_t *fv, uintptr_t code, unsigned n, unsigned refs,
					uint64_t v, uint64_t *const *box)
{
	if (__builtin_expect(mb_tape_is_handle(fv), 0)) {
		const void *last = fv;
		mb_tape_rec_word(fv, (uint64_t)code);
		for (unsigned i = 0; i < n; i++) {
			if (refs >> i & 1) {
				mb_tape_rec_pword(fv + 1 + i, box[i]);
				mb_tape_set_note(last, (uint64_t)mb_tape_slot(box[i]) + 1);
				last = box[i];
			} else {
				mb_tape_rec_word(fv + 1 + i, v ^ i);
			}
		}
		mb_tape_set_note(last, 0);
		return;
	}
	fv[0] = (uint64_t)code;
	for (unsigned i = 0; i < n; i++)
		fv[1 + i] = v ^ i;
	for (unsigned m = refs; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		fv[1 + i] = (uint64_t)(uintptr_t)box[i];
	}
}

/* Calls the closure at fv, whose code pointer lies in [code, code + len):
 * at offset captures * 256 + by-reference mask. Reads its environment and
 * increments each boxed variable (a NULL box, whose allocation failed at a
 * tape's replay, is skipped); *acc gets a value depending on all it read.
 * false (nothing read) when the code pointer is not in the range. */
static inline bool mb_obj_call_funcval(uint64_t *fv, uintptr_t code, size_t len, uint64_t *acc)
{
	uintptr_t c = (uintptr_t)fv[0] - code;
	if (c >= len)
		return false;
	unsigned n = (unsigned)c >> 8, refs = c & 0xff;
	uint64_t a = c;
	for (unsigned i = 0; i < n; i++) {
		if (refs >> i & 1) {
			uint64_t *box = (uint64_t *)fv[1 + i];
			if (box)
				a += box[0]++;
		} else {
			a ^= fv[1 + i];
		}
	}
	*acc = a;
	return true;
}

/* mb_obj_call_funcval, counted: a call adds 1 to *calls and its acc to
 * *sink, a failed one 1 to *bad. For a handle the call is counted now and
 * made at replay (MB_TOP_CALLFV), where a failure takes the count back. */
static inline void mb_obj_call_funcval_into(uint64_t *fv, uintptr_t code, size_t len,
					    uint64_t *bad, uint64_t *calls, uint64_t *sink)
{
	uint64_t acc;
	if (__builtin_expect(mb_tape_is_handle(fv), 0)) {
		mb_tape_rec_callfv(fv, code, len, bad, calls, sink);
	} else if (__builtin_expect(!mb_obj_call_funcval(fv, code, len, &acc), 0)) {
		*bad += 1;
	} else {
		*calls += 1;
		*sink += acc;
	}
}

/* The boxes of the closure at fv (code and len as mb_obj_call_funcval's)
 * into box[], in capture order; returns how many. None when the code
 * pointer is not in the range (the funcval was overwritten: its boxes are
 * lost). For a handle, from mb_obj_write_funcval's notes, as the object
 * holds them at replay. */
static inline unsigned mb_obj_funcval_boxes(const uint64_t *fv, uintptr_t code, size_t len,
					    uint64_t **box)
{
	unsigned k = 0;
	if (__builtin_expect(mb_tape_is_handle(fv), 0)) {
		for (uint64_t next = mb_tape_note(fv); next; next = mb_tape_note(box[k - 1]))
			box[k++] = mb_tape_handle((uint32_t)(next - 1));
		return k;
	}
	uintptr_t c = (uintptr_t)fv[0] - code;
	if (c >= len)
		return 0;
	for (unsigned m = (unsigned)c & 0xff & ((1u << (c >> 8)) - 1); m; m &= m - 1)
		box[k++] = (uint64_t *)(uintptr_t)fv[1 + __builtin_ctz(m)];
	return k;
}

/* --- escape-heavy (escape.c) --- */
typedef struct escape_params {
	mb_dist_t objects;      /* objects a call makes */
	mb_dist_t size;         /* bytes per object */
	double escape_fraction; /* objects that outlive the call (heap) */
	double scan_fraction;   /* objects with pointers (scan span class) */
	double box_fraction;    /* calls that box a value in an interface */
	double box_small;       /* boxed values < 256: Go's staticuint64s, no allocation */
	mb_life_t life;         /* lifetime of escaped objects and boxes */
} escape_params_t;

enum { ESC_CALLS, ESC_ESCAPED, ESC_LOCAL, ESC_HEAP_NOESC, ESC_BOXED, ESC_BOX_STATIC,
       ESC_BAD_READS, ESC_NCOUNT };
#define ESC_FRAME_MAX 64 /* objects one call may make */

typedef struct escape_state {
	mb_lifeq_t q;
	uint64_t c[ESC_NCOUNT];
	const escape_params_t *p; /* the params the thresholds below are of */
	uint64_t esc_t, scan_t;   /* escape_fraction, scan_fraction * 2^32 */
	uint64_t box_t, box_small_t; /* box_fraction, box_small: mb_rng_chance_t */
	mb_obj_t frame[ESC_FRAME_MAX];
} escape_state_t;

extern const mb_option_t escape_options[];
int escape_validate(mb_yctx_t *y, yaml_node_t *node, const void *params);
int escape_state_init(escape_state_t *s, mb_live_t *L, size_t params_off);
void escape_call(mb_worker_t *w, const escape_params_t *p, escape_state_t *s);

/* --- closure-heavy (closure.c) --- */
typedef struct closure_params {
	mb_dist_t captures;       /* variables a closure captures (0..8) */
	double by_ref_fraction;   /* captured variables shared or mutated: boxed */
	mb_dist_t var_size;       /* bytes of a boxed variable */
	bool var_noscan;          /* boxed variables hold no pointers */
	double register_fraction; /* closures registered as callbacks (escape) */
	mb_life_t life;           /* lifetime of registered closures */
} closure_params_t;

enum { CLO_MADE, CLO_REGISTERED, CLO_BOXES, CLO_BOX_BYTES, CLO_CALLS, CLO_LOCAL,
       CLO_BAD_READS, CLO_NCOUNT };

typedef struct closure_state {
	mb_lifeq_t q;
	uint64_t c[CLO_NCOUNT];
	uint64_t sink;            /* what calls read, so they are not optimised out */
	const closure_params_t *p; /* the params the thresholds below are of */
	unsigned ref_t;           /* by_ref_fraction * 256: a draw byte below it boxes */
	uint64_t reg_t;           /* register_fraction: mb_rng_chance_t */
} closure_state_t;

extern const mb_option_t closure_options[];
int closure_validate(mb_yctx_t *y, yaml_node_t *node, const void *params);
int closure_state_init(closure_state_t *s, mb_live_t *L, size_t params_off);
void closure_op(mb_worker_t *w, const closure_params_t *p, closure_state_t *s);

/* --- large-slice (slice.c) --- */
typedef struct slice_params {
	uint64_t elem_size;     /* bytes per element */
	bool noscan;            /* elements hold no pointers */
	mb_dist_t length;       /* elements a slice is appended to */
	uint64_t append_batch;  /* elements per append call */
	double make_fraction;   /* slices made by make([]T, n) instead of appends */
	mb_dist_t make_len;     /* n of make([]T, n) */
	mb_life_t life;         /* lifetime of a finished slice */
} slice_params_t;

enum { SL_SLICES, SL_MAKES, SL_GROWTHS, SL_COPIED, SL_LARGE, SL_BYTES, SL_BAD_READS,
       SL_NCOUNT };

typedef struct slice_state {
	mb_lifeq_t q;
	uint64_t c[SL_NCOUNT];
	const slice_params_t *p;  /* the params make_t is of */
	uint64_t make_t;          /* make_fraction: mb_rng_chance_t */
} slice_state_t;

extern const mb_option_t slice_options[];
int slice_validate(mb_yctx_t *y, yaml_node_t *node, const void *params);
int slice_state_init(slice_state_t *s, mb_live_t *L, size_t params_off);
void slice_op(mb_worker_t *w, const slice_params_t *p, slice_state_t *s);

#endif
