/*
 * AWS error replies in each protocol: code, message, request id and the
 * retry decision, for real-shaped replies and for broken ones.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-error.h"
#include "tap.h"

#define NOW 1700000000

static const struct {
	const char	   *name;
	enum aws_protocol   protocol;
	int		    status;
	const char	   *error_type;	 /* header */
	const char	   *query_error; /* header */
	const char	   *request_id;	 /* header */
	time_t		    server_date;
	const char	   *body;
	const char	   *code;
	const char	   *message; /* NULL: starts "unreadable" */
	const char	   *want_request_id;
	enum aws_retry_kind retry;
} replies[] = {
	/* S3, REST-XML */
	{ "S3 NoSuchKey", AWS_PROTOCOL_REST_XML, 404, NULL, NULL, "HDR-ID", 0,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey"
	    "</Code><Message>The specified key does not exist.</Message><Key>"
	    "billing/1.4.0.zip</Key><RequestId>4442587FB7D0A2F9</RequestId>"
	    "<HostId>tzt5yyZ+tGY=</HostId></Error>",
	    "NoSuchKey", "The specified key does not exist.",
	    "4442587FB7D0A2F9", AWS_RETRY_NONE },
	{ "S3 SlowDown", AWS_PROTOCOL_REST_XML, 503, NULL, NULL, NULL, 0,
	    "<Error><Code>SlowDown</Code><Message>Please reduce your request "
	    "rate.</Message><RequestId>R1</RequestId></Error>",
	    "SlowDown", "Please reduce your request rate.", "R1",
	    AWS_RETRY_THROTTLING },
	{ "S3 InternalError", AWS_PROTOCOL_REST_XML, 500, NULL, NULL, NULL, 0,
	    "<Error><Code>InternalError</Code><Message>We encountered an "
	    "internal error. Please try again.</Message></Error>",
	    "InternalError",
	    "We encountered an internal error. Please try "
	    "again.",
	    NULL, AWS_RETRY_TRANSIENT },
	{ "S3 RequestTimeout", AWS_PROTOCOL_REST_XML, 400, NULL, NULL, NULL, 0,
	    "<Error><Code>RequestTimeout</Code><Message>Your socket connection "
	    "to the server was not read from or written to within the timeout "
	    "period.</Message></Error>",
	    "RequestTimeout",
	    "Your socket connection to the server was not "
	    "read from or written to within the timeout period.",
	    NULL, AWS_RETRY_TRANSIENT },
	{ "S3 RequestTimeTooSkewed", AWS_PROTOCOL_REST_XML, 403, NULL, NULL,
	    NULL, NOW + 3600,
	    "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference "
	    "between the request time and the current time is too large."
	    "</Message><RequestTime>20231114T221320Z</RequestTime><ServerTime>"
	    "2023-11-14T23:13:20Z</ServerTime></Error>",
	    "RequestTimeTooSkewed",
	    "The difference between the request time "
	    "and the current time is too large.",
	    NULL, AWS_RETRY_CLOCK_SKEW },
	{ "S3 SignatureDoesNotMatch (a bad key)", AWS_PROTOCOL_REST_XML, 403,
	    NULL, NULL, NULL, NOW + 600,
	    "<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
	    "signature we calculated does not match the signature you provided. "
	    "Check your key and signing method.</Message></Error>",
	    "SignatureDoesNotMatch",
	    "The request signature we calculated does "
	    "not match the signature you provided. Check your key and signing "
	    "method.",
	    NULL, AWS_RETRY_NONE },
	{ "S3 HEAD 404 without a body", AWS_PROTOCOL_REST_XML, 404, NULL, NULL,
	    "4442587FB7D0A2F9", 0, "", "404", "", "4442587FB7D0A2F9",
	    AWS_RETRY_NONE },
	{ "S3 HEAD 503 without a body", AWS_PROTOCOL_REST_XML, 503, NULL, NULL,
	    NULL, 0, "", "503", "", NULL, AWS_RETRY_TRANSIENT },
	{ "S3 behind a proxy: HTML 502", AWS_PROTOCOL_REST_XML, 502, NULL, NULL,
	    NULL, 0, "<html><body><h1>502 Bad Gateway</h1><hr></body>", "502",
	    NULL, NULL, AWS_RETRY_TRANSIENT },
	{ "S3 PermanentRedirect", AWS_PROTOCOL_REST_XML, 301, NULL, NULL, NULL,
	    0,
	    "<Error><Code>PermanentRedirect</Code><Message>The bucket you "
	    "are attempting to access must be addressed using the specified "
	    "endpoint.</Message><Endpoint>releases.s3.eu-west-1.amazonaws.com"
	    "</Endpoint><Bucket>releases</Bucket></Error>",
	    "PermanentRedirect",
	    "The bucket you are attempting to access must "
	    "be addressed using the specified endpoint.",
	    NULL, AWS_RETRY_NONE },

	/* STS and CloudFormation, query protocol */
	{ "STS AccessDenied", AWS_PROTOCOL_QUERY, 403, NULL, NULL, NULL, 0,
	    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	    "  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n"
	    "    <Message>User: arn:aws:iam::123456789012:user/ops is not "
	    "authorized to perform: sts:AssumeRole on resource: arn:aws:iam::"
	    "210987654321:role/shipgate</Message>\n  </Error>\n"
	    "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
	    "</ErrorResponse>\n",
	    "AccessDenied",
	    "User: arn:aws:iam::123456789012:user/ops is not "
	    "authorized to perform: sts:AssumeRole on resource: arn:aws:iam::"
	    "210987654321:role/shipgate",
	    "c6104cbe-af31-11e0-8154-cbc7ccf896c7", AWS_RETRY_NONE },
	{ "CloudFormation Throttling", AWS_PROTOCOL_QUERY, 400, NULL, NULL,
	    NULL, 0,
	    "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/"
	    "2010-05-15/\"><Error><Type>Sender</Type><Code>Throttling</Code>"
	    "<Message>Rate exceeded</Message></Error><RequestId>a1</RequestId>"
	    "</ErrorResponse>",
	    "Throttling", "Rate exceeded", "a1", AWS_RETRY_THROTTLING },
	{ "CloudFormation ValidationError", AWS_PROTOCOL_QUERY, 400, NULL, NULL,
	    NULL, 0,
	    "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError"
	    "</Code><Message>Stack with id billing-stg does not exist</Message>"
	    "</Error><RequestId>a2</RequestId></ErrorResponse>",
	    "ValidationError", "Stack with id billing-stg does not exist", "a2",
	    AWS_RETRY_NONE },
	{ "CloudFormation LimitExceededException", AWS_PROTOCOL_QUERY, 400,
	    NULL, NULL, NULL, 0,
	    "<ErrorResponse><Error><Type>Sender</Type><Code>"
	    "LimitExceededException</Code><Message>Limit exceeded</Message>"
	    "</Error></ErrorResponse>",
	    "LimitExceededException", "Limit exceeded", NULL,
	    AWS_RETRY_THROTTLING },
	{ "STS signature expired", AWS_PROTOCOL_QUERY, 403, NULL, NULL, NULL, 0,
	    "<ErrorResponse><Error><Type>Sender</Type><Code>"
	    "SignatureDoesNotMatch</Code><Message>Signature expired: "
	    "20231114T220000Z is now earlier than 20231114T221320Z "
	    "(20231114T222820Z - 15 min.)</Message></Error></ErrorResponse>",
	    "SignatureDoesNotMatch",
	    "Signature expired: 20231114T220000Z is now "
	    "earlier than 20231114T221320Z (20231114T222820Z - 15 min.)",
	    NULL, AWS_RETRY_CLOCK_SKEW },
	{ "STS ExpiredToken", AWS_PROTOCOL_QUERY, 400, NULL, NULL, NULL, 0,
	    "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
	    "<Message>The security token included in the request is expired"
	    "</Message></Error></ErrorResponse>",
	    "ExpiredToken",
	    "The security token included in the request is "
	    "expired",
	    NULL, AWS_RETRY_NONE },
	{ "EC2-style Errors/Error", AWS_PROTOCOL_QUERY, 503, NULL, NULL, NULL,
	    0,
	    "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>"
	    "Request limit exceeded.</Message></Error></Errors><RequestID>e1"
	    "</RequestID></Response>",
	    "RequestLimitExceeded", "Request limit exceeded.", "e1",
	    AWS_RETRY_THROTTLING },
	{ "query reply without an Error", AWS_PROTOCOL_QUERY, 400, NULL, NULL,
	    NULL, 0, "<Nothing/>", "400",
	    "error reply without an error: "
	    "<Nothing>",
	    NULL, AWS_RETRY_NONE },
	{ "query error truncated", AWS_PROTOCOL_QUERY, 400, NULL, NULL, NULL, 0,
	    "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Co",
	    "400", NULL, NULL, AWS_RETRY_NONE },

	/* ECS, ECR, SQS: JSON 1.0/1.1 */
	{ "ECS ClusterNotFoundException", AWS_PROTOCOL_JSON, 400, NULL, NULL,
	    "ecs-req-1", 0,
	    "{\"__type\":\"ClusterNotFoundException\",\"message\":\"Cluster not "
	    "found.\"}",
	    "ClusterNotFoundException", "Cluster not found.", "ecs-req-1",
	    AWS_RETRY_NONE },
	{ "ECR ThrottlingException with a prefix", AWS_PROTOCOL_JSON, 400, NULL,
	    NULL, NULL, 0,
	    "{\"__type\":\"com.amazonaws.ecr#ThrottlingException\",\"message\":"
	    "\"Rate exceeded\"}",
	    "ThrottlingException", "Rate exceeded", NULL,
	    AWS_RETRY_THROTTLING },
	{ "JSON header wins over __type", AWS_PROTOCOL_JSON, 400,
	    "ValidationException:http://internal.amazon.com/coral/"
	    "com.amazon.coral.validate/",
	    NULL, NULL, 0,
	    "{\"__type\":\"com.amazon.coral.validate#OtherException\","
	    "\"Message\":\"1 validation error detected\"}",
	    "ValidationException", "1 validation error detected", NULL,
	    AWS_RETRY_NONE },
	{ "JSON InvalidSignatureException, clocks agree", AWS_PROTOCOL_JSON,
	    400, NULL, NULL, NULL, NOW + 30,
	    "{\"__type\":\"InvalidSignatureException\",\"message\":\"The request "
	    "signature we calculated does not match the signature you "
	    "provided.\"}",
	    "InvalidSignatureException",
	    "The request signature we calculated "
	    "does not match the signature you provided.",
	    NULL, AWS_RETRY_NONE },
	{ "JSON InvalidSignatureException, clock off", AWS_PROTOCOL_JSON, 400,
	    NULL, NULL, NULL, NOW - 1200,
	    "{\"__type\":\"InvalidSignatureException\",\"message\":\"The request "
	    "signature we calculated does not match the signature you "
	    "provided.\"}",
	    "InvalidSignatureException",
	    "The request signature we calculated "
	    "does not match the signature you provided.",
	    NULL, AWS_RETRY_CLOCK_SKEW },
	{ "JSON InvalidSignatureException, expired", AWS_PROTOCOL_JSON, 400,
	    NULL, NULL, NULL, 0,
	    "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature "
	    "expired: 20231114T220000Z is now earlier than 20231114T221320Z\"}",
	    "InvalidSignatureException",
	    "Signature expired: 20231114T220000Z is "
	    "now earlier than 20231114T221320Z",
	    NULL, AWS_RETRY_CLOCK_SKEW },
	{ "SQS query-compatible code", AWS_PROTOCOL_JSON, 400, NULL,
	    "AWS.SimpleQueueService.NonExistentQueue;Sender", NULL, 0,
	    "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":"
	    "\"The specified queue does not exist.\"}",
	    "AWS.SimpleQueueService.NonExistentQueue",
	    "The specified queue "
	    "does not exist.",
	    NULL, AWS_RETRY_NONE },
	{ "JSON InternalFailure 500", AWS_PROTOCOL_JSON, 500, NULL, NULL, NULL,
	    0, "{\"__type\":\"InternalFailure\"}", "InternalFailure", "", NULL,
	    AWS_RETRY_TRANSIENT },
	{ "JSON ProvisionedThroughputExceededException", AWS_PROTOCOL_JSON, 400,
	    NULL, NULL, NULL, 0,
	    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
	    "ProvisionedThroughputExceededException\",\"message\":\"x\"}",
	    "ProvisionedThroughputExceededException", "x", NULL,
	    AWS_RETRY_THROTTLING },
	{ "JSON code under \"code\"", AWS_PROTOCOL_JSON, 400, NULL, NULL, NULL,
	    0,
	    "{\"code\":\"RequestExpired\",\"message\":\"Request has expired."
	    "\"}",
	    "RequestExpired", "Request has expired.", NULL,
	    AWS_RETRY_CLOCK_SKEW },
	{ "JSON truncated", AWS_PROTOCOL_JSON, 400, NULL, NULL, NULL, 0,
	    "{\"__type\":\"Throttl", "400", NULL, NULL, AWS_RETRY_NONE },
	{ "JSON truncated with a header", AWS_PROTOCOL_JSON, 400,
	    "ThrottlingException", NULL, NULL, 0, "{\"__type\":\"Throttl",
	    "ThrottlingException", NULL, NULL, AWS_RETRY_THROTTLING },
	{ "JSON body is an array", AWS_PROTOCOL_JSON, 400, NULL, NULL, NULL, 0,
	    "[\"ThrottlingException\"]", "400", "", NULL, AWS_RETRY_NONE },
	{ "JSON __type of the wrong type", AWS_PROTOCOL_JSON, 400, NULL, NULL,
	    NULL, 0, "{\"__type\":42,\"code\":\"SlowDown\",\"message\":7}",
	    "SlowDown", "", NULL, AWS_RETRY_THROTTLING },
	{ "JSON __type of only a prefix", AWS_PROTOCOL_JSON, 400, NULL, NULL,
	    NULL, 0, "{\"__type\":\"com.amazonaws.ecs#\"}", "400", "", NULL,
	    AWS_RETRY_NONE },

	/* SES v2: REST-JSON */
	{ "SES v2 TooManyRequestsException", AWS_PROTOCOL_REST_JSON, 429,
	    "TooManyRequestsException", NULL, "ses-1", 0,
	    "{\"message\":\"Too many requests.\"}", "TooManyRequestsException",
	    "Too many requests.", "ses-1", AWS_RETRY_THROTTLING },
	{ "SES v2 MessageRejected", AWS_PROTOCOL_REST_JSON, 400,
	    "MessageRejected:http://internal.amazon.com/coral/com.amazonaws."
	    "sesv2/",
	    NULL, NULL, 0,
	    "{\"message\":\"Email address is not verified. The following "
	    "identities failed the check in region EU-WEST-1: ops@example.com"
	    "\"}",
	    "MessageRejected",
	    "Email address is not verified. The following "
	    "identities failed the check in region EU-WEST-1: ops@example.com",
	    NULL, AWS_RETRY_NONE },
	{ "REST-JSON 429 without anything", AWS_PROTOCOL_REST_JSON, 429, NULL,
	    NULL, NULL, 0, "", "429", "", NULL, AWS_RETRY_THROTTLING },
	{ "REST-JSON 504 HTML", AWS_PROTOCOL_REST_JSON, 504, NULL, NULL, NULL,
	    0, "<html>Gateway Timeout</html>", "504", NULL, NULL,
	    AWS_RETRY_TRANSIENT },
	{ "REST-JSON code in the body", AWS_PROTOCOL_REST_JSON, 400, NULL, NULL,
	    NULL, 0,
	    "{\"Code\":\"BadRequestException\",\"Message\":\"bad"
	    "\"}",
	    "BadRequestException", "bad", NULL, AWS_RETRY_NONE },

	/* text from outside is cleaned */
	{ "control characters", AWS_PROTOCOL_JSON, 400,
	    "Bad\x01"
	    "Code\xc3\xa9",
	    NULL, "id\nwith newline", 0,
	    "{\"message\":\"line one\\nline two\\u001b[31m\\u00e9\"}",
	    "Bad Code??", "line one line two [31m\xc3\xa9", "id with newline",
	    AWS_RETRY_NONE },
	/* A code of blanks only (found by fuzz-aws-error): the status. */
	{ "XML code of blanks only", AWS_PROTOCOL_REST_XML, 400, NULL, NULL,
	    NULL, 0,
	    "<Error><Code\t\t\t>\t\t\r\r\r\r</Code>\r  "
	    "<Message>m</Message></Error>",
	    "400", "m", NULL, AWS_RETRY_NONE },
};

