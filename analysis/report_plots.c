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

#include "plot.h"
#include "stats.h"

#define MiB 1048576.0

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

static void num(FILE *f, double v, double scale)
{
	if (isnan(v))
		fputs(" NaN", f);
	else
		fprintf(f, " %.6g", v / scale);
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
			num(f, cell_stat(rd, c, m, 0.5), scale);
			num(f, cell_stat(rd, c, m, 0), scale);
			num(f, cell_stat(rd, c, m, 1), scale);
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

typedef struct fig_ctx {
	report_t *r;
	report_fig_t *fig;
	plot_file_t dat, body;
	size_t *grp, ng;
	int w, h;
} fig_ctx_t;

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
				num(d, json_is_number(rv) ? json_number_value(rv) : NAN, MiB);
				num(d, json_is_number(lv) ? json_number_value(lv) : NAN, MiB);
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

static const char *const frag_comp[] = {"live", "internal", "tail", "external", "metadata"};
#define NFRAG 5

static void fig_d(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	int derived_any = 0, measured_any = 0, have[NFRAG] = {0};
	for (size_t i = 0; i < rd->nc; i++) {
		const rundir_cell_t *c = &rd->c[i];
		char l[300];
		snprintf(l, sizeof(l), "%s t%d %s", c->workload, c->threads, c->allocator);
		plot_label(d, l);
		for (int k = 0; k < NFRAG; k++) {
			double *v = malloc((c->n + 1) * sizeof(double));
			size_t n = 0;
			for (size_t q = 0; q < c->n; q++) {
				const rundir_trial_t *t = &rd->t[c->trials[q]];
				int der = 0;
				double y = t->ok ? report_frag(t, frag_comp[k], &der) : NAN;
				if (!isnan(y)) {
					v[n++] = y;
					derived_any |= der;
					measured_any |= !der;
				}
			}
			have[k] |= n > 0;
			num(d, n ? stats_median(v, n) : 0, MiB); /* a stack has no gaps; the key says n/a */
			free(v);
		}
		fputc('\n', d);
	}
	fprintf(f, "set title 'memory at peak live bytes, stacked (median over repetitions)'\n"
		   "set ylabel 'MiB'\nset style data histograms\nset style histogram rowstacked\n"
		   "set boxwidth 0.7\nset xtics rotate by -25 scale 0\nset yrange [0:*]\nplot ");
	for (int k = 0; k < NFRAG; k++)
		fprintf(f, "%s'%s' using %d%s title '%s%s'", k ? ", " : "",
			x->dat.name, k + 2, k ? "" : ":xtic(1)", frag_comp[k],
			have[k] ? "" : " (n/a)");
	fputc('\n', f);
	x->w = 1100;
	char *n = x->fig->note;
	size_t cap = sizeof(x->fig->note);
	if (derived_any)
		snprintf(n, cap, "%sderived from the allocator's own statistics at the sample of "
			 "peak live bytes (live = requested, internal = allocated - requested, "
			 "external = resident or mapped - active, metadata as reported); "
			 "fragmentation metrics were not recorded in this run. ",
			 measured_any ? "partly " : "");
	for (int k = 0; k < NFRAG; k++)
		if (!have[k])
			snprintf(n + strlen(n), cap - strlen(n), "%s: not available in this run. ",
				 frag_comp[k]);
	if (!have[0]) {
		x->fig->state = FIG_NA;
		snprintf(n, cap, "no live-bytes data in this run: not available");
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
			num(x->dat.f, v > 0 ? v : NAN, 1); /* log scale: 0 ns (timer granularity) is left out */
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
			num(d, n ? stats_median(v, n) : NAN, 1);
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

/* size-class entries of the first ok trial that has any */
static json_t *size_classes(const rundir_t *rd, const rundir_cell_t *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const rundir_trial_t *t = &rd->t[c->trials[i]];
		json_t *s = t->ok ? json_object_get(t->result, "size_classes") : NULL;
		if (json_array_size(s))
			return s;
	}
	return NULL;
}

static const char *const k_class[] = {"class", "size_class", NULL};
static const char *const k_size[] = {"size", "bytes_per_obj", "object_size", "bytes", NULL};
static const char *const k_tail[] = {"tail_waste", "tail_bytes", "tail", NULL};
static const char *const k_maxw[] = {"max_waste", "max_waste_pct", NULL};
static const char *const k_occ[] = {"occupancy", NULL};
static const char *const k_inuse[] = {"objects_in_use", "in_use", "live_objects", NULL};
static const char *const k_cap[] = {"capacity", "objects_total", "object_slots", NULL};

static void fig_g(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	json_t *sc = NULL;
	const char *who = NULL;
	for (size_t i = 0; i < rd->nc && !sc; i++)
		if ((sc = size_classes(rd, &rd->c[i])))
			who = rd->c[i].allocator;
	size_t rows = 0;
	json_t *e;
	size_t i;
	json_array_foreach(sc, i, e) {
		double cls = report_pick(e, k_class), tail = report_pick(e, k_tail), mw = report_pick(e, k_maxw);
		double sz = report_pick(e, k_size);
		if (isnan(tail) && isnan(mw))
			continue;
		fprintf(x->dat.f, "%.0f", isnan(cls) ? (double)i : cls);
		num(x->dat.f, sz, 1);
		num(x->dat.f, tail, 1);
		num(x->dat.f, mw <= 1 && mw > 0 ? mw * 100 : mw, 1);
		fputc('\n', x->dat.f);
		rows++;
	}
	if (!rows) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no size-class table with tail and "
			 "max waste in this run (allocators that expose their size classes, such as "
			 "span, record one): not available");
		return;
	}
	char t[300];
	snprintf(t, sizeof(t), "size classes of %s: tail waste per span (bars), max waste (line)", who);
	fprintf(x->body.f, "set title ");
	plot_str(x->body.f, t);
	fprintf(x->body.f, "\nset xlabel 'size class'\nset ylabel 'tail waste, bytes per span'\n"
		   "set y2label 'max waste %%'\nset y2tics\nset yrange [0:*]\nset y2range [0:*]\n"
		   "set boxwidth 0.7\nplot '%s' using 1:3 with boxes title 'tail waste', "
		   "'' using 1:4 axes x1y2 with linespoints lw 2 title 'max waste %%'\n",
		   x->dat.name);
	x->w = 1100;
}

