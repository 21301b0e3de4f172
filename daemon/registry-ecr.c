/*
 * ECR logins (GetAuthorizationToken), cached per credentials and region
 * until shortly before they expire.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "aws-client.h"
#include "aws-op.h"
#include "log.h"
#include "registry-ecr.h"
#include "registry.h"
#include "svc-ecr.h"
#include "xmalloc.h"

/*
 * What ECR checks for each call of the registry API (/v2/) an image copy
 * makes (promote.c), besides GetAuthorizationToken (an ecr operation):
 * the source's manifests and layers are read, the destination's layers
 * checked and uploaded and its manifests checked and written.  Both are
 * registry accounts.
 */
const struct aws_grant registry_ecr_grants[] = {
	/* GET and HEAD /v2/REPO/manifests/REF */
	{ "ecr:BatchGetImage", AWS_ACCOUNT_REGISTRY, "repository" },
	/* GET /v2/REPO/blobs/DIGEST */
	{ "ecr:GetDownloadUrlForLayer", AWS_ACCOUNT_REGISTRY, "repository" },
	/* HEAD /v2/REPO/blobs/DIGEST */
	{ "ecr:BatchCheckLayerAvailability", AWS_ACCOUNT_REGISTRY,
	    "repository" },
	/* POST /v2/REPO/blobs/uploads/ */
	{ "ecr:InitiateLayerUpload", AWS_ACCOUNT_REGISTRY, "repository" },
	/* PATCH on the upload's location */
	{ "ecr:UploadLayerPart", AWS_ACCOUNT_REGISTRY, "repository" },
	/* PUT on the upload's location, with the digest */
	{ "ecr:CompleteLayerUpload", AWS_ACCOUNT_REGISTRY, "repository" },
	/* PUT /v2/REPO/manifests/REF */
	{ "ecr:PutImage", AWS_ACCOUNT_REGISTRY, "repository" },
	{ NULL, 0, NULL }
};

struct registry_ecr_entry {
	struct aws_creds	  *creds;
	char			  *region;
	struct ecr_auth		  *auth;
	struct registry_ecr_entry *next;
};

struct registry_ecr {
	struct aws_client	  *client;
	int			   margin;
	struct registry_ecr_entry *entries;
};

struct registry_ecr_req {
	struct registry_ecr	  *ecr;
	struct aws_creds	  *creds;
	char			  *region;
	registry_ecr_cb		   cb;
	void			  *arg;
	struct registry_ecr_entry *hit;
	uv_timer_t		   timer; /* defers a hit */
};

struct registry_ecr *
registry_ecr_new(struct aws_client *client, int margin_s)
{
	struct registry_ecr *ecr;

	ecr = xcalloc(1, sizeof *ecr);
	ecr->client = client;
	ecr->margin = margin_s > 0 ? margin_s : REGISTRY_ECR_MARGIN_DEFAULT;
	return (ecr);
}

static void
registry_ecr_entry_free(struct registry_ecr_entry *e)
{
	free(e->region);
	ecr_auth_free(e->auth);
	free(e);
}

void
registry_ecr_free(struct registry_ecr *ecr)
{
	struct registry_ecr_entry *e, *next;

	if (ecr == NULL)
		return;
	for (e = ecr->entries; e != NULL; e = next) {
		next = e->next;
		registry_ecr_entry_free(e);
	}
	free(ecr);
}

int
registry_ecr_cached(const struct registry_ecr *ecr)
{
	const struct registry_ecr_entry *e;
	int				 n = 0;

	for (e = ecr->entries; e != NULL; e = e->next)
		n++;
	return (n);
}

static void
registry_ecr_req_free(struct registry_ecr_req *req)
{
	free(req->region);
	free(req);
}

static void
registry_ecr_report(struct registry_ecr_req *req,
    const struct registry_ecr_entry *e, int cached)
{
	struct registry_ecr_login login;

	memset(&login, 0, sizeof login);
	login.username = e->auth->username;
	login.password = e->auth->password;
	login.endpoint = e->auth->proxy_endpoint;
	login.expires = e->auth->expires.tv_sec;
	login.cached = cached;
	req->cb(0, "ok", &login, req->arg);
}

/* Drops the entry for (creds, region), if any. */
static void
registry_ecr_drop(struct registry_ecr *ecr, struct aws_creds *creds,
    const char *region)
{
	struct registry_ecr_entry **ep, *e;

	for (ep = &ecr->entries; (e = *ep) != NULL; ep = &e->next) {
		if (e->creds == creds && strcmp(e->region, region) == 0) {
			*ep = e->next;
			registry_ecr_entry_free(e);
			return;
		}
	}
}

