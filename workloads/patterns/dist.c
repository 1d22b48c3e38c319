/*
 * Distributions: parsing from YAML and O(1) sampling. See dist.h.
 *
 * Exponential and lognormal draws come from a quantile table of MB_DIST_QUANTILES
 * points built at parse time (the inverse CDF at the midpoint of each slice), so
 * a draw costs a table load rather than a log/exp/cos: the kernels must stay
 * light next to the allocator they measure.
 */
#include "dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MB_DIST_QUANTILES 4096

static const char *const dist_kinds[] = {"fixed", "uniform", "exponential", "lognormal",
					 "table", NULL};

typedef struct dist_yaml {
	int kind;
	double value, min, max, mean, median, mu, sigma;
	bool has_min, has_max; /* set by the walker below, not the table */
	mb_strlist_t values;
	mb_u64list_t weights;
} dist_yaml_t;

static int parse_number(mb_yctx_t *y, yaml_node_t *n, const char *what, double *out);

static int parse_num_opt(mb_yctx_t *y, yaml_node_t *n, void *field, const mb_option_t *o)
{
	return parse_number(y, n, o->name, field);
}

/* Numbers in a distribution may be sizes with units ("4KiB") or plain numbers. */
#define DOPT(nm, f, hlp)                                                                \
	{ .name = nm, .type = MB_OPT_CUSTOM, .off = offsetof(dist_yaml_t, f), .help = hlp, \
	  .parse = parse_num_opt, .type_doc = "number" }
static const mb_option_t dist_options[] = {
	{ .name = "dist", .type = MB_OPT_ENUM, .off = offsetof(dist_yaml_t, kind),
	  .values = dist_kinds, .required = true, .help = "the distribution" },
	DOPT("value", value, "fixed: the value"),
	DOPT("min", min, "uniform: lower bound; others: clamp"),
	DOPT("max", max, "uniform: upper bound; others: clamp"),
	DOPT("mean", mean, "exponential: the mean"),
	DOPT("median", median, "lognormal: the median (exp(mu)); or give mu"),
	DOPT("mu", mu, "lognormal: mean of the underlying normal"),
	DOPT("sigma", sigma, "lognormal: deviation of the underlying normal"),
	{ .name = "values", .type = MB_OPT_STRLIST, .off = offsetof(dist_yaml_t, values),
	  .help = "table: the values (sizes with units allowed)" },
	{ .name = "weights", .type = MB_OPT_UINTLIST, .off = offsetof(dist_yaml_t, weights),
	  .help = "table: relative weights, one per value" },
	MB_OPT_END,
};

static int parse_number(mb_yctx_t *y, yaml_node_t *n, const char *what, double *out)
{
	const char *s = mb_yaml_scalar(n);
	char err[160];
	uint64_t u;
	if (!s) {
		mb_yerr(y, n, "%s: expected a number", what);
		return -1;
	}
	if (mb_parse_double(s, out, err, sizeof(err)) == 0)
		return 0;
	if (mb_parse_size(s, &u, err, sizeof(err)) == 0) {
		*out = (double)u;
		return 0;
	}
	mb_yerr(y, n, "%s: expected a number or a size, got '%s'", what, s);
	return -1;
}

static void build_alias(mb_dist_t *d, const double *w)
{
	uint32_t n = d->n, *small = malloc(n * sizeof(*small)), *large = malloc(n * sizeof(*large));
	double sum = 0, *p = malloc(n * sizeof(*p));
	uint32_t ns = 0, nl = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += w[i];
	for (uint32_t i = 0; i < n; i++) {
		p[i] = w[i] * n / sum;
		if (p[i] < 1.0)
			small[ns++] = i;
		else
			large[nl++] = i;
	}
	d->prob = malloc(n * sizeof(*d->prob));
	d->alias = malloc(n * sizeof(*d->alias));
	while (ns && nl) {
		uint32_t s = small[--ns], l = large[--nl];
		d->prob[s] = p[s];
		d->alias[s] = l;
		p[l] -= 1.0 - p[s];
		if (p[l] < 1.0)
			small[ns++] = l;
		else
			large[nl++] = l;
	}
	while (nl) {
		uint32_t l = large[--nl];
		d->prob[l] = 1.0, d->alias[l] = l;
	}
	while (ns) {
		uint32_t s = small[--ns];
		d->prob[s] = 1.0, d->alias[s] = s;
	}
	free(small);
	free(large);
	free(p);
}

