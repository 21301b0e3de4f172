/*
 * The configuration parser: the broken corpus (tests/config/bad/NAME.yaml,
 * each with its exact expected errors in NAME.err), secret files (made
 * here with the modes under test), the good configurations (conf/demo.yaml
 * as is; conf/shipgate.example.yaml with /etc/shipgate/ rewritten to a
 * temporary directory holding its secret files, mode 0600), durations,
 * sizes, look-ups, and the man page naming every key of the schema.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "window.h"
#include "tap.h"
#include "xmalloc.h"

static const char *srcdir;
static char	   tmpdir[] = "/tmp/test-config.XXXXXX";

static char *
slurp(const char *path)
{
	FILE *f;
	char *data;
	long  len;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xcalloc(1, len + 1);
	if (fread(data, 1, len, f) != (size_t)len) {
		free(data);
		data = NULL;
	}
	fclose(f);
	return (data);
}

static char *
joined(const struct config_errors *e)
{
	struct buf b;
	size_t	   i;
	char	  *s;

	buf_init(&b, 1 << 20);
	for (i = 0; i < e->n; i++) {
		buf_appends(&b, e->lines[i]);
		buf_appends(&b, "\n");
	}
	s = xstrdup(b.data != NULL ? b.data : "");
	buf_free(&b);
	return (s);
}

static void
put_file(const char *name, const char *text, mode_t mode)
{
	char *path;
	FILE *f;

	path = xasprintf("%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL) {
		printf("Bail out! cannot write %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	free(path);
}

/*
 * src copied to tmpdir/name with mode: files from git are 0644, which
 * config_load refuses (the file holds password hashes).
 */
