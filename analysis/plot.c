/*
 * The gnuplot driver. See plot.h.
 */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *plot_gnuplot(void)
{
	static char found[4096];
	const char *env = getenv("MB_GNUPLOT");
	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);
		snprintf(found, sizeof(found), "%.*s/gnuplot", (int)n, path);
		if (n && access(found, X_OK) == 0)
			return found;
		path += n + (c ? 1 : 0);
	}
	return NULL;
}

int plot_open(plot_file_t *pf, const char *dir, const char *name)
{
	snprintf(pf->name, sizeof(pf->name), "%s", name);
	snprintf(pf->path, sizeof(pf->path), "%s/%s", dir, name);
	pf->f = fopen(pf->path, "w");
	return pf->f ? 0 : -1;
}

int plot_close(plot_file_t *pf)
{
	int rc = pf->f ? fclose(pf->f) : 0;
	pf->f = NULL;
	return rc;
}

void plot_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("''", f);
		else if ((unsigned char)*s < 0x20)
			fputc('_', f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

void plot_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fputc(*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ? '_' : *s, f);
	fputc('"', f);
}

void plot_begin(FILE *f)
{
	fprintf(f, "set termoption noenhanced\nset datafile missing 'NaN'\n"
		   "set key outside right top\nset grid ytics lc rgb '#dddddd'\n"
		   "set border 3\nset tics nomirror\nset style fill solid 0.75 border -1\n");
}

int plot_write_wrapper(const char *dir, const char *base, int width, int height)
{
	plot_file_t g;
	char name[300];
	snprintf(name, sizeof(name), "%s.gp", base);
	if (plot_open(&g, dir, name))
		return -1;
	fprintf(g.f, "# membench report figure: renders %s.body.gp as SVG and PNG.\n"
		     "# Run again from this folder with: gnuplot %s.gp\n", base, base);
	fprintf(g.f, "set terminal svg size %d,%d dynamic noenhanced font 'Sans,11' "
		     "background '#ffffff'\nset output '%s.svg'\nload '%s.body.gp'\nunset output\n",
		width, height, base, base);
	fprintf(g.f, "reset\nif (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		     "  set terminal pngcairo size %d,%d noenhanced font 'Sans,10' background '#ffffff'\n"
		     "} else {\n  set terminal png size %d,%d noenhanced\n}\n"
		     "set output '%s.png'\nload '%s.body.gp'\nunset output\n",
		width, height, width, height, base, base);
	return plot_close(&g);
}

int plot_render(const char *dir, const char *base, int width, int height, char *err,
		size_t errlen)
{
	char name[300];
	snprintf(name, sizeof(name), "%s.gp", base);
	if (plot_write_wrapper(dir, base, width, height)) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	return plot_run(dir, name, err, errlen);
}

int plot_run(const char *dir, const char *script, char *err, size_t errlen)
{
	const char *gp = plot_gnuplot();
	if (!gp) {
		snprintf(err, errlen, "gnuplot not found");
		return -1;
	}
	char errpath[4400];
	snprintf(errpath, sizeof(errpath), "%s/.gnuplot-stderr", dir);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			close(nul);
		}
		if (chdir(dir) != 0)
			_exit(126);
		char *const argv[] = {(char *)gp, (char *)script, NULL};
		execv(gp, argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* gnuplot reports script errors on stderr; a non-empty stderr is a failure
	 * of that plot even when the exit status is 0 (it warns and goes on) */
	FILE *ef = fopen(errpath, "r");
	char line[512] = "", last[512] = "";
	int lines = 0;
	while (ef && fgets(line, sizeof(line), ef)) {
		if (strspn(line, " \t\n^") == strlen(line))
			continue;
		snprintf(last, sizeof(last), "%s", line);
		lines++;
	}
	if (ef)
		fclose(ef);
	unlink(errpath);
	last[strcspn(last, "\n")] = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "gnuplot %s failed (%s%d): %s", script,
			 WIFEXITED(st) ? "exit " : "signal ",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), last);
		return -1;
	}
	if (lines) {
		snprintf(err, errlen, "gnuplot %s: %s", script, last);
		return 1; /* rendered, with warnings */
	}
	return 0;
}
