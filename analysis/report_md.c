/*
 * report.md: the report as Markdown, for pasting into an issue or a chat.
 * Figures are linked (the SVG files in plots/), not embedded. See report.h.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

/* Markdown table-safe text: | ` * _ < > [ ] \ escaped, newlines to spaces. */
static void md(rbuf_t *b, const char *s)
{
	for (; s && *s; s++) {
		if (strchr("|`*_<>[]\\#", *s))
			rb_put(b, "\\", 1);
		rb_put(b, *s == '\n' || *s == '\r' ? " " : s, 1);
	}
}

static const char *ms(const rundir_t *rd, const char *path)
{
	const char *s = json_string_value(rundir_get(rd->manifest, path));
	return s ? s : "n/a";
}

/* Flattened "key.sub = value" lines of a JSON value, depth-limited. */
static void flat(rbuf_t *b, const char *prefix, json_t *j, int depth, int *rows)
{
	if (*rows > 200)
		return;
	if (json_is_object(j) && depth < 4) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			char p[512];
			snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", k);
			flat(b, p, v, depth + 1, rows);
		}
		return;
	}
	char *txt = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	rb_printf(b, "| ");
	md(b, prefix);
	rb_printf(b, " | ");
	if (txt && strlen(txt) > 160)
		strcpy(txt + 150, " ...");
	md(b, txt ? txt : "?");
	rb_printf(b, " |\n");
	free(txt);
	(*rows)++;
}

