/*
 * Workload files: loading and checking. See workload.h and workloads/README.md.
 */
#include "workload.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const gc_modes[] = {"off", "paced", NULL};

#define W(nm, ty, f, dflt, hlp) MB_OPT(nm, ty, mb_workload_t, f, dflt, hlp)
const mb_option_t mb_workload_options[] = {
	W("name", MB_OPT_STR, name, NULL, "workload name (default: the file name)"),
	W("description", MB_OPT_STR, description, NULL, "one line for listings and reports"),
	{ .name = "pattern", .type = MB_OPT_STR, .off = offsetof(mb_workload_t, pattern_name),
	  .required = true, .help = "the pattern kernel (`membench list patterns`)",
	  .example = "churn" },
	MB_OPT_RANGE("threads", MB_OPT_UINT, mb_workload_t, threads, "1", 1, 1024,
		     "worker threads (a suite's `threads:` overrides it)"),
	{ .name = "ops", .type = MB_OPT_UINT, .off = offsetof(mb_workload_t, ops),
	  .ranged = true, .min = 1, .max = 1e15,
	  .help = "measured operations, all threads together (default with `phases:`: "
		  "the sum of theirs; required without)", .example = "2_000_000" },
	MB_OPT_RANGE("warmup", MB_OPT_UINT, mb_workload_t, warmup, "0", 0, 1e15,
		     "operations run before measuring (not timed)"),
	W("seed", MB_OPT_UINT, seed, "0", "seed of the operation stream (0: the suite's)"),
	{ .name = "duration", .type = MB_OPT_DURATION, .off = offsetof(mb_workload_t, duration),
	  .example = "10s",
	  .help = "measure for about this long instead of `ops`: the ops are set from the "
		  "warm-up's rate (needs warmup > 0; the op stream then differs between "
		  "allocators, so compare allocators with ops)" },
	W("escape_analysis", MB_OPT_BOOL, escape_analysis, "true",
	  "off: every allocation escapes to the heap, as if Go had no escape analysis"),
	{ .name = "cross_thread_frees", .type = MB_OPT_DOUBLE,
	  .off = offsetof(mb_workload_t, cross_thread), .def = "0", .ranged = true, .min = 0,
	  .max = 1, .example = "0.25",
	  .help = "fraction of dead objects freed by the next worker thread (in batches "
		  "taken at the next chunk), as Go's GC frees from any P" },
	{ .name = "gc", .type = MB_OPT_ENUM, .off = offsetof(mb_workload_t, gc), .def = "off",
	  .values = gc_modes, .example = "paced",
	  .help = "off: an object is freed when it dies; paced: dead objects wait and are "
		  "freed in one batch when the thread's heap (live + dead) reaches "
		  "live-after-last-GC * (1 + gogc/100)" },
	MB_OPT_RANGE("gogc", MB_OPT_UINT, mb_workload_t, gogc, "100", 1, 100000,
		     "GOGC for `gc: paced`, percent"),
	MB_OPT_END,
};
#undef W

static const char *const phase_ends[] = {"keep", "drain", NULL};

/* A phase's `params:` is applied by load_params with the pattern's table; here
 * only its shape is checked. */
static int parse_mapping(mb_yctx_t *y, yaml_node_t *n, void *field, const mb_option_t *o)
{
	if (n->type == YAML_MAPPING_NODE)
		return 0;
	mb_yerr(y, n, "%s: expected a mapping", o->name);
	return -1;
}

#define P(nm, ty, f, dflt, hlp) MB_OPT(nm, ty, mb_phase_t, f, dflt, hlp)
const mb_option_t mb_phase_options[] = {
	{ .name = "name", .type = MB_OPT_STR, .off = offsetof(mb_phase_t, name),
	  .help = "phase name, in results (default: phase<N>)", .example = "steady" },
	{ .name = "ops", .type = MB_OPT_UINT, .off = offsetof(mb_phase_t, ops), .required = true,
	  .ranged = true, .min = 1, .max = 1e15, .example = "1_000_000",
	  .help = "the phase's operations; the measured ops (after ops_scale) are split "
		  "between phases in proportion" },
	{ .name = "params", .type = MB_OPT_CUSTOM, .type_doc = "mapping",
	  .example = "{size: 64}", .parse = parse_mapping,
	  .help = "the pattern's params for this phase, on top of the workload's `params:`" },
	{ .name = "end", .type = MB_OPT_ENUM, .off = offsetof(mb_phase_t, end), .def = "keep",
	  .values = phase_ends, .example = "drain",
	  .help = "keep: live objects carry into the next phase; drain: everything is freed "
		  "at the phase's end (its last sample shows what the allocator still holds)" },
	MB_OPT_END,
};
#undef P

/* Keys this file handles itself (the pattern's params). */
static const mb_option_t wl_extra[] = {
	{ .name = "params", .type = MB_OPT_CUSTOM, .help = "the pattern's parameters",
	  .type_doc = "mapping" },
	{ .name = "phases", .type = MB_OPT_CUSTOM, .help = "phases", .type_doc = "list" },
	MB_OPT_END,
};

