/*
 * Figures (g) and (h), per size class: the waste a size-class table implies
 * (Go's table, built in: sizeclasses.h, and the table of every allocator of
 * the run that reports its classes), and how full the spans of each class
 * were at the end of the measured phase (allocator.classes_end_of_measure,
 * mb_alloc_class_stats_t; jemalloc's bins today, any plug-in that fills
 * class_stats). See report.h and analysis/METRICS.md.
 */
#include "report.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_fig.h"
#include "sizeclasses.h"
#include "stats.h"

typedef struct cls {
	uint64_t size, span_bytes, span_objects, spans, objects;
} cls_t;

static uint64_t u64(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* The classes of trial t (allocator.classes_end_of_measure), one per size:
 * entries of one size (span's scan and noscan span classes) are merged.
 * Entries without a size or objects per span are skipped. Returns the count;
 * *out is malloc'd (NULL when 0). */
static size_t trial_classes(const rundir_trial_t *t, cls_t **out)
{
	json_t *a = t && t->ok ? rundir_get(t->result, "allocator.classes_end_of_measure") : NULL;
	size_t n = 0, i;
	json_t *e;
	*out = NULL;
	if (!json_array_size(a))
		return 0;
	*out = malloc(json_array_size(a) * sizeof(cls_t));
	json_array_foreach(a, i, e) {
		cls_t c = {u64(e, "size"), u64(e, "span_bytes"), u64(e, "span_objects"),
			   u64(e, "spans"), u64(e, "objects")};
		if (!c.size || !c.span_objects || c.span_objects * c.size > c.span_bytes)
			continue;
		if (n && (*out)[n - 1].size == c.size) {
			(*out)[n - 1].spans += c.spans;
			(*out)[n - 1].objects += c.objects;
		} else if (!n || (*out)[n - 1].size < c.size) {
			(*out)[n++] = c;
		}
	}
	return n;
}

/* The classes of allocator a's first ok trial that reports them. */
static size_t allocator_classes(const rundir_t *rd, const char *a, cls_t **out)
{
	*out = NULL;
	for (size_t i = 0; i < rd->nt; i++) {
		if (strcmp(rd->t[i].allocator, a))
			continue;
		size_t n = trial_classes(&rd->t[i], out);
		if (n)
			return n;
	}
	return 0;
}

/* One data block: per class, size, tail waste % of the span, max waste %. */
static void waste_block(FILE *d, const sc_table_t *t)
{
	for (size_t i = 0; i < t->n; i++) {
		sc_row_t r;
		sc_row(t, i, &r);
		fprintf(d, "%llu %.4f %.4f\n", (unsigned long long)r.size,
			100.0 * (double)r.tail_waste / (double)r.span_bytes, r.max_waste);
	}
	fprintf(d, "\n\n");
}

/* (g): tail waste and max waste per class of Go's table and of every
 * allocator of the run that reports its classes, over object size. */
void report_fig_g(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	const char *names[64];
	size_t nt = 0;
	sc_table_t go;
	if (sc_table_go(&go)) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "out of memory");
		return;
	}
	waste_block(d, &go);
	names[nt++] = "Go runtime (reference)";
	sc_table_free(&go);
	for (size_t a = 0; a < rd->na && nt < 64; a++) {
		cls_t *c;
		size_t n = allocator_classes(rd, rd->allocators[a], &c);
		if (!n)
			continue;
		sc_table_t t = {.n = n, .page = 4096};
		t.v = malloc(n * sizeof(*t.v));
		for (size_t i = 0; i < n; i++)
			t.v[i] = (sc_class_t){c[i].size, c[i].span_bytes};
		waste_block(d, &t);
		sc_table_free(&t);
		free(c);
		names[nt++] = rd->allocators[a];
	}
	fprintf(f, "set logscale x 2\nset xlabel 'object size, bytes (size class)'\n"
		   "set yrange [0:*]\nset format x '%%.0f'\nset ylabel '%% of span'\nunset key\n");
	fig_panels(x, 2, 2, 420, 50);
	char styles[64][80];
	const char *sp[64];
	for (size_t i = 0; i < nt; i++) {
		snprintf(styles[i], sizeof(styles[i]), "with linespoints lw 2 pt %zu ps 0.7 lc %zu",
			 i + 6, i + 1);
		sp[i] = styles[i];
	}
	for (int panel = 0; panel < 2; panel++) {
		fig_panel(x, (size_t)panel);
		fprintf(f, "set title '%s'\nplot ",
			panel ? "max waste: worst object one byte above the class below, plus tail"
			      : "tail waste: span bytes no object fits in");
		for (size_t i = 0; i < nt; i++)
			fprintf(f, "%s'%s' index %zu using 1:%d %s notitle", i ? ", " : "",
				x->dat.name, i, panel ? 3 : 2, sp[i]);
		fputc('\n', f);
	}
	fig_key(x, nt, names, sp);
	fprintf(f, "unset multiplot\n");
	x->w = 1200;
	snprintf(x->fig->note, sizeof(x->fig->note), "%s", nt > 1
		 ? "Go's table is built in (membench sizeclasses prints it); the others are the "
		   "allocators' own, from their per-size-class statistics. Waste as Go's "
		   "mksizeclasses defines it (analysis/METRICS.md)."
		 : "Go's table only (membench sizeclasses prints it): no allocator in this run "
		   "reports its size classes, so theirs are not available in this run.");
}

