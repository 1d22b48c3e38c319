/*
 * The `jemalloc` plug-in: jemalloc's non-standard API (mallocx / sdallocx /
 * rallocx / sallocx), stats through mallctl after an epoch refresh, and the
 * per-size-class view from its bins. Debian's libjemalloc2 is unprefixed, so
 * with this plug-in preloaded jemalloc also serves every plain malloc in the
 * trial process.
 *
 * Cost: malloc/free/realloc/usable_size are one call each. stats and
 * class_stats refresh the epoch (jemalloc merges per-arena counters under
 * their locks: microseconds) and are only called between timed chunks.
 */
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "membench_alloc.h"

/* jemalloc 5: the pseudo arena index that reads/acts on all arenas merged
 * (MALLCTL_ARENAS_ALL in its headers; spelled out where the header lacks it). */
#ifndef MALLCTL_ARENAS_ALL
#define MALLCTL_ARENAS_ALL 4096
#endif

#define MIB_MAX 8

typedef struct mib {
	size_t v[MIB_MAX];
	size_t len;
} mib_t;

/* The six totals of mb_alloc_stats_t, in its field order. */
static const char *const stat_names[] = {"stats.allocated", "stats.active", "stats.resident",
					  "stats.mapped", "stats.metadata", "stats.retained"};
static mib_t stat_mib[6];
static mib_t bin_size, bin_nregs, bin_slab, bin_curregs, bin_curslabs;
static unsigned nbins;
static bool have_stats;

static int mib_of(const char *name, mib_t *m)
{
	m->len = MIB_MAX;
	return mallctlnametomib(name, m->v, &m->len) ? -ENOENT : 0;
}

static int je_init(void)
{
	bool on = false;
	size_t sz = sizeof(on);
	/* config.stats: built with statistics (Debian's is); without it the
	 * counters read 0 and must be reported unknown instead */
	if (mallctl("config.stats", &on, &sz, NULL, 0) == 0 && on)
		have_stats = true;
	for (int i = 0; i < 6; i++)
		if (mib_of(stat_names[i], &stat_mib[i]))
			have_stats = false;
	sz = sizeof(nbins);
	if (mallctl("arenas.nbins", &nbins, &sz, NULL, 0))
		nbins = 0;
	/* the bin index sits at mib[2] in arenas.bin.<i>.x and mib[4] in
	 * stats.arenas.<a>.bins.<i>.x; the arena at mib[2] of the latter */
	if (mib_of("arenas.bin.0.size", &bin_size) || mib_of("arenas.bin.0.nregs", &bin_nregs) ||
	    mib_of("arenas.bin.0.slab_size", &bin_slab) ||
	    mib_of("stats.arenas.0.bins.0.curregs", &bin_curregs) ||
	    mib_of("stats.arenas.0.bins.0.curslabs", &bin_curslabs))
		nbins = 0;
	return 0;
}

static void *je_malloc(size_t size, unsigned flags)
{
	return mallocx(size ? size : 1, 0); /* mallocx(0) is undefined */
}

static void je_free(void *p, size_t size)
{
	if (!p)
		return;
	/* sdallocx needs a size in [requested, usable]; 0 was allocated as 1 */
	if (size)
		sdallocx(p, size, 0);
	else
		dallocx(p, 0);
}

static void *je_realloc(void *p, size_t old_size, size_t new_size)
{
	if (!p)
		return mallocx(new_size ? new_size : 1, 0);
	return rallocx(p, new_size ? new_size : 1, 0);
}

static size_t je_usable_size(void *p)
{
	return sallocx(p, 0);
}

static const char *je_version(void)
{
	const char *v = NULL;
	size_t sz = sizeof(v);
	if (mallctl("version", &v, &sz, NULL, 0))
		return NULL;
	return v;
}

static void epoch_refresh(void)
{
	uint64_t e = 1;
	size_t sz = sizeof(e);
	mallctl("epoch", &e, &sz, &e, sz);
}

static int read_u64(const mib_t *m, uint64_t *out)
{
	size_t v = 0, sz = sizeof(v);
	if (mallctlbymib(m->v, m->len, &v, &sz, NULL, 0))
		return -EIO;
	*out = v;
	return 0;
}

/* jemalloc's totals map one to one onto mb_alloc_stats_t: allocated = sum of
 * usable sizes of live regions (thread-cached ones included), active = pages
 * of active extents, resident/mapped/metadata/retained as in its manual. */
static int je_stats(mb_alloc_stats_t *s)
{
	if (!have_stats)
		return -ENOTSUP;
	epoch_refresh();
	uint64_t *f = &s->allocated;
	for (int i = 0; i < 6; i++)
		if (read_u64(&stat_mib[i], &f[i]))
			f[i] = MB_STAT_UNKNOWN;
	return 0;
}

static int bin_u64(mib_t *m, size_t at, unsigned i, size_t width, uint64_t *out)
{
	mib_t c = *m;
	c.v[at] = i;
	size_t sz = width;
	uint64_t v = 0;
	uint32_t v32 = 0;
	int rc = mallctlbymib(c.v, c.len, width == 4 ? (void *)&v32 : (void *)&v, &sz, NULL, 0);
	*out = width == 4 ? v32 : v;
	return rc ? -EIO : 0;
}

static int je_class_stats(mb_alloc_class_stats_t *out, size_t cap)
{
	if (!have_stats || !nbins)
		return -ENOTSUP;
	epoch_refresh();
	/* stats for all arenas merged */
	bin_curregs.v[2] = MALLCTL_ARENAS_ALL;
	bin_curslabs.v[2] = MALLCTL_ARENAS_ALL;
	for (unsigned i = 0; i < nbins && i < cap; i++) {
		mb_alloc_class_stats_t *c = &out[i];
		memset(c, 0, sizeof(*c));
		/* widths per jemalloc's mallctl manual: size size_t, nregs uint32_t,
		 * slab_size size_t, curregs/curslabs size_t */
		if (bin_u64(&bin_size, 2, i, sizeof(size_t), &c->size) ||
		    bin_u64(&bin_nregs, 2, i, 4, &c->span_objects) ||
		    bin_u64(&bin_slab, 2, i, sizeof(size_t), &c->span_bytes) ||
		    bin_u64(&bin_curregs, 4, i, sizeof(size_t), &c->objects) ||
		    bin_u64(&bin_curslabs, 4, i, sizeof(size_t), &c->spans))
			return -EIO;
	}
	return (int)nbins;
}

/* Flushes this thread's cache and purges every arena's unused dirty pages. */
static void je_release(void)
{
	char cmd[64];
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	snprintf(cmd, sizeof(cmd), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	mallctl(cmd, NULL, NULL, NULL, 0);
}

const mb_alloc_ops_t membench_allocator = {
	.abi_version = MB_ALLOC_ABI_VERSION,
	.name = "jemalloc",
	.init = je_init,
	.malloc = je_malloc,
	.free = je_free,
	.realloc = je_realloc,
	.usable_size = je_usable_size,
	.version = je_version,
	.stats = je_stats,
	.release = je_release,
	.class_stats = je_class_stats,
};
