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

/* plot clause per allocator of a clustered histogram with min-max bars */
static void plot_clustered(const rundir_t *rd, FILE *f, const char *dat)
{
	fprintf(f, "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
		   "set xtics rotate by -25 scale 0\nset yrange [0:*]\nplot ");
	for (size_t a = 0; a < rd->na; a++) {
		fprintf(f, "%s'%s' using %zu:%zu:%zu%s title ", a ? ", " : "", dat, 2 + 3 * a,
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

static void fig_a(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	write_clustered(rd, x->dat.f, metric_find_static("ns_per_op"), 1, x->grp, x->ng);
	fprintf(x->body.f, "set title 'time per operation: median, bars min-max over repetitions'\n"
			   "set ylabel 'ns/op'\n");
	plot_clustered(rd, x->body.f, x->dat.name);
}

static void fig_b(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	write_clustered(rd, x->dat.f, metric_find_static("peak_rss"), MiB, x->grp, x->ng);
	plot_close(&x->dat);
	char name[200];
	snprintf(name, sizeof(name), "%s-overhead.dat", x->fig->base);
	plot_file_t d2;
	if (plot_open(&d2, x->r->plotdir, name) == 0) {
		write_clustered(rd, d2.f, metric_find_static("overhead"), 1, x->grp, x->ng);
		plot_close(&d2);
	}
	FILE *f = x->body.f;
	fprintf(f, "set multiplot layout 1,2\nset title 'peak RSS (median, min-max)'\n"
		   "set ylabel 'MiB'\n");
	plot_clustered(rd, f, x->dat.name);
	fprintf(f, "set title 'overhead factor: peak RSS / peak live bytes'\nset ylabel 'x'\n");
	plot_clustered(rd, f, name);
	fprintf(f, "unset multiplot\n");
	x->w = 1200;
}

/* (c): per group a panel, RSS (solid) and live requested bytes (dashed) of
 * each allocator's first ok repetition, over operations. */
static void fig_c(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	int any = 0;
	fprintf(f, "set multiplot layout %zu,1\nset xlabel 'operations'\nset ylabel 'MiB'\n"
		   "set yrange [0:*]\n", x->ng);
	size_t block = 0;
	for (size_t k = 0; k < x->ng; k++) {
		const rundir_cell_t *g = &rd->c[x->grp[k]];
		char t[300];
		snprintf(t, sizeof(t), "%s t%d: RSS (solid) and live requested bytes (dashed)",
			 g->workload, g->threads);
		fprintf(f, "set title ");
		plot_str(f, t);
		fprintf(f, "\nplot ");
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
			char lt[300];
			fprintf(f, "%s'%s' index %zu using 1:2 with lines lw 2 lc %zu title ",
				clauses ? ", " : "", x->dat.name, block, a + 1);
			snprintf(lt, sizeof(lt), "%s RSS", rd->allocators[a]);
			plot_str(f, lt);
			fprintf(f, ", '%s' index %zu using 1:3 with lines lw 1 dt 2 lc %zu title ",
				x->dat.name, block, a + 1);
			snprintf(lt, sizeof(lt), "%s live", rd->allocators[a]);
			plot_str(f, lt);
			block++;
			clauses++;
			any = 1;
		}
		if (!clauses) /* keep the panel, say why it is empty */
			fprintf(f, "NaN notitle\nset label 1 'no memory samples' at graph 0.5,0.5 center\n");
		else
			fputc('\n', f);
		fprintf(f, "unset label 1\n");
	}
	fprintf(f, "unset multiplot\n");
	x->h = 320 * (int)(x->ng ? x->ng : 1);
	if (!any) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no memory series in this run "
			 "(sample_points: 0, or every trial failed)");
	}
}

