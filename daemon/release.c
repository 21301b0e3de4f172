/*
 * Release validation: the release zip read from memory with libzip under
 * limits that never trust the sizes its headers claim, and release.json
 * checked field by field.  Each rejection is one reason naming the file,
 * the field and the rule; see release.h.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>
#include <zip.h>

#include "buf.h"
#include "json.h"
#include "release.h"
#include "xmalloc.h"

#define MANIFEST_NAME "release.json"

#define VERSION_MAX	    128
#define AUTHOR_MAX	    128
#define MESSAGE_MAX	    4096
#define IMAGES_MAX	    64
#define REPOSITORY_MAX	    255
#define TAG_MAX		    128
#define PARAMETERS_MAX	    200 /* CloudFormation's per template */
#define PARAMETER_NAME_MAX  255
#define PARAMETER_VALUE_MAX 4096
#define OVERRIDES_MAX	    32
#define CHECKS_MAX	    64
#define NAME_MAX_LEN	    64 /* environments and checks, as config */

#define TEMPLATE_DEPTH 128 /* JSON templates' nesting */

#define QUOTE_MAX  80 /* bytes of a value shown in a reason */
#define READ_CHUNK (64 * 1024)

#define KIB 1024ULL
#define MIB (1024ULL * 1024ULL)

/* One entry of the zip, as its headers describe it. */
struct entry {
	zip_uint64_t index;
	const char  *name;	/* libzip's, raw bytes */
	uint64_t     size;	/* claimed, unpacked */
	uint64_t     comp_size; /* claimed, packed */
	int	     is_dir;
};

/* Records the first failure only; returns its code. */
static int __attribute__((format(printf, 3, 4)))
fail(struct release_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->reason != NULL)
		return (code);
	va_start(ap, fmt);
	err->reason = xvasprintf(fmt, ap);
	va_end(ap);
	err->code = code;
	return (code);
}

void
release_error_clear(struct release_error *err)
{
	if (err == NULL)
		return;
	free(err->reason);
	err->reason = NULL;
	err->code = 0;
}

const char *
release_code_name(int code)
{
	switch (code) {
	case 0:
		return ("ok");
	case RELEASE_ENOTZIP:
		return ("not-a-zip");
	case RELEASE_ELIMIT:
		return ("limit");
	case RELEASE_ENAME:
		return ("name");
	case RELEASE_EENTRY:
		return ("entry");
	case RELEASE_ENOMANIFEST:
		return ("no-manifest");
	case RELEASE_EMANIFEST:
		return ("manifest");
	case RELEASE_EAPP:
		return ("app");
	case RELEASE_ETEMPLATE:
		return ("template");
	}
	return ("unknown");
}

void
release_limits_default(struct release_limits *l)
{
	memset(l, 0, sizeof *l);
	l->zip_size = 50 * MIB;
	l->entries = 200;
	l->entry_size = 100 * MIB;
	l->unpacked_size = 200 * MIB;
	l->ratio = 100;
	l->ratio_min_size = 64 * KIB;
	l->name_len = 255;
	l->manifest_size = 64 * KIB;
	l->manifest_depth = 8;
}

void
release_limits_from_app(struct release_limits *l, const struct config_app *a)
{
	release_limits_default(l);
	if (a == NULL)
		return;
	if (a->limit_zip_size > 0)
		l->zip_size = a->limit_zip_size;
	if (a->limit_entries > 0)
		l->entries = a->limit_entries;
	if (a->limit_entry_size > 0)
		l->entry_size = a->limit_entry_size;
	if (a->limit_unpacked_size > 0)
		l->unpacked_size = a->limit_unpacked_size;
	if (a->limit_ratio > 0)
		l->ratio = (uint64_t)a->limit_ratio;
}

/* --- text ------------------------------------------------------------- */

/*
 * Length of the UTF-8 character at s[0..len), 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not);
 * its code point in *cp.
 */
static size_t
utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	size_t	 n, i;

	if (len == 0)
		return (0);
	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (n);
}

static int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t	     cp;
	size_t		     n;

	while (len > 0) {
		if ((n = utf8_char(p, len, &cp)) == 0)
			return (0);
		p += n;
		len -= n;
	}
	return (1);
}

/* C0 and C1 controls and DEL. */
static int
is_control(uint32_t cp)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f));
}

/*
 * A value for a reason: in double quotes, control characters, quotes,
 * backslashes and bytes that are not UTF-8 escaped, cut after QUOTE_MAX
 * bytes with "...".  Caller frees.
 */
static char *
quote(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf	     b;
	uint32_t	     cp;
	size_t		     n, shown = 0;
	char		     esc[8];

	buf_init(&b, SIZE_MAX);
	buf_append(&b, "\"", 1);
	while (len > 0) {
		if (shown >= QUOTE_MAX) {
			buf_appends(&b, "...");
			break;
		}
		n = utf8_char(p, len, &cp);
		if (n == 0 || is_control(cp) || cp == '"' || cp == '\\') {
			if (n == 0 || cp < 0x80) {
				snprintf(esc, sizeof esc, "\\x%02x", *p);
				n = 1;
			} else
				snprintf(esc, sizeof esc, "\\u%04x",
				    (unsigned int)cp);
			if (n == 1 && (*p == '"' || *p == '\\'))
				snprintf(esc, sizeof esc, "\\%c", *p);
			buf_appends(&b, esc);
		} else
			buf_append(&b, p, n);
		p += n;
		len -= n;
		shown += n;
	}
	buf_append(&b, "\"", 1);
	return (buf_take(&b, NULL));
}

static char *
quote_str(const char *s)
{
	return (quote(s, strlen(s)));
}

/* "50MiB", "64KiB" or "1234 bytes", into b. */
static const char *
size_str(char *b, size_t len, uint64_t v)
{
	if (v > 0 && v % MIB == 0)
		snprintf(b, len, "%lluMiB", (unsigned long long)(v / MIB));
	else if (v > 0 && v % KIB == 0)
		snprintf(b, len, "%lluKiB", (unsigned long long)(v / KIB));
	else
		snprintf(b, len, "%llu bytes", (unsigned long long)v);
	return (b);
}

static int
all_in(const char *s, size_t len, const char *extra)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (s[i] == '\0' || strchr(extra, s[i]) == NULL)
			return (0);
	}
	return (1);
}

static int
is_alnum(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9'));
}

/* --- names -------------------------------------------------------------- */

/*
 * The rule an entry name (or the template's name in release.json)
 * breaks, or NULL.  Length is checked by the caller.
 */
