/*
 * Bounded growable buffers for outside data.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	size_t need, cap;

	/* The terminator needs one byte more than the data. */
	if (len > b->max || b->len > b->max - len || b->len + len == SIZE_MAX)
		return (BUF_ETOOBIG);
	need = b->len + len + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < need && cap <= SIZE_MAX / 2)
			cap *= 2;
		if (cap < need)
			cap = need;
		b->data = xreallocarray(b->data, 1, cap);
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return (0);
}

int
buf_appends(struct buf *b, const char *s)
{
	return (buf_append(b, s, strlen(s)));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char   *s;
	int	rc;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	rc = buf_appends(b, s);
	free(s);
	return (rc);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
buf_take(struct buf *b, size_t *lenp)
{
	char *data;

	if (b->data == NULL)
		buf_append(b, "", 0);
	data = b->data;
	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return (data);
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free_secret(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}
