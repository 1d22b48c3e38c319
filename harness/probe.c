/*
 * Probing an allocator plug-in: `membench probe` (internal) runs in a child
 * started exactly like a trial -- plug-in in LD_PRELOAD, tunables in the
 * environment -- and prints what the plug-in says about itself as JSON.
 * mb_allocator_probe (allocators.h) is the parent's side. Suites use it at
 * load time, so a plug-in that does not load, is refused, or complains about
 * its tunables stops the suite at validation instead of in the middle of a run;
 * the manifest records the version and library path it reports;
 * `membench sizeclasses --table NAME` reads an allocator's class table with it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocators.h"
#include "cli.h"
#include "plugin.h"

typedef struct lib_find {
	const char *prefix;
	char path[4096];
} lib_find_t;

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	lib_find_t *f = arg;
	const char *n = info->dlpi_name, *slash = n ? strrchr(n, '/') : NULL;
	const char *base = slash ? slash + 1 : n;
	if (base && *base && !strncmp(base, f->prefix, strlen(f->prefix))) {
		if (!realpath(n, f->path))
			snprintf(f->path, sizeof(f->path), "%s", n);
		return 1;
	}
	return 0;
}

static json_t *stat_or_null(uint64_t v)
{
	return v == MB_STAT_UNKNOWN ? json_null() : json_integer((json_int_t)v);
}

/* Allocates, writes, grows and frees a spread of sizes through the ABI; NULL
 * when every call kept its contract, else what broke. Microseconds. */
static const char *selftest(const mb_alloc_ops_t *ops)
{
	static const size_t sizes[] = {0, 1, 7, 8, 16, 24, 100, 256, 1000, 4096, 5000,
				       32768, 40000, 1 << 20};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	void *p[N];
	for (int i = 0; i < N; i++) {
		unsigned flags = i % 2 ? MB_NOSCAN : 0;
		if (!(p[i] = ops->malloc(sizes[i], flags)))
			return "malloc returned NULL";
		size_t u = ops->usable_size(p[i]);
		if (u && u < sizes[i])
			return "usable_size smaller than the requested size";
		memset(p[i], 0xa5, sizes[i]);
	}
	for (int i = 0; i < N; i++) {
		size_t grow = sizes[i] * 2 + 8;
		unsigned char *q = ops->realloc(p[i], sizes[i], grow);
		if (!q)
			return "realloc returned NULL";
		for (size_t k = 0; k < sizes[i]; k++)
			if (q[k] != 0xa5)
				return "realloc lost the contents";
		memset(q, 0x5a, grow);
		p[i] = q;
	}
	for (int i = 0; i < N; i++)
		ops->free(p[i], sizes[i] * 2 + 8);
	if (ops->stack_alloc) {
		void *st = ops->stack_alloc(8192);
		if (!st)
			return "stack_alloc returned NULL";
		memset(st, 1, 8192);
		ops->stack_free(st, 8192);
	}
	return NULL;
}

static const char probe_usage[] =
	"usage: membench probe [--library PREFIX] [--classes] [--plugin SO]\n"
	"Internal: loads the preloaded allocator plug-in (or SO), calls its init and\n"
	"runs an ABI self-test (malloc, usable_size, realloc, free over a spread of\n"
	"sizes), and prints name, version, library path, optional ABI entries, a stats\n"
	"snapshot and, with --classes, its size-class table, as JSON. Exit 3 when\n"
	"the plug-in is refused or its init fails.\n";

int mb_cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{"library", required_argument, NULL, 'l'}, {"classes", no_argument, NULL, 'c'},
		{"plugin", required_argument, NULL, 'p'},  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *prefix = NULL, *plugin = NULL;
	int classes = 0, c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': prefix = optarg; break;
		case 'c': classes = 1; break;
		case 'p': plugin = optarg; break;
		case 'h': fputs(probe_usage, stdout); return 0;
		default: fputs(probe_usage, stderr); return 2;
		}
	}
	char why[512];
	const mb_alloc_ops_t *ops = mb_plugin_load(plugin, why, sizeof(why));
	if (!ops) {
		fprintf(stderr, "%s\n", why);
		return 3;
	}
	int rc = ops->init();
	if (rc) {
		fprintf(stderr, "%s: init failed: %s\n", ops->name, strerror(-rc));
		return 3;
	}
	const char *bad = selftest(ops);
	if (bad) {
		fprintf(stderr, "%s: failed the ABI self-test: %s\n", ops->name, bad);
		return 3;
	}
	json_t *j = json_pack("{s:s, s:i, s:s}", "name", ops->name, "abi_version",
			      (int)ops->abi_version, "selftest", "ok");
	const char *v = ops->version ? ops->version() : NULL;
	json_object_set_new(j, "version", v ? json_string(v) : json_null());
	lib_find_t f = {.prefix = prefix};
	if (prefix && dl_iterate_phdr(on_object, &f))
		json_object_set_new(j, "library", json_string(f.path));
	Dl_info di;
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	if (m && dladdr(m, &di) && di.dli_fname)
		json_object_set_new(j, "malloc_from", json_string(di.dli_fname));
	json_t *ent = json_array();
#define OPT(e) if (ops->e) json_array_append_new(ent, json_string(#e))
	OPT(version); OPT(stack_alloc); OPT(stats); OPT(thread_enter); OPT(thread_exit);
	OPT(release); OPT(class_stats);
