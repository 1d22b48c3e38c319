/*
 * Topology and placement: pin decisions on a synthetic 2-package, 2-NUMA-node
 * machine, the JSON description, and a real bind on this machine.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "topology.h"

/* 2 packages, one NUMA node each, 2 cores each, 2 PUs per core: 8 PUs. */
#define SYNTH "pack:2 numa:1 core:2 pu:2"

static mb_topo_t synth(void)
{
	mb_topo_t tp;
	char err[256];
	assert_int_equal(mb_topo_open(&tp, SYNTH, err, sizeof(err)), 0);
	assert_int_equal(tp.is_this_system, 0);
	return tp;
}

static void describes_the_synthetic_machine(void **state)
{
	mb_topo_t tp = synth();
	json_t *j = mb_topo_json(&tp);
	assert_int_equal(json_integer_value(json_object_get(j, "packages")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "numa_nodes")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "cores")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "pus")), 8);
	assert_string_equal(json_string_value(json_object_get(j, "source")), "synthetic");
	json_t *n1 = json_array_get(json_object_get(j, "numa"), 1);
	assert_string_equal(json_string_value(json_object_get(n1, "cpuset")), "4-7");
	json_decref(j);
	mb_topo_close(&tp);
}

static void compact_fills_one_core_then_the_next(void **state)
{
	mb_topo_t tp = synth();
	mb_place_t p[3];
	assert_int_equal(mb_topo_place(&tp, MB_PIN_COMPACT, 3, p), 0);
	assert_int_equal(p[0].pu_os, 0);
	assert_int_equal(p[1].pu_os, 1);
	assert_int_equal(p[2].pu_os, 2);
	assert_int_equal(p[0].core, p[1].core); /* hyperthreads of one core first */
	assert_int_not_equal(p[1].core, p[2].core);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p[i].package, 0);
		assert_int_equal(p[i].numa, 0);
	}
	mb_topo_close(&tp);
}

static void scatter_spreads_over_packages_and_numa_nodes(void **state)
{
	mb_topo_t tp = synth();
	mb_place_t p2[2], p4[4], p8[8];
	assert_int_equal(mb_topo_place(&tp, MB_PIN_SCATTER, 2, p2), 0);
	assert_int_not_equal(p2[0].package, p2[1].package);
	assert_int_not_equal(p2[0].numa, p2[1].numa);

	assert_int_equal(mb_topo_place(&tp, MB_PIN_SCATTER, 4, p4), 0);
	int per_pkg[2] = {0, 0}, cores = 0;
	for (int i = 0; i < 4; i++) {
		per_pkg[p4[i].package]++;
		cores |= 1 << p4[i].core;
		/* the NUMA node is the one of the worker's package here */
		assert_int_equal(p4[i].numa, p4[i].package);
	}
	assert_int_equal(per_pkg[0], 2);
	assert_int_equal(per_pkg[1], 2);
	assert_int_equal(cores, 0xf); /* one worker per core before any core gets two */

	assert_int_equal(mb_topo_place(&tp, MB_PIN_SCATTER, 8, p8), 0);
	int pus = 0;
	for (int i = 0; i < 8; i++)
		pus |= 1 << p8[i].pu_os;
	assert_int_equal(pus, 0xff);
	mb_topo_close(&tp);
}

static void more_workers_than_pus_wrap_and_none_places_nothing(void **state)
{
	mb_topo_t tp = synth();
	mb_place_t p[10];
	assert_int_equal(mb_topo_place(&tp, MB_PIN_COMPACT, 10, p), 0);
	assert_int_equal(p[8].pu_os, 0);
	assert_int_equal(p[9].pu_os, 1);
	assert_int_equal(mb_topo_place(&tp, MB_PIN_SCATTER, 10, p), 0);
	for (int i = 0; i < 10; i++)
		assert_in_range(p[i].pu_os, 0, 7);
	assert_int_equal(mb_topo_place(&tp, MB_PIN_NONE, 2, p), 0);
	assert_int_equal(p[0].pu_os, -1);
	assert_int_equal(p[1].numa, -1);
	mb_topo_close(&tp);
}

static void a_synthetic_topology_binds_nothing(void **state)
{
	mb_topo_t tp = synth();
	mb_place_t p[1];
	char why[160];
	mb_topo_place(&tp, MB_PIN_COMPACT, 1, p);
	assert_int_equal(mb_topo_bind_self(&tp, p, MB_MEMBIND_NONE, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not this machine"));
	mb_topo_close(&tp);
}

static void *bind_last_pu(void *arg)
{
	mb_topo_t *tp = arg;
	int npu = hwloc_get_nbobjs_by_type(tp->t, HWLOC_OBJ_PU);
	mb_place_t *p = calloc((size_t)npu, sizeof(*p));
	char why[160] = "";
	mb_topo_place(tp, MB_PIN_COMPACT, (unsigned)npu, p);
	int rc = mb_topo_bind_self(tp, &p[npu - 1], MB_MEMBIND_NONE, why, sizeof(why));
	cpu_set_t set;
	CPU_ZERO(&set);
	pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
	int ok = rc == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(p[npu - 1].pu_os, &set) &&
		 sched_getcpu() == p[npu - 1].pu_os;
	free(p);
	return (void *)(intptr_t)ok;
}

static void pins_a_thread_on_this_machine(void **state)
{
	mb_topo_t tp;
	char err[256];
	assert_int_equal(mb_topo_open(&tp, NULL, err, sizeof(err)), 0);
	assert_int_equal(tp.is_this_system, 1);
	pthread_t th;
	void *ok;
	assert_int_equal(pthread_create(&th, NULL, bind_last_pu, &tp), 0);
	pthread_join(th, &ok);
	assert_true((intptr_t)ok);
	mb_topo_close(&tp);
}

static void rejects_a_bad_description(void **state)
{
	mb_topo_t tp;
	char err[256];
	assert_int_equal(mb_topo_open(&tp, "pack:two", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pack:two"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(describes_the_synthetic_machine),
		cmocka_unit_test(compact_fills_one_core_then_the_next),
		cmocka_unit_test(scatter_spreads_over_packages_and_numa_nodes),
		cmocka_unit_test(more_workers_than_pus_wrap_and_none_places_nothing),
		cmocka_unit_test(a_synthetic_topology_binds_nothing),
		cmocka_unit_test(pins_a_thread_on_this_machine),
		cmocka_unit_test(rejects_a_bad_description),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
