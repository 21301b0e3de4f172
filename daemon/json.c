/*
 * Bounded JSON reply reader: a size check and a nesting scan before
 * jansson loads the reply, then typed reads by path that keep the first
 * error as a message naming the field.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "xmalloc.h"
#include "xml.h"

#define PATH_MAX_LEN 512

/* The latest epoch second json_time accepts: 9999-12-31T23:59:59Z. */
#define EPOCH_MAX 253402300799.0

struct json {
	json_t *root;
	char   *what;
	char   *error;
};

enum kind {
	KIND_STR,
	KIND_INT,
	KIND_NUMBER,
	KIND_BOOL,
	KIND_TIME,
	KIND_ARRAY,
	KIND_OBJECT,
};

static const char *const kind_expected[] = {
	[KIND_STR] = "expected a string",
	[KIND_INT] = "expected an integer",
	[KIND_NUMBER] = "expected a number",
	[KIND_BOOL] = "expected a boolean",
	[KIND_TIME] = "expected a timestamp",
	[KIND_ARRAY] = "expected an array",
	[KIND_OBJECT] = "expected an object",
};

void
json_limits_default(struct json_limits *l)
{
	l->max_size = JSON_MAX_SIZE;
	l->max_depth = JSON_MAX_DEPTH;
}

/*
 * The deepest nesting of arrays and objects, counted outside strings.
 * jansson stops at its first error, and up to that point it splits
 * strings exactly as this scan does, so it never nests deeper than this.
 */
int
json_nesting_within(const char *s, size_t len, unsigned int max)
{
	unsigned int depth = 0;
	int	     in_string = 0;
	size_t	     i;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return (0);
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return (1);
}

int
json_load(struct json **docp, const void *data, size_t len,
    const struct json_limits *limits, const char *what, char **cause)
{
	struct json_limits l;
	struct json	  *doc;
	json_error_t	   err;
	json_t		  *root;

	*docp = NULL;
	if (limits != NULL)
		l = *limits;
	else
		json_limits_default(&l);
	if (len > l.max_size) {
		if (cause != NULL)
			*cause = xasprintf("%s: reply of %zu bytes is over the "
					   "limit of %zu",
			    what, len, l.max_size);
		return (JSON_ELIMIT);
	}
	if (!json_nesting_within(data, len, l.max_depth)) {
		if (cause != NULL)
			*cause = xasprintf("%s: nested deeper than %u", what,
			    l.max_depth);
		return (JSON_ELIMIT);
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		if (cause != NULL)
			*cause = xasprintf("%s: line %d column %d: %s", what,
			    err.line, err.column, err.text);
		return (JSON_EMALFORMED);
	}
	doc = xcalloc(1, sizeof *doc);
	doc->root = root;
	doc->what = xstrdup(what);
	*docp = doc;
	return (0);
}

void
json_free(struct json *doc)
{
	if (doc == NULL)
		return;
	json_decref(doc->root);
	free(doc->what);
	free(doc->error);
	free(doc);
}

json_t *
json_root(const struct json *doc)
{
	return (doc->root);
}

const char *
json_error(const struct json *doc)
{
	return (doc->error);
}

/*
 * jansson hands its strings out const and has no call to clear one, but
 * each is a malloc'd array the document owns until json_free, which is
 * what makes writing zeros over it sound: the one cast that drops const
 * in shipgate, and -Wcast-qual silenced for it alone.
 */
void
json_wipe_str(struct json *doc, const char *s)
{
	if (s == NULL)
		return;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
	explicit_bzero((char *)s, strlen(s));
#pragma GCC diagnostic pop
}

void
json_fail(struct json *doc, const char *fmt, ...)
{
	va_list ap;
	char   *msg;

	if (doc->error != NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	doc->error = xasprintf("%s: %s", doc->what, msg);
	free(msg);
}

/* Records "what: <first len bytes of path>: problem" if no error yet. */
static void
fail_at(struct json *doc, const char *path, size_t len, const char *problem)
{
	if (doc->error == NULL)
		doc->error = xasprintf("%s: %.*s: %s", doc->what, (int)len,
		    path, problem);
}

/*
 * Walks the path.  0 and the value when it is there and not null;
 * JSON_EMISSING with *at the length of the path up to the missing
 * part; JSON_ETYPE (recorded) when a step goes through a value of
 * the wrong type; JSON_EMALFORMED (recorded) for a bad path.
 */
static int
lookup(struct json *doc, const char *path, json_t **out, size_t *at)
{
	const char *p = path, *key;
	json_t	   *v = doc->root;
	size_t	    len, idx;
	char	   *end;

	while (*p != '\0') {
		if (*p == '[') {
			if (p[1] < '0' || p[1] > '9')
				goto bad;
			idx = strtoul(p + 1, &end, 10);
			if (*end != ']')
				goto bad;
			if (!json_is_array(v)) {
				fail_at(doc, path, (size_t)(p - path),
				    kind_expected[KIND_ARRAY]);
				return (JSON_ETYPE);
			}
			p = end + 1;
			v = json_array_get(v, idx);
		} else {
			if (*p == '.') {
				if (p == path)
					goto bad;
				p++;
			} else if (p != path)
				goto bad;
			key = p;
			len = strcspn(p, ".[]");
			if (len == 0)
				goto bad;
			if (!json_is_object(v)) {
				fail_at(doc, path,
				    key > path ? (size_t)(key - path - 1) : 0,
				    kind_expected[KIND_OBJECT]);
				return (JSON_ETYPE);
			}
			p += len;
			v = json_object_getn(v, key, len);
		}
		if (v == NULL || json_is_null(v)) {
			*at = (size_t)(p - path);
			return (JSON_EMISSING);
		}
	}
	*out = v;
	return (0);

bad:
	fail_at(doc, path, strlen(path), "bad path");
	return (JSON_EMALFORMED);
}

json_t *
json_get(struct json *doc, const char *fmt, ...)
{
	va_list ap;
	char	path[PATH_MAX_LEN];
	json_t *v;
	size_t	at;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof path)
		return (NULL);
	if (doc->error != NULL) {
		/* lookup must not record: json_get never fails. */
		return (lookup(doc, path, &v, &at) == 0 ? v : NULL);
	}
	if (lookup(doc, path, &v, &at) != 0) {
		free(doc->error);
		doc->error = NULL;
		return (NULL);
	}
	return (v);
}

