/*
 * Result files: atomic writes and the shared layout. See results/README.md for
 * the schema of manifest.json and trials/ID.json.
 *
 * Contract: every file is written to a temporary name in the same folder,
 * flushed to disk, then renamed over its final name, so a reader (or a resumed
 * run after kill -9) sees either the old file, the whole new one, or none.
 */
#ifndef MB_RESULT_H
#define MB_RESULT_H

#include <jansson.h>
#include <stddef.h>

#include "options.h"

/* Bump on every incompatible change of the result layout. */
#define MB_RESULT_SCHEMA 1

/* Both return 0 or a negative errno. */
int mb_write_atomic(const char *path, const void *data, size_t len);
int mb_write_json_atomic(const char *path, json_t *j);

/* An option-table struct as a JSON object (the config "as loaded"). */
json_t *mb_opt_json(const mb_option_t *table, const void *obj);

/* Build facts: git revision, compiler, flags, optimised or not. */
json_t *mb_build_json(void);
/* 1 when this binary may write results: optimised and without sanitizers. */
int mb_build_is_optimised(void);

/* mkdir -p; 0 or a negative errno. */
int mb_mkdirs(const char *path);

#endif
