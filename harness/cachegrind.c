/*
 * The deterministic counters mode: valgrind's cache simulation. See
 * cachegrind.h.
 */
#include "cachegrind.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

const char *const mb_cg_event_names[] = {"Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw",
					 "ILmr", "DLmr", "DLmw"};

/* Valgrind's smallest line (cachegrind and callgrind refuse smaller). */
#define CG_MIN_LINE 16

static int is_pow2(unsigned long long x)
{
	return x && !(x & (x - 1));
}

/* One level: valgrind wants a power-of-two line of at least 16 bytes and a
 * power-of-two number of sets. */
static void derive(const mb_topo_t *tp, int level, const char *name, mb_cg_cache_t *c)
{
	mb_cache_geom_t g;
	memset(c, 0, sizeof(*c));
	if (!mb_topo_cache(tp, level, &g)) {
		snprintf(c->note, sizeof(c->note), "hwloc reports no %s cache: valgrind's own "
			 "detection (CPUID)", name);
		return;
	}
	c->level = g.level;
	c->real_size = g.size;
	c->real_ways = g.ways;
	if (g.ways == 0 || !is_pow2(g.line) || g.line < CG_MIN_LINE || g.size < g.line) {
		snprintf(c->note, sizeof(c->note), "hwloc gives L%d no usable associativity or "
			 "line size: valgrind's own detection (CPUID)", g.level);
		return;
	}
	unsigned long long ways = g.ways < 0 ? g.size / g.line : (unsigned long long)g.ways;
	unsigned long long sets = g.size / (g.line * ways);
	if (sets == 0)
		sets = 1;
	c->have = 1;
	c->line = g.line;
	if (is_pow2(sets) && sets * g.line * ways == g.size) {
		c->size = g.size;
		c->ways = (int)ways;
		snprintf(c->note, sizeof(c->note), "hwloc L%d as reported", g.level);
		return;
	}
	unsigned long long p = 1;
	while (p * 2 <= sets)
		p *= 2;
	unsigned long long w = (g.size + p * g.line - 1) / (p * g.line);
	c->size = p * g.line * w;
	c->ways = (int)w;
	snprintf(c->note, sizeof(c->note), "hwloc L%d has %llu sets; simulated with %llu sets "
		 "and %llu ways (valgrind needs a power of two)", g.level,
		 g.size / (g.line * ways), p, w);
}

void mb_cachegrind_geom(const mb_topo_t *tp, mb_cg_geom_t *g)
{
	derive(tp, -1, "L1 instruction", &g->i1);
	derive(tp, 1, "L1 data", &g->d1);
	derive(tp, 0, "last-level", &g->ll);
	/* a machine whose last data level is L1 leaves valgrind's LL to CPUID */
	if (g->ll.have && g->ll.level <= 1) {
		g->ll.have = 0;
		snprintf(g->ll.note, sizeof(g->ll.note), "no cache beyond L1: valgrind's own "
			 "detection (CPUID)");
	}
}

int mb_cachegrind_valgrind(char *buf, size_t len)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *e = strchr(p, ':');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		snprintf(buf, len, "%.*s/valgrind", (int)l, l ? p : ".");
		if (access(buf, X_OK) == 0)
			return 0;
		p += l + (e ? 1 : 0);
	}
	return -1;
}

int mb_cachegrind_argv(const mb_cg_geom_t *g, const char *out_file, const char **argv,
		       char *store, size_t len)
{
	size_t used = 0;
	int n = 0;
#define ADD(...) do { \
		int k_ = snprintf(store + used, len - used, __VA_ARGS__); \
		argv[n++] = store + used; \
		used += (size_t)k_ + 1; \
		if (used > len) return -1; } while (0)
	char vg[4096];
	if (mb_cachegrind_valgrind(vg, sizeof(vg)))
		return -1;
	ADD("%s", vg);
	ADD("--tool=callgrind");
	ADD("--cache-sim=yes");
	ADD("--collect-atstart=no");   /* the workers switch it on, chunk by chunk */
	ADD("--dump-line=no");         /* totals only: a smaller output */
	/* a ticket lock between threads: a yield hands over to the waiting thread
	 * every time, so the coordinator is asleep at the same point run by run */
	ADD("--fair-sched=yes");
	ADD("--callgrind-out-file=%s", out_file);
	ADD("-q");
	const mb_cg_cache_t *c[] = {&g->i1, &g->d1, &g->ll};
	static const char *const opt[] = {"I1", "D1", "LL"};
	for (int i = 0; i < 3; i++)
		if (c[i]->have)
			ADD("--%s=%llu,%d,%u", opt[i], c[i]->size, c[i]->ways, c[i]->line);
