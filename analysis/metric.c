/*
 * The metric table. See metric.h.
 */
#include "metric.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

double metric_live_peak(const rundir_trial_t *t)
{
	json_t *s = rundir_get(t->result, "series.live_requested"), *v;
	size_t i;
	double m = NAN;
	json_array_foreach(s, i, v)
		if (json_is_number(v) && (isnan(m) || json_number_value(v) > m))
			m = json_number_value(v);
	return m;
}

/* RSS at its peak over the most live bytes requested at any sample: what the
 * program paid in memory per byte it asked for (1.0 would be free). The RSS
 * includes the harness's own few MiB, so small workloads read high. */
static double overhead(const rundir_trial_t *t)
{
	double live = metric_live_peak(t), rss = rundir_num(t->result, "peak_rss");
	return live > 0 ? rss / live : NAN;
}

static const metric_t static_metrics[] = {
	{ "ns_per_op", "ns", "time per operation", -1, METRIC_NOISY, "result.ns_per_op", NULL },
	{ "peak_rss", "B", "peak RSS", -1, METRIC_NOISY, "result.peak_rss", NULL },
	{ "overhead", "x", "overhead factor (peak RSS / peak live bytes)", -1, METRIC_NOISY, "", overhead },
	{ "rss_after_drain", "B", "RSS after every object is freed", -1, METRIC_NOISY,
	  "result.rss_after_drain", NULL },
	{ "rss_after_release", "B", "RSS after the allocator's release", -1, METRIC_NOISY,
	  "result.rss_after_release", NULL },
	{ "malloc_p50", "ns", "malloc latency p50", -1, METRIC_NOISY, "result.latency.malloc.p50_ns", NULL },
	{ "malloc_p99", "ns", "malloc latency p99", -1, METRIC_NOISY, "result.latency.malloc.p99_ns", NULL },
	{ "malloc_p999", "ns", "malloc latency p99.9", -1, METRIC_NOISY, "result.latency.malloc.p999_ns", NULL },
	{ "free_p50", "ns", "free latency p50", -1, METRIC_NOISY, "result.latency.free.p50_ns", NULL },
	{ "free_p99", "ns", "free latency p99", -1, METRIC_NOISY, "result.latency.free.p99_ns", NULL },
	{ "free_p999", "ns", "free latency p99.9", -1, METRIC_NOISY, "result.latency.free.p999_ns", NULL },
	{ "stream_allocs", "", "allocations in the operation stream", 0, METRIC_EXACT,
	  "result.stream.allocs", NULL },
	{ "stream_alloc_bytes", "B", "bytes requested by the operation stream", 0, METRIC_EXACT,
	  "result.stream.alloc_bytes", NULL },
};
#define NSTATIC (sizeof(static_metrics) / sizeof(static_metrics[0]))

const metric_t *metric_find_static(const char *name)
{
	for (size_t i = 0; i < NSTATIC; i++)
		if (!strcmp(static_metrics[i].name, name))
			return &static_metrics[i];
	return NULL;
}

/* A new zeroed entry named name, or NULL when the list has it already. */
static metric_t *add(metric_t **out, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*out)[i].name, name))
			return NULL;
	*out = realloc(*out, (*n + 1) * sizeof(**out));
	metric_t *m = &(*out)[(*n)++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	return m;
}

static metric_t *find(metric_t *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i].name, name))
			return &list[i];
	return NULL;
}

/* The figures of result.frag (analysis/frag.c, METRICS.md) that become
 * metrics, where a trial has them: the breakdown at the peak of live bytes,
 * the peak, what the drain gave back, and the identity check. */
static const struct {
	const char *key, *unit;
	int better;
} frag_metrics[] = {
	{"at_peak_live.internal", "B", -1},
	{"at_peak_live.internal_ratio", "x", -1},
	{"at_peak_live.external", "B", -1},
	{"at_peak_live.free_pages", "B", -1},
	{"at_peak_live.tail_waste", "B", -1},
	{"at_peak_live.class_free", "B", -1},
	{"at_peak_live.overhead", "x", -1},
	{"peak_rss_sampled", "B", -1},
	{"after_drain.returned_fraction", "x", +1},
	{"after_release.returned_fraction", "x", +1},
	{"identities.violations", "", -1},
};
#define NFRAG (sizeof(frag_metrics) / sizeof(frag_metrics[0]))

