/*
 * Event counters through PAPI, with the kernel's rusage counts standing in
 * for the perf:: software events. See counters.h.
 *
 * Cost inside the timed window: two counter reads per measured chunk per
 * worker (PAPI_read, or getrusage when a stand-in is in use): a few
 * microseconds per chunk, nothing when no event is countable.
 */
#include "counters.h"

#include <errno.h>
#include <papi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The kernel's per-thread counts that perf's software events also count; the
 * perf event increments where the kernel bumps min_flt / maj_flt / nvcsw /
 * nivcsw (mm_account_fault, the scheduler), so the figures agree up to the
 * faults that end in an error. */
enum { RU_FAULTS, RU_MINFLT, RU_MAJFLT, RU_CSW };
static const struct {
	const char *name;
	int field;
} ru_events[] = {
	{"perf::PAGE-FAULTS", RU_FAULTS},
	{"perf::PERF_COUNT_SW_PAGE_FAULTS", RU_FAULTS},
	{"perf::FAULTS", RU_FAULTS},
	{"perf::MINOR-FAULTS", RU_MINFLT},
	{"perf::PERF_COUNT_SW_PAGE_FAULTS_MIN", RU_MINFLT},
	{"perf::MAJOR-FAULTS", RU_MAJFLT},
	{"perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ", RU_MAJFLT},
	{"perf::CONTEXT-SWITCHES", RU_CSW},
	{"perf::CS", RU_CSW},
	{"perf::PERF_COUNT_SW_CONTEXT_SWITCHES", RU_CSW},
};
#define N_RU (sizeof(ru_events) / sizeof(ru_events[0]))

static uint64_t ru_value(const struct rusage *r, int field)
{
	switch (field) {
	case RU_FAULTS: return (uint64_t)(r->ru_minflt + r->ru_majflt);
	case RU_MINFLT: return (uint64_t)r->ru_minflt;
	case RU_MAJFLT: return (uint64_t)r->ru_majflt;
	default: return (uint64_t)(r->ru_nvcsw + r->ru_nivcsw);
	}
}

static int ru_lookup(const char *name)
{
	for (size_t i = 0; i < N_RU; i++)
		if (!strcasecmp(name, ru_events[i].name))
			return (int)i;
	return -1;
}

static unsigned long self_id(void)
{
	return (unsigned long)pthread_self();
}

/* Initialises PAPI once per process and registers the calling thread; 0, or
 * the failing return code. The registration matters after a
 * mb_counters_thread_close on this thread: PAPI 7.0's PAPI_event_name_to_code
 * dereferences the thread's record for a name it does not know and crashes
 * on an unregistered thread when a CPU component is enabled. */
static int papi_init(void)
{
	if (PAPI_is_initialized() == PAPI_NOT_INITED) {
		int rc = PAPI_library_init(PAPI_VER_CURRENT);
		if (rc != PAPI_VER_CURRENT)
			return rc < 0 ? rc : PAPI_EINVAL;
		if ((rc = PAPI_thread_init(self_id)) != PAPI_OK)
			return rc;
	}
	return PAPI_register_thread();
}

/* Appends "; COMPONENT: disabled_reason" for each disabled CPU component. */
static void add_disabled(char *b, size_t n, int only_cidx)
{
	int nc = PAPI_num_components();
	for (int i = 0; i < nc; i++) {
		const PAPI_component_info_t *ci = PAPI_get_component_info(i);
		if (!ci || !ci->disabled || (only_cidx >= 0 && i != only_cidx))
			continue;
		if (only_cidx < 0 && strcmp(ci->name, "perf_event"))
			continue;
		size_t l = strlen(b);
		snprintf(b + l, n - l, "; component %s is disabled: %s", ci->name,
			 ci->disabled_reason[0] ? ci->disabled_reason : "(no reason given)");
	}
}

/* PAPI's reason for a failed call, with the component's when it is disabled. */
static void papi_why(char *b, size_t n, const char *call, int rc, int code)
{
	snprintf(b, n, "%s: %s", call, PAPI_strerror(rc));
	if (rc == PAPI_ENOEVNT || rc == PAPI_ECMP_DISABLED || rc == PAPI_ENOCMP || rc == PAPI_ENOSUPP)
		add_disabled(b, n, code == PAPI_NULL ? -1 : PAPI_get_event_component(code));
}

