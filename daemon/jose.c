/*
 * JWT checks on libcjose (jose.h).  libcjose verifies the signatures;
 * this file decides which algorithm and which key may be used, which is
 * where JWT libraries have gone wrong (alg "none", HMAC keyed with a
 * public key), and checks the claims.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jose.h"
#include "json.h"
#include "xmalloc.h"

#define JOSE_MAX_DEPTH 16
/* An RSA modulus of 8,192 bits is 1,366 characters of base64url. */
#define JOSE_MAX_JWK_MEMBER 1400

struct jose_key {
	char	    *kid; /* "" when the JWK has none */
	cjose_jwk_t *jwk;
	int	     ec; /* EC P-256, else RSA */
};

struct jose_keyset {
	struct jose_key *keys;
	size_t		 n;
};

const char *
jose_strerror(int error)
{
	switch (error) {
	case 0:
		return ("no error");
	case JOSE_EMALFORMED:
		return ("malformed token");
	case JOSE_EALG:
		return ("algorithm refused");
	case JOSE_EKID:
		return ("unknown key id");
	case JOSE_ESIGNATURE:
		return ("bad signature");
	case JOSE_ECLAIM:
		return ("claim refused");
	case JOSE_EEXPIRED:
		return ("token expired");
	case JOSE_EKEY:
		return ("unusable key");
	case JOSE_ENOMEM:
		return ("out of memory");
	}
	return ("unknown error");
}

static int jose_fail(char **cause, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
jose_fail(char **cause, int error, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return (error);
}

/* base64url, with '=' padding accepted only when pad is set. */
static int
jose_b64url_decode(const char *in, size_t len, int pad, unsigned char **out,
    size_t *outlen)
{
	unsigned char *buf;
	unsigned int   acc = 0, bits = 0;
	size_t	       i, n = 0, end = len;
	int	       v;

	if (pad) {
		while (end > 0 && in[end - 1] == '=' && len - end < 2)
			end--;
	}
	if (end % 4 == 1)
		return (-1);
	buf = xmalloc(end * 3 / 4 + 1);
	for (i = 0; i < end; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-')
			v = 62;
		else if (c == '_')
			v = 63;
		else {
			free(buf);
			return (-1);
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return (0);
}

char *
jose_base64url(const unsigned char *in, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char	    *out;
	size_t	     i, n = 0;
	unsigned int acc = 0, bits = 0;

	out = xmalloc((len * 4) / 3 + 4);
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = abc[(acc >> bits) & 0x3f];
		}
		acc &= (1U << bits) - 1;
	}
	if (bits > 0)
		out[n++] = abc[(acc << (6 - bits)) & 0x3f];
	out[n] = '\0';
	return (out);
}

/* A JSON object from outside: bounded size and depth, no duplicates. */
static json_t *
jose_load_object(const unsigned char *buf, size_t len)
{
	json_t	    *obj;
	json_error_t error;

	if (!json_nesting_within((const char *)buf, len, JOSE_MAX_DEPTH))
		return (NULL);
	obj = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
	    &error);
	if (obj == NULL)
		return (NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return (NULL);
	}
	return (obj);
}

static void
jose_key_clear(struct jose_key *key)
{
	free(key->kid);
	if (key->jwk != NULL)
		cjose_jwk_release(key->jwk);
}

void
jose_keyset_free(struct jose_keyset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		jose_key_clear(&set->keys[i]);
	free(set->keys);
	free(set);
}

size_t
jose_keyset_count(const struct jose_keyset *set)
{
	return (set == NULL ? 0 : set->n);
}

static const struct jose_key *
jose_keyset_find(const struct jose_keyset *set, const char *kid)
{
	size_t i;

	if (set == NULL)
		return (NULL);
	if (kid == NULL)
		return (set->n == 1 ? &set->keys[0] : NULL);
	for (i = 0; i < set->n; i++) {
		if (strcmp(set->keys[i].kid, kid) == 0)
			return (&set->keys[i]);
	}
	return (NULL);
}

int
jose_keyset_has(const struct jose_keyset *set, const char *kid)
{
	return (jose_keyset_find(set, kid) != NULL);
}

/*
 * A JWK member that must be base64url: unpadded, in the alphabet, of a
 * length base64 can have (libcjose asserts on anything else, which would
 * kill the daemon on a provider's bad key set).  NULL when it is not.
 */
