/*
 * libFuzzer target for the YAML loader: any bytes, as a suite file and as a
 * workload file, must give either a loaded struct or counted errors — never a
 * crash, a sanitizer report or a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	static FILE *devnull;
	if (fd < 0) {
		fd = memfd_create("mb-fuzz", 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		devnull = fopen("/dev/null", "w");
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	mb_yctx_t y = {.err = devnull};
	mb_suite_t *s = mb_suite_load(&y, path, "workloads");
	if ((s == NULL) != (y.errors > 0))
		abort(); /* the contract: NULL exactly when errors were reported */
	mb_suite_free(s);
	mb_yctx_t y2 = {.err = devnull};
	mb_workload_t *w = mb_workload_load(&y2, path);
	if ((w == NULL) != (y2.errors > 0))
		abort();
	mb_workload_free(w);
	return 0;
}
