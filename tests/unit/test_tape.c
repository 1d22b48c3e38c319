/*
 * The operation tape (tape.h): a stream recorded and replayed in pieces makes
 * the same allocator calls, in the same order, with the same accounting and
 * latency-sample cadence as the same stream run directly; the object writes
 * land at replay; a failed allocation drops its writes and its free (in the
 * same tape or a later one) and takes their counts back; a handed-off object
 * reaches the receiver as a real pointer.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernels.h"
#include "tape.h"

/* The test allocator logs every call: (kind << 60) ^ size, or the pointer
 * freed; allocation number fail_at returns NULL. */
#define LOG_MAX 200000
static uint64_t call_log[LOG_MAX], nlog, nmalloc, fail_at;
static uint64_t bad_frees; /* frees of objects whose written words were wrong */

static int t_init(void) { return 0; }
static void *t_malloc(size_t n, unsigned f)
{
	call_log[nlog++] = (1ull << 60) ^ n ^ ((uint64_t)f << 40);
	return ++nmalloc == fail_at ? NULL : malloc(n);
}
static void t_free(void *p, size_t n)
{
	call_log[nlog++] = (2ull << 60) ^ n;
	bad_frees += mb_obj_check(p, n) != 0;
	free(p);
}
static void *t_realloc(void *p, size_t o, size_t n) { return realloc(p, n); }
static size_t t_usable(void *p) { return malloc_usable_size(p); }

static const mb_alloc_ops_t test_alloc = {
	.abi_version = MB_ALLOC_ABI_VERSION, .name = "test", .init = t_init,
	.malloc = t_malloc, .free = t_free, .realloc = t_realloc, .usable_size = t_usable,
};

#define NLIVE 300
typedef struct state {
	void *p[NLIVE];
	size_t size[NLIVE];
} state_t;

/* n operations: a random slot's object is freed (if any) and replaced by a
 * new one of a random size, written whole. */
static void stream(mb_worker_t *w, uint64_t n)
{
	state_t *s = w->state;
	for (uint64_t i = 0; i < n; i++) {
		unsigned k = (unsigned)mb_rng_below(&w->rng, NLIVE);
		if (s->p[k])
			mb_free(w, s->p[k], s->size[k]);
		size_t size = 8 + (size_t)mb_rng_below(&w->rng, 3000);
		s->p[k] = mb_alloc(w, size, i & 1 ? MB_NOSCAN : 0);
		s->size[k] = size;
		if (s->p[k])
			mb_obj_write(s->p[k], size);
	}
}

static void drain(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	state_t *s = w->state;
	for (unsigned k = 0; k < NLIVE; k++)
		if (s->p[k]) {
			mb_free(w, s->p[k], s->size[k]);
			s->p[k] = NULL;
		}
}

static mb_pattern_t test_pattern = {.name = "test", .step = stream, .taped = true};

static void worker(mb_worker_t *w, mb_run_t *run, state_t *s)
{
	memset(w, 0, sizeof(*w));
	memset(s, 0, sizeof(*s));
	*run = (mb_run_t){.pattern = &test_pattern, .alloc = &test_alloc, .nthreads = 1};
	w->run = run;
	w->alloc = &test_alloc;
	w->state = s;
	w->lat_on = true;
	mb_rng_seed(&w->rng, 11, 0);
}

static void reset_log(void)
{
	nlog = nmalloc = bad_frees = 0;
}

static void test_replay_is_the_direct_stream(void **unused)
{
	static mb_worker_t a, b;
	static mb_run_t ra, rb;
	static state_t sa, sb;
	static uint64_t log_a[LOG_MAX];
	fail_at = 0;
	for (int usable = 0; usable < 2; usable++) {
		worker(&a, &ra, &sa);
		mb_opstats_start(&a, usable);
		reset_log();
		stream(&a, 20000);
		drain(&a, 0);
		uint64_t na = nlog;
		memcpy(log_a, call_log, na * sizeof(log_a[0]));

		worker(&b, &rb, &sb);
		mb_opstats_start(&b, usable);
		mb_tape_t t;
		assert_int_equal(mb_tape_init(&t), 0);
		reset_log();
		mb_tape_run_ops(&b, &t, 20000); /* pieces of MB_TAPE_PIECE_OPS */
		mb_tape_run(&b, &t, drain, 0);
		mb_tape_fini(&t);

		assert_int_equal(nlog, na);
		assert_memory_equal(call_log, log_a, na * sizeof(log_a[0]));
		assert_int_equal(bad_frees, 0); /* the writes were made at replay */
		assert_memory_equal(&a.st, &b.st, sizeof(a.st));
		uint64_t ca = 0, cb = 0, fa = 0, fb = 0;
		for (unsigned i = 0; i < MB_LAT_BUCKETS; i++) {
			ca += a.lat_alloc.count[i], cb += b.lat_alloc.count[i];
			fa += a.lat_free.count[i], fb += b.lat_free.count[i];
		}
		assert_true(ca > 0 && fa > 0);
		assert_int_equal(ca, cb);
		assert_int_equal(fa, fb);
	}
}

