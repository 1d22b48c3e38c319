/*
 * The operation tape: record and replay. See tape.h.
 */
#include "tape.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kernels.h"

__thread mb_tape_t *mb_tape_recording;

#define TAPE_CAP0 (64u << 10) /* entries mapped at first (1 MiB) */

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int mb_tape_init(mb_tape_t *t)
{
	*t = (mb_tape_t){0};
	t->op = map(TAPE_CAP0 * sizeof(mb_tape_op_t));
	/* reserved, touched only as slots are used */
	t->ptr = map((size_t)MB_TAPE_SLOTS * sizeof(void *));
	t->idle = map((size_t)MB_TAPE_SLOTS * sizeof(uint32_t));
	t->failed = map(MB_TAPE_SLOTS / 8);
	if (!t->op || !t->ptr || !t->idle || !t->failed) {
		mb_tape_fini(t);
		return -ENOMEM;
	}
	t->cap = TAPE_CAP0;
	return 0;
}

void mb_tape_fini(mb_tape_t *t)
{
	if (t->op)
		munmap(t->op, t->cap ? t->cap * sizeof(mb_tape_op_t) : TAPE_CAP0 * sizeof(mb_tape_op_t));
	if (t->ptr)
		munmap(t->ptr, (size_t)MB_TAPE_SLOTS * sizeof(void *));
	if (t->idle)
		munmap(t->idle, (size_t)MB_TAPE_SLOTS * sizeof(uint32_t));
	if (t->failed)
		munmap(t->failed, MB_TAPE_SLOTS / 8);
	*t = (mb_tape_t){0};
}

static _Noreturn void tape_die(const char *what)
{
	fprintf(stderr, "membench: operation tape: %s\n", what);
	abort();
}

