/*
 * Non-regression checks: runs the config's lists of HTTP steps against an
 * environment after a deployment, one cookie jar per check, with retries
 * while the new version warms up, and masks every secret it substitutes.
 * See checks.h for the contract.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "checks.h"
#include "http.h"
#include "log.h"
#include "wallclock.h"
#include "xmalloc.h"

#define CHECKS_MASK	       "****"
#define CHECKS_SECRET_FILE_MAX (64 * 1024)
#define CHECKS_TIMEOUT_DEFAULT 30000 /* ms, as in the config */
#define CHECKS_SHOWN_MAX       120   /* bytes of a value in a reason */

/* One step, copied from the config and resolved at the start. */
struct checks_step {
	char	 *name;
	char	 *method;
	char	 *url_ref; /* as configured: "/a?t=${T}" */
	int	 *status;
	size_t	  nstatus;
	char	 *contains;
	char	 *regex;
	char	 *json_pointer;
	char	 *json_equals;
	char	 *header;
	int	  retries;
	long long retry_delay_ms;
	long	  timeout_ms;
	int	  max_redirects;

	/* Resolved: hold secrets, wiped when freed. */
	char  *url;
	char **headers; /* "Name: value", then NULL */
	char  *body;
	size_t body_len;

	regex_t re;
	int	re_ok;
	char   *error; /* why it cannot run */
};

struct checks_check {
	char		   *name;
	struct checks_step *steps;
	size_t		    nsteps;
};

struct checks_run {
	uv_loop_t	   *loop;
	struct http_client *client;
	char		   *base_url;
	char		   *base_host;
	char		   *ca_file;
	size_t		    body_max;
	char		   *log_fields; /* " app=..." or "" */
	int64_t (*now_ms)(void *);
	void	      *now_arg;
	checks_done_cb done_cb;
	void	      *arg;

	struct checks_check *checks;
	size_t		     nchecks;
	char		   **secrets; /* longest first */
	size_t		     nsecrets;

	struct checks_result *result;
	size_t		      ci; /* check in progress */
	size_t		      si; /* its step in progress */
	int		      step_started;
	struct http_cookies  *jar; /* of the check in progress */
	struct http_call     *call;
	struct buf	      body;
	int		      truncated;

	uv_timer_t timer; /* next step, retry delays */
	int	   cancelled;
	int	   closing;
	uint64_t   t_run; /* uv_hrtime() at the start */
	uint64_t   t_step;
	uint64_t   t_attempt;
};

static void checks_advance(struct checks_run *);

/* ------------------------------------------------------------------ */
/* Masking and clean text. */

static void
checks_secret_add(struct checks_run *run, const char *value, size_t len)
{
	size_t i, j;
	char  *s;

	if (len == 0)
		return;
	for (i = 0; i < run->nsecrets; i++)
		if (strlen(run->secrets[i]) == len &&
		    memcmp(run->secrets[i], value, len) == 0)
			return;
	s = xstrndup(value, len);
	run->secrets = xreallocarray(run->secrets, run->nsecrets + 1,
	    sizeof *run->secrets);
	/* Longest first, so a secret holding another is masked whole. */
	for (i = 0; i < run->nsecrets; i++)
		if (strlen(run->secrets[i]) < len)
			break;
	for (j = run->nsecrets; j > i; j--)
		run->secrets[j] = run->secrets[j - 1];
	run->secrets[i] = s;
	run->nsecrets++;
}

/* Form encoding (application/x-www-form-urlencoded) or %20 for spaces. */
static void
checks_urlencode(struct buf *b, const char *s, size_t len, int form)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	  c;
	char		  esc[3];
	size_t		  i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_append(b, &s[i], 1);
		else if (c == ' ' && form)
			buf_appends(b, "+");
		else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 0xf];
			buf_append(b, esc, 3);
		}
	}
}

/* A string's JSON text without the quotes ("a\"b" for a"b). */
static char *
checks_json_escape(const char *s, size_t len)
{
	json_t *j;
	char   *text, *out;
	size_t	n;

	if ((j = json_stringn(s, len)) == NULL)
		return (NULL); /* not UTF-8 */
	text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return (NULL);
	n = strlen(text);
	out = xstrndup(text + 1, n >= 2 ? n - 2 : 0);
	explicit_bzero(text, n);
	free(text);
	return (out);
}

/* A substituted value, and the forms it may take in answers. */
static void
checks_secret_add_all(struct checks_run *run, const char *value, size_t len)
{
	struct buf b;
	char	  *j;

	checks_secret_add(run, value, len);
	buf_init(&b, SIZE_MAX / 2);
	checks_urlencode(&b, value, len, 1);
	checks_secret_add(run, b.data != NULL ? b.data : "", b.len);
	buf_reset(&b);
	checks_urlencode(&b, value, len, 0);
	checks_secret_add(run, b.data != NULL ? b.data : "", b.len);
	buf_free_secret(&b);
	if ((j = checks_json_escape(value, len)) != NULL) {
		checks_secret_add(run, j, strlen(j));
		freezero_str(j);
	}
}

/*
 * Every secret in s[0..len) replaced by "****"; caller frees.  With a
 * limit, stops once the output is longer: matching still sees the whole
 * input, so a secret across the cut is masked, never cut in half.
 */
