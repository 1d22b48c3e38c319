/*
 * The operation tape's replay pass: the entries a record pass made, as
 * allocator calls and object accesses, and what a failed allocation takes
 * back. See tape.h.
 */
#include <stdbool.h>
#include <string.h>

#include "kernels.h"
#include "tape.h"

static bool is_free(uint8_t kind)
{
	return kind == MB_TOP_FREE || kind == MB_TOP_FREE_SLOW || kind == MB_TOP_FREE_C ||
	       kind == MB_TOP_FREE_C_SLOW || kind == MB_TOP_STACK_FREE || kind == MB_TOP_HANDOFF;
}

/* An allocation returned NULL at replay (rare): its counts are taken back,
 * and so are those of its free if this tape holds it; its later entries
 * here become NOPs, and entries not yet recorded are dropped when they are
 * (the slot's failed bit). A copy from it into another object becomes a
 * NOP too; a pointer word to it writes NULL (as a later tape's does: the
 * slot's pointer), which the reader of the word must expect. */
static __attribute__((noinline)) void replay_failed(mb_worker_t *w, mb_tape_t *t,
						    mb_tape_op_t *o)
{
	mb_opcount_t *c = mb_opstats_count(&w->st, o->size);
	c->allocs--;
	c->alloc_bytes -= o->size;
	w->st.failed++;
	for (mb_tape_op_t *e = o + 1; e < t->op + t->n; e++) {
		bool src = (e->kind == MB_TOP_COPY || e->kind == MB_TOP_PWORD) &&
			   (e->kind == MB_TOP_COPY ? e->arg : e->size) == o->slot;
		if (src) {
			if (e->kind == MB_TOP_PWORD)
				*e = (mb_tape_op_t){.kind = MB_TOP_WORD, .slot = e->slot,
						    .arg = e->arg, .size = 0};
			else
				e->kind = MB_TOP_NOP;
			continue;
		}
		if (e->slot != o->slot || e->kind == MB_TOP_FREE_PTR ||
		    e->kind == MB_TOP_FREE_PTR_SLOW || e->kind == MB_TOP_NOP)
			continue;
		if (is_free(e->kind)) {
			if (e->kind != MB_TOP_HANDOFF) {
				c = mb_opstats_count(&w->st, e->size);
				c->frees--;
				c->free_bytes -= e->size;
			}
			e->kind = MB_TOP_NOP;
			return;
		}
		if (e->kind == MB_TOP_CALLFV)
			*t->ctr[e->aux + 1] -= 1; /* not made */
		e->kind = MB_TOP_NOP;
	}
	t->failed[o->slot >> 6] |= 1ull << (o->slot & 63);
}

/* Threaded dispatch: each entry jumps straight to its kind's code. The
 * common kinds come first; the rest are the object accesses of kernels.h. */
