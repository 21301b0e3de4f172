/*
 * Bounded XML reply parser for AWS's REST-XML (S3) and query (STS,
 * CloudFormation) protocols: expat reads the whole reply into a small
 * read-only tree of elements, refusing anything past hard limits and any
 * DOCTYPE (so no DTD, no entity expansion, no external entities).
 * Element names are local names: the namespace AWS puts on every reply
 * (xmlns="https://...doc/2010-05-15/") is dropped.  Attributes, comments
 * and processing instructions are ignored.
 *
 * Pure: no I/O, no clock, no logging.  The tree owns all its strings;
 * every pointer handed out lives until aws_xml_free.
 */
#ifndef SHIPGATE_AWS_XML_H
#define SHIPGATE_AWS_XML_H

#include <stddef.h>
#include <time.h>

#define AWS_XML_EMALFORMED	(-1)	/* not well-formed, truncated, DOCTYPE */
#define AWS_XML_ELIMIT		(-2)	/* a limit below was exceeded */
#define AWS_XML_ENOTFOUND	(-3)	/* no element at the path */
#define AWS_XML_EVALUE		(-4)	/* text is not the type asked for */

struct aws_xml_limits {
	size_t		max_size;	/* bytes of input */
	unsigned int	max_depth;	/* element nesting; the root is 1 */
	size_t		max_elements;	/* elements in the document */
	size_t		max_text;	/* bytes of text inside one element */
};

/* 8 MiB, depth 32, 200000 elements, 2 MiB of text per element. */
#define AWS_XML_MAX_SIZE	(8 * 1024 * 1024)
#define AWS_XML_MAX_DEPTH	32
#define AWS_XML_MAX_ELEMENTS	200000
#define AWS_XML_MAX_TEXT	(2 * 1024 * 1024)

struct aws_xml;			/* a parsed reply */
struct aws_xml_node;		/* one element of it */

void	 aws_xml_limits_default(struct aws_xml_limits *);

/*
 * Parses len bytes (NUL bytes and all: the length is what counts).
 * limits may be NULL for the defaults.  On failure returns a negative
 * AWS_XML_E* and, if cause is not NULL, a message the caller frees
 * ("line 3 column 7: mismatched tag", "DOCTYPE is not allowed").
 */
int	 aws_xml_parse(struct aws_xml **, const void *, size_t,
	    const struct aws_xml_limits *, char **cause);
void	 aws_xml_free(struct aws_xml *);

/* The document element. */
const struct aws_xml_node *aws_xml_root(const struct aws_xml *);

const char *aws_xml_name(const struct aws_xml_node *);
/*
 * The character data directly inside the element, untrimmed (S3 keys may
 * begin or end with spaces), "" when there is none.  Whitespace between
 * child elements is not kept.
 */
const char *aws_xml_text(const struct aws_xml_node *);
size_t	 aws_xml_text_len(const struct aws_xml_node *);
const struct aws_xml_node *aws_xml_parent(const struct aws_xml_node *);
/* Children in document order, whatever their name; NULL at the end. */
const struct aws_xml_node *aws_xml_first_child(const struct aws_xml_node *);
const struct aws_xml_node *aws_xml_next_sibling(const struct aws_xml_node *);
/* The next sibling with the same name: iterates "Changes/member". */
const struct aws_xml_node *aws_xml_next(const struct aws_xml_node *);

/*
 * Paths are local names separated by '/', relative to the node given:
 * "DescribeChangeSetResult/Changes/member" is the first <member> of the
 * first <Changes> of the first <DescribeChangeSetResult> child.  A leading
 * '/' starts at the document element itself ("/ErrorResponse/Error/Code",
 * "/" alone); "" is the node itself.  NULL when nothing matches.
 */
const struct aws_xml_node *aws_xml_find(const struct aws_xml_node *,
	    const char *path);
/* How many siblings share the name of the element the path finds. */
size_t	 aws_xml_count(const struct aws_xml_node *, const char *path);
/* aws_xml_text of the element at the path, or NULL when absent. */
const char *aws_xml_find_text(const struct aws_xml_node *, const char *path);

/*
 * Typed lookups: 0 and the value, or a negative AWS_XML_E* and a cause
 * naming the path ("DescribeChangeSetResult/Status: missing",
 * "MaxKeys: not an integer: \"x\"").  Numbers, booleans and timestamps
 * may have XML whitespace around them; text is returned as is.
 */
int	 aws_xml_get_text(const struct aws_xml_node *, const char *path,
	    const char **, char **cause);
int	 aws_xml_get_int(const struct aws_xml_node *, const char *path,
	    long long *, char **cause);
int	 aws_xml_get_bool(const struct aws_xml_node *, const char *path,
	    int *, char **cause);
int	 aws_xml_get_time(const struct aws_xml_node *, const char *path,
	    struct timespec *, char **cause);

/*
 * The conversions on their own, for text from elsewhere (JSON replies,
 * headers).  Integers are decimal with an optional '-' and no spaces;
 * booleans are "true" or "false"; timestamps are ISO 8601 / RFC 3339,
 * "2019-10-02T05:20:56.651Z", with any number of fraction digits
 * (nanoseconds kept) and 'Z' or a "+hh:mm" offset.  0 or AWS_XML_EVALUE.
 */
int	 aws_xml_parse_int(const char *, long long *);
int	 aws_xml_parse_bool(const char *, int *);
int	 aws_xml_parse_time(const char *, struct timespec *);

#endif
