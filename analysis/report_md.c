/*
 * report.md: the report as Markdown, for pasting into an issue or a chat.
 * Figures are linked (the SVG files in plots/), not embedded. The tables come
 * from report_table.c. See report.h.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "result.h"

/* Markdown table-safe text: | ` * _ < > [ ] \ # escaped, newlines to spaces. */
static void md(rbuf_t *b, const char *s)
{
	for (; s && *s; s++) {
		if (strchr("|`*_<>[]\\#", *s))
			rb_put(b, "\\", 1);
		rb_put(b, *s == '\n' || *s == '\r' ? " " : s, 1);
	}
}

static void md_table(rbuf_t *b, rtable_t *t)
{
	rb_printf(b, "|");
	for (size_t c = 0; c < t->ncol; c++) {
		rb_printf(b, " ");
		md(b, t->head[c]);
		rb_printf(b, " |");
	}
	rb_printf(b, "\n|");
	for (size_t c = 0; c < t->ncol; c++)
		rb_printf(b, "%s|", t->numeric[c] ? "--:" : "---");
	rb_printf(b, "\n");
	for (size_t i = 0; i < t->nrow; i++) {
		rb_printf(b, "|");
		for (size_t c = 0; c < t->ncol; c++) {
			rb_printf(b, " ");
			rtable_cell_write(b, t->cell[i * t->ncol + c], md, "", " (", ")");
			rb_printf(b, " |");
		}
		rb_printf(b, "\n");
	}
	rtable_free(t);
}

int report_write_md(const report_t *r, const char *path)
{
	const rundir_t *rd = r->rd;
	rbuf_t b = {0}, intro = {0};
	rtable_t t;
	rb_printf(&b, "# membench report: ");
	md(&b, rd->run_id);
	rb_printf(&b, "\n\n");
	report_intro(r, &intro);
	md(&b, intro.p);
	free(intro.p);

	rb_printf(&b, "\n\n## Warnings\n\n");
	if (!r->nwarn)
		rb_printf(&b, "None.\n");
	for (size_t i = 0; i < r->nwarn; i++) {
		rb_printf(&b, "- ");
		md(&b, r->warn[i]);
		rb_printf(&b, "\n");
	}

	rb_printf(&b, "\n## Results\n\nMedian over ok repetitions; in parentheses the min-max "
		      "range.\n\n");
	report_table_results(r, &t);
	md_table(&b, &t);

	rb_printf(&b, "\n## Figures\n\n");
	for (int i = 0; i < REPORT_NFIG; i++) {
		const report_fig_t *f = &r->fig[i];
		if (!f->base[0])
			continue;
		rb_printf(&b, "### (%s) %s\n\n", f->id, f->title);
		if (f->state == FIG_OK)
			rb_printf(&b, "![%s](plots/%s.svg) ([PNG](plots/%s.png))\n\n", f->title, f->base,
				  f->base);
		else if (report_fig_not_drawn(f))
			rb_printf(&b, "%s\n\n", report_fig_not_drawn(f));
		if (f->note[0]) {
			md(&b, f->state == FIG_NA ? "Not available in this run: " : "Note: ");
			md(&b, f->note);
			rb_printf(&b, "\n\n");
		}
	}

	rb_printf(&b, "## Machine\n\n");
	report_table_machine(r, &t);
	md_table(&b, &t);
	rb_printf(&b, "\n## Versions\n\n");
	report_table_versions(r, &t);
	md_table(&b, &t);

	rb_printf(&b, "\n## Config\n\n");
	char cpath[4400];
	size_t clen;
	snprintf(cpath, sizeof(cpath), "%s/inputs/config.yaml", rd->dir);
	char *cfg = report_slurp(cpath, &clen);
	if (cfg) {
		/* a fence of more backticks than any run of them inside the file */
		size_t run = 0, longest = 2;
		for (size_t i = 0; i < clen; i++)
			if ((run = cfg[i] == '`' ? run + 1 : 0) > longest)
				longest = run;
		char fence[64];
		size_t nf = longest + 1 < sizeof(fence) ? longest + 1 : sizeof(fence) - 1;
		memset(fence, '`', nf);
		fence[nf] = 0;
		rb_printf(&b, "%syaml\n%s%s%s\n", fence, cfg,
			  clen && cfg[clen - 1] == '\n' ? "" : "\n", fence);
		free(cfg);
	} else {
		rb_printf(&b, "The suite file is not in this results folder (inputs/config.yaml).\n");
	}
	rb_printf(&b, "\n## All metrics\n\n");
	report_table_all(r, &t);
	md_table(&b, &t);
	int rc = mb_write_atomic(path, b.p, b.n);
	free(b.p);
	return rc;
}
