/*
 * Suite configs: loading, checking, resolving references. See config.h and
 * configs/README.md.
 */
#include "config.h"

#include "cachegrind.h"
#include "counters.h"

#include <stdlib.h>
#include <string.h>

#define S(nm, ty, f, dflt, hlp) MB_OPT(nm, ty, mb_suite_t, f, dflt, hlp)
const mb_option_t mb_suite_options[] = {
	S("name", MB_OPT_STR, name, NULL, "suite name (default: the file name)"),
	S("description", MB_OPT_STR, description, NULL, "one line for reports"),
	{ .name = "workloads", .type = MB_OPT_STRLIST, .off = offsetof(mb_suite_t, workloads),
	  .required = true, .example = "[churn, escape-heavy, my/own.yaml]",
	  .help = "workload names (workloads/NAME.yaml) or paths to .yaml files" },
	{ .name = "allocators", .type = MB_OPT_STRLIST, .off = offsetof(mb_suite_t, allocators),
	  .required = true, .example = "[system, jemalloc, span, ./libmy.so]",
	  .help = "allocator names (`membench list allocators`) or malloc-replacement .so paths" },
	{ .name = "threads", .type = MB_OPT_UINTLIST, .off = offsetof(mb_suite_t, threads),
	  .ranged = true, .min = 1, .max = 1024, .example = "[1, 2]",
	  .help = "thread counts to run every workload with (default: each workload's own)" },
	MB_OPT_RANGE("repetitions", MB_OPT_UINT, mb_suite_t, repetitions, "3", 1, 1000,
		     "trials per workload x allocator x threads, interleaved A B C A B C"),
	S("seed", MB_OPT_UINT, seed, "42", "seed of every operation stream"),
	MB_OPT_RANGE("ops_scale", MB_OPT_DOUBLE, mb_suite_t, ops_scale, "1.0", 1e-6, 1e6,
		     "multiplies each workload's ops and warmup (quick runs use < 1)"),
	MB_OPT_RANGE("timeout", MB_OPT_DURATION, mb_suite_t, timeout_ns, "120s", 1e8, 864e11,
		     "a trial still running after this is killed and recorded as timeout"),
	MB_OPT_RANGE("memory_limit", MB_OPT_SIZE, mb_suite_t, memory_limit, "8GiB", 16777216,
		     1.8e19, "per-trial memory cgroup limit (RSS watchdog where no cgroup can be made); past it the trial is killed and recorded as oom"),
	MB_OPT_RANGE("sample_points", MB_OPT_UINT, mb_suite_t, sample_points, "200", 0, 100000,
		     "memory samples per trial, at fixed operation counts"),
	{ .name = "pin", .type = MB_OPT_ENUM, .off = offsetof(mb_suite_t, pin), .def = "none",
	  .values = mb_pin_names, .help = "worker thread placement with hwloc: compact fills "
	  "the PUs of one core, then the next; scatter spreads over packages, NUMA nodes, "
	  "cores" },
	{ .name = "membind", .type = MB_OPT_ENUM, .off = offsetof(mb_suite_t, membind),
	  .def = "none", .values = mb_membind_names, .help = "worker memory binding with "
	  "hwloc: local = the NUMA node of the worker's PU (needs pin), interleave = all nodes" },
	{ .name = "counters", .type = MB_OPT_STRLIST, .off = offsetof(mb_suite_t, counters),
	  .def = MB_COUNTERS_DEFAULT, .example = "[PAPI_L1_DCM, PAPI_TOT_INS, perf::PAGE-FAULTS]",
	  .help = "PAPI events (presets or native names) counted per worker over the measured "
	  "phase; `cachegrind`: simulated cache counts under valgrind (deterministic); "
	  "`off`: none. See harness/COUNTERS.md" },
	S("output", MB_OPT_STR, output, "results", "folder that gets results/<run-id>/"),
	S("memory_profile", MB_OPT_BOOL, memory_profile, "false",
	  "keep live usable bytes (internal fragmentation) in every trial: one usable_size "
	  "call per alloc and free, so ns/op includes it (analysis/METRICS.md)"),
	MB_OPT_RANGE("drain_wait", MB_OPT_DURATION, mb_suite_t, drain_wait_ns, "100ms", 0, 36e11,
		     "after the workload frees everything, RSS is read at once and again after "
		     "this wait (0: only at once)"),
	{ .name = "tunables", .type = MB_OPT_CUSTOM, .off = offsetof(mb_suite_t, tunables),
	  .parse = mb_tunables_parse, .type_doc = "mapping",
	  .example = "{je-nodecay: {allocator: jemalloc, env: {MALLOC_CONF: \"dirty_decay_ms:0\"}}}",
	  .help = "allocator variants by name: the allocator they run and environment "
		  "tunables (MALLOC_CONF, MIMALLOC_*, TCMALLOC_*, SPAN_*); a registry name as key "
		  "tunes that allocator itself" },
	MB_OPT_END,
};
#undef S

