/*
 * Size-class tables (analysis/sizeclasses.c) against rows of Go's
 * runtime/sizeclasses.go comment table.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sizeclasses.h"

/* class, bytes/obj, bytes/span, objects, tail waste, max waste %, as Go prints them */
static const struct { unsigned cls; uint64_t size, span, objects, tail; double max; } known[] = {
	{1, 8, 8192, 1024, 0, 87.50},     {3, 24, 8192, 341, 8, 29.24},
	{5, 48, 8192, 170, 32, 31.52},    {11, 144, 8192, 56, 128, 11.82},
	{23, 416, 8192, 19, 288, 10.71},  {35, 1408, 16384, 11, 896, 14.00},
	{41, 3072, 24576, 8, 0, 12.47},   {43, 3456, 24576, 7, 384, 8.83},
	{50, 6912, 49152, 7, 768, 3.37},  {52, 9472, 57344, 6, 512, 14.28},
	{60, 18432, 73728, 4, 0, 11.11},  {65, 27264, 81920, 3, 128, 10.00},
	{67, 32768, 32768, 1, 0, 12.50},
};

static void test_go_known_rows(void **state)
{
	sc_table_t t;
	assert_int_equal(sc_table_go(&t), 0);
	assert_int_equal(t.n, 67);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		sc_row_t r;
		sc_row(&t, known[i].cls - 1, &r);
		assert_int_equal(r.cls, known[i].cls);
		assert_int_equal(r.size, known[i].size);
		assert_int_equal(r.span_bytes, known[i].span);
		assert_int_equal(r.objects, known[i].objects);
		assert_int_equal(r.tail_waste, known[i].tail);
		assert_true(fabs(r.max_waste - known[i].max) < 0.006);
	}
	sc_table_free(&t);
}

static void test_go_format(void **state)
{
	sc_table_t t;
	sc_table_go(&t);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	sc_print(f, &t);
	fclose(f);
	/* the header and rows exactly as in Go's sizeclasses.go */
	assert_non_null(strstr(buf, "// class  bytes/obj  bytes/span  objects  tail waste  "
				    "max waste  min align\n"));
	assert_non_null(strstr(buf, "//     1          8        8192     1024           0     "
				    "87.50%          8\n"));
	assert_non_null(strstr(buf, "//    35       1408       16384       11         896     "
				    "14.00%        128\n"));
	assert_non_null(strstr(buf, "//    67      32768       32768        1           0     "
				    "12.50%       8192\n"));
	free(buf);
	sc_table_free(&t);
}

static void test_lookup_and_expect(void **state)
{
	sc_table_t t;
	sc_table_go(&t);
	assert_int_equal(t.v[sc_lookup(&t, 1)].size, 8);
	assert_int_equal(t.v[sc_lookup(&t, 8)].size, 8);
	assert_int_equal(t.v[sc_lookup(&t, 9)].size, 16);
	assert_int_equal(t.v[sc_lookup(&t, 1025)].size, 1152);
	assert_int_equal(sc_lookup(&t, 32768), 66);
	assert_int_equal(sc_lookup(&t, 32769), t.n);
	sc_expect_t e = {0};
	sc_expect_add(&e, &t, 17, 10);     /* class 24 (341 objects, 8 bytes of tail) */
	sc_expect_add(&e, &t, 40000, 2);   /* large */
	assert_int_equal(e.allocs, 10);
	assert_int_equal(e.bytes, 170);
	assert_int_equal(e.internal, 70);
	assert_true(fabs(e.tail - 10.0 * 8.0 / 341.0) < 1e-12);
	assert_int_equal(e.large_allocs, 2);
	assert_int_equal(e.large_bytes, 80000);
	sc_table_free(&t);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/mb-sc-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	sc_table_t t;
	char err[600];
	char *p = write_tmp("# size span\n16 4096\n48, 12288\n\n100 8192 # odd\n");
	assert_int_equal(sc_table_load(&t, p, err, sizeof(err)), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.v[1].size, 48);
	assert_int_equal(t.v[1].span_bytes, 12288);
	sc_row_t r;
	sc_row(&t, 2, &r);
	assert_int_equal(r.objects, 81);
	assert_int_equal(r.tail_waste, 92);
	sc_table_free(&t);
	unlink(p);

	/* Go's own comment rows */
	p = write_tmp("// class  bytes/obj  bytes/span  objects  tail waste  max waste  min align\n"
		      "//     1          8        8192     1024           0     87.50%          8\n"
		      "//     2         16        8192      512           0     43.75%         16\n");
	assert_int_equal(sc_table_load(&t, p, err, sizeof(err)), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[1].size, 16);
	assert_int_equal(t.v[1].span_bytes, 8192);
	sc_table_free(&t);
	unlink(p);

	/* sizes must increase; the error names file and line */
	p = write_tmp("64 8192\n32 8192\n");
	assert_int_equal(sc_table_load(&t, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: "));
	unlink(p);
	p = write_tmp("64\n");
	assert_int_equal(sc_table_load(&t, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: expected"));
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_known_rows),
		cmocka_unit_test(test_go_format),
		cmocka_unit_test(test_lookup_and_expect),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
