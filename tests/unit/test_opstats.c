/*
 * The per-call accounting of mb_alloc / mb_free (pattern.h, opstats.c): the
 * totals that mb_opstats_settle derives from the size buckets equal a direct
 * count of the same stream, over both the inline and the out-of-line paths,
 * with and without usable-size tracking; the stream checksum and the timed
 * calls do not depend on the path taken.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pattern.h"

static uint64_t n_fail_at; /* the allocation that returns NULL (0: none) */
static uint64_t n_calls;

static int t_init(void) { return 0; }
static void *t_malloc(size_t n, unsigned f)
{
	return ++n_calls == n_fail_at ? NULL : malloc(n);
}
static void t_free(void *p, size_t n) { free(p); }
static void *t_realloc(void *p, size_t o, size_t n) { return realloc(p, n); }
static size_t t_usable(void *p) { return malloc_usable_size(p); }

static const mb_alloc_ops_t test_alloc = {
	.abi_version = MB_ALLOC_ABI_VERSION, .name = "test", .init = t_init,
	.malloc = t_malloc, .free = t_free, .realloc = t_realloc, .usable_size = t_usable,
};

#define NLIVE 512
#define NOPS 20000

typedef struct direct {
	uint64_t allocs, frees, alloc_bytes, free_bytes, failed, checksum;
	int64_t live_usable;
} direct_t;

typedef struct slot {
	void *p;
	size_t size;
} slot_t;

/* Frees the object in slot through mb_free, counting it directly in d first. */
static void free_slot(mb_worker_t *w, direct_t *d, slot_t *slot)
{
	d->frees++, d->free_bytes += slot->size;
	d->live_usable -= (int64_t)malloc_usable_size(slot->p);
	d->checksum = (d->checksum ^ ((slot->size << 1) | 1)) * 0x100000001b3ull;
	mb_free(w, slot->p, slot->size);
	slot->p = NULL;
}

/* A stream of NOPS mb_alloc/mb_free over NLIVE slots, sizes from 0 to 1 MiB
 * (every kind of bucket), counted directly beside the worker's accounting. */
static void run_stream(mb_worker_t *w, direct_t *d)
{
	static slot_t slot[NLIVE];
	mb_rng_t r;
	mb_rng_seed(&r, 7, 0);
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < NOPS; i++) {
		unsigned k = (unsigned)mb_rng_below(&r, NLIVE);
		if (slot[k].p) {
			free_slot(w, d, &slot[k]);
			continue;
		}
		uint64_t x = mb_rng_next(&r);
		size_t size = (size_t)(x & 0xff) << (x >> 8 & 15) >> 4; /* 0 .. ~1 MiB */
		void *p = mb_alloc(w, size, 0);
		if (!p) {
			d->failed++;
			continue;
		}
		d->allocs++, d->alloc_bytes += size;
		d->live_usable += (int64_t)malloc_usable_size(p);
		d->checksum = (d->checksum ^ (size << 1)) * 0x100000001b3ull;
		slot[k].p = p, slot[k].size = size;
	}
	for (unsigned k = 0; k < NLIVE; k++) /* leave nothing behind */
		if (slot[k].p) {
			free_slot(w, d, &slot[k]);
			if (k == NLIVE / 2) { /* a sample point with objects live */
				mb_opstats_settle(&w->st);
				assert_int_equal(w->st.live_objects,
						 (int64_t)(d->allocs - d->frees));
				assert_int_equal(w->st.live_bytes,
						 (int64_t)(d->alloc_bytes - d->free_bytes));
				assert_true(w->st.live_objects > 0);
			}
		}
}

static void check(bool track_usable, uint64_t fail_at)
{
	static mb_worker_t w;
	memset(&w, 0, sizeof(w));
	w.alloc = &test_alloc;
	w.lat_on = true;
	mb_opstats_start(&w, track_usable);
	n_calls = 0, n_fail_at = fail_at;
	direct_t d;
	run_stream(&w, &d);
	mb_opstats_settle(&w.st);
	assert_int_equal(w.st.allocs, d.allocs);
	assert_int_equal(w.st.frees, d.frees);
	assert_int_equal(w.st.alloc_bytes, d.alloc_bytes);
	assert_int_equal(w.st.free_bytes, d.free_bytes);
	assert_int_equal(w.st.live_objects, 0);
	assert_int_equal(w.st.live_bytes, 0);
	assert_int_equal(w.st.failed, d.failed);
	assert_int_equal(w.st.checksum, d.checksum);
	assert_int_equal(w.st.live_usable, track_usable ? d.live_usable : 0);
	assert_true(d.allocs > NOPS / 3 && d.failed == (fail_at != 0));
	/* one call in MB_LAT_PERIOD is timed, whichever path it takes */
	uint64_t timed = 0, calls = d.allocs + d.failed + d.frees;
	for (unsigned b = 0; b < MB_LAT_BUCKETS; b++)
		timed += w.lat_alloc.count[b] + w.lat_free.count[b];
	assert_int_equal(timed, calls / MB_LAT_PERIOD);
	/* the buckets hold each size where mb_bucket puts it */
	uint64_t big = 0;
	for (unsigned b = MB_BUCKET_LARGE; b < MB_NBUCKET; b++)
		big += w.st.bucket[b].allocs;
	assert_true(big > 0 && big < d.allocs);
}

static void test_settle_equals_direct_count(void **st) { check(false, 0); }
static void test_settle_with_usable_tracking(void **st) { check(true, 0); }
/* the failing allocation is the timed one (MB_LAT_PERIOD), then an inline one */
static void test_failed_allocs_slow_path(void **st) { check(false, MB_LAT_PERIOD); }
static void test_failed_allocs_inline_path(void **st) { check(false, 5); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle_equals_direct_count),
		cmocka_unit_test(test_settle_with_usable_tracking),
		cmocka_unit_test(test_failed_allocs_slow_path),
		cmocka_unit_test(test_failed_allocs_inline_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
