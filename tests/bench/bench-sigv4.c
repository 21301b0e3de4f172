/*
 * The C half of tests/bench/sigv4: signs an SQS ReceiveMessage (POST, JSON
 * body) and an S3 GetObject over and over with aws_sign_headers, and times
 * the bare cryptography one such signature needs, done as cheaply as
 * libcrypto allows.  botocore's half is sigv4_botocore.py; the sigv4
 * script runs both and compares.
 *
 *	bench-sigv4 --verify TIME	print both Authorization headers
 *	bench-sigv4 [SECONDS]		time each case for about SECONDS
 *
 * Times are the thread's CPU time, and each figure is the best of ROUNDS
 * rounds, the signer's and the crypto's rounds alternating, so that other
 * load on the machine (a parallel build) skews the figures little.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "aws-sign.h"

#define AKID	"ASIAQEXAMPLEBENCH123"
#define SECRET	"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define REGION	"eu-west-1"
/* A session token about as long as AssumeRole's. */
#define TOKEN \
	"IQoJb3JpZ2luX2VjEXAMPLETOKENaCWV1LXdlc3QtMSJHMEUCIQD6EXAMPLEVzE5" \
	"DaxkEXAMPLEuB5B6HhZ9s8P3bEXAMPLEAiBiEXAMPLEa1b2c3d4e5f6g7h8i9j0k" \
	"Kp8CCBMQAhoMMTIzNDU2Nzg5MDEyIgxEXAMPLE0123456789abcdefghijklmnop" \
	"qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/EXAMPLEEXAMPLEEXA" \
	"MPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM" \
	"PLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMP" \
	"LEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPL" \
	"EEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE=="
#define SQS_BODY \
	"{\"QueueUrl\":\"https://sqs.eu-west-1.amazonaws.com/123456789012/" \
	"shipgate-releases\",\"AttributeNames\":[\"All\"]," \
	"\"MessageSystemAttributeNames\":[\"ApproximateReceiveCount\"," \
	"\"SentTimestamp\"],\"MaxNumberOfMessages\":10," \
	"\"VisibilityTimeout\":300,\"WaitTimeSeconds\":20}"

static const struct aws_sign_header sqs_headers[] = {
	{ "Content-Type", "application/x-amz-json-1.0" },
	{ "Host", "sqs.eu-west-1.amazonaws.com" },
	{ "X-Amz-Target", "AmazonSQS.ReceiveMessage" },
};
static const struct aws_sign_header s3_headers[] = {
	{ "Host", "shipgate-artifacts.s3.eu-west-1.amazonaws.com" },
};

struct bench_case {
	const char			*name;
	const char			*service;
	struct aws_sign_request		 req;
};

static struct bench_case cases[] = {
	{ "sqs", "sqs", { "POST", "/", NULL, sqs_headers, 3, SQS_BODY,
	    sizeof SQS_BODY - 1, NULL } },
	{ "s3", "s3", { "GET", "/releases/billing/1.4.2/bundle.zip", NULL,
	    s3_headers, 1, NULL, 0, NULL } },
};
#define NCASES	(sizeof cases / sizeof cases[0])
#define ROUNDS	5

