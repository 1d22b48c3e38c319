/*
 * The machine as hwloc sees it: description (for `membench topology` and every
 * manifest), cache geometry (for the cachegrind mode), and the placement of
 * worker threads (pin policy) and their memory (membind). See COUNTERS.md.
 *
 * A topology is this machine's by default; tests load a synthetic description
 * ("pack:2 numa:1 core:2 pu:2") or an XML export instead, so the placement
 * logic is checked on shapes this machine does not have.
 */
#ifndef MB_TOPOLOGY_H
#define MB_TOPOLOGY_H

#include <hwloc.h>
#include <jansson.h>
#include <stdio.h>

/* Pin policies, in the order of the suite's `pin:` enum. */
enum { MB_PIN_NONE, MB_PIN_COMPACT, MB_PIN_SCATTER };
/* Memory binding, in the order of the suite's `membind:` enum. */
enum { MB_MEMBIND_NONE, MB_MEMBIND_LOCAL, MB_MEMBIND_INTERLEAVE };

extern const char *const mb_pin_names[];     /* "none", "compact", "scatter", NULL */
extern const char *const mb_membind_names[]; /* "none", "local", "interleave", NULL */

typedef struct mb_topo {
	hwloc_topology_t t;
	int is_this_system; /* 0 for synthetic / XML: nothing may be bound */
} mb_topo_t;

/* Loads the topology: this machine when src is NULL; a synthetic description
 * when src does not end in .xml; else an XML file. Returns 0 or -1 with a
 * message in err. */
int mb_topo_open(mb_topo_t *tp, const char *src, char *err, size_t errlen);
void mb_topo_close(mb_topo_t *tp);

/* Cache geometry of one level (1 = L1 data, 2, 3; 0 = the last level that holds
 * data; -1 = L1 instruction), from the cache above PU 0. ways: 0 unknown, -1
 * fully associative. Returns the level found (>0), or 0 when there is none. */
typedef struct mb_cache_geom {
	int level;
	unsigned long long size; /* bytes */
	unsigned line;           /* bytes */
	int ways;
} mb_cache_geom_t;
int mb_topo_cache(const mb_topo_t *tp, int level, mb_cache_geom_t *g);

/* The whole machine as JSON: counts, packages > NUMA nodes, caches, cores,
 * PUs (the manifest's `topology`). */
json_t *mb_topo_json(const mb_topo_t *tp);
/* The same as an indented text tree (`membench topology`). */
void mb_topo_print(FILE *f, const mb_topo_t *tp);

/* Where worker `tid` of `nthreads` runs under a pin policy. */
typedef struct mb_place {
	int pu_os;      /* OS index of the PU; -1 under MB_PIN_NONE */
	int pu_logical; /* hwloc logical index; -1 under MB_PIN_NONE */
	int core;       /* logical index of its core, -1 when none */
	int package;    /* logical index of its package, -1 when none */
	int numa;       /* logical index of the NUMA node local to it, -1 when none */
} mb_place_t;

/* Places nthreads workers: compact fills PUs in hwloc's logical order (the
 * hyperthreads of one core, then the next core, then the next package);
 * scatter spreads them as evenly as possible over packages, then NUMA nodes,
 * caches, cores, PUs (hwloc_distrib). More workers than PUs wrap around.
 * out has nthreads entries. Returns 0, or -1 when the topology has no PU. */
int mb_topo_place(const mb_topo_t *tp, int policy, unsigned nthreads, mb_place_t *out);

/* Binds the calling thread to p's PU and, by membind, its memory (local: the
 * NUMA node of that PU; interleave: every node). Only on this system's
 * topology. Returns 0, or -errno; on failure why gets hwloc's reason. */
int mb_topo_bind_self(const mb_topo_t *tp, const mb_place_t *p, int membind, char *why,
		      size_t whylen);

#endif
