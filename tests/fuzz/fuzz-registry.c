/*
 * libFuzzer target for what the registry client reads from registries:
 * the first byte picks a reader (a WWW-Authenticate challenge, a JSON
 * error body, a manifest served as each of the four accepted types), the
 * rest is the input.  Whatever comes in, results must be well-formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"
#include "registry.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const types[] = {
	REGISTRY_MT_OCI_INDEX,
	REGISTRY_MT_OCI_MANIFEST,
	REGISTRY_MT_DOCKER_LIST,
	REGISTRY_MT_DOCKER_MANIFEST,
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry_challenge c;
	struct promote_refs	  refs;
	char			 *s, *cause = NULL;
	size_t			  i;

	if (size < 1)
		return (0);
	switch (data[0] % 6) {
	case 0:
		s = xstrndup((const char *)data + 1, size - 1);
		if (registry_parse_challenge(s, &c) == 0) {
			check(c.scheme != NULL && *c.scheme != '\0');
			registry_challenge_free(&c);
		}
		free(s);
		break;
	case 1:
		s = registry_error_text((const char *)data + 1, size - 1);
		check(s == NULL || *s != '\0');
		free(s);
		break;
	default:
		if (promote_parse_manifest(data + 1, size - 1,
			types[data[0] % 6 - 2], &refs, &cause) == 0) {
			check(cause == NULL);
			for (i = 0; i < refs.n; i++) {
				check(registry_valid_digest(refs.v[i].digest));
				check(refs.v[i].size >= 0);
			}
			promote_refs_free(&refs);
		} else {
			check(cause != NULL && refs.n == 0);
			free(cause);
		}
		break;
	}
	return (0);
}
