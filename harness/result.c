/* Result files: atomic writes, config and build as JSON. See result.h. */
#include "result.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist.h"

int mb_mkdirs(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0777) && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(buf, 0777) && errno != EEXIST)
		return -errno;
	return 0;
}

static void fsync_dir_of(const char *path)
{
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int mb_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			unlink(tmp);
			return -e;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) || close(fd)) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	if (rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	fsync_dir_of(path);
	return 0;
}

int mb_write_json_atomic(const char *path, json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	if (!s)
		return -ENOMEM;
	size_t n = strlen(s);
	s[n] = '\n'; /* json_dumps leaves room for the NUL; trade it for a newline */
	int rc = mb_write_atomic(path, s, n + 1);
	free(s);
	return rc;
}

static json_t *dist_json(const mb_dist_t *d)
{
	static const char *const kinds[] = {"fixed", "uniform", "exponential", "lognormal",
					    "table"};
	json_t *j = json_pack("{s:s}", "dist", kinds[d->kind]);
	switch (d->kind) {
	case MB_DIST_FIXED:
		json_object_set_new(j, "value", json_real(d->value));
		break;
	case MB_DIST_UNIFORM:
		break;
	case MB_DIST_EXPONENTIAL:
		json_object_set_new(j, "mean", json_real(d->mean));
		break;
	case MB_DIST_LOGNORMAL:
		json_object_set_new(j, "mu", json_real(d->mu));
		json_object_set_new(j, "sigma", json_real(d->sigma));
		break;
	case MB_DIST_TABLE: {
		json_t *v = json_array();
		for (uint32_t i = 0; i < d->n; i++)
			json_array_append_new(v, json_real(d->values[i]));
		json_object_set_new(j, "values", v);
		break;
	}
	}
	if (d->kind != MB_DIST_FIXED) {
		json_object_set_new(j, "min", json_real(d->min));
		if (isfinite(d->max))
			json_object_set_new(j, "max", json_real(d->max));
	}
	json_object_set_new(j, "mean_value", json_real(mb_dist_mean(d)));
	return j;
}

json_t *mb_opt_json(const mb_option_t *table, const void *obj)
{
	json_t *j = json_object();
	for (const mb_option_t *o = table; o->name; o++) {
		const void *f = (const char *)obj + o->off;
		json_t *v = NULL;
		switch (o->type) {
		case MB_OPT_BOOL:
			v = json_boolean(*(const bool *)f);
			break;
		case MB_OPT_INT:
			v = json_integer(*(const int64_t *)f);
			break;
		case MB_OPT_UINT:
		case MB_OPT_SIZE:
		case MB_OPT_DURATION:
			v = json_integer((json_int_t) * (const uint64_t *)f);
			break;
		case MB_OPT_DOUBLE:
			v = json_real(*(const double *)f);
			break;
		case MB_OPT_STR:
			v = *(char *const *)f ? json_string(*(char *const *)f) : json_null();
			break;
		case MB_OPT_ENUM:
			v = json_string(o->values[*(const int *)f]);
			break;
		case MB_OPT_STRLIST: {
			const mb_strlist_t *l = f;
			v = json_array();
			for (size_t i = 0; i < l->n; i++)
				json_array_append_new(v, json_string(l->v[i]));
			break;
		}
		case MB_OPT_UINTLIST: {
			const mb_u64list_t *l = f;
			v = json_array();
			for (size_t i = 0; i < l->n; i++)
				json_array_append_new(v, json_integer((json_int_t)l->v[i]));
			break;
		}
		case MB_OPT_CUSTOM:
			v = o->parse == mb_dist_parse ? dist_json(f) : json_null();
			break;
		}
		json_object_set_new(j, o->name, v);
	}
	return j;
}

#ifndef MB_GIT_REV
#define MB_GIT_REV "unknown"
#endif
#ifndef MB_CC
#define MB_CC "unknown"
#endif
#ifndef MB_BUILD_FLAGS
#define MB_BUILD_FLAGS ""
#endif

int mb_build_is_optimised(void)
{
#if defined(MB_OPTIMISED) && !defined(MB_SANITIZER)
	return 1;
#else
	return 0;
#endif
}

json_t *mb_build_json(void)
{
	/* timing: what a taped pattern's ns/op covers (workloads/README.md,
	 * Operation tape): its replay only, since this revision of the harness */
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "git_revision", MB_GIT_REV, "compiler",
			 MB_CC, "flags", MB_BUILD_FLAGS, "optimised", mb_build_is_optimised(),
			 "timing", "tape-replay", "sanitizer",
#ifdef MB_SANITIZER
			 MB_SANITIZER
#else
			 "none"
#endif
	);
}