static char *
copy_file(const char *src, const char *name, mode_t mode)
{
	FILE  *in, *out;
	char  *path, chunk[8192];
	size_t n;

	path = xasprintf("%s/%s", tmpdir, name);
	if ((in = fopen(src, "rb")) == NULL ||
	    (out = fopen(path, "wb")) == NULL) {
		printf("Bail out! cannot copy %s to %s: %s\n", src, path,
		    strerror(errno));
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(in);
	fclose(out);
	chmod(path, mode);
	return (path);
}

static int
cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Every broken file of the corpus fails with exactly its .err lines. */
static void
test_corpus(void)
{
	DIR		    *d;
	struct dirent	    *de;
	char		    *dir, **names = NULL, *want, *got, *errpath, *old;
	char		    *sub, *src, *copy;
	size_t		     n = 0, i, len;
	struct config	    *c;
	struct config_errors e;

	dir = xasprintf("%s/tests/config/bad", srcdir);
	if ((d = opendir(dir)) == NULL) {
		ok(0, "open %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0) {
			names = xreallocarray(names, n + 1, sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	ok(n >= 25, "the broken corpus has %zu configs (at least 25)", n);

	/*
	 * Load by relative name so messages read "NAME.yaml:LINE:COL: ...",
	 * from a private copy (mode 0600) so that only the content is wrong.
	 */
	sub = xasprintf("%s/corpus", tmpdir);
	mkdir(sub, 0700);
	old = getcwd(NULL, 0);
	for (i = 0; i < n; i++) {
		errpath = xasprintf("%s/%s", dir, names[i]);
		strcpy(errpath + strlen(errpath) - 5, ".err");
		want = slurp(errpath);
		src = xasprintf("%s/%s", dir, names[i]);
		copy = xasprintf("corpus/%s", names[i]);
		free(copy_file(src, copy, 0600));
		free(src);
		free(copy);
		if (chdir(sub) != 0)
			ok(0, "chdir %s", sub);
		c = config_load(names[i], &e);
		if (old != NULL && chdir(old) != 0)
			ok(0, "chdir back");
		got = joined(&e);
		ok(c == NULL && e.n > 0, "%s is refused", names[i]);
		is_str(got, want != NULL ? want : "(no .err file)",
		    "%s: exact errors", names[i]);
		config_free(c);
		config_errors_free(&e);
		free(got);
		free(want);
		free(errpath);
		free(names[i]);
	}
	free(old);
	free(names);
	free(sub);
	free(dir);
}

static const char *base_config =
    "public_url: https://deploy.example.com\n"
    "database: /var/lib/shipgate/shipgate.db\n"
    "aws: {region: eu-west-1}\n"
    "users: [{name: alice, email: alice@example.com, groups: [team]}]\n"
    "apps:\n"
    "  - name: billing\n"
    "    source: {bucket: releases-billing}\n"
    "    environments:\n"
    "      - {name: int, account: \"111111111111\", stack: billing-int,\n"
    "         role_arn: \"arn:aws:iam::111111111111:role/d\","
    " approvers: [team]}\n";

/* base_config followed by `extra`; returns the errors joined. */
static char *
load_extra(const char *extra, struct config **cp)
{
	struct config_errors e;
	struct config	    *c;
	char		    *text, *got;

	text = xasprintf("%s%s", base_config, extra);
	c = config_load_buffer("t.yaml", text, strlen(text), &e);
	got = joined(&e);
	config_errors_free(&e);
	free(text);
	if (cp != NULL)
		*cp = c;
	else
		config_free(c);
	return (got);
}

/* Secret files: made here, since git cannot keep their modes. */
static void
test_secret_files(void)
{
	char	      *extra, *want, *got, *sub;
	struct config *c;

	put_file("ok.pass", "s3cr3t-never-shown\n", 0600);
	put_file("open.pass", "s3cr3t-never-shown\n", 0644);
	put_file("group.pass", "s3cr3t-never-shown\n", 0640);
	sub = xasprintf("%s/dir.pass", tmpdir);
	mkdir(sub, 0700);
	free(sub);

	/* Fine: owner-only files, SMTP with authentication. */
	extra = xasprintf("mail:\n  from: d@example.com\n  smtp: {url: "
			  "\"smtps://smtp.example.com:465\", username: deploy, "
			  "password_file: %s/ok.pass}\n",
	    tmpdir);
	got = load_extra(extra, &c);
	is_str(got, "", "an owner-only password_file is accepted");
	ok(c != NULL && c->mail.transport == CONFIG_MAIL_SMTP &&
		strcmp(c->mail.smtp_username, "deploy") == 0 &&
		c->mail.smtp_starttls == 1,
	    "smtp settings are read");
	config_free(c);
	free(got);
	free(extra);

	extra = xasprintf("mail:\n  from: d@example.com\n  smtp: {url: "
			  "\"smtps://smtp.example.com:465\", username: deploy, "
			  "password_file: %s/open.pass}\n",
	    tmpdir);
	want = xasprintf(
	    "t.yaml:13:80: mail.smtp.password_file: secret file "
	    "\"%s/open.pass\" is readable or writable by group or others "
	    "(mode 0644): chmod 600 it\n",
	    tmpdir);
	got = load_extra(extra, NULL);
	is_str(got, want, "a world-readable password_file is refused");
	ok(strstr(got, "s3cr3t") == NULL, "the secret is not in the message");
	free(got);
	free(want);
	free(extra);

	extra = xasprintf(
	    "webhooks:\n  - {url_file: %s/group.pass}\n"
	    "  - {url_file: %s/dir.pass}\n  - {url_file: %s/missing.url}\n"
	    "  - {url_file: relative/hook.url}\n",
	    tmpdir, tmpdir, tmpdir);
	want = xasprintf(
	    "t.yaml:12:16: webhooks[0].url_file: secret file \"%s/group.pass\" "
	    "is readable or writable by group or others (mode 0640): "
	    "chmod 600 it\n"
	    "t.yaml:13:16: webhooks[1].url_file: secret file \"%s/dir.pass\" "
	    "is not a regular file\n"
	    "t.yaml:14:16: webhooks[2].url_file: secret file "
	    "\"%s/missing.url\": No such file or directory\n"
	    "t.yaml:15:16: webhooks[3].url_file: secret file "
	    "\"relative/hook.url\" must be an absolute path\n",
	    tmpdir, tmpdir, tmpdir);
	got = load_extra(extra, NULL);
	is_str(got, want, "webhook url files: mode, type, existence, path");
	free(got);
	free(want);
	free(extra);

	/* ${file:...} in check values; ${NAME} is kept as written. */
	extra = xasprintf(
	    "checks:\n  smoke:\n    - name: sign in\n"
	    "      request:\n        method: POST\n        url: /login\n"
	    "        headers: {X-Token: \"${file:%s/ok.pass}\"}\n"
	    "        form: {login: \"${SMOKE_LOGIN}\", "
	    "password: \"${file:%s/group.pass}\"}\n",
	    tmpdir, tmpdir);
	want = xasprintf(
	    "t.yaml:18:41: checks.smoke[0].request.form.password: "
	    "secret file \"%s/group.pass\" is readable or writable by group "
	    "or others (mode 0640): chmod 600 it\n",
	    tmpdir);
	got = load_extra(extra, NULL);
	is_str(got, want, "a ${file:} reference to an open file is refused");
	free(got);
	free(want);
	free(extra);

	extra = xasprintf(
	    "checks:\n  smoke:\n    - name: sign in\n"
	    "      request:\n        method: POST\n        url: /login\n"
	    "        form: {login: \"${SMOKE_LOGIN}\", "
	    "password: \"${file:%s/ok.pass}\"}\n",
	    tmpdir);
	got = load_extra(extra, &c);
	is_str(got, "", "owner-only ${file:} reference accepted");
	if (c != NULL && c->nchecks == 1 && c->checks[0].steps[0].form.n == 2) {
		is_str(c->checks[0].steps[0].form.items[0].value,
		    "${SMOKE_LOGIN}", "${ENV} stored as written");
		want = xasprintf("${file:%s/ok.pass}", tmpdir);
		is_str(c->checks[0].steps[0].form.items[1].value, want,
		    "${file:} stored as written, not read");
		free(want);
	} else
		ok(0, "form values parsed");
	config_free(c);
	free(got);
	free(extra);

	extra = xasprintf("tls: {certificate: /etc/ssl/cert.pem, key: "
			  "%s/open.pass}\n",
	    tmpdir);
	want =
	    xasprintf("t.yaml:11:44: tls.key: secret file \"%s/open.pass\" "
		      "is readable or writable by group or others (mode 0644): "
		      "chmod 600 it\n",
		tmpdir);
	got = load_extra(extra, NULL);
	is_str(got, want, "the TLS key is a secret file");
	free(got);
	free(want);
	free(extra);

	extra =
	    xasprintf("registries:\n  - {host: \"127.0.0.1:5000\", url: "
		      "\"http://127.0.0.1:5000\", username: u, password_file: "
		      "%s/open.pass}\n",
		tmpdir);
	want = xasprintf(
	    "t.yaml:12:88: registries[0].password_file: secret "
	    "file \"%s/open.pass\" is readable or writable by group or others "
	    "(mode 0644): chmod 600 it\n",
	    tmpdir);
	got = load_extra(extra, NULL);
	is_str(got, want, "a registry password_file is a secret file");
	free(got);
	free(want);
	free(extra);

	/* An ECR host's entry without credentials: only where it answers. */
	got = load_extra(
	    "registries:\n  - {host: 333333333333.dkr.ecr."
	    "eu-west-1.amazonaws.com, url: \"http://127.0.0.1:5000\"}\n",
	    &c);
	is_str(got, "", "an ECR host may have an entry with only a url");
	ok(c != NULL && c->nregistries == 1 &&
		c->registries[0].username == NULL &&
		strcmp(config_find_registry(c, "333333333333.dkr.ecr."
					       "eu-west-1.amazonaws.com")
			   ->url,
		    "http://127.0.0.1:5000") == 0,
	    "the ECR host's url is the entry's");
	free(got);
	config_free(c);
}

/* The file holds password hashes: group-readable at most. */
static void
test_file_mode(void)
{
	static const struct {
		mode_t	    mode;
		const char *why; /* NULL: loads */
	} t[] = {
		{ 0600, NULL },
		{ 0640, NULL },
		{ 0400, NULL },
		{ 0644, "readable or writable by others (mode 0644)" },
		{ 0604, "readable or writable by others (mode 0604)" },
		{ 0602, "readable or writable by others (mode 0602)" },
		{ 0660, "writable by its group (mode 0660)" },
	};
	struct config_errors e;
	struct config	    *c;
	char		    *path, *want, *text;
	size_t		     i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		put_file("mode.yaml", base_config, 0600);
		path = xasprintf("%s/mode.yaml", tmpdir);
		chmod(path, t[i].mode);
		c = config_load(path, &e);
		if (t[i].why == NULL)
			ok(c != NULL && e.n == 0, "mode %04o: loads",
			    (unsigned int)t[i].mode);
		else {
			want = xasprintf("%s: %s, but it holds password "
					 "hashes: chmod 640 it (or 600)",
			    path, t[i].why);
			ok(c == NULL && e.n == 1, "mode %04o: refused",
			    (unsigned int)t[i].mode);
			is_str(e.n > 0 ? e.lines[0] : "", want,
			    "mode %04o: the error names the file and mode",
			    (unsigned int)t[i].mode);
			free(want);
		}
		config_free(c);
		config_errors_free(&e);
		free(path);
	}

	/* The mode and the content's errors, all in one run. */
	text = xasprintf("%sfrobnicate: 1\n", base_config);
	put_file("mode.yaml", text, 0644);
	free(text);
	path = xasprintf("%s/mode.yaml", tmpdir);
	c = config_load(path, &e);
	ok(c == NULL && e.n == 2 && strstr(e.lines[0], "(mode 0644)") != NULL &&
		strstr(e.lines[1], "frobnicate: unknown key") != NULL,
	    "the mode and the content are both reported");
	config_free(c);
	config_errors_free(&e);
	free(path);
}

/* SMTP AUTH without TLS only when the operator says so. */
static void
test_smtp_plaintext(void)
{
	static const struct {
		const char *smtp;
		int	    refused;
		int	    plaintext;
		const char *name;
	} t[] = {
		{ "url: \"smtp://mx.example.com:25\", starttls: false, "
		  "username: deploy",
		    1, 1, "smtp:// without STARTTLS, with a user: refused" },
		{ "url: \"smtp://mx.example.com:25\", starttls: false, "
		  "allow_plaintext_auth: true, username: deploy",
		    0, 1, "the same with allow_plaintext_auth: true" },
		{ "url: \"smtp://mx.example.com:587\", "
		  "username: deploy",
		    0, 0, "smtp:// with STARTTLS (required) and a user" },
		{ "url: \"smtps://mx.example.com:465\", starttls: false, "
		  "username: deploy",
		    0, 0, "smtps:// with a user" },
		{ "url: \"smtp://127.0.0.1:25\", starttls: false", 0, 0,
		    "smtp:// without STARTTLS and without a user" },
	};
	struct config *c;
	char	      *smtp, *extra, *got;
	size_t	       i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		/* With a username comes its password_file. */
		if (strstr(t[i].smtp, "username") != NULL)
			smtp = xasprintf("%s, password_file: %s/ok.pass",
			    t[i].smtp, tmpdir);
		else
			smtp = xstrdup(t[i].smtp);
		extra = xasprintf("mail:\n  from: d@example.com\n  smtp: "
				  "{%s}\n",
		    smtp);
		got = load_extra(extra, &c);
		if (t[i].refused)
			ok(c == NULL &&
				strstr(got,
				    "t.yaml:13:9: mail.smtp: "
				    "username without TLS sends the password in clear: "
				    "use smtps://, starttls: true, or set "
				    "allow_plaintext_auth: true\n") != NULL,
			    "%s: %s", t[i].name, got);
		else
			ok(c != NULL && *got == '\0' &&
				config_mail_plaintext_auth(&c->mail) ==
				    t[i].plaintext,
			    "%s%s", t[i].name, got);
		config_free(c);
		free(got);
		free(extra);
		free(smtp);
	}
}

static const char *scoped_config =
    "public_url: https://deploy.example.com\n"
    "database: /var/lib/shipgate/shipgate.db\n"
    "aws: {region: eu-west-1}\n"
    "users: [{name: alice, email: alice@example.com, groups: [team]}]\n"
    "apps:\n"
    "  - name: billing\n"
    "    source: {bucket: releases-billing}\n"
    "    environments:\n"
    "      - {name: int, account: \"111111111111\", stack: billing-int,\n"
    "         role_arn: \"arn:aws:iam::111111111111:role/d\",\n"
    "         approvers: [team], checks: [prod-api],\n"
    "         release_checks: [home], release_may_set: [DesiredCount]}\n";

/* Which checks a release may name, which parameters it may set. */
static void
test_release_scope(void)
{
	const struct config_environment *env;
	struct config_errors		 e;
	struct config			*c;
	char				*got, *text;
	const char			*checks;

	checks = "checks:\n"
		 "  home: [{name: home, request: {url: /}}]\n"
		 "  prod-api: [{name: api, request: {url: /api}}]\n";
	got = load_extra(checks, &c);
	ok(c != NULL && c->apps[0].environments[0].release_checks.n == 0 &&
		c->apps[0].environments[0].release_may_set.n == 0,
	    "release_checks and release_may_set are empty by default%s", got);
	if (c != NULL) {
		env = &c->apps[0].environments[0];
		ok(!config_environment_allows_check(env, "home") &&
			!config_environment_allows_check(env, "prod-api"),
		    "by default an environment allows no check");
		ok(!config_environment_release_may_set(env, "Environment"),
		    "by default a release may set no pinned parameter");
	}
	config_free(c);
	free(got);

	text = xasprintf("%s%s", scoped_config, checks);
	c = config_load_buffer("t.yaml", text, strlen(text), &e);
	got = joined(&e);
	config_errors_free(&e);
	free(text);
	is_str(got, "", "release_checks and release_may_set are read");
	if (c != NULL) {
		env = &c->apps[0].environments[0];
		ok(env->release_checks.n == 1 && env->release_may_set.n == 1,
		    "one of each");
		ok(config_environment_allows_check(env, "home") &&
			config_environment_allows_check(env, "prod-api") &&
			!config_environment_allows_check(env, "other"),
		    "int allows its check and its release_checks");
		ok(config_environment_release_may_set(env, "DesiredCount") &&
			!config_environment_release_may_set(env, "Environment"),
		    "release_may_set lists DesiredCount only");
	}
	config_free(c);
	free(got);

	text = xasprintf("%s%s", scoped_config,
	    "checks:\n"
	    "  prod-api: [{name: api, request: {url: /api}}]\n");
	c = config_load_buffer("t.yaml", text, strlen(text), &e);
	got = joined(&e);
	config_errors_free(&e);
	free(text);
	is_str(got,
	    "t.yaml:12:27: apps[0].environments[0].release_checks[0]: "
	    "no check named \"home\" under checks\n",
	    "release_checks must name configured checks");
	config_free(c);
	free(got);
}

static void
test_unreadable(void)
{
	struct config_errors e;
	struct config	    *c;

	c = config_load("/nonexistent/shipgate.yaml", &e);
	ok(c == NULL && e.n == 1, "a missing file gives one error");
	if (e.n == 1)
		is_str(e.lines[0],
		    "/nonexistent/shipgate.yaml: No such file "
		    "or directory",
		    "it names the file and strerror");
	config_errors_free(&e);

	c = config_load(tmpdir, &e);
	ok(c == NULL && e.n == 1, "a directory gives one error");
	if (e.n == 1)
		ok(strstr(e.lines[0], "Is a directory") != NULL &&
			strncmp(e.lines[0], tmpdir, strlen(tmpdir)) == 0,
		    "it names the directory: %s", e.lines[0]);
	config_errors_free(&e);
}

static struct config *
load_or_diag(const char *name, const char *text)
{
	struct config_errors e;
	struct config	    *c;
	size_t		     i;

	c = config_load_buffer(name, text, strlen(text), &e);
	for (i = 0; i < e.n; i++)
		tap_diag("%s", e.lines[i]);
	config_errors_free(&e);
	return (c);
}

static void
test_demo(void)
{
	struct config_errors		 e;
	struct config			*c;
	const struct config_app		*app;
	const struct config_environment *env;
	const struct config_user	*u;
	char				*path, *src;
	size_t				 i;

	/* As scripts/demo installs it: group-readable at most. */
	src = xasprintf("%s/conf/demo.yaml", srcdir);
	path = copy_file(src, "demo.yaml", 0640);
	free(src);
	c = config_load(path, &e);
	for (i = 0; i < e.n; i++)
		tap_diag("%s", e.lines[i]);
	config_errors_free(&e);
	free(path);
	if (!ok(c != NULL, "conf/demo.yaml loads (mode 0640)"))
		return;
	is_str(c->listen, "127.0.0.1:8080", "demo: listen");
	is_str(c->database, "/tmp/shipgate-demo/shipgate.db", "demo: database");
	is_str(c->control_socket, "/tmp/shipgate-demo/control.sock",
	    "demo: control socket");
	is_int(c->log_level, LOG_LEVEL_INFO, "demo: log level");
	is_str(config_endpoint(c, "s3"), "http://127.0.0.1:4599",
	    "demo: s3 endpoint");
	is_str(config_endpoint(c, "sesv2"), "http://127.0.0.1:4599",
	    "demo: sesv2 endpoint");
	is_int(c->aws.nendpoints, 7, "demo: every service points at the fake");
	ok(config_endpoint(c, "lambda") == NULL, "no endpoint for others");
	is_int(c->mail.transport, CONFIG_MAIL_SMTP, "demo: smtp");
	is_str(c->mail.smtp_url, "smtp://127.0.0.1:4525", "demo: smtp url");
	is_int(c->mail.smtp_starttls, 0, "demo: no STARTTLS for the sink");
	ok(c->mail.smtp_password_file == NULL, "demo: no smtp auth");
	is_int(c->nusers, 4, "demo: four users");
	u = config_find_user(c, "carol");
	ok(u != NULL && config_user_in_group(u, "project-team") &&
		!config_user_in_group(u, "operators"),
	    "carol is project-team");
	ok(u != NULL && strncmp(u->password_hash, "$argon2id$v=19$", 15) == 0,
	    "carol has an argon2id hash");
	ok(config_find_user(c, "mallory") == NULL, "no mallory");
	app = config_find_app(c, "billing");
	if (!ok(app != NULL, "demo: app billing"))
		goto out;
	ok(config_find_app(c, "payroll") == NULL, "no app payroll");
	is_str(app->source_bucket, "releases-billing", "demo: bucket");
	is_str(app->source_prefix, "drops/", "demo: prefix");
	is_str(app->source_queue_url,
	    "http://127.0.0.1:4599/000000000000/billing-drops", "demo: queue");
	is_int(app->poll_interval_ms, 60000, "demo: poll interval");
	is_int(app->mode, CONFIG_MODE_SUPERSEDED, "demo: mode");
	is_int(app->limit_zip_size, 50 * 1024 * 1024, "default zip_size");
	is_int(app->limit_entries, 200, "default entries");
	is_int(app->limit_unpacked_size, 200 * 1024 * 1024,
	    "default unpacked_size");
	is_int(app->nenvironments, 3, "demo: three environments");
	if (app->nenvironments == 3) {
		is_str(app->environments[0].name, "int", "int first");
		is_str(app->environments[1].name, "stg", "stg second");
		is_str(app->environments[2].name, "prod", "prod last");
	}
	env = config_find_environment(app, "prod");
	if (!ok(env != NULL, "demo: prod"))
		goto out;
	ok(config_find_environment(app, "qa") == NULL, "no environment qa");
	is_str(env->account, "333333333333", "prod account");
	is_str(env->role_arn,
	    "arn:aws:iam::333333333333:role/shipgate-deployer", "prod role");
	is_str(env->stack, "billing-prod", "prod stack");
	is_str(env->region, "eu-west-1", "region defaults to aws.region");
	is_str(env->registry, "333333333333.dkr.ecr.eu-west-1.amazonaws.com",
	    "prod registry");
	is_int(env->required_approvals, 2, "prod needs two approvals");
	is_int(env->allow_self_approval, 0, "prod: no self-approval");
	is_int(env->approval_timeout_ms, 7LL * 24 * 3600 * 1000,
	    "default approval_timeout 7d");
	is_int(env->deploy_timeout_ms, 60LL * 60 * 1000,
	    "default deploy_timeout 60m");
	is_int(env->auto_rollback, 0, "default auto_rollback false");
	is_int(env->approve_no_changes, 1, "default approve_no_changes true");
	is_int(env->drift, CONFIG_DRIFT_WARN, "default drift warn");
	is_int(env->drift_timeout_ms, 120LL * 1000,
	    "default drift_timeout 120s");
	env = config_find_environment(app, "int");
	ok(env != NULL && env->gate.n == 1 &&
		strcmp(env->gate.items[0], "integrators") == 0,
	    "int gate");
	ok(env != NULL && env->parameters.n == 2 &&
		strcmp(env->parameters.items[0].key, "Environment") == 0 &&
		strcmp(env->parameters.items[0].value, "int") == 0 &&
		strcmp(env->parameters.items[1].key, "Registry") == 0 &&
		strcmp(env->parameters.items[1].value, "111111111111") == 0,
	    "int parameters");
	is_int(c->session_idle_timeout_ms, 8LL * 3600 * 1000,
	    "default session idle timeout");
	is_int(c->promotion_parallel_blobs, 4, "default parallel blobs");
	is_int(c->max_body_size, 64 * 1024, "default max body size");
out:
	config_free(c);
}

/* The example, with its secret files under a temporary directory. */
static void
test_example(void)
{
	char			       *path, *text, *sub, *p, *q;
	struct buf			b;
	struct config		       *c;
	const struct config_check      *chk;
	const struct config_check_step *st;
	const struct config_registry   *r;
	const struct config_app	       *app;

	path = xasprintf("%s/conf/shipgate.example.yaml", srcdir);
	text = slurp(path);
	free(path);
	if (!ok(text != NULL, "read the example"))
		return;
	buf_init(&b, 1 << 20);
	for (p = text; (q = strstr(p, "/etc/shipgate/")) != NULL;
	     p = q + strlen("/etc/shipgate/")) {
		buf_append(&b, p, q - p);
		buf_printf(&b, "%s/", tmpdir);
	}
	buf_appends(&b, p);
	free(text);

	sub = xasprintf("%s/tls", tmpdir);
	mkdir(sub, 0700);
	free(sub);
	put_file("tls/key.pem", "not a real key\n", 0600);
	put_file("slack.url", "https://hooks.example.com/x\n", 0600);
	put_file("smoke.pass", "s3cr3t\n", 0600);
	put_file("registry.pass", "s3cr3t\n", 0600);

	c = load_or_diag("shipgate.example.yaml", b.data);
	buf_free(&b);
	if (!ok(c != NULL,
		"conf/shipgate.example.yaml loads (secret files "
		"under %s)",
		tmpdir))
		return;
	is_int(c->log_debug, LOG_CAT_AWS | LOG_CAT_ENGINE, "log_debug mask");
	is_int(c->trusted_proxies.n, 2, "two trusted proxies");
	is_str(c->identity_header, "X-Forwarded-Email", "identity header");
	is_int(c->mail.transport, CONFIG_MAIL_SES, "example mail via SES");
	is_str(c->mail.ses_region, "eu-west-1", "ses region");
	is_int(c->mail.remind_every_ms, 24LL * 3600 * 1000, "remind_every");
	is_int(c->nwebhooks, 1, "one webhook");
	is_int(c->webhooks[0].events.n, 4, "four webhook events");
	is_str(c->aws.profile, "shipgate", "aws profile");
	is_int(c->aws.max_attempts, 5, "max attempts");
	ok(config_find_user(c, "dave") != NULL &&
		config_find_user(c, "dave")->password_hash == NULL,
	    "a user without a password hash");
	is_int(c->nchecks, 2, "two checks");
	chk = config_find_check(c, "login-and-name");
	ok(config_find_check(c, "nope") == NULL, "no check nope");
	if (ok(chk != NULL && chk->nsteps == 3, "login-and-name has 3 steps")) {
		st = &chk->steps[0];
		is_str(st->method, "GET", "step 1 method");
		is_int(st->timeout_ms, 30000, "default timeout 30s");
		is_int(st->retries, 0, "no retries by default");
		st = &chk->steps[1];
		is_int(st->nexpect_status, 2, "step 2: two statuses");
		ok(st->nexpect_status == 2 && st->expect_status[0] == 200 &&
			st->expect_status[1] == 302,
		    "200 or 302");
		is_str(st->expect_header, "Set-Cookie", "expect header");
		is_int(st->max_redirects, 5, "max redirects");
		st = &chk->steps[2];
		is_int(st->retries, 10, "step 3 retries");
		is_int(st->retry_delay_ms, 15000, "step 3 retry delay");
		is_int(st->timeout_ms, 10000, "step 3 timeout");
		is_str(st->expect_contains, "Jean Dupont", "step 3 contains");
	}
	chk = config_find_check(c, "api-health");
	if (ok(chk != NULL && chk->nsteps == 1, "api-health")) {
		is_str(chk->steps[0].json_body, "{\"deep\": true}",
		    "json body");
		is_str(chk->steps[0].expect_json_pointer, "/status", "pointer");
		is_str(chk->steps[0].expect_json_equals, "ok", "equals");
	}
	r = config_find_registry(c, "registry.example.com:5000");
	ok(r != NULL && strcmp(r->username, "shipgate") == 0 &&
		strcmp(r->url, "https://registry.example.com:5000") == 0,
	    "registry credentials");
	ok(config_find_registry(c, "docker.io") == NULL, "no docker.io");
	app = config_find_app(c, "billing");
	if (ok(app != NULL, "example app")) {
		is_str(app->artifacts_bucket, "shipgate-artifacts",
		    "artifacts");
		is_str(app->artifacts_prefix, "billing/", "artifacts prefix");
		is_int(app->limit_ratio, 100, "ratio");
		is_int(app->limit_entry_size, 100 * 1024 * 1024, "entry size");
		is_int(app->max_receives, 5, "max receives");
		is_str(app->environments[0].external_id, "billing-int",
		    "external id");
		is_str(app->environments[0].base_url,
		    "https://int.billing.example.com", "base url");
	}
	config_free(c);
}

/* auth.oidc and auth.alb: defaults, mapping, and each refusal. */
static void
test_auth(void)
{
	struct config *c;
	char	      *extra, *got;
	const char   **out;
	const char    *pg[] = { "idp-approvers", "idp-x", "idp-team2", NULL };
	size_t	       n;
	static const struct {
		const char *yaml; /* %s: tmpdir */
		const char *want; /* a part of the errors */
	} bad[] = {
		{ "auth:\n  oidc: {issuer: \"http://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret, "
		  "groups: {a: team}}\n",
		    "t.yaml:12:18: auth.oidc.issuer: \"http://idp.example.com\" "
		    "must be https:// (http:// only for a loopback issuer" },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com/?x=1\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret, "
		  "groups: {a: team}}\n",
		    "auth.oidc.issuer: \"https://idp.example.com/?x=1\" must be "
		    "an https:// URL without query" },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com\", "
		  "client_secret_file: %s/oidc.secret, groups: {a: team}}\n",
		    "auth.oidc.client_id: missing required key" },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.open, "
		  "groups: {a: team}}\n",
		    "auth.oidc.client_secret_file: " },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret}\n",
		    "auth.oidc: needs groups" },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret, "
		  "scopes: [email], groups: {a: team}}\n",
		    "auth.oidc.scopes[0]: scopes must include openid" },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret, "
		  "groups: {a: \"no such\"}}\n",
		    "auth.oidc.groups.a: the shipgate group \"no such\"" },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret, "
		  "user_claim: \"a b\", groups: {a: team}}\n",
		    "auth.oidc.user_claim: \"a b\" must be a claim name" },
		{ "auth:\n  oidc: {issuer: \"https://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret, "
		  "groups: {a: team}, colour: blue}\n",
		    "auth.oidc.colour: unknown key" },
		{ "auth:\n  alb: {arn: \"arn:aws:iam::123456789012:role/x\", "
		  "groups: {a: team}}\ntrusted_proxies: [10.0.0.0/8]\n",
		    "must be an Application Load Balancer ARN" },
		{ "auth:\n  alb: {arn: \"arn:aws:elasticloadbalancing:"
		  "eu-west-1:123456789012:loadbalancer/app/sg/1\", "
		  "groups: {a: team}}\n",
		    "auth.alb.arn: needs trusted_proxies" },
		{ "auth:\n  alb: {arn: \"arn:aws:elasticloadbalancing:"
		  "eu-west-1:123456789012:loadbalancer/app/sg/1\", "
		  "groups: {a: team}}\ntrusted_proxies: [10.0.0.0/8]\n"
		  "identity_header: X-Email\n",
		    "auth.alb and identity_header are exclusive" },
		{ "auth:\n  alb: {arn: \"arn:aws:elasticloadbalancing:"
		  "eu-west-1:123456789012:loadbalancer/app/sg/1\", "
		  "groups: {a: team}}\n"
		  "  oidc: {issuer: \"https://idp.example.com\", "
		  "client_id: sg, client_secret_file: %s/oidc.secret, "
		  "groups: {a: team}}\ntrusted_proxies: [10.0.0.0/8]\n",
		    "auth.alb and auth.oidc are exclusive" },
		{ "trusted_proxies: [10.0.0.0/8]\n",
		    "trusted_proxies: needs identity_header or auth.alb" },
	};
	size_t i;

	put_file("oidc.secret", "s3cr3t-never-shown\n", 0600);
	put_file("oidc.open", "s3cr3t-never-shown\n", 0644);

	extra =
	    xasprintf("auth:\n  oidc:\n    issuer: "
		      "\"http://127.0.0.1:4000\"\n    client_id: shipgate\n"
		      "    client_secret_file: %s/oidc.secret\n    groups:\n"
		      "      idp-approvers: team\n      idp-team2: team2\n"
		      "      idp-x: team\n",
		tmpdir);
	got = load_extra(extra, &c);
	is_str(got, "", "auth.oidc with a loopback http issuer is accepted");
	if (ok(c != NULL, "auth.oidc loads")) {
		is_str(c->oidc.issuer, "http://127.0.0.1:4000", "issuer");
		ok(c->oidc.loopback == 1, "a loopback issuer is marked");
		ok(c->oidc.scopes.n == 3 &&
			strcmp(c->oidc.scopes.items[0], "openid") == 0 &&
			strcmp(c->oidc.scopes.items[2], "profile") == 0,
		    "scopes default to openid email profile");
		is_str(c->oidc.user_claim, "email",
		    "user_claim defaults to "
		    "email");
		is_str(c->oidc.groups_claim, "groups",
		    "groups_claim defaults "
		    "to groups");
		n = config_map_groups(&c->oidc.groups, pg, &out);
		ok(n == 2 && strcmp(out[0], "team") == 0 &&
			strcmp(out[1], "team2") == 0 && out[2] == NULL,
		    "three provider groups map to two shipgate groups once "
		    "each");
		free(out);
		ok(c->alb.arn == NULL, "no auth.alb");
	}
	config_free(c);
	free(got);
	free(extra);

	/* An approvers group only the provider's mapping names. */
	extra = xasprintf(
	    "auth:\n  oidc: {issuer: \"https://idp.example.com"
	    "/realms/x\", client_id: sg, client_secret_file: %s/oidc.secret, "
	    "scopes: [openid, groups], groups_claim: \"cognito:groups\", "
	    "groups: {g: team}}\n",
	    tmpdir);
	got = load_extra(extra, &c);
	is_str(got, "", "auth.oidc with scopes and a cognito claim");
	ok(c != NULL && c->oidc.loopback == 0 && c->oidc.scopes.n == 2 &&
		strcmp(c->oidc.groups_claim, "cognito:groups") == 0,
	    "https issuer, given scopes, given claim");
	config_free(c);
	free(got);
	free(extra);

	extra = xstrdup(
	    "auth:\n  alb:\n    arn: \"arn:aws:"
	    "elasticloadbalancing:eu-west-3:123456789012:loadbalancer/app/"
	    "sg/50dc6c495c0c9188\"\n    groups: {idp-approvers: team}\n"
	    "trusted_proxies: [10.0.0.0/8]\n");
	got = load_extra(extra, &c);
	is_str(got, "", "auth.alb with trusted_proxies");
	if (ok(c != NULL, "auth.alb loads")) {
		is_str(c->alb.region, "eu-west-3",
		    "the region comes from "
		    "the ARN");
		is_str(c->alb.key_url,
		    "https://public-keys.auth.elb.eu-west-3.amazonaws.com",
		    "the key URL defaults to the region's endpoint");
		ok(c->oidc.issuer == NULL, "no auth.oidc");
	}
	config_free(c);
	free(got);
	free(extra);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *pct = strstr(bad[i].yaml, "%s");

		/* The one %s of a case is the temporary directory. */
		extra = pct == NULL ?
			    xstrdup(bad[i].yaml) :
			    xasprintf("%.*s%s%s", (int)(pct - bad[i].yaml),
				bad[i].yaml, tmpdir, pct + 2);
		got = load_extra(extra, &c);
		ok(c == NULL && strstr(got, bad[i].want) != NULL &&
			strstr(got, "s3cr3t") == NULL,
		    "auth refused (%zu): %s", i, bad[i].want);
		if (c != NULL || strstr(got, bad[i].want) == NULL)
			tap_diag("got: %s", got);
		config_free(c);
		free(got);
		free(extra);
	}
}