static const char *
name_problem(const char *name, size_t len)
{
	const char *p, *end, *slash;
	size_t	    i, clen;

	if (len == 0)
		return ("name is empty");
	if (memchr(name, '\0', len) != NULL)
		return ("name contains a NUL byte");
	if (!utf8_valid(name, len))
		return ("name is not valid UTF-8");
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return ("name contains a control character");
	if (memchr(name, '\\', len) != NULL)
		return ("name must not contain a backslash");
	if (name[0] == '/')
		return ("name must be relative, without a leading \"/\"");
	p = name;
	end = name + len;
	while (p < end) {
		slash = memchr(p, '/', (size_t)(end - p));
		clen = (size_t)((slash != NULL ? slash : end) - p);
		if (clen == 2 && p[0] == '.' && p[1] == '.')
			return ("name must be relative, without \"..\"");
		/* A directory's name ends in '/': its last part is empty. */
		if ((clen == 0 && slash != NULL) || (clen == 1 && p[0] == '.'))
			return ("name must not have empty or \".\" parts");
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return (NULL);
}

static uint16_t
le16(const unsigned char *p)
{
	return ((uint16_t)(p[0] | (p[1] << 8)));
}

static uint32_t
le32(const unsigned char *p)
{
	return ((uint32_t)p[0] | ((uint32_t)p[1] << 8) |
		((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

static uint64_t
le64(const unsigned char *p)
{
	return ((uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32));
}

struct raw_name {
	const unsigned char *p;
	size_t		     len;
};

static int
raw_name_cmp(const void *a, const void *b)
{
	const struct raw_name *x = a, *y = b;
	int		       c;

	c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
	if (c != 0)
		return (c);
	return (x->len < y->len ? -1 : x->len > y->len);
}

/*
 * libzip hands names out as C strings, so a NUL inside one would hide what
 * follows it, and it refuses a second entry of the same name without
 * saying which.  This walks the central directory itself, for those two
 * only: a name with a NUL (in the header or in an Info-ZIP Unicode Path
 * field, which libzip prefers) or a name given twice.  The structure is
 * libzip's to judge: anything this walk cannot follow just ends it, as
 * does a directory of more than max entries.
 */
static int
scan_names(const unsigned char *d, size_t len, uint64_t max,
    struct release_error *err)
{
	const unsigned char *e, *name, *x;
	struct raw_name	    *names = NULL;
	uint64_t	     count, cd_off, cd_size, z_off, i;
	size_t		     pos, at, end, stop, nlen, xlen, clen, f, flen;
	size_t		     n = 0;
	char		    *q = NULL;
	int		     rc = 0;

	if (len < 22)
		return (0);
	stop = len > 22 + 65535 ? len - 22 - 65535 : 0;
	for (pos = len - 22;; pos--) {
		if (le32(d + pos) == 0x06054b50)
			break;
		if (pos == stop)
			return (0);
	}
	e = d + pos;
	count = le16(e + 10);
	cd_size = le32(e + 12);
	cd_off = le32(e + 16);
	if ((count == 0xffff || cd_size == 0xffffffff ||
		cd_off == 0xffffffff) &&
	    pos >= 20 && le32(d + pos - 20) == 0x07064b50) {
		z_off = le64(d + pos - 20 + 8);
		if (z_off > len || len - z_off < 56 ||
		    le32(d + z_off) != 0x06064b50)
			return (0);
		count = le64(d + z_off + 32);
		cd_size = le64(d + z_off + 40);
		cd_off = le64(d + z_off + 48);
	}
	if (count > max || cd_off > len || cd_size > len - cd_off)
		return (0);
	names = xcalloc((size_t)count + 1, sizeof *names);
	at = (size_t)cd_off;
	end = (size_t)(cd_off + cd_size);
	for (i = 0; i < count; i++) {
		if (end - at < 46 || le32(d + at) != 0x02014b50)
			break;
		nlen = le16(d + at + 28);
		xlen = le16(d + at + 30);
		clen = le16(d + at + 32);
		if (end - at - 46 < nlen + xlen + clen)
			break;
		name = d + at + 46;
		if (memchr(name, '\0', nlen) != NULL) {
			q = quote((const char *)name,
			    strlen((const char *)name));
			goto nul;
		}
		names[n].p = name;
		names[n].len = nlen;
		n++;
		/* Extra fields: id, size, data. */
		x = name + nlen;
		for (f = 0; f + 4 <= xlen; f += 4 + flen) {
			flen = le16(x + f + 2);
			if (flen > xlen - f - 4)
				break;
			if (le16(x + f) == 0x7075 && flen > 5 &&
			    memchr(x + f + 9, '\0', flen - 5) != NULL) {
				q = quote((const char *)x + f + 9,
				    strlen((const char *)x + f + 9));
				goto nul;
			}
		}
		at += 46 + nlen + xlen + clen;
	}
	qsort(names, n, sizeof *names, raw_name_cmp);
	for (i = 1; i < n; i++) {
		if (raw_name_cmp(&names[i - 1], &names[i]) == 0) {
			q = quote((const char *)names[i].p, names[i].len);
			rc = fail(err, RELEASE_ENAME,
			    "zip: entry %s: appears "
			    "twice",
			    q);
			goto out;
		}
	}
	goto out;
nul:
	rc = fail(err, RELEASE_ENAME,
	    "zip: entry %s: name contains a NUL "
	    "byte",
	    q);
out:
	free(q);
	free(names);
	return (rc);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	return (strcmp(x->name, y->name));
}

/* --- manifest ----------------------------------------------------------- */

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return ("an object");
	case JSON_ARRAY:
		return ("an array");
	case JSON_STRING:
		return ("a string");
	case JSON_INTEGER:
		return ("an integer");
	case JSON_REAL:
		return ("a number");
	case JSON_TRUE:
	case JSON_FALSE:
		return ("a boolean");
	case JSON_NULL:
		return ("null");
	}
	return ("something else");
}

/* Refuses keys of obj not in the NULL-terminated list; path names obj. */
static int
known_keys(json_t *obj, const char *path, const char *const *keys,
    const char *list, struct release_error *err)
{
	const char *key;
	json_t	   *v;
	char	   *q;
	size_t	    i;
	int	    rc;

	json_object_foreach(obj, key, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (keys[i] != NULL)
			continue;
		q = quote_str(key);
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: %s%sunknown "
		    "key %s (%s)",
		    path, *path != '\0' ? ": " : "", q, list);
		free(q);
		return (rc);
	}
	return (0);
}

/*
 * The string at obj.key: 0 and *s, or a failure naming path (the
 * field's).  Optional fields give 1 when absent.
 */
static int
get_string(json_t *obj, const char *key, const char *path, int optional,
    const char **s, struct release_error *err)
{
	json_t *v;

	*s = NULL;
	if ((v = json_object_get(obj, key)) == NULL) {
		if (optional)
			return (1);
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: "
		    "missing",
		    path));
	}
	if (!json_is_string(v))
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: "
		    "expected a string, got %s",
		    path, type_name(v)));
	*s = json_string_value(v);
	return (0);
}

static int
check_token(const char *s, const char *path, size_t max, const char *extra,
    const char *what, struct release_error *err)
{
	char  *q;
	int    rc;
	size_t len = strlen(s);

	if (len > 0 && len <= max && all_in(s, len, extra))
		return (0);
	q = quote_str(s);
	rc = fail(err, RELEASE_EMANIFEST,
	    "release.json: %s: %s must be 1 "
	    "to %zu %s",
	    path, q, max, what);
	free(q);
	return (rc);
}

static int
check_message(const char *s, struct release_error *err)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     len = strlen(s), n, at = 0;
	uint32_t	     cp;

	if (len > MESSAGE_MAX)
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: message: "
		    "%zu bytes, more than the %d allowed",
		    len, MESSAGE_MAX));
	while (at < len) {
		if ((n = utf8_char(p + at, len - at, &cp)) == 0)
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "message: not valid UTF-8 at byte %zu",
			    at));
		if (is_control(cp) && cp != '\n' && cp != '\t')
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "message: control character U+%04X at byte %zu "
			    "(only newline and tab are allowed)",
			    (unsigned int)cp, at));
		at += n;
	}
	return (0);
}

/*
 * OCI distribution's repository name: path components of lower-case
 * letters and digits, separated inside by '.', '_', "__" or any run of
 * '-', joined by '/'.
 */
static int
is_repository(const char *s)
{
	size_t len = strlen(s), i = 0;

	if (len == 0 || len > REPOSITORY_MAX)
		return (0);
	for (;;) {
		/* A component: alnum+ (separator alnum+)* */
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9')))
			return (0);
		while ((s[i] >= 'a' && s[i] <= 'z') ||
		       (s[i] >= '0' && s[i] <= '9'))
			i++;
		if (s[i] == '\0')
			return (1);
		if (s[i] == '/') {
			i++;
			continue;
		}
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += s[i + 1] == '_' ? 2 : 1;
		else if (s[i] == '-') {
			while (s[i] == '-')
				i++;
		} else
			return (0);
	}
}

/* OCI tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} */
static int
is_tag(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > TAG_MAX || !(is_alnum(s[0]) || s[0] == '_'))
		return (0);
	return (all_in(s, len, "._-"));
}

