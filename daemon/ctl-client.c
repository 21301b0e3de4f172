/*
 * shipgatectl's side of the control socket: a blocking connect, one
 * request line, one reply line; and the tables an operator reads.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "ctl-client.h"
#include "xmalloc.h"

int
ctl_request(const char *path, json_t *request, json_t **replyp, char **linep,
    char **cause)
{
	struct sockaddr_un sun;
	struct timeval	   tv = { CTL_TIMEOUT_S, 0 };
	struct buf	   in;
	json_error_t	   error;
	char		  *text = NULL, chunk[16384], *nl;
	size_t		   len, off;
	ssize_t		   n;
	int		   fd = -1, rc = -1;

	*replyp = NULL;
	if (linep != NULL)
		*linep = NULL;
	*cause = NULL;
	buf_init(&in, CTL_REPLY_MAX);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("cannot reach shipgated at %s: path too "
				   "long",
		    path);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		*cause = xasprintf("cannot reach shipgated at %s: %s", path,
		    strerror(errno));
		goto out;
	}

	if ((text = json_dumps(request, JSON_COMPACT)) == NULL) {
		*cause = xstrdup("cannot serialise the request");
		goto out;
	}
	len = strlen(text);
	text = realloc(text, len + 2);
	if (text == NULL)
		abort();
	text[len++] = '\n';
	text[len] = '\0';
	for (off = 0; off < len; off += (size_t)n) {
		n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1) {
			*cause = xasprintf("cannot send to shipgated at %s: %s",
			    path, strerror(errno));
			goto out;
		}
	}
	/* One request: the daemon closes once it has answered. */
	shutdown(fd, SHUT_WR);

	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xasprintf("no reply from shipgated at %s: %s",
			    path,
			    errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		if (n == 0) {
			*cause = xasprintf("shipgated at %s closed the "
					   "connection without a reply",
			    path);
			goto out;
		}
		if (buf_append(&in, chunk, (size_t)n) != 0) {
			*cause = xasprintf("the reply of shipgated is larger "
					   "than %d bytes",
			    CTL_REPLY_MAX);
			goto out;
		}
		if ((nl = memchr(in.data, '\n', in.len)) != NULL)
			break;
	}
	*nl = '\0';
	in.len = (size_t)(nl - in.data);
	*replyp = json_loadb(in.data, in.len, 0, &error);
	if (*replyp == NULL || !json_is_object(*replyp)) {
		*cause = xasprintf("shipgated sent a reply that is not a JSON "
				   "object: %s",
		    *replyp == NULL ? error.text : "");
		json_decref(*replyp);
		*replyp = NULL;
		goto out;
	}
	if (linep != NULL)
		*linep = buf_take(&in, NULL);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(text);
	buf_free(&in);
	return (rc);
}

char *
ctl_reply_error(const json_t *reply)
{
	const char *error, *detail;

	error = json_string_value(json_object_get(reply, "error"));
	detail = json_string_value(json_object_get(reply, "detail"));
	if (error == NULL)
		error = "failed";
	if (detail == NULL || *detail == '\0')
		return (xstrdup(error));
	return (xasprintf("%s: %s", error, detail));
}

/* --- Rendering ------------------------------------------------------------ */

/* A field as text: strings as they are, numbers, "-" for null/absent. */
static const char *
ctl_text(const json_t *o, const char *key, char *tmp, size_t size)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		return (json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(tmp, size, "%lld", (long long)json_integer_value(v));
		return (tmp);
	}
	if (json_is_true(v))
		return ("yes");
	if (json_is_false(v))
		return ("no");
	return ("-");
}

/*
 * The release's S3 object: "s3://bucket/key", with " (version V)" when
 * the bucket is versioned; "-" when unknown.  Caller frees.
 */
static char *
ctl_source(const json_t *run)
{
	const json_t *src = json_object_get(run, "source");
	const char   *url, *v;

	if ((url = json_string_value(json_object_get(src, "url"))) == NULL)
		return (xstrdup("-"));
	if ((v = json_string_value(json_object_get(src, "version_id"))) == NULL)
		return (xstrdup(url));
	return (xasprintf("%s (version %s)", url, v));
}

