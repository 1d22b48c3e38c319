/*
 * Option tables: parsing YAML nodes into typed structs. See options.h.
 */
#include "options.h"

#include <ctype.h>
#include <libgen.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(obj, opt) ((void *)((char *)(obj) + (opt)->off))

static const char *const type_names[] = {
	[MB_OPT_BOOL] = "bool",         [MB_OPT_INT] = "integer",
	[MB_OPT_UINT] = "count",        [MB_OPT_DOUBLE] = "number",
	[MB_OPT_STR] = "string",        [MB_OPT_ENUM] = "enum",
	[MB_OPT_SIZE] = "size",         [MB_OPT_DURATION] = "duration",
	[MB_OPT_STRLIST] = "list of strings", [MB_OPT_UINTLIST] = "list of counts",
	[MB_OPT_CUSTOM] = "mapping",
};

void mb_yerr(mb_yctx_t *y, const yaml_node_t *node, const char *fmt, ...)
{
	FILE *f = y->err ? y->err : stderr;
	va_list ap;
	unsigned long line = node ? node->start_mark.line + 1 : 1;
	unsigned long col = node ? node->start_mark.column + 1 : 1;
	fprintf(f, "%s:%lu:%lu: ", y->file, line, col);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	y->errors++;
}

static void yerr_mark(mb_yctx_t *y, yaml_mark_t m, const char *what, const char *ctx)
{
	FILE *f = y->err ? y->err : stderr;
	fprintf(f, "%s:%lu:%lu: YAML syntax error: %s%s%s\n", y->file,
		(unsigned long)m.line + 1, (unsigned long)m.column + 1, what,
		ctx ? " " : "", ctx ? ctx : "");
	y->errors++;
}

/* Duplicate keys are legal to libyaml's loader but never meant: reject them,
 * pointing at the second occurrence. Recurses through the whole document. */
static void check_duplicates(mb_yctx_t *y, yaml_node_t *node, int depth)
{
	yaml_document_t *doc = y->doc;
	if (!node || depth > 64)
		return;
	if (node->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++)
			check_duplicates(y, yaml_document_get_node(doc, *it), depth + 1);
	} else if (node->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *a0 = node->data.mapping.pairs.start;
		yaml_node_pair_t *end = node->data.mapping.pairs.top;
		for (yaml_node_pair_t *a = a0; a < end; a++) {
			yaml_node_t *ka = yaml_document_get_node(doc, a->key);
			const char *sa = mb_yaml_scalar(ka);
			for (yaml_node_pair_t *b = a0; sa && b < a; b++) {
				const char *sb = mb_yaml_scalar(yaml_document_get_node(doc, b->key));
				if (sb && strcmp(sa, sb) == 0) {
					yaml_node_t *kb = yaml_document_get_node(doc, b->key);
					mb_yerr(y, ka, "duplicate key '%s' (first at line %lu)", sa,
						(unsigned long)kb->start_mark.line + 1);
					break;
				}
			}
			check_duplicates(y, yaml_document_get_node(doc, a->value), depth + 1);
		}
	}
}

