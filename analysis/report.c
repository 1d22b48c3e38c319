/*
 * `membench report DIR`: loads the run, draws the figures, writes
 * report.md and report.html, and prints the text summary. See report.h.
 */
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plot.h"
#include "result.h"

const char *const report_table_metrics[] = {
	"ns_per_op", "peak_rss", "overhead", "rss_after_drain", "malloc_p99", "free_p99", NULL,
};

char *report_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)(n > 0 ? n : 0) + 1);
	size_t got = fread(p, 1, (size_t)(n > 0 ? n : 0), f);
	fclose(f);
	p[got] = 0;
	*len = got;
	return p;
}

/* Plain-text summary: the medians table and the warnings. */
static void print_summary(const report_t *r, FILE *f)
{
	const rundir_t *rd = r->rd;
	fprintf(f, "run %s: %zu trials in %zu cells\n", rd->run_id, rd->nt, rd->nc);
	fprintf(f, "%-33s %-6s ", "workload/allocator/threads", "ok");
	for (const char *const *m = report_table_metrics; *m; m++)
		fprintf(f, "%-21s ", *m);
	fprintf(f, "\n");
	for (size_t i = 0; i < rd->nc; i++) {
		const rundir_cell_t *c = &rd->c[i];
		char ok[32];
		snprintf(ok, sizeof(ok), "%zu/%zu", c->nok, c->n);
		text_col(f, c->key, 33);
		text_col(f, ok, 6);
		double *v = malloc((c->n + 1) * sizeof(double));
		for (const char *const *mn = report_table_metrics; *mn; mn++) {
			const metric_t *m = metric_find_static(*mn);
			size_t n = metric_samples(rd, c, m, v);
			metric_summary_t s;
			char med[64], cell[96];
			metric_summarise(v, n, &s);
			metric_format(m, s.median, med, sizeof(med));
			if (n > 1 && s.median != 0)
				snprintf(cell, sizeof(cell), "%s ±%.0f%%", med,
					 (s.max - s.min) / 2 / fabs(s.median) * 100);
			else
				snprintf(cell, sizeof(cell), "%s", med);
			text_col(f, cell, 21);
		}
		free(v);
		fprintf(f, "\n");
	}
	fprintf(f, "(median over ok repetitions, ± half the min-max range)\n");
	for (size_t i = 0; i < r->nwarn; i++)
		fprintf(f, "warning: %s\n", r->warn[i]);
}

static const char report_usage[] =
	"usage: membench report [options] DIR\n"
	"  Draws the figures of a results folder with gnuplot (DIR/plots/, SVG and PNG),\n"
	"  writes DIR/report.html (self-contained) and DIR/report.md, and prints a text\n"
	"  summary. Without gnuplot the text, Markdown and HTML reports are still written.\n"
	"  --no-plots     skip gnuplot\n"
	"  --quiet        print only the paths written\n"
	"exit status: 0 written, 2 DIR unreadable or nothing could be written\n";

int mb_cmd_report(int argc, char **argv)
{
	static const struct option lo[] = {
		{"no-plots", 0, 0, 'n'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
	};
	int noplots = 0, quiet = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hq", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': noplots = 1; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(report_usage, stdout); return 0;
		default: fputs(report_usage, stderr); return 2;
		}
	}
	if (argc - optind != 1) {
		fputs(report_usage, stderr);
		return 2;
	}
	char err[4400], path[4400];
	report_t r = {0};
	r.rd = rundir_load(argv[optind], err, sizeof(err));
	if (!r.rd) {
		fprintf(stderr, "membench report: %s\n", err);
		return 2;
	}
	r.nm = metric_discover(r.rd, &r.m);
	report_collect_warnings(&r);
	snprintf(r.plotdir, sizeof(r.plotdir), "%s/plots", r.rd->dir);
	int rc = 0;
	if (noplots) {
		for (int i = 0; i < REPORT_NFIG; i++)
			r.fig[i] = (report_fig_t){.id = "", .base = "", .title = "", .state = FIG_NA,
						  .note = "plots skipped (--no-plots)"};
	} else if (mb_mkdirs(r.plotdir)) {
		fprintf(stderr, "membench report: cannot create %s: %s\n", r.plotdir, strerror(errno));
		rc = 2;
		goto out;
	} else {
		int drawn = report_plots(&r);
		if (!plot_gnuplot())
			report_warn(&r, "gnuplot not found (install the Debian package gnuplot-nox): no "
			      "figures; the tables below are complete, and plots/*.gp with their data "
			      "are written, so `gnuplot FILE.gp` in plots/ draws them later");
		else if (!quiet)
			printf("plots: %d figures in %s\n", drawn, r.plotdir);
		for (int i = 0; i < REPORT_NFIG; i++)
			if (r.fig[i].state == FIG_FAILED)
				report_warn(&r, "figure (%s) %s: %s", r.fig[i].id, r.fig[i].title, r.fig[i].note);
	}
	if (!quiet)
		print_summary(&r, stdout);
	snprintf(path, sizeof(path), "%s/report.md", r.rd->dir);
	if (report_write_md(&r, path)) {
		fprintf(stderr, "membench report: cannot write %s: %s\n", path, strerror(errno));
		rc = 2;
	} else {
		printf("report: %s\n", path);
	}
	snprintf(path, sizeof(path), "%s/report.html", r.rd->dir);
	if (report_write_html(&r, path)) {
		fprintf(stderr, "membench report: cannot write %s: %s\n", path, strerror(errno));
		rc = 2;
	} else {
		printf("report: %s\n", path);
	}
out:
	for (size_t i = 0; i < r.nwarn; i++)
		free(r.warn[i]);
	free(r.warn);
	free(r.m);
	rundir_free(r.rd);
	return rc;
}
