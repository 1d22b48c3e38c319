/*
 * mksizeclasses: generates sizeclasses.c, the size-class table.
 * See malloc.c for an overview. Run by `make gen`; `make check-gen` fails when
 * the committed file differs from this program's output.
 *
 * The algorithm is Go's (runtime/mksizeclasses.go), rewritten in C:
 *   1. Walk sizes from 8 B to 32 KiB in steps of the current alignment, which
 *      grows at powers of two: 16 from 32 B, size/8 from 128 B, 256 from 2 KiB.
 *   2. For each size pick the smallest span (in 8 KiB pages) whose tail
 *      (span bytes mod size) is at most 1/8 of the span.
 *   3. If the previous class has the same pages and the same object count,
 *      the larger size replaces it (same span, fewer classes).
 *   4. Grow each class to the largest size that still fits the same number of
 *      objects in its span, keeping 128-byte granularity so the 128-byte
 *      lookup table stays exact.
 * The result must be Go's table: 67 classes plus class 0 for large objects.
 *
 * Output: the per-class arrays, two lookup tables for O(1) size -> class
 * (8-byte steps up to 1 KiB, 128-byte steps up to 32 KiB), and a third one
 * for the drop-in malloc face, whose classes must keep 16-byte alignment.
 * The drop-in face also has its own pages per span: Go's where Go's span is
 * at least DROPIN_MIN_PAGES (32 KiB), else the smallest span of at least
 * that many pages whose tail is at most 1/8 of it (Go's rule 2 with a
 * floor). Object sizes are the same; the comment table is Go's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum {
	PAGE_SHIFT = 13,
	PAGE_SIZE = 1 << PAGE_SHIFT,
	MIN_ALIGN = 8,            /* Go: minHeapAlign */
	MAX_SMALL = 32 << 10,     /* Go: maxSmallSize */
	SMALL_DIV = 8,            /* step of the first lookup table */
	SMALL_MAX = 1024,         /* its range */
	LARGE_DIV = 128,          /* step of the second lookup table */
	NUM_CLASSES = 68,         /* Go's count, class 0 included */
	DROPIN_ALIGN = 16,        /* malloc's guarantee on x86-64 */
	DROPIN_MIN_PAGES = 4,     /* the drop-in face's smallest span: 32 KiB */
};

typedef struct {
	int size, npages;
} class_t;

static class_t classes[NUM_CLASSES + 8];
static int nclasses;

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

static void make_classes(void)
{
	int align = MIN_ALIGN;
	nclasses = 1; /* class 0: large objects */
	for (int size = align; size <= MAX_SMALL; size += align) {
		if (is_pow2(size)) {
			if (size >= 2048)
				align = 256;
			else if (size >= 128)
				align = size / 8;
			else if (size >= 32)
				align = 16;
		}
		int span = PAGE_SIZE;
		while (span % size > span / 8)
			span += PAGE_SIZE;
		int npages = span / PAGE_SIZE;
		class_t *prev = &classes[nclasses - 1];
		if (nclasses > 1 && npages == prev->npages && span / size == span / prev->size) {
			prev->size = size;
			continue;
		}
		if (nclasses == NUM_CLASSES + 8) {
			fprintf(stderr, "mksizeclasses: too many classes\n");
			exit(1);
		}
		classes[nclasses++] = (class_t){ size, npages };
	}
	for (int i = 1; i < nclasses; i++) {
		int span = classes[i].npages * PAGE_SIZE;
		int grown = (span / (span / classes[i].size)) & ~(LARGE_DIV - 1);
		if (grown > classes[i].size)
			classes[i].size = grown;
	}
	if (nclasses != NUM_CLASSES) {
		fprintf(stderr, "mksizeclasses: %d classes, Go has %d\n", nclasses, NUM_CLASSES);
		exit(1);
	}
}

/* Pages per span of class i in the drop-in face. */
static int dropin_npages(int i)
{
	int size = classes[i].size, span = classes[i].npages * PAGE_SIZE;
	if (classes[i].npages >= DROPIN_MIN_PAGES)
		return classes[i].npages;
	span = DROPIN_MIN_PAGES * PAGE_SIZE;
	while (span % size > span / 8)
		span += PAGE_SIZE;
	return span / PAGE_SIZE;
}

static int ctz(unsigned x) { return __builtin_ctz(x); }

/* Go's comment table; max waste is the worst case of an object one byte
 * larger than the previous class: ((size - prev - 1) * objects + tail) / span. */
static void print_comment(void)
{
	int prev = 0, min_align[PAGE_SHIFT + 1] = { 0 };
	printf("// %-5s  %-9s  %-10s  %-7s  %-10s  %-9s  %-9s\n", "class", "bytes/obj",
	       "bytes/span", "objects", "tail waste", "max waste", "min align");
	for (int i = 1; i < nclasses; i++) {
		class_t c = classes[i];
		int span = c.npages * PAGE_SIZE, objects = span / c.size;
		int tail = span - c.size * objects;
		double max_waste = (double)((c.size - prev - 1) * objects + tail) / span;
		int bits = ctz((unsigned)c.size);
		if (bits > PAGE_SHIFT)
			bits = PAGE_SHIFT; /* objects are at most page aligned */
		for (int b = 0; b <= PAGE_SHIFT; b++) {
			if (b > bits)
				min_align[b] = 0;
			else if (min_align[b] == 0)
				min_align[b] = c.size;
		}
		prev = c.size;
		printf("// %5d  %9d  %10d  %7d  %10d  %8.2f%%  %9d\n", i, c.size, span, objects,
		       tail, 100 * max_waste, 1 << bits);
	}
	printf("\n// %-9s  %-4s  %-12s\n", "alignment", "bits", "min obj size");
	for (int b = 0; b <= PAGE_SHIFT; b++) {
		if (min_align[b] == 0)
			break;
		if (b + 1 <= PAGE_SHIFT && min_align[b] == min_align[b + 1])
			continue;
		printf("// %9d  %4d  %12d\n", 1 << b, b, min_align[b]);
	}
	printf("\n");
}

