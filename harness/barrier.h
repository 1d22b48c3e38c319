/*
 * The trial's barrier: spins for a while before sleeping in the kernel.
 *
 * Why: a worker that sleeps at a chunk barrier while memory is sampled gives
 * its core away; on a busy machine another process runs there and evicts the
 * worker's caches, and the next chunk pays for refilling them (measured: +10 to
 * +30% ns/op at 200 samples on a loaded 2-core VM, see analysis/METRICS.md).
 * Spinning keeps the core and its caches through the short sampling pause.
 * Spinning only pays when every waiting thread has a core of its own, so the
 * trial gives a spin budget only when threads + 1 <= online CPUs.
 */
#ifndef MB_BARRIER_H
#define MB_BARRIER_H

#include <stdint.h>

typedef struct mb_barrier {
	uint32_t n;              /* threads that meet at it */
	uint64_t spin_ns;        /* how long a waiter spins before it sleeps */
	uint32_t arrived;        /* of this generation; atomic */
	uint32_t gen;            /* bumped by the last arriver; atomic, futex word */
	uint32_t sleepers;       /* waiters in futex_wait; atomic */
} mb_barrier_t;

void mb_barrier_init(mb_barrier_t *b, unsigned n, uint64_t spin_ns);
/* Returns when n threads have called it for this generation. Cost: one atomic
 * add; the last arriver also one futex wake when someone sleeps. */
void mb_barrier_wait(mb_barrier_t *b);

#endif