static int
is_digest(const char *s)
{
	size_t i;

	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return (0);
	for (i = 7; i < 7 + 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

/* Environment and check names, as the config has them. */
static int
is_config_name(const char *s)
{
	size_t len = strlen(s);

	return (len > 0 && len <= NAME_MAX_LEN && is_alnum(s[0]) &&
		all_in(s, len, "-_."));
}

static int
check_image(json_t *img, size_t i, struct release_image *out,
    struct release_error *err)
{
	static const char *const keys[] = { "repository", "tag", "digest",
		"parameter", NULL };
	const char		*repo, *tag, *digest, *param;
	char			 path[64], fpath[80], *q;
	int			 rc;

	snprintf(path, sizeof path, "images[%zu]", i);
	if (!json_is_object(img))
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: "
		    "expected an object, got %s",
		    path, type_name(img)));
	if ((rc = known_keys(img, path, keys,
		 "repository, tag, digest, "
		 "parameter",
		 err)) != 0)
		return (rc);
	snprintf(fpath, sizeof fpath, "%s.repository", path);
	if ((rc = get_string(img, "repository", fpath, 0, &repo, err)) != 0)
		return (rc);
	if (!is_repository(repo)) {
		q = quote_str(repo);
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: %s is "
		    "not a repository name (lower-case letters and digits "
		    "separated by '.', '_', '__', '-' or '/', at most %d)",
		    fpath, q, REPOSITORY_MAX);
		free(q);
		return (rc);
	}
	snprintf(fpath, sizeof fpath, "%s.tag", path);
	if ((rc = get_string(img, "tag", fpath, 1, &tag, err)) < 0)
		return (rc);
	snprintf(fpath, sizeof fpath, "%s.digest", path);
	if ((rc = get_string(img, "digest", fpath, 1, &digest, err)) < 0)
		return (rc);
	if (tag == NULL && digest == NULL)
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: needs "
		    "a tag or a digest",
		    path));
	if (tag != NULL && digest != NULL)
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: give "
		    "a tag or a digest, not both",
		    path));
	if (tag != NULL && !is_tag(tag)) {
		q = quote_str(tag);
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: %s.tag: %s "
		    "is not a tag (a letter, digit or '_', then up to 127 "
		    "letters, digits, '.', '_' or '-')",
		    path, q);
		free(q);
		return (rc);
	}
	if (digest != NULL && !is_digest(digest)) {
		q = quote_str(digest);
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: %s.digest: "
		    "%s is not a sha256 digest (sha256: and 64 hex digits)",
		    path, q);
		free(q);
		return (rc);
	}
	snprintf(fpath, sizeof fpath, "%s.parameter", path);
	if ((rc = get_string(img, "parameter", fpath, 1, &param, err)) < 0)
		return (rc);
	if (param != NULL &&
	    (*param == '\0' || strlen(param) > PARAMETER_NAME_MAX ||
		!all_in(param, strlen(param), ""))) {
		q = quote_str(param);
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: %s is "
		    "not a parameter name (1 to %d letters and digits)",
		    fpath, q, PARAMETER_NAME_MAX);
		free(q);
		return (rc);
	}
	out->repository = xstrdup(repo);
	out->tag = tag != NULL ? xstrdup(tag) : NULL;
	out->digest = digest != NULL ? xstrdup(digest) : NULL;
	out->parameter = param != NULL ? xstrdup(param) : NULL;
	return (0);
}

/*
 * An image's parameter receives the pinned image and nothing else: no
 * other image, `parameters` or an override sets it too.
 */
static int
check_image_parameters(const struct release *rel, struct release_error *err)
{
	const char *p;
	size_t	    i, j, k;

	for (i = 0; i < rel->nimages; i++) {
		if ((p = rel->images[i].parameter) == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (rel->images[j].parameter != NULL &&
			    strcmp(rel->images[j].parameter, p) == 0)
				return (fail(err, RELEASE_EMANIFEST,
				    "release.json: images[%zu].parameter: "
				    "%s is images[%zu]'s parameter already",
				    i, p, j));
		for (j = 0; j < rel->parameters.n; j++)
			if (strcmp(rel->parameters.items[j].key, p) == 0)
				return (fail(err, RELEASE_EMANIFEST,
				    "release.json: images[%zu].parameter: "
				    "%s is set in parameters too; it receives "
				    "the image's pinned digest",
				    i, p));
		for (j = 0; j < rel->noverrides; j++)
			for (k = 0; k < rel->overrides[j].parameters.n; k++)
				if (strcmp(rel->overrides[j]
					       .parameters.items[k]
					       .key,
					p) == 0)
					return (fail(err, RELEASE_EMANIFEST,
					    "release.json: images[%zu]."
					    "parameter: %s is set in "
					    "overrides.%s too; it receives the "
					    "image's pinned digest",
					    i, p, rel->overrides[j].env));
	}
	return (0);
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct config_kv *x = a, *y = b;

	return (strcmp(x->key, y->key));
}

/* A `parameters` object at path into out, sorted. */
static int
check_parameters(json_t *obj, const char *path, struct config_kvs *out,
    struct release_error *err)
{
	const char *key, *s;
	json_t	   *v;
	char	   *q;
	size_t	    klen, slen;
	int	    rc;

	if (!json_is_object(obj))
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: "
		    "expected an object, got %s",
		    path, type_name(obj)));
	if (json_object_size(obj) > PARAMETERS_MAX)
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: %s: %zu "
		    "parameters, more than the %d allowed",
		    path, json_object_size(obj), PARAMETERS_MAX));
	out->items = xcalloc(json_object_size(obj) + 1, sizeof *out->items);
	out->n = 0;
	json_object_foreach(obj, key, v) {
		klen = strlen(key);
		if (klen == 0 || klen > PARAMETER_NAME_MAX ||
		    !all_in(key, klen, "")) {
			q = quote_str(key);
			rc = fail(err, RELEASE_EMANIFEST,
			    "release.json: %s: "
			    "key %s is not a parameter name (1 to %d letters "
			    "and digits)",
			    path, q, PARAMETER_NAME_MAX);
			free(q);
			return (rc);
		}
		if (!json_is_string(v))
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "%s.%s: expected a string, got %s",
			    path, key, type_name(v)));
		s = json_string_value(v);
		if ((slen = strlen(s)) > PARAMETER_VALUE_MAX)
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "%s.%s: %zu bytes, more than the %d allowed",
			    path, key, slen, PARAMETER_VALUE_MAX));
		out->items[out->n].key = xstrdup(key);
		out->items[out->n].value = xstrdup(s);
		out->n++;
	}
	qsort(out->items, out->n, sizeof *out->items, kv_cmp);
	return (0);
}

static int
override_cmp(const void *a, const void *b)
{
	const struct release_override *x = a, *y = b;

	return (strcmp(x->env, y->env));
}

static int
check_overrides(json_t *obj, struct release *rel, struct release_error *err)
{
	static const char *const keys[] = { "parameters", NULL };
	const char		*env;
	json_t			*v, *p;
	char			*q, *path;
	int			 rc;

	if (!json_is_object(obj))
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: overrides: "
		    "expected an object, got %s",
		    type_name(obj)));
	if (json_object_size(obj) > OVERRIDES_MAX)
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: overrides: "
		    "%zu environments, more than the %d allowed",
		    json_object_size(obj), OVERRIDES_MAX));
	rel->overrides = xcalloc(json_object_size(obj) + 1,
	    sizeof *rel->overrides);
	json_object_foreach(obj, env, v) {
		if (!is_config_name(env)) {
			q = quote_str(env);
			rc = fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "overrides: %s is not an environment name "
			    "(letters, digits, '-', '_' or '.', starting with "
			    "a letter or digit, at most %d)",
			    q, NAME_MAX_LEN);
			free(q);
			return (rc);
		}
		path = xasprintf("overrides.%s", env);
		rc = 0;
		if (!json_is_object(v))
			rc = fail(err, RELEASE_EMANIFEST,
			    "release.json: %s: "
			    "expected an object, got %s",
			    path, type_name(v));
		if (rc == 0)
			rc = known_keys(v, path, keys, "parameters", err);
		if (rc == 0 && (p = json_object_get(v, "parameters")) == NULL)
			rc = fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "%s.parameters: missing",
			    path);
		if (rc == 0) {
			rel->overrides[rel->noverrides].env = xstrdup(env);
			rel->noverrides++;
			free(path);
			path = xasprintf("overrides.%s.parameters", env);
			rc = check_parameters(p, path,
			    &rel->overrides[rel->noverrides - 1].parameters,
			    err);
		}
		free(path);
		if (rc != 0)
			return (rc);
	}
	qsort(rel->overrides, rel->noverrides, sizeof *rel->overrides,
	    override_cmp);
	return (0);
}

