/*
 * The plan: the trial matrix of a suite, in run order.
 * Order: repetition, then workload, then thread count, then allocator — so the
 * allocators of one (workload, threads) alternate A B C A B C and drift of the
 * machine spreads evenly over them.
 */
#ifndef MB_PLAN_H
#define MB_PLAN_H

#include "config.h"

typedef struct mb_trial_spec {
	size_t wl;          /* index into suite->wl */
	size_t al;          /* index into suite->al */
	unsigned threads;
	unsigned rep;       /* 0-based */
	uint64_t seed;      /* the same for every allocator and repetition */
	uint64_t ops, warmup; /* after ops_scale */
	char id[320];       /* <workload>__<allocator>__t<threads>__r<rep>, file-safe */
} mb_trial_spec_t;

typedef struct mb_plan {
	mb_trial_spec_t *t;
	size_t n;
} mb_plan_t;

int mb_plan_build(const mb_suite_t *s, mb_plan_t *plan); /* 0 or -ENOMEM */
void mb_plan_free(mb_plan_t *plan);

#endif
