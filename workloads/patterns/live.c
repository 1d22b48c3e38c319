/*
 * Live objects: lifetime queues, GC pacing, cross-thread handoff. See live.h.
 */
#include "live.h"
#include "tape.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const char *const mb_life_kinds[] = {"ops", "fifo", "phase", "permanent", NULL};

/* Go's heapMinimum: the smallest heap goal, 4 MiB at GOGC=100. */
#define MB_GO_HEAP_MIN (4ull << 20)

int mb_life_validate(mb_yctx_t *y, yaml_node_t *node, const mb_life_t *l, const char *what)
{
	if (l->kind == MB_LIFE_OPS && mb_dist_max(&l->ops) > MB_LIFE_MAX_OPS) {
		mb_yerr(y, node, "%slifetime_ops: at most %u operations (use lifetime: phase or "
			"permanent for longer lives)", what, MB_LIFE_MAX_OPS);
		return 1;
	}
	return 0;
}

/* Bookkeeping memory, never from the allocator under test. Dies on failure:
 * a trial without its bookkeeping cannot go on (exit 4: out of memory). */
static void *vm_grow(void *old, size_t *cap, size_t need)
{
	size_t nc = *cap ? *cap : 1u << 16;
	while (nc < need)
		nc *= 2;
	void *p = old ? mremap(old, *cap, nc, MREMAP_MAYMOVE)
		      : mmap(NULL, nc, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "membench: live-object bookkeeping: out of memory (%zu bytes)\n", nc);
		exit(4);
	}
	*cap = nc;
	return p;
}

static void vm_free(void *p, size_t len)
{
	if (p && len)
		munmap(p, len);
}

int mb_live_init(mb_live_t *L, mb_worker_t *w)
{
	memset(L, 0, sizeof(*L));
	L->w = w;
	const mb_run_t *run = w->run;
	L->heap_min = MB_GO_HEAP_MIN * run->gogc / 100 / run->nthreads;
	L->paced = run->gc_paced;
	L->goal = L->paced ? L->heap_min : UINT64_MAX;
	if (run->cross_thread > 0 && run->nthreads > 1)
		L->handoff_t = mb_rng_chance_t(run->cross_thread);
	/* workers' rngs are seeded with streams 0..nthreads-1 < 2^32: distinct */
	mb_rng_seed(&L->handoff_rng, run->seed, (1ull << 32) | w->tid);
	L->node_used = 1; /* node 0 means "none" */
	pthread_mutex_init(&L->lock, NULL);
	w->live = L;
	return 0;
}

void mb_live_fini(mb_live_t *L)
{
	vm_free(L->node, L->node_bytes);
	vm_free(L->dead, L->dead_bytes_cap);
	for (mb_batch_t *b = L->spare, *nx; b; b = nx) {
		nx = b->next;
		munmap(b, sizeof(*b));
	}
	if (L->out)
		munmap(L->out, sizeof(*L->out));
	pthread_mutex_destroy(&L->lock);
	if (L->w->live == L)
		L->w->live = NULL;
}

void mb_live_node_grow(mb_live_t *L)
{
	L->node = vm_grow(L->node, &L->node_bytes, (L->node_used + 1) * sizeof(mb_node_t));
}

static inline void node_put(mb_live_t *L, uint32_t i)
{
	L->node[i].next = L->node_free;
	L->node_free = i;
}

void mb_live_dead_grow(mb_live_t *L)
{
	L->dead = vm_grow(L->dead, &L->dead_bytes_cap, (L->ndead + 1) * sizeof(mb_obj_t));
}

void mb_live_gc(mb_live_t *L)
{
	/* sweep: every dead object is freed (here, or by the next thread) */
	for (size_t i = 0; i < L->ndead; i++)
		mb_live_release(L, L->dead[i].p, L->dead[i].size);
	L->ndead = 0;
	L->heap_dead = 0;
	uint64_t goal = L->heap_live + L->heap_live * L->w->run->gogc / 100;
	if (L->paced)
		L->goal = goal > L->heap_min ? goal : L->heap_min;
	L->gcs++;
}