static int
check_checks(json_t *arr, struct release *rel, struct release_error *err)
{
	json_t *v;
	size_t	i, j;
	char   *q;
	int	rc;

	if (!json_is_array(arr))
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: checks: "
		    "expected an array, got %s",
		    type_name(arr)));
	if (json_array_size(arr) > CHECKS_MAX)
		return (fail(err, RELEASE_EMANIFEST,
		    "release.json: checks: "
		    "%zu checks, more than the %d allowed",
		    json_array_size(arr), CHECKS_MAX));
	rel->checks.items = xcalloc(json_array_size(arr) + 1,
	    sizeof *rel->checks.items);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "checks[%zu]: expected a string, got %s",
			    i, type_name(v)));
		if (!is_config_name(json_string_value(v))) {
			q = quote_str(json_string_value(v));
			rc = fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "checks[%zu]: %s is not a check name (letters, "
			    "digits, '-', '_' or '.', starting with a letter "
			    "or digit, at most %d)",
			    i, q, NAME_MAX_LEN);
			free(q);
			return (rc);
		}
		for (j = 0; j < rel->checks.n; j++)
			if (strcmp(rel->checks.items[j],
				json_string_value(v)) == 0)
				return (fail(err, RELEASE_EMANIFEST,
				    "release.json: checks[%zu]: \"%s\" is "
				    "named twice",
				    i, json_string_value(v)));
		rel->checks.items[rel->checks.n++] = xstrdup(
		    json_string_value(v));
	}
	return (0);
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t len = strlen(s), slen = strlen(suffix);

	return (len > slen && strcmp(s + len - slen, suffix) == 0);
}

static int
check_template_name(const char *name, const struct release_limits *l,
    struct release_error *err)
{
	const char *why;
	char	   *q;
	int	    rc = 0;
	size_t	    len = strlen(name);

	q = quote_str(name);
	if (len > l->name_len)
		rc = fail(err, RELEASE_ETEMPLATE,
		    "release.json: template: %s "
		    "is %zu bytes long, more than the %zu allowed",
		    q, len, l->name_len);
	else if ((why = name_problem(name, len)) != NULL)
		rc = fail(err, RELEASE_ETEMPLATE,
		    "release.json: template: "
		    "%s: %s",
		    q, why);
	else if (!has_suffix(name, ".yaml") && !has_suffix(name, ".yml") &&
		 !has_suffix(name, ".json"))
		rc = fail(err, RELEASE_ETEMPLATE,
		    "release.json: template: %s "
		    "must end in .yaml, .yml or .json",
		    q);
	free(q);
	return (rc);
}

/*
 * jansson's message without the text it quotes ("near '\"hunt'"): the
 * text may be part of a value, and a NoEcho parameter's value is a
 * secret that the reason (stored, mailed, shown) must not carry; the
 * line and column say where.  A duplicate key's quote names a key and
 * stays.
 */
static void
json_error_unquoted(const json_error_t *jerr, char *out, size_t size)
{
	char *near;

	snprintf(out, size, "%s", jerr->text);
	if (strncmp(out, "duplicate object key", 20) != 0 &&
	    (near = strstr(out, " near '")) != NULL)
		*near = '\0';
}

/* Fills rel from the manifest's text. */
static int
parse_manifest(struct release *rel, const char *text, size_t len,
    const char *app, const struct release_limits *l, struct release_error *err)
{
	static const char *const keys[] = { "app", "version", "message",
		"author", "template", "images", "parameters", "overrides",
		"checks", NULL };
	json_error_t		 jerr;
	json_t			*root = NULL, *v;
	const char		*s;
	char  *q, b1[32], b2[32], what[JSON_ERROR_TEXT_LENGTH];
	size_t i;
	int    rc;

	if (len > l->manifest_size) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: %s, more "
		    "than the %s allowed",
		    size_str(b1, sizeof b1, len),
		    size_str(b2, sizeof b2, l->manifest_size));
		goto out;
	}
	if (!json_nesting_within(text, len, l->manifest_depth)) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: nested "
		    "deeper than %u levels",
		    l->manifest_depth);
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		json_error_unquoted(&jerr, what, sizeof what);
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: not JSON: "
		    "line %d column %d: %s",
		    jerr.line, jerr.column, what);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: expected an "
		    "object at the top, got %s",
		    type_name(root));
		goto out;
	}

	/* The app first: a zip in the wrong bucket says so before all. */
	if ((rc = get_string(root, "app", "app", 0, &s, err)) != 0)
		goto out;
	if (app == NULL || strcmp(s, app) != 0) {
		q = quote_str(s);
		rc = fail(err, RELEASE_EAPP,
		    "release.json: app: %s is not "
		    "this app (\"%s\")",
		    q, app != NULL ? app : "");
		free(q);
		goto out;
	}
	rel->app = xstrdup(s);
	if ((rc = known_keys(root, "", keys,
		 "app, version, message, author, "
		 "template, images, parameters, overrides, checks",
		 err)) != 0)
		goto out;

	if ((rc = get_string(root, "version", "version", 0, &s, err)) != 0 ||
	    (rc = check_token(s, "version", VERSION_MAX, "._-+",
		 "letters, digits, '.', '_', '-' or '+'", err)) != 0)
		goto out;
	rel->version = xstrdup(s);

	if ((rc = get_string(root, "message", "message", 0, &s, err)) != 0 ||
	    (rc = check_message(s, err)) != 0)
		goto out;
	rel->message = xstrdup(s);

	if ((rc = get_string(root, "author", "author", 0, &s, err)) != 0 ||
	    (rc = check_token(s, "author", AUTHOR_MAX, "._@+-",
		 "letters, digits, '.', '_', '@', '+' or '-'", err)) != 0)
		goto out;
	rel->author = xstrdup(s);

	if ((rc = get_string(root, "template", "template", 0, &s, err)) != 0 ||
	    (rc = check_template_name(s, l, err)) != 0)
		goto out;
	rel->template_name = xstrdup(s);

	if ((v = json_object_get(root, "images")) == NULL) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: images: "
		    "missing");
		goto out;
	}
	if (!json_is_array(v)) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: images: "
		    "expected an array, got %s",
		    type_name(v));
		goto out;
	}
	if (json_array_size(v) == 0) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: images: "
		    "empty; a release names at least one image");
		goto out;
	}
	if (json_array_size(v) > IMAGES_MAX) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: images: %zu "
		    "images, more than the %d allowed",
		    json_array_size(v), IMAGES_MAX);
		goto out;
	}
	rel->images = xcalloc(json_array_size(v), sizeof *rel->images);
	for (i = 0; i < json_array_size(v); i++) {
		if ((rc = check_image(json_array_get(v, i), i, &rel->images[i],
			 err)) != 0)
			goto out;
		rel->nimages++;
	}

	if ((v = json_object_get(root, "parameters")) == NULL) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: parameters: "
		    "missing");
		goto out;
	}
	if ((rc = check_parameters(v, "parameters", &rel->parameters, err)) !=
	    0)
		goto out;
	if ((v = json_object_get(root, "overrides")) != NULL &&
	    (rc = check_overrides(v, rel, err)) != 0)
		goto out;
	if ((v = json_object_get(root, "checks")) != NULL &&
	    (rc = check_checks(v, rel, err)) != 0)
		goto out;

	if ((rc = check_image_parameters(rel, err)) != 0)
		goto out;

	rel->manifest = xmalloc(len + 1);
	memcpy(rel->manifest, text, len);
	rel->manifest[len] = '\0';
	rel->manifest_len = len;
	rc = 0;
