/*
 * AWS Signature Version 4: canonical request, string to sign, signature,
 * for Authorization headers and presigned URLs.  Pure: no I/O, the time
 * comes from the caller.  Signing is in the hot path of every AWS call,
 * so it builds everything in buffers owned by the caller's result and
 * reuses libcrypto contexts held by the caller's cache: once warm, a
 * signature allocates nothing.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>

#include "aws-sign.h"
#include "buf.h"
#include "digest.h"
#include "xmalloc.h"

#define ALGORITHM	 "AWS4-HMAC-SHA256"
#define SCOPE_TERMINATOR "aws4_request"
#define SHA256_LEN	 32
#define SHA256_BLOCK	 64

/*
 * Inputs larger than this in total (path, query, headers, token) are
 * refused, so that no length computed below can overflow.
 */
#define SIGN_MAX_INPUT (16 * 1024 * 1024)

/*
 * HMAC is done by hand over EVP digests: the inner and outer states of
 * the signing key (key ^ ipad, key ^ opad, one block each) are computed
 * once per key and copied for every signature, which saves two of the
 * five compression calls of an HMAC over a string to sign and the
 * per-call setup of HMAC()/EVP_MAC.  Measured with OpenSSL 3.0 on
 * 120-byte messages: HMAC() 1200 ns, EVP_MAC_init with the key 730 ns,
 * EVP_MAC_CTX_dup 520 ns, EVP_MAC re-init without key 270 ns, copied
 * precomputed states 240 ns.  Likewise a prefetched EVP_MD with a reused
 * EVP_MD_CTX hashes 200 bytes in 200 ns against 420 ns for EVP_Digest
 * with EVP_sha256(), which fetches the implementation on every call.
 */
/*
 * One signing key: the HMAC states of kSigning for a date, region,
 * service and credentials.
 */
struct sign_key {
	int	      keyed;
	char	      date[9]; /* YYYYMMDD the key is for */
	char	     *region;
	char	     *service;
	char	     *akid;
	char	     *secret; /* wiped when replaced or freed */
	EVP_MD_CTX   *inner;  /* kSigning ^ ipad absorbed */
	EVP_MD_CTX   *outer;  /* kSigning ^ opad absorbed */
	unsigned long used;   /* for least-recently-used eviction */
};

/*
 * A client signs for several services (S3, SQS, CloudFormation...) and
 * environments (one role each) in turn, so the cache holds a few keys;
 * the least recently used goes when a new one is needed.  Keys for a past
 * date are never used again and go first.
 */
#define CACHE_KEYS 8

struct aws_sign_cache {
	const EVP_MD *md;
	EVP_MD	     *md_fetched; /* owned; NULL before OpenSSL 3 */
	EVP_MD_CTX   *work;

	struct sign_key	 keys[CACHE_KEYS];
	struct sign_key *last; /* tried first */
	unsigned long	 tick;
	unsigned long	 derivations;

	int    have_amz; /* amz_date is for amz_time */
	time_t amz_time;
	char   amz_date[AWS_SIGN_AMZ_DATE_SIZE];
};

/*
 * A header or query parameter being canonicalised: key and value are in
 * result->tmp at koff/voff, or at kp/vp when those are set (strings that
 * need no rewriting and outlive the call, such as the session token).
 */
struct ent {
	const char *kp, *vp;
	size_t	    koff, klen;
	size_t	    voff, vlen;
	size_t	    idx; /* input order, to keep it for equal keys */
};

/* One signing call's state. */
struct signing {
	struct aws_sign_cache	      *c;
	const struct aws_sign_request *req;
	const struct aws_sign_params  *p;
	struct aws_sign_result	      *r;
	char			     **cause;
	unsigned int		       flags;
	int			       query; /* presigning */
	char			       hexbuf[AWS_SIGN_HEX_SIZE];
	const char		      *payload;	       /* payload hash */
	size_t			       nh;	       /* header entries */
	size_t			       nq;	       /* query entries */
	size_t			       sh_off, sh_len; /* signed headers, tmp */
	size_t			       cred_off, cred_len; /* akid/scope, tmp */
	int			       s3;		   /* service "s3" */
	size_t			       token_len;
	char			       expires[16]; /* query signing */
};

static const char hexupper[] = "0123456789ABCDEF";

/* Byte classes, looked up in the loops over every byte. */
#define C_UNRESERVED 0x01 /* RFC 3986 unreserved: kept by URI encoding */
#define C_TCHAR	     0x02 /* RFC 7230 tchar: methods, header names */
#define C_BLANK	     0x04 /* space or tab, trimmed from values */
#define C_BREAK	     0x08 /* CR or LF, refused in values */
#define C_PRINTABLE  0x10 /* 0x21..0x7e */
#define C_PATH_BAD   0x20 /* never in a path: controls, '#', '?' */
#define C_PATH_RAW   0x40 /* only in a path still to be encoded */
#define C_END	     0x80 /* the NUL */
#define C_WORD	     (C_UNRESERVED | C_TCHAR | C_PRINTABLE)

static const unsigned char cclass[256] = {
	[0x00] = C_END,
	[0x01 ... 0x08] = C_PATH_BAD,
	['\t'] = C_BLANK | C_PATH_BAD,
	['\n'] = C_BREAK | C_PATH_BAD,
	[0x0b ... 0x0c] = C_PATH_BAD,
	['\r'] = C_BREAK | C_PATH_BAD,
	[0x0e ... 0x1f] = C_PATH_BAD,
	[' '] = C_BLANK | C_PATH_RAW,
	[0x7f] = C_PATH_BAD,
	[0x80 ... 0xff] = C_PATH_RAW,
	['0' ... '9'] = C_WORD,
	['A' ... 'Z'] = C_WORD,
	['a' ... 'z'] = C_WORD,
	['-'] = C_WORD,
	['.'] = C_WORD,
	['_'] = C_WORD,
	['~'] = C_WORD,
	['!'] = C_TCHAR | C_PRINTABLE,
	['#'] = C_TCHAR | C_PRINTABLE | C_PATH_BAD,
	['$'] = C_TCHAR | C_PRINTABLE,
	['%'] = C_TCHAR | C_PRINTABLE,
	['&'] = C_TCHAR | C_PRINTABLE,
	['\''] = C_TCHAR | C_PRINTABLE,
	['*'] = C_TCHAR | C_PRINTABLE,
	['+'] = C_TCHAR | C_PRINTABLE,
	['^'] = C_TCHAR | C_PRINTABLE,
	['`'] = C_TCHAR | C_PRINTABLE,
	['|'] = C_TCHAR | C_PRINTABLE,
	['"'] = C_PRINTABLE,
	['('] = C_PRINTABLE,
	[')'] = C_PRINTABLE,
	[','] = C_PRINTABLE,
	['/'] = C_PRINTABLE,
	[':'] = C_PRINTABLE,
	[';'] = C_PRINTABLE,
	['<'] = C_PRINTABLE,
	['='] = C_PRINTABLE,
	['>'] = C_PRINTABLE,
	['?'] = C_PRINTABLE | C_PATH_BAD,
	['@'] = C_PRINTABLE,
	['['] = C_PRINTABLE,
	['\\'] = C_PRINTABLE,
	[']'] = C_PRINTABLE,
	['{'] = C_PRINTABLE,
	['}'] = C_PRINTABLE,
};

