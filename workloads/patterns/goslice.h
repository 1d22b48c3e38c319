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

/* The size class of a small object of size bytes (1..32768): smallest class
 * whose size is >= size. 0 for size 0; -1 above MB_GO_MAX_SMALL. O(log 68). */
int mb_go_size_class(size_t size);

/* roundupsize(size, noscan): the bytes mallocgc really reserves for a request
 * of size bytes, minus the malloc header where one is taken from the slot:
 * small sizes round up to their class, large ones to a multiple of 8 KiB. */
size_t mb_go_roundupsize(size_t size, bool noscan);

/* nextslicecap(newLen, oldCap) of Go 1.20+: double below 256 elements, then
 * grow by (newcap + 3*256) / 4 until newLen fits; newLen if more than double. */
uint64_t mb_go_nextslicecap(uint64_t newlen, uint64_t oldcap);

/* growslice's capacity: nextslicecap, then the memory rounded up by roundupsize
 * and the capacity that memory holds (memory / elemsize). elemsize >= 1. */
uint64_t mb_go_growslice_cap(uint64_t oldcap, uint64_t newlen, size_t elemsize, bool noscan);

#endif
