/*
 * The cachegrind mode's pieces that need no valgrind run: the simulated
 * geometry derived from hwloc's caches, the valgrind command line, and the
 * parser of callgrind's totals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cachegrind.h"

/* A synthetic machine exported to XML with associativities filled in (the
 * synthetic syntax has none): L1d 48 KiB 12-way (64 sets, valgrind takes it
 * as is), L3 30 MiB 20-way (24576 sets, not a power of two). */
static void xml_topology(mb_topo_t *tp, char *path)
{
	hwloc_topology_t t;
	hwloc_topology_init(&t);
	assert_int_equal(hwloc_topology_set_synthetic(t, "pack:1 numa:1 l3:1(size=30MiB) core:2 "
							  "l1d:1(size=48KiB) pu:1"), 0);
	assert_int_equal(hwloc_topology_load(t), 0);
	hwloc_obj_t o = NULL;
	while ((o = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_L1CACHE, o)))
		o->attr->cache.associativity = 12;
	while ((o = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_L3CACHE, o)))
		o->attr->cache.associativity = 20;
	strcpy(path, "/tmp/mb-topo-XXXXXX.xml");
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(hwloc_topology_export_xml(t, path, 0), 0);
	hwloc_topology_destroy(t);
	char err[256];
	assert_int_equal(mb_topo_open(tp, path, err, sizeof(err)), 0);
}

static void geometry_follows_hwloc_with_power_of_two_sets(void **state)
{
	mb_topo_t tp;
	char path[64];
	xml_topology(&tp, path);
	mb_cg_geom_t g;
	mb_cachegrind_geom(&tp, &g);
	assert_true(g.d1.have);
	assert_int_equal(g.d1.size, 48 * 1024);
	assert_int_equal(g.d1.ways, 12);
	assert_int_equal(g.d1.line, 64);

	assert_true(g.ll.have);
	assert_int_equal(g.ll.level, 3);
	assert_int_equal(g.ll.real_size, 30ull << 20);
	assert_int_equal(g.ll.real_ways, 20);
	unsigned long long sets = g.ll.size / ((unsigned long long)g.ll.line * (unsigned)g.ll.ways);
	assert_int_equal(sets * g.ll.line * (unsigned)g.ll.ways, g.ll.size);
	assert_int_equal(sets & (sets - 1), 0);   /* a power of two */
	assert_int_equal(sets, 16384);            /* 24576 rounded down */
	assert_true(g.ll.size >= g.ll.real_size); /* ways raised to cover it: 30 */
	assert_int_equal(g.ll.ways, 30);

	/* no instruction cache in this topology: valgrind detects its own */
	assert_false(g.i1.have);

	const char *argv[16];
	char store[8192];
	int n = mb_cachegrind_argv(&g, "/tmp/out.cg", argv, store, sizeof(store));
	if (n < 0)
		skip(); /* no valgrind installed */
	int d1 = 0, ll = 0, i1 = 0;
	for (int i = 0; i < n; i++) {
		d1 |= !strcmp(argv[i], "--D1=49152,12,64");
		ll |= !strcmp(argv[i], "--LL=31457280,30,64");
		i1 |= !strncmp(argv[i], "--I1=", 5);
	}
	assert_true(d1 && ll && !i1);
	assert_null(argv[n]);
	mb_topo_close(&tp);
	unlink(path);
}

static void unknown_associativity_leaves_the_level_to_valgrind(void **state)
{
	mb_topo_t tp;
	char err[256];
	assert_int_equal(mb_topo_open(&tp, "pack:1 l2:1(size=1MiB) l1d:1(size=32KiB) pu:1", err,
				      sizeof(err)), 0);
	mb_cache_geom_t c;
	assert_int_equal(mb_topo_cache(&tp, 0, &c), 2); /* the last level is L2 here */
	assert_int_equal(c.size, 1 << 20);
	mb_cg_geom_t g;
	mb_cachegrind_geom(&tp, &g);
	assert_false(g.d1.have);
	assert_false(g.ll.have);
	assert_non_null(strstr(g.d1.note, "valgrind's own"));
	mb_topo_close(&tp);
}

static void parses_callgrind_totals(void **state)
{
	char path[] = "/tmp/mb-cg-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	/* as callgrind writes it: trailing zero columns left out */
	fputs("# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\n"
	      "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n"
	      "fn=(1) main\n0 5 1 1\nsummary: 1000 200 100 3 40 20 2\n"
	      "totals: 999 200 100 3 40 20 2\n", f);
	fclose(f);
	mb_cg_totals_t t;
	char err[256];
	assert_int_equal(mb_cachegrind_parse(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t.v[MB_CG_IR], 1000);
	assert_int_equal(t.v[MB_CG_D1MR], 40);
	assert_int_equal(t.v[MB_CG_D1MW], 20);
	assert_int_equal(t.v[MB_CG_ILMR], 2);
	assert_int_equal(t.v[MB_CG_DLMW], 0);

	/* the merged result: simulated, per op, timing flagged */
	mb_cg_geom_t g;
	memset(&g, 0, sizeof(g));
	g.ll.have = 1, g.ll.level = 3;
	json_t *r = json_pack("{s:I, s:f}", "ops", (json_int_t)10, "ns_per_op", 5.0);
	mb_cachegrind_merge(r, &t, &g, NULL);
	json_t *c = json_object_get(r, "counters");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "PAPI_L1_DCM"),
							    "value")), 60);
	assert_true(json_real_value(json_object_get(json_object_get(c, "PAPI_TOT_INS"), "per_op"))
		    == 100.0);
	assert_true(json_is_true(json_object_get(json_object_get(c, "PAPI_L3_TCM"), "simulated")));
	assert_true(json_is_null(json_object_get(r, "ns_per_op")));
	assert_true(json_is_false(json_object_get(r, "timing_meaningful")));
	json_decref(r);

	/* no cache simulation: refused, not zeros */
	f = fopen(path, "w");
	fputs("events: Ir\nsummary: 1000\n", f);
	fclose(f);
	assert_int_equal(mb_cachegrind_parse(path, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cache-sim"));
	unlink(path);
	assert_int_equal(mb_cachegrind_parse(path, &t, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(geometry_follows_hwloc_with_power_of_two_sets),
		cmocka_unit_test(unknown_associativity_leaves_the_level_to_valgrind),
		cmocka_unit_test(parses_callgrind_totals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
