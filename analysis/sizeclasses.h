/*
 * Size-class tables and their waste, in the words of Go's mksizeclasses.go:
 * a class has an object size and a span size; objects = span / size, tail
 * waste = span - objects*size, and max waste is the worst case of an object
 * one byte larger than the previous class plus the tail:
 *
 *     max waste = ((size - prev_size - 1) * objects + tail) / span
 *
 * Tables come from Go's (built in here: sizeclasses_go), from an allocator
 * plug-in's class_stats (jemalloc's bins, span's span classes; see
 * membench_alloc.h), or from a file. Pure arithmetic: links no allocator.
 */
#ifndef MB_SIZECLASSES_H
#define MB_SIZECLASSES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sc_class {
	uint64_t size;       /* bytes/obj */
	uint64_t span_bytes; /* bytes/span */
} sc_class_t;

typedef struct sc_table {
	char name[64];
	sc_class_t *v;       /* increasing size; heap (sc_table_free) */
	size_t n;
	uint64_t page;       /* alignment of a span's start: Go's page, 8192, unless
	                        the source says otherwise (allocators: the OS page) */
} sc_table_t;

/* One row of Go's comment table. */
typedef struct sc_row {
	unsigned cls;        /* 1-based, as Go numbers them (class 0 = large) */
	uint64_t size, span_bytes, objects, tail_waste;
	double max_waste;    /* percent */
	uint64_t min_align;  /* alignment every object of the class has: the largest
	                        power of two dividing size, at most the page */
} sc_row_t;

/* Go's size classes (runtime/sizeclasses.go, 67 classes up to 32 KiB, 8 KiB
 * pages). The span allocator generates its own table
 * (allocators/span/sizeclasses.c); `--table span` reads that one through the
 * plug-in, so this copy is the reference it is compared with, swappable for
 * another source by replacing sc_table_go. */
int sc_table_go(sc_table_t *t);

/* Reads a table from a file: one class per line as `SIZE SPAN_BYTES`
 * (spaces or commas; # comments), or Go's comment rows
 * `//  CLASS  SIZE  SPAN ...` (so sizeclasses.go itself can be given).
 * Returns 0, or -1 with a `file:line: message` in err. */
int sc_table_load(sc_table_t *t, const char *path, char *err, size_t errlen);

/* Row i (0-based) of t. */
void sc_row(const sc_table_t *t, size_t i, sc_row_t *r);
/* Prints the table in Go's comment format. */
void sc_print(FILE *f, const sc_table_t *t);
/* Index of the smallest class holding size bytes, or t->n when none does. */
size_t sc_lookup(const sc_table_t *t, uint64_t size);

/* Expected waste of an allocation-size histogram under a table. Sizes above
 * the largest class are counted apart (large) and not in the fractions. */
typedef struct sc_expect {
	uint64_t allocs, bytes;        /* small allocations and their requested bytes */
	uint64_t large_allocs, large_bytes;
	uint64_t internal;             /* sum of (class size - requested) */
	double tail;                   /* sum of tail_waste/objects of the class */
} sc_expect_t;

/* Adds count allocations of size bytes to e. */
void sc_expect_add(sc_expect_t *e, const sc_table_t *t, uint64_t size, uint64_t count);

void sc_table_free(sc_table_t *t);

#endif
