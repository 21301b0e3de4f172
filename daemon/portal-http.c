/*
 * The portal's request parsing (see portal-http.h): bounded and pure.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portal-http.h"
#include "xmalloc.h"

static int
portal_http_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

int
portal_http_decode(const char *in, size_t len, int plus_is_space, char **outp)
{
	char  *out;
	size_t i, o = 0;
	int    hi, lo, c;

	*outp = NULL;
	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '\0')
			goto fail;
		if (c == '%') {
			if (len - i < 3 ||
			    (hi = portal_http_hex((unsigned char)in[i + 1])) <
				0 ||
			    (lo = portal_http_hex((unsigned char)in[i + 2])) <
				0)
				goto fail;
			c = hi * 16 + lo;
			if (c == 0)
				goto fail;
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outp = out;
	return (0);
fail:
	free(out);
	return (-1);
}

int
portal_form_parse(const char *data, size_t len, size_t max,
    struct portal_form *form)
{
	const char *p = data, *end = data + len, *amp, *eq;
	char	   *key, *value;

	if (max == 0)
		max = PORTAL_HTTP_FIELDS_MAX;
	form->items = NULL;
	form->n = 0;
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		if (form->n == max)
			goto fail;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if (portal_http_decode(p, (size_t)(eq - p), 1, &key) != 0)
			goto fail;
		if (eq == amp)
			value = xstrdup("");
		else if (portal_http_decode(eq + 1, (size_t)(amp - eq - 1), 1,
			     &value) != 0) {
			free(key);
			goto fail;
		}
		form->items = xreallocarray(form->items, form->n + 1,
		    sizeof *form->items);
		form->items[form->n].key = key;
		form->items[form->n].value = value;
		form->n++;
		p = amp;
	}
	return (0);
fail:
	portal_form_free(form);
	return (-1);
}

const char *
portal_form_get(const struct portal_form *form, const char *key)
{
	size_t i;

	for (i = 0; i < form->n; i++) {
		if (strcmp(form->items[i].key, key) == 0)
			return (form->items[i].value);
	}
	return (NULL);
}

void
portal_form_free(struct portal_form *form)
{
	size_t i;

	for (i = 0; i < form->n; i++) {
		free(form->items[i].key);
		free(form->items[i].value);
	}
	free(form->items);
	form->items = NULL;
	form->n = 0;
}

/* Cookie names and values: RFC 6265's cookie-octet, loosely. */
static int
portal_cookie_octet(int c)
{
	return (c > 0x20 && c < 0x7f && c != ';' && c != ',' && c != '"' &&
		c != '\\');
}

int
portal_cookie_get(const char *header, size_t len, const char *name,
    char **valuep)
{
	const char *p = header, *end = header + len, *semi, *eq;
	const char *k, *kend, *v, *vend, *c;
	size_t	    nlen = strlen(name);

	*valuep = NULL;
	while (p < end) {
		if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
			semi = end;
		k = p;
		while (k < semi && (*k == ' ' || *k == '\t'))
			k++;
		p = semi + 1;
		if (k == semi)
			continue;
		if ((eq = memchr(k, '=', (size_t)(semi - k))) == NULL)
			return (-1);
		kend = eq;
		while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
			kend--;
		v = eq + 1;
		vend = semi;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (vend - v >= 2 && *v == '"' && vend[-1] == '"') {
			v++;
			vend--;
		}
		if (kend - k != (ptrdiff_t)nlen || memcmp(k, name, nlen) != 0)
			continue;
		for (c = v; c < vend; c++) {
			if (!portal_cookie_octet((unsigned char)*c))
				return (-1);
		}
		*valuep = xstrndup(v, (size_t)(vend - v));
		return (0);
	}
	return (0);
}