static char *
checks_mask(const struct checks_run *run, const char *s, size_t len,
    size_t limit)
{
	struct buf b;
	size_t	   i, k, n;
	int	   hit;

	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "");
	for (i = 0; i < len && (limit == 0 || b.len <= limit);) {
		hit = 0;
		for (k = 0; k < run->nsecrets; k++) {
			n = strlen(run->secrets[k]);
			if (n <= len - i &&
			    memcmp(s + i, run->secrets[k], n) == 0) {
				buf_appends(&b, CHECKS_MASK);
				i += n;
				hit = 1;
				break;
			}
		}
		if (!hit) {
			buf_append(&b, s + i, 1);
			i++;
		}
	}
	return (buf_take(&b, NULL));
}

/*
 * Valid UTF-8 without control characters, at most max bytes (0: no
 * limit), cut at a character boundary: invalid bytes become '?',
 * control characters (C0, DEL, C1) a space.
 */
static char *
checks_clean(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf	     b;
	size_t		     i, n, k;
	uint32_t	     cp;

	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "");
	for (i = 0; i < len; i += n) {
		n = 1;
		if (p[i] < 0x20 || p[i] == 0x7f) {
			if (max != 0 && b.len + 1 > max)
				break;
			buf_appends(&b, " ");
			continue;
		}
		if (p[i] < 0x80) {
			if (max != 0 && b.len + 1 > max)
				break;
			buf_append(&b, &p[i], 1);
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = p[i] & 0x07;
		} else
			goto bad;
		if (n > len - i) {
			if (max != 0) /* cut short by the excerpt */
				break;
			goto bad;
		}
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		if (cp >= 0x80 && cp <= 0x9f) {
			if (max != 0 && b.len + 1 > max)
				break;
			buf_appends(&b, " ");
			continue;
		}
		if (max != 0 && b.len + n > max)
			break;
		buf_append(&b, &p[i], n);
		continue;
bad:
		n = 1;
		if (max != 0 && b.len + 1 > max)
			break;
		buf_appends(&b, "?");
	}
	return (buf_take(&b, NULL));
}

/* What the module hands out: masked, then cleaned. */
static char *
checks_out(const struct checks_run *run, const char *s)
{
	char *m, *c;

	if (s == NULL)
		return (NULL);
	m = checks_mask(run, s, strlen(s), 0);
	c = checks_clean(m, strlen(m), 0);
	free(m);
	return (c);
}

__attribute__((format(printf, 2, 3))) static char *
checks_outf(const struct checks_run *run, const char *fmt, ...)
{
	va_list ap;
	char   *s, *o;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	o = checks_out(run, s);
	free(s);
	return (o);
}

/* The start of a body, masked, then cleaned and cut (cleaning never
   makes text longer). */
static char *
checks_excerpt(const struct checks_run *run, const char *s, size_t len)
{
	char *m, *c;

	if (s == NULL || len == 0)
		return (NULL);
	m = checks_mask(run, s, len, CHECKS_EXCERPT_MAX);
	c = checks_clean(m, strlen(m), CHECKS_EXCERPT_MAX);
	free(m);
	return (c);
}

/* A value quoted in a reason, shortened. */
static char *
checks_shown(const char *s)
{
	size_t n = strlen(s);

	if (n <= CHECKS_SHOWN_MAX)
		return (xstrdup(s));
	return (xasprintf("%.*s...", CHECKS_SHOWN_MAX, s));
}

enum checks_level { CHECKS_LOG_INFO, CHECKS_LOG_WARN, CHECKS_LOG_DEBUG };

__attribute__((format(printf, 3, 4))) static void
checks_log(const struct checks_run *run, enum checks_level level,
    const char *fmt, ...)
{
	va_list ap;
	char   *s, *line;

	if (level == CHECKS_LOG_DEBUG && !log_debug_enabled(LOG_CAT_ENGINE))
		return;
	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	line = checks_outf(run, "%s%s", s, run->log_fields);
	free(s);
	switch (level) {
	case CHECKS_LOG_INFO:
		log_info("%s", line);
		break;
	case CHECKS_LOG_WARN:
		log_warnx("%s", line);
		break;
	case CHECKS_LOG_DEBUG:
		log_debug(LOG_CAT_ENGINE, "%s", line);
		break;
	}
	free(line);
}

/* ------------------------------------------------------------------ */
/* Secrets and requests. */

