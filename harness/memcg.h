/*
 * Per-trial memory cgroups: the kernel's hard limit on a trial's memory.
 *
 * Where a memory controller is mounted and writable (cgroup v2 with memory in
 * the subtree of this process's cgroup, or cgroup v1's memory hierarchy), each
 * trial runs in its own child cgroup of this process's one, limited to the
 * suite's memory_limit: an allocation past it is reclaimed or OOM-killed by
 * the kernel, in the trial, at once. The runner's RSS watchdog (runner.c,
 * every 20 ms) stays as the second line, and is the only one where no cgroup
 * can be made (not root, no controller) or where MEMBENCH_MEMCG=off is in the
 * environment: the trial records which applied.
 *
 * Contract: mb_memcg_create before fork; mb_memcg_enter in the child between
 * fork and exec (async-signal-safe: one write); mb_memcg_destroy after the
 * child is reaped. Cgroups left behind by a runner killed with -9 are removed
 * by the next create in the same parent (their runner pid is gone).
 */
#ifndef MB_MEMCG_H
#define MB_MEMCG_H

#include <limits.h>
#include <stdint.h>

typedef struct mb_memcg {
	int version;          /* 1 or 2; 0: no cgroup, the watchdog only */
	char dir[PATH_MAX];   /* the trial's cgroup folder */
	int procs_fd;         /* its cgroup.procs, open for the child's write */
	char why[256];        /* version 0: why no cgroup could be made */
} mb_memcg_t;

/* Makes the trial's cgroup with a hard limit of limit bytes. Never fails the
 * trial: on any error cg->version is 0 and cg->why says what went wrong. */
void mb_memcg_create(mb_memcg_t *cg, uint64_t limit);
/* In the forked child, before exec: moves the calling process into cg. */
void mb_memcg_enter(const mb_memcg_t *cg);
/* OOM kills in cg since it was made (the kernel's count): > 0 means the
 * limit, not a crash, ended the trial. */
uint64_t mb_memcg_oom_kills(const mb_memcg_t *cg);
/* The cgroup's peak charged memory in bytes (v1 max_usage_in_bytes, v2
 * memory.peak where the kernel has it), 0 when unknown. */
uint64_t mb_memcg_peak(const mb_memcg_t *cg);
/* "cgroup v1 memory.limit_in_bytes", "cgroup v2 memory.max" or
 * "RSS watchdog": what enforced the limit, for the trial's record. */
const char *mb_memcg_enforcer(const mb_memcg_t *cg);
/* Removes the (empty) cgroup; closes the fd. Safe on version 0. */
void mb_memcg_destroy(mb_memcg_t *cg);

#endif
