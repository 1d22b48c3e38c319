/*
 * Fragmentation metrics. See frag.h for the contracts and METRICS.md for the
 * definitions and what each allocator can tell.
 */
#include "frag.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define U MB_STAT_UNKNOWN

void frag_sample_clear(frag_sample_t *s)
{
	memset(s, 0xff, sizeof(*s)); /* every uint64_t field = MB_STAT_UNKNOWN */
}

static uint64_t diff(uint64_t hi, uint64_t lo)
{
	/* a negative difference is an identity violation, reported by frag_check;
	 * as a metric it is clamped to 0 rather than wrapping */
	if (hi == U || lo == U)
		return U;
	return hi > lo ? hi - lo : 0;
}

uint64_t frag_internal(const frag_sample_t *s)
{
	return diff(s->live_usable, s->live_requested);
}

uint64_t frag_external(const frag_sample_t *s)
{
	return diff(s->a.active, s->a.allocated);
}

uint64_t frag_free_pages(const frag_sample_t *s)
{
	return diff(s->a.resident, s->a.active);
}

double frag_overhead(const frag_sample_t *s)
{
	if (s->rss == U || s->live_requested == U || s->live_requested == 0)
		return NAN;
	return (double)s->rss / (double)s->live_requested;
}

uint64_t frag_class_tail(const mb_alloc_class_stats_t *c)
{
	uint64_t used = c->span_objects * c->size;
	return used > c->span_bytes ? 0 : c->spans * (c->span_bytes - used);
}

uint64_t frag_class_free(const mb_alloc_class_stats_t *c)
{
	uint64_t slots = c->spans * c->span_objects;
	return slots > c->objects ? (slots - c->objects) * c->size : 0;
}

double frag_class_utilisation(const mb_alloc_class_stats_t *c)
{
	uint64_t slots = c->spans * c->span_objects;
	return slots ? (double)c->objects / (double)slots : NAN;
}

void frag_classes_sum(const mb_alloc_class_stats_t *c, size_t n, frag_sample_t *s)
{
	s->class_tail = s->class_free = 0;
	for (size_t i = 0; i < n; i++) {
		s->class_tail += frag_class_tail(&c[i]);
		s->class_free += frag_class_free(&c[i]);
	}
}

const char *frag_class_check(const mb_alloc_class_stats_t *c)
{
	if (c->size == 0 || c->span_objects == 0)
		return "a class with zero object size or zero objects per span";
	if (c->span_objects * c->size > c->span_bytes)
		return "span_objects * size > span_bytes";
	if (c->objects > c->spans * c->span_objects)
		return "objects > spans * span_objects";
	return NULL;
}

static json_t *num(uint64_t v)
{
	return v == U ? json_null() : json_integer((json_int_t)v);
}

static json_t *real(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *frag_class_json(const mb_alloc_class_stats_t *c)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I}", "size", (json_int_t)c->size,
			      "span_bytes", (json_int_t)c->span_bytes, "span_objects",
			      (json_int_t)c->span_objects, "spans", (json_int_t)c->spans,
			      "objects", (json_int_t)c->objects);
	if (c->flags & MB_NOSCAN)
		json_object_set_new(j, "noscan", json_true());
	json_object_set_new(j, "tail_waste", num(frag_class_tail(c)));
	json_object_set_new(j, "free_bytes", num(frag_class_free(c)));
	json_object_set_new(j, "utilisation", real(frag_class_utilisation(c)));
	return j;
}

/* The chain of frag_check, in order. */
typedef struct link {
	const char *name;
	size_t off;
} link_t;

static const link_t chain[] = {
	{"live_requested", offsetof(frag_sample_t, live_requested)},
	{"live_usable", offsetof(frag_sample_t, live_usable)},
	{"allocated", offsetof(frag_sample_t, a.allocated)},
	{"active", offsetof(frag_sample_t, a.active)},
	{"resident", offsetof(frag_sample_t, a.resident)},
};
#define NCHAIN (sizeof(chain) / sizeof(chain[0]))

static uint64_t at(const frag_sample_t *s, size_t off)
{
	return *(const uint64_t *)((const char *)s + off);
}

int frag_check(const frag_sample_t *s, char *why, size_t whylen)
{
	int bad = 0;
	if (why && whylen)
		why[0] = 0;
	/* each known figure against the next known one: with transitivity this
	 * checks every known pair of the chain */
	size_t prev = NCHAIN;
	for (size_t i = 0; i < NCHAIN; i++) {
		uint64_t v = at(s, chain[i].off);
		if (v == U)
			continue;
		if (prev < NCHAIN && at(s, chain[prev].off) > v) {
			if (!bad && why)
				snprintf(why, whylen, "%s %llu > %s %llu", chain[prev].name,
					 (unsigned long long)at(s, chain[prev].off), chain[i].name,
					 (unsigned long long)v);
			bad++;
		}
		prev = i;
	}
	return bad;
}

int frag_sample_from_series(json_t *series, size_t r, frag_sample_t *s)
{
	json_t *ops = json_object_get(series, "ops");
	if (!json_is_array(ops) || r >= json_array_size(ops))
		return -1;
	frag_sample_clear(s);
#define X(field, key)                                                           \
	{                                                                       \
		json_t *v_ = json_array_get(json_object_get(series, key), r);   \
		if (json_is_integer(v_) && json_integer_value(v_) >= 0)         \
			s->field = (uint64_t)json_integer_value(v_);            \
	}
	FRAG_SAMPLE_FIELDS(X)
#undef X
	return 0;
}

