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

/* Go's size_to_class8 (sizes <= 1024, by 8 bytes) and size_to_class128
 * (1024 < size <= 32768, by 128 bytes): O(1) lookups, filled at start-up
 * from class_size by the same rule (smallest class that holds the size). */
#define SMALL_MAX 1024
static uint8_t size_to_class8[SMALL_MAX / 8 + 1];
static uint8_t size_to_class128[(MB_GO_MAX_SMALL - SMALL_MAX) / 128 + 1];

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
	for (size_t i = 0; i < sizeof(size_to_class8); i++)
		size_to_class8[i] = (uint8_t)class_search(i * 8);
	for (size_t i = 0; i < sizeof(size_to_class128); i++)
		size_to_class128[i] = (uint8_t)class_search(SMALL_MAX + i * 128);
	for (size_t i = 0; i < MB_GO_MAX_SMALL / 8 + 1; i++)
		mb_bucket_off8[i] = (uint16_t)(class_search(i * 8) * sizeof(mb_opcount_t));
}

int mb_go_size_class(size_t size)
{
	if (size <= SMALL_MAX - 8) /* Go: smallSizeMax - 8 */
		return size_to_class8[(size + 7) / 8];
	if (size <= MB_GO_MAX_SMALL)
		return size_to_class128[(size - SMALL_MAX + 127) / 128];
	return -1;
}

size_t mb_go_roundupsize(size_t size, bool noscan)
{
	size_t req = size;
	if (req <= MB_GO_MAX_SMALL - MB_GO_MALLOC_HEADER) {
		if (!noscan && req > MB_GO_MALLOC_HEADER_MIN)
			req += MB_GO_MALLOC_HEADER;
		/* the header is inside the slot: what the slice can use is the class
		 * size less the header */
		return mb_go_class_size[mb_go_size_class(req)] - (req - size);
	}
	req += MB_GO_PAGE_SIZE - 1;
	if (req < size) /* overflow */
		return size;
	return req & ~(size_t)(MB_GO_PAGE_SIZE - 1);
}

uint64_t mb_go_nextslicecap(uint64_t newlen, uint64_t oldcap)
{
	uint64_t newcap = oldcap, doublecap = newcap + newcap;
	if (newlen > doublecap)
		return newlen;
	const uint64_t threshold = 256;
	if (oldcap < threshold)
		return doublecap;
	/* transition from 2x for small slices to 1.25x for large ones, smoothly */
	do
		newcap += (newcap + 3 * threshold) >> 2;
	while (newcap < newlen);
	return newcap;
}

uint64_t mb_go_growslice_cap(uint64_t oldcap, uint64_t newlen, size_t elemsize, bool noscan)
{
	uint64_t newcap = mb_go_nextslicecap(newlen, oldcap);
	size_t mem = mb_go_roundupsize((size_t)newcap * elemsize, noscan);
	return mem / elemsize;
}

uint64_t mb_bucket_max(unsigned b)
{
	if (b < MB_BUCKET_LARGE)
		return mb_go_class_size[b];
	if (b >= MB_NBUCKET - 1)
		return UINT64_MAX;
	return 32768ull << (b - MB_BUCKET_LARGE + 1);
}
