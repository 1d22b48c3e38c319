/*
 * The run history in SQLite, and `membench history`. See history.h and
 * analysis/README.md (History).
 *
 * Step detection: for each series (workload x allocator x threads x metric)
 * the newest run's samples are tested against the pooled samples of the
 * `window` runs before it (the recent baseline) with the Mann-Whitney U test;
 * a step is p < alpha and |delta of medians| >= threshold. Deterministic
 * metrics step on any change.
 */
#include "history.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "metric.h"
#include "plot.h"
#include "result.h"
#include "stats.h"

static const char history_schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);\n"
	"CREATE TABLE IF NOT EXISTS runs(\n"
	"  run_id TEXT PRIMARY KEY,  -- manifest.json run_id\n"
	"  suite TEXT, started TEXT, finished TEXT, status TEXT,\n"
	"  git_revision TEXT, hostname TEXT,\n"
	"  dir TEXT,                 -- the results folder as given when appended\n"
	"  trials INTEGER, trials_ok INTEGER,\n"
	"  added TEXT                -- UTC time of the append\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS samples(\n"
	"  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,\n"
	"  workload TEXT NOT NULL, allocator TEXT NOT NULL, threads INTEGER NOT NULL,\n"
	"  metric TEXT NOT NULL,     -- analysis/metric.c names: ns_per_op, peak_rss, ...\n"
	"  unit TEXT, exact INTEGER, -- exact: 1 deterministic, 2 exact when flat, 0 noisy\n"
	"  better INTEGER,           -- -1 lower is better, 1 higher, 0 neither\n"
	"  rep INTEGER NOT NULL, value REAL NOT NULL,\n"
	"  PRIMARY KEY(run_id, workload, allocator, threads, metric, rep)\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS samples_series ON samples(workload, allocator, threads, metric);\n";

