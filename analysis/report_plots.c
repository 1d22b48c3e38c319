/*
 * The report's figures, (a) to (h): for each, a data file and a gnuplot body
 * in plots/, rendered by plot_render(). See report.h; the figures are
 * described in analysis/README.md (Report).
 *
 * Layout shared by the bar charts: one cluster per workload x threads, one
 * bar per allocator, values the median over ok repetitions.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_fig.h"
#include "stats.h"

size_t report_groups(const rundir_t *rd, size_t **first)
{
	size_t n = 0;
	*first = malloc((rd->nc + 1) * sizeof(size_t));
	for (size_t i = 0; i < rd->nc; i++) {
		int seen = 0;
		for (size_t k = 0; k < n && !seen; k++) {
			const rundir_cell_t *g = &rd->c[(*first)[k]];
			seen = g->threads == rd->c[i].threads && !strcmp(g->workload, rd->c[i].workload);
		}
		if (!seen)
			(*first)[n++] = i;
	}
	return n;
}

const rundir_trial_t *report_first_ok(const rundir_t *rd, const rundir_cell_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (rd->t[c->trials[i]].ok)
			return &rd->t[c->trials[i]];
	return NULL;
}

static double cell_stat(const rundir_t *rd, const rundir_cell_t *c, const metric_t *m, double q)
{
	if (!c || !m)
		return NAN;
	double *v = malloc((c->n + 1) * sizeof(double));
	size_t n = metric_samples(rd, c, m, v);
	double r = n ? stats_quantile(v, n, q) : NAN;
	free(v);
	return r;
}

void fig_num(FILE *f, double v, double scale)
{
	if (isnan(v))
		fputs(" NaN", f);
	else
		fprintf(f, " %.6g", v / scale);
}

void fig_panels(fig_ctx_t *x, size_t n, int cols, int panel_h, int key_h)
{
	x->cols = n < (size_t)cols ? (int)(n ? n : 1) : cols;
	x->panel_h = panel_h;
	x->key_h = key_h;
	x->h = key_h + (int)((n + (size_t)x->cols - 1) / (size_t)x->cols) * panel_h;
	fprintf(x->body.f, "set multiplot\n");
}

void fig_panel(fig_ctx_t *x, size_t i)
{
	size_t col = i % (size_t)x->cols, row = i / (size_t)x->cols;
	fprintf(x->body.f, "set origin %.4f,%.4f\nset size %.4f,%.4f\n", (double)col / x->cols,
		1.0 - (double)(x->key_h + (int)(row + 1) * x->panel_h) / x->h, 1.0 / x->cols,
		(double)x->panel_h / x->h);
}

void fig_key(fig_ctx_t *x, size_t n, const char *const *titles, const char *const *styles)
{
	FILE *f = x->body.f;
	fprintf(f, "set origin 0,%.4f\nset size 1,%.4f\nunset title\nunset xlabel\nunset ylabel\n"
		   "unset y2label\nunset border\nunset tics\nunset grid\nunset logscale\n"
		   "set xrange [0:1]\nset yrange [0:1]\nunset object\nunset label\n"
		   "set key center center horizontal maxrows 3 samplen 2 width 2\nplot ",
		1.0 - (double)x->key_h / x->h, (double)x->key_h / x->h);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%sNaN %s title ", i ? ", " : "", styles[i]);
		plot_str(f, titles[i]);
	}
	fputc('\n', f);
}

static void group_label(FILE *f, const rundir_cell_t *g)
{
	char l[300];
	snprintf(l, sizeof(l), "%s t%d", g->workload, g->threads);
	plot_label(f, l);
}

/* Data: one row per group: label, then per allocator the median, min, max of m. */
static void write_clustered(const rundir_t *rd, FILE *f, const metric_t *m, double scale,
			    const size_t *grp, size_t ng)
{
	for (size_t k = 0; k < ng; k++) {
		const rundir_cell_t *g = &rd->c[grp[k]];
		group_label(f, g);
		for (size_t a = 0; a < rd->na; a++) {
			const rundir_cell_t *c = rundir_cell(rd, g->workload, rd->allocators[a], g->threads);
			fig_num(f, cell_stat(rd, c, m, 0.5), scale);
			fig_num(f, cell_stat(rd, c, m, 0), scale);
			fig_num(f, cell_stat(rd, c, m, 1), scale);
		}
		fputc('\n', f);
	}
}

/* A clustered histogram, a bar per allocator with min-max bars, log scale
 * (counters per op span orders of magnitude between workloads). */
