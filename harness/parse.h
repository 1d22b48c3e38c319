/*
 * Scalars of the YAML schemas: counts (1_000_000, 1e6), numbers, sizes with
 * units (64KiB, 2GiB, 1.5GB) and durations (250ms, 30s, 2m). Used by the option
 * engine (options.c) and by custom option parsers.
 */
#ifndef MB_PARSE_H
#define MB_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Each returns 0, or -1 with a message in err (errlen bytes). */
int mb_parse_uint(const char *s, uint64_t *out, char *err, size_t errlen);
int mb_parse_double(const char *s, double *out, char *err, size_t errlen);
int mb_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);
int mb_parse_duration(const char *s, uint64_t *out, char *err, size_t errlen);

#endif