/* Figures of one sample, as they go into the summary. */
static json_t *point_json(const frag_sample_t *s)
{
	uint64_t in = frag_internal(s);
	json_t *j = json_object();
	json_object_set_new(j, "rss", num(s->rss));
	json_object_set_new(j, "live_requested", num(s->live_requested));
	json_object_set_new(j, "live_usable", num(s->live_usable));
	json_object_set_new(j, "internal", num(in));
	json_object_set_new(j, "internal_ratio",
			    in == U || !s->live_requested ? json_null()
			    : json_real((double)in / (double)s->live_requested));
	json_object_set_new(j, "external", num(frag_external(s)));
	json_object_set_new(j, "free_pages", num(frag_free_pages(s)));
	json_object_set_new(j, "tail_waste", num(s->class_tail));
	json_object_set_new(j, "class_free", num(s->class_free));
	json_object_set_new(j, "allocated", num(s->a.allocated));
	json_object_set_new(j, "active", num(s->a.active));
	json_object_set_new(j, "resident", num(s->a.resident));
	json_object_set_new(j, "overhead", real(frag_overhead(s)));
	return j;
}

/* Why a chain figure is unknown in every sample (the result says so). */
static const char *unknown_reason(size_t link, bool profiled)
{
	if (link != 1)
		return "the allocator does not report it";
	return profiled ? "the allocator cannot tell usable sizes (usable_size answers 0)"
			: "not a memory-profile trial (suite key memory_profile: true keeps them)";
}

static json_t *identities_json(json_t *series, size_t rows, bool profiled)
{
	int violations = 0, seen[NCHAIN] = {0};
	char first[200] = "", why[200];
	long first_row = -1;
	for (size_t r = 0; r < rows; r++) {
		frag_sample_t s;
		frag_sample_from_series(series, r, &s);
		for (size_t i = 0; i < NCHAIN; i++)
			seen[i] |= at(&s, chain[i].off) != U;
		int k = frag_check(&s, why, sizeof(why));
		if (k && first_row < 0) {
			first_row = (long)r;
			snprintf(first, sizeof(first), "%s", why);
		}
		violations += k;
	}
	json_t *known = json_array(), *unknown = json_object();
	for (size_t i = 0; i < NCHAIN; i++)
		if (seen[i])
			json_array_append_new(known, json_string(chain[i].name));
		else
			json_object_set_new(unknown, chain[i].name,
					    json_string(unknown_reason(i, profiled)));
	json_t *j = json_pack("{s:s, s:I, s:i, s:o, s:o}", "chain",
			      "live_requested <= live_usable <= allocated <= active <= resident",
			      "samples", (json_int_t)rows, "violations", violations, "checked",
			      known, "unknown", unknown);
	if (first_row >= 0)
		json_object_set_new(j, "first_violation",
				    json_sprintf("sample %ld: %s", first_row, first));
	return j;
}

static uint64_t get_u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
								  : U;
}

/* returned = from - to (may be negative: RSS grew), fraction of the
 * workload's own growth from - base */
static json_t *returned_json(uint64_t from, uint64_t to, uint64_t base)
{
	if (from == U || to == U)
		return json_null();
	json_int_t ret = (json_int_t)from - (json_int_t)to;
	json_t *j = json_pack("{s:I, s:I}", "rss", (json_int_t)to, "returned", ret);
	if (base != U && from > base)
		json_object_set_new(j, "returned_fraction",
				    json_real((double)ret / (double)(from - base)));
	return j;
}

json_t *frag_summary_json(json_t *result)
{
	json_t *series = json_object_get(result, "series");
	size_t rows = json_array_size(json_object_get(series, "ops"));
	json_t *j = json_object();
	frag_sample_t s, peak, end;
	frag_sample_clear(&peak);
	frag_sample_clear(&end);
	uint64_t max_rss = 0;
	size_t peak_row = 0;
	for (size_t r = 0; r < rows; r++) {
		frag_sample_from_series(series, r, &s);
		if (r == 0 || (s.live_requested != U && (peak.live_requested == U ||
							    s.live_requested > peak.live_requested)))
			peak = s, peak_row = r;
		if (s.rss != U && s.rss > max_rss)
			max_rss = s.rss;
		end = s;
	}
	if (rows) {
		json_t *p = point_json(&peak);
		json_object_set_new(p, "sample", json_integer((json_int_t)peak_row));
		json_object_set_new(j, "at_peak_live", p);
		json_object_set_new(j, "at_end", point_json(&end));
	}
	json_object_set_new(j, "peak_rss", num(get_u64(result, "peak_rss")));
	json_object_set_new(j, "peak_rss_sampled", rows ? num(max_rss) : json_null());
	uint64_t base = get_u64(result, "rss_baseline");
	json_object_set_new(j, "rss_baseline", num(base));
	json_object_set_new(j, "after_drain",
			    returned_json(end.rss, get_u64(result, "rss_after_drain"), base));
	json_object_set_new(j, "after_drain_wait",
			    returned_json(end.rss, get_u64(result, "rss_after_drain_wait"), base));
	json_object_set_new(j, "after_release",
			    returned_json(end.rss, get_u64(result, "rss_after_release"), base));
	json_object_set_new(j, "identities",
			    identities_json(series, rows,
					    json_is_true(json_object_get(result, "memory_profile"))));
	return j;
}