static int load_common(mb_yctx_t *y, yaml_parser_t *p, yaml_document_t *doc)
{
	if (!yaml_parser_load(p, doc)) {
		yaml_mark_t m = p->problem_mark;
		if (p->error != YAML_READER_ERROR && p->context_mark.line < m.line &&
		    p->context)
			yerr_mark(y, m, p->problem, p->context);
		else
			yerr_mark(y, m, p->problem ? p->problem : "unreadable", NULL);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (!root) {
		yaml_document_delete(doc);
		y->doc = NULL;
		mb_yerr(y, NULL, "empty document (expected a mapping)");
		return -1;
	}
	yaml_document_t extra;
	if (yaml_parser_load(p, &extra)) {
		yaml_node_t *r2 = yaml_document_get_root_node(&extra);
		if (r2) {
			y->doc = &extra;
			mb_yerr(y, r2, "more than one YAML document in the file");
			yaml_document_delete(&extra);
			yaml_document_delete(doc);
			y->doc = NULL;
			return -1;
		}
		yaml_document_delete(&extra);
	}
	y->doc = doc;
	int before = y->errors;
	check_duplicates(y, root, 0);
	if (y->errors != before) {
		yaml_document_delete(doc);
		y->doc = NULL;
		return -1;
	}
	return 0;
}

int mb_yaml_load_file(mb_yctx_t *y, const char *path, yaml_document_t *doc)
{
	y->file = path;
	FILE *f = fopen(path, "rb");
	if (!f) {
		FILE *e = y->err ? y->err : stderr;
		fprintf(e, "%s:1:1: cannot open: %s\n", path, strerror(errno));
		y->errors++;
		return -1;
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	int rc = load_common(y, &p, doc);
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

int mb_yaml_load_string(mb_yctx_t *y, const char *name, const char *text,
			yaml_document_t *doc)
{
	y->file = name;
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	int rc = load_common(y, &p, doc);
	yaml_parser_delete(&p);
	return rc;
}

const char *mb_yaml_scalar(const yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

yaml_node_t *mb_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const char *k = mb_yaml_scalar(yaml_document_get_node(doc, p->key));
		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* --- the option engine ---------------------------------------------------------- */

static int range_check(mb_yctx_t *y, yaml_node_t *n, const mb_option_t *o, double v)
{
	if (o->ranged && (v < o->min || v > o->max)) {
		mb_yerr(y, n, "%s: %s is out of range [%g, %g]", o->name, mb_yaml_scalar(n),
			o->min, o->max);
		return -1;
	}
	return 0;
}

/* A scalar that must be plain: a quoted "3" where a number is wanted is an error. */
static const char *want_plain(mb_yctx_t *y, yaml_node_t *n, const mb_option_t *o)
{
	const char *s = mb_yaml_scalar(n);
	if (!s) {
		mb_yerr(y, n, "%s: expected a %s, got a %s", o->name, type_names[o->type],
			n->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
		return NULL;
	}
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		mb_yerr(y, n, "%s: expected a %s, got a quoted string", o->name,
			type_names[o->type]);
		return NULL;
	}
	return s;
}

static int parse_u64_item(mb_yctx_t *y, yaml_node_t *n, const mb_option_t *o,
			  uint64_t *out)
{
	char err[160];
	const char *s = want_plain(y, n, o);
	if (!s)
		return -1;
	if (mb_parse_uint(s, out, err, sizeof(err))) {
		mb_yerr(y, n, "%s: %s", o->name, err);
		return -1;
	}
	return range_check(y, n, o, (double)*out);
}

static int parse_node(mb_yctx_t *y, yaml_node_t *n, const mb_option_t *o, void *field)
{
	char err[160];
	const char *s;
	switch (o->type) {
	case MB_OPT_BOOL:
		if (!(s = want_plain(y, n, o)))
			return -1;
		if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
			*(bool *)field = true;
		else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
			*(bool *)field = false;
		else {
			mb_yerr(y, n, "%s: expected true or false, got '%s'", o->name, s);
			return -1;
		}
		return 0;
	case MB_OPT_INT: {
		if (!(s = want_plain(y, n, o)))
			return -1;
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!*s || *end || errno) {
			mb_yerr(y, n, "%s: expected an integer, got '%s'", o->name, s);
			return -1;
		}
		if (range_check(y, n, o, (double)v))
			return -1;
		*(int64_t *)field = v;
		return 0;
	}
	case MB_OPT_UINT:
		return parse_u64_item(y, n, o, field);
	case MB_OPT_DOUBLE: {
		double d;
		if (!(s = want_plain(y, n, o)))
			return -1;
		if (mb_parse_double(s, &d, err, sizeof(err))) {
			mb_yerr(y, n, "%s: %s", o->name, err);
			return -1;
		}
		if (range_check(y, n, o, d))
			return -1;
		*(double *)field = d;
		return 0;
	}
	case MB_OPT_SIZE:
	case MB_OPT_DURATION: {
		uint64_t v;
		if (!(s = want_plain(y, n, o)))
			return -1;
		int rc = o->type == MB_OPT_SIZE ? mb_parse_size(s, &v, err, sizeof(err))
						: mb_parse_duration(s, &v, err, sizeof(err));
		if (rc) {
			mb_yerr(y, n, "%s: %s", o->name, err);
			return -1;
		}
		if (range_check(y, n, o, (double)v))
			return -1;
		*(uint64_t *)field = v;
		return 0;
	}
	case MB_OPT_STR:
		if (!(s = mb_yaml_scalar(n))) {
			mb_yerr(y, n, "%s: expected a string", o->name);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = strdup(s);
		return 0;
	case MB_OPT_ENUM:
		if (!(s = mb_yaml_scalar(n))) {
			mb_yerr(y, n, "%s: expected one of the names below", o->name);
			return -1;
		}
		for (int i = 0; o->values[i]; i++)
			if (!strcmp(o->values[i], s)) {
				*(int *)field = i;
				return 0;
			}
		{
			char allowed[512] = "";
			for (int i = 0; o->values[i]; i++)
				snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
					 "%s%s", i ? ", " : "", o->values[i]);
			mb_yerr(y, n, "%s: '%s' is not one of: %s", o->name, s, allowed);
		}
		return -1;
	case MB_OPT_STRLIST:
	case MB_OPT_UINTLIST: {
		bool str = o->type == MB_OPT_STRLIST;
		yaml_node_item_t one = 0, *start, *top;
		if (n->type == YAML_SCALAR_NODE) {
			start = &one;
			top = start + 1;
		} else if (n->type == YAML_SEQUENCE_NODE) {
			start = n->data.sequence.items.start;
			top = n->data.sequence.items.top;
		} else {
			mb_yerr(y, n, "%s: expected a %s, got a mapping", o->name,
				type_names[o->type]);
			return -1;
		}
		size_t cnt = (size_t)(top - start), k = 0;
		void *v = calloc(cnt ? cnt : 1, str ? sizeof(char *) : sizeof(uint64_t));
		int bad = 0;
		for (yaml_node_item_t *it = start; it < top; it++) {
			yaml_node_t *item = it == &one ? n : yaml_document_get_node(y->doc, *it);
			if (str) {
				const char *is = mb_yaml_scalar(item);
				if (!is) {
					mb_yerr(y, item, "%s: list items must be strings", o->name);
					bad = 1;
					continue;
				}
				((char **)v)[k++] = strdup(is);
			} else if (parse_u64_item(y, item, o, &((uint64_t *)v)[k++])) {
				bad = 1;
			}
		}
		if (str) {
			mb_strlist_t *l = field;
			for (size_t i = 0; i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = v;
			l->n = k;
		} else {
			mb_u64list_t *l = field;
			free(l->v);
			l->v = v;
			l->n = k;
		}
		if (!bad && cnt == 0) {
			mb_yerr(y, n, "%s: the list is empty", o->name);
			bad = 1;
		}
		return bad ? -1 : 0;
	}
	case MB_OPT_CUSTOM:
		return o->parse(y, n, field, o);
	}
	return -1;
}

int mb_opt_defaults(const mb_option_t *table, void *obj)
{
	int bad = 0;
	for (const mb_option_t *o = table; o->name; o++) {
		if (!o->def)
			continue;
		mb_yctx_t y = {0};
		yaml_document_t doc;
		char name[128];
		snprintf(name, sizeof(name), "<default of %s>", o->name);
		if (mb_yaml_load_string(&y, name, o->def, &doc)) {
			bad = 1;
			continue;
		}
		if (parse_node(&y, yaml_document_get_root_node(&doc), o, FIELD(obj, o)))
			bad = 1;
		yaml_document_delete(&doc);
	}
	return bad ? -1 : 0;
}

static const mb_option_t *find_opt(const mb_option_t *table, const char *key)
{
	for (const mb_option_t *o = table; o && o->name; o++)
		if (!strcmp(o->name, key))
			return o;
	return NULL;
}

/* Levenshtein distance, capped at 32 characters per word (enough for keys). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[33][33];
	if (la > 32 || lb > 32)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	return d[la][lb];
}

const char *mb_closest(const char *key, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, limit = strlen(key) / 3;
	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < n; i++) {
		size_t dist = edit_distance(key, names[i]);
		if (dist <= limit && dist < bestd) {
			bestd = dist;
			best = names[i];
		}
	}
	return best;
}

void mb_yerr_unknown(mb_yctx_t *y, const yaml_node_t *node, const char *key,
		     const char *kind, const char *name, const char *const *names, size_t n,
		     const char *otherwise)
{
	const char *near = mb_closest(name, names, n);
	if (near) {
		mb_yerr(y, node, "%s: no %s named '%s' (did you mean '%s'?)", key, kind, name, near);
		return;
	}
	char known[512] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 i ? ", " : "", names[i]);
	mb_yerr(y, node, "%s: no %s named '%s' (known: %s%s)", key, kind, name, known,
		otherwise ? otherwise : "");
}

char *mb_path_stem(const char *path)
{
	char *copy = strdup(path), *b = basename(copy), *dot = strrchr(b, '.');
	if (dot)
		*dot = 0;
	char *r = strdup(b);
	free(copy);
	return r;
}

const char *mb_opt_suggest(const mb_option_t *table, const mb_option_t *extra,
			   const char *key)
{
	const char *names[256];
	size_t n = 0;
	const mb_option_t *tables[2] = {table, extra};
	for (int t = 0; t < 2; t++)
		for (const mb_option_t *o = tables[t]; o && o->name && n < 256; o++)
			names[n++] = o->name;
	return mb_closest(key, names, n);
}

int mb_opt_apply(mb_yctx_t *y, const mb_option_t *table, const mb_option_t *extra,
		 yaml_node_t *map, void *obj, bool check_required)
{
	int before = y->errors;
	if (!map || map->type != YAML_MAPPING_NODE) {
		mb_yerr(y, map, "expected a mapping of keys to values");
		return y->errors - before;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		const char *k = mb_yaml_scalar(kn);
		if (!k) {
			mb_yerr(y, kn, "keys must be plain strings");
			continue;
		}
		const mb_option_t *o = find_opt(table, k);
		if (!o) {
			if (find_opt(extra, k))
				continue;
			const char *s = mb_opt_suggest(table, extra, k);
			if (s)
				mb_yerr(y, kn, "unknown key '%s' (did you mean '%s'?)", k, s);
			else
				mb_yerr(y, kn, "unknown key '%s'", k);
			continue;
		}
		parse_node(y, yaml_document_get_node(y->doc, p->value), o, FIELD(obj, o));
	}
	if (check_required)
		for (const mb_option_t *o = table; o->name; o++)
			if (o->required && !mb_yaml_get(y->doc, map, o->name))
				mb_yerr(y, map, "missing required key '%s' (%s)", o->name, o->help);
	return y->errors - before;
}

void mb_opt_free(const mb_option_t *table, void *obj)
{
	for (const mb_option_t *o = table; o->name; o++) {
		void *f = FIELD(obj, o);
		if (o->type == MB_OPT_STR) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (o->type == MB_OPT_STRLIST) {
			mb_strlist_t *l = f;
			for (size_t i = 0; i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
		} else if (o->type == MB_OPT_UINTLIST) {
			mb_u64list_t *l = f;
			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
	}
}

void mb_opt_markdown(FILE *f, const mb_option_t *table)
{
	fprintf(f, "| key | type | default | allowed | meaning | example |\n");
	fprintf(f, "| --- | --- | --- | --- | --- | --- |\n");
	for (const mb_option_t *o = table; o->name; o++) {
		char allowed[512] = "";
		if (o->type == MB_OPT_ENUM)
			for (int i = 0; o->values[i]; i++)
				snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
					 "%s`%s`", i ? ", " : "", o->values[i]);
		else if (o->ranged)
			snprintf(allowed, sizeof(allowed), "%g to %g", o->min, o->max);
		fprintf(f, "| `%s` | %s | %s%s%s | %s | %s | %s%s%s |\n", o->name,
			o->type == MB_OPT_CUSTOM && o->type_doc ? o->type_doc : type_names[o->type],
			o->required ? "**required**" : o->def ? "`" : "",
			o->required ? "" : o->def ? o->def : "—",
			!o->required && o->def ? "`" : "", allowed, o->help,
			o->example ? "`" : "", o->example ? o->example : "",
			o->example ? "`" : "");
	}
}