static const char *
jose_jwk_b64(json_t *k, const char *name)
{
	const char *s = json_string_value(json_object_get(k, name));
	size_t	    i, len;

	if (s == NULL)
		return (NULL);
	len = strlen(s);
	if (len == 0 || len > JOSE_MAX_JWK_MEMBER || len % 4 == 1)
		return (NULL);
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return (NULL);
	}
	return (s);
}

/*
 * The public part of a signing key, rebuilt from checked members only:
 * libcjose never sees a member we have not read, and a private part a
 * provider published by mistake is dropped.  NULL with *what naming the
 * bad member.
 */
static json_t *
jose_jwk_public(json_t *k, int ec, const char **what)
{
	const char *a, *b;

	*what = "unusable key";
	if (ec) {
		if ((a = jose_jwk_b64(k, "x")) == NULL) {
			*what = "x: expected base64url";
			return (NULL);
		}
		if ((b = jose_jwk_b64(k, "y")) == NULL) {
			*what = "y: expected base64url";
			return (NULL);
		}
		return (json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
		    "P-256", "x", a, "y", b));
	}
	if ((a = jose_jwk_b64(k, "n")) == NULL) {
		*what = "n: expected base64url";
		return (NULL);
	}
	if ((b = jose_jwk_b64(k, "e")) == NULL) {
		*what = "e: expected base64url";
		return (NULL);
	}
	return (json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", a, "e", b));
}

int
jose_keyset_parse(struct jose_keyset **out, const char *buf, size_t len,
    char **cause)
{
	struct jose_keyset *set = NULL;
	json_t		   *doc = NULL, *keys, *k;
	size_t		    i;
	int		    error;

	*out = NULL;
	if (len > JOSE_MAX_JWKS) {
		error = jose_fail(cause, JOSE_EKEY, "JWKS: over %d bytes",
		    JOSE_MAX_JWKS);
		goto out;
	}
	if ((doc = jose_load_object((const unsigned char *)buf, len)) == NULL) {
		error = jose_fail(cause, JOSE_EKEY, "JWKS: not a JSON object");
		goto out;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		error = jose_fail(cause, JOSE_EKEY,
		    "JWKS: keys: expected "
		    "an array");
		goto out;
	}
	set = xcalloc(1, sizeof *set);
	set->keys = xcalloc(JOSE_MAX_KEYS, sizeof *set->keys);
	json_array_foreach(keys, i, k) {
		const char  *kty, *use, *kid, *alg, *crv, *what;
		json_t	    *pub;
		cjose_jwk_t *jwk;
		cjose_err    err;
		int	     ec;
		size_t	     j;

		if (!json_is_object(k))
			continue;
		kty = json_string_value(json_object_get(k, "kty"));
		use = json_string_value(json_object_get(k, "use"));
		kid = json_string_value(json_object_get(k, "kid"));
		alg = json_string_value(json_object_get(k, "alg"));
		if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0))
			continue;
		if (strcmp(kty, "RSA") == 0)
			ec = 0;
		else if (strcmp(kty, "EC") == 0)
			ec = 1;
		else
			continue;
		/* A key bound to another algorithm is not ours to use. */
		if (alg != NULL && strcmp(alg, ec ? "ES256" : "RS256") != 0)
			continue;
		crv = json_string_value(json_object_get(k, "crv"));
		if (ec && (crv == NULL || strcmp(crv, "P-256") != 0))
			continue;
		if (set->n == JOSE_MAX_KEYS) {
			error = jose_fail(cause, JOSE_EKEY,
			    "JWKS: over %d signing keys", JOSE_MAX_KEYS);
			goto out;
		}
		if (kid == NULL)
			kid = "";
		for (j = 0; j < set->n; j++) {
			if (strcmp(set->keys[j].kid, kid) == 0)
				break;
		}
		if (j != set->n) {
			error = jose_fail(cause, JOSE_EKEY,
			    "JWKS: keys[%zu]: kid \"%s\" given twice", i, kid);
			goto out;
		}
		if ((pub = jose_jwk_public(k, ec, &what)) == NULL) {
			error = jose_fail(cause, JOSE_EKEY,
			    "JWKS: keys[%zu]: %s", i, what);
			goto out;
		}
		memset(&err, 0, sizeof err);
		jwk = cjose_jwk_import_json(pub, &err);
		json_decref(pub);
		if (jwk == NULL) {
			error = jose_fail(cause, JOSE_EKEY,
			    "JWKS: keys[%zu]: %s", i,
			    err.message != NULL ? err.message : "unusable key");
			goto out;
		}
		if (ec &&
		    cjose_jwk_EC_get_curve(jwk, &err) != CJOSE_JWK_EC_P_256) {
			cjose_jwk_release(jwk);
			continue;
		}
		set->keys[set->n].kid = xstrdup(kid);
		set->keys[set->n].jwk = jwk;
		set->keys[set->n].ec = ec;
		set->n++;
	}
	if (set->n == 0) {
		error = jose_fail(cause, JOSE_EKEY,
		    "JWKS: no RS256 or ES256 signing key");
		goto out;
	}
	*out = set;
	set = NULL;
	error = 0;