/* groups: (a group's own addresses) and auth.*.remember_days. */
static void
test_groups_mail(void)
{
	const struct config_group *g;
	struct config		  *c;
	char			  *got, *extra;
	static const struct {
		const char *yaml;
		const char *want;
	} bad[] = {
		{ "groups: [{name: team, mail: [nobody]}]\n",
		    "groups[0].mail[0]: \"nobody\" must be an e-mail address" },
		{ "groups: [{name: team}]\n",
		    "groups[0].mail: missing required key" },
		{ "groups: [{name: team, mail: []}]\n", "groups[0].mail: " },
		{ "groups: [{name: teem, mail: [a@example.com]}]\n",
		    "group \"teem\": no user is in it and no provider group "
		    "maps to it" },
		{ "groups: [{name: team, mail: [a@example.com]},\n"
		  "  {name: team, mail: [b@example.com]}]\n",
		    "duplicate group \"team\"" },
		{ "auth:\n  alb: {arn: \"arn:aws:elasticloadbalancing:"
		  "eu-west-1:123456789012:loadbalancer/app/sg/1\", "
		  "groups: {a: team}, remember_days: 0}\n"
		  "trusted_proxies: [10.0.0.0/8]\n",
		    "auth.alb.remember_days: " },
	};
	size_t i;

	got = load_extra("groups:\n  - {name: team, mail: [team@example.com, "
			 "team-leads@example.com]}\n",
	    &c);
	is_str(got, "", "groups: with a mail list loads");
	g = c != NULL ? config_find_group(c, "team") : NULL;
	ok(g != NULL && g->mail.n == 2 &&
		strcmp(g->mail.items[1], "team-leads@example.com") == 0,
	    "the group's addresses are kept");
	ok(c != NULL && config_find_group(c, "other") == NULL,
	    "no other group");
	ok(c != NULL && config_people_remember_ms(c) == 90LL * 24 * 3600 * 1000,
	    "people are remembered 90 days by "
	    "default");
	config_free(c);
	free(got);

	put_file("oidc.secret", "s3cr3t-never-shown\n", 0600);
	extra = xasprintf(
	    "auth:\n  oidc: {issuer: \"https://idp.example."
	    "com\", client_id: sg, client_secret_file: %s/oidc.secret, "
	    "groups: {g: team}, remember_days: 30}\n",
	    tmpdir);
	got = load_extra(extra, &c);
	is_str(got, "", "auth.oidc.remember_days loads");
	ok(c != NULL && c->oidc.remember_days == 30 &&
		config_people_remember_ms(c) == 30LL * 24 * 3600 * 1000,
	    "remember_days: 30 is 30 days");
	config_free(c);
	free(got);
	free(extra);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		got = load_extra(bad[i].yaml, &c);
		ok(c == NULL && strstr(got, bad[i].want) != NULL,
		    "refused (%zu): %s", i, bad[i].want);
		if (c != NULL || strstr(got, bad[i].want) == NULL)
			tap_diag("got: %s", got);
		config_free(c);
		free(got);
	}
}