#undef OPT
	json_object_set_new(j, "optional_entries", ent);
	mb_alloc_stats_t st;
	memset(&st, 0xff, sizeof(st));
	if (ops->stats && ops->stats(&st) == 0)
		json_object_set_new(j, "stats", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
			"allocated", stat_or_null(st.allocated), "active", stat_or_null(st.active),
			"resident", stat_or_null(st.resident), "mapped", stat_or_null(st.mapped),
			"metadata", stat_or_null(st.metadata), "retained", stat_or_null(st.retained)));
	int n = classes && ops->class_stats ? ops->class_stats(NULL, 0) : 0;
	if (n > 0) {
		mb_alloc_class_stats_t *cs = calloc((size_t)n, sizeof(*cs));
		json_t *a = json_array();
		if (ops->class_stats(cs, (size_t)n) == n)
			for (int i = 0; i < n; i++)
				json_array_append_new(a, json_pack("{s:I, s:I, s:I, s:b}",
					"size", (json_int_t)cs[i].size,
					"span_bytes", (json_int_t)cs[i].span_bytes,
					"span_objects", (json_int_t)cs[i].span_objects,
					"noscan", (cs[i].flags & MB_NOSCAN) != 0));
		free(cs);
		json_object_set_new(j, "classes", a);
	}
	char *s = json_dumps(j, JSON_COMPACT);
	puts(s);
	free(s);
	json_decref(j);
	return 0;
}

/* Reads fd to EOF into a string (NUL-terminated, caller frees). */
static char *read_all(int fd)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	ssize_t k;
	while ((k = read(fd, b + n, cap - n - 1)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += (size_t)k;
		if (n + 1 == cap)
			b = realloc(b, cap *= 2);
	}
	b[n] = 0;
	return b;
}

/* Set in the probe child's environment: a probe never starts another. */
#define PROBE_GUARD "MEMBENCH_IN_PROBE"

/* Probes already made by this process, so that loading suites again (resume,
 * validating many files, a YAML fuzzer) does not start a child each time;
 * keyed by everything that reaches the child. */
#define MEMO_MAX 32
typedef struct memo {
	char *key;
	json_t *info;   /* NULL: refused, see why */
	char why[512];
} memo_t;
static memo_t memo[MEMO_MAX];
static unsigned nmemo;

static char *memo_key(const mb_alloc_ref_t *r, bool classes)
{
	size_t cap = 16 + strlen(r->plugin) + strlen(r->preload) + MB_ENV_MAX * 513;
	char *k = malloc(cap);
	int n = snprintf(k, cap, "%d|%s|%s", (int)classes, r->plugin, r->preload);
	for (unsigned i = 0; i < r->nenv; i++)
		n += snprintf(k + n, cap - (size_t)n, "|%s", r->env[i]);
	return k;
}

static void fill_ref(mb_alloc_ref_t *r, json_t *j)
{
	const char *v = json_string_value(json_object_get(j, "version"));
	const char *l = json_string_value(json_object_get(j, "library"));
	snprintf(r->version, sizeof(r->version), "%s", v ? v : "");
	snprintf(r->library, sizeof(r->library), "%s", r->preload[0] ? r->preload : l ? l : "");
}

static json_t *probe_child(const char *exe, mb_alloc_ref_t *r, bool classes, char *why,
			   size_t whylen);

json_t *mb_allocator_probe(mb_alloc_ref_t *r, bool classes, char *why, size_t whylen)
{
	if (getenv(PROBE_GUARD)) {
		snprintf(why, whylen, "a probe cannot start another probe");
		return NULL;
	}
	const char *exe = mb_membench_exe();
	if (!exe) /* no membench to load the plug-in with: nothing is checked */
		return json_pack("{s:s}", "probe", "skipped: no membench binary beside the plug-ins");
	char *key = memo_key(r, classes);
	for (unsigned i = 0; i < nmemo; i++)
		if (!strcmp(memo[i].key, key)) {
			free(key);
			snprintf(why, whylen, "%s", memo[i].why);
			if (memo[i].info)
				fill_ref(r, memo[i].info);
			return json_incref(memo[i].info);
		}
	json_t *j = probe_child(exe, r, classes, why, whylen);
	if (nmemo < MEMO_MAX) {
		memo[nmemo].key = key;
		memo[nmemo].info = json_incref(j);
		snprintf(memo[nmemo].why, sizeof(memo[nmemo].why), "%s", j ? "" : why);
		nmemo++;
	} else {
		free(key);
	}
	return j;
}

static json_t *probe_child(const char *exe, mb_alloc_ref_t *r, bool classes, char *why,
			   size_t whylen)
{
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		snprintf(why, whylen, "cannot probe: %s", strerror(errno));
		return NULL;
	}
	const char *lib = r->reg && r->reg->library ? r->reg->library : NULL;
	const char *argv[8] = {exe, "probe"};
	int k = 2;
	if (lib)
		argv[k++] = "--library", argv[k++] = lib;
	if (classes)
		argv[k++] = "--classes";
	argv[k] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "cannot probe: %s", strerror(errno));
		return NULL;
	}
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		setenv(PROBE_GUARD, "1", 1);
		mb_allocator_setenv(r);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	char *o = read_all(out[0]), *e = read_all(err[0]);
	close(out[0]);
	close(err[0]);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	json_t *j = NULL;
	size_t el = strlen(e);
	while (el && (e[el - 1] == '\n' || e[el - 1] == ' '))
		e[--el] = 0;
	if (WIFSIGNALED(ws))
		snprintf(why, whylen, "the plug-in crashed at load (%s)%s%s",
			 strsignal(WTERMSIG(ws)), el ? ": " : "", e);
	else if (WEXITSTATUS(ws) != 0)
		snprintf(why, whylen, "%s", el ? e : "the plug-in does not load");
	else if (el) /* loaded, but the library complained (a bad tunable, most often) */
		snprintf(why, whylen, "the allocator printed at start-up: %s", e);
	else if (!(j = json_loads(o, 0, NULL)))
		snprintf(why, whylen, "the probe printed no result");
	if (j)
		fill_ref(r, j);
	free(o);
	free(e);
	return j;
}
