/*
 * libFuzzer target for the release.json parser.  Whatever the input,
 * release_parse_manifest gives a release or one reason; a release's
 * values follow the rules (a tag or a digest, sorted parameters), and the
 * change set built from it fits CloudFormation's limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "release.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* The description ends on a whole UTF-8 character. */
static void
check_description(const char *s)
{
	size_t len = strlen(s), i;

	check(len > 0 && len <= RELEASE_CHANGE_SET_DESCRIPTION_MAX);
	i = len;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	check(i > 0);
	if ((unsigned char)s[i - 1] >= 0xf0)
		check(len - i == 3);
	else if ((unsigned char)s[i - 1] >= 0xe0)
		check(len - i == 2);
	else if ((unsigned char)s[i - 1] >= 0xc0)
		check(len - i == 1);
	else
		check(len - i == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_kv  items[] = { { (char *)"Environment", (char *)"prod" },
		 { (char *)"ImageTag", (char *)"env" } };
	struct config_kvs env = { items, 2 }, out;
	struct config_environment envs[1];
	struct config_app	  app;
	struct release_error	  err;
	struct release		 *rel = NULL;
	char			 *s;
	size_t			  i;
	int			  rc;

	rc = release_parse_manifest(&rel, data, size, "billing", NULL, &err);
	if (rc != 0) {
		check(rc < 0 && rel == NULL && err.code == rc);
		check(err.reason != NULL &&
		      strncmp(err.reason, "release.json: ", 14) == 0);
		release_error_clear(&err);
		return (0);
	}
	check(rel != NULL && rel->manifest_len == size);
	check(rel->template == NULL && rel->template_name != NULL);
	for (i = 0; i < rel->nimages; i++)
		check((rel->images[i].tag == NULL) !=
		      (rel->images[i].digest == NULL));
	for (i = 1; i < rel->parameters.n; i++)
		check(strcmp(rel->parameters.items[i - 1].key,
			  rel->parameters.items[i].key) < 0);

	release_parameters(rel, "prod", &env, NULL, &out);
	for (i = 1; i < out.n; i++)
		check(strcmp(out.items[i - 1].key, out.items[i].key) < 0);
	release_kvs_free(&out);

	memset(envs, 0, sizeof envs);
	memset(&app, 0, sizeof app);
	envs[0].name = (char *)"prod";
	app.name = (char *)"billing";
	app.environments = envs;
	app.nenvironments = 1;
	if (release_check_app(rel, &app, &err) != 0)
		check(err.reason != NULL);
	release_error_clear(&err);

	s = release_change_set_description(rel->version, rel->message);
	check_description(s);
	free(s);
	s = release_change_set_name(rel->app, 1, rel->version, 1);
	check(strlen(s) <= RELEASE_CHANGE_SET_NAME_MAX);
	free(s);
	release_free(rel);
	return (0);
}
