/*
 * `membench sizeclasses`: prints size-class tables in Go's comment format and,
 * for a workload, the internal fragmentation and tail waste its allocation
 * sizes would see under each table, side by side. The arithmetic is
 * analysis/sizeclasses.c; this file finds the tables (built in, a plug-in's
 * class_stats through `membench probe`, a file) and the workload's sizes.
 *
 * A workload's sizes are its real allocation stream: the pattern runs here, on
 * one thread, against a counting allocator (plain malloc underneath), for
 * --ops operations. Allocations that stay in a stack frame (MB_LOCAL) never
 * reach a size class and are counted apart.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocators.h"
#include "cli.h"
#include "sizeclasses.h"
#include "tape.h"
#include "workload.h"

#define MAX_TABLES 8

/* --- the counting allocator: a histogram of requested sizes ----------------- */

#define HIST_BITS 16
typedef struct hist_slot {
	uint64_t size, count; /* count 0: empty */
} hist_slot_t;

static hist_slot_t *hist;  /* 1 << HIST_BITS slots, open addressing */
static uint64_t hist_used, hist_overflow, local_allocs, heap_allocs;

static void hist_add(uint64_t size)
{
	uint64_t mask = (1u << HIST_BITS) - 1, i = (size * 0x9e3779b97f4a7c15ull) >> (64 - HIST_BITS);
	for (;; i = (i + 1) & mask) {
		if (hist[i].count && hist[i].size == size) {
			hist[i].count++;
			return;
		}
		if (!hist[i].count) {
			if (hist_used * 4 >= 3ull << HIST_BITS) { /* full: count it, lose the size */
				hist_overflow++;
				return;
			}
			hist[i] = (hist_slot_t){size, 1};
			hist_used++;
			return;
		}
	}
}

static int cnt_init(void)
{
	return 0;
}

static void *cnt_malloc(size_t size, unsigned flags)
{
	if (flags & MB_LOCAL) {
		local_allocs++;
	} else {
		heap_allocs++;
		hist_add(size);
	}
	return malloc(size ? size : 1);
}

static void cnt_free(void *p, size_t size)
{
	free(p);
}

static void *cnt_realloc(void *p, size_t old_size, size_t new_size)
{
	hist_add(new_size);
	heap_allocs++;
	return realloc(p, new_size);
}

static size_t cnt_usable(void *p)
{
	return 0;
}

static void *cnt_stack_alloc(size_t size)
{
	return malloc(size);
}

static void cnt_stack_free(void *p, size_t size)
{
	free(p);
}

static const mb_alloc_ops_t counting = {
	.abi_version = MB_ALLOC_ABI_VERSION, .name = "count", .init = cnt_init,
	.malloc = cnt_malloc, .free = cnt_free, .realloc = cnt_realloc,
	.usable_size = cnt_usable, .stack_alloc = cnt_stack_alloc,
	.stack_free = cnt_stack_free,
};

/* Runs the workload's pattern for nops operations on one thread and fills the
 * histogram. Returns 0 or -1 (message printed). */
static int sample_workload(const mb_workload_t *wl, uint64_t nops)
{
	hist = calloc(1u << HIST_BITS, sizeof(*hist));
	mb_run_t run = {.pattern = wl->pattern, .alloc = &counting, .params = wl->params,
			.nthreads = 1, .seed = wl->seed ? wl->seed : 42,
			.escape_analysis = wl->escape_analysis,
			.phase_params = wl->phase_params, .nphases = wl->nphases};
	mb_worker_t *w = calloc(1, sizeof(*w));
	mb_worker_t *ws[1] = {w};
	run.workers = ws;
	w->run = &run;
	w->alloc = &counting;
	w->params = run.params; /* the first phase's, as a trial starts */
	mb_opstats_start(w, false);
	mb_rng_seed(&w->rng, run.seed, 0);
	int rc = run.pattern->setup ? run.pattern->setup(&run) : 0;
	mb_tape_t tape = {0};
	if (!rc && !(rc = run.pattern->thread_init(w)) &&
	    !(rc = run.pattern->taped ? mb_tape_init(&tape) : 0)) {
		mb_tape_run_ops(w, &tape, nops);
		mb_tape_run_drain(w, &tape);
		mb_tape_fini(&tape);
		if (run.pattern->thread_fini)
			run.pattern->thread_fini(w);
	}
	if (run.pattern->teardown)
		run.pattern->teardown(&run);
	free(w);
	if (rc) {
		fprintf(stderr, "membench sizeclasses: workload %s: the pattern failed to start: %s\n",
			wl->name, strerror(-rc));
		return -1;
	}
	return 0;
}

