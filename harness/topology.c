/*
 * The machine through hwloc. See topology.h.
 */
#include "topology.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *const mb_pin_names[] = {"none", "compact", "scatter", NULL};
const char *const mb_membind_names[] = {"none", "local", "interleave", NULL};

int mb_topo_open(mb_topo_t *tp, const char *src, char *err, size_t errlen)
{
	memset(tp, 0, sizeof(*tp));
	if (hwloc_topology_init(&tp->t)) {
		snprintf(err, errlen, "hwloc: cannot initialise: %s", strerror(errno));
		return -1;
	}
	/* instruction caches are filtered out by default; the L1i geometry is wanted */
	hwloc_topology_set_icache_types_filter(tp->t, HWLOC_TYPE_FILTER_KEEP_ALL);
	int rc = 0;
	size_t l = src ? strlen(src) : 0;
	if (src && l > 4 && !strcmp(src + l - 4, ".xml"))
		rc = hwloc_topology_set_xml(tp->t, src);
	else if (src)
		rc = hwloc_topology_set_synthetic(tp->t, src);
	if (rc) {
		snprintf(err, errlen, "hwloc: cannot use topology '%s': %s", src,
			 errno ? strerror(errno) : "invalid description");
		hwloc_topology_destroy(tp->t);
		tp->t = NULL;
		return -1;
	}
	if (hwloc_topology_load(tp->t)) {
		snprintf(err, errlen, "hwloc: cannot load the topology: %s", strerror(errno));
		hwloc_topology_destroy(tp->t);
		tp->t = NULL;
		return -1;
	}
	tp->is_this_system = hwloc_topology_is_thissystem(tp->t);
	return 0;
}

void mb_topo_close(mb_topo_t *tp)
{
	if (tp->t)
		hwloc_topology_destroy(tp->t);
	tp->t = NULL;
}

static int cache_matches(hwloc_obj_t o, int level)
{
	if (!hwloc_obj_type_is_cache(o->type))
		return 0;
	if (level == -1)
		return o->attr->cache.depth == 1 && hwloc_obj_type_is_icache(o->type);
	if (!hwloc_obj_type_is_dcache(o->type))
		return 0;
	return level == 0 || (int)o->attr->cache.depth == level;
}

int mb_topo_cache(const mb_topo_t *tp, int level, mb_cache_geom_t *g)
{
	hwloc_obj_t pu = hwloc_get_obj_by_type(tp->t, HWLOC_OBJ_PU, 0), found = NULL;
	/* walking up from the PU meets caches from L1 outwards; the last data
	 * cache met is the last level */
	for (hwloc_obj_t o = pu; o; o = o->parent)
		if (cache_matches(o, level)) {
			found = o;
			if (level != 0)
				break;
		}
	if (!found)
		return 0;
	g->level = (int)found->attr->cache.depth;
	g->size = (unsigned long long)found->attr->cache.size;
	g->line = found->attr->cache.linesize;
	g->ways = found->attr->cache.associativity;
	return g->level;
}

static const char *cache_kind(hwloc_obj_t o)
{
	switch (o->attr->cache.type) {
	case HWLOC_OBJ_CACHE_DATA: return "data";
	case HWLOC_OBJ_CACHE_INSTRUCTION: return "instruction";
	default: return "unified";
	}
}

static json_t *cpuset_json(hwloc_const_bitmap_t set)
{
	char *s = NULL;
	hwloc_bitmap_list_asprintf(&s, set);
	json_t *j = json_string(s ? s : "");
	free(s);
	return j;
}

