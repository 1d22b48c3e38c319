/*
 * The report's tables, built once as text and written by report_md.c and
 * report_html.c, each with its own escaping. A cell's "\n" separates a value
 * from its range (HTML: a second line; Markdown: in parentheses). See
 * report.h.
 */
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void rtable_init(rtable_t *t, size_t ncol, const char *const *head, const int *numeric)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->head = calloc(ncol, sizeof(*t->head));
	t->numeric = calloc(ncol, sizeof(*t->numeric));
	for (size_t c = 0; c < ncol; c++) {
		t->head[c] = strdup(head[c]);
		t->numeric[c] = numeric ? numeric[c] : 0;
	}
}

void rtable_cell_write(rbuf_t *b, const char *s, void (*esc)(rbuf_t *, const char *),
		       const char *pre, const char *mid, const char *post)
{
	const char *nl = strchr(s, '\n');
	if (!nl) {
		esc(b, s);
		return;
	}
	char *v = strndup(s, (size_t)(nl - s));
	rb_printf(b, "%s", pre);
	esc(b, v);
	rb_printf(b, "%s", mid);
	esc(b, nl + 1);
	rb_printf(b, "%s", post);
	free(v);
}

/* Appends a row of ncol cells (copied). */
static void add_row(rtable_t *t, char **cells)
{
	t->cell = realloc(t->cell, (t->nrow + 1) * t->ncol * sizeof(*t->cell));
	for (size_t c = 0; c < t->ncol; c++)
		t->cell[t->nrow * t->ncol + c] = strdup(cells[c] ? cells[c] : "");
	t->nrow++;
}

void rtable_row(rtable_t *t, ...)
{
	char **cells = calloc(t->ncol, sizeof(*cells));
	va_list ap;
	va_start(ap, t);
	for (size_t c = 0; c < t->ncol; c++)
		cells[c] = va_arg(ap, char *);
	va_end(ap);
	add_row(t, cells);
	free(cells);
}

void rtable_free(rtable_t *t)
{
	for (size_t i = 0; i < t->nrow * t->ncol; i++)
		free(t->cell[i]);
	for (size_t c = 0; c < t->ncol; c++)
		free(t->head[c]);
	free(t->cell);
	free(t->head);
	free(t->numeric);
	memset(t, 0, sizeof(*t));
}

/* The summary of metric m over cell c: median, quartiles, range. */
static size_t summarise(const report_t *r, const rundir_cell_t *c, const metric_t *m,
			metric_summary_t *s)
{
	double *v = malloc((c->n + 1) * sizeof(double));
	size_t n = metric_samples(r->rd, c, m, v);
	metric_summarise(v, n, s);
	free(v);
	return n;
}

/* "a – b" with both formatted in m's unit. */
static void range(const metric_t *m, double a, double b, char *out, size_t n)
{
	char x[64], y[64];
	metric_format(m, a, x, sizeof(x));
	metric_format(m, b, y, sizeof(y));
	snprintf(out, n, "%s – %s", x, y);
}

void report_table_results(const report_t *r, rtable_t *t)
{
	const rundir_t *rd = r->rd;
	size_t nm = 0;
	while (report_table_metrics[nm])
		nm++;
	const char **head = calloc(nm + 2, sizeof(*head));
	int *num = calloc(nm + 2, sizeof(*num));
	head[0] = "workload / allocator / threads";
	head[1] = "ok";
	for (size_t k = 0; k < nm; k++) {
		head[k + 2] = report_table_metrics[k];
		num[k + 2] = 1;
	}
	num[1] = 1;
	rtable_init(t, nm + 2, head, num);
	char **cells = calloc(nm + 2, sizeof(*cells));
	for (size_t i = 0; i < rd->nc; i++) {
		const rundir_cell_t *c = &rd->c[i];
		char ok[48];
		snprintf(ok, sizeof(ok), "%zu/%zu", c->nok, c->n);
		cells[0] = (char *)c->key;
		cells[1] = ok;
		for (size_t k = 0; k < nm; k++) {
			const metric_t *m = metric_find_static(report_table_metrics[k]);
			metric_summary_t s;
			size_t n = summarise(r, c, m, &s);
			char med[64], rg[140];
			metric_format(m, s.median, med, sizeof(med));
			range(m, s.min, s.max, rg, sizeof(rg));
			cells[k + 2] = malloc(220);
			snprintf(cells[k + 2], 220, n > 1 ? "%s\n%s" : "%s", med, rg);
		}
		add_row(t, cells);
		for (size_t k = 0; k < nm; k++)
			free(cells[k + 2]);
	}
	free(cells);
	free(head);
	free(num);
}