static void set_destroy(int *es)
{
	if (*es == PAPI_NULL)
		return;
	PAPI_cleanup_eventset(*es);
	PAPI_destroy_eventset(es);
	*es = PAPI_NULL;
}

/* Builds the event set of c's PAPI events (multiplexed when c says so) and,
 * when start, starts it. Returns PAPI_OK; or the error, with *bad the failing
 * position (-1: not one event's fault) and why filled. */
static int set_make(const mb_counters_t *c, int multiplex, int start, int *es, int *bad,
		    char *why, size_t whylen)
{
	*es = PAPI_NULL;
	*bad = -1;
	int rc = PAPI_create_eventset(es);
	if (rc != PAPI_OK) {
		papi_why(why, whylen, "PAPI_create_eventset", rc, PAPI_NULL);
		return rc;
	}
	if (multiplex && c->npapi) {
		int cidx = PAPI_get_event_component(c->ev[c->papi_idx[0]].code);
		if ((rc = PAPI_assign_eventset_component(*es, cidx)) != PAPI_OK ||
		    (rc = PAPI_set_multiplex(*es)) != PAPI_OK) {
			papi_why(why, whylen, "PAPI_set_multiplex", rc, PAPI_NULL);
			set_destroy(es);
			return rc;
		}
	}
	for (unsigned k = 0; k < c->npapi; k++) {
		const mb_counter_t *e = &c->ev[c->papi_idx[k]];
		if ((rc = PAPI_add_event(*es, e->code)) != PAPI_OK) {
			papi_why(why, whylen, "PAPI_add_event", rc, e->code);
			*bad = (int)k;
			set_destroy(es);
			return rc;
		}
	}
	if (start && (rc = PAPI_start(*es)) != PAPI_OK) {
		papi_why(why, whylen, "PAPI_start", rc, PAPI_NULL);
		set_destroy(es);
		return rc;
	}
	return PAPI_OK;
}

/* Counts one event alone for a moment: 0, or PAPI's reason in e->why. */
static int probe_alone(mb_counter_t *e)
{
	int es = PAPI_NULL, rc;
	if ((rc = PAPI_create_eventset(&es)) != PAPI_OK) {
		papi_why(e->why, sizeof(e->why), "PAPI_create_eventset", rc, PAPI_NULL);
		return -1;
	}
	if ((rc = PAPI_add_event(es, e->code)) != PAPI_OK)
		papi_why(e->why, sizeof(e->why), "PAPI_add_event", rc, e->code);
	else if ((rc = PAPI_start(es)) != PAPI_OK)
		papi_why(e->why, sizeof(e->why), "PAPI_start", rc, e->code);
	else {
		long long v[1];
		PAPI_stop(es, v);
	}
	set_destroy(&es);
	return rc == PAPI_OK ? 0 : -1;
}

static void rebuild_index(mb_counters_t *c)
{
	c->npapi = 0;
	for (unsigned i = 0; i < c->n; i++)
		if (c->ev[i].src == MB_CSRC_PAPI)
			c->papi_idx[c->npapi++] = (int)i;
}

/* Puts all PAPI events into one set, multiplexing when they conflict; drops
 * (with the reason) an event that fits neither way. */
static void plan_set(mb_counters_t *c)
{
	char why[384];
	for (unsigned tries = 0; c->npapi && tries <= c->n; tries++) {
		int es, bad, rc = set_make(c, c->multiplexed, 1, &es, &bad, why, sizeof(why));
		if (rc == PAPI_OK) {
			long long v[MB_COUNTERS_MAX];
			PAPI_stop(es, v);
			set_destroy(&es);
			return;
		}
		if (!c->multiplexed && rc == PAPI_ECNFLCT) {
			int mrc = PAPI_multiplex_init();
			if (mrc == PAPI_OK) {
				c->multiplexed = 1;
				continue;
			}
			papi_why(why, sizeof(why), "PAPI_multiplex_init", mrc, PAPI_NULL);
		}
		/* blame the failing event, or every event when none is to blame */
		for (unsigned k = 0; k < c->npapi; k++) {
			if (bad >= 0 && (int)k != bad)
				continue;
			mb_counter_t *e = &c->ev[c->papi_idx[k]];
			snprintf(e->why, sizeof(e->why), "%s (counted together with the others)", why);
			e->src = MB_CSRC_NONE;
		}
		rebuild_index(c);
	}
}

