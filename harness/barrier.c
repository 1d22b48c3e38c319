/* The trial's spin-then-sleep barrier. See barrier.h. */
#include "barrier.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void mb_barrier_init(mb_barrier_t *b, unsigned n)
{
	b->n = n;
	b->arrived = b->gen = b->sleepers = 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

void mb_barrier_wait(mb_barrier_t *b, uint64_t spin_ns)
{
	/* read the generation before arriving: the last arriver bumps it only
	 * after everyone's increment */
	uint32_t g = __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE);
	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->n) {
		__atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->gen, g + 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&b->sleepers, __ATOMIC_SEQ_CST))
			syscall(SYS_futex, &b->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
		return;
	}
	if (spin_ns) {
		uint64_t t0 = now_ns();
		for (unsigned i = 1; __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == g; i++) {
			cpu_relax();
			if ((i & 255) == 0 && now_ns() - t0 > spin_ns)
				break;
		}
	}
	while (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == g) {
		__atomic_add_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
		/* returns at once when gen is no longer g (the kernel compares) */
		syscall(SYS_futex, &b->gen, FUTEX_WAIT_PRIVATE, g, NULL, NULL, 0);
		__atomic_sub_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
	}
}
