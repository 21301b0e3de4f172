/*
 * Small allocations that cannot reasonably fail: out of memory is fatal
 * (as in tmux).  Buffers that hold outside data use buf.h instead.
 */
#ifndef SHIPGATE_XMALLOC_H
#define SHIPGATE_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
/* Returns a newly allocated string; never NULL. */
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));
/* Wipes a secret before freeing it; NULL is fine. */
void freezero_str(char *);

#endif
