/*
 * The trial's barrier: spins for a while before sleeping in the kernel.
 *
 * Why: a worker that sleeps at a chunk barrier while memory is sampled gives
 * its core away; on a busy machine another process runs there and evicts the
 * worker's caches, and the next chunk pays for refilling them (measured: +10 to
 * +30% ns/op at 200 samples on a loaded 2-core VM, see analysis/METRICS.md).
 * Spinning keeps the core and its caches through the short sampling pause.
 * Spinning only pays when every waiting thread has a core of its own, so the
 * trial gives its workers a spin budget only when threads + 1 <= online CPUs;
 * the main thread, which only coordinates, never spins (a spinning thread on a
 * worker's SMT sibling would slow the worker down).
 */
#ifndef MB_BARRIER_H
#define MB_BARRIER_H

#include <stdint.h>

typedef struct mb_barrier {
	uint32_t n;              /* threads that meet at it */
	uint32_t arrived;        /* of this generation; atomic */
	uint32_t gen;            /* bumped by the last arriver; atomic, futex word */
	uint32_t sleepers;       /* waiters in futex_wait; atomic */
} mb_barrier_t;

void mb_barrier_init(mb_barrier_t *b, unsigned n);
/* Returns when n threads have called it for this generation; a waiter spins up
 * to spin_ns before it sleeps in the kernel. Cost: one atomic add; the last
 * arriver also one futex wake when someone sleeps. */
void mb_barrier_wait(mb_barrier_t *b, uint64_t spin_ns);

#endif
