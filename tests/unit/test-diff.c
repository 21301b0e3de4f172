/*
 * What a stage changes, pure.  Template diffs (diff-text.h): fixed
 * cases with their exact hunks, and random texts whose hunks, applied,
 * give back the old and the new text.  Parameter changes (diff-params.h): a template's declared parameters
 * (YAML and JSON, Default, NoEcho, flow and block mappings, nested
 * mappings not mistaken for parameters), an update (old -> new,
 * unchanged, added, removed, a Default), a first deployment (everything
 * added), NoEcho never copied, and the platforms of an image index
 * (registry-resolve.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "buf.h"
#include "diff-params.h"
#include "diff-text.h"
#include "registry-resolve.h"
#include "tap.h"
#include "xmalloc.h"

#define SECRET "hunter2-never-shown"

static const char YAML[] = "AWSTemplateFormatVersion: 2010-09-09\n"
			   "Parameters:\n"
			   "  ImageTag: {Type: String, Default: \"1.4.1\"}\n"
			   "  DbPassword:\n"
			   "    Type: String\n"
			   "    NoEcho: true\n"
			   "  DesiredCount:\n"
			   "    Type: Number\n"
			   "    Default: 2\n"
			   "    AllowedValues: [1, 2, 3]\n"
			   "  Environment:\n"
			   "    Type: String\n"
			   "Resources:\n"
			   "  Service:\n"
			   "    Type: AWS::ECS::Service\n"
			   "    Properties:\n"
			   "      DesiredCount: !Ref DesiredCount\n"
			   "      Parameters: {Default: nope}\n";

static const char JSON[] =
    "{\"Parameters\": {\"B\": {\"Type\": \"Number\", \"Default\": 3},"
    " \"A\": {\"Type\": \"String\", \"NoEcho\": \"true\"}},"
    " \"Resources\": {}}";

static const struct diff_param *
find(const struct diff_params *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].name, name) == 0)
			return (&d->v[i]);
	return (NULL);
}

static int
has_secret(const struct diff_params *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if ((d->v[i].old_value != NULL &&
			strstr(d->v[i].old_value, SECRET) != NULL) ||
		    (d->v[i].new_value != NULL &&
			strstr(d->v[i].new_value, SECRET) != NULL))
			return (1);
	return (0);
}

static void
test_template(void)
{
	struct diff_tparams tp;
	char		   *cause = NULL;

	ok(diff_template_params("t.yaml", YAML, strlen(YAML), &tp, &cause) == 0,
	    "YAML template read");
	is_int((long long)tp.n, 4,
	    "four parameters (not the resource's "
	    "nested Parameters)");
	if (tp.n == 4) {
		is_str(tp.v[0].name, "ImageTag", "in order: ImageTag");
		is_str(tp.v[0].def, "1.4.1", "a flow mapping's Default");
		ok(!tp.v[0].no_echo, "ImageTag is not NoEcho");
		is_str(tp.v[1].name, "DbPassword", "DbPassword");
		ok(tp.v[1].no_echo, "NoEcho: true");
		ok(tp.v[1].def == NULL, "no Default");
		is_str(tp.v[2].def, "2",
		    "a block mapping's Default, after "
		    "a sequence");
		is_str(tp.v[3].name, "Environment", "Environment");
	}
	diff_tparams_free(&tp);
	ok(diff_template_params("t.json", JSON, strlen(JSON), &tp, &cause) == 0,
	    "JSON template read");
	is_int((long long)tp.n, 2, "two parameters");
	if (tp.n == 2) {
		is_str(tp.v[0].name, "B", "in the file's order");
		is_str(tp.v[0].def, "3", "a number Default");
		ok(tp.v[1].no_echo, "NoEcho: \"true\"");
	}
	diff_tparams_free(&tp);
	/* What intake masks in the stored release.json. */
	{
		struct config_strings names;

		ok(diff_no_echo_names("t.yaml", YAML, strlen(YAML), &names,
		       &cause) == 0 &&
			names.n == 1 &&
			strcmp(names.items[0], "DbPassword") == 0,
		    "YAML: the NoEcho names: DbPassword");
		diff_names_free(&names);
		ok(diff_no_echo_names("t.json", JSON, strlen(JSON), &names,
		       &cause) == 0 &&
			names.n == 1 && strcmp(names.items[0], "A") == 0,
		    "JSON: the NoEcho names: A (\"true\")");
		diff_names_free(&names);
		ok(diff_no_echo_names("t.json", "{", 1, &names, &cause) != 0 &&
			names.n == 0,
		    "the names of a template that does not "
		    "parse: an error, none");
		free(cause);
		cause = NULL;
	}
	ok(diff_template_params("t.json", "{", 1, &tp, &cause) != 0 &&
		cause != NULL,
	    "a template that does not parse: an error");
	free(cause);
	cause = NULL;
	ok(diff_template_params("t.yaml", "a: [", 4, &tp, &cause) != 0 &&
		cause != NULL,
	    "nor YAML");
	free(cause);
}

