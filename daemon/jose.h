/*
 * Signed JSON Web Tokens checked on Debian's libcjose: the ID tokens of
 * an OpenID Connect provider and the x-amzn-oidc-data header of an AWS
 * Application Load Balancer.
 *
 * Only RS256 (an RSA key) and ES256 (an EC P-256 key) are accepted.  The
 * algorithm is read from the token's header and compared with this list
 * and with the key's type before libcjose sees the token: "none", HMAC
 * (HS256 signed with the provider's public key as the secret) and every
 * other algorithm are refused whatever the token says.
 *
 * Pure: buffers and the clock come in as arguments; no I/O, no logging.
 * A refusal returns a negative JOSE_E* and a cause the caller frees,
 * naming what is wrong ("ID token: signature does not verify with key
 * k1") and never the token itself.
 */
#ifndef SHIPGATE_JOSE_H
#define SHIPGATE_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JOSE_EMALFORMED (-1) /* not a compact JWS, bad JSON */
#define JOSE_EALG	(-2) /* none, HMAC or any other alg */
#define JOSE_EKID	(-3) /* no key with the token's kid */
#define JOSE_ESIGNATURE (-4) /* the signature does not verify */
#define JOSE_ECLAIM	(-5) /* iss, aud, azp, nonce, signer */
#define JOSE_EEXPIRED	(-6) /* exp passed (or iat in future) */
#define JOSE_EKEY	(-7) /* a key (JWKS, PEM) is unusable */
#define JOSE_ENOMEM	(-8)

/* Tokens and key sets over this many bytes are refused unread. */
#define JOSE_MAX_TOKEN (16 * 1024)
#define JOSE_MAX_JWKS  (256 * 1024)
#define JOSE_MAX_KEYS  32
/* The clock skew allowed on exp, iat and nbf, in seconds. */
#define JOSE_SKEW 60

const char *jose_strerror(int);

/*
 * A provider's key set (its JWKS document): the RSA and EC P-256 keys
 * meant for signatures, by kid.  Keys of other types, or marked for
 * encryption, are left out; a set with no usable key is an error.
 */
struct jose_keyset;

int jose_keyset_parse(struct jose_keyset **, const char *, size_t,
    char **cause);
/* One EC P-256 public key in PEM (what the ALB's endpoint serves). */
int  jose_keyset_from_pem(struct jose_keyset **, const char *kid, const char *,
     size_t, char					   **cause);
void jose_keyset_free(struct jose_keyset *);
size_t jose_keyset_count(const struct jose_keyset *);
/* 1 if the set holds a key with this kid. */
int jose_keyset_has(const struct jose_keyset *, const char *kid);

/*
 * A token's header, read without checking anything but its shape: what
 * a caller needs to pick the key (kid) before jose_verify.
 */
struct jose_header {
	char *alg;
	char *kid; /* NULL when absent */
};

int  jose_peek(const char *, size_t, struct jose_header *, char **cause);
void jose_header_clear(struct jose_header *);

/* What the claims of an ID token must say. */
struct jose_expect {
	const char *issuer;   /* iss, exactly */
	const char *audience; /* in aud; azp when several */
	const char *nonce;    /* NULL: no nonce asked for */
	int64_t	    now;      /* unix seconds */
	int	    skew;     /* seconds; 0 means JOSE_SKEW */
};

/*
 * A verified token: its claims (owned, json_decref'd by jose_token_free)
 * and its header.
 */
struct jose_token {
	json_t *header;
	json_t *claims;
};

/*
 * Checks an OpenID Connect ID token: shape, algorithm, the signature
 * with the key of its kid (a token without kid is tried with the only
 * key of a one-key set), then iss, aud (and azp when aud names several
 * audiences), exp, iat, nbf and nonce.  On success fills token.
 */
int jose_verify_id_token(const struct jose_keyset *, const char *, size_t,
    const struct jose_expect *, struct jose_token *, char **cause);

/*
 * Checks an ALB's x-amzn-oidc-data header: ES256 only, the signature
 * with the key of its kid, the header's signer equal to signer_arn and
 * its exp (the ALB puts exp in the header) not passed.  ALBs pad their
 * base64url segments with '=': accepted here.
 */
int jose_verify_alb(const struct jose_keyset *, const char *, size_t,
    const char *signer_arn, int64_t now, struct jose_token *, char **cause);

void jose_token_clear(struct jose_token *);

/* A string claim; NULL when absent or not a string. */
const char *jose_claim_str(const struct jose_token *, const char *);
/*
 * The groups in claim name: an array of strings or a single string.
 * Returns how many, and a NULL-terminated array in *out the caller
 * frees with free() (the strings live in the token); -1 when the claim
 * has another type.
 */
int jose_claim_groups(const struct jose_token *, const char *name,
    const char ***out);

/*
 * When to fetch a provider's key set again for a token whose kid the
 * cached set does not hold: at most once per JOSE_REFETCH_MIN seconds,
 * so a stream of forged kids cannot make shipgate hammer the provider.
 */
#define JOSE_REFETCH_MIN 60

struct jose_cache {
	struct jose_keyset *keys;	  /* NULL before the first fetch */
	int64_t		    fetched;	  /* unix seconds */
	int64_t		    last_refetch; /* unix seconds; 0: never */
};

#define JOSE_CACHE_HIT	   0 /* the set holds kid */
#define JOSE_CACHE_REFETCH 1 /* fetch now, then look again */
#define JOSE_CACHE_MISS	   2 /* unknown and a fetch is too soon */

/*
 * What to do for a token with kid (NULL: a token without one) at now;
 * JOSE_CACHE_REFETCH also records the attempt.
 */
int jose_cache_lookup(struct jose_cache *, const char *kid, int64_t now);
/* Swaps in a freshly fetched set (owned from now on). */
void jose_cache_set(struct jose_cache *, struct jose_keyset *, int64_t now);
void jose_cache_clear(struct jose_cache *);

/*
 * base64url without padding of len bytes, NUL-terminated, the caller
 * frees; for PKCE's challenge and random state values.
 */
char *jose_base64url(const unsigned char *, size_t len);

#endif