static sqlite3 *open_db(const char *path, int create, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	char *msg = NULL;
	char ver[128];
	snprintf(ver, sizeof(ver), "INSERT OR IGNORE INTO meta VALUES('schema_version','%d');",
		 HISTORY_SCHEMA_VERSION);
	if (sqlite3_exec(db, "PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, history_schema, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, ver, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "schema");
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static const char *mstr(const rundir_t *rd, const char *path)
{
	return json_string_value(rundir_get(rd->manifest, path));
}

long history_append(const char *path, const rundir_t *rd, char *err, size_t errlen)
{
	sqlite3 *db = open_db(path, 1, err, errlen);
	if (!db)
		return -1;
	sqlite3_stmt *del = NULL, *run = NULL, *ins = NULL;
	long n = 0;
	size_t nok = 0;
	for (size_t i = 0; i < rd->nt; i++)
		nok += rd->t[i].ok;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	metric_t *ms;
	size_t nm = metric_discover(rd, &ms);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM runs WHERE run_id=?1", -1, &del, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO runs VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
			       -1, &run, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO samples VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
			       -1, &ins, NULL))
		goto fail;
	sqlite3_bind_text(del, 1, rd->run_id, -1, SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto fail;
	const char *cols[] = {"suite", "started", "finished", "status", "build.git_revision",
			      "host.hostname"};
	sqlite3_bind_text(run, 1, rd->run_id, -1, SQLITE_STATIC);
	for (int k = 0; k < 6; k++)
		sqlite3_bind_text(run, 2 + k, mstr(rd, cols[k]), -1, SQLITE_STATIC);
	sqlite3_bind_text(run, 8, rd->dir, -1, SQLITE_STATIC);
	sqlite3_bind_int64(run, 9, (sqlite3_int64)rd->nt);
	sqlite3_bind_int64(run, 10, (sqlite3_int64)nok);
	sqlite3_bind_text(run, 11, now, -1, SQLITE_STATIC);
	if (sqlite3_step(run) != SQLITE_DONE)
		goto fail;
	for (size_t i = 0; i < rd->nt; i++) {
		const rundir_trial_t *tr = &rd->t[i];
		for (size_t k = 0; tr->ok && k < nm; k++) {
			double v = metric_value(&ms[k], tr);
			if (isnan(v))
				continue;
			sqlite3_reset(ins);
			sqlite3_bind_text(ins, 1, rd->run_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, tr->workload, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, tr->allocator, -1, SQLITE_STATIC);
			sqlite3_bind_int(ins, 4, tr->threads);
			sqlite3_bind_text(ins, 5, ms[k].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 6, ms[k].unit ? ms[k].unit : "", -1, SQLITE_STATIC);
			sqlite3_bind_int(ins, 7, ms[k].exact);
			sqlite3_bind_int(ins, 8, ms[k].better);
			sqlite3_bind_int(ins, 9, tr->rep);
			sqlite3_bind_double(ins, 10, v);
			if (sqlite3_step(ins) != SQLITE_DONE)
				goto fail;
			n++;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_finalize(del);
	sqlite3_finalize(run);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	free(ms);
	return n;
fail:
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(del);
	sqlite3_finalize(run);
	sqlite3_finalize(ins);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	free(ms);
	return -1;
}

int history_record_run(const char *dir, int quiet)
{
	char err[4400], db[4400];
	rundir_t *rd = rundir_load(dir, err, sizeof(err));
	if (!rd) {
		fprintf(stderr, "membench: history: %s\n", err);
		return -1;
	}
	const char *slash = strrchr(dir, '/');
	if (slash)
		snprintf(db, sizeof(db), "%.*s/history.sqlite", (int)(slash - dir), dir);
	else
		snprintf(db, sizeof(db), "history.sqlite");
	long n = history_append(db, rd, err, sizeof(err));
	if (n < 0)
		fprintf(stderr, "membench: warning: history not updated: %s\n", err);
	else if (!quiet)
		printf("history: %ld samples of %s appended to %s\n", n, rd->run_id, db);
	rundir_free(rd);
	return n < 0 ? -1 : 0;
}

/* ---- membench history ------------------------------------------------------ */

typedef struct hist_opts {
	const char *db, *metrics, *workload, *allocator, *plot_dir;
	int last, window;
	double alpha, threshold_pct;
} hist_opts_t;

typedef struct series {
	char workload[128], allocator[128], metric[128], unit[16];
	int threads, exact, better;
	size_t nrun;
	char **run_id;
	double **v;      /* samples per run, oldest first */
	size_t *nv;
} series_t;

static int metric_wanted(const char *list, const char *name)
{
	if (!list)
		list = "ns_per_op,peak_rss,overhead";
	if (!strcmp(list, "all"))
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

/* Reads every series, runs ordered by start time. */
static size_t load_series(sqlite3 *db, const hist_opts_t *o, series_t **out)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db,
		"SELECT s.workload, s.allocator, s.threads, s.metric, s.unit, s.exact, s.better, "
		"s.run_id, s.value FROM samples s JOIN runs r USING(run_id) "
		"WHERE (?1 IS NULL OR s.workload=?1) AND (?2 IS NULL OR s.allocator=?2) "
		"ORDER BY s.workload, s.threads, s.allocator, s.metric, r.started, s.run_id, s.rep",
		-1, &st, NULL);
	sqlite3_bind_text(st, 1, o->workload, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, o->allocator, -1, SQLITE_STATIC);
	series_t *ss = NULL;
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *w = (const char *)sqlite3_column_text(st, 0);
		const char *a = (const char *)sqlite3_column_text(st, 1);
		int th = sqlite3_column_int(st, 2);
		const char *m = (const char *)sqlite3_column_text(st, 3);
		const char *run = (const char *)sqlite3_column_text(st, 7);
		if (!metric_wanted(o->metrics, m))
			continue;
		series_t *s = n ? &ss[n - 1] : NULL;
		if (!s || strcmp(s->workload, w) || strcmp(s->allocator, a) || s->threads != th ||
		    strcmp(s->metric, m)) {
			ss = realloc(ss, (n + 1) * sizeof(*ss));
			s = &ss[n++];
			memset(s, 0, sizeof(*s));
			snprintf(s->workload, sizeof(s->workload), "%s", w);
			snprintf(s->allocator, sizeof(s->allocator), "%s", a);
			snprintf(s->metric, sizeof(s->metric), "%s", m);
			snprintf(s->unit, sizeof(s->unit), "%s",
				 sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "");
			s->threads = th;
			s->exact = sqlite3_column_int(st, 5);
			s->better = sqlite3_column_int(st, 6);
		}
		if (!s->nrun || strcmp(s->run_id[s->nrun - 1], run)) {
			s->run_id = realloc(s->run_id, (s->nrun + 1) * sizeof(char *));
			s->v = realloc(s->v, (s->nrun + 1) * sizeof(double *));
			s->nv = realloc(s->nv, (s->nrun + 1) * sizeof(size_t));
			s->run_id[s->nrun] = strdup(run);
			s->v[s->nrun] = NULL;
			s->nv[s->nrun] = 0;
			s->nrun++;
		}
		size_t r = s->nrun - 1;
		s->v[r] = realloc(s->v[r], (s->nv[r] + 1) * sizeof(double));
		s->v[r][s->nv[r]++] = sqlite3_column_double(st, 8);
	}
	sqlite3_finalize(st);
	*out = ss;
	return n;
}

static void series_free(series_t *ss, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t r = 0; r < ss[i].nrun; r++) {
			free(ss[i].run_id[r]);
			free(ss[i].v[r]);
		}
		free(ss[i].run_id);
		free(ss[i].v);
		free(ss[i].nv);
	}
	free(ss);
}