/* One entry per cache level and kind: geometry of the first, and how many. */
static json_t *caches_json(hwloc_topology_t t)
{
	json_t *a = json_array();
	static const hwloc_obj_type_t kinds[] = {
		HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2ICACHE, HWLOC_OBJ_L2CACHE,
		HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
	};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		int n = hwloc_get_nbobjs_by_type(t, kinds[k]);
		if (n <= 0)
			continue;
		hwloc_obj_t o = hwloc_get_obj_by_type(t, kinds[k], 0);
		json_array_append_new(a, json_pack("{s:i, s:s, s:I, s:i, s:i, s:i}", "level",
			(int)o->attr->cache.depth, "type", cache_kind(o), "size",
			(json_int_t)o->attr->cache.size, "line", (int)o->attr->cache.linesize,
			"ways", o->attr->cache.associativity, "count", n));
	}
	return a;
}

json_t *mb_topo_json(const mb_topo_t *tp)
{
	hwloc_topology_t t = tp->t;
	json_t *numa = json_array();
	int nn = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
	for (int i = 0; i < nn; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)i);
		json_array_append_new(numa, json_pack("{s:i, s:i, s:I, s:o}", "index", i,
			"os_index", (int)o->os_index, "memory",
			(json_int_t)o->attr->numanode.local_memory, "cpuset", cpuset_json(o->cpuset)));
	}
	json_t *pk = json_array();
	int np = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
	for (int i = 0; i < np; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, (unsigned)i);
		const char *model = hwloc_obj_get_info_by_name(o, "CPUModel");
		json_array_append_new(pk, json_pack("{s:i, s:s?, s:i, s:i, s:o}", "index", i,
			"model", model,
			"cores", hwloc_get_nbobjs_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_CORE),
			"pus", hwloc_get_nbobjs_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_PU),
			"cpuset", cpuset_json(o->cpuset)));
	}
	hwloc_obj_t root = hwloc_get_root_obj(t);
	const char *synth = hwloc_obj_get_info_by_name(root, "SyntheticDescription");
	return json_pack("{s:s, s:s?, s:i, s:i, s:i, s:i, s:o, s:o, s:o}", "source",
		tp->is_this_system ? "this system" : synth ? "synthetic" : "xml",
		"synthetic", synth, "packages", np, "numa_nodes", nn,
		"cores", hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE),
		"pus", hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU), "package_list", pk,
		"numa", numa, "caches", caches_json(t));
}

static void human(char *b, size_t n, unsigned long long v)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	double x = (double)v;
	while (x >= 1024 && u < 4)
		x /= 1024, u++;
	snprintf(b, n, x == (double)(long long)x ? "%.0f %s" : "%.1f %s", x, unit[u]);
}

static void print_obj(FILE *f, hwloc_topology_t t, hwloc_obj_t o, int indent)
{
	char sz[32];
	int shown = 1;
	if (o->type == HWLOC_OBJ_PACKAGE) {
		const char *model = hwloc_obj_get_info_by_name(o, "CPUModel");
		fprintf(f, "%*sPackage %u%s%s\n", indent, "", o->logical_index,
			model ? ": " : "", model ? model : "");
	} else if (o->type == HWLOC_OBJ_NUMANODE) {
		human(sz, sizeof(sz), o->attr->numanode.local_memory);
		fprintf(f, "%*sNUMA node %u (P#%u): %s\n", indent, "", o->logical_index, o->os_index,
			sz);
	} else if (hwloc_obj_type_is_cache(o->type)) {
		human(sz, sizeof(sz), o->attr->cache.size);
		int w = o->attr->cache.associativity;
		char ways[24];
		if (w > 0)
			snprintf(ways, sizeof(ways), "%d-way", w);
		else
			snprintf(ways, sizeof(ways), "%s", w < 0 ? "fully associative" : "ways unknown");
		fprintf(f, "%*sL%u%s %s, %u B lines, %s\n", indent, "", o->attr->cache.depth,
			o->attr->cache.type == HWLOC_OBJ_CACHE_DATA ? "d" :
			o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ? "i" : "", sz,
			o->attr->cache.linesize, ways);
	} else if (o->type == HWLOC_OBJ_CORE) {
		fprintf(f, "%*sCore %u (P#%u)\n", indent, "", o->logical_index, o->os_index);
	} else if (o->type == HWLOC_OBJ_PU) {
		fprintf(f, "%*sPU %u (P#%u)\n", indent, "", o->logical_index, o->os_index);
	} else {
		shown = 0; /* machine, groups, dies: their children carry the facts */
	}
	int in = indent + (shown ? 2 : 0);
	for (hwloc_obj_t c = o->memory_first_child; c; c = c->next_sibling)
		print_obj(f, t, c, in);
	for (hwloc_obj_t c = o->first_child; c; c = c->next_sibling)
		print_obj(f, t, c, in);
}