static mb_tape_op_t *tape_push(mb_tape_t *t)
{
	if (__builtin_expect(t->n == t->cap, 0)) {
		size_t bytes = t->cap * sizeof(mb_tape_op_t);
		void *p = mremap(t->op, bytes, 2 * bytes, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			tape_die("out of memory for the tape");
		t->op = p;
		t->cap *= 2;
	}
	return &t->op[t->n++];
}

static inline bool slot_failed(const mb_tape_t *t, uint32_t slot)
{
	return t->failed[slot >> 6] >> (slot & 63) & 1;
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

void *mb_tape_rec_alloc(mb_worker_t *w, size_t size, unsigned flags)
{
	mb_tape_t *t = w->tape;
	w->slow_countdown = 1; /* the next call comes here too */
	uint32_t slot;
	if (t->nidle)
		slot = t->idle[--t->nidle];
	else if (t->nslots < MB_TAPE_SLOTS)
		slot = t->nslots++;
	else
		tape_die("more live objects than slots");
	mb_opstats_alloc(&w->st, size, size << 1);
	*tape_push(t) = (mb_tape_op_t){.kind = call_kind(w, t, MB_TOP_ALLOC, MB_TOP_ALLOC_SLOW),
				       .flags = (uint8_t)flags, .slot = slot, .size = size};
	return (void *)(uintptr_t)(MB_TAPE_TAG | (uint64_t)slot << MB_TAPE_OFF_BITS);
}

void mb_tape_rec_free(mb_worker_t *w, void *h, size_t size)
{
	mb_tape_t *t = w->tape;
	w->slow_countdown = 1;
	if (!mb_tape_is_handle(h))
		tape_die("a taped pattern freed a pointer it did not get from the tape");
	uint32_t slot = mb_tape_slot(h);
	t->idle[t->nidle++] = slot;
	if (__builtin_expect(slot_failed(t, slot), 0)) {
		/* its allocation failed in an earlier replay: nothing to free;
		 * the stream as requested keeps the step (tape.h) */
		t->failed[slot >> 6] &= ~(1ull << (slot & 63));
		mb_stream_mix(&w->st, (size << 1) | 1);
		return;
	}
	mb_opstats_free(&w->st, size, (size << 1) | 1);
	*tape_push(t) = (mb_tape_op_t){.kind = call_kind(w, t, MB_TOP_FREE, MB_TOP_FREE_SLOW),
				       .slot = slot, .size = size};
}

void mb_tape_rec_write(void *h, size_t size)
{
	mb_tape_t *t = mb_tape_recording;
	if (!t || ((uintptr_t)h & ((1ull << MB_TAPE_OFF_BITS) - 1)))
		tape_die("an object write outside a record pass, or not at an object's start");
	uint32_t slot = mb_tape_slot(h);
	if (__builtin_expect(slot_failed(t, slot), 0))
		return;
	mb_tape_op_t *last = t->n ? &t->op[t->n - 1] : NULL;
	if (last && last->slot == slot && last->size == size &&
	    (last->kind == MB_TOP_ALLOC || last->kind == MB_TOP_ALLOC_SLOW)) {
		last->kind = last->kind == MB_TOP_ALLOC ? MB_TOP_ALLOC_W : MB_TOP_ALLOC_W_SLOW;
		return;
	}
	*tape_push(t) = (mb_tape_op_t){.kind = MB_TOP_WRITE, .slot = slot, .size = size};
}

void mb_tape_record(mb_worker_t *w, mb_tape_t *t, void (*fn)(mb_worker_t *, uint64_t),
		    uint64_t arg)
{
	t->countdown = w->slow_countdown;
	w->slow_countdown = 1; /* every mb_alloc / mb_free takes its out-of-line path */
	w->tape = t;
	mb_tape_recording = t;
	fn(w, arg);
	mb_tape_recording = NULL;
	w->tape = NULL;
	w->slow_countdown = t->countdown;
}

/* An allocation returned NULL at replay (rare): its counts are taken back,
 * and so are those of its free if this tape holds it; its later entries
 * here become NOPs, and a free not yet recorded is dropped when it is
 * (the slot's failed bit). */
static __attribute__((noinline)) void replay_failed(mb_worker_t *w, mb_tape_t *t,
						    mb_tape_op_t *o)
{
	mb_opcount_t *c = mb_opstats_count(&w->st, o->size);
	c->allocs--;
	c->alloc_bytes -= o->size;
	w->st.failed++;
	for (mb_tape_op_t *e = o + 1; e < t->op + t->n; e++) {
		if (e->slot != o->slot)
			continue;
		if (e->kind == MB_TOP_FREE || e->kind == MB_TOP_FREE_SLOW) {
			c = mb_opstats_count(&w->st, e->size);
			c->frees--;
			c->free_bytes -= e->size;
			e->kind = MB_TOP_NOP;
			return;
		}
		e->kind = MB_TOP_NOP;
	}
	t->failed[o->slot >> 6] |= 1ull << (o->slot & 63);
}

/* Threaded dispatch: each entry jumps straight to its kind's code. */
void mb_tape_replay(mb_worker_t *w, mb_tape_t *t)
{
	static const void *const kind[MB_TOP_NKINDS] = {
		[MB_TOP_ALLOC] = &&alloc, [MB_TOP_ALLOC_W] = &&alloc_w,
		[MB_TOP_FREE] = &&free, [MB_TOP_WRITE] = &&write,
		[MB_TOP_ALLOC_SLOW] = &&alloc_slow, [MB_TOP_ALLOC_W_SLOW] = &&alloc_w_slow,
		[MB_TOP_FREE_SLOW] = &&free_slow, [MB_TOP_NOP] = &&next,
	};
	void **const ptr = t->ptr;
	void *(*const xmalloc)(size_t, unsigned) = w->malloc;
	void (*const xfree)(void *, size_t) = w->free;
	mb_tape_op_t *o = t->op, *const end = t->op + t->n;
	void *p;
	if (o == end)
		goto done;
	goto *kind[o->kind];
alloc:
	p = ptr[o->slot] = xmalloc(o->size, o->flags);
	if (__builtin_expect(p == NULL, 0))
		replay_failed(w, t, o);
	goto next;
alloc_w:
	p = ptr[o->slot] = xmalloc(o->size, o->flags);
	if (__builtin_expect(p == NULL, 0))
		replay_failed(w, t, o);
	else
		mb_obj_write_raw(p, o->size);
	goto next;
free:
	xfree(ptr[o->slot], o->size);
	goto next;
write:
	mb_obj_write_raw(ptr[o->slot], o->size);
	goto next;
alloc_slow:
alloc_w_slow:
	p = ptr[o->slot] = mb_opstats_malloc_slow(w, o->size, o->flags);
	if (p == NULL)
		replay_failed(w, t, o);
	else if (o->kind == MB_TOP_ALLOC_W_SLOW)
		mb_obj_write_raw(p, o->size);
	goto next;
free_slow:
	mb_opstats_dofree_slow(w, ptr[o->slot], o->size);
next:
	if (++o != end)
		goto *kind[o->kind];
done:
	t->n = 0;
}

void mb_tape_run(mb_worker_t *w, mb_tape_t *t, void (*fn)(mb_worker_t *, uint64_t),
		 uint64_t arg)
{
	mb_tape_record(w, t, fn, arg);
	mb_tape_replay(w, t);
}

void mb_tape_run_ops(mb_worker_t *w, mb_tape_t *t, uint64_t k)
{
	for (uint64_t n; k; k -= n) {
		n = k < MB_TAPE_PIECE_OPS ? k : MB_TAPE_PIECE_OPS;
		mb_tape_run(w, t, w->run->pattern->step, n);
	}
}
