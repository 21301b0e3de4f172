/*
 * Release validation: the corpus of good and bad zips written by
 * tests/release/make-corpus.py (each bad one with its exact reason), the
 * parameter merge order, and the change set's name and description.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "release.h"
#include "tap.h"
#include "xmalloc.h"

#define DIGEST                                    \
	"sha256:0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef"

static char *
read_file(const char *path, size_t *lenp)
{
	FILE *f;
	char *data = NULL;
	long  len;

	*lenp = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		data = xmalloc((size_t)len + 1);
		if (fread(data, 1, (size_t)len, f) != (size_t)len) {
			free(data);
			data = NULL;
		} else
			*lenp = (size_t)len;
	}
	fclose(f);
	return (data);
}

/* "key=value,..." onto the defaults; 0 or -1 for an unknown key. */
static int
parse_limits(const char *spec, struct release_limits *l)
{
	char		  *copy, *p, *kv, *eq;
	unsigned long long v;
	int		   rc = 0;

	release_limits_default(l);
	if (strcmp(spec, "-") == 0)
		return (0);
	copy = p = xstrdup(spec);
	while ((kv = strsep(&p, ",")) != NULL) {
		if ((eq = strchr(kv, '=')) == NULL) {
			rc = -1;
			break;
		}
		*eq++ = '\0';
		v = strtoull(eq, NULL, 10);
		if (strcmp(kv, "zip_size") == 0)
			l->zip_size = v;
		else if (strcmp(kv, "entries") == 0)
			l->entries = v;
		else if (strcmp(kv, "entry_size") == 0)
			l->entry_size = v;
		else if (strcmp(kv, "unpacked_size") == 0)
			l->unpacked_size = v;
		else if (strcmp(kv, "ratio") == 0)
			l->ratio = v;
		else if (strcmp(kv, "ratio_min_size") == 0)
			l->ratio_min_size = v;
		else if (strcmp(kv, "name_len") == 0)
			l->name_len = (size_t)v;
		else if (strcmp(kv, "manifest_size") == 0)
			l->manifest_size = (size_t)v;
		else {
			rc = -1;
			break;
		}
	}
	free(copy);
	return (rc);
}

static char *
kvs_join(const struct config_kvs *kvs)
{
	char  *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < kvs->n; i++) {
		t = xasprintf("%s%s%s=%s", s, i > 0 ? "," : "",
		    kvs->items[i].key, kvs->items[i].value);
		free(s);
		s = t;
	}
	return (s);
}