/* -- small helpers ----------------------------------------------------- */

static int set_cause(char **cause, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
set_cause(char **cause, int error, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return (error);
}

static inline int
is_unreserved(unsigned char ch)
{
	return (cclass[ch] & C_UNRESERVED);
}

static inline int
is_hex(unsigned char ch)
{
	return ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		(ch >= 'A' && ch <= 'F'));
}

static inline int
hex_value(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	return (ch - 'A' + 10);
}

/* RFC 7230 tchar: what a method or header name may contain. */
static int
is_token(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (*u == '\0')
		return (0);
	for (; *u != '\0'; u++) {
		if (!(cclass[*u] & C_TCHAR))
			return (0);
	}
	return (1);
}

/* A scope element (region, service, key id): printable, no '/' or space. */
static int
is_scope_word(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (s == NULL || *u == '\0')
		return (0);
	for (; *u != '\0'; u++) {
		if (!(cclass[*u] & C_PRINTABLE) || *u == '/')
			return (0);
	}
	return (1);
}

/*
 * Grows a buffer that may hold secrets: never realloc, so the old copy
 * can be wiped.
 */
static void
grow(char **p, size_t *cap, size_t need)
{
	size_t ncap;
	char  *np;

	ncap = *cap ? *cap : 1024;
	while (ncap < need)
		ncap *= 2;
	np = xmalloc(ncap);
	if (*p != NULL) {
		memcpy(np, *p, *cap);
		explicit_bzero(*p, *cap);
		free(*p);
	}
	*p = np;
	*cap = ncap;
}

/* Appends to the result's output memory. */
static inline void
mem_put(struct aws_sign_result *r, const void *s, size_t len)
{
	if (r->mem_cap - r->mem_len < len)
		grow(&r->mem, &r->mem_cap, r->mem_len + len);
	memcpy(r->mem + r->mem_len, s, len);
	r->mem_len += len;
}

static inline void
mem_putc(struct aws_sign_result *r, char ch)
{
	if (r->mem_len == r->mem_cap)
		grow(&r->mem, &r->mem_cap, r->mem_len + 1);
	r->mem[r->mem_len++] = ch;
}

static inline void
mem_puts(struct aws_sign_result *r, const char *s)
{
	mem_put(r, s, strlen(s));
}

/* Appends to the scratch memory. */
static inline void
tmp_reserve(struct aws_sign_result *r, size_t len)
{
	if (r->tmp_cap - r->tmp_len < len)
		grow(&r->tmp, &r->tmp_cap, r->tmp_len + len);
}

static inline void
tmp_put(struct aws_sign_result *r, const void *s, size_t len)
{
	tmp_reserve(r, len);
	memcpy(r->tmp + r->tmp_len, s, len);
	r->tmp_len += len;
}

/* URI-encodes into the output (the caller reserved 3 * len). */
static size_t
encode_into(char *out, const unsigned char *in, size_t len, int keep_slash)
{
	char  *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		if (is_unreserved(in[i]) || (keep_slash && in[i] == '/'))
			*o++ = (char)in[i];
		else {
			*o++ = '%';
			*o++ = hexupper[in[i] >> 4];
			*o++ = hexupper[in[i] & 0xf];
		}
	}
	return ((size_t)(o - out));
}

static void
mem_encode(struct aws_sign_result *r, const void *in, size_t len,
    int keep_slash)
{
	if (r->mem_cap - r->mem_len < 3 * len)
		grow(&r->mem, &r->mem_cap, r->mem_len + 3 * len);
	r->mem_len += encode_into(r->mem + r->mem_len, in, len, keep_slash);
}

static struct ent *
ent_add(struct aws_sign_result *r, size_t n)
{
	struct ent *e;
	size_t	    ncap;

	if (n == r->ents_cap) {
		ncap = r->ents_cap ? 2 * r->ents_cap : 32;
		r->ents = xreallocarray(r->ents, ncap, sizeof(struct ent));
		r->ents_cap = ncap;
	}
	e = (struct ent *)r->ents + n;
	e->kp = e->vp = NULL;
	return (e);
}

static inline const char *
ent_key(const char *base, const struct ent *e)
{
	return (e->kp != NULL ? e->kp : base + e->koff);
}

static inline const char *
ent_value(const char *base, const struct ent *e)
{
	return (e->vp != NULL ? e->vp : base + e->voff);
}

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int d;

	d = memcmp(a, b, alen < blen ? alen : blen);
	if (d != 0)
		return (d);
	return ((alen > blen) - (alen < blen));
}

/* Orders by key, then value, then input order. */
static int
ent_cmp(const char *base, const struct ent *a, const struct ent *b,
    int by_value)
{
	int d;

	d = bytes_cmp(ent_key(base, a), a->klen, ent_key(base, b), b->klen);
	if (d == 0 && by_value)
		d = bytes_cmp(ent_value(base, a), a->vlen, ent_value(base, b),
		    b->vlen);
	if (d == 0)
		d = (a->idx > b->idx) - (a->idx < b->idx);
	return (d);
}

/*
 * Insertion sort: lists are short (a handful of headers, a few query
 * parameters) and it needs no memory; the limits bound the worst case.
 */
static void
ent_sort(const char *base, struct ent *e, size_t n, int by_value)
{
	struct ent t;
	size_t	   i, j;

	for (i = 1; i < n; i++) {
		t = e[i];
		for (j = i; j > 0 && ent_cmp(base, &e[j - 1], &t, by_value) > 0;
		     j--)
			e[j] = e[j - 1];
		e[j] = t;
	}
}

/* -- digests ----------------------------------------------------------- */

static int
digest_init(struct aws_sign_cache *c, EVP_MD_CTX *ctx)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return (EVP_DigestInit_ex2(ctx, c->md, NULL));
#else
	return (EVP_DigestInit_ex(ctx, c->md, NULL));
#endif
}

static int
digest(struct aws_sign_cache *c, const void *data, size_t len,
    unsigned char out[SHA256_LEN])
{
	unsigned int olen;

	if (!digest_init(c, c->work) || !EVP_DigestUpdate(c->work, data, len) ||
	    !EVP_DigestFinal_ex(c->work, out, &olen))
		return (AWS_SIGN_ECRYPTO);
	return (0);
}

/* Sets inner and outer up as the HMAC states of a key. */
static int
hmac_key(struct aws_sign_cache *c, const void *key, size_t keylen,
    EVP_MD_CTX *inner, EVP_MD_CTX *outer)
{
	unsigned char k[SHA256_BLOCK], pad[SHA256_BLOCK];
	size_t	      i;
	int	      rc = AWS_SIGN_ECRYPTO;

	memset(k, 0, sizeof k);
	if (keylen > SHA256_BLOCK) {
		if (digest(c, key, keylen, k) != 0)
			goto out;
	} else
		memcpy(k, key, keylen);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	if (!digest_init(c, inner) || !EVP_DigestUpdate(inner, pad, sizeof pad))
		goto out;
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	if (!digest_init(c, outer) || !EVP_DigestUpdate(outer, pad, sizeof pad))
		goto out;
	rc = 0;
out:
	explicit_bzero(k, sizeof k);
	explicit_bzero(pad, sizeof pad);
	return (rc);
}

