/*
 * How many of the pages [base, base + npages pages) the page heap counts
 * released (returned to the OS, or never touched), read under the heap lock.
 */
#ifndef SPAN_TESTS_RELEASED_H
#define SPAN_TESTS_RELEASED_H

#include "span_internal.h"

static inline uint64_t released_pages(uintptr_t base, size_t npages)
{
	mheap_lock();
	uint64_t n = mheap_released_op(base, npages, MHEAP_REL_COUNT);
	mheap_unlock();
	return n;
}

#endif
