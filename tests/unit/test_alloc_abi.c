/*
 * The plug-in ABI check (harness/plugin.c) and the allocator registry's
 * tunables (harness/allocators.c), in process: no plug-in is loaded here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "allocators.h"
#include "plugin.h"

static int t_init(void) { return 0; }
static void *t_malloc(size_t s, unsigned f) { return malloc(s); }
static void t_free(void *p, size_t s) { free(p); }
static void *t_realloc(void *p, size_t o, size_t n) { return realloc(p, n); }
static size_t t_usable(void *p) { return 0; }
static void *t_stack(size_t s) { return malloc(s); }

static const mb_alloc_ops_t good = {
	.abi_version = MB_ALLOC_ABI_VERSION, .name = "t", .init = t_init,
	.malloc = t_malloc, .free = t_free, .realloc = t_realloc, .usable_size = t_usable,
};

static void test_good_passes(void **state)
{
	assert_null(mb_plugin_check(&good));
}

/* every required entry, removed one at a time, is named in the refusal */
static void test_missing_required_entry(void **state)
{
	static const struct { const char *name; size_t off; } req[] = {
		{"name", offsetof(mb_alloc_ops_t, name)},
		{"init", offsetof(mb_alloc_ops_t, init)},
		{"malloc", offsetof(mb_alloc_ops_t, malloc)},
		{"free", offsetof(mb_alloc_ops_t, free)},
		{"realloc", offsetof(mb_alloc_ops_t, realloc)},
		{"usable_size", offsetof(mb_alloc_ops_t, usable_size)},
	};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		mb_alloc_ops_t o = good;
		*(void **)((char *)&o + req[i].off) = NULL;
		const char *why = mb_plugin_check(&o);
		assert_non_null(why);
		char want[64];
		snprintf(want, sizeof(want), "'%s'", req[i].name);
		assert_non_null(strstr(why, want));
	}
}

static void test_wrong_version(void **state)
{
	mb_alloc_ops_t o = good;
	o.abi_version = MB_ALLOC_ABI_VERSION + 1;
	const char *why = mb_plugin_check(&o);
	assert_non_null(why);
	assert_non_null(strstr(why, "ABI version"));
}

static void test_stack_pair(void **state)
{
	mb_alloc_ops_t o = good;
	o.stack_alloc = t_stack;
	assert_non_null(mb_plugin_check(&o));
	o.stack_free = t_free;
	assert_null(mb_plugin_check(&o));
}

/* Parses text as a `tunables:` value; returns the error count, messages in msg. */
static int parse(const char *text, mb_tunables_t *t, char *msg, size_t msglen)
{
	memset(t, 0, sizeof(*t));
	FILE *err = tmpfile();
	mb_yctx_t y = {.err = err};
	yaml_document_t doc;
	assert_int_equal(mb_yaml_load_string(&y, "t.yaml", text, &doc), 0);
	y.doc = &doc;
	y.file = "t.yaml";
	mb_tunables_parse(&y, yaml_document_get_root_node(&doc), t, NULL);
	yaml_document_delete(&doc);
	rewind(err);
	size_t n = fread(msg, 1, msglen - 1, err);
	msg[n] = 0;
	fclose(err);
	return y.errors;
}

