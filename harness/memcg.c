/*
 * Per-trial memory cgroups. See memcg.h.
 */
#include "memcg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MEMCG_PREFIX "membench."

/* One version's files: how the limit is set, where the kernel counts OOM
 * kills and keeps the peak. */
typedef struct memcg_kind {
	const char *fstype;   /* in /proc/self/mountinfo */
	const char *limit;    /* hard limit, bytes */
	const char *noswap;   /* a second limit that keeps the trial out of swap */
	const char *events;   /* holds "oom_kill N" */
	const char *peak;
	const char *enforcer;
} memcg_kind_t;

static const memcg_kind_t kinds[3] = {
	[1] = {"cgroup", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
	       "memory.oom_control", "memory.max_usage_in_bytes",
	       "cgroup v1 memory.limit_in_bytes"},
	[2] = {"cgroup2", "memory.max", "memory.swap.max", "memory.events", "memory.peak",
	       "cgroup v2 memory.max"},
};

static int has_word(const char *list, const char *word, char sep)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, sep);
		size_t l = e ? (size_t)(e - p) : strlen(p);
		while (l && (p[l - 1] == '\n' || p[l - 1] == ' '))
			l--;
		if (l == n && !strncmp(p, word, n))
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* This process's cgroup path in the version's hierarchy ("/a/b"), from
 * /proc/self/cgroup. 0 or -1. */
static int own_path(int version, char *out, size_t n)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return -1;
	char line[4096];
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		int match = version == 2 ? c1[1] == 0 : has_word(c1 + 1, "memory", ',');
		if (match) {
			c2[1 + strcspn(c2 + 1, "\n")] = 0;
			snprintf(out, n, "%s", c2 + 1);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* The folder of this process's cgroup for the version: the hierarchy's mount
 * point joined with the cgroup path below the mount's root. 0 or -1. */
static int own_dir(int version, char *out, size_t n)
{
	char path[PATH_MAX];
	if (own_path(version, path, sizeof(path)))
		return -1;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return -1;
	char line[4096];
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		/* id parent dev root mountpoint opts... - fstype source superopts */
		char root[PATH_MAX], mnt[PATH_MAX], fstype[64], super[1024];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (strcmp(fstype, kinds[version].fstype) ||
		    (version == 1 && !has_word(super, "memory", ',')))
			continue;
		size_t rl = strcmp(root, "/") ? strlen(root) : 0;
		if (strncmp(path, root, rl) || (path[rl] && path[rl] != '/'))
			continue; /* this process sits outside the mounted subtree */
		snprintf(out, n, "%s%s", mnt, strcmp(path + rl, "/") ? path + rl : "");
		found = 0;
	}
	fclose(f);
	return found;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, val, strlen(val));
	int rc = w == (ssize_t)strlen(val) ? 0 : -(w < 0 ? errno : EIO);
	close(fd);
	return rc;
}

static int read_file(const char *dir, const char *name, char *buf, size_t n)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return 0;
}

/* Removes cgroups named membench.<pid>.<k> in parent whose runner is gone
 * (killed before its destroy ran). An rmdir of a cgroup still holding a
 * process fails and leaves it. */
static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		long pid;
		unsigned k;
		if (sscanf(e->d_name, MEMCG_PREFIX "%ld.%u", &pid, &k) != 2 || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char p[PATH_MAX + 256];
		snprintf(p, sizeof(p), "%s/%s", parent, e->d_name);
		rmdir(p);
	}
	closedir(d);
}

/* The version's parent folder where this process may make a child cgroup
 * with the memory controller; 0 or -1 with why. */
