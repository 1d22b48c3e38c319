/*
 * The allocator registry. See allocators.h.
 */
#include "allocators.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const mb_allocator_t mb_allocators[] = {
	{ "system", "mb-system.so", "libc6", "glibc malloc (ptmalloc2)" },
	{ "jemalloc", "mb-jemalloc.so", "libjemalloc-dev", "jemalloc (mallocx/sdallocx)" },
	{ "tcmalloc", "mb-tcmalloc.so", "libgoogle-perftools-dev", "gperftools tcmalloc" },
	{ "mimalloc", "mb-mimalloc.so", "libmimalloc-dev", "Microsoft mimalloc" },
	{ "tbbmalloc", "mb-tbbmalloc.so", "libtbb-dev", "oneTBB scalable allocator" },
	{ "span", "mb-span.so", "(built in this repo)", "membench's Go-style span allocator" },
	{ "generic", "mb-generic.so", "-", "any malloc-replacement .so, by path" },
	{ NULL, NULL, NULL, NULL },
};

const char *mb_self_exe(void)
{
	static char exe[PATH_MAX];
	if (!exe[0]) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
	}
	return exe;
}

const char *mb_plugin_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("MEMBENCH_PLUGIN_DIR");
	if (env && *env)
		return env;
	if (!dir[0]) {
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", mb_self_exe());
		snprintf(dir, sizeof(dir), "%s/plugins", dirname(copy));
	}
	return dir;
}

static const mb_allocator_t *find(const char *name)
{
	for (const mb_allocator_t *a = mb_allocators; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

int mb_allocator_resolve(const char *ref, mb_alloc_ref_t *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = NULL;
	size_t n = strlen(ref);
	const char *path = !strncmp(ref, "generic:", 8) ? ref + 8
			 : (n > 3 && (strstr(ref, ".so") || strchr(ref, '/'))) ? ref : NULL;
	if (path) {
		out->reg = find("generic");
		char copy[4096];
		snprintf(copy, sizeof(copy), "%s", path);
		snprintf(out->name, sizeof(out->name), "%s", basename(copy));
		if (!realpath(path, out->preload)) {
			*why = "no such shared object";
			return -ENOENT;
		}
	} else {
		out->reg = find(ref);
		if (!out->reg)
			return -ENOENT;
		snprintf(out->name, sizeof(out->name), "%s", ref);
	}
	snprintf(out->plugin, sizeof(out->plugin), "%s/%s", mb_plugin_dir(), out->reg->plugin);
	if (access(out->plugin, R_OK) != 0) {
		*why = "plug-in not built: its library's Debian package was missing at build time";
		return -ENODEV;
	}
	return 0;
}