out:
	jose_keyset_free(set);
	if (doc != NULL)
		json_decref(doc);
	return (error);
}

int
jose_keyset_from_pem(struct jose_keyset **out, const char *kid, const char *pem,
    size_t len, char **cause)
{
	struct jose_keyset  *set = NULL;
	cjose_jwk_ec_keyspec spec;
	cjose_jwk_t	    *jwk;
	cjose_err	     err;
	EVP_PKEY	    *pkey = NULL;
	BIO		    *bio = NULL;
	unsigned char	     pub[133];
	char		     group[64];
	size_t		     publen = 0, grouplen = 0;
	int		     error;

	*out = NULL;
	if (len > 16384 || len > INT_MAX) {
		error = jose_fail(cause, JOSE_EKEY, "public key: too large");
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		error = jose_fail(cause, JOSE_ENOMEM, "public key: no memory");
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
		error = jose_fail(cause, JOSE_EKEY,
		    "public key: not an EC public key in PEM");
		goto out;
	}
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
		group, sizeof group, &grouplen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		error = jose_fail(cause, JOSE_EKEY,
		    "public key: not on the P-256 curve");
		goto out;
	}
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
		sizeof pub, &publen) != 1 ||
	    publen != 65 || pub[0] != 4) {
		error = jose_fail(cause, JOSE_EKEY,
		    "public key: not an uncompressed P-256 point");
		goto out;
	}
	memset(&spec, 0, sizeof spec);
	spec.crv = CJOSE_JWK_EC_P_256;
	spec.x = pub + 1;
	spec.xlen = 32;
	spec.y = pub + 33;
	spec.ylen = 32;
	memset(&err, 0, sizeof err);
	if ((jwk = cjose_jwk_create_EC_spec(&spec, &err)) == NULL) {
		error = jose_fail(cause, JOSE_EKEY, "public key: %s",
		    err.message != NULL ? err.message : "unusable");
		goto out;
	}
	set = xcalloc(1, sizeof *set);
	set->keys = xcalloc(1, sizeof *set->keys);
	set->keys[0].kid = xstrdup(kid);
	set->keys[0].jwk = jwk;
	set->keys[0].ec = 1;
	set->n = 1;
	*out = set;
	error = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return (error);
}

void
jose_header_clear(struct jose_header *h)
{
	free(h->alg);
	free(h->kid);
	h->alg = h->kid = NULL;
}

static int
jose_padding_ok(const char *seg, size_t len)
{
	size_t i, npad = 0;

	while (npad < len && seg[len - 1 - npad] == '=')
		npad++;
	for (i = 0; i < len - npad; i++)
		if (seg[i] == '=')
			return (0);
	if (npad == 0)
		return (1);
	return (npad <= 2 && len % 4 == 0);
}

/*
 * Splits a compact JWS and decodes its header: the segments' offsets
 * and the header object.
 */
