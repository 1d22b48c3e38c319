/* Memory figures from /proc. See procfs.h. */
#include "procfs.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mb_proc_statm(pid_t pid, uint64_t *resident, uint64_t *shared)
{
	char path[64], buf[256];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/statm");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	unsigned long long size, res, shr;
	if (sscanf(buf, "%llu %llu %llu", &size, &res, &shr) != 3)
		return -1;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	*resident = res * page;
	*shared = shr * page;
	return 0;
}

json_t *mb_proc_smaps_rollup(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	if (!f)
		return NULL;
	char line[256], key[64];
	unsigned long long kb;
	json_t *j = json_object();
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[A-Za-z_]: %llu kB", key, &kb) == 2)
			json_object_set_new(j, key, json_integer((json_int_t)(kb * 1024)));
	fclose(f);
	return j;
}

uint64_t mb_proc_rss(pid_t pid)
{
	char path[64], buf[256];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/statm");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long long size, resident;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t mb_proc_status_kb_field(pid_t pid, const char *field)
{
	char path[64], line[256];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t fl = strlen(field);
	uint64_t v = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtoull(line + fl + 1, NULL, 10) * 1024;
			break;
		}
	fclose(f);
	return v;
}
