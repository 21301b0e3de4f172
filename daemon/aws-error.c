/*
 * AWS error replies: where each protocol keeps the code, message and
 * request id, and which codes the SDKs' standard retry mode retries
 * (the lists of botocore's retries/standard.py and the JS SDK's
 * service-error-classification).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws-error.h"
#include "json.h"
#include "xmalloc.h"
#include "xml.h"

/* Error replies are small; anything bigger is not one worth reading. */
#define ERROR_BODY_MAX (256 * 1024)
#define CODE_MAX       128
#define MESSAGE_MAX    1024
#define REQUEST_ID_MAX 128

static const char *const throttling_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
};

static const char *const transient_codes[] = {
	"RequestTimeout",
	"RequestTimeoutException",
	"InternalError",
};

/* Always a clock problem. */
static const char *const clock_codes[] = {
	"RequestTimeTooSkewed",
	"RequestExpired",
	"RequestInTheFuture",
};

/*
 * Signature failures that are a clock problem only sometimes: when the
 * server's Date shows our clock is off, or the message says the time was
 * wrong ("Signature expired: 20240101T000000Z is now earlier than ...").
 */
static const char *const maybe_clock_codes[] = {
	"InvalidSignatureException",
	"AuthFailure",
};

/* Blamed on the clock only when the message says so. */
static const char *const message_clock_codes[] = {
	"SignatureDoesNotMatch",
};

static const char *const time_phrases[] = {
	"signature expired",
	"not yet current",
	"expired",
	"skew",
	"request time",
	"timestamp",
	"clock",
};

#define nitems(a) (sizeof(a) / sizeof(a)[0])

static int
in_list(const char *code, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(code, list[i]) == 0)
			return (1);
	}
	return (0);
}

static int
mentions_time(const char *message)
{
	size_t i;

	if (message == NULL)
		return (0);
	for (i = 0; i < nitems(time_phrases); i++) {
		if (strcasestr(message, time_phrases[i]) != NULL)
			return (1);
	}
	return (0);
}

enum aws_retry_kind
aws_error_classify(int status, const char *code, const char *message,
    int skewed)
{
	if (code != NULL) {
		if (in_list(code, throttling_codes, nitems(throttling_codes)))
			return (AWS_RETRY_THROTTLING);
		if (in_list(code, clock_codes, nitems(clock_codes)))
			return (AWS_RETRY_CLOCK_SKEW);
		if (in_list(code, maybe_clock_codes,
			nitems(maybe_clock_codes)) &&
		    (skewed || mentions_time(message)))
			return (AWS_RETRY_CLOCK_SKEW);
		if (in_list(code, message_clock_codes,
			nitems(message_clock_codes)) &&
		    mentions_time(message))
			return (AWS_RETRY_CLOCK_SKEW);
		if (in_list(code, transient_codes, nitems(transient_codes)))
			return (AWS_RETRY_TRANSIENT);
	}
	switch (status) {
	case 429:
		return (AWS_RETRY_THROTTLING);
	case 500:
	case 502:
	case 503:
	case 504:
		return (AWS_RETRY_TRANSIENT);
	}
	return (AWS_RETRY_NONE);
}

const char *
aws_retry_kind_name(enum aws_retry_kind kind)
{
	switch (kind) {
	case AWS_RETRY_NONE:
		return ("none");
	case AWS_RETRY_THROTTLING:
		return ("throttling");
	case AWS_RETRY_TRANSIENT:
		return ("transient");
	case AWS_RETRY_CLOCK_SKEW:
		return ("clock-skew");
	}
	return ("unknown");
}

/*
 * A copy of len bytes of s fit for a log line: trimmed, control bytes
 * (and, when ascii, anything outside printable ASCII) replaced, at most
 * max bytes, never cutting a UTF-8 sequence.
 */
static char *
clean(const char *s, size_t len, size_t max, int ascii)
{
	char	     *out;
	size_t	      i;
	unsigned char c;

	while (
	    len > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			      s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	out = xstrndup(s, len);
	for (i = 0; out[i] != '\0'; i++) {
		c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f)
			out[i] = ' ';
		else if (ascii && c > 0x7e)
			out[i] = '?';
	}
	return (out);
}

static char *
clean_str(const char *s, size_t max, int ascii)
{
	return (clean(s, strlen(s), max, ascii));
}

/*
 * An error code as JSON services send it: "ValidationException:http://..."
 * in the header, "com.amazonaws.ecs#ClusterNotFoundException" in __type.
 * NULL when nothing is left.
 */
static char *
json_code(const char *s)
{
	const char *hash;
	char	   *code;
	size_t	    len;

	len = strcspn(s, ":");
	hash = memrchr(s, '#', len);
	if (hash != NULL) {
		len -= (size_t)(hash + 1 - s);
		s = hash + 1;
	}
	code = clean(s, len, CODE_MAX, 1);
	if (*code == '\0') {
		free(code);
		return (NULL);
	}
	return (code);
}

static void
set_unreadable(struct aws_error *err, const char *kind, char *cause)
{
	char *msg;

	/* Parser messages quote the reply: clean them like the rest. */
	msg = xasprintf("unreadable error reply: %s%s", kind, cause);
	free(err->message);
	err->message = clean_str(msg, MESSAGE_MAX, 0);
	free(msg);
	free(cause);
}