static void plot_clustered(const rundir_t *rd, FILE *f, const char *dat, int index)
{
	char ix[32] = "";
	if (index >= 0)
		snprintf(ix, sizeof(ix), " index %d", index);
	fprintf(f, "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
		   "set xtics rotate by -25 scale 0\nset logscale y\nset format y '%%g'\nset yrange [*:*]\nplot ");
	for (size_t a = 0; a < rd->na; a++) {
		fprintf(f, "%s'%s'%s using %zu:%zu:%zu%s title ", a ? ", " : "", dat, ix, 2 + 3 * a,
			3 + 3 * a, 4 + 3 * a, a ? "" : ":xtic(1)");
		plot_str(f, rd->allocators[a]);
	}
	fputc('\n', f);
}

static int fig_open(fig_ctx_t *x, const char *suffix)
{
	char name[200];
	snprintf(name, sizeof(name), "%s%s.dat", x->fig->base, suffix);
	if (plot_open(&x->dat, x->r->plotdir, name))
		return -1;
	snprintf(name, sizeof(name), "%s.body.gp", x->fig->base);
	if (plot_open(&x->body, x->r->plotdir, name)) {
		plot_close(&x->dat);
		return -1;
	}
	plot_begin(x->body.f);
	return 0;
}

/* A note with the figure's caption. */
static void fig_note(fig_ctx_t *x, const char *s)
{
	snprintf(x->fig->note, sizeof(x->fig->note), "%s", s);
}

/* The key of the per-allocator panels: allocator a in linetype a + 1. */
static void allocator_key(fig_ctx_t *x, const char *style, const char *extra_title,
			  const char *extra_style)
{
	const rundir_t *rd = x->r->rd;
	const char **sp = malloc((rd->na + 2) * sizeof(*sp)), **ti = malloc((rd->na + 2) * sizeof(*ti));
	char (*st)[64] = malloc((rd->na + 1) * sizeof(*st));
	size_t n = 0;
	for (size_t a = 0; a < rd->na; a++, n++) {
		snprintf(st[a], sizeof(st[a]), "%s lc %zu", style, a + 1);
		sp[n] = st[a];
		ti[n] = rd->allocators[a];
	}
	if (extra_title) {
		sp[n] = extra_style;
		ti[n++] = extra_title;
	}
	fig_key(x, n, ti, sp);
	free(sp);
	free(ti);
	free(st);
}

static void panel_title(FILE *f, const rundir_cell_t *g, const char *what)
{
	char t[300];
	snprintf(t, sizeof(t), "%s t%d%s", g->workload, g->threads, what);
	fprintf(f, "set title ");
	plot_str(f, t);
	fputc('\n', f);
}

/* Starts the data row of allocator a in group g ("a label") and returns
 * its cell, NULL when the run has none. */
static const rundir_cell_t *allocator_row(FILE *d, const rundir_t *rd, const rundir_cell_t *g,
					  size_t a)
{
	fprintf(d, "%zu ", a);
	plot_label(d, rd->allocators[a]);
	return rundir_cell(rd, g->workload, rd->allocators[a], g->threads);
}

/* A panel per workload x threads, a bar per allocator: the median of m over
 * the cell's ok repetitions, min-max error bars; with `above`, its median is
 * printed over each bar in fmt. Every panel has its own y scale, so a
 * workload that takes 100x longer does not flatten the others. */
static void bars_by_group(fig_ctx_t *x, const metric_t *m, double scale, const char *ylabel,
			  const metric_t *above, const char *fmt)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	for (size_t k = 0; k < x->ng; k++) {
		const rundir_cell_t *g = &rd->c[x->grp[k]];
		for (size_t a = 0; a < rd->na; a++) {
			const rundir_cell_t *c = allocator_row(d, rd, g, a);
			fig_num(d, cell_stat(rd, c, m, 0.5), scale);
			fig_num(d, cell_stat(rd, c, m, 0), scale);
			fig_num(d, cell_stat(rd, c, m, 1), scale);
			fig_num(d, above ? cell_stat(rd, c, above, 0.5) : NAN, 1);
			fputc('\n', d);
		}
		fprintf(d, "\n\n");
	}
	fprintf(f, "set xtics rotate by -30 scale 0\nset yrange [0:*]\nset offsets 0,0,graph 0.12,0\n"
		   "set xrange [-0.6:%zu.6]\nset ylabel ", rd->na ? rd->na - 1 : 0);
	plot_str(f, ylabel);
	fprintf(f, "\nunset key\n");
	fig_panels(x, x->ng, 4, 290, 50);
	for (size_t k = 0; k < x->ng; k++) {
		fig_panel(x, k);
		panel_title(f, &rd->c[x->grp[k]], "");
		fprintf(f, "plot '%s' index %zu using 1:3:(0.75):($1+1):xtic(2) with boxes lc variable, "
			   "'' index %zu using 1:4:(0):($5-$4) with vectors heads size screen 0.006,90 "
			   "lc rgb '#333333'",
			x->dat.name, k, k);
		if (above)
			fprintf(f, ", '' index %zu using 1:5:(sprintf('%s', $6)) with labels offset 0,0.6 "
				   "font ',8'", k, fmt);
		fputc('\n', f);
	}
	allocator_key(x, "with boxes", NULL, NULL);
	fprintf(f, "unset multiplot\n");
	x->w = 1250;
}

