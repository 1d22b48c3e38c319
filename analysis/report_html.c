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

static const char *ms(const rundir_t *rd, const char *path)
{
	const char *s = json_string_value(rundir_get(rd->manifest, path));
	return s ? s : "n/a";
}

static char *slurp(const char *path, size_t *len)
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

/* Copies gnuplot's SVG from its <svg> element on, prefixing every id (and
 * the references to them) with the figure's id, so that several figures in
 * one document never share an id. Returns 0, or -1 when the file is missing
 * or has no <svg>. */
static int inline_svg(rbuf_t *b, const char *path, const char *fid)
{
	size_t n;
	char *s = slurp(path, &n);
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

static void kv_rows(rbuf_t *b, const char *prefix, json_t *j, int depth, int *rows)
{
	if (*rows > 300)
		return;
	if (json_is_object(j) && depth < 4) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			char p[512];
			snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", k);
			kv_rows(b, p, v, depth + 1, rows);
		}
		return;
	}
	char *txt = json_is_string(j) ? strdup(json_string_value(j))
				      : json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	rb_printf(b, "<tr><th>");
	esc(b, prefix);
	rb_printf(b, "</th><td>");
	if (txt && strlen(txt) > 300)
		strcpy(txt + 290, " ...");
	esc(b, txt ? txt : "?");
	rb_printf(b, "</td></tr>\n");
	free(txt);
	(*rows)++;
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

static void results_table(rbuf_t *b, const report_t *r)
{
	const rundir_t *rd = r->rd;
	rb_printf(b, "<table><tr><th>workload / allocator / threads</th><th>ok</th>");
	for (const char *const *m = report_table_metrics; *m; m++) {
		rb_printf(b, "<th>");
		esc(b, *m);
		rb_printf(b, "<br><small>median<br>min – max</small></th>");
	}
	rb_printf(b, "</tr>\n");
	for (size_t i = 0; i < rd->nc; i++) {
		const rundir_cell_t *c = &rd->c[i];
		rb_printf(b, "<tr><td>");
		esc(b, c->key);
		rb_printf(b, "</td><td class=\"n\">%zu/%zu</td>", c->nok, c->n);
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
				rb_printf(b, "<td class=\"n\"><b>%s</b><br>%s – %s</td>", a, lo, hi);
			else
				rb_printf(b, "<td class=\"n\">%s</td>", a);
		}
		free(v);
		rb_printf(b, "</tr>\n");
	}
	rb_printf(b, "</table>\n");
}

static void all_metrics_table(rbuf_t *b, const report_t *r)
{
	const rundir_t *rd = r->rd;
	rb_printf(b, "<table><tr><th>cell</th><th>metric</th><th>n</th><th>median</th>"
		     "<th>q1 – q3</th><th>min – max</th></tr>\n");
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
			rb_printf(b, "<tr><td>");
			esc(b, c->key);
			rb_printf(b, "</td><td>");
			esc(b, r->m[k].name);
			rb_printf(b, "</td><td class=\"n\">%zu</td><td class=\"n\">%s</td>"
				     "<td class=\"n\">%s – %s</td><td class=\"n\">%s – %s</td></tr>\n",
				  n, a, q1, q3, lo, hi);
		}
		free(v);
	}
	rb_printf(b, "</table>\n");
}

