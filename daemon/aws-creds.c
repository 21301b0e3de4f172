/*
 * The generic part of every credentials provider: the cache, the refresh
 * margin, and one fetch shared by every caller waiting for it.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-creds.h"
#include "log.h"
#include "xmalloc.h"

struct aws_creds_waiter {
	aws_creds_cb		 cb;
	void			*arg;
	struct aws_creds_waiter *next;
};

struct aws_creds {
	const struct aws_creds_ops *ops;
	void			   *impl;
	char			   *source;
	struct aws_credentials	    current;
	int			    have;
	int			    fetching;
	struct aws_creds_waiter	   *waiters;
	struct aws_creds_waiter	  **tail;
	int			    logged;
};

void
aws_credentials_clear(struct aws_credentials *c)
{
	freezero_str(c->access_key_id);
	freezero_str(c->secret_access_key);
	freezero_str(c->session_token);
	memset(c, 0, sizeof *c);
}

struct aws_creds *
aws_creds_new(const struct aws_creds_ops *ops, void *impl, const char *source,
    struct aws_credentials *initial)
{
	struct aws_creds *c;

	c = xcalloc(1, sizeof *c);
	c->ops = ops;
	c->impl = impl;
	c->source = xstrdup(source);
	c->tail = &c->waiters;
	if (initial != NULL && initial->access_key_id != NULL) {
		c->current = *initial;
		memset(initial, 0, sizeof *initial);
		c->have = 1;
	}
	return (c);
}

const char *
aws_creds_source(const struct aws_creds *c)
{
	return (c->source);
}

const struct aws_credentials *
aws_creds_current(struct aws_creds *c, int64_t now_ms)
{
	if (!c->have)
		return (NULL);
	if (c->current.expires_ms != 0 &&
	    c->current.expires_ms - AWS_CREDS_REFRESH_MARGIN_MS <= now_ms)
		return (NULL);
	return (&c->current);
}

/* Detach the list first: a callback may start another refresh. */
static void
aws_creds_wake(struct aws_creds *c, int error, const char *cause)
{
	struct aws_creds_waiter *w, *next;

	w = c->waiters;
	c->waiters = NULL;
	c->tail = &c->waiters;
	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(c, error, cause, w->arg);
		free(w);
	}
}

void
aws_creds_fetched(struct aws_creds *c, int error, const char *cause,
    struct aws_credentials *fresh)
{
	c->fetching = 0;
	if (error == 0 && (fresh == NULL || fresh->access_key_id == NULL ||
			      fresh->secret_access_key == NULL)) {
		error = AWS_CREDS_EFETCH;
		cause = "the credential source returned no keys";
	}
	if (error == 0) {
		aws_credentials_clear(&c->current);
		c->current = *fresh;
		memset(fresh, 0, sizeof *fresh);
		c->have = 1;
		if (!c->logged) {
			log_info("aws credentials obtained source=%s",
			    c->source);
			c->logged = 1;
		} else
			log_debug(LOG_CAT_AWS,
			    "aws credentials refreshed "
			    "source=%s",
			    c->source);
	} else {
		if (fresh != NULL)
			aws_credentials_clear(fresh);
		log_warnx("aws credentials unavailable source=%s: %s",
		    c->source, cause != NULL ? cause : "unknown error");
	}
	aws_creds_wake(c, error, cause);
}

int
aws_creds_refresh(struct aws_creds *c, aws_creds_cb cb, void *arg)
{
	struct aws_creds_waiter *w;

	if (c->ops == NULL || c->ops->fetch == NULL)
		return (AWS_CREDS_ENONE);
	w = xcalloc(1, sizeof *w);
	w->cb = cb;
	w->arg = arg;
	*c->tail = w;
	c->tail = &w->next;
	if (!c->fetching) {
		c->fetching = 1;
		c->ops->fetch(c, c->impl);
	}
	return (0);
}

void
aws_creds_free(struct aws_creds *c)
{
	if (c == NULL)
		return;
	if (c->ops != NULL && c->ops->free != NULL)
		c->ops->free(c->impl);
	c->impl = NULL;
	c->fetching = 0;
	aws_creds_wake(c, AWS_CREDS_ECLOSED, "credentials provider closed");
	aws_credentials_clear(&c->current);
	free(c->source);
	free(c);
}

static const struct aws_creds_ops aws_creds_static_ops = { "static", NULL,
	NULL };

struct aws_creds *
aws_creds_static_new(const char *access_key_id, const char *secret_access_key,
    const char *session_token, const char *source)
{
	struct aws_credentials initial;

	memset(&initial, 0, sizeof initial);
	initial.access_key_id = xstrdup(access_key_id);
	initial.secret_access_key = xstrdup(secret_access_key);
	if (session_token != NULL && *session_token != '\0')
		initial.session_token = xstrdup(session_token);
	return (aws_creds_new(&aws_creds_static_ops, NULL,
	    source != NULL ? source : "static", &initial));
}
