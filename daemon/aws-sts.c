/*
 * STS: AssumeRole and GetCallerIdentity over the query protocol, two rows
 * of aws-op.  The AssumeRole reply holds secrets: the reply body is
 * wiped once read (the row is secret).
 */
#include <stdlib.h>
#include <string.h>

#include "aws-op.h"
#include "aws-sts.h"
#include "buf.h"
#include "log.h"
#include "wallclock.h"
#include "xmalloc.h"
#include "xml.h"

#define STS_REPLY_MAX (256 * 1024)

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
	size_t len;

	if (name == NULL)
		return (0);
	len = strlen(name);
	if (len < 2 || len > 64)
		return (0);
	return (
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-") == len);
}

/* arn:aws:iam::123456789012:role/path/name */
int
sts_role_arn_valid(const char *arn)
{
	const char *p;
	size_t	    n;

	if (arn == NULL || strlen(arn) < 20 || strlen(arn) > 2048)
		return (0);
	if (strncmp(arn, "arn:", 4) != 0)
		return (0);
	p = arn + 4;
	if ((n = strcspn(p, ":")) == 0 || p[n] != ':') /* partition */
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

/*
 * The AssumeRole reply: 0, or -1 and *cause.  The caller wipes the
 * bytes; the tree that held the secrets is freed here.
 */
int
sts_parse_assume_role(struct sts_assumed_role *r, const void *data, size_t len,
    char **cause)
{
	struct xml	      *doc = NULL;
	const struct xml_node *res;
	const char	      *akid, *secret, *token, *rarn, *rid;
	struct timespec	       exp;
	int		       rc = -1;

	if (xml_parse(&doc, data, len, NULL, cause) != 0)
		goto out;
	if ((res = xml_find(xml_root(doc), "AssumeRoleResult")) == NULL) {
		*cause = xstrdup("no AssumeRoleResult");
		goto out;
	}
	if (xml_get_text(res, "Credentials/AccessKeyId", &akid, cause) != 0 ||
	    xml_get_text(res, "Credentials/SecretAccessKey", &secret, cause) !=
		0 ||
	    xml_get_text(res, "Credentials/SessionToken", &token, cause) != 0 ||
	    xml_get_time(res, "Credentials/Expiration", &exp, cause) != 0 ||
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

/*
 * The operations: one row each.  The role is assumed with the tools
 * account's credentials (its policy grants sts:AssumeRole on each
 * environment's role); GetCallerIdentity needs no permission but is
 * listed, as the doctor calls it in every account.
 */
AWS_OP_RESULT_ONE(sts_assumed, struct sts_assumed_role, sts_parse_assume_role,
    sts_assumed_role_free, sts_assume_role_cb)
AWS_OP_RESULT_ONE(sts_identity, struct sts_caller_identity,
    sts_parse_caller_identity, sts_caller_identity_free, sts_caller_identity_cb)

/* The reply holds the credentials, the form the external id: secret. */
static const struct aws_op_desc sts_op_assume_role = { &aws_service_sts,
	"AssumeRole", &sts_assumed_result, NULL, NULL, 1,
	{ "sts:AssumeRole", AWS_ACCOUNT_TOOLS, "role" } };
static const struct aws_op_desc sts_op_get_caller_identity = { &aws_service_sts,
	"GetCallerIdentity", &sts_identity_result, NULL, NULL, 0,
	{ "sts:GetCallerIdentity", AWS_ACCOUNT_TOOLS | AWS_ACCOUNT_ENVIRONMENT,
	    "*" } };

const struct aws_op_desc *const sts_operations[] = { &sts_op_assume_role,
	&sts_op_get_caller_identity, NULL };

struct aws_op *
sts_assume_role(struct aws_client	*client,
    const struct sts_assume_role_params *p, sts_assume_role_cb cb, void *arg,
    char **cause)
{
	struct aws_op *op;
	struct buf    *form;

	if (!sts_role_arn_valid(p->role_arn)) {
		*cause = xasprintf("STS AssumeRole: not an IAM role ARN: %s",
		    p->role_arn != NULL ? p->role_arn : "(none)");
		return (NULL);
	}
	if (!sts_session_name_valid(p->session_name)) {
		*cause =
		    xasprintf("STS AssumeRole: invalid role session name "
			      "\"%s\" (2-64 of letters, digits and _+=,.@-)",
			p->session_name != NULL ? p->session_name : "");
		return (NULL);
	}
	if (p->duration_seconds != 0 &&
	    (p->duration_seconds < STS_DURATION_MIN ||
		p->duration_seconds > STS_DURATION_MAX)) {
		*cause = xasprintf("STS AssumeRole: duration %d s is outside "
				   "%d-%d",
		    p->duration_seconds, STS_DURATION_MIN, STS_DURATION_MAX);
		return (NULL);
	}
	/* The external id is a shared secret of sorts: the op is secret,
	   its form wiped as the reply's credentials are. */
	op = aws_op_new(&sts_op_assume_role, client, p->creds, p->region);
	form = aws_op_form(op);
	aws_query_add(form, "RoleArn", p->role_arn);
	aws_query_add(form, "RoleSessionName", p->session_name);
	if (p->external_id != NULL)
		aws_query_add(form, "ExternalId", p->external_id);
	if (p->duration_seconds != 0)
		aws_query_addf(form, "DurationSeconds", "%d",
		    p->duration_seconds);
	aws_op_limits(op, STS_REPLY_MAX, 0);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

int
sts_parse_caller_identity(struct sts_caller_identity *id, const void *data,
    size_t len, char **cause)
{
	struct xml	      *doc = NULL;
	const struct xml_node *res;
	const char	      *account, *arn, *user;
	int		       rc = -1;

	if (xml_parse(&doc, data, len, NULL, cause) != 0)
		goto out;
	if ((res = xml_find(xml_root(doc), "GetCallerIdentityResult")) ==
	    NULL) {
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

struct aws_op *
sts_get_caller_identity(struct aws_client *client, struct aws_creds *creds,
    const char *region, sts_caller_identity_cb cb, void *arg, char **cause)
{
	struct aws_op *op;

	op = aws_op_new(&sts_op_get_caller_identity, client, creds, region);
	aws_op_limits(op, STS_REPLY_MAX, 0);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}