/* Milliseconds as 450ms, 12s, 3m12s, 2h05m, 3d04h. */
static void
ctl_duration(const json_t *v, char *out, size_t size)
{
	long long ms, s;

	if (!json_is_integer(v)) {
		snprintf(out, size, "-");
		return;
	}
	ms = (long long)json_integer_value(v);
	s = ms / 1000;
	if (ms < 1000)
		snprintf(out, size, "%lldms", ms);
	else if (s < 60)
		snprintf(out, size, "%llds", s);
	else if (s < 3600)
		snprintf(out, size, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, size, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(out, size, "%lldd%02lldh", s / 86400,
		    (s % 86400) / 3600);
}

#define CTL_RUNS_COLUMNS 8

void
ctl_print_runs(FILE *f, const json_t *reply)
{
	static const char *const heads[CTL_RUNS_COLUMNS] = {
		"ID",
		"APP",
		"VERSION",
		"AUTHOR",
		"STATUS",
		"STAGE",
		"CREATED",
		"SOURCE",
	};
	const json_t *runs, *r, *st;
	char	   ***cells, tmp[64], tmp2[64];
	size_t	      width[CTL_RUNS_COLUMNS], n, i, j, l;

	runs = json_object_get(reply, "runs");
	n = json_array_size(runs);
	cells = n > 0 ? xcalloc(n, sizeof *cells) : NULL;
	for (j = 0; j < CTL_RUNS_COLUMNS; j++)
		width[j] = strlen(heads[j]);
	for (i = 0; i < n; i++) {
		r = json_array_get(runs, i);
		cells[i] = xcalloc(CTL_RUNS_COLUMNS, sizeof **cells);
		cells[i][0] = xstrdup(ctl_text(r, "id", tmp, sizeof tmp));
		cells[i][1] = xstrdup(ctl_text(r, "app", tmp, sizeof tmp));
		cells[i][2] = xstrdup(ctl_text(r, "version", tmp, sizeof tmp));
		cells[i][3] = xstrdup(ctl_text(r, "author", tmp, sizeof tmp));
		if (strcmp(ctl_text(r, "kind", tmp, sizeof tmp), "rollback") ==
		    0)
			cells[i][4] = xasprintf("%s (rollback)",
			    ctl_text(r, "status", tmp, sizeof tmp));
		else
			cells[i][4] = xstrdup(
			    ctl_text(r, "status", tmp, sizeof tmp));
		st = json_object_get(r, "stage");
		if (json_is_object(st)) {
			cells[i][5] = xasprintf("%s %s",
			    ctl_text(st, "env", tmp, sizeof tmp),
			    ctl_text(st, "status", tmp2, sizeof tmp2));
		} else
			cells[i][5] = xstrdup("-");
		cells[i][6] = xstrdup(
		    ctl_text(r, "created_at", tmp, sizeof tmp));
		cells[i][7] = ctl_source(r);
		for (j = 0; j < CTL_RUNS_COLUMNS; j++) {
			if ((l = strlen(cells[i][j])) > width[j])
				width[j] = l;
		}
	}
	for (j = 0; j < CTL_RUNS_COLUMNS; j++) {
		if (j + 1 < CTL_RUNS_COLUMNS)
			fprintf(f, "%-*s  ", (int)width[j], heads[j]);
		else
			fprintf(f, "%s\n", heads[j]);
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < CTL_RUNS_COLUMNS; j++) {
			if (j + 1 < CTL_RUNS_COLUMNS)
				fprintf(f, "%-*s  ", (int)width[j],
				    cells[i][j]);
			else
				fprintf(f, "%s\n", cells[i][j]);
			free(cells[i][j]);
		}
		free(cells[i]);
	}
	free(cells);
	if (n == 0)
		fprintf(f, "(no runs)\n");
	else if (json_is_integer(json_object_get(reply, "next_before")))
		fprintf(f, "(more: --limit or the portal)\n");
}