/* The params of one phase: defaults, then the workload's params, then the
 * phase's. Returns the struct, or NULL after reporting errors. */
static void *load_params(mb_yctx_t *y, const mb_pattern_t *pat, yaml_node_t *base,
			 yaml_node_t *over, yaml_node_t *at)
{
	int before = y->errors;
	void *params = calloc(1, pat->params_size);
	if (mb_opt_defaults(pat->options, params))
		mb_yerr(y, at, "internal: a default of pattern '%s' does not parse", pat->name);
	if (base)
		mb_opt_apply(y, pat->options, NULL, base, params, !over);
	if (over)
		mb_opt_apply(y, pat->options, NULL, over, params, false);
	if (!base && !over)
		for (const mb_option_t *o = pat->options; o->name; o++)
			if (o->required)
				mb_yerr(y, at, "params: missing required key '%s' for pattern '%s'",
					o->name, pat->name);
	if (y->errors == before && pat->validate)
		pat->validate(y, over ? over : base ? base : at, params);
	return params;
}

void mb_workload_params_free(const mb_pattern_t *pat, void *params)
{
	if (!params)
		return;
	/* distributions own heap tables: free custom dist fields too */
	for (const mb_option_t *o = pat->options; o->name; o++)
		if (o->type == MB_OPT_CUSTOM && o->parse == mb_dist_parse)
			mb_dist_free((mb_dist_t *)((char *)params + o->off));
	if (pat->params_free)
		pat->params_free(params);
	mb_opt_free(pat->options, params);
	free(params);
}

static void load_phases(mb_yctx_t *y, yaml_document_t *doc, yaml_node_t *root,
			mb_workload_t *w)
{
	yaml_node_t *pn = mb_yaml_get(doc, root, "params");
	yaml_node_t *ph = mb_yaml_get(doc, root, "phases");
	if (ph && (ph->type != YAML_SEQUENCE_NODE ||
		   ph->data.sequence.items.top == ph->data.sequence.items.start)) {
		mb_yerr(y, ph, "phases: expected a non-empty list of phases");
		return;
	}
	unsigned n = ph ? (unsigned)(ph->data.sequence.items.top - ph->data.sequence.items.start)
			: 1;
	w->phases = calloc(n, sizeof(*w->phases));
	w->phase_params = calloc(n, sizeof(*w->phase_params));
	w->nphases = n;
	uint64_t sum = 0;
	for (unsigned i = 0; i < n; i++) {
		mb_phase_t *p = &w->phases[i];
		yaml_node_t *item = ph ? yaml_document_get_node(doc, ph->data.sequence.items.start[i])
				       : root;
		yaml_node_t *over = NULL;
		mb_opt_defaults(mb_phase_options, p);
		if (ph) {
			if (item->type != YAML_MAPPING_NODE) {
				mb_yerr(y, item, "phases: each phase is a mapping (name, ops, params, end)");
				continue;
			}
			mb_opt_apply(y, mb_phase_options, NULL, item, p, true);
			over = mb_yaml_get(doc, item, "params");
		} else {
			p->ops = 1;
		}
		if (!p->name) {
			char nm[32];
			snprintf(nm, sizeof(nm), ph ? "phase%u" : "main", i);
			p->name = strdup(nm);
		}
		sum += p->ops;
		if (w->pattern)
			p->params = load_params(y, w->pattern, pn, over, item);
		w->phase_params[i] = p->params;
	}
	if (!mb_yaml_get(doc, root, "ops")) {
		if (ph)
			w->ops = sum;
		else if (!w->duration)
			mb_yerr(y, root, "missing required key 'ops' (or give a duration)");
	}
	if (w->duration && !w->warmup)
		mb_yerr(y, mb_yaml_get(doc, root, "duration"),
			"duration: needs warmup > 0 (the rate is measured on the warm-up)");
}

mb_workload_t *mb_workload_load(mb_yctx_t *y, const char *path)
{
	yaml_document_t doc;
	int before = y->errors;
	if (mb_yaml_load_file(y, path, &doc))
		return NULL;
	mb_workload_t *w = calloc(1, sizeof(*w));
	w->path = strdup(path);
	mb_opt_defaults(mb_workload_options, w);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	mb_opt_apply(y, mb_workload_options, wl_extra, root, w, true);
	if (!w->name)
		w->name = mb_path_stem(path);
	if (w->pattern_name) {
		w->pattern = mb_pattern_find(w->pattern_name);
		if (!w->pattern) {
			const char *names[64];
			size_t n = 0;
			for (const mb_pattern_t *const *p = mb_patterns; *p && n < 64; p++)
				names[n++] = (*p)->name;
			mb_yerr_unknown(y, mb_yaml_get(&doc, root, "pattern"), "pattern", "pattern",
					w->pattern_name, names, n, NULL);
		}
	}
	load_phases(y, &doc, root, w);
	w->params = w->nphases ? w->phases[0].params : NULL;
	yaml_document_delete(&doc);
	y->doc = NULL;
	if (y->errors != before) {
		mb_workload_free(w);
		return NULL;
	}
	return w;
}

