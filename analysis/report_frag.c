/*
 * Figure (d), the fragmentation breakdown: where the resident memory of a
 * trial was at the sample of peak live bytes, stacked from the program's live
 * bytes up to RSS, with the definitions of analysis/METRICS.md. See report.h.
 *
 * The parts follow the identity chain
 *     live_requested <= live_usable <= allocated <= active <= resident <= rss
 * one segment between each pair of neighbouring known figures, so that
 *     sum of the parts == rss
 * whatever the allocator can tell. A segment whose lower end the allocator
 * does not report is "not attributable" instead of being guessed; external
 * (active - allocated) is split into tail waste and free object slots where
 * the allocator reports its size classes.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frag.h"
#include "report_fig.h"
#include "stats.h"

const report_frag_part_t report_frag_parts[REPORT_FRAG_N] = {
	[FP_LIVE] = {"live", "live requested bytes", "#1f77b4"},
	[FP_INTERNAL] = {"internal", "internal (usable - requested)", "#aec7e8"},
	[FP_CACHED] = {"allocated_not_live", "allocated - live (rounding, thread caches)", "#9edae5"},
	[FP_TAIL] = {"tail", "tail waste (span ends)", "#d62728"},
	[FP_FREE_SLOTS] = {"free_slots", "free object slots in spans", "#ff9896"},
	[FP_EXTERNAL] = {"external_other", "other external (active - allocated)", "#ff7f0e"},
	[FP_FREE_PAGES] = {"free_pages", "free pages (resident - active)", "#ffbb78"},
	[FP_OUTSIDE] = {"outside", "rest of the process (RSS - allocator resident)", "#c7c7c7"},
	[FP_UNATTRIBUTED] = {"unattributed", "not attributable (the allocator does not tell)",
			     "#7f7f7f"},
};

static double field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* hi - lo into *part; a negative segment (figures read at slightly different
 * moments) becomes 0 and is counted */
static const char *clamp_why; /* the last negative segment, for the note */

static void segment(double *part, double hi, double lo, int *clamped, const char *why)
{
	double d = hi - lo;
	if (d < 0) {
		(*clamped)++;
		clamp_why = why;
		d = 0;
	}
	*part = isnan(*part) ? d : *part + d;
}

int report_frag_stack(const rundir_trial_t *t, double part[REPORT_FRAG_N], int *clamped)
{
	for (int k = 0; k < REPORT_FRAG_N; k++)
		part[k] = NAN;
	*clamped = 0;
	if (!t || !t->ok || !t->result)
		return -1;
	json_t *own = NULL, *frag = json_object_get(t->result, "frag");
	if (!json_is_object(frag)) /* a run from before result.frag: same summary, here */
		frag = own = frag_summary_json(t->result);
	json_t *p = json_object_get(frag, "at_peak_live");
	double R = field(p, "live_requested"), U = field(p, "live_usable");
	double A = field(p, "allocated"), Ac = field(p, "active"), Rs = field(p, "resident");
	double rss = field(p, "rss"), tail = field(p, "tail_waste"), slots = field(p, "class_free");
	json_decref(own);
	if (isnan(R) || isnan(rss))
		return -1;
	part[FP_LIVE] = R;
	double prev = R; /* the highest known figure of the chain so far */
	int prev_known_below = 1;
	if (!isnan(U)) {
		segment(&part[FP_INTERNAL], U, prev, clamped, "live usable < live requested");
		prev = U;
	}
	if (!isnan(A)) {
		segment(&part[FP_CACHED], A, prev, clamped, "allocated < live bytes");
		prev = A;
	} else {
		prev_known_below = 0;
	}
	if (!isnan(Ac)) {
		if (prev_known_below) {
			double ext = Ac - A, rest = ext;
			if (!isnan(tail) && tail <= rest) {
				part[FP_TAIL] = tail;
				rest -= tail;
			} else if (!isnan(tail)) {
				(*clamped)++;
				clamp_why = "tail waste > active - allocated";
			}
			if (!isnan(slots) && slots <= rest) {
				part[FP_FREE_SLOTS] = slots;
				rest -= slots;
			} else if (!isnan(slots)) {
				(*clamped)++;
				clamp_why = "free slots > active - allocated";
			}
			segment(&part[FP_EXTERNAL], A + rest, A, clamped, "active < allocated");
		} else {
			segment(&part[FP_UNATTRIBUTED], Ac, prev, clamped, "active < live bytes");
		}
		prev = Ac;
		prev_known_below = 1;
	} else {
		prev_known_below = 0;
	}
	if (!isnan(Rs)) {
		segment(prev_known_below ? &part[FP_FREE_PAGES] : &part[FP_UNATTRIBUTED], Rs, prev,
			clamped, "resident < active");
		prev = Rs;
		segment(&part[FP_OUTSIDE], rss, prev, clamped, "RSS < allocator resident");
	} else {
		segment(&part[FP_UNATTRIBUTED], rss, prev, clamped, "RSS < the allocator's figures");
	}
	return 0;
}

/* Appends "who: what" to buf unless it is there. */
static void note_once(char *buf, size_t cap, const char *who, const char *what)
{
	char item[200];
	snprintf(item, sizeof(item), "%s: %s", who, what);
	if (!strstr(buf, item) && strlen(buf) + strlen(item) + 3 < cap)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "; " : "", item);
}

