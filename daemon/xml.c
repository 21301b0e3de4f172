/*
 * Bounded XML reply parser: expat builds a small tree of elements with
 * their local names and text; limits stop the parse the moment they are
 * crossed, and a DOCTYPE stops it before any declaration is read.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "buf.h"
#include "log.h"
#include "xmalloc.h"
#include "xml.h"

/* Separates a namespace URI from the local name in expat's names. */
#define NS_SEP '\n'

struct xml_node {
	char		*name;
	char		*text;
	size_t		 text_len;
	struct xml_node *parent;
	struct xml_node *child; /* first child */
	struct xml_node *last;	/* last child */
	struct xml_node *next;	/* next sibling */
};

struct xml {
	struct xml_node *root;
};

/* What the expat handlers share while one reply is parsed. */
struct parse_state {
	XML_Parser	  parser;
	struct xml_limits limits;
	struct xml	 *doc;
	struct xml_node	 *cur; /* the open element */
	unsigned int	  depth;
	size_t		  elements;
	struct buf	 *text;	 /* one per open element */
	int		  error; /* XML_E*, 0 while fine */
	char		 *cause;
};

static void node_free(struct xml_node *);

void
xml_limits_default(struct xml_limits *l)
{
	l->max_size = XML_MAX_SIZE;
	l->max_depth = XML_MAX_DEPTH;
	l->max_elements = XML_MAX_ELEMENTS;
	l->max_text = XML_MAX_TEXT;
}

static void
parse_stop(struct parse_state *st, int error, char *cause)
{
	if (st->error == 0) {
		st->error = error;
		st->cause = cause;
	} else
		free(cause);
	XML_StopParser(st->parser, XML_FALSE);
}

static const char *
local_name(const char *name)
{
	const char *p;

	p = strrchr(name, NS_SEP);
	return (p != NULL ? p + 1 : name);
}

static void
start_cb(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct parse_state *st = arg;
	struct xml_node	   *n;

	if (st->error != 0)
		return;
	if (st->depth >= st->limits.max_depth) {
		parse_stop(st, XML_ELIMIT,
		    xasprintf("line %lu: elements "
			      "nested deeper than %u",
			XML_GetCurrentLineNumber(st->parser),
			st->limits.max_depth));
		return;
	}
	if (st->elements >= st->limits.max_elements) {
		parse_stop(st, XML_ELIMIT,
		    xasprintf("line %lu: more than "
			      "%zu elements",
			XML_GetCurrentLineNumber(st->parser),
			st->limits.max_elements));
		return;
	}
	n = xcalloc(1, sizeof *n);
	n->name = xstrdup(local_name(name));
	n->parent = st->cur;
	if (st->cur == NULL)
		st->doc->root = n;
	else if (st->cur->last == NULL)
		st->cur->child = st->cur->last = n;
	else {
		st->cur->last->next = n;
		st->cur->last = n;
	}
	st->cur = n;
	buf_init(&st->text[st->depth], st->limits.max_text);
	st->depth++;
	st->elements++;
}

static int
all_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return (0);
	}
	return (1);
}

static void
end_cb(void *arg, const XML_Char *name)
{
	struct parse_state *st = arg;
	struct buf	   *b;
	struct xml_node	   *n = st->cur;

	if (st->error != 0 || n == NULL)
		return;
	st->depth--;
	b = &st->text[st->depth];
	if (n->child != NULL && all_space(b->data ? b->data : "", b->len))
		buf_reset(b);
	n->text = buf_take(b, &n->text_len);
	st->cur = n->parent;
}

static void
text_cb(void *arg, const XML_Char *s, int len)
{
	struct parse_state *st = arg;

	if (st->error != 0 || st->cur == NULL || len <= 0)
		return;
	if (buf_append(&st->text[st->depth - 1], s, (size_t)len) != 0) {
		parse_stop(st, XML_ELIMIT,
		    xasprintf("line %lu: more than "
			      "%zu bytes of text in <%s>",
			XML_GetCurrentLineNumber(st->parser),
			st->limits.max_text, st->cur->name));
	}
}

