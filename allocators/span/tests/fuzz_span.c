/*
 * libFuzzer target for span's library face. An input is a program: each op
 * byte picks a call (allocate, allocate aligned, free, realloc; stacks:
 * allocate, grow, shrink, free; frames: push, allocate, free, pop, realloc
 * out to the heap; frees from another thread; stats; release) and the bytes
 * after it give the arguments (missing bytes read as zero). A model of what
 * is live checks every result:
 *   - every live block holds its own pattern over all its bytes (a stack: its
 *     live top), so an overlap or a copy that lost bytes breaks one;
 *   - results are aligned as promised and usable sizes cover the request;
 *   - stack grow and shrink keep the live top, shrink halves exactly when
 *     at most a quarter is used;
 *   - the cheap counters equal the slow walk.
 * At the end of an input everything is freed and the thread's cache flushed:
 * the counters must then show nothing in use. A failed check aborts, and
 * libFuzzer keeps the input. Only valid calls are made: span throws on a
 * bad free by design, and that is unit-tested elsewhere.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "span.h"
#include "stats_differ.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_span: " __VA_ARGS__);          \
			fputc('\n', stderr);                                 \
			abort();                                             \
		}                                                            \
	} while (0)

enum { FREE_SLOT, HEAP, STACK };

/* A heap object (pattern from its start over `size` bytes) or a stack
 * (pattern from its top down over `used` bytes). */
typedef struct {
	unsigned char *p;
	size_t size;
	size_t used;
	uint8_t seed, kind;
} blk_t;

/* The frame stack as one LIFO sequence: marks (size 0) and objects. Popping
 * to a mark or freeing an object ends the sequence there. */
typedef struct {
	unsigned char *p;
	size_t size;
	uint8_t seed;
} fev_t;

#define SLOTS 48
#define FEVS 64
#define STACK_MAX (256u << 10) /* grow stops here */
static blk_t blk[SLOTS];
static fev_t fev[FEVS];
static int nfev;
static uint8_t next_seed;

static const uint8_t *in;
static size_t in_left;

static unsigned u8(void)
{
	if (!in_left)
		return 0;
	in_left--;
	return *in++;
}

static unsigned u16(void)
{
	unsigned lo = u8();
	return lo | u8() << 8;
}

static unsigned char pat(uint8_t seed, size_t i)
{
	return (unsigned char)(seed + i * 167 + (i >> 8));
}

static void fill(unsigned char *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(seed, i);
}

static void verify(const unsigned char *p, size_t n, uint8_t seed, const char *what)
{
	for (size_t i = 0; i < n; i++)
		CHECK(p[i] == pat(seed, i), "%s %p: byte %zu of %zu overwritten", what,
		      (const void *)p, i, n);
}

/* A stack's live part is its top: byte i from the top is p[size - 1 - i]. */
static void fill_top(blk_t *b)
{
	for (size_t i = 0; i < b->used; i++)
		b->p[b->size - 1 - i] = pat(b->seed, i);
}

static void verify_top(const blk_t *b)
{
	for (size_t i = 0; i < b->used; i++)
		CHECK(b->p[b->size - 1 - i] == pat(b->seed, i),
		      "stack %p (%zu B): live byte %zu of %zu overwritten", (void *)b->p, b->size,
		      i, b->used);
}

static void verify_blk(const blk_t *b)
{
	if (b->kind == HEAP)
		verify(b->p, b->size, b->seed, "object");
	else if (b->kind == STACK)
		verify_top(b);
}

static void verify_all(void)
{
	for (int i = 0; i < SLOTS; i++)
		verify_blk(&blk[i]);
	for (int i = 0; i < nfev; i++)
		verify(fev[i].p, fev[i].size, fev[i].seed, "frame object");
}

/* Sizes around every boundary that matters: tiny, small classes, the
 * small/large edge (32 KiB), large objects up to 256 KiB (the thread's
 * large-span cache takes those up to 128 KiB), and one pick in 16 up to 2 MiB
 * (runs of >= 1 MiB: the page heap's treap; rare, as their byte patterns are
 * written and checked whole). */
static size_t any_size(void)
{
	unsigned b = u8(), v = u16();
	if ((b & 15) == 15)
		return (size_t)v * 32;
	switch (b & 3) {
	case 0:
		return v & 255;
	case 1:
		return v & 4095;
	case 2:
		return SPAN_MAX_SMALL - 2048 + (v & 4095);
	default:
		return (size_t)v * 4;
	}
}

