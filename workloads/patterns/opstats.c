/*
 * The accounting of the operation stream: the derived totals and the
 * out-of-line paths of mb_alloc / mb_free. See pattern.h.
 */
#include "pattern.h"
#include "tape.h"

void mb_opstats_settle(mb_opstats_t *st)
{
	uint64_t a = 0, ab = 0, f = 0, fb = 0;
	for (unsigned b = 0; b < MB_NBUCKET; b++) {
		a += st->bucket[b].allocs;
		ab += st->bucket[b].alloc_bytes;
		f += st->bucket[b].frees;
		fb += st->bucket[b].free_bytes;
	}
	st->allocs = a, st->alloc_bytes = ab;
	st->frees = f, st->free_bytes = fb;
	st->live_objects = (int64_t)(a - f);
	st->live_bytes = (int64_t)(ab - fb);
}

/* The inverse of FNV-1a's prime 0x100000001b3 mod 2^64. */
#define FNV_PRIME_INV 0xce965057aff6957bull

void mb_opstats_alloc_failed(mb_opstats_t *st, size_t size, uint64_t tag)
{
	mb_opcount_t *c = mb_opstats_count(st, size);
	c->allocs--;
	c->alloc_bytes -= size;
	st->checksum = (st->checksum * FNV_PRIME_INV) ^ tag;
	st->failed++;
}

void mb_opstats_start(mb_worker_t *w, bool track_usable)
{
	w->malloc = w->alloc->malloc;
	w->free = w->alloc->free;
	w->track_usable = track_usable;
	w->lat_countdown = MB_LAT_PERIOD;
	w->slow_countdown = track_usable ? 1 : MB_LAT_PERIOD;
}

/* Whether this call is the timed one of its MB_LAT_PERIOD, and the next
 * countdown: without track_usable only the timed calls come here. */
static bool slow_timed(mb_worker_t *w)
{
	if (!w->track_usable) {
		w->slow_countdown = MB_LAT_PERIOD;
		return true;
	}
	w->slow_countdown = 1;
	if (--w->lat_countdown)
		return false;
	w->lat_countdown = MB_LAT_PERIOD;
	return true;
}

void *mb_opstats_malloc_slow(mb_worker_t *w, size_t size, unsigned flags)
{
	void *p;
	if (slow_timed(w)) {
		uint64_t t0 = mb_now_ns();
		p = w->alloc->malloc(size, flags);
		if (w->lat_on)
			mb_lat_record(&w->lat_alloc, mb_now_ns() - t0);
	} else {
		p = w->alloc->malloc(size, flags);
	}
	if (p && w->track_usable)
		w->st.live_usable += (int64_t)w->alloc->usable_size(p);
	return p;
}

void mb_opstats_dofree_slow(mb_worker_t *w, void *p, size_t size)
{
	if (w->track_usable)
		w->st.live_usable -= (int64_t)w->alloc->usable_size(p);
	if (slow_timed(w)) {
		uint64_t t0 = mb_now_ns();
		w->alloc->free(p, size);
		if (w->lat_on)
			mb_lat_record(&w->lat_free, mb_now_ns() - t0);
	} else {
		w->alloc->free(p, size);
	}
}

void *mb_opstats_alloc_slow(mb_worker_t *w, size_t size, unsigned flags)
{
	if (w->tape)
		return mb_tape_rec_alloc(w, size, flags);
	void *p = mb_opstats_malloc_slow(w, size, flags);
	if (p == NULL) {
		w->st.failed++;
		return NULL;
	}
	mb_opstats_alloc(&w->st, size, size << 1);
	return p;
}

void mb_opstats_free_slow(mb_worker_t *w, void *p, size_t size)
{
	if (w->tape) {
		mb_tape_rec_free(w, p, size);
		return;
	}
	mb_opstats_dofree_slow(w, p, size);
	mb_opstats_free(&w->st, size, (size << 1) | 1);
}
