/*
 * jose.c: ID tokens and ALB tokens accepted only when every check
 * passes, and each refusal the OpenID Connect issue lists, one by one.
 * Keys are made here with libcjose and OpenSSL; tokens are signed with
 * libcjose (the HMAC and "none" forgeries by hand).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "jose.h"
#include "tap.h"
#include "xmalloc.h"

#define NOW    1800000000LL
#define ISSUER "http://127.0.0.1:4000"
#define CLIENT "shipgate"

static char *
b64(const char *s)
{
	return (jose_base64url((const unsigned char *)s, strlen(s)));
}

/* A signed compact JWS of claims under jwk with alg and kid. */
static char *
sign(const cjose_jwk_t *jwk, const char *alg, const char *kid,
    const char *claims)
{
	cjose_header_t *h;
	cjose_jws_t    *jws;
	cjose_err	err;
	const char     *ser;
	char	       *out;

	h = cjose_header_new(&err);
	cjose_header_set(h, CJOSE_HDR_ALG, alg, &err);
	if (kid != NULL)
		cjose_header_set(h, CJOSE_HDR_KID, kid, &err);
	jws = cjose_jws_sign(jwk, h, (const uint8_t *)claims, strlen(claims),
	    &err);
	if (jws == NULL) {
		printf("# sign: %s\n", err.message);
		exit(1);
	}
	cjose_jws_export(jws, &ser, &err);
	out = xstrdup(ser);
	cjose_jws_release(jws);
	cjose_header_release(h);
	return (out);
}

/* The public JWK of a key pair, with kid, as JSON text. */
static char *
public_jwk(cjose_jwk_t *jwk, const char *kid)
{
	cjose_err err;
	char	 *json;

	cjose_jwk_set_kid(jwk, kid, strlen(kid), &err);
	json = cjose_jwk_to_json(jwk, false, &err);
	return (json);
}

/* The RSA public key as PEM, from its JWK's n and e (OpenSSL 3). */
static char *
rsa_pem(const char *jwk_json)
{
	json_t	       *j;
	unsigned char  *n, *e;
	size_t		nl, el;
	cjose_err	err;
	BIGNUM	       *bn, *be;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM     *params;
	EVP_PKEY_CTX   *ctx;
	EVP_PKEY       *pkey = NULL;
	BIO	       *bio;
	char	       *data, *out;
	long		len;
	const char     *ns, *es;

	j = json_loads(jwk_json, 0, NULL);
	ns = json_string_value(json_object_get(j, "n"));
	es = json_string_value(json_object_get(j, "e"));
	cjose_base64url_decode(ns, strlen(ns), &n, &nl, &err);
	cjose_base64url_decode(es, strlen(es), &e, &el, &err);
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY_fromdata_init(ctx);
	EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, pkey);
	len = BIO_get_mem_data(bio, &data);
	out = xstrndup(data, (size_t)len);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	json_decref(j);
	return (out);
}

/* The EC public key as PEM, from its JWK's x and y. */
static char *
ec_pem(const char *jwk_json)
{
	json_t	       *j;
	unsigned char  *x, *y, pub[65];
	size_t		xl, yl;
	cjose_err	err;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM     *params;
	EVP_PKEY_CTX   *ctx;
	EVP_PKEY       *pkey = NULL;
	BIO	       *bio;
	char	       *data, *out;
	long		len;
	const char     *xs, *ys;

	j = json_loads(jwk_json, 0, NULL);
	xs = json_string_value(json_object_get(j, "x"));
	ys = json_string_value(json_object_get(j, "y"));
	cjose_base64url_decode(xs, strlen(xs), &x, &xl, &err);
	cjose_base64url_decode(ys, strlen(ys), &y, &yl, &err);
	pub[0] = 4;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof pub);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY_fromdata_init(ctx);
	EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, pkey);
	len = BIO_get_mem_data(bio, &data);
	out = xstrndup(data, (size_t)len);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	json_decref(j);
	return (out);
}