void mb_tape_replay(mb_worker_t *w, mb_tape_t *t)
{
	static const void *const kind[MB_TOP_NKINDS] = {
		[MB_TOP_ALLOC] = &&alloc, [MB_TOP_ALLOC_W] = &&alloc_w,
		[MB_TOP_FREE] = &&free, [MB_TOP_FREE_PTR] = &&free_ptr,
		[MB_TOP_ALLOC_SLOW] = &&alloc_slow, [MB_TOP_ALLOC_W_SLOW] = &&alloc_slow,
		[MB_TOP_FREE_SLOW] = &&free_slow, [MB_TOP_FREE_PTR_SLOW] = &&free_ptr_slow,
		[MB_TOP_FREE_C] = &&free_c, [MB_TOP_FREE_C_SLOW] = &&free_c_slow,
		[MB_TOP_NOP] = &&next, [MB_TOP_WRITE] = &&write,
		[MB_TOP_WRITE_RANGE] = &&write_range, [MB_TOP_CHECK] = &&check,
		[MB_TOP_COPY] = &&copy, [MB_TOP_WORD] = &&word, [MB_TOP_PWORD] = &&pword,
		[MB_TOP_CALLFV] = &&callfv, [MB_TOP_FRAME_W] = &&frame_w,
		[MB_TOP_FRAME_R] = &&frame_r, [MB_TOP_STACK_ALLOC] = &&stack_alloc,
		[MB_TOP_STACK_FREE] = &&stack_free, [MB_TOP_HANDOFF] = &&handoff,
		[MB_TOP_END] = &&done,
	};
	void **const ptr = t->ptr;
	uint64_t **const ctr = t->ctr;
	/* the record pass's countdown, which the out-of-line paths reset */
	uint32_t countdown = w->slow_countdown;
	t->op[t->n].kind = MB_TOP_END; /* no end test per entry; record keeps room */
	mb_tape_op_t *o = t->op;
	void *p;
	goto *kind[o->kind];
alloc:
	p = ptr[o->slot] = w->malloc(o->size, o->flags);
	if (__builtin_expect(p == NULL, 0))
		replay_failed(w, t, o);
	goto next;
alloc_w:
	p = ptr[o->slot] = w->malloc(o->size, o->flags);
	if (__builtin_expect(p == NULL, 0))
		replay_failed(w, t, o);
	else
		mb_obj_write_raw(p, o->size);
	goto next;
free:
	w->free(ptr[o->slot], o->size);
	goto next;
free_ptr:
	w->free((void *)(uintptr_t)o->arg, o->size);
	goto next;
free_c:
	p = ptr[o->slot];
	*ctr[o->aux] += mb_obj_check(p, o->arg);
	w->free(p, o->size);
	goto next;
free_c_slow:
	p = ptr[o->slot];
	*ctr[o->aux] += mb_obj_check(p, o->arg);
	mb_opstats_dofree_slow(w, p, o->size);
	goto next;
alloc_slow:
	p = ptr[o->slot] = mb_opstats_malloc_slow(w, o->size, o->flags);
	if (p == NULL)
		replay_failed(w, t, o);
	else if (o->kind == MB_TOP_ALLOC_W_SLOW)
		mb_obj_write_raw(p, o->size);
	goto next;
free_slow:
	mb_opstats_dofree_slow(w, ptr[o->slot], o->size);
	goto next;
free_ptr_slow:
	mb_opstats_dofree_slow(w, (void *)(uintptr_t)o->arg, o->size);
	goto next;
write:
	mb_obj_write_raw((char *)ptr[o->slot] + o->arg, o->size);
	goto next;
write_range:
	mb_obj_write_range_raw(ptr[o->slot], o->arg, o->size);
	goto next;
check:
	*ctr[o->aux] += mb_obj_check((char *)ptr[o->slot] + o->arg, o->size);
	goto next;
copy:
	memcpy(ptr[o->slot], ptr[o->arg], o->size);
	goto next;
word:
	mb_obj_set_word((char *)ptr[o->slot] + o->arg, o->size);
	goto next;
pword:
	mb_obj_set_word((char *)ptr[o->slot] + o->arg, (uint64_t)(uintptr_t)ptr[o->size]);
	goto next;
callfv: {
	uint64_t acc;
	if (mb_obj_call_funcval(ptr[o->slot], o->arg, o->size, &acc)) {
		*ctr[o->aux + 2] += acc;
	} else {
		*ctr[o->aux] += 1;
		*ctr[o->aux + 1] -= 1;
	}
	goto next;
}
frame_w:
	mb_obj_write_frame_raw((char *)ptr[o->slot] + o->arg, (uint32_t)o->size, (uint32_t)o->arg);
	goto next;
frame_r:
	if (mb_obj_read_frame(ptr[o->slot], (uint32_t)o->arg) != o->size)
		*ctr[o->aux] += 1;
	goto next;
stack_alloc:
	p = ptr[o->slot] = mb_stack_alloc_raw(w->alloc, o->size);
	if (__builtin_expect(p == NULL, 0))
		replay_failed(w, t, o);
	goto next;
stack_free:
	mb_stack_free_raw(w->alloc, ptr[o->slot], o->size);
	goto next;
handoff:
	*(void **)(uintptr_t)o->arg = ptr[o->slot];
next:
	o++;
	goto *kind[o->kind];
done:
	w->slow_countdown = countdown;
	t->n = 0;
}