static void
doctype_cb(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	struct parse_state *st = arg;

	parse_stop(st, XML_EMALFORMED,
	    xasprintf("line %lu: DOCTYPE is "
		      "not allowed in a reply",
		XML_GetCurrentLineNumber(st->parser)));
}

static void
entity_cb(void *arg, const XML_Char *name, int is_parameter,
    const XML_Char *value, int value_length, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	struct parse_state *st = arg;

	/* Unreachable while DOCTYPE is refused; kept as a second lock. */
	parse_stop(st, XML_EMALFORMED,
	    xasprintf("line %lu: entity "
		      "declarations are not allowed",
		XML_GetCurrentLineNumber(st->parser)));
}

int
xml_parse(struct xml **docp, const void *data, size_t len,
    const struct xml_limits *limits, char **cause)
{
	struct parse_state st;
	unsigned int	   i;
	int		   rc = XML_EMALFORMED;

	*docp = NULL;
	memset(&st, 0, sizeof st);
	if (limits != NULL)
		st.limits = *limits;
	else
		xml_limits_default(&st.limits);
	if (len > st.limits.max_size || len > INT_MAX) {
		if (cause != NULL)
			*cause = xasprintf("reply of %zu bytes is over the "
					   "limit of %zu",
			    len, st.limits.max_size);
		return (XML_ELIMIT);
	}
	if (st.limits.max_depth == 0)
		st.limits.max_depth = 1;

	st.parser = XML_ParserCreateNS(NULL, NS_SEP);
	if (st.parser == NULL)
		fatalx("XML_ParserCreateNS: out of memory");
	st.doc = xcalloc(1, sizeof *st.doc);
	st.text = xcalloc(st.limits.max_depth, sizeof *st.text);
	XML_SetUserData(st.parser, &st);
	XML_SetElementHandler(st.parser, start_cb, end_cb);
	XML_SetCharacterDataHandler(st.parser, text_cb);
	XML_SetStartDoctypeDeclHandler(st.parser, doctype_cb);
	XML_SetEntityDeclHandler(st.parser, entity_cb);
	XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);

	if (XML_Parse(st.parser, data, (int)len, XML_TRUE) != XML_STATUS_OK &&
	    st.error == 0) {
		st.error = XML_EMALFORMED;
		st.cause = xasprintf("line %lu column %lu: %s",
		    XML_GetCurrentLineNumber(st.parser),
		    XML_GetCurrentColumnNumber(st.parser) + 1,
		    XML_ErrorString(XML_GetErrorCode(st.parser)));
	}
	if (st.error == 0 && (st.doc->root == NULL || st.cur != NULL)) {
		/* expat says so first; this keeps the tree sound anyway. */
		st.error = XML_EMALFORMED;
		st.cause = xstrdup("no complete document element");
	}
	if (st.error != 0) {
		rc = st.error;
		if (cause != NULL) {
			*cause = st.cause;
			st.cause = NULL;
		}
		xml_free(st.doc);
		st.doc = NULL;
	} else {
		rc = 0;
		*docp = st.doc;
	}

	for (i = 0; i < st.limits.max_depth; i++)
		buf_free(&st.text[i]);
	free(st.text);
	free(st.cause);
	XML_ParserFree(st.parser);
	return (rc);
}

/* Iterative, so freeing never recurses however the tree is shaped. */
static void
node_free(struct xml_node *n)
{
	struct xml_node *up;

	while (n != NULL) {
		if (n->child != NULL) {
			up = n->child;
			n->child = NULL;
			n = up;
			continue;
		}
		up = n->next != NULL ? n->next : n->parent;
		free(n->name);
		free(n->text);
		free(n);
		n = up;
	}
}

