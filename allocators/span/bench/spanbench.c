/*
 * spanbench: one allocation case, timed, in a process of its own. See
 * ../BENCH.md for what the cases measure and run.sh for the driver that runs them
 * across allocators.
 *
 * The allocator under test is whatever provides malloc in this process: the driver
 * preloads it (LD_PRELOAD), so it is set up exactly as in a real program. The
 * program names the library that actually provides malloc (dladdr), so a preload
 * that silently did not take is caught by the driver, not measured.
 *
 *     spanbench CASE [N]
 *
 * Prints one line of key=value pairs on stdout:
 *     case=... malloc_lib=... stack=... ops=N iters=I ns_per_op=X cpu_ns_per_op=Y
 *     base_kb=B peak_kb=P [alloc_cpu_ns_per_op=A free_cpu_ns_per_op=F]
 * ops: what one op is depends on the case (see cases[] below). ns_per_op is wall
 * time, cpu_ns_per_op the process's CPU time (all threads, user + system: page
 * faults included, time spent waiting for a CPU excluded). base_kb: VmRSS just
 * before the measured phase; peak_kb: VmHWM at its end, after the high-water mark
 * was reset to the current RSS at its start (/proc/self/clear_refs, "5"), so
 * peak_kb - base_kb is what the measured phase itself added at its peak. The
 * batch cases also split the CPU time at the point where every object is
 * allocated and the frees begin (A + F = Y, per op).
 * Exit status 0, or 1 with a message on stderr (allocation failure, bad use).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Keeps the compiler from proving a malloc/free pair dead and removing it
 * (GCC elides malloc+free of an unused pointer at -O2). */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static void die(const char *what)
{
	fprintf(stderr, "spanbench: %s\n", what);
	exit(1);
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (p == NULL)
		die("malloc returned NULL");
	return p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a fixed seed gives the same size and order stream on every
 * allocator. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng_next(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1du;
}

/* Memory for the benchmark's own arrays comes straight from mmap, prefaulted, so
 * it is neither allocated by nor attributed to the allocator under test. */
static void *raw_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		die("mmap of the benchmark's own arrays failed");
	memset(p, 0, size);
	return p;
}

/* Reads "Key:   123 kB" from /proc/self/status; -1 if absent. */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t klen = strlen(key);
	long kb = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* The measured phase: start() resets the RSS high-water mark and notes the RSS,
 * stop() notes the time and the peak. */
static struct {
	uint64_t t0, t1;       /* wall clock (CLOCK_MONOTONIC), ns */
	uint64_t cpu0, cpu1;   /* CPU time of the process, all threads, user + system */
	uint64_t cpu_mid;      /* where a two-part case's second part began, or 0 */
	long base_kb, peak_kb;
} phase;

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void phase_start(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd >= 0) {
		/* "5" resets VmHWM to the current RSS (Linux >= 4.0); on failure the
		 * peak is the process's lifetime peak, which only overstates it. */
		if (write(fd, "5", 1) != 1)
			fprintf(stderr, "spanbench: clear_refs: %s\n", strerror(errno));
		close(fd);
	}
	phase.base_kb = status_kb("VmRSS");
	phase.cpu0 = cpu_ns();
	phase.t0 = now_ns();
}

/* The end of the first part of a measured phase (batch: its allocations). */
static void phase_mark(void)
{
	phase.cpu_mid = cpu_ns();
}

static void phase_stop(void)
{
	phase.t1 = now_ns();
	phase.cpu1 = cpu_ns();
	phase.peak_kb = status_kb("VmHWM");
}

/* --- cases ---------------------------------------------------------------------- */

/* Loop iterations done in all, warm-up included, where that differs from ops: the
 * driver differences two runs (N and 2N) under callgrind or strace and divides by
 * the difference of iters, so start-up and warm-up cancel exactly. */
static uint64_t iters;

/* malloc+free of `size` bytes, n times, with one other object of that size alive
 * throughout (so a span/page never empties between pairs). One op = one pair. */
static uint64_t case_pairs(size_t size, uint64_t n)
{
	void *keep = xmalloc(size);
	memset(keep, 1, size);
	iters = n + n / 10 + 1;
	for (uint64_t i = 0; i < n / 10 + 1; i++) { /* warm-up: caches filled */
		char *p = xmalloc(size);
		*(volatile char *)p = (char)i;
		ESCAPE(p);
		free(p);
	}
	phase_start();
	for (uint64_t i = 0; i < n; i++) {
		char *p = xmalloc(size);
		*(volatile char *)p = (char)i;
		ESCAPE(p);
		free(p);
	}
	phase_stop();
	free(keep);
	return n;
}

/* The loop of case_pairs without the allocator: what the harness itself costs per
 * pair (for the instruction counts). */