/* What the stage changes in values (issue 15): what runs, the
   parameters changed (NoEcho ones came "****"), the template's lines. */
static void
ctl_print_stage_values(FILE *f, const json_t *st)
{
	const json_t *sk, *prev, *a, *p, *t;
	const char   *chg;
	size_t	      i, same = 0;

	sk = json_object_get(st, "stack");
	if (json_is_object(sk)) {
		prev = json_object_get(sk, "previous");
		if (!json_is_true(json_object_get(sk, "exists")))
			fprintf(f, "    now running: nothing (a new stack)\n");
		else if (json_is_object(prev))
			fprintf(f,
			    "    now running: %s (run %lld, deployed %s "
			    "by shipgate)\n",
			    json_string_value(json_object_get(prev, "version")) ?:
				"-",
			    (long long)json_integer_value(
				json_object_get(prev, "run")),
			    json_string_value(json_object_get(prev, "deployed_at")) ?:
				"-");
		else
			fprintf(f,
			    "    now running: not deployed by shipgate\n");
		if (json_is_true(json_object_get(sk, "changed_outside")))
			fprintf(f,
			    "    the stack was updated outside shipgate "
			    "(%s)\n",
			    json_string_value(json_object_get(sk, "last_updated_at")) ?:
				"-");
	}
	a = json_object_get(st, "parameters");
	for (i = 0; i < json_array_size(a); i++) {
		p = json_array_get(a, i);
		chg = json_string_value(json_object_get(p, "change")) ?: "";
		if (strcmp(chg, "unchanged") == 0) {
			same++;
			continue;
		}
		fprintf(f, "    parameter %s: %s -> %s (%s)\n",
		    json_string_value(json_object_get(p, "name")) ?: "-",
		    json_string_value(json_object_get(p, "old")) ?: "(not set)",
		    json_string_value(json_object_get(p, "new")) ?: "(not set)",
		    chg);
	}
	if (same > 0)
		fprintf(f, "    parameters unchanged: %zu\n", same);
	t = json_object_get(st, "template");
	if (json_is_object(t))
		fprintf(f, "    template: %lld lines added, %lld removed\n",
		    (long long)json_integer_value(json_object_get(t, "added")),
		    (long long)json_integer_value(
			json_object_get(t, "removed")));
}

/* A text of AWS's on one terminal line: control bytes become '?'. */
static void
ctl_print_line(FILE *f, const char *prefix, const char *s)
{
	fputs(prefix, f);
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	fputc('\n', f);
}

/* The stage's drift (issue 15): each drifted property or deleted
   resource, or why it was not checked. */
static void
ctl_print_stage_drift(FILE *f, const json_t *st)
{
	const json_t *d, *a, *r, *pa, *ack;
	const char   *status;
	char	     *line;
	size_t	      i, j;

	d = json_object_get(st, "drift");
	if (!json_is_object(d))
		return;
	status = json_string_value(json_object_get(d, "status")) ?: "";
	if (strcmp(status, "detecting") == 0)
		fprintf(f, "    drift: being detected\n");
	else if (strcmp(status, "in_sync") == 0)
		fprintf(f, "    drift: no drift\n");
	else if (strcmp(status, "not_checked") == 0)
		ctl_print_line(f, "    drift not checked: ",
		    json_string_value(json_object_get(d, "reason")));
	a = json_object_get(d, "resources");
	for (i = 0; i < json_array_size(a); i++) {
		r = json_array_get(a, i);
		if (strcmp(json_string_value(json_object_get(r, "status")) ?:
									     "",
			"DELETED") == 0) {
			line = xasprintf("%s (%s) deleted outside "
					 "CloudFormation",
			    json_string_value(json_object_get(r, "logical_id")) ?:
				"-",
			    json_string_value(json_object_get(r, "resource_type")) ?:
				"-");
			ctl_print_line(f, "    drift: ", line);
			free(line);
			continue;
		}
		pa = json_object_get(r, "properties");
		for (j = 0; j < json_array_size(pa); j++)
			ctl_print_line(f, "    drift: ",
			    json_string_value(
				json_object_get(json_array_get(pa, j),
				    "text")));
	}
	ack = json_object_get(d, "acknowledged");
	if (json_is_object(ack)) {
		line = xasprintf("by %s: %s",
		    json_string_value(json_object_get(ack, "by")) ?: "-",
		    json_string_value(json_object_get(ack, "comment")) ?: "");
		ctl_print_line(f, "    drift acknowledged ", line);
		free(line);
	}
}