static double clampd(const mb_dist_t *d, double v)
{
	return v < d->min ? d->min : v > d->max ? d->max : v;
}

/* Inverse CDFs, for u in (0, 1). */
static double quantile(const mb_dist_t *d, double u)
{
	if (d->kind == MB_DIST_EXPONENTIAL)
		return -d->mean * log1p(-u);
	/* lognormal: exp(mu + sigma * Phi^-1(u)); Phi^-1 by bisection on erfc. */
	double lo = -40, hi = 40;
	for (int i = 0; i < 80; i++) {
		double mid = (lo + hi) / 2;
		if (0.5 * erfc(-mid / M_SQRT2) < u)
			lo = mid;
		else
			hi = mid;
	}
	return exp(d->mu + d->sigma * (lo + hi) / 2);
}

static void build_quantiles(mb_dist_t *d)
{
	d->n = MB_DIST_QUANTILES;
	d->values = malloc(d->n * sizeof(*d->values));
	for (uint32_t i = 0; i < d->n; i++)
		d->values[i] = clampd(d, quantile(d, (i + 0.5) / d->n));
}

static uint64_t round_u64(double v)
{
	return v <= 0 ? 0 : v >= 1.8e19 ? UINT64_MAX : (uint64_t)(v + 0.5);
}

/* The integer forms mb_dist_sample_u64 reads. */
static void build_integers(mb_dist_t *d)
{
	d->ifixed = round_u64(d->value);
	/* uniform: min + k, k from mb_rng_below(max - min + 1), is an integer
	 * already when min is one (exactly so below 2^53) */
	if (d->kind == MB_DIST_UNIFORM && d->min >= 0 && d->min == floor(d->min) &&
	    d->max < 9007199254740992.0) {
		d->ulo = (uint64_t)d->min;
		d->uspan = (uint64_t)(d->max - d->min) + 1;
	}
	if (!d->values)
		return;
	d->ivalues = malloc(d->n * sizeof(*d->ivalues));
	for (uint32_t i = 0; i < d->n; i++)
		d->ivalues[i] = round_u64(d->values[i]);
	if (d->kind == MB_DIST_EXPONENTIAL || d->kind == MB_DIST_LOGNORMAL)
		d->qtab = d->ivalues;
	if (d->prob) {
		/* u < prob with u = (x & 0xffffffff) * 2^-32 is x_lo < prob * 2^32 */
		d->iprob = malloc(d->n * sizeof(*d->iprob));
		for (uint32_t i = 0; i < d->n; i++) {
			double t = ceil(d->prob[i] * 4294967296.0);
			d->iprob[i] = t >= 4294967296.0 ? UINT32_MAX : (uint32_t)t;
		}
	}
}

static int dist_parse(mb_yctx_t *y, yaml_node_t *node, void *field, const mb_option_t *opt);

int mb_dist_parse(mb_yctx_t *y, yaml_node_t *node, void *field, const mb_option_t *opt)
{
	int rc = dist_parse(y, node, field, opt);
	if (rc == 0)
		build_integers(field);
	return rc;
}

