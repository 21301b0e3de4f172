/*
 * libFuzzer target for AWS error classification.  Input: one byte of
 * protocol and status, then "x-amzn-ErrorType\nx-amzn-query-error\n
 * request id\n" and the body.  Whatever comes in, the error must have a
 * code, a message, and no control characters or oversized text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws-error.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int statuses[] = {
	400,
	403,
	404,
	429,
	500,
	502,
	503,
	504,
	301,
	409,
	200,
	0,
	413,
	501,
	509,
	999,
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_clean(const char *s, size_t max)
{
	const unsigned char *p;

	check(strlen(s) <= max);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		check(*p >= 0x20 && *p != 0x7f);
}

/* The next '\n'-terminated field as a string, or NULL when absent. */
static char *
field(const uint8_t **data, size_t *size)
{
	const uint8_t *nl;
	char	      *s;
	size_t	       len;

	if ((nl = memchr(*data, '\n', *size)) == NULL)
		return (NULL);
	len = (size_t)(nl - *data);
	if (len == 0) {
		*data = nl + 1;
		*size -= 1;
		return (NULL);
	}
	s = malloc(len + 1);
	memcpy(s, *data, len);
	s[len] = '\0';
	*size -= len + 1;
	*data = nl + 1;
	return (s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_error_reply r;
	struct aws_error       err;
	char		      *type, *query, *id, *s;

	if (size < 1)
		return (0);
	memset(&r, 0, sizeof r);
	r.protocol = (enum aws_protocol)(data[0] & 3);
	r.status = statuses[(data[0] >> 2) & 15];
	r.server_date = (data[0] & 0x40) ?
			    1700000000 + (data[0] & 0x80 ? 3600 : 60) :
			    0;
	r.now = 1700000000;
	data++;
	size--;
	type = field(&data, &size);
	query = field(&data, &size);
	id = field(&data, &size);
	r.error_type = type;
	r.query_error = query;
	r.request_id = id;
	r.body = data;
	r.body_len = size;

	aws_error_parse(&err, &r);
	check(err.status == r.status);
	check(err.code != NULL && err.code[0] != '\0');
	check(err.message != NULL);
	check_clean(err.code, 128);
	check_clean(err.message, 1024);
	if (err.request_id != NULL)
		check_clean(err.request_id, 128);
	check(err.retry == aws_error_classify(err.status, err.code, err.message,
			       err.skew > AWS_ERROR_SKEW_SECONDS ||
				   err.skew < -AWS_ERROR_SKEW_SECONDS));
	check(strcmp(aws_retry_kind_name(err.retry), "unknown") != 0);
	s = aws_error_describe(&err);
	check(s != NULL && strstr(s, err.code) == s);
	free(s);
	aws_error_clear(&err);
	free(type);
	free(query);
	free(id);
	return (0);
}