/* The events `show` prints of a stage; the rest: --json or the portal. */
#define CTL_SHOW_EVENTS 20

/* "web: 2/3 running [######----] 1 pending, IN_PROGRESS" */
static void
ctl_print_service(FILE *f, const char *indent, const json_t *v)
{
	long long   desired, running, pending, failed;
	const char *state, *reason;
	char	    bar[11], tmp[64];
	int	    i, full;

	desired = json_integer_value(json_object_get(v, "desired"));
	running = json_integer_value(json_object_get(v, "running"));
	pending = json_integer_value(json_object_get(v, "pending"));
	failed = json_integer_value(json_object_get(v, "failed"));
	full = desired > 0 ? (int)((running > desired ? desired : running) *
				   10 / desired) :
			     0;
	for (i = 0; i < 10; i++)
		bar[i] = i < full ? '#' : '-';
	bar[10] = '\0';
	state = json_string_value(json_object_get(v, "rollout_state"));
	reason = json_string_value(json_object_get(v, "rollout_reason"));
	fprintf(f,
	    "%sservice %s: %lld/%lld running [%s] %lld pending, "
	    "%lld failed, %s",
	    indent, ctl_text(v, "service", tmp, sizeof tmp), running, desired,
	    bar, pending, failed, state != NULL ? state : "-");
	if (reason != NULL)
		fprintf(f, ": %s", reason);
	fprintf(f, "\n");
}

/* "10:59:44 Web AWS::ECS::Service UPDATE_FAILED: reason" */
static void
ctl_print_event(FILE *f, const char *indent, const json_t *e)
{
	const char *at, *reason;
	char	    tmp[64], tmp2[64], tmp3[64];

	at = json_string_value(json_object_get(e, "at"));
	reason = json_string_value(json_object_get(e, "reason"));
	fprintf(f, "%s%.8s %s %s %s%s%s%s\n", indent,
	    at != NULL && strlen(at) >= 19 ? at + 11 : "--:--:--",
	    ctl_text(e, "logical_id", tmp, sizeof tmp),
	    ctl_text(e, "type", tmp2, sizeof tmp2),
	    ctl_text(e, "status", tmp3, sizeof tmp3),
	    reason != NULL ? ": " : "", reason != NULL ? reason : "",
	    json_is_true(json_object_get(e, "failed")) ? "  <-- FAILED" : "");
}

