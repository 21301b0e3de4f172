/*
 * The control socket with fake handlers (control-fake.h) and a real,
 * seeded store: every command's request and reply, refusals passed
 * through with their detail, bad requests answered on a connection that
 * stays usable, too long lines, pipelining, the connection limit, a
 * client that does not read, the peer's Unix user, the socket's mode,
 * stale and busy socket files, and ctl_request's "cannot reach".
 *
 * The loop runs in the main thread; the client side runs in a second
 * thread with blocking sockets and prints the TAP lines while the loop
 * serves it (the loop thread prints none meanwhile).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "control-fake.h"
#include "control.h"
#include "ctl-client.h"
#include "log.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

static char	       tmpdir[] = "/tmp/test-control.XXXXXX";
static char	      *sock1, *sock2, *sock3;
static uv_async_t      done_async;
static struct control *control1, *control2, *control3;
static int	       closed;
static char	       me[256];
static char	       me_as_bob[300];
/* 100 characters: 50 two-byte ones and 50 ASCII. */
#define LABEL_100                                                      \
	"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" \
	"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" \
	"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" \
	"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" \
	"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" \
	"01234567890123456789012345678901234567890123456789"

/* --- A raw client: lines in, lines out ------------------------------------ */

struct rconn {
	int    fd;
	char   buf[1 << 16];
	size_t len;
};

