/*
 * libFuzzer target for the portal's request parsing: the input is tried
 * as a form/query, a Cookie header, a path, an id and an origin; every
 * decoded field must be a NUL-free string, and every path segment free of
 * '/' and dot segments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal-http.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	  *in = (const char *)data;
	struct portal_form f;
	struct portal_path p;
	char		  *v, *s, *o;
	int64_t		   id;
	size_t		   i;

	memset(&f, 0, sizeof f);
	if (portal_form_parse(in, size, 0, &f) == 0) {
		check(f.n <= PORTAL_HTTP_FIELDS_MAX);
		for (i = 0; i < f.n; i++) {
			check(
			    f.items[i].key != NULL && f.items[i].value != NULL);
			check(strlen(f.items[i].key) <= size);
			check(strlen(f.items[i].value) <= size);
			check(portal_form_get(&f, f.items[i].key) != NULL);
		}
	} else
		check(f.n == 0 && f.items == NULL);
	portal_form_free(&f);

	if (portal_cookie_get(in, size, "sg_session", &v) == 0 && v != NULL) {
		check(strlen(v) <= size);
		check(strpbrk(v, "; \t\"\\") == NULL);
		free(v);
	}

	if (portal_path_parse(in, size, &p) == 0) {
		check(p.n <= PORTAL_HTTP_SEGMENTS_MAX);
		for (i = 0; i < p.n; i++) {
			check(*p.segs[i] != '\0');
			check(strchr(p.segs[i], '/') == NULL);
			check(strchr(p.segs[i], '%') == NULL);
			check(strcmp(p.segs[i], ".") != 0 &&
			      strcmp(p.segs[i], "..") != 0);
		}
		portal_path_free(&p);
	} else
		check(p.n == 0);

	if (portal_http_decode(in, size, 1, &v) == 0) {
		check(strlen(v) <= size);
		free(v);
	}

	/* The NUL-terminated functions get a copy. */
	s = malloc(size + 1);
	check(s != NULL);
	memcpy(s, in, size);
	s[size] = '\0';
	if (portal_parse_id(s, &id) == 0)
		check(id > 0);
	if (portal_local_path(s))
		check(s[0] == '/' && s[1] != '/' && s[1] != '\\' &&
		      strpbrk(s, "\r\n\t") == NULL);
	if ((o = portal_origin_of(s)) != NULL) {
		check(strncmp(o, "http://", 7) == 0 ||
		      strncmp(o, "https://", 8) == 0);
		check(portal_origin_equal(o, o));
		free(o);
	}
	free(s);
	return (0);
}