/* HMAC of a message with states from hmac_key. */
static int
hmac_run(struct aws_sign_cache *c, EVP_MD_CTX *inner, EVP_MD_CTX *outer,
    const void *msg, size_t len, unsigned char out[SHA256_LEN])
{
	unsigned char ih[SHA256_LEN];
	unsigned int  olen;
	int	      rc = AWS_SIGN_ECRYPTO;

	if (!EVP_MD_CTX_copy_ex(c->work, inner) ||
	    !EVP_DigestUpdate(c->work, msg, len) ||
	    !EVP_DigestFinal_ex(c->work, ih, &olen) ||
	    !EVP_MD_CTX_copy_ex(c->work, outer) ||
	    !EVP_DigestUpdate(c->work, ih, sizeof ih) ||
	    !EVP_DigestFinal_ex(c->work, out, &olen))
		goto out;
	rc = 0;
out:
	explicit_bzero(ih, sizeof ih);
	return (rc);
}

/* -- the cache --------------------------------------------------------- */

struct aws_sign_cache *
aws_sign_cache_new(void)
{
	struct aws_sign_cache *c;

	c = xcalloc(1, sizeof *c);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	c->md_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->md = c->md_fetched;
#else
	c->md = EVP_sha256();
#endif
	c->work = EVP_MD_CTX_new();
	if (c->md == NULL || c->work == NULL) {
		aws_sign_cache_free(c);
		return (NULL);
	}
	return (c);
}

static void
key_forget(struct sign_key *k)
{
	k->keyed = 0;
	free(k->region);
	free(k->service);
	free(k->akid);
	freezero_str(k->secret);
	k->region = k->service = k->akid = k->secret = NULL;
	/* Leave no keyed state behind in the contexts. */
	if (k->inner != NULL)
		EVP_MD_CTX_reset(k->inner);
	if (k->outer != NULL)
		EVP_MD_CTX_reset(k->outer);
}

void
aws_sign_cache_free(struct aws_sign_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_KEYS; i++) {
		key_forget(&c->keys[i]);
		EVP_MD_CTX_free(c->keys[i].inner);
		EVP_MD_CTX_free(c->keys[i].outer);
	}
	EVP_MD_CTX_free(c->work);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MD_free(c->md_fetched);
#endif
	explicit_bzero(c, sizeof *c);
	free(c);
}

unsigned long
aws_sign_cache_derivations(const struct aws_sign_cache *c)
{
	return (c->derivations);
}

static int
key_matches(const struct sign_key *k, const char *date,
    const struct aws_sign_params *p)
{
	return (k->keyed && memcmp(k->date, date, 8) == 0 &&
		strcmp(k->region, p->region) == 0 &&
		strcmp(k->service, p->service) == 0 &&
		strcmp(k->akid, p->creds.access_key_id) == 0 &&
		strcmp(k->secret, p->creds.secret_access_key) == 0);
}

/* Whether a should be evicted before b. */
static int
key_evicts_before(const struct sign_key *a, const struct sign_key *b,
    const char *date)
{
	int a_past, b_past;

	a_past = memcmp(a->date, date, 8) != 0;
	b_past = memcmp(b->date, date, 8) != 0;
	if (a_past != b_past)
		return (a_past);
	return (a->used < b->used);
}

/*
 * Finds the signing key for this date, region, service and credentials,
 * deriving it into the least recently used slot if the cache lacks it:
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request").
 */
static int
cache_key(struct aws_sign_cache *c, const char *date,
    const struct aws_sign_params *p, struct sign_key **keyp)
{
	const struct aws_sign_credentials *cr = &p->creds;
	struct sign_key			  *key;
	unsigned char			   k[SHA256_LEN];
	char				  *k0 = NULL;
	size_t				   i;
	int				   rc;

	if (c->last != NULL && key_matches(c->last, date, p)) {
		*keyp = c->last;
		return (0);
	}
	for (i = 0; i < CACHE_KEYS; i++) {
		if (key_matches(&c->keys[i], date, p)) {
			key = &c->keys[i];
			goto found;
		}
	}
	/* The slot to reuse: empty, else for a past date, else oldest. */
	key = &c->keys[0];
	for (i = 0; i < CACHE_KEYS && key->keyed; i++) {
		if (!c->keys[i].keyed ||
		    key_evicts_before(&c->keys[i], key, date))
			key = &c->keys[i];
	}

	key_forget(key);
	if (key->inner == NULL && (key->inner = EVP_MD_CTX_new()) == NULL)
		return (AWS_SIGN_ECRYPTO);
	if (key->outer == NULL && (key->outer = EVP_MD_CTX_new()) == NULL)
		return (AWS_SIGN_ECRYPTO);
	k0 = xasprintf("AWS4%s", cr->secret_access_key);
	if ((rc = hmac_key(c, k0, strlen(k0), key->inner, key->outer)) != 0 ||
	    (rc = hmac_run(c, key->inner, key->outer, date, 8, k)) != 0 ||
	    (rc = hmac_key(c, k, sizeof k, key->inner, key->outer)) != 0 ||
	    (rc = hmac_run(c, key->inner, key->outer, p->region,
		 strlen(p->region), k)) != 0 ||
	    (rc = hmac_key(c, k, sizeof k, key->inner, key->outer)) != 0 ||
	    (rc = hmac_run(c, key->inner, key->outer, p->service,
		 strlen(p->service), k)) != 0 ||
	    (rc = hmac_key(c, k, sizeof k, key->inner, key->outer)) != 0 ||
	    (rc = hmac_run(c, key->inner, key->outer, SCOPE_TERMINATOR,
		 strlen(SCOPE_TERMINATOR), k)) != 0 ||
	    (rc = hmac_key(c, k, sizeof k, key->inner, key->outer)) != 0)
		goto out;
	memcpy(key->date, date, 8);
	key->date[8] = '\0';
	key->region = xstrdup(p->region);
	key->service = xstrdup(p->service);
	key->akid = xstrdup(cr->access_key_id);
	key->secret = xstrdup(cr->secret_access_key);
	key->keyed = 1;
	c->derivations++;
found:
	key->used = ++c->tick;
	c->last = key;
	*keyp = key;
	rc = 0;
out:
	if (rc != 0) {
		key_forget(key);
		if (c->last == key)
			c->last = NULL;
	}
	freezero_str(k0);
	explicit_bzero(k, sizeof k);
	return (rc);
}

/* -- results ----------------------------------------------------------- */

void
aws_sign_result_init(struct aws_sign_result *r)
{
	memset(r, 0, sizeof *r);
}

void
aws_sign_result_free(struct aws_sign_result *r)
{
	if (r->mem != NULL)
		explicit_bzero(r->mem, r->mem_cap);
	if (r->tmp != NULL)
		explicit_bzero(r->tmp, r->tmp_cap);
	free(r->mem);
	free(r->tmp);
	free(r->ents);
	memset(r, 0, sizeof *r);
}

