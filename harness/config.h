/*
 * Suite configs (configs/NAME.yaml): which workloads on which allocators, how often,
 * with which limits. The schema is mb_suite_options in config.c.
 */
#ifndef MB_CONFIG_H
#define MB_CONFIG_H

#include "allocators.h"
#include "options.h"
#include "topology.h"
#include "workload.h"

/* What `counters:` asks for: PAPI events, the cachegrind mode, or nothing. */
enum { MB_COUNTERS_PAPI, MB_COUNTERS_CACHEGRIND, MB_COUNTERS_OFF };

typedef struct mb_suite {
	char *name;
	char *description;
	mb_strlist_t workloads;    /* names or paths */
	mb_strlist_t allocators;   /* registry names or .so paths */
	mb_u64list_t threads;      /* empty: each workload's own */
	uint64_t repetitions;
	uint64_t seed;
	double ops_scale;          /* multiplies every workload's ops and warmup */
	uint64_t timeout_ns;       /* per trial */
	uint64_t memory_limit;     /* bytes of RSS per trial */
	uint64_t sample_points;    /* memory samples per trial */
	int pin;                   /* MB_PIN_* */
	int membind;               /* MB_MEMBIND_* */
	mb_strlist_t counters;     /* PAPI event names, or [cachegrind], or [off] */
	char *output;              /* results folder */
	bool memory_profile;       /* trials keep live usable bytes (ns/op then includes it) */
	uint64_t drain_wait_ns;    /* RSS again this long after the drain */
	mb_tunables_t tunables;    /* allocator variants: environment tunables */

	/* resolved by mb_suite_load */
	char *path;
	mb_workload_t **wl;
	size_t nwl;
	mb_alloc_ref_t *al;
	size_t nal;
	int counters_mode;         /* MB_COUNTERS_*, from `counters:` */
} mb_suite_t;

extern const mb_option_t mb_suite_options[];

/* Loads a suite and every workload and allocator it names; workload names are
 * looked up in wl_dir. Errors are printed `file:line:col: ...` and counted in
 * y->errors; returns NULL when there was any. */
mb_suite_t *mb_suite_load(mb_yctx_t *y, const char *path, const char *wl_dir);
void mb_suite_free(mb_suite_t *s);

#endif
