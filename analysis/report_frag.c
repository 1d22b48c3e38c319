/*
 * The fragmentation breakdown as the report draws it (figure d): read from
 * result.frag when the run recorded it, else derived from the allocator's own
 * statistics, and labelled as such. See report.h and analysis/README.md.
 */
#include "report.h"

#include <math.h>
#include <string.h>

#define NFRAG 5
static const char *const frag_comp[NFRAG] = {"live", "internal", "tail", "external", "metadata"};

double report_pick(json_t *o, const char *const *names)
{
	for (; *names; names++) {
		json_t *v = json_object_get(o, *names);
		if (json_is_object(v))
			v = json_object_get(v, "bytes");
		if (json_is_number(v))
			return json_number_value(v);
	}
	return NAN;
}

static double series_at(json_t *s, const char *col, size_t i)
{
	json_t *v = json_array_get(json_object_get(s, col), i);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

double report_frag(const rundir_trial_t *t, const char *comp, int *derived)
{
	static const char *const names[NFRAG][5] = {
		{"live", "live_bytes", "live_requested", NULL},
		{"internal", "internal_bytes", NULL},
		{"tail", "tail_bytes", "tail_waste", NULL},
		{"external", "external_bytes", NULL},
		{"metadata", "metadata_bytes", NULL},
	};
	int k = 0;
	while (k < NFRAG && strcmp(frag_comp[k], comp))
		k++;
	if (k == NFRAG || !t || !t->result)
		return NAN;
	json_t *frag = json_object_get(t->result, "frag");
	*derived = !json_is_object(frag);
	if (!*derived)
		return report_pick(frag, names[k]);
	/* derived at the sample with the most live bytes */
	json_t *s = json_object_get(t->result, "series");
	json_t *live = json_object_get(s, "live_requested");
	size_t at = 0;
	double best = -1;
	for (size_t i = 0; i < json_array_size(live); i++)
		if (json_is_number(json_array_get(live, i)) &&
		    json_number_value(json_array_get(live, i)) > best)
			best = json_number_value(json_array_get(live, i)), at = i;
	if (best < 0)
		return NAN;
	double alloc = series_at(s, "alloc_allocated", at), active = series_at(s, "alloc_active", at);
	double mapped = series_at(s, "alloc_resident", at);
	if (isnan(mapped))
		mapped = series_at(s, "alloc_mapped", at);
	switch (k) {
	case 0: return best;
	case 1: return alloc >= best ? alloc - best : NAN;  /* allocated - requested */
	case 2: return NAN;                                  /* needs per-class data */
	case 3: return mapped >= (isnan(active) ? alloc : active)
			? mapped - (isnan(active) ? alloc : active) : NAN;
	default: return series_at(s, "alloc_metadata", at);
	}
}