int mb_counters_open(mb_counters_t *c, char *const *names, size_t n)
{
	memset(c, 0, sizeof(*c));
	if (n > MB_COUNTERS_MAX)
		return -EINVAL;
	int need_papi = 0;
	for (size_t i = 0; i < n; i++) {
		mb_counter_t *e = &c->ev[c->n++];
		snprintf(e->name, sizeof(e->name), "%s", names[i]);
		e->code = PAPI_NULL;
		e->ru = ru_lookup(e->name);
		need_papi = 1;
	}
	int rc = need_papi ? papi_init() : 0;
	c->papi_on = need_papi && rc == 0;
	for (unsigned i = 0; i < c->n; i++) {
		mb_counter_t *e = &c->ev[i];
		int r;
		if (!c->papi_on)
			papi_why(e->why, sizeof(e->why), "PAPI_library_init", rc, PAPI_NULL);
		else if ((r = PAPI_event_name_to_code(e->name, &e->code)) != PAPI_OK)
			papi_why(e->why, sizeof(e->why), "PAPI_event_name_to_code", r, PAPI_NULL),
				e->code = PAPI_NULL;
		else if (probe_alone(e) == 0)
			e->src = MB_CSRC_PAPI;
		if (e->src == MB_CSRC_NONE && e->ru >= 0)
			e->src = MB_CSRC_RUSAGE;
	}
	rebuild_index(c);
	plan_set(c);
	for (unsigned i = 0; i < c->n; i++)
		if (c->ev[i].src == MB_CSRC_NONE && c->ev[i].ru >= 0)
			c->ev[i].src = MB_CSRC_RUSAGE;
	return 0;
}

void mb_counters_close(mb_counters_t *c)
{
	(void)c; /* PAPI stays initialised for the life of the process */
}

static int uses_rusage(const mb_counters_t *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->ev[i].src == MB_CSRC_RUSAGE)
			return 1;
	return 0;
}

void mb_counters_thread_open(const mb_counters_t *c, mb_counters_thread_t *th)
{
	memset(th, 0, sizeof(*th));
	th->eventset = PAPI_NULL;
	if (!c->npapi)
		return;
	int bad;
	if (set_make(c, c->multiplexed, 1, &th->eventset, &bad, th->why, sizeof(th->why)))
		th->eventset = PAPI_NULL;
}

void mb_counters_begin(const mb_counters_t *c, mb_counters_thread_t *th)
{
	if (th->eventset != PAPI_NULL)
		PAPI_read(th->eventset, th->at);
	if (uses_rusage(c))
		getrusage(RUSAGE_THREAD, &th->ru_at);
}

void mb_counters_end(const mb_counters_t *c, mb_counters_thread_t *th)
{
	if (th->eventset != PAPI_NULL) {
		long long now[MB_COUNTERS_MAX];
		int rc = PAPI_read(th->eventset, now);
		if (rc == PAPI_OK)
			for (unsigned k = 0; k < c->npapi; k++)
				th->sum[k] += now[k] - th->at[k];
		else if (!th->why[0])
			papi_why(th->why, sizeof(th->why), "PAPI_read", rc, PAPI_NULL);
	}
	if (uses_rusage(c)) {
		struct rusage r;
		getrusage(RUSAGE_THREAD, &r);
		for (unsigned i = 0; i < c->n; i++)
			if (c->ev[i].src == MB_CSRC_RUSAGE) {
				int f = ru_events[c->ev[i].ru].field;
				th->ru_sum[i] += ru_value(&r, f) - ru_value(&th->ru_at, f);
			}
	}
}

void mb_counters_thread_close(const mb_counters_t *c, mb_counters_thread_t *th)
{
	if (th->eventset != PAPI_NULL) {
		long long v[MB_COUNTERS_MAX];
		PAPI_stop(th->eventset, v);
		set_destroy(&th->eventset);
	}
	if (c->npapi)
		PAPI_unregister_thread();
}

