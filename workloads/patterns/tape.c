/*
 * The operation tape: the record pass (handles, slot tables, entries) and the
 * harness's entry points. The replay pass is tape_replay.c. See tape.h.
 */
#include "tape.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernels.h"

__thread mb_tape_t *mb_tape_recording;

#define TAPE_CAP0 (MB_TAPE_FLUSH + 1) /* entries mapped at first: a flush point
                                        and the replay's END after it */

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* The slot tables, each sized for slot_cap slots: bytes = cap * num / den.
 * They start small and double (mremap) as slots are handed out, so a tape
 * holds address space for the live objects it has had, not for
 * MB_TAPE_SLOTS. */
static const struct {
	size_t off;
	unsigned num, den;
} slot_tables[] = {
	{offsetof(mb_tape_t, ptr), sizeof(void *), 1},
	{offsetof(mb_tape_t, idle), sizeof(uint32_t), 1},
	{offsetof(mb_tape_t, size), sizeof(uint32_t), 1},
	{offsetof(mb_tape_t, note), sizeof(uint64_t), 1},
	{offsetof(mb_tape_t, failed), 1, 8},
};
#define SLOT_CAP0 (1u << 16)

static void **slot_table(mb_tape_t *t, unsigned i)
{
	return (void **)((char *)t + slot_tables[i].off);
}

static size_t slot_bytes(unsigned i, size_t cap)
{
	return cap * slot_tables[i].num / slot_tables[i].den;
}

int mb_tape_init(mb_tape_t *t)
{
	*t = (mb_tape_t){0};
	t->op = map(TAPE_CAP0 * sizeof(mb_tape_op_t));
	t->cap = TAPE_CAP0;
	t->slot_cap = SLOT_CAP0;
	bool ok = t->op != NULL;
	for (unsigned i = 0; i < sizeof(slot_tables) / sizeof(slot_tables[0]); i++)
		ok &= (*slot_table(t, i) = map(slot_bytes(i, t->slot_cap))) != NULL;
	if (!ok) {
		mb_tape_fini(t);
		return -ENOMEM;
	}
	return 0;
}

void mb_tape_fini(mb_tape_t *t)
{
	if (t->op)
		munmap(t->op, t->cap * sizeof(mb_tape_op_t));
	for (unsigned i = 0; i < sizeof(slot_tables) / sizeof(slot_tables[0]); i++)
		if (*slot_table(t, i))
			munmap(*slot_table(t, i), slot_bytes(i, t->slot_cap));
	*t = (mb_tape_t){0};
}

static _Noreturn void tape_die(const char *what)
{
	fprintf(stderr, "membench: operation tape: %s\n", what);
	abort();
}

/* One more slot: the tables double when full (record pass only: the
 * replay reads t->ptr once per call). */
static uint32_t slot_new(mb_tape_t *t)
{
	if (t->nslots == t->slot_cap) {
		if (t->slot_cap == MB_TAPE_SLOTS)
			tape_die("more live objects than slots");
		for (unsigned i = 0; i < sizeof(slot_tables) / sizeof(slot_tables[0]); i++) {
			void **tab = slot_table(t, i);
			void *p = mremap(*tab, slot_bytes(i, t->slot_cap),
					 slot_bytes(i, 2 * (size_t)t->slot_cap), MREMAP_MAYMOVE);
			if (p == MAP_FAILED)
				tape_die("out of memory for the slot tables");
			*tab = p;
		}
		t->slot_cap *= 2;
	}
	return t->nslots++;
}

