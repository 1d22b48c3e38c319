/*
 * results/history.sqlite: every run's samples, for nightly trends and step
 * detection. The schema (history.c, HISTORY_SCHEMA) is documented in
 * analysis/README.md; its version is in meta(key='schema_version').
 */
#ifndef MB_HISTORY_H
#define MB_HISTORY_H

#include <stddef.h>

#include "rundir.h"

#define HISTORY_SCHEMA_VERSION 1

/* Appends run rd to the database at db (created when missing). Appending a
 * run_id again replaces it (a resumed run). Every metric of metric_discover()
 * on every ok trial becomes one row of samples. Returns the number of
 * samples written, or -1 with a message in err. One transaction. */
long history_append(const char *db, const rundir_t *rd, char *err, size_t errlen);

/* The hook for the end of `membench run`: appends DIR to
 * dirname(DIR)/history.sqlite and prints one line saying so (unless quiet);
 * a failure is a warning on stderr, never a failed run. Returns 0 or -1. */
int history_record_run(const char *dir, int quiet);

#endif
