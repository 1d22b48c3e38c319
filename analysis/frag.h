/*
 * Fragmentation, defined once. The formulas, and what each allocator can tell,
 * are in analysis/METRICS.md; this file is their only implementation. It reads
 * numbers (a trial's samples, or a result file's series) and links no
 * allocator: membench_alloc.h is included for its plain data types only.
 *
 * Units: bytes. MB_STAT_UNKNOWN (UINT64_MAX) marks a figure that cannot be
 * known; every function passes unknown through instead of guessing.
 */
#ifndef MB_FRAG_H
#define MB_FRAG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "membench_alloc.h"

/* One memory sample, taken while the workers are stopped. */
typedef struct frag_sample {
	uint64_t rss;            /* process resident set (statm) */
	uint64_t rss_anon;       /* resident anonymous memory: statm resident - shared */
	uint64_t live_requested; /* sum of requested sizes of live objects */
	uint64_t live_usable;    /* sum of usable_size() of live objects (memory-
	                            profile trials only, else unknown) */
	uint64_t live_objects;
	mb_alloc_stats_t a;      /* the allocator's own view */
	uint64_t class_tail;     /* tail waste summed over size classes */
	uint64_t class_free;     /* free object slots in spans, bytes, summed */
} frag_sample_t;

/* The sample fields and their names in a trial's series (and CSV header), in
 * column order: X(field, "series key"). */
#define FRAG_SAMPLE_FIELDS(X)                  \
	X(rss, "rss")                          \
	X(rss_anon, "rss_anon")                \
	X(live_requested, "live_requested")    \
	X(live_usable, "live_usable")          \
	X(live_objects, "live_objects")        \
	X(a.allocated, "alloc_allocated")      \
	X(a.active, "alloc_active")            \
	X(a.resident, "alloc_resident")        \
	X(a.mapped, "alloc_mapped")            \
	X(a.metadata, "alloc_metadata")        \
	X(a.retained, "alloc_retained")        \
	X(class_tail, "class_tail_waste")      \
	X(class_free, "class_free")

/* Sets every field unknown. */
void frag_sample_clear(frag_sample_t *s);

/* internal = live_usable - live_requested */
uint64_t frag_internal(const frag_sample_t *s);
/* external = allocator active - allocator allocated: free bytes inside the
 * pages that hold objects (free slots, tail waste, cached free objects) */
uint64_t frag_external(const frag_sample_t *s);
/* free_pages = allocator resident - allocator active: free pages kept resident
 * (and, for jemalloc, its metadata) */
uint64_t frag_free_pages(const frag_sample_t *s);
/* overhead factor = RSS / live_requested; NaN when nothing is live */
double frag_overhead(const frag_sample_t *s);

/* Per size class (mb_alloc_class_stats_t). */
uint64_t frag_class_tail(const mb_alloc_class_stats_t *c);  /* spans * (span_bytes - span_objects*size) */
uint64_t frag_class_free(const mb_alloc_class_stats_t *c);  /* (spans*span_objects - objects) * size */
double frag_class_utilisation(const mb_alloc_class_stats_t *c); /* objects / (spans*span_objects) */
/* Sums tail and free over n classes into s->class_tail / s->class_free. */
void frag_classes_sum(const mb_alloc_class_stats_t *c, size_t n, frag_sample_t *s);
/* Checks a class's invariants; NULL when they hold, else which one fails. */
const char *frag_class_check(const mb_alloc_class_stats_t *c);
json_t *frag_class_json(const mb_alloc_class_stats_t *c);

/* The identity chain of one sample:
 *     live_requested <= live_usable <= allocated <= active <= resident
 * A link with an unknown end is skipped and the next known figure is compared
 * instead (requested <= allocated when usable is unknown), so every known pair
 * is checked. Returns the number of violations; the first is described in why. */
int frag_check(const frag_sample_t *s, char *why, size_t whylen);

/* Reads row r of a trial's series object (keys FRAG_SAMPLE_FIELDS; a missing
 * column or a null cell is unknown). Returns 0, or -1 when r is out of range. */
int frag_sample_from_series(json_t *series, size_t r, frag_sample_t *s);

/* The summary figures of one trial result (the `result` object of a trial
 * record: its series and rss_* fields): at the peak of live bytes and at the
 * end of the measured phase, peak RSS, memory returned after the drain, and
 * the identity check over every sample. Returns a new object. */
json_t *frag_summary_json(json_t *result);

#endif