int report_write_md(const report_t *r, const char *path)
{
	const rundir_t *rd = r->rd;
	rbuf_t b = {0};
	rb_printf(&b, "# membench report: ");
	md(&b, rd->run_id);
	rb_printf(&b, "\n\nSuite **");
	md(&b, ms(rd, "suite"));
	rb_printf(&b, "**: ");
	md(&b, ms(rd, "config.description"));
	size_t nok = 0;
	for (size_t i = 0; i < rd->nt; i++)
		nok += rd->t[i].ok;
	rb_printf(&b, ". Status %s; %zu trials, %zu ok. Started %s, finished %s.\n\n",
		  ms(rd, "status"), rd->nt, nok, ms(rd, "started"), ms(rd, "finished"));

	rb_printf(&b, "## Warnings\n\n");
	if (!r->nwarn)
		rb_printf(&b, "None.\n");
	for (size_t i = 0; i < r->nwarn; i++) {
		rb_printf(&b, "- ");
		md(&b, r->warn[i]);
		rb_printf(&b, "\n");
	}

	rb_printf(&b, "\n## Results\n\nMedian over ok repetitions; spread is the min-max range.\n\n"
		      "| workload / allocator / threads | ok |");
	for (const char *const *m = report_table_metrics; *m; m++)
		rb_printf(&b, " %s |", *m);
	rb_printf(&b, "\n|---|---|");
	for (const char *const *m = report_table_metrics; *m; m++)
		rb_printf(&b, "---|");
	rb_printf(&b, "\n");
	for (size_t i = 0; i < rd->nc; i++) {
		const rundir_cell_t *c = &rd->c[i];
		rb_printf(&b, "| ");
		md(&b, c->key);
		rb_printf(&b, " | %zu/%zu |", c->nok, c->n);
		double *v = malloc((c->n + 1) * sizeof(double));
		for (const char *const *mn = report_table_metrics; *mn; mn++) {
			const metric_t *m = metric_find_static(*mn);
			metric_summary_t s;
			size_t n = metric_samples(rd, c, m, v);
			metric_summarise(v, n, &s);
			char a[64], lo[64], hi[64];
			metric_format(m, s.median, a, sizeof(a));
			metric_format(m, s.min, lo, sizeof(lo));
			metric_format(m, s.max, hi, sizeof(hi));
			if (n > 1)
				rb_printf(&b, " %s (%s – %s) |", a, lo, hi);
			else
				rb_printf(&b, " %s |", a);
		}
		free(v);
		rb_printf(&b, "\n");
	}

	rb_printf(&b, "\n## Figures\n\n");
	for (int i = 0; i < REPORT_NFIG; i++) {
		const report_fig_t *f = &r->fig[i];
		if (!f->base[0])
			continue;
		rb_printf(&b, "### (%s) %s\n\n", f->id, f->title);
		if (f->state == FIG_OK)
			rb_printf(&b, "![%s](plots/%s.svg) ([PNG](plots/%s.png))\n\n", f->title, f->base,
				  f->base);
		else if (f->state == FIG_NOGNUPLOT)
			rb_printf(&b, "Not drawn: gnuplot is not installed (data and script in "
				      "plots/%s.*).\n\n", f->base);
		else if (f->state == FIG_FAILED)
			rb_printf(&b, "Not drawn: gnuplot failed.\n\n");
		if (f->note[0]) {
			md(&b, f->state == FIG_NA ? "Not available in this run: " : "Note: ");
			md(&b, f->note);
			rb_printf(&b, "\n\n");
		}
	}

	rb_printf(&b, "## Machine\n\n| field | value |\n|---|---|\n");
	int rows = 0;
	flat(&b, "host", rundir_get(rd->manifest, "host"), 1, &rows);
	json_t *topo = rundir_get(rd->manifest, "topology");
	if (topo)
		flat(&b, "topology", topo, 1, &rows);
	else
		rb_printf(&b, "| topology | not available in this run |\n");

	rb_printf(&b, "\n## Versions\n\n| component | version |\n|---|---|\n");
	rows = 0;
	flat(&b, "build", rundir_get(rd->manifest, "build"), 1, &rows);
	for (size_t a = 0; a < rd->na; a++) {
		const char *ver = NULL;
		for (size_t i = 0; i < rd->nt && !ver; i++)
			if (!strcmp(rd->t[i].allocator, rd->allocators[a]))
				ver = json_string_value(rundir_get(rd->t[i].result, "allocator.version"));
		rb_printf(&b, "| allocator ");
		md(&b, rd->allocators[a]);
		rb_printf(&b, " | ");
		md(&b, ver ? ver : "not reported");
		rb_printf(&b, " |\n");
	}

	rb_printf(&b, "\n## Config\n\n");
	char cpath[4400];
	snprintf(cpath, sizeof(cpath), "%s/inputs/config.yaml", rd->dir);
	FILE *cf = fopen(cpath, "r");
	if (cf) {
		rb_printf(&b, "```yaml\n");
		char line[1024];
		while (fgets(line, sizeof(line), cf))
			rb_printf(&b, "%s", strncmp(line, "```", 3) ? line : "'''\n");
		fclose(cf);
		rb_printf(&b, "```\n");
	} else {
		rb_printf(&b, "The suite file is not in this results folder (inputs/config.yaml).\n");
	}
	rb_printf(&b, "\n## All metrics\n\n| cell | metric | n | median | q1 – q3 | min – max |\n"
		      "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < rd->nc; i++) {
		const rundir_cell_t *c = &rd->c[i];
		double *v = malloc((c->n + 1) * sizeof(double));
		for (size_t k = 0; k < r->nm; k++) {
			size_t n = metric_samples(rd, c, &r->m[k], v);
			if (!n)
				continue;
			metric_summary_t s;
			metric_summarise(v, n, &s);
			char a[64], q1[64], q3[64], lo[64], hi[64];
			metric_format(&r->m[k], s.median, a, sizeof(a));
			metric_format(&r->m[k], s.q1, q1, sizeof(q1));
			metric_format(&r->m[k], s.q3, q3, sizeof(q3));
			metric_format(&r->m[k], s.min, lo, sizeof(lo));
			metric_format(&r->m[k], s.max, hi, sizeof(hi));
			rb_printf(&b, "| ");
			md(&b, c->key);
			rb_printf(&b, " | ");
			md(&b, r->m[k].name);
			rb_printf(&b, " | %zu | %s | %s – %s | %s – %s |\n", n, a, q1, q3, lo, hi);
		}
		free(v);
	}
	int rc = mb_write_atomic(path, b.p, b.n);
	free(b.p);
	return rc;
}