static uint64_t case_loop(uint64_t n)
{
	static char buf[64];
	phase_start();
	for (uint64_t i = 0; i < n; i++) {
		char *p = buf;
		ESCAPE(p);
		*(volatile char *)p = (char)i;
		ESCAPE(p);
	}
	phase_stop();
	return n;
}

/* Large pairs: like case_pairs, but the first and last byte are written, as a
 * user of a buffer would, so an allocator that maps and unmaps per call pays the
 * page faults it causes. n measured after n / 10 + 1 to warm up. */
static void large_pairs(size_t size, uint64_t n)
{
	iters = n + n / 10 + 1;
	for (uint64_t i = 0; i < iters; i++) {
		if (i == n / 10 + 1)
			phase_start();
		char *p = xmalloc(size);
		p[0] = p[size - 1] = (char)i;
		ESCAPE(p);
		free(p);
	}
	phase_stop();
}

static uint64_t case_large(size_t size, uint64_t n)
{
	char *keep = xmalloc(size);
	keep[0] = keep[size - 1] = 1;
	large_pairs(size, n);
	free(keep);
	return n;
}

/* 1 MiB pairs in a fragmented heap: HOLES free 1 MiB holes, each between two
 * live 1 MiB objects (2 * HOLES allocated, every other freed), so an allocator
 * that searches its free runs one by one pays for every hole on each call. */
#define HOLES 1000
static uint64_t case_holes1m(uint64_t n)
{
	size_t size = (size_t)1 << 20;
	static char *v[2 * HOLES];
	for (int i = 0; i < 2 * HOLES; i++) {
		v[i] = xmalloc(size);
		v[i][0] = v[i][size - 1] = 1;
	}
	for (int i = 0; i < 2 * HOLES; i += 2)
		free(v[i]);
	large_pairs(size, n);
	for (int i = 1; i < 2 * HOLES; i += 2)
		free(v[i]);
	return n;
}

/* Batch's input: n sizes of 8..512 B and a random order to free them in (a
 * fixed permutation), in the benchmark's own memory. */
static struct {
	uint16_t *size;
	uint32_t *order;
	char **obj;
} batch;

static void batch_setup(uint64_t n)
{
	batch.size = raw_alloc(n * sizeof *batch.size);
	batch.order = raw_alloc(n * sizeof *batch.order);
	batch.obj = raw_alloc(n * sizeof *batch.obj);
	for (uint64_t i = 0; i < n; i++) {
		batch.size[i] = (uint16_t)(8 + rng_next() % 505);
		batch.order[i] = (uint32_t)i;
	}
	for (uint64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
		uint64_t j = rng_next() % (i + 1);
		uint32_t t = batch.order[i];
		batch.order[i] = batch.order[j];
		batch.order[j] = t;
	}
	free(xmalloc(16)); /* the allocator's own start-up is not the batch's */
}

/* Every object allocated (first byte written), then all freed in batch.order;
 * mark: phase_mark between the two (a timed round). */
static void batch_round(uint64_t n, bool mark)
{
	for (uint64_t i = 0; i < n; i++) {
		batch.obj[i] = xmalloc(batch.size[i]);
		batch.obj[i][0] = (char)i;
	}
	if (mark)
		phase_mark();
	for (uint64_t i = 0; i < n; i++)
		free(batch.obj[batch.order[i]]);
}

/* n objects of random size 8..512 B allocated, then freed in a random order. One
 * op = one object (its malloc and its free). The process's first round: every
 * page the allocator hands out is new to it. */
static uint64_t case_batch(uint64_t n)
{
	batch_setup(n);
	phase_start();
	batch_round(n, true);
	phase_stop();
	return n;
}

/* batch's round run twice in one process, the second measured (same sizes, same
 * order): the allocator starts from the memory the first round left it, resident
 * unless it gave it back to the OS in between, so the measure is closer to a
 * long-running program's steady state than to its start-up. */
static uint64_t case_batch2(uint64_t n)
{
	batch_setup(n);
	batch_round(n, false);
	phase_start();
	batch_round(n, true);
	phase_stop();
	return n;
}

/* Producer/consumer: the main thread allocates objects of random size 16..256 B and
 * hands them to a second thread through a single-producer single-consumer ring;
 * the second thread frees them (every free is a cross-thread free). One op = one
 * object. A full or empty ring spins briefly, then yields: 2-core machines. */
#define RING_SIZE 4096 /* power of two; deep enough that neither side waits often */
static struct {
	_Alignas(64) _Atomic uint64_t head; /* next slot the producer writes */
	_Alignas(64) _Atomic uint64_t tail; /* next slot the consumer reads */
	_Alignas(64) void *slot[RING_SIZE];
	uint64_t n;
} ring;

