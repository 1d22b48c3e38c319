/*
 * membench: the command line. One binary, one table of subcommands; each
 * subcommand parses its own options and answers --help.
 * Exit status (every subcommand): 0 good, 1 some trial failed or a regression,
 * 2 usage or config error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define MB_VERSION "0.1.0"

static int cmd_help(int argc, char **argv);

static const mb_cmd_t commands[] = {
	{"run", mb_cmd_run, "run a suite config; every trial in its own process", 0},
	{"report", mb_cmd_report, "plots, report.html and report.md for a results folder", 0},
	{"compare", mb_cmd_compare, "compare two results folders; exit 1 on a significant regression", 0},
	{"history", mb_cmd_history, "trends across runs from results/history.sqlite; step changes", 0},
	{"validate", mb_cmd_validate, "check suite and workload files; exit 2 on any error", 0},
	{"list", mb_cmd_list, "list workloads, patterns, allocators, counters", 0},
	{"topology", mb_cmd_topology, "describe this machine (hwloc): packages, cores, caches, NUMA", 0},
	{"docs", mb_cmd_docs, "print the YAML schemas as Markdown (from the option tables)", 0},
	{"sizeclasses", mb_cmd_sizeclasses, "size-class tables (Go, jemalloc, a file) and their waste", 0},
	{"trial", mb_cmd_trial, "internal: run one trial in this process", 1},
	{"probe", mb_cmd_probe, "internal: load an allocator plug-in and describe it", 1},
	{"help", cmd_help, "this text", 0},
	{NULL, NULL, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f, "membench %s: memory benchmarking under Go-like allocation patterns\n\n"
		   "usage: membench COMMAND [options] [args]   (membench COMMAND --help)\n\n",
		MB_VERSION);
	for (const mb_cmd_t *c = commands; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fprintf(f, "\nexit status: 0 good, 1 some trial failed or a regression, "
		   "2 usage or config error\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("membench %s\n", MB_VERSION);
		return 0;
	}
	for (const mb_cmd_t *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[1]))
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "membench: no command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
