/*
 * Plain-text helpers of the analysis commands: a growable buffer that a
 * report is built in before it is written atomically, a list of distinct
 * lines (warnings), and a column printer aligned by characters, not bytes.
 */
#ifndef MB_TEXT_H
#define MB_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct rbuf {
	char *p;            /* NUL-terminated; NULL until the first write */
	size_t n, cap;
} rbuf_t;
void rb_printf(rbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rb_put(rbuf_t *b, const char *s, size_t n);

/* Appends the formatted line to *lines unless an equal line is there. */
void text_line_addv(char ***lines, size_t *n, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Prints s left-aligned in a column of `width` characters (UTF-8 aware: "±"
 * is one character, two bytes), then one space. */
void text_col(FILE *f, const char *s, int width);

#endif
