/*
 * The registry client and the image copier against real registries: two
 * (three) instances of Debian's docker-registry on 127.0.0.1, the
 * destination behind basic auth (htpasswd, bcrypt cost 4), images made by
 * tests/unit/registry-fixture.py as OCI layouts and pushed with skopeo, a
 * tampering proxy (flipped byte, Bearer tokens) from the same script, and
 * the fake AWS endpoint for ECR logins.  Everything listens on 127.0.0.1
 * and is stopped by PID.  Also the pure helpers, as tables.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "aws-client.h"
#include "aws-creds.h"
#include "config.h"
#include "fakeaws.h"
#include "http.h"
#include "log.h"
#include "promote.h"
#include "registry-ecr.h"
#include "registry.h"
#include "tap.h"
#include "xmalloc.h"

#define DOCKER_REGISTRY "/usr/bin/docker-registry"
#define SKOPEO		"/usr/bin/skopeo"
#define HTPASSWD	"/usr/bin/htpasswd"

struct server {
	pid_t pid;
	int   port;
	char  url[64];
};

static char	   tmpdir[64];
static const char *python;
static char	   fixture[1024];

struct copy {
	int		done;
	size_t		n;
	int		error[4];
	char	       *reason[4];
	char	       *src_digest[4];
	char	       *dst_digest[4];
	int		manifests[4];
	int		copied[4];
	int		skipped[4];
	int		tagged[4];
	int		retries[4];
	long long	bytes_copied[4];
	long long	bytes_skipped[4];
	int		image_cbs;
	int		cancel_in_image_cb;
	struct promote *p;
};

static uv_loop_t	   loop;
static int		   contains(const char *, const char *);
static struct http_client *http;

/* --- processes ----------------------------------------------------------- */

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t	   len = sizeof sin;
	int		   fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

static pid_t
spawn(const char *const *argv, const char *log)
{
	char  *av[32]; /* execv's type: copies of argv */
	pid_t  pid;
	int    fd;
	size_t i, n;

	for (n = 0; argv[n] != NULL && n < 31; n++)
		av[n] = xstrdup(argv[n]);
	av[n] = NULL;
	pid = fork();
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(av[0], av);
		_exit(127);
	}
	for (i = 0; i < n; i++)
		free(av[i]);
	return (pid);
}

/* Runs a shell command; its stdout (first 64 KiB) into *out if given. */
static int
run(char **out, const char *fmt, ...)
{
	va_list ap;
	char   *cmd, buf[65536];
	FILE   *f;
	size_t	n = 0, r;
	int	st;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	if ((f = popen(cmd, "r")) == NULL) {
		free(cmd);
		return (-1);
	}
	while ((r = fread(buf + n, 1, sizeof buf - 1 - n, f)) > 0)
		n += r;
	buf[n] = '\0';
	st = pclose(f);
	if (st != 0)
		tap_diag("command failed (%d): %s\n%s", st, cmd, buf);
	free(cmd);
	if (out != NULL)
		*out = xstrdup(buf);
	return (st == 0 ? 0 : -1);
}

static size_t
discard_cb(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return (size * n);
}

static long
http_status(const char *url, const char *userpwd, const char *accept, int head)
{
	struct curl_slist *h = NULL;
	CURL		  *c;
	long		   status = -1;
	char		  *a;

	if ((c = curl_easy_init()) == NULL)
		return (-1);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOBODY, (long)head);
	if (userpwd != NULL)
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	if (accept != NULL) {
		a = xasprintf("Accept: %s", accept);
		h = curl_slist_append(h, a);
		free(a);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return (status);
}

static int
wait_http(const char *url)
{
	int  i;
	long st;

	for (i = 0; i < 200; i++) {
		st = http_status(url, NULL, NULL, 1);
		if (st > 0)
			return (0);
		usleep(50000);
	}
	return (-1);
}

/* A docker-registry with its own config and storage; htpasswd or NULL. */
static int
registry_start(struct server *s, const char *name, const char *htpasswd)
{
	const char *argv[4];
	char	   *conf, *log, *text;
	FILE	   *f;

	memset(s, 0, sizeof *s);
	if ((s->port = free_port()) <= 0)
		return (-1);
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
	conf = xasprintf("%s/%s.yml", tmpdir, name);
	log = xasprintf("%s/%s.log", tmpdir, name);
	text =
	    xasprintf("version: 0.1\nlog:\n  level: warn\n"
		      "storage:\n  filesystem:\n    rootdirectory: %s/%s-data\n"
		      "  delete:\n    enabled: true\n"
		      "http:\n  addr: 127.0.0.1:%d\n%s%s%s",
		tmpdir, name, s->port,
		htpasswd != NULL ? "auth:\n  htpasswd:\n    realm: test\n"
				   "    path: " :
				   "",
		htpasswd != NULL ? htpasswd : "", htpasswd != NULL ? "\n" : "");
	if ((f = fopen(conf, "w")) == NULL)
		return (-1);
	fputs(text, f);
	fclose(f);
	argv[0] = DOCKER_REGISTRY;
	argv[1] = "serve";
	argv[2] = conf;
	argv[3] = NULL;
	s->pid = spawn(argv, log);
	free(conf);
	free(log);
	free(text);
	return (s->pid > 0 ? wait_http(s->url) : -1);
}

/* The fixture's proxy in front of upstream: "--flip D", "--bearer U:P",
   "--deny-push" (value NULL), ... */
static int
proxy_start(struct server *s, const char *upstream, const char *opt,
    const char *value)
{
	const char *argv[10];
	char	   *portfile, *log, buf[32];
	FILE	   *f;
	int	    i;

	memset(s, 0, sizeof *s);
	portfile = xasprintf("%s/proxy-%s.port", tmpdir, opt + 2);
	log = xasprintf("%s/proxy.log", tmpdir);
	unlink(portfile);
	argv[0] = python;
	argv[1] = fixture;
	argv[2] = "proxy";
	argv[3] = "--upstream";
	argv[4] = upstream;
	argv[5] = "--port-file";
	argv[6] = portfile;
	argv[7] = opt;
	argv[8] = value; /* NULL for a flag */
	argv[9] = NULL;
	s->pid = spawn(argv, log);
	for (i = 0; s->pid > 0 && i < 200 && s->port <= 0; i++) {
		if ((f = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof buf, f) != NULL)
				s->port = atoi(buf);
			fclose(f);
		}
		if (s->port <= 0)
			usleep(50000);
	}
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
	free(portfile);
	free(log);
	return (s->port > 0 ? 0 : -1);
}