out:
	json_decref(root);
	return (rc);
}

/* --- the release -------------------------------------------------------- */

static void
kvs_free(struct config_kvs *kvs)
{
	size_t i;

	/* A value may be a NoEcho parameter's: wiped. */
	for (i = 0; i < kvs->n; i++) {
		free(kvs->items[i].key);
		freezero_str(kvs->items[i].value);
	}
	free(kvs->items);
	kvs->items = NULL;
	kvs->n = 0;
}

void
release_kvs_free(struct config_kvs *kvs)
{
	if (kvs != NULL)
		kvs_free(kvs);
}

void
release_free(struct release *rel)
{
	size_t i;

	if (rel == NULL)
		return;
	free(rel->app);
	free(rel->version);
	free(rel->message);
	free(rel->author);
	for (i = 0; i < rel->nimages; i++) {
		free(rel->images[i].repository);
		free(rel->images[i].tag);
		free(rel->images[i].digest);
		free(rel->images[i].parameter);
	}
	free(rel->images);
	kvs_free(&rel->parameters);
	/* Overrides may be half-filled when parsing stopped. */
	for (i = 0; i < rel->noverrides; i++) {
		free(rel->overrides[i].env);
		kvs_free(&rel->overrides[i].parameters);
	}
	free(rel->overrides);
	for (i = 0; i < rel->checks.n; i++)
		free(rel->checks.items[i]);
	free(rel->checks.items);
	free(rel->template_name);
	free(rel->template);
	freezero_str(rel->manifest); /* may hold NoEcho values */
	free(rel);
}

static int
release_is_no_echo(const struct config_strings *no_echo, const char *name)
{
	size_t i;

	for (i = 0; no_echo != NULL && i < no_echo->n; i++)
		if (strcmp(no_echo->items[i], name) == 0)
			return (1);
	return (0);
}

/* Masks the NoEcho values of one parameters object; how many. */
static size_t
release_mask_object(json_t *params, const struct config_strings *no_echo)
{
	const char *key;
	json_t	   *v;
	size_t	    n = 0;

	json_object_foreach(params, key, v) {
		if (!json_is_string(v) || !release_is_no_echo(no_echo, key))
			continue;
		json_object_set_new(params, key, json_string(RELEASE_MASK));
		n++;
	}
	return (n);
}

size_t
release_mask_manifest(const struct release *rel,
    const struct config_strings *no_echo, char **out)
{
	json_t	   *root, *o;
	const char *key;
	size_t	    n = 0;

	*out = NULL;
	if (no_echo != NULL && no_echo->n > 0 && rel->manifest != NULL &&
	    (root = json_loadb(rel->manifest, rel->manifest_len, 0, NULL)) !=
		NULL) {
		n = release_mask_object(json_object_get(root, "parameters"),
		    no_echo);
		json_object_foreach(json_object_get(root, "overrides"), key, o)
			n += release_mask_object(json_object_get(o,
						     "parameters"),
			    no_echo);
		if (n > 0)
			*out = json_dumps(root, JSON_COMPACT);
		json_decref(root);
	}
	if (*out == NULL) {
		n = 0;
		*out = xstrdup(rel->manifest != NULL ? rel->manifest : "");
	}
	return (n);
}

static int
release_kvs_masked(const struct config_kvs *kvs)
{
	size_t i;

	for (i = 0; i < kvs->n; i++)
		if (kvs->items[i].value != NULL &&
		    strcmp(kvs->items[i].value, RELEASE_MASK) == 0)
			return (1);
	return (0);
}

int
release_masked(const struct release *rel)
{
	size_t i;

	if (release_kvs_masked(&rel->parameters))
		return (1);
	for (i = 0; i < rel->noverrides; i++)
		if (release_kvs_masked(&rel->overrides[i].parameters))
			return (1);
	return (0);
}

int
release_parse_manifest(struct release **relp, const void *json, size_t len,
    const char *app, const struct release_limits *limits,
    struct release_error *err)
{
	struct release_limits l;
	struct release	     *rel;
	int		      rc;

	*relp = NULL;
	if (err != NULL)
		memset(err, 0, sizeof *err);
	if (limits == NULL) {
		release_limits_default(&l);
		limits = &l;
	}
	rel = xcalloc(1, sizeof *rel);
	if ((rc = parse_manifest(rel, json, len, app, limits, err)) != 0) {
		release_free(rel);
		return (rc);
	}
	*relp = rel;
	return (0);
}

/*
 * Reads entry e, never more than the size its header claims: 0, and in
 * keep (when not NULL) its bytes; or a failure.
 */
static int
read_entry(zip_t *za, const struct entry *e, struct buf *keep, char *chunk,
    struct release_error *err)
{
	zip_file_t *zf;
	zip_int64_t n;
	uint64_t    got = 0;
	char	   *q, b1[32];
	int	    rc = 0;