static void check_heap_result(const unsigned char *p, size_t size, size_t align)
{
	CHECK(p != NULL, "allocation of %zu B failed", size);
	CHECK((uintptr_t)p % align == 0, "%p (%zu B) is not %zu-aligned", (const void *)p, size,
	      align);
	CHECK(span_usable_size((void *)p) >= size, "%p: usable %zu < %zu asked",
	      (const void *)p, span_usable_size((void *)p), size);
}

static void slot_free(blk_t *b, bool sized)
{
	verify_blk(b);
	if (b->kind == HEAP)
		span_free(b->p, sized ? b->size : 0);
	else if (b->kind == STACK)
		span_stack_free(b->p, b->size);
	b->kind = FREE_SLOT;
}

static void slot_set_heap(blk_t *b, unsigned char *p, size_t size)
{
	*b = (blk_t){ .p = p, .size = size, .seed = next_seed++, .kind = HEAP };
	fill(p, size, b->seed);
}

static void op_alloc(blk_t *b)
{
	slot_free(b, true);
	size_t size = any_size();
	unsigned char *p = span_alloc(size, u8() & 1 ? SPAN_NOSCAN : 0);
	check_heap_result(p, size, 8);
	slot_set_heap(b, p, size);
}

static void op_alloc_aligned(blk_t *b)
{
	slot_free(b, true);
	size_t align = (size_t)1 << (u8() % 17), size = any_size();
	unsigned char *p = span_alloc_aligned(align, size, 0);
	check_heap_result(p, size, align);
	slot_set_heap(b, p, size);
}

static void op_realloc(blk_t *b)
{
	if (b->kind != HEAP)
		return;
	size_t size = any_size();
	verify_blk(b);
	unsigned char *p = span_realloc(b->p, u8() & 1 ? b->size : 0, size);
	check_heap_result(p, size, 8);
	verify(p, size < b->size ? size : b->size, b->seed, "reallocated object");
	slot_set_heap(b, p, size);
}

static void op_stack_alloc(blk_t *b)
{
	slot_free(b, true);
	size_t size = (size_t)SPAN_STACK_MIN << (u8() % 6);
	unsigned char *p = span_stack_alloc(size);
	CHECK(p != NULL, "stack of %zu B failed", size);
	CHECK((uintptr_t)p % SPAN_STACK_MIN == 0, "stack %p not aligned", (void *)p);
	*b = (blk_t){ .p = p, .size = size, .used = u16() % (size + 1), .seed = next_seed++,
		      .kind = STACK };
	fill_top(b);
}

static void op_stack_grow(blk_t *b)
{
	if (b->kind != STACK || b->size >= STACK_MAX)
		return;
	verify_top(b);
	unsigned char *p = span_stack_grow(b->p, b->size, b->used);
	CHECK(p != NULL, "grow of a %zu B stack failed", b->size);
	b->p = p;
	b->size *= 2;
	verify_top(b);
	b->used += u16() % (b->size - b->used + 1); /* the grown stack fills up */
	fill_top(b);
}

static void op_stack_shrink(blk_t *b)
{
	if (b->kind != STACK)
		return;
	verify_top(b);
	bool halves = b->used <= b->size / 4 && b->size > SPAN_STACK_MIN;
	unsigned char *p = span_stack_shrink(b->p, b->size, b->used);
	CHECK(p != NULL, "shrink of a %zu B stack failed", b->size);
	CHECK(halves || p == b->p, "shrink moved a %zu B stack using %zu", b->size, b->used);
	b->p = p;
	if (halves)
		b->size /= 2;
	verify_top(b);
}

static void op_frame_push(void)
{
	if (nfev == FEVS)
		return;
	unsigned char *mark = span_frame_push();
	CHECK(mark != NULL, "frame push failed");
	fev[nfev++] = (fev_t){ .p = mark };
}

static void op_frame_alloc(void)
{
	if (nfev == FEVS)
		return;
	size_t size = u16() % 6000; /* segments are small: this crosses them */
	unsigned char *p = u8() & 1 ? span_frame_alloc(size) : span_alloc(size, SPAN_LOCAL);
	CHECK(p != NULL && (uintptr_t)p % 16 == 0, "frame object %p of %zu B", (void *)p, size);
	fev[nfev] = (fev_t){ .p = p, .size = size, .seed = next_seed++ };
	fill(p, size, fev[nfev].seed);
	nfev++;
}