static void
server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

/* An OCI layout from the fixture, pushed with skopeo; the top digest. */
static char *
make_image(const char *dst_url, const char *creds, const char *repo_tag,
    const char *fixture_args, char **listing)
{
	char *dir, *out = NULL, *top = NULL, *p, *tag;

	tag = strrchr(repo_tag, ':') + 1;
	dir = xasprintf("%s/oci-%d", tmpdir, rand());
	if (run(&out, "%s %s oci %s --tag %s %s", python, fixture, dir, tag,
		fixture_args) != 0)
		goto out;
	if (run(NULL,
		"%s copy --all --preserve-digests --dest-tls-verify=false"
		" %s%s oci:%s:%s docker://%s/%s 2>&1",
		SKOPEO, creds != NULL ? "--dest-creds " : "",
		creds != NULL ? creds : "", dir, tag, dst_url + 7,
		repo_tag) != 0)
		goto out;
	if ((p = strstr(out, "top=")) != NULL)
		top = xstrndup(p + 4, 71);
out:
	run(NULL, "rm -rf %s", dir);
	free(dir);
	if (listing != NULL)
		*listing = out;
	else
		free(out);
	return (top);
}

/* --- running the copier -------------------------------------------------- */

static void
copy_image_cb(struct promote *p, const struct promote_result *r, void *arg)
{
	struct copy *c = arg;

	(void)r;
	c->image_cbs++;
	if (c->cancel_in_image_cb)
		promote_cancel(p);
}

static void
copy_done_cb(struct promote *p, const struct promote_result *r, size_t n,
    void *arg)
{
	struct copy *c = arg;
	size_t	     i;

	(void)p;
	c->n = n;
	for (i = 0; i < n && i < 4; i++) {
		c->error[i] = r[i].error;
		c->reason[i] = r[i].reason ? xstrdup(r[i].reason) : NULL;
		c->src_digest[i] = r[i].source_digest ?
				       xstrdup(r[i].source_digest) :
				       NULL;
		c->dst_digest[i] = r[i].destination_digest ?
				       xstrdup(r[i].destination_digest) :
				       NULL;
		c->manifests[i] = r[i].manifests;
		c->copied[i] = r[i].blobs_copied;
		c->skipped[i] = r[i].blobs_skipped;
		c->tagged[i] = r[i].tagged;
		c->retries[i] = r[i].blob_retries;
		c->bytes_copied[i] = r[i].bytes_copied;
		c->bytes_skipped[i] = r[i].bytes_skipped;
		if (r[i].reason != NULL)
			tap_diag("reason: %s", r[i].reason);
	}
	c->done = 1;
}

static void
copy_free(struct copy *c)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		free(c->reason[i]);
		free(c->src_digest[i]);
		free(c->dst_digest[i]);
	}
	memset(c, 0, sizeof *c);
}

#define COPY_MONOLITHIC	      0x1
#define COPY_CANCEL_AT_ONCE   0x2 /* cancel after the start */
#define COPY_CANCEL_AFTER_ONE 0x4 /* from the image callback */