static double
now_s(void)
{
	struct timespec	ts;

	/* CPU time, not wall time: other load on the machine does not count. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
params_for(struct aws_sign_params *p, const struct bench_case *bc, time_t t)
{
	memset(p, 0, sizeof *p);
	p->creds.access_key_id = AKID;
	p->creds.secret_access_key = SECRET;
	p->creds.session_token = TOKEN;
	p->region = REGION;
	p->service = bc->service;
	p->now = t;
}

static void
die(const char *what, int rc, char *cause)
{
	fprintf(stderr, "bench-sigv4: %s: %s: %s\n", what,
	    aws_sign_strerror(rc), cause ? cause : "");
	exit(1);
}

/* Signatures per second with shipgate's signer and a warm cache. */
static double
time_signer(struct aws_sign_cache *cache, struct aws_sign_result *res,
    const struct bench_case *bc, double seconds)
{
	struct aws_sign_params	 p;
	char			*cause = NULL;
	double			 start, el;
	long			 n = 0, i;
	int			 rc;

	params_for(&p, bc, time(NULL));
	start = now_s();
	do {
		for (i = 0; i < 2000; i++) {
			p.now = time(NULL);
			if ((rc = aws_sign_headers(cache, &bc->req, &p, res,
			    &cause)) != 0)
				die(bc->name, rc, cause);
		}
		n += i;
		el = now_s() - start;
	} while (el < seconds);
	return ((double)n / el);
}

/*
 * The crypto alone, for the same canonical request and string to sign:
 * SHA-256 of the payload (none for S3's empty GET body, whose hash is a
 * constant), SHA-256 of the canonical request, HMAC of the string to sign
 * with the signing key.  Done the cheapest way libcrypto allows: one
 * fetched digest, reused contexts, the key's HMAC states computed once.
 * With derive, the four HMACs of the key chain as well, as when the key
 * is not cached.
 */
struct crypto {
	EVP_MD		*md;
	EVP_MD_CTX	*work, *inner, *outer;
};

static void
hmac_states(struct crypto *c, const unsigned char *key, size_t keylen)
{
	unsigned char	pad[64];
	size_t		i;

	for (i = 0; i < 64; i++)
		pad[i] = (i < keylen ? key[i] : 0) ^ 0x36;
	EVP_DigestInit_ex2(c->inner, c->md, NULL);
	EVP_DigestUpdate(c->inner, pad, 64);
	for (i = 0; i < 64; i++)
		pad[i] = (i < keylen ? key[i] : 0) ^ 0x5c;
	EVP_DigestInit_ex2(c->outer, c->md, NULL);
	EVP_DigestUpdate(c->outer, pad, 64);
}

static void
hmac(struct crypto *c, const void *msg, size_t len, unsigned char out[32])
{
	unsigned char	ih[32];
	unsigned int	olen;

	EVP_MD_CTX_copy_ex(c->work, c->inner);
	EVP_DigestUpdate(c->work, msg, len);
	EVP_DigestFinal_ex(c->work, ih, &olen);
	EVP_MD_CTX_copy_ex(c->work, c->outer);
	EVP_DigestUpdate(c->work, ih, 32);
	EVP_DigestFinal_ex(c->work, out, &olen);
}

static void
sha(struct crypto *c, const void *msg, size_t len, unsigned char out[32])
{
	unsigned int	olen;

	EVP_DigestInit_ex2(c->work, c->md, NULL);
	EVP_DigestUpdate(c->work, msg, len);
	EVP_DigestFinal_ex(c->work, out, &olen);
}

static void
derive(struct crypto *c, const char *date, const char *service,
    unsigned char k[32])
{
	const char	*k0 = "AWS4" SECRET;

	hmac_states(c, (const unsigned char *)k0, strlen(k0));
	hmac(c, date, 8, k);
	hmac_states(c, k, 32);
	hmac(c, REGION, strlen(REGION), k);
	hmac_states(c, k, 32);
	hmac(c, service, strlen(service), k);
	hmac_states(c, k, 32);
	hmac(c, "aws4_request", 12, k);
	hmac_states(c, k, 32);
}

static double
time_crypto(struct crypto *c, const struct bench_case *bc, const char *creq,
    const char *sts, int with_derive, double seconds)
{
	unsigned char	 md[32], k[32];
	double		 start, el;
	long		 n = 0, i;
	size_t		 creq_len = strlen(creq), sts_len = strlen(sts);
	volatile unsigned char sink = 0;

	derive(c, "20261129", bc->service, k);
	start = now_s();
	do {
		for (i = 0; i < 2000; i++) {
			if (with_derive)
				derive(c, "20261129", bc->service, k);
			if (bc->req.body_len > 0)
				sha(c, bc->req.body, bc->req.body_len, md);
			sha(c, creq, creq_len, md);
			hmac(c, sts, sts_len, md);
			sink ^= md[0];
		}
		n += i;
		el = now_s() - start;
	} while (el < seconds);
	(void)sink;
	return ((double)n / el);
}

int
main(int argc, char **argv)
{
	struct aws_sign_cache	*cache;
	struct aws_sign_result	 res;
	struct aws_sign_params	 p;
	struct crypto		 c;
	char			*cause = NULL, *creq, *sts;
	double			 seconds = 1.0, ours[NCASES], bare[NCASES];
	double			 derived[NCASES], t_ours = 0, t_bare = 0;
	double			 t_derived = 0, x;
	size_t			 i;
	int			 rc, round;

	if ((cache = aws_sign_cache_new()) == NULL)
		die("cache", AWS_SIGN_ECRYPTO, NULL);
	aws_sign_result_init(&res);

	if (argc == 3 && strcmp(argv[1], "--verify") == 0) {
		for (i = 0; i < NCASES; i++) {
			params_for(&p, &cases[i], (time_t)strtoll(argv[2],
			    NULL, 10));
			if ((rc = aws_sign_headers(cache, &cases[i].req, &p,
			    &res, &cause)) != 0)
				die(cases[i].name, rc, cause);
			printf("%s %s\n", cases[i].name, res.authorization);
		}
		goto out;
	}
	if (argc == 2)
		seconds = atof(argv[1]);
	if (seconds <= 0)
		seconds = 1.0;

	c.md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c.work = EVP_MD_CTX_new();
	c.inner = EVP_MD_CTX_new();
	c.outer = EVP_MD_CTX_new();
	if (c.md == NULL || c.work == NULL || c.inner == NULL ||
	    c.outer == NULL)
		die("libcrypto", AWS_SIGN_ECRYPTO, NULL);

	for (i = 0; i < NCASES; i++) {
		/* The inputs the crypto needs, from one real signature. */
		params_for(&p, &cases[i], time(NULL));
		if ((rc = aws_sign_headers(cache, &cases[i].req, &p, &res,
		    &cause)) != 0)
			die(cases[i].name, rc, cause);
		creq = strdup(res.canonical_request);
		sts = strdup(res.string_to_sign);
		ours[i] = bare[i] = derived[i] = 0;
		for (round = 0; round < ROUNDS; round++) {
			x = time_signer(cache, &res, &cases[i],
			    seconds / ROUNDS);
			if (x > ours[i])
				ours[i] = x;
			x = time_crypto(&c, &cases[i], creq, sts, 0,
			    seconds / ROUNDS);
			if (x > bare[i])
				bare[i] = x;
			x = time_crypto(&c, &cases[i], creq, sts, 1,
			    seconds / ROUNDS / 2);
			if (x > derived[i])
				derived[i] = x;
		}
		printf("%-4s shipgate %10.0f signatures/s   bare crypto "
		    "%10.0f/s (%.2fx)   crypto with key derivation %10.0f/s\n",
		    cases[i].name, ours[i], bare[i], bare[i] / ours[i],
		    derived[i]);
		printf("%s_shipgate_per_s=%.0f %s_crypto_only_per_s=%.0f "
		    "%s_crypto_derive_per_s=%.0f\n", cases[i].name, ours[i],
		    cases[i].name, bare[i], cases[i].name, derived[i]);
		free(creq);
		free(sts);
		/* The mix: one of each, so per-signature times add. */
		t_ours += 1 / ours[i];
		t_bare += 1 / bare[i];
		t_derived += 1 / derived[i];
	}
	printf("shipgate_per_s=%.0f crypto_only_per_s=%.0f "
	    "crypto_derive_per_s=%.0f sanitizers=%d\n", NCASES / t_ours,
	    NCASES / t_bare, NCASES / t_derived,
#if defined(__SANITIZE_ADDRESS__)
	    1
#else
	    0
#endif
	    );
	EVP_MD_CTX_free(c.work);
	EVP_MD_CTX_free(c.inner);
	EVP_MD_CTX_free(c.outer);
	EVP_MD_free(c.md);
out:
	aws_sign_result_free(&res);
	aws_sign_cache_free(cache);
	return (0);
}