/* Step of the newest run against the `window` runs before it: +1 worse,
 * -1 better, 2 changed (no direction), 3 undecidable (too few samples for
 * any p < alpha), 0 none. *delta gets the change in %. */
static int step_change(const series_t *s, const hist_opts_t *o, double *delta, double *p)
{
	*delta = NAN;
	*p = NAN;
	if (s->nrun < 2)
		return 0;
	size_t last = s->nrun - 1, first = last > (size_t)o->window ? last - (size_t)o->window : 0;
	size_t nb = 0;
	for (size_t r = first; r < last; r++)
		nb += s->nv[r];
	double *base = malloc(nb * sizeof(double));
	nb = 0;
	for (size_t r = first; r < last; r++)
		for (size_t k = 0; k < s->nv[r]; k++)
			base[nb++] = s->v[r][k];
	double bm = stats_median(base, nb), nm = stats_median(s->v[last], s->nv[last]);
	*delta = bm != 0 ? (nm - bm) / fabs(bm) * 100 : (nm == bm ? 0 : NAN);
	int sig;
	double lo = stats_min(base, nb), hi = stats_max(base, nb);
	if (s->exact && lo == hi && stats_min(s->v[last], s->nv[last]) ==
	    stats_max(s->v[last], s->nv[last])) {
		sig = nm != bm;
		*p = sig ? 0 : 1;
	} else {
		stats_mwu_t u;
		stats_mannwhitney(base, nb, s->v[last], s->nv[last], &u);
		*p = u.p;
		if (u.p_min >= o->alpha) { /* these sample sizes can never decide */
			free(base);
			return 3;
		}
		sig = u.p < o->alpha && (isnan(*delta) || fabs(*delta) >= o->threshold_pct);
	}
	free(base);
	if (!sig || nm == bm)
		return 0;
	if (!s->better)
		return 2;
	return (nm > bm) == (s->better < 0) ? 1 : -1;
}

static void fmt_val(const series_t *s, double v, char *b, size_t n)
{
	metric_t m = {.unit = s->unit};
	metric_format(&m, v, b, n);
}

