/*
 * Go's slice growth and size rounding. See goslice.h.
 */
#include "goslice.h"
#include "pattern.h"

/* runtime/sizeclasses.go, class_to_size (Go 1.21 and later): 67 classes from 8
 * bytes to 32 KiB, chosen by mksizeclasses.go so that tail waste per span and
 * rounding waste per object both stay at or below 12.5%. */
const uint32_t mb_go_class_size[MB_GO_NUM_CLASSES] = {
	0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
	256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152,
	1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144,
	6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384,
	18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
};

/* Filled at start-up from class_size by the rule of mksizeclasses.go:
 * smallest class that holds the size. */
uint8_t mb_go_size_to_class8[MB_GO_SMALL_MAX / 8 + 1];
uint8_t mb_go_size_to_class128[(MB_GO_MAX_SMALL - MB_GO_SMALL_MAX) / 128 + 1];

static int class_search(size_t size)
{
	int lo = 0, hi = MB_GO_NUM_CLASSES - 1; /* class_size[hi] >= size always */
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (mb_go_class_size[mid] >= size)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

uint16_t mb_bucket_off8[MB_GO_MAX_SMALL / 8 + 1];

__attribute__((constructor)) static void goslice_tables(void)
{
	for (size_t i = 0; i < sizeof(mb_go_size_to_class8); i++)
		mb_go_size_to_class8[i] = (uint8_t)class_search(i * 8);
	for (size_t i = 0; i < sizeof(mb_go_size_to_class128); i++)
		mb_go_size_to_class128[i] = (uint8_t)class_search(MB_GO_SMALL_MAX + i * 128);
	for (size_t i = 0; i < MB_GO_MAX_SMALL / 8 + 1; i++)
		mb_bucket_off8[i] = (uint16_t)(class_search(i * 8) * sizeof(mb_opcount_t));
}

uint64_t mb_bucket_max(unsigned b)
{
	if (b < MB_BUCKET_LARGE)
		return mb_go_class_size[b];
	if (b >= MB_NBUCKET - 1)
		return UINT64_MAX;
	return 32768ull << (b - MB_BUCKET_LARGE + 1);
}
