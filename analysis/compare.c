/*
 * Comparing two runs. See compare.h; the method is in analysis/README.md.
 */
#include "compare.h"

#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stats.h"
#include "text.h"

const char *const compare_verdict_names[] = {"same", "better", "worse", "changed", "undecided"};

static void cwarn(compare_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cwarn(compare_t *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	text_line_addv(&c->warn, &c->nwarn, fmt, ap);
	va_end(ap);
}

static int wanted(const char *list, const char *name)
{
	if (!list || !*list)
		return 1;
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len + (e ? 1 : 0);
	}
	return 0;
}

static int flat(const double *x, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (x[i] != x[0])
			return 0;
	return 1;
}

/* Fills r from the two samples. */
static void compare_one(compare_t *c, compare_row_t *r, const double *a, size_t na,
			const double *b, size_t nb)
{
	metric_summarise(a, na, &r->base);
	metric_summarise(b, nb, &r->cur);
	r->delta_pct = r->base.median != 0
		? (r->cur.median - r->base.median) / fabs(r->base.median) * 100
		: (r->cur.median == 0 ? 0 : NAN);
	r->ci_lo_pct = r->ci_hi_pct = NAN;
	int sig;
	int both_flat = flat(a, na) && flat(b, nb);
	if (r->m.exact == METRIC_EXACT && !both_flat)
		cwarn(c, "%s: %s is deterministic by design but varies across repetitions; "
		      "compared statistically", r->cell->key, r->m.name);
	if ((r->m.exact == METRIC_EXACT || r->m.exact == METRIC_EXACT_IF_FLAT) && both_flat) {
		r->exact = 1;
		sig = a[0] != b[0];
		r->p = sig ? 0 : 1;
	} else {
		stats_mwu_t u;
		stats_mannwhitney(a, na, b, nb, &u);
		r->p = u.p;
		double shift, lo, hi;
		stats_hodges_lehmann(a, na, b, nb, c->o.conf, &shift, &lo, &hi, &r->ci_achieved);
		if (r->base.median != 0) {
			r->ci_lo_pct = lo / fabs(r->base.median) * 100;
			r->ci_hi_pct = hi / fabs(r->base.median) * 100;
		}
		if (u.p_min > c->o.alpha) {
			cwarn(c, "%s: %zu+%zu samples are too few to decide: the smallest p they "
			      "can give is %.3f > alpha %.3g; run at least 4 repetitions",
			      r->cell->key, na, nb, u.p_min, c->o.alpha);
			r->verdict = CMP_UNDECIDED;
			return;
		}
		sig = u.p < c->o.alpha;
	}
	double d = r->cur.median - r->base.median;
	if (!sig || d == 0)
		r->verdict = CMP_SAME;
	else if (r->m.better == 0)
		r->verdict = CMP_CHANGED;
	else
		r->verdict = (d > 0) == (r->m.better < 0) ? CMP_WORSE : CMP_BETTER;
	r->regression = r->verdict == CMP_WORSE &&
		(isnan(r->delta_pct) || fabs(r->delta_pct) >= c->o.threshold_pct);
	if (r->verdict == CMP_CHANGED && r->m.exact)
		cwarn(c, "%s: %s differs (%g vs %g): the runs did not replay the same "
		      "operation stream, so they are not comparable", r->cell->key, r->m.name,
		      r->base.median, r->cur.median);
}

