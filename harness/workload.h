/*
 * Workload definitions (workloads/NAME.yaml): which pattern, how much work, and the
 * pattern's params. The schema is wl_options in workload.c; the pattern's own
 * keys go under `params:` and are checked by the pattern's option table.
 */
#ifndef MB_WORKLOAD_H
#define MB_WORKLOAD_H

#include "options.h"
#include "pattern.h"

/* One entry of `phases:`. Phases run in order over the measured operations,
 * each with its own params (the workload's params with the phase's on top). */
typedef struct mb_phase {
	char *name;
	uint64_t ops;              /* weight: the measured ops are split in proportion */
	int end;                   /* MB_PHASE_KEEP or MB_PHASE_DRAIN */
	void *params;              /* pattern->params_size bytes */
} mb_phase_t;

enum { MB_PHASE_KEEP, MB_PHASE_DRAIN };

/* The measured chunks of a trial and the phase each belongs to: chunk c runs
 * ops[c] operations (all threads) with phase[c]'s params; a phase owns
 * nchunks[p] consecutive chunks from first[p]. */
typedef struct mb_sched {
	uint64_t nchunks;
	unsigned *phase;           /* nchunks entries */
	unsigned nphases;
	uint64_t *phase_ops;       /* measured ops of each phase, all threads */
	uint64_t *first, *count;   /* first chunk and number of chunks per phase */
} mb_sched_t;

typedef struct mb_workload {
	char *name;
	char *description;
	char *pattern_name;
	uint64_t threads;          /* worker threads (the suite may override) */
	uint64_t ops;              /* measured operations, all threads together */
	uint64_t warmup;           /* operations before measuring, all threads */
	uint64_t seed;             /* 0: the suite's seed */
	uint64_t duration;         /* ns; > 0: measured ops from the warm-up's rate */
	bool escape_analysis;      /* false: every allocation escapes */
	double cross_thread;       /* fraction of frees done by the next thread */
	int gc;                    /* 0 off (free at death), 1 paced (GOGC batches) */
	uint64_t gogc;             /* GOGC, percent */
	const mb_pattern_t *pattern;
	void *params;              /* pattern->params_size bytes; == phases[0].params */
	mb_phase_t *phases;        /* nphases >= 1 (one implicit phase without `phases:`) */
	unsigned nphases;
	const void **phase_params; /* nphases entries, for mb_run_t */
	char *path;                /* the file it was loaded from */
} mb_workload_t;

extern const mb_option_t mb_workload_options[];
extern const mb_option_t mb_phase_options[];

/* Loads and checks one workload file. Errors are printed `file:line:col: ...`
 * and counted in y->errors; returns NULL when there was any. */
mb_workload_t *mb_workload_load(mb_yctx_t *y, const char *path);
void mb_workload_free(mb_workload_t *w);
/* Frees a pattern's params struct and what it owns (strings, lists,
 * distribution tables, nested kernel params). */
void mb_workload_params_free(const mb_pattern_t *pat, void *params);

/* Resolves a workload reference from a suite: a name (looked up as
 * <dir>/<name>.yaml) or a path ending in .yaml / .yml (relative to the suite
 * file's folder). Returns a heap string, or NULL if no such file. */
char *mb_workload_resolve(const char *ref, const char *suite_path, const char *dir);

/* Splits `ops` measured operations into at least `samples` chunks over the
 * phases, in proportion to their ops (each phase >= 1 chunk, every phase ends
 * on a chunk boundary). Returns 0 or -ENOMEM. */
int mb_sched_make(const mb_workload_t *wl, uint64_t ops, uint64_t samples, mb_sched_t *s);
void mb_sched_free(mb_sched_t *s);
/* Duration mode (wl->duration > 0): remakes s (made with `samples`) for the
 * operations that fill
 * the duration at the warm-up's rate (warmup ops in warm_ns), scaled by the
 * suite's ops_scale (ops / wl->ops when the workload names ops). Does nothing
 * otherwise. 0 or -ENOMEM. */
int mb_workload_calibrate(const mb_workload_t *wl, uint64_t ops, uint64_t warmup,
			  uint64_t warm_ns, uint64_t samples, mb_sched_t *s);
/* Operations of thread tid (of nthreads) in chunk c. */
uint64_t mb_sched_ops(const mb_sched_t *s, uint64_t c, unsigned nthreads, unsigned tid);
/* The `phases` array of a trial result: per phase its name, measured ops, end,
 * and the series row at its end with RSS and live requested bytes there (rows
 * as in trial.c: row 0 before the first chunk, row c + 1 after chunk c). */
struct json_t;
struct json_t *mb_workload_phases_json(const mb_workload_t *wl, const mb_sched_t *s,
				       const uint64_t *rss, const uint64_t *live);

#endif
