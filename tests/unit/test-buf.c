/*
 * Bounded buffers: growth, the hard maximum, taking ownership.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

int
main(void)
{
	struct buf b;
	char	  *s;
	size_t	   len;
	int	   i, rc;

	buf_init(&b, 16);
	is_int(buf_appends(&b, "0123456789"), 0, "append within the maximum");
	is_int(buf_appends(&b, "abcdef"), 0, "append up to the maximum");
	is_int(buf_appends(&b, "x"), BUF_ETOOBIG, "one byte past the maximum");
	is_int((long long)b.len, 16, "a refused append leaves the length");
	is_str(b.data, "0123456789abcdef", "contents are NUL-terminated");
	buf_reset(&b);
	is_int((long long)b.len, 0, "reset empties");
	is_int(buf_printf(&b, "%d-%s", 42, "x"), 0, "printf appends");
	is_str(b.data, "42-x", "printf contents");
	s = buf_take(&b, &len);
	is_str(s, "42-x", "take hands over the data");
	is_int((long long)len, 4, "take reports the length");
	ok(b.data == NULL && b.len == 0, "take empties the buffer");
	free(s);

	buf_init(&b, 1 << 20);
	rc = 0;
	for (i = 0; i < 1000 && rc == 0; i++)
		rc = buf_append(&b, "0123456789", 10);
	ok(rc == 0 && b.len == 10000, "grows across many appends");
	ok(b.len < b.cap, "room for the terminator");
	buf_free_secret(&b);
	ok(b.data == NULL, "free_secret releases");

	buf_init(&b, 0);
	s = buf_take(&b, &len);
	ok(s != NULL && *s == '\0' && len == 0, "take of an empty buffer");
	free(s);
	buf_init(&b, (size_t)-1);
	is_int(buf_append(&b, "", (size_t)-1), BUF_ETOOBIG,
	    "a length that would overflow is refused");
	buf_free(&b);
	return (tap_done());
}