static void test_tunables_parse(void **state)
{
	mb_tunables_t *t = calloc(1, sizeof(*t));
	char msg[2048];
	assert_int_equal(parse("je-x: {allocator: jemalloc, env: {MALLOC_CONF: \"narenas:1\"}}\n"
			       "mimalloc: {env: {MIMALLOC_PURGE_DELAY: 0, MIMALLOC_ARENA_EAGER_COMMIT: 1}}\n",
			       t, msg, sizeof(msg)), 0);
	assert_int_equal(t->n, 2);
	assert_string_equal(t->v[0].name, "je-x");
	assert_string_equal(t->v[0].base, "jemalloc");
	assert_int_equal(t->v[0].nenv, 1);
	assert_string_equal(t->v[0].env[0], "MALLOC_CONF=narenas:1");
	assert_string_equal(t->v[1].base, "");
	assert_int_equal(t->v[1].nenv, 2);
	assert_string_equal(t->v[1].env[1], "MIMALLOC_ARENA_EAGER_COMMIT=1");

	/* a bad variable name, LD_PRELOAD, an unknown key, a new name without base */
	assert_int_equal(parse("a: {allocator: system, env: {\"1X\": a}}", t, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "t.yaml:1:"));
	assert_non_null(strstr(msg, "not an environment variable name"));
	assert_int_equal(parse("a: {allocator: system, env: {LD_PRELOAD: x.so}}", t, msg,
			       sizeof(msg)), 1);
	assert_non_null(strstr(msg, "LD_PRELOAD"));
	assert_int_equal(parse("system: {envv: {A: b}}", t, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "unknown key 'envv'"));
	assert_int_equal(parse("fast: {env: {A: b}}", t, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "allocator: NAME"));
	free(t);
}

/* a variant resolves to its base allocator's plug-in, under its own name, with
 * its environment */
static void test_resolve_variant(void **state)
{
	const char *b = getenv("MB_BUILD_DIR");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/plugins", b ? b : "build");
	setenv("MEMBENCH_PLUGIN_DIR", dir, 1);
	mb_tunables_t *t = calloc(1, sizeof(*t));
	char msg[1024];
	assert_int_equal(parse("sys-trim: {allocator: system, env: {MALLOC_TRIM_THRESHOLD_: 0}}",
			       t, msg, sizeof(msg)), 0);
	mb_alloc_ref_t *r = calloc(1, sizeof(*r));
	const char *why;
	assert_int_equal(mb_allocator_resolve("sys-trim", t, r, &why), 0);
	assert_string_equal(r->name, "sys-trim");
	assert_string_equal(r->reg->name, "system");
	assert_non_null(strstr(r->plugin, "mb-system.so"));
	assert_int_equal(r->nenv, 1);
	assert_string_equal(r->env[0], "MALLOC_TRIM_THRESHOLD_=0");
	/* without tunables the plain name has no environment */
	assert_int_equal(mb_allocator_resolve("system", NULL, r, &why), 0);
	assert_int_equal(r->nenv, 0);
	assert_int_equal(mb_allocator_resolve("no-such", t, r, &why), -2 /* -ENOENT */);
	free(r);
	free(t);
}

/* This test binary links the harness but is not membench: a probe started
 * from it must run the real membench beside the plug-ins, never this program
 * (which would run these tests again, and probe again, without end). */
static void test_probe_from_a_test_binary(void **state)
{
	const char *b = getenv("MB_BUILD_DIR");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/plugins", b ? b : "build");
	setenv("MEMBENCH_PLUGIN_DIR", dir, 1);
	const char *exe = mb_membench_exe();
	assert_non_null(exe);
	assert_non_null(strstr(exe, "/membench"));
	assert_null(strstr(exe, "test_alloc_abi"));
	mb_alloc_ref_t *r = calloc(1, sizeof(*r));
	const char *why;
	char pwhy[512];
	assert_int_equal(mb_allocator_resolve("system", NULL, r, &why), 0);
	json_t *info = mb_allocator_probe(r, false, pwhy, sizeof(pwhy));
	assert_non_null(info);
	assert_string_equal(json_string_value(json_object_get(info, "name")), "system");
	assert_string_equal(json_string_value(json_object_get(info, "selftest")), "ok");
	assert_true(r->version[0] != 0);
	json_decref(info);
	/* and a probe child never starts another probe */
	setenv("MEMBENCH_IN_PROBE", "1", 1);
	assert_null(mb_allocator_probe(r, true, pwhy, sizeof(pwhy)));
	assert_non_null(strstr(pwhy, "cannot start another probe"));
	unsetenv("MEMBENCH_IN_PROBE");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_passes),
		cmocka_unit_test(test_missing_required_entry),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_stack_pair),
		cmocka_unit_test(test_tunables_parse),
		cmocka_unit_test(test_resolve_variant),
		cmocka_unit_test(test_probe_from_a_test_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