json_t *mb_counters_json(const mb_counters_t *c, mb_counters_thread_t *const *th,
			 unsigned nthreads, uint64_t ops)
{
	json_t *j = json_object();
	const char *thread_why = NULL;
	for (unsigned t = 0; t < nthreads; t++)
		if (th[t]->why[0] && !thread_why)
			thread_why = th[t]->why;
	for (unsigned i = 0; i < c->n; i++) {
		const mb_counter_t *e = &c->ev[i];
		if (e->src == MB_CSRC_NONE || (e->src == MB_CSRC_PAPI && thread_why)) {
			json_object_set_new(j, e->name, json_pack("{s:s}", "unavailable",
				e->src == MB_CSRC_NONE ? e->why : thread_why));
			continue;
		}
		uint64_t v = 0;
		for (unsigned t = 0; t < nthreads; t++) {
			if (e->src == MB_CSRC_RUSAGE) {
				v += th[t]->ru_sum[i];
				continue;
			}
			for (unsigned k = 0; k < c->npapi; k++)
				if (c->papi_idx[k] == (int)i)
					v += (uint64_t)th[t]->sum[k];
		}
		json_t *o = json_pack("{s:I, s:f, s:s}", "value", (json_int_t)v, "per_op",
				      ops ? (double)v / (double)ops : 0.0, "source",
				      e->src == MB_CSRC_PAPI ? "papi" : "rusage");
		if (e->src == MB_CSRC_PAPI)
			json_object_set_new(o, "multiplexed", json_boolean(c->multiplexed));
		else
			json_object_set_new(o, "papi_unavailable", json_string(e->why));
		json_object_set_new(j, e->name, o);
	}
	return j;
}

int mb_counters_list(FILE *f)
{
	int rc = papi_init();
	if (rc) {
		fprintf(f, "PAPI: cannot initialise: %s\n", PAPI_strerror(rc));
	} else {
		fprintf(f, "PAPI %d.%d.%d components:\n", PAPI_VERSION_MAJOR(PAPI_VERSION),
			PAPI_VERSION_MINOR(PAPI_VERSION), PAPI_VERSION_REVISION(PAPI_VERSION));
		for (int i = 0; i < PAPI_num_components(); i++) {
			const PAPI_component_info_t *ci = PAPI_get_component_info(i);
			if (!ci)
				continue;
			if (ci->disabled)
				fprintf(f, "  %-18s disabled: %s\n", ci->name, ci->disabled_reason);
			else
				fprintf(f, "  %-18s active: %d native events, %d counters\n", ci->name,
					ci->num_native_events, ci->num_cntrs);
		}
	}
	/* the defaults, probed exactly as a trial probes them */
	char buf[] = MB_COUNTERS_DEFAULT;
	char *names[MB_COUNTERS_MAX];
	size_t n = 0;
	for (char *s = strtok(buf, "[], "); s && n < MB_COUNTERS_MAX; s = strtok(NULL, "[], "))
		names[n++] = s;
	mb_counters_t c;
	mb_counters_open(&c, names, n);
	fprintf(f, "\ndefault counters (suite key `counters:`):\n");
	for (unsigned i = 0; i < c.n; i++) {
		const mb_counter_t *e = &c.ev[i];
		if (e->src == MB_CSRC_PAPI)
			fprintf(f, "  %-20s counted by PAPI%s\n", e->name,
				c.multiplexed ? " (multiplexed)" : "");
		else if (e->src == MB_CSRC_RUSAGE)
			fprintf(f, "  %-20s counted by the kernel (getrusage per thread); PAPI "
				"cannot: %s\n", e->name, e->why);
		else
			fprintf(f, "  %-20s unavailable: %s\n", e->name, e->why);
	}
	fprintf(f, "\nkernel software counts standing in for perf:: events PAPI cannot "
		   "count:\n ");
	for (size_t i = 0; i < N_RU; i++)
		fprintf(f, " %s", ru_events[i].name);
	fprintf(f, "\n");
	if (!rc) {
		int code = PAPI_PRESET_MASK, avail = 0, total = 0;
		fprintf(f, "\nPAPI presets this machine can count:\n");
		if (PAPI_enum_event(&code, PAPI_ENUM_FIRST) == PAPI_OK) {
			do {
				PAPI_event_info_t info;
				if (PAPI_get_event_info(code, &info) != PAPI_OK)
					continue;
				total++;
				if (info.count) {
					avail++;
					fprintf(f, "  %-14s %s\n", info.symbol, info.long_descr);
				}
			} while (PAPI_enum_event(&code, PAPI_ENUM_EVENTS) == PAPI_OK);
		}
		if (!avail)
			fprintf(f, "  (none)\n");
		fprintf(f, "%d of %d presets available; native event names: papi_native_avail\n",
			avail, total);
	}
	return 0;
}
