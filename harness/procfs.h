/* Memory figures of a process from /proc. 0 when unreadable. */
#ifndef MB_PROCFS_H
#define MB_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* Resident set size in bytes, from /proc/<pid>/statm (pid 0: this process).
 * Cheap: one open/read/close, safe to call at every sample point. */
uint64_t mb_proc_rss(pid_t pid);
/* Resident and resident-shared (file-backed) bytes from statm, in one read;
 * resident - shared is the anonymous memory an allocator holds. 0 or -1. */
int mb_proc_statm(pid_t pid, uint64_t *resident, uint64_t *shared);
/* /proc/self/smaps_rollup as a JSON object of byte counts (Rss, Pss,
 * Anonymous, AnonHugePages, Swap, ...), or NULL when the kernel has none.
 * Costs a walk of every mapping (up to milliseconds on a large heap): call it
 * outside timed intervals only. */
struct json_t *mb_proc_smaps_rollup(void);
/* A "VmXxx:" field of /proc/<pid>/status in bytes (VmHWM: peak RSS of this
 * process; unlike getrusage's ru_maxrss it does not carry a parent's peak
 * over exec). */
uint64_t mb_proc_status_kb_field(pid_t pid, const char *field);

#endif