/* (d): a panel per workload x threads, a stacked bar per allocator, each part
 * the median over the cell's ok repetitions. */
void report_fig_d(fig_ctx_t *x)
{
	const rundir_t *rd = x->r->rd;
	FILE *d = x->dat.f, *f = x->body.f;
	int have[REPORT_FRAG_N] = {0}, clamped = 0, any = 0, derived = 0;
	char why[300] = "";
	for (size_t k = 0; k < x->ng; k++) {
		const rundir_cell_t *g = &rd->c[x->grp[k]];
		for (size_t a = 0; a < rd->na; a++) {
			const rundir_cell_t *c = rundir_cell(rd, g->workload, rd->allocators[a], g->threads);
			size_t n = c ? c->n : 0, m = 0;
			double *v = malloc((n + 1) * REPORT_FRAG_N * sizeof(double));
			for (size_t q = 0; q < n; q++) {
				const rundir_trial_t *t = &rd->t[c->trials[q]];
				int cl;
				clamp_why = NULL;
				if (report_frag_stack(t, v + m * REPORT_FRAG_N, &cl) == 0) {
					m++;
					clamped += cl;
					if (clamp_why)
						note_once(why, sizeof(why), rd->allocators[a], clamp_why);
					derived |= !json_is_object(json_object_get(t->result, "frag"));
				}
			}
			char l[200];
			snprintf(l, sizeof(l), "%s%s", rd->allocators[a], m ? "" : " (no data)");
			plot_label(d, l);
			for (int p = 0; p < REPORT_FRAG_N; p++) {
				double *col = malloc((m + 1) * sizeof(double));
				size_t nc = 0;
				for (size_t q = 0; q < m; q++)
					if (!isnan(v[q * REPORT_FRAG_N + p]))
						col[nc++] = v[q * REPORT_FRAG_N + p];
				have[p] |= nc > 0;
				fig_num(d, nc ? stats_median(col, nc) : 0, MiB); /* a stack has no gaps */
				free(col);
			}
			fputc('\n', d);
			any |= m > 0;
			free(v);
		}
		fprintf(d, "\n\n");
	}
	if (!any) {
		x->fig->state = FIG_NA;
		snprintf(x->fig->note, sizeof(x->fig->note), "no memory samples with live bytes in "
			 "this run (sample_points: 0, or every trial failed)");
		return;
	}
	fprintf(f, "set style data histograms\nset style histogram rowstacked\nset boxwidth 0.7\n"
		   "set xtics rotate by -30 scale 0\nset yrange [0:*]\nset ylabel 'MiB'\nunset key\n");
	fig_panels(x, x->ng, 4, 300, 90);
	for (size_t k = 0; k < x->ng; k++) {
		const rundir_cell_t *g = &rd->c[x->grp[k]];
		char t[300];
		snprintf(t, sizeof(t), "%s t%d", g->workload, g->threads);
		fig_panel(x, k);
		fprintf(f, "set title ");
		plot_str(f, t);
		fprintf(f, "\nplot ");
		int first = 1;
		for (int p = 0; p < REPORT_FRAG_N; p++) {
			if (!have[p])
				continue;
			fprintf(f, "%s'%s' index %zu using %d%s lc rgb '%s' notitle", first ? "" : ", ",
				x->dat.name, k, p + 2, first ? ":xtic(1)" : "", report_frag_parts[p].colour);
			first = 0;
		}
		fputc('\n', f);
	}
	const char *titles[REPORT_FRAG_N];
	char styles[REPORT_FRAG_N][64];
	const char *sp[REPORT_FRAG_N];
	size_t nk = 0;
	for (int p = 0; p < REPORT_FRAG_N; p++) {
		if (!have[p])
			continue;
		snprintf(styles[nk], sizeof(styles[nk]), "with boxes lc rgb '%s'",
			 report_frag_parts[p].colour);
		sp[nk] = styles[nk];
		titles[nk++] = report_frag_parts[p].title;
	}
	fig_key(x, nk, titles, sp);
	fprintf(f, "unset multiplot\n");
	x->w = 1250;
	char *n = x->fig->note;
	size_t cap = sizeof(x->fig->note);
	snprintf(n, cap, "At the sample of peak live bytes; every bar adds up to RSS (each part "
		 "is the median over repetitions). ");
	if (derived)
		snprintf(n + strlen(n), cap - strlen(n), "Some trials predate result.frag: their "
			 "figures are computed here from their memory series. ");
	if (clamped)
		snprintf(n + strlen(n), cap - strlen(n), "%d negative segments (figures read at "
			 "slightly different moments, or an allocator's figures that break the "
			 "identity chain) are drawn as 0: %s. ", clamped, why);
	int missing = 0;
	for (int p = 0; p < REPORT_FRAG_N; p++)
		if (!have[p] && p != FP_UNATTRIBUTED && strlen(n) + 60 < cap) {
			snprintf(n + strlen(n), cap - strlen(n), "%s%s", missing ? ", " : "Not available "
				 "in this run: ", report_frag_parts[p].name);
			missing = 1;
		}
	if (missing)
		snprintf(n + strlen(n), cap - strlen(n), ".");
}