static void
ctl_print_stage(FILE *f, const json_t *st)
{
	const json_t		*a, *c;
	static const char *const keys[3] = { "action", "logical_id", "type" };
	const char		*repl, *ref;
	char			 tmp[64], tmp2[64], tmp3[64], tmp4[64], dur[32];
	size_t			 i, j, l, w[3];

	ctl_duration(json_object_get(st, "duration_ms"), dur, sizeof dur);
	fprintf(f, "  %s: %s", ctl_text(st, "env", tmp, sizeof tmp),
	    ctl_text(st, "status", tmp2, sizeof tmp2));
	if (json_is_string(json_object_get(st, "started_at"))) {
		fprintf(f, ", started %s, %s %s",
		    ctl_text(st, "started_at", tmp, sizeof tmp),
		    json_is_string(json_object_get(st, "finished_at")) ?
			"took" :
			"for",
		    dur);
	}
	fprintf(f, "\n");
	if (json_is_string(json_object_get(st, "reason")))
		fprintf(f, "    reason: %s\n",
		    ctl_text(st, "reason", tmp, sizeof tmp));
	if (json_is_string(json_object_get(st, "change_set")))
		fprintf(f, "    change set: %s (attempt %s)\n",
		    ctl_text(st, "change_set", tmp, sizeof tmp),
		    ctl_text(st, "attempt", tmp2, sizeof tmp2));
	if (json_is_string(json_object_get(st, "deadline_at")))
		fprintf(f, "    deadline: %s\n",
		    ctl_text(st, "deadline_at", tmp, sizeof tmp));

	a = json_object_get(st, "changes");
	if (json_array_size(a) > 0)
		fprintf(f, "    changes:\n");
	memset(w, 0, sizeof w);
	for (i = 0; i < json_array_size(a); i++) {
		c = json_array_get(a, i);
		for (j = 0; j < 3; j++) {
			l = strlen(ctl_text(c, keys[j], tmp, sizeof tmp));
			if (l > w[j])
				w[j] = l;
		}
	}
	for (i = 0; i < json_array_size(a); i++) {
		c = json_array_get(a, i);
		repl = json_string_value(json_object_get(c, "replacement"));
		fprintf(f, "      %-*s  %-*s  %-*s  %s%s\n", (int)w[0],
		    ctl_text(c, keys[0], tmp, sizeof tmp), (int)w[1],
		    ctl_text(c, keys[1], tmp2, sizeof tmp2), (int)w[2],
		    ctl_text(c, keys[2], tmp3, sizeof tmp3),
		    json_string_value(json_object_get(c, "physical_id")) ?: "-",
		    repl == NULL	      ? "" :
		    strcmp(repl, "True") == 0 ? "  REPLACEMENT" :
		    strcmp(repl, "Conditional") == 0 ?
						"  replacement: conditional" :
						"");
	}
	a = json_object_get(st, "services");
	for (i = 0; i < json_array_size(a); i++)
		ctl_print_service(f, "    ", json_array_get(a, i));
	a = json_object_get(st, "events");
	if (json_array_size(a) > 0)
		fprintf(f, "    stack events (newest first):\n");
	for (i = 0; i < json_array_size(a) && i < CTL_SHOW_EVENTS; i++)
		ctl_print_event(f, "      ", json_array_get(a, i));
	if (json_array_size(a) > CTL_SHOW_EVENTS)
		fprintf(f, "      (%zu older: --json or the portal)\n",
		    json_array_size(a) - CTL_SHOW_EVENTS);
	a = json_object_get(st, "checks");
	if (json_array_size(a) > 0)
		fprintf(f, "    checks:\n");
	for (i = 0; i < json_array_size(a); i++) {
		c = json_array_get(a, i);
		ctl_duration(json_object_get(c, "duration_ms"), dur,
		    sizeof dur);
		fprintf(f, "      %s/%s: %s (HTTP %s, %s)",
		    ctl_text(c, "check", tmp, sizeof tmp),
		    ctl_text(c, "name", tmp2, sizeof tmp2),
		    json_string_value(json_object_get(c, "status")) ?: "-",
		    ctl_text(c, "http_status", tmp3, sizeof tmp3), dur);
		if (json_is_string(json_object_get(c, "expectation")))
			fprintf(f, " expected %s",
			    json_string_value(
				json_object_get(c, "expectation")));
		fprintf(f, "\n");
	}
	a = json_object_get(st, "promotions");
	if (json_array_size(a) > 0)
		fprintf(f, "    promotions:\n");
	for (i = 0; i < json_array_size(a); i++) {
		c = json_array_get(a, i);
		ref = json_string_value(json_object_get(c, "reference")) ?: "-";
		ctl_duration(json_object_get(c, "duration_ms"), dur,
		    sizeof dur);
		fprintf(f, "      %s%s%s: %s, %s -> %s\n",
		    json_string_value(json_object_get(c, "image")) ?: "-",
		    strncmp(ref, "sha256:", 7) == 0 ? "@" : ":", ref,
		    json_string_value(json_object_get(c, "status")) ?: "-",
		    json_string_value(json_object_get(c, "source_registry")) ?:
			"-",
		    json_string_value(json_object_get(c, "destination_registry")) ?:
			"-");
		fprintf(f, "        digest %s, at the destination %s\n",
		    json_string_value(json_object_get(c, "source_digest")) ?:
									     "-",
		    json_string_value(json_object_get(c, "destination_digest")) ?:
			"-");
		fprintf(f,
		    "        blobs copied %s (%s bytes), skipped %s "
		    "(%s bytes), %s\n",
		    ctl_text(c, "blobs_copied", tmp, sizeof tmp),
		    ctl_text(c, "bytes_copied", tmp2, sizeof tmp2),
		    ctl_text(c, "blobs_skipped", tmp3, sizeof tmp3),
		    ctl_text(c, "bytes_skipped", tmp4, sizeof tmp4), dur);
		if (json_is_string(json_object_get(c, "reason")))
			fprintf(f, "        %s\n",
			    json_string_value(json_object_get(c, "reason")));
	}
	ctl_print_stage_values(f, st);
	ctl_print_stage_drift(f, st);
}

