/*
 * libFuzzer target for what comes from an identity provider or a load
 * balancer: the first byte picks the reader, the rest is its input.
 *	0	a JWKS document (jose_keyset_parse)
 *	1	an ID token checked against a fixed key set (RS256 and ES256)
 *	2	an ALB token checked against the same set
 *	3	a PEM public key (jose_keyset_from_pem)
 *	4	a discovery document (oidc_discovery_parse)
 *	5	a token endpoint's reply (oidc_token_reply)
 * No input may crash, leak or be accepted as a verified token (the set's
 * private keys exist nowhere).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose.h"
#include "oidc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char keys[] =
    "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", "
    "\"kid\": \"e1\", \"x\": \"CrM32CxRVVqeUo3ybhNOVFVeKfWrd383FbFv1H1r1Qg\", "
    "\"y\": \"sY1082Hj_mkLE2QCZnwy2ozjebXG0pcgf78LAbefDq0\"}, {\"kty\": "
    "\"RSA\", \"kid\": \"r1\", \"e\": \"AQAB\", \"n\": \"kEUOwvhB50z5yvNQIfX8"
    "rcDV6olk6w2Ut2PWDRzBwkDPiQHbhVPJ80R4zUawbE0Al8y_G8ArwWJ066NaQ2ORnUhArYF"
    "fNracqeUz5b1HKOUAfX3v2xThXW1PdAhT3wHY661-PRcvJr6_pzC-A1PEC0UaLM49U9xxcKu"
    "Y1KdpPiReRjZ7HNzTPRFKiXu7qOQZZzbYq9XDPPxaStCsOa0Z5jKtOioltvdPKUhmyU5Lo3P"
    "mtLxIBh88cwJWMJB3FV0QlT7VUff3cWMchM5qQGrfeNNNBy9UVXuMtI8AfBndlQJ8vGFARp0"
    "IrraqMaveuYBqZUeECsCB-65BM-dhtDRMWw\"}]}";

static struct jose_keyset *set;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jose_keyset   *k = NULL;
	struct jose_token     t;
	struct jose_expect    exp;
	struct oidc_discovery d;
	char		     *s, *cause = NULL, *idt = NULL;
	int		      rc = 0;

	if (size < 1)
		return (0);
	if (set == NULL &&
	    jose_keyset_parse(&set, keys, strlen(keys), NULL) != 0)
		abort();
	/* NUL-terminated copy: the readers take C strings too. */
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	memset(&t, 0, sizeof t);
	switch (data[0] % 6) {
	case 0:
		rc = jose_keyset_parse(&k, s, size - 1, &cause);
		if (rc == 0 && jose_keyset_count(k) == 0)
			abort();
		jose_keyset_free(k);
		break;
	case 1:
		memset(&exp, 0, sizeof exp);
		exp.issuer = "https://idp.example.com";
		exp.audience = "shipgate";
		exp.nonce = "n";
		exp.now = 1800000000;
		if (jose_verify_id_token(set, s, size - 1, &exp, &t, &cause) ==
		    0)
			abort();
		break;
	case 2:
		if (jose_verify_alb(set, s, size - 1, "arn:aws:x", 1800000000,
			&t, &cause) == 0)
			abort();
		break;
	case 3:
		rc = jose_keyset_from_pem(&k, "k", s, size - 1, &cause);
		jose_keyset_free(k);
		break;
	case 4:
		rc = oidc_discovery_parse(s, size - 1,
		    "https://idp.example.com", 0, &d, &cause);
		if (rc == 0)
			oidc_discovery_clear(&d);
		break;
	case 5:
		rc = oidc_token_reply(s, size - 1, 200, &idt, &cause);
		free(idt);
		break;
	}
	(void)rc;
	free(cause);
	free(s);
	return (0);
}