#undef ADD
	argv[n] = NULL;
	return n;
}

void mb_cachegrind_pad_env(const char *const *client_argv)
{
	extern char **environ;
	static const char name[] = "MB_CG_PAD";
	unsetenv(name);
	size_t total = 0, page = 4096;
	for (const char *const *a = client_argv; *a; a++)
		total += strlen(*a) + 1 + sizeof(char *);
	for (char **e = environ; *e; e++)
		total += strlen(*e) + 1 + sizeof(char *);
	/* the new variable: "MB_CG_PAD=" + k bytes + NUL, and its pointer */
	total += sizeof(name) + 1 + sizeof(char *);
	size_t k = (page - total % page) % page;
	char *pad = malloc(k + 1);
	memset(pad, 'x', k);
	pad[k] = 0;
	setenv(name, pad, 1);
	free(pad);
}

int mb_cachegrind_parse(const char *path, mb_cg_totals_t *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot open the callgrind output %s: %s", path,
			 strerror(errno));
		return -1;
	}
	int col[32], ncol = 0, have_sum = 0;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "events:", 7)) {
			ncol = 0;
			for (char *s = strtok(line + 7, " \t\n"); s && ncol < 32;
			     s = strtok(NULL, " \t\n")) {
				col[ncol] = -1;
				for (int k = 0; k < MB_CG_NEV; k++)
					if (!strcmp(s, mb_cg_event_names[k]))
						col[ncol] = k;
				ncol++;
			}
		} else if (!strncmp(line, "summary:", 8) && ncol) {
			/* trailing zero columns may be left out */
			char *s = line + 8, *end;
			for (int i = 0; i < ncol; i++, s = end) {
				unsigned long long v = strtoull(s, &end, 10);
				if (end == s)
					break;
				if (col[i] >= 0)
					t->v[col[i]] = v;
			}
			have_sum = 1;
		}
	}
	fclose(f);
	if (!ncol || !have_sum) {
		snprintf(err, errlen, "the callgrind output %s has no %s line", path,
			 ncol ? "summary:" : "events:");
		return -1;
	}
	if (ncol < MB_CG_NEV) {
		snprintf(err, errlen, "the callgrind output %s has no cache events (was "
			 "--cache-sim=yes given?)", path);
		return -1;
	}
	return 0;
}

static json_t *cache_json(const mb_cg_cache_t *c)
{
	if (!c->have)
		return json_pack("{s:s}", "source", c->note);
	return json_pack("{s:i, s:I, s:i, s:i, s:I, s:i, s:s}", "level", c->level, "size",
			 (json_int_t)c->size, "line", (int)c->line, "ways", c->ways,
			 "real_size", (json_int_t)c->real_size, "real_ways", c->real_ways,
			 "source", c->note);
}