void
xml_free(struct xml *doc)
{
	if (doc == NULL)
		return;
	node_free(doc->root);
	free(doc);
}

const struct xml_node *
xml_root(const struct xml *doc)
{
	return (doc->root);
}

const char *
xml_name(const struct xml_node *n)
{
	return (n->name);
}

const char *
xml_text(const struct xml_node *n)
{
	return (n->text != NULL ? n->text : "");
}

size_t
xml_text_len(const struct xml_node *n)
{
	return (n->text_len);
}

const struct xml_node *
xml_parent(const struct xml_node *n)
{
	return (n->parent);
}

const struct xml_node *
xml_first_child(const struct xml_node *n)
{
	return (n->child);
}

const struct xml_node *
xml_next_sibling(const struct xml_node *n)
{
	return (n->next);
}

const struct xml_node *
xml_next(const struct xml_node *n)
{
	const struct xml_node *s;

	for (s = n->next; s != NULL; s = s->next) {
		if (strcmp(s->name, n->name) == 0)
			return (s);
	}
	return (NULL);
}

/* The first child whose name is the len bytes at name. */
static const struct xml_node *
child_named(const struct xml_node *n, const char *name, size_t len)
{
	const struct xml_node *c;

	for (c = n->child; c != NULL; c = c->next) {
		if (strncmp(c->name, name, len) == 0 && c->name[len] == '\0')
			return (c);
	}
	return (NULL);
}

