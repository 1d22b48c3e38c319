/*
 * The allocator registry: every allocator membench knows, in one table, and how
 * a trial finds its plug-in. A suite names allocators by registry name, by a
 * variant it defines under `tunables:` (a registry name plus environment
 * tunables such as MALLOC_CONF), or names any malloc-replacement shared object
 * by path (`generic:PATH` or a path ending in .so), which runs through the
 * generic plug-in.
 */
#ifndef MB_ALLOCATORS_H
#define MB_ALLOCATORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "options.h"

typedef struct mb_allocator {
	const char *name;     /* as in configs */
	const char *plugin;   /* file name in the plug-in folder */
	const char *package;  /* Debian package that brings the library */
	const char *library;  /* file name prefix of the allocator's shared object
	                         ("libjemalloc.so"): the manifest records its path */
	const char *help;
} mb_allocator_t;

extern const mb_allocator_t mb_allocators[];

#define MB_ENV_MAX 8    /* environment tunables per allocator */
#define MB_TUNE_MAX 32  /* variants per suite */

/* One entry of a suite's `tunables:` mapping. */
typedef struct mb_alloc_tune {
	char name[64];              /* the key: a registry name or a new variant name */
	char base[512];             /* `allocator:` it runs ("" = name itself) */
	char env[MB_ENV_MAX][512];  /* "KEY=VALUE" */
	unsigned nenv;
} mb_alloc_tune_t;

typedef struct mb_tunables {
	mb_alloc_tune_t v[MB_TUNE_MAX];
	unsigned n;
} mb_tunables_t;

/* MB_OPT_CUSTOM parser of `tunables:` into an mb_tunables_t. */
int mb_tunables_parse(mb_yctx_t *y, yaml_node_t *node, void *field, const mb_option_t *opt);

/* A reference from a suite, resolved. */
typedef struct mb_alloc_ref {
	const mb_allocator_t *reg; /* the registry entry (generic for a path) */
	char name[128];            /* display name: registry/variant name or the .so's base name */
	char plugin[4096];         /* path of the plug-in .so */
	char preload[4096];        /* extra library to preload first (generic), or "" */
	char env[MB_ENV_MAX][512]; /* tunables, "KEY=VALUE", set in the trial's environment */
	unsigned nenv;
	/* from the probe (mb_allocator_probe), for the manifest */
	char version[256];         /* the library's own version string, or "" */
	char library[4096];        /* path of the allocator's shared object, or "" */
} mb_alloc_ref_t;

/* Resolves ref, a variant of tunables (may be NULL) first. Returns 0; -ENOENT
 * for an unknown name; -ENODEV when the name is known but its plug-in is not
 * built/installed (why in *why, static text). */
int mb_allocator_resolve(const char *ref, const mb_tunables_t *tunables, mb_alloc_ref_t *out,
			 const char **why);

/* Starts `membench probe` with the plug-in preloaded and its tunables set, as
 * a trial would be, and returns what it prints: name, version, library, the
 * ABI entries present, and with classes the per-size-class table. Fills
 * r->version and r->library. NULL with why filled when the plug-in does not
 * load or is refused. Cost: one fork+exec (milliseconds). */
json_t *mb_allocator_probe(mb_alloc_ref_t *r, bool classes, char *why, size_t whylen);

/* Sets the allocator's environment (LD_PRELOAD and tunables) in this process:
 * for a child between fork and exec. */
void mb_allocator_setenv(const mb_alloc_ref_t *r);

/* The folder holding the plug-ins: $MEMBENCH_PLUGIN_DIR, else plugins/ beside
 * the membench binary. */
const char *mb_plugin_dir(void);
/* The running binary's path. */
const char *mb_self_exe(void);
/* The membench binary to start children (`trial`, `probe`) with: this process
 * when it is membench, else `membench` beside the plug-in folder; NULL when
 * there is none. Never a program that merely links the harness (a test):
 * exec'ing that with membench's arguments would run it again, recursively. */
const char *mb_membench_exe(void);

#endif
