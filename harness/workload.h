/*
 * Workload definitions (workloads/NAME.yaml): which pattern, how much work, and the
 * pattern's params. The schema is wl_options in workload.c; the pattern's own
 * keys go under `params:` and are checked by the pattern's option table.
 */
#ifndef MB_WORKLOAD_H
#define MB_WORKLOAD_H

#include "options.h"
#include "pattern.h"

typedef struct mb_workload {
	char *name;
	char *description;
	char *pattern_name;
	uint64_t threads;          /* worker threads (the suite may override) */
	uint64_t ops;              /* measured operations, all threads together */
	uint64_t warmup;           /* operations before measuring, all threads */
	uint64_t seed;             /* 0: the suite's seed */
	bool escape_analysis;      /* false: every allocation escapes */
	const mb_pattern_t *pattern;
	void *params;              /* pattern->params_size bytes */
	char *path;                /* the file it was loaded from */
} mb_workload_t;

extern const mb_option_t mb_workload_options[];

/* Loads and checks one workload file. Errors are printed `file:line:col: ...`
 * and counted in y->errors; returns NULL when there was any. */
mb_workload_t *mb_workload_load(mb_yctx_t *y, const char *path);
void mb_workload_free(mb_workload_t *w);

/* Resolves a workload reference from a suite: a name (looked up as
 * <dir>/<name>.yaml) or a path ending in .yaml / .yml (relative to the suite
 * file's folder). Returns a heap string, or NULL if no such file. */
char *mb_workload_resolve(const char *ref, const char *suite_path, const char *dir);

#endif
