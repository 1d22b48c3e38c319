/* Memory figures of a process from /proc. 0 when unreadable. */
#ifndef MB_PROCFS_H
#define MB_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* Resident set size in bytes, from /proc/<pid>/statm (pid 0: this process).
 * Cheap: one open/read/close, safe to call at every sample point. */
uint64_t mb_proc_rss(pid_t pid);
/* A "VmXxx:" field of /proc/<pid>/status in bytes (VmHWM: peak RSS of this
 * process; unlike getrusage's ru_maxrss it does not carry a parent's peak
 * over exec). */
uint64_t mb_proc_status_kb_field(pid_t pid, const char *field);

#endif