static char *
checks_read_secret_file(const char *path, size_t *lenp, char **err)
{
	struct buf  b;
	struct stat sb;
	char	    tmp[4096];
	ssize_t	    n;
	int	    fd = -1;
	char	   *out = NULL;

	buf_init(&b, CHECKS_SECRET_FILE_MAX);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &sb) == -1) {
		*err = xasprintf("secret file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		*err = xasprintf("secret file %s is not a regular file", path);
		goto out;
	}
	for (;;) {
		if ((n = read(fd, tmp, sizeof tmp)) == -1) {
			if (errno == EINTR)
				continue;
			*err = xasprintf("secret file %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&b, tmp, n) != 0) {
			*err = xasprintf("secret file %s is larger than %d "
					 "bytes",
			    path, CHECKS_SECRET_FILE_MAX);
			goto out;
		}
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n') {
		b.data[--b.len] = '\0';
		if (b.len > 0 && b.data[b.len - 1] == '\r')
			b.data[--b.len] = '\0';
	}
	buf_appends(&b, "");
	out = buf_take(&b, lenp);
out:
	explicit_bzero(tmp, sizeof tmp);
	if (fd != -1)
		close(fd);
	buf_free_secret(&b);
	return (out);
}

/*
 * Replaces ${NAME} and ${file:/PATH} in s; each value is recorded as a
 * secret.  json: values are JSON-escaped (they sit inside a string).
 * NULL and *err (names only, never a value) when a value is missing.
 */
static char *
checks_substitute(struct checks_run *run, const char *s, int json, char **err)
{
	struct buf  b;
	const char *p, *start, *end;
	char	   *ref, *value, *esc;
	size_t	    len;

	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "");
	for (p = s; (start = strstr(p, "${")) != NULL; p = end + 1) {
		if ((end = strchr(start, '}')) == NULL)
			break;
		buf_append(&b, p, start - p);
		ref = xstrndup(start + 2, end - start - 2);
		if (strncmp(ref, "file:", 5) == 0) {
			value = checks_read_secret_file(ref + 5, &len, err);
			if (value == NULL) {
				free(ref);
				buf_free_secret(&b);
				return (NULL);
			}
		} else {
			if ((esc = getenv(ref)) == NULL) {
				*err = xasprintf("environment variable %s is "
						 "not set",
				    ref);
				free(ref);
				buf_free_secret(&b);
				return (NULL);
			}
			value = xstrdup(esc);
			len = strlen(value);
		}
		free(ref);
		checks_secret_add_all(run, value, len);
		if (json) {
			if ((esc = checks_json_escape(value, len)) == NULL) {
				*err = xstrdup("a value substituted in the "
					       "json body is not UTF-8");
				freezero_str(value);
				buf_free_secret(&b);
				return (NULL);
			}
			buf_appends(&b, esc);
			freezero_str(esc);
		} else
			buf_append(&b, value, len);
		explicit_bzero(value, len);
		free(value);
	}
	buf_appends(&b, p);
	value = buf_take(&b, NULL);
	buf_free_secret(&b);
	return (value);
}

/* The host of an http(s) URL, lower case; NULL if not such a URL. */
static char *
checks_url_host(const char *url)
{
	const char *p, *end, *at, *q;
	char	   *host;
	size_t	    i;

	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return (NULL);
	end = p + strcspn(p, "/?#");
	for (at = NULL, q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL)
		p = at + 1;
	if (*p == '[') {
		if ((q = memchr(p, ']', end - p)) == NULL)
			return (NULL);
		q++;
	} else
		for (q = p; q < end && *q != ':'; q++)
			;
	if (q == p)
		return (NULL);
	host = xstrndup(p, q - p);
	for (i = 0; host[i] != '\0'; i++)
		host[i] = tolower((unsigned char)host[i]);
	return (host);
}

static int
checks_has_ctl(const char *s, int space)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (space && *s == ' '))
			return (1);
	return (0);
}

static int
checks_has_header(const struct config_kvs *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->items[i].key, name) == 0)
			return (1);
	return (0);
}

/* Builds the step's URL, headers and body; 0, or -1 with st->error. */
static int
checks_step_resolve(struct checks_run *run, struct checks_step *st,
    const struct config_check_step *cs)
{
	struct buf b;
	char	  *v = NULL, *host = NULL, *err = NULL;
	size_t	   i, nh = 0;
	int	   rc = -1;

	buf_init(&b, SIZE_MAX / 2);
	st->headers = xcalloc(cs->headers.n + 2, sizeof *st->headers);

	if ((v = checks_substitute(run, cs->url, 0, &err)) == NULL)
		goto out;
	if (checks_has_ctl(v, 1)) {
		err = xstrdup("the url holds spaces or control characters");
		goto out;
	}
	if (*v == '/') {
		i = strlen(run->base_url);
		while (i > 0 && run->base_url[i - 1] == '/')
			i--;
		st->url = xasprintf("%.*s%s", (int)i, run->base_url, v);
	} else {
		host = checks_url_host(v);
		if (host == NULL || strcmp(host, run->base_host) != 0) {
			err = xasprintf("url %s is not on the host of the "
					"base_url (%s)",
			    v, run->base_host);
			goto out;
		}
		st->url = xstrdup(v);
	}
	freezero_str(v);
	v = NULL;

	for (i = 0; i < cs->headers.n; i++) {
		v = checks_substitute(run, cs->headers.items[i].value, 0, &err);
		if (v == NULL)
			goto out;
		if (checks_has_ctl(v, 0)) {
			err = xasprintf("header %s holds control characters",
			    cs->headers.items[i].key);
			goto out;
		}
		/* "Name;" is how libcurl sends an empty header. */
		if (*v == '\0')
			st->headers[nh++] = xasprintf("%s;",
			    cs->headers.items[i].key);
		else
			st->headers[nh++] = xasprintf("%s: %s",
			    cs->headers.items[i].key, v);
		freezero_str(v);
		v = NULL;
	}

	if (cs->form.n > 0) {
		buf_appends(&b, "");
		for (i = 0; i < cs->form.n; i++) {
			v = checks_substitute(run, cs->form.items[i].value, 0,
			    &err);
			if (v == NULL)
				goto out;
			if (i > 0)
				buf_appends(&b, "&");
			checks_urlencode(&b, cs->form.items[i].key,
			    strlen(cs->form.items[i].key), 1);
			buf_appends(&b, "=");
			checks_urlencode(&b, v, strlen(v), 1);
			freezero_str(v);
			v = NULL;
		}
		st->body = buf_take(&b, &st->body_len);
		if (!checks_has_header(&cs->headers, "Content-Type"))
			st->headers[nh++] = xstrdup(
			    "Content-Type: "
			    "application/x-www-form-urlencoded");
	} else if (cs->json_body != NULL) {
		if ((st->body = checks_substitute(run, cs->json_body, 1,
			 &err)) == NULL)
			goto out;
		st->body_len = strlen(st->body);
		if (!checks_has_header(&cs->headers, "Content-Type"))
			st->headers[nh++] = xstrdup("Content-Type: "
						    "application/json");
	}
	rc = 0;
out:
	if (rc != 0)
		st->error = err;
	freezero_str(v);
	free(host);
	buf_free_secret(&b);
	return (rc);
}