static void
result_reset(struct aws_sign_result *r)
{
	r->canonical_request = r->string_to_sign = r->signed_headers = NULL;
	r->signature = r->amz_date = r->authorization = r->query = NULL;
	r->nheaders = 0;
	r->mem_len = r->tmp_len = 0;
}

/* -- dates ------------------------------------------------------------- */

static void
put_digits(char *out, unsigned int v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
aws_sign_amz_date(time_t t, char out[AWS_SIGN_AMZ_DATE_SIZE])
{
	struct tm tm;

	if (t < 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999) {
		out[0] = '\0';
		return (AWS_SIGN_EINVAL);
	}
	put_digits(out, (unsigned int)tm.tm_year + 1900, 4);
	put_digits(out + 4, (unsigned int)tm.tm_mon + 1, 2);
	put_digits(out + 6, (unsigned int)tm.tm_mday, 2);
	out[8] = 'T';
	put_digits(out + 9, (unsigned int)tm.tm_hour, 2);
	put_digits(out + 11, (unsigned int)tm.tm_min, 2);
	put_digits(out + 13, (unsigned int)tm.tm_sec, 2);
	out[15] = 'Z';
	out[16] = '\0';
	return (0);
}

/* -- canonicalisation -------------------------------------------------- */

static int
check_params(struct signing *s)
{
	const struct aws_sign_request	  *req = s->req;
	const struct aws_sign_params	  *p = s->p;
	const struct aws_sign_credentials *cr = &p->creds;
	size_t				   i, total;

	if (req->method == NULL || !is_token(req->method))
		return (set_cause(s->cause, AWS_SIGN_EINVAL,
		    "missing or invalid method"));
	if (!is_scope_word(cr->access_key_id))
		return (set_cause(s->cause, AWS_SIGN_EINVAL,
		    "missing or invalid access key id"));
	if (cr->secret_access_key == NULL || *cr->secret_access_key == '\0')
		return (set_cause(s->cause, AWS_SIGN_EINVAL,
		    "missing secret access key"));
	if (!is_scope_word(p->region))
		return (set_cause(s->cause, AWS_SIGN_EINVAL,
		    "missing or invalid region"));
	if (!is_scope_word(p->service))
		return (set_cause(s->cause, AWS_SIGN_EINVAL,
		    "missing or invalid service"));
	if (cr->session_token != NULL && *cr->session_token == '\0')
		return (set_cause(s->cause, AWS_SIGN_EINVAL,
		    "empty session token"));
	if (s->query && (p->expires < 1 || p->expires > AWS_SIGN_MAX_EXPIRES))
		return (set_cause(s->cause, AWS_SIGN_EINVAL,
		    "expiry %u out of range 1..%d", p->expires,
		    AWS_SIGN_MAX_EXPIRES));
	if (req->nheaders > 0 && req->headers == NULL)
		return (
		    set_cause(s->cause, AWS_SIGN_EINVAL, "headers missing"));
	if (req->nheaders > AWS_SIGN_MAX_HEADERS)
		return (set_cause(s->cause, AWS_SIGN_ETOOBIG,
		    "%zu headers, more than %d", req->nheaders,
		    AWS_SIGN_MAX_HEADERS));
	if (req->body == NULL && req->body_len != 0)
		return (set_cause(s->cause, AWS_SIGN_EINVAL, "body missing"));

	total = 0;
	if (req->path != NULL)
		total += strlen(req->path);
	if (req->query != NULL)
		total += strlen(req->query);
	if (cr->session_token != NULL)
		total += (s->token_len = strlen(cr->session_token));
	total += strlen(cr->access_key_id);
	for (i = 0; i < req->nheaders && total <= SIGN_MAX_INPUT; i++) {
		if (req->headers[i].name == NULL ||
		    req->headers[i].value == NULL)
			return (set_cause(s->cause, AWS_SIGN_EINVAL,
			    "header %zu without name or value", i));
		total += strlen(req->headers[i].name);
		total += strlen(req->headers[i].value);
	}
	if (total > SIGN_MAX_INPUT)
		return (set_cause(s->cause, AWS_SIGN_ETOOBIG,
		    "request larger than %d bytes", SIGN_MAX_INPUT));
	return (0);
}

/* The payload hash: given, computed, or the empty body's. */
static int
payload_hash(struct signing *s)
{
	const struct aws_sign_request *req = s->req;
	unsigned char		       md[SHA256_LEN];
	const unsigned char	      *u;

	if (req->payload_hash != NULL) {
		u = (const unsigned char *)req->payload_hash;
		if (*u == '\0')
			return (set_cause(s->cause, AWS_SIGN_EINVAL,
			    "empty payload hash"));
		for (; *u != '\0'; u++) {
			if (*u <= 0x20 || *u >= 0x7f)
				return (set_cause(s->cause, AWS_SIGN_EINVAL,
				    "invalid payload hash"));
		}
		s->payload = req->payload_hash;
		return (0);
	}
	if (req->body_len == 0 && s->query && s->s3) {
		/* Presigned S3 URLs cannot know their body. */
		s->payload = AWS_SIGN_UNSIGNED_PAYLOAD;
		return (0);
	}
	if (req->body_len == 0) {
		s->payload = AWS_SIGN_EMPTY_SHA256;
		return (0);
	}
	if (digest(s->c, req->body, req->body_len, md) != 0)
		return (set_cause(s->cause, AWS_SIGN_ECRYPTO,
		    "hashing the payload failed"));
	digest_hex(md, sizeof md, s->hexbuf);
	s->payload = s->hexbuf;
	return (0);
}

/*
 * Writes the canonical URI.  Normalising removes "." and ".." segments
 * (RFC 3986 section 5.2.4) and empty ones ("//"); a trailing slash, or a
 * trailing dot segment, leaves a trailing slash.
 */
static int
canonical_uri(struct signing *s)
{
	struct aws_sign_result *r = s->r;
	const char	       *path = s->req->path, *seg, *end, *slash;
	const unsigned char    *u;
	size_t			len, seglen, start;
	int			trailing, bad;

	if (path == NULL || *path == '\0')
		path = "/";
	if (*path != '/')
		return (set_cause(s->cause, AWS_SIGN_EREQUEST,
		    "path does not start with '/'"));
	/* Signed as sent, the path must be encoded already. */
	bad = C_END | C_PATH_BAD;
	if (s->flags & AWS_SIGN_NO_DOUBLE_ENCODE)
		bad |= C_PATH_RAW;
	for (u = (const unsigned char *)path; !(cclass[*u] & bad); u++)
		;
	if (*u != '\0')
		return (set_cause(s->cause, AWS_SIGN_EREQUEST,
		    "path has a byte 0x%02x that must be encoded", *u));
	len = (size_t)(u - (const unsigned char *)path);

	if (!(s->flags & AWS_SIGN_NO_NORMALIZE)) {
		start = r->tmp_len;
		tmp_reserve(r, len + 2);
		end = path + len;
		trailing = 0;
		for (seg = path; seg < end; seg = slash + 1) {
			if ((slash = memchr(seg, '/', (size_t)(end - seg))) ==
			    NULL)
				slash = end;
			seglen = (size_t)(slash - seg);
			trailing = (slash != end);
			if (seglen == 0)
				continue;
			if (seglen == 1 && seg[0] == '.') {
				trailing = 1;
				continue;
			}
			if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
				while (r->tmp_len > start &&
				       r->tmp[--r->tmp_len] != '/')
					;
				trailing = 1;
				continue;
			}
			r->tmp[r->tmp_len++] = '/';
			memcpy(r->tmp + r->tmp_len, seg, seglen);
			r->tmp_len += seglen;
		}
		if (r->tmp_len == start || trailing)
			r->tmp[r->tmp_len++] = '/';
		path = r->tmp + start;
		len = r->tmp_len - start;
	}
	if (s->flags & AWS_SIGN_NO_DOUBLE_ENCODE)
		mem_put(r, path, len);
	else
		mem_encode(r, path, len, 1);
	return (0);
}

