/*
 * The read-only subcommands: validate, list, docs.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "allocators.h"
#include "cachegrind.h"
#include "cli.h"
#include "config.h"
#include "counters.h"

int mb_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

/* A file is a workload when its root mapping has `pattern:`, else a suite. */
static int is_workload_file(const char *path)
{
	mb_yctx_t y = {.err = fopen("/dev/null", "w")};
	yaml_document_t doc;
	int wl = 0;
	if (mb_yaml_load_file(&y, path, &doc) == 0) {
		wl = mb_yaml_get(&doc, yaml_document_get_root_node(&doc), "pattern") != NULL;
		yaml_document_delete(&doc);
	}
	fclose(y.err);
	return wl;
}

static const char validate_usage[] =
	"usage: membench validate [--workloads DIR] FILE...\n"
	"Checks suite configs and workload files (a file with `pattern:` is a workload),\n"
	"and every workload and allocator a suite names. Each problem is printed as\n"
	"file:line:column: message. Exit: 0 all valid, 2 any error.\n";

int mb_cmd_validate(int argc, char **argv)
{
	const char *wl_dir = "workloads";
	static const struct option opts[] = {{"workloads", required_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'w')
			wl_dir = optarg;
		else if (c == 'h')
			return fputs(validate_usage, stdout), 0;
		else
			return fputs(validate_usage, stderr), 2;
	}
	if (optind == argc)
		return fputs(validate_usage, stderr), 2;
	int errors = 0;
	for (int i = optind; i < argc; i++) {
		mb_yctx_t y = {0};
		if (is_workload_file(argv[i])) {
			mb_workload_t *w = mb_workload_load(&y, argv[i]);
			if (w)
				printf("%s: ok (workload '%s', pattern %s)\n", argv[i], w->name,
				       w->pattern->name);
			mb_workload_free(w);
		} else {
			mb_suite_t *s = mb_suite_load(&y, argv[i], wl_dir);
			if (s)
				printf("%s: ok (suite '%s': %zu workloads x %zu allocators)\n", argv[i],
				       s->name, s->nwl, s->nal);
			mb_suite_free(s);
		}
		errors += y.errors;
	}
	return errors ? 2 : 0;
}

static int list_workloads(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), shown = 0;
	if (n < 0) {
		fprintf(stderr, "membench: cannot read %s\n", dir);
		return 2;
	}
	printf("workloads (%s/):\n", dir);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(ents[i]->d_name);
		if (l > 5 && !strcmp(ents[i]->d_name + l - 5, ".yaml")) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			mb_yctx_t y = {0};
			mb_workload_t *w = mb_workload_load(&y, path);
			if (w)
				printf("  %-22s %-22s %s\n", w->name, w->pattern->name,
				       w->description ? w->description : "");
			mb_workload_free(w);
			shown++;
		}
		free(ents[i]);
	}
	free(ents);
	if (!shown)
		printf("  (none)\n");
	return 0;
}

static int list_patterns(void)
{
	printf("patterns:\n");
	for (const mb_pattern_t *const *p = mb_patterns; *p; p++)
		printf("  %-22s %s\n", (*p)->name, (*p)->help);
	return 0;
}

static int list_allocators(void)
{
	printf("allocators (plug-ins in %s):\n", mb_plugin_dir());
	for (const mb_allocator_t *a = mb_allocators; a->name; a++) {
		mb_alloc_ref_t r;
		const char *why;
		if (!strcmp(a->name, "generic")) {
			printf("  %-10s %-9s %s (name any .so path in a suite)\n", a->name,
			       "available", a->help);
			continue;
		}
		int rc = mb_allocator_resolve(a->name, NULL, &r, &why);
		char pwhy[1024];
		json_t *info = rc ? NULL : mb_allocator_probe(&r, false, pwhy, sizeof(pwhy));
		printf("  %-10s %-9s %s", a->name, rc ? "missing" : info ? "available" : "broken",
		       a->help);
		if (rc && a->package[0] == '(')
			printf(" -- not built %s", a->package);
		else if (rc)
			printf(" -- install Debian package %s, then rebuild", a->package);
		else if (!info)
			printf(" -- plug-in does not load: %s", pwhy);
		else
			printf("\n             %s%s%s", r.version[0] ? r.version : "(no version)",
			       r.library[0] ? ", " : "", r.library);
		printf("\n");
		json_decref(info);
	}
	return 0;
}

static int list_counters(void)
{
	printf("counters (this machine):\n");
	mb_counters_list(stdout);
	mb_topo_t tp;
	char err[256];
	int have = mb_topo_open(&tp, NULL, err, sizeof(err)) == 0;
	mb_cachegrind_list(stdout, have ? &tp : NULL);
	if (have)
		mb_topo_close(&tp);
	return 0;
}

static const char list_usage[] =
	"usage: membench list [--workloads DIR] [workloads|patterns|allocators|counters]...\n"
	"Lists what membench can run (everything when no kind is named).\n";

int mb_cmd_list(int argc, char **argv)
{
	const char *wl_dir = "workloads";
	static const struct option opts[] = {{"workloads", required_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'w')
			wl_dir = optarg;
		else if (c == 'h')
			return fputs(list_usage, stdout), 0;
		else
			return fputs(list_usage, stderr), 2;
	}
	static const char *const all[] = {"workloads", "patterns", "allocators"};
	int n = argc - optind, rc = 0;
	for (int i = 0; i < (n ? n : 3); i++) {
		const char *what = n ? argv[optind + i] : all[i];
		if (!strcmp(what, "workloads"))
			rc |= list_workloads(wl_dir);
		else if (!strcmp(what, "patterns"))
			rc |= list_patterns();
		else if (!strcmp(what, "allocators"))
			rc |= list_allocators();
		else if (!strcmp(what, "counters"))
			rc |= list_counters();
		else
			return fprintf(stderr, "membench list: nothing called '%s'\n%s", what,
				       list_usage), 2;
	}
	return rc;
}

static const char docs_usage[] =
	"usage: membench docs suite|workload|patterns\n"
	"Prints a schema as Markdown, generated from the option tables the loader uses\n"
	"(configs/README.md and workloads/README.md carry this text; a test checks it).\n";

int mb_cmd_docs(int argc, char **argv)
{
	if (mb_wants_help(argc, argv))
		return fputs(docs_usage, stdout), 0;
	if (argc != 2)
		return fputs(docs_usage, stderr), 2;
	if (!strcmp(argv[1], "suite")) {
		mb_opt_markdown(stdout, mb_suite_options);
	} else if (!strcmp(argv[1], "workload")) {
		mb_opt_markdown(stdout, mb_workload_options);
		printf("\nEach entry of `phases:`:\n\n");
		mb_opt_markdown(stdout, mb_phase_options);
	} else if (!strcmp(argv[1], "patterns")) {
		for (const mb_pattern_t *const *p = mb_patterns; *p; p++) {
			printf("### `%s` params\n\n%s.\n\n", (*p)->name, (*p)->help);
			mb_opt_markdown(stdout, (*p)->options);
			printf("\n");
		}
	} else {
		return fputs(docs_usage, stderr), 2;
	}
	return 0;
}