void report_table_all(const report_t *r, rtable_t *t)
{
	static const char *const head[] = {"cell", "metric", "n", "median", "q1 – q3", "min – max"};
	static const int num[] = {0, 0, 1, 1, 1, 1};
	const rundir_t *rd = r->rd;
	rtable_init(t, 6, head, num);
	for (size_t i = 0; i < rd->nc; i++) {
		for (size_t k = 0; k < r->nm; k++) {
			const metric_t *m = &r->m[k];
			metric_summary_t s;
			size_t n = summarise(r, &rd->c[i], m, &s);
			if (!n)
				continue;
			char cnt[32], med[64], q[140], rg[140];
			snprintf(cnt, sizeof(cnt), "%zu", n);
			metric_format(m, s.median, med, sizeof(med));
			range(m, s.q1, s.q3, q, sizeof(q));
			range(m, s.min, s.max, rg, sizeof(rg));
			rtable_row(t, rd->c[i].key, m->name, cnt, med, q, rg);
		}
	}
}

void report_table_flat(rtable_t *t, const char *prefix, json_t *j, int depth)
{
	if (t->nrow > 300)
		return;
	if (json_is_object(j) && depth < 4) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			char p[512];
			snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", k);
			report_table_flat(t, p, v, depth + 1);
		}
		return;
	}
	char *txt = json_is_string(j) ? strdup(json_string_value(j))
				      : json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	if (txt && strlen(txt) > 300)
		strcpy(txt + 290, " ...");
	rtable_row(t, prefix, txt ? txt : "?");
	free(txt);
}

void report_table_versions(const report_t *r, rtable_t *t)
{
	const rundir_t *rd = r->rd;
	static const char *const head[] = {"component", "version"};
	rtable_init(t, 2, head, NULL);
	report_table_flat(t, "build", rundir_get(rd->manifest, "build"), 1);
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
		char name[300], v[600];
		snprintf(name, sizeof(name), "allocator %s", rd->allocators[a]);
		snprintf(v, sizeof(v), "%s%s%s%s", ver ? ver : "version not reported",
			 pkg ? " (package " : "", pkg ? pkg : "", pkg ? ")" : "");
		rtable_row(t, name, v);
	}
}

void report_table_machine(const report_t *r, rtable_t *t)
{
	static const char *const head[] = {"field", "value"};
	rtable_init(t, 2, head, NULL);
	report_table_flat(t, "host", rundir_get(r->rd->manifest, "host"), 1);
	json_t *topo = rundir_get(r->rd->manifest, "topology");
	if (topo)
		report_table_flat(t, "topology", topo, 1);
	else
		rtable_row(t, "topology", "not available in this run");
}

void report_intro(const report_t *r, rbuf_t *b)
{
	const rundir_t *rd = r->rd;
	const char *suite = json_string_value(rundir_get(rd->manifest, "suite"));
	const char *desc = json_string_value(rundir_get(rd->manifest, "config.description"));
	const char *st = json_string_value(rundir_get(rd->manifest, "status"));
	const char *t0 = json_string_value(rundir_get(rd->manifest, "started"));
	const char *t1 = json_string_value(rundir_get(rd->manifest, "finished"));
	size_t nok = 0;
	for (size_t i = 0; i < rd->nt; i++)
		nok += rd->t[i].ok;
	rb_printf(b, "Suite %s: %s. Status %s; %zu trials, %zu ok. Started %s, finished %s.",
		  suite ?: "n/a", desc ?: "n/a", st ?: "n/a", rd->nt, nok, t0 ?: "n/a", t1 ?: "n/a");
}