/*
 * Decodes a raw query component and encodes it again with the
 * unreserved set, into tmp; so "%e1%88%b4", "%E1%88%B4" and the raw bytes
 * all become "%E1%88%B4".  '+' is a plus, not a space.
 */
static int
requote(struct signing *s, const char *in, size_t len, size_t *off,
    size_t *olen)
{
	struct aws_sign_result *r = s->r;
	const unsigned char    *u = (const unsigned char *)in;
	char		       *o;
	unsigned char		ch;
	size_t			i;

	tmp_reserve(r, 3 * len);
	*off = r->tmp_len;
	o = r->tmp + r->tmp_len;
	for (i = 0; i < len; i++) {
		ch = u[i];
		if (ch == '%') {
			if (i + 2 >= len || !is_hex(u[i + 1]) ||
			    !is_hex(u[i + 2]))
				return (set_cause(s->cause, AWS_SIGN_EREQUEST,
				    "malformed percent-escape in query"));
			ch = (unsigned char)(hex_value(u[i + 1]) << 4 |
					     hex_value(u[i + 2]));
			i += 2;
		}
		if (is_unreserved(ch))
			*o++ = (char)ch;
		else {
			*o++ = '%';
			*o++ = hexupper[ch >> 4];
			*o++ = hexupper[ch & 0xf];
		}
	}
	*olen = (size_t)(o - (r->tmp + r->tmp_len));
	r->tmp_len += *olen;
	return (0);
}

/* The parameters a presigned URL carries, which a request must not. */
static const char *const presign_keys[] = {
	"X-Amz-Algorithm",
	"X-Amz-Credential",
	"X-Amz-Date",
	"X-Amz-Expires",
	"X-Amz-SignedHeaders",
	"X-Amz-Security-Token",
	"X-Amz-Signature",
};

/*
 * Adds a parameter whose value is v, or when v is NULL the bytes at voff
 * in tmp (taken only after tmp has grown, so they cannot move).
 */
static void
query_add(struct signing *s, const char *k, const char *v, size_t voff,
    size_t vlen, int encode)
{
	struct aws_sign_result *r = s->r;
	struct ent	       *e;
	size_t			klen = strlen(k);

	tmp_reserve(r, klen + 3 * vlen);
	if (v == NULL)
		v = r->tmp + voff;
	e = ent_add(r, s->nh + s->nq);
	e->idx = s->nq++;
	e->koff = r->tmp_len;
	e->klen = klen;
	memcpy(r->tmp + r->tmp_len, k, klen);
	r->tmp_len += klen;
	e->voff = r->tmp_len;
	if (encode)
		r->tmp_len += encode_into(r->tmp + r->tmp_len,
		    (const unsigned char *)v, vlen, 0);
	else {
		memcpy(r->tmp + r->tmp_len, v, vlen);
		r->tmp_len += vlen;
	}
	e->vlen = r->tmp_len - e->voff;
}

/* Parses the request's query into entries after the headers'. */
static int
query_parse(struct signing *s)
{
	struct aws_sign_result *r = s->r;
	const char	       *q = s->req->query, *part, *end, *amp, *eq;
	struct ent	       *e;
	size_t			i;
	int			rc;

	if (q == NULL)
		return (0);
	end = q + strlen(q);
	for (part = q; part < end; part = amp + 1) {
		if ((amp = memchr(part, '&', (size_t)(end - part))) == NULL)
			amp = end;
		if (amp == part)
			continue;
		if (s->nq >= AWS_SIGN_MAX_PARAMS)
			return (set_cause(s->cause, AWS_SIGN_ETOOBIG,
			    "more than %d query parameters",
			    AWS_SIGN_MAX_PARAMS));
		if ((eq = memchr(part, '=', (size_t)(amp - part))) == NULL)
			eq = amp;
		e = ent_add(r, s->nh + s->nq);
		e->idx = s->nq;
		if ((rc = requote(s, part, (size_t)(eq - part), &e->koff,
			 &e->klen)) != 0)
			return (rc);
		/* requote may have moved nothing but tmp; e is still valid. */
		if ((rc = requote(s, eq == amp ? eq : eq + 1,
			 eq == amp ? 0 : (size_t)(amp - eq - 1), &e->voff,
			 &e->vlen)) != 0)
			return (rc);
		if (s->query) {
			for (i = 0;
			     i < sizeof presign_keys / sizeof presign_keys[0];
			     i++) {
				if (e->klen == strlen(presign_keys[i]) &&
				    memcmp(r->tmp + e->koff, presign_keys[i],
					e->klen) == 0)
					return (set_cause(s->cause,
					    AWS_SIGN_EREQUEST,
					    "query already "
					    "has %s",
					    presign_keys[i]));
			}
		}
		s->nq++;
	}
	return (0);
}

/* Adds a header the signer signs; both strings outlive the call. */
static void
header_add(struct signing *s, const char *name, const char *value, size_t vlen)
{
	struct ent *e;

	e = ent_add(s->r, s->nh);
	e->idx = s->nh++;
	e->kp = name;
	e->klen = strlen(name);
	e->vp = value;
	e->vlen = vlen;
}

/*
 * Lowercases the names, trims the values (leading and trailing blanks
 * dropped, inner runs made one space), adds the headers the signer signs,
 * sorts by name keeping the order of repeated names, and writes the
 * signed headers list to tmp.
 */
