/*
 * Loading a results directory. See rundir.h for the contract and
 * results/README.md for the files it reads.
 */
#include "rundir.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void rundir_warn(rundir_t *rd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	text_line_addv(&rd->warn, &rd->nwarn, fmt, ap);
	va_end(ap);
}

json_t *rundir_get(json_t *j, const char *path)
{
	char key[256];
	while (j && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = 0;
		j = json_object_get(j, key);
		path += n + (dot ? 1 : 0);
	}
	return j;
}

double rundir_num(json_t *j, const char *path)
{
	json_t *v = rundir_get(j, path);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Position of s in list (appending it when absent). */
static size_t intern(const char ***list, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*list)[i], s))
			return i;
	*list = realloc(*list, (*n + 1) * sizeof(**list));
	(*list)[*n] = s;
	return (*n)++;
}

static size_t index_of(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return i;
	return n;
}

static const rundir_t *sort_rd; /* qsort has no context argument */

static int cmp_cell(const void *a, const void *b)
{
	const rundir_cell_t *x = a, *y = b;
	size_t wx = index_of(sort_rd->workloads, sort_rd->nw, x->workload);
	size_t wy = index_of(sort_rd->workloads, sort_rd->nw, y->workload);
	if (wx != wy)
		return wx < wy ? -1 : 1;
	if (x->threads != y->threads)
		return x->threads < y->threads ? -1 : 1;
	size_t ax = index_of(sort_rd->allocators, sort_rd->na, x->allocator);
	size_t ay = index_of(sort_rd->allocators, sort_rd->na, y->allocator);
	return ax < ay ? -1 : ax > ay;
}

static const char *str_or(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : def;
}

/* Reads every trials/ID.json (sorted by name, so rep order is stable). */
static void load_trials(rundir_t *rd, DIR *d, const char *tdir)
{
	struct dirent *e;
	char **names = NULL;
	size_t nn = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		names = realloc(names, (nn + 1) * sizeof(*names));
		names[nn++] = strdup(e->d_name);
	}
	qsort(names, nn, sizeof(*names), cmp_name);
	rd->t = calloc(nn ? nn : 1, sizeof(*rd->t));
	for (size_t i = 0; i < nn; i++) {
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", tdir, names[i]);
		json_error_t jerr;
		json_t *rec = json_load_file(path, 0, &jerr);
		if (!json_is_object(rec)) {
			rundir_warn(rd, "trials/%s: unreadable (%d:%d: %s); skipped", names[i],
				    jerr.line, jerr.column, jerr.text);
			json_decref(rec);
			free(names[i]);
			continue;
		}
		rundir_trial_t *t = &rd->t[rd->nt++];
		t->rec = rec;
		t->id = str_or(rec, "id", "?");
		t->workload = str_or(rec, "workload", "?");
		t->allocator = str_or(rec, "allocator", "?");
		t->status = str_or(rec, "status", "unknown");
		t->threads = (int)json_integer_value(json_object_get(rec, "threads"));
		t->rep = (int)json_integer_value(json_object_get(rec, "rep"));
		t->ok = !strcmp(t->status, "ok");
		t->result = json_object_get(rec, "result");
		if (!json_is_object(t->result))
			t->result = NULL;
		if (t->ok && !t->result)
			rundir_warn(rd, "trials/%s: status ok but no result; treated as failed",
				    names[i]);
		if (t->ok && !t->result)
			t->ok = 0;
		free(names[i]);
	}
	free(names);
}

static void group_cells(rundir_t *rd)
{
	/* names in manifest order first, then any the manifest does not list */
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(rd->manifest, "workloads"), i, v)
		if (json_string_value(json_object_get(v, "name")))
			intern(&rd->workloads, &rd->nw, json_string_value(json_object_get(v, "name")));
	json_array_foreach(json_object_get(rd->manifest, "allocators"), i, v)
		if (json_string_value(json_object_get(v, "name")))
			intern(&rd->allocators, &rd->na, json_string_value(json_object_get(v, "name")));
	for (i = 0; i < rd->nt; i++) {
		rundir_trial_t *t = &rd->t[i];
		intern(&rd->workloads, &rd->nw, t->workload);
		intern(&rd->allocators, &rd->na, t->allocator);
		rundir_cell_t *c = (rundir_cell_t *)rundir_cell(rd, t->workload, t->allocator,
								t->threads);
		if (!c) {
			rd->c = realloc(rd->c, (rd->nc + 1) * sizeof(*rd->c));
			c = &rd->c[rd->nc++];
			memset(c, 0, sizeof(*c));
			c->workload = t->workload;
			c->allocator = t->allocator;
			c->threads = t->threads;
			snprintf(c->key, sizeof(c->key), "%s/%s/t%d", t->workload, t->allocator,
				 t->threads);
		}
		c->trials = realloc(c->trials, (c->n + 1) * sizeof(*c->trials));
		c->trials[c->n++] = i;
		c->nok += t->ok;
	}
	sort_rd = rd;
	qsort(rd->c, rd->nc, sizeof(*rd->c), cmp_cell);
	sort_rd = NULL;
}

rundir_t *rundir_load(const char *dir, char *err, size_t errlen)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/trials", dir);
	DIR *d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "%s: not a membench results folder (no trials/ in it)", dir);
		return NULL;
	}
	rundir_t *rd = calloc(1, sizeof(*rd));
	rd->dir = strdup(dir);
	char mpath[4400];
	snprintf(mpath, sizeof(mpath), "%s/manifest.json", dir);
	json_error_t jerr;
	rd->manifest = json_load_file(mpath, 0, &jerr);
	if (!json_is_object(rd->manifest)) {
		rundir_warn(rd, "manifest.json: unreadable (%s); machine, config and versions "
			    "are not available", jerr.text);
		json_decref(rd->manifest);
		rd->manifest = NULL;
	}
	load_trials(rd, d, path);
	closedir(d);
	if (!rd->nt) {
		snprintf(err, errlen, "%s: no readable trial results in trials/", dir);
		rundir_free(rd);
		return NULL;
	}
	rd->run_id = json_string_value(json_object_get(rd->manifest, "run_id"));
	if (!rd->run_id) {
		const char *slash = strrchr(rd->dir, '/');
		rd->run_id = slash && slash[1] ? slash + 1 : rd->dir;
	}
	group_cells(rd);
	return rd;
}

const rundir_cell_t *rundir_cell(const rundir_t *rd, const char *workload,
				 const char *allocator, int threads)
{
	for (size_t i = 0; i < rd->nc; i++)
		if (rd->c[i].threads == threads && !strcmp(rd->c[i].workload, workload) &&
		    !strcmp(rd->c[i].allocator, allocator))
			return &rd->c[i];
	return NULL;
}

void rundir_free(rundir_t *rd)
{
	if (!rd)
		return;
	for (size_t i = 0; i < rd->nc; i++)
		free(rd->c[i].trials);
	free(rd->c);
	free(rd->workloads);
	free(rd->allocators);
	for (size_t i = 0; i < rd->nt; i++)
		json_decref(rd->t[i].rec);
	free(rd->t);
	for (size_t i = 0; i < rd->nwarn; i++)
		free(rd->warn[i]);
	free(rd->warn);
	json_decref(rd->manifest);
	free(rd->dir);
	free(rd);
}