/* Who a Unix user is, and when a user's sign-ins must end. */
static void
test_unix_users(void)
{
	static const char text[] =
	    "public_url: https://deploy.example.com\n"
	    "database: /var/lib/shipgate/shipgate.db\n"
	    "aws: {region: eu-west-1}\n"
	    "control_admin_group: admins\n"
	    "users:\n"
	    "  - {name: alice, email: a@example.com, groups: [team],\n"
	    "     password_hash: \"$argon2id$v=19$m=65536,t=3,p=4$"
	    "uLVMLi9BJyU3bV4x3eJTVA$MNrxisQWsnK9fFyz0Pex1HBgYeUtbDKm6l2tgpEyUuI\"}\n"
	    "  - {name: bob, email: b@example.com, groups: [team, admins],\n"
	    "     unix_user: robert}\n"
	    "  - {name: carol, email: c@example.com, groups: [team],\n"
	    "     unix_uid: 64001}\n"
	    "apps:\n"
	    "  - name: billing\n"
	    "    source: {bucket: releases-billing}\n"
	    "    environments:\n"
	    "      - {name: int, account: \"111111111111\", stack: s,\n"
	    "         role_arn: \"arn:aws:iam::111111111111:role/r\",\n"
	    "         approvers: [team]}\n";
	struct config_errors	  errors = { 0 };
	struct config		 *c;
	const struct config_user *u;
	struct config_user	  changed;
	char  team[] = "team", other[] = "$argon2id$v=19$m=65536,t=3,p=4$o$o";
	char *one[1] = { team };

	c = config_load_buffer("unix.yaml", text, sizeof text - 1, &errors);
	ok(c != NULL, "unix_user, unix_uid and control_admin_group load");
	config_errors_free(&errors);
	if (c == NULL)
		return;
	is_str(c->control_admin_group, "admins", "control_admin_group kept");
	u = config_find_unix_user(c, 1000, "alice");
	ok(u != NULL && strcmp(u->name, "alice") == 0,
	    "a Unix user of the same name, by default");
	ok(config_find_unix_user(c, 1001, "bob") == NULL,
	    "not a user mapped to another Unix user (bob is robert)");
	u = config_find_unix_user(c, 1001, "robert");
	ok(u != NULL && strcmp(u->name, "bob") == 0, "by unix_user");
	u = config_find_unix_user(c, 64001, NULL);
	ok(u != NULL && strcmp(u->name, "carol") == 0,
	    "by unix_uid, without a passwd entry");
	u = config_find_unix_user(c, 64001, "alice");
	ok(u != NULL && strcmp(u->name, "carol") == 0,
	    "unix_uid wins over the name");
	ok(config_find_unix_user(c, 64002, NULL) == NULL,
	    "an unknown uid without a name is nobody");
	ok(config_find_unix_user(c, 1002, "carol") == NULL,
	    "nor is carol's name on another uid");

	u = config_find_user(c, "alice");
	ok(!config_user_credentials_changed(u, u), "nothing changed");
	ok(config_user_credentials_changed(u, NULL), "a user gone");
	changed = *u;
	changed.password_hash = other;
	ok(config_user_credentials_changed(u, &changed), "a new password");
	changed.password_hash = NULL;
	ok(config_user_credentials_changed(u, &changed), "a password removed");
	u = config_find_user(c, "bob");
	changed = *u;
	changed.groups.items = one;
	changed.groups.n = 1;
	ok(config_user_credentials_changed(u, &changed), "a group taken away");
	ok(!config_user_credentials_changed(&changed, u), "a group added");
	config_free(c);
}

