/*
 * The portal's request parsing: forms and queries, cookies, paths, ids,
 * origins, times.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal-http.h"
#include "tap.h"

static void
test_decode(void)
{
	char *s;

	ok(portal_http_decode("a%20b+c", 7, 1, &s) == 0, "decode");
	is_str(s, "a b c", "%%20 and + in a form");
	free(s);
	ok(portal_http_decode("a+b", 3, 0, &s) == 0, "decode in a path");
	is_str(s, "a+b", "+ stays in a path");
	free(s);
	ok(portal_http_decode("%e2%9C%93", 9, 1, &s) == 0 &&
		strcmp(s, "\xe2\x9c\x93") == 0,
	    "UTF-8 escapes, any case");
	free(s);
	ok(portal_http_decode("%", 1, 1, &s) == -1 && s == NULL,
	    "a lone %% is refused");
	ok(portal_http_decode("%4", 2, 1, &s) == -1, "a short escape");
	ok(portal_http_decode("%zz", 3, 1, &s) == -1, "a bad hex digit");
	ok(portal_http_decode("a%00b", 5, 1, &s) == -1, "an escaped NUL");
	ok(portal_http_decode("a\0b", 3, 1, &s) == -1, "a raw NUL");
	ok(portal_http_decode("", 0, 1, &s) == 0 && *s == '\0', "empty");
	free(s);
}

static void
test_form(void)
{
	struct portal_form f;
	char		   many[64 * 4 + 16];
	size_t		   i;
	int		   n;

	memset(&f, 0, sizeof f);
	ok(portal_form_parse("csrf=abc&env=int&comment=looks+good%21", 38, 0,
	       &f) == 0,
	    "a form parses");
	is_int((long long)f.n, 3, "three fields");
	is_str(portal_form_get(&f, "env"), "int", "env");
	is_str(portal_form_get(&f, "comment"), "looks good!", "comment");
	ok(portal_form_get(&f, "missing") == NULL, "absent field: NULL");
	portal_form_free(&f);

	ok(portal_form_parse("a=1&a=2&&b&=x&", 14, 0, &f) == 0,
	    "repeats, empty pairs, no '=', empty key");
	is_str(portal_form_get(&f, "a"), "1", "the first of a repeat");
	is_str(portal_form_get(&f, "b"), "", "no '=': empty value");
	is_str(portal_form_get(&f, ""), "x", "an empty key is a key");
	portal_form_free(&f);

	ok(portal_form_parse("", 0, 0, &f) == 0 && f.n == 0, "empty body");
	ok(portal_form_parse("a=%zz", 5, 0, &f) == -1 && f.n == 0 &&
		f.items == NULL,
	    "a bad escape: refused, nothing kept");
	ok(portal_form_parse("ok=1&bad=%", 10, 0, &f) == -1 && f.n == 0,
	    "a bad escape after good fields: refused");
	ok(portal_form_parse("a=1&b=2&c=3", 11, 2, &f) == -1,
	    "more fields than allowed");
	n = 0;
	for (i = 0; i < 65; i++)
		n += snprintf(many + n, sizeof many - (size_t)n, "a=%zu&",
		    i % 10);
	ok(portal_form_parse(many, (size_t)n, 0, &f) == -1,
	    "65 fields: over the default maximum");
	/* Length, not NUL, ends the data. */
	ok(portal_form_parse("a=1&b=2", 3, 0, &f) == 0 && f.n == 1 &&
		strcmp(f.items[0].value, "1") == 0,
	    "len bounds the parse");
	portal_form_free(&f);
}

static void
test_cookie(void)
{
	const char *h;
	char	   *v;

	h = "theme=dark; sg_session=0123abcd; other=1";
	ok(portal_cookie_get(h, strlen(h), "sg_session", &v) == 0, "cookie");
	is_str(v, "0123abcd", "the session cookie among others");
	free(v);
	h = "sg_session_x=1;sg_session=\"q\"";
	ok(portal_cookie_get(h, strlen(h), "sg_session", &v) == 0, "quoted");
	is_str(v, "q", "quotes removed; a longer name is not the name");
	free(v);
	h = "a=1";
	ok(portal_cookie_get(h, strlen(h), "sg_session", &v) == 0 && v == NULL,
	    "absent: NULL, not an error");
	h = "a=1; ;  ; sg_session=x ";
	ok(portal_cookie_get(h, strlen(h), "sg_session", &v) == 0, "blanks");
	is_str(v, "x", "empty pairs and spaces skipped");
	free(v);
	h = "garbage";
	ok(portal_cookie_get(h, strlen(h), "sg_session", &v) == -1,
	    "a pair without '=': malformed");
	h = "sg_session=a\\b";
	ok(portal_cookie_get(h, strlen(h), "sg_session", &v) == -1,
	    "a backslash in the value: malformed");
	ok(portal_cookie_get("", 0, "sg_session", &v) == 0 && v == NULL,
	    "empty header");
}

