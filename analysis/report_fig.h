/*
 * What the figure files share (report_plots.c draws (a)-(c), (e), (f) and
 * runs them all; report_frag.c draws (d); report_classes.c draws (g) and
 * (h)). Internal to the report; see report.h.
 *
 * A figure writes its data into fig->base.dat (x->dat) and its gnuplot
 * commands into fig->base.body.gp (x->body); it sets x->w, x->h when the
 * default 1000x480 does not fit, and sets fig->state = FIG_NA with a note
 * when the run has no data for it.
 */
#ifndef MB_REPORT_FIG_H
#define MB_REPORT_FIG_H

#include "plot.h"
#include "report.h"

#define MiB 1048576.0

typedef struct fig_ctx {
	report_t *r;
	report_fig_t *fig;
	plot_file_t dat, body;
	size_t *grp, ng;     /* report_groups() of the run */
	int w, h;            /* pixels */
	int cols, panel_h, key_h; /* fig_panels() layout */
} fig_ctx_t;

/* Writes " v/scale", or " NaN" (gnuplot's missing value). */
void fig_num(FILE *f, double v, double scale);

/* Starts a multiplot of n panels in rows of at most cols, panel_h pixels
 * high, under a strip of key_h pixels for one key shared by all panels: sets
 * x->h and the layout. Place each panel with fig_panel(), then draw the key
 * with fig_key() last (it leaves the axes off). */
void fig_panels(fig_ctx_t *x, size_t n, int cols, int panel_h, int key_h);
void fig_panel(fig_ctx_t *x, size_t i);
/* The shared key, as a panel of its own across the whole width: one entry per
 * title, drawn in the style given (gnuplot words, "with boxes lc rgb '#...'"). */
void fig_key(fig_ctx_t *x, size_t n, const char *const *titles, const char *const *styles);

void report_fig_d(fig_ctx_t *x);
void report_fig_g(fig_ctx_t *x);
void report_fig_h(fig_ctx_t *x);

#endif
