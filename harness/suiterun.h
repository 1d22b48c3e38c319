/*
 * A suite run: the results folder, the manifest, resume, progress, and the
 * loop over the plan. See runner.h for one trial.
 */
#ifndef MB_SUITERUN_H
#define MB_SUITERUN_H

#include <signal.h>

typedef struct mb_suiterun_opts {
	const char *config;    /* suite file (NULL with resume) */
	const char *resume;    /* results folder of an interrupted run */
	const char *output;    /* overrides the suite's `output` */
	const char *wl_dir;
	int debug_results;
	int quiet;
} mb_suiterun_opts_t;

/* Runs (or resumes) a suite. Returns the exit status: 0 all trials ok, 1 some
 * trial not ok, 2 usage/config error, 130 interrupted. */
int mb_suiterun(const mb_suiterun_opts_t *o, volatile sig_atomic_t *interrupted);

#endif