static int
headers_prepare(struct signing *s)
{
	const struct aws_sign_request *req = s->req;
	const struct aws_sign_params  *p = s->p;
	struct aws_sign_result	      *r = s->r;
	struct ent		      *e, *ents;
	const unsigned char	      *v, *run;
	char			      *o, *name;
	size_t			       i, len;
	int			       have_host = 0, blank;

	for (i = 0; i < req->nheaders; i++) {
		if (!is_token(req->headers[i].name))
			return (set_cause(s->cause, AWS_SIGN_EREQUEST,
			    "invalid header name \"%s\"",
			    req->headers[i].name));
		e = ent_add(r, s->nh);
		e->idx = s->nh++;
		len = strlen(req->headers[i].name);
		e->koff = r->tmp_len;
		e->klen = len;
		tmp_reserve(r, len);
		name = r->tmp + r->tmp_len;
		for (o = name, v = (const unsigned char *)req->headers[i].name;
		     *v != '\0'; v++)
			*o++ = (*v >= 'A' && *v <= 'Z') ? (char)(*v + 32) :
							  (char)*v;
		r->tmp_len += len;

		if (len == 4 && memcmp(name, "host", 4) == 0)
			have_host = 1;
		else if ((len == 10 && memcmp(name, "x-amz-date", 10) == 0) ||
			 (len == 13 &&
			     memcmp(name, "authorization", 13) == 0) ||
			 (len == 20 && p->creds.session_token != NULL &&
			     memcmp(name, "x-amz-security-token", 20) == 0) ||
			 (len == 20 && (s->flags & AWS_SIGN_CONTENT_SHA256) &&
			     !s->query &&
			     memcmp(name, "x-amz-content-sha256", 20) == 0))
			return (set_cause(s->cause, AWS_SIGN_EREQUEST,
			    "request already has the %s header, which the "
			    "signer adds",
			    req->headers[i].name));

		/*
		 * Runs of ordinary bytes are copied whole; a run of blanks
		 * becomes one space unless it leads or trails.
		 */
		v = (const unsigned char *)req->headers[i].value;
		len = strlen((const char *)v);
		tmp_reserve(r, len);
		e->voff = r->tmp_len;
		o = r->tmp + r->tmp_len;
		for (blank = 0;; v++) {
			for (run = v;
			     !(cclass[*v] & (C_BLANK | C_BREAK | C_END)); v++)
				;
			if (v > run) {
				if (blank && o > r->tmp + e->voff)
					*o++ = ' ';
				memcpy(o, run, (size_t)(v - run));
				o += v - run;
				blank = 0;
			}
			if (*v == '\0')
				break;
			if (cclass[*v] & C_BREAK)
				return (set_cause(s->cause, AWS_SIGN_EREQUEST,
				    "header %s has a line break",
				    req->headers[i].name));
			blank = 1;
		}
		e->vlen = (size_t)(o - (r->tmp + e->voff));
		r->tmp_len += e->vlen;
	}
	if (!have_host)
		return (set_cause(s->cause, AWS_SIGN_EREQUEST,
		    "request has no Host header"));

	if (!s->query) {
		header_add(s, "x-amz-date", r->amz_date,
		    AWS_SIGN_AMZ_DATE_SIZE - 1);
		if (p->creds.session_token != NULL &&
		    !(s->flags & AWS_SIGN_OMIT_TOKEN))
			header_add(s, "x-amz-security-token",
			    p->creds.session_token, s->token_len);
		if (s->flags & AWS_SIGN_CONTENT_SHA256)
			header_add(s, "x-amz-content-sha256", s->payload,
			    strlen(s->payload));
	}

	ents = r->ents;
	ent_sort(r->tmp, ents, s->nh, 0);

	/* Upper bound: every name and a ';'. */
	len = 0;
	for (i = 0; i < s->nh; i++)
		len += ents[i].klen + 1;
	tmp_reserve(r, len);
	s->sh_off = r->tmp_len;
	for (i = 0; i < s->nh; i++) {
		if (i > 0 &&
		    bytes_cmp(ent_key(r->tmp, &ents[i]), ents[i].klen,
			ent_key(r->tmp, &ents[i - 1]), ents[i - 1].klen) == 0)
			continue;
		if (i > 0)
			r->tmp[r->tmp_len++] = ';';
		memcpy(r->tmp + r->tmp_len, ent_key(r->tmp, &ents[i]),
		    ents[i].klen);
		r->tmp_len += ents[i].klen;
	}
	s->sh_len = r->tmp_len - s->sh_off;
	return (0);
}

/* Writes the canonical headers, one per name, values joined by ','. */
static void
headers_write(struct signing *s)
{
	struct aws_sign_result *r = s->r;
	struct ent	       *ents = r->ents;
	size_t			i;

	for (i = 0; i < s->nh; i++) {
		if (i > 0 &&
		    bytes_cmp(ent_key(r->tmp, &ents[i]), ents[i].klen,
			ent_key(r->tmp, &ents[i - 1]), ents[i - 1].klen) == 0)
			mem_putc(r, ',');
		else {
			if (i > 0)
				mem_putc(r, '\n');
			mem_put(r, ent_key(r->tmp, &ents[i]), ents[i].klen);
			mem_putc(r, ':');
		}
		mem_put(r, ent_value(r->tmp, &ents[i]), ents[i].vlen);
	}
	if (s->nh > 0)
		mem_putc(r, '\n');
}

/* The presigning parameters go into the canonical query too. */
static void
query_presign_params(struct signing *s, const char *date)
{
	const char *token = s->p->creds.session_token;

	query_add(s, "X-Amz-Algorithm", ALGORITHM, 0, strlen(ALGORITHM), 0);
	query_add(s, "X-Amz-Credential", NULL, s->cred_off, s->cred_len, 1);
	query_add(s, "X-Amz-Date", date, 0, AWS_SIGN_AMZ_DATE_SIZE - 1, 0);
	query_add(s, "X-Amz-Expires", s->expires, 0, strlen(s->expires), 0);
	query_add(s, "X-Amz-SignedHeaders", NULL, s->sh_off, s->sh_len, 1);
	if (token != NULL && !(s->flags & AWS_SIGN_OMIT_TOKEN))
		query_add(s, "X-Amz-Security-Token", token, 0, s->token_len, 1);
}

static void
query_write(struct signing *s)
{
	struct aws_sign_result *r = s->r;
	struct ent	       *ents = (struct ent *)r->ents + s->nh;
	size_t			i;

	ent_sort(r->tmp, ents, s->nq, 1);
	for (i = 0; i < s->nq; i++) {
		if (i > 0)
			mem_putc(r, '&');
		mem_put(r, ent_key(r->tmp, &ents[i]), ents[i].klen);
		mem_putc(r, '=');
		mem_put(r, ent_value(r->tmp, &ents[i]), ents[i].vlen);
	}
}

/* -- signing ----------------------------------------------------------- */