static int usable_parent(int version, char *parent, size_t n, char *why, size_t wn)
{
	if (own_dir(version, parent, n)) {
		snprintf(why, wn, "no cgroup v%d memory hierarchy holds this process", version);
		return -1;
	}
	if (version == 2) {
		char ctl[512];
		if (read_file(parent, "cgroup.subtree_control", ctl, sizeof(ctl)) ||
		    !has_word(ctl, "memory", ' ')) {
			snprintf(why, wn, "cgroup v2: memory is not in %s/cgroup.subtree_control",
				 parent);
			return -1;
		}
	}
	if (access(parent, W_OK)) {
		snprintf(why, wn, "cgroup v%d: cannot write %s: %s", version, parent,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void mb_memcg_create(mb_memcg_t *cg, uint64_t limit)
{
	static unsigned seq;
	memset(cg, 0, sizeof(*cg));
	cg->procs_fd = -1;
	const char *env = getenv("MEMBENCH_MEMCG");
	if (env && !strcmp(env, "off")) {
		snprintf(cg->why, sizeof(cg->why), "MEMBENCH_MEMCG=off");
		return;
	}
	char parent[PATH_MAX], why[3][sizeof(cg->why)];
	int v = 2; /* v2 first, then v1 */
	while (v && usable_parent(v, parent, sizeof(parent), why[v], sizeof(why[v])))
		v--;
	if (!v) {
		snprintf(cg->why, sizeof(cg->why), "%s; %s", why[1], why[2]);
		return;
	}
	sweep_stale(parent);
	int n = snprintf(cg->dir, sizeof(cg->dir), "%s/" MEMCG_PREFIX "%ld.%u", parent,
			 (long)getpid(), seq++);
	if (n >= (int)sizeof(cg->dir) || mkdir(cg->dir, 0755)) {
		snprintf(cg->why, sizeof(cg->why), "cgroup v%d: mkdir in %s: %s", v, parent,
			 n >= (int)sizeof(cg->dir) ? "path too long" : strerror(errno));
		return;
	}
	char val[32];
	snprintf(val, sizeof(val), "%llu", (unsigned long long)limit);
	int rc = write_file(cg->dir, kinds[v].limit, val);
	char procs[PATH_MAX + 32];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->dir);
	if (rc == 0 && (cg->procs_fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0)
		rc = -errno;
	if (rc) {
		snprintf(cg->why, sizeof(cg->why), "cgroup v%d: cannot set up %s: %s", v, cg->dir,
			 strerror(-rc));
		rmdir(cg->dir);
		cg->dir[0] = 0;
		return;
	}
	/* no swap beyond the limit (v1: memory+swap = the limit; v2: no swap);
	 * absent where the kernel has no swap accounting */
	write_file(cg->dir, kinds[v].noswap, v == 1 ? val : "0");
	cg->version = v;
}

void mb_memcg_enter(const mb_memcg_t *cg)
{
	static const char msg[] = "membench: cannot enter the trial's memory cgroup; "
				  "the RSS watchdog alone limits this trial\n";
	if (cg && cg->version && write(cg->procs_fd, "0", 1) != 1 &&
	    write(2, msg, sizeof(msg) - 1) < 0)
		return;
}

uint64_t mb_memcg_oom_kills(const mb_memcg_t *cg)
{
	char buf[1024];
	if (!cg->version || read_file(cg->dir, kinds[cg->version].events, buf, sizeof(buf)))
		return 0;
	const char *p = strstr(buf, "oom_kill ");
	return p ? strtoull(p + 9, NULL, 10) : 0;
}

uint64_t mb_memcg_peak(const mb_memcg_t *cg)
{
	char buf[64];
	if (!cg->version || read_file(cg->dir, kinds[cg->version].peak, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 10);
}

const char *mb_memcg_enforcer(const mb_memcg_t *cg)
{
	return cg->version ? kinds[cg->version].enforcer : "RSS watchdog";
}

void mb_memcg_destroy(mb_memcg_t *cg)
{
	if (cg->procs_fd >= 0)
		close(cg->procs_fd);
	cg->procs_fd = -1;
	if (!cg->version)
		return;
	/* the reaped child may take a moment to leave the cgroup's books */
	for (int i = 0; i < 100 && rmdir(cg->dir) && errno == EBUSY; i++)
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	cg->version = 0;
}
