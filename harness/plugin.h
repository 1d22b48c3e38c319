/*
 * Finding and checking an allocator plug-in inside the trial process.
 */
#ifndef MB_PLUGIN_H
#define MB_PLUGIN_H

#include "membench_alloc.h"

/* Returns NULL when ops is acceptable, else why not (static text). */
const char *mb_plugin_check(const mb_alloc_ops_t *ops);

/* The ops of the preloaded plug-in, or of path (dlopen'd RTLD_GLOBAL) when none
 * is preloaded. NULL with *why set when there is none or it is refused. */
const mb_alloc_ops_t *mb_plugin_load(const char *path, char *why, size_t whylen);

#endif
