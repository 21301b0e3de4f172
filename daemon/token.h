/*
 * Secrets made and kept as hashes: API tokens ("sgt_" + 64 hex digits,
 * 256 random bits) and the portal's session ids are stored as the
 * SHA-256 of the whole string only, so the store never holds what signs
 * a person in.  Low enough for both ends that make or check them: the
 * control socket (token_create) and the portal.
 */
#ifndef SHIPGATE_TOKEN_H
#define SHIPGATE_TOKEN_H

#include <stddef.h>

#include "digest.h"

#define TOKEN_PREFIX   "sgt_"
#define TOKEN_LEN      68 /* "sgt_" + 64 hex */
#define TOKEN_HASH_LEN DIGEST_SHA256_LEN

/* len random bytes from the kernel; -1 (errno set) if it has none to
 * give. */
int token_random(unsigned char *, size_t len);
/* SHA-256 of a secret string (a token, a session id): what is stored. */
void token_hash(const char *secret, unsigned char out[TOKEN_HASH_LEN]);
/* A new API token in out (TOKEN_LEN + 1 bytes); -1 as token_random. */
int token_generate(char *out);
/* 1 when s has an API token's shape (prefix, length, lower-case hex). */
int token_well_formed(const char *s);

#endif