static void
test_update(void)
{
	struct config_kv    old_items[] = { { (char[]){ "DbPassword" },
						(char[]){ "****" } },
		   { (char[]){ "Environment" }, (char[]){ "int" } },
		   { (char[]){ "ImageTag" }, (char[]){ "1.4.1" } },
		   { (char[]){ "Gone" }, (char[]){ "x" } } };
	struct config_kv    sent_items[] = { { (char[]){ "DbPassword" },
						 (char[]){ SECRET } },
		   { (char[]){ "Environment" }, (char[]){ "int" } },
		   { (char[]){ "ImageTag" }, (char[]){ "1.4.2" } } };
	struct config_kvs   old = { old_items, 4 }, sent = { sent_items, 3 };
	struct diff_tparams tp;
	struct diff_params  d;
	const struct diff_param *p;
	char			*cause = NULL;

	if (diff_template_params("t.yaml", YAML, strlen(YAML), &tp, &cause) !=
	    0)
		free(cause);
	diff_params(&old, &sent, &tp, &d);
	is_int((long long)d.n, 5, "update: a row per parameter");
	p = find(&d, "ImageTag");
	ok(p != NULL && p->change == DIFF_MODIFIED &&
		strcmp(p->old_value, "1.4.1") == 0 &&
		strcmp(p->new_value, "1.4.2") == 0,
	    "update: ImageTag 1.4.1 -> "
	    "1.4.2, modified");
	p = find(&d, "Environment");
	ok(p != NULL && p->change == DIFF_UNCHANGED, "update: Environment "
						     "unchanged");
	p = find(&d, "DesiredCount");
	ok(p != NULL && p->change == DIFF_ADDED && p->old_value == NULL &&
		strcmp(p->new_value, "2") == 0,
	    "update: DesiredCount added with "
	    "its Default");
	p = find(&d, "Gone");
	ok(p != NULL && p->change == DIFF_REMOVED && p->new_value == NULL,
	    "update: a parameter the template no longer has is removed");
	p = find(&d, "DbPassword");
	ok(p != NULL && p->no_echo && p->change == DIFF_HIDDEN &&
		strcmp(p->old_value, DIFF_MASK) == 0 &&
		strcmp(p->new_value, DIFF_MASK) == 0,
	    "update: NoEcho is **** "
	    "on both sides, hidden");
	ok(!has_secret(&d), "update: the NoEcho value is in no row");
	is_int((long long)d.changed, 4, "update: four rows not unchanged");
	is_str(diff_change_name(DIFF_HIDDEN), "hidden", "change names");
	diff_params_free(&d);

	/* A first deployment: no stack, everything added. */
	diff_params(NULL, &sent, &tp, &d);
	ok(d.n == 4 && d.changed == 4, "first deployment: every row added");
	p = find(&d, "DbPassword");
	ok(p != NULL && p->change == DIFF_ADDED && p->old_value == NULL &&
		strcmp(p->new_value, DIFF_MASK) == 0,
	    "first deployment: NoEcho "
	    "added as ****");
	ok(!has_secret(&d), "first deployment: the NoEcho value is in no "
			    "row");
	diff_params_free(&d);
	diff_tparams_free(&tp);

	/* No template NoEcho, but AWS masked the value: masked both sides. */
	diff_params(&old, &sent, NULL, &d);
	p = find(&d, "DbPassword");
	ok(p != NULL && p->no_echo && strcmp(p->new_value, DIFF_MASK) == 0,
	    "a value AWS masked is masked on both sides");
	ok(!has_secret(&d), "and never copied");
	diff_params_free(&d);
}