/* The node of item i of a list key (or the key's scalar), for error positions. */
static yaml_node_t *item_node(yaml_document_t *doc, yaml_node_t *root, const char *key,
			      size_t i)
{
	yaml_node_t *n = mb_yaml_get(doc, root, key);
	if (n && n->type == YAML_SEQUENCE_NODE &&
	    n->data.sequence.items.start + i < n->data.sequence.items.top)
		return yaml_document_get_node(doc, n->data.sequence.items.start[i]);
	return n;
}

/* `counters:` is a list of event names, or one of the words cachegrind / off. */
static void check_counters(mb_yctx_t *y, mb_suite_t *s, yaml_node_t *root)
{
	s->counters_mode = MB_COUNTERS_PAPI;
	for (size_t i = 0; i < s->counters.n; i++) {
		const char *c = s->counters.v[i];
		int word = !strcmp(c, "cachegrind") ? MB_COUNTERS_CACHEGRIND :
			   !strcmp(c, "off") ? MB_COUNTERS_OFF : -1;
		yaml_node_t *n = item_node(y->doc, root, "counters", i);
		if (word >= 0 && s->counters.n > 1)
			mb_yerr(y, n, "counters: '%s' stands alone (counters: %s), not in a list of "
				"events", c, c);
		else if (word >= 0)
			s->counters_mode = word;
		else if (strchr(c, ',') || strchr(c, ' '))
			mb_yerr(y, n, "counters: '%s' is not an event name (one event per item)", c);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c, s->counters.v[j]))
				mb_yerr(y, n, "counters: '%s' is listed twice", c);
	}
	if (s->counters.n == 0)
		s->counters_mode = MB_COUNTERS_OFF;
	if (s->counters.n > MB_COUNTERS_MAX)
		mb_yerr(y, mb_yaml_get(y->doc, root, "counters"), "counters: at most %d events "
			"(got %zu)", MB_COUNTERS_MAX, s->counters.n);
	char vg[4096];
	if (s->counters_mode == MB_COUNTERS_CACHEGRIND && mb_cachegrind_valgrind(vg, sizeof(vg)))
		mb_yerr(y, mb_yaml_get(y->doc, root, "counters"), "counters: cachegrind needs "
			"valgrind on PATH (Debian package valgrind)");
#ifdef MB_SANITIZER
	/* ASan and TSan runtimes do not start under valgrind (UBSan does). A
	 * sanitizer build's results are for debugging only, so its suites run
	 * on without counters rather than fail: a warning, not an error. */
	if (s->counters_mode == MB_COUNTERS_CACHEGRIND && strcmp(MB_SANITIZER, "undefined")) {
		yaml_node_t *n = mb_yaml_get(y->doc, root, "counters");
		fprintf(y->err ? y->err : stderr, "%s:%zu:%zu: warning: counters: cachegrind cannot "
			"run this " MB_SANITIZER " sanitizer build under valgrind; counting nothing "
			"(build with `make` for the cache simulation)\n", y->file,
			n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1);
		s->counters_mode = MB_COUNTERS_OFF;
	}
#endif
	if (s->membind == MB_MEMBIND_LOCAL && s->pin == MB_PIN_NONE)
		mb_yerr(y, mb_yaml_get(y->doc, root, "membind"), "membind: local binds each worker's "
			"memory to the NUMA node of its PU, so it needs pin: compact or scatter");
}