static int
jose_split(const char *tok, size_t len, int pad, size_t dots[2],
    json_t **header, char **cause)
{
	unsigned char *raw;
	size_t	       i, n = 0, rawlen;

	*header = NULL;
	if (len == 0 || len > JOSE_MAX_TOKEN)
		return (jose_fail(cause, JOSE_EMALFORMED,
		    "token: empty or over %d bytes", JOSE_MAX_TOKEN));
	for (i = 0; i < len; i++) {
		char c = tok[i];

		if (c == '.') {
			if (n == 2)
				return (jose_fail(cause, JOSE_EMALFORMED,
				    "token: not a compact JWS (too many "
				    "parts)"));
			dots[n++] = i;
		} else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			       (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			       (pad && c == '=')))
			return (jose_fail(cause, JOSE_EMALFORMED,
			    "token: a character outside base64url"));
	}
	if (n != 2)
		return (jose_fail(cause, JOSE_EMALFORMED,
		    "token: not a compact JWS (three parts)"));
	/*
	 * Padding only as base64 has it: at most two '=' ending a part
	 * whose length is then a multiple of 4 (libcjose asserts on
	 * others).
	 */
	if (pad &&
	    (!jose_padding_ok(tok, dots[0]) ||
		!jose_padding_ok(tok + dots[0] + 1, dots[1] - dots[0] - 1) ||
		!jose_padding_ok(tok + dots[1] + 1, len - dots[1] - 1)))
		return (jose_fail(cause, JOSE_EMALFORMED,
		    "token: misplaced base64 padding"));
	if (jose_b64url_decode(tok, dots[0], pad, &raw, &rawlen) != 0)
		return (jose_fail(cause, JOSE_EMALFORMED,
		    "token: header is not base64url"));
	*header = jose_load_object(raw, rawlen);
	free(raw);
	if (*header == NULL)
		return (jose_fail(cause, JOSE_EMALFORMED,
		    "token: header is not a JSON object"));
	return (0);
}

int
jose_peek(const char *tok, size_t len, struct jose_header *out, char **cause)
{
	json_t	   *header;
	const char *alg, *kid;
	size_t	    dots[2];
	int	    error;

	memset(out, 0, sizeof *out);
	if ((error = jose_split(tok, len, 1, dots, &header, cause)) != 0)
		return (error);
	alg = json_string_value(json_object_get(header, "alg"));
	kid = json_string_value(json_object_get(header, "kid"));
	if (alg == NULL) {
		json_decref(header);
		return (jose_fail(cause, JOSE_EMALFORMED,
		    "token: header has no alg"));
	}
	out->alg = xstrdup(alg);
	out->kid = kid != NULL ? xstrdup(kid) : NULL;
	json_decref(header);
	return (0);
}

/* Time-constant string equality, for the nonce. */
static int
jose_streq(const char *a, const char *b)
{
	size_t	      la = strlen(a), lb = strlen(b), i;
	unsigned char d = 0;

	if (la != lb)
		return (0);
	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return (d == 0);
}

/*
 * The common part: shape, algorithm (only those in allowed, a
 * space-separated list), key, signature; the claims object parsed.
 */
static int
jose_verify_sig(const struct jose_keyset *set, const char *tok, size_t len,
    int pad, int es256_only, const char *what, struct jose_token *out,
    char **cause)
{
	const struct jose_key *key;
	json_t		      *header = NULL, *claims = NULL;
	cjose_jws_t	      *jws = NULL;
	cjose_err	       err;
	const char	      *alg, *kid;
	uint8_t		      *plain;
	size_t		       dots[2], plainlen;
	int		       error, ec;

	memset(out, 0, sizeof *out);
	if ((error = jose_split(tok, len, pad, dots, &header, NULL)) != 0) {
		error = jose_fail(cause, error, "%s: not a signed JWT", what);
		goto out;
	}
	alg = json_string_value(json_object_get(header, "alg"));
	kid = json_string_value(json_object_get(header, "kid"));
	if (alg == NULL) {
		error = jose_fail(cause, JOSE_EMALFORMED,
		    "%s: header has no alg", what);
		goto out;
	}
	if (strcmp(alg, "ES256") == 0)
		ec = 1;
	else if (strcmp(alg, "RS256") == 0 && !es256_only)
		ec = 0;
	else {
		error = jose_fail(cause, JOSE_EALG,
		    "%s: algorithm \"%.32s\" refused (%s only)", what, alg,
		    es256_only ? "ES256" : "RS256 and ES256");
		goto out;
	}
	/* No "crit" extension is understood, so none may be required. */
	if (json_object_get(header, "crit") != NULL) {
		error = jose_fail(cause, JOSE_EALG,
		    "%s: header has crit extensions", what);
		goto out;
	}
	if ((key = jose_keyset_find(set, kid)) == NULL) {
		error = jose_fail(cause, JOSE_EKID,
		    "%s: no key with kid "
		    "\"%.64s\"",
		    what, kid != NULL ? kid : "");
		goto out;
	}
	if (key->ec != ec) {
		error = jose_fail(cause, JOSE_EALG,
		    "%s: algorithm %s with "
		    "the %s key \"%.64s\"",
		    what, alg, key->ec ? "EC" : "RSA", key->kid);
		goto out;
	}
	if (dots[1] + 1 == len) {
		error = jose_fail(cause, JOSE_ESIGNATURE, "%s: no signature",
		    what);
		goto out;
	}
	memset(&err, 0, sizeof err);
	if ((jws = cjose_jws_import(tok, len, &err)) == NULL) {
		error = jose_fail(cause, JOSE_EMALFORMED,
		    "%s: not a JWS libcjose reads", what);
		goto out;
	}
	if (!cjose_jws_verify(jws, key->jwk, &err)) {
		error = jose_fail(cause, JOSE_ESIGNATURE,
		    "%s: signature "
		    "does not verify with key \"%.64s\"",
		    what, key->kid);
		goto out;
	}
	if (!cjose_jws_get_plaintext(jws, &plain, &plainlen, &err) ||
	    (claims = jose_load_object(plain, plainlen)) == NULL) {
		error = jose_fail(cause, JOSE_EMALFORMED,
		    "%s: payload is not a JSON object", what);
		goto out;
	}
	out->header = header;
	out->claims = claims;
	header = claims = NULL;
	error = 0;
out:
	if (jws != NULL)
		cjose_jws_release(jws);
	if (header != NULL)
		json_decref(header);
	if (claims != NULL)
		json_decref(claims);
	return (error);
}