static void backoff(unsigned *spins)
{
	if (++*spins > 64) {
		sched_yield();
		*spins = 0;
	}
}

static void *consumer(void *arg)
{
	uint64_t tail = 0;
	(void)arg;
	while (tail < ring.n) {
		unsigned spins = 0;
		uint64_t head;
		while ((head = atomic_load_explicit(&ring.head, memory_order_acquire)) == tail)
			backoff(&spins);
		for (; tail < head; tail++)
			free(ring.slot[tail & (RING_SIZE - 1)]);
		atomic_store_explicit(&ring.tail, tail, memory_order_release);
	}
	return NULL;
}

static uint64_t case_xthread(uint64_t n)
{
	pthread_t t;
	ring.n = n;
	free(xmalloc(16));
	phase_start();
	if (pthread_create(&t, NULL, consumer, NULL) != 0)
		die("pthread_create failed");
	for (uint64_t head = 0; head < n; head++) {
		unsigned spins = 0;
		char *p = xmalloc(16 + rng_next() % 241);
		p[0] = (char)head;
		while (head - atomic_load_explicit(&ring.tail, memory_order_acquire) >=
		       RING_SIZE)
			backoff(&spins);
		ring.slot[head & (RING_SIZE - 1)] = p;
		atomic_store_explicit(&ring.head, head + 1, memory_order_release);
	}
	pthread_join(t, NULL);
	phase_stop();
	return n;
}

/* Append growth: realloc doubling from 8 B to 64 MiB, the last byte of each new
 * size written; n chains. One op = one realloc call (23 per chain). */
static uint64_t case_realloc(uint64_t n)
{
	const size_t max = (size_t)64 << 20;
	uint64_t ops = 0;
	free(xmalloc(16));
	phase_start();
	for (uint64_t i = 0; i < n; i++) {
		char *p = xmalloc(8);
		p[7] = 1;
		for (size_t size = 16; size <= max; size *= 2) {
			char *q = realloc(p, size);
			if (q == NULL)
				die("realloc returned NULL");
			p = q;
			p[size - 1] = (char)size;
			ops++;
		}
		free(p);
	}
	phase_stop();
	return ops;
}

/* Append growth without realloc, as Go's growslice and a C++ vector do it: a
 * buffer doubled from 4 KiB to 256 MiB, each step a malloc of twice the size,
 * a copy, the new half written and the old buffer freed; n chains. One op =
 * one step (16 per chain). What it measures is mostly peak RSS: the old
 * copies an allocator keeps resident on top of the live buffer and its
 * successor (3 x 128 MiB at the last step). */
static uint64_t case_grow(uint64_t n)
{
	const size_t min = (size_t)4 << 10, max = (size_t)256 << 20;
	uint64_t ops = 0;
	free(xmalloc(16));
	phase_start();
	for (uint64_t i = 0; i < n; i++) {
		char *p = xmalloc(min);
		memset(p, 1, min);
		for (size_t size = min; size < max; size *= 2) {
			char *q = xmalloc(2 * size);
			memcpy(q, p, size);
			memset(q + size, (int)ops, size);
			free(p);
			p = q;
			ops++;
		}
		free(p);
	}
	phase_stop();
	return ops;
}

/* Goroutine stacks: n stacks of 2 KiB; every tenth grows to 8 KiB the way Go's
 * copystack does (new stack, copy the used part, free the old one); then all are
 * freed. Where the allocator exports span_stack_alloc/span_stack_free they are
 * used, otherwise malloc/free. `rounds` repetitions; one op = one stack's life. */
typedef void *stack_alloc_fn(size_t);
typedef void stack_free_fn(void *, size_t);
static stack_alloc_fn *stack_alloc;
static stack_free_fn *stack_free;

static void *malloc_stack_alloc(size_t size) { return malloc(size); }
static void malloc_stack_free(void *p, size_t size) { (void)size; free(p); }

static uint64_t case_stacks(uint64_t n, uint64_t rounds)
{
	enum { SMALL = 2048, BIG = 8192 };
	char **stk = raw_alloc(n * sizeof *stk);
	*(void **)&stack_alloc = dlsym(RTLD_DEFAULT, "span_stack_alloc");
	*(void **)&stack_free = dlsym(RTLD_DEFAULT, "span_stack_free");
	if (stack_alloc == NULL || stack_free == NULL) {
		stack_alloc = malloc_stack_alloc;
		stack_free = malloc_stack_free;
	}
	free(xmalloc(16));
	phase_start();
	for (uint64_t r = 0; r < rounds; r++) {
		for (uint64_t i = 0; i < n; i++) {
			stk[i] = stack_alloc(SMALL);
			if (stk[i] == NULL)
				die("stack allocation returned NULL");
			stk[i][0] = stk[i][SMALL - 1] = (char)i; /* frame at the top */
		}
		for (uint64_t i = 0; i < n; i += 10) {
			char *big = stack_alloc(BIG);
			if (big == NULL)
				die("stack allocation returned NULL");
			memcpy(big + BIG - SMALL, stk[i], SMALL);
			stack_free(stk[i], SMALL);
			stk[i] = big;
		}
		for (uint64_t i = 0; i < n; i++)
			stack_free(stk[i], i % 10 == 0 ? BIG : SMALL);
	}
	phase_stop();
	return n * rounds;
}

