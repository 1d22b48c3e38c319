/*
 * The deterministic counters mode (suite `counters: cachegrind`): the trial
 * child runs under valgrind with its cache simulation on and the L1i / L1d /
 * last-level geometry hwloc reports for this machine; instructions, D1 misses
 * and LL misses land in the result's `counters`, marked simulated.
 * See COUNTERS.md for the choices; in short:
 *
 * - The tool is callgrind (--cache-sim=yes), not cachegrind: cachegrind in
 *   valgrind 3.19 counts the whole process, while callgrind collects only
 *   where the program says so. Every worker toggles collection on and off
 *   around each measured chunk (CALLGRIND_TOGGLE_COLLECT acts on the calling
 *   thread), so the counts cover the measured operations exactly, while the
 *   simulated caches stay warm through everything else.
 * - Valgrind needs a power-of-two number of sets. A level whose geometry has
 *   not (a 20-way 260 MiB L3) keeps its line size, rounds its sets down to a
 *   power of two and raises the ways until the size is at least the real one
 *   (the rule valgrind applies to the geometry it detects itself); the result
 *   records both the real and the simulated geometry.
 * - Same binary, same seed, same geometry, one worker thread: identical
 *   counts, run after run. With more workers, valgrind's thread switches
 *   depend on the host's scheduling and the counts vary a little.
 */
#ifndef MB_CACHEGRIND_H
#define MB_CACHEGRIND_H

#include <jansson.h>
#include <stdio.h>

#include "topology.h"

/* A callgrind run is 20-100x slower than native (see COUNTERS.md): the trial
 * timeout is multiplied by this in this mode. */
#define MB_CG_TIMEOUT_FACTOR 100

typedef struct mb_cg_cache {
	int have;                 /* 0: valgrind detects this level itself */
	int level;                /* hwloc's level (1, 2, 3...) */
	unsigned long long size;  /* simulated bytes */
	unsigned line;
	int ways;
	unsigned long long real_size; /* as hwloc reports */
	int real_ways;            /* 0 unknown, -1 fully associative */
	char note[160];           /* how the simulated geometry was derived */
} mb_cg_cache_t;

typedef struct mb_cg_geom {
	mb_cg_cache_t i1, d1, ll;
} mb_cg_geom_t;

/* The simulated geometry for the topology's caches. */
void mb_cachegrind_geom(const mb_topo_t *tp, mb_cg_geom_t *g);

/* The valgrind executable on PATH, written to buf; 0, or -1 when absent. */
int mb_cachegrind_valgrind(char *buf, size_t len);

/* Fills argv[0..) with the valgrind command line that runs a program under
 * the cache simulation with g's geometry and writes its totals to out_file;
 * strings go into store (len bytes). Returns the number of entries (argv
 * needs room for 16), or -1 when valgrind is not installed. */
int mb_cachegrind_argv(const mb_cg_geom_t *g, const char *out_file, const char **argv,
		       char *store, size_t len);

/* In the child, just before exec: sets MB_CG_PAD so that the strings and
 * pointers of argv and the environment fill a whole number of 4 KiB pages.
 * The client's initial stack, and so every stack address and its cache set,
 * is then the same whatever the caller's environment and paths; without it,
 * a longer $PWD shifts the stack and moves a few dozen simulated misses. */
void mb_cachegrind_pad_env(const char *const *client_argv);

/* The event totals of a callgrind output file. */
enum { MB_CG_IR, MB_CG_DR, MB_CG_DW, MB_CG_I1MR, MB_CG_D1MR, MB_CG_D1MW, MB_CG_ILMR,
       MB_CG_DLMR, MB_CG_DLMW, MB_CG_NEV };
extern const char *const mb_cg_event_names[]; /* "Ir", "Dr", ... */
typedef struct mb_cg_totals {
	unsigned long long v[MB_CG_NEV];
} mb_cg_totals_t;

/* Reads the `events:` and `summary:` lines; 0, or -1 with a message in err. */
int mb_cachegrind_parse(const char *path, mb_cg_totals_t *t, char *err, size_t errlen);

/* Writes the simulated figures into a trial's result: `counters`
 * (PAPI_TOT_INS, PAPI_L1_DCM, PAPI_L<n>_TCM of the last level; per_op over
 * result.ops), `cachesim` (every callgrind event and the geometry), and marks
 * the timing as not meaningful (ns_per_op null). t NULL: the counts could
 * not be read, and why says so in each counter. */
void mb_cachegrind_merge(json_t *result, const mb_cg_totals_t *t, const mb_cg_geom_t *g,
			 const char *why);

/* In the trial child: 1 when running under valgrind; toggles collection for
 * the calling thread (a no-op outside valgrind). */
int mb_cachegrind_active(void);
void mb_cachegrind_toggle(void);

/* In the child, before mb_cachegrind_pad_env: tells the trial (MB_CG_FLUSH)
 * how much to stream through to flush g's simulated caches. */
void mb_cachegrind_flush_env(const mb_cg_geom_t *g);
/* In the trial, just before collection starts: writes one byte per cache line
 * of a buffer as large as the simulated last-level cache (MB_CG_FLUSH), made
 * once at the same address run by run. Every set of D1 and LL then holds the
 * buffer's lines in the same LRU order, so what the threads did before (how
 * long a thread waited, how often it yielded) leaves no trace in the counts. */
void mb_cachegrind_flush(void);

/* `membench list counters`: whether this mode can run, and its geometry. */
void mb_cachegrind_list(FILE *f, const mb_topo_t *tp);

#endif