int compare_runs(const rundir_t *base, const rundir_t *cur, const compare_opts_t *o, compare_t *out)
{
	memset(out, 0, sizeof(*out));
	out->o = *o;
	out->base = base;
	out->cur = cur;
	/* differences that make a comparison of times doubtful, said up front */
	static const char *const same[] = {"host.hostname", "host.kernel", "config.seed",
					   "config.ops_scale", "config.pin", "build.flags", NULL};
	for (const char *const *k = same; *k; k++) {
		json_t *x = rundir_get(base->manifest, *k), *y = rundir_get(cur->manifest, *k);
		if (x && y && !json_equal(x, y)) {
			char *a = json_dumps(x, JSON_ENCODE_ANY), *b = json_dumps(y, JSON_ENCODE_ANY);
			cwarn(out, "the runs differ in %s: %s vs %s", *k, a, b);
			free(a);
			free(b);
		}
	}
	/* a run from before the operation tape timed the patterns' own work too
	 * (its manifest has no build.timing) */
	json_t *ta = rundir_get(base->manifest, "build.timing"),
	       *tb = rundir_get(cur->manifest, "build.timing");
	if (base->manifest && cur->manifest && (!ta != !tb || (ta && !json_equal(ta, tb))))
		cwarn(out, "the runs time the patterns differently (build.timing %s vs %s): "
		      "a taped pattern's ns/op covers only its replay; compare times within "
		      "one kind", ta ? json_string_value(ta) : "step",
		      tb ? json_string_value(tb) : "step");
	metric_t *mb, *mc;
	size_t nmb = metric_discover(base, &mb), nmc = metric_discover(cur, &mc);
	for (size_t i = 0; i < base->nc; i++)
		if (!rundir_cell(cur, base->c[i].workload, base->c[i].allocator, base->c[i].threads))
			cwarn(out, "%s: only in the base run", base->c[i].key);
	for (size_t ci = 0; ci < cur->nc; ci++) {
		const rundir_cell_t *cc = &cur->c[ci];
		const rundir_cell_t *bc = rundir_cell(base, cc->workload, cc->allocator, cc->threads);
		if (!bc) {
			cwarn(out, "%s: only in the new run", cc->key);
			continue;
		}
		if (bc->nok < bc->n || cc->nok < cc->n)
			cwarn(out, "%s: failed trials left out (base %zu of %zu ok, new %zu of %zu ok)",
			      cc->key, bc->nok, bc->n, cc->nok, cc->n);
		double *a = malloc((bc->n + 1) * sizeof(double)), *b = malloc((cc->n + 1) * sizeof(double));
		for (size_t k = 0; k < nmc; k++) {
			const metric_t *m = &mc[k];
			if (!wanted(o->metrics, m->name))
				continue;
			int in_base = 0;
			for (size_t q = 0; q < nmb; q++)
				in_base |= !strcmp(mb[q].name, m->name);
			size_t na = in_base ? metric_samples(base, bc, m, a) : 0;
			size_t nb = metric_samples(cur, cc, m, b);
			if (!na || !nb) {
				if (na || nb)
					cwarn(out, "%s: %s is in only one of the runs", cc->key, m->name);
				continue;
			}
			out->row = realloc(out->row, (out->nrow + 1) * sizeof(*out->row));
			compare_row_t *r = &out->row[out->nrow++];
			memset(r, 0, sizeof(*r));
			r->cell = cc;
			r->m = *m;
			compare_one(out, r, a, na, b, nb);
			out->nregress += r->regression;
		}
		free(a);
		free(b);
	}
	free(mb);
	free(mc);
	return 0;
}

void compare_free(compare_t *c)
{
	free(c->row);
	for (size_t i = 0; i < c->nwarn; i++)
		free(c->warn[i]);
	free(c->warn);
	memset(c, 0, sizeof(*c));
}

/* "152.6 ns ±4%": median and half the min-max range relative to it. */
static void fmt_summary(const compare_row_t *r, const metric_summary_t *s, char *buf, size_t n)
{
	char v[64];
	metric_format(&r->m, s->median, v, sizeof(v));
	if (s->median != 0 && s->n > 1)
		snprintf(buf, n, "%s ±%.0f%%", v, (s->max - s->min) / 2 / fabs(s->median) * 100);
	else
		snprintf(buf, n, "%s", v);
}

static void fmt_delta(const compare_t *c, const compare_row_t *r, char *buf, size_t n)
{
	if (r->verdict == CMP_UNDECIDED)
		snprintf(buf, n, "? (n=%zu+%zu)", r->base.n, r->cur.n);
	else if (r->exact)
		snprintf(buf, n, r->verdict == CMP_SAME ? "= (exact)" : "%+.2f%% (exact)", r->delta_pct);
	else if (r->verdict == CMP_SAME)
		snprintf(buf, n, "~ (p=%.3f n=%zu+%zu)", r->p, r->base.n, r->cur.n);
	else
		snprintf(buf, n, "%+.2f%% (p=%.3f n=%zu+%zu)", r->delta_pct, r->p, r->base.n, r->cur.n);
}

void compare_print_table(const compare_t *c, FILE *f)
{
	fprintf(f, "base: %s\nnew:  %s\n", c->base->run_id, c->cur->run_id);
	fprintf(f, "%-32s %-20s %-20s %-20s %-26s %s\n", "workload/allocator/threads", "metric",
		"base", "new", "delta", "CI of shift");
	for (size_t i = 0; i < c->nrow; i++) {
		const compare_row_t *r = &c->row[i];
		char b[64], n[64], d[64], ci[64] = "";
		fmt_summary(r, &r->base, b, sizeof(b));
		fmt_summary(r, &r->cur, n, sizeof(n));
		fmt_delta(c, r, d, sizeof(d));
		if (!isnan(r->ci_lo_pct))
			snprintf(ci, sizeof(ci), "[%+.1f%%, %+.1f%%] @%.0f%%", r->ci_lo_pct,
				 r->ci_hi_pct, r->ci_achieved * 100);
		text_col(f, r->cell->key, 32);
		text_col(f, r->m.name, 20);
		text_col(f, b, 20);
		text_col(f, n, 20);
		text_col(f, d, 26);
		fprintf(f, "%s%s\n", ci, r->regression ? "  REGRESSION" : "");
	}
	for (size_t i = 0; i < c->nwarn; i++)
		fprintf(f, "warning: %s\n", c->warn[i]);
}

