/*
 * The default credentials chain (environment, shared profile files,
 * EC2 instance metadata) and the IMDSv2 provider it ends with.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws-creds-chain.h"
#include "aws-creds-role.h"
#include "aws-profile.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "wallclock.h"
#include "xmalloc.h"
#include "xml.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL	      "21600"
#define IMDS_TIMEOUT_MS	      1000
#define IMDS_REPLY_MAX	      (64 * 1024)
#define PROFILE_FILE_MAX      (1024 * 1024)

/* ------------------------------------------------------------------ IMDS */

enum imds_step {
	IMDS_TOKEN,
	IMDS_ROLE,
	IMDS_CREDENTIALS,
};

struct imds_fetch;

struct imds_impl {
	uv_loop_t	   *loop;
	struct http_client *http;
	struct aws_creds   *creds;
	char		   *endpoint;
	long		    timeout_ms;
	struct imds_fetch  *fetch; /* in flight, or NULL */
};

struct imds_fetch {
	struct imds_impl *impl; /* NULL once the provider died */
	enum imds_step	  step;
	struct http_call *call;
	char		 *token;
	char		 *role;
	/* A request that could not start fails from a timer. */
	uv_timer_t timer;
	char	  *cause;
};

static void imds_fetch_start(struct aws_creds *, void *);
static void imds_free(void *);
static void imds_step_start(struct imds_fetch *);

static const struct aws_creds_ops imds_ops = { "instance metadata",
	imds_fetch_start, imds_free };

static const char *
imds_step_name(enum imds_step step)
{
	switch (step) {
	case IMDS_TOKEN:
		return ("token");
	case IMDS_ROLE:
		return ("role name");
	case IMDS_CREDENTIALS:
		return ("credentials");
	}
	return ("?");
}

static void
imds_fetch_free(struct imds_fetch *f)
{
	freezero_str(f->token);
	free(f->role);
	free(f->cause);
	free(f);
}

/* Ends the fetch: reports to the provider if it is still there. */
static void
imds_fetch_done(struct imds_fetch *f, int error, const char *cause,
    struct aws_credentials *fresh)
{
	struct imds_impl *impl = f->impl;

	if (impl != NULL) {
		impl->fetch = NULL;
		aws_creds_fetched(impl->creds, error, cause, fresh);
	} else if (fresh != NULL)
		aws_credentials_clear(fresh);
}

static void
imds_fail_close_cb(uv_handle_t *handle)
{
	imds_fetch_free(handle->data);
}

static void
imds_fail_cb(uv_timer_t *timer)
{
	struct imds_fetch *f = timer->data;

	imds_fetch_done(f, AWS_CREDS_EFETCH, f->cause, NULL);
	uv_close((uv_handle_t *)&f->timer, imds_fail_close_cb);
}

/* Reads the credentials document; 0 or -1 with *cause. */
static int
imds_parse_credentials(const char *body, size_t len,
    struct aws_credentials *out, char **cause)
{
	struct json    *doc = NULL;
	const char     *code = NULL, *akid, *secret, *token = NULL;
	struct timespec exp;
	int		rc = -1;

	memset(out, 0, sizeof *out);
	if (json_load(&doc, body, len, NULL,
		"instance metadata "
		"credentials",
		cause) != 0)
		goto out;
	if (json_str_opt(doc, &code, "Code") == 1 &&
	    strcmp(code, "Success") != 0) {
		*cause = xasprintf("instance metadata credentials: Code %s",
		    code);
		goto out;
	}
	json_str(doc, &akid, "AccessKeyId");
	json_str(doc, &secret, "SecretAccessKey");
	json_str_opt(doc, &token, "Token");
	json_time(doc, &exp, "Expiration");
	if (json_error(doc) != NULL) {
		*cause = xstrdup(json_error(doc));
		goto out;
	}
	out->access_key_id = xstrdup(akid);
	out->secret_access_key = xstrdup(secret);
	if (token != NULL && *token != '\0')
		out->session_token = xstrdup(token);
	out->expires_ms = wallclock_ms_of(&exp);
	rc = 0;
out:
	json_free(doc);
	return (rc);
}