/* Median occupancy (%) of class size sz over the ok trials of cell c that
 * hold spans of it; NaN when none does. */
static double cell_occupancy(const rundir_t *rd, const rundir_cell_t *c, uint64_t sz)
{
	double *v = malloc((c->n + 1) * sizeof(double));
	size_t m = 0;
	for (size_t q = 0; q < c->n; q++) {
		cls_t *cl;
		size_t n = trial_classes(&rd->t[c->trials[q]], &cl);
		for (size_t i = 0; i < n; i++)
			if (cl[i].size == sz && cl[i].spans)
				v[m++] = 100.0 * (double)cl[i].objects /
					 (double)(cl[i].spans * cl[i].span_objects);
		free(cl);
	}
	double r = m ? stats_median(v, m) : NAN;
	free(v);
	return r;
}

/* (h): a heat map per allocator that reports its classes: rows workload x
 * threads, columns its size classes, colour the share of object slots in use
 * in the spans the class held; grey where it held no span. */
void report_fig_h(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	size_t npanel = 0;
	const char *who[64];
	cls_t *tabs[64];
	size_t ntab[64];
	for (size_t a = 0; a < rd->na && npanel < 64; a++) {
		ntab[npanel] = allocator_classes(rd, rd->allocators[a], &tabs[npanel]);
		if (ntab[npanel])
			who[npanel++] = rd->allocators[a];
	}
	if (!npanel) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no allocator in this run reports "
			 "per-size-class statistics (the plug-in's class_stats: jemalloc, span)");
		return;
	}
	int panel_h = 110 + 20 * (int)x->ng;
	fprintf(f, "set cbrange [0:100]\nset cblabel 'object slots in use, %%'\n"
		   "set palette defined (0 '#d73027', 50 '#fee08b', 100 '#1a9850')\n"
		   "set style fill solid 1.0 noborder\nset grid noxtics noytics\nset key off\n"
		   "set xlabel 'size class, bytes per object'\n");
	fprintf(f, "set multiplot layout %zu,1\n", npanel);
	x->h = panel_h * (int)npanel;
	for (size_t p = 0; p < npanel; p++) {
		for (size_t k = 0; k < x->ng; k++) {
			const rundir_cell_t *g = &rd->c[x->grp[k]];
			const rundir_cell_t *c = rundir_cell(rd, g->workload, who[p], g->threads);
			for (size_t i = 0; i < ntab[p]; i++) {
				fprintf(d, "%zu %zu", i, k);
				fig_num(d, c ? cell_occupancy(rd, c, tabs[p][i].size) : NAN, 1);
				fputc('\n', d);
			}
		}
		fprintf(d, "\n\n");
		char t[300];
		snprintf(t, sizeof(t), "%s: span occupancy per size class at the end of the "
			 "measured phase (median over repetitions; grey: no spans held)", who[p]);
		fprintf(f, "set title ");
		plot_str(f, t);
		fprintf(f, "\nset xrange [-0.5:%zu.5]\nset yrange [%zu.5:-0.5]\nset xtics rotate by -90 (",
			ntab[p] - 1, x->ng - 1);
		size_t step = ntab[p] > 40 ? 2 : 1;
		for (size_t i = 0; i < ntab[p]; i += step)
			fprintf(f, "%s'%llu' %zu", i ? ", " : "", (unsigned long long)tabs[p][i].size, i);
		fprintf(f, ")\nset ytics (");
		for (size_t k = 0; k < x->ng; k++) {
			const rundir_cell_t *g = &rd->c[x->grp[k]];
			snprintf(t, sizeof(t), "%s t%d", g->workload, g->threads);
			fprintf(f, "%s", k ? ", " : "");
			plot_str(f, t);
			fprintf(f, " %zu", k);
		}
		fprintf(f, ")\nset object 1 rectangle from graph 0,0 to graph 1,1 behind "
			   "fillcolor rgb '#d9d9d9' fillstyle solid 1.0 noborder\n"
			   "plot '%s' index %zu using 1:2:(0.5):(0.5):3 with boxxyerror fc palette\n",
			x->dat.name, p);
		free(tabs[p]);
	}
	fprintf(f, "unset multiplot\n");
	x->w = 1200;
	snprintf(x->fig->note, sizeof(x->fig->note), "Occupancy = objects / (spans x objects "
		 "per span) of each class (analysis/METRICS.md, utilisation), read from the "
		 "allocator's own per-size-class statistics; allocators that do not report them "
		 "are not shown.");
}