static void
checks_step_copy(struct checks_run *run, struct checks_step *st,
    const struct config_check_step *cs)
{
	char ebuf[128];
	int  rc;

	st->name = xstrdup(cs->name != NULL ? cs->name : "");
	st->method = xstrdup(cs->method != NULL ? cs->method : "GET");
	st->url_ref = xstrdup(cs->url != NULL ? cs->url : "");
	if (cs->nexpect_status > 0) {
		st->status = xcalloc(cs->nexpect_status, sizeof *st->status);
		memcpy(st->status, cs->expect_status,
		    cs->nexpect_status * sizeof *st->status);
		st->nstatus = cs->nexpect_status;
	}
#define DUP(f) ((f) != NULL ? xstrdup(f) : NULL)
	st->contains = DUP(cs->expect_contains);
	st->regex = DUP(cs->expect_regex);
	st->json_pointer = DUP(cs->expect_json_pointer);
	st->json_equals = DUP(cs->expect_json_equals);
	st->header = DUP(cs->expect_header);
#undef DUP
	st->retries = cs->retries > 0 ? cs->retries : 0;
	st->retry_delay_ms = cs->retry_delay_ms > 0 ? cs->retry_delay_ms : 0;
	st->timeout_ms = cs->timeout_ms > 0 ? (long)cs->timeout_ms :
					      CHECKS_TIMEOUT_DEFAULT;
	st->max_redirects = cs->max_redirects > 0 ? cs->max_redirects : 0;

	if (cs->url == NULL) {
		st->error = xstrdup("the step has no url");
		return;
	}
	if (st->regex != NULL) {
		if ((rc = regcomp(&st->re, st->regex,
			 REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rc, &st->re, ebuf, sizeof ebuf);
			st->error = xasprintf("regex \"%s\" is not a valid "
					      "extended regular expression: %s",
			    st->regex, ebuf);
			return;
		}
		st->re_ok = 1;
	}
	checks_step_resolve(run, st, cs);
}

static void
checks_step_free(struct checks_step *st)
{
	size_t i;

	free(st->name);
	free(st->method);
	free(st->url_ref);
	free(st->status);
	free(st->contains);
	free(st->regex);
	free(st->json_pointer);
	free(st->json_equals);
	free(st->header);
	freezero_str(st->url);
	for (i = 0; st->headers != NULL && st->headers[i] != NULL; i++)
		freezero_str(st->headers[i]);
	free(st->headers);
	if (st->body != NULL) {
		explicit_bzero(st->body, st->body_len);
		free(st->body);
	}
	if (st->re_ok)
		regfree(&st->re);
	free(st->error);
}

/* ------------------------------------------------------------------ */
/* Expectations. */

/* RFC 6901. */
static json_t *
checks_json_pointer(json_t *root, const char *ptr)
{
	json_t	     *cur = root;
	const char   *p, *end;
	char	     *tok, *q;
	size_t	      len, i;
	unsigned long idx;

	if (*ptr == '\0')
		return (root);
	if (*ptr != '/')
		return (NULL);
	for (p = ptr + 1; cur != NULL; p = end + 1) {
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		tok = xmalloc(len + 1);
		for (i = 0, q = tok; i < len; i++) {
			if (p[i] != '~')
				*q++ = p[i];
			else if (i + 1 < len && p[i + 1] == '0') {
				*q++ = '~';
				i++;
			} else if (i + 1 < len && p[i + 1] == '1') {
				*q++ = '/';
				i++;
			} else {
				free(tok);
				return (NULL);
			}
		}
		*q = '\0';
		if (json_is_object(cur))
			cur = json_object_get(cur, tok);
		else if (json_is_array(cur)) {
			if (*tok == '\0' ||
			    strspn(tok, "0123456789") != strlen(tok) ||
			    (tok[0] == '0' && tok[1] != '\0') ||
			    strlen(tok) > 9)
				cur = NULL;
			else {
				idx = strtoul(tok, NULL, 10);
				cur = json_array_get(cur, idx);
			}
		} else
			cur = NULL;
		free(tok);
		if (end == NULL)
			break;
	}
	return (cur);
}

/* The json_equals convention of shipgate.yaml(5). */
static int
checks_json_equals(json_t *v, const char *want, const char *text)
{
	json_t *w;
	int	same;

	if (json_is_string(v))
		return (json_string_length(v) == strlen(want) &&
			memcmp(json_string_value(v), want, strlen(want)) == 0);
	if (strcmp(text, want) == 0)
		return (1);
	if ((w = json_loads(want, JSON_DECODE_ANY, NULL)) == NULL)
		return (0);
	same = json_equal(v, w) ||
	       (json_is_number(v) && json_is_number(w) &&
		   json_number_value(v) == json_number_value(w));
	json_decref(w);
	return (same);
}

static char *
checks_status_list(const struct checks_step *st)
{
	struct buf b;
	size_t	   i;

	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "");
	for (i = 0; i < st->nstatus; i++) {
		if (i > 0)
			buf_appends(&b, i + 1 == st->nstatus ? " or " : ", ");
		buf_printf(&b, "%d", st->status[i]);
	}
	return (buf_take(&b, NULL));
}

