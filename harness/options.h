/*
 * Option tables: one table per YAML schema drives parsing, defaults, range checks,
 * unknown-key errors (with did-you-mean) and the schema documentation.
 * See README.md (Configuration) for an overview; the schemas live in config.c
 * (suites), workload.c (workloads) and each pattern's file (pattern params).
 *
 * Error contract: every problem is printed as `file:line:column: message` on
 * stderr and counted in mb_yctx_t.errors; parsing goes on so that one run shows
 * all errors. Callers exit 2 when errors > 0, before any trial runs.
 */
#ifndef MB_OPTIONS_H
#define MB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

#include "parse.h"

typedef enum mb_opt_type {
	MB_OPT_BOOL,     /* bool */
	MB_OPT_INT,      /* int64_t */
	MB_OPT_UINT,     /* uint64_t; accepts 1_000_000 and 1e6 */
	MB_OPT_DOUBLE,   /* double */
	MB_OPT_STR,      /* char * (heap) */
	MB_OPT_ENUM,     /* int: index into values[] */
	MB_OPT_SIZE,     /* uint64_t bytes: 4096, 64KiB, 1MiB, 2GiB, 1.5GB */
	MB_OPT_DURATION, /* uint64_t ns: 250ms, 10s, 2m, 1h, 20us */
	MB_OPT_STRLIST,  /* mb_strlist_t: a sequence of strings, or one string */
	MB_OPT_UINTLIST, /* mb_u64list_t: a sequence of integers, or one integer */
	MB_OPT_CUSTOM,   /* parsed by option.parse from the node */
} mb_opt_type_t;

typedef struct mb_strlist {
	char **v;
	size_t n;
} mb_strlist_t;

typedef struct mb_u64list {
	uint64_t *v;
	size_t n;
} mb_u64list_t;

/* Where a document came from, for error messages, plus the error count. */
typedef struct mb_yctx {
	const char *file;
	yaml_document_t *doc;
	int errors;
	FILE *err; /* where messages go (stderr unless a test redirects) */
} mb_yctx_t;

typedef struct mb_option mb_option_t;

/* Parses node into field; returns 0, or -1 after reporting with mb_yerr. */
typedef int (*mb_opt_parse_fn)(mb_yctx_t *y, yaml_node_t *node, void *field,
			       const mb_option_t *opt);

struct mb_option {
	const char *name;
	mb_opt_type_t type;
	size_t off;                 /* offsetof(struct, field) */
	const char *def;            /* default, as YAML text; NULL: zero / empty */
	bool required;              /* no default; a missing key is an error */
	bool ranged;                /* min/max apply (numeric types, list items) */
	double min, max;
	const char *const *values;  /* MB_OPT_ENUM: NULL-terminated names */
	const char *help;
	const char *example;        /* YAML text shown in the docs */
	mb_opt_parse_fn parse;      /* MB_OPT_CUSTOM */
	const char *type_doc;       /* MB_OPT_CUSTOM: type name in the docs */
};

/* Loads a YAML file as one document. Syntax errors, duplicate keys, an empty
 * file or more than one document are reported; returns 0 or -1. On success the
 * caller owns *doc (yaml_document_delete). */
int mb_yaml_load_file(mb_yctx_t *y, const char *path, yaml_document_t *doc);
/* The same, from a string (for defaults and tests); name is used in messages. */
int mb_yaml_load_string(mb_yctx_t *y, const char *name, const char *text,
			yaml_document_t *doc);

/* Prints `file:line:col: message` for node (or the document start when NULL). */
void mb_yerr(mb_yctx_t *y, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets every option of the table to its default in obj. Returns 0, or -1 if a
 * default in the table does not parse (a programming error, reported). */
int mb_opt_defaults(const mb_option_t *table, void *obj);

/* Applies a mapping node onto obj: every key must be in table (or in extra, a
 * second table of keys handled by the caller, which are skipped here), with a
 * value of the right type and range. When check_required, a missing required key
 * is an error. Returns the number of errors added. */
int mb_opt_apply(mb_yctx_t *y, const mb_option_t *table, const mb_option_t *extra,
		 yaml_node_t *map, void *obj, bool check_required);

/* Looks up key in a mapping node; NULL when absent. */
yaml_node_t *mb_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key);
/* Scalar text of node, or NULL when it is not a scalar. */
const char *mb_yaml_scalar(const yaml_node_t *node);


/* The closest key of table or extra to key (see mb_closest), or NULL. */
const char *mb_opt_suggest(const mb_option_t *table, const mb_option_t *extra,
			   const char *key);

/* The closest of n names to key by edit distance (<= max(2, len/3)), or NULL. */
const char *mb_closest(const char *key, const char *const *names, size_t n);

/* Reports at node `KEY: no KIND named 'NAME'`, with the closest of names as a
 * did-you-mean, or else the list of names followed by otherwise (may be NULL). */
void mb_yerr_unknown(mb_yctx_t *y, const yaml_node_t *node, const char *key,
		     const char *kind, const char *name, const char *const *names, size_t n,
		     const char *otherwise);

/* The file name of path without folder and extension ("configs/ci.yaml" is
 * "ci"), on the heap: the default name of a suite or workload. */
char *mb_path_stem(const char *path);

/* Writes the table as a Markdown table: key, type, default, allowed, help. */
void mb_opt_markdown(FILE *f, const mb_option_t *table);

/* Frees the heap fields (strings, lists) the table owns in obj. */
void mb_opt_free(const mb_option_t *table, void *obj);

#define MB_OPT_END { .name = NULL }

#endif
