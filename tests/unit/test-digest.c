/*
 * SHA-256, HMAC-SHA256 and hex: the published vectors, the incremental
 * context against the one-shot.
 */
#include <string.h>

#include "digest.h"
#include "tap.h"

#define ABC_SHA256 \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int
main(void)
{
	struct digest_sha256	  *h;
	unsigned char		   md[DIGEST_SHA256_LEN];
	char			   hex[DIGEST_SHA256_HEX_SIZE];
	static const unsigned char bytes[] = { 0x00, 0x0f, 0xa5, 0xff };

	digest_hex(bytes, sizeof bytes, hex);
	is_str(hex, "000fa5ff", "hex is two lower-case digits a byte");
	digest_hex(bytes, 0, hex);
	is_str(hex, "", "hex of nothing is the empty string");

	/* FIPS 180-2 and RFC 4231 test case 2. */
	is_int(digest_sha256_hex("abc", 3, hex), 0, "sha256 of abc");
	is_str(hex, ABC_SHA256, "sha256 of abc value");
	digest_sha256_hex("", 0, hex);
	is_str(hex, EMPTY_SHA256, "sha256 of nothing");
	is_int(digest_sha256("abc", 3, md), 0, "sha256 in bytes");
	digest_hex(md, sizeof md, hex);
	is_str(hex, ABC_SHA256, "bytes and hex agree");
	is_int(digest_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?",
		   28, hex),
	    0, "hmac rfc 4231 #2");
	is_str(hex,
	    "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843",
	    "hmac rfc 4231 #2 value");
	is_int(digest_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28,
		   md),
	    0, "hmac in bytes");
	ok(md[0] == 0x5b && md[31] == 0x43, "hmac bytes and hex agree");

	h = digest_sha256_new();
	ok(h != NULL, "incremental sha256 context");
	digest_sha256_update(h, "a", 1);
	digest_sha256_update(h, "", 0);
	digest_sha256_update(h, "bc", 2);
	is_int(digest_sha256_final(h, hex), 0, "incremental final");
	is_str(hex, ABC_SHA256, "incremental = one-shot");
	digest_sha256_final(h, hex);
	is_str(hex, EMPTY_SHA256, "final resets the context");
	digest_sha256_free(h);
	digest_sha256_free(NULL);

	return (tap_done());
}
