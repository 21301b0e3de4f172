/*
 * Parameter changes (diff-params.h): a template's declared parameters
 * (YAML and JSON, Default, NoEcho, flow and block mappings, nested
 * mappings not mistaken for parameters), an update (old -> new,
 * unchanged, added, removed, a Default), a first deployment (everything
 * added), NoEcho never copied, and the platforms of an image index
 * (registry-resolve.h).
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diff-params.h"
#include "registry-resolve.h"
#include "tap.h"
#include "xmalloc.h"

#define SECRET	"hunter2-never-shown"

static const char YAML[] =
    "AWSTemplateFormatVersion: 2010-09-09\n"
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
	size_t	i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].name, name) == 0)
			return (&d->v[i]);
	return (NULL);
}

static int
has_secret(const struct diff_params *d)
{
	size_t	i;

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
	struct diff_tparams	 tp;
	char			*cause = NULL;

	ok(diff_template_params("t.yaml", YAML, strlen(YAML), &tp,
	    &cause) == 0, "YAML template read");
	is_int((long long)tp.n, 4, "four parameters (not the resource's "
	    "nested Parameters)");
	if (tp.n == 4) {
		is_str(tp.v[0].name, "ImageTag", "in order: ImageTag");
		is_str(tp.v[0].def, "1.4.1", "a flow mapping's Default");
		ok(!tp.v[0].no_echo, "ImageTag is not NoEcho");
		is_str(tp.v[1].name, "DbPassword", "DbPassword");
		ok(tp.v[1].no_echo, "NoEcho: true");
		ok(tp.v[1].def == NULL, "no Default");
		is_str(tp.v[2].def, "2", "a block mapping's Default, after "
		    "a sequence");
		is_str(tp.v[3].name, "Environment", "Environment");
	}
	diff_tparams_free(&tp);
	ok(diff_template_params("t.json", JSON, strlen(JSON), &tp,
	    &cause) == 0, "JSON template read");
	is_int((long long)tp.n, 2, "two parameters");
	if (tp.n == 2) {
		is_str(tp.v[0].name, "B", "in the file's order");
		is_str(tp.v[0].def, "3", "a number Default");
		ok(tp.v[1].no_echo, "NoEcho: \"true\"");
	}
	diff_tparams_free(&tp);
	ok(diff_template_params("t.json", "{", 1, &tp, &cause) != 0 &&
	    cause != NULL, "a template that does not parse: an error");
	free(cause);
	cause = NULL;
	ok(diff_template_params("t.yaml", "a: [", 4, &tp, &cause) != 0 &&
	    cause != NULL, "nor YAML");
	free(cause);
}

static void
test_update(void)
{
	struct config_kv	 old_items[] = {
		{ (char []){ "DbPassword" }, (char []){ "****" } },
		{ (char []){ "Environment" }, (char []){ "int" } },
		{ (char []){ "ImageTag" }, (char []){ "1.4.1" } },
		{ (char []){ "Gone" }, (char []){ "x" } } };
	struct config_kv	 sent_items[] = {
		{ (char []){ "DbPassword" }, (char []){ SECRET } },
		{ (char []){ "Environment" }, (char []){ "int" } },
		{ (char []){ "ImageTag" }, (char []){ "1.4.2" } } };
	struct config_kvs	 old = { old_items, 4 }, sent = { sent_items, 3 };
	struct diff_tparams	 tp;
	struct diff_params	 d;
	const struct diff_param	*p;
	char			*cause = NULL;

	if (diff_template_params("t.yaml", YAML, strlen(YAML), &tp,
	    &cause) != 0)
		free(cause);
	diff_params(&old, &sent, &tp, &d);
	is_int((long long)d.n, 5, "update: a row per parameter");
	p = find(&d, "ImageTag");
	ok(p != NULL && p->change == DIFF_MODIFIED &&
	    strcmp(p->old_value, "1.4.1") == 0 &&
	    strcmp(p->new_value, "1.4.2") == 0, "update: ImageTag 1.4.1 -> "
	    "1.4.2, modified");
	p = find(&d, "Environment");
	ok(p != NULL && p->change == DIFF_UNCHANGED, "update: Environment "
	    "unchanged");
	p = find(&d, "DesiredCount");
	ok(p != NULL && p->change == DIFF_ADDED && p->old_value == NULL &&
	    strcmp(p->new_value, "2") == 0, "update: DesiredCount added with "
	    "its Default");
	p = find(&d, "Gone");
	ok(p != NULL && p->change == DIFF_REMOVED && p->new_value == NULL,
	    "update: a parameter the template no longer has is removed");
	p = find(&d, "DbPassword");
	ok(p != NULL && p->no_echo && p->change == DIFF_HIDDEN &&
	    strcmp(p->old_value, DIFF_MASK) == 0 &&
	    strcmp(p->new_value, DIFF_MASK) == 0, "update: NoEcho is **** "
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
	    strcmp(p->new_value, DIFF_MASK) == 0, "first deployment: NoEcho "
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
	char	*s;

	s = registry_resolve_platforms(index, strlen(index),
	    "application/vnd.oci.image.index.v1+json");
	is_str(s, "linux/amd64, linux/arm64/v8", "an index's platforms, "
	    "attestations left out");
	free(s);
	ok(registry_resolve_platforms(index, strlen(index),
	    "application/vnd.oci.image.manifest.v1+json") == NULL,
	    "a manifest has no platform list");
	ok(registry_resolve_platforms("{", 1,
	    "application/vnd.docker.distribution.manifest.list.v2+json") ==
	    NULL, "unreadable JSON: none");
}

int
main(void)
{
	test_template();
	test_update();
	test_platforms();
	return (tap_done());
}
