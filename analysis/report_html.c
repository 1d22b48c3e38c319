/*
 * report.html: one self-contained file (figures as inline SVG, styles inline,
 * no external fetch), every name from the results HTML-escaped. A small
 * inline script writes a status element (#mb-status: figures, broken ones,
 * script errors) that the browser test reads. See report.h.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

static void esc(rbuf_t *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': rb_put(b, "&amp;", 5); break;
		case '<': rb_put(b, "&lt;", 4); break;
		case '>': rb_put(b, "&gt;", 4); break;
		case '"': rb_put(b, "&quot;", 6); break;
		case '\'': rb_put(b, "&#39;", 5); break;
		default: rb_put(b, s, 1);
		}
	}
}

/* Copies gnuplot's SVG from its <svg> element on, prefixing every id (and
 * the references to them) with the figure's id, so that several figures in
 * one document never share an id. Returns 0, or -1 when the file is missing
 * or has no <svg>. */
static int inline_svg(rbuf_t *b, const char *path, const char *fid)
{
	size_t n;
	char *s = report_slurp(path, &n);
	char *p = s ? strstr(s, "<svg") : NULL;
	if (!p) {
		free(s);
		return -1;
	}
	char pre[32];
	snprintf(pre, sizeof(pre), "f%s-", fid);
	rb_printf(b, "<svg class=\"fig\" role=\"img\"");
	p += 4;
	/* gnuplot quotes attributes with ' (other SVG writers with ") */
	static const char *const refs[] = {" id=\"", " id='", "href=\"#", "href='#", "url(#", NULL};
	while (*p) {
		int hit = 0;
		for (const char *const *r = refs; *r && !hit; r++) {
			size_t k = strlen(*r);
			if (!strncmp(p, *r, k)) {
				rb_put(b, *r, k);
				rb_put(b, pre, strlen(pre));
				p += k;
				hit = 1;
			}
		}
		if (!hit)
			rb_put(b, p++, 1);
	}
	free(s);
	return 0;
}

