/*
 * The pattern registry: every pattern the harness can run, in one table.
 * A new pattern is one file in this folder and one line here.
 */
#include <string.h>

#include "pattern.h"

extern const mb_pattern_t mb_pattern_churn;
extern const mb_pattern_t mb_pattern_fault;
extern const mb_pattern_t mb_pattern_escape;
extern const mb_pattern_t mb_pattern_closure;
extern const mb_pattern_t mb_pattern_slice;
extern const mb_pattern_t mb_pattern_stacks;
extern const mb_pattern_t mb_pattern_request;

const mb_pattern_t *const mb_patterns[] = {
	&mb_pattern_churn,
	&mb_pattern_escape,
	&mb_pattern_closure,
	&mb_pattern_slice,
	&mb_pattern_stacks,
	&mb_pattern_request,
	&mb_pattern_fault,
	NULL,
};

const mb_pattern_t *mb_pattern_find(const char *name)
{
	for (const mb_pattern_t *const *p = mb_patterns; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}
