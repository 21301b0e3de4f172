/*
 * Bounded JSON reader, for AWS's JSON 1.0/1.1 (SQS, ECS, ECR) and
 * REST-JSON (SES v2) replies and for any other JSON from outside (the
 * release manifest, S3 event notifications).  jansson loads it under a size
 * limit and a nesting limit checked before jansson sees the bytes;
 * duplicate keys and NUL characters in strings are refused.
 *
 * Fields are read by path from the root, with printf-style indices:
 *
 *	json_str(doc, &state, "services[%zu].deployments[%zu].rolloutState",
 *	    i, j);
 *
 * The first failure is kept in the document as one message naming the
 * reply and the field ("ECS DescribeServices reply: services[0]
 * .deployments[1].rolloutState: expected a string"), so a caller may
 * read many fields and check json_error once.  JSON null counts as
 * absent.  Paths are keys separated by '.', each followed by any number
 * of [index]; keys cannot contain '.' or '['.
 *
 * Pure: no I/O, no clock, no logging.  Strings handed out live until
 * json_free.
 */
#ifndef SHIPGATE_JSON_H
#define SHIPGATE_JSON_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define JSON_EMALFORMED (-1) /* not JSON, truncated, duplicate key */
#define JSON_ELIMIT	(-2) /* over the size or depth limit */
#define JSON_EMISSING	(-3) /* a required field is absent */
#define JSON_ETYPE	(-4) /* a field has the wrong type */

struct json_limits {
	size_t	     max_size;	/* bytes of input */
	unsigned int max_depth; /* nested arrays and objects */
};

#define JSON_MAX_SIZE  (8 * 1024 * 1024)
#define JSON_MAX_DEPTH 64

struct json;

void json_limits_default(struct json_limits *);

/*
 * Loads a reply whose top level is an object or an array.  what names it
 * in every message ("ECS DescribeServices reply").  limits may be NULL.
 * On failure returns a negative JSON_E* and a cause the caller frees
 * ("ECS DescribeServices reply: line 1 column 9: unexpected newline").
 */
int  json_load(struct json **, const void *, size_t, const struct json_limits *,
     const char *what, char **cause);
void json_free(struct json *);

json_t *json_root(const struct json *);
/* The first error, or NULL while all went well. */
const char *json_error(const struct json *);
/* Records an error of the caller's own (a bad enum value...) if none yet. */
void json_fail(struct json *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Wipes a string the document handed out (a secret read from it), so
 * json_free does not give it back to malloc readable.
 */
void json_wipe_str(struct json *, const char *);

/* The value at the path, or NULL (absent, null, or a bad path): no error. */
json_t *json_get(struct json *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Required fields: 0 and the value, or a negative JSON_E* with the
 * error recorded.  Integers must be JSON integers; numbers may be either;
 * times are epoch seconds (a number, fractions to the microsecond) or an
 * ISO 8601 string.  json_arr gives the array's length.
 */
int json_str(struct json *, const char **, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_int(struct json *, long long *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_number(struct json *, double *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_bool(struct json *, int *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_time(struct json *, struct timespec *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_arr(struct json *, size_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_obj(struct json *, json_t **, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Optional fields: 1 and the value when present, 0 with the output left
 * alone when absent or null, a negative JSON_E* (recorded) when
 * present with the wrong type.  An absent array has length 0.
 */
int json_str_opt(struct json *, const char **, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_int_opt(struct json *, long long *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_number_opt(struct json *, double *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_bool_opt(struct json *, int *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_time_opt(struct json *, struct timespec *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_arr_opt(struct json *, size_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int json_obj_opt(struct json *, json_t **, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * 1 when the JSON text nests arrays and objects at most max deep
 * (counted outside strings), 0 otherwise: a check to make before a
 * recursive parser sees the bytes.
 */
int json_nesting_within(const char *, size_t, unsigned int max);

#endif