static char *
claims(const char *iss, const char *aud, long long exp, long long iat,
    const char *nonce, const char *extra)
{
	char *s, *n;

	n = nonce != NULL ? xasprintf(",\"nonce\":\"%s\"", nonce) : xstrdup("");
	s = xasprintf(
	    "{\"iss\":\"%s\",\"sub\":\"u1\",\"aud\":%s,"
	    "\"exp\":%lld,\"iat\":%lld%s,\"email\":\"alice@example.com\","
	    "\"groups\":[\"approvers\",\"ops\"]%s}",
	    iss, aud, exp, iat, n, extra != NULL ? extra : "");
	free(n);
	return (s);
}

/* Verifies tok as an ID token with nonce "n1"; returns the JOSE_E*. */
static int
check(const struct jose_keyset *set, const char *tok, const char *nonce,
    char **cause)
{
	struct jose_expect exp;
	struct jose_token  t;
	int		   error;

	memset(&exp, 0, sizeof exp);
	exp.issuer = ISSUER;
	exp.audience = CLIENT;
	exp.nonce = nonce;
	exp.now = NOW;
	free(*cause);
	*cause = NULL;
	error = jose_verify_id_token(set, tok, strlen(tok), &exp, &t, cause);
	if (error == 0)
		jose_token_clear(&t);
	return (error);
}

static void
refused(const struct jose_keyset *set, const char *tok, const char *nonce,
    int want, const char *name)
{
	char *cause = NULL;
	int   error;

	error = check(set, tok, nonce, &cause);
	ok(error == want, "%s refused: %s", name,
	    cause != NULL ? cause : "(accepted)");
	if (error != want)
		printf("#   got %d (%s), want %d\n", error,
		    jose_strerror(error), want);
	ok(cause == NULL || strstr(cause, tok) == NULL,
	    "%s: the message does not quote the token", name);
	free(cause);
}

