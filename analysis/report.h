/*
 * `membench report DIR`: figures (gnuplot, report_plots.c), report.html
 * (report_html.c, self-contained) and report.md (report_md.c), and a text
 * summary on stdout. The report reads the results folder only; every section
 * a run did not record says "not available in this run" instead.
 */
#ifndef MB_REPORT_H
#define MB_REPORT_H

#include <stdio.h>

#include "metric.h"
#include "rundir.h"
#include "text.h"

enum report_fig_state {
	FIG_OK,        /* rendered: plots/BASE.svg and plots/BASE.png */
	FIG_NA,        /* the run has no data for it; note says why */
	FIG_FAILED,    /* gnuplot failed; note has its message */
	FIG_NOGNUPLOT, /* data and script written, nothing rendered */
};

typedef struct report_fig {
	const char *id;     /* "a" .. "h", as in the report's contents */
	const char *base;   /* file base in plots/: "a-time" */
	const char *title;
	int state;          /* enum report_fig_state */
	char note[600];     /* caveat or reason, "" when none */
} report_fig_t;

#define REPORT_NFIG 8

typedef struct report {
	rundir_t *rd;
	metric_t *m;        /* metric_discover() of the run */
	size_t nm;
	report_fig_t fig[REPORT_NFIG];
	char plotdir[4400];
	char **warn;        /* failed trials, unavailable counters, file problems */
	size_t nwarn;
} report_t;

/* Why figure f is not drawn ("Not drawn: gnuplot failed."), or NULL when it
 * is drawn or has no data (its note says why). */
const char *report_fig_not_drawn(const report_fig_t *f);

/* Writes data and scripts for every figure into r->plotdir and renders them
 * when gnuplot is there; fills r->fig. Returns the number rendered. */
int report_plots(report_t *r);

/* report.md and report.html; 0 or -1 (errno). Written atomically. */
int report_write_md(const report_t *r, const char *path);
int report_write_html(const report_t *r, const char *path);

/* Adds a warning line (a repeated line is kept once). */
void report_warn(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The run's warnings into r->warn: file problems, an incomplete or
 * unoptimised run, failed trials, unavailable counters grouped by reason. */
void report_collect_warnings(report_t *r);

/* The rows of the medians table: metrics shown in every report. */
extern const char *const report_table_metrics[];

/* Distinct (workload, threads) groups of the run, in cell order; returns the
 * count and the first cell of each group in *first (malloc'd). */
size_t report_groups(const rundir_t *rd, size_t **first);

/* The first ok trial of a cell (lowest rep), or NULL. */
const rundir_trial_t *report_first_ok(const rundir_t *rd, const rundir_cell_t *c);

/* The parts of figure (d), bottom to top; see report_frag.c. */
enum {
	FP_LIVE, FP_INTERNAL, FP_CACHED, FP_TAIL, FP_FREE_SLOTS, FP_EXTERNAL, FP_FREE_PAGES,
	FP_OUTSIDE, FP_UNATTRIBUTED, REPORT_FRAG_N
};
typedef struct report_frag_part {
	const char *name;   /* short id: "free_pages" */
	const char *title;  /* the key's words */
	const char *colour; /* '#rrggbb' */
} report_frag_part_t;
extern const report_frag_part_t report_frag_parts[REPORT_FRAG_N];

/* Where trial t's RSS was at its sample of peak live bytes, in bytes per
 * part (NaN: a part this allocator cannot tell; the known parts add up to
 * RSS). Reads result.frag.at_peak_live, or computes it from the memory series
 * when the trial has no result.frag. *clamped counts segments that came out
 * negative and were set to 0. Returns 0, or -1 when the trial failed or has
 * no live bytes or RSS. */
int report_frag_stack(const rundir_trial_t *t, double part[REPORT_FRAG_N], int *clamped);


/* A table of text, built once (report_table.c) and written by report_md.c
 * and report_html.c with their own escaping. A cell's "\n" separates a value
 * from its range. */
typedef struct rtable {
	size_t ncol, nrow;
	char **head;        /* ncol column titles */
	int *numeric;       /* per column: right-aligned numbers */
	char **cell;        /* nrow * ncol, row-major */
} rtable_t;
void rtable_init(rtable_t *t, size_t ncol, const char *const *head, const int *numeric);
/* Appends a row: exactly ncol strings (copied). */
void rtable_row(rtable_t *t, ...);
void rtable_free(rtable_t *t);
/* Writes cell s with esc: "value" alone, or pre value mid range post. */
void rtable_cell_write(rbuf_t *b, const char *s, void (*esc)(rbuf_t *, const char *),
		       const char *pre, const char *mid, const char *post);

/* The medians table: per cell, report_table_metrics, median and min-max. */
void report_table_results(const report_t *r, rtable_t *t);
/* Every metric of every cell: n, median, quartiles, range. */
void report_table_all(const report_t *r, rtable_t *t);
/* Host and topology (manifest), flattened; versions of build and allocators. */
void report_table_machine(const report_t *r, rtable_t *t);
void report_table_versions(const report_t *r, rtable_t *t);
/* Appends "PREFIX.key = value" rows of JSON j (objects flattened to depth 4,
 * long values cut) to a two-column table. */
void report_table_flat(rtable_t *t, const char *prefix, json_t *j, int depth);
/* The one-sentence description of the run (suite, status, trials, times). */
void report_intro(const report_t *r, rbuf_t *b);
/* The whole of a file (NUL-terminated, malloc'd), or NULL. */
char *report_slurp(const char *path, size_t *len);

#endif
