/*
 * Bounded JSON reply reader for AWS's JSON 1.0/1.1 (SQS, ECS, ECR) and
 * REST-JSON (SES v2) protocols.  jansson loads the reply under a size
 * limit and a nesting limit checked before jansson sees the bytes;
 * duplicate keys and NUL characters in strings are refused.
 *
 * Fields are read by path from the root, with printf-style indices:
 *
 *	aws_json_str(doc, &state, "services[%zu].deployments[%zu].rolloutState",
 *	    i, j);
 *
 * The first failure is kept in the document as one message naming the
 * reply and the field ("ECS DescribeServices reply: services[0]
 * .deployments[1].rolloutState: expected a string"), so a caller may
 * read many fields and check aws_json_error once.  JSON null counts as
 * absent.  Paths are keys separated by '.', each followed by any number
 * of [index]; keys cannot contain '.' or '['.
 *
 * Pure: no I/O, no clock, no logging.  Strings handed out live until
 * aws_json_free.
 */
#ifndef SHIPGATE_AWS_JSON_H
#define SHIPGATE_AWS_JSON_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define AWS_JSON_EMALFORMED	(-1)	/* not JSON, truncated, duplicate key */
#define AWS_JSON_ELIMIT		(-2)	/* over the size or depth limit */
#define AWS_JSON_EMISSING	(-3)	/* a required field is absent */
#define AWS_JSON_ETYPE		(-4)	/* a field has the wrong type */

struct aws_json_limits {
	size_t		max_size;	/* bytes of input */
	unsigned int	max_depth;	/* nested arrays and objects */
};

#define AWS_JSON_MAX_SIZE	(8 * 1024 * 1024)
#define AWS_JSON_MAX_DEPTH	64

struct aws_json;

void	 aws_json_limits_default(struct aws_json_limits *);

/*
 * Loads a reply whose top level is an object or an array.  what names it
 * in every message ("ECS DescribeServices reply").  limits may be NULL.
 * On failure returns a negative AWS_JSON_E* and a cause the caller frees
 * ("ECS DescribeServices reply: line 1 column 9: unexpected newline").
 */
int	 aws_json_load(struct aws_json **, const void *, size_t,
	    const struct aws_json_limits *, const char *what, char **cause);
void	 aws_json_free(struct aws_json *);

json_t	*aws_json_root(const struct aws_json *);
/* The first error, or NULL while all went well. */
const char *aws_json_error(const struct aws_json *);
/* Records an error of the caller's own (a bad enum value...) if none yet. */
void	 aws_json_fail(struct aws_json *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* The value at the path, or NULL (absent, null, or a bad path): no error. */
json_t	*aws_json_get(struct aws_json *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Required fields: 0 and the value, or a negative AWS_JSON_E* with the
 * error recorded.  Integers must be JSON integers; numbers may be either;
 * times are epoch seconds (a number, fractions to the microsecond) or an
 * ISO 8601 string.  aws_json_array gives the array's length.
 */
int	 aws_json_str(struct aws_json *, const char **, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_int(struct aws_json *, long long *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_number(struct aws_json *, double *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_bool(struct aws_json *, int *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_time(struct aws_json *, struct timespec *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_array(struct aws_json *, size_t *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_object(struct aws_json *, json_t **, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Optional fields: 1 and the value when present, 0 with the output left
 * alone when absent or null, a negative AWS_JSON_E* (recorded) when
 * present with the wrong type.  An absent array has length 0.
 */
int	 aws_json_str_opt(struct aws_json *, const char **, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_int_opt(struct aws_json *, long long *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_number_opt(struct aws_json *, double *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_bool_opt(struct aws_json *, int *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_time_opt(struct aws_json *, struct timespec *, const char *,
	    ...) __attribute__((format(printf, 3, 4)));
int	 aws_json_array_opt(struct aws_json *, size_t *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 aws_json_object_opt(struct aws_json *, json_t **, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * 1 when the JSON text nests arrays and objects at most max deep
 * (counted outside strings), 0 otherwise: a check to make before a
 * recursive parser sees the bytes.
 */
int	 aws_json_nesting_within(const char *, size_t, unsigned int max);

#endif