/* Why the attempt failed (unmasked; caller frees), or NULL if it passed. */
static char *
checks_evaluate(struct checks_run *run, const struct checks_step *st,
    const struct http_result *res)
{
	const char  *data = run->body.data != NULL ? run->body.data : "";
	size_t	     len = run->body.len, i;
	json_t	    *root, *v;
	json_error_t je;
	char	    *s, *text, *shown, *why = NULL;
	int	     ok;

	if (res->error == HTTP_ETIMEOUT)
		return (xasprintf("no answer within %ld ms (%s)",
		    st->timeout_ms, res->message));
	if (res->error == HTTP_EPROTOCOL && st->max_redirects > 0 &&
	    res->redirects >= st->max_redirects &&
	    strstr(res->message, "edirect") != NULL)
		return (xasprintf("too many redirects (more than %d): a "
				  "redirect loop? last URL %s",
		    st->max_redirects, res->effective_url));
	if (res->error != HTTP_OK)
		return (xasprintf("%s error: %s", http_strerror(res->error),
		    res->message));

	if (st->nstatus == 0) {
		if (res->status < 200 || res->status > 299)
			return (xasprintf("expected a 2xx status, got %ld",
			    res->status));
	} else {
		for (ok = 0, i = 0; i < st->nstatus; i++)
			if (st->status[i] == res->status)
				ok = 1;
		if (!ok) {
			s = checks_status_list(st);
			why = xasprintf("expected status %s, got %ld", s,
			    res->status);
			free(s);
			return (why);
		}
	}
	if (st->header != NULL &&
	    http_headers_get(&res->headers, st->header) == NULL)
		return (xasprintf("no %s header in the answer", st->header));
	if (st->contains != NULL &&
	    memmem(data, len, st->contains, strlen(st->contains)) == NULL)
		return (xasprintf("body does not contain \"%s\"%s",
		    st->contains, run->truncated ? " (in the part kept)" : ""));
	if (st->re_ok && regexec(&st->re, data, 0, NULL, 0) != 0)
		return (xasprintf("body does not match the regex \"%s\"%s",
		    st->regex, run->truncated ? " (in the part kept)" : ""));
	if (st->json_pointer == NULL)
		return (NULL);

	if ((root = json_loadb(data, len, JSON_DECODE_ANY, &je)) == NULL)
		return (xasprintf("body is not JSON (line %d, column %d)%s",
		    je.line, je.column,
		    run->truncated ? ", cut at the size "
				     "kept" :
				     ""));
	if ((v = checks_json_pointer(root, st->json_pointer)) == NULL)
		why = xasprintf("JSON %s not found", st->json_pointer);
	else if (st->json_equals != NULL) {
		text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (text == NULL)
			text = xstrdup("?");
		if (!checks_json_equals(v, st->json_equals, text)) {
			shown = checks_shown(text);
			if (json_is_string(v))
				why = xasprintf("JSON %s is %s, expected "
						"\"%s\"",
				    st->json_pointer, shown, st->json_equals);
			else
				why = xasprintf("JSON %s is %s, expected %s",
				    st->json_pointer, shown, st->json_equals);
			free(shown);
		}
		free(text);
	}
	json_decref(root);
	return (why);
}

/* ------------------------------------------------------------------ */
/* The run. */

static long long
checks_ms_since(uint64_t t)
{
	return ((long long)((uv_hrtime() - t) / 1000000));
}

static int64_t
checks_now(const struct checks_run *run)
{
	if (run->now_ms != NULL)
		return (run->now_ms(run->now_arg));
	return (wallclock_ms());
}

static struct checks_step_result *
checks_cur_result(struct checks_run *run)
{
	return (&run->result->checks[run->ci].steps[run->si]);
}

static struct checks_step *
checks_cur_step(struct checks_run *run)
{
	return (&run->checks[run->ci].steps[run->si]);
}

static void
checks_close_cb(uv_handle_t *h)
{
	struct checks_run    *run = h->data;
	struct checks_result *result = run->result;
	size_t		      i, j;

	run->result = NULL;
	run->done_cb(result, run->arg);

	for (i = 0; i < run->nchecks; i++) {
		for (j = 0; j < run->checks[i].nsteps; j++)
			checks_step_free(&run->checks[i].steps[j]);
		free(run->checks[i].steps);
		free(run->checks[i].name);
	}
	free(run->checks);
	for (i = 0; i < run->nsecrets; i++)
		freezero_str(run->secrets[i]);
	free(run->secrets);
	buf_free_secret(&run->body);
	free(run->base_url);
	free(run->base_host);
	free(run->ca_file);
	free(run->log_fields);
	free(run);
}

/* Ends the run: nothing in flight; done_cb comes from the close callback. */
static void
checks_finish(struct checks_run *run)
{
	struct checks_result *r = run->result;
	size_t		      i;

	if (run->jar != NULL) {
		http_cookies_free(run->jar);
		run->jar = NULL;
	}
	r->cancelled = run->cancelled;
	r->passed = !run->cancelled;
	for (i = 0; i < r->nchecks; i++)
		if (!r->checks[i].passed)
			r->passed = 0;
	r->ms = checks_ms_since(run->t_run);
	checks_log(run, r->passed ? CHECKS_LOG_INFO : CHECKS_LOG_WARN,
	    "checks %s checks=%zu ms=%lld",
	    r->cancelled ? "cancelled" :
	    r->passed	 ? "passed" :
			   "failed",
	    r->nchecks, r->ms);
	run->closing = 1;
	uv_timer_stop(&run->timer);
	uv_close((uv_handle_t *)&run->timer, checks_close_cb);
}