static void
test_path(void)
{
	struct portal_path p;

	ok(portal_path_parse("/runs/42/approve", 16, &p) == 0 && p.n == 3,
	    "three segments");
	is_str(p.segs[0], "runs", "first");
	is_str(p.segs[2], "approve", "last");
	portal_path_free(&p);
	ok(portal_path_parse("/", 1, &p) == 0 && p.n == 0, "/ has none");
	ok(portal_path_parse("/runs/", 6, &p) == 0 && p.n == 1,
	    "a trailing slash");
	portal_path_free(&p);
	ok(portal_path_parse("/apps/my app", 12, &p) == 0, "decoded by MHD");
	is_str(p.segs[1], "my app", "decoded; '+' would stay");
	portal_path_free(&p);
	ok(portal_path_parse("runs", 4, &p) == -1, "relative: refused");
	ok(portal_path_parse("", 0, &p) == -1, "empty: refused");
	ok(portal_path_parse("//runs", 6, &p) == -1, "empty segment");
	ok(portal_path_parse("/a//b", 5, &p) == -1, "empty inner segment");
	ok(portal_path_parse("/a/../b", 7, &p) == -1, "..");
	ok(portal_path_parse("/a/%2e%2e/b", 11, &p) == -1, "escaped ..");
	ok(portal_path_parse("/a/./b", 6, &p) == -1, ".");
	ok(portal_path_parse("/a%2fb", 6, &p) == -1, "an escaped /");
	ok(portal_path_parse("/a%00", 5, &p) == -1, "an escaped NUL");
	ok(portal_path_parse("/%zz", 4, &p) == -1, "a bad escape");
	/* Issue 12, item 5: what MHD decoded is never decoded again. */
	ok(portal_path_parse("/%6detrics", 10, &p) == -1,
	    "/%%256detrics, decoded once by MHD: refused, not /metrics");
	ok(portal_path_parse("/api/v1/runs/%31", 16, &p) == -1,
	    "/api/v1/runs/%%2531, decoded once: refused, not run 1");
	ok(portal_path_parse("/runs/1\r", 8, &p) == -1, "a control character");
	ok(portal_path_parse("/1/2/3/4/5/6/7/8", 16, &p) == 0 && p.n == 8,
	    "eight segments");
	portal_path_free(&p);
	ok(portal_path_parse("/1/2/3/4/5/6/7/8/9", 18, &p) == -1,
	    "nine: too many");
	ok(p.n == 0, "nothing kept on failure");
}

static void
test_local_path(void)
{
	static const struct {
		const char *s;
		int	    want;
	} cases[] = {
		{ "/runs/42", 1 },
		{ "/runs?x=1#y", 1 },
		{ "/a", 1 },
		{ "/", 0 },
		{ "", 0 },
		{ "runs", 0 },
		{ "//evil.example", 0 },
		{ "/\\evil.example", 0 },
		{ "https://evil.example/", 0 },
		{ "/\t/evil.example", 0 },
		{ "/x\r\nSet-Cookie: a=b", 0 },
		{ "/x\x01", 0 },
		{ "/x\x7f", 0 },
		{ "/\n/evil.example", 0 },
	};
	char   big[PORTAL_LOCAL_PATH_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(portal_local_path(cases[i].s), cases[i].want,
		    "next %zu: %s", i, cases[i].want ? "allowed" : "refused");
	is_int(portal_local_path(NULL), 0, "next: NULL refused");
	memset(big, 'a', sizeof big - 1);
	big[0] = '/';
	big[sizeof big - 1] = '\0';
	is_int(portal_local_path(big), 0, "next: too long refused");
}

static void
test_id(void)
{
	int64_t id = 0;

	ok(portal_parse_id("42", &id) == 0 && id == 42, "42");
	ok(portal_parse_id("999999999999999999", &id) == 0, "18 digits");
	ok(portal_parse_id("9999999999999999999", &id) == -1,
	    "19 digits: refused (no overflow)");
	ok(portal_parse_id("0", &id) == -1, "0");
	ok(portal_parse_id("042", &id) == -1, "a leading zero");
	ok(portal_parse_id("-1", &id) == -1, "a sign");
	ok(portal_parse_id("+1", &id) == -1, "a plus");
	ok(portal_parse_id("1x", &id) == -1, "trailing text");
	ok(portal_parse_id("", &id) == -1, "empty");
	ok(portal_parse_id(NULL, &id) == -1, "NULL");
}

static void
test_origin(void)
{
	char *o;

	o = portal_origin_of("HTTPS://Deploy.Example.com:443/runs?x=1");
	is_str(o, "https://deploy.example.com",
	    "scheme, host lower-cased, "
	    "default port dropped");
	free(o);
	o = portal_origin_of("http://127.0.0.1:8080");
	is_str(o, "http://127.0.0.1:8080", "a port kept");
	free(o);
	o = portal_origin_of("http://[::1]:8080/x");
	is_str(o, "http://[::1]:8080", "IPv6");
	free(o);
	ok(portal_origin_of("ftp://x") == NULL, "not http(s)");
	ok(portal_origin_of("null") == NULL, "the null origin");
	ok(portal_origin_of("http://user@evil/") == NULL, "userinfo");
	ok(portal_origin_of("http://x:80a/") == NULL, "a bad port");
	ok(portal_origin_of("http:///") == NULL, "no host");
	ok(portal_origin_of("httPs://:443/") == NULL, "only a port");
	ok(portal_origin_of("http://[]:80") == NULL, "empty brackets");
	ok(portal_origin_equal("http://a:80", "http://a/"), "same origin");
	ok(!portal_origin_equal("http://a", "https://a"), "scheme differs");
	ok(!portal_origin_equal("http://a.example", "http://a.example.evil"),
	    "host differs");
	ok(!portal_origin_equal(NULL, "http://a"), "NULL");
}

static void
test_misc(void)
{
	char t[32];

	portal_iso_time(1795945265123LL, t, sizeof t);
	is_str(t, "2026-11-29T09:41:05Z", "ISO 8601 UTC");
	ok(portal_secure_equal("abc", "abc"), "equal");
	ok(!portal_secure_equal("abc", "abd"), "differs");
	ok(!portal_secure_equal("abc", "abcd"), "length differs");
}

int
main(void)
{
	test_decode();
	test_form();
	test_cookie();
	test_path();
	test_local_path();
	test_id();
	test_origin();
	test_misc();
	return (tap_done());
}
