/*
 * Size classes: the generated table is Go's, and the O(1) lookups agree with
 * a linear search over it, for every size; the drop-in face's bigger spans.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsan_options.h"
#include "span_internal.h"

/* Go's runtime/sizeclasses.go (Go 1.21..1.23): bytes/obj and pages/span. */
static const struct { int size, npages; } go_table[SPAN_NUM_CLASSES] = {
	{0, 0}, {8, 1}, {16, 1}, {24, 1}, {32, 1}, {48, 1}, {64, 1}, {80, 1}, {96, 1},
	{112, 1}, {128, 1}, {144, 1}, {160, 1}, {176, 1}, {192, 1}, {208, 1}, {224, 1},
	{240, 1}, {256, 1}, {288, 1}, {320, 1}, {352, 1}, {384, 1}, {416, 1}, {448, 1},
	{480, 1}, {512, 1}, {576, 1}, {640, 1}, {704, 1}, {768, 1}, {896, 1}, {1024, 1},
	{1152, 1}, {1280, 1}, {1408, 2}, {1536, 1}, {1792, 2}, {2048, 1}, {2304, 2},
	{2688, 1}, {3072, 3}, {3200, 2}, {3456, 3}, {4096, 1}, {4864, 3}, {5376, 2},
	{6144, 3}, {6528, 4}, {6784, 5}, {6912, 6}, {8192, 1}, {9472, 7}, {9728, 6},
	{10240, 5}, {10880, 4}, {12288, 3}, {13568, 5}, {14336, 7}, {16384, 2},
	{18432, 9}, {19072, 7}, {20480, 5}, {21760, 8}, {24576, 3}, {27264, 10},
	{28672, 7}, {32768, 4},
};

static void test_table_is_gos(void **state)
{
	(void)state;
	for (int c = 1; c < SPAN_NUM_CLASSES; c++) {
		assert_int_equal(sizeclasses_size[c], go_table[c].size);
		assert_int_equal(sizeclasses_npages[c], go_table[c].npages);
		assert_int_equal(sizeclasses_nelems[c],
				 go_table[c].npages * SPAN_PAGE_SIZE / go_table[c].size);
	}
	/* The anchors: 8 B in one page (1024 objects), 24 B: 341 objects
	 * and 8 bytes of tail waste, 32 KiB last. */
	assert_int_equal(sizeclasses_nelems[1], 1024);
	assert_int_equal(sizeclasses_nelems[3], 341);
	assert_int_equal(8192 - 341 * 24, 8);
	assert_int_equal(sizeclasses_size[SPAN_NUM_CLASSES - 1], 32768);
}

/* Every class keeps Go's promises: tail waste <= 1/8 of the span. */
static void test_tail_waste_bound(void **state)
{
	(void)state;
	for (int c = 1; c < SPAN_NUM_CLASSES; c++) {
		int span = sizeclasses_npages[c] * SPAN_PAGE_SIZE;
		assert_true(span % sizeclasses_size[c] <= span / 8);
		assert_true(sizeclasses_size[c] > sizeclasses_size[c - 1]);
	}
}

static unsigned linear_class(size_t size, unsigned align)
{
	for (unsigned c = 1; c < SPAN_NUM_CLASSES; c++)
		if (sizeclasses_size[c] >= size && sizeclasses_size[c] % align == 0)
			return c;
	return 0;
}

static void test_lookup_every_size(void **state)
{
	(void)state;
	for (size_t size = 1; size <= SPAN_MAX_SMALL; size++) {
		unsigned c = sizeclasses_class(size);
		assert_int_equal(c, linear_class(size, 1));
		if (size <= SMALL_DIV_MAX) {
			unsigned a = sizeclasses_class8_a16[(size + 7) >> 3];
			assert_int_equal(a, linear_class(size, 16));
			assert_int_equal(sizeclasses_size[a] % 16, 0);
		} else {
			assert_int_equal(sizeclasses_size[c] % 16, 0);
		}
	}
	assert_int_equal(sizeclasses_class(0 + 1), 1);
	assert_int_equal(sizeclasses_class8_a16[1], 2); /* 8 B -> 16 B in the drop-in */
	assert_int_equal(sizeclasses_size[sizeclasses_class8_a16[3]], 32); /* 24 -> 32 */
}

/* The drop-in face's spans: Go's where Go's span has at least 4 pages (32
 * KiB), else the smallest of at least 4 pages with tail waste <= 1/8; as
 * many objects as fit. */
static void test_dropin_spans(void **state)
{
	(void)state;
	for (int c = 1; c < SPAN_NUM_CLASSES; c++) {
		int size = sizeclasses_size[c], n = sizeclasses_npages_dropin[c];
		if (sizeclasses_npages[c] >= 4) {
			assert_int_equal(n, sizeclasses_npages[c]);
		} else {
			assert_true(n >= 4);
			for (int k = 4; k < n; k++) /* none smaller would do */
				assert_true((k * SPAN_PAGE_SIZE) % size > k * SPAN_PAGE_SIZE / 8);
		}
		assert_true((n * SPAN_PAGE_SIZE) % size <= n * SPAN_PAGE_SIZE / 8);
		assert_int_equal(sizeclasses_nelems_dropin[c], n * SPAN_PAGE_SIZE / size);
	}
	assert_int_equal(sizeclasses_npages_dropin[2], 4); /* 16 B: 2048 in 32 KiB */
	assert_int_equal(sizeclasses_nelems_dropin[2], 2048);
}

/* Go's divMagic and the occupancy histogram's reciprocal replace divisions
 * exactly, for every offset in a span and every in-use count, with either
 * face's spans. */
static void test_division_free(void **state)
{
	(void)state;
	assert_int_equal(span_init(), 0);
	assert_ptr_equal(mcentral_npages, sizeclasses_npages); /* the library face: Go's */
	for (int dropin = 0; dropin < 2; dropin++) {
		mcentral_init(dropin); /* no span allocated yet in this process */
		for (int c = 1; c < SPAN_NUM_CLASSES; c++) {
			uint32_t size = sizeclasses_size[c], span = mcentral_npages[c] * SPAN_PAGE_SIZE;
			for (uint64_t off = 0; off < span; off++)
				if (((off * sizeclasses_divmagic[c]) >> 32) != off / size)
					fail_msg("class %d offset %lu", c, (unsigned long)off);
			span_t s = { .spc = (uint8_t)(c << 1), .nelems = mcentral_nelems[c] };
			for (uint32_t used = 0; used <= s.nelems; used++) {
				s.used = (uint16_t)used;
				int want = used == 0 ? 0 : 1 + (int)((used * 8 - 1) / s.nelems);
				assert_int_equal(mcentral_bucket(&s), want);
			}
		}
	}
	assert_ptr_equal(mcentral_npages, sizeclasses_npages_dropin);
	mcentral_init(false);
	assert_ptr_equal(mcentral_npages, sizeclasses_npages); /* this face's */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_gos),
		cmocka_unit_test(test_tail_waste_bound),
		cmocka_unit_test(test_lookup_every_size),
		cmocka_unit_test(test_dropin_spans),
		cmocka_unit_test(test_division_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
