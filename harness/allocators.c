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
	{ "system", "mb-system.so", "libc6", "libc.so", "glibc malloc (ptmalloc2)" },
	{ "jemalloc", "mb-jemalloc.so", "libjemalloc-dev", "libjemalloc.so",
	  "jemalloc (mallocx/sdallocx; serves plain malloc too)" },
	{ "tcmalloc", "mb-tcmalloc.so", "libgoogle-perftools-dev", "libtcmalloc_minimal.so",
	  "gperftools tcmalloc (tc_*; serves plain malloc too)" },
	{ "mimalloc", "mb-mimalloc.so", "libmimalloc-dev", "libmimalloc.so",
	  "Microsoft mimalloc (mi_*; serves plain malloc too)" },
	{ "tbbmalloc", "mb-tbbmalloc.so", "libtbb-dev", "libtbbmalloc.so",
	  "oneTBB scalable allocator (scalable_*; RSS only)" },
	{ "span", "mb-span.so", "(built in this repo)", "mb-span.so",
	  "membench's Go-style span allocator" },
	{ "generic", "mb-generic.so", "-", NULL, "any malloc-replacement .so, by path (RSS only)" },
	{ NULL, NULL, NULL, NULL, NULL },
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

const char *mb_membench_exe(void)
{
	static char exe[PATH_MAX + 16];
	const char *self = mb_self_exe(), *slash = strrchr(self, '/');
	if (!strcmp(slash ? slash + 1 : self, "membench"))
		return self;
	snprintf(exe, sizeof(exe), "%s/../membench", mb_plugin_dir());
	return access(exe, X_OK) == 0 ? exe : NULL;
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

static int resolve(const char *ref, mb_alloc_ref_t *out, const char **why);

static const mb_allocator_t *find(const char *name)
{
	for (const mb_allocator_t *a = mb_allocators; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static const mb_alloc_tune_t *find_tune(const mb_tunables_t *t, const char *name)
{
	for (unsigned i = 0; t && i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

int mb_allocator_resolve(const char *name, const mb_tunables_t *tunables, mb_alloc_ref_t *out,
			 const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = NULL;
	const mb_alloc_tune_t *tune = find_tune(tunables, name);
	const char *ref = tune && tune->base[0] ? tune->base : name;
	int rc = resolve(ref, out, why);
	if (tune) {
		snprintf(out->name, sizeof(out->name), "%s", name);
		for (unsigned i = 0; i < tune->nenv; i++)
			snprintf(out->env[i], sizeof(out->env[i]), "%s", tune->env[i]);
		out->nenv = tune->nenv;
	}
	return rc;
}

static int resolve(const char *ref, mb_alloc_ref_t *out, const char **why)
{
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
		*why = out->reg->package[0] == '('
			       ? "plug-in not built (it is built from this repository: run make)"
			       : "plug-in not built: its library's Debian package was missing at build time";
		return -ENODEV;
	}
	return 0;
}

/* `tunables:` -- NAME: {allocator: BASE, env: {KEY: VALUE, ...}}. */
static int env_key_ok(const char *k)
{
	if (!*k || (*k >= '0' && *k <= '9'))
		return 0;
	for (; *k; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
		      (*k >= '0' && *k <= '9') || *k == '_'))
			return 0;
	return 1;
}

static int parse_env(mb_yctx_t *y, yaml_node_t *n, mb_alloc_tune_t *t)
{
	if (n->type != YAML_MAPPING_NODE) {
		mb_yerr(y, n, "tunables: %s: env must be a mapping of VARIABLE: value", t->name);
		return -1;
	}
	int bad = 0;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *ks = mb_yaml_scalar(k), *vs = mb_yaml_scalar(v);
		if (!ks || !env_key_ok(ks)) {
			mb_yerr(y, k, "tunables: %s: '%s' is not an environment variable name",
				t->name, ks ? ks : "?");
			bad = 1;
		} else if (!vs) {
			mb_yerr(y, v, "tunables: %s: %s: the value must be a scalar", t->name, ks);
			bad = 1;
		} else if (!strcmp(ks, "LD_PRELOAD")) {
			mb_yerr(y, k, "tunables: %s: LD_PRELOAD is set by membench (name a .so "
				"in allocators instead)", t->name);
			bad = 1;
		} else if (t->nenv == MB_ENV_MAX) {
			mb_yerr(y, k, "tunables: %s: at most %d variables", t->name, MB_ENV_MAX);
			bad = 1;
		} else if (strlen(ks) + strlen(vs) + 2 > sizeof(t->env[0])) {
			mb_yerr(y, v, "tunables: %s: %s: value too long", t->name, ks);
			bad = 1;
		} else {
			snprintf(t->env[t->nenv++], sizeof(t->env[0]), "%s=%s", ks, vs);
		}
	}
	return bad ? -1 : 0;
}

int mb_tunables_parse(mb_yctx_t *y, yaml_node_t *node, void *field, const mb_option_t *opt)
{
	mb_tunables_t *tu = field;
	if (node->type != YAML_MAPPING_NODE) {
		mb_yerr(y, node, "tunables: expected a mapping NAME: {allocator: ..., env: {...}}");
		return -1;
	}
	int bad = 0;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *name = mb_yaml_scalar(k);
		if (!name || !*name || strlen(name) >= sizeof(tu->v[0].name)) {
			mb_yerr(y, k, "tunables: a variant name must be a short string");
			bad = 1;
			continue;
		}
		if (tu->n == MB_TUNE_MAX) {
			mb_yerr(y, k, "tunables: at most %d variants", MB_TUNE_MAX);
			return -1;
		}
		mb_alloc_tune_t *t = &tu->v[tu->n];
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name);
		if (v->type != YAML_MAPPING_NODE) {
			mb_yerr(y, v, "tunables: %s: expected {allocator: NAME, env: {VAR: value}}", name);
			bad = 1;
			continue;
		}
		for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
		     q++) {
			yaml_node_t *qk = yaml_document_get_node(y->doc, q->key);
			yaml_node_t *qv = yaml_document_get_node(y->doc, q->value);
			const char *key = mb_yaml_scalar(qk), *val = mb_yaml_scalar(qv);
			if (key && !strcmp(key, "allocator") && val) {
				snprintf(t->base, sizeof(t->base), "%s", val);
			} else if (key && !strcmp(key, "env")) {
				bad |= parse_env(y, qv, t) != 0;
			} else {
				mb_yerr(y, qk, "tunables: %s: unknown key '%s' (allocator, env)", name,
					key ? key : "?");
				bad = 1;
			}
		}
		if (!t->base[0] && !find(name) && !strchr(name, '/')) {
			mb_yerr(y, k, "tunables: '%s' is no registry allocator: say which it runs "
				"with `allocator: NAME`", name);
			bad = 1;
		}
		tu->n++;
	}
	return bad ? -1 : 0;
}

void mb_allocator_setenv(const mb_alloc_ref_t *r)
{
	char preload[8300];
	if (r->preload[0])
		snprintf(preload, sizeof(preload), "%s %s", r->preload, r->plugin);
	else
		snprintf(preload, sizeof(preload), "%s", r->plugin);
	setenv("LD_PRELOAD", preload, 1);
#ifdef MB_SANITIZER
	/* the plug-in is preloaded ahead of the sanitizer runtime; that is fine
	 * here. Leaks and ODR reports from a foreign allocator library (or from two
	 * instrumented plug-ins loaded together) are not membench's. A crash must
	 * stay a crash (a signal), not an ASan exit code. */
	setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0:detect_odr_violation=0:"
			       "handle_segv=0:handle_sigbus=0:handle_sigfpe=0", 0);
	setenv("TSAN_OPTIONS", "handle_segv=0:handle_sigbus=0:handle_sigfpe=0", 0);
#endif
	for (unsigned i = 0; i < r->nenv; i++) {
		char kv[512];
		snprintf(kv, sizeof(kv), "%s", r->env[i]);
		char *eq = strchr(kv, '=');
		if (eq) {
			*eq = 0;
			setenv(kv, eq + 1, 1);
		}
	}
}
