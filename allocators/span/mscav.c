/*
 * The scavenger: returns free pages of the page heap to the OS (madvise), in
 * runs of >= 64 KiB, tracking released pages in the page map's bits apart
 * from the resident free ones (Go's free/scavenged split). See malloc.c for
 * an overview and mheap.c for the page heap it works on; every function here
 * runs under the heap lock but mscav_init (under span_init's lock), its parser
 * and mscav_age_ms.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
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
 * nothing runs, unless the background scavenger is on (below);
 * span_release() releases everything. */
static uint32_t scav_last_ms; /* when the last pass ran */
static uint32_t scav_age_ms = SCAV_AGE_MS; /* SPAN_SCAVENGE_AGE_MS, at init */

/* The background scavenger, SPAN_SCAVENGE_BACKGROUND=1 (off by default, as
 * jemalloc's background threads are: a malloc that starts a thread in every
 * program it is preloaded into surprises some). A thread, started at init,
 * makes the free path's passes in its place, so a free never madvises, and
 * goes on while the program idles, as Go's bgscavenge goroutine does: freed
 * memory goes back once it has waited out the age, with no later call. It
 * parks (no timer) while free resident pages are within the free path's
 * trigger; a page-heap free past it wakes the thread. A pass holds the heap
 * lock for at most SCAV_BG_BUDGET pages of releases, and the thread pauses
 * after each nine times as long as the pass took (SCAV_PERIOD_MS at least),
 * so it takes at most a tenth of a CPU (Go paces its scavenger to 1%, a
 * release rate this one would need minutes for a few GiB at). A forked
 * child has no such thread: its frees scavenge as they do with the setting
 * off. */
#define SCAV_BG_BUDGET 1024u /* pages per pass: 8 MiB */
static _Atomic bool bg_on;        /* SPAN_SCAVENGE_BACKGROUND, at init */
static _Atomic bool bg_running;   /* the thread exists (in this process) */
static _Atomic bool bg_parked;    /* it waits for bg_kicked (under bg_lock) */
static bool bg_kicked;            /* under bg_lock */
static pthread_mutex_t bg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bg_cond = PTHREAD_COND_INITIALIZER;

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

/* One line on stderr without stdio, which may allocate. */
static void say(const char *msg, size_t len)
{
	ssize_t w = write(2, msg, len);
	(void)w;
}

void mscav_init(void)
{
	const char *v = getenv("SPAN_SCAVENGE_AGE_MS");
	uint32_t ms = SCAV_AGE_MS;
	if (v && !mscav_parse_age(v, &ms)) {
		static const char msg[] = "span: SPAN_SCAVENGE_AGE_MS: not a whole number of "
					  "milliseconds up to " SCAV_STR(SCAV_AGE_MAX_MS) "; the "
					  "default (" SCAV_STR(SCAV_AGE_MS) ") stays\n";
		say(msg, sizeof msg - 1);
		ms = SCAV_AGE_MS;
	}
	scav_age_ms = ms;
	v = getenv("SPAN_SCAVENGE_BACKGROUND");
	bool on = v && v[0] == '1' && !v[1];
	atomic_store_explicit(&bg_on, on, memory_order_relaxed);
	if (v && !on && !(v[0] == '0' && !v[1])) {
		static const char msg[] = "span: SPAN_SCAVENGE_BACKGROUND: not 0 or 1; the "
					  "default (0: no background thread) stays\n";
		say(msg, sizeof msg - 1);
	}
}

bool mscav_background(void)
{
	return atomic_load_explicit(&bg_on, memory_order_relaxed);
}

uint32_t mscav_age_ms(void)
{
	return scav_age_ms;
}

/* The free resident pages a pass leaves (its goal): an eighth of the pages
 * in use, SCAV_KEEP_MIN at least. Heap lock. */
static uint64_t goal(void)
{
	uint64_t inuse = mheap_counts.heap_inuse + mheap_counts.stack_inuse;
	return inuse / 8 > SCAV_KEEP_MIN ? inuse / 8 : SCAV_KEEP_MIN;
}

static uint64_t resident_free(void)
{
	return mheap_counts.free - mheap_counts.released;
}

/* Wakes the parked background thread. Heap lock held (the lock order is
 * heap, then bg_lock; the thread never holds both). A kick that comes just
 * after the thread woke leaves bg_kicked set: it makes one more pass. */
static void bg_kick(void)
{
	if (!atomic_load_explicit(&bg_parked, memory_order_relaxed))
		return; /* awake: it looks again after its pause */
	pthread_mutex_lock(&bg_lock);
	bg_kicked = true;
	pthread_cond_signal(&bg_cond);
	pthread_mutex_unlock(&bg_lock);
}

void mscav_maybe(uint32_t now)
{
	uint64_t keep = goal();
	if (resident_free() <= 2 * keep)
		return;
	if (mscav_background() && atomic_load_explicit(&bg_running, memory_order_relaxed)) {
		bg_kick();
		return;
	}
	if (now - scav_last_ms < SCAV_PERIOD_MS)
		return;
	scav_last_ms = now;
	mscav_scavenge(SCAV_MIN_PAGES, keep, scav_age_ms);
}

/* One background pass (heap lock held): whether it released pages; if not,
 * *pause_ms > 0 is how long until a run skipped for its age is old enough,
 * and 0 means to park (at the goal, or what stays resident is in runs under
 * 64 KiB). It releases at most SCAV_BG_BUDGET pages. */