static int
sign(struct signing *s)
{
	struct aws_sign_result	     *r = s->r;
	const struct aws_sign_params *p = s->p;
	const char		     *token = p->creds.session_token;
	struct sign_key		     *key;
	unsigned char		      md[SHA256_LEN];
	char   date[AWS_SIGN_AMZ_DATE_SIZE], sig[AWS_SIGN_HEX_SIZE];
	size_t creq_off, creq_len, sts_off, amz_off, sh_off;
	size_t sig_off, scope_off, scope_len, auth_off = 0;
	size_t query_off = 0, payload_off, tok_off = 0;
	int    rc;

	result_reset(r);
	if ((rc = check_params(s)) != 0)
		return (rc);
	if (p->now == s->c->amz_time && s->c->have_amz)
		memcpy(date, s->c->amz_date, sizeof date);
	else {
		if (aws_sign_amz_date(p->now, date) != 0)
			return (set_cause(s->cause, AWS_SIGN_EINVAL,
			    "time %lld out of range", (long long)p->now));
		memcpy(s->c->amz_date, date, sizeof date);
		s->c->amz_time = p->now;
		s->c->have_amz = 1;
	}
	/* Set up front so that headers_prepare can point at them. */
	r->amz_date = date;
	if ((rc = payload_hash(s)) != 0)
		return (rc);

	/* AKID/date/region/service/aws4_request, for the credential. */
	s->cred_off = r->tmp_len;
	tmp_put(r, p->creds.access_key_id, strlen(p->creds.access_key_id));
	tmp_put(r, "/", 1);
	scope_off = r->tmp_len;
	tmp_put(r, date, 8);
	tmp_put(r, "/", 1);
	tmp_put(r, p->region, strlen(p->region));
	tmp_put(r, "/", 1);
	tmp_put(r, p->service, strlen(p->service));
	tmp_put(r, "/" SCOPE_TERMINATOR, 1 + strlen(SCOPE_TERMINATOR));
	scope_len = r->tmp_len - scope_off;
	s->cred_len = r->tmp_len - s->cred_off;

	if ((rc = headers_prepare(s)) != 0)
		return (rc);
	if ((rc = query_parse(s)) != 0)
		return (rc);
	if (s->query)
		query_presign_params(s, date);

	/* The canonical request. */
	creq_off = r->mem_len;
	mem_puts(r, s->req->method);
	mem_putc(r, '\n');
	if ((rc = canonical_uri(s)) != 0)
		return (rc);
	mem_putc(r, '\n');
	query_write(s);
	mem_putc(r, '\n');
	headers_write(s);
	mem_putc(r, '\n');
	mem_put(r, r->tmp + s->sh_off, s->sh_len);
	mem_putc(r, '\n');
	payload_off = r->mem_len;
	mem_puts(r, s->payload);
	creq_len = r->mem_len - creq_off;
	mem_putc(r, '\0');

	if (digest(s->c, r->mem + creq_off, creq_len, md) != 0)
		return (set_cause(s->cause, AWS_SIGN_ECRYPTO,
		    "hashing the canonical request failed"));

	/* The string to sign. */
	sts_off = r->mem_len;
	mem_put(r, ALGORITHM "\n", strlen(ALGORITHM) + 1);
	mem_put(r, date, AWS_SIGN_AMZ_DATE_SIZE - 1);
	mem_putc(r, '\n');
	mem_put(r, r->tmp + scope_off, scope_len);
	mem_putc(r, '\n');
	if (r->mem_cap - r->mem_len < AWS_SIGN_HEX_SIZE)
		grow(&r->mem, &r->mem_cap, r->mem_len + AWS_SIGN_HEX_SIZE);
	digest_hex(md, sizeof md, r->mem + r->mem_len);
	r->mem_len += AWS_SIGN_HEX_SIZE - 1;

	if ((rc = cache_key(s->c, date, p, &key)) != 0 ||
	    (rc = hmac_run(s->c, key->inner, key->outer, r->mem + sts_off,
		 r->mem_len - sts_off, md)) != 0)
		return (set_cause(s->cause, AWS_SIGN_ECRYPTO,
		    "computing the signature failed"));
	mem_putc(r, '\0');
	digest_hex(md, sizeof md, sig);
	explicit_bzero(md, sizeof md);

	sig_off = r->mem_len;
	mem_put(r, sig, sizeof sig);
	amz_off = r->mem_len;
	mem_put(r, date, sizeof date);
	sh_off = r->mem_len;
	mem_put(r, r->tmp + s->sh_off, s->sh_len);
	mem_putc(r, '\0');

	if (s->query) {
		/* The query to send: the request's own, then ours. */
		query_off = r->mem_len;
		if (s->req->query != NULL && *s->req->query != '\0') {
			mem_puts(r, s->req->query);
			mem_putc(r, '&');
		}
		mem_puts(r, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
		mem_encode(r, r->tmp + s->cred_off, s->cred_len, 0);
		mem_puts(r, "&X-Amz-Date=");
		mem_put(r, date, AWS_SIGN_AMZ_DATE_SIZE - 1);
		mem_puts(r, "&X-Amz-SignedHeaders=");
		mem_encode(r, r->tmp + s->sh_off, s->sh_len, 0);
		mem_puts(r, "&X-Amz-Expires=");
		mem_puts(r, s->expires);
		if (token != NULL) {
			mem_puts(r, "&X-Amz-Security-Token=");
			mem_encode(r, token, s->token_len, 0);
		}
		mem_puts(r, "&X-Amz-Signature=");
		mem_put(r, sig, sizeof sig); /* with its NUL */
	} else {
		if (token != NULL) {
			tok_off = r->mem_len;
			mem_put(r, token, s->token_len + 1);
		}
		auth_off = r->mem_len;
		mem_puts(r, ALGORITHM " Credential=");
		mem_put(r, r->tmp + s->cred_off, s->cred_len);
		mem_puts(r, ", SignedHeaders=");
		mem_put(r, r->tmp + s->sh_off, s->sh_len);
		mem_puts(r, ", Signature=");
		mem_put(r, sig, sizeof sig);
	}

	/* Everything is written: point into mem, which no longer moves. */
	r->canonical_request = r->mem + creq_off;
	r->string_to_sign = r->mem + sts_off;
	r->signature = r->mem + sig_off;
	r->amz_date = r->mem + amz_off;
	r->signed_headers = r->mem + sh_off;
	if (s->query)
		r->query = r->mem + query_off;
	else {
		if (token != NULL) {
			r->headers[r->nheaders].name = "X-Amz-Security-Token";
			r->headers[r->nheaders++].value = r->mem + tok_off;
		}
		r->headers[r->nheaders].name = "X-Amz-Date";
		r->headers[r->nheaders++].value = r->amz_date;
		if (s->flags & AWS_SIGN_CONTENT_SHA256) {
			r->headers[r->nheaders].name = "x-amz-content-sha256";
			r->headers[r->nheaders++].value = r->mem + payload_off;
		}
		r->authorization = r->mem + auth_off;
		r->headers[r->nheaders].name = "Authorization";
		r->headers[r->nheaders++].value = r->authorization;
	}
	return (0);
}

static int
sign_common(struct aws_sign_cache *cache, const struct aws_sign_request *req,
    const struct aws_sign_params *p, struct aws_sign_result *r, char **cause,
    int query)
{
	struct signing s;
	int	       rc;

	if (cause != NULL)
		*cause = NULL;
	memset(&s, 0, sizeof s);
	s.req = req;
	s.p = p;
	s.r = r;
	s.cause = cause;
	s.query = query;
	s.flags = p->flags;
	if (p->service != NULL && strcmp(p->service, "s3") == 0) {
		s.s3 = 1;
		s.flags |= AWS_SIGN_S3;
	}
	if (query)
		snprintf(s.expires, sizeof s.expires, "%u", p->expires);
	if ((s.c = cache) == NULL && (s.c = aws_sign_cache_new()) == NULL) {
		result_reset(r);
		return (set_cause(cause, AWS_SIGN_ECRYPTO,
		    "cannot set up SHA-256"));
	}
	rc = sign(&s);
	if (rc != 0)
		result_reset(r);
	if (cache == NULL)
		aws_sign_cache_free(s.c);
	return (rc);
}

int
aws_sign_headers(struct aws_sign_cache *cache,
    const struct aws_sign_request *req, const struct aws_sign_params *p,
    struct aws_sign_result *r, char **cause)
{
	return (sign_common(cache, req, p, r, cause, 0));
}

int
aws_sign_query(struct aws_sign_cache *cache, const struct aws_sign_request *req,
    const struct aws_sign_params *p, struct aws_sign_result *r, char **cause)
{
	return (sign_common(cache, req, p, r, cause, 1));
}

const char *
aws_sign_strerror(int error)
{
	switch (error) {
	case 0:
		return ("success");
	case AWS_SIGN_EINVAL:
		return ("invalid signing parameter");
	case AWS_SIGN_EREQUEST:
		return ("request cannot be signed");
	case AWS_SIGN_EPARSE:
		return ("malformed request text");
	case AWS_SIGN_ETOOBIG:
		return ("request too large to sign");
	case AWS_SIGN_ECRYPTO:
		return ("cryptography failed");
	}
	return ("unknown signing error");
}

/* -- helpers for the rest of the client -------------------------------- */

char *
aws_sign_uri_encode(const void *in, size_t len, int flags)
{
	char  *out;
	size_t n;

	if (len > (SIZE_MAX - 1) / 3)
		return (NULL);
	out = xmalloc(3 * len + 1);
	n = encode_into(out, in, len, flags & AWS_SIGN_URI_KEEP_SLASH);
	out[n] = '\0';
	return (out);
}

int
aws_sign_uri_encode_buf(struct buf *b, const void *in, size_t len, int flags)
{
	const unsigned char *u = in;
	size_t		     i, run;
	char		     esc[3];
	int		     keep = flags & AWS_SIGN_URI_KEEP_SLASH, rc;

	for (i = 0; i < len; i += run) {
		for (run = 0; i + run < len && (is_unreserved(u[i + run]) ||
						   (keep && u[i + run] == '/'));
		     run++)
			;
		if (run > 0) {
			if ((rc = buf_append(b, u + i, run)) != 0)
				return (rc);
			continue;
		}
		esc[0] = '%';
		esc[1] = hexupper[u[i] >> 4];
		esc[2] = hexupper[u[i] & 0xf];
		if ((rc = buf_append(b, esc, 3)) != 0)
			return (rc);
		run = 1;
	}
	if (len == 0)
		return (buf_append(b, "", 0));
	return (0);
}

/* -- request text ------------------------------------------------------ */

void
aws_sign_parsed_free(struct aws_sign_parsed *p)
{
	free(p->mem);
	free(p->hdrs);
	memset(p, 0, sizeof *p);
}

int
aws_sign_parse_request(const char *text, size_t len, struct aws_sign_parsed *p,
    char **cause)
{
	const char *line, *end, *nl, *lend, *sp1, *sp2, *colon, *q;
	char	   *o, *hname;
	size_t	    nlines, nh = 0, lineno = 0;
	int	    rc = AWS_SIGN_EPARSE;

	memset(p, 0, sizeof *p);
	if (cause != NULL)
		*cause = NULL;
	if (text == NULL || len > SIGN_MAX_INPUT)
		return (set_cause(cause, AWS_SIGN_ETOOBIG,
		    "request text missing or too large"));

	/*
	 * Strings are written to mem one after another; none is longer than
	 * its line and each line yields at most two NUL-terminated strings.
	 */
	nlines = 1;
	for (q = text; q < text + len; q++)
		if (*q == '\n')
			nlines++;
	p->mem = xmalloc(2 * len + 2 * nlines + 16);
	o = p->mem;
	end = text + len;

	/* The request line. */
	line = text;
	if ((nl = memchr(line, '\n', len)) == NULL)
		nl = end;
	lend = nl;
	if (lend > line && lend[-1] == '\r')
		lend--;
	lineno = 1;
	if (memchr(line, '\0', (size_t)(lend - line)) != NULL) {
		set_cause(cause, rc, "line 1: NUL byte");
		goto fail;
	}
	sp1 = memchr(line, ' ', (size_t)(lend - line));
	for (sp2 = lend; sp2 > line && sp2[-1] != ' '; sp2--)
		;
	if (sp1 == NULL || sp2 - 1 <= sp1 + 1 || sp1 == line ||
	    (size_t)(lend - sp2) < 5 || memcmp(sp2, "HTTP/", 5) != 0) {
		set_cause(cause, rc, "line 1: not \"METHOD target HTTP/x\"");
		goto fail;
	}
	sp2--; /* the space before the version */
	p->req.method = o;
	memcpy(o, line, (size_t)(sp1 - line));
	o += sp1 - line;
	*o++ = '\0';
	if ((q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1))) == NULL)
		q = sp2;
	p->req.path = o;
	memcpy(o, sp1 + 1, (size_t)(q - sp1 - 1));
	o += q - sp1 - 1;
	*o++ = '\0';
	p->req.query = o;
	if (q < sp2) {
		memcpy(o, q + 1, (size_t)(sp2 - q - 1));
		o += sp2 - q - 1;
	}
	*o++ = '\0';
	p->version = o;
	memcpy(o, sp2 + 1, (size_t)(lend - sp2 - 1));
	o += lend - sp2 - 1;
	*o++ = '\0';

	/* Headers, up to an empty line or the end. */
	p->hdrs = xcalloc(nlines, sizeof *p->hdrs);
	for (line = nl + 1; line < end; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		lend = nl;
		if (lend > line && lend[-1] == '\r')
			lend--;
		if (lend == line)
			break;
		if (memchr(line, '\0', (size_t)(lend - line)) != NULL) {
			set_cause(cause, rc, "line %zu: NUL byte", lineno);
			goto fail;
		}
		if (*line == ' ' || *line == '\t') {
			/* obs-fold: the previous value goes on. */
			if (nh == 0) {
				set_cause(cause, rc,
				    "line %zu: continuation "
				    "without a header",
				    lineno);
				goto fail;
			}
			while (line < lend && (*line == ' ' || *line == '\t'))
				line++;
			o[-1] = ' ';
			memcpy(o, line, (size_t)(lend - line));
			o += lend - line;
			*o++ = '\0';
			continue;
		}
		if ((colon = memchr(line, ':', (size_t)(lend - line))) ==
		    NULL) {
			set_cause(cause, rc, "line %zu: header without colon",
			    lineno);
			goto fail;
		}
		if (nh == AWS_SIGN_MAX_HEADERS) {
			rc = set_cause(cause, AWS_SIGN_ETOOBIG,
			    "more than %d headers", AWS_SIGN_MAX_HEADERS);
			goto fail;
		}
		hname = o;
		memcpy(o, line, (size_t)(colon - line));
		o += colon - line;
		*o++ = '\0';
		if (!is_token(hname)) {
			set_cause(cause, rc, "line %zu: invalid header name",
			    lineno);
			goto fail;
		}
		p->hdrs[nh].name = hname;
		p->hdrs[nh].value = o;
		memcpy(o, colon + 1, (size_t)(lend - colon - 1));
		o += lend - colon - 1;
		*o++ = '\0';
		nh++;
	}
	p->req.headers = p->hdrs;
	p->req.nheaders = nh;

	/* The body: whatever follows the empty line. */
	if (line < end && nl < end) {
		p->req.body = o;
		p->req.body_len = (size_t)(end - (nl + 1));
		memcpy(o, nl + 1, p->req.body_len);
		o += p->req.body_len;
		*o = '\0';
	}
	return (0);

fail:
	aws_sign_parsed_free(p);
	return (rc);
}