/* A NumericDate claim; -1 when absent, -2 when not a number. */
static int64_t
jose_date(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if (v == NULL)
		return (-1);
	if (json_is_integer(v))
		return (json_integer_value(v) < 0 ?
			    -2 :
			    (int64_t)json_integer_value(v));
	if (json_is_real(v) && json_real_value(v) >= 0 &&
	    json_real_value(v) < 1e15)
		return ((int64_t)json_real_value(v));
	return (-2);
}

int
jose_verify_id_token(const struct jose_keyset *set, const char *tok, size_t len,
    const struct jose_expect *exp, struct jose_token *out, char **cause)
{
	json_t	   *claims, *aud, *a;
	const char *iss, *azp, *nonce;
	int64_t	    t, skew;
	size_t	    i;
	int	    error, found;

	if ((error = jose_verify_sig(set, tok, len, 0, 0, "ID token", out,
		 cause)) != 0)
		return (error);
	claims = out->claims;
	skew = exp->skew > 0 ? exp->skew : JOSE_SKEW;

	iss = json_string_value(json_object_get(claims, "iss"));
	if (iss == NULL || strcmp(iss, exp->issuer) != 0) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ID token: iss is not "
		    "the configured issuer %s",
		    exp->issuer);
		goto fail;
	}

	aud = json_object_get(claims, "aud");
	found = 0;
	if (json_is_string(aud))
		found = strcmp(json_string_value(aud), exp->audience) == 0;
	else if (json_is_array(aud)) {
		json_array_foreach(aud, i, a) {
			if (json_is_string(a) &&
			    strcmp(json_string_value(a), exp->audience) == 0)
				found = 1;
		}
	}
	if (!found) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ID token: aud does not "
		    "name the client %s",
		    exp->audience);
		goto fail;
	}
	azp = json_string_value(json_object_get(claims, "azp"));
	if (json_object_get(claims, "azp") != NULL && azp == NULL) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ID token: azp is not a string");
		goto fail;
	}
	if (json_is_array(aud) && json_array_size(aud) > 1 && azp == NULL) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ID token: several "
		    "audiences and no azp");
		goto fail;
	}
	if (azp != NULL && strcmp(azp, exp->audience) != 0) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ID token: azp is not "
		    "the client %s",
		    exp->audience);
		goto fail;
	}

	if ((t = jose_date(claims, "exp")) < 0) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ID token: exp missing or not a date");
		goto fail;
	}
	if (exp->now > t + skew) {
		error = jose_fail(cause, JOSE_EEXPIRED,
		    "ID token: expired %lld s ago", (long long)(exp->now - t));
		goto fail;
	}
	if ((t = jose_date(claims, "iat")) < 0) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ID token: iat missing or not a date");
		goto fail;
	}
	if (t > exp->now + skew) {
		error = jose_fail(cause, JOSE_EEXPIRED,
		    "ID token: issued %lld s in the future",
		    (long long)(t - exp->now));
		goto fail;
	}
	if ((t = jose_date(claims, "nbf")) == -2 ||
	    (t >= 0 && t > exp->now + skew)) {
		error = jose_fail(cause, JOSE_EEXPIRED,
		    "ID token: not valid yet (nbf)");
		goto fail;
	}

	if (exp->nonce != NULL) {
		nonce = json_string_value(json_object_get(claims, "nonce"));
		if (nonce == NULL) {
			error = jose_fail(cause, JOSE_ECLAIM,
			    "ID token: nonce missing");
			goto fail;
		}
		if (!jose_streq(nonce, exp->nonce)) {
			error = jose_fail(cause, JOSE_ECLAIM,
			    "ID token: nonce "
			    "is not the one this sign-in sent");
			goto fail;
		}
	}
	return (0);