/* One plot per metric and workload: median per run, a line per allocator/threads. */
static int plot_series(const series_t *ss, size_t n, const hist_opts_t *o)
{
	if (!plot_gnuplot()) {
		fprintf(stderr, "membench history: gnuplot not found (install gnuplot-nox); "
			"no plots, the table above is complete\n");
		return -1;
	}
	mb_mkdirs(o->plot_dir);
	int bad = 0;
	size_t *grp = malloc(n * sizeof(size_t));
	char *done = calloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		/* the series of one workload and metric: every allocator and thread count */
		size_t ng = 0;
		for (size_t k = i; k < n; k++)
			if (!done[k] && !strcmp(ss[k].workload, ss[i].workload) &&
			    !strcmp(ss[k].metric, ss[i].metric)) {
				grp[ng++] = k;
				done[k] = 1;
			}
		char base[300], dat[320], body[320];
		snprintf(base, sizeof(base), "history-%s-%s", ss[i].workload, ss[i].metric);
		for (char *c = base; *c; c++) /* a file name, whatever the names hold */
			if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
				*c = '_';
		snprintf(dat, sizeof(dat), "%s.dat", base);
		snprintf(body, sizeof(body), "%s.body.gp", base);
		plot_file_t d, g;
		if (plot_open(&d, o->plot_dir, dat) || plot_open(&g, o->plot_dir, body)) {
			plot_close(&d);
			bad = 1;
			break;
		}
		for (size_t q = 0; q < ng; q++) {
			const series_t *s = &ss[grp[q]];
			fprintf(d.f, "# %s/%s/t%d %s\n", s->workload, s->allocator, s->threads, s->metric);
			for (size_t r = 0; r < s->nrun; r++)
				fprintf(d.f, "%zu %.10g %.10g %.10g\n", r + 1,
					stats_median(s->v[r], s->nv[r]), stats_min(s->v[r], s->nv[r]),
					stats_max(s->v[r], s->nv[r]));
			fprintf(d.f, "\n\n");
		}
		plot_begin(g.f);
		char t[400];
		snprintf(t, sizeof(t), "%s: %s (%s) per run, median and min-max", ss[i].workload,
			 ss[i].metric, ss[i].unit);
		fprintf(g.f, "set title ");
		plot_str(g.f, t);
		fprintf(g.f, "\nset xlabel 'run (oldest first)'\nset ylabel ");
		plot_str(g.f, ss[i].unit);
		fprintf(g.f, "\nset xtics 1\nplot ");
		for (size_t q = 0; q < ng; q++) {
			char lt[300];
			snprintf(lt, sizeof(lt), "%s t%d", ss[grp[q]].allocator, ss[grp[q]].threads);
			fprintf(g.f, "%s'%s' index %zu using 1:2:3:4 with yerrorlines lw 2 title ",
				q ? ", " : "", dat, q);
			plot_str(g.f, lt);
		}
		fprintf(g.f, "\n");
		plot_close(&d);
		plot_close(&g);
		char err[600];
		if (plot_render(o->plot_dir, base, 900, 420, err, sizeof(err)) < 0) {
			fprintf(stderr, "membench history: %s\n", err);
			bad = 1;
		} else {
			printf("plot: %s/%s.svg\n", o->plot_dir, base);
		}
	}
	free(grp);
	free(done);
	return bad ? -1 : 0;
}

static const char history_usage[] =
	"usage: membench history [options]\n"
	"  Prints, per workload x allocator x threads x metric, the medians of the last\n"
	"  runs (oldest first) and flags a step change of the newest run against the\n"
	"  recent baseline (Mann-Whitney U on the pooled samples of the runs before it).\n"
	"  --db FILE          the history (default results/history.sqlite)\n"
	"  --append DIR       append this results folder first (repeatable)\n"
	"  --metric LIST      metrics, comma-separated, or 'all' (default ns_per_op,peak_rss,overhead)\n"
	"  --workload NAME    only this workload\n"
	"  --allocator NAME   only this allocator\n"
	"  --last N           runs shown per series (default 8)\n"
	"  --window N         runs in the baseline (default 5)\n"
	"  --alpha A          significance of a step (default 0.01)\n"
	"  --threshold PCT    a step must be at least PCT% (default 5)\n"
	"  --plot DIR         also draw the trends with gnuplot into DIR (SVG and PNG)\n"
	"exit status: 0 no step to the worse, 1 a step to the worse in the newest run,\n"
	"2 usage error or unreadable history\n";

