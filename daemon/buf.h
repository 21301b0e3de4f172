/*
 * A growable byte buffer with a hard maximum, for data from outside
 * (AWS replies, zips, HTTP bodies): appending past the maximum fails
 * instead of growing without bound (as curl's dynbuf).  The buffer owns
 * its memory; buf_free releases it.  The data is always NUL-terminated
 * so text can be read in place.
 */
#ifndef SHIPGATE_BUF_H
#define SHIPGATE_BUF_H

#include <stddef.h>

struct buf {
	char  *data; /* NUL-terminated; NULL until first append */
	size_t len;
	size_t cap;
	size_t max; /* appends beyond this fail with BUF_ETOOBIG */
};

#define BUF_ETOOBIG (-1)

void buf_init(struct buf *, size_t max);
int  buf_append(struct buf *, const void *, size_t);
int  buf_appends(struct buf *, const char *);
int  buf_printf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *buf_take(struct buf *, size_t *lenp);
void  buf_free(struct buf *);
/* Like buf_free, but wipes the contents first: for secrets. */
void buf_free_secret(struct buf *);

#endif