static void
test_replies(void)
{
	struct aws_error_reply r;
	struct aws_error       err;
	size_t		       i;
	const char	      *want;

	for (i = 0; i < sizeof replies / sizeof replies[0]; i++) {
		memset(&r, 0, sizeof r);
		r.protocol = replies[i].protocol;
		r.status = replies[i].status;
		r.body = replies[i].body;
		r.body_len = strlen(replies[i].body);
		r.error_type = replies[i].error_type;
		r.query_error = replies[i].query_error;
		r.request_id = replies[i].request_id;
		r.server_date = replies[i].server_date;
		r.now = replies[i].server_date != 0 ? NOW : 0;
		aws_error_parse(&err, &r);
		is_int(err.status, replies[i].status, "%s: status",
		    replies[i].name);
		is_str(err.code, replies[i].code, "%s: code", replies[i].name);
		if ((want = replies[i].message) != NULL)
			is_str(err.message, want, "%s: message",
			    replies[i].name);
		else
			ok(strncmp(err.message,
			       "unreadable error reply: ", 24) == 0,
			    "%s: message says why: %s", replies[i].name,
			    err.message);
		is_str(err.request_id, replies[i].want_request_id,
		    "%s: request id", replies[i].name);
		is_str(aws_retry_kind_name(err.retry),
		    aws_retry_kind_name(replies[i].retry), "%s: retry",
		    replies[i].name);
		aws_error_clear(&err);
	}
}