static void
imds_http_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct imds_fetch     *f = arg;
	struct aws_credentials fresh;
	const char	      *text;
	char		      *cause = NULL;
	size_t		       n;

	(void)call;
	f->call = NULL;
	if (f->impl == NULL || res->error == HTTP_ECANCELLED) {
		imds_fetch_done(f, AWS_CREDS_EFETCH, "cancelled", NULL);
		goto done;
	}
	if (res->error != HTTP_OK) {
		cause = xasprintf("instance metadata %s: %s",
		    imds_step_name(f->step), res->message);
		goto fail;
	}
	if (res->status != 200) {
		cause = xasprintf("instance metadata %s: HTTP status %ld",
		    imds_step_name(f->step), res->status);
		goto fail;
	}
	text = res->body.data != NULL ? res->body.data : "";
	switch (f->step) {
	case IMDS_TOKEN:
		if (*text == '\0' || strlen(text) != res->body.len) {
			cause = xstrdup("instance metadata token: empty or "
					"binary reply");
			goto fail;
		}
		f->token = xstrdup(text);
		f->step = IMDS_ROLE;
		break;
	case IMDS_ROLE:
		/* One role name per line; an instance has at most one. */
		n = strcspn(text, "\r\n");
		if (n == 0 || n > 128 || strchr(text, '/') != NULL) {
			cause = xstrdup("instance metadata role name: no "
					"instance role attached");
			goto fail;
		}
		f->role = xstrndup(text, n);
		f->step = IMDS_CREDENTIALS;
		break;
	case IMDS_CREDENTIALS:
		if (imds_parse_credentials(text, res->body.len, &fresh,
			&cause) != 0) {
			explicit_bzero(res->body.data, res->body.len);
			goto fail;
		}
		explicit_bzero(res->body.data, res->body.len);
		log_debug(LOG_CAT_AWS,
		    "aws instance metadata credentials "
		    "role=%s expires_ms=%lld",
		    f->role, (long long)fresh.expires_ms);
		imds_fetch_done(f, 0, NULL, &fresh);
		goto done;
	}
	imds_step_start(f);
	return;
fail:
	imds_fetch_done(f, AWS_CREDS_EFETCH, cause, NULL);
	free(cause);
done:
	imds_fetch_free(f);
}