/* Smallest class holding size bytes whose size is a multiple of align. */
static int class_for(int size, int align)
{
	for (int i = 1; i < nclasses; i++)
		if (classes[i].size >= size && classes[i].size % align == 0)
			return i;
	fprintf(stderr, "mksizeclasses: no class for %d\n", size);
	exit(1);
}

static void print_table(const char *decl, int n, int step, int base, int align)
{
	printf("%s[%d] = {", decl, n);
	for (int i = 0; i < n; i++) {
		int size = i == 0 && base == 0 ? 1 : base + i * step;
		if (size < 1)
			size = 1;
		printf("%s%d,", i % 16 ? " " : "\n\t", class_for(size, align));
	}
	printf("\n};\n\n");
}

int main(void)
{
	make_classes();
	printf("/* sizeclasses.c: generated; do not edit. Code generated by mksizeclasses.c\n"
	       " * (`make gen`); DO NOT EDIT. See malloc.c for an overview. */\n\n");
	print_comment();
	printf("#include \"span_internal.h\"\n\n");
	printf("/* Object size of each class; class 0 stands for large objects. */\n");
	printf("const uint16_t sizeclasses_size[SPAN_NUM_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		printf("%s%d,", i % 12 ? " " : "\n\t", classes[i].size);
	printf("\n};\n\n/* Pages per span of each class. */\n");
	printf("const uint8_t sizeclasses_npages[SPAN_NUM_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		printf("%s%d,", i % 16 ? " " : "\n\t", classes[i].npages);
	printf("\n};\n\n/* Objects per span of each class. */\n");
	printf("const uint16_t sizeclasses_nelems[SPAN_NUM_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		printf("%s%d,", i % 12 ? " " : "\n\t",
		       i ? classes[i].npages * PAGE_SIZE / classes[i].size : 0);
	printf("\n};\n\n");
	printf("/* The drop-in face's pages and objects per span: at least %d pages (Go's\n"
	       " * rule 2 from there up) where Go's span is smaller. Fewer, bigger spans\n"
	       " * keep the free path's span structs in cache (allocators/span/BENCH.md). */\n",
	       DROPIN_MIN_PAGES);
	printf("const uint8_t sizeclasses_npages_dropin[SPAN_NUM_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		printf("%s%d,", i % 16 ? " " : "\n\t", i ? dropin_npages(i) : 0);
	printf("\n};\n\n");
	printf("const uint16_t sizeclasses_nelems_dropin[SPAN_NUM_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		printf("%s%d,", i % 12 ? " " : "\n\t",
		       i ? dropin_npages(i) * PAGE_SIZE / classes[i].size : 0);
	printf("\n};\n\n");
	printf("/* Go's divMagic: offset / size == (offset * magic) >> 32 for every offset\n"
	       " * inside the class's span in either face (checked here), so the free path\n"
	       " * needs no division. */\n");
	printf("const uint32_t sizeclasses_divmagic[SPAN_NUM_CLASSES] = {");
	for (int i = 0; i < nclasses; i++) {
		uint32_t magic = i ? UINT32_MAX / (uint32_t)classes[i].size + 1 : 0;
		for (uint64_t off = 0; i && off < (uint64_t)dropin_npages(i) * PAGE_SIZE; off++)
			if (((off * magic) >> 32) != off / (uint64_t)classes[i].size) {
				fprintf(stderr, "mksizeclasses: divMagic fails for class %d\n", i);
				exit(1);
			}
		printf("%s%u,", i % 6 ? " " : "\n\t", magic);
	}
	printf("\n};\n\n");
	printf("/* size -> class: [(size + 7) / 8] for size <= %d, and\n"
	       " * [(size - %d + 127) / 128] for size <= %d (Go: size_to_class8/128). */\n",
	       SMALL_MAX, SMALL_MAX, MAX_SMALL);
	print_table("const uint8_t sizeclasses_class8", SMALL_MAX / SMALL_DIV + 1, SMALL_DIV, 0, 1);
	print_table("const uint8_t sizeclasses_class128", (MAX_SMALL - SMALL_MAX) / LARGE_DIV + 1,
		    LARGE_DIV, SMALL_MAX, 1);
	printf("/* The drop-in face's [(size + 7) / 8]: only classes whose size is a multiple\n"
	       " * of %d, so every malloc result is %d-byte aligned. Above %d bytes every\n"
	       " * class already is, and sizeclasses_class128 serves both faces. */\n",
	       DROPIN_ALIGN, DROPIN_ALIGN, SMALL_MAX);
	print_table("const uint8_t sizeclasses_class8_a16", SMALL_MAX / SMALL_DIV + 1, SMALL_DIV, 0,
		    DROPIN_ALIGN);
	for (int i = SMALL_MAX + 1; i <= MAX_SMALL; i++)
		if (classes[class_for(i, 1)].size % DROPIN_ALIGN) {
			fprintf(stderr, "mksizeclasses: class above %d not %d-aligned\n", SMALL_MAX,
				DROPIN_ALIGN);
			return 1;
		}
	return 0;
}
