/*
 * SES v2 SendEmail: POST /v2/email/outbound-emails with a JSON body; the
 * reply names the MessageId.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws-op.h"
#include "json.h"
#include "log.h"
#include "svc-sesv2.h"
#include "xmalloc.h"

#define SESV2_RAW_MAX (10 * 1024 * 1024) /* SES v2's message limit */

static const char sesv2_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
sesv2_base64(const unsigned char *p, size_t n)
{
	char  *out, *o;
	size_t i;

	out = o = xmalloc((n + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = sesv2_b64[p[i] >> 2];
		*o++ = sesv2_b64[(p[i] & 0x3) << 4 | p[i + 1] >> 4];
		*o++ = sesv2_b64[(p[i + 1] & 0xf) << 2 | p[i + 2] >> 6];
		*o++ = sesv2_b64[p[i + 2] & 0x3f];
	}
	if (i + 1 == n) {
		*o++ = sesv2_b64[p[i] >> 2];
		*o++ = sesv2_b64[(p[i] & 0x3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (i + 2 == n) {
		*o++ = sesv2_b64[p[i] >> 2];
		*o++ = sesv2_b64[(p[i] & 0x3) << 4 | p[i + 1] >> 4];
		*o++ = sesv2_b64[(p[i + 1] & 0xf) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return (out);
}

/* A list of addresses; *count grows; -1 when one is not UTF-8. */
static int
sesv2_addresses(json_t *parent, const char *key, const char *const *v,
    size_t *count)
{
	json_t *a, *s;
	size_t	i;

	if (v == NULL || v[0] == NULL)
		return (0);
	a = json_array();
	for (i = 0; v[i] != NULL; i++) {
		if ((s = json_string(v[i])) == NULL) {
			json_decref(a);
			return (-1);
		}
		json_array_append_new(a, s);
		(*count)++;
	}
	json_object_set_new(parent, key, a);
	return (0);
}

/* {"Data": text, "Charset": "UTF-8"}, or NULL when not UTF-8. */
static json_t *
sesv2_content(const char *text)
{
	json_t *s;

	if ((s = json_string(text)) == NULL)
		return (NULL);
	return (json_pack("{s:o,s:s}", "Data", s, "Charset", "UTF-8"));
}

char *
sesv2_email_json(const struct sesv2_email *m, char **cause)
{
	json_t *o = NULL, *dest, *content, *simple, *body, *c, *s;
	char   *raw, *out = NULL;
	size_t	n = 0, nreply = 0;

	if (m->from == NULL || *m->from == '\0') {
		*cause = xstrdup("no From address");
		return (NULL);
	}
	o = json_object();
	if ((s = json_string(m->from)) == NULL) {
		*cause = xstrdup("the From address is not UTF-8");
		goto out;
	}
	json_object_set_new(o, "FromEmailAddress", s);
	dest = json_object();
	json_object_set_new(o, "Destination", dest);
	if (sesv2_addresses(dest, "ToAddresses", m->to, &n) != 0 ||
	    sesv2_addresses(dest, "CcAddresses", m->cc, &n) != 0 ||
	    sesv2_addresses(o, "ReplyToAddresses", m->reply_to, &nreply) != 0) {
		*cause = xstrdup("an address is not UTF-8");
		goto out;
	}
	if (n > SESV2_RECIPIENTS_MAX) {
		*cause = xasprintf("%zu recipients, over SES's limit of %d", n,
		    SESV2_RECIPIENTS_MAX);
		goto out;
	}
	if (json_object_size(dest) == 0)
		json_object_del(o, "Destination");
	content = json_object();
	json_object_set_new(o, "Content", content);
	if (m->raw != NULL) {
		if (m->subject != NULL || m->text != NULL || m->html != NULL) {
			*cause = xstrdup("raw content comes alone, without "
					 "subject or bodies");
			goto out;
		}
		if (m->raw_len == 0 || m->raw_len > SESV2_RAW_MAX) {
			*cause = xasprintf("a raw message of %zu bytes (1 to "
					   "%d)",
			    m->raw_len, SESV2_RAW_MAX);
			goto out;
		}
		raw = sesv2_base64(m->raw, m->raw_len);
		json_object_set_new(content, "Raw",
		    json_pack("{s:s}", "Data", raw));
		free(raw);
	} else {
		if (n == 0) {
			*cause = xstrdup("no recipients");
			goto out;
		}
		if (m->subject == NULL ||
		    (m->text == NULL && m->html == NULL)) {
			*cause = xstrdup("a simple message needs a subject "
					 "and a text or HTML body");
			goto out;
		}
		simple = json_object();
		json_object_set_new(content, "Simple", simple);
		body = json_object();
		if ((c = sesv2_content(m->subject)) == NULL) {
			json_decref(body);
			*cause = xstrdup("the subject is not UTF-8");
			goto out;
		}
		json_object_set_new(simple, "Subject", c);
		json_object_set_new(simple, "Body", body);
		if (m->text != NULL) {
			if ((c = sesv2_content(m->text)) == NULL) {
				*cause = xstrdup("the text body is not UTF-8");
				goto out;
			}
			json_object_set_new(body, "Text", c);
		}
		if (m->html != NULL) {
			if ((c = sesv2_content(m->html)) == NULL) {
				*cause = xstrdup("the HTML body is not UTF-8");
				goto out;
			}
			json_object_set_new(body, "Html", c);
		}
	}
	if (m->configuration_set != NULL) {
		if ((s = json_string(m->configuration_set)) == NULL) {
			*cause = xstrdup("the configuration set is not UTF-8");
			goto out;
		}
		json_object_set_new(o, "ConfigurationSetName", s);
	}
	if ((out = json_dumps(o, JSON_COMPACT)) == NULL)
		*cause = xstrdup("cannot encode the message");
out:
	json_decref(o);
	return (out);
}

int
sesv2_parse_send_email(const void *data, size_t len, char **message_id,
    char **cause)
{
	struct json *doc = NULL;
	const char  *id = NULL;
	int	     rc = -1;

	if (json_load(&doc, data, len, NULL, "SES SendEmail reply", cause) != 0)
		return (-1);
	if (json_str(doc, &id, "MessageId") != 0) {
		*cause = xstrdup(
		    json_error(doc) != NULL ? json_error(doc) : "no MessageId");
		goto out;
	}
	*message_id = xstrdup(id);
	rc = 0;
out:
	json_free(doc);
	return (rc);
}

/*
 * The operation: one row.  Mail goes out through the tools account's SES
 * identity (the From address or its domain).
 */

struct sesv2_sent {
	char *message_id;
};

static int
sesv2_parse_op(void *r, const void *params, const void *data, size_t len,
    char **next, char **cause)
{
	struct sesv2_sent *sent = r;

	(void)params;
	*next = NULL;
	if (sesv2_parse_send_email(data, len, &sent->message_id, cause) == 0)
		return (0);
	/* SES answers 2xx once it has taken the message: a reply whose
	   body is unreadable (cut, garbled) is still that.  Failing it
	   would send the message again.  Only the MessageId is lost. */
	log_warnx("SES SendEmail: HTTP 2xx but %s: taken as sent", *cause);
	free(*cause);
	*cause = NULL;
	return (0);
}

static void
sesv2_free_op(void *r)
{
	struct sesv2_sent *sent = r;

	free(sent->message_id);
	free(sent);
}

/* The MessageId is the callback's during the callback only. */
static void
sesv2_deliver(aws_op_fn cb, const struct aws_reply *reply, void *r, void *arg)
{
	struct sesv2_sent *sent = r;

	((sesv2_send_cb)cb)(reply, sent != NULL ? sent->message_id : NULL, arg);
	if (sent != NULL)
		sesv2_free_op(sent);
}

static const struct aws_op_result sesv2_sent_result = { sesv2_parse_op,
	sizeof(struct sesv2_sent), sesv2_free_op, sesv2_deliver, NULL, NULL };

static const struct aws_op_desc sesv2_op_send_email = { &aws_service_sesv2,
	"SendEmail", &sesv2_sent_result, NULL, NULL, 0,
	{ "ses:SendEmail", AWS_ACCOUNT_TOOLS, "identity" } };

const struct aws_op_desc *const sesv2_operations[] = { &sesv2_op_send_email,
	NULL };

struct aws_op *
sesv2_send_email(struct aws_client *client, struct aws_creds *creds,
    const char *region, const struct sesv2_email *m, sesv2_send_cb cb,
    void *arg, char **cause)
{
	struct aws_op *op;
	char	      *body, *c = NULL;

	if ((body = sesv2_email_json(m, &c)) == NULL) {
		*cause = xasprintf("SES SendEmail: %s", c);
		free(c);
		return (NULL);
	}
	op = aws_op_new(&sesv2_op_send_email, client, creds, region);
	aws_op_rest(op, "POST", NULL, "/v2/email/outbound-emails");
	aws_op_payload(op, body, strlen(body), NULL);
	aws_op_no_replay(op); /* SendEmail has no idempotency token */
	free(body);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}
