/*
 * Role credentials: one AssumeRole call per refresh, with the base
 * provider's credentials.  The fetch in flight is a small record of its
 * own, so freeing the provider while STS has not answered only cuts the
 * record loose: the cancelled call's callback finds no provider and
 * frees what it got.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-creds-role.h"
#include "aws-op.h"
#include "aws-sts.h"
#include "log.h"
#include "xmalloc.h"

struct role_fetch;

struct role_impl {
	struct aws_client *client;
	struct aws_creds  *creds; /* the provider we are in */
	struct aws_creds  *base;
	int		   own_base;
	char		  *role_arn;
	char		  *external_id;
	char		  *session_name;
	char		  *region;
	int		   duration_seconds;
	struct role_fetch *fetch; /* in flight, or NULL */
};

struct role_fetch {
	struct role_impl *impl; /* NULL once the provider died */
	struct aws_op	 *call;
	/* A call that could not start fails from a timer. */
	uv_timer_t timer;
	char	  *cause;
};

static void role_fetch_start(struct aws_creds *, void *);
static void role_free(void *);

static const struct aws_creds_ops role_ops = { "role", role_fetch_start,
	role_free };

static void
role_assumed_cb(const struct aws_reply *reply, struct sts_assumed_role *r,
    void *arg)
{
	struct role_fetch *f = arg;
	struct role_impl  *impl = f->impl;

	if (impl == NULL)
		goto out;
	impl->fetch = NULL;
	if (reply->error != AWS_OK || r == NULL) {
		aws_creds_fetched(impl->creds, AWS_CREDS_EFETCH, reply->message,
		    NULL);
		goto out;
	}
	log_debug(LOG_CAT_AWS, "aws role credentials arn=%s session=%s",
	    r->assumed_role_arn, impl->session_name);
	aws_creds_fetched(impl->creds, 0, NULL, &r->creds);
out:
	sts_assumed_role_free(r);
	free(f);
}

static void
role_fail_close_cb(uv_handle_t *handle)
{
	struct role_fetch *f = handle->data;

	free(f->cause);
	free(f);
}

static void
role_fail_cb(uv_timer_t *timer)
{
	struct role_fetch *f = timer->data;
	struct role_impl  *impl = f->impl;

	if (impl != NULL) {
		impl->fetch = NULL;
		aws_creds_fetched(impl->creds, AWS_CREDS_EFETCH, f->cause,
		    NULL);
	}
	uv_close((uv_handle_t *)&f->timer, role_fail_close_cb);
}

static void
role_fetch_start(struct aws_creds *creds, void *arg)
{
	struct role_impl	     *impl = arg;
	struct sts_assume_role_params p;
	struct role_fetch	     *f;
	char			     *cause = NULL;

	impl->creds = creds;
	memset(&p, 0, sizeof p);
	p.role_arn = impl->role_arn;
	p.session_name = impl->session_name;
	p.external_id = impl->external_id;
	p.duration_seconds = impl->duration_seconds;
	p.region = impl->region;
	p.creds = impl->base;
	f = xcalloc(1, sizeof *f);
	f->impl = impl;
	impl->fetch = f;
	if ((f->call = sts_assume_role(impl->client, &p, role_assumed_cb, f,
		 &cause)) == NULL) {
		/* Report from the loop, never from inside fetch. */
		f->cause = cause;
		uv_timer_init(aws_client_loop(impl->client), &f->timer);
		f->timer.data = f;
		uv_timer_start(&f->timer, role_fail_cb, 0, 0);
	}
}

static void
role_free(void *arg)
{
	struct role_impl *impl = arg;

	if (impl == NULL)
		return;
	if (impl->fetch != NULL) {
		impl->fetch->impl = NULL;
		if (impl->fetch->call != NULL)
			aws_op_cancel(impl->fetch->call);
	}
	if (impl->own_base)
		aws_creds_free(impl->base);
	free(impl->role_arn);
	freezero_str(impl->external_id);
	free(impl->session_name);
	free(impl->region);
	free(impl);
}

struct aws_creds *
aws_creds_role_new(struct aws_client *client, struct aws_creds *base,
    const struct aws_creds_role_options *o, char **cause)
{
	struct role_impl *impl;
	struct aws_creds *creds;
	char		 *source;

	if (!sts_role_arn_valid(o->role_arn)) {
		*cause = xasprintf("not an IAM role ARN: %s",
		    o->role_arn != NULL ? o->role_arn : "(none)");
		goto fail;
	}
	if (!sts_session_name_valid(o->session_name)) {
		*cause = xasprintf("invalid role session name \"%s\" for %s "
				   "(2-64 of letters, digits and _+=,.@-)",
		    o->session_name != NULL ? o->session_name : "",
		    o->role_arn);
		goto fail;
	}
	if (o->duration_seconds != 0 &&
	    (o->duration_seconds < STS_DURATION_MIN ||
		o->duration_seconds > STS_DURATION_MAX)) {
		*cause = xasprintf("role %s: duration %d s is outside %d-%d",
		    o->role_arn, o->duration_seconds, STS_DURATION_MIN,
		    STS_DURATION_MAX);
		goto fail;
	}
	impl = xcalloc(1, sizeof *impl);
	impl->client = client;
	impl->base = base;
	impl->own_base = o->own_base;
	impl->role_arn = xstrdup(o->role_arn);
	if (o->external_id != NULL)
		impl->external_id = xstrdup(o->external_id);
	impl->session_name = xstrdup(o->session_name);
	if (o->region != NULL)
		impl->region = xstrdup(o->region);
	impl->duration_seconds = o->duration_seconds;
	source = o->source != NULL ? xstrdup(o->source) :
				     xasprintf("role %s", o->role_arn);
	creds = aws_creds_new(&role_ops, impl, source, NULL);
	impl->creds = creds;
	free(source);
	return (creds);
fail:
	if (o->own_base)
		aws_creds_free(base);
	return (NULL);
}
