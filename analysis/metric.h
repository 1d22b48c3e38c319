/*
 * The metrics analysis knows, declared once: name, unit, direction, how to
 * read it from a trial record. report, compare and history all iterate this
 * list, so a metric added here shows up in all three.
 *
 * Static metrics come from a table (metric.c); counters and fragmentation
 * metrics are discovered from the run: every event under result.counters and
 * every number under result.frag becomes a metric.
 */
#ifndef MB_METRIC_H
#define MB_METRIC_H

#include "rundir.h"

enum metric_exact {
	METRIC_NOISY = 0,      /* measured: compare with the U test */
	METRIC_EXACT = 1,      /* same seed => same value: compare exactly */
	METRIC_EXACT_IF_FLAT = 2, /* exact when every rep on both sides agrees */
};

typedef struct metric {
	char name[128];      /* stable id: "ns_per_op", "counter.PAPI_L1_DCM", "frag.internal" */
	const char *unit;    /* "ns", "B", "x", "/op", "" */
	const char *title;   /* for humans */
	int better;          /* -1: lower is better, +1: higher is better, 0: neither */
	int exact;           /* enum metric_exact */
	char path[192];      /* dotted path in the trial record, when fn is NULL */
	double (*fn)(const rundir_trial_t *t); /* computed metrics */
} metric_t;

/* The metrics present in this run (static ones always; counters and frag
 * when any ok trial has them). *out is malloc'd; returns the count. */
size_t metric_discover(const rundir_t *rd, metric_t **out);

/* Static metric by name, NULL if none (counters/frag are not in this table). */
const metric_t *metric_find_static(const char *name);

/* The metric on one trial; NaN when the trial lacks it or failed. */
double metric_value(const metric_t *m, const rundir_trial_t *t);

/* The values of ok trials of the cell (NaN skipped) into buf (room for
 * c->n); returns their count. */
size_t metric_samples(const rundir_t *rd, const rundir_cell_t *c, const metric_t *m, double *buf);

typedef struct metric_summary {
	size_t n;
	double median, min, max, q1, q3;
} metric_summary_t;

void metric_summarise(const double *x, size_t n, metric_summary_t *s);

/* The unavailable reason of counter EVENT on trial t, or NULL when it is
 * available or absent. */
const char *metric_counter_unavailable(const rundir_trial_t *t, const char *event);

/* Formats v with its unit for humans ("12.3 ns", "5.2 MiB", "1.84x"). */
void metric_format(const metric_t *m, double v, char *buf, size_t n);

/* Peak of result.series.live_requested; NaN when the trial has no series. */
double metric_live_peak(const rundir_trial_t *t);

#endif
