/*
 * The JSON writers of a trial's result: the parts of the object that
 * mb_trial_run (trial.c) assembles from its own state. See trial.h.
 * Each returns a new reference (jansson); a field the allocator cannot tell
 * (MB_STAT_UNKNOWN) is written as null, never as a number.
 */
#ifndef MB_TRIAL_JSON_H
#define MB_TRIAL_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "frag.h"
#include "pattern.h"
#include "topology.h"

/* {samples, p50_ns, p99_ns, p999_ns, max_ns} of one latency histogram. */
json_t *mb_trial_json_lat(const mb_lathist_t *h);

/* The allocator's own view (allocated, active, resident, mapped, metadata,
 * retained). */
json_t *mb_trial_json_astats(const mb_alloc_stats_t *s);

/* The `series` object: one array per column, nrows entries each (row 0 before
 * the first measured chunk, row c + 1 after chunk c). */
json_t *mb_trial_json_series(const uint64_t *ops, const uint64_t *ns,
			     const frag_sample_t *mem, uint64_t nrows);

/* The `stream` object of a finished run: the operation stream's checksum,
 * counts, bytes, per-size-bucket counts and the pattern's own counters, summed
 * over the workers in tid order (the workers must be stopped). Fills *sum
 * with the summed buckets and the totals settled from them, and merges every
 * worker's latency histograms into *la (malloc) and *lf (free). */
json_t *mb_trial_json_stream(const mb_run_t *run, mb_opstats_t *sum, mb_lathist_t *la,
			     mb_lathist_t *lf);

/* The `placement` object: the pin and membind policies and, when pinned
 * (place != NULL), where each of the nthreads workers was placed;
 * bind_error[i] is "" when worker i was bound as placed. */
json_t *mb_trial_json_placement(int pin, int membind, const mb_place_t *place,
				unsigned nthreads, const char *const *bind_error);

#endif
