/* The trial matrix. See plan.h. */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Keeps [A-Za-z0-9.-]; everything else becomes '-', so ids are file names and
 * "__" stays a separator. */
static void safe_name(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; *src && i + 1 < n; src++, i++) {
		char c = *src;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-';
		dst[i] = ok ? c : '-';
	}
	dst[i] = 0;
}

int mb_plan_build(const mb_suite_t *s, mb_plan_t *plan)
{
	size_t nthr = s->threads.n ? s->threads.n : 1;
	size_t cap = s->repetitions * s->nwl * nthr * s->nal;
	plan->n = 0;
	plan->t = calloc(cap ? cap : 1, sizeof(*plan->t));
	if (!plan->t)
		return -ENOMEM;
	for (unsigned rep = 0; rep < s->repetitions; rep++)
		for (size_t w = 0; w < s->nwl; w++)
			for (size_t k = 0; k < nthr; k++)
				for (size_t a = 0; a < s->nal; a++) {
					const mb_workload_t *wl = s->wl[w];
					mb_trial_spec_t *t = &plan->t[plan->n++];
					t->wl = w;
					t->al = a;
					t->rep = rep;
					t->threads = (unsigned)(s->threads.n ? s->threads.v[k]
									     : wl->threads);
					t->seed = wl->seed ? wl->seed : s->seed;
					t->ops = (uint64_t)((double)wl->ops * s->ops_scale);
					t->warmup = (uint64_t)((double)wl->warmup * s->ops_scale);
					if (t->ops < t->threads)
						t->ops = t->threads;
					char wn[128], an[128];
					safe_name(wn, sizeof(wn), wl->name);
					safe_name(an, sizeof(an), s->al[a].name);
					snprintf(t->id, sizeof(t->id), "%s__%s__t%u__r%u", wn, an,
						 t->threads, rep);
				}
	return 0;
}

void mb_plan_free(mb_plan_t *plan)
{
	free(plan->t);
	plan->t = NULL;
	plan->n = 0;
}
