/*
 * The runner: executes a plan, one child process per trial, and records every
 * trial's outcome. See README.md (Running) and results/README.md.
 *
 * Each trial is `membench trial ...` exec'd fresh with its allocator plug-in in
 * LD_PRELOAD. The runner kills it at the suite's timeout, or when its RSS passes
 * the memory limit (polled every 20 ms), and records status, exit code or
 * signal, and the tail of its stderr. A failed trial never stops the suite.
 */
#ifndef MB_RUNNER_H
#define MB_RUNNER_H

#include <jansson.h>

#include "plan.h"

/* Trial outcomes, as written in trials/ID.json "status". */
#define MB_STATUSES(X) X(OK, "ok") X(FAILED, "failed") X(CRASHED, "crashed") \
	X(TIMEOUT, "timeout") X(OOM, "oom") X(ERROR, "error")
#define MB_STATUS_ENUM(e, s) MB_ST_##e,
typedef enum { MB_STATUSES(MB_STATUS_ENUM) MB_ST_COUNT } mb_status_t;
extern const char *const mb_status_names[];

/* Runs one trial and returns its record (a new JSON object, never NULL). */
json_t *mb_trial_exec(const mb_suite_t *s, const mb_trial_spec_t *t);

int mb_cmd_run(int argc, char **argv);

#endif