	q = quote_str(e->name);
	if ((zf = zip_fopen_index(za, e->index, 0)) == NULL) {
		rc = fail(err, RELEASE_EENTRY,
		    "zip: entry %s: cannot be read: "
		    "%s",
		    q, zip_strerror(za));
		goto out;
	}
	for (;;) {
		n = zip_fread(zf, chunk, READ_CHUNK);
		if (n < 0) {
			rc = fail(err, RELEASE_EENTRY,
			    "zip: entry %s: cannot "
			    "be read: %s",
			    q, zip_file_strerror(zf));
			goto out;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
		if (got > e->size) {
			rc = fail(err, RELEASE_EENTRY,
			    "zip: entry %s: holds "
			    "more data than the %s its header claims",
			    q, size_str(b1, sizeof b1, e->size));
			goto out;
		}
		if (keep != NULL && buf_append(keep, chunk, (size_t)n) != 0) {
			rc = fail(err, RELEASE_EENTRY,
			    "zip: entry %s: holds "
			    "more data than the %s its header claims",
			    q, size_str(b1, sizeof b1, e->size));
			goto out;
		}
	}
	if (got != e->size)
		rc = fail(err, RELEASE_EENTRY,
		    "zip: entry %s: holds %llu "
		    "bytes, not the %llu its header claims",
		    q, (unsigned long long)got, (unsigned long long)e->size);
out:
	if (zf != NULL)
		zip_fclose(zf);
	free(q);
	return (rc);
}

/* The header checks of entry i: name, kind, encryption, sizes. */
static int
check_entry(zip_t *za, zip_uint64_t i, struct entry *e,
    const struct release_limits *l, struct release_error *err)
{
	zip_stat_t   st;
	zip_uint8_t  opsys;
	zip_uint32_t attr;
	const char  *why;
	char	    *q = NULL, b1[32], b2[32];
	unsigned int mode;
	size_t	     len;
	int	     rc = 0;

	zip_stat_init(&st);
	if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) != 0 ||
	    (st.valid &
		(ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
		    ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD)) !=
		(ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
		    ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD))
		return (fail(err, RELEASE_ENOTZIP,
		    "zip: entry %llu: cannot be "
		    "read: %s",
		    (unsigned long long)i, zip_strerror(za)));
	e->index = i;
	e->name = st.name;
	e->size = st.size;
	e->comp_size = st.comp_size;
	len = strlen(st.name);
	q = quote(st.name, len);
	if (len > l->name_len) {
		rc = fail(err, RELEASE_ENAME,
		    "zip: entry %s: name is %zu "
		    "bytes long, more than the %zu allowed",
		    q, len, l->name_len);
		goto out;
	}
	if ((why = name_problem(st.name, len)) != NULL) {
		rc = fail(err, RELEASE_ENAME, "zip: entry %s: %s", q, why);
		goto out;
	}
	e->is_dir = st.name[len - 1] == '/';

	if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) == 0 &&
	    opsys == ZIP_OPSYS_UNIX) {
		mode = attr >> 16;
		if ((mode & S_IFMT) == S_IFLNK) {
			rc = fail(err, RELEASE_EENTRY,
			    "zip: entry %s: is a "
			    "symbolic link",
			    q);
			goto out;
		}
		if ((mode & S_IFMT) != 0 && (mode & S_IFMT) != S_IFREG &&
		    (mode & S_IFMT) != S_IFDIR) {
			rc = fail(err, RELEASE_EENTRY,
			    "zip: entry %s: is not "
			    "a regular file (mode %06o)",
			    q, mode);
			goto out;
		}
	}
	if (st.encryption_method != ZIP_EM_NONE) {
		rc = fail(err, RELEASE_EENTRY, "zip: entry %s: is encrypted",
		    q);
		goto out;
	}
	if (st.comp_method != ZIP_CM_STORE &&
	    st.comp_method != ZIP_CM_DEFLATE) {
		rc = fail(err, RELEASE_EENTRY,
		    "zip: entry %s: compression "
		    "method %u is not supported (stored or deflated only)",
		    q, st.comp_method);
		goto out;
	}
	if (e->is_dir && st.size > 0) {
		rc = fail(err, RELEASE_EENTRY,
		    "zip: entry %s: a directory "
		    "that holds data",
		    q);
		goto out;
	}
	if (st.size > l->entry_size) {
		rc = fail(err, RELEASE_ELIMIT,
		    "zip: entry %s: %s unpacked, "
		    "more than the %s allowed per entry",
		    q, size_str(b1, sizeof b1, st.size),
		    size_str(b2, sizeof b2, l->entry_size));
		goto out;
	}
	if (st.size > 0 && st.comp_size == 0) {
		rc = fail(err, RELEASE_EENTRY,
		    "zip: entry %s: claims %s "
		    "from no data",
		    q, size_str(b1, sizeof b1, st.size));
		goto out;
	}
	if (st.size >= l->ratio_min_size && st.comp_size > 0 &&
	    st.size / st.comp_size >= l->ratio &&
	    st.size > st.comp_size * l->ratio) {
		rc = fail(err, RELEASE_ELIMIT,
		    "zip: entry %s: expands 1:%llu, "
		    "more than the 1:%llu allowed",
		    q, (unsigned long long)(st.size / st.comp_size),
		    (unsigned long long)l->ratio);
		goto out;
	}
out:
	free(q);
	return (rc);
}

static int
check_text(const char *name, const char *data, size_t len, int code,
    struct release_error *err)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t		     at = 0, n;
	uint32_t	     cp;

	while (at < len) {
		if ((n = utf8_char(p + at, len - at, &cp)) == 0)
			return (fail(err, code,
			    "%s: not valid UTF-8 at byte "
			    "%zu",
			    name, at));
		if (cp == 0)
			return (fail(err, code, "%s: NUL byte at byte %zu",
			    name, at));
		at += n;
	}
	return (0);
}

/*
 * The template parses (JSON for .json, else YAML, whose aliases are not
 * expanded here) and holds a mapping at the top, as CloudFormation needs.
 */
static int
check_template(const char *name, const char *data, size_t len,
    struct release_error *err)
{
	yaml_parser_t parser;
	yaml_event_t  ev;
	json_error_t  jerr;
	json_t	     *root;
	int	      rc = 0, nodes = 0, done = 0;

	if (has_suffix(name, ".json")) {
		if (!json_nesting_within(data, len, TEMPLATE_DEPTH))
			return (fail(err, RELEASE_ETEMPLATE,
			    "%s: nested "
			    "deeper than %d levels",
			    name, TEMPLATE_DEPTH));
		if ((root = json_loadb(data, len, 0, &jerr)) == NULL)
			return (fail(err, RELEASE_ETEMPLATE,
			    "%s: not JSON: "
			    "line %d column %d: %s",
			    name, jerr.line, jerr.column, jerr.text));
		if (!json_is_object(root))
			rc = fail(err, RELEASE_ETEMPLATE,
			    "%s: expected an "
			    "object at the top, got %s",
			    name, type_name(root));
		json_decref(root);
		return (rc);
	}
	if (!yaml_parser_initialize(&parser))
		return (fail(err, RELEASE_ETEMPLATE, "%s: cannot parse YAML",
		    name));
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = fail(err, RELEASE_ETEMPLATE,
			    "%s: not YAML: line "
			    "%zu column %zu: %s",
			    name, parser.problem_mark.line + 1,
			    parser.problem_mark.column + 1,
			    parser.problem != NULL ? parser.problem : "error");
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			if (nodes++ > 0)
				break;
			rc = fail(err, RELEASE_ETEMPLATE,
			    "%s: expected a "
			    "mapping at the top",
			    name);
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			nodes++;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (rc == 0 && nodes == 0)
		rc = fail(err, RELEASE_ETEMPLATE,
		    "%s: expected a mapping at "
		    "the top",
		    name);
	yaml_parser_delete(&parser);
	return (rc);
}

/*
 * 1 if the template (already checked by check_template) declares param
 * among its top-level Parameters, else 0.
 */