int mb_cmd_history(int argc, char **argv)
{
	static const struct option lo[] = {
		{"db", 1, 0, 'd'}, {"append", 1, 0, 'A'}, {"metric", 1, 0, 'm'},
		{"workload", 1, 0, 'w'}, {"allocator", 1, 0, 'a'}, {"last", 1, 0, 'l'},
		{"window", 1, 0, 'W'}, {"alpha", 1, 0, 'p'}, {"threshold", 1, 0, 't'},
		{"plot", 1, 0, 'P'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
	};
	hist_opts_t o = {.db = "results/history.sqlite", .last = 8, .window = 5, .alpha = 0.01,
			 .threshold_pct = 5};
	const char *append[64];
	int nappend = 0, ch;
	char err[4400];
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'd': o.db = optarg; break;
		case 'A':
			if (nappend < 64)
				append[nappend++] = optarg;
			break;
		case 'm': o.metrics = optarg; break;
		case 'w': o.workload = optarg; break;
		case 'a': o.allocator = optarg; break;
		case 'l': o.last = atoi(optarg); break;
		case 'W': o.window = atoi(optarg); break;
		case 'p': o.alpha = atof(optarg); break;
		case 't': o.threshold_pct = atof(optarg); break;
		case 'P': o.plot_dir = optarg; break;
		case 'h': fputs(history_usage, stdout); return 0;
		default: fputs(history_usage, stderr); return 2;
		}
	}
	if (optind != argc || o.last < 1 || o.window < 1 || !(o.alpha > 0 && o.alpha < 1)) {
		fputs(history_usage, stderr);
		return 2;
	}
	for (int i = 0; i < nappend; i++) {
		rundir_t *rd = rundir_load(append[i], err, sizeof(err));
		long n = rd ? history_append(o.db, rd, err, sizeof(err)) : -1;
		if (n < 0) {
			fprintf(stderr, "membench history: %s\n", err);
			rundir_free(rd);
			return 2;
		}
		printf("appended %s: %ld samples\n", rd->run_id, n);
		rundir_free(rd);
	}
	sqlite3 *db = open_db(o.db, 0, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "membench history: %s (every `membench run` creates it)\n", err);
		return 2;
	}
	series_t *ss;
	size_t n = load_series(db, &o, &ss);
	sqlite3_close(db);
	if (!n) {
		printf("history %s: no samples%s\n", o.db, o.metrics ? " for these metrics" : "");
		return 0;
	}
	int worse = 0;
	printf("%-32s %-12s %-6s  medians of the last runs, oldest first -> newest   step\n",
	       "workload/allocator/threads", "metric", "runs");
	for (size_t i = 0; i < n; i++) {
		const series_t *s = &ss[i];
		char key[300], line[2048] = "", v[64];
		snprintf(key, sizeof(key), "%s/%s/t%d", s->workload, s->allocator, s->threads);
		size_t from = s->nrun > (size_t)o.last ? s->nrun - (size_t)o.last : 0;
		for (size_t r = from; r < s->nrun; r++) {
			fmt_val(s, stats_median(s->v[r], s->nv[r]), v, sizeof(v));
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s",
				 r > from ? " | " : "", v);
		}
		double delta, p;
		int st = step_change(s, &o, &delta, &p);
		char flag[128] = "";
		if (st == 3)
			snprintf(flag, sizeof(flag), "   ? %+.1f%% (too few samples to decide: %zu in "
				 "the newest run)", delta, s->nv[s->nrun - 1]);
		else if (st)
			snprintf(flag, sizeof(flag), "   STEP %+.1f%% (%s, p=%.3g)", delta,
				 st == 1 ? "worse" : st == -1 ? "better" : "changed", p);
		worse |= st == 1;
		printf("%-32s %-12s %-6zu  %s%s\n", key, s->metric, s->nrun, line, flag);
	}
	if (o.plot_dir)
		plot_series(ss, n, &o);
	series_free(ss, n);
	return worse ? 1 : 0;
}