static void
test_platforms(void)
{
	static const char index[] =
	    "{\"schemaVersion\": 2, \"manifests\": ["
	    "{\"digest\": \"sha256:1\", \"platform\": {\"os\": \"linux\","
	    " \"architecture\": \"amd64\"}},"
	    "{\"digest\": \"sha256:2\", \"platform\": {\"os\": \"linux\","
	    " \"architecture\": \"arm64\", \"variant\": \"v8\"}},"
	    "{\"digest\": \"sha256:3\", \"platform\": {\"os\": \"unknown\","
	    " \"architecture\": \"unknown\"}}]}";
	char *s;

	s = registry_resolve_platforms(index, strlen(index),
	    "application/vnd.oci.image.index.v1+json");
	is_str(s, "linux/amd64, linux/arm64/v8",
	    "an index's platforms, "
	    "attestations left out");
	free(s);
	ok(registry_resolve_platforms(index, strlen(index),
	       "application/vnd.oci.image.manifest.v1+json") == NULL,
	    "a manifest has no platform list");
	ok(registry_resolve_platforms("{", 1,
	       "application/vnd.docker.distribution.manifest.list.v2+json") ==
		NULL,
	    "unreadable JSON: none");
}

static int check_hunks(const char *, const char *, const char *);

/* Texts further apart than DIFF_TEXT_MAX_EDITS: replaced whole. */
static void
test_text_whole(void)
{
	struct diff_text d;
	struct buf	 a, b;
	char		*x, *y;
	size_t		 xl, yl;
	int		 i;

	buf_init(&a, SIZE_MAX);
	buf_init(&b, SIZE_MAX);
	for (i = 0; i < DIFF_TEXT_MAX_EDITS; i++) {
		buf_printf(&a, "old %d\n", i);
		buf_printf(&b, "new %d\n", i);
	}
	x = buf_take(&a, &xl);
	y = buf_take(&b, &yl);
	diff_text(x, xl, y, yl, 3, &d);
	ok(d.whole && d.removed == DIFF_TEXT_MAX_EDITS &&
		d.added == DIFF_TEXT_MAX_EDITS,
	    "texts too far apart: replaced "
	    "whole, every line counted");
	ok(check_hunks(x, y, d.unified) == 0, "and the hunk rebuilds both");
	diff_text_free(&d);
	free(x);
	free(y);
	buf_free(&a);
	buf_free(&b);
}

static void
test_text_fixed(void)
{
	struct diff_text d;

	diff_text("a\nb\nc\n", 6, "a\nb\nc\n", 6, 3, &d);
	ok(d.len == 0 && d.added == 0 && d.removed == 0, "equal texts: no "
							 "hunk");
	diff_text_free(&d);
	diff_text("a\nb\nc\nd\ne\nf\ng\nh\n", 16, "a\nb\nc\nD\ne\nf\ng\nh\n",
	    16, 3, &d);
	is_str(d.unified, "@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n",
	    "one line changed: one hunk, three lines of context");
	ok(d.added == 1 && d.removed == 1, "one added, one removed");
	diff_text_free(&d);
	diff_text("", 0, "x\ny", 3, 3, &d);
	is_str(d.unified, "@@ -0,0 +1,2 @@\n+x\n+y\n",
	    "a first deployment: "
	    "everything added (a last line without newline gets one)");
	diff_text_free(&d);
	diff_text("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", 27,
	    "1\n2\nX\n4\n5\n6\n7\n8\n9\n10\nY\n12\n", 26, 1, &d);
	is_str(d.unified,
	    "@@ -2,3 +2,3 @@\n 2\n-3\n+X\n 4\n"
	    "@@ -10,3 +10,3 @@\n 10\n-11\n+Y\n 12\n",
	    "changes far apart: two hunks with their line numbers");
	diff_text_free(&d);
	diff_text("a\nb\n", 4, "", 0, 3, &d);
	is_str(d.unified, "@@ -1,2 +0,0 @@\n-a\n-b\n", "everything removed");
	diff_text_free(&d);
	diff_text("", 0, "", 0, 3, &d);
	ok(d.len == 0, "two empty texts: no hunk");
	diff_text_free(&d);
	test_text_whole();
}