static void
parse_xml(struct aws_error *err, const struct aws_error_reply *r)
{
	struct xml_limits      limits;
	struct xml	      *doc = NULL;
	const struct xml_node *root, *e;
	const char	      *s;
	char		      *cause = NULL, *code;

	xml_limits_default(&limits);
	limits.max_size = ERROR_BODY_MAX;
	limits.max_depth = 8;
	limits.max_elements = 256;
	limits.max_text = MESSAGE_MAX * 4;
	if (xml_parse(&doc, r->body, r->body_len, &limits, &cause) != 0) {
		set_unreadable(err, "XML body: ", cause);
		return;
	}
	root = xml_root(doc);
	/* S3: <Error>; query: <ErrorResponse><Error>; EC2: <Errors><Error>. */
	if (strcmp(xml_name(root), "Error") == 0)
		e = root;
	else if ((e = xml_find(root, "Error")) == NULL)
		e = xml_find(root, "Errors/Error");
	if (e != NULL && (s = xml_find_text(e, "Code")) != NULL) {
		/* A code of blanks only is no code: the status stands in. */
		code = clean_str(s, CODE_MAX, 1);
		if (*code != '\0') {
			free(err->code);
			err->code = code;
		} else
			free(code);
	}
	if (e != NULL && (s = xml_find_text(e, "Message")) != NULL) {
		free(err->message);
		err->message = clean_str(s, MESSAGE_MAX, 0);
	}
	if ((e != NULL && (s = xml_find_text(e, "RequestId")) != NULL) ||
	    (s = xml_find_text(root, "RequestId")) != NULL ||
	    (s = xml_find_text(root, "RequestID")) != NULL) {
		free(err->request_id);
		err->request_id = clean_str(s, REQUEST_ID_MAX, 1);
	}
	if (e == NULL) {
		free(err->message);
		err->message = xasprintf("error reply without an error: "
					 "<%.64s>",
		    xml_name(root));
	}
	xml_free(doc);
}

static void
parse_json(struct aws_error *err, const struct aws_error_reply *r,
    int have_code)
{
	struct json_limits limits;
	struct json	  *doc = NULL;
	const char	  *s = NULL;
	char		  *cause = NULL, *code;

	limits.max_size = ERROR_BODY_MAX;
	limits.max_depth = 16;
	if (json_load(&doc, r->body, r->body_len, &limits, "JSON body",
		&cause) != 0) {
		set_unreadable(err, "", cause);
		return;
	}
	if (!json_is_object(json_root(doc)))
		goto out;
	if (!have_code &&
	    (json_str_opt(doc, &s, "__type") == 1 ||
		json_str_opt(doc, &s, "code") == 1 ||
		json_str_opt(doc, &s, "Code") == 1) &&
	    (code = json_code(s)) != NULL) {
		free(err->code);
		err->code = code;
	}
	if (json_str_opt(doc, &s, "message") == 1 ||
	    json_str_opt(doc, &s, "Message") == 1) {
		free(err->message);
		err->message = clean_str(s, MESSAGE_MAX, 0);
	}
out:
	json_free(doc);
}

void
aws_error_parse(struct aws_error *err, const struct aws_error_reply *r)
{
	char  *code;
	size_t len;
	int    skewed = 0, have_code = 0;

	memset(err, 0, sizeof *err);
	err->status = r->status;
	err->code = xasprintf("%d", r->status);
	err->message = xstrdup("");
	if (r->request_id != NULL && *r->request_id != '\0')
		err->request_id = clean_str(r->request_id, REQUEST_ID_MAX, 1);
	if (r->server_date != 0 && r->now != 0) {
		err->skew = r->server_date - r->now;
		skewed = err->skew > AWS_ERROR_SKEW_SECONDS ||
			 err->skew < -AWS_ERROR_SKEW_SECONDS;
	}

	switch (r->protocol) {
	case AWS_PROTOCOL_REST_XML:
	case AWS_PROTOCOL_QUERY:
		if (r->body_len > 0)
			parse_xml(err, r);
		break;
	case AWS_PROTOCOL_JSON:
	case AWS_PROTOCOL_REST_JSON:
		if (r->error_type != NULL &&
		    (code = json_code(r->error_type)) != NULL) {
			free(err->code);
			err->code = code;
			have_code = 1;
		}
		if (r->body_len > 0)
			parse_json(err, r, have_code);
		/* SQS's JSON protocol also sends its old query-style code. */
		if (r->query_error != NULL &&
		    (len = strcspn(r->query_error, ";")) > 0) {
			code = clean(r->query_error, len, CODE_MAX, 1);
			if (*code != '\0') {
				free(err->code);
				err->code = code;
			} else
				free(code);
		}
		break;
	}
	err->retry = aws_error_classify(err->status, err->code, err->message,
	    skewed);
}

void
aws_error_clear(struct aws_error *err)
{
	free(err->code);
	free(err->message);
	free(err->request_id);
	memset(err, 0, sizeof *err);
}

char *
aws_error_describe(const struct aws_error *err)
{
	return (xasprintf("%s%s%s (HTTP %d%s%s)", err->code,
	    err->message[0] != '\0' ? ": " : "", err->message, err->status,
	    err->request_id != NULL ? ", request id " : "",
	    err->request_id != NULL ? err->request_id : ""));
}