static void
check_good(const char *name, const struct release *rel)
{
	struct config_kv      env_items[] = { { (char[]){ "Environment" },
						  (char[]){ "prod" } },
		     { (char[]){ "DesiredCount" }, (char[]){ "3" } } };
	struct config_kvs     env = { env_items, 2 }, out;
	char		     *may_items[] = { (char[]){ "DesiredCount" } };
	struct config_strings may = { may_items, 1 };
	char		     *s;

	ok(rel->manifest != NULL && rel->manifest[0] == '{' &&
		strlen(rel->manifest) == rel->manifest_len,
	    "%s: the manifest's text is kept", name);
	ok(rel->template != NULL && strlen(rel->template) == rel->template_len,
	    "%s: the template is kept", name);
	if (strcmp(name, "good-yaml-tag-digest") == 0) {
		is_str(rel->app, "billing", "%s: app", name);
		is_str(rel->version, "1.4.2", "%s: version", name);
		is_str(rel->message, "Fix invoice rounding on credit notes",
		    "%s: message", name);
		is_str(rel->author, "alice", "%s: author", name);
		is_str(rel->template_name, "template.yaml", "%s: template",
		    name);
		ok(strncmp(rel->template, "AWSTemplateFormatVersion", 24) == 0,
		    "%s: template bytes", name);
		is_int((long long)rel->nimages, 2, "%s: images", name);
		is_str(rel->images[0].repository, "billing/web",
		    "%s: images[0].repository", name);
		is_str(rel->images[0].tag, "1.4.2", "%s: images[0].tag", name);
		ok(rel->images[0].digest == NULL, "%s: images[0] no digest",
		    name);
		ok(rel->images[1].tag == NULL, "%s: images[1] no tag", name);
		is_str(rel->images[1].digest, DIGEST, "%s: images[1].digest",
		    name);
		s = kvs_join(&rel->parameters);
		is_str(s, "ImageTag=1.4.2", "%s: parameters", name);
		free(s);
		is_int((long long)rel->noverrides, 0, "%s: no overrides", name);
		is_int((long long)rel->checks.n, 0, "%s: no checks", name);
		ok(release_template_inline(rel), "%s: template inline", name);
	} else if (strcmp(name, "good-json-overrides-zipfile") == 0) {
		is_str(rel->template_name, "stack.json", "%s: template", name);
		ok(rel->template[0] == '{', "%s: JSON template", name);
		is_int((long long)rel->noverrides, 2, "%s: overrides", name);
		is_str(rel->overrides[0].env, "prod", "%s: overrides sorted",
		    name);
		is_str(rel->overrides[1].env, "stg", "%s: overrides sorted",
		    name);
		is_int((long long)rel->checks.n, 1, "%s: checks", name);
		is_str(rel->checks.items[0], "login-and-name", "%s: check",
		    name);
		s = kvs_join(&rel->parameters);
		is_str(s, "DesiredCount=2,ImageTag=1.4.2",
		    "%s: parameters sorted", name);
		free(s);
		release_parameters(rel, "prod", &env, NULL, &out);
		s = kvs_join(&out);
		is_str(s, "DesiredCount=3,Environment=prod,ImageTag=1.4.2",
		    "%s: prod's parameters: prod pins DesiredCount", name);
		free(s);
		release_kvs_free(&out);
		release_parameters(rel, "prod", &env, &may, &out);
		s = kvs_join(&out);
		is_str(s, "DesiredCount=4,Environment=prod,ImageTag=1.4.2",
		    "%s: prod's parameters: the override, as release_may_set "
		    "lets it",
		    name);
		free(s);
		release_kvs_free(&out);
	} else if (strcmp(name, "good-subdir-utf8-stored") == 0) {
		is_str(rel->template_name, "cfn/service.yml", "%s: template",
		    name);
		is_str(rel->message, "Line one\n\tindented",
		    "%s: newline and tab kept", name);
	} else if (strcmp(name, "good-image-parameter") == 0) {
		const char *pinned[] = {
			"sha256:"
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		};
		char *may2_items[] = { (char[]){ "Environment" } };
		struct config_strings may2 = { may2_items, 1 };

		is_str(rel->images[0].parameter, "Environment",
		    "%s: images[0].parameter", name);
		release_image_parameters(rel, "int", pinned, NULL, NULL, &out);
		s = kvs_join(&out);
		is_str(s,
		    "Environment=billing/web@sha256:aaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,ImageTag=1.4.2",
		    "%s: the parameter receives repository@pinned digest",
		    name);
		free(s);
		release_kvs_free(&out);
		release_image_parameters(rel, "int", NULL, NULL, NULL, &out);
		s = kvs_join(&out);
		is_str(s, "Environment=billing/web:1.4.2,ImageTag=1.4.2",
		    "%s: not pinned: repository:tag", name);
		free(s);
		release_kvs_free(&out);
		release_image_parameters(rel, "prod", pinned, &env, NULL, &out);
		s = kvs_join(&out);
		is_str(s, "DesiredCount=3,Environment=prod,ImageTag=1.4.2",
		    "%s: an environment's own parameter stays its own", name);
		free(s);
		release_kvs_free(&out);
		release_image_parameters(rel, "prod", pinned, &env, &may2,
		    &out);
		s = kvs_join(&out);
		ok(strstr(s, "Environment=billing/web@sha256:") != NULL,
		    "%s: unless its release_may_set lists it", name);
		free(s);
		release_kvs_free(&out);
	} else if (strcmp(name, "good-large-template") == 0) {
		ok(rel->template_len > RELEASE_TEMPLATE_INLINE_MAX &&
			!release_template_inline(rel),
		    "%s: %zu bytes go by TemplateURL", name, rel->template_len);
	}
}

