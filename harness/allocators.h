/*
 * The allocator registry: every allocator membench knows, in one table, and how
 * a trial finds its plug-in. A suite names allocators by registry name, or names
 * any malloc-replacement shared object by path (`generic:PATH` or a path ending
 * in .so), which runs through the generic plug-in.
 */
#ifndef MB_ALLOCATORS_H
#define MB_ALLOCATORS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mb_allocator {
	const char *name;     /* as in configs */
	const char *plugin;   /* file name in the plug-in folder */
	const char *package;  /* Debian package that brings the library */
	const char *help;
} mb_allocator_t;

extern const mb_allocator_t mb_allocators[];

/* A reference from a suite, resolved. */
typedef struct mb_alloc_ref {
	const mb_allocator_t *reg; /* the registry entry (generic for a path) */
	char name[128];            /* display name: registry name or the .so's base name */
	char plugin[4096];         /* path of the plug-in .so */
	char preload[4096];        /* extra library to preload first (generic), or "" */
} mb_alloc_ref_t;

/* Resolves ref. Returns 0; -ENOENT for an unknown name; -ENODEV when the name is
 * known but its plug-in is not built/installed (why in *why, static text). */
int mb_allocator_resolve(const char *ref, mb_alloc_ref_t *out, const char **why);

/* The folder holding the plug-ins: $MEMBENCH_PLUGIN_DIR, else plugins/ beside
 * the membench binary. */
const char *mb_plugin_dir(void);
/* The running membench binary's path. */
const char *mb_self_exe(void);

#endif