static int
template_declares(const char *name, const char *data, size_t len,
    const char *param)
{
	yaml_parser_t parser;
	yaml_event_t  ev;
	json_t	     *root;
	/* The first levels only: the top mapping and Parameters. */
	int mapping[3], want_key[3], in_params[3];
	int depth = 0, params_key = 0, found = 0, done = 0;
	int is_key, node;

	if (has_suffix(name, ".json")) {
		if ((root = json_loadb(data, len, 0, NULL)) == NULL)
			return (0);
		found = json_object_get(json_object_get(root, "Parameters"),
			    param) != NULL;
		json_decref(root);
		return (found);
	}
	if (!yaml_parser_initialize(&parser))
		return (0);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && !found) {
		if (!yaml_parser_parse(&parser, &ev))
			break;
		node = ev.type == YAML_SCALAR_EVENT ||
		       ev.type == YAML_ALIAS_EVENT ||
		       ev.type == YAML_MAPPING_START_EVENT ||
		       ev.type == YAML_SEQUENCE_START_EVENT;
		if (node) {
			is_key = depth > 0 && depth <= 3 &&
				 mapping[depth - 1] && want_key[depth - 1];
			if (depth > 0 && depth <= 3 && mapping[depth - 1])
				want_key[depth - 1] = !want_key[depth - 1];
			if (ev.type == YAML_SCALAR_EVENT && is_key) {
				if (depth == 1)
					params_key = strcmp((const char *)
								ev.data.scalar
								    .value,
							 "Parameters") == 0;
				else if (depth == 2 && in_params[1] &&
					 strcmp((const char *)
						    ev.data.scalar.value,
					     param) == 0)
					found = 1;
			}
			if (ev.type == YAML_MAPPING_START_EVENT ||
			    ev.type == YAML_SEQUENCE_START_EVENT) {
				if (depth < 3) {
					mapping[depth] =
					    ev.type == YAML_MAPPING_START_EVENT;
					want_key[depth] = 1;
					in_params[depth] = depth == 1 &&
							   !is_key &&
							   params_key &&
							   mapping[depth];
				}
				depth++;
			}
		} else if (ev.type == YAML_MAPPING_END_EVENT ||
			   ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		else if (ev.type == YAML_STREAM_END_EVENT)
			done = 1;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return (found);
}

int
release_read(struct release **relp, const void *data, size_t len,
    const char *app, const struct release_limits *limits,
    struct release_error *err)
{
	struct release_limits l;
	struct release	     *rel = NULL;
	struct entry	     *entries = NULL, **sorted = NULL;
	struct entry	     *manifest = NULL, *template = NULL;
	struct buf	      mb, tb;
	zip_source_t	     *src = NULL;
	zip_t		     *za = NULL;
	zip_error_t	      ze;
	zip_int64_t	      n64;
	uint64_t	      total = 0;
	size_t		      n = 0, i;
	char		     *chunk = NULL, *q;
	char		      b1[32], b2[32];
	int		      rc;

	*relp = NULL;
	if (err != NULL)
		memset(err, 0, sizeof *err);
	if (limits == NULL) {
		release_limits_default(&l);
		limits = &l;
	}
	buf_init(&mb, limits->manifest_size);
	buf_init(&tb, SIZE_MAX);
	zip_error_init(&ze);

	if (len == 0) {
		rc = fail(err, RELEASE_ENOTZIP, "zip: the file is empty");
		goto out;
	}
	if (len > limits->zip_size) {
		rc = fail(err, RELEASE_ELIMIT,
		    "zip: %s, more than the %s "
		    "allowed",
		    size_str(b1, sizeof b1, len),
		    size_str(b2, sizeof b2, limits->zip_size));
		goto out;
	}
	if ((rc = scan_names(data, len, limits->entries, err)) != 0)
		goto out;
	if ((src = zip_source_buffer_create(data, len, 0, &ze)) == NULL) {
		rc = fail(err, RELEASE_ENOTZIP, "zip: cannot be read: %s",
		    zip_error_strerror(&ze));
		goto out;
	}
	if ((za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze)) ==
	    NULL) {
		switch (zip_error_code_zip(&ze)) {
		case ZIP_ER_NOZIP:
			/* A zip's first bytes, but no end: cut short. */
			if (len >= 4 && memcmp(data, "PK\003\004", 4) == 0)
				rc = fail(err, RELEASE_ENOTZIP,
				    "zip: "
				    "truncated (it starts as a zip but its "
				    "central directory is missing)");
			else
				rc = fail(err, RELEASE_ENOTZIP,
				    "zip: not a "
				    "zip archive");
			break;
		case ZIP_ER_EXISTS:
			rc = fail(err, RELEASE_ENAME,
			    "zip: two entries have "
			    "the same name");
			break;
		case ZIP_ER_INCONS:
			rc = fail(err, RELEASE_ENOTZIP,
			    "zip: damaged or "
			    "truncated (its directory is inconsistent)");
			break;
		default:
			rc = fail(err, RELEASE_ENOTZIP,
			    "zip: damaged or "
			    "truncated (%s)",
			    zip_error_strerror(&ze));
			break;
		}
		goto out;
	}
	src = NULL; /* the archive's now */

	if ((n64 = zip_get_num_entries(za, 0)) < 0)
		n64 = 0;
	if ((uint64_t)n64 > limits->entries) {
		rc = fail(err, RELEASE_ELIMIT,
		    "zip: %lld entries, more than "
		    "the %llu allowed",
		    (long long)n64, (unsigned long long)limits->entries);
		goto out;
	}
	n = (size_t)n64;
	entries = xcalloc(n + 1, sizeof *entries);
	sorted = xcalloc(n + 1, sizeof *sorted);
	for (i = 0; i < n; i++) {
		if ((rc = check_entry(za, i, &entries[i], limits, err)) != 0)
			goto out;
		total += entries[i].size;
		if (total > limits->unpacked_size) {
			rc = fail(err, RELEASE_ELIMIT,
			    "zip: entries unpack to "
			    "more than the %s allowed",
			    size_str(b1, sizeof b1, limits->unpacked_size));
			goto out;
		}
		sorted[i] = &entries[i];
	}
	qsort(sorted, n, sizeof *sorted, entry_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			q = quote_str(sorted[i]->name);
			rc = fail(err, RELEASE_ENAME,
			    "zip: entry %s: appears "
			    "twice",
			    q);
			free(q);
			goto out;
		}
	}

	/* release.json, then what it says. */
	for (i = 0; i < n; i++)
		if (strcmp(entries[i].name, MANIFEST_NAME) == 0)
			manifest = &entries[i];
	if (manifest == NULL) {
		rc = fail(err, RELEASE_ENOMANIFEST,
		    "zip: no release.json at "
		    "the top of the archive");
		goto out;
	}
	if (manifest->size > limits->manifest_size) {
		rc = fail(err, RELEASE_EMANIFEST,
		    "release.json: %s, more "
		    "than the %s allowed",
		    size_str(b1, sizeof b1, manifest->size),
		    size_str(b2, sizeof b2, limits->manifest_size));
		goto out;
	}
	chunk = xmalloc(READ_CHUNK);
	if ((rc = read_entry(za, manifest, &mb, chunk, err)) != 0)
		goto out;
	rel = xcalloc(1, sizeof *rel);
	if ((rc = parse_manifest(rel, mb.data != NULL ? mb.data : "", mb.len,
		 app, limits, err)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (strcmp(entries[i].name, rel->template_name) == 0 &&
		    !entries[i].is_dir)
			template = &entries[i];
	if (template == NULL) {
		q = quote_str(rel->template_name);
		rc = fail(err, RELEASE_ETEMPLATE,
		    "release.json: template: %s "
		    "is not in the zip",
		    q);
		free(q);
		goto out;
	}

	/* Every entry's data, so a damaged zip is refused as a whole. */
	for (i = 0; i < n; i++) {
		if (&entries[i] == manifest || entries[i].is_dir)
			continue;
		if ((rc = read_entry(za, &entries[i],
			 &entries[i] == template ? &tb : NULL, chunk, err)) !=
		    0)
			goto out;
	}
	/* The name passed the entry rules: safe to show as it is. */
	if (tb.len == 0) {
		rc = fail(err, RELEASE_ETEMPLATE, "%s: empty",
		    rel->template_name);
		goto out;
	}
	if ((rc = check_text(rel->template_name, tb.data, tb.len,
		 RELEASE_ETEMPLATE, err)) != 0 ||
	    (rc = check_template(rel->template_name, tb.data, tb.len, err)) !=
		0)
		goto out;
	for (i = 0; i < rel->nimages; i++)
		if (rel->images[i].parameter != NULL &&
		    !template_declares(rel->template_name, tb.data, tb.len,
			rel->images[i].parameter)) {
			rc = fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "images[%zu].parameter: %s declares no parameter "
			    "%s",
			    i, rel->template_name, rel->images[i].parameter);
			goto out;
		}
	rel->template = buf_take(&tb, &rel->template_len);
	*relp = rel;
	rel = NULL;
	rc = 0;
out:
	release_free(rel);
	if (za != NULL)
		zip_discard(za);
	if (src != NULL)
		zip_source_free(src);
	zip_error_fini(&ze);
	buf_free(&mb);
	buf_free(&tb);
	free(chunk);
	free(entries);
	free(sorted);
	return (rc);
}

/* --- what the engine builds from a release ------------------------------ */

/* 1 if the environment's own parameters set key. */
static int
env_pins(const struct config_environment *env, const char *key)
{
	size_t i;

	for (i = 0; i < env->parameters.n; i++)
		if (strcmp(env->parameters.items[i].key, key) == 0)
			return (1);
	return (0);
}

int
release_check_app(const struct release *rel, const struct config_app *app,
    struct release_error *err)
{
	const struct config_environment *env;
	const struct release_override	*o;
	size_t				 i, j;