void mb_cachegrind_merge(json_t *result, const mb_cg_totals_t *t, const mb_cg_geom_t *g,
			 const char *why)
{
	json_int_t ops = json_integer_value(json_object_get(result, "ops"));
	char ll[32];
	snprintf(ll, sizeof(ll), "PAPI_L%d_TCM", g->ll.have ? g->ll.level : 3);
	struct {
		const char *name;
		unsigned long long v;
		const char *what;
	} f[] = {
		{"PAPI_TOT_INS", t ? t->v[MB_CG_IR] : 0, "Ir"},
		{"PAPI_L1_DCM", t ? t->v[MB_CG_D1MR] + t->v[MB_CG_D1MW] : 0, "D1mr + D1mw"},
		{ll, t ? t->v[MB_CG_ILMR] + t->v[MB_CG_DLMR] + t->v[MB_CG_DLMW] : 0,
		 "ILmr + DLmr + DLmw"},
	};
	json_t *cj = json_object();
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_set_new(cj, f[i].name, t ?
			json_pack("{s:I, s:f, s:s, s:b, s:s}", "value", (json_int_t)f[i].v,
				  "per_op", ops ? (double)f[i].v / (double)ops : 0.0, "source",
				  "callgrind", "simulated", 1, "from", f[i].what) :
			json_pack("{s:s}", "unavailable", why));
	json_object_set_new(result, "counters", cj);
	json_t *ev = json_object();
	for (int k = 0; t && k < MB_CG_NEV; k++)
		json_object_set_new(ev, mb_cg_event_names[k], json_integer((json_int_t)t->v[k]));
	json_object_set_new(result, "cachesim", json_pack("{s:s, s:o, s:{s:o, s:o, s:o}}",
		"tool", "valgrind --tool=callgrind --cache-sim=yes", "events", ev, "geometry",
		"I1", cache_json(&g->i1), "D1", cache_json(&g->d1), "LL", cache_json(&g->ll)));
	json_object_set_new(result, "ns_per_op", json_null());
	json_object_set_new(result, "timing_meaningful", json_false());
}

int mb_cachegrind_active(void)
{
	return RUNNING_ON_VALGRIND ? 1 : 0;
}

void mb_cachegrind_toggle(void)
{
	CALLGRIND_TOGGLE_COLLECT;
}

void mb_cachegrind_list(FILE *f, const mb_topo_t *tp)
{
	char vg[4096];
	int have = mb_cachegrind_valgrind(vg, sizeof(vg)) == 0;
	fprintf(f, "\ndeterministic mode (`counters: cachegrind`): %s\n",
		have ? "available" : "unavailable: no valgrind on PATH (Debian package valgrind)");
	if (!tp)
		return;
	mb_cg_geom_t g;
	mb_cachegrind_geom(tp, &g);
	const mb_cg_cache_t *c[] = {&g.i1, &g.d1, &g.ll};
	static const char *const nm[] = {"I1", "D1", "LL"};
	for (int i = 0; i < 3; i++) {
		if (c[i]->have)
			fprintf(f, "  --%s=%llu,%d,%u  (%s)\n", nm[i], c[i]->size, c[i]->ways,
				c[i]->line, c[i]->note);
		else
			fprintf(f, "  %s: %s\n", nm[i], c[i]->note);
	}
	fprintf(f, "  simulated counts land in PAPI_TOT_INS, PAPI_L1_DCM, PAPI_L%d_TCM\n",
		g.ll.have ? g.ll.level : 3);
}

void mb_cachegrind_flush_env(const mb_cg_geom_t *g)
{
	char v[96];
	const mb_cg_cache_t *c = g->ll.have ? &g->ll : &g->d1;
	if (!c->have)
		return;
	snprintf(v, sizeof(v), "%llu,%u,%llu", c->size, c->line,
		 g->i1.have ? g->i1.size : 65536ull);
	setenv("MB_CG_FLUSH", v, 1);
}

/* A run of NOPs twice the I1 cache's size ending in RET, executed to leave
 * every I1 set holding its lines; NULL when it cannot be made. */
static void (*i1_sled(size_t bytes))(void)
{
	void *p = mmap(NULL, bytes + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#if defined(__x86_64__) || defined(__i386__)
	memset(p, 0x90, bytes);           /* nop */
	((unsigned char *)p)[bytes] = 0xc3; /* ret */
	if (mprotect(p, bytes + 1, PROT_READ | PROT_EXEC) == 0)
		return (void (*)(void))p;
#endif
	munmap(p, bytes + 1);
	return NULL;
}

void mb_cachegrind_flush(void)
{
	static volatile char *buf;
	static size_t size, line;
	static void (*sled)(void);
	if (!buf) {
		const char *e = getenv("MB_CG_FLUSH");
		unsigned long long sz, i1;
		unsigned ln;
		if (!e || sscanf(e, "%llu,%u,%llu", &sz, &ln, &i1) != 3 || !ln)
			return;
		/* twice each cache: every set gets at least `ways` new lines */
		size = (size_t)sz * 2, line = ln;
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return;
		buf = p;
		sled = i1_sled((size_t)i1 * 2);
	}
	for (size_t i = 0; i < size; i += line)
		buf[i] = (char)i;
	if (sled)
		sled();
}