static struct rconn *
rconn_open(const char *path)
{
	struct sockaddr_un sun;
	struct timeval	   tv = { 20, 0 };
	struct rconn	  *rc;

	rc = xcalloc(1, sizeof *rc);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((rc->fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(rc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
	    connect(rc->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		tap_diag("connect %s: %s", path, strerror(errno));
		if (rc->fd != -1)
			close(rc->fd);
		free(rc);
		return (NULL);
	}
	return (rc);
}

static void
rconn_close(struct rconn *rc)
{
	if (rc == NULL)
		return;
	close(rc->fd);
	free(rc);
}

static int
rconn_send(struct rconn *rc, const char *data, size_t len)
{
	ssize_t n;
	size_t	off;

	for (off = 0; off < len; off += (size_t)n) {
		if ((n = send(rc->fd, data + off, len - off, MSG_NOSIGNAL)) <=
		    0)
			return (-1);
	}
	return (0);
}

static int
rconn_sends(struct rconn *rc, const char *s)
{
	return (rconn_send(rc, s, strlen(s)));
}

/* One reply line (without newline), NULL at EOF or after 20 s. */
static char *
rconn_line(struct rconn *rc)
{
	char   *nl, *line;
	ssize_t n;

	for (;;) {
		if ((nl = memchr(rc->buf, '\n', rc->len)) != NULL) {
			line = xstrndup(rc->buf, (size_t)(nl - rc->buf));
			rc->len -= (size_t)(nl - rc->buf) + 1;
			memmove(rc->buf, nl + 1, rc->len);
			return (line);
		}
		if (rc->len == sizeof rc->buf)
			return (NULL);
		n = read(rc->fd, rc->buf + rc->len, sizeof rc->buf - rc->len);
		if (n <= 0)
			return (NULL);
		rc->len += (size_t)n;
	}
}

/* One reply, parsed (NULL at EOF). */
static json_t *
rconn_reply(struct rconn *rc)
{
	json_t *v;
	char   *line;

	if ((line = rconn_line(rc)) == NULL)
		return (NULL);
	v = json_loads(line, 0, NULL);
	free(line);
	return (v);
}

/* --- Helpers over ctl_request -------------------------------------------- */

static json_t *
request(const char *path, const char *text)
{
	json_t *req, *reply = NULL;
	char   *cause = NULL;

	if ((req = json_loads(text, 0, NULL)) == NULL) {
		tap_diag("bad test request %s", text);
		return (NULL);
	}
	if (ctl_request(path, req, &reply, NULL, &cause) != 0) {
		tap_diag("request %s: %s", text, cause);
		free(cause);
	}
	json_decref(req);
	return (reply);
}

static const char *
jstr(const json_t *o, const char *path)
{
	return (json_string_value(json_object_get(o, path)));
}

static long long
jint(const json_t *o, const char *key)
{
	return ((long long)json_integer_value(json_object_get(o, key)));
}

static int
is_ok(const json_t *reply)
{
	return (json_is_true(json_object_get(reply, "ok")));
}

/* A refusal named error, with detail (if not NULL). */
static void
refused(json_t *reply, const char *error, const char *detail, const char *name)
{
	ok(reply != NULL && !is_ok(reply), "%s: refused", name);
	is_str(jstr(reply, "error"), error, "%s: error %s", name, error);
	if (detail != NULL)
		is_str(jstr(reply, "detail"), detail, "%s: detail", name);
	json_decref(reply);
}

/* --- The client thread ---------------------------------------------------- */

static void
test_runs(void)
{
	json_t *r, *runs, *run;

	r = request(sock1, "{\"command\": \"runs\"}");
	ok(is_ok(r), "runs: ok");
	runs = json_object_get(r, "runs");
	is_int((long long)json_array_size(runs), 3, "runs: three");
	is_int(jint(json_array_get(runs, 0), "id"), 3, "runs: newest first");
	run = json_array_get(runs, 2);
	is_int(jint(run, "id"), 1, "runs: run 1 last");
	is_str(jstr(run, "app"), "billing", "runs: app");
	is_str(jstr(run, "version"), "1.4.2", "runs: version");
	is_str(jstr(run, "author"), "alice", "runs: author");
	is_str(jstr(json_object_get(run, "source"), "url"),
	    "s3://releases/billing-1.4.2.zip", "runs: the release's S3 object");
	is_str(jstr(run, "status"), "running", "runs: status");
	is_str(jstr(json_object_get(run, "stage"), "env"), "stg",
	    "runs: current stage");
	is_str(jstr(json_object_get(run, "stage"), "status"),
	    "awaiting_approval", "runs: current stage's status");
	is_str(jstr(run, "created_at"), "2023-11-14T22:13:20Z",
	    "runs: created in UTC ISO 8601");
	ok(json_is_null(json_object_get(r, "next_before")),
	    "runs: no next page");
	json_decref(r);

	r = request(sock1, "{\"command\": \"runs\", \"app\": \"payroll\"}");
	runs = json_object_get(r, "runs");
	ok(json_array_size(runs) == 1 &&
		jint(json_array_get(runs, 0), "id") == 2,
	    "runs: by app");
	json_decref(r);
	r = request(sock1, "{\"command\": \"runs\", \"status\": \"received\"}");
	runs = json_object_get(r, "runs");
	ok(json_array_size(runs) == 1 &&
		jint(json_array_get(runs, 0), "id") == 3,
	    "runs: by status");
	json_decref(r);
	r = request(sock1, "{\"command\": \"runs\", \"limit\": 1}");
	ok(json_array_size(json_object_get(r, "runs")) == 1, "runs: limit");
	is_int(jint(r, "next_before"), 3, "runs: next page");
	json_decref(r);
	r = request(sock1, "{\"command\": \"runs\", \"limit\": 1, "
			   "\"before\": 3, \"app\": \"billing\"}");
	runs = json_object_get(r, "runs");
	ok(json_array_size(runs) == 1 &&
		jint(json_array_get(runs, 0), "id") == 1,
	    "runs: before");
	json_decref(r);

	refused(request(sock1, "{\"command\": \"runs\", \"status\": \"nap\"}"),
	    "bad_request", "unknown run status \"nap\"", "runs: bad status");
	refused(request(sock1, "{\"command\": \"runs\", \"limit\": 0}"),
	    "bad_request", NULL, "runs: limit 0");
	refused(request(sock1, "{\"command\": \"runs\", \"app\": 7}"),
	    "bad_request", "\"app\" must be a string",
	    "runs: app not a string");
}

static void
test_show(void)
{
	json_t *r, *run, *stages, *st, *c, *a, *e;

	r = request(sock1, "{\"command\": \"show\", \"run\": 1}");
	ok(is_ok(r), "show: ok");
	run = json_object_get(r, "run");
	is_int(jint(run, "id"), 1, "show: id");
	is_str(jstr(run, "message"), "Fix invoice rounding", "show: message");
	is_str(jstr(run, "author"), "alice", "show: author");
	ok(strcmp(jstr(json_object_get(run, "source"), "bucket") ?: "",
	       "releases") == 0 &&
		strcmp(jstr(json_object_get(run, "source"), "key") ?: "",
		    "billing-1.4.2.zip") == 0 &&
		json_is_null(json_object_get(json_object_get(run, "source"),
		    "version_id")),
	    "show: source bucket and key, no version id");
	is_int((long long)json_array_size(json_object_get(run, "images")), 2,
	    "show: images from release.json");
	is_str(jstr(json_array_get(json_object_get(run, "images"), 0),
		   "repository"),
	    "billing/web", "show: image repository");
	stages = json_object_get(run, "stages");
	is_int((long long)json_array_size(stages), 3, "show: three stages");
	st = json_array_get(stages, 0);
	is_str(jstr(st, "env"), "int", "show: stage env");
	is_str(jstr(st, "status"), "done", "show: stage status");
	is_int(jint(st, "duration_ms"), 240000, "show: stage duration");
	is_int((long long)json_array_size(json_object_get(st, "changes")), 3,
	    "show: the stage's resource changes");
	c = json_array_get(json_object_get(st, "changes"), 2);
	is_str(jstr(c, "logical_id"), "Database", "show: change logical id");
	is_str(jstr(c, "type"), "AWS::RDS::DBInstance", "show: change type");
	is_str(jstr(c, "replacement"), "True", "show: replacement");
	is_str(jstr(c, "physical_id"), "billing-db", "show: physical id");
	ok(json_is_array(json_object_get(c, "scope")), "show: scope as JSON");
	c = json_array_get(json_object_get(st, "checks"), 0);
	is_str(jstr(c, "check"), "smoke", "show: check");
	is_int(jint(c, "http_status"), 200, "show: check HTTP status");
	c = json_array_get(json_object_get(json_array_get(stages, 1),
			       "promotions"),
	    0);
	is_str(jstr(c, "image"), "billing/web", "show: promotion image");
	is_str(jstr(c, "status"), "copied", "show: promotion status");
	ok(jstr(c, "destination_digest") != NULL &&
		strcmp(jstr(c, "destination_digest"),
		    jstr(c, "source_digest")) == 0,
	    "show: promotion digests");
	is_int(jint(c, "bytes_copied"), 2000, "show: promotion bytes copied");
	is_int(jint(c, "bytes_skipped"), 500, "show: promotion bytes skipped");
	is_int(jint(c, "duration_ms"), 1500, "show: promotion time");
	is_int((long long)json_array_size(
		   json_object_get(json_array_get(stages, 0), "promotions")),
	    0, "show: no promotion at int");
	st = json_array_get(stages, 2);
	ok(json_is_null(json_object_get(st, "started_at")) &&
		json_is_null(json_object_get(st, "duration_ms")),
	    "show: a pending stage has no times");
	is_int(jint(st, "required_approvals"), 2, "show: required approvals");

	a = json_object_get(run, "approvals");
	is_int((long long)json_array_size(a), 1, "show: one approval");
	is_str(jstr(json_array_get(a, 0), "user"), "alice", "show: approver");
	is_str(jstr(json_array_get(a, 0), "decision"), "approve",
	    "show: decision");
	is_str(jstr(json_array_get(a, 0), "env"), "int", "show: approval env");
	is_str(jstr(json_array_get(a, 0), "comment"), "looks good",
	    "show: approval comment");

	a = json_object_get(run, "audit");
	is_int((long long)json_array_size(a), 3, "show: audit trail");
	e = json_array_get(a, 0);
	is_str(jstr(e, "action"), "run received -> running",
	    "show: audit oldest first");
	e = json_array_get(a, 1);
	is_str(jstr(e, "unix_user"), "ops", "show: audit unix user");
	ok(json_is_false(json_object_get(run, "audit_truncated")),
	    "show: audit complete");
	json_decref(r);

	refused(request(sock1, "{\"command\": \"show\", \"run\": 999}"),
	    "not_found", "no run 999", "show: no such run");
	refused(request(sock1, "{\"command\": \"show\", \"run\": \"1\"}"),
	    "bad_request", "\"run\" must be a positive integer",
	    "show: run as a string");
	refused(request(sock1, "{\"command\": \"show\"}"), "bad_request",
	    "\"run\" is required", "show: no run");
}

static void
test_actions(void)
{
	json_t *r;
	int	n;

	r = request(sock1,
	    "{\"command\": \"approve\", \"run\": 1, "
	    "\"env\": \"stg\", \"as\": \"bob\", \"comment\": \"ship it\"}");
	ok(is_ok(r), "approve: ok");
	is_str(jstr(r, "command"), "approve", "approve: command echoed");
	is_int(jint(r, "run"), 1, "approve: run echoed");
	is_str(jstr(r, "env"), "stg", "approve: env echoed");
	json_decref(r);
	is_str(fake_call.command, "approve", "approve: handler called");
	is_int(fake_call.id, 1, "approve: run passed");
	is_str(fake_call.env, "stg", "approve: env passed");
	is_str(fake_call.user, "bob", "approve: --as passed");
	is_str(fake_call.via, "cli", "approve: via cli");
	is_str(fake_call.unix_user, me_as_bob,
	    "approve: the peer's Unix "
	    "user (SO_PEERCRED), acting as bob");
	is_str(fake_call.person, "ops",
	    "approve: the person is the peer's "
	    "mapped user, not the name given");
	is_str(fake_call.comment, "ship it", "approve: comment passed");

	refused(request(sock1, "{\"command\": \"approve\", \"run\": 1, "
			       "\"env\": \"prod\", \"as\": \"mallory\"}"),
	    "forbidden", "mallory may not approve prod: not in project-team",
	    "approve: forbidden passed through");
	ok(fake_call.comment == NULL, "approve: no comment is NULL");

	n = fake_call.n;
	refused(request(sock1, "{\"command\": \"reject\", \"run\": 1, "
			       "\"env\": \"stg\", \"as\": \"bob\"}"),
	    "bad_request", "a rejection needs a comment",
	    "reject: comment required");
	refused(
	    request(sock1,
		"{\"command\": \"reject\", \"run\": 1, "
		"\"env\": \"stg\", \"as\": \"bob\", \"comment\": \" \\t\"}"),
	    "bad_request", NULL, "reject: a blank comment is none");
	is_int(fake_call.n, n, "reject: handler not called without comment");
	r = request(sock1,
	    "{\"command\": \"reject\", \"run\": 1, "
	    "\"env\": \"stg\", \"as\": \"bob\", \"comment\": \"no\"}");
	ok(is_ok(r) && strcmp(fake_call.command, "reject") == 0 &&
		strcmp(fake_call.comment, "no") == 0,
	    "reject: ok");
	json_decref(r);

	r = request(sock1, "{\"command\": \"authorise\", \"run\": 1, "
			   "\"as\": \"carol\"}");
	ok(is_ok(r) && strcmp(fake_call.command, "authorise") == 0 &&
		fake_call.env == NULL && strcmp(fake_call.user, "carol") == 0,
	    "authorise: ok");
	json_decref(r);

	refused(request(sock1, "{\"command\": \"cancel\", \"run\": 409, "
			       "\"as\": \"bob\"}"),
	    "conflict", "run 409 is not waiting for a decision",
	    "cancel: conflict passed through");
	r = request(sock1, "{\"command\": \"cancel\", \"run\": 1, "
			   "\"as\": \"bob\", \"comment\": \"wrong build\"}");
	ok(is_ok(r) && strcmp(fake_call.command, "cancel") == 0 &&
		strcmp(fake_call.comment, "wrong build") == 0,
	    "cancel: ok with its reason");
	json_decref(r);

	refused(request(sock1, "{\"command\": \"retry\", \"run\": 1, "
			       "\"env\": \"nowhere\", \"as\": \"bob\"}"),
	    "invalid", "no environment nowhere in app billing",
	    "retry: invalid env");
	refused(request(sock1, "{\"command\": \"retry\", \"run\": 404, "
			       "\"env\": \"stg\", \"as\": \"bob\"}"),
	    "not_found", "no run 404", "retry: not found");
	r = request(sock1, "{\"command\": \"retry\", \"run\": 1, "
			   "\"env\": \"stg\", \"as\": \"bob\"}");
	ok(is_ok(r) && strcmp(fake_call.command, "retry") == 0, "retry: ok");
	json_decref(r);

	r = request(sock1, "{\"command\": \"redeploy\", \"release\": 7, "
			   "\"env\": \"prod\", \"as\": \"bob\"}");
	ok(is_ok(r), "redeploy: ok");
	is_int(jint(r, "run"), 107, "redeploy: the new run");
	is_int(jint(r, "release"), 7, "redeploy: release echoed");
	is_int(fake_call.id, 7, "redeploy: release passed");
	json_decref(r);
	refused(request(sock1, "{\"command\": \"redeploy\", \"run\": 7, "
			       "\"env\": \"prod\", \"as\": \"bob\"}"),
	    "bad_request", "\"release\" is required",
	    "redeploy: needs a release");

	r = request(sock1, "{\"command\": \"approve\", \"run\": 1, "
			   "\"env\": \"stg\"}");
	ok(is_ok(r) && strcmp(jstr(r, "as"), "ops") == 0,
	    "approve: without --as, as the peer's own user");
	json_decref(r);
	is_str(fake_call.user, "ops", "approve: the handler acts as ops");
	is_str(fake_call.unix_user, me, "approve: and says no \"acting as\"");
	r = request(sock1, "{\"command\": \"token_create\", \"user\": "
			   "\"bob\", \"label\": \"" LABEL_100 "\"}");
	ok(is_ok(r), "token_create: a label of 100 characters");
	json_decref(r);
	refused(request(sock1, "{\"command\": \"token_create\", \"user\": "
			       "\"bob\", \"label\": \"x" LABEL_100 "\"}"),
	    "bad_request", "the label is too long: at most 100 characters",
	    "token_create: a label of 101 characters is refused");
	refused(request(sock1, "{\"command\": \"approve\", \"run\": 1, "
			       "\"env\": \"stg\", \"as\": \"\"}"),
	    "bad_request", "\"as\" must not be empty", "approve: empty --as");
	refused(request(sock1, "{\"command\": \"approve\", \"run\": 1, "
			       "\"as\": \"bob\"}"),
	    "bad_request", "\"env\" is required", "approve: env required");
	refused(request(sock1, "{\"command\": \"approve\", \"run\": -1, "
			       "\"env\": \"stg\", \"as\": \"bob\"}"),
	    "bad_request", NULL, "approve: negative run");
	refused(request(sock1, "{\"command\": \"approve\", \"run\": 1.5, "
			       "\"env\": \"stg\", \"as\": \"bob\"}"),
	    "bad_request", NULL, "approve: fractional run");
	refused(request(sock1, "{\"command\": \"approve\", \"run\": 1, "
			       "\"env\": 5, \"as\": \"bob\"}"),
	    "bad_request", "\"env\" must be a string",
	    "approve: env not a string");

	/* A control without handlers answers actions, and reads. */
	refused(request(sock2, "{\"command\": \"approve\", \"run\": 1, "
			       "\"env\": \"stg\", \"as\": \"bob\"}"),
	    "not_implemented", NULL, "no handler: not_implemented");
	r = request(sock2, "{\"command\": \"runs\"}");
	ok(is_ok(r), "no handler: reads still work");
	json_decref(r);
}

static void
test_protocol(void)
{
	struct rconn *rc;
	json_t	     *r;
	char	     *big, *line;
	size_t	      i;

	if ((rc = rconn_open(sock1)) == NULL) {
		ok(0, "protocol: connect");
		return;
	}
	rconn_sends(rc, "this is not json\n");
	r = rconn_reply(rc);
	is_str(jstr(r, "error"), "bad_request", "malformed JSON: bad_request");
	ok(jstr(r, "detail") != NULL &&
		strncmp(jstr(r, "detail"), "not JSON: ", 10) == 0,
	    "malformed JSON: says so");
	json_decref(r);
	rconn_sends(rc, "{\"command\": \"runs\", \"limit\": 1}\n");
	r = rconn_reply(rc);
	ok(is_ok(r), "malformed JSON: the connection is still usable");
	json_decref(r);
	rconn_sends(rc, "[1, 2]\n");
	refused(rconn_reply(rc), "bad_request", "a request is a JSON object",
	    "an array is refused");
	rconn_sends(rc, "{}\n");
	refused(rconn_reply(rc), "bad_request",
	    "\"command\" is required (a string)", "no command");
	rconn_sends(rc, "{\"command\": \"frobnicate\"}\n");
	refused(rconn_reply(rc), "unknown_command",
	    "no command "
	    "\"frobnicate\"",
	    "unknown command");
	rconn_sends(rc, "{\"command\": \"runs\", \"command\": \"show\"}\n");
	refused(rconn_reply(rc), "bad_request", NULL, "duplicate keys");
	rconn_sends(rc, "{\"command\": \"runs\"} trailing\n");
	refused(rconn_reply(rc), "bad_request", NULL, "trailing garbage");
	rconn_sends(rc, "\n\n{\"command\": \"runs\", \"limit\": 1, "
			"\"id\": \"abc\"}\r\n");
	r = rconn_reply(rc);
	ok(is_ok(r), "empty lines are skipped, CRLF accepted");
	is_str(jstr(r, "id"), "abc", "the request's id is echoed");
	json_decref(r);
	rconn_send(rc, "{\"command\":\0\"runs\"}\n", 20);
	refused(rconn_reply(rc), "bad_request", NULL, "a NUL byte");
	rconn_sends(rc, "{\"command\": \"approve\", \"run\": 1, \"env\": "
			"\"stg\", \"as\": \"b\\u0000ob\"}\n");
	refused(rconn_reply(rc), "bad_request", NULL, "an escaped NUL");

	big = xmalloc(40001);
	memset(big, '[', 40000);
	big[40000] = '\n';
	rconn_send(rc, big, 40001);
	free(big);
	refused(rconn_reply(rc), "bad_request", NULL, "40000 nested arrays");

	/* Oversized, in one piece and then in pieces without a newline. */
	big = xmalloc(CONTROL_LINE_MAX + 4096);
	memset(big, 'x', CONTROL_LINE_MAX + 4096);
	big[CONTROL_LINE_MAX + 4095] = '\n';
	rconn_send(rc, big, CONTROL_LINE_MAX + 4096);
	refused(rconn_reply(rc), "too_long", NULL, "oversized line: too_long");
	rconn_sends(rc, "{\"command\": \"runs\", \"limit\": 1, \"id\": 1}\n");
	r = rconn_reply(rc);
	ok(is_ok(r) && jint(r, "id") == 1,
	    "oversized line: the connection is still usable");
	json_decref(r);
	for (i = 0; i < 4; i++)
		rconn_send(rc, big, CONTROL_LINE_MAX);
	rconn_sends(rc, "tail of it\n{\"command\": \"runs\", \"limit\": 1, "
			"\"id\": 2}\n");
	refused(rconn_reply(rc), "too_long", NULL,
	    "a line of 256 KiB in pieces: too_long once");
	r = rconn_reply(rc);
	ok(is_ok(r) && jint(r, "id") == 2,
	    "the rest of the long line is skipped");
	json_decref(r);
	free(big);

	/* Pipelined: replies in order. */
	rconn_sends(rc, "{\"command\": \"runs\", \"id\": 1}\n"
			"{\"command\": \"show\", \"run\": 1, \"id\": 2}\n"
			"{\"command\": \"nope\", \"id\": 3}\n");
	for (i = 1; i <= 3; i++) {
		r = rconn_reply(rc);
		is_int(jint(r, "id"), (long long)i,
		    "pipelined reply %zu in "
		    "order",
		    i);
		json_decref(r);
	}

	/* Half-closed: the last line without a newline is answered. */
	rconn_sends(rc, "{\"command\": \"runs\", \"id\": 9}");
	shutdown(rc->fd, SHUT_WR);
	r = rconn_reply(rc);
	is_int(jint(r, "id"), 9, "a last line without newline before EOF");
	json_decref(r);
	line = rconn_line(rc);
	ok(line == NULL, "then the daemon closes");
	free(line);
	rconn_close(rc);
}

static void
test_connections(void)
{
	struct rconn *rcs[CONTROL_CONNECTIONS_MAX], *extra;
	json_t	     *r;
	char	     *line;
	int	      i, good = 0, tries;

	for (i = 0; i < CONTROL_CONNECTIONS_MAX; i++) {
		rcs[i] = rconn_open(sock1);
		if (rcs[i] != NULL &&
		    rconn_sends(rcs[i], "{\"command\": \"runs\"}\n") == 0 &&
		    (r = rconn_reply(rcs[i])) != NULL) {
			good += is_ok(r);
			json_decref(r);
		}
	}
	is_int(good, CONTROL_CONNECTIONS_MAX, "%d connections served at once",
	    CONTROL_CONNECTIONS_MAX);
	extra = rconn_open(sock1);
	r = extra != NULL ? rconn_reply(extra) : NULL;
	refused(r, "busy", NULL, "one more: busy");
	line = extra != NULL ? rconn_line(extra) : NULL;
	ok(extra != NULL && line == NULL, "one more: then closed");
	free(line);
	rconn_close(extra);
	for (i = 0; i < CONTROL_CONNECTIONS_MAX; i++)
		rconn_close(rcs[i]);

	/* The closes reach the loop in their own time: no timing, retry. */
	for (tries = 0; tries < 500; tries++) {
		r = request(sock1, "{\"command\": \"runs\"}");
		if (is_ok(r))
			break;
		json_decref(r);
		r = NULL;
		usleep(10000);
	}
	ok(is_ok(r), "served again once the others left");
	json_decref(r);
}

/*
 * A client that sends without reading: the daemon stops reading it
 * (its socket fills: EAGAIN) instead of queueing replies without bound,
 * serves others meanwhile, and answers everything once it reads.
 */
static void
test_slow_client(void)
{
	struct rconn *rc;
	struct pollfd pfd;
	json_t	     *r;
	char	     *out, *line, pad[2048];
	size_t	      n = 1000, len, off = 0, i, replies = 0, bad = 0;
	ssize_t	      w;
	int	      blocked = 0, flags;

	memset(pad, 'p', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	line = xasprintf("{\"command\": \"show\", \"run\": 1, \"pad\": "
			 "\"%s\"}\n",
	    pad);
	len = strlen(line);
	out = xmalloc(n * len);
	for (i = 0; i < n; i++)
		memcpy(out + i * len, line, len);
	free(line);
	if ((rc = rconn_open(sock1)) == NULL) {
		ok(0, "slow client: connect");
		free(out);
		return;
	}
	flags = fcntl(rc->fd, F_GETFL);
	fcntl(rc->fd, F_SETFL, flags | O_NONBLOCK);
	while (off < n * len) {
		w = send(rc->fd, out + off, n * len - off, MSG_NOSIGNAL);
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			blocked = 1;
			break;
		}
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	ok(blocked, "slow client: the daemon stopped reading it");
	r = request(sock1, "{\"command\": \"runs\"}");
	ok(is_ok(r), "slow client: others are served meanwhile");
	json_decref(r);

	/* Now read everything, sending the rest as room comes. */
	while (replies < n) {
		pfd.fd = rc->fd;
		pfd.events = POLLIN | (off < n * len ? POLLOUT : 0);
		if (poll(&pfd, 1, 20000) <= 0)
			break;
		if ((pfd.revents & POLLOUT) && off < n * len) {
			w = send(rc->fd, out + off, n * len - off,
			    MSG_NOSIGNAL);
			if (w > 0)
				off += (size_t)w;
		}
		if (pfd.revents & (POLLIN | POLLHUP)) {
			w = read(rc->fd, rc->buf + rc->len,
			    sizeof rc->buf - rc->len);
			if (w == 0 || (w == -1 && errno != EAGAIN))
				break;
			if (w > 0)
				rc->len += (size_t)w;
			fcntl(rc->fd, F_SETFL, flags);
			while (memchr(rc->buf, '\n', rc->len) != NULL) {
				r = rconn_reply(rc);
				replies++;
				bad += !is_ok(r);
				json_decref(r);
			}
			fcntl(rc->fd, F_SETFL, flags | O_NONBLOCK);
		}
	}
	is_int((long long)replies, (long long)n,
	    "slow client: every request answered");
	is_int((long long)bad, 0, "slow client: every answer ok");
	rconn_close(rc);
	free(out);
}

/*
 * Many requests and then EOF: every one is answered, although their
 * replies overflow the queue and wait for the client to read, and then
 * the connection closes.
 */
static void
test_half_close(void)
{
	struct rconn *rc;
	json_t	     *r;
	char	     *line;
	size_t	      n = 600, i, replies = 0;
	const char   *req = "{\"command\": \"show\", \"run\": 1}\n";

	if ((rc = rconn_open(sock1)) == NULL) {
		ok(0, "half close: connect");
		return;
	}
	line = xmalloc(n * strlen(req) + 1);
	for (i = 0; i < n; i++)
		memcpy(line + i * strlen(req), req, strlen(req));
	rconn_send(rc, line, n * strlen(req));
	free(line);
	shutdown(rc->fd, SHUT_WR);
	while ((r = rconn_reply(rc)) != NULL) {
		replies += is_ok(r);
		json_decref(r);
	}
	is_int((long long)replies, (long long)n,
	    "half close: %zu pipelined requests answered, then EOF", n);
	rconn_close(rc);
}

/* A client that says nothing is closed (control3 waits 100 ms). */
static void
test_idle(void)
{
	struct rconn *rc;
	char	      ch;

	if ((rc = rconn_open(sock3)) == NULL) {
		ok(0, "idle: connect");
		return;
	}
	ok(read(rc->fd, &ch, 1) == 0, "a silent client is closed");
	rconn_close(rc);
}

static void
client_thread(void *arg)
{
	json_t *req;
	json_t *reply = NULL;
	char   *cause = NULL, *path;

	test_runs();
	test_show();
	test_actions();
	test_protocol();
	test_connections();
	test_slow_client();
	test_half_close();
	test_idle();

	path = xasprintf("%s/nobody.sock", tmpdir);
	req = json_pack("{s:s}", "command", "runs");
	ok(ctl_request(path, req, &reply, NULL, &cause) != 0 && cause != NULL &&
		strncmp(cause, "cannot reach shipgated at ", 26) == 0,
	    "ctl_request: cannot reach a daemon that is not there");
	tap_diag("%s", cause != NULL ? cause : "(no cause)");
	free(cause);
	free(path);
	json_decref(req);

	uv_async_send(&done_async);
}

/* --- The loop side -------------------------------------------------------- */

static void
closed_cb(void *arg)
{
	closed++;
}

static void
done_cb(uv_async_t *h)
{
	control_close(control1, closed_cb, NULL);
	control_close(control2, closed_cb, NULL);
	control_close(control3, closed_cb, NULL);
	uv_close((uv_handle_t *)h, NULL);
}

/* The store's queries for show, directly. */
static void
test_queries(struct store *s)
{
	struct store_run	   *r = NULL;
	struct store_changes	   *changes = NULL;
	struct store_approvals	   *approvals = NULL;
	struct store_check_results *checks = NULL;
	enum store_stage_status	    status;
	char			   *env = NULL;

	ok(store_run_current_stage(s, 1, &env, &status, NULL) == 0 &&
		env != NULL && strcmp(env, "stg") == 0 &&
		status == STORE_STAGE_AWAITING_APPROVAL,
	    "current stage: the first not done");
	free(env);
	ok(store_run_current_stage(s, 2, &env, &status, NULL) == 0 &&
		env != NULL && strcmp(env, "int") == 0 &&
		status == STORE_STAGE_DONE,
	    "current stage: the last when all are done");
	free(env);
	ok(store_run_current_stage(s, 999, &env, &status, NULL) == 0 &&
		env == NULL && status == 0,
	    "current stage: none for no stages");
	if (store_get_run(s, 1, &r, NULL) != 0) {
		ok(0, "run 1");
		return;
	}
	ok(store_stage_changes(s, r->stages[0].id, -1, &changes, NULL) == 0 &&
		changes->n == 3,
	    "changes: of every attempt");
	if (changes != NULL)
		is_str(changes->items[1].physical_id, NULL,
		    "changes: no physical id yet is NULL");
	store_changes_free(changes);
	ok(store_stage_changes(s, r->stages[0].id, 1, &changes, NULL) == 0 &&
		changes->n == 0,
	    "changes: none of another attempt");
	store_changes_free(changes);
	ok(store_stage_changes(s, r->stages[1].id, 0, &changes, NULL) == 0 &&
		changes->n == 0,
	    "changes: none for a stage without");
	store_changes_free(changes);
	ok(store_run_approvals(s, 1, &approvals, NULL) == 0 &&
		approvals->n == 1 &&
		approvals->items[0].decision == STORE_DECISION_APPROVE &&
		approvals->items[0].via == STORE_VIA_CLI,
	    "approvals: of run 1");
	store_approvals_free(approvals);
	ok(store_run_approvals(s, 3, &approvals, NULL) == 0 &&
		approvals->n == 0,
	    "approvals: none yet");
	store_approvals_free(approvals);
	ok(store_stage_check_results(s, r->stages[0].id, -1, &checks, NULL) ==
		    0 &&
		checks->n == 1 && checks->items[0].duration_ms == 120 &&
		checks->items[0].http_status == 200,
	    "check results: of the stage");
	store_check_results_free(checks);
	store_run_free(r);
}

/* Image promotions (store-promote.c): recorded, replaced, refused, read. */
static void
test_promotions(struct store *s)
{
	struct store_run	 *r = NULL;
	struct store_promotion_in in;
	struct store_promotions	 *l = NULL;
	struct store_promotion	 *p = NULL;
	const char		 *d = "sha256:0123456789abcdef0123456789"
				      "abcdef0123456789abcdef0123456789abcdef";

	if (store_get_run(s, 1, &r, NULL) != 0 || r->nstages < 2) {
		ok(0, "run 1");
		store_run_free(r);
		return;
	}
	memset(&in, 0, sizeof in);
	in.stage_id = r->stages[1].id;
	in.source_registry = "111111111111.dkr.ecr.eu-west-1.amazonaws.com";
	in.repository = "billing/web";
	in.reference = "1.4.2";
	in.destination_registry =
	    "333333333333.dkr.ecr.eu-west-1.amazonaws.com";
	in.source_digest = d;
	in.destination_digest = "sha256:ffff";
	is_int(store_record_promotion(s, &in, NULL), STORE_EINVAL,
	    "promotions: copied with different digests is refused");
	in.failed = 1;
	is_int(store_record_promotion(s, &in, NULL), STORE_EINVAL,
	    "promotions: failed without a reason is refused");
	in.reason = "image billing/web:1.4.2: 404 MANIFEST_UNKNOWN";
	in.destination_digest = NULL;
	is_int(store_record_promotion(s, &in, NULL), 0,
	    "promotions: a failed copy is recorded");
	in.failed = 0;
	in.reason = NULL;
	in.destination_digest = d;
	in.blobs_copied = 3;
	in.blobs_skipped = 1;
	in.bytes_copied = 2000;
	in.bytes_skipped = 500;
	in.elapsed_ms = 1500;
	is_int(store_record_promotion(s, &in, NULL), 0,
	    "promotions: copied again, recorded over it");
	ok(store_run_promotions(s, 1, &l, NULL) == 0 && l->n == 1 &&
		strcmp(l->items[0].status, "copied") == 0 &&
		l->items[0].reason == NULL &&
		l->items[0].bytes_copied == 2000 &&
		l->items[0].finished_at - l->items[0].started_at == 1500 &&
		strcmp(l->items[0].environment, "stg") == 0 &&
		l->items[0].run_id == 1,
	    "promotions: one row per image");
	store_promotions_free(l);
	ok(store_find_promotion(s, r->release_id, in.destination_registry,
	       "billing/web", "1.4.2", r->stages[2].id, &p, NULL) == 0 &&
		p->stage_id == r->stages[1].id &&
		strcmp(p->source_digest, d) == 0,
	    "promotions: found for another stage of the release");
	store_promotion_free(p);
	is_int(store_find_promotion(s, r->release_id, in.destination_registry,
		   "billing/web", "1.4.2", r->stages[1].id, &p, NULL),
	    STORE_ENOTFOUND, "promotions: not the stage's own");
	is_int(store_find_promotion(s, r->release_id, "elsewhere.example",
		   "billing/web", "1.4.2", 0, &p, NULL),
	    STORE_ENOTFOUND, "promotions: not into another registry");
	ok(store_run_promotions(s, 2, &l, NULL) == 0 && l->n == 0,
	    "promotions: none in another run");
	store_promotions_free(l);
	store_run_free(r);
}

/* A socket file nobody listens on, as a killed daemon leaves it. */
static int
make_stale_socket(const char *path)
{
	struct sockaddr_un sun;
	int		   fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		return (-1);
	close(fd);
	return (0);
}

int
main(void)
{
	struct config_errors errors = { 0 };
	struct config	    *config;
	struct passwd	    *pw;
	struct store	    *store;
	struct stat	     sb;
	uv_loop_t	     loop;
	uv_thread_t	     thread;
	struct control	    *c;
	char		    *cause = NULL, *db, *file, *longpath, *conftext;
	FILE		    *f;

	log_init("test-control");
	log_set_level(LOG_LEVEL_WARNING);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(me, sizeof me, "%s (uid %u)", pw->pw_name,
		    (unsigned int)geteuid());
	else
		snprintf(me, sizeof me, "uid %u", (unsigned int)geteuid());
	snprintf(me_as_bob, sizeof me_as_bob, "%s acting as bob", me);
	/* The peer (this process) is ops, an admin: it may use --as. */
	conftext = xasprintf(
	    "public_url: https://deploy.example.com\n"
	    "database: /nonexistent/x.db\n"
	    "aws: {region: eu-west-1}\n"
	    "control_admin_group: admins\n"
	    "users:\n"
	    "  - {name: ops, email: o@example.com, groups: [admins, team],\n"
	    "     unix_uid: %u}\n"
	    "  - {name: bob, email: b@example.com, groups: [team]}\n"
	    "apps:\n"
	    "  - name: billing\n"
	    "    source: {bucket: releases-billing}\n"
	    "    environments:\n"
	    "      - {name: int, account: \"111111111111\", stack: s,\n"
	    "         role_arn: \"arn:aws:iam::111111111111:role/r\",\n"
	    "         approvers: [team]}\n",
	    (unsigned int)geteuid());
	config = config_load_buffer("test-control.yaml", conftext,
	    strlen(conftext), &errors);
	free(conftext);
	if (config == NULL) {
		printf("Bail out! the test's configuration does not load\n");
		return (1);
	}
	db = xasprintf("%s/shipgate.db", tmpdir);
	sock1 = xasprintf("%s/control.sock", tmpdir);
	sock2 = xasprintf("%s/stale.sock", tmpdir);
	sock3 = xasprintf("%s/idle.sock", tmpdir);
	file = xasprintf("%s/not-a-socket", tmpdir);
	if (fake_seed(db, &store) != 0) {
		printf("Bail out! cannot seed the store\n");
		return (1);
	}
	uv_loop_init(&loop);

	control1 = control_new(&loop, sock1, store, fake_act, NULL, &cause);
	ok(control1 != NULL, "control_new listens");
	if (control1 == NULL) {
		tap_diag("%s", cause);
		printf("Bail out!\n");
		return (1);
	}
	control_set_config(control1, config);
	ok(stat(sock1, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
		(sb.st_mode & 07777) == 0660,
	    "the socket's mode is 0660");

	c = control_new(&loop, sock1, store, fake_act, NULL, &cause);
	ok(c == NULL, "a second listener on the same path is refused");
	ok(cause != NULL &&
		strstr(cause, "another shipgated is listening") != NULL,
	    "and says another shipgated is listening");
	free(cause);
	cause = NULL;

	if ((f = fopen(file, "w")) != NULL) {
		fputs("keep me\n", f);
		fclose(f);
	}
	c = control_new(&loop, file, store, fake_act, NULL, &cause);
	ok(c == NULL && cause != NULL && strstr(cause, "not a socket") != NULL,
	    "a file that is not a socket is refused");
	ok(stat(file, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 8,
	    "and left alone");
	free(cause);
	cause = NULL;

	longpath = xmalloc(200);
	memset(longpath, 'a', 199);
	longpath[0] = '/';
	longpath[199] = '\0';
	c = control_new(&loop, longpath, store, fake_act, NULL, &cause);
	ok(c == NULL && cause != NULL && strstr(cause, "too long") != NULL,
	    "a path longer than sun_path is refused");
	free(cause);
	cause = NULL;
	free(longpath);

	ok(make_stale_socket(sock2) == 0 && stat(sock2, &sb) == 0,
	    "a stale socket file");
	control2 = control_new(&loop, sock2, store, NULL, NULL, &cause);
	ok(control2 != NULL, "replaces a stale socket file");
	if (control2 == NULL) {
		tap_diag("%s", cause);
		printf("Bail out!\n");
		return (1);
	}

	control3 = control_new(&loop, sock3, store, NULL, NULL, &cause);
	ok(control3 != NULL, "a third control socket");
	if (control3 == NULL) {
		printf("Bail out!\n");
		return (1);
	}
	control_set_idle_timeout(control3, 100);

	test_queries(store);
	test_promotions(store);

	uv_async_init(&loop, &done_async, done_cb);
	uv_thread_create(&thread, client_thread, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_thread_join(&thread);

	is_int(closed, 3, "control_close calls back once each");
	ok(stat(sock1, &sb) == -1 && errno == ENOENT,
	    "control_close removes the socket file");
	is_int(uv_loop_close(&loop), 0, "every handle closed");
	store_close(store);
	config_free(config);
	fake_call_clear();

	unlink(file);
	unlink(db);
	free(cause);
	free(file);
	free(db);
	free(sock1);
	free(sock2);
	free(sock3);
	file = xasprintf("rm -rf '%s'", tmpdir);
	if (system(file) != 0)
		tap_diag("cannot remove %s", tmpdir);
	free(file);
	return (tap_done());
}