static void
test_corpus(void)
{
	struct release_limits l;
	struct release_error  err;
	struct release	     *rel;
	const char	     *srcdir, *python;
	char		      tmpl[] = "/tmp/shipgate-release.XXXXXX";
	char		     *cmd, *path, *line = NULL, *data, *f[4], *p;
	size_t		      cap = 0, len, nbad = 0, ngood = 0;
	ssize_t		      n;
	FILE		     *cases;
	int		      i, rc;

	if ((srcdir = getenv("top_srcdir")) == NULL)
		srcdir = ".";
	if ((python = getenv("TEST_PYTHON")) == NULL)
		python = "/usr/bin/python3";
	if (mkdtemp(tmpl) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	cmd = xasprintf("'%s' '%s/tests/release/make-corpus.py' '%s'", python,
	    srcdir, tmpl);
	rc = system(cmd);
	free(cmd);
	if (!ok(rc == 0, "make-corpus.py wrote the corpus"))
		goto out;
	path = xasprintf("%s/cases", tmpl);
	cases = fopen(path, "r");
	free(path);
	if (!ok(cases != NULL, "the corpus has its cases"))
		goto out;
	while ((n = getline(&line, &cap, cases)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		p = line;
		for (i = 0; i < 4; i++)
			f[i] = strsep(&p, "\t");
		if (f[3] == NULL || parse_limits(f[1], &l) != 0) {
			ok(0, "case line: %s", line);
			continue;
		}
		path = xasprintf("%s/%s.zip", tmpl, f[0]);
		data = read_file(path, &len);
		free(path);
		if (!ok(data != NULL, "%s: read the zip", f[0]))
			continue;
		rc = release_read(&rel, data, len, "billing", &l, &err);
		if (strcmp(f[2], "ok") == 0) {
			ngood++;
			if (ok(rc == 0 && rel != NULL, "%s: accepted", f[0]))
				check_good(f[0], rel);
			else
				tap_diag("reason: %s", err.reason);
		} else {
			nbad++;
			ok(rc < 0 && rel == NULL && err.code == rc,
			    "%s: refused", f[0]);
			is_str(release_code_name(rc), f[2], "%s: code", f[0]);
			is_str(err.reason, f[3], "%s: reason", f[0]);
		}
		release_free(rel);
		release_error_clear(&err);
		free(data);
	}
	fclose(cases);
	ok(nbad >= 30, "%zu bad releases in the corpus", nbad);
	ok(ngood >= 4, "%zu good releases in the corpus", ngood);
out:
	free(line);
	cmd = xasprintf("rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmpl);
	free(cmd);
}

static const char merge_manifest[] =
    "{\"app\": \"billing\", \"version\": \"2.0\", \"message\": \"m\","
    " \"author\": \"alice\", \"template\": \"t.yaml\","
    " \"images\": [{\"repository\": \"billing/web\", \"tag\": \"2.0\"}],"
    " \"parameters\": {\"A\": \"rel\", \"B\": \"rel\", \"C\": \"rel\"},"
    " \"overrides\": {\"prod\": {\"parameters\": {\"C\": \"ovr\","
    " \"D\": \"ovr\"}}, \"stg\": {\"parameters\": {\"A\": \"stg\"}}}}";

static void
test_merge(void)
{
	/*
	 * The environment's value wins (C stays "env" for prod) unless
	 * its release_may_set lists the parameter: then the release's
	 * (its override first, then its own parameters) wins.
	 */
	static const struct {
		const char *env;
		int	    with_env;
		int	    may_set; /* 1: B, C; 2: E */
		const char *want;
	} t[] = {
		{ "prod", 1, 0, "A=rel,B=env,C=env,D=ovr,E=env" },
		{ "stg", 1, 0, "A=stg,B=env,C=env,E=env" },
		{ "int", 1, 0, "A=rel,B=env,C=env,E=env" },
		{ "prod", 0, 0, "A=rel,B=rel,C=ovr,D=ovr" },
		{ NULL, 1, 0, "A=rel,B=env,C=env,E=env" },
		{ "prod", 1, 1, "A=rel,B=rel,C=ovr,D=ovr,E=env" },
		{ "stg", 1, 1, "A=stg,B=rel,C=rel,E=env" },
		{ "prod", 1, 2, "A=rel,B=env,C=env,D=ovr,E=env" },
	};
	struct config_kv items[] = { { (char[]){ "E" }, (char[]){ "env" } },
		{ (char[]){ "C" }, (char[]){ "env" } },
		{ (char[]){ "B" }, (char[]){ "env" } } };
	char		*bc[] = { (char[]){ "B" }, (char[]){ "C" } };
	char		*e[] = { (char[]){ "E" } };
	struct config_strings may_bc = { bc, 2 }, may_e = { e, 1 };
	struct config_kvs     env = { items, 3 }, out;
	struct release_error  err;
	struct release	     *rel;
	char		     *s;
	size_t		      i;

	if (!ok(release_parse_manifest(&rel, merge_manifest,
		    strlen(merge_manifest), "billing", NULL, &err) == 0,
		"merge: manifest parsed")) {
		tap_diag("%s", err.reason);
		release_error_clear(&err);
		return;
	}
	is_str(rel->template_name, "t.yaml", "merge: template name, no zip");
	ok(rel->template == NULL, "merge: no template bytes without a zip");
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		release_parameters(rel, t[i].env, t[i].with_env ? &env : NULL,
		    t[i].may_set == 1 ? &may_bc :
		    t[i].may_set == 2 ? &may_e :
					NULL,
		    &out);
		s = kvs_join(&out);
		is_str(s, t[i].want,
		    "merge: env %s%s, release_may_set %s: "
		    "release, environment, overrides",
		    t[i].env != NULL ? t[i].env : "(none)",
		    t[i].with_env ? "" : " without parameters",
		    t[i].may_set == 1 ? "B, C" :
		    t[i].may_set == 2 ? "E" :
					"none");
		free(s);
		release_kvs_free(&out);
	}
	release_free(rel);
}

/* NoEcho values set by release.json: masked in what is stored. */
static void
test_mask(void)
{
	char		     *ae[] = { (char[]){ "A" }, (char[]){ "C" } };
	struct config_strings names = { ae, 2 }, none = { NULL, 0 };
	struct release_error  err;
	struct release	     *rel, *back = NULL;
	struct config_kvs     out;
	char		     *m, *s;

	if (!ok(release_parse_manifest(&rel, merge_manifest,
		    strlen(merge_manifest), "billing", NULL, &err) == 0,
		"mask: manifest parsed")) {
		release_error_clear(&err);
		return;
	}
	ok(!release_masked(rel), "mask: a release as received is not masked");
	is_int((long long)release_mask_manifest(rel, &none, &m), 0,
	    "mask: no NoEcho parameter, nothing masked");
	is_str(m, merge_manifest, "mask: ... and release.json kept as it came");
	free(m);
	is_int((long long)release_mask_manifest(rel, &names, &m), 4,
	    "mask: A and C masked in parameters and in both overrides");
	ok(m != NULL && strstr(m, "\"C\":\"rel\"") == NULL &&
		strstr(m, "\"C\":\"ovr\"") == NULL &&
		strstr(m, "\"D\":\"ovr\"") != NULL,
	    "mask: C's values gone, D's kept");
	if (ok(release_parse_manifest(&back, m, strlen(m), "billing", NULL,
		   &err) == 0,
		"mask: the masked release.json is a valid one")) {
		ok(release_masked(back), "mask: ... read back as masked");
		release_parameters(back, "prod", NULL, NULL, &out);
		s = kvs_join(&out);
		is_str(s, "A=****,B=rel,C=****,D=ovr",
		    "mask: prod's parameters read back");
		free(s);
		release_kvs_free(&out);
		release_parameters(back, "stg", NULL, NULL, &out);
		s = kvs_join(&out);
		is_str(s, "A=****,B=rel,C=****", "mask: stg's override too");
		free(s);
		release_kvs_free(&out);
	} else
		release_error_clear(&err);
	free(m);
	release_free(back);
	release_free(rel);
}

static const char checks_manifest[] =
    "{\"app\": \"billing\", \"version\": \"2.0\", \"message\": \"m\","
    " \"author\": \"alice\", \"template\": \"t.yaml\","
    " \"images\": [{\"repository\": \"billing/web\", \"tag\": \"2.0\"}],"
    " \"parameters\": {}, \"checks\": [\"prod-api\", \"home\"]}";

static void
test_check_app(void)
{
	struct config_kv pinned[] = { { (char[]){ "B" }, (char[]){ "env" } },
		{ (char[]){ "C" }, (char[]){ "env" } } };
	char		*may[] = { (char[]){ "C" } };
	char		*home[] = { (char[]){ "home" } };
	char		*prod_api[] = { (char[]){ "prod-api" } };
	struct config_environment envs[2];
	struct config_app	  app;
	struct release_limits	  l;
	struct release_error	  err;
	struct release		 *rel;

	memset(envs, 0, sizeof envs);
	memset(&app, 0, sizeof app);
	envs[0].name = (char[]){ "int" };
	envs[1].name = (char[]){ "stg" };
	app.name = (char[]){ "billing" };
	app.environments = envs;
	app.nenvironments = 2;
	app.limit_ratio = 7;
	app.limit_entries = 20;
	release_limits_from_app(&l, &app);
	ok(l.ratio == 7 && l.entries == 20 && l.zip_size == 50 * 1024 * 1024,
	    "limits: the app's on top of the defaults");

	if (release_parse_manifest(&rel, merge_manifest, strlen(merge_manifest),
		"billing", NULL, &err) != 0) {
		ok(0, "check_app: manifest parsed");
		release_error_clear(&err);
		return;
	}
	is_int(release_check_app(rel, &app, &err), RELEASE_EMANIFEST,
	    "check_app: an override for an unknown environment");
	is_str(err.reason,
	    "release.json: overrides.prod: app billing has no "
	    "environment \"prod\"",
	    "check_app: reason");
	release_error_clear(&err);
	envs[0].name = (char[]){ "prod" };
	is_int(release_check_app(rel, &app, &err), 0,
	    "check_app: overrides name the app's environments");

	/* prod pins C; the release's override of C is refused. */
	envs[0].parameters.items = pinned;
	envs[0].parameters.n = 2;
	is_int(release_check_app(rel, &app, &err), RELEASE_EMANIFEST,
	    "check_app: an override of a parameter the environment pins");
	is_str(err.reason,
	    "release.json: overrides.prod.parameters.C: "
	    "environment prod sets parameter C and does not let a release "
	    "change it (not in its release_may_set)",
	    "check_app: reason "
	    "names the parameter and the environment");
	release_error_clear(&err);
	envs[0].release_may_set.items = may;
	envs[0].release_may_set.n = 1;
	is_int(release_check_app(rel, &app, &err), 0,
	    "check_app: release_may_set lets the release set C");
	release_free(rel);

	/* A check is named by a release only where every env allows it. */
	memset(envs, 0, sizeof envs);
	envs[0].name = (char[]){ "int" };
	envs[0].checks.items = home;
	envs[0].checks.n = 1;
	envs[1].name = (char[]){ "prod" };
	envs[1].checks.items = prod_api;
	envs[1].checks.n = 1;
	if (release_parse_manifest(&rel, checks_manifest,
		strlen(checks_manifest), "billing", NULL, &err) != 0) {
		ok(0, "check_app: manifest with checks parsed: %s", err.reason);
		release_error_clear(&err);
		return;
	}
	is_int(release_check_app(rel, &app, &err), RELEASE_EMANIFEST,
	    "check_app: a check int does not allow (prod's own)");
	is_str(err.reason,
	    "release.json: checks[0]: environment int does not "
	    "allow check \"prod-api\" (not in its checks or release_checks)",
	    "check_app: reason names the check and the environment");
	release_error_clear(&err);
	envs[0].release_checks.items = prod_api;
	envs[0].release_checks.n = 1;
	is_int(release_check_app(rel, &app, &err), RELEASE_EMANIFEST,
	    "check_app: home is still not allowed in prod");
	is_str(err.reason,
	    "release.json: checks[1]: environment prod does "
	    "not allow check \"home\" (not in its checks or release_checks)",
	    "check_app: prod's reason");
	release_error_clear(&err);
	envs[1].release_checks.items = home;
	envs[1].release_checks.n = 1;
	is_int(release_check_app(rel, &app, &err), 0,
	    "check_app: checks every environment allows (checks or "
	    "release_checks)");
	ok(config_environment_allows_check(&envs[0], "prod-api") &&
		config_environment_allows_check(&envs[0], "home") &&
		!config_environment_allows_check(&envs[0], "other"),
	    "allows_check: checks and release_checks, nothing else");
	release_free(rel);

	is_int(release_parse_manifest(&rel, "{\"app\": \"billing\"}", 18,
		   "payroll", NULL, &err),
	    RELEASE_EAPP, "parse_manifest: wrong app");
	is_str(err.reason,
	    "release.json: app: \"billing\" is not this app "
	    "(\"payroll\")",
	    "parse_manifest: wrong app's reason");
	release_error_clear(&err);
	ok(release_read(&rel, "PK", 2, "billing", NULL, NULL) ==
		    RELEASE_ENOTZIP &&
		rel == NULL,
	    "release_read: err may be NULL");
}

static int
valid_change_set_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > RELEASE_CHANGE_SET_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return (0);
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return (0);
	return (1);
}

static void
test_change_set(void)
{
	static const struct {
		const char *app;
		long long   run;
		const char *env;
		int	    attempt;
		const char *want;
	} t[] = {
		{ "billing", 42, "prod", 1, "shipgate-billing-prod-r42-a1" },
		{ "my_app.v2", 7, "stg.eu", 3,
		    "shipgate-my-app-v2-stg-eu-r7-a3" },
		{ "billing", 9223372036854775807LL, "int", 2147483647,
		    "shipgate-billing-int-r9223372036854775807-a2147483647" },
	};
	char   longa[121], longe[121], *s, *d, *msg;
	size_t i, len;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		s = release_change_set_name(t[i].app, t[i].run, t[i].env,
		    t[i].attempt);
		is_str(s, t[i].want, "change set name %zu", i);
		ok(valid_change_set_name(s), "change set name %zu is valid", i);
		free(s);
	}
	memset(longa, 'a', 120);
	longa[120] = '\0';
	memset(longe, 'e', 120);
	longe[120] = '\0';
	s = release_change_set_name(longa, 12345, "prod", 2);
	ok(valid_change_set_name(s) && strlen(s) == 128 &&
		strstr(s, "-prod-r12345-a2") != NULL &&
		strlen(s) - strlen(strstr(s, "-prod-r12345-a2")) == 128 - 15,
	    "a long app name is shortened, the rest kept: %s", s);
	free(s);
	s = release_change_set_name(longa, 12345, longe, 2);
	d = release_change_set_name(longa, 12345, longe, 3);
	ok(valid_change_set_name(s) && strlen(s) == 128 &&
		strcmp(s + 128 - 10, "-r12345-a2") == 0 && strcmp(s, d) != 0,
	    "long app and env names share the room");
	free(s);
	free(d);

	s = release_change_set_description("1.4.2", "Fix rounding");
	is_str(s, "1.4.2 \xe2\x80\x94 Fix rounding", "description");
	free(s);
	s = release_change_set_description("1.4.2", "");
	is_str(s, "1.4.2", "description without a message");
	free(s);
	msg = xmalloc(2001);
	memset(msg, 'x', 2000);
	msg[2000] = '\0';
	s = release_change_set_description("1.4.2", msg);
	is_int((long long)strlen(s), 1024, "description cut to 1024 bytes");
	free(s);
	/* "12 — " is 7 bytes; 2-byte characters then end mid-character. */
	for (i = 0; i < 1000; i++)
		memcpy(msg + 2 * i, "\xc3\xa9", 2);
	s = release_change_set_description("12", msg);
	len = strlen(s);
	ok(len == 1023 && memcmp(s + len - 2, "\xc3\xa9", 2) == 0,
	    "description cut on a character boundary (%zu bytes)", len);
	free(s);
	free(msg);
}

int
main(void)
{
	is_str(release_code_name(RELEASE_EAPP), "app", "code names");
	is_str(release_code_name(0), "ok", "code name of success");
	test_merge();
	test_mask();
	test_check_app();
	test_change_set();
	test_corpus();
	return (tap_done());
}
