/* Plug-in loading and the ABI check. See plugin.h and membench_alloc.h. */
#include "plugin.h"

#include <dlfcn.h>
#include <stdio.h>

const char *mb_plugin_check(const mb_alloc_ops_t *ops)
{
	if (ops->abi_version != MB_ALLOC_ABI_VERSION)
		return "wrong ABI version (rebuild the plug-in against this membench_alloc.h)";
	if (!ops->name)
		return "missing required entry 'name'";
	if (!ops->init)
		return "missing required entry 'init'";
	if (!ops->malloc)
		return "missing required entry 'malloc'";
	if (!ops->free)
		return "missing required entry 'free'";
	if (!ops->realloc)
		return "missing required entry 'realloc'";
	if (!ops->usable_size)
		return "missing required entry 'usable_size'";
	if (!ops->stack_alloc != !ops->stack_free)
		return "stack_alloc and stack_free come together";
	return NULL;
}

const mb_alloc_ops_t *mb_plugin_load(const char *path, char *why, size_t whylen)
{
	const mb_alloc_ops_t *ops = dlsym(RTLD_DEFAULT, MB_ALLOC_SYMBOL);
	if (!ops && path) {
		void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
		if (!h) {
			snprintf(why, whylen, "cannot load plug-in: %s", dlerror());
			return NULL;
		}
		ops = dlsym(h, MB_ALLOC_SYMBOL);
	}
	if (!ops) {
		snprintf(why, whylen, "%s: no symbol '%s' (not a membench plug-in)",
			 path ? path : "(preloaded)", MB_ALLOC_SYMBOL);
		return NULL;
	}
	const char *bad = mb_plugin_check(ops);
	if (ops->abi_version != MB_ALLOC_ABI_VERSION) {
		snprintf(why, whylen, "%s: plug-in refused: it was built for ABI version %u, this "
			 "membench needs %u (rebuild it against this membench_alloc.h)",
			 path ? path : "(preloaded)", (unsigned)ops->abi_version,
			 (unsigned)MB_ALLOC_ABI_VERSION);
		return NULL;
	}
	if (bad) {
		snprintf(why, whylen, "%s: plug-in refused: %s", path ? path : "(preloaded)", bad);
		return NULL;
	}
	return ops;
}