/* --- tables --------------------------------------------------------------- */

/* The class table of a registry allocator, through its plug-in's class_stats.
 * Returns 0, 1 when it has none (not installed, or no class_stats), -1 on error. */
static int table_from_allocator(sc_table_t *t, const char *name, int quiet)
{
	mb_alloc_ref_t r;
	const char *why;
	char pwhy[1024];
	if (mb_allocator_resolve(name, NULL, &r, &why)) {
		if (!quiet)
			fprintf(stderr, "membench sizeclasses: no table '%s': %s\n", name,
				why ? why : "not go, a file, or an allocator");
		return quiet ? 1 : -1;
	}
	json_t *info = mb_allocator_probe(&r, true, pwhy, sizeof(pwhy));
	json_t *cls = info ? json_object_get(info, "classes") : NULL;
	if (!json_array_size(cls)) {
		if (!quiet)
			fprintf(stderr, "membench sizeclasses: %s: %s\n", name,
				info ? "the plug-in has no per-size-class view (class_stats)" : pwhy);
		json_decref(info);
		return quiet ? 1 : -1;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->page = (uint64_t)sysconf(_SC_PAGESIZE);
	t->v = calloc(json_array_size(cls), sizeof(*t->v));
	t->n = 0;
	size_t i;
	json_t *c;
	json_array_foreach(cls, i, c) {
		uint64_t size = (uint64_t)json_integer_value(json_object_get(c, "size"));
		uint64_t span = (uint64_t)json_integer_value(json_object_get(c, "span_bytes"));
		/* span classes come in scan/noscan pairs of one size: keep one */
		if (size && span >= size && (!t->n || size > t->v[t->n - 1].size))
			t->v[t->n++] = (sc_class_t){size, span};
	}
	json_decref(info);
	return 0;
}

static int table_get(sc_table_t *t, const char *spec)
{
	if (!strcmp(spec, "go"))
		return sc_table_go(t);
	if (strchr(spec, '/') || strchr(spec, '.')) {
		char err[600];
		if (sc_table_load(t, spec, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
		return 0;
	}
	return table_from_allocator(t, spec, 0);
}

static void print_expect(const sc_table_t *tabs, size_t nt, const mb_workload_t *wl,
			 uint64_t nops)
{
	printf("workload %s: %llu operations sampled, %llu heap allocations (%llu distinct "
	       "sizes), %llu stayed in stack frames\n", wl->name, (unsigned long long)nops,
	       (unsigned long long)heap_allocs, (unsigned long long)hist_used,
	       (unsigned long long)local_allocs);
	if (hist_overflow)
		printf("  (%llu allocations of sizes beyond the histogram's capacity not counted)\n",
		       (unsigned long long)hist_overflow);
	printf("  internal = (class size - requested) / requested; tail = span tail waste per "
	       "object / requested;\n  large = allocations above the table's largest class "
	       "(not in the other columns)\n\n");
	printf("  %-12s %7s %12s %10s %10s %10s\n", "table", "classes", "max class", "internal",
	       "tail", "large");
	for (size_t k = 0; k < nt; k++) {
		sc_expect_t e = {0};
		for (size_t i = 0; i < 1u << HIST_BITS; i++)
			if (hist[i].count)
				sc_expect_add(&e, &tabs[k], hist[i].size, hist[i].count);
		double b = e.bytes ? (double)e.bytes : 1.0;
		uint64_t all = e.allocs + e.large_allocs;
		printf("  %-12s %7zu %12llu %9.2f%% %9.2f%% %9.2f%%\n", tabs[k].name, tabs[k].n,
		       (unsigned long long)tabs[k].v[tabs[k].n - 1].size, 100.0 * (double)e.internal / b,
		       100.0 * e.tail / b, all ? 100.0 * (double)e.large_allocs / (double)all : 0.0);
	}
}

static const char usage[] =
	"usage: membench sizeclasses [--table T]... [--workload W [--ops N]]\n"
	"Prints size-class tables in Go's format (class, bytes/obj, bytes/span, objects,\n"
	"tail waste, max waste, min align). T is `go` (Go's runtime table, the default),\n"
	"an allocator whose plug-in reports its classes (`jemalloc`: read from the\n"
	"running library; `span`), or a file of `SIZE SPAN_BYTES` lines (Go's\n"
	"sizeclasses.go comment rows are accepted too).\n"
	"With --workload (a name in workloads/ or a .yaml path): the internal\n"
	"fragmentation and tail waste that workload's allocation sizes get under each\n"
	"table, side by side (default tables: go and every installed allocator that\n"
	"reports classes). --ops: operations of the workload to sample (default 200000).\n";

int mb_cmd_sizeclasses(int argc, char **argv)
{
	static const struct option opts[] = {
		{"table", required_argument, NULL, 't'}, {"workload", required_argument, NULL, 'w'},
		{"ops", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *specs[MAX_TABLES], *wref = NULL;
	size_t ns = 0;
	uint64_t nops = 200000;
	char err[160];
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (ns == MAX_TABLES)
				return fprintf(stderr, "membench sizeclasses: at most %d tables\n",
					       MAX_TABLES), 2;
			specs[ns++] = optarg;
			break;
		case 'w': wref = optarg; break;
		case 'o':
			if (mb_parse_uint(optarg, &nops, err, sizeof(err)) || !nops)
				return fprintf(stderr, "membench sizeclasses: --ops: %s\n",
					       nops ? err : "must be > 0"), 2;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc)
		return fputs(usage, stderr), 2;
	sc_table_t tabs[MAX_TABLES + 8];
	size_t nt = 0;
	int rc = 0;
	if (ns == 0) {
		if (sc_table_go(&tabs[nt++]))
			return 2;
		/* with a workload: every allocator that can tell its classes */
		for (const mb_allocator_t *a = mb_allocators; wref && a->name; a++)
			if (strcmp(a->name, "generic") && table_from_allocator(&tabs[nt], a->name, 1) == 0)
				nt++;
	}
	for (size_t i = 0; i < ns; i++) {
		if (table_get(&tabs[nt], specs[i])) {
			rc = 2;
			break;
		}
		nt++;
	}
	if (!rc && !wref) {
		for (size_t i = 0; i < nt; i++) {
			printf("%s// size classes: %s\n", i ? "\n" : "", tabs[i].name);
			sc_print(stdout, &tabs[i]);
		}
	} else if (!rc) {
		char *path = mb_workload_resolve(wref, NULL, "workloads");
		mb_yctx_t y = {0};
		mb_workload_t *wl = path ? mb_workload_load(&y, path) : NULL;
		if (!path)
			fprintf(stderr, "membench sizeclasses: no workload '%s' (looked for "
				"workloads/%s.yaml)\n", wref, wref);
		if (!wl || sample_workload(wl, nops))
			rc = 2;
		else
			print_expect(tabs, nt, wl, nops);
		mb_workload_free(wl);
		free(path);
		free(hist);
	}
	for (size_t i = 0; i < nt; i++)
		sc_table_free(&tabs[i]);
	return rc;
}