static const char style[] =
	"body{font-family:sans-serif;margin:2em auto;max-width:1250px;color:#222;padding:0 1em}"
	"table{border-collapse:collapse;margin:.5em 0 1.5em}"
	"th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;"
	"font-size:90%}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"th{background:#f2f2f2}.warn{background:#fff4e5;border-left:4px solid #e69500;"
	"padding:.3em .8em;margin:.3em 0}.na{color:#666;font-style:italic}"
	"svg.fig{width:100%;height:auto;display:block;border:1px solid #eee}"
	"pre{background:#f7f7f7;padding:.8em;overflow:auto}figure{margin:1em 0 2em}"
	"#mb-status{color:#999;font-size:80%}";

/* Runs after load: counts figures (inline SVG with a box, <img> with pixels)
 * and script errors, and writes them into #mb-status for tests. */
static const char status_script[] =
	"<script>\n"
	"var mbErrors = 0;\n"
	"window.addEventListener('error', function () { mbErrors++; }, true);\n"
	"window.addEventListener('load', function () {\n"
	"  var figs = 0, broken = 0;\n"
	"  document.querySelectorAll('img').forEach(function (i) {\n"
	"    figs++; if (!i.complete || i.naturalWidth === 0) broken++; });\n"
	"  document.querySelectorAll('svg.fig').forEach(function (s) {\n"
	"    figs++; var r = s.getBoundingClientRect();\n"
	"    if (r.width < 50 || r.height < 50 || s.querySelectorAll('path,text').length < 5) broken++; });\n"
	"  var st = document.getElementById('mb-status');\n"
	"  st.textContent = 'figures=' + figs + ' broken=' + broken + ' errors=' + mbErrors;\n"
	"  st.setAttribute('data-ok', broken === 0 && mbErrors === 0 ? 'yes' : 'no');\n"
	"});\n"
	"</script>\n";

/* The table, then frees it. head: whether the first row is column titles
 * (key-value tables have none; their first column is the header). */
static void html_table(rbuf_t *b, rtable_t *t, int head)
{
	rb_printf(b, "<table>\n");
	if (head) {
		rb_printf(b, "<tr>");
		for (size_t c = 0; c < t->ncol; c++) {
			rb_printf(b, "<th>");
			esc(b, t->head[c]);
			rb_printf(b, "</th>");
		}
		rb_printf(b, "</tr>\n");
	}
	for (size_t i = 0; i < t->nrow; i++) {
		rb_printf(b, "<tr>");
		for (size_t c = 0; c < t->ncol; c++) {
			const char *v = t->cell[i * t->ncol + c];
			int na = !strcmp(v, "not available in this run");
			rb_printf(b, "<%s%s>", !head && c == 0 ? "th" : "td",
				  t->numeric[c] ? " class=\"n\"" : na ? " class=\"na\"" : "");
			rtable_cell_write(b, v, esc, "<b>", "</b><br>", "");
			rb_printf(b, "</%s>", !head && c == 0 ? "th" : "td");
		}
		rb_printf(b, "</tr>\n");
	}
	rb_printf(b, "</table>\n");
	rtable_free(t);
}

int report_write_html(const report_t *r, const char *path)
{
	const rundir_t *rd = r->rd;
	rbuf_t b = {0};
	rtable_t t;
	rb_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width\">\n<title>membench: ");
	esc(&b, rd->run_id);
	rb_printf(&b, "</title>\n<style>%s</style>\n%s</head><body>\n<h1>membench report: ", style,
		  status_script);
	esc(&b, rd->run_id);
	rb_printf(&b, "</h1>\n<p>");
	rbuf_t intro = {0};
	report_intro(r, &intro);
	esc(&b, intro.p);
	free(intro.p);
	rb_printf(&b, "</p>\n<p id=\"mb-status\" data-ok=\"pending\">pending</p>\n");

	rb_printf(&b, "<h2>Contents</h2><ol><li><a href=\"#warnings\">Warnings</a></li>"
		      "<li><a href=\"#results\">Results</a></li><li><a href=\"#figures\">Figures</a>"
		      "</li><li><a href=\"#machine\">Machine</a></li><li><a href=\"#versions\">"
		      "Versions</a></li><li><a href=\"#config\">Config</a></li><li><a href=\"#all\">"
		      "All metrics</a></li></ol>\n");
	rb_printf(&b, "<h2 id=\"warnings\">Warnings</h2>\n");
	if (!r->nwarn)
		rb_printf(&b, "<p>None: every trial ok, every recorded counter available.</p>\n");
	for (size_t i = 0; i < r->nwarn; i++) {
		rb_printf(&b, "<div class=\"warn\">");
		esc(&b, r->warn[i]);
		rb_printf(&b, "</div>\n");
	}
	rb_printf(&b, "<h2 id=\"results\">Results</h2>\n<p>Median over ok repetitions, and the "
		      "range from the fastest to the slowest.</p>\n");
	report_table_results(r, &t);
	html_table(&b, &t, 1);

	rb_printf(&b, "<h2 id=\"figures\">Figures</h2>\n");
	for (int i = 0; i < REPORT_NFIG; i++) {
		const report_fig_t *f = &r->fig[i];
		if (!f->base[0])
			continue;
		rb_printf(&b, "<figure id=\"fig-%s\"><h3>(%s) ", f->id, f->id);
		esc(&b, f->title);
		rb_printf(&b, "</h3>\n");
		char svg[4600];
		snprintf(svg, sizeof(svg), "%s/%s.svg", r->plotdir, f->base);
		if (f->state == FIG_OK && inline_svg(&b, svg, f->id) == 0)
			rb_printf(&b, "\n");
		else if (f->state == FIG_OK) /* the SVG went missing */
			rb_printf(&b, "<p class=\"na\">Not drawn: %s is missing.</p>\n", f->base);
		else if (report_fig_not_drawn(f))
			rb_printf(&b, "<p class=\"na\">%s</p>\n", report_fig_not_drawn(f));
		if (f->note[0]) {
			rb_printf(&b, "<figcaption class=\"%s\">", f->state == FIG_NA ? "na" : "");
			esc(&b, f->state == FIG_NA ? "Not available in this run: " : "Note: ");
			esc(&b, f->note);
			rb_printf(&b, "</figcaption>\n");
		}
		rb_printf(&b, "</figure>\n");
	}

	rb_printf(&b, "<h2 id=\"machine\">Machine</h2>\n");
	report_table_machine(r, &t);
	html_table(&b, &t, 0);
	rb_printf(&b, "<h2 id=\"versions\">Versions</h2>\n");
	report_table_versions(r, &t);
	html_table(&b, &t, 0);
	rb_printf(&b, "<h2 id=\"config\">Config</h2>\n");
	char cpath[4400];
	size_t clen;
	snprintf(cpath, sizeof(cpath), "%s/inputs/config.yaml", rd->dir);
	char *cfg = report_slurp(cpath, &clen);
	if (cfg) {
		rb_printf(&b, "<pre>");
		esc(&b, cfg);
		rb_printf(&b, "</pre>\n");
		free(cfg);
	} else {
		rb_printf(&b, "<p class=\"na\">The suite file is not in this results folder.</p>\n");
	}
	static const char *const kv[] = {"key", "value"};
	rtable_init(&t, 2, kv, NULL);
	report_table_flat(&t, "config", rundir_get(rd->manifest, "config"), 1);
	html_table(&b, &t, 0);
	rb_printf(&b, "<h2 id=\"all\">All metrics</h2>\n");
	report_table_all(r, &t);
	html_table(&b, &t, 1);
	rb_printf(&b, "</body></html>\n");
	int rc = mb_write_atomic(path, b.p, b.n);
	free(b.p);
	return rc;
}
