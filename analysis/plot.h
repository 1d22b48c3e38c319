/*
 * The gnuplot driver: writes a script and its data files into a plots folder
 * and runs `gnuplot SCRIPT` as a child process with an argument vector (never
 * through a shell), its working directory the plots folder. A figure is a
 * body (BASE.body.gp: the plot commands) and a wrapper (BASE.gp) that renders
 * the body twice, as BASE.svg and BASE.png; both stay beside the data, so a
 * user can edit and re-run them (`cd plots && gnuplot BASE.gp`).
 *
 * Data files are whitespace-separated columns with quoted labels; names from
 * results reach gnuplot only through plot_str() (a single-quoted gnuplot
 * string) or plot_label() (a double-quoted data field), and text is set
 * noenhanced, so no name is ever read as gnuplot syntax or markup.
 */
#ifndef MB_PLOT_H
#define MB_PLOT_H

#include <stdio.h>

/* The gnuplot to run: $MB_GNUPLOT, else "gnuplot" on PATH. NULL when neither
 * is executable (then the caller says so and writes the text report only). */
const char *plot_gnuplot(void);

typedef struct plot_file {
	FILE *f;
	char name[256];   /* file name inside the plots folder */
	char path[4400];
} plot_file_t;

/* Opens DIR/NAME for writing; 0 or -1 (with errno). */
int plot_open(plot_file_t *pf, const char *dir, const char *name);
int plot_close(plot_file_t *pf);

/* Writes s as a gnuplot single-quoted string ('it''s'); no newline passes. */
void plot_str(FILE *f, const char *s);
/* Writes s as a double-quoted data-file label (quotes and control characters
 * become '_'). */
void plot_label(FILE *f, const char *s);

/* The common settings, written at the top of a plot body (noenhanced text,
 * missing values, grid, key). */
void plot_begin(FILE *f);

/* Writes DIR/BASE.gp only (for a later `gnuplot BASE.gp`); 0 or -1. */
int plot_write_wrapper(const char *dir, const char *base, int width, int height);

/* Writes DIR/BASE.gp, which loads BASE.body.gp twice (SVG, then PNG via
 * pngcairo, or png when this gnuplot lacks cairo) into BASE.svg and
 * BASE.png, and runs it. Returns as plot_run(). */
int plot_render(const char *dir, const char *base, int width, int height, char *err,
		size_t errlen);

/* Runs gnuplot on DIR/SCRIPT with DIR as working directory; waits for it.
 * 0 on success; otherwise -1 and gnuplot's last stderr line in err. */
int plot_run(const char *dir, const char *script, char *err, size_t errlen);

#endif