/* Rebuilds both texts from the hunks and the old text; 0 if they match. */
static int
check_hunks(const char *old, const char *new, const char *u)
{
	const char *p = u, *ol = old, *nl;
	struct buf  ro, rn;
	size_t	    as, ac, bs, bc, line = 1, i;
	int	    rc = -1;
	char	   *x, *y;

	buf_init(&ro, SIZE_MAX);
	buf_init(&rn, SIZE_MAX);
	while (*p != '\0') {
		if (sscanf(p, "@@ -%zu,%zu +%zu,%zu @@", &as, &ac, &bs, &bc) !=
		    4)
			goto out;
		p = strchr(p, '\n') + 1;
		/* Old lines before the hunk go to both. */
		for (; line < (ac == 0 ? as + 1 : as); line++) {
			nl = strchr(ol, '\n');
			buf_append(&ro, ol, (size_t)(nl - ol) + 1);
			buf_append(&rn, ol, (size_t)(nl - ol) + 1);
			ol = nl + 1;
		}
		while (*p == ' ' || *p == '-' || *p == '+') {
			nl = strchr(p, '\n');
			if (*p != '+')
				buf_append(&ro, p + 1, (size_t)(nl - p));
			if (*p != '-')
				buf_append(&rn, p + 1, (size_t)(nl - p));
			if (*p != '+') {
				ol = strchr(ol, '\n') + 1;
				line++;
			}
			p = nl + 1;
		}
	}
	buf_appends(&ro, ol);
	buf_appends(&rn, ol);
	x = buf_take(&ro, &i);
	y = buf_take(&rn, &i);
	rc = strcmp(x, old) == 0 && strcmp(y, new) == 0 ? 0 : -1;
	free(x);
	free(y);
out:
	buf_free(&ro);
	buf_free(&rn);
	return (rc);
}

static void
test_text_random(void)
{
	struct diff_text d;
	struct buf	 a, b;
	char		*x, *y;
	size_t		 xl, yl;
	unsigned int	 seed = 15, r;
	int		 i, j, bad = 0, n = 300;

	for (i = 0; i < n; i++) {
		buf_init(&a, SIZE_MAX);
		buf_init(&b, SIZE_MAX);
		for (j = 0; j < 40; j++) {
			r = (unsigned int)rand_r(&seed);
			/* Mostly the same lines, some changed, some only
			   on one side. */
			if (r % 7 != 0)
				buf_printf(&a, "line %u\n", r % 5);
			if (r % 11 != 0)
				buf_printf(&b, "line %u\n",
				    (r % 13 == 0) ? r % 9 : r % 5);
		}
		x = buf_take(&a, &xl);
		y = buf_take(&b, &yl);
		diff_text(x, xl, y, yl, i % 4, &d);
		if (check_hunks(x, y, d.unified) != 0)
			bad++;
		diff_text_free(&d);
		free(x);
		free(y);
		buf_free(&a);
		buf_free(&b);
	}
	is_int(bad, 0, "%d random pairs: the hunks rebuild both texts", n);
}

static void
test_drift_text(void)
{
	char *t;

	t = diff_drift_text("WebService", "/DesiredCount", "2", "5",
	    "NOT_EQUAL");
	is_str(t,
	    "WebService DesiredCount: 2 \xe2\x86\x92 5, changed outside "
	    "CloudFormation",
	    "drift text: a changed value, old \xe2\x86\x92 new");
	free(t);
	t = diff_drift_text("Web", "/Tags/0/Value", "a", "b", "NOT_EQUAL");
	is_str(t,
	    "Web Tags.0.Value: a \xe2\x86\x92 b, changed outside "
	    "CloudFormation",
	    "drift text: a nested path with dots");
	free(t);
	t = diff_drift_text("Web", "/Tags/1", NULL, "x", "ADD");
	is_str(t, "Web Tags.1: x added outside CloudFormation",
	    "drift text: an added value");
	free(t);
	t = diff_drift_text("Web", "/Cpu", "256", NULL, "REMOVE");
	is_str(t, "Web Cpu: 256 removed outside CloudFormation",
	    "drift text: a removed value");
	free(t);
}

int
main(void)
{
	test_drift_text();
	test_text_fixed();
	test_text_random();
	test_template();
	test_update();
	test_platforms();
	return (tap_done());
}
