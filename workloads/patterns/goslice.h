/*
 * Go's slice growth and size rounding, as the Go runtime computes them
 * (runtime/slice.go nextslicecap + growslice, runtime/msize.go roundupsize,
 * runtime/sizeclasses.go). The large-slice and composite patterns use these so
 * that the capacities, and so the sizes asked of the allocator, are Go's.
 */
#ifndef MB_GOSLICE_H
#define MB_GOSLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB_GO_PAGE_SIZE 8192u       /* _PageSize: 1 << _PageShift (13) */
#define MB_GO_MAX_SMALL 32768u      /* _MaxSmallSize: larger objects take the large path */
#define MB_GO_NUM_CLASSES 68        /* _NumSizeClasses, class 0 included */
/* Go 1.22+ allocation headers: a pointerful object larger than
 * minSizeForMallocHeader (PtrSize * ptrBits = 8 * 64 = 512 bytes) carries an
 * 8-byte header (mallocHeaderSize) inside its size class slot. */
#define MB_GO_MALLOC_HEADER_MIN 512u
#define MB_GO_MALLOC_HEADER 8u

/* class_to_size of sizeclasses.go: the object size of each size class. */
extern const uint32_t mb_go_class_size[MB_GO_NUM_CLASSES];

/* Go's size_to_class8 (sizes <= 1024, by 8 bytes) and size_to_class128
 * (1024 < size <= 32768, by 128 bytes), filled at start-up (goslice.c). */
#define MB_GO_SMALL_MAX 1024        /* smallSizeMax */
extern uint8_t mb_go_size_to_class8[MB_GO_SMALL_MAX / 8 + 1];
extern uint8_t mb_go_size_to_class128[(MB_GO_MAX_SMALL - MB_GO_SMALL_MAX) / 128 + 1];

/* These are inline, as the Go runtime's are (growslice is on every append
 * that grows): a table load for the class, a shift for the capacity where
 * the element size is a power of two. */

/* The size class of a small object of size bytes (1..32768): smallest class
 * whose size is >= size. 0 for size 0; -1 above MB_GO_MAX_SMALL. O(1). */
static inline int mb_go_size_class(size_t size)
{
	if (size <= MB_GO_SMALL_MAX - 8) /* Go: smallSizeMax - 8 */
		return mb_go_size_to_class8[(size + 7) / 8];
	if (size <= MB_GO_MAX_SMALL)
		return mb_go_size_to_class128[(size - MB_GO_SMALL_MAX + 127) / 128];
	return -1;
}

/* roundupsize(size, noscan): the bytes mallocgc really reserves for a request
 * of size bytes, minus the malloc header where one is taken from the slot:
 * small sizes round up to their class, large ones to a multiple of 8 KiB. */
static inline size_t mb_go_roundupsize(size_t size, bool noscan)
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

/* nextslicecap(newLen, oldCap) of Go 1.20+: double below 256 elements, then
 * grow by (newcap + 3*256) / 4 until newLen fits; newLen if more than double. */
static inline uint64_t mb_go_nextslicecap(uint64_t newlen, uint64_t oldcap)
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

/* growslice's capacity: nextslicecap, then the memory rounded up by roundupsize
 * and the capacity that memory holds (memory / elemsize: a shift for a power
 * of two, as growslice's cases do). elemsize >= 1. */
static inline uint64_t mb_go_growslice_cap(uint64_t oldcap, uint64_t newlen, size_t elemsize,
					   bool noscan)
{
	uint64_t newcap = mb_go_nextslicecap(newlen, oldcap);
	size_t mem = mb_go_roundupsize((size_t)newcap * elemsize, noscan);
	if ((elemsize & (elemsize - 1)) == 0)
		return mem >> __builtin_ctzll((unsigned long long)elemsize);
	return mem / elemsize;
}

#endif