void compare_print_regressions(const compare_t *c, FILE *f)
{
	if (!c->nregress) {
		fprintf(f, "no significant regression past %.3g%% (alpha %.3g)\n", c->o.threshold_pct,
			c->o.alpha);
		return;
	}
	fprintf(f, "%zu significant regression(s) past %.3g%% (alpha %.3g):\n", c->nregress,
		c->o.threshold_pct, c->o.alpha);
	for (size_t i = 0; i < c->nrow; i++) {
		const compare_row_t *r = &c->row[i];
		if (!r->regression)
			continue;
		char b[64], n[64];
		metric_format(&r->m, r->base.median, b, sizeof(b));
		metric_format(&r->m, r->cur.median, n, sizeof(n));
		if (r->exact)
			fprintf(f, "REGRESSION %s %s: %s -> %s (%+.2f%%, exact)\n", r->cell->key,
				r->m.name, b, n, r->delta_pct);
		else
			fprintf(f, "REGRESSION %s %s: %s -> %s (%+.2f%%, p=%.4f, CI %+.1f%%..%+.1f%%)\n",
				r->cell->key, r->m.name, b, n, r->delta_pct, r->p, r->ci_lo_pct,
				r->ci_hi_pct);
	}
}

/* CSV field: quoted when it holds a comma, quote or newline. */
static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
	if (isnan(v))
		fputs(",", f);
	else
		fprintf(f, ",%.10g", v);
}

void compare_write_csv(const compare_t *c, FILE *f)
{
	fprintf(f, "workload,allocator,threads,metric,unit,base_n,base_median,base_min,base_max,"
		   "new_n,new_median,new_min,new_max,delta_pct,p,exact,ci_lo_pct,ci_hi_pct,"
		   "verdict,regression\n");
	for (size_t i = 0; i < c->nrow; i++) {
		const compare_row_t *r = &c->row[i];
		csv_str(f, r->cell->workload);
		fputc(',', f);
		csv_str(f, r->cell->allocator);
		fprintf(f, ",%d,", r->cell->threads);
		csv_str(f, r->m.name);
		fputc(',', f);
		csv_str(f, r->m.unit ? r->m.unit : "");
		fprintf(f, ",%zu", r->base.n);
		csv_num(f, r->base.median);
		csv_num(f, r->base.min);
		csv_num(f, r->base.max);
		fprintf(f, ",%zu", r->cur.n);
		csv_num(f, r->cur.median);
		csv_num(f, r->cur.min);
		csv_num(f, r->cur.max);
		csv_num(f, r->delta_pct);
		csv_num(f, r->p);
		fprintf(f, ",%d", r->exact);
		csv_num(f, r->ci_lo_pct);
		csv_num(f, r->ci_hi_pct);
		fprintf(f, ",%s,%d\n", compare_verdict_names[r->verdict], r->regression);
	}
}

static json_t *jnum(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *jsum(const metric_summary_t *s)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)s->n, "median",
			 jnum(s->median), "min", jnum(s->min), "max", jnum(s->max), "q1",
			 jnum(s->q1), "q3", jnum(s->q3));
}

void compare_write_json(const compare_t *c, FILE *f)
{
	json_t *rows = json_array(), *warns = json_array();
	for (size_t i = 0; i < c->nrow; i++) {
		const compare_row_t *r = &c->row[i];
		json_array_append_new(rows, json_pack(
			"{s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:s, s:b}",
			"workload", r->cell->workload, "allocator", r->cell->allocator, "threads",
			r->cell->threads, "metric", r->m.name, "unit", r->m.unit ? r->m.unit : "",
			"base", jsum(&r->base), "new", jsum(&r->cur), "delta_pct", jnum(r->delta_pct),
			"p", jnum(r->p), "exact", r->exact, "ci_lo_pct", jnum(r->ci_lo_pct),
			"ci_hi_pct", jnum(r->ci_hi_pct), "verdict", compare_verdict_names[r->verdict],
			"regression", r->regression));
	}
	for (size_t i = 0; i < c->nwarn; i++)
		json_array_append_new(warns, json_string(c->warn[i]));
	json_t *j = json_pack("{s:s, s:s, s:f, s:f, s:f, s:I, s:o, s:o}", "base", c->base->run_id,
			      "new", c->cur->run_id, "alpha", c->o.alpha, "threshold_pct",
			      c->o.threshold_pct, "confidence", c->o.conf, "regressions",
			      (json_int_t)c->nregress, "rows", rows, "warnings", warns);
	json_dumpf(j, f, JSON_INDENT(1));
	fputc('\n', f);
	json_decref(j);
}