void mb_workload_free(mb_workload_t *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->nphases; i++) {
		if (w->pattern)
			mb_workload_params_free(w->pattern, w->phases[i].params);
		mb_opt_free(mb_phase_options, &w->phases[i]);
	}
	free(w->phases);
	free(w->phase_params);
	mb_opt_free(mb_workload_options, w);
	free(w->path);
	free(w);
}

static bool is_yaml_path(const char *ref)
{
	size_t n = strlen(ref);
	return strchr(ref, '/') || (n > 5 && !strcmp(ref + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(ref + n - 4, ".yml"));
}

char *mb_workload_resolve(const char *ref, const char *suite_path, const char *dir)
{
	char buf[4096];
	if (is_yaml_path(ref)) {
		if (ref[0] == '/' || !suite_path) {
			snprintf(buf, sizeof(buf), "%s", ref);
		} else {
			char *copy = strdup(suite_path);
			snprintf(buf, sizeof(buf), "%s/%s", dirname(copy), ref);
			free(copy);
			if (access(buf, R_OK) != 0) /* also accept paths relative to the cwd */
				snprintf(buf, sizeof(buf), "%s", ref);
		}
	} else {
		snprintf(buf, sizeof(buf), "%s/%s.yaml", dir, ref);
	}
	return access(buf, R_OK) == 0 ? strdup(buf) : NULL;
}

int mb_sched_make(const mb_workload_t *wl, uint64_t ops, uint64_t samples, mb_sched_t *s)
{
	unsigned np = wl->nphases ? wl->nphases : 1;
	uint64_t wsum = 0, given = 0, chunks = 0;
	memset(s, 0, sizeof(*s));
	s->nphases = np;
	s->phase_ops = calloc(np, 8), s->first = calloc(np, 8), s->count = calloc(np, 8);
	if (!s->phase_ops || !s->first || !s->count)
		return mb_sched_free(s), -ENOMEM;
	for (unsigned p = 0; p < np; p++)
		wsum += wl->nphases ? wl->phases[p].ops : 1;
	if (samples < np)
		samples = np;
	for (unsigned p = 0; p < np; p++) {
		uint64_t wt = wl->nphases ? wl->phases[p].ops : 1;
		/* ops by weight; the last phase takes the rounding remainder */
		s->phase_ops[p] = p + 1 == np ? ops - given
					      : (uint64_t)((double)ops * (double)wt / (double)wsum);
		given += s->phase_ops[p];
		uint64_t c = (uint64_t)((double)samples * (double)wt / (double)wsum + 0.5);
		s->first[p] = chunks;
		s->count[p] = c ? c : 1;
		chunks += s->count[p];
	}
	s->nchunks = chunks;
	s->phase = calloc(chunks, sizeof(*s->phase));
	if (!s->phase)
		return mb_sched_free(s), -ENOMEM;
	for (unsigned p = 0; p < np; p++)
		for (uint64_t c = 0; c < s->count[p]; c++)
			s->phase[s->first[p] + c] = p;
	return 0;
}

void mb_sched_free(mb_sched_t *s)
{
	free(s->phase), free(s->phase_ops), free(s->first), free(s->count);
	memset(s, 0, sizeof(*s));
}

static uint64_t share(uint64_t total, uint64_t parts, uint64_t i)
{
	return total / parts + (i < total % parts);
}

int mb_workload_calibrate(const mb_workload_t *wl, uint64_t ops, uint64_t warmup,
			  uint64_t warm_ns, uint64_t samples, mb_sched_t *s)
{
	if (!wl->duration || !warmup || !warm_ns)
		return 0;
	double scale = wl->ops ? (double)ops / (double)wl->ops : 1.0;
	double n = (double)warmup / (double)warm_ns * (double)wl->duration * scale;
	/* the same samples and phases give the same chunks: only ops change */
	mb_sched_free(s);
	return mb_sched_make(wl, n < 1 ? 1 : (uint64_t)n, samples, s);
}

uint64_t mb_sched_ops(const mb_sched_t *s, uint64_t c, unsigned nthreads, unsigned tid)
{
	unsigned p = s->phase[c];
	return share(share(s->phase_ops[p], nthreads, tid), s->count[p], c - s->first[p]);
}

json_t *mb_workload_phases_json(const mb_workload_t *wl, const mb_sched_t *s,
				const uint64_t *rss, const uint64_t *live)
{
	json_t *a = json_array();
	for (unsigned p = 0; p < s->nphases; p++) {
		uint64_t row = s->first[p] + s->count[p];
		json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:I, s:I, s:I}", "name",
			wl->phases[p].name, "ops", (json_int_t)s->phase_ops[p], "end",
			wl->phases[p].end == MB_PHASE_DRAIN ? "drain" : "keep", "series_row",
			(json_int_t)row, "rss", (json_int_t)rss[row], "live_requested",
			(json_int_t)live[row]));
	}
	return a;
}
