/*
 * Comparing two runs, cell by cell (workload x allocator x threads) and
 * metric by metric: medians, delta, a two-sided Mann-Whitney U p-value and a
 * Hodges-Lehmann confidence interval of the shift; deterministic metrics are
 * compared exactly. `membench compare` prints this and exits 1 when a
 * significant regression passes the threshold.
 */
#ifndef MB_COMPARE_H
#define MB_COMPARE_H

#include <stdio.h>

#include "metric.h"
#include "rundir.h"

enum compare_verdict {
	CMP_SAME,      /* not significant ("~"), or exactly equal */
	CMP_BETTER,    /* significant, in the metric's good direction */
	CMP_WORSE,     /* significant, in the bad direction */
	CMP_CHANGED,   /* significant, metric without a direction */
	CMP_UNDECIDED, /* too few samples for any p below alpha */
};

typedef struct compare_opts {
	double alpha;         /* significance level, default 0.05 */
	double threshold_pct; /* a regression must be at least this large, default 5 */
	double conf;          /* confidence of the interval, default 0.95 */
	const char *metrics;  /* comma-separated metric names, NULL = all */
} compare_opts_t;

typedef struct compare_row {
	const rundir_cell_t *cell;  /* in the NEW run */
	metric_t m;
	metric_summary_t base, cur;
	double delta_pct;           /* (cur.median - base.median) / base.median * 100 */
	double p;                   /* U test p; 0 or 1 for exact comparisons */
	int exact;                  /* compared exactly (deterministic metric) */
	double ci_lo_pct, ci_hi_pct; /* shift CI as % of the base median; NaN if none */
	double ci_achieved;         /* the interval's actual confidence */
	int verdict;                /* enum compare_verdict */
	int regression;             /* CMP_WORSE and |delta_pct| >= threshold */
} compare_row_t;

typedef struct compare {
	compare_opts_t o;
	const rundir_t *base, *cur;
	compare_row_t *row;
	size_t nrow, nregress;
	char **warn;
	size_t nwarn;
} compare_t;

/* Compares every cell and metric present in both runs. Returns 0. */
int compare_runs(const rundir_t *base, const rundir_t *cur, const compare_opts_t *o, compare_t *out);
void compare_free(compare_t *c);

/* Outputs: the benchstat-like table, the regression list, CSV, JSON. */
void compare_print_table(const compare_t *c, FILE *f);
void compare_print_regressions(const compare_t *c, FILE *f);
void compare_write_csv(const compare_t *c, FILE *f);
void compare_write_json(const compare_t *c, FILE *f);

extern const char *const compare_verdict_names[];

#endif
