/*
 * libFuzzer target for the release zip reader.  Whatever the input,
 * release_read gives either a release or one reason with its code; a
 * release's strings are what the rules allow.  The last byte's low bit
 * picks tight limits, so the limit paths are reached with small inputs.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct release_limits l;
	struct release_error  err;
	struct release	     *rel = NULL;
	struct config_kvs     out;
	char		     *s;
	size_t		      i;
	int		      rc;

	release_limits_default(&l);
	/* Bombs stay small: the fuzzer's memory is not the test. */
	l.entry_size = 1024 * 1024;
	l.unpacked_size = 4 * 1024 * 1024;
	if (size > 0 && (data[size - 1] & 1)) {
		l.entries = 4;
		l.entry_size = 4096;
		l.ratio = 4;
		l.ratio_min_size = 0;
		l.name_len = 16;
		l.manifest_size = 1024;
		l.manifest_depth = 3;
	}
	rc = release_read(&rel, data, size, "billing", &l, &err);
	if (rc != 0) {
		check(rc < 0 && rel == NULL && err.code == rc);
		check(err.reason != NULL && *err.reason != '\0');
		check(strcmp(release_code_name(rc), "unknown") != 0);
		release_error_clear(&err);
		return (0);
	}
	check(rel != NULL && err.reason == NULL);
	check(strcmp(rel->app, "billing") == 0);
	check(rel->nimages > 0 && rel->template != NULL &&
	      rel->template_len > 0 && rel->manifest != NULL);
	for (i = 0; i < rel->nimages; i++)
		check((rel->images[i].tag == NULL) !=
		      (rel->images[i].digest == NULL));
	release_parameters(rel, "prod", NULL, NULL, &out);
	check(out.n >= rel->parameters.n);
	for (i = 1; i < out.n; i++)
		check(strcmp(out.items[i - 1].key, out.items[i].key) < 0);
	release_kvs_free(&out);
	s = release_change_set_description(rel->version, rel->message);
	check(strlen(s) <= RELEASE_CHANGE_SET_DESCRIPTION_MAX);
	free(s);
	(void)release_template_inline(rel);
	release_free(rel);
	return (0);
}