static double occupancy(json_t *e)
{
	double o = report_pick(e, k_occ);
	if (!isnan(o))
		return o > 1 ? o / 100 : o;
	double u = report_pick(e, k_inuse), c = report_pick(e, k_cap);
	return c > 0 ? u / c : NAN;
}

static void fig_h(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	size_t ncls = 0, nrow = 0;
	for (size_t i = 0; i < rd->nc; i++) {
		json_t *sc = size_classes(rd, &rd->c[i]), *e;
		size_t k;
		int has = 0;
		json_array_foreach(sc, k, e) has |= !isnan(occupancy(e));
		if (has && json_array_size(sc) > ncls)
			ncls = json_array_size(sc);
	}
	FILE *f = x->body.f;
	fprintf(f, "set ytics (");
	for (size_t i = 0; i < rd->nc && ncls; i++) {
		json_t *sc = size_classes(rd, &rd->c[i]);
		if (!sc)
			continue;
		for (size_t k = 0; k < ncls; k++) {
			json_t *e = json_array_get(sc, k);
			num(x->dat.f, e ? occupancy(e) * 100 : NAN, 1);
		}
		fputc('\n', x->dat.f);
		char l[300];
		snprintf(l, sizeof(l), "%s t%d %s", rd->c[i].workload, rd->c[i].threads,
			 rd->c[i].allocator);
		fprintf(f, "%s", nrow ? ", " : "");
		plot_str(f, l);
		fprintf(f, " %zu", nrow);
		nrow++;
	}
	fprintf(f, ")\n");
	if (!nrow) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no per-size-class span occupancy in "
			 "this run (only allocators with size-class introspection, such as span, "
			 "record it): not available");
		return;
	}
	/* x labels: the object size of each class, from the first table */
	json_t *first = NULL;
	for (size_t i = 0; i < rd->nc && !first; i++)
		first = size_classes(rd, &rd->c[i]);
	fprintf(f, "set xtics rotate by -45 (");
	for (size_t k = 0; k < ncls; k++) {
		json_t *e = json_array_get(first, k);
		double sz = report_pick(e, k_size), cls = report_pick(e, k_class);
		fprintf(f, "%s'%.0f' %zu", k ? ", " : "", isnan(sz) ? (isnan(cls) ? (double)k : cls) : sz, k);
	}
	fprintf(f, ")\n");
	fprintf(f, "set title 'span occupancy per size class (%% of object slots in use, as the "
		   "trial recorded it)'\nset xlabel 'size class (bytes per object)'\nset cbrange [0:100]\n"
		   "set palette defined (0 '#f7fbff', 50 '#6baed6', 100 '#08306b')\n"
		   "set xrange [-0.5:%zu.5]\nset yrange [-0.5:%zu.5]\nset grid noytics\n"
		   "plot '%s' matrix with image notitle\n", ncls - 1, nrow - 1, x->dat.name);
	x->w = 1100;
	x->h = 200 + 28 * (int)nrow;
}

static const struct {
	const char *id, *base, *title;
	void (*draw)(fig_ctx_t *x);
} figures[REPORT_NFIG] = {
	{"a", "a-time", "Time per operation", fig_a},
	{"b", "b-rss", "Peak RSS and overhead factor", fig_b},
	{"c", "c-series", "RSS and live bytes over operations", fig_c},
	{"d", "d-frag", "Fragmentation breakdown", fig_d},
	{"e", "e-latency", "Latency percentiles", fig_e},
	{"f", "f-counters", "Counters per operation", fig_f},
	{"g", "g-sizeclass-waste", "Size classes: tail and max waste", fig_g},
	{"h", "h-span-occupancy", "Span occupancy per size class", fig_h},
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
