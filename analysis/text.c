/*
 * Plain-text helpers. See text.h.
 */
#include "text.h"

#include <stdlib.h>
#include <string.h>

void rb_put(rbuf_t *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void rb_printf(rbuf_t *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < (int)sizeof(tmp)) {
		rb_put(b, tmp, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rb_put(b, big, (size_t)n);
	free(big);
}

void text_line_addv(char ***lines, size_t *n, const char *fmt, va_list ap)
{
	char buf[1500];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*lines)[i], buf))
			return;
	*lines = realloc(*lines, (*n + 1) * sizeof(**lines));
	(*lines)[(*n)++] = strdup(buf);
}

void text_col(FILE *f, const char *s, int width)
{
	int chars = 0;
	for (const char *p = s; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	fputs(s, f);
	for (; chars < width; chars++)
		fputc(' ', f);
	fputc(' ', f);
}