int report_write_html(const report_t *r, const char *path)
{
	const rundir_t *rd = r->rd;
	rbuf_t b = {0};
	rb_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width\">\n<title>membench: ");
	esc(&b, rd->run_id);
	rb_printf(&b, "</title>\n<style>%s</style>\n%s</head><body>\n<h1>membench report: ", style,
		  status_script);
	esc(&b, rd->run_id);
	rb_printf(&b, "</h1>\n<p>Suite <b>");
	esc(&b, ms(rd, "suite"));
	rb_printf(&b, "</b>: ");
	esc(&b, ms(rd, "config.description"));
	size_t nok = 0;
	for (size_t i = 0; i < rd->nt; i++)
		nok += rd->t[i].ok;
	rb_printf(&b, ". Status ");
	esc(&b, ms(rd, "status"));
	rb_printf(&b, "; %zu trials, %zu ok. Started ", rd->nt, nok);
	esc(&b, ms(rd, "started"));
	rb_printf(&b, ", finished ");
	esc(&b, ms(rd, "finished"));
	rb_printf(&b, ".</p>\n<p id=\"mb-status\" data-ok=\"pending\">pending</p>\n");

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
	results_table(&b, r);

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
		else if (f->state == FIG_OK || f->state == FIG_FAILED)
			rb_printf(&b, "<p class=\"na\">Not drawn: gnuplot failed on this figure.</p>\n");
		else if (f->state == FIG_NOGNUPLOT)
			rb_printf(&b, "<p class=\"na\">Not drawn: gnuplot is not installed (data and "
				      "script in plots/).</p>\n");
		if (f->note[0]) {
			rb_printf(&b, "<figcaption class=\"%s\">", f->state == FIG_NA ? "na" : "");
			esc(&b, f->state == FIG_NA ? "Not available in this run: " : "Note: ");
			esc(&b, f->note);
			rb_printf(&b, "</figcaption>\n");
		}
		rb_printf(&b, "</figure>\n");
	}

	int rows = 0;
	rb_printf(&b, "<h2 id=\"machine\">Machine</h2>\n<table>\n");
	kv_rows(&b, "host", rundir_get(rd->manifest, "host"), 1, &rows);
	json_t *topo = rundir_get(rd->manifest, "topology");
	if (topo)
		kv_rows(&b, "topology", topo, 1, &rows);
	else
		rb_printf(&b, "<tr><th>topology</th><td class=\"na\">not available in this run"
			      "</td></tr>\n");
	rb_printf(&b, "</table>\n<h2 id=\"versions\">Versions</h2>\n<table>\n");
	rows = 0;
	kv_rows(&b, "build", rundir_get(rd->manifest, "build"), 1, &rows);
	for (size_t a = 0; a < rd->na; a++) {
		const char *ver = NULL, *pkg = NULL;
		for (size_t i = 0; i < rd->nt && !ver; i++)
			if (!strcmp(rd->t[i].allocator, rd->allocators[a]))
				ver = json_string_value(rundir_get(rd->t[i].result, "allocator.version"));
		json_t *al;
		size_t k;
		json_array_foreach(rundir_get(rd->manifest, "allocators"), k, al)
			if (!strcmp(json_string_value(json_object_get(al, "name")) ?: "", rd->allocators[a]))
				pkg = json_string_value(json_object_get(al, "package"));
		rb_printf(&b, "<tr><th>allocator ");
		esc(&b, rd->allocators[a]);
		rb_printf(&b, "</th><td>");
		esc(&b, ver ? ver : "version not reported");
		if (pkg) {
			rb_printf(&b, " (package ");
			esc(&b, pkg);
			rb_printf(&b, ")");
		}
		rb_printf(&b, "</td></tr>\n");
	}
	rb_printf(&b, "</table>\n<h2 id=\"config\">Config</h2>\n");
	char cpath[4400];
	size_t clen;
	snprintf(cpath, sizeof(cpath), "%s/inputs/config.yaml", rd->dir);
	char *cfg = slurp(cpath, &clen);
	if (cfg) {
		rb_printf(&b, "<pre>");
		esc(&b, cfg);
		rb_printf(&b, "</pre>\n");
		free(cfg);
	} else {
		rb_printf(&b, "<p class=\"na\">The suite file is not in this results folder.</p>\n");
	}
	rb_printf(&b, "<table>\n");
	rows = 0;
	kv_rows(&b, "config", rundir_get(rd->manifest, "config"), 1, &rows);
	rb_printf(&b, "</table>\n<h2 id=\"all\">All metrics</h2>\n");
	all_metrics_table(&b, r);
	rb_printf(&b, "</body></html>\n");
	int rc = mb_write_atomic(path, b.p, b.n);
	free(b.p);
	return rc;
}