static void fig_a(fig_ctx_t *x)
{
	bars_by_group(x, metric_find_static("ns_per_op"), 1, "ns/op", NULL, NULL);
	fig_note(x, "Median over ok repetitions; error bars from the fastest to the slowest. "
		 "Each panel has its own scale.");
}

static void fig_b(fig_ctx_t *x)
{
	bars_by_group(x, metric_find_static("peak_rss"), MiB, "MiB",
		      metric_find_static("overhead"), "%.1fx");
	fig_note(x, "Peak RSS (the kernel's high-water mark), median over ok repetitions, error "
		 "bars min-max; over each bar the overhead factor, peak RSS / peak live requested "
		 "bytes (the harness's own few MiB make small workloads read high).");
}

/* (c): per group a panel, RSS (solid) and live requested bytes (dashed) of
 * each allocator's first ok repetition, over operations. */
static void fig_c(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	static const char live_style[] = "with lines lw 1.5 dt 2 lc rgb '#222222'";
	int any = 0;
	fprintf(f, "set xlabel 'operations'\nset ylabel 'MiB'\nset yrange [0:*]\nunset key\n"
		   "set format x '%%.0s%%c'\n");
	fig_panels(x, x->ng, 3, 300, 60);
	size_t block = 0;
	for (size_t k = 0; k < x->ng; k++) {
		const rundir_cell_t *g = &rd->c[x->grp[k]];
		fig_panel(x, k);
		panel_title(f, g, "");
		fprintf(f, "plot ");
		int clauses = 0;
		for (size_t a = 0; a < rd->na; a++) {
			const rundir_cell_t *c = rundir_cell(rd, g->workload, rd->allocators[a], g->threads);
			const rundir_trial_t *tr = c ? report_first_ok(rd, c) : NULL;
			json_t *s = tr ? json_object_get(tr->result, "series") : NULL;
			json_t *ops = json_object_get(s, "ops"), *rss = json_object_get(s, "rss");
			json_t *live = json_object_get(s, "live_requested");
			if (!json_array_size(ops))
				continue;
			for (size_t i = 0; i < json_array_size(ops); i++) {
				fprintf(d, "%.0f", json_number_value(json_array_get(ops, i)));
				json_t *rv = json_array_get(rss, i), *lv = json_array_get(live, i);
				fig_num(d, json_is_number(rv) ? json_number_value(rv) : NAN, MiB);
				fig_num(d, json_is_number(lv) ? json_number_value(lv) : NAN, MiB);
				fputc('\n', d);
			}
			fprintf(d, "\n\n");
			fprintf(f, "%s'%s' index %zu using 1:2 with lines lw 2 lc %zu", clauses ? ", " : "",
				x->dat.name, block, a + 1);
			if (!clauses) /* the same stream on every allocator: drawn once */
				fprintf(f, ", '' index %zu using 1:3 %s", block, live_style);
			block++;
			clauses++;
			any = 1;
		}
		if (!clauses) /* keep the panel, say why it is empty */
			fprintf(f, "NaN\nset label 1 'no memory samples' at graph 0.5,0.5 center\n");
		else
			fputc('\n', f);
		fprintf(f, "unset label 1\n");
	}
	allocator_key(x, "with lines lw 2", "live requested bytes", live_style);
	fprintf(f, "unset multiplot\n");
	x->w = 1250;
	snprintf(x->fig->note, sizeof(x->fig->note), "RSS of each allocator's first ok "
		 "repetition; dashed, the live requested bytes of the first of them (one seed gives "
		 "every allocator the same stream, as result.stream.checksum shows).");
	if (!any) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no memory series in this run "
			 "(every trial failed, or none recorded samples)");
	}
}