const struct xml_node *
xml_find(const struct xml_node *n, const char *path)
{
	const char *end;
	size_t	    len;

	if (n == NULL || path == NULL)
		return (NULL);
	if (*path == '/') {
		while (n->parent != NULL)
			n = n->parent;
		path++;
		if (*path == '\0')
			return (n);
		end = strchr(path, '/');
		len = end != NULL ? (size_t)(end - path) : strlen(path);
		if (strncmp(n->name, path, len) != 0 || n->name[len] != '\0')
			return (NULL);
		path += len;
		if (*path == '/')
			path++;
	}
	while (*path != '\0' && n != NULL) {
		end = strchr(path, '/');
		len = end != NULL ? (size_t)(end - path) : strlen(path);
		n = child_named(n, path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return (n);
}

size_t
xml_count(const struct xml_node *n, const char *path)
{
	size_t count = 0;

	for (n = xml_find(n, path); n != NULL; n = xml_next(n))
		count++;
	return (count);
}

const char *
xml_find_text(const struct xml_node *n, const char *path)
{
	n = xml_find(n, path);
	return (n != NULL ? xml_text(n) : NULL);
}

int
xml_get_text(const struct xml_node *n, const char *path, const char **out,
    char **cause)
{
	const struct xml_node *e;

	e = xml_find(n, path);
	if (e == NULL) {
		if (cause != NULL)
			*cause = xasprintf("%s: missing", path);
		return (XML_ENOTFOUND);
	}
	*out = xml_text(e);
	return (0);
}

/* Text of the element at path without surrounding XML whitespace. */
static int
get_trimmed(const struct xml_node *n, const char *path, char **out,
    char **cause)
{
	const char *s, *end;
	int	    rc;

	if ((rc = xml_get_text(n, path, &s, cause)) != 0)
		return (rc);
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			      end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*out = xstrndup(s, (size_t)(end - s));
	return (0);
}

/* Quotes at most 64 bytes of a bad value for a message. */
static char *
bad_value(const char *path, const char *what, const char *value)
{
	return (xasprintf("%s: not %s: \"%.64s%s\"", path, what, value,
	    strlen(value) > 64 ? "..." : ""));
}

int
xml_get_int(const struct xml_node *n, const char *path, long long *out,
    char **cause)
{
	char *s;
	int   rc;

	if ((rc = get_trimmed(n, path, &s, cause)) != 0)
		return (rc);
	if ((rc = xml_parse_int(s, out)) != 0 && cause != NULL)
		*cause = bad_value(path, "an integer", s);
	free(s);
	return (rc);
}

int
xml_get_bool(const struct xml_node *n, const char *path, int *out, char **cause)
{
	char *s;
	int   rc;

	if ((rc = get_trimmed(n, path, &s, cause)) != 0)
		return (rc);
	if ((rc = xml_parse_bool(s, out)) != 0 && cause != NULL)
		*cause = bad_value(path, "a boolean", s);
	free(s);
	return (rc);
}

int
xml_get_time(const struct xml_node *n, const char *path, struct timespec *out,
    char **cause)
{
	char *s;
	int   rc;

	if ((rc = get_trimmed(n, path, &s, cause)) != 0)
		return (rc);
	if ((rc = xml_parse_time(s, out)) != 0 && cause != NULL)
		*cause = bad_value(path, "an ISO 8601 timestamp", s);
	free(s);
	return (rc);
}

int
xml_parse_int(const char *s, long long *out)
{
	const char *p = s;
	char	   *end;
	long long   v;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return (XML_EVALUE);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return (XML_EVALUE);
	*out = v;
	return (0);
}

int
xml_parse_bool(const char *s, int *out)
{
	if (strcmp(s, "true") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0)
		*out = 0;
	else
		return (XML_EVALUE);
	return (0);
}

/* Exactly n decimal digits. */
static int
digits(const char **sp, int n, int *out)
{
	const char *s = *sp;
	int	    v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return (0);
}

static int
leap_year(int y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_since_epoch(int y, int m, int d)
{
	static const int before[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243,
		273, 304, 334 };
	int64_t		 days;
	int		 yy;

	/* Whole years: 365 each, plus leap days up to the year before y. */
	yy = y - 1;
	days = (int64_t)365 * (y - 1970) + (yy / 4 - yy / 100 + yy / 400) -
	       (1969 / 4 - 1969 / 100 + 1969 / 400);
	days += before[m - 1] + (m > 2 && leap_year(y)) + (d - 1);
	return (days);
}

int
xml_parse_time(const char *s, struct timespec *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	int		 y, mo, d, h, mi, sec, oh, om, sign, n;
	long		 nsec = 0;
	int64_t		 t;

	if (digits(&s, 4, &y) != 0 || *s++ != '-' || digits(&s, 2, &mo) != 0 ||
	    *s++ != '-' || digits(&s, 2, &d) != 0 || (*s != 'T' && *s != 't'))
		return (XML_EVALUE);
	s++;
	if (digits(&s, 2, &h) != 0 || *s++ != ':' || digits(&s, 2, &mi) != 0 ||
	    *s++ != ':' || digits(&s, 2, &sec) != 0)
		return (XML_EVALUE);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap_year(y)) || h > 23 || mi > 59 ||
	    sec > 60)
		return (XML_EVALUE);
	if (*s == '.' || *s == ',') {
		s++;
		if (*s < '0' || *s > '9')
			return (XML_EVALUE);
		/* Nanoseconds are kept; further digits are dropped. */
		for (n = 0; *s >= '0' && *s <= '9'; s++, n++) {
			if (n < 9)
				nsec = nsec * 10 + (*s - '0');
		}
		for (; n < 9; n++)
			nsec *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		oh = om = 0;
		sign = 1;
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, 2, &oh) != 0)
			return (XML_EVALUE);
		if (*s == ':')
			s++;
		if (digits(&s, 2, &om) != 0 || oh > 23 || om > 59)
			return (XML_EVALUE);
	} else
		return (XML_EVALUE);
	if (*s != '\0')
		return (XML_EVALUE);

	/* A leap second (:60) is read as the first second after it. */
	t = days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	if ((time_t)t != t)
		return (XML_EVALUE);
	out->tv_sec = (time_t)t;
	out->tv_nsec = nsec;
	return (0);
}