/* The step in progress failed for good: its check stops there. */
static void
checks_step_failed(struct checks_run *run, const char *reason)
{
	struct checks_step_result *sr = checks_cur_result(run);
	struct checks_check	  *c = &run->checks[run->ci];

	sr->state = CHECKS_STEP_FAILED;
	free(sr->reason);
	sr->reason = checks_out(run, reason);
	sr->total_ms = checks_ms_since(run->t_step);
	sr->finished_at = checks_now(run);
	checks_log(run, CHECKS_LOG_WARN,
	    "check step failed check=%s "
	    "step=\"%s\" attempts=%d status=%ld reason=\"%s\"",
	    c->name, sr->name, sr->attempts, sr->status, sr->reason);
	run->result->checks[run->ci].passed = 0;
	run->step_started = 0;
	run->si = c->nsteps; /* the rest stays skipped */
}

static int
checks_body_cb(struct http_call *call, const void *data, size_t len, void *arg)
{
	struct checks_run *run = arg;
	size_t		   room;

	(void)call;
	room = run->body_max - run->body.len;
	if (len > room) {
		run->truncated = 1;
		len = room;
	}
	if (len > 0)
		buf_append(&run->body, data, len);
	return (0);
}

static void checks_attempt(struct checks_run *);

static void
checks_retry_cb(uv_timer_t *t)
{
	struct checks_run *run = t->data;

	checks_attempt(run);
	checks_advance(run);
}

static void
checks_next_cb(uv_timer_t *t)
{
	checks_advance(t->data);
}

static void
checks_http_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct checks_run	  *run = arg;
	struct checks_step	  *st = checks_cur_step(run);
	struct checks_step_result *sr = checks_cur_result(run);
	char			  *why;

	(void)call;
	run->call = NULL;
	sr->ms = checks_ms_since(run->t_attempt);
	if (run->cancelled) {
		uv_timer_start(&run->timer, checks_next_cb, 0, 0);
		return;
	}
	sr->status = res->status;
	free(sr->excerpt);
	sr->excerpt = checks_excerpt(run, run->body.data, run->body.len);

	/* A failed attempt is tried again, unless http_client_close()
	   cancelled it. */
	if ((why = checks_evaluate(run, st, res)) == NULL) {
		sr->state = CHECKS_STEP_PASSED;
		free(sr->reason);
		sr->reason = NULL;
		sr->total_ms = checks_ms_since(run->t_step);
		sr->finished_at = checks_now(run);
		checks_log(run, CHECKS_LOG_INFO,
		    "check step passed check=%s "
		    "step=\"%s\" status=%ld attempts=%d ms=%lld",
		    run->checks[run->ci].name, sr->name, sr->status,
		    sr->attempts, sr->ms);
		run->step_started = 0;
		run->si++;
	} else if (sr->attempts <= st->retries &&
		   res->error != HTTP_ECANCELLED) {
		free(sr->reason);
		sr->reason = checks_out(run, why);
		checks_log(run, CHECKS_LOG_INFO,
		    "check step attempt failed, "
		    "trying again check=%s step=\"%s\" attempt=%d of %d "
		    "delay_ms=%lld reason=\"%s\"",
		    run->checks[run->ci].name, sr->name, sr->attempts,
		    st->retries + 1, st->retry_delay_ms, sr->reason);
		free(why);
		uv_timer_start(&run->timer, checks_retry_cb,
		    (uint64_t)st->retry_delay_ms, 0);
		return;
	} else
		checks_step_failed(run, why);
	free(why);
	/* Not from here: the call still holds the cookie jar. */
	uv_timer_start(&run->timer, checks_next_cb, 0, 0);
}

/*
 * One attempt of the step in progress.  A request http.c refuses fails
 * the step for good (trying again would not change it).
 */
static void
checks_attempt(struct checks_run *run)
{
	struct checks_step	  *st = checks_cur_step(run);
	struct checks_step_result *sr = checks_cur_result(run);
	struct http_request	   req;
	char			  *cause = NULL, *why;

	memset(&req, 0, sizeof req);
	req.method = st->method;
	req.url = st->url;
	req.headers = (const char *const *)st->headers;
	req.body = st->body;
	req.body_len = st->body_len;
	req.write_cb = checks_body_cb;
	req.arg = run;
	req.timeout_ms = st->timeout_ms;
	if (req.timeout_ms < HTTP_CONNECT_TIMEOUT_DEFAULT)
		req.connect_timeout_ms = req.timeout_ms;
	req.max_redirects = st->max_redirects;
	req.ca_file = run->ca_file;
	req.cookies = run->jar;

	buf_free_secret(&run->body);
	buf_init(&run->body, run->body_max);
	run->truncated = 0;
	sr->attempts++;
	run->t_attempt = uv_hrtime();
	checks_log(run, CHECKS_LOG_DEBUG,
	    "check step attempt check=%s "
	    "step=\"%s\" attempt=%d method=%s url=%s",
	    run->checks[run->ci].name, sr->name, sr->attempts, st->method,
	    st->url);
	run->call = http_call_start(run->client, &req, checks_http_cb, run,
	    &cause);
	if (run->call == NULL) {
		why = xasprintf("request refused: %s",
		    cause != NULL ? cause : "unknown error");
		free(cause);
		checks_step_failed(run, why);
		free(why);
	}
}