int
portal_path_parse(const char *path, size_t len, struct portal_path *pp)
{
	const char *p, *end = path + len, *slash, *c;

	memset(pp, 0, sizeof *pp);
	if (len == 0 || path[0] != '/')
		return (-1);
	p = path + 1;
	while (p < end) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		if (slash == p)
			goto fail; /* "//"; one trailing '/' ends the loop */
		if (pp->n == PORTAL_HTTP_SEGMENTS_MAX)
			goto fail;
		/*
		 * libmicrohttpd has decoded the path already: a '%' left
		 * is an escape sent escaped ("%256d"), which a second
		 * decoding would turn into another path than the one a
		 * proxy in front saw and allowed.
		 */
		for (c = p; c < slash; c++) {
			if (*c == '%' || (unsigned char)*c < 0x20 || *c == 0x7f)
				goto fail;
		}
		pp->segs[pp->n] = xstrndup(p, (size_t)(slash - p));
		if (strcmp(pp->segs[pp->n], ".") == 0 ||
		    strcmp(pp->segs[pp->n], "..") == 0) {
			pp->n++;
			goto fail;
		}
		pp->n++;
		p = slash + 1;
	}
	return (0);
fail:
	portal_path_free(pp);
	return (-1);
}

void
portal_path_free(struct portal_path *pp)
{
	size_t i;

	for (i = 0; i < pp->n; i++)
		free(pp->segs[i]);
	memset(pp, 0, sizeof *pp);
}

int
portal_local_path(const char *s)
{
	size_t i;

	if (s == NULL || s[0] != '/' || s[1] == '\0' || s[1] == '/' ||
	    s[1] == '\\')
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		/* A browser drops TAB, CR and LF from URLs ("/\t/evil"
		 * becomes "//evil"): no control character at all. */
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    i + 1 >= PORTAL_LOCAL_PATH_MAX)
			return (0);
	}
	return (1);
}

int
portal_parse_id(const char *s, int64_t *idp)
{
	int64_t v = 0;
	size_t	i;

	if (s == NULL || s[0] < '1' || s[0] > '9')
		return (-1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 18)
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*idp = v;
	return (0);
}

char *
portal_origin_of(const char *url)
{
	const char *p, *host, *hend;
	const char *scheme;
	char	   *h, *out;
	const char *port = NULL;
	size_t	    i, portlen = 0;
	int	    https;

	if (url == NULL)
		return (NULL);
	if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		host = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		https = 0;
		host = url + 7;
	} else
		return (NULL);
	hend = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(hend - host)) != NULL || hend == host)
		return (NULL);
	p = hend;
	if (*host == '[') { /* [v6]:port */
		const char *close = memchr(host, ']', (size_t)(hend - host));

		if (close == NULL)
			return (NULL);
		if (close + 1 < hend) {
			if (close[1] != ':')
				return (NULL);
			port = close + 2;
			portlen = (size_t)(hend - port);
		}
		p = close + 1;
	} else {
		const char *colon = memchr(host, ':', (size_t)(hend - host));

		if (colon != NULL) {
			port = colon + 1;
			portlen = (size_t)(hend - port);
			p = colon;
		}
	}
	if (port != NULL) {
		if (portlen == 0 || portlen > 5)
			return (NULL);
		for (i = 0; i < portlen; i++)
			if (port[i] < '0' || port[i] > '9')
				return (NULL);
		if ((https && portlen == 3 && memcmp(port, "443", 3) == 0) ||
		    (!https && portlen == 2 && memcmp(port, "80", 2) == 0))
			port = NULL;
	}
	if (p == host || (*host == '[' && p == host + 2))
		return (NULL); /* no host: "http://:80", "http://[]" */
	h = xstrndup(host, (size_t)(p - host));
	for (i = 0; h[i] != '\0'; i++) {
		if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f) {
			free(h);
			return (NULL);
		}
		h[i] = (char)tolower((unsigned char)h[i]);
	}
	scheme = https ? "https" : "http";
	if (port != NULL)
		out = xasprintf("%s://%s:%.*s", scheme, h, (int)portlen, port);
	else
		out = xasprintf("%s://%s", scheme, h);
	free(h);
	return (out);
}

int
portal_origin_equal(const char *a, const char *b)
{
	char *oa, *ob;
	int   eq;

	oa = portal_origin_of(a);
	ob = portal_origin_of(b);
	eq = oa != NULL && ob != NULL && strcmp(oa, ob) == 0;
	free(oa);
	free(ob);
	return (eq);
}

void
portal_iso_time(int64_t ms, char *out, size_t size)
{
	struct tm tm;
	time_t	  t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "1970-01-01T00:00:00Z");
}

int
portal_secure_equal(const char *a, const char *b)
{
	size_t	      la = strlen(a), lb = strlen(b), i;
	unsigned char d = 0;

	if (la != lb)
		return (0);
	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return (d == 0);
}
