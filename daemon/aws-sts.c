/*
 * STS: AssumeRole and GetCallerIdentity over the query protocol.  The
 * AssumeRole reply holds secrets: the reply body is wiped once read.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-sts.h"
#include "buf.h"
#include "log.h"
#include "wallclock.h"
#include "xmalloc.h"
#include "xml.h"

#define STS_REPLY_MAX	(256 * 1024)

struct sts_op {
	const char		*operation;
	sts_assume_role_cb	 assume_cb;
	sts_caller_identity_cb	 identity_cb;
	void			*arg;
};

void
sts_assumed_role_free(struct sts_assumed_role *r)
{
	if (r == NULL)
		return;
	aws_credentials_clear(&r->creds);
	free(r->assumed_role_arn);
	free(r->assumed_role_id);
	free(r);
}

void
sts_caller_identity_free(struct sts_caller_identity *id)
{
	if (id == NULL)
		return;
	free(id->account);
	free(id->arn);
	free(id->user_id);
	free(id);
}

int
sts_session_name_valid(const char *name)
{
	size_t	len;

	if (name == NULL)
		return (0);
	len = strlen(name);
	if (len < 2 || len > 64)
		return (0);
	return (strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-") == len);
}

/* arn:aws:iam::123456789012:role/path/name */
int
sts_role_arn_valid(const char *arn)
{
	const char	*p;
	size_t		 n;

	if (arn == NULL || strlen(arn) < 20 || strlen(arn) > 2048)
		return (0);
	if (strncmp(arn, "arn:", 4) != 0)
		return (0);
	p = arn + 4;
	if ((n = strcspn(p, ":")) == 0 || p[n] != ':')	/* partition */
		return (0);
	p += n + 1;
	if (strncmp(p, "iam::", 5) != 0)
		return (0);
	p += 5;
	if (strspn(p, "0123456789") != 12 || p[12] != ':')
		return (0);
	p += 13;
	return (strncmp(p, "role/", 5) == 0 && p[5] != '\0');
}

/* Reports a reply that came back 2xx but could not be read. */
static void
sts_reply_unreadable(struct sts_op *op, const struct aws_reply *reply,
    const char *cause)
{
	struct aws_reply	 r = *reply;
	char			*msg;

	msg = xasprintf("STS %s: unreadable reply: %s (request %s)",
	    op->operation, cause, *reply->request_id != '\0' ?
	    reply->request_id : "unknown");
	r.error = AWS_EREPLY;
	r.message = msg;
	if (op->assume_cb != NULL)
		op->assume_cb(&r, NULL, op->arg);
	else
		op->identity_cb(&r, NULL, op->arg);
	free(msg);
}

static void
sts_wipe_body(struct aws_reply *reply)
{
	if (reply->body != NULL && reply->body->data != NULL)
		explicit_bzero(reply->body->data, reply->body->len);
}

/*
 * The AssumeRole reply: 0, or -1 and *cause.  The caller wipes the
 * bytes; the tree that held the secrets is freed here.
 */
int
sts_parse_assume_role(struct sts_assumed_role *r, const void *data,
    size_t len, char **cause)
{
	struct xml		*doc = NULL;
	const struct xml_node	*res;
	const char		*akid, *secret, *token, *rarn, *rid;
	struct timespec		 exp;
	int			 rc = -1;

	if (xml_parse(&doc, data, len, NULL, cause) != 0)
		goto out;
	if ((res = xml_find(xml_root(doc), "AssumeRoleResult")) ==
	    NULL) {
		*cause = xstrdup("no AssumeRoleResult");
		goto out;
	}
	if (xml_get_text(res, "Credentials/AccessKeyId", &akid,
	    cause) != 0 ||
	    xml_get_text(res, "Credentials/SecretAccessKey", &secret,
	    cause) != 0 ||
	    xml_get_text(res, "Credentials/SessionToken", &token,
	    cause) != 0 ||
	    xml_get_time(res, "Credentials/Expiration", &exp,
	    cause) != 0 ||
	    xml_get_text(res, "AssumedRoleUser/Arn", &rarn, cause) != 0)
		goto out;
	if (*akid == '\0' || *secret == '\0' || *token == '\0') {
		*cause = xstrdup("empty credentials");
		goto out;
	}
	rid = xml_find_text(res, "AssumedRoleUser/AssumedRoleId");
	r->creds.access_key_id = xstrdup(akid);
	r->creds.secret_access_key = xstrdup(secret);
	r->creds.session_token = xstrdup(token);
	r->creds.expires_ms = wallclock_ms_of(&exp);
	r->assumed_role_arn = xstrdup(rarn);
	r->assumed_role_id = xstrdup(rid != NULL ? rid : "");
	rc = 0;
out:
	/* The tree held the secrets as well; freeing it is all we can do. */
	xml_free(doc);
	return (rc);
}

static void
sts_assume_role_reply_cb(struct aws_reply *reply, void *arg)
{
	struct sts_op			*op = arg;
	struct sts_assumed_role		*r = NULL;
	char				*cause = NULL;

	if (reply->error != AWS_OK) {
		op->assume_cb(reply, NULL, op->arg);
		goto out;
	}
	r = xcalloc(1, sizeof *r);
	if (sts_parse_assume_role(r, reply->body->data, reply->body->len,
	    &cause) != 0) {
		sts_assumed_role_free(r);
		sts_wipe_body(reply);
		sts_reply_unreadable(op, reply, cause != NULL ? cause :
		    "bad XML");
		goto out;
	}
	log_debug(LOG_CAT_AWS, "sts role assumed arn=%s expires=%lld",
	    r->assumed_role_arn, (long long)(r->creds.expires_ms / 1000));
	sts_wipe_body(reply);
	op->assume_cb(reply, r, op->arg);
out:
	sts_wipe_body(reply);
	free(cause);
	free(op);
}