void
ctl_print_run(FILE *f, const json_t *reply)
{
	const json_t *run, *a, *e, *img;
	const char   *s;
	char	      tmp[64], tmp2[64], tmp3[64], *src;
	size_t	      i;

	run = json_object_get(reply, "run");
	fprintf(f, "run %s: %s %s, %s", ctl_text(run, "id", tmp, sizeof tmp),
	    ctl_text(run, "app", tmp2, sizeof tmp2),
	    ctl_text(run, "version", tmp3, sizeof tmp3),
	    json_string_value(json_object_get(run, "status")) ?: "-");
	if ((s = json_string_value(json_object_get(run, "kind"))) != NULL &&
	    strcmp(s, "rollback") == 0)
		fprintf(f, " (rollback)");
	fprintf(f, "\n");
	fprintf(f, "  release:   %s\n",
	    ctl_text(run, "release", tmp, sizeof tmp));
	fprintf(f, "  author:    %s\n",
	    ctl_text(run, "author", tmp, sizeof tmp));
	fprintf(f, "  message:   %s\n",
	    ctl_text(run, "message", tmp, sizeof tmp));
	src = ctl_source(run);
	fprintf(f, "  source:    %s\n", src);
	free(src);
	if (json_is_string(json_object_get(run, "requested_by")))
		fprintf(f, "  requested by: %s\n",
		    ctl_text(run, "requested_by", tmp, sizeof tmp));
	if (json_is_string(json_object_get(run, "reason")))
		fprintf(f, "  reason:    %s\n",
		    ctl_text(run, "reason", tmp, sizeof tmp));
	fprintf(f, "  created:   %s\n",
	    ctl_text(run, "created_at", tmp, sizeof tmp));
	fprintf(f, "  finished:  %s\n",
	    ctl_text(run, "finished_at", tmp, sizeof tmp));
	a = json_object_get(run, "images");
	for (i = 0; i < json_array_size(a); i++) {
		img = json_array_get(a, i);
		if (!json_is_string(json_object_get(img, "tag")))
			fprintf(f, "  %s %s@%s\n",
			    i == 0 ? "images:   " : "          ",
			    ctl_text(img, "repository", tmp, sizeof tmp),
			    ctl_text(img, "digest", tmp2, sizeof tmp2));
		else if (json_is_string(json_object_get(img, "digest")))
			/* The digest intake pinned for the tag. */
			fprintf(f, "  %s %s:%s (%s)\n",
			    i == 0 ? "images:   " : "          ",
			    ctl_text(img, "repository", tmp, sizeof tmp),
			    json_string_value(json_object_get(img, "tag")),
			    json_string_value(json_object_get(img, "digest")));
		else
			fprintf(f, "  %s %s:%s\n",
			    i == 0 ? "images:   " : "          ",
			    ctl_text(img, "repository", tmp, sizeof tmp),
			    ctl_text(img, "tag", tmp2, sizeof tmp2));
		if (json_is_string(json_object_get(img, "tag_moved_to")))
			fprintf(f,
			    "             the tag now names %s: this "
			    "run deploys the pinned digest\n",
			    json_string_value(
				json_object_get(img, "tag_moved_to")));
	}

	fprintf(f, "\nstages:\n");
	a = json_object_get(run, "stages");
	for (i = 0; i < json_array_size(a); i++)
		ctl_print_stage(f, json_array_get(a, i));
	if (json_array_size(a) == 0)
		fprintf(f, "  (none)\n");

	fprintf(f, "\napprovals:\n");
	a = json_object_get(run, "approvals");
	for (i = 0; i < json_array_size(a); i++) {
		e = json_array_get(a, i);
		fprintf(f, "  %s  %s %s %s%s (%s)",
		    ctl_text(e, "at", tmp, sizeof tmp),
		    ctl_text(e, "user", tmp2, sizeof tmp2),
		    json_string_value(json_object_get(e, "decision")) ?: "-",
		    json_string_value(json_object_get(e, "env")) ?: "-",
		    json_is_true(json_object_get(e, "gate")) ? " gate" : "",
		    json_string_value(json_object_get(e, "via")) ?: "-");
		if (json_is_string(json_object_get(e, "comment")))
			fprintf(f, ": %s",
			    json_string_value(json_object_get(e, "comment")));
		fprintf(f, "\n");
	}
	if (json_array_size(a) == 0)
		fprintf(f, "  (none)\n");

	a = json_object_get(run, "notifications");
	if (json_array_size(a) > 0)
		fprintf(f, "\nnotifications:\n");
	for (i = 0; i < json_array_size(a); i++) {
		e = json_array_get(a, i);
		fprintf(f, "  %s  %s %s to %s: %s",
		    ctl_text(e, "created_at", tmp, sizeof tmp),
		    ctl_text(e, "channel", tmp2, sizeof tmp2),
		    json_string_value(json_object_get(e, "event")) ?: "-",
		    json_string_value(json_object_get(e, "to")) ?: "-",
		    json_string_value(json_object_get(e, "status")) ?: "-");
		if (json_is_string(json_object_get(e, "last_error")))
			fprintf(f, " after %lld attempts, %s",
			    (long long)json_integer_value(
				json_object_get(e, "attempts")),
			    json_string_value(
				json_object_get(e, "last_error")));
		fprintf(f, "\n");
	}

	fprintf(f, "\naudit:\n");
	a = json_object_get(run, "audit");
	for (i = 0; i < json_array_size(a); i++) {
		e = json_array_get(a, i);
		fprintf(f, "  %s  %s", ctl_text(e, "at", tmp, sizeof tmp),
		    ctl_text(e, "actor", tmp2, sizeof tmp2));
		if (json_is_string(json_object_get(e, "unix_user")))
			fprintf(f, " (unix %s)",
			    json_string_value(json_object_get(e, "unix_user")));
		fprintf(f, "  %s",
		    json_string_value(json_object_get(e, "action")) ?: "-");
		if (json_is_string(json_object_get(e, "detail")))
			fprintf(f, ": %s",
			    json_string_value(json_object_get(e, "detail")));
		fprintf(f, "\n");
	}
	if (json_array_size(a) == 0)
		fprintf(f, "  (none)\n");
	if (json_is_true(json_object_get(run, "audit_truncated")))
		fprintf(f, "  (older entries: see the portal's audit page)\n");
}

