/*
 * The warnings of a report: problems with the files, an incomplete or
 * unoptimised run, failed trials (one line each, with the last line of the
 * trial's stderr), counters that could not be read, grouped: one line per
 * reason and set of allocators, naming the counters and how many trials, and
 * allocators whose own figures break the identity chain (one line each).
 * See report.h.
 */
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void report_warn(report_t *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	text_line_addv(&r->warn, &r->nwarn, fmt, ap);
	va_end(ap);
}

/* The last non-empty line of s, at most n-1 bytes. */
static void last_line(const char *s, char *out, size_t n)
{
	out[0] = 0;
	if (!s)
		return;
	const char *end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(out, n, "%.*s", (int)(end - start), start);
}

/* One unavailable counter for one reason: which allocators (bit a of
 * allocs: rd->allocators[a]) and how many trials. */
typedef struct unavail {
	const char *event, *why;    /* borrowed from the trial records */
	unsigned long long allocs;  /* at most 64 allocators are told apart */
	size_t trials;
	int done;                   /* already printed as part of a group */
} unavail_t;

static size_t alloc_index(const rundir_t *rd, const char *name)
{
	size_t a = 0;
	while (a < rd->na && strcmp(rd->allocators[a], name))
		a++;
	return a;
}

/* "counters A, B unavailable on N trials (every allocator | x, y): why",
 * one line for all counters with the same reason, allocators and count. */
static void counter_warnings(report_t *r)
{
	const rundir_t *rd = r->rd;
	unavail_t *u = NULL;
	size_t nu = 0, with_counters = 0;
	unsigned long long all = 0;
	for (size_t i = 0; i < rd->nt; i++) {
		const rundir_trial_t *t = &rd->t[i];
		json_t *cs = json_object_get(t->result, "counters"), *v;
		const char *k;
		size_t a = alloc_index(rd, t->allocator);
		unsigned long long bit = a < 64 ? 1ULL << a : 0;
		if (json_object_size(cs)) {
			with_counters++;
			all |= bit;
		}
		json_object_foreach(cs, k, v) {
			const char *why = metric_counter_unavailable(t, k);
			if (!why)
				continue;
			size_t q = 0;
			while (q < nu && (strcmp(u[q].event, k) || strcmp(u[q].why, why)))
				q++;
			if (q == nu) {
				u = realloc(u, (nu + 1) * sizeof(*u));
				u[nu++] = (unavail_t){.event = k, .why = why};
			}
			u[q].allocs |= bit;
			u[q].trials++;
		}
	}
	for (size_t i = 0; i < nu; i++) {
		if (u[i].done)
			continue;
		rbuf_t b = {0};
		size_t n = 0;
		for (size_t j = i; j < nu; j++)
			if (!u[j].done && u[j].allocs == u[i].allocs && u[j].trials == u[i].trials &&
			    !strcmp(u[j].why, u[i].why)) {
				rb_printf(&b, "%s%s", n++ ? ", " : "", u[j].event);
				u[j].done = 1;
			}
		rb_printf(&b, " unavailable on %zu of %zu trials (", u[i].trials, with_counters);
		if (u[i].allocs == all)
			rb_printf(&b, "every allocator");
		for (size_t a = 0; a < rd->na && a < 64 && u[i].allocs != all; a++)
			if (u[i].allocs & (1ULL << a))
				rb_printf(&b, "%s%s", b.p[b.n - 1] == '(' ? "" : ", ", rd->allocators[a]);
		report_warn(r, "counter%s %s): %s", n > 1 ? "s" : "", b.p, u[i].why);
		free(b.p);
	}
	free(u);
}

/* Per allocator: trials whose samples break the identity chain of
 * analysis/METRICS.md (result.frag.identities), with the first violation. */
static void identity_warnings(report_t *r)
{
	const rundir_t *rd = r->rd;
	for (size_t a = 0; a < rd->na; a++) {
		size_t bad = 0, samples = 0, n = 0;
		const char *first = NULL, *first_id = NULL;
		for (size_t i = 0; i < rd->nt; i++) {
			const rundir_trial_t *t = &rd->t[i];
			json_t *id = rundir_get(t->result, "frag.identities");
			if (!t->ok || !id || strcmp(t->allocator, rd->allocators[a]))
				continue;
			n++;
			json_int_t v = json_integer_value(json_object_get(id, "violations"));
			if (v > 0) {
				bad++;
				samples += (size_t)v;
				if (!first) {
					first = json_string_value(json_object_get(id, "first_violation"));
					first_id = t->id;
				}
			}
		}
		if (bad)
			report_warn(r, "%s breaks the identity chain live_requested <= live_usable <= "
				    "allocated <= active <= resident on %zu of %zu trials (%zu samples); "
				    "first: %s, %s", rd->allocators[a], bad, n, samples, first_id,
				    first ? first : "?");
	}
}

void report_collect_warnings(report_t *r)
{
	const rundir_t *rd = r->rd;
	for (size_t i = 0; i < rd->nwarn; i++)
		report_warn(r, "%s", rd->warn[i]);
	const char *st = json_string_value(json_object_get(rd->manifest, "status"));
	if (st && strcmp(st, "complete"))
		report_warn(r, "the run is %s, not complete: some planned trials are missing", st);
	json_t *opt = rundir_get(rd->manifest, "build.optimised");
	if (opt && !json_is_true(opt))
		report_warn(r, "results from an unoptimised or sanitizer build: the numbers mislead");
	for (size_t i = 0; i < rd->nt; i++) {
		const rundir_trial_t *t = &rd->t[i];
		if (t->ok)
			continue;
		char tail[300];
		last_line(json_string_value(json_object_get(t->rec, "stderr_tail")), tail, sizeof(tail));
		report_warn(r, "trial %s: %s%s%s", t->id, t->status, tail[0] ? ": " : "", tail);
	}
	counter_warnings(r);
	identity_warnings(r);
}