static void resolve_workloads(mb_yctx_t *y, mb_suite_t *s, yaml_node_t *root,
			      const char *wl_dir)
{
	yaml_document_t *doc = y->doc;
	s->wl = calloc(s->workloads.n ? s->workloads.n : 1, sizeof(*s->wl));
	for (size_t i = 0; i < s->workloads.n; i++) {
		const char *ref = s->workloads.v[i];
		char *path = mb_workload_resolve(ref, s->path, wl_dir);
		if (!path) {
			mb_yerr(y, item_node(doc, root, "workloads", i),
				"workloads: no workload '%s' (looked for %s/%s.yaml; "
				"`membench list workloads` shows them)", ref, wl_dir, ref);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ref, s->workloads.v[j]))
				mb_yerr(y, item_node(doc, root, "workloads", i),
					"workloads: '%s' is listed twice", ref);
		/* errors inside the workload file are reported against that file */
		mb_yctx_t wy = {.err = y->err};
		mb_workload_t *w = mb_workload_load(&wy, path);
		if (!w)
			y->errors += wy.errors;
		else
			s->wl[s->nwl++] = w;
		free(path);
	}
}

static void resolve_allocators(mb_yctx_t *y, mb_suite_t *s, yaml_node_t *root)
{
	s->al = calloc(s->allocators.n ? s->allocators.n : 1, sizeof(*s->al));
	for (size_t i = 0; i < s->allocators.n; i++) {
		const char *ref = s->allocators.v[i], *why;
		yaml_node_t *n = item_node(y->doc, root, "allocators", i);
		int rc = mb_allocator_resolve(ref, &s->tunables, &s->al[s->nal], &why);
		char pwhy[1024];
		if (rc == 0) {
			/* load it now, as a trial will: a refused plug-in or a rejected
			 * tunable stops the suite here, not mid-run */
			json_t *info = mb_allocator_probe(&s->al[s->nal], false, pwhy, sizeof(pwhy));
			if (!info) {
				mb_yerr(y, n, "allocators: '%s': %s", ref, pwhy);
				continue;
			}
			json_decref(info);
			for (size_t j = 0; j < s->nal; j++)
				if (!strcmp(s->al[j].name, s->al[s->nal].name))
					mb_yerr(y, n, "allocators: '%s' is listed twice", ref);
			s->nal++;
			continue;
		}
		if (why) {
			mb_yerr(y, n, "allocators: '%s' is not available: %s (Debian package: %s)",
				ref, why, s->al[s->nal].reg ? s->al[s->nal].reg->package : "-");
			continue;
		}
		const char *names[32];
		size_t nn = 0;
		for (const mb_allocator_t *al = mb_allocators; al->name && nn < 32; al++)
			names[nn++] = al->name;
		mb_yerr_unknown(y, n, "allocators", "allocator", ref, names, nn,
				"; or a path to a .so");
	}
}

mb_suite_t *mb_suite_load(mb_yctx_t *y, const char *path, const char *wl_dir)
{
	yaml_document_t doc;
	int before = y->errors;
	if (mb_yaml_load_file(y, path, &doc))
		return NULL;
	mb_suite_t *s = calloc(1, sizeof(*s));
	s->path = strdup(path);
	mb_opt_defaults(mb_suite_options, s);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	mb_opt_apply(y, mb_suite_options, NULL, root, s, true);
	if (!s->name)
		s->name = mb_path_stem(path);
	if (root->type == YAML_MAPPING_NODE) {
		check_counters(y, s, root);
		resolve_allocators(y, s, root);
		/* workload files are parsed after this document's errors are out */
		y->file = path;
		resolve_workloads(y, s, root, wl_dir);
	}
	yaml_document_delete(&doc);
	y->doc = NULL;
	if (y->errors != before) {
		mb_suite_free(s);
		return NULL;
	}
	return s;
}

void mb_suite_free(mb_suite_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nwl; i++)
		mb_workload_free(s->wl[i]);
	free(s->wl);
	free(s->al);
	free(s->path);
	mb_opt_free(mb_suite_options, s);
	free(s);
}
