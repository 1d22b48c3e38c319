/*
 * The JSON writers of a trial's result. See trial_json.h.
 */
#include "trial_json.h"

#include <stdio.h>
#include <string.h>

#include "lat.h"

/* n values, stride bytes apart, from v. */
static json_t *u64_array(const uint64_t *v, uint64_t n, size_t stride)
{
	json_t *a = json_array();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = *(const uint64_t *)((const char *)v + i * stride);
		json_array_append_new(a, x == MB_STAT_UNKNOWN ? json_null()
							      : json_integer((json_int_t)x));
	}
	return a;
}

json_t *mb_trial_json_lat(const mb_lathist_t *h)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:I}", "samples", (json_int_t)mb_lat_total(h),
			 "p50_ns", mb_lat_percentile(h, 0.50), "p99_ns", mb_lat_percentile(h, 0.99),
			 "p999_ns", mb_lat_percentile(h, 0.999), "max_ns", (json_int_t)h->max_ns);
}

json_t *mb_trial_json_astats(const mb_alloc_stats_t *s)
{
	json_t *j = json_object();
#define F(x) json_object_set_new(j, #x, s->x == MB_STAT_UNKNOWN ? json_null() \
						       : json_integer((json_int_t)s->x))
	F(allocated);
	F(active);
	F(resident);
	F(mapped);
	F(metadata);
	F(retained);
#undef F
	return j;
}

json_t *mb_trial_json_series(const uint64_t *ops, const uint64_t *ns,
			     const frag_sample_t *mem, uint64_t nrows)
{
	json_t *j = json_object();
	size_t st = sizeof(frag_sample_t);
	const frag_sample_t *m = mem;
	json_object_set_new(j, "ops", u64_array(ops, nrows, 8));
	json_object_set_new(j, "elapsed_ns", u64_array(ns, nrows, 8));
#define X(field, key) json_object_set_new(j, key, u64_array(&m->field, nrows, st));
	FRAG_SAMPLE_FIELDS(X)
#undef X
	return j;
}

json_t *mb_trial_json_stream(const mb_run_t *run, mb_opstats_t *sum, mb_lathist_t *la,
			     mb_lathist_t *lf)
{
	memset(sum, 0, sizeof(*sum));
	uint64_t checksum = 0, local = 0;
	json_t *kc = json_object();
	for (unsigned i = 0; i < run->nthreads; i++) {
		const mb_worker_t *w = run->workers[i];
		sum->failed += w->st.failed;
		for (unsigned b = 0; b < MB_NBUCKET; b++) {
			sum->bucket[b].allocs += w->st.bucket[b].allocs;
			sum->bucket[b].alloc_bytes += w->st.bucket[b].alloc_bytes;
			sum->bucket[b].frees += w->st.bucket[b].frees;
			sum->bucket[b].free_bytes += w->st.bucket[b].free_bytes;
		}
		/* per-thread streams are deterministic; combine them in tid order */
		checksum = (checksum ^ w->st.checksum) * 0x100000001b3ull + i;
		local += w->local_bytes;
		mb_lat_merge(la, &w->lat_alloc);
		mb_lat_merge(lf, &w->lat_free);
		const char *const *names = run->pattern->counter_names;
		for (unsigned k = 0; names && names[k] && k < 8; k++) {
			json_t *old = json_object_get(kc, names[k]);
			json_int_t v = (old ? json_integer_value(old) : 0) +
				       (json_int_t)w->kernel_counter[k];
			json_object_set_new(kc, names[k], json_integer(v));
		}
	}
	mb_opstats_settle(sum); /* the totals, from the summed buckets */
	char hex[20];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)checksum);
	json_t *buckets = json_array();
	for (unsigned b = 0; b < MB_NBUCKET; b++)
		if (sum->bucket[b].allocs || sum->bucket[b].frees)
			json_array_append_new(buckets,
				json_pack("{s:I, s:I, s:I, s:I}", "max_size",
					  (json_int_t)mb_bucket_max(b), "allocs",
					  (json_int_t)sum->bucket[b].allocs, "bytes",
					  (json_int_t)sum->bucket[b].alloc_bytes, "frees",
					  (json_int_t)sum->bucket[b].frees));
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "checksum", hex,
			 "allocs", (json_int_t)sum->allocs, "frees", (json_int_t)sum->frees,
			 "alloc_bytes", (json_int_t)sum->alloc_bytes, "free_bytes",
			 (json_int_t)sum->free_bytes, "failed_allocs", (json_int_t)sum->failed,
			 "local_bytes", (json_int_t)local, "by_size", buckets, "kernel", kc);
}

json_t *mb_trial_json_placement(int pin, int membind, const mb_place_t *place,
				unsigned nthreads, const char *const *bind_error)
{
	json_t *th = json_array();
	for (unsigned i = 0; place && i < nthreads; i++) {
		const mb_place_t *p = &place[i];
		json_array_append_new(th, json_pack("{s:i, s:i, s:i, s:i, s:i, s:s?}", "tid", (int)i,
			"pu_os", p->pu_os, "core", p->core, "package", p->package, "numa", p->numa,
			"bind_error", bind_error[i][0] ? bind_error[i] : NULL));
	}
	return json_pack("{s:s, s:s, s:o}", "pin", mb_pin_names[pin], "membind",
			 mb_membind_names[membind], "threads", th);
}
