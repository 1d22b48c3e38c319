/*
 * A results directory, loaded for analysis: manifest.json and every
 * trials/ID.json, grouped into cells (workload x allocator x threads).
 * Analysis reads only these files; it links no allocator and runs nothing.
 *
 * Degrading, not failing: a missing manifest, an unreadable trial file or a
 * section a run did not record (counters, fragmentation, size classes,
 * topology) is a warning or a "not available in this run", never an error.
 * The only error is a directory with no readable trial at all.
 */
#ifndef MB_RUNDIR_H
#define MB_RUNDIR_H

#include <jansson.h>
#include <stddef.h>

typedef struct rundir_trial {
	const char *id, *workload, *allocator, *status; /* borrowed from rec */
	int threads, rep;
	int ok;             /* status == "ok" */
	json_t *rec;        /* the whole trial record */
	json_t *result;     /* rec.result, NULL when the trial recorded none */
} rundir_trial_t;

typedef struct rundir_cell {
	const char *workload, *allocator; /* borrowed from a trial record */
	int threads;
	size_t *trials;     /* indexes into rundir_t.t, in rep order */
	size_t n, nok;      /* trials, of which ok */
	char key[256];      /* "workload/allocator/tN", unique in the run */
} rundir_cell_t;

typedef struct rundir {
	char *dir;
	json_t *manifest;   /* NULL when manifest.json is missing or unreadable */
	const char *run_id; /* manifest run_id, else the folder name */
	rundir_trial_t *t;
	size_t nt;
	rundir_cell_t *c;   /* sorted: workload, then threads, then allocator (manifest order) */
	size_t nc;
	const char **workloads, **allocators; /* distinct, manifest order first */
	size_t nw, na;
	char **warn;        /* problems with the files themselves, one line each */
	size_t nwarn;
} rundir_t;

/* Loads DIR (a run folder, or a symlink such as results/latest). Returns NULL
 * and a message in err when DIR has no readable trials/ folder. */
rundir_t *rundir_load(const char *dir, char *err, size_t errlen);
void rundir_free(rundir_t *rd);

/* The cell with this key, or NULL. */
const rundir_cell_t *rundir_cell(const rundir_t *rd, const char *workload,
				 const char *allocator, int threads);

/* Follows a dotted path of object keys ("result.latency.malloc.p99_ns");
 * NULL where any step is missing. */
json_t *rundir_get(json_t *j, const char *path);
/* The number at j.path (integer or real), NaN when absent or not a number. */
double rundir_num(json_t *j, const char *path);

/* Appends a printf-formatted warning to rd->warn. */
void rundir_warn(rundir_t *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