void mb_topo_print(FILE *f, const mb_topo_t *tp)
{
	hwloc_topology_t t = tp->t;
	fprintf(f, "%d package(s), %d NUMA node(s), %d core(s), %d PU(s)%s\n",
		hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE),
		hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE),
		hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE),
		hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU),
		tp->is_this_system ? "" : " (not this machine: synthetic or XML)");
	print_obj(f, t, hwloc_get_root_obj(t), 2);
}

static int logical_of(hwloc_topology_t t, hwloc_obj_t pu, hwloc_obj_type_t type)
{
	hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(t, type, pu);
	return a ? (int)a->logical_index : -1;
}

/* The NUMA node whose cpuset holds the PU (the first, when several do). */
static hwloc_obj_t numa_of(hwloc_topology_t t, hwloc_obj_t pu)
{
	hwloc_obj_t n = NULL;
	while ((n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n)))
		if (hwloc_bitmap_isset(n->cpuset, pu->os_index))
			return n;
	return NULL;
}

static void fill(hwloc_topology_t t, hwloc_obj_t pu, mb_place_t *p)
{
	hwloc_obj_t n = numa_of(t, pu);
	p->pu_os = (int)pu->os_index;
	p->pu_logical = (int)pu->logical_index;
	p->core = logical_of(t, pu, HWLOC_OBJ_CORE);
	p->package = logical_of(t, pu, HWLOC_OBJ_PACKAGE);
	p->numa = n ? (int)n->logical_index : -1;
}

int mb_topo_place(const mb_topo_t *tp, int policy, unsigned nthreads, mb_place_t *out)
{
	hwloc_topology_t t = tp->t;
	int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
	if (npu <= 0)
		return -1;
	if (policy == MB_PIN_NONE) {
		for (unsigned i = 0; i < nthreads; i++)
			out[i] = (mb_place_t){-1, -1, -1, -1, -1};
		return 0;
	}
	if (policy == MB_PIN_COMPACT) {
		for (unsigned i = 0; i < nthreads; i++)
			fill(t, hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, i % (unsigned)npu), &out[i]);
		return 0;
	}
	/* scatter: hwloc_distrib hands out nthreads cpusets spread evenly from
	 * the root down; singlify keeps one PU of each */
	hwloc_bitmap_t *sets = calloc(nthreads, sizeof(*sets)); /* hwloc_distrib allocates */
	hwloc_obj_t root = hwloc_get_root_obj(t);
	int rc = hwloc_distrib(t, &root, 1, sets, nthreads, INT_MAX, 0);
	for (unsigned i = 0; i < nthreads; i++) {
		hwloc_obj_t pu = NULL;
		if (!rc && sets[i]) {
			hwloc_bitmap_singlify(sets[i]);
			pu = hwloc_get_pu_obj_by_os_index(t, (unsigned)hwloc_bitmap_first(sets[i]));
		}
		if (!pu)
			pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, i % (unsigned)npu);
		fill(t, pu, &out[i]);
		hwloc_bitmap_free(sets[i]);
	}
	free(sets);
	return 0;
}

