/*
 * A suite run. See suiterun.h.
 *
 * Resume contract: a trial is finished when trials/<id>.json exists (it is only
 * ever written whole, by rename). `run --resume DIR` reloads the suite from the
 * path in DIR/manifest.json, refuses if that file or any workload file differs
 * from the copies kept in DIR/inputs/, and runs only the unfinished trials.
 */
#include "suiterun.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "pattern.h"
#include "plan.h"
#include "result.h"
#include "runner.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	size_t k;
	while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

static void iso_time(char *buf, size_t n, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Copies of the inputs, kept so a resume can prove they did not change. */
static int save_input(const char *dir, const char *name, const char *src)
{
	char dst[4096];
	size_t n;
	char *data = slurp(src, &n);
	if (!data)
		return -errno;
	snprintf(dst, sizeof(dst), "%s/inputs/%s", dir, name);
	int rc = mb_write_atomic(dst, data, n);
	free(data);
	return rc;
}

static int same_as_saved(const char *dir, const char *name, const char *src)
{
	char saved[4096];
	snprintf(saved, sizeof(saved), "%s/inputs/%s", dir, name);
	size_t a, b;
	char *x = slurp(saved, &a), *y = slurp(src, &b);
	int same = x && y && a == b && memcmp(x, y, a) == 0;
	free(x);
	free(y);
	return same;
}

static json_t *host_json(void)
{
	struct utsname u;
	char host[256] = "";
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "hostname", host, "kernel",
			 u.release, "machine", u.machine, "os", u.sysname, "cpus_online",
			 (int)sysconf(_SC_NPROCESSORS_ONLN), "memory_bytes",
			 (json_int_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
}

static json_t *manifest_new(const mb_suite_t *s, const mb_plan_t *plan, const char *run_id,
			    const char *wl_dir)
{
	char now[32], cfg_real[4096];
	iso_time(now, sizeof(now), time(NULL));
	if (!realpath(s->path, cfg_real))
		snprintf(cfg_real, sizeof(cfg_real), "%s", s->path);
	json_t *wls = json_array(), *als = json_array();
	for (size_t i = 0; i < s->nwl; i++) {
		const mb_workload_t *w = s->wl[i];
		char wreal[4096];
		if (!realpath(w->path, wreal))
			snprintf(wreal, sizeof(wreal), "%s", w->path);
		json_t *j = mb_opt_json(mb_workload_options, w);
		json_object_set_new(j, "path", json_string(wreal));
		json_object_set_new(j, "params", mb_opt_json(w->pattern->options, w->params));
		json_array_append_new(wls, j);
	}
	for (size_t i = 0; i < s->nal; i++)
		json_array_append_new(als, json_pack("{s:s, s:s, s:s, s:s}", "name", s->al[i].name,
			"plugin", s->al[i].plugin, "preload", s->al[i].preload, "package",
			s->al[i].reg->package));
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:s, s:n, s:s}",
		"schema_version", MB_RESULT_SCHEMA, "run_id", run_id, "suite", s->name,
		"config_path", cfg_real, "config", mb_opt_json(mb_suite_options, s),
		"workloads", wls, "allocators", als, "trials_planned", (json_int_t)plan->n,
		"build", mb_build_json(), "host", host_json(), "started", now, "finished",
		"status", "running");
	char wreal[4096];
	if (!realpath(wl_dir, wreal))
		snprintf(wreal, sizeof(wreal), "%s", wl_dir);
	json_object_set_new(m, "workload_dir", json_string(wreal));
	return m;
}

static void point_latest(const char *output, const char *run_id)
{
	char tmp[4096], link[4096];
	snprintf(tmp, sizeof(tmp), "%s/.latest.%d", output, (int)getpid());
	snprintf(link, sizeof(link), "%s/latest", output);
	unlink(tmp);
	if (symlink(run_id, tmp) == 0 && rename(tmp, link) != 0)
		unlink(tmp);
}

/* Writes series/<id>.csv from a trial record's result.series (columns in the
 * order the trial wrote them). */
static void write_series_csv(const char *dir, const char *id, json_t *rec)
{
	json_t *series = json_object_get(json_object_get(rec, "result"), "series");
	if (!json_is_object(series))
		return;
	size_t rows = json_array_size(json_object_get(series, "ops"));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	const char *key;
	json_t *col;
#define PUT(...) do { \
		int k_ = snprintf(buf + n, cap - n, __VA_ARGS__); \
		if ((size_t)k_ >= cap - n) { cap = (cap + (size_t)k_) * 2; buf = realloc(buf, cap); \
			k_ = snprintf(buf + n, cap - n, __VA_ARGS__); } \
		n += (size_t)k_; } while (0)
	int first = 1;
	json_object_foreach(series, key, col) {
		PUT("%s%s", first ? "" : ",", key);
		first = 0;
	}
	PUT("\n");
	for (size_t r = 0; r < rows; r++) {
		first = 1;
		json_object_foreach(series, key, col) {
			json_t *v = json_array_get(col, r);
			if (json_is_integer(v))
				PUT("%s%lld", first ? "" : ",", (long long)json_integer_value(v));
			else
				PUT("%s", first ? "" : ",");
			first = 0;
		}
		PUT("\n");
	}