static void
test_good_variants(void)
{
	struct config *c;
	char	      *got;

	got =
	    load_extra("listen: \"[::1]:8443\"\nlog_level: debug\n"
		       "mail: {from: d@example.com, ses: {}, remind_every: 0}\n"
		       "portal: {session_lifetime: 30d}\n",
		&c);
	is_str(got, "", "IPv6 listen, ses without region, no reminders");
	if (c != NULL) {
		is_str(c->listen, "[::1]:8443", "IPv6 listen kept");
		is_int(c->log_level, LOG_LEVEL_DEBUG, "debug level");
		is_str(c->mail.ses_region, "eu-west-1", "ses region defaults");
		is_int(c->mail.remind_every_ms, 0, "remind_every 0");
		is_int(c->session_lifetime_ms, 30LL * 24 * 3600 * 1000, "30d");
		is_str(c->control_socket,
		    SHIPGATE_RUNSTATEDIR "/shipgate/control.sock",
		    "default control socket");
	}
	config_free(c);
	free(got);

	/* An unquoted account number is read as written. */
	got = load_extra(
	    "  - name: payroll\n    mode: queued\n"
	    "    source: {bucket: releases-payroll}\n"
	    "    environments:\n      - {name: int, account: 111111111111, "
	    "stack: payroll-int, role_arn: \"arn:aws:iam::111111111111:role/d\","
	    " approvers: [team], region: eu-central-1}\n",
	    &c);
	is_str(got, "", "an unquoted account and a second app");
	if (c != NULL) {
		is_int(c->napps, 2, "two apps");
		is_int(c->apps[1].mode, CONFIG_MODE_QUEUED, "queued mode");
		is_str(c->apps[1].environments[0].account, "111111111111",
		    "account text");
		is_str(c->apps[1].environments[0].region, "eu-central-1",
		    "own region");
	}
	config_free(c);
	free(got);

	/* The same stack name in another region or account is fine. */
	got = load_extra(
	    "  - name: payroll\n"
	    "    source: {bucket: releases-payroll}\n"
	    "    environments:\n      - {name: int, account: \"111111111111\","
	    " stack: billing-int, role_arn: \"arn:aws:iam::111111111111:role/d\","
	    " approvers: [team], region: us-east-1}\n",
	    NULL);
	is_str(got, "", "same stack name in another region");
	free(got);

	/* Windows and freezes: freeze dates in the windows' zone. */
	got = load_extra(
	    "  - name: payroll\n"
	    "    source: {bucket: releases-payroll}\n"
	    "    environments:\n      - {name: prod, account: \"111111111111\","
	    " stack: payroll-prod, role_arn: \"arn:aws:iam::111111111111:role/d\","
	    " approvers: [team],\n"
	    "         windows: [{days: mon-thu, from: \"09:00\", to: \"17:30\","
	    " zone: Europe/Paris}, {days: fri, from: \"09:00\", to: \"12:00\","
	    " zone: America/New_York}],\n"
	    "         freezes: [{from: 2026-12-20, to: 2027-01-03, reason: "
	    "year-end}, {from: 2026-07-14, to: 2026-07-14, reason: fete, "
	    "zone: UTC}]}\n",
	    &c);
	is_str(got, "", "windows and freezes");
	if (c != NULL && c->napps == 2 &&
	    c->apps[1].environments[0].nwindows == 2 &&
	    c->apps[1].environments[0].nfreezes == 2) {
		const struct config_environment *e = &c->apps[1]
							  .environments[0];

		is_int(e->windows[0].day_mask, 0x1e, "mon-thu");
		is_int(e->windows[0].from_minute, 540, "from 09:00");
		is_int(e->windows[0].to_minute, 1050, "to 17:30");
		is_str(window_zone_name(e->windows[1].zone.tz),
		    "America/New_York", "a window's own zone");
		is_str(e->freezes[0].zone.name, "Europe/Paris",
		    "freeze dates in the first window's zone");
		is_int(e->freezes[0].to_day - e->freezes[0].from_day, 14,
		    "freeze days");
		is_str(e->freezes[0].reason, "year-end", "freeze reason");
		is_str(e->freezes[1].zone.name, "UTC", "a freeze's own zone");
	} else
		ok(0, "two windows and two freezes read");
	config_free(c);
	free(got);
}