static int write_to(const char *path, const compare_t *c, void (*fn)(const compare_t *, FILE *))
{
	if (!strcmp(path, "-")) {
		fn(c, stdout);
		return 0;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	fn(c, f);
	return fclose(f);
}

static const char compare_usage[] =
	"usage: membench compare [options] BASE NEW\n"
	"  Compares two results folders per workload x allocator x threads x metric:\n"
	"  medians (± half the min-max range), delta, Mann-Whitney U p-value, and the\n"
	"  Hodges-Lehmann confidence interval of the shift. '~' = not significant,\n"
	"  '?' = too few samples to decide, '(exact)' = deterministic metric.\n"
	"  --threshold PCT   a regression must be at least PCT% worse (default 5)\n"
	"  --alpha A         significance level (default 0.05)\n"
	"  --confidence C    level of the interval (default 0.95)\n"
	"  --metric LIST     only these metrics (comma-separated; default all)\n"
	"  --csv FILE        also write the rows as CSV (- = stdout)\n"
	"  --json FILE       also write the rows as JSON (- = stdout)\n"
	"  --quiet           print only the regression list\n"
	"exit status: 0 no significant regression past the threshold, 1 there is one,\n"
	"2 usage error or unreadable folder\n";

int mb_cmd_compare(int argc, char **argv)
{
	static const struct option lo[] = {
		{"threshold", 1, 0, 't'}, {"alpha", 1, 0, 'a'}, {"confidence", 1, 0, 'c'},
		{"metric", 1, 0, 'm'}, {"csv", 1, 0, 'C'}, {"json", 1, 0, 'J'},
		{"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
	};
	compare_opts_t o = {.alpha = 0.05, .threshold_pct = 5, .conf = 0.95};
	const char *csv = NULL, *js = NULL;
	int quiet = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hq", lo, NULL)) != -1) {
		char *end = NULL;
		switch (ch) {
		case 't': o.threshold_pct = strtod(optarg, &end); break;
		case 'a': o.alpha = strtod(optarg, &end); break;
		case 'c': o.conf = strtod(optarg, &end); break;
		case 'm': o.metrics = optarg; break;
		case 'C': csv = optarg; break;
		case 'J': js = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(compare_usage, stdout); return 0;
		default: fputs(compare_usage, stderr); return 2;
		}
		if (end && (*end || end == optarg)) {
			fprintf(stderr, "membench compare: not a number: '%s'\n", optarg);
			return 2;
		}
	}
	if (argc - optind != 2 || !(o.alpha > 0 && o.alpha < 1) || !(o.conf > 0 && o.conf < 1) ||
	    !(o.threshold_pct >= 0)) {
		fputs(compare_usage, stderr);
		return 2;
	}
	char err[4400];
	rundir_t *base = rundir_load(argv[optind], err, sizeof(err)), *cur = NULL;
	if (!base || !(cur = rundir_load(argv[optind + 1], err, sizeof(err)))) {
		fprintf(stderr, "membench compare: %s\n", err);
		rundir_free(base);
		return 2;
	}
	compare_t c;
	compare_runs(base, cur, &o, &c);
	int stdout_taken = (csv && !strcmp(csv, "-")) || (js && !strcmp(js, "-"));
	if (!quiet && !stdout_taken) {
		compare_print_table(&c, stdout);
		putchar('\n');
	}
	int rc = c.nregress ? 1 : 0;
	if ((csv && write_to(csv, &c, compare_write_csv)) || (js && write_to(js, &c, compare_write_json)))
		rc = 2;
	compare_print_regressions(&c, stdout_taken ? stderr : stdout);
	if (quiet || stdout_taken) /* the table, which lists them, was not printed */
		for (size_t i = 0; i < c.nwarn; i++)
			fprintf(stderr, "warning: %s\n", c.warn[i]);
	if (c.nrow == 0) {
		fprintf(stderr, "membench compare: the runs have no workload x allocator x threads "
			"x metric in common\n");
		rc = 2;
	}
	compare_free(&c);
	rundir_free(base);
	rundir_free(cur);
	return rc;
}