int
main(void)
{
	struct jose_keyset  *set = NULL, *set2 = NULL, *alb = NULL;
	struct jose_token    t;
	struct jose_header   h;
	struct jose_cache    cache;
	cjose_jwk_t	    *rsa, *rsa2, *ec, *hmac;
	cjose_err	     err;
	static const uint8_t e[] = { 1, 0, 1 };
	char		    *rsa_json, *ec_json, *rsa2_json, *jwks, *c;
	char		    *tok, *cause = NULL, *pem, *s, *hdr, *pl;
	const char	   **groups;
	const char	    *dot;
	int		     n;

	rsa = cjose_jwk_create_RSA_random(2048, e, sizeof e, &err);
	rsa2 = cjose_jwk_create_RSA_random(2048, e, sizeof e, &err);
	ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	if (rsa == NULL || rsa2 == NULL || ec == NULL) {
		printf("Bail out! cannot make keys\n");
		return (1);
	}
	rsa_json = public_jwk(rsa, "r1");
	ec_json = public_jwk(ec, "e1");
	rsa2_json = public_jwk(rsa2, "r2");
	jwks = xasprintf("{\"keys\":[%s,%s,{\"kty\":\"oct\",\"k\":\"AAAA\","
			 "\"kid\":\"h1\"}]}",
	    rsa_json, ec_json);

	/* The key set. */
	ok(jose_keyset_parse(&set, jwks, strlen(jwks), &cause) == 0,
	    "JWKS with RSA, EC and an oct key parses");
	is_int((long long)jose_keyset_count(set), 2,
	    "the oct key is left out of the set");
	ok(jose_keyset_has(set, "r1") && jose_keyset_has(set, "e1") &&
		!jose_keyset_has(set, "h1"),
	    "keys found by kid");
	s = xstrdup("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}");
	n = jose_keyset_parse(&set2, s, strlen(s), &cause);
	ok(n == JOSE_EKEY, "a set with no signing key refused: %s",
	    cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;
	s = xstrdup("{\"keys\":[{\"kty\":\"RSA\",\"n\":1}]}");
	n = jose_keyset_parse(&set2, s, strlen(s), &cause);
	ok(n == JOSE_EKEY, "a broken RSA key refused: %s", cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;
	/*
	 * Members libcjose would assert on (padding inside, a length
	 * base64 cannot have, a character outside the alphabet): refused
	 * with the member named, before libcjose sees them.
	 */
	s = xstrdup("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
		    "\"x\":\"CrM32CxRVVqeUo3ybhNOVFVeKfWrd383FbFv1H1r1Qg\","
		    "\"y\":\"sY1082Hj_mkLE2QCZnwy2ozjebXG0pcgf78LAbefD=0\"}]}");
	n = jose_keyset_parse(&set2, s, strlen(s), &cause);
	ok(n == JOSE_EKEY && cause != NULL && strstr(cause, "y:") != NULL,
	    "an EC key with '=' inside y refused: %s", cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;
	s = xstrdup("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AAAAA\","
		    "\"e\":\"AQAB\"}]}");
	n = jose_keyset_parse(&set2, s, strlen(s), &cause);
	ok(n == JOSE_EKEY && cause != NULL && strstr(cause, "n:") != NULL,
	    "an RSA modulus of impossible length refused: %s",
	    cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;
	s = xstrdup("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\","
		    "\"e\":\"AQ+B\"}]}");
	n = jose_keyset_parse(&set2, s, strlen(s), &cause);
	ok(n == JOSE_EKEY && cause != NULL && strstr(cause, "e:") != NULL,
	    "an RSA exponent outside base64url refused: %s",
	    cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;
	/* Another curve is skipped, as another algorithm is. */
	s = xasprintf("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\","
		      "\"kid\":\"p384\",\"x\":\"AAAA\",\"y\":\"AAAA\"},%s]}",
	    rsa_json);
	n = jose_keyset_parse(&set2, s, strlen(s), &cause);
	ok(n == 0 && jose_keyset_count(set2) == 1 &&
		!jose_keyset_has(set2, "p384"),
	    "a P-384 key is left out of the set");
	jose_keyset_free(set2);
	set2 = NULL;
	free(s);
	free(cause);
	cause = NULL;
	s = xstrdup("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	n = jose_keyset_parse(&set2, s, strlen(s), &cause);
	ok(n == JOSE_EKEY, "a deeply nested JWKS refused: %s",
	    cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;

	/* Accepted: RS256 and ES256. */
	c = claims(ISSUER, "\"" CLIENT "\"", NOW + 300, NOW - 10, "n1", NULL);
	tok = sign(rsa, "RS256", "r1", c);
	ok(check(set, tok, "n1", &cause) == 0, "RS256 ID token accepted%s%s",
	    cause ? ": " : "", cause ? cause : "");
	memset(&t, 0, sizeof t);
	{
		struct jose_expect exp = { ISSUER, CLIENT, "n1", NOW, 0 };

		ok(jose_verify_id_token(set, tok, strlen(tok), &exp, &t,
		       NULL) == 0,
		    "claims read from a verified token");
	}
	is_str(jose_claim_str(&t, "email"), "alice@example.com", "email claim");
	n = jose_claim_groups(&t, "groups", &groups);
	ok(n == 2 && strcmp(groups[0], "approvers") == 0 &&
		strcmp(groups[1], "ops") == 0 && groups[2] == NULL,
	    "groups claim as a list");
	free(groups);
	n = jose_claim_groups(&t, "email", &groups);
	ok(n == 1 && strcmp(groups[0], "alice@example.com") == 0,
	    "a single-string group claim is one group");
	free(groups);
	n = jose_claim_groups(&t, "cognito:groups", &groups);
	ok(n == 0 && groups[0] == NULL, "an absent group claim is no group");
	free(groups);
	n = jose_claim_groups(&t, "exp", &groups);
	ok(n == -1 && groups == NULL, "a group claim of another type: -1");
	jose_token_clear(&t);
	ok(jose_peek(tok, strlen(tok), &h, NULL) == 0 &&
		strcmp(h.alg, "RS256") == 0 && strcmp(h.kid, "r1") == 0,
	    "peek reads alg and kid");
	jose_header_clear(&h);

	/* Tampered payload: a valid token's payload swapped for another. */
	dot = strchr(tok, '.');
	hdr = xstrndup(tok, (size_t)(dot - tok));
	s = claims(ISSUER, "\"" CLIENT "\"", NOW + 300, NOW - 10, "n1",
	    ",\"admin\":true");
	pl = b64(s);
	free(s);
	s = xasprintf("%s.%s%s", hdr, pl, strrchr(tok, '.'));
	refused(set, s, "n1", JOSE_ESIGNATURE, "tampered payload");
	free(s);
	free(pl);

	/* alg none, with and without a signature part. */
	{
		char *nh = b64("{\"alg\":\"none\",\"kid\":\"r1\"}");
		char *np = b64(c);

		s = xasprintf("%s.%s.", nh, np);
		refused(set, s, "n1", JOSE_EALG, "alg none");
		free(s);
		s = xasprintf("%s.%s%s", nh, np, strrchr(tok, '.'));
		refused(set, s, "n1", JOSE_EALG,
		    "alg none with a real signature");
		free(s);
		free(nh);
		nh = b64("{\"alg\":\"NONE\"}");
		s = xasprintf("%s.%s.", nh, np);
		refused(set, s, "n1", JOSE_EALG, "alg NONE without kid");
		free(s);
		free(nh);
		free(np);
	}
	free(tok);
	free(hdr);

	/* Wrong signature: another RSA key presenting the same kid. */
	tok = sign(rsa2, "RS256", "r1", c);
	refused(set, tok, "n1", JOSE_ESIGNATURE, "wrong signature");
	free(tok);

	/* HS256 keyed with the provider's public key, as PEM and as JWK. */
	pem = rsa_pem(rsa_json);
	hmac = cjose_jwk_create_oct_spec((const uint8_t *)pem, strlen(pem),
	    &err);
	tok = sign(hmac, "HS256", "r1", c);
	refused(set, tok, "n1", JOSE_EALG,
	    "HS256 with the RSA public key "
	    "(PEM) as secret");
	free(tok);
	cjose_jwk_release(hmac);
	free(pem);
	hmac = cjose_jwk_create_oct_spec((const uint8_t *)rsa_json,
	    strlen(rsa_json), &err);
	tok = sign(hmac, "HS512", NULL, c);
	refused(set, tok, "n1", JOSE_EALG, "HS512 without kid");
	free(tok);
	cjose_jwk_release(hmac);

	/* RS384 and PS256 are real signatures, but not on the list. */
	tok = sign(rsa, "PS256", "r1", c);
	refused(set, tok, "n1", JOSE_EALG, "PS256");
	free(tok);
	/* An algorithm that does not match the key of the kid. */
	tok = sign(ec, "ES256", "r1", c);
	refused(set, tok, "n1", JOSE_EALG, "ES256 naming an RSA key");
	free(tok);
	tok = sign(ec, "ES256", "e1", c);
	ok(check(set, tok, "n1", &cause) == 0, "ES256 ID token accepted%s%s",
	    cause ? ": " : "", cause ? cause : "");
	free(tok);
	free(c);

	/* Claims. */
#define CLAIM_CASE(name, want, nonce, ...)            \
	do {                                          \
		c = claims(__VA_ARGS__);              \
		tok = sign(rsa, "RS256", "r1", c);    \
		refused(set, tok, nonce, want, name); \
		free(tok);                            \
		free(c);                              \
	} while (0)
	CLAIM_CASE("wrong iss", JOSE_ECLAIM, "n1", "http://127.0.0.1:4001",
	    "\"" CLIENT "\"", NOW + 300, NOW, "n1", NULL);
	CLAIM_CASE("iss with a trailing slash", JOSE_ECLAIM, "n1", ISSUER "/",
	    "\"" CLIENT "\"", NOW + 300, NOW, "n1", NULL);
	CLAIM_CASE("wrong aud", JOSE_ECLAIM, "n1", ISSUER, "\"other\"",
	    NOW + 300, NOW, "n1", NULL);
	CLAIM_CASE("aud list without us", JOSE_ECLAIM, "n1", ISSUER,
	    "[\"a\",\"b\"]", NOW + 300, NOW, "n1", NULL);
	CLAIM_CASE("several audiences without azp", JOSE_ECLAIM, "n1", ISSUER,
	    "[\"" CLIENT "\",\"b\"]", NOW + 300, NOW, "n1", NULL);
	CLAIM_CASE("azp naming another client", JOSE_ECLAIM, "n1", ISSUER,
	    "[\"" CLIENT "\",\"b\"]", NOW + 300, NOW, "n1", ",\"azp\":\"b\"");
	CLAIM_CASE("expired", JOSE_EEXPIRED, "n1", ISSUER, "\"" CLIENT "\"",
	    NOW - JOSE_SKEW - 1, NOW - 600, "n1", NULL);
	CLAIM_CASE("issued in the future", JOSE_EEXPIRED, "n1", ISSUER,
	    "\"" CLIENT "\"", NOW + 900, NOW + JOSE_SKEW + 5, "n1", NULL);
	CLAIM_CASE("nonce missing", JOSE_ECLAIM, "n1", ISSUER, "\"" CLIENT "\"",
	    NOW + 300, NOW, NULL, NULL);
	CLAIM_CASE("nonce of another sign-in (replayed)", JOSE_ECLAIM, "n1",
	    ISSUER, "\"" CLIENT "\"", NOW + 300, NOW, "n0", NULL);
	CLAIM_CASE("not valid yet", JOSE_EEXPIRED, "n1", ISSUER,
	    "\"" CLIENT "\"", NOW + 900, NOW, "n1", ",\"nbf\":1900000000");
#undef CLAIM_CASE
	c = claims(ISSUER, "[\"" CLIENT "\",\"b\"]", NOW - JOSE_SKEW + 1,
	    NOW - 600, "n1", ",\"azp\":\"" CLIENT "\"");
	tok = sign(rsa, "RS256", "r1", c);
	ok(check(set, tok, "n1", &cause) == 0,
	    "several audiences with our "
	    "azp, expired within the skew: accepted");
	free(tok);
	free(c);

	/* Unknown kid: refused, and the cache decides on one refetch. */
	c = claims(ISSUER, "\"" CLIENT "\"", NOW + 300, NOW, "n1", NULL);
	tok = sign(rsa2, "RS256", "r2", c);
	refused(set, tok, "n1", JOSE_EKID, "unknown kid");
	memset(&cache, 0, sizeof cache);
	ok(jose_cache_lookup(&cache, "r1", NOW) == JOSE_CACHE_REFETCH,
	    "empty cache: fetch");
	jose_cache_set(&cache, set, NOW);
	set = NULL;
	ok(jose_cache_lookup(&cache, "r1", NOW) == JOSE_CACHE_HIT,
	    "known kid: hit");
	ok(jose_cache_lookup(&cache, "r2", NOW + 1) == JOSE_CACHE_MISS,
	    "unknown kid right after a fetch: no refetch (rate limited)");
	ok(jose_cache_lookup(&cache, "r2", NOW + JOSE_REFETCH_MIN + 1) ==
		JOSE_CACHE_REFETCH,
	    "unknown kid later: one refetch");
	ok(jose_cache_lookup(&cache, "r3", NOW + JOSE_REFETCH_MIN + 2) ==
		JOSE_CACHE_MISS,
	    "a second unknown kid: no second refetch");
	/* The provider rotated: r2 is in the new set. */
	free(jwks);
	jwks = xasprintf("{\"keys\":[%s,%s]}", rsa_json, rsa2_json);
	ok(jose_keyset_parse(&set2, jwks, strlen(jwks), &cause) == 0,
	    "the rotated set parses");
	jose_cache_set(&cache, set2, NOW + JOSE_REFETCH_MIN + 1);
	set2 = NULL;
	ok(jose_cache_lookup(&cache, "r2", NOW + JOSE_REFETCH_MIN + 3) ==
		JOSE_CACHE_HIT,
	    "after the rotation the new kid is a hit");
	ok(check(cache.keys, tok, "n1", &cause) == 0,
	    "a token with the rotated key accepted after the refetch");
	free(tok);
	free(c);
	jose_cache_clear(&cache);

	/* Malformed. */
	refused(NULL, "a.b", "n1", JOSE_EMALFORMED, "two parts");
	refused(NULL, "a.b.c.d", "n1", JOSE_EMALFORMED, "four parts");
	refused(NULL, "e30=.e30.", "n1", JOSE_EMALFORMED,
	    "padding in an ID token");
	refused(NULL, "W10.e30.", "n1", JOSE_EMALFORMED,
	    "a header that is an array");

	/* ALB: ES256 with a PEM key, signer and exp in the header. */
	pem = ec_pem(ec_json);
	ok(jose_keyset_from_pem(&alb, "kid-alb", pem, strlen(pem), &cause) == 0,
	    "ALB PEM key loads");
	{
		cjose_header_t *ah;
		cjose_jws_t    *jws;
		const char     *ser;
		const char
			   *arn = "arn:aws:elasticloadbalancing:eu-west-1:"
				  "123456789012:loadbalancer/app/sg/50dc6c495c0c9188";
		const char *pay = "{\"sub\":\"u1\",\"email\":"
				  "\"bob@example.com\",\"groups\":\"devs\"}";
		int	    i;

		for (i = 0; i < 4; i++) {
			ah = cjose_header_new(&err);
			cjose_header_set(ah, CJOSE_HDR_ALG, "ES256", &err);
			cjose_header_set(ah, CJOSE_HDR_KID, "kid-alb", &err);
			cjose_header_set(ah, "signer",
			    i == 1 ? "arn:aws:elasticloadbalancing:eu-west-1:"
				     "123456789012:loadbalancer/app/other/1" :
				     arn,
			    &err);
			/* cjose_header_t is a jansson object. */
			json_object_set_new((json_t *)ah, "exp",
			    json_integer(i == 2 ? NOW - 3600 : NOW + 60));
			if (i == 3)
				cjose_header_set(ah, CJOSE_HDR_ALG, "RS256",
				    &err);
			jws = cjose_jws_sign(i == 3 ? rsa : ec, ah,
			    (const uint8_t *)pay, strlen(pay), &err);
			cjose_jws_export(jws, &ser, &err);
			memset(&t, 0, sizeof t);
			free(cause);
			cause = NULL;
			n = jose_verify_alb(alb, ser, strlen(ser), arn, NOW, &t,
			    &cause);
			switch (i) {
			case 0:
				ok(n == 0, "ALB token accepted%s%s",
				    cause ? ": " : "", cause ? cause : "");
				is_str(jose_claim_str(&t, "email"),
				    "bob@example.com", "ALB email claim");
				jose_token_clear(&t);
				break;
			case 1:
				ok(n == JOSE_ECLAIM,
				    "ALB wrong signer "
				    "refused: %s",
				    cause ? cause : "");
				break;
			case 2:
				ok(n == JOSE_EEXPIRED,
				    "ALB expired "
				    "refused: %s",
				    cause ? cause : "");
				break;
			case 3:
				ok(n == JOSE_EALG,
				    "RS256 refused for the "
				    "ALB: %s",
				    cause ? cause : "");
				break;
			}
			cjose_jws_release(jws);
			cjose_header_release(ah);
		}
	}
	free(cause);
	cause = NULL;
	{
		/* Found by fuzz-jose: libcjose asserts on such padding. */
		const char
		    *bad = "eyJhbGciOiAiRVMyNTYiLCAia2lkIjogImtpZC1hbGIif"
			   "Q==.eyJlbWFpbCI6ImFAYi5jIn.0=c2lnbmF0dXJl";

		memset(&t, 0, sizeof t);
		n = jose_verify_alb(alb, bad, strlen(bad), "arn", NOW, &t,
		    &cause);
		ok(n == JOSE_EMALFORMED,
		    "ALB token with '=' inside a part "
		    "refused: %s",
		    cause != NULL ? cause : "");
		free(cause);
		cause = NULL;
	}
	free(pem);
	pem = rsa_pem(rsa_json);
	n = jose_keyset_from_pem(&set2, "k", pem, strlen(pem), &cause);
	ok(n == JOSE_EKEY, "an RSA PEM is not an ALB key: %s",
	    cause ? cause : "");
	free(pem);
	free(cause);
	cause = NULL;
	n = jose_keyset_from_pem(&set2, "k", "junk", 4, &cause);
	ok(n == JOSE_EKEY, "junk is not a PEM key: %s", cause ? cause : "");
	free(cause);
	cause = NULL;

	s = jose_base64url((const unsigned char *)"\xfb\xff", 2);
	is_str(s, "-_8", "base64url of bytes, unpadded");
	free(s);

	jose_keyset_free(alb);
	jose_keyset_free(set);
	free(jwks);
	free(rsa_json);
	free(rsa2_json);
	free(ec_json);
	cjose_jwk_release(rsa);
	cjose_jwk_release(rsa2);
	cjose_jwk_release(ec);
	return (tap_done());
}