static mb_live_t *peer(mb_live_t *L, unsigned tid)
{
	return L->w->run->workers[tid]->live;
}

void mb_live_handoff(mb_live_t *L, void *p, size_t size)
{
	mb_worker_t *w = L->w;
	if (!L->out) {
		pthread_mutex_lock(&L->lock);
		L->out = L->spare;
		if (L->out)
			L->spare = L->out->next;
		pthread_mutex_unlock(&L->lock);
		if (!L->out) {
			L->out = mmap(NULL, sizeof(mb_batch_t), PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (L->out == MAP_FAILED) {
				fprintf(stderr, "membench: handoff batch: out of memory\n");
				exit(4);
			}
		}
		L->out->n = 0;
		L->out->from = w->tid;
	}
	mb_batch_t *b = L->out;
	if (mb_tape_is_handle(p)) { /* the pointer comes at replay (tape.h) */
		b->o[b->n].size = size;
		mb_tape_rec_handoff(w, p, &b->o[b->n++].p);
	} else {
		b->o[b->n++] = (mb_obj_t){p, size};
	}
	L->handed++;
	if (b->n == MB_LIVE_BATCH) {
		mb_live_t *to = peer(L, (w->tid + 1) % w->run->nthreads);
		b->epoch = w->epoch;
		b->next = NULL;
		pthread_mutex_lock(&to->lock);
		if (to->in_tail)
			to->in_tail->next = b;
		else
			to->in_head = b;
		to->in_tail = b;
		pthread_mutex_unlock(&to->lock);
		L->out = NULL;
	}
}

/* Frees the handed-over batches with epoch < before, oldest first. */
static void take_inbox(mb_live_t *L, uint64_t before)
{
	mb_batch_t *got = NULL, **tail = &got;
	pthread_mutex_lock(&L->lock);
	while (L->in_head && L->in_head->epoch < before) {
		mb_batch_t *b = L->in_head;
		L->in_head = b->next;
		*tail = b;
		tail = &b->next;
	}
	if (!L->in_head)
		L->in_tail = NULL;
	pthread_mutex_unlock(&L->lock);
	*tail = NULL;
	for (mb_batch_t *b = got, *nx; b; b = nx) {
		nx = b->next;
		for (uint32_t i = 0; i < b->n; i++)
			mb_free(L->w, b->o[i].p, b->o[i].size);
		L->received += b->n;
		mb_live_t *from = peer(L, b->from);
		pthread_mutex_lock(&from->lock);
		b->next = from->spare;
		from->spare = b;
		pthread_mutex_unlock(&from->lock);
	}
}

void mb_live_step_begin(mb_live_t *L)
{
	take_inbox(L, L->w->epoch); /* one lock per chunk */
}

void mb_live_drain(mb_live_t *L)
{
	L->draining = true;
	for (size_t i = 0; i < L->ndead; i++)
		mb_free(L->w, L->dead[i].p, L->dead[i].size);
	L->ndead = 0;
	L->heap_dead = 0;
	if (L->out) {
		for (uint32_t i = 0; i < L->out->n; i++)
			mb_free(L->w, L->out->o[i].p, L->out->o[i].size);
		L->out->n = 0;
	}
	take_inbox(L, L->w->epoch);
	L->draining = false;
}

/* --- lifetime queues ------------------------------------------------------ */

static const mb_life_t *life_of(const mb_lifeq_t *q, const void *params)
{
	return (const mb_life_t *)((const char *)params + q->off);
}

int mb_lifeq_init(mb_lifeq_t *q, mb_live_t *L, size_t off)
{
	memset(q, 0, sizeof(*q));
	q->L = L;
	q->off = off;
	const mb_run_t *run = L->w->run;
	uint64_t maxlife = 0, maxwin = 0;
	for (unsigned p = 0; p < run->nphases; p++) {
		const mb_life_t *l = life_of(q, run->phase_params[p]);
		if (l->kind == MB_LIFE_OPS) {
			double m = mb_dist_max(&l->ops);
			uint64_t mi = m > MB_LIFE_MAX_OPS ? MB_LIFE_MAX_OPS : (uint64_t)m;
			maxlife = mi > maxlife ? mi : maxlife;
			maxlife = maxlife ? maxlife : 1;
		}
		if (l->kind == MB_LIFE_FIFO && l->window > maxwin)
			maxwin = l->window;
	}
	if (maxlife) {
		uint64_t n = 2;
		while (n < maxlife + 1)
			n *= 2;
		size_t bytes = n * sizeof(uint32_t);
		q->wheel = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (q->wheel == MAP_FAILED)
			return q->wheel = NULL, -ENOMEM;
		q->mask = n - 1;
	}
	if (maxwin) {
		q->ring = mmap(NULL, maxwin * sizeof(mb_obj_t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (q->ring == MAP_FAILED)
			return q->ring = NULL, -ENOMEM;
		q->ring_cap = maxwin;
	}
	return 0;
}

void mb_lifeq_fini(mb_lifeq_t *q)
{
	vm_free(q->wheel, (q->mask + 1) * sizeof(uint32_t));
	vm_free(q->ring, q->ring_cap * sizeof(mb_obj_t));
	q->wheel = NULL;
	q->ring = NULL;
}

static inline void kill(mb_lifeq_t *q, void *p, size_t size)
{
	if (q->kill)
		q->kill(q, p, size);
	else
		mb_live_dead(q->L, p, size);
}

static inline void push_list(mb_lifeq_t *q, uint32_t *head, void *p, size_t size)
{
	mb_live_t *L = q->L;
	uint32_t i = mb_live_node_get(L);
	L->node[i] = (mb_node_t){p, (uint32_t)size, *head};
	*head = i;
}

static void kill_list(mb_lifeq_t *q, uint32_t *head)
{
	mb_live_t *L = q->L;
	uint32_t i = *head;
	*head = 0;
	while (i) {
		mb_node_t n = L->node[i];
		node_put(L, i);
		kill(q, n.p, n.size);
		i = n.next;
	}
}

static void ring_pop(mb_lifeq_t *q)
{
	mb_obj_t o = q->ring[q->ring_head];
	q->ring_head = q->ring_head + 1 == q->ring_cap ? 0 : q->ring_head + 1;
	q->ring_n--;
	kill(q, o.p, o.size);
}

void mb_lifeq_add_list(mb_lifeq_t *q, const mb_life_t *l, void *p, size_t size)
{
	switch (l->kind) {
	case MB_LIFE_FIFO: {
		while (q->ring_n >= l->window)
			ring_pop(q);
		uint64_t at = q->ring_head + q->ring_n;
		q->ring[at >= q->ring_cap ? at - q->ring_cap : at] = (mb_obj_t){p, size};
		q->ring_n++;
		break;
	}
	case MB_LIFE_PHASE:
		push_list(q, &q->phase_head, p, size);
		break;
	default:
		push_list(q, &q->perm_head, p, size);
		break;
	}
}

void mb_lifeq_tick_slow(mb_lifeq_t *q)
{
	kill_list(q, &q->wheel[q->now & q->mask]);
}

void mb_lifeq_phase_end(mb_lifeq_t *q)
{
	kill_list(q, &q->phase_head);
}

void mb_lifeq_drain(mb_lifeq_t *q)
{
	bool was = q->L->draining;
	q->L->draining = true;
	for (uint64_t b = 0; q->wheel && b <= q->mask; b++)
		if (q->wheel[b])
			kill_list(q, &q->wheel[b]);
	while (q->ring_n)
		ring_pop(q);
	kill_list(q, &q->phase_head);
	kill_list(q, &q->perm_head);
	q->L->draining = was;
}
