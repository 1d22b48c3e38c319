/*
 * Event counters of a trial: PAPI events named in the suite (presets and
 * native names), counted per worker thread over the measured chunks only,
 * summed over threads, normalised per operation. See COUNTERS.md.
 *
 * An event the machine cannot count is kept, with PAPI's own reason (the
 * PAPI_strerror of the failing call and the component's disabled_reason) —
 * never a zero — and the trial runs on. The kernel's per-thread software
 * counts (page faults, context switches) stand in for the perf:: software
 * events when PAPI cannot count those: they are the same kernel counters,
 * read with getrusage(RUSAGE_THREAD), and marked source "rusage".
 *
 * Use: the trial's main thread calls mb_counters_open before any worker
 * starts; each worker calls thread_open, then begin/end around each measured
 * chunk, then thread_close; the main thread writes mb_counters_json and closes.
 */
#ifndef MB_COUNTERS_H
#define MB_COUNTERS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#define MB_COUNTERS_MAX 32 /* events per trial; more is a config error */

/* The suite's default `counters:` list. */
#define MB_COUNTERS_DEFAULT \
	"[PAPI_L1_DCM, PAPI_L2_DCM, PAPI_L3_TCM, PAPI_TLB_DM, PAPI_TOT_INS, PAPI_TOT_CYC, " \
	"perf::PAGE-FAULTS]"

enum { MB_CSRC_NONE, MB_CSRC_PAPI, MB_CSRC_RUSAGE };

typedef struct mb_counter {
	char name[128];
	int src;          /* MB_CSRC_*: who counts it; NONE = unavailable */
	int code;         /* PAPI event code (src PAPI) */
	int ru;           /* index into the rusage table (src RUSAGE) */
	char why[384];    /* why PAPI cannot count it; "" when it can */
} mb_counter_t;

typedef struct mb_counters {
	unsigned n;
	mb_counter_t ev[MB_COUNTERS_MAX];
	unsigned npapi;            /* events counted through PAPI */
	int papi_idx[MB_COUNTERS_MAX]; /* event set position k -> ev index */
	int multiplexed;           /* more PAPI events than counters */
	int papi_on;               /* PAPI initialised (npapi may still be 0) */
} mb_counters_t;

typedef struct mb_counters_thread {
	int eventset;              /* PAPI_NULL when this thread counts nothing */
	long long at[MB_COUNTERS_MAX];  /* PAPI values at the chunk's begin */
	long long sum[MB_COUNTERS_MAX]; /* by event set position */
	struct rusage ru_at;
	uint64_t ru_sum[MB_COUNTERS_MAX]; /* by ev index */
	char why[256];             /* a per-thread failure; "" when none */
} mb_counters_thread_t;

/* Resolves names[0..n) and probes each: PAPI first (alone, then all
 * together, multiplexed when they do not fit the counters at once), then the
 * rusage stand-ins. Never fails for an event: it records why. Returns 0, or
 * -EINVAL when n > MB_COUNTERS_MAX. */
int mb_counters_open(mb_counters_t *c, char *const *names, size_t n);
void mb_counters_close(mb_counters_t *c);

/* Per worker thread. thread_open starts its event set (outside the timing);
 * begin/end bracket one measured chunk (each reads the counters once). */
void mb_counters_thread_open(const mb_counters_t *c, mb_counters_thread_t *th);
void mb_counters_begin(const mb_counters_t *c, mb_counters_thread_t *th);
void mb_counters_end(const mb_counters_t *c, mb_counters_thread_t *th);
void mb_counters_thread_close(const mb_counters_t *c, mb_counters_thread_t *th);

/* {EVENT: {value, per_op, source[, multiplexed][, papi_unavailable]} |
 *  {unavailable: reason}} summed over the threads. */
json_t *mb_counters_json(const mb_counters_t *c, mb_counters_thread_t *const *th,
			 unsigned nthreads, uint64_t ops);

/* `membench list counters`: PAPI's components, the default events and what
 * this machine can count of them, the available presets. Returns 0. */
int mb_counters_list(FILE *f);

#endif