int mb_topo_bind_self(const mb_topo_t *tp, const mb_place_t *p, int membind, char *why,
		      size_t whylen)
{
	hwloc_topology_t t = tp->t;
	if (!tp->is_this_system) {
		snprintf(why, whylen, "the topology is not this machine's");
		return -EINVAL;
	}
	if (p->pu_os >= 0) {
		hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(t, (unsigned)p->pu_os);
		if (!pu || hwloc_set_cpubind(t, pu->cpuset, HWLOC_CPUBIND_THREAD)) {
			int e = pu ? errno : ENOENT;
			snprintf(why, whylen, "hwloc_set_cpubind(PU P#%d): %s", p->pu_os, strerror(e));
			return -e;
		}
	}
	if (membind == MB_MEMBIND_NONE)
		return 0;
	hwloc_const_nodeset_t set;
	hwloc_membind_policy_t pol = HWLOC_MEMBIND_BIND;
	if (membind == MB_MEMBIND_INTERLEAVE) {
		set = hwloc_topology_get_topology_nodeset(t);
		pol = HWLOC_MEMBIND_INTERLEAVE;
	} else {
		hwloc_obj_t n = p->numa >= 0 ?
			hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)p->numa) : NULL;
		if (!n) {
			snprintf(why, whylen, "membind local needs a pinned thread (pin: compact "
				 "or scatter)");
			return -EINVAL;
		}
		set = n->nodeset;
	}
	if (hwloc_set_membind(t, set, pol, HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET)) {
		int e = errno;
		snprintf(why, whylen, "hwloc_set_membind(%s): %s", mb_membind_names[membind],
			 strerror(e));
		return -e;
	}
	return 0;
}

static const char topology_usage[] =
	"usage: membench topology [--json] [--input SYNTHETIC|FILE.xml] [--place POLICY:N]\n"
	"Describes the machine as hwloc sees it: packages, NUMA nodes, caches (size,\n"
	"line, associativity), cores, PUs. Every results manifest records the same.\n"
	"  --json            the manifest's `topology` object\n"
	"  --input SRC       a synthetic description (\"pack:2 numa:1 core:2 pu:2\") or\n"
	"                    an XML export (lstopo FILE.xml) instead of this machine\n"
	"  --place POLICY:N  where N workers run under pin POLICY (compact, scatter)\n";

int mb_cmd_topology(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"input", required_argument, NULL, 'i'},
		{"place", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *src = NULL, *place = NULL;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'i': src = optarg; break;
		case 'p': place = optarg; break;
		case 'h': fputs(topology_usage, stdout); return 0;
		default: fputs(topology_usage, stderr); return 2;
		}
	}
	if (optind != argc)
		return fputs(topology_usage, stderr), 2;
	int policy = -1;
	unsigned long n = 0;
	if (place) {
		const char *colon = strchr(place, ':');
		for (int k = 0; colon && mb_pin_names[k]; k++)
			if (!strncmp(place, mb_pin_names[k], (size_t)(colon - place)) &&
			    strlen(mb_pin_names[k]) == (size_t)(colon - place))
				policy = k;
		char *end = NULL;
		n = colon ? strtoul(colon + 1, &end, 10) : 0;
		if (policy < 0 || !n || n > 4096 || *end) {
			fprintf(stderr, "membench topology: --place wants POLICY:N, e.g. scatter:4\n");
			return 2;
		}
	}
	mb_topo_t tp;
	char err[256];
	if (mb_topo_open(&tp, src, err, sizeof(err))) {
		fprintf(stderr, "membench topology: %s\n", err);
		return 2;
	}
	if (json) {
		json_t *j = mb_topo_json(&tp);
		json_dumpf(j, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(j);
	} else {
		mb_topo_print(stdout, &tp);
	}
	if (place) {
		mb_place_t *p = calloc(n, sizeof(*p));
		mb_topo_place(&tp, policy, (unsigned)n, p);
		printf("\npin %s, %lu workers:\n", mb_pin_names[policy], n);
		for (unsigned long i = 0; i < n; i++)
			printf("  worker %lu: PU P#%d, core %d, package %d, NUMA node %d\n", i,
			       p[i].pu_os, p[i].core, p[i].package, p[i].numa);
		free(p);
	}
	mb_topo_close(&tp);
	return 0;
}
