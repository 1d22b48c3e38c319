/*
 * The `mimalloc` plug-in: mi_malloc / mi_free_size / mi_realloc /
 * mi_usable_size. With the plug-in preloaded mimalloc (Debian's build overrides
 * malloc) serves plain malloc as well.
 *
 * Stats: a release build of mimalloc keeps its byte counters per thread and
 * merges them only at thread exit, and has no call that returns them as numbers;
 * only the OS-level ones (reserved, committed) are process-wide. So this plug-in
 * reports mapped = reserved, read from mi_stats_print_out's "current" column
 * (printed with three significant digits), and everything else unknown.
 * Committed is not resident on Linux (mimalloc commits whole arenas eagerly).
 */
#include <errno.h>
#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membench_alloc.h"

static int mi_mb_init(void)
{
	return 0;
}

static void *mi_mb_malloc(size_t size, unsigned flags)
{
	return mi_malloc(size);
}

static void mi_mb_free(void *p, size_t size)
{
	if (size)
		mi_free_size(p, size);
	else
		mi_free(p);
}

static void *mi_mb_realloc(void *p, size_t old_size, size_t new_size)
{
	return mi_realloc(p, new_size);
}

static size_t mi_mb_usable_size(void *p)
{
	return mi_usable_size(p);
}

static const char *mi_mb_version(void)
{
	static char v[32];
	int n = mi_version(); /* 209 = 2.0.9 */
	snprintf(v, sizeof(v), "mimalloc %d.%d.%d", n / 100, n / 10 % 10, n % 10);
	return v;
}

/* "  reserved:   64.0 MiB   64.0 MiB      0       64.0 MiB  ..." -> bytes of the
 * fourth column (current); MB_STAT_UNKNOWN when it does not parse. */
static uint64_t parse_current(const char *line)
{
	const char *p = strchr(line, ':');
	if (!p)
		return MB_STAT_UNKNOWN;
	p++;
	for (int col = 0; col < 4; col++) {
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return MB_STAT_UNKNOWN;
		while (*end == ' ')
			end++;
		double unit = 1;
		if (!strncmp(end, "KiB", 3))
			unit = 1024.0;
		else if (!strncmp(end, "MiB", 3))
			unit = 1048576.0;
		else if (!strncmp(end, "GiB", 3))
			unit = 1073741824.0;
		else if (!strncmp(end, "TiB", 3))
			unit = 1099511627776.0;
		if (unit > 1 || *end == 'B')
			end += unit > 1 ? 3 : 1;
		if (col == 3)
			return (uint64_t)(v * unit + 0.5);
		p = end;
	}
	return MB_STAT_UNKNOWN;
}

typedef struct scan {
	uint64_t reserved;
} scan_t;

static void on_line(const char *msg, void *arg)
{
	scan_t *s = arg;
	while (*msg == ' ')
		msg++;
	if (!strncmp(msg, "reserved:", 9))
		s->reserved = parse_current(msg);
}

static int mi_mb_stats(mb_alloc_stats_t *s)
{
	scan_t sc = {MB_STAT_UNKNOWN};
	mi_stats_print_out(on_line, &sc);
	if (sc.reserved == MB_STAT_UNKNOWN)
		return -ENOTSUP;
	s->allocated = s->active = s->resident = MB_STAT_UNKNOWN;
	s->metadata = s->retained = MB_STAT_UNKNOWN;
	s->mapped = sc.reserved;
	return 0;
}

static void mi_mb_release(void)
{
	mi_collect(true);
}

const mb_alloc_ops_t membench_allocator = {
	.abi_version = MB_ALLOC_ABI_VERSION,
	.name = "mimalloc",
	.init = mi_mb_init,
	.malloc = mi_mb_malloc,
	.free = mi_mb_free,
	.realloc = mi_mb_realloc,
	.usable_size = mi_mb_usable_size,
	.version = mi_mb_version,
	.stats = mi_mb_stats,
	.release = mi_mb_release,
};