/* The element of array a whose key is the string or integer of v. */
static const json_t *
ctl_find(const json_t *a, const char *key, const json_t *v)
{
	const json_t *e;
	size_t	      i;

	if (v == NULL)
		return (NULL);
	for (i = 0; i < json_array_size(a); i++) {
		e = json_array_get(a, i);
		if (json_equal(json_object_get(e, key), v))
			return (e);
	}
	return (NULL);
}

/* Whether a service's line changed: its counts and rollout state. */
static int
ctl_service_changed(const json_t *old, const json_t *v)
{
	static const char *const keys[] = { "desired", "running", "pending",
		"failed", "rollout_state", "rollout_reason" };
	size_t			 i;

	if (old == NULL)
		return (1);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (!json_equal(json_object_get(old, keys[i]),
			json_object_get(v, keys[i])))
			return (1);
	}
	return (0);
}

int
ctl_follow_print(FILE *f, const json_t *prev, const json_t *reply)
{
	const json_t *run, *prun, *stages, *pstages, *st, *pst, *a, *pa;
	const json_t *v;
	const char   *status, *pstatus, *env, *reason;
	char	      tmp[64];
	size_t	      i, j;

	run = json_object_get(reply, "run");
	prun = prev != NULL ? json_object_get(prev, "run") : NULL;
	status = json_string_value(json_object_get(run, "status"));
	if (f == NULL)
		goto out;
	pstatus = prun != NULL ?
		      json_string_value(json_object_get(prun, "status")) :
		      NULL;
	if (prun == NULL)
		fprintf(f, "run %s: %s %s, %s\n",
		    ctl_text(run, "id", tmp, sizeof tmp),
		    json_string_value(json_object_get(run, "app")) ?: "-",
		    json_string_value(json_object_get(run, "version")) ?: "-",
		    status != NULL ? status : "-");
	stages = json_object_get(run, "stages");
	pstages = prun != NULL ? json_object_get(prun, "stages") : NULL;
	for (i = 0; i < json_array_size(stages); i++) {
		st = json_array_get(stages, i);
		pst = ctl_find(pstages, "id", json_object_get(st, "id"));
		env = json_string_value(json_object_get(st, "env")) ?: "-";
		if (pst == NULL ||
		    !json_equal(json_object_get(pst, "status"),
			json_object_get(st, "status")) ||
		    !json_equal(json_object_get(pst, "attempt"),
			json_object_get(st, "attempt"))) {
			reason = json_string_value(
			    json_object_get(st, "reason"));
			if (pst == NULL)
				fprintf(f, "%s: %s", env,
				    json_string_value(json_object_get(st, "status")) ?:
					"-");
			else
				fprintf(f, "%s: %s -> %s", env,
				    json_string_value(json_object_get(pst, "status")) ?:
					"-",
				    json_string_value(json_object_get(st, "status")) ?:
					"-");
			if (reason != NULL)
				fprintf(f, " (%s)", reason);
			fprintf(f, "\n");
		}
		/* A new attempt's events and services are all new. */
		if (pst != NULL && !json_equal(json_object_get(pst, "attempt"),
				       json_object_get(st, "attempt")))
			pst = NULL;
		a = json_object_get(st, "events");
		pa = pst != NULL ? json_object_get(pst, "events") : NULL;
		for (j = json_array_size(a); j > 0; j--) {
			v = json_array_get(a, j - 1); /* oldest first */
			if (ctl_find(pa, "id", json_object_get(v, "id")) ==
			    NULL)
				ctl_print_event(f, "  ", v);
		}
		a = json_object_get(st, "services");
		pa = pst != NULL ? json_object_get(pst, "services") : NULL;
		for (j = 0; j < json_array_size(a); j++) {
			v = json_array_get(a, j);
			if (ctl_service_changed(ctl_find(pa, "service",
						    json_object_get(v,
							"service")),
				v))
				ctl_print_service(f, "  ", v);
		}
	}
	if (prun != NULL && status != NULL &&
	    (pstatus == NULL || strcmp(status, pstatus) != 0)) {
		reason = json_string_value(json_object_get(run, "reason"));
		fprintf(f, "run %s: %s -> %s%s%s%s\n",
		    ctl_text(run, "id", tmp, sizeof tmp),
		    pstatus != NULL ? pstatus : "-", status,
		    reason != NULL ? " (" : "", reason != NULL ? reason : "",
		    reason != NULL ? ")" : "");
	}
	fflush(f);
out:
	if (status == NULL || strcmp(status, "received") == 0 ||
	    strcmp(status, "running") == 0)
		return (-1);
	return (strcmp(status, "succeeded") == 0 ? 0 : 1);
}