/* --- driver --------------------------------------------------------------------- */

static uint64_t run_pairs16(uint64_t n) { return case_pairs(16, n); }
static uint64_t run_pairs64(uint64_t n) { return case_pairs(64, n); }
static uint64_t run_pairs256(uint64_t n) { return case_pairs(256, n); }
static uint64_t run_large64k(uint64_t n) { return case_large((size_t)64 << 10, n); }
static uint64_t run_large1m(uint64_t n) { return case_large((size_t)1 << 20, n); }
static uint64_t run_stacks(uint64_t n) { return case_stacks(n, 10); }

struct bench_case {
	const char *name;
	uint64_t (*run)(uint64_t n); /* returns the number of ops done */
	uint64_t default_n;
	const char *op; /* what one op is */
};

/* Default sizes keep each case near 0.1-1 s on one core of a small VM. */
static const struct bench_case cases[] = {
	{ "pairs16", run_pairs16, 20000000, "one 16 B malloc+free pair" },
	{ "pairs64", run_pairs64, 20000000, "one 64 B malloc+free pair" },
	{ "pairs256", run_pairs256, 20000000, "one 256 B malloc+free pair" },
	{ "loop", case_loop, 20000000, "one iteration of the pairs loop, no allocator" },
	{ "batch", case_batch, 1000000, "one 8..512 B object, allocated then freed in random order" },
	{ "batch2", case_batch2, 1000000, "batch's round again in the same process (the second measured)" },
	{ "xthread", case_xthread, 2000000, "one object allocated on one thread, freed on another" },
	{ "large64k", run_large64k, 1000000, "one 64 KiB malloc+free pair" },
	{ "large1m", run_large1m, 500000, "one 1 MiB malloc+free pair" },
	{ "holes1m", case_holes1m, 200000, "one 1 MiB malloc+free pair among 1000 free 1 MiB holes" },
	{ "realloc", case_realloc, 10, "one realloc call of a doubling chain 8 B -> 64 MiB" },
	{ "grow", case_grow, 1, "one step of a buffer doubled by malloc+copy+free, 4 KiB -> 256 MiB" },
	{ "stacks", run_stacks, 100000, "one 2 KiB stack's life (10 rounds; a tenth grown to 8 KiB)" },
};

static const char *malloc_lib(void)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "malloc");
	if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL)
		return "unknown";
	const char *slash = strrchr(info.dli_fname, '/');
	return slash != NULL ? slash + 1 : info.dli_fname;
}

static void usage(void)
{
	fprintf(stderr, "usage: spanbench CASE [N]\ncases:\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		fprintf(stderr, "  %-9s N=%-9" PRIu64 " op: %s\n", cases[i].name,
			cases[i].default_n, cases[i].op);
	exit(1);
}

int main(int argc, char **argv)
{
	const struct bench_case *c = NULL;
	uint64_t n, ops;
	if (argc < 2 || argc > 3)
		usage();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strcmp(argv[1], cases[i].name) == 0)
			c = &cases[i];
	if (c == NULL)
		usage();
	n = argc == 3 ? strtoull(argv[2], NULL, 10) : c->default_n;
	if (n == 0)
		usage();

	ops = c->run(n);
	if (iters == 0)
		iters = ops;

	printf("case=%s malloc_lib=%s stack=%s ops=%" PRIu64 " iters=%" PRIu64
	       " ns_per_op=%.3f cpu_ns_per_op=%.3f base_kb=%ld peak_kb=%ld",
	       c->name, malloc_lib(),
	       stack_alloc == NULL ? "-" :
	       stack_alloc == malloc_stack_alloc ? "malloc" : "span_stack_alloc",
	       ops, iters, (double)(phase.t1 - phase.t0) / (double)ops,
	       (double)(phase.cpu1 - phase.cpu0) / (double)ops, phase.base_kb,
	       phase.peak_kb);
	if (phase.cpu_mid != 0)
		printf(" alloc_cpu_ns_per_op=%.3f free_cpu_ns_per_op=%.3f",
		       (double)(phase.cpu_mid - phase.cpu0) / (double)ops,
		       (double)(phase.cpu1 - phase.cpu_mid) / (double)ops);
	putchar('\n');
	return 0;
}
