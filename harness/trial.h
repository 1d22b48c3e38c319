/*
 * The trial child: `membench trial ...` runs one workload on one allocator in a
 * fresh process (exec'd by the runner with the plug-in preloaded) and writes its
 * measurements as one JSON object to --result-fd.
 *
 * Exit status: 0 measured; 2 bad arguments or workload; 3 plug-in refused or its
 * init failed; 4 an allocation failed (out of memory). A crash is a signal.
 */
#ifndef MB_TRIAL_H
#define MB_TRIAL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mb_trial_args {
	const char *workload;   /* path of the workload file */
	const char *plugin;     /* plug-in path, used when none is preloaded */
	unsigned threads;
	uint64_t seed, ops, warmup, samples;
	int result_fd;
	bool memory_profile;     /* keep live usable bytes (costs usable_size calls) */
	uint64_t drain_wait_ns;  /* RSS again this long after the drain; 0: not */
	int pin;                /* MB_PIN_* (topology.h) */
	int membind;            /* MB_MEMBIND_* */
	const char *counters;   /* comma-separated events, "cachegrind", or NULL */
} mb_trial_args_t;

/* Runs the trial; returns the process exit status described above. */
int mb_trial_run(const mb_trial_args_t *a);

/* `membench trial ARGS` (trial_cmd.c): parses ARGS into mb_trial_args_t and
 * runs the trial; the exit status is mb_trial_run's, or 2 on bad arguments. */
int mb_cmd_trial(int argc, char **argv);

#endif
