/*
 * The scavenger: returns free pages of the page heap to the OS (madvise), in
 * runs of >= 64 KiB, tracking released pages in the page map's bits apart
 * from the resident free ones (Go's free/scavenged split). See malloc.c for
 * an overview and mheap.c for the page heap it works on; every function here
 * runs under the heap lock but mscav_init (under span_init's lock), its parser
 * and mscav_age_ms.
 */
#include <stdlib.h>
#include <unistd.h>

#include "span_internal.h"

#define SCAV_MIN_PAGES 8         /* background scavenging in >= 64 KiB runs */
#define SCAV_KEEP_MIN (512u)     /* always keep 4 MiB of free pages resident */
#define SCAV_AGE_MS 1000         /* only pages free this long are released: a
                                    heap that shrinks and grows again within
                                    it reuses resident memory instead of
                                    faulting it in again (jemalloc decays
                                    dirty pages over 10 s; Go's scavenger
                                    paces its release at ~1% of a CPU) */
#define SCAV_AGE_MAX_MS 3600000  /* SPAN_SCAVENGE_AGE_MS's bound: an hour */
#define SCAV_STR(x) SCAV_STR_(x)
#define SCAV_STR_(x) #x
#define SCAV_PERIOD_MS 10        /* at most one scavenger pass this often */

/* Scavenges when free resident pages exceed an eighth of the heap (4 MiB at
 * least) twice over: off the allocation path, on a free, at most once per
 * SCAV_PERIOD_MS (a pass is O(the runs it visits); runs shorter than 64 KiB
 * stay resident), releasing only pages free for SCAV_AGE_MS (or what
 * SPAN_SCAVENGE_AGE_MS said at init: 0 releases at once). With no frees,
 * nothing runs: there is no background thread; span_release() releases
 * everything. */
static uint32_t scav_last_ms; /* when the last pass ran */
static uint32_t scav_age_ms = SCAV_AGE_MS; /* SPAN_SCAVENGE_AGE_MS, at init */

/* "0".."3600000", decimal digits only: *ms, true. Anything else (empty, a
 * sign, spaces, a unit, too big): false, *ms untouched. */
bool mscav_parse_age(const char *v, uint32_t *ms)
{
	if (!v || *v < '0' || *v > '9') /* strtoul would take "-1" and " 1" */
		return false;
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (*end || n > SCAV_AGE_MAX_MS)
		return false;
	*ms = (uint32_t)n;
	return true;
}

void mscav_init(void)
{
	const char *v = getenv("SPAN_SCAVENGE_AGE_MS");
	uint32_t ms = SCAV_AGE_MS;
	if (v && !mscav_parse_age(v, &ms)) {
		static const char msg[] = "span: SPAN_SCAVENGE_AGE_MS: not a whole number of "
					  "milliseconds up to " SCAV_STR(SCAV_AGE_MAX_MS) "; the "
					  "default (" SCAV_STR(SCAV_AGE_MS) ") stays\n";
		ssize_t w = write(2, msg, sizeof msg - 1); /* no stdio: it may allocate */
		(void)w;
		ms = SCAV_AGE_MS;
	}
	scav_age_ms = ms;
}

uint32_t mscav_age_ms(void)
{
	return scav_age_ms;
}

void mscav_maybe(uint32_t now)
{
	uint64_t inuse = mheap_counts.heap_inuse + mheap_counts.stack_inuse;
	uint64_t keep = inuse / 8 > SCAV_KEEP_MIN ? inuse / 8 : SCAV_KEEP_MIN;
	if (mheap_counts.free - mheap_counts.released <= 2 * keep)
		return;
	if (now - scav_last_ms < SCAV_PERIOD_MS)
		return;
	scav_last_ms = now;
	mscav_scavenge(SCAV_MIN_PAGES, keep, scav_age_ms);
}

/* More free pages resident than keep_pages. */
static bool over_goal(uint64_t keep_pages)
{
	return mheap_counts.free - mheap_counts.released > keep_pages;
}

/* Length of the run of pages just below page j of s (j - 1, j - 2, ...) whose
 * released bit equals `released`, at most max, scanning a word at a time. */
static size_t run_length_down(span_t *s, size_t j, bool released, size_t max)
{
	size_t i = j, stop = max < j ? j - max : 0;
	while (i > stop) {
		unsigned bit;
		uint64_t w = *mheap_released_word(s->base + ((i - 1) << PAGE_SHIFT), &bit);
		w = (released ? ~w : w) << (63 - bit); /* page i - 1 at bit 63; ones
		                                          where the run ends */
		size_t avail = bit + 1 < i - stop ? bit + 1 : i - stop;
		size_t n = w ? (size_t)__builtin_clzll(w) : 64;
		if (n < avail) {
			i -= n;
			break;
		}
		i -= avail;
	}
	return j - i;
}

/* Releases the unreleased pages of free span s in runs of >= min_pages while
 * more than keep pages of free memory are resident, from its top down and no
 * more than that excess (min_pages at least) of a run (Go's scavenger works
 * from the highest address towards its goal): free_find reuses the lowest
 * addresses first, so the pages left resident are the next ones taken. */
static void scavenge_span(span_t *s, size_t min_pages, uint64_t keep, uint32_t min_age,
			  uint32_t now)
{
	size_t j = s->npages;
	if (now - s->freed_ms < min_age)
		return;
	while (j > 0 && over_goal(keep)) {
		j -= run_length_down(s, j, true, SIZE_MAX);
		if (j == 0)
			break;
		size_t n = run_length_down(s, j, false, SIZE_MAX);
		if (n >= min_pages) { /* its top part: as much as is over keep */
			uint64_t over = mheap_counts.free - mheap_counts.released - keep;
			size_t take = over >= n ? n : over > min_pages ? (size_t)over : min_pages;
			uintptr_t a = s->base + ((j - take) << PAGE_SHIFT);
			sys_release((void *)a, take << PAGE_SHIFT);
			mheap_released_op(a, take, MHEAP_REL_SET);
			mheap_counts.released += take;
		}
		j -= n;
	}
}

struct scav_pass {
	size_t min_pages;
	uint64_t keep;
	uint32_t min_age, now;
};

static bool scavenge_big(span_t *s, void *arg)
{
	struct scav_pass *p = arg;
	scavenge_span(s, p->min_pages, p->keep, p->min_age, p->now);
	return over_goal(p->keep);
}

/* The order is the reverse of reuse's, so the pages kept resident are the
 * next ones taken: big runs, which free_find takes lowest address first,
 * from the highest (the treap's walk down), then exact-size runs, biggest
 * size first, each list from its oldest run (free_find takes the newest). */
void mscav_scavenge(size_t min_pages, uint64_t keep_pages, uint32_t min_age_ms)
{
	uint32_t now = min_age_ms ? sys_now_ms() : 0;
	struct scav_pass pass = { min_pages, keep_pages, min_age_ms, now };
	if (over_goal(keep_pages))
		mtreap_each_desc(mheap_free_big, scavenge_big, &pass);
	for (size_t n = MHEAP_FREE_EXACT - 1; n >= min_pages && n > 0 && over_goal(keep_pages); n--)
		for (span_t *s = mheap_free_exact[n].last; s && over_goal(keep_pages); s = s->prev)
			scavenge_span(s, min_pages, keep_pages, min_age_ms, now);
}