/* Allocates two objects, frees the first: in one tape. */
static void two(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	state_t *s = w->state;
	for (unsigned k = 0; k < 2; k++) {
		s->size[k] = 100 + k;
		s->p[k] = mb_alloc(w, s->size[k], 0);
		mb_obj_write(s->p[k], s->size[k]);
	}
}

static void free_first(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	state_t *s = w->state;
	mb_obj_write(s->p[0], s->size[0]); /* dropped: the object never was */
	mb_free(w, s->p[0], s->size[0]);
	s->p[0] = NULL;
}

static void test_failed_allocation(void **unused)
{
	static mb_worker_t w;
	static mb_run_t run;
	static state_t s;
	for (int later = 0; later < 2; later++) {
		worker(&w, &run, &s);
		mb_opstats_start(&w, false);
		mb_tape_t t;
		assert_int_equal(mb_tape_init(&t), 0);
		reset_log();
		fail_at = 1;
		mb_tape_record(&w, &t, two, 0);
		if (!later)
			mb_tape_record(&w, &t, free_first, 0);
		mb_tape_replay(&w, &t);
		if (later)
			mb_tape_run(&w, &t, free_first, 0);
		/* two mallocs, no free: the first object's free was dropped */
		assert_int_equal(nlog, 2);
		mb_opstats_settle(&w.st);
		assert_int_equal(w.st.failed, 1);
		assert_int_equal(w.st.allocs, 1);
		assert_int_equal(w.st.alloc_bytes, 101);
		assert_int_equal(w.st.frees, 0);
		assert_int_equal(w.st.live_bytes, 101);
		/* the second object is freed as usual */
		fail_at = 0;
		mb_tape_run(&w, &t, drain, 0);
		assert_int_equal(nlog, 3);
		assert_int_equal(bad_frees, 0);
		mb_opstats_settle(&w.st);
		assert_int_equal(w.st.live_bytes, 0);
		mb_tape_fini(&t);
	}
}

static void *handed;
static void hand(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	void *h = mb_alloc(w, 64, 0);
	mb_obj_write(h, 64);
	mb_tape_rec_handoff(w, h, &handed);
}

static void take(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	assert_false(mb_tape_is_handle(handed));
	mb_free(w, handed, 64);
}

static void test_handoff(void **unused)
{
	static mb_worker_t a, b;
	static mb_run_t ra, rb;
	static state_t sa, sb;
	fail_at = 0;
	worker(&a, &ra, &sa);
	worker(&b, &rb, &sb);
	mb_opstats_start(&a, false);
	mb_opstats_start(&b, false);
	mb_tape_t ta, tb;
	assert_int_equal(mb_tape_init(&ta), 0);
	assert_int_equal(mb_tape_init(&tb), 0);
	reset_log();
	mb_tape_record(&a, &ta, hand, 0);
	assert_null(handed); /* known only at replay */
	mb_tape_replay(&a, &ta);
	assert_non_null(handed);
	mb_tape_run(&b, &tb, take, 0);
	assert_int_equal(nlog, 2);
	assert_int_equal(bad_frees, 0);
	mb_opstats_settle(&a.st);
	mb_opstats_settle(&b.st);
	assert_int_equal(a.st.live_bytes + b.st.live_bytes, 0);
	mb_tape_fini(&ta);
	mb_tape_fini(&tb);
}

/* More entries than MB_TAPE_FLUSH in one record: it replays as it goes. */
#define NBIG (MB_TAPE_FLUSH + 1000)
static void big(mb_worker_t *w, uint64_t unused)
{
	(void)unused;
	static void *h[NBIG];
	for (unsigned i = 0; i < NBIG; i++) {
		h[i] = mb_alloc(w, 24, 0);
		mb_obj_write(h[i], 24);
	}
	for (unsigned i = 0; i < NBIG; i++)
		mb_free(w, h[i], 24);
}

static void test_long_record_flushes(void **unused)
{
	static mb_worker_t w;
	static mb_run_t run;
	static state_t s;
	fail_at = 0;
	worker(&w, &run, &s);
	mb_opstats_start(&w, false);
	mb_tape_t t;
	assert_int_equal(mb_tape_init(&t), 0);
	reset_log();
	mb_tape_run(&w, &t, big, 0);
	assert_int_equal(nlog, 2 * NBIG);
	assert_int_equal(bad_frees, 0);
	assert_true(t.cap <= MB_TAPE_FLUSH + 1); /* never grew past the flush point */
	mb_opstats_settle(&w.st);
	assert_int_equal(w.st.allocs, NBIG);
	assert_int_equal(w.st.live_bytes, 0);
	mb_tape_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_is_the_direct_stream),
		cmocka_unit_test(test_failed_allocation),
		cmocka_unit_test(test_handoff),
		cmocka_unit_test(test_long_record_flushes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