static void tape_grow(mb_tape_t *t)
{
	size_t bytes = t->cap * sizeof(mb_tape_op_t);
	void *p = mremap(t->op, bytes, 2 * bytes, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		tape_die("out of memory for the tape");
	t->op = p;
	t->cap *= 2;
}

static mb_tape_op_t *tape_push(mb_tape_t *t)
{
	if (__builtin_expect(t->n == MB_TAPE_FLUSH, 0) && mb_tape_recording == t) {
		/* a long record (a drain of millions): replay what is there, so
		 * the tape stays small; the entries to come refer to slots the
		 * replayed ones set, and a failure seen now marks its slot */
		mb_tape_recording = NULL;
		if (t->flush)
			t->flush(t->flush_arg);
		else
			mb_tape_replay(t->w, t);
		mb_tape_recording = t;
	}
	if (__builtin_expect(t->n + 1 == t->cap, 0)) /* room for the replay's END */
		tape_grow(t);
	return &t->op[t->n++];
}

static inline bool slot_failed(const mb_tape_t *t, uint32_t slot)
{
	return t->failed[slot >> 6] >> (slot & 63) & 1;
}

/* The tape of this thread's record pass, for an access through handle h;
 * NULL when the access is to an object whose allocation failed at replay
 * (nothing to record). */
static mb_tape_t *rec_tape(const void *h)
{
	mb_tape_t *t = mb_tape_recording;
	if (!t || !mb_tape_is_handle(h))
		tape_die("an object access through a handle outside a record pass");
	return slot_failed(t, mb_tape_slot(h)) ? NULL : t;
}

/* The index of the first of k consecutive counters c[0..k) in t->ctr: a
 * run named before, or appended (a counter may then be named twice, which
 * entries, adding through the pointers, do not mind). */
static uint16_t ctr_run(mb_tape_t *t, uint64_t *const *c, unsigned k)
{
	for (unsigned i = 0; i + k <= t->nctr; i++) {
		unsigned j = 0;
		while (j < k && t->ctr[i + j] == c[j])
			j++;
		if (j == k)
			return (uint16_t)i;
	}
	if (t->nctr + k > MB_TAPE_NCTR)
		tape_die("too many counters");
	for (unsigned j = 0; j < k; j++)
		t->ctr[t->nctr + j] = c[j];
	t->nctr += k;
	return (uint16_t)(t->nctr - k);
}

static uint16_t ctr_index(mb_tape_t *t, uint64_t *c)
{
	return ctr_run(t, &c, 1);
}

/* The kind of a call entry: its _SLOW form when the countdown runs out (the
 * reset as opstats.c's slow_timed: every call with track_usable). */
static inline uint8_t call_kind(mb_worker_t *w, mb_tape_t *t, uint8_t kind, uint8_t slow)
{
	if (__builtin_expect(--t->countdown != 0, 1))
		return kind;
	t->countdown = w->track_usable ? 1 : MB_LAT_PERIOD;
	return slow;
}

/* A slot for an object of size bytes: an idle one, else a new one (adopt:
 * always new, no entry can name it yet). */
static uint32_t slot_get(mb_tape_t *t, size_t size, bool adopt)
{
	uint32_t slot = t->nidle && !adopt ? t->idle[--t->nidle] : slot_new(t);
	t->size[slot] = size < UINT32_MAX ? (uint32_t)size : UINT32_MAX;
	return slot;
}

/* The entry recorded last, which the next may fold into; NULL when none
 * (or a flush replayed it). */
static mb_tape_op_t *last_op(mb_tape_t *t)
{
	return t->n ? &t->op[t->n - 1] : NULL;
}

/* A free or hand-off of h's object: its slot is free for the record pass;
 * false when its allocation failed at replay (the free is dropped). */
static bool slot_put(mb_tape_t *t, const void *h)
{
	if (!mb_tape_is_handle(h) || mb_tape_off(h))
		tape_die("a taped pattern freed a pointer it did not get from the tape");
	uint32_t slot = mb_tape_slot(h);
	t->idle[t->nidle++] = slot;
	if (__builtin_expect(slot_failed(t, slot), 0)) {
		t->failed[slot >> 6] &= ~(1ull << (slot & 63));
		return false;
	}
	return true;
}

void *mb_tape_rec_alloc(mb_worker_t *w, size_t size, unsigned flags)
{
	mb_tape_t *t = w->tape;
	w->slow_countdown = 1; /* the next call comes here too */
	uint32_t slot = slot_get(t, size, false);
	mb_opstats_alloc(&w->st, size, size << 1);
	*tape_push(t) = (mb_tape_op_t){.kind = call_kind(w, t, MB_TOP_ALLOC, MB_TOP_ALLOC_SLOW),
				       .flags = (uint8_t)flags, .slot = slot, .size = size};
	return mb_tape_handle(slot);
}

void mb_tape_rec_free(mb_worker_t *w, void *h, size_t size)
{
	mb_tape_t *t = w->tape;
	w->slow_countdown = 1;
	if (!h) { /* handed over, but its allocation failed: nothing to free */
		mb_stream_mix(&w->st, (size << 1) | 1);
		return;
	}
	if (!mb_tape_is_handle(h)) { /* handed over by another thread's replay */
		mb_opstats_free(&w->st, size, (size << 1) | 1);
		*tape_push(t) = (mb_tape_op_t){
			.kind = call_kind(w, t, MB_TOP_FREE_PTR, MB_TOP_FREE_PTR_SLOW),
			.size = size, .arg = (uintptr_t)h};
		return;
	}
	if (!slot_put(t, h)) {
		/* the stream as requested keeps the step (tape.h) */
		mb_stream_mix(&w->st, (size << 1) | 1);
		return;
	}
	mb_opstats_free(&w->st, size, (size << 1) | 1);
	uint32_t slot = mb_tape_slot(h);
	mb_tape_op_t *last = last_op(t);
	if (last && last->kind == MB_TOP_CHECK && last->slot == slot && last->arg == 0) {
		/* the object's last read, then its free: one entry */
		last->kind = call_kind(w, t, MB_TOP_FREE_C, MB_TOP_FREE_C_SLOW);
		last->arg = last->size;
		last->size = size;
		return;
	}
	*tape_push(t) = (mb_tape_op_t){.kind = call_kind(w, t, MB_TOP_FREE, MB_TOP_FREE_SLOW),
				       .slot = slot, .size = size};
}

void *mb_tape_rec_stack_alloc(mb_worker_t *w, size_t size)
{
	mb_tape_t *t = w->tape;
	uint32_t slot = slot_get(t, size, false);
	mb_opstats_alloc(&w->st, size, ~(uint64_t)(size << 1));
	*tape_push(t) = (mb_tape_op_t){.kind = MB_TOP_STACK_ALLOC, .slot = slot, .size = size};
	return mb_tape_handle(slot);
}

void mb_tape_rec_stack_free(mb_worker_t *w, void *h, size_t size)
{
	mb_tape_t *t = w->tape;
	if (!slot_put(t, h)) {
		mb_stream_mix(&w->st, ~(uint64_t)((size << 1) | 1));
		return;
	}
	mb_opstats_free(&w->st, size, ~(uint64_t)((size << 1) | 1));
	*tape_push(t) = (mb_tape_op_t){.kind = MB_TOP_STACK_FREE, .slot = mb_tape_slot(h),
				       .size = size};
}

void *mb_tape_rec_adopt(mb_worker_t *w, void *p, size_t size)
{
	mb_tape_t *t = w->tape;
	uint32_t slot = slot_get(t, size, true);
	t->ptr[slot] = p;
	return mb_tape_handle(slot);
}

void mb_tape_rec_handoff(mb_worker_t *w, void *h, void **dst)
{
	mb_tape_t *t = w->tape;
	*dst = NULL; /* stays NULL if the allocation failed: the receiver skips it */
	if (slot_put(t, h))
		*tape_push(t) = (mb_tape_op_t){.kind = MB_TOP_HANDOFF, .slot = mb_tape_slot(h),
					       .arg = (uintptr_t)dst};
}

void mb_tape_rec_write(void *h, size_t size)
{
	mb_tape_t *t = rec_tape(h);
	if (!t)
		return;
	uint32_t slot = mb_tape_slot(h);
	uint64_t off = mb_tape_off(h);
	mb_tape_op_t *last = last_op(t);
	if (!off && last && last->slot == slot && last->size == size &&
	    (last->kind == MB_TOP_ALLOC || last->kind == MB_TOP_ALLOC_SLOW)) {
		last->kind = last->kind == MB_TOP_ALLOC ? MB_TOP_ALLOC_W : MB_TOP_ALLOC_W_SLOW;
		return;
	}
	*tape_push(t) = (mb_tape_op_t){.kind = MB_TOP_WRITE, .slot = slot, .size = size,
				       .arg = off};
}

#define REC(h, ...)                                                           \
	do {                                                                  \
		mb_tape_t *t_ = rec_tape(h);                                   \
		if (t_)                                                       \
			*tape_push(t_) = (mb_tape_op_t){.slot = mb_tape_slot(h), \
							__VA_ARGS__};            \
	} while (0)

void mb_tape_rec_write_range(void *h, size_t from, size_t to)
{
	REC(h, .kind = MB_TOP_WRITE_RANGE, .arg = mb_tape_off(h) + from, .size = mb_tape_off(h) + to);
}

void mb_tape_rec_check(const void *h, size_t size, uint64_t *bad)
{
	REC(h, .kind = MB_TOP_CHECK, .arg = mb_tape_off(h), .size = size,
	    .aux = ctr_index(mb_tape_recording, bad));
}

void mb_tape_rec_copy(void *dst, const void *src, size_t len)
{
	if (mb_tape_off(dst) || mb_tape_off(src) || !mb_tape_is_handle(src))
		tape_die("a copy between handles not at objects' starts");
	if (slot_failed(mb_tape_recording, mb_tape_slot(src)))
		return; /* from an object that never was: nothing to copy */
	REC(dst, .kind = MB_TOP_COPY, .arg = mb_tape_slot(src), .size = len);
}

void mb_tape_rec_word(void *h, uint64_t v)
{
	REC(h, .kind = MB_TOP_WORD, .arg = mb_tape_off(h), .size = v);
}

void mb_tape_rec_pword(void *h, const void *src)
{
	if (!mb_tape_is_handle(src) || mb_tape_off(src))
		tape_die("a pointer word that is not a handle to an object's start");
	REC(h, .kind = MB_TOP_PWORD, .arg = mb_tape_off(h), .size = mb_tape_slot(src));
}

void mb_tape_rec_callfv(void *h, uintptr_t code, size_t len, uint64_t *bad, uint64_t *calls,
			uint64_t *sink)
{
	mb_tape_t *t = rec_tape(h);
	if (!t)
		return; /* no call: its funcval's allocation failed */
	uint64_t *const c[3] = {bad, calls, sink};
	*calls += 1;
	*tape_push(t) = (mb_tape_op_t){.kind = MB_TOP_CALLFV, .slot = mb_tape_slot(h),
				       .arg = code, .size = len, .aux = ctr_run(t, c, 3)};
}

void mb_tape_rec_frame_w(void *h, uint32_t frame, uint32_t off)
{
	REC(h, .kind = MB_TOP_FRAME_W, .arg = off, .size = frame);
}

void mb_tape_rec_frame_r(const void *h, uint32_t used, uint64_t frame, uint64_t *bad)
{
	REC(h, .kind = MB_TOP_FRAME_R, .arg = used, .size = frame,
	    .aux = ctr_index(mb_tape_recording, bad));
}

/* The record pass's tape, for a question about handle h's object. */
static mb_tape_t *gen_tape(const void *h)
{
	mb_tape_t *t = mb_tape_recording;
	if (!t || !mb_tape_is_handle(h))
		tape_die("a handle's size or note outside a record pass");
	return t;
}

size_t mb_tape_size(const void *h)
{
	return gen_tape(h)->size[mb_tape_slot(h)];
}

uint64_t mb_tape_note(const void *h)
{
	return gen_tape(h)->note[mb_tape_slot(h)];
}

void mb_tape_set_note(const void *h, uint64_t v)
{
	gen_tape(h)->note[mb_tape_slot(h)] = v;
}

void mb_tape_record(mb_worker_t *w, mb_tape_t *t, void (*fn)(mb_worker_t *, uint64_t),
		    uint64_t arg)
{
	t->countdown = w->slow_countdown;
	w->slow_countdown = 1; /* every mb_alloc / mb_free takes its out-of-line path */
	w->tape = t;
	t->w = w;
	mb_tape_recording = t;
	fn(w, arg);
	mb_tape_recording = NULL;
	w->tape = NULL;
	w->slow_countdown = t->countdown;
}

void mb_tape_run(mb_worker_t *w, mb_tape_t *t, void (*fn)(mb_worker_t *, uint64_t),
		 uint64_t arg)
{
	mb_tape_record(w, t, fn, arg);
	mb_tape_replay(w, t);
}

void mb_tape_pattern_phase_end(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	w->run->pattern->phase_end(w);
}

void mb_tape_pattern_drain(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	w->run->pattern->drain(w);
}

void mb_tape_run_ops(mb_worker_t *w, mb_tape_t *t, uint64_t k)
{
	if (!w->run->pattern->taped) {
		w->run->pattern->step(w, k);
		return;
	}
	for (uint64_t n; k; k -= n) {
		n = k < MB_TAPE_PIECE_OPS ? k : MB_TAPE_PIECE_OPS;
		mb_tape_run(w, t, w->run->pattern->step, n);
	}
}

void mb_tape_run_drain(mb_worker_t *w, mb_tape_t *t)
{
	if (w->run->pattern->taped)
		mb_tape_run(w, t, mb_tape_pattern_drain, 0);
	else
		w->run->pattern->drain(w);
}