static void
test_durations_sizes(void)
{
	static const struct {
		const char *in;
		int64_t	    ms;
	} durations[] = {
		{ "500ms", 500 },
		{ "90s", 90000 },
		{ "15m", 900000 },
		{ "24h", 86400000 },
		{ "7d", 604800000 },
		{ "0", 0 },
		{ "0s", 0 },
		{ "1", -1 },
		{ "", -1 },
		{ "s", -1 },
		{ "10 s", -1 },
		{ "-5s", -1 },
		{ "1.5h", -1 },
		{ "5S", -1 },
		{ "3w", -1 },
		{ "99999999999999999999s", -1 },
		{ "106751991167301d", -1 },
		{ "106751991167d", 9223372036828800000LL },
	};
	static const struct {
		const char *in;
		int64_t	    bytes;
	} sizes[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "512KiB", 524288 },
		{ "50MiB", 52428800 },
		{ "1GiB", 1073741824 },
		{ "1KB", -1 },
		{ "1kib", -1 },
		{ "", -1 },
		{ "MiB", -1 },
		{ "-1", -1 },
		{ "1 MiB", -1 },
		{ "9999999999999GiB", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof durations / sizeof durations[0]; i++)
		is_int(config_parse_duration(durations[i].in), durations[i].ms,
		    "duration \"%s\"", durations[i].in);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		is_int(config_parse_size(sizes[i].in), sizes[i].bytes,
		    "size \"%s\"", sizes[i].in);
	ok(config_parse_duration(NULL) == -1, "duration NULL");
	ok(config_webhook_event_known("deployed") &&
		!config_webhook_event_known("exploded"),
	    "webhook event names");
	is_str(config_default_path(),
	    SHIPGATE_SYSCONFDIR "/shipgate/shipgate.yaml",
	    "default path from sysconfdir");
}

