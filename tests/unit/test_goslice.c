/*
 * Go's growslice and roundupsize. The expected capacity sequences were derived
 * by hand from runtime/slice.go (nextslicecap, growslice) and runtime/msize.go
 * (roundupsize, with the Go 1.22 malloc header for pointerful objects > 512 B),
 * appending one element at a time to a nil slice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "goslice.h"
#include "pattern.h"

static void check_seq(size_t elem, bool noscan, const uint64_t *want, size_t n)
{
	uint64_t cap = 0;
	for (size_t i = 0; i < n; i++) {
		cap = mb_go_growslice_cap(cap, cap + 1, elem, noscan);
		if (cap != want[i])
			fail_msg("elemsize %zu %s: growth %zu gave cap %llu, Go gives %llu", elem,
				 noscan ? "noscan" : "scan", i, (unsigned long long)cap,
				 (unsigned long long)want[i]);
	}
}

#define SEQ(elem, noscan, ...)                                                  \
	do {                                                                    \
		static const uint64_t w_[] = {__VA_ARGS__};                     \
		check_seq(elem, noscan, w_, sizeof(w_) / sizeof(w_[0]));        \
	} while (0)

static void test_elem1(void **st)
{
	/* []byte: 1 -> roundupsize(1) = 8; 512 -> 832 -> class 896; ... */
	SEQ(1, true, 8, 16, 32, 64, 128, 256, 512, 896, 1408, 2048, 3072, 4096, 5376, 6912,
	    9472);
}

static void test_elem8(void **st)
{
	/* []int: 512 -> 832 elems = 6656 B -> class 6784 = 848 elems; the last one
	 * passes 32 KiB and rounds to pages: 4452 * 8 = 35616 -> 40960 B */
	SEQ(8, true, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 848, 1280, 1792, 2560, 3408,
	    5120);
	/* []*T: from 1024 B on, an 8 B malloc header is taken from the class slot:
	 * 128 elems = 1024 B + 8 -> class 1152, less the header -> 143 elems */
	SEQ(8, false, 1, 2, 4, 8, 16, 32, 64, 143, 287, 607);
}

static void test_elem24(void **st)
{
	/* a 24-byte noscan struct: 512 -> 832 elems = 19968 B -> 20480 = 853;
	 * 1365 -> 1898 elems = 45552 B -> 6 pages = 2048 elems */
	SEQ(24, true, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 853, 1365, 2048, 3072);
}

static void test_elem1000(void **st)
{
	/* a 1000-byte struct: 64 elems = 64000 B is large -> 8 pages = 65 elems */
	SEQ(1000, true, 1, 2, 4, 8, 16, 32, 65, 131, 262, 524);
}

static void test_roundupsize(void **st)
{
	assert_int_equal(mb_go_roundupsize(0, true), 0);
	assert_int_equal(mb_go_roundupsize(1, true), 8);
	assert_int_equal(mb_go_roundupsize(33, true), 48);
	assert_int_equal(mb_go_roundupsize(513, true), 576);
	assert_int_equal(mb_go_roundupsize(512, false), 512);  /* no header at 512 */
	assert_int_equal(mb_go_roundupsize(513, false), 568);  /* 521 -> 576, less 8 */
	assert_int_equal(mb_go_roundupsize(32760, true), 32768);
	assert_int_equal(mb_go_roundupsize(32761, true), 32768); /* past 32760: large path */
	assert_int_equal(mb_go_roundupsize(32768, true), 32768); /* large path, 4 pages */
	assert_int_equal(mb_go_roundupsize(32769, true), 40960);
	assert_int_equal(mb_go_roundupsize(40961, true), 49152);
	/* many appends at once: more than double -> exactly newLen, then rounded */
	assert_int_equal(mb_go_growslice_cap(0, 5, 8, true), 6);
	assert_int_equal(mb_go_growslice_cap(10, 100, 8, true), 112); /* 800 B -> 896 */
	assert_int_equal(mb_go_growslice_cap(300, 301, 8, true), 608); /* 567 -> 4536 B -> 4864 */
}

static void test_classes(void **st)
{
	assert_int_equal(mb_go_class_size[MB_GO_NUM_CLASSES - 1], 32768);
	for (int i = 1; i < MB_GO_NUM_CLASSES; i++) {
		assert_true(mb_go_class_size[i] > mb_go_class_size[i - 1]);
		assert_int_equal(mb_go_class_size[i] % 8, 0);
		assert_int_equal(mb_go_size_class(mb_go_class_size[i]), i);
		assert_int_equal(mb_go_size_class(mb_go_class_size[i - 1] + 1), i);
	}
	assert_int_equal(mb_go_size_class(32769), -1);
}

/* The per-size counts are by Go size class up to 32 KiB, by power of two above. */
static void test_buckets(void **st)
{
	for (size_t size = 0; size <= 32768; size++) {
		unsigned b = mb_bucket(size);
		assert_int_equal((int)b, mb_go_size_class(size));
		assert_true(mb_bucket_max(b) >= size);
		assert_true(b == 0 || mb_bucket_max(b - 1) < size);
	}
	assert_int_equal(mb_bucket(32769), MB_BUCKET_LARGE);
	assert_int_equal(mb_bucket_max(MB_BUCKET_LARGE), 65536);
	assert_int_equal(mb_bucket(65536), MB_BUCKET_LARGE);
	assert_int_equal(mb_bucket(65537), MB_BUCKET_LARGE + 1);
	assert_int_equal(mb_bucket((size_t)1 << 34), MB_BUCKET_LARGE + 18); /* (16 GiB/2, 16 GiB] */
	assert_int_equal(mb_bucket((size_t)1 << 40), MB_NBUCKET - 1);
	assert_int_equal(mb_bucket(SIZE_MAX), MB_NBUCKET - 1);
	for (size_t s = 32769; s < ((size_t)1 << 30); s = s * 3 / 2) {
		unsigned b = mb_bucket(s);
		assert_true(mb_bucket_max(b) >= s && mb_bucket_max(b - 1) < s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elem1),     cmocka_unit_test(test_elem8),
		cmocka_unit_test(test_elem24),    cmocka_unit_test(test_elem1000),
		cmocka_unit_test(test_roundupsize), cmocka_unit_test(test_classes), cmocka_unit_test(test_buckets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