static void
registry_ecr_closed_cb(uv_handle_t *h)
{
	registry_ecr_req_free(h->data);
}

static void
registry_ecr_timer_cb(uv_timer_t *t)
{
	struct registry_ecr_req	  *req = t->data;
	struct registry_ecr_entry *e;

	/* Look it up again: the cache may have changed since. */
	for (e = req->ecr->entries; e != NULL; e = e->next) {
		if (e == req->hit)
			break;
	}
	if (e != NULL)
		registry_ecr_report(req, e, 1);
	else
		req->cb(-1, "the cached ECR login was dropped", NULL, req->arg);
	uv_close((uv_handle_t *)&req->timer, registry_ecr_closed_cb);
}

static void
registry_ecr_auth_cb(const struct aws_reply *reply, struct ecr_auth *auth,
    void *arg)
{
	struct registry_ecr_req	  *req = arg;
	struct registry_ecr	  *ecr = req->ecr;
	struct registry_ecr_entry *e;

	if (reply->error != AWS_OK || auth == NULL) {
		ecr_auth_free(auth);
		req->cb(reply->error != AWS_OK ? reply->error : -1,
		    reply->message, NULL, req->arg);
		registry_ecr_req_free(req);
		return;
	}
	registry_ecr_drop(ecr, req->creds, req->region);
	e = xcalloc(1, sizeof *e);
	e->creds = req->creds;
	e->region = xstrdup(req->region);
	e->auth = auth;
	e->next = ecr->entries;
	ecr->entries = e;
	log_debug(LOG_CAT_AWS, "ECR login endpoint=%s expires=%lld",
	    auth->proxy_endpoint, (long long)auth->expires.tv_sec);
	registry_ecr_report(req, e, 0);
	registry_ecr_req_free(req);
}

int
registry_ecr_login(struct registry_ecr *ecr, struct aws_creds *creds,
    const char *region, registry_ecr_cb cb, void *arg, char **cause)
{
	struct registry_ecr_req	  *req;
	struct registry_ecr_entry *e;

	if (region == NULL)
		region = aws_client_region(ecr->client);
	req = xcalloc(1, sizeof *req);
	req->ecr = ecr;
	req->creds = creds;
	req->region = xstrdup(region != NULL ? region : "");
	req->cb = cb;
	req->arg = arg;
	for (e = ecr->entries; e != NULL; e = e->next) {
		if (e->creds == creds && strcmp(e->region, req->region) == 0)
			break;
	}
	if (e != NULL && e->auth->expires.tv_sec - ecr->margin > time(NULL)) {
		req->hit = e;
		uv_timer_init(aws_client_loop(ecr->client), &req->timer);
		req->timer.data = req;
		uv_timer_start(&req->timer, registry_ecr_timer_cb, 0, 0);
		return (0);
	}
	if (ecr_get_authorization_token(ecr->client, creds, region,
		registry_ecr_auth_cb, req, cause) == NULL) {
		registry_ecr_req_free(req);
		return (-1);
	}
	return (0);
}

void
registry_ecr_apply(const struct registry_ecr_login *login, struct registry *reg)
{
	registry_set_credentials(reg, login->username, login->password);
}

int
registry_ecr_host(const char *host, char account[REGISTRY_ECR_ACCOUNT_SIZE],
    char region[REGISTRY_ECR_REGION_SIZE])
{
	const char *p, *r, *end;
	size_t	    i, len;

	if (host == NULL)
		return (0);
	len = strcspn(host, ":");
	for (i = 0; i < 12; i++) {
		if (!isdigit((unsigned char)host[i]))
			return (0);
	}
	if (strncmp(host + 12, ".dkr.ecr.", 9) != 0)
		return (0);
	r = host + 21;
	for (p = r;
	     p < host + len && (islower((unsigned char)*p) ||
				   isdigit((unsigned char)*p) || *p == '-');
	     p++)
		;
	if (p == r || (size_t)(p - r) >= REGISTRY_ECR_REGION_SIZE)
		return (0);
	end = host + len;
	if (!((size_t)(end - p) == 14 &&
		strncmp(p, ".amazonaws.com", 14) == 0) &&
	    !((size_t)(end - p) == 17 &&
		strncmp(p, ".amazonaws.com.cn", 17) == 0))
		return (0);
	snprintf(account, REGISTRY_ECR_ACCOUNT_SIZE, "%.12s", host);
	snprintf(region, REGISTRY_ECR_REGION_SIZE, "%.*s", (int)(p - r), r);
	return (1);
}