static int
copy(struct copy *c, struct registry *src, struct registry *dst,
    const struct promote_image *images, size_t n, int flags)
{
	struct promote_options o;
	struct promote	      *p;
	char		      *cause = NULL;
	int		       monolithic = flags & COPY_MONOLITHIC;

	memset(c, 0, sizeof *c);
	c->cancel_in_image_cb = (flags & COPY_CANCEL_AFTER_ONE) != 0;
	memset(&o, 0, sizeof o);
	o.parallel_blobs = 3;
	o.buffer_size = 64 * 1024; /* small: the ring wraps often */
	o.monolithic = monolithic;
	o.image_cb = copy_image_cb;
	o.image_arg = c;
	p = promote_start(src, dst, images, n, &o, copy_done_cb, c, &cause);
	if (p == NULL) {
		tap_diag("promote_start: %s", cause);
		free(cause);
		return (-1);
	}
	if (flags & COPY_CANCEL_AT_ONCE) {
		promote_cancel(p);
		ok(!c->done, "cancel: no callback from inside promote_cancel");
	}
	while (!c->done && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	return (c->done ? 0 : -1);
}

static struct registry *
reg(const char *url, const char *user, const char *pass)
{
	struct registry_options o;
	struct registry	       *r;
	char		       *cause = NULL;

	memset(&o, 0, sizeof o);
	o.url = url;
	o.username = user;
	o.password = pass;
	o.timeout_ms = 20000;
	if ((r = registry_new(http, &o, &cause)) == NULL)
		fatalx("registry_new: %s", cause);
	return (r);
}

static int
contains(const char *s, const char *what)
{
	return (s != NULL && strstr(s, what) != NULL);
}

/* --- pure helpers -------------------------------------------------------- */

#define D0                                                                \
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b" \
	"7852b855"
#define D1                                                               \
	"sha256:1111111111111111111111111111111111111111111111111111111" \
	"111111111"

static const struct {
	const char *name;
	const char *type;
	const char *json;
	int	    rc;
	int	    index;
	size_t	    n;
	const char *cause; /* a part of it */
} parse_cases[] = {
	{ "OCI manifest: config and layers, foreign layer left out",
	    REGISTRY_MT_OCI_MANIFEST,
	    "{\"schemaVersion\":2,\"config\":"
	    "{\"digest\":\"" D0 "\",\"size\":2},\"layers\":[{\"digest\":\"" D1
	    "\",\"size\":5},{\"digest\":\"" D1 "\",\"size\":5,\"urls\":"
	    "[\"https://x\"]}]}",
	    0, 0, 2, NULL },
	{ "Docker list: its entries", REGISTRY_MT_DOCKER_LIST,
	    "{\"mediaType\":\"" REGISTRY_MT_DOCKER_LIST "\",\"manifests\":["
	    "{\"digest\":\"" D0 "\",\"size\":9},{\"digest\":\"" D1 "\","
	    "\"size\":8}]}",
	    0, 1, 2, NULL },
	{ "served as one type, saying another", REGISTRY_MT_OCI_INDEX,
	    "{\"mediaType\":\"" REGISTRY_MT_OCI_MANIFEST "\"}", -1, 0, 0,
	    "says" },
	{ "schema 1 refused",
	    "application/vnd.docker.distribution.manifest.v1+prettyjws",
	    "{\"schemaVersion\":1}", -1, 0, 0, "not an OCI" },
	{ "a bad digest", REGISTRY_MT_DOCKER_MANIFEST,
	    "{\"config\":"
	    "{\"digest\":\"md5:00\",\"size\":2},\"layers\":[]}",
	    -1, 0, 0, "config" },
	{ "a negative size", REGISTRY_MT_OCI_INDEX,
	    "{\"manifests\":"
	    "[{\"digest\":\"" D0 "\",\"size\":-1}]}",
	    -1, 0, 0, "entry 0" },
	{ "not JSON", REGISTRY_MT_OCI_MANIFEST, "{", -1, 0, 0, "JSON" },
};

static void
test_parse(void)
{
	struct promote_refs refs;
	char		   *cause;
	size_t		    i;
	int		    rc;

	for (i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
		cause = NULL;
		rc = promote_parse_manifest(parse_cases[i].json,
		    strlen(parse_cases[i].json), parse_cases[i].type, &refs,
		    &cause);
		ok(rc == parse_cases[i].rc &&
			refs.index == parse_cases[i].index &&
			refs.n == parse_cases[i].n &&
			(parse_cases[i].cause == NULL ?
				cause == NULL :
				contains(cause, parse_cases[i].cause)),
		    "parse: %s", parse_cases[i].name);
		if (cause != NULL)
			tap_diag("cause: %s", cause);
		if (rc == 0 && refs.n == 2 && !refs.index)
			ok(strcmp(refs.v[0].digest, D0) == 0 &&
				refs.v[0].size == 2 && refs.v[1].size == 5,
			    "parse: the config first, then the layers");
		promote_refs_free(&refs);
		free(cause);
	}
}

static void
test_pure(void)
{
	struct registry_challenge c;
	char			  d[REGISTRY_DIGEST_SIZE], *t;
	char			  account[REGISTRY_ECR_ACCOUNT_SIZE];
	char			  region[REGISTRY_ECR_REGION_SIZE];
	static const char	  body[] =
	    "{\"errors\":[{\"code\":"
	    "\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\"}]}";

	ok(registry_parse_challenge(
	       "Bearer realm=\"https://auth.docker.io/"
	       "token\",service=\"registry.docker.io\",scope=\"repository:a/b:"
	       "pull,push\"",
	       &c) == 0,
	    "challenge: parsed");
	is_str(c.scheme, "Bearer", "challenge: scheme");
	is_str(c.realm, "https://auth.docker.io/token", "challenge: realm");
	is_str(c.service, "registry.docker.io", "challenge: service");
	is_str(c.scope, "repository:a/b:pull,push",
	    "challenge: scope with a "
	    "comma inside quotes");
	registry_challenge_free(&c);
	ok(registry_parse_challenge("Basic realm=\"x \\\"y\\\"\"", &c) == 0 &&
		strcmp(c.scheme, "Basic") == 0 &&
		strcmp(c.realm, "x \"y\"") == 0 && c.service == NULL,
	    "challenge: Basic, escaped quotes");
	registry_challenge_free(&c);
	ok(registry_parse_challenge("Bearer realm=\"unterminated", &c) == -1,
	    "challenge: unterminated quote refused");
	ok(registry_parse_challenge("Bearer realm=tok,service=s", &c) == 0 &&
		strcmp(c.realm, "tok") == 0 && strcmp(c.service, "s") == 0,
	    "challenge: bare tokens");
	registry_challenge_free(&c);

	ok(registry_valid_repository("billing/web") &&
		registry_valid_repository("a.b_c-d/e__f") &&
		!registry_valid_repository("Billing/web") &&
		!registry_valid_repository("a//b") &&
		!registry_valid_repository("/a") &&
		!registry_valid_repository("a/../b") &&
		!registry_valid_repository(""),
	    "repository names");
	ok(registry_valid_tag("1.4.2") && registry_valid_tag("_x") &&
		!registry_valid_tag(".x") && !registry_valid_tag("a/b") &&
		!registry_valid_tag("a b"),
	    "tags");
	registry_digest("", 0, d);
	is_str(d,
	    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
	    "91b7852b855",
	    "digest of nothing");
	ok(registry_valid_digest(d) && !registry_valid_digest("sha256:E3B0") &&
		!registry_valid_digest("sha512:e3b0"),
	    "digests");
	t = registry_error_text(body, sizeof body - 1);
	is_str(t, "BLOB_UNKNOWN: blob unknown to registry", "error text");
	free(t);
	ok(registry_error_text("<html>", 6) == NULL, "no error text in HTML");

	test_parse();

	ok(registry_ecr_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com",
	       account, region) &&
		strcmp(account, "123456789012") == 0 &&
		strcmp(region, "eu-west-1") == 0,
	    "ECR host: account and region");
	ok(registry_ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
			     ":443",
	       account, region) &&
		strcmp(region, "cn-north-1") == 0,
	    "ECR host: China, with a port");
	ok(!registry_ecr_host("12345678901.dkr.ecr.eu-west-1.amazonaws.com",
	       account, region) &&
		!registry_ecr_host("123456789012.dkr.ecr."
				   "eu-west-1.amazonaws.com.evil.example",
		    account, region) &&
		!registry_ecr_host("registry.example.com", account, region) &&
		!registry_ecr_host("123456789012.dkr.ecr..amazonaws.com",
		    account, region),
	    "ECR host: others are not ECR");
}

/* --- the registry API on its own: a chunked upload ------------------------ */

struct chunk {
	const char *data;
	size_t	    len;
	size_t	    off;
};

