/*
 * Scalars of the YAML schemas: counts, numbers, sizes and durations with units.
 * See parse.h.
 */
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers may carry '_' separators (1_000_000) or an exact exponent (1e6). */
int mb_parse_uint(const char *s, uint64_t *out, char *err, size_t errlen)
{
	char buf[64];
	size_t n = 0;
	for (const char *c = s; *c; c++) {
		if (*c == '_')
			continue;
		if (n + 1 >= sizeof(buf))
			goto bad;
		buf[n++] = *c;
	}
	buf[n] = 0;
	if (n == 0 || buf[0] == '-' || buf[0] == '+')
		goto bad;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(buf, &end, 10);
	if (*end == 'e' || *end == 'E') {
		double d = strtod(buf, &end);
		if (*end || d != floor(d) || d < 0 || d > 1.8e19)
			goto bad;
		v = (unsigned long long)d;
	} else if (*end || errno) {
		goto bad;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "expected a non-negative integer, got '%s'", s);
	return -1;
}

int mb_parse_double(const char *s, double *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(d)) {
		snprintf(err, errlen, "expected a number, got '%s'", s);
		return -1;
	}
	*out = d;
	return 0;
}

typedef struct unit {
	const char *name;
	double mult;
} unit_t;

static int parse_with_units(const char *s, const unit_t *units, uint64_t *out,
			    const char *what, const char *hint, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (end == s || errno || d < 0 || !isfinite(d))
		goto bad;
	while (*end == ' ')
		end++;
	double mult = 0;
	for (const unit_t *u = units; u->name; u++)
		if (strcmp(end, u->name) == 0)
			mult = u->mult;
	if (mult == 0)
		goto bad;
	d *= mult;
	if (d > 1.8e19 || d != floor(d))
		goto bad;
	*out = (uint64_t)d;
	return 0;
bad:
	snprintf(err, errlen, "expected a %s (%s), got '%s'", what, hint, s);
	return -1;
}

static const unit_t size_units[] = {
	{"", 1},         {"B", 1},
	{"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
	{"TiB", 1099511627776.0},
	{"K", 1024.0},   {"M", 1048576.0},   {"G", 1073741824.0},
	{"kB", 1e3},     {"KB", 1e3},        {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{NULL, 0},
};

int mb_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	return parse_with_units(s, size_units, out, "size", "bytes, e.g. 4096, 64KiB, 2GiB",
				err, errlen);
}

static const unit_t dur_units[] = {
	{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
	{NULL, 0},
};

int mb_parse_duration(const char *s, uint64_t *out, char *err, size_t errlen)
{
	return parse_with_units(s, dur_units, out, "duration", "e.g. 500ms, 30s, 2m",
				err, errlen);
}