static bool bg_pass(uint32_t *pause_ms)
{
	*pause_ms = 0;
	uint64_t keep = goal(), before = resident_free();
	if (before <= keep)
		return false;
	uint64_t leave = before - keep > SCAV_BG_BUDGET ? before - SCAV_BG_BUDGET : keep;
	uint32_t wait = mscav_scavenge(SCAV_MIN_PAGES, leave, scav_age_ms);
	if (resident_free() < before)
		return true;
	if (wait) /* + a tick of the coarse clock that ages are read from */
		*pause_ms = wait + SCAV_PERIOD_MS;
	return false;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pause_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	nanosleep(&ts, NULL);
}

static void *bg_main(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t t0 = now_ns();
		uint32_t pause_ms = 0;
		mheap_lock();
		bool released = mscav_background() && bg_pass(&pause_ms);
		if (!released && !pause_ms) /* parking: set under the heap lock, so a
		                               free past the trigger from here on,
		                               which reads it under that lock, kicks */
			atomic_store_explicit(&bg_parked, true, memory_order_relaxed);
		mheap_unlock();
		if (released) {
			uint64_t work = now_ns() - t0, min = (uint64_t)SCAV_PERIOD_MS * 1000000u;
			pause_ns(9 * work > min ? 9 * work : min);
			continue;
		}
		if (pause_ms) {
			pause_ns((uint64_t)pause_ms * 1000000u);
			continue;
		}
		pthread_mutex_lock(&bg_lock);
		while (!bg_kicked)
			pthread_cond_wait(&bg_cond, &bg_lock);
		bg_kicked = false;
		atomic_store_explicit(&bg_parked, false, memory_order_relaxed);
		pthread_mutex_unlock(&bg_lock);
	}
	return NULL;
}

void mscav_start(void)
{
	if (!mscav_background() || atomic_exchange(&bg_running, true))
		return;
	/* The thread takes no signal of the program's: blocked before it
	 * starts, so it inherits the mask. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	if (pthread_create(&t, &attr, bg_main, NULL) == 0)
		pthread_setname_np(t, "span-scavenger");
	else
		atomic_store(&bg_running, false); /* the free path scavenges */
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

bool mscav_parked(void)
{
	return atomic_load_explicit(&bg_parked, memory_order_relaxed);
}

void mscav_fork_child(void)
{
	atomic_store(&bg_running, false);
	atomic_store(&bg_parked, false);
	bg_kicked = false;
	pthread_mutex_init(&bg_lock, NULL);
	pthread_cond_init(&bg_cond, NULL);
}

/* More free pages resident than keep_pages. */
static bool over_goal(uint64_t keep_pages)
{
	return resident_free() > keep_pages;
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

struct scav_pass {
	size_t min_pages;
	uint64_t keep;
	uint32_t min_age, now;
	uint32_t wait_ms; /* until the first run skipped for its age is old
	                     enough; 0: none skipped */
};

/* Releases the unreleased pages of free span s in runs of >= p->min_pages
 * while more than p->keep pages of free memory are resident, from its top
 * down and no more than that excess (min_pages at least) of a run (Go's
 * scavenger works from the highest address towards its goal): free_find
 * reuses the lowest addresses first, so the pages left resident are the next
 * ones taken. A span free for less than p->min_age is skipped (noted in
 * p->wait_ms). */
static void scavenge_span(span_t *s, struct scav_pass *p)
{
	size_t j = s->npages;
	uint32_t age = p->now - s->freed_ms;
	if (age < p->min_age) {
		if (p->wait_ms == 0 || p->min_age - age < p->wait_ms)
			p->wait_ms = p->min_age - age;
		return;
	}
	while (j > 0 && over_goal(p->keep)) {
		j -= run_length_down(s, j, true, SIZE_MAX);
		if (j == 0)
			break;
		size_t n = run_length_down(s, j, false, SIZE_MAX);
		if (n >= p->min_pages) { /* its top part: as much as is over keep */
			uint64_t over = resident_free() - p->keep;
			size_t take = over >= n ? n : over > p->min_pages ? (size_t)over : p->min_pages;
			uintptr_t a = s->base + ((j - take) << PAGE_SHIFT);
			sys_release((void *)a, take << PAGE_SHIFT);
			mheap_released_op(a, take, MHEAP_REL_SET);
			mheap_counts.released += take;
		}
		j -= n;
	}
}

static bool scavenge_big(span_t *s, void *arg)
{
	struct scav_pass *p = arg;
	scavenge_span(s, p);
	return over_goal(p->keep);
}

/* The order is the reverse of reuse's, so the pages kept resident are the
 * next ones taken: big runs, which free_find takes lowest address first,
 * from the highest (the treap's walk down), then exact-size runs, biggest
 * size first, each list from its oldest run (free_find takes the newest). */
uint32_t mscav_scavenge(size_t min_pages, uint64_t keep_pages, uint32_t min_age_ms)
{
	uint32_t now = min_age_ms ? sys_now_ms() : 0;
	struct scav_pass pass = { min_pages, keep_pages, min_age_ms, now, 0 };
	if (over_goal(keep_pages))
		mtreap_each_desc(mheap_free_big, scavenge_big, &pass);
	for (size_t n = MHEAP_FREE_EXACT - 1; n >= min_pages && n > 0 && over_goal(keep_pages); n--)
		for (span_t *s = mheap_free_exact[n].last; s && over_goal(keep_pages); s = s->prev)
			scavenge_span(s, &pass);
	return pass.wait_ms;
}