static void
test_classify(void)
{
	/* The standard retry mode's throttling codes, written out again. */
	static const char *const throttling[] = {
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
	static const struct {
		int		    status;
		const char	   *code;
		const char	   *message;
		int		    skewed;
		enum aws_retry_kind retry;
	} t[] = {
		{ 400, "RequestTimeout", NULL, 0, AWS_RETRY_TRANSIENT },
		{ 408, "RequestTimeoutException", NULL, 0,
		    AWS_RETRY_TRANSIENT },
		{ 500, "InternalError", NULL, 0, AWS_RETRY_TRANSIENT },
		{ 500, NULL, NULL, 0, AWS_RETRY_TRANSIENT },
		{ 502, "502", NULL, 0, AWS_RETRY_TRANSIENT },
		{ 503, "ServiceUnavailable", NULL, 0, AWS_RETRY_TRANSIENT },
		{ 504, "504", NULL, 0, AWS_RETRY_TRANSIENT },
		{ 501, "NotImplemented", NULL, 0, AWS_RETRY_NONE },
		{ 429, "Whatever", NULL, 0, AWS_RETRY_THROTTLING },
		{ 400, "throttling", NULL, 0, AWS_RETRY_NONE },
		{ 403, "RequestTimeTooSkewed", NULL, 0, AWS_RETRY_CLOCK_SKEW },
		{ 400, "RequestExpired", NULL, 0, AWS_RETRY_CLOCK_SKEW },
		{ 400, "RequestInTheFuture", NULL, 0, AWS_RETRY_CLOCK_SKEW },
		{ 400, "InvalidSignatureException", "x", 1,
		    AWS_RETRY_CLOCK_SKEW },
		{ 400, "InvalidSignatureException", "x", 0, AWS_RETRY_NONE },
		{ 401, "AuthFailure", "x", 1, AWS_RETRY_CLOCK_SKEW },
		{ 403, "SignatureDoesNotMatch", "Check your key", 1,
		    AWS_RETRY_NONE },
		{ 403, "SignatureDoesNotMatch",
		    "Signature not yet current: "
		    "20231114T230000Z is still later than 20231114T221820Z",
		    0, AWS_RETRY_CLOCK_SKEW },
		{ 403, "AccessDenied", NULL, 1, AWS_RETRY_NONE },
		{ 404, "NoSuchBucket", NULL, 0, AWS_RETRY_NONE },
		{ 400, "ValidationError", NULL, 0, AWS_RETRY_NONE },
	};
	size_t i;

	for (i = 0; i < sizeof throttling / sizeof throttling[0]; i++)
		is_str(aws_retry_kind_name(
			   aws_error_classify(400, throttling[i], NULL, 0)),
		    "throttling", "%s throttles", throttling[i]);
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		is_str(aws_retry_kind_name(aws_error_classify(t[i].status,
			   t[i].code, t[i].message, t[i].skewed)),
		    aws_retry_kind_name(t[i].retry), "%d %s%s: %s", t[i].status,
		    t[i].code ? t[i].code : "(no code)",
		    t[i].skewed ? " skewed" : "",
		    aws_retry_kind_name(t[i].retry));
}

static void
test_describe(void)
{
	struct aws_error_reply r;
	struct aws_error       err;
	char		      *s, *big;
	size_t		       i;

	memset(&r, 0, sizeof r);
	r.protocol = AWS_PROTOCOL_JSON;
	r.status = 400;
	r.body = "{\"__type\":\"ThrottlingException\",\"message\":\"Rate "
		 "exceeded\"}";
	r.body_len = strlen(r.body);
	r.request_id = "3b1f";
	r.server_date = NOW + 100;
	r.now = NOW;
	aws_error_parse(&err, &r);
	is_int(err.skew, 100, "skew is the server's Date minus our clock");
	s = aws_error_describe(&err);
	is_str(s,
	    "ThrottlingException: Rate exceeded (HTTP 400, request id "
	    "3b1f)",
	    "describe");
	free(s);
	aws_error_clear(&err);
	ok(err.code == NULL && err.message == NULL, "clear empties");
	aws_error_clear(&err);

	r.body = "";
	r.body_len = 0;
	r.request_id = NULL;
	r.status = 404;
	r.protocol = AWS_PROTOCOL_REST_XML;
	aws_error_parse(&err, &r);
	s = aws_error_describe(&err);
	is_str(s, "404 (HTTP 404)", "describe without message or request id");
	free(s);
	aws_error_clear(&err);

	/* A huge message is capped on a UTF-8 boundary. */
	big = malloc(20000);
	strcpy(big, "<Error><Code>X</Code><Message>a");
	for (i = 0; i < 2000; i++)
		strcat(big, "\xc3\xa9");
	strcat(big, "</Message></Error>");
	r.body = big;
	r.body_len = strlen(big);
	r.status = 400;
	aws_error_parse(&err, &r);
	is_int((long long)strlen(err.message), 1023,
	    "a long message is capped before a split character");
	aws_error_clear(&err);
	free(big);
}

/* Every prefix of an error reply still gives a sound error. */
static void
test_truncated(enum aws_protocol protocol, const char *body)
{
	struct aws_error_reply r;
	struct aws_error       err;
	size_t		       i, len, complete, bad = 0;

	len = strlen(body);
	for (complete = len; complete > 0; complete--) {
		if (body[complete - 1] == '>' || body[complete - 1] == '}')
			break;
	}
	for (i = 0; i <= len; i++) {
		memset(&r, 0, sizeof r);
		r.protocol = protocol;
		r.status = 400;
		r.body = body;
		r.body_len = i;
		aws_error_parse(&err, &r);
		if (err.code == NULL || err.message == NULL ||
		    (i < complete && strcmp(err.code, "400") != 0) ||
		    (i >= complete && strcmp(err.code, "400") == 0))
			bad++;
		aws_error_clear(&err);
	}
	is_int((long long)bad, 0, "%s error cut at each of %zu offsets",
	    protocol == AWS_PROTOCOL_JSON ? "JSON" : "XML", len);
}

int
main(void)
{
	test_replies();
	test_classify();
	test_describe();
	test_truncated(AWS_PROTOCOL_QUERY, replies[10].body);
	test_truncated(AWS_PROTOCOL_REST_XML, replies[0].body);
	test_truncated(AWS_PROTOCOL_JSON, replies[19].body);
	return (tap_done());
}