static int
epoch_to_timespec(double d, struct timespec *ts)
{
	double	  secs;
	long long usec;

	if (!isfinite(d) || d < 0 || d > EPOCH_MAX)
		return (-1);
	secs = floor(d);
	usec = llround((d - secs) * 1e6);
	if (usec >= 1000000) {
		secs += 1;
		usec -= 1000000;
	}
	ts->tv_sec = (time_t)secs;
	ts->tv_nsec = (long)(usec * 1000);
	return (0);
}

/* Converts v to kind into out; 0 or -1 when it is the wrong type. */
static int
convert(json_t *v, enum kind kind, void *out)
{
	switch (kind) {
	case KIND_STR:
		if (!json_is_string(v))
			return (-1);
		*(const char **)out = json_string_value(v);
		return (0);
	case KIND_INT:
		if (!json_is_integer(v))
			return (-1);
		*(long long *)out = json_integer_value(v);
		return (0);
	case KIND_NUMBER:
		if (!json_is_number(v))
			return (-1);
		*(double *)out = json_number_value(v);
		return (0);
	case KIND_BOOL:
		if (!json_is_boolean(v))
			return (-1);
		*(int *)out = json_is_true(v);
		return (0);
	case KIND_TIME:
		if (json_is_number(v))
			return (epoch_to_timespec(json_number_value(v), out));
		if (json_is_string(v))
			return (xml_parse_time(json_string_value(v), out) == 0 ?
				    0 :
				    -1);
		return (-1);
	case KIND_ARRAY:
		if (!json_is_array(v))
			return (-1);
		*(size_t *)out = json_array_size(v);
		return (0);
	case KIND_OBJECT:
		if (!json_is_object(v))
			return (-1);
		*(json_t **)out = v;
		return (0);
	}
	return (-1);
}

static int get(struct json *, int, enum kind, void *, const char *, va_list)
    __attribute__((format(printf, 5, 0)));

static int
get(struct json *doc, int optional, enum kind kind, void *out, const char *fmt,
    va_list ap)
{
	char	path[PATH_MAX_LEN];
	json_t *v;
	size_t	at;
	int	n, rc;

	n = vsnprintf(path, sizeof path, fmt, ap);
	if (n < 0 || (size_t)n >= sizeof path) {
		json_fail(doc, "%.64s...: path too long", path);
		return (JSON_EMALFORMED);
	}
	rc = lookup(doc, path, &v, &at);
	if (rc == JSON_EMISSING) {
		if (optional) {
			if (kind == KIND_ARRAY)
				*(size_t *)out = 0;
			return (0);
		}
		fail_at(doc, path, at, "missing");
		return (rc);
	}
	if (rc != 0)
		return (rc);
	if (convert(v, kind, out) != 0) {
		fail_at(doc, path, strlen(path),
		    kind == KIND_TIME &&
			    (json_is_number(v) || json_is_string(v)) ?
			"not a valid timestamp" :
			kind_expected[kind]);
		return (JSON_ETYPE);
	}
	return (optional ? 1 : 0);
}

/* Each typed reader is one line over get(). */
#define JSON_GETTER(name, type, kind, optional)                     \
	int name(struct json *doc, type *out, const char *fmt, ...) \
	{                                                           \
		va_list ap;                                         \
		int	rc;                                         \
                                                                    \
		va_start(ap, fmt);                                  \
		rc = get(doc, optional, kind, out, fmt, ap);        \
		va_end(ap);                                         \
		return (rc);                                        \
	}

JSON_GETTER(json_str, const char *, KIND_STR, 0)
JSON_GETTER(json_int, long long, KIND_INT, 0)
JSON_GETTER(json_number, double, KIND_NUMBER, 0)
JSON_GETTER(json_bool, int, KIND_BOOL, 0)
JSON_GETTER(json_time, struct timespec, KIND_TIME, 0)
JSON_GETTER(json_arr, size_t, KIND_ARRAY, 0)
JSON_GETTER(json_obj, json_t *, KIND_OBJECT, 0)
JSON_GETTER(json_str_opt, const char *, KIND_STR, 1)
JSON_GETTER(json_int_opt, long long, KIND_INT, 1)
JSON_GETTER(json_number_opt, double, KIND_NUMBER, 1)
JSON_GETTER(json_bool_opt, int, KIND_BOOL, 1)
JSON_GETTER(json_time_opt, struct timespec, KIND_TIME, 1)
JSON_GETTER(json_arr_opt, size_t, KIND_ARRAY, 1)
JSON_GETTER(json_obj_opt, json_t *, KIND_OBJECT, 1)