	if (err != NULL)
		memset(err, 0, sizeof *err);
	for (i = 0; i < rel->noverrides; i++) {
		o = &rel->overrides[i];
		if ((env = config_find_environment(app, o->env)) == NULL)
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "overrides.%s: app %s has no environment \"%s\"",
			    o->env, app->name, o->env));
		/* What the operator pinned, a release does not change. */
		for (j = 0; j < o->parameters.n; j++)
			if (env_pins(env, o->parameters.items[j].key) &&
			    !config_environment_release_may_set(env,
				o->parameters.items[j].key))
				return (fail(err, RELEASE_EMANIFEST,
				    "release.json: overrides.%s.parameters.%s: "
				    "environment %s sets parameter %s and does "
				    "not let a release change it (not in its "
				    "release_may_set)",
				    o->env, o->parameters.items[j].key, o->env,
				    o->parameters.items[j].key));
	}
	/* Nor through an image's parameter. */
	for (i = 0; i < rel->nimages; i++)
		for (j = 0;
		     rel->images[i].parameter != NULL && j < app->nenvironments;
		     j++) {
			env = &app->environments[j];
			if (env->name == NULL ||
			    !env_pins(env, rel->images[i].parameter) ||
			    config_environment_release_may_set(env,
				rel->images[i].parameter))
				continue;
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "images[%zu].parameter: environment %s sets "
			    "parameter %s and does not let a release change "
			    "it (not in its release_may_set)",
			    i, env->name, rel->images[i].parameter));
		}
	/*
	 * A check carries its secrets to the base_url it runs against: a
	 * release may name only checks every environment allows.
	 */
	for (i = 0; i < rel->checks.n; i++)
		for (j = 0; j < app->nenvironments; j++) {
			env = &app->environments[j];
			if (env->name == NULL ||
			    config_environment_allows_check(env,
				rel->checks.items[i]))
				continue;
			return (fail(err, RELEASE_EMANIFEST,
			    "release.json: "
			    "checks[%zu]: environment %s does not allow check "
			    "\"%s\" (not in its checks or release_checks)",
			    i, env->name, rel->checks.items[i]));
		}
	return (0);
}

static int
strings_has(const struct config_strings *l, const char *s)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return (1);
	return (0);
}

static int
kvs_has(const struct config_kvs *kvs, const char *key)
{
	size_t i;

	for (i = 0; i < kvs->n; i++)
		if (strcmp(kvs->items[i].key, key) == 0)
			return (1);
	return (0);
}

/* Sets key to value in kvs, replacing an earlier value. */
static void
kvs_set(struct config_kvs *kvs, size_t *cap, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < kvs->n; i++) {
		if (strcmp(kvs->items[i].key, key) == 0) {
			free(kvs->items[i].value);
			kvs->items[i].value = xstrdup(value);
			return;
		}
	}
	if (kvs->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		kvs->items = xreallocarray(kvs->items, *cap,
		    sizeof *kvs->items);
	}
	kvs->items[kvs->n].key = xstrdup(key);
	kvs->items[kvs->n].value = xstrdup(value);
	kvs->n++;
}

void
release_parameters(const struct release *rel, const char *env,
    const struct config_kvs *env_params, const struct config_strings *may_set,
    struct config_kvs *out)
{
	const struct config_kvs *ovr;
	size_t			 cap = 0, i, j, k;
	int			 pinned;

	out->items = NULL;
	out->n = 0;
	for (i = 0; i < rel->parameters.n; i++)
		kvs_set(out, &cap, rel->parameters.items[i].key,
		    rel->parameters.items[i].value);
	for (i = 0; env_params != NULL && i < env_params->n; i++) {
		/* Listed in release_may_set: the release's value, if any. */
		if (strings_has(may_set, env_params->items[i].key) &&
		    kvs_has(&rel->parameters, env_params->items[i].key))
			continue;
		kvs_set(out, &cap, env_params->items[i].key,
		    env_params->items[i].value);
	}
	for (i = 0; env != NULL && i < rel->noverrides; i++) {
		if (strcmp(rel->overrides[i].env, env) != 0)
			continue;
		ovr = &rel->overrides[i].parameters;
		for (j = 0; j < ovr->n; j++) {
			/*
			 * Intake refuses such a release; one taken in before
			 * the configuration pinned the parameter still
			 * gets the operator's value.
			 */
			pinned = 0;
			for (k = 0; env_params != NULL && k < env_params->n;
			     k++)
				if (strcmp(env_params->items[k].key,
					ovr->items[j].key) == 0)
					pinned = 1;
			if (pinned && !strings_has(may_set, ovr->items[j].key))
				continue;
			kvs_set(out, &cap, ovr->items[j].key,
			    ovr->items[j].value);
		}
	}
	if (out->n > 0)
		qsort(out->items, out->n, sizeof *out->items, kv_cmp);
}

void
release_image_parameters(const struct release *rel, const char *env,
    const char *const *pinned, const struct config_kvs *env_params,
    const struct config_strings *may_set, struct config_kvs *out)
{
	const struct release_image *im;
	char			   *ref;
	size_t			    cap, i, j;
	int			    pinned_by_env;

	release_parameters(rel, env, env_params, may_set, out);
	cap = out->n;
	for (i = 0; i < rel->nimages; i++) {
		im = &rel->images[i];
		if (im->parameter == NULL)
			continue;
		pinned_by_env = 0;
		for (j = 0; env_params != NULL && j < env_params->n; j++)
			if (strcmp(env_params->items[j].key, im->parameter) ==
			    0)
				pinned_by_env = 1;
		if (pinned_by_env && !strings_has(may_set, im->parameter))
			continue;
		if (pinned != NULL && pinned[i] != NULL)
			ref = xasprintf("%s@%s", im->repository, pinned[i]);
		else if (im->digest != NULL)
			ref = xasprintf("%s@%s", im->repository, im->digest);
		else
			ref = xasprintf("%s:%s", im->repository, im->tag);
		kvs_set(out, &cap, im->parameter, ref);
		free(ref);
	}
	if (out->n > 0)
		qsort(out->items, out->n, sizeof *out->items, kv_cmp);
}

int
release_template_inline(const struct release *rel)
{
	return (rel->template_len <= RELEASE_TEMPLATE_INLINE_MAX);
}

/* s with every character CloudFormation refuses in a name made '-'. */
static void
put_name_part(char *dst, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = is_alnum(s[i]) || s[i] == '-' ? s[i] : '-';
	dst[len] = '\0';
}

char *
release_change_set_name(const char *app, long long run_id, const char *env,
    int attempt)
{
	static const char prefix[] = "shipgate-";
	char		  suffix[64];
	char		  name[RELEASE_CHANGE_SET_NAME_MAX + 1];
	size_t		  a = strlen(app), e = strlen(env), budget, half;

	snprintf(suffix, sizeof suffix, "-r%lld-a%d", run_id, attempt);
	/* prefix, app, '-', env, suffix */
	budget = RELEASE_CHANGE_SET_NAME_MAX - (sizeof prefix - 1) - 1 -
		 strlen(suffix);
	if (a + e > budget) {
		half = budget / 2;
		if (a <= half)
			e = budget - a;
		else if (e <= budget - half)
			a = budget - e;
		else {
			a = half;
			e = budget - half;
		}
	}
	memcpy(name, prefix, sizeof prefix - 1);
	put_name_part(name + sizeof prefix - 1, app, a);
	name[sizeof prefix - 1 + a] = '-';
	put_name_part(name + sizeof prefix + a, env, e);
	memcpy(name + sizeof prefix + a + e, suffix, strlen(suffix) + 1);
	return (xstrdup(name));
}

char *
release_change_set_description(const char *version, const char *message)
{
	char  *s;
	size_t len;

	if (message == NULL || *message == '\0')
		s = xstrdup(version);
	else
		s = xasprintf("%s \xe2\x80\x94 %s", version, message);
	len = strlen(s);
	if (len > RELEASE_CHANGE_SET_DESCRIPTION_MAX) {
		len = RELEASE_CHANGE_SET_DESCRIPTION_MAX;
		/* Back to the first byte of a character. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		s[len] = '\0';
	}
	return (s);
}