/* ------------------------------------------------------------------ */
/* The man page names every key, under a heading for its mapping. */

struct man_keys {
	char **paths;
	size_t n;
	size_t nschema;
	int    missing;
};

static void
schema_cb(const char *path, const char *type, const char *def, int required,
    void *arg)
{
	struct man_keys *mk = arg;
	size_t		 i;

	mk->nschema++;
	for (i = 0; i < mk->n; i++)
		if (strcmp(mk->paths[i], path) == 0)
			return;
	ok(0, "shipgate.yaml(5) documents %s (%s)", path, type);
	mk->missing++;
}

static void
schema_has_cb(const char *path, const char *type, const char *def, int required,
    void *arg)
{
	const char **want = arg;

	if (*want != NULL && strcmp(*want, path) == 0)
		*want = NULL;
}

static void
test_man_page(void)
{
	struct man_keys mk;
	char	       *path, *text, *line, *next, *section = NULL, *key;
	const char     *want;
	size_t		i, len;
	int		unknown = 0;

	memset(&mk, 0, sizeof mk);
	path = xasprintf("%s/man/shipgate.yaml.5", srcdir);
	text = slurp(path);
	if (!ok(text != NULL, "read %s", path)) {
		free(path);
		return;
	}
	/* ".Ss PREFIX" opens a mapping's keys; ".It Ic KEY" names one. */
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, ".Ss ", 4) == 0) {
			free(section);
			section = xstrdup(line + 4);
			if (strcmp(section, "Top level") == 0)
				section[0] = '\0';
			continue;
		}
		if (strncmp(line, ".It Ic ", 7) != 0 || section == NULL)
			continue;
		len = strcspn(line + 7, " ");
		key = xstrndup(line + 7, len);
		mk.paths = xreallocarray(mk.paths, mk.n + 1, sizeof *mk.paths);
		mk.paths[mk.n++] = *section != '\0' ?
				       xasprintf("%s.%s", section, key) :
				       xstrdup(key);
		free(key);
	}
	config_schema_walk(schema_cb, &mk);
	ok(mk.nschema > 100 && mk.missing == 0,
	    "the man page documents all "
	    "%zu keys of the schema",
	    mk.nschema);
	for (i = 0; i < mk.n; i++) {
		want = mk.paths[i];
		config_schema_walk(schema_has_cb, &want);
		if (want != NULL) {
			ok(0, "documented key %s exists", mk.paths[i]);
			unknown++;
		}
	}
	ok(unknown == 0, "every key the man page documents exists (%zu)", mk.n);
	for (i = 0; i < mk.n; i++)
		free(mk.paths[i]);
	free(mk.paths);
	free(section);
	free(text);
	free(path);
}