size_t metric_discover(const rundir_t *rd, metric_t **out)
{
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < NSTATIC; i++)
		*add(out, &n, static_metrics[i].name) = static_metrics[i];
	for (size_t i = 0; i < rd->nt; i++) {
		const rundir_trial_t *t = &rd->t[i];
		if (!t->ok)
			continue;
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(t->result, "counters"), k, v) {
			char name[128];
			snprintf(name, sizeof(name), "counter.%s", k);
			metric_t *m = add(out, &n, name);
			if (!m) {
				m = find(*out, n, name);
			} else {
				m->unit = "/op";
				m->title = "counter per operation";
				m->better = -1;
				snprintf(m->path, sizeof(m->path), "result.counters.%s.per_op", k);
			}
			if (json_is_true(json_object_get(v, "simulated")))
				m->exact = METRIC_EXACT;
		}
		for (size_t f = 0; f < NFRAG; f++) {
			char path[192];
			snprintf(path, sizeof(path), "result.frag.%s", frag_metrics[f].key);
			if (!json_is_number(rundir_get(t->rec, path)))
				continue;
			char name[128];
			snprintf(name, sizeof(name), "frag.%s", frag_metrics[f].key);
			metric_t *m = add(out, &n, name);
			if (!m)
				continue;
			m->unit = frag_metrics[f].unit;
			m->title = "fragmentation (analysis/METRICS.md)";
			m->better = frag_metrics[f].better;
			m->exact = METRIC_EXACT_IF_FLAT;
			snprintf(m->path, sizeof(m->path), "%s", path);
		}
	}
	return n;
}

double metric_value(const metric_t *m, const rundir_trial_t *t)
{
	if (!t->ok || !t->result)
		return NAN;
	if (m->fn)
		return m->fn(t);
	return rundir_num(t->rec, m->path);
}

size_t metric_samples(const rundir_t *rd, const rundir_cell_t *c, const metric_t *m, double *buf)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		double v = metric_value(m, &rd->t[c->trials[i]]);
		if (!isnan(v))
			buf[k++] = v;
	}
	return k;
}

void metric_summarise(const double *x, size_t n, metric_summary_t *s)
{
	s->n = n;
	s->median = stats_median(x, n);
	s->min = stats_min(x, n);
	s->max = stats_max(x, n);
	s->q1 = stats_quantile(x, n, 0.25);
	s->q3 = stats_quantile(x, n, 0.75);
}

const char *metric_counter_unavailable(const rundir_trial_t *t, const char *event)
{
	json_t *c = json_object_get(json_object_get(t->result, "counters"), event);
	json_t *u = json_object_get(c, "unavailable");
	if (!u)
		return NULL;
	return json_is_string(u) ? json_string_value(u) : "unavailable";
}

void metric_format(const metric_t *m, double v, char *buf, size_t n)
{
	if (isnan(v)) {
		snprintf(buf, n, "n/a");
		return;
	}
	const char *u = m->unit ? m->unit : "";
	if (!strcmp(u, "B")) {
		static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
		int k = 0;
		double a = v;
		while (fabs(a) >= 1024 && k < 4)
			a /= 1024, k++;
		snprintf(buf, n, k ? "%.2f %s" : "%.0f %s", a, units[k]);
	} else if (!strcmp(u, "x")) {
		snprintf(buf, n, "%.3fx", v);
	} else if (!strcmp(u, "ns")) {
		snprintf(buf, n, fabs(v) >= 100 ? "%.0f ns" : "%.2f ns", v);
	} else if (!strcmp(u, "/op")) {
		snprintf(buf, n, "%.4g /op", v);
	} else {
		snprintf(buf, n, "%.6g", v);
	}
}