static void
imds_step_start(struct imds_fetch *f)
{
	struct imds_impl   *impl = f->impl;
	struct http_request req;
	const char	   *headers[3];
	char		   *url = NULL, *hdr = NULL, *cause = NULL;

	memset(&req, 0, sizeof req);
	switch (f->step) {
	case IMDS_TOKEN:
		req.method = "PUT";
		url = xasprintf("%s/latest/api/token", impl->endpoint);
		hdr = xstrdup(
		    "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL);
		break;
	case IMDS_ROLE:
		url = xasprintf("%s/latest/meta-data/iam/security-credentials/",
		    impl->endpoint);
		hdr = xasprintf("X-aws-ec2-metadata-token: %s", f->token);
		break;
	case IMDS_CREDENTIALS:
		url = xasprintf("%s/latest/meta-data/iam/security-credentials/"
				"%s",
		    impl->endpoint, f->role);
		hdr = xasprintf("X-aws-ec2-metadata-token: %s", f->token);
		break;
	}
	headers[0] = hdr;
	headers[1] = "Expect:";
	headers[2] = NULL;
	req.url = url;
	req.headers = headers;
	req.body_max = IMDS_REPLY_MAX;
	req.connect_timeout_ms = impl->timeout_ms;
	req.timeout_ms = impl->timeout_ms;
	req.flags = HTTP_F_NOPROXY;
	if ((f->call = http_call_start(impl->http, &req, imds_http_cb, f,
		 &cause)) == NULL) {
		f->cause = xasprintf("instance metadata %s: %s",
		    imds_step_name(f->step), cause);
		uv_timer_init(impl->loop, &f->timer);
		f->timer.data = f;
		uv_timer_start(&f->timer, imds_fail_cb, 0, 0);
	}
	freezero_str(hdr);
	free(url);
	free(cause);
}

static void
imds_fetch_start(struct aws_creds *creds, void *arg)
{
	struct imds_impl  *impl = arg;
	struct imds_fetch *f;

	impl->creds = creds;
	f = xcalloc(1, sizeof *f);
	f->impl = impl;
	f->step = IMDS_TOKEN;
	impl->fetch = f;
	imds_step_start(f);
}

static void
imds_free(void *arg)
{
	struct imds_impl *impl = arg;

	if (impl == NULL)
		return;
	if (impl->fetch != NULL) {
		impl->fetch->impl = NULL;
		if (impl->fetch->call != NULL)
			http_call_cancel(impl->fetch->call);
	}
	free(impl->endpoint);
	free(impl);
}

struct aws_creds *
aws_creds_imds_new(uv_loop_t *loop, struct http_client *http,
    const char *endpoint, long timeout_ms)
{
	struct imds_impl *impl;
	struct aws_creds *creds;
	size_t		  len;

	if (endpoint == NULL || *endpoint == '\0')
		endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	if (endpoint == NULL || *endpoint == '\0')
		endpoint = IMDS_DEFAULT_ENDPOINT;
	impl = xcalloc(1, sizeof *impl);
	impl->loop = loop;
	impl->http = http;
	len = strlen(endpoint);
	while (len > 0 && endpoint[len - 1] == '/')
		len--;
	impl->endpoint = xstrndup(endpoint, len);
	impl->timeout_ms = timeout_ms > 0 ? timeout_ms : IMDS_TIMEOUT_MS;
	creds = aws_creds_new(&imds_ops, impl, "instance metadata", NULL);
	impl->creds = creds;
	return (creds);
}

/* ------------------------------------------------------------- the chain */

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

static struct aws_creds *
chain_environment(const char *source)
{
	const char *akid, *secret;

	akid = env_nonempty("AWS_ACCESS_KEY_ID");
	secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
	if (akid == NULL || secret == NULL)
		return (NULL);
	return (aws_creds_static_new(akid, secret,
	    env_nonempty("AWS_SESSION_TOKEN"), source));
}

/*
 * Reads a whole profile file: 0 with *text (NULL when the file does not
 * exist), or -1 with *cause.
 */
static int
chain_read_file(const char *path, char **text, char **cause)
{
	struct buf b;
	char	   chunk[4096];
	ssize_t	   n;
	int	   fd, rc = -1;

	*text = NULL;
	buf_init(&b, PROFILE_FILE_MAX);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR) {
			buf_free(&b);
			return (0);
		}
		*cause = xasprintf("%s: %s", path, strerror(errno));
		buf_free(&b);
		return (-1);
	}
	for (;;) {
		if ((n = read(fd, chunk, sizeof chunk)) == -1) {
			if (errno == EINTR)
				continue;
			*cause = xasprintf("%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) != 0) {
			*cause = xasprintf("%s: larger than %d bytes", path,
			    PROFILE_FILE_MAX);
			goto out;
		}
	}
	buf_appends(&b, "");
	*text = buf_take(&b, NULL);
	rc = 0;
out:
	explicit_bzero(chunk, sizeof chunk);
	close(fd);
	buf_free_secret(&b);
	return (rc);
}

static char *
chain_file_path(const char *env, const char *name)
{
	const char *v, *home;

	if ((v = env_nonempty(env)) != NULL)
		return (xstrdup(v));
	if ((home = env_nonempty("HOME")) == NULL)
		return (NULL);
	return (xasprintf("%s/.aws/%s", home, name));
}

/*
 * The profile's provider: 1 and *out, 0 when there is no such profile
 * and none was asked for by name, -1 with *cause.
 */