/* Frees frame object or pops to mark k: it and everything after it go. */
static void frame_end_at(int k)
{
	if (fev[k].size)
		span_free(fev[k].p, fev[k].size);
	else
		span_frame_pop(fev[k].p);
	nfev = k;
}

static void op_frame_end(void)
{
	if (nfev)
		frame_end_at((int)(u8() % (unsigned)nfev));
}

/* Realloc of a frame object copies it to the heap; the frame object stays. */
static void op_frame_realloc(blk_t *b)
{
	int objs[FEVS], n = 0;
	for (int i = 0; i < nfev; i++)
		if (fev[i].size)
			objs[n++] = i;
	if (!n)
		return;
	const fev_t *f = &fev[objs[u8() % (unsigned)n]];
	slot_free(b, true);
	size_t size = any_size();
	unsigned char *p = span_realloc(f->p, f->size, size);
	check_heap_result(p, size, 8);
	verify(p, size < f->size ? size : f->size, f->seed, "object copied from a frame");
	slot_set_heap(b, p, size);
}

struct handoff {
	void *p[SLOTS];
	int n;
};

static void *free_all_of(void *arg)
{
	struct handoff *h = arg;
	for (int i = 0; i < h->n; i++)
		span_free(h->p[i], 0);
	return NULL; /* the thread's exit flushes its buffered frees */
}

/* Heap objects chosen by a mask, freed by a thread that then exits. */
static void op_remote_free(void)
{
	struct handoff h = { .n = 0 };
	unsigned mask = u16();
	for (int i = 0; i < SLOTS; i++)
		if (blk[i].kind == HEAP && (mask >> (i % 16) & 1)) {
			verify_blk(&blk[i]);
			h.p[h.n++] = blk[i].p;
			blk[i].kind = FREE_SLOT;
		}
	pthread_t t;
	CHECK(pthread_create(&t, NULL, free_all_of, &h) == 0, "pthread_create");
	pthread_join(t, NULL);
}

static void compare_stats(void)
{
	static span_stats_t cheap, slow;
	const char *d = span_stats_now_differ(&cheap, &slow);
	CHECK(d == NULL, "cheap counters and the slow walk differ: %s", d);
}

static void end_of_input(void)
{
	verify_all();
	for (int i = 0; i < SLOTS; i++)
		slot_free(&blk[i], i & 1);
	if (nfev)
		frame_end_at(0);
	span_thread_exit();
	span_release();
	compare_stats();
	static span_stats_t st;
	span_stats(&st);
	for (int i = 0; i < SPAN_NUM_SPAN_CLASSES; i++)
		CHECK(st.classes[i].objects == 0 && st.classes[i].cached_spans == 0,
		      "span class %d: %lu objects, %lu cached spans left after freeing all", i,
		      (unsigned long)st.classes[i].objects,
		      (unsigned long)st.classes[i].cached_spans);
	for (int o = 0; o < SPAN_STACK_ORDERS; o++)
		CHECK(st.stacks[o].inuse == 0, "stack order %d: %lu in use after freeing all", o,
		      (unsigned long)st.stacks[o].inuse);
	CHECK(st.heap.large_objects == 0 && st.heap.large_stacks == 0 &&
		      st.heap.free_retained == 0,
	      "large objects %lu, large stacks %lu, free resident pages %lu after release",
	      (unsigned long)st.heap.large_objects, (unsigned long)st.heap.large_stacks,
	      (unsigned long)st.heap.free_retained);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	in = data;
	in_left = size;
	while (in_left) {
		unsigned op = u8();
		blk_t *b = &blk[u8() % SLOTS];
		switch (op % 16) {
		case 0: case 1: case 2: op_alloc(b); break;
		case 3: op_alloc_aligned(b); break;
		case 4: case 5: slot_free(b, op & 16); break;
		case 6: op_realloc(b); break;
		case 7: op_stack_alloc(b); break;
		case 8: op_stack_grow(b); break;
		case 9: op_stack_shrink(b); break;
		case 10: op_frame_push(); break;
		case 11: op_frame_alloc(); break;
		case 12: op_frame_end(); break;
		case 13: op_frame_realloc(b); break;
		case 14: op_remote_free(); break;
		default:
			if (op & 16)
				span_release();
			else
				compare_stats();
			verify_all();
		}
	}
	end_of_input();
	return 0;
}