/*
 * Moves on to whatever comes next: the next step, the next check, or the
 * end.  Returns with a call or a delay in flight, or the run closing.
 */
static void
checks_advance(struct checks_run *run)
{
	struct checks_check	  *c;
	struct checks_step	  *st;
	struct checks_step_result *sr;

	for (;;) {
		if (run->closing || run->call != NULL ||
		    uv_is_active((uv_handle_t *)&run->timer))
			return;
		if (run->cancelled) {
			if (run->step_started && run->ci < run->nchecks) {
				sr = checks_cur_result(run);
				sr->state = CHECKS_STEP_CANCELLED;
				free(sr->reason);
				sr->reason = xstrdup("cancelled");
				sr->total_ms = checks_ms_since(run->t_step);
				sr->finished_at = checks_now(run);
				run->result->checks[run->ci].passed = 0;
			}
			for (; run->ci < run->nchecks; run->ci++)
				run->result->checks[run->ci].passed = 0;
			checks_finish(run);
			return;
		}
		if (run->ci >= run->nchecks) {
			checks_finish(run);
			return;
		}
		c = &run->checks[run->ci];
		if (run->si >= c->nsteps) {
			checks_log(run,
			    run->result->checks[run->ci].passed ?
				CHECKS_LOG_INFO :
				CHECKS_LOG_WARN,
			    "check %s "
			    "check=%s",
			    run->result->checks[run->ci].passed ? "passed" :
								  "failed",
			    c->name);
			if (run->jar != NULL) {
				http_cookies_free(run->jar);
				run->jar = NULL;
			}
			run->ci++;
			run->si = 0;
			continue;
		}
		if (run->jar == NULL)
			run->jar = http_cookies_new();
		st = &c->steps[run->si];
		sr = checks_cur_result(run);
		run->step_started = 1;
		run->t_step = uv_hrtime();
		sr->started_at = checks_now(run);
		/* The URL asked for, or as configured when it has none. */
		sr->url = checks_out(run,
		    st->url != NULL ? st->url : st->url_ref);
		if (st->error != NULL) {
			checks_step_failed(run, st->error);
			continue;
		}
		checks_attempt(run);
	}
}

struct checks_run *
checks_run(uv_loop_t *loop, struct http_client *client, const char *base_url,
    const struct config_check *const *checks, size_t n,
    const struct checks_options *opts, checks_done_cb done_cb, void *arg,
    char **cause)
{
	struct checks_run	   *run;
	struct checks_check_result *cr;
	struct checks_step_result  *sr;
	char			   *host;
	size_t			    i, j;

	if (cause != NULL)
		*cause = NULL;
	for (i = 0; checks != NULL && i < n; i++)
		if (checks[i] == NULL)
			break;
	if (loop == NULL || client == NULL || done_cb == NULL ||
	    (n > 0 && (checks == NULL || i < n))) {
		if (cause != NULL)
			*cause = xstrdup("checks_run: missing argument");
		return (NULL);
	}
	if (base_url == NULL || (host = checks_url_host(base_url)) == NULL) {
		if (cause != NULL)
			*cause = xstrdup(
			    "the environment has no base_url "
			    "(an http:// or https:// URL) for its checks");
		return (NULL);
	}

	run = xcalloc(1, sizeof *run);
	run->loop = loop;
	run->client = client;
	run->base_url = xstrdup(base_url);
	run->base_host = host;
	run->done_cb = done_cb;
	run->arg = arg;
	run->body_max = CHECKS_BODY_MAX_DEFAULT;
	run->log_fields = xstrdup("");
	if (opts != NULL) {
		if (opts->ca_file != NULL)
			run->ca_file = xstrdup(opts->ca_file);
		if (opts->body_max > 0)
			run->body_max = opts->body_max;
		if (opts->log_fields != NULL && *opts->log_fields != '\0') {
			free(run->log_fields);
			run->log_fields = xasprintf(" %s", opts->log_fields);
		}
		run->now_ms = opts->now_ms;
		run->now_arg = opts->now_arg;
	}
	buf_init(&run->body, run->body_max);
	run->t_run = uv_hrtime();

	/* Copy and resolve everything first: every secret is known before
	   anything is written out. */
	run->checks = xcalloc(n + 1, sizeof *run->checks);
	run->nchecks = n;
	for (i = 0; i < n; i++) {
		run->checks[i].name = xstrdup(
		    checks[i]->name != NULL ? checks[i]->name : "");
		run->checks[i].nsteps = checks[i]->nsteps;
		run->checks[i].steps = xcalloc(checks[i]->nsteps + 1,
		    sizeof *run->checks[i].steps);
		for (j = 0; j < checks[i]->nsteps; j++)
			checks_step_copy(run, &run->checks[i].steps[j],
			    &checks[i]->steps[j]);
	}

	run->result = xcalloc(1, sizeof *run->result);
	run->result->checks = xcalloc(n + 1, sizeof *run->result->checks);
	run->result->nchecks = n;
	for (i = 0; i < n; i++) {
		cr = &run->result->checks[i];
		cr->name = checks_out(run, run->checks[i].name);
		cr->passed = 1;
		cr->nsteps = run->checks[i].nsteps;
		cr->steps = xcalloc(cr->nsteps + 1, sizeof *cr->steps);
		for (j = 0; j < cr->nsteps; j++) {
			sr = &cr->steps[j];
			sr->name = checks_out(run,
			    run->checks[i].steps[j].name);
			sr->method = checks_out(run,
			    run->checks[i].steps[j].method);
			sr->state = CHECKS_STEP_SKIPPED;
		}
	}

	uv_timer_init(loop, &run->timer);
	run->timer.data = run;
	uv_timer_start(&run->timer, checks_next_cb, 0, 0);
	checks_log(run, CHECKS_LOG_INFO,
	    "checks started checks=%zu "
	    "base_url=%s",
	    n, run->base_url);
	return (run);
}