static int dist_parse(mb_yctx_t *y, yaml_node_t *node, void *field, const mb_option_t *opt)
{
	mb_dist_t *d = field;
	mb_dist_free(d);
	memset(d, 0, sizeof(*d));
	d->max = INFINITY;
	if (node->type == YAML_SCALAR_NODE) {
		d->kind = MB_DIST_FIXED;
		if (parse_number(y, node, opt->name, &d->value))
			return -1;
		d->min = d->max = d->value;
		return 0;
	}
	dist_yaml_t dy = {0};
	int errs = mb_opt_apply(y, dist_options, NULL, node, &dy, true);
	dy.has_min = mb_yaml_get(y->doc, node, "min") != NULL;
	dy.has_max = mb_yaml_get(y->doc, node, "max") != NULL;
	if (errs) {
		mb_opt_free(dist_options, &dy);
		return -1;
	}
	d->kind = (mb_dist_kind_t)dy.kind;
	d->min = dy.has_min ? dy.min : 0;
	d->max = dy.has_max ? dy.max : INFINITY;
	int bad = 0;
#define NEED(cond, ...) do { if (!(cond)) { mb_yerr(y, node, __VA_ARGS__); bad = 1; } } while (0)
	switch (d->kind) {
	case MB_DIST_FIXED:
		NEED(mb_yaml_get(y->doc, node, "value"), "%s: fixed needs 'value'", opt->name);
		d->value = dy.value;
		d->min = d->max = dy.value;
		break;
	case MB_DIST_UNIFORM:
		NEED(dy.has_min && dy.has_max, "%s: uniform needs 'min' and 'max'", opt->name);
		NEED(dy.min <= dy.max, "%s: uniform needs min <= max", opt->name);
		break;
	case MB_DIST_EXPONENTIAL:
		NEED(dy.mean > 0, "%s: exponential needs 'mean' > 0", opt->name);
		d->mean = dy.mean;
		break;
	case MB_DIST_LOGNORMAL:
		NEED(dy.sigma > 0, "%s: lognormal needs 'sigma' > 0", opt->name);
		NEED(!(mb_yaml_get(y->doc, node, "median") && mb_yaml_get(y->doc, node, "mu")),
		     "%s: lognormal takes 'median' or 'mu', not both", opt->name);
		d->mu = mb_yaml_get(y->doc, node, "median") ? log(dy.median) : dy.mu;
		NEED(!mb_yaml_get(y->doc, node, "median") || dy.median > 0,
		     "%s: lognormal needs 'median' > 0", opt->name);
		d->sigma = dy.sigma;
		break;
	case MB_DIST_TABLE:
		NEED(dy.values.n > 0, "%s: table needs 'values'", opt->name);
		NEED(dy.weights.n == 0 || dy.weights.n == dy.values.n,
		     "%s: table has %zu values but %zu weights", opt->name, dy.values.n,
		     dy.weights.n);
		break;
	}
	NEED(d->min <= d->max, "%s: min > max", opt->name);
	if (!bad && (d->kind == MB_DIST_EXPONENTIAL || d->kind == MB_DIST_LOGNORMAL))
		build_quantiles(d);
	if (!bad && d->kind == MB_DIST_TABLE) {
		yaml_node_t *vn = mb_yaml_get(y->doc, node, "values");
		d->n = (uint32_t)dy.values.n;
		d->values = calloc(d->n, sizeof(*d->values));
		double *w = calloc(d->n, sizeof(*w));
		for (uint32_t i = 0; i < d->n; i++) {
			yaml_node_t *item = vn->type == YAML_SEQUENCE_NODE
				? yaml_document_get_node(y->doc, vn->data.sequence.items.start[i]) : vn;
			if (parse_number(y, item, opt->name, &d->values[i]))
				bad = 1;
			w[i] = dy.weights.n ? (double)dy.weights.v[i] : 1.0;
		}
		double total = 0;
		for (uint32_t i = 0; i < d->n; i++)
			total += w[i];
		NEED(total > 0, "%s: table weights sum to zero", opt->name);
		if (!bad)
			build_alias(d, w);
		free(w);
	}
#undef NEED
	mb_opt_free(dist_options, &dy);
	return bad ? -1 : 0;
}

double mb_dist_max(const mb_dist_t *d)
{
	double m = 0;
	switch (d->kind) {
	case MB_DIST_FIXED:
		return d->value;
	case MB_DIST_UNIFORM:
		return d->max;
	case MB_DIST_EXPONENTIAL:
	case MB_DIST_LOGNORMAL:
	case MB_DIST_TABLE:
		for (uint32_t i = 0; i < d->n; i++)
			m = d->values[i] > m ? d->values[i] : m;
		return m;
	}
	return INFINITY;
}

double mb_dist_mean(const mb_dist_t *d)
{
	double s = 0;
	switch (d->kind) {
	case MB_DIST_FIXED:
		return d->value;
	case MB_DIST_UNIFORM:
		return (d->min + d->max) / 2;
	case MB_DIST_EXPONENTIAL:
	case MB_DIST_LOGNORMAL:
		for (uint32_t i = 0; i < d->n; i++)
			s += d->values[i];
		return s / d->n;
	case MB_DIST_TABLE:
		/* alias tables lose the weights; the mean is the sum of p_i v_i where
		 * each slot contributes prob to itself and 1 - prob to its alias */
		for (uint32_t i = 0; i < d->n; i++)
			s += d->prob[i] * d->values[i] + (1 - d->prob[i]) * d->values[d->alias[i]];
		return s / d->n;
	}
	return 0;
}

void mb_dist_free(mb_dist_t *d)
{
	free(d->values);
	free(d->prob);
	free(d->alias);
	free(d->ivalues);
	free(d->iprob);
	d->ivalues = NULL;
	d->iprob = NULL;
	d->qtab = NULL;
	d->uspan = 0;
	d->values = NULL;
	d->prob = NULL;
	d->alias = NULL;
}