fail:
	jose_token_clear(out);
	return (error);
}

int
jose_verify_alb(const struct jose_keyset *set, const char *tok, size_t len,
    const char *signer_arn, int64_t now, struct jose_token *out, char **cause)
{
	const char *signer;
	int64_t	    t;
	int	    error;

	if ((error = jose_verify_sig(set, tok, len, 1, 1, "ALB token", out,
		 cause)) != 0)
		return (error);
	signer = json_string_value(json_object_get(out->header, "signer"));
	if (signer == NULL || strcmp(signer, signer_arn) != 0) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ALB token: signer is "
		    "not the configured load balancer %s",
		    signer_arn);
		goto fail;
	}
	/* The ALB puts exp in the header; some claims sets carry it too. */
	if ((t = jose_date(out->header, "exp")) == -1)
		t = jose_date(out->claims, "exp");
	if (t < 0) {
		error = jose_fail(cause, JOSE_ECLAIM,
		    "ALB token: exp missing or not a date");
		goto fail;
	}
	if (now > t + JOSE_SKEW) {
		error = jose_fail(cause, JOSE_EEXPIRED,
		    "ALB token: expired %lld s ago", (long long)(now - t));
		goto fail;
	}
	return (0);
fail:
	jose_token_clear(out);
	return (error);
}

void
jose_token_clear(struct jose_token *tok)
{
	if (tok->header != NULL)
		json_decref(tok->header);
	if (tok->claims != NULL)
		json_decref(tok->claims);
	tok->header = tok->claims = NULL;
}

const char *
jose_claim_str(const struct jose_token *tok, const char *name)
{
	if (tok->claims == NULL)
		return (NULL);
	return (json_string_value(json_object_get(tok->claims, name)));
}

int
jose_claim_groups(const struct jose_token *tok, const char *name,
    const char ***out)
{
	json_t	    *v, *g;
	const char **list;
	size_t	     i, n = 0;

	*out = NULL;
	v = tok->claims != NULL ? json_object_get(tok->claims, name) : NULL;
	if (v == NULL || json_is_null(v)) {
		*out = xcalloc(1, sizeof **out);
		return (0);
	}
	if (json_is_string(v)) {
		list = xcalloc(2, sizeof *list);
		list[0] = json_string_value(v);
		*out = list;
		return (1);
	}
	if (!json_is_array(v) || json_array_size(v) > 1024)
		return (-1);
	list = xcalloc(json_array_size(v) + 1, sizeof *list);
	json_array_foreach(v, i, g) {
		if (!json_is_string(g)) {
			free(list);
			return (-1);
		}
		list[n++] = json_string_value(g);
	}
	*out = list;
	return ((int)n);
}

int
jose_cache_lookup(struct jose_cache *cache, const char *kid, int64_t now)
{
	if (cache->keys != NULL && jose_keyset_has(cache->keys, kid))
		return (JOSE_CACHE_HIT);
	if (cache->last_refetch != 0 &&
	    now - cache->last_refetch < JOSE_REFETCH_MIN &&
	    now >= cache->last_refetch)
		return (JOSE_CACHE_MISS);
	cache->last_refetch = now;
	return (JOSE_CACHE_REFETCH);
}

void
jose_cache_set(struct jose_cache *cache, struct jose_keyset *set, int64_t now)
{
	jose_keyset_free(cache->keys);
	cache->keys = set;
	cache->fetched = now;
}

void
jose_cache_clear(struct jose_cache *cache)
{
	jose_keyset_free(cache->keys);
	memset(cache, 0, sizeof *cache);
}