void
checks_cancel(struct checks_run *run)
{
	if (run == NULL || run->closing || run->cancelled)
		return;
	run->cancelled = 1;
	if (run->call != NULL) {
		/* Its done callback comes later and ends the run. */
		http_call_cancel(run->call);
		return;
	}
	uv_timer_stop(&run->timer);
	checks_advance(run);
}

/* ------------------------------------------------------------------ */
/* Results. */

void
checks_result_free(struct checks_result *r)
{
	struct checks_step_result *sr;
	size_t			   i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->nchecks; i++) {
		for (j = 0; j < r->checks[i].nsteps; j++) {
			sr = &r->checks[i].steps[j];
			free(sr->name);
			free(sr->method);
			free(sr->url);
			free(sr->reason);
			free(sr->excerpt);
		}
		free(r->checks[i].steps);
		free(r->checks[i].name);
	}
	free(r->checks);
	free(r);
}

const char *
checks_step_state_name(enum checks_step_state s)
{
	switch (s) {
	case CHECKS_STEP_PASSED:
		return ("passed");
	case CHECKS_STEP_FAILED:
		return ("failed");
	case CHECKS_STEP_SKIPPED:
		return ("skipped");
	case CHECKS_STEP_CANCELLED:
		return ("cancelled");
	}
	return ("unknown");
}

static json_t *
checks_json_str(const char *s)
{
	json_t *j;

	if (s == NULL)
		return (json_null());
	/* Results hold clean UTF-8; anything else is cleaned once more. */
	if ((j = json_string(s)) == NULL) {
		char *c = checks_clean(s, strlen(s), 0);

		j = json_string(c);
		free(c);
	}
	return (j != NULL ? j : json_null());
}

char *
checks_result_json(const struct checks_result *r)
{
	const struct checks_step_result *sr;
	json_t				*root, *checks, *c, *steps, *s;
	char				*text, *out;
	size_t				 i, j;

	root = json_object();
	json_object_set_new(root, "passed", json_boolean(r->passed));
	json_object_set_new(root, "cancelled", json_boolean(r->cancelled));
	json_object_set_new(root, "ms", json_integer(r->ms));
	checks = json_array();
	for (i = 0; i < r->nchecks; i++) {
		c = json_object();
		json_object_set_new(c, "name",
		    checks_json_str(r->checks[i].name));
		json_object_set_new(c, "passed",
		    json_boolean(r->checks[i].passed));
		steps = json_array();
		for (j = 0; j < r->checks[i].nsteps; j++) {
			sr = &r->checks[i].steps[j];
			s = json_object();
			json_object_set_new(s, "name",
			    checks_json_str(sr->name));
			json_object_set_new(s, "state",
			    json_string(checks_step_state_name(sr->state)));
			json_object_set_new(s, "method",
			    checks_json_str(sr->method));
			json_object_set_new(s, "url", checks_json_str(sr->url));
			json_object_set_new(s, "attempts",
			    json_integer(sr->attempts));
			json_object_set_new(s, "status",
			    json_integer(sr->status));
			json_object_set_new(s, "ms", json_integer(sr->ms));
			json_object_set_new(s, "total_ms",
			    json_integer(sr->total_ms));
			json_object_set_new(s, "started_at",
			    json_integer(sr->started_at));
			json_object_set_new(s, "finished_at",
			    json_integer(sr->finished_at));
			json_object_set_new(s, "reason",
			    checks_json_str(sr->reason));
			json_object_set_new(s, "excerpt",
			    checks_json_str(sr->excerpt));
			json_array_append_new(steps, s);
		}
		json_object_set_new(c, "steps", steps);
		json_array_append_new(checks, c);
	}
	json_object_set_new(root, "checks", checks);
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		fatalx("%s: json_dumps failed", __func__);
	out = xstrdup(text);
	free(text);
	return (out);
}

char *
checks_result_summary(const struct checks_result *r)
{
	const struct checks_step_result *sr;
	size_t				 i, j;

	if (r->cancelled)
		return (xstrdup("checks cancelled"));
	for (i = 0; i < r->nchecks; i++) {
		if (r->checks[i].passed)
			continue;
		for (j = 0; j < r->checks[i].nsteps; j++) {
			sr = &r->checks[i].steps[j];
			if (sr->state == CHECKS_STEP_FAILED)
				return (xasprintf("check %s, step \"%s\": %s",
				    r->checks[i].name, sr->name,
				    sr->reason != NULL ? sr->reason :
							 "failed"));
		}
		return (xasprintf("check %s failed", r->checks[i].name));
	}
	if (r->nchecks == 1)
		return (xstrdup("the check passed"));
	return (xasprintf("all %zu checks passed", r->nchecks));
}
