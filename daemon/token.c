/*
 * API tokens and stored secret hashes (token.h).
 */
#include <sys/types.h>
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include "digest.h"
#include "token.h"

int
token_random(unsigned char *out, size_t len)
{
	ssize_t n;
	size_t	got = 0;

	while (got < len) {
		n = getrandom(out + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		got += (size_t)n;
	}
	return (0);
}

void
token_hash(const char *secret, unsigned char out[TOKEN_HASH_LEN])
{
	digest_sha256(secret, strlen(secret), out);
}

int
token_generate(char *out)
{
	unsigned char raw[(TOKEN_LEN - sizeof TOKEN_PREFIX + 1) / 2];

	if (token_random(raw, sizeof raw) != 0)
		return (-1);
	memcpy(out, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
	digest_hex(raw, sizeof raw, out + sizeof TOKEN_PREFIX - 1);
	explicit_bzero(raw, sizeof raw);
	return (0);
}

int
token_well_formed(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != TOKEN_LEN ||
	    strncmp(s, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) != 0)
		return (0);
	for (i = sizeof TOKEN_PREFIX - 1; i < TOKEN_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	}
	return (1);
}