static void fig_e(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	static const char *const cols[] = {"malloc_p50", "malloc_p99", "malloc_p999",
					   "free_p50", "free_p99", "free_p999"};
	int any = 0;
	for (size_t i = 0; i < rd->nc; i++) {
		const rundir_cell_t *c = &rd->c[i];
		char l[300];
		snprintf(l, sizeof(l), "%s t%d %s", c->workload, c->threads, c->allocator);
		plot_label(x->dat.f, l);
		for (int k = 0; k < 6; k++) {
			double v = cell_stat(rd, c, metric_find_static(cols[k]), 0.5);
			any |= !isnan(v) && v > 0;
			fig_num(x->dat.f, v > 0 ? v : NAN, 1); /* log scale: 0 ns (timer granularity) is left out */
		}
		fputc('\n', x->dat.f);
	}
	FILE *f = x->body.f;
	fprintf(f, "set multiplot layout 1,2\nset logscale y\nset ylabel 'ns (log scale)'\n"
		   "set style data histograms\nset style histogram clustered gap 1\n"
		   "set xtics rotate by -25 scale 0\n");
	for (int op = 0; op < 2; op++) {
		fprintf(f, "set title '%s latency percentiles (median over repetitions)'\nplot ",
			op ? "free" : "malloc");
		for (int k = 0; k < 3; k++)
			fprintf(f, "%s'%s' using %d%s title '%s'", k ? ", " : "", x->dat.name,
				2 + op * 3 + k, k ? "" : ":xtic(1)",
				k == 0 ? "p50" : k == 1 ? "p99" : "p99.9");
		fputc('\n', f);
	}
	fprintf(f, "unset multiplot\n");
	x->w = 1200;
	if (!any) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no latency samples in this run");
	}
}

/* (f): a panel per counter event, a bar per cell; unavailable shown as text. */
static void fig_f(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	const char **ev = NULL;
	size_t nev = 0;
	for (size_t i = 0; i < rd->nt; i++) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(rd->t[i].result, "counters"), k, v) {
			size_t q = 0;
			while (q < nev && strcmp(ev[q], k))
				q++;
			if (q == nev) {
				ev = realloc(ev, (nev + 1) * sizeof(*ev));
				ev[nev++] = k;
			}
		}
	}
	if (!nev) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no hardware or simulated counters "
			 "in this run (the suite's `counters:` list is empty, or this build records "
			 "none): not available");
		free(ev);
		return;
	}
	FILE *d = x->dat.f, *f = x->body.f;
	fprintf(f, "set multiplot layout %zu,1\nset style data boxes\nset boxwidth 0.6\n"
		   "set xtics rotate by -25 scale 0\nset key off\nset xrange [-0.6:%zu.4]\n", nev,
		rd->nc ? rd->nc - 1 : 0);
	for (size_t e = 0; e < nev; e++) {
		int avail = 0;
		for (size_t i = 0; i < rd->nc; i++) {
			const rundir_cell_t *c = &rd->c[i];
			char l[300], path[300];
			snprintf(l, sizeof(l), "%s t%d %s", c->workload, c->threads, c->allocator);
			snprintf(path, sizeof(path), "result.counters.%s.per_op", ev[e]);
			double *v = malloc((c->n + 1) * sizeof(double));
			size_t n = 0;
			const char *why = NULL;
			for (size_t q = 0; q < c->n; q++) {
				const rundir_trial_t *t = &rd->t[c->trials[q]];
				if (!t->ok)
					continue;
				double y = rundir_num(t->rec, path);
				if (!isnan(y))
					v[n++] = y;
				else if (!why)
					why = metric_counter_unavailable(t, ev[e]);
			}
			fprintf(d, "%zu ", i);
			plot_label(d, l);
			fig_num(d, n ? stats_median(v, n) : NAN, 1);
			fputc(' ', d);
			plot_label(d, n ? "" : why ? "unavailable" : "not recorded");
			fputc('\n', d);
			avail |= n > 0;
			free(v);
		}
		fprintf(d, "\n\n");
		fprintf(f, "set title ");
		char t[300];
		snprintf(t, sizeof(t), "%s per operation (median)%s", ev[e],
			 avail ? "" : ": unavailable on every trial");
		plot_str(f, t);
		fprintf(f, "\n%s\nplot ", avail ? "set yrange [0:*]" : "set yrange [0:1]");
		if (avail)
			fprintf(f, "'%s' index %zu using 1:3:xtic(2) lc 1, ", x->dat.name, e);
		fprintf(f, "'%s' index %zu using 1:(0):4%s with labels rotate left offset 0,0.5 "
			   "tc rgb '#b00000'\n", x->dat.name, e, avail ? "" : ":xtic(2)");
	}
	fprintf(f, "unset multiplot\n");
	x->h = 300 * (int)nev;
	x->w = 1000;
	free(ev);
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