#undef PUT
	char path[4096];
	snprintf(path, sizeof(path), "%s/series/%s.csv", dir, id);
	mb_write_atomic(path, buf, n);
	free(buf);
}

/* Removes temporaries a killed run left in folder (names with ".tmp."): they
 * were never renamed into place, so they hold nothing finished. */
static void remove_stale_tmp(const char *folder)
{
	DIR *d = opendir(folder);
	struct dirent *e;
	char p[4400];
	if (!d)
		return;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tmp.")) {
			snprintf(p, sizeof(p), "%s/%s", folder, e->d_name);
			unlink(p);
		}
	closedir(d);
}

static void fmt_dur(char *b, size_t n, double s)
{
	if (s < 60)
		snprintf(b, n, "%.0fs", s);
	else if (s < 3600)
		snprintf(b, n, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(b, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static int open_run(const mb_suiterun_opts_t *o, mb_yctx_t *y, mb_suite_t **sp,
		    char *dir, size_t dirlen, json_t **manifest)
{
	if (!o->resume) {
		mb_suite_t *s = mb_suite_load(y, o->config, o->wl_dir);
		if (!s)
			return 2;
		const char *output = o->output ? o->output : s->output;
		char stamp[32], run_id[200];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		snprintf(run_id, sizeof(run_id), "%s-%s", s->name, stamp);
		snprintf(dir, dirlen, "%s/%s", output, run_id);
		for (int k = 2; access(dir, F_OK) == 0; k++)
			snprintf(dir, dirlen, "%s/%s-%d", output, run_id, k);
		*sp = s;
		return 0;
	}
	char mpath[4096];
	snprintf(dir, dirlen, "%s", o->resume);
	snprintf(mpath, sizeof(mpath), "%s/manifest.json", dir);
	json_error_t jerr;
	*manifest = json_load_file(mpath, 0, &jerr);
	if (!*manifest) {
		fprintf(stderr, "%s:%d:%d: cannot resume: %s\n", mpath, jerr.line, jerr.column,
			jerr.text);
		return 2;
	}
	const char *cfg = json_string_value(json_object_get(*manifest, "config_path"));
	if (!cfg || !same_as_saved(dir, "config.yaml", cfg)) {
		fprintf(stderr, "membench: cannot resume %s: the suite file %s changed since the "
			"run started (or is gone); start a new run\n", dir, cfg ? cfg : "?");
		return 2;
	}
	json_t *wls = json_object_get(*manifest, "workloads"), *w;
	size_t i;
	json_array_foreach(wls, i, w) {
		const char *p = json_string_value(json_object_get(w, "path"));
		const char *nm = json_string_value(json_object_get(w, "name"));
		char saved[300];
		snprintf(saved, sizeof(saved), "workload-%s.yaml", nm ? nm : "?");
		if (!p || !same_as_saved(dir, saved, p)) {
			fprintf(stderr, "membench: cannot resume %s: workload file %s changed since "
				"the run started; start a new run\n", dir, p ? p : "?");
			return 2;
		}
	}
	const char *wl_dir = json_string_value(json_object_get(*manifest, "workload_dir"));
	mb_suite_t *s = mb_suite_load(y, cfg, wl_dir ? wl_dir : o->wl_dir);
	if (!s)
		return 2;
	*sp = s;
	return 0;
}

int mb_suiterun(const mb_suiterun_opts_t *o, volatile sig_atomic_t *interrupted)
{
	mb_yctx_t y = {0};
	mb_suite_t *s = NULL;
	json_t *manifest = NULL;
	char dir[4096], path[4400];
	int rc = open_run(o, &y, &s, dir, sizeof(dir), &manifest);
	if (rc) {
		json_decref(manifest);
		return rc;
	}
	if (!mb_build_is_optimised() && !o->debug_results) {
		fprintf(stderr, "membench: this is a sanitizer or unoptimised build; its numbers "
			"mislead, so it writes no results (rebuild with `make`, or pass "
			"--debug-results to run it anyway, marked as such)\n");
		mb_suite_free(s);
		json_decref(manifest);
		return 2;
	}
	mb_plan_t plan;
	if (mb_plan_build(s, &plan)) {
		mb_suite_free(s);
		return 2;
	}
	char *copy = strdup(dir), *slash = strrchr(copy, '/');
	const char *run_id = slash ? slash + 1 : copy;
	if (slash)
		*slash = 0;
	const char *output = slash ? copy : ".";
	snprintf(path, sizeof(path), "%s/trials", dir);
	mb_mkdirs(path);
	snprintf(path, sizeof(path), "%s/series", dir);
	mb_mkdirs(path);
	snprintf(path, sizeof(path), "%s/inputs", dir);
	mb_mkdirs(path);
	static const char *const subdirs[] = {"", "/trials", "/series", "/inputs"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subdirs[i]);
		remove_stale_tmp(path);
	}
	if (!manifest) {
		manifest = manifest_new(s, &plan, run_id, o->wl_dir);
		save_input(dir, "config.yaml", s->path);
		for (size_t i = 0; i < s->nwl; i++) {
			char nm[300];
			snprintf(nm, sizeof(nm), "workload-%s.yaml", s->wl[i]->name);
			save_input(dir, nm, s->wl[i]->path);
		}
	}
	json_object_set_new(manifest, "status", json_string("running"));
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if ((rc = mb_write_json_atomic(path, manifest))) {
		fprintf(stderr, "membench: cannot write %s: %s\n", path, strerror(-rc));
		rc = 2;
		goto out;
	}
	point_latest(output, run_id);
	int tty = isatty(1) && !o->quiet;
	if (!o->quiet)
		printf("membench: %s: %zu trials -> %s\n", s->name, plan.n, dir);
	size_t counts[MB_ST_COUNT] = {0}, skipped = 0, ran = 0;
	uint64_t t0 = mb_now_ns();
	for (size_t k = 0; k < plan.n && !*interrupted; k++) {
		const mb_trial_spec_t *t = &plan.t[k];
		snprintf(path, sizeof(path), "%s/trials/%s.json", dir, t->id);
		json_error_t jerr;
		json_t *old = access(path, F_OK) == 0 ? json_load_file(path, 0, &jerr) : NULL;
		if (old) {
			const char *st = json_string_value(json_object_get(old, "status"));
			for (int i = 0; i < MB_ST_COUNT; i++)
				if (st && !strcmp(st, mb_status_names[i]))
					counts[i]++;
			skipped++;
			json_decref(old);
			continue;
		}
		double el = (double)(mb_now_ns() - t0) / 1e9;
		char elb[32], etab[32] = "?";
		fmt_dur(elb, sizeof(elb), el);
		if (ran)
			fmt_dur(etab, sizeof(etab), el / (double)ran * (double)(plan.n - k));
		if (tty) {
			printf("\r\033[K[%zu/%zu] %s  elapsed %s  eta %s", k + 1, plan.n, t->id, elb,
			       etab);
			fflush(stdout);
		}
		json_t *rec = mb_trial_exec(s, t);
		ran++;
		const char *st = json_string_value(json_object_get(rec, "status"));
		if (*interrupted && strcmp(st, "ok")) {
			json_decref(rec); /* killed by our own interrupt: not a result */
			break;
		}
		if ((rc = mb_write_json_atomic(path, rec)))
			fprintf(stderr, "\nmembench: cannot write %s: %s\n", path, strerror(-rc));
		write_series_csv(dir, t->id, rec);
		for (int i = 0; i < MB_ST_COUNT; i++)
			if (!strcmp(st, mb_status_names[i]))
				counts[i]++;
		json_t *res = json_object_get(rec, "result");
		if (!o->quiet) {
			if (tty)
				printf("\r\033[K");
			if (!strcmp(st, "ok"))
				printf("[%zu/%zu] %s: ok, %.1f ns/op, peak RSS %.1f MiB (%.1fs)\n", k + 1,
				       plan.n, t->id,
				       json_real_value(json_object_get(res, "ns_per_op")),
				       (double)json_integer_value(json_object_get(res, "peak_rss")) / 1048576.0,
				       json_real_value(json_object_get(rec, "wall_s")));
			else
				printf("[%zu/%zu] %s: %s (%.1fs)\n", k + 1, plan.n, t->id, st,
				       json_real_value(json_object_get(rec, "wall_s")));
			fflush(stdout);
		}
		json_decref(rec);
	}
	char now[32];
	iso_time(now, sizeof(now), time(NULL));
	json_t *cj = json_object();
	for (int i = 0; i < MB_ST_COUNT; i++)
		json_object_set_new(cj, mb_status_names[i], json_integer((json_int_t)counts[i]));
	json_object_set_new(manifest, "trial_counts", cj);
	json_object_set_new(manifest, "status", json_string(*interrupted ? "interrupted" : "complete"));
	json_object_set_new(manifest, "finished", *interrupted ? json_null() : json_string(now));
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	mb_write_json_atomic(path, manifest);
	size_t bad = 0;
	for (int i = 1; i < MB_ST_COUNT; i++)
		bad += counts[i];
	if (!o->quiet) {
		printf("membench: %s: %zu ok, %zu not ok", s->name, counts[MB_ST_OK], bad);
		if (skipped)
			printf(" (%zu already done)", skipped);
		printf("\nresults: %s\n", dir);
	}
	rc = *interrupted ? 130 : bad ? 1 : 0;
out:
	free(copy);
	mb_plan_free(&plan);
	json_decref(manifest);
	mb_suite_free(s);
	return rc;
}