/* (e): per group a panel; per allocator malloc's percentiles (filled, left)
 * and free's (open, right), log scale, joined from p50 to p99.9. */
static void fig_e(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	static const char *const cols[] = {"malloc_p50", "malloc_p99", "malloc_p999",
					   "free_p50", "free_p99", "free_p999"};
	int any = 0;
	char *has = calloc(x->ng + 1, 1); /* the group has a latency sample */
	for (size_t k = 0; k < x->ng; k++) {
		const rundir_cell_t *g = &rd->c[x->grp[k]];
		for (size_t a = 0; a < rd->na; a++) {
			const rundir_cell_t *c = allocator_row(d, rd, g, a);
			for (int q = 0; q < 6; q++) {
				double v = cell_stat(rd, c, metric_find_static(cols[q]), 0.5);
				has[k] |= !isnan(v) && v > 0;
				any |= has[k];
				fig_num(d, v > 0 ? v : NAN, 1); /* log scale: 0 ns (timer granularity) is left out */
			}
			fputc('\n', d);
		}
		fprintf(d, "\n\n");
	}
	if (!any) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no latency samples in this run");
		free(has);
		return;
	}
	fprintf(f, "set logscale y\nset ylabel 'ns (log scale)'\nset xtics rotate by -30 scale 0\n"
		   "set xrange [-0.6:%zu.6]\nunset key\n", rd->na ? rd->na - 1 : 0);
	static const char *const titles[] = {"malloc p50", "malloc p99", "malloc p99.9",
					     "free p50", "free p99", "free p99.9"};
	static const char *const styles[] = {
		"with points pt 7 ps 0.9 lc rgb '#1f77b4'", "with points pt 9 ps 1.1 lc rgb '#1f77b4'",
		"with points pt 5 ps 0.9 lc rgb '#1f77b4'", "with points pt 6 ps 0.9 lc rgb '#d95f02'",
		"with points pt 8 ps 1.1 lc rgb '#d95f02'", "with points pt 4 ps 0.9 lc rgb '#d95f02'",
	};
	fig_panels(x, x->ng, 4, 290, 50);
	for (size_t k = 0; k < x->ng; k++) {
		fig_panel(x, k);
		panel_title(f, &rd->c[x->grp[k]], "");
		if (!has[k]) { /* keep the panel, say why it is empty */
			fprintf(f, "unset logscale y\nunset ytics\nset yrange [0:1]\nset label 1 'no malloc or free "
				   "calls sampled' at graph 0.5,0.5 center\nplot '%s' index %zu using "
				   "1:(0.5):xtic(2) with points ps 0\nunset label 1\nset logscale y\nset yrange [*:*]\n"
				   "set ytics\n",
				x->dat.name, k);
			continue;
		}
		fprintf(f, "plot '%s' index %zu using ($1-0.15):3:(0):($5-$3):xtic(2) with vectors nohead "
			   "lc rgb '#9ecae1', '' index %zu using ($1+0.15):6:(0):($8-$6) with vectors "
			   "nohead lc rgb '#fdae6b'", x->dat.name, k, k);
		for (int q = 0; q < 6; q++)
			fprintf(f, ", '' index %zu using ($1%s):%d %s", k, q < 3 ? "-0.15" : "+0.15", q + 3,
				styles[q]);
		fputc('\n', f);
	}
	free(has);
	fig_key(x, 6, titles, styles);
	fprintf(f, "unset multiplot\n");
	x->w = 1250;
	snprintf(x->fig->note, sizeof(x->fig->note), "Sampled per-call latency, median over "
		 "repetitions of each percentile; 0 ns (below the timer's resolution) is not drawn "
		 "on the log scale.");
}

/* A counter metric that at least one ok trial has a value of. */
static int read_somewhere(const rundir_t *rd, const metric_t *m)
{
	if (strncmp(m->name, "counter.", 8))
		return 0;
	for (size_t i = 0; i < rd->nt; i++)
		if (!isnan(metric_value(m, &rd->t[i])))
			return 1;
	return 0;
}

/* (f): a panel per counter event that some trial could read, laid out as
 * (a); events no trial could read are named in the note (the warnings say
 * why). */
