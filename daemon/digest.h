/*
 * SHA-256 and HMAC-SHA256 over buffers, and lower-case hex.  Pure: no
 * I/O, no state shared but the digest implementation, fetched once for
 * the process (thread-safe).  Used by the signer, the registry client's
 * content digests, the promotion's streamed layers and the portal's
 * sessions and tokens.
 */
#ifndef SHIPGATE_DIGEST_H
#define SHIPGATE_DIGEST_H

#include <stddef.h>

/* Error code: 0 is success. */
#define DIGEST_ECRYPTO (-1) /* libcrypto failed */

/* A SHA-256 digest in bytes; in hex, 64 digits and a NUL. */
#define DIGEST_SHA256_LEN      32
#define DIGEST_SHA256_HEX_SIZE 65

/* The lower-case hex of len bytes in out (2 * len + 1 bytes). */
void digest_hex(const unsigned char *, size_t len, char *out);

/* SHA-256 of a buffer, in bytes or hex; 0 or DIGEST_ECRYPTO (then hex
 * out is the empty string). */
int digest_sha256(const void *, size_t, unsigned char out[DIGEST_SHA256_LEN]);
int digest_sha256_hex(const void *, size_t, char out[DIGEST_SHA256_HEX_SIZE]);
/* HMAC-SHA256 of a buffer under key, in bytes or hex; 0 or
 * DIGEST_ECRYPTO. */
int digest_hmac_sha256(const void *key, size_t keylen, const void *, size_t,
    unsigned char out[DIGEST_SHA256_LEN]);
int digest_hmac_sha256_hex(const void *key, size_t keylen, const void *, size_t,
    char out[DIGEST_SHA256_HEX_SIZE]);

/*
 * Incremental SHA-256 for streamed bodies: _new (NULL when libcrypto
 * has no memory), _update any number of times, _final (which also
 * resets the context for another use), _free.
 */
struct digest_sha256;

struct digest_sha256 *digest_sha256_new(void);
int  digest_sha256_update(struct digest_sha256 *, const void *, size_t);
int  digest_sha256_final(struct digest_sha256 *,
     char out[DIGEST_SHA256_HEX_SIZE]);
void digest_sha256_free(struct digest_sha256 *);

#endif