/* The example shows every key (some in comments, e.g. smtp beside ses). */
struct example_keys {
	char  *text;
	int    missing;
	size_t n;
};

static void
example_cb(const char *path, const char *type, const char *def, int required,
    void *arg)
{
	struct example_keys *ek = arg;
	const char	    *leaf;
	char		    *key, *p;

	ek->n++;
	leaf = strrchr(path, '.') != NULL ? strrchr(path, '.') + 1 : path;
	key = xasprintf("%s:", leaf);
	if ((p = strstr(key, "[]")) != NULL)
		memmove(p, p + 2, strlen(p + 2) + 1);
	if (strstr(ek->text, key) == NULL) {
		ok(0, "shipgate.example.yaml shows %s", path);
		ek->missing++;
	}
	free(key);
}

static void
test_example_complete(void)
{
	struct example_keys ek;
	char		   *path;

	memset(&ek, 0, sizeof ek);
	path = xasprintf("%s/conf/shipgate.example.yaml", srcdir);
	if ((ek.text = slurp(path)) == NULL) {
		ok(0, "read %s", path);
		free(path);
		return;
	}
	config_schema_walk(example_cb, &ek);
	ok(ek.missing == 0, "the example shows all %zu keys", ek.n);
	free(ek.text);
	free(path);
}

static void
cleanup(void)
{
	char *cmd;

	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		tap_diag("cannot remove %s", tmpdir);
	free(cmd);
}

int
main(void)
{
	if ((srcdir = getenv("top_srcdir")) == NULL)
		srcdir = ".";
	umask(022);
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return (1);
	}
	test_corpus();
	test_secret_files();
	test_file_mode();
	test_smtp_plaintext();
	test_release_scope();
	test_unreadable();
	test_demo();
	test_example();
	test_example_complete();
	test_good_variants();
	test_unix_users();
	test_auth();
	test_groups_mail();
	test_durations_sizes();
	test_man_page();
	cleanup();
	return (tap_done());
}
