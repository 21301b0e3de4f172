/*
 * Bounded XML parser, for AWS's REST-XML (S3) and query (STS,
 * CloudFormation) replies and any other XML from outside: expat reads the
 * whole document into a small read-only tree of elements, refusing
 * anything past hard limits and any DOCTYPE (so no DTD, no entity
 * expansion, no external entities).
 * Element names are local names: the namespace AWS puts on every reply
 * (xmlns="https://...doc/2010-05-15/") is dropped.  Attributes, comments
 * and processing instructions are ignored.
 *
 * Pure: no I/O, no clock, no logging.  The tree owns all its strings;
 * every pointer handed out lives until xml_free.
 */
#ifndef SHIPGATE_XML_H
#define SHIPGATE_XML_H

#include <stddef.h>
#include <time.h>

#define XML_EMALFORMED (-1) /* not well-formed, truncated, DOCTYPE */
#define XML_ELIMIT     (-2) /* a limit below was exceeded */
#define XML_ENOTFOUND  (-3) /* no element at the path */
#define XML_EVALUE     (-4) /* text is not the type asked for */

struct xml_limits {
	size_t	     max_size;	   /* bytes of input */
	unsigned int max_depth;	   /* element nesting; the root is 1 */
	size_t	     max_elements; /* elements in the document */
	size_t	     max_text;	   /* bytes of text inside one element */
};

/* 8 MiB, depth 32, 200000 elements, 2 MiB of text per element. */
#define XML_MAX_SIZE	 (8 * 1024 * 1024)
#define XML_MAX_DEPTH	 32
#define XML_MAX_ELEMENTS 200000
#define XML_MAX_TEXT	 (2 * 1024 * 1024)

struct xml;	 /* a parsed reply */
struct xml_node; /* one element of it */

void xml_limits_default(struct xml_limits *);

/*
 * Parses len bytes (NUL bytes and all: the length is what counts).
 * limits may be NULL for the defaults.  On failure returns a negative
 * XML_E* and, if cause is not NULL, a message the caller frees
 * ("line 3 column 7: mismatched tag", "DOCTYPE is not allowed").
 */
int  xml_parse(struct xml **, const void *, size_t, const struct xml_limits *,
     char **cause);
void xml_free(struct xml *);

/* The document element. */
const struct xml_node *xml_root(const struct xml *);

const char *xml_name(const struct xml_node *);
/*
 * The character data directly inside the element, untrimmed (S3 keys may
 * begin or end with spaces), "" when there is none.  Whitespace between
 * child elements is not kept.
 */
const char	      *xml_text(const struct xml_node *);
size_t		       xml_text_len(const struct xml_node *);
const struct xml_node *xml_parent(const struct xml_node *);
/* Children in document order, whatever their name; NULL at the end. */
const struct xml_node *xml_first_child(const struct xml_node *);
const struct xml_node *xml_next_sibling(const struct xml_node *);
/* The next sibling with the same name: iterates "Changes/member". */
const struct xml_node *xml_next(const struct xml_node *);

/*
 * Paths are local names separated by '/', relative to the node given:
 * "DescribeChangeSetResult/Changes/member" is the first <member> of the
 * first <Changes> of the first <DescribeChangeSetResult> child.  A leading
 * '/' starts at the document element itself ("/ErrorResponse/Error/Code",
 * "/" alone); "" is the node itself.  NULL when nothing matches.
 */
const struct xml_node *xml_find(const struct xml_node *, const char *path);
/* How many siblings share the name of the element the path finds. */
size_t xml_count(const struct xml_node *, const char *path);
/* xml_text of the element at the path, or NULL when absent. */
const char *xml_find_text(const struct xml_node *, const char *path);

/*
 * Typed lookups: 0 and the value, or a negative XML_E* and a cause
 * naming the path ("DescribeChangeSetResult/Status: missing",
 * "MaxKeys: not an integer: \"x\"").  Numbers, booleans and timestamps
 * may have XML whitespace around them; text is returned as is.
 */
int xml_get_text(const struct xml_node *, const char *path, const char **,
    char **cause);
int xml_get_int(const struct xml_node *, const char *path, long long *,
    char **cause);
int xml_get_bool(const struct xml_node *, const char *path, int *,
    char **cause);
int xml_get_time(const struct xml_node *, const char *path, struct timespec *,
    char **cause);

/*
 * The conversions on their own, for text from elsewhere (JSON replies,
 * headers).  Integers are decimal with an optional '-' and no spaces;
 * booleans are "true" or "false"; timestamps are ISO 8601 / RFC 3339,
 * "2019-10-02T05:20:56.651Z", with any number of fraction digits
 * (nanoseconds kept) and 'Z' or a "+hh:mm" offset.  0 or XML_EVALUE.
 */
int xml_parse_int(const char *, long long *);
int xml_parse_bool(const char *, int *);
int xml_parse_time(const char *, struct timespec *);

#endif