static void fig_f(fig_ctx_t *x)
{
	const report_t *r = x->r;
	const rundir_t *rd = r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	size_t npanel = 0;
	char *n = x->fig->note;
	size_t cap = sizeof(x->fig->note);
	int unavail = 0;
	size_t nev = 0;
	for (size_t k = 0; k < r->nm; k++)
		nev += read_somewhere(rd, &r->m[k]);
	if (nev)
		fprintf(f, "set multiplot layout %zu,1\n", nev);
	for (size_t k = 0; k < r->nm; k++) {
		if (!read_somewhere(rd, &r->m[k]))
			continue;
		if (npanel)
			fprintf(d, "\n\n");
		write_clustered(rd, d, &r->m[k], 1, x->grp, x->ng);
		fprintf(f, "set title ");
		char t[300];
		snprintf(t, sizeof(t), "%s per operation%s: median, bars min-max over repetitions",
			 r->m[k].name + 8, r->m[k].exact == METRIC_EXACT ? " (simulated)" : "");
		plot_str(f, t);
		fprintf(f, "\nset ylabel 'per op (log scale)'\n");
		plot_clustered(rd, f, x->dat.name, (int)npanel);
		npanel++;
	}
	/* events recorded but read by no trial */
	for (size_t i = 0; i < rd->nt; i++) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(rd->t[i].result, "counters"), k, v) {
			char name[200];
			snprintf(name, sizeof(name), "counter.%s", k);
			size_t q = 0;
			while (q < r->nm && strcmp(r->m[q].name, name))
				q++;
			if ((q < r->nm && read_somewhere(rd, &r->m[q])) || strstr(n, k) ||
			    strlen(n) + strlen(k) + 80 > cap)
				continue;
			snprintf(n + strlen(n), cap - strlen(n), "%s%s", unavail++ ? ", " : "", k);
		}
	}
	if (unavail)
		snprintf(n + strlen(n), cap - strlen(n), ": unavailable on every trial (see "
			 "Warnings for why).");
	if (!npanel) {
		x->fig->state = FIG_NA;
		if (!unavail)
			snprintf(n, cap, "no hardware or simulated counters in this run (the suite's "
				 "`counters:` list is empty or off)");
		return;
	}
	fprintf(f, "unset multiplot\n");
	x->h = 420 * (int)npanel;
	x->w = 1200;
}

static const struct {
	const char *id, *base, *title;
	void (*draw)(fig_ctx_t *x);
} figures[REPORT_NFIG] = {
	{"a", "a-time", "Time per operation", fig_a},
	{"b", "b-rss", "Peak RSS and overhead factor", fig_b},
	{"c", "c-series", "RSS and live bytes over operations", fig_c},
	{"d", "d-frag", "Fragmentation breakdown", report_fig_d},
	{"e", "e-latency", "Latency percentiles", fig_e},
	{"f", "f-counters", "Counters per operation", fig_f},
	{"g", "g-sizeclass-waste", "Size classes: tail and max waste", report_fig_g},
	{"h", "h-span-occupancy", "Span occupancy per size class", report_fig_h},
};

const char *report_fig_not_drawn(const report_fig_t *f)
{
	switch (f->state) {
	case FIG_FAILED: return "Not drawn: gnuplot failed on this figure.";
	case FIG_NOGNUPLOT: return "Not drawn: gnuplot is not installed (its data and script "
				   "are in plots/).";
	default: return NULL;
	}
}

int report_plots(report_t *r)
{
	int have_gp = plot_gnuplot() != NULL, ok = 0;
	fig_ctx_t x = {.r = r};
	x.ng = report_groups(r->rd, &x.grp);
	for (int i = 0; i < REPORT_NFIG; i++) {
		report_fig_t *fig = &r->fig[i];
		memset(fig, 0, sizeof(*fig));
		fig->id = figures[i].id;
		fig->base = figures[i].base;
		fig->title = figures[i].title;
		x.fig = fig;
		x.w = 1000;
		x.h = 480;
		if (fig_open(&x, "")) {
			fig->state = FIG_FAILED;
			snprintf(fig->note, sizeof(fig->note), "cannot write into %s", r->plotdir);
			continue;
		}
		figures[i].draw(&x);
		plot_close(&x.dat);
		plot_close(&x.body);
		if (fig->state == FIG_NA)
			continue;
		if (!have_gp) {
			fig->state = FIG_NOGNUPLOT;
			plot_write_wrapper(r->plotdir, fig->base, x.w, x.h);
			continue;
		}
		char err[600];
		int rc = plot_render(r->plotdir, fig->base, x.w, x.h, err, sizeof(err));
		if (rc < 0) {
			fig->state = FIG_FAILED;
			snprintf(fig->note, sizeof(fig->note), "%s", err);
		} else {
			ok++;
			if (rc > 0)
				fprintf(stderr, "membench report: warning: %s\n", err);
		}
	}
	free(x.grp);
	return ok;
}