struct aws_call *
sts_assume_role(struct aws_client *client,
    const struct sts_assume_role_params *p, sts_assume_role_cb cb, void *arg,
    char **cause)
{
	struct aws_request	 req;
	struct aws_call		*call;
	struct sts_op		*op;
	struct buf		 body;

	if (!sts_role_arn_valid(p->role_arn)) {
		*cause = xasprintf("STS AssumeRole: not an IAM role ARN: %s",
		    p->role_arn != NULL ? p->role_arn : "(none)");
		return (NULL);
	}
	if (!sts_session_name_valid(p->session_name)) {
		*cause = xasprintf("STS AssumeRole: invalid role session name "
		    "\"%s\" (2-64 of letters, digits and _+=,.@-)",
		    p->session_name != NULL ? p->session_name : "");
		return (NULL);
	}
	if (p->duration_seconds != 0 &&
	    (p->duration_seconds < STS_DURATION_MIN ||
	    p->duration_seconds > STS_DURATION_MAX)) {
		*cause = xasprintf("STS AssumeRole: duration %d s is outside "
		    "%d-%d", p->duration_seconds, STS_DURATION_MIN,
		    STS_DURATION_MAX);
		return (NULL);
	}
	buf_init(&body, 16384);
	aws_query_init(&body, &aws_service_sts, "AssumeRole");
	aws_query_add(&body, "RoleArn", p->role_arn);
	aws_query_add(&body, "RoleSessionName", p->session_name);
	if (p->external_id != NULL)
		aws_query_add(&body, "ExternalId", p->external_id);
	if (p->duration_seconds != 0)
		aws_query_addf(&body, "DurationSeconds", "%d",
		    p->duration_seconds);

	op = xcalloc(1, sizeof *op);
	op->operation = "AssumeRole";
	op->assume_cb = cb;
	op->arg = arg;
	memset(&req, 0, sizeof req);
	req.service = &aws_service_sts;
	req.operation = "AssumeRole";
	req.region = p->region;
	req.creds = p->creds;
	req.body = body.data;
	req.body_len = body.len;
	req.body_max = STS_REPLY_MAX;
	if ((call = aws_client_call(client, &req, sts_assume_role_reply_cb, op,
	    cause)) == NULL)
		free(op);
	/* The external id is a shared secret of sorts. */
	buf_free_secret(&body);
	return (call);
}

int
sts_parse_caller_identity(struct sts_caller_identity *id, const void *data,
    size_t len, char **cause)
{
	struct xml		*doc = NULL;
	const struct xml_node	*res;
	const char		*account, *arn, *user;
	int			 rc = -1;

	if (xml_parse(&doc, data, len, NULL, cause) != 0)
		goto out;
	if ((res = xml_find(xml_root(doc),
	    "GetCallerIdentityResult")) == NULL) {
		*cause = xstrdup("no GetCallerIdentityResult");
		goto out;
	}
	if (xml_get_text(res, "Account", &account, cause) != 0 ||
	    xml_get_text(res, "Arn", &arn, cause) != 0 ||
	    xml_get_text(res, "UserId", &user, cause) != 0)
		goto out;
	id->account = xstrdup(account);
	id->arn = xstrdup(arn);
	id->user_id = xstrdup(user);
	rc = 0;
out:
	xml_free(doc);
	return (rc);
}

static void
sts_identity_reply_cb(struct aws_reply *reply, void *arg)
{
	struct sts_op			*op = arg;
	struct sts_caller_identity	*id;
	char				*cause = NULL;

	if (reply->error != AWS_OK) {
		op->identity_cb(reply, NULL, op->arg);
		goto out;
	}
	id = xcalloc(1, sizeof *id);
	if (sts_parse_caller_identity(id, reply->body->data,
	    reply->body->len, &cause) != 0) {
		sts_caller_identity_free(id);
		sts_reply_unreadable(op, reply, cause != NULL ? cause :
		    "bad XML");
		goto out;
	}
	op->identity_cb(reply, id, op->arg);
out:
	free(cause);
	free(op);
}

struct aws_call *
sts_get_caller_identity(struct aws_client *client, struct aws_creds *creds,
    const char *region, sts_caller_identity_cb cb, void *arg, char **cause)
{
	struct aws_request	 req;
	struct aws_call		*call;
	struct sts_op		*op;
	struct buf		 body;

	buf_init(&body, 1024);
	aws_query_init(&body, &aws_service_sts, "GetCallerIdentity");
	op = xcalloc(1, sizeof *op);
	op->operation = "GetCallerIdentity";
	op->identity_cb = cb;
	op->arg = arg;
	memset(&req, 0, sizeof req);
	req.service = &aws_service_sts;
	req.operation = "GetCallerIdentity";
	req.region = region;
	req.creds = creds;
	req.body = body.data;
	req.body_len = body.len;
	req.body_max = STS_REPLY_MAX;
	if ((call = aws_client_call(client, &req, sts_identity_reply_cb, op,
	    cause)) == NULL)
		free(op);
	buf_free(&body);
	return (call);
}
