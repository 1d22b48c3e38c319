/*
 * Workload files: loading and checking. See workload.h and workloads/README.md.
 */
#include "workload.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	  .required = true, .ranged = true, .min = 1, .max = 1e15,
	  .help = "measured operations, all threads together", .example = "2_000_000" },
	MB_OPT_RANGE("warmup", MB_OPT_UINT, mb_workload_t, warmup, "0", 0, 1e15,
		     "operations run before measuring (not timed)"),
	W("seed", MB_OPT_UINT, seed, "0", "seed of the operation stream (0: the suite's)"),
	W("escape_analysis", MB_OPT_BOOL, escape_analysis, "true",
	  "off: every allocation escapes to the heap, as if Go had no escape analysis"),
	MB_OPT_END,
};
#undef W

/* Keys this file handles itself (the pattern's params). */
static const mb_option_t wl_extra[] = {
	{ .name = "params", .type = MB_OPT_CUSTOM, .help = "the pattern's parameters",
	  .type_doc = "mapping" },
	MB_OPT_END,
};

static char *basename_noext(const char *path)
{
	char *copy = strdup(path), *b = basename(copy), *dot = strrchr(b, '.');
	if (dot)
		*dot = 0;
	char *r = strdup(b);
	free(copy);
	return r;
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
		w->name = basename_noext(path);
	if (w->pattern_name) {
		w->pattern = mb_pattern_find(w->pattern_name);
		if (!w->pattern) {
			char known[512] = "";
			const char *names[64];
			size_t n = 0;
			for (const mb_pattern_t *const *p = mb_patterns; *p && n < 64; p++) {
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
					 n ? ", " : "", (*p)->name);
				names[n++] = (*p)->name;
			}
			const char *near = mb_closest(w->pattern_name, names, n);
			yaml_node_t *pn = mb_yaml_get(&doc, root, "pattern");
			if (near)
				mb_yerr(y, pn, "pattern: no pattern named '%s' (did you mean '%s'?)",
					w->pattern_name, near);
			else
				mb_yerr(y, pn, "pattern: no pattern named '%s' (known: %s)",
					w->pattern_name, known);
		}
	}
	if (w->pattern) {
		w->params = calloc(1, w->pattern->params_size);
		if (mb_opt_defaults(w->pattern->options, w->params))
			mb_yerr(y, root, "internal: a default of pattern '%s' does not parse",
				w->pattern->name);
		yaml_node_t *pn = mb_yaml_get(&doc, root, "params");
		if (pn)
			mb_opt_apply(y, w->pattern->options, NULL, pn, w->params, true);
		else
			for (const mb_option_t *o = w->pattern->options; o->name; o++)
				if (o->required)
					mb_yerr(y, root, "params: missing required key '%s' for pattern '%s'",
						o->name, w->pattern->name);
		if (y->errors == before && w->pattern->validate)
			w->pattern->validate(y, pn ? pn : root, w->params);
	}
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
	if (w->pattern && w->params) {
		/* distributions own heap tables: free custom dist fields too */
		for (const mb_option_t *o = w->pattern->options; o->name; o++)
			if (o->type == MB_OPT_CUSTOM && o->parse == mb_dist_parse)
				mb_dist_free((mb_dist_t *)((char *)w->params + o->off));
		mb_opt_free(w->pattern->options, w->params);
	}
	free(w->params);
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
