/*
 * Size-class tables. See sizeclasses.h.
 */
#include "sizeclasses.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Go's table: object size and span size (pages * 8192) of classes 1..67,
 * as in the comment table of Go's runtime/sizeclasses.go. */
static const sc_class_t go_classes[] = {
	{8, 8192}, {16, 8192}, {24, 8192}, {32, 8192}, {48, 8192}, {64, 8192}, {80, 8192},
	{96, 8192}, {112, 8192}, {128, 8192}, {144, 8192}, {160, 8192}, {176, 8192},
	{192, 8192}, {208, 8192}, {224, 8192}, {240, 8192}, {256, 8192}, {288, 8192},
	{320, 8192}, {352, 8192}, {384, 8192}, {416, 8192}, {448, 8192}, {480, 8192},
	{512, 8192}, {576, 8192}, {640, 8192}, {704, 8192}, {768, 8192}, {896, 8192},
	{1024, 8192}, {1152, 8192}, {1280, 8192}, {1408, 16384}, {1536, 8192},
	{1792, 16384}, {2048, 8192}, {2304, 16384}, {2688, 8192}, {3072, 24576},
	{3200, 16384}, {3456, 24576}, {4096, 8192}, {4864, 24576}, {5376, 16384},
	{6144, 24576}, {6528, 32768}, {6784, 40960}, {6912, 49152}, {8192, 8192},
	{9472, 57344}, {9728, 49152}, {10240, 40960}, {10880, 32768}, {12288, 24576},
	{13568, 40960}, {14336, 57344}, {16384, 16384}, {18432, 73728}, {19072, 57344},
	{20480, 40960}, {21760, 65536}, {24576, 24576}, {27264, 81920}, {28672, 57344},
	{32768, 32768},
};

static int table_from(sc_table_t *t, const char *name, const sc_class_t *v, size_t n)
{
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->v = malloc(n * sizeof(*v));
	if (!t->v)
		return -1;
	memcpy(t->v, v, n * sizeof(*v));
	t->n = n;
	t->page = 8192; /* Go's _PageSize */
	return 0;
}

int sc_table_go(sc_table_t *t)
{
	return table_from(t, "go", go_classes, sizeof(go_classes) / sizeof(go_classes[0]));
}

void sc_table_free(sc_table_t *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* Up to max unsigned integers of s, separated by anything but digits. */
static int numbers(const char *s, uint64_t *v, int max)
{
	int k = 0;
	while (*s && k < max) {
		while (*s && !isdigit((unsigned char)*s)) {
			if (*s == '.' || *s == '%') /* a percentage: the rest is derived */
				return k;
			s++;
		}
		if (!*s)
			break;
		char *end;
		v[k++] = strtoull(s, &end, 10);
		if (*end == '.' || *end == '%')
			return k - 1;
		s = end;
	}
	return k;
}

int sc_table_load(sc_table_t *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	const char *slash = strrchr(path, '/');
	snprintf(t->name, sizeof(t->name), "%s", slash ? slash + 1 : path);
	t->page = 8192;
	size_t cap = 64, lineno = 0;
	t->v = malloc(cap * sizeof(*t->v));
	t->n = 0;
	char line[512];
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		uint64_t v[3];
		sc_class_t c;
		if (!strncmp(p, "//", 2)) { /* Go's comment rows: class size span ... */
			if (numbers(p + 2, v, 3) != 3 || v[0] == 0)
				continue;
			c = (sc_class_t){v[1], v[2]};
		} else {
			char *hash = strchr(line, '#');
			if (hash)
				*hash = 0;
			int k = numbers(p, v, 3);
			if (k == 0)
				continue;
			if (k != 2) {
				snprintf(err, errlen, "%s:%zu: expected `SIZE SPAN_BYTES`", path, lineno);
				rc = -1;
				break;
			}
			c = (sc_class_t){v[0], v[1]};
		}
		if (c.size == 0 || c.span_bytes < c.size ||
		    (t->n && c.size <= t->v[t->n - 1].size)) {
			snprintf(err, errlen, "%s:%zu: a class needs 0 < size <= span bytes, sizes "
				 "increasing", path, lineno);
			rc = -1;
			break;
		}
		if (t->n == cap)
			t->v = realloc(t->v, (cap *= 2) * sizeof(*t->v));
		t->v[t->n++] = c;
	}
	fclose(f);
	if (!rc && t->n == 0) {
		snprintf(err, errlen, "%s: no size classes in the file", path);
		rc = -1;
	}
	if (rc)
		sc_table_free(t);
	return rc;
}

void sc_row(const sc_table_t *t, size_t i, sc_row_t *r)
{
	const sc_class_t *c = &t->v[i];
	uint64_t prev = i ? t->v[i - 1].size : 0;
	r->cls = (unsigned)i + 1;
	r->size = c->size;
	r->span_bytes = c->span_bytes;
	r->objects = c->span_bytes / c->size;
	r->tail_waste = c->span_bytes - r->objects * c->size;
	r->max_waste = 100.0 * (double)((c->size - prev - 1) * r->objects + r->tail_waste) /
		       (double)c->span_bytes;
	r->min_align = c->size & -c->size;
	if (t->page && r->min_align > t->page)
		r->min_align = t->page;
}

void sc_print(FILE *f, const sc_table_t *t)
{
	fprintf(f, "// %5s  %9s  %10s  %7s  %10s  %9s  %9s\n", "class", "bytes/obj", "bytes/span",
		"objects", "tail waste", "max waste", "min align");
	for (size_t i = 0; i < t->n; i++) {
		sc_row_t r;
		sc_row(t, i, &r);
		fprintf(f, "// %5u  %9llu  %10llu  %7llu  %10llu  %8.2f%%  %9llu\n", r.cls,
			(unsigned long long)r.size, (unsigned long long)r.span_bytes,
			(unsigned long long)r.objects, (unsigned long long)r.tail_waste, r.max_waste,
			(unsigned long long)r.min_align);
	}
}

size_t sc_lookup(const sc_table_t *t, uint64_t size)
{
	size_t lo = 0, hi = t->n; /* first class with v.size >= size */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->v[mid].size < size)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void sc_expect_add(sc_expect_t *e, const sc_table_t *t, uint64_t size, uint64_t count)
{
	size_t i = sc_lookup(t, size ? size : 1);
	if (i == t->n) {
		e->large_allocs += count;
		e->large_bytes += size * count;
		return;
	}
	sc_row_t r;
	sc_row(t, i, &r);
	e->allocs += count;
	e->bytes += size * count;
	e->internal += (r.size - size) * count;
	e->tail += (double)r.tail_waste / (double)r.objects * (double)count;
}