static int
chain_profile(const struct aws_creds_chain_options *o, struct aws_creds **out,
    char **cause)
{
	struct aws_profile	      prof;
	struct aws_creds_role_options ro;
	struct aws_creds	     *creds = NULL;
	const char		     *name;
	char			     *cpath = NULL, *fpath = NULL;
	char			     *ctext = NULL, *ftext = NULL;
	char			     *source = NULL, *why = NULL;
	size_t			      i;
	int			      named, rc = -1, r;

	memset(&prof, 0, sizeof prof);
	*out = NULL;
	named = 1;
	if ((name = o->profile) == NULL &&
	    (name = env_nonempty("AWS_PROFILE")) == NULL) {
		name = "default";
		named = 0;
	}
	cpath = chain_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	fpath = chain_file_path("AWS_CONFIG_FILE", "config");
	if (cpath != NULL && chain_read_file(cpath, &ctext, cause) != 0)
		goto out;
	if (fpath != NULL && chain_read_file(fpath, &ftext, cause) != 0)
		goto out;
	if (ctext == NULL && ftext == NULL) {
		if (named) {
			*cause = xasprintf("profile %s: no shared credentials "
					   "or config file",
			    name);
			goto out;
		}
		rc = 0;
		goto out;
	}
	r = aws_profile_resolve(ctext, ftext, name, &prof, &why);
	if (r == AWS_PROFILE_ENOTFOUND && !named) {
		rc = 0;
		goto out;
	}
	if (r != 0) {
		*cause = xasprintf("profile %s: %s", name,
		    why != NULL ? why : "cannot be resolved");
		goto out;
	}
	if (prof.nroles > 0 && o->sts_client == NULL) {
		*cause = xasprintf("profile %s assumes a role but no STS "
				   "client was given",
		    name);
		goto out;
	}

	source = xasprintf("profile %s", name);
	switch (prof.base) {
	case AWS_PROFILE_BASE_STATIC:
		creds = aws_creds_static_new(prof.access_key_id,
		    prof.secret_access_key, prof.session_token, source);
		break;
	case AWS_PROFILE_BASE_ENVIRONMENT:
		free(source);
		source = xasprintf("profile %s environment", name);
		if ((creds = chain_environment(source)) == NULL) {
			*cause =
			    xasprintf("profile %s: credential_source "
				      "Environment but AWS_ACCESS_KEY_ID and "
				      "AWS_SECRET_ACCESS_KEY are not set",
				name);
			goto out;
		}
		break;
	case AWS_PROFILE_BASE_IMDS:
		creds = aws_creds_imds_new(o->loop, o->http, NULL,
		    o->imds_timeout_ms);
		break;
	}
	for (i = 0; i < prof.nroles; i++) {
		memset(&ro, 0, sizeof ro);
		ro.role_arn = prof.roles[i].role_arn;
		ro.external_id = prof.roles[i].external_id;
		ro.session_name = prof.roles[i].session_name != NULL ?
				      prof.roles[i].session_name :
				  o->session_name != NULL ? o->session_name :
							    "shipgate";
		ro.duration_seconds = prof.roles[i].duration_seconds;
		ro.own_base = 1;
		free(source);
		source = xasprintf("profile %s role %s", name, ro.role_arn);
		ro.source = source;
		/* On failure the base (owned) is freed with it. */
		if ((creds = aws_creds_role_new(o->sts_client, creds, &ro,
			 &why)) == NULL) {
			*cause = xasprintf("profile %s: %s", name, why);
			goto out;
		}
	}
	*out = creds;
	rc = 1;
out:
	aws_profile_free(&prof);
	freezero_str(ctext);
	freezero_str(ftext);
	free(cpath);
	free(fpath);
	free(source);
	free(why);
	return (rc);
}

struct aws_creds *
aws_creds_chain_new(const struct aws_creds_chain_options *o, char **cause)
{
	struct aws_creds *creds;
	const char	 *off;

	/*
	 * Keys that never expire are never fetched, so aws-creds.c would
	 * not log them: say here which source it is (fetching sources are
	 * logged by aws-creds.c on their first success).
	 */
	if ((creds = chain_environment("environment")) != NULL) {
		log_info("aws credentials obtained source=environment");
		return (creds);
	}
	switch (chain_profile(o, &creds, cause)) {
	case 1:
		if (aws_creds_current(creds, 0) != NULL)
			log_info("aws credentials obtained source=%s",
			    aws_creds_source(creds));
		return (creds);
	case 0:
		break;
	default:
		return (NULL);
	}
	if ((off = getenv("AWS_EC2_METADATA_DISABLED")) != NULL &&
	    strcasecmp(off, "true") == 0) {
		*cause = xstrdup(
		    "no AWS credentials: none in the environment, "
		    "no profile, and instance metadata is disabled "
		    "(AWS_EC2_METADATA_DISABLED)");
		return (NULL);
	}
	if (o->http == NULL || o->loop == NULL) {
		*cause = xstrdup(
		    "no AWS credentials: none in the environment "
		    "or the profile files, and no HTTP client for instance "
		    "metadata");
		return (NULL);
	}
	return (aws_creds_imds_new(o->loop, o->http, NULL, o->imds_timeout_ms));
}