struct step {
	int   done;
	int   error;
	long  status;
	char *location;
	char *digest;
};

static ssize_t
chunk_read_cb(struct http_call *call, void *dst, size_t len, void *arg)
{
	struct chunk *c = arg;

	(void)call;
	if (len > c->len - c->off)
		len = c->len - c->off;
	memcpy(dst, c->data + c->off, len);
	c->off += len;
	return ((ssize_t)len);
}

static void
step_cb(struct registry_call *call, const struct registry_reply *reply,
    void *arg)
{
	struct step *st = arg;

	(void)call;
	st->done = 1;
	st->error = reply->error;
	st->status = reply->status;
	if (reply->error != 0)
		tap_diag("%s", reply->message);
	st->location = reply->location ? xstrdup(reply->location) : NULL;
	st->digest = reply->digest ? xstrdup(reply->digest) : NULL;
}

static int
step_wait(struct registry_call *call, struct step *st)
{
	if (call == NULL)
		return (-1);
	while (!st->done && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	return (st->done && st->error == 0 ? 0 : -1);
}

static void
step_reset(struct step *st)
{
	free(st->location);
	free(st->digest);
	memset(st, 0, sizeof *st);
}

static void
test_chunked(struct registry *rd)
{
	static const char blob[] =
	    "a blob sent in two chunks by "
	    "PATCH, then finished by an empty PUT with its digest";
	struct chunk c1 = { blob, 20, 0 };
	struct chunk c2 = { blob + 20, sizeof blob - 21, 0 };
	struct step  st;
	char	     digest[REGISTRY_DIGEST_SIZE];
	char	    *loc, *cause = NULL;

	registry_digest(blob, sizeof blob - 1, digest);
	memset(&st, 0, sizeof st);
	ok(step_wait(registry_upload_start(rd, "app/chunked", step_cb, &st,
			 &cause),
	       &st) == 0 &&
		st.status == 202 && st.location != NULL,
	    "chunked: POST gives a location");
	loc = st.location;
	st.location = NULL;
	step_reset(&st);
	ok(step_wait(registry_upload_patch(rd, "app/chunked", loc, 0,
			 (long long)c1.len, chunk_read_cb, &c1, step_cb, &st,
			 &cause),
	       &st) == 0 &&
		st.status == 202 && st.location != NULL,
	    "chunked: first PATCH");
	free(loc);
	loc = st.location;
	st.location = NULL;
	step_reset(&st);
	ok(step_wait(registry_upload_patch(rd, "app/chunked", loc,
			 (long long)c1.len, (long long)c2.len, chunk_read_cb,
			 &c2, step_cb, &st, &cause),
	       &st) == 0 &&
		st.location != NULL,
	    "chunked: second PATCH with its Content-Range");
	free(loc);
	loc = st.location;
	st.location = NULL;
	step_reset(&st);
	ok(step_wait(registry_upload_finish(rd, "app/chunked", loc, digest, 0,
			 NULL, NULL, step_cb, &st, &cause),
	       &st) == 0 &&
		st.status == 201,
	    "chunked: PUT with the digest");
	is_str(st.digest, digest, "chunked: the registry's digest");
	free(loc);
	step_reset(&st);
	ok(step_wait(registry_blob_head(rd, "app/chunked", digest, step_cb, &st,
			 &cause),
	       &st) == 0 &&
		st.status == 200,
	    "chunked: the blob "
	    "is there");
	step_reset(&st);
	ok(registry_blob_head(rd, "app/chunked", "sha256:nothex", step_cb, &st,
	       &cause) == NULL &&
		cause != NULL,
	    "a bad digest fails at "
	    "once");
	free(cause);
}

/* --- ECR logins ---------------------------------------------------------- */

struct login {
	int    done;
	int    error;
	int    cached;
	char  *user;
	char  *password;
	char  *endpoint;
	time_t expires;
};

static void
login_cb(int error, const char *message, const struct registry_ecr_login *l,
    void *arg)
{
	struct login *r = arg;

	r->done = 1;
	r->error = error;
	if (error != 0)
		tap_diag("ECR login: %s", message);
	if (l != NULL) {
		r->user = xstrdup(l->username);
		r->password = xstrdup(l->password);
		r->endpoint = xstrdup(l->endpoint);
		r->expires = l->expires;
		r->cached = l->cached;
	}
}

static void
login_free(struct login *r)
{
	free(r->user);
	freezero_str(r->password);
	free(r->endpoint);
	memset(r, 0, sizeof *r);
}

static int
login(struct registry_ecr *ecr, struct login *r)
{
	char *cause = NULL;

	memset(r, 0, sizeof *r);
	if (registry_ecr_login(ecr, NULL, NULL, login_cb, r, &cause) != 0) {
		tap_diag("registry_ecr_login: %s", cause);
		free(cause);
		return (-1);
	}
	ok(!r->done, "ECR login: no callback from inside the call");
	while (!r->done && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	return (r->done && r->error == 0 ? 0 : -1);
}

static const char *
fake_endpoint_cb(const char *service, void *arg)
{
	(void)service;
	return (((struct fakeaws *)arg)->url);
}

static int
ecr_calls(struct fakeaws *fake)
{
	struct fakeaws_reply r;
	const char	    *p;
	int		     n = 0;

	fakeaws_control(fake, "GET", "/_fake/calls", NULL, &r);
	if (r.body != NULL &&
	    (p = strstr(r.body, "\"GetAuthorizationToken\"")) != NULL)
		n = atoi(strchr(p, ':') + 1);
	free(r.body);
	return (n);
}

static void
test_ecr(struct server *src, const char *one_top)
{
	struct fakeaws		  fake;
	struct aws_client_options opts;
	struct aws_creds	 *creds;
	struct aws_client	 *client;
	struct registry_ecr	 *ecr;
	struct registry		 *rs, *rd;
	struct server		  ecrreg;
	struct fakeaws_reply	  fr;
	struct login		  l1, l2, l3;
	struct promote_image	  im = { "app/one", "v1", NULL, NULL };
	struct copy		  c;
	char			 *htp, *userpwd, *url;

	if (fakeaws_start(&fake) != 0) {
		ok(0, "the fake AWS endpoint starts");
		return;
	}
	creds = aws_creds_static_new(FAKEAWS_ACCESS_KEY_ID, FAKEAWS_SECRET_KEY,
	    NULL, "test");
	memset(&opts, 0, sizeof opts);
	opts.region = FAKEAWS_REGION;
	opts.max_attempts = 2;
	opts.backoff_base_ms = 5;
	opts.backoff_max_ms = 50;
	opts.timeout_ms = 20000;
	opts.endpoint_override = fake_endpoint_cb;
	opts.endpoint_arg = &fake;
	client = aws_client_new(&loop, http, creds, &opts);
	ecr = registry_ecr_new(client, 0);

	ok(login(ecr, &l1) == 0, "ECR: GetAuthorizationToken through the "
				 "adapter");
	is_str(l1.user, "AWS", "ECR: user AWS");
	is_str(l1.endpoint,
	    "https://" FAKEAWS_ACCOUNT ".dkr.ecr." FAKEAWS_REGION
	    ".amazonaws.com",
	    "ECR: the account's endpoint");
	ok(l1.expires > time(NULL) + 3600 && !l1.cached, "ECR: a fresh login "
							 "valid for hours");
	fakeaws_control(&fake, "GET", "/_fake/state", NULL, &fr);
	ok(l1.password != NULL && contains(fr.body, l1.password),
	    "ECR: the password is the one the fake issued");
	free(fr.body);
	ok(login(ecr, &l2) == 0 && l2.cached && l2.password != NULL &&
		l1.password != NULL && strcmp(l2.password, l1.password) == 0,
	    "ECR: the second login comes from the cache");
	is_int(ecr_calls(&fake), 1, "ECR: one GetAuthorizationToken call");
	is_int(registry_ecr_cached(ecr), 1, "ECR: one cached login");
	registry_ecr_free(ecr);
	/* A margin longer than the token's life: never good enough. */
	ecr = registry_ecr_new(client, 13 * 3600);
	ok(login(ecr, &l3) == 0 && !l3.cached, "ECR: a login about to expire "
					       "is renewed");
	login_free(&l2);
	ok(login(ecr, &l2) == 0 && !l2.cached, "ECR: and renewed again");
	is_int(ecr_calls(&fake), 3, "ECR: one call per renewal");
	login_free(&l2);
	login_free(&l3);

	/* A registry that knows only "AWS:<the issued password>". */
	htp = xasprintf("%s/htpasswd-ecr", tmpdir);
	if (l1.password == NULL ||
	    run(NULL,
		"%s -bBc -C 4 %s AWS '%s' "
		"2>/dev/null",
		HTPASSWD, htp, l1.password) != 0 ||
	    registry_start(&ecrreg, "ecr", htp) != 0) {
		ok(0, "ECR: a registry with the token's password starts");
		goto out;
	}
	url = xasprintf("%s/v2/", ecrreg.url);
	userpwd = xasprintf("AWS:%s", "not-the-password");
	is_int(http_status(url, userpwd, NULL, 0), 401,
	    "ECR registry: "
	    "another password is refused");
	free(userpwd);
	free(url);
	rs = reg(src->url, NULL, NULL);
	rd = reg(ecrreg.url, NULL, NULL);
	{
		struct registry_ecr_login el;

		memset(&el, 0, sizeof el);
		el.username = l1.user;
		el.password = l1.password;
		registry_ecr_apply(&el, rd);
	}
	ok(copy(&c, rs, rd, &im, 1, 0) == 0 && c.error[0] == 0,
	    "ECR: copied with the token's Basic credentials");
	is_str(c.dst_digest[0], one_top, "ECR: digest for digest");
	copy_free(&c);
	registry_free(rs);
	registry_free(rd);
	server_stop(&ecrreg);
out:
	free(htp);
	login_free(&l1);
	registry_ecr_free(ecr);
	aws_client_free(client);
	while (uv_run(&loop, UV_RUN_NOWAIT) != 0)
		;
	aws_creds_free(creds);
	fakeaws_stop(&fake);
}

/* --- the cases ----------------------------------------------------------- */

static void
closed_cb(void *arg)
{
	*(int *)arg = 1;
}

int
main(void)
{
	struct server	       src, dst, flip, bearer, grow, redir, deny;
	struct registry	      *rs, *rd, *rbad, *rflip;
	struct registry	      *rbearer, *rbearer2;
	struct registry	      *rgrow, *rredir, *rdeny, *rcfg;
	struct config_registry cr;
	char		      *pwfile;
	struct promote_image   im[3];
	struct copy	       c;
	char		      *one, *multi, *part, *bad, *listing = NULL;
	char		      *htp, *url, *p, *cause = NULL, *two = NULL;
	char		       layer[80], child[2][80];
	const char	      *srcdir;
	int		       closed = 0, i;

	log_init("test-promote");
	log_set_level(LOG_LEVEL_WARNING);
	srandom(getpid());
	test_pure();
	if (access(DOCKER_REGISTRY, X_OK) != 0 || access(SKOPEO, X_OK) != 0 ||
	    access(HTPASSWD, X_OK) != 0) {
		/* The pure tests above ran; the copies need the tools. */
		tap_skip("docker-registry, skopeo or htpasswd missing "
			 "(scripts/install-deps)");
		return (tap_done());
	}
	python = getenv("TEST_PYTHON") != NULL ? getenv("TEST_PYTHON") :
						 "/usr/bin/python3";
	srcdir = getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".";
	snprintf(fixture, sizeof fixture, "%s/tests/unit/registry-fixture.py",
	    srcdir);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test-promote.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	uv_loop_init(&loop);
	http = http_client_new(&loop);

	htp = xasprintf("%s/htpasswd", tmpdir);
	run(NULL, "%s -nbB -C 4 alice s3cret > %s", HTPASSWD, htp);
	ok(registry_start(&src, "src", NULL) == 0, "source registry starts");
	ok(registry_start(&dst, "dst", htp) == 0, "destination registry "
						  "(basic auth) starts");

	one = make_image(src.url, NULL, "app/one:v1",
	    "--layers 3 --size "
	    "70000 --seed 1",
	    NULL);
	multi = make_image(src.url, NULL, "app/multi:v1",
	    "--layers 2 --size "
	    "50000 --seed 2 --arch amd64,arm64,s390x",
	    &listing);
	memset(child, 0, sizeof child);
	for (i = 0, p = listing;
	     i < 2 && p != NULL && (p = strstr(p, "manifest=")) != NULL;
	     i++, p += 9)
		snprintf(child[i], sizeof child[i], "%.71s", p + 9);
	free(listing);
	/* Same seed and sizes: part's first two layers are old's. */
	part = make_image(src.url, NULL, "app/part:v1",
	    "--layers 4 --size "
	    "60000 --seed 3",
	    NULL);
	free(make_image(dst.url, "alice:s3cret", "app/part:old",
	    "--layers 2 "
	    "--size 60000 --seed 3",
	    NULL));
	bad = make_image(src.url, NULL, "app/bad:v1",
	    "--layers 2 --size "
	    "300000 --seed 4",
	    &listing);
	memset(layer, 0, sizeof layer);
	if ((p = strstr(listing, "blob=")) != NULL)
		snprintf(layer, sizeof layer, "%.71s", p + 5);
	free(listing);
	ok(one != NULL && multi != NULL && part != NULL && bad != NULL &&
		child[1][0] != '\0' && layer[0] != '\0',
	    "test images pushed with "
	    "skopeo");

	rs = reg(src.url, NULL, NULL);
	rd = reg(dst.url, "alice", "s3cret");

	/* Full copy (a PATCH then PUT per blob, a 64 KiB ring). */
	im[0] = (struct promote_image){ "app/one", "v1", NULL, NULL };
	ok(copy(&c, rs, rd, im, 1, 0) == 0 && c.n == 1, "full copy: done");
	is_int(c.error[0], 0, "full copy: no error");
	is_str(c.src_digest[0], one, "full copy: source digest");
	is_str(c.dst_digest[0], one, "full copy: destination digest read back");
	is_int(c.copied[0], 4, "full copy: 3 layers and the config copied");
	is_int(c.skipped[0], 0, "full copy: nothing skipped");
	ok(c.bytes_copied[0] > 3 * 70000, "full copy: bytes counted");
	is_int(c.manifests[0], 1, "full copy: one manifest pushed");
	is_int(c.image_cbs, 1, "full copy: the image callback ran");
	is_int(c.tagged[0], 1, "full copy: tagged");
	copy_free(&c);
	url = xasprintf("%s/v2/app/one/manifests/v1", dst.url);
	is_int(http_status(url, "alice:s3cret", REGISTRY_MT_OCI_MANIFEST, 1),
	    200, "full copy: tagged at the destination");
	free(url);

	/* Again: every blob is there. */
	ok(copy(&c, rs, rd, im, 1, 0) == 0 && c.error[0] == 0, "second copy: "
							       "done");
	is_int(c.copied[0], 0, "second copy: nothing copied");
	is_int(c.skipped[0], 4, "second copy: every blob skipped");
	ok(c.bytes_skipped[0] > 3 * 70000 && c.bytes_copied[0] == 0,
	    "second copy: bytes skipped counted");
	is_int(c.tagged[0], 0,
	    "second copy: the tag already named the "
	    "digest: left alone");
	is_str(c.dst_digest[0], one, "second copy: digest for digest");
	copy_free(&c);

	test_chunked(rd);

	/* A registry from the configuration: the password file is read. */
	pwfile = xasprintf("%s/registry-password", tmpdir);
	run(NULL, "umask 077; printf 's3cret\\n' > %s", pwfile);
	memset(&cr, 0, sizeof cr);
	cr.host = dst.url + 7;
	cr.url = dst.url;
	cr.username = (char[]){ "alice" };
	cr.password_file = pwfile;
	rcfg = registry_new_config(http, &cr, &cause);
	im[0] = (struct promote_image){ "app/one", "v1", "app/viaconfig",
		NULL };
	ok(rcfg != NULL && copy(&c, rs, rcfg, im, 1, 0) == 0 && c.error[0] == 0,
	    "configured registry: its password file used");
	copy_free(&c);
	registry_free(rcfg);
	cr.password_file = (char[]){ "/nonexistent/password" };
	ok(registry_new_config(http, &cr, &cause) == NULL &&
		contains(cause, "/nonexistent/password"),
	    "configured registry: a "
	    "missing password file is named");
	free(cause);
	cause = NULL;
	free(pwfile);

	/* A destination that answers HEAD with its storage's URL for the
	   blobs it holds: present, not followed. */
	if (proxy_start(&redir, dst.url, "--redirect-blobs", NULL) != 0)
		ok(0, "the redirecting proxy starts");
	rredir = reg(redir.url, "alice", "s3cret");
	im[0] = (struct promote_image){ "app/one", "v1", NULL, NULL };
	ok(copy(&c, rs, rredir, im, 1, 0) == 0 && c.error[0] == 0 &&
		c.skipped[0] == 4,
	    "HEAD answered with a redirect: the blob is "
	    "there");
	copy_free(&c);
	registry_free(rredir);
	server_stop(&redir);

	/* A partial destination: two layers already there. */
	im[0] = (struct promote_image){ "app/part", "v1", NULL, NULL };
	ok(copy(&c, rs, rd, im, 1, COPY_MONOLITHIC) == 0 && c.error[0] == 0,
	    "partial destination: done (monolithic PUT uploads)");
	is_int(c.skipped[0], 2,
	    "partial destination: the two present layers "
	    "skipped");
	is_int(c.copied[0], 3,
	    "partial destination: two layers and the "
	    "config copied");
	is_str(c.dst_digest[0], part, "partial destination: digest for digest");
	copy_free(&c);

	/* A multi-arch index, every platform, digest preserved; and two
	   images in one promotion, the second by digest under a new name. */
	im[0] = (struct promote_image){ "app/multi", "v1", NULL, NULL };
	im[1] = (struct promote_image){ "app/one", one, "app/renamed", NULL };
	ok(copy(&c, rs, rd, im, 2, 0) == 0 && c.n == 2 && c.error[0] == 0 &&
		c.error[1] == 0,
	    "index and digest: done");
	is_str(c.src_digest[0], multi, "index: source digest");
	is_str(c.dst_digest[0], multi, "index: digest preserved");
	is_int(c.manifests[0], 4,
	    "index: three platforms' manifests and the "
	    "index pushed");
	is_int(c.copied[0], 9, "index: every platform's layers and configs");
	is_int(c.image_cbs, 2, "two images: two image callbacks");
	for (i = 0; i < 2; i++) {
		url = xasprintf("%s/v2/app/multi/manifests/%s", dst.url,
		    child[i]);
		is_int(http_status(url, "alice:s3cret",
			   REGISTRY_MT_OCI_MANIFEST, 1),
		    200,
		    "index: platform "
		    "manifest %d at the destination",
		    i);
		free(url);
	}
	is_str(c.dst_digest[1], one, "by digest: copied under another name");
	is_int(c.skipped[1], 0, "by digest: blobs are per repository");
	copy_free(&c);
	url = xasprintf("%s/v2/app/renamed/tags/list", dst.url);
	run(&two, "curl -s -u alice:s3cret %s", url);
	ok(two != NULL && strstr(two, "\"tags\":[\"") == NULL,
	    "by digest: no tag made");
	if (two != NULL && strstr(two, "\"tags\":[\"") != NULL)
		tap_diag("tags: %s", two);
	free(two);
	free(url);

	/* A byte flipped on its way: a digest mismatch, nothing tagged. */
	if (proxy_start(&flip, src.url, "--flip", layer) != 0)
		ok(0, "the flipping proxy starts");
	rflip = reg(flip.url, NULL, NULL);
	im[0] = (struct promote_image){ "app/bad", "v1", NULL, NULL };
	ok(copy(&c, rflip, rd, im, 1, 0) == 0, "corrupted blob: done");
	is_int(c.error[0], REGISTRY_EDIGEST, "corrupted blob: digest mismatch");
	ok(contains(c.reason[0], "app/bad:v1") &&
		contains(c.reason[0], layer) &&
		contains(c.reason[0], "hash to"),
	    "corrupted blob: the reason names the image and the blob");
	ok(c.dst_digest[0] == NULL, "corrupted blob: nothing read back");
	copy_free(&c);
	url = xasprintf("%s/v2/app/bad/manifests/v1", dst.url);
	is_int(http_status(url, "alice:s3cret", REGISTRY_MT_OCI_MANIFEST, 1),
	    404, "corrupted blob: not tagged at the destination");
	free(url);
	url = xasprintf("%s/v2/app/bad/blobs/%s", dst.url, layer);
	is_int(http_status(url, "alice:s3cret", NULL, 1), 404,
	    "corrupted blob: the blob's upload never completed");
	free(url);
	/* The same image without the proxy: the interrupted copy resumes. */
	ok(copy(&c, rs, rd, im, 1, 0) == 0 && c.error[0] == 0 &&
		c.skipped[0] >= 1 && c.copied[0] >= 1,
	    "after the failure: the "
	    "copy completes, blobs already there skipped");
	is_str(c.dst_digest[0], bad, "after the failure: digest for digest");
	copy_free(&c);
	registry_free(rflip);
	server_stop(&flip);

	/* Wrong credentials: 401, named. */
	rbad = reg(dst.url, "alice", "wrong");
	im[0] = (struct promote_image){ "app/one", "v1", "app/other", NULL };
	ok(copy(&c, rs, rbad, im, 1, 0) == 0, "wrong credentials: done");
	is_int(c.error[0], REGISTRY_EAUTH, "wrong credentials: unauthorized");
	ok(contains(c.reason[0], "401") &&
		contains(c.reason[0], "app/one:v1") &&
		contains(c.reason[0], dst.url + 7),
	    "wrong credentials: the reason names 401, image and registry");
	copy_free(&c);
	registry_free(rbad);

	/* A missing tag: 404, named. */
	im[0] = (struct promote_image){ "app/one", "nope", NULL, NULL };
	ok(copy(&c, rs, rd, im, 1, 0) == 0, "missing tag: done");
	is_int(c.error[0], REGISTRY_ENOTFOUND, "missing tag: not found");
	ok(contains(c.reason[0], "404") &&
		contains(c.reason[0], "MANIFEST_UNKNOWN") &&
		contains(c.reason[0], "app/one:nope"),
	    "missing tag: the reason names 404, the registry's code, the "
	    "image");
	copy_free(&c);

	/* A source behind Bearer tokens (the challenge, the realm). */
	if (proxy_start(&bearer, src.url, "--bearer", "bob:tok3n") != 0)
		ok(0, "the bearer proxy starts");
	rbearer = reg(bearer.url, "bob", "tok3n");
	im[0] = (struct promote_image){ "app/one", "v1", "app/viabearer",
		NULL };
	ok(copy(&c, rbearer, rd, im, 1, 0) == 0 && c.error[0] == 0,
	    "bearer: copied through a token challenge");
	is_str(c.dst_digest[0], one, "bearer: digest for digest");
	copy_free(&c);
	rbearer2 = reg(bearer.url, "bob", "nope");
	ok(copy(&c, rbearer2, rd, im, 1, 0) == 0 &&
		c.error[0] == REGISTRY_EAUTH && contains(c.reason[0], "token"),
	    "bearer: a refused login at the realm is named");
	copy_free(&c);
	registry_free(rbearer);
	registry_free(rbearer2);
	server_stop(&bearer);

	/* A blob one byte longer than its manifest says: a size mismatch. */
	if (proxy_start(&grow, src.url, "--grow", layer) != 0)
		ok(0, "the growing proxy starts");
	rgrow = reg(grow.url, NULL, NULL);
	im[0] = (struct promote_image){ "app/bad", "v1", "app/grown", NULL };
	ok(copy(&c, rgrow, rd, im, 1, 0) == 0, "longer blob: done");
	is_int(c.error[0], REGISTRY_ESIZE, "longer blob: size mismatch");
	ok(contains(c.reason[0], layer) && contains(c.reason[0], "more than"),
	    "longer blob: the reason names the blob and the size");
	copy_free(&c);
	registry_free(rgrow);
	server_stop(&grow);

	/* Manifests served as application/json: their own mediaType. */
	if (proxy_start(&grow, src.url, "--plain-manifests", NULL) != 0)
		ok(0, "the plain proxy starts");
	rgrow = reg(grow.url, NULL, NULL);
	im[0] = (struct promote_image){ "app/multi", "v1", "app/plain", NULL };
	ok(copy(&c, rgrow, rd, im, 1, 0) == 0 && c.error[0] == 0 &&
		c.manifests[0] == 4,
	    "generic Content-Type: copied");
	is_str(c.dst_digest[0], multi,
	    "generic Content-Type: digest for "
	    "digest");
	copy_free(&c);
	url = xasprintf("%s/v2/app/plain/manifests/v1", dst.url);
	run(&two, "curl -sI -u alice:s3cret -H 'Accept: %s' %s",
	    REGISTRY_MT_OCI_INDEX, url);
	ok(contains(two, REGISTRY_MT_OCI_INDEX),
	    "generic Content-Type: "
	    "pushed with the index's own type");
	free(two);
	two = NULL;
	free(url);
	registry_free(rgrow);
	server_stop(&grow);

	/* A 503 on a blob's first GET: the blob starts again. */
	if (proxy_start(&grow, src.url, "--fail-once", layer) != 0)
		ok(0, "the failing proxy starts");
	rgrow = reg(grow.url, NULL, NULL);
	im[0] = (struct promote_image){ "app/bad", "v1", "app/retried", NULL };
	ok(copy(&c, rgrow, rd, im, 1, 0) == 0 && c.error[0] == 0 &&
		c.copied[0] == 3,
	    "503 once: copied");
	is_int(c.retries[0], 1, "503 once: one blob retried");
	is_str(c.dst_digest[0], bad, "503 once: digest for digest");
	copy_free(&c);
	registry_free(rgrow);
	server_stop(&grow);

	/* Blobs redirected to storage on another host name: followed, and
	   the registry's credentials are not sent there (the storage
	   refuses any Authorization header with 403). */
	if (proxy_start(&redir, src.url, "--redirect-blobs", NULL) != 0)
		ok(0, "the redirecting proxy starts");
	rredir = reg(redir.url, "carol", "secret-for-the-registry-only");
	im[0] = (struct promote_image){ "app/one", "v1", "app/redirected",
		NULL };
	ok(copy(&c, rredir, rd, im, 1, 0) == 0 && c.error[0] == 0 &&
		c.copied[0] == 4,
	    "redirected blobs: followed without the "
	    "registry's credentials");
	is_str(c.dst_digest[0], one, "redirected blobs: digest for digest");
	copy_free(&c);
	registry_free(rredir);
	server_stop(&redir);

	/* A destination that refuses pushes: 403, named. */
	if (proxy_start(&deny, dst.url, "--deny-push", NULL) != 0)
		ok(0, "the refusing proxy starts");
	rdeny = reg(deny.url, "alice", "s3cret");
	im[0] = (struct promote_image){ "app/one", "v1", "app/denied", NULL };
	ok(copy(&c, rs, rdeny, im, 1, 0) == 0, "403: done");
	is_int(c.error[0], REGISTRY_EDENIED, "403: denied");
	ok(contains(c.reason[0], "403") && contains(c.reason[0], "DENIED") &&
		contains(c.reason[0], "app/denied"),
	    "403: the reason names the "
	    "status, the registry's code and the repository");
	copy_free(&c);
	registry_free(rdeny);
	server_stop(&deny);

	/* Cancelled at once, and from the first image's callback. */
	im[0] = (struct promote_image){ "app/multi", "v1", "app/cancelled",
		NULL };
	im[1] = (struct promote_image){ "app/one", "v1", "app/cancelled",
		NULL };
	ok(copy(&c, rs, rd, im, 2, COPY_CANCEL_AT_ONCE) == 0 && c.n == 2 &&
		c.error[0] == REGISTRY_ECANCELLED &&
		c.error[1] == REGISTRY_ECANCELLED,
	    "cancel at once: every image "
	    "cancelled, one callback");
	copy_free(&c);
	url = xasprintf("%s/v2/app/cancelled/manifests/v1", dst.url);
	is_int(http_status(url, "alice:s3cret", REGISTRY_MT_OCI_INDEX, 1), 404,
	    "cancel at once: nothing tagged");
	free(url);
	im[0] = (struct promote_image){ "app/one", "v1", "app/cancelled",
		NULL };
	im[1] = (struct promote_image){ "app/multi", "v1", "app/cancelled",
		NULL };
	ok(copy(&c, rs, rd, im, 2, COPY_CANCEL_AFTER_ONE) == 0 && c.n == 2 &&
		c.error[0] == 0 && c.error[1] == REGISTRY_ECANCELLED,
	    "cancel after the first image: it stands, the second is "
	    "cancelled");
	copy_free(&c);

	/* A tag naming another digest at the destination is moved. */
	im[0] = (struct promote_image){ "app/part", "v1", "app/one", "v1" };
	ok(copy(&c, rs, rd, im, 1, 0) == 0 && c.error[0] == 0 &&
		c.tagged[0] == 1,
	    "moved tag: pushed");
	is_str(c.dst_digest[0], part, "moved tag: now the new digest");
	copy_free(&c);

	/* Bad input fails synchronously. */
	im[0] = (struct promote_image){ "App/One", "v1", NULL, NULL };
	ok(promote_start(rs, rd, im, 1, NULL, copy_done_cb, &c, &cause) ==
		    NULL &&
		cause != NULL,
	    "a bad repository name fails at once");
	free(cause);

	test_ecr(&src, one);

	registry_free(rs);
	registry_free(rd);
	http_client_close(http, closed_cb, &closed);
	while (!closed && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	is_int(uv_loop_close(&loop), 0, "uv_loop_close() == 0");
	server_stop(&src);
	server_stop(&dst);
	run(NULL, "rm -rf %s", tmpdir);
	free(one);
	free(multi);
	free(part);
	free(bad);
	free(htp);
	return (tap_done());
}
