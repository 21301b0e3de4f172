/*
 * The configuration file: libyaml's document tree walked against tables of
 * keys (one table per mapping, so adding a key is one line), then checks
 * of meaning (duplicates, references) over the typed result.  Every error
 * is collected as "file:line:column: key.path: message"; nothing stops at
 * the first.  Paths name list items by index: apps[0].environments[1].stack.
 *
 * Secrets are references: the files they name are checked (they exist and
 * only their owner may read them) but never read, and no value of a secret
 * key is ever copied into a message.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#include "buf.h"
#include "config.h"
#include "people.h"
#include "window.h"
#include "xmalloc.h"

#ifndef SHIPGATE_SYSCONFDIR
#define SHIPGATE_SYSCONFDIR "/etc"
#endif
#ifndef SHIPGATE_RUNSTATEDIR
#define SHIPGATE_RUNSTATEDIR "/run"
#endif

#define CONFIG_MAX_FILE (16 * 1024 * 1024)
/*
 * Aliases let a small file name a value many times ("billion laughs"):
 * reading stops after this many values per node of the document.
 */
#define CONFIG_VISITS_PER_NODE 16
#define CONFIG_VISITS_MIN      100000
#define CONFIG_MAX_PAIRS       10000 /* keys in one mapping */

/* Where a parsed value came from, for the checks of meaning. */
struct config_loc {
	const void *addr;
	size_t	    line;
	size_t	    column;
	char	   *path;
};

struct cp {
	const char	     *file;
	yaml_document_t	     *doc;
	struct config_errors *errors;
	struct config_loc    *locs;
	size_t		      nlocs;
	size_t		      locscap;
	size_t		      visits;
	size_t		      max_visits;
	int		      toobig;
};

enum ctype {
	CT_STR,
	CT_INT,
	CT_U64,
	CT_BOOL,
	CT_DURATION,
	CT_SIZE,
	CT_STRS, /* list of strings */
	CT_KVS,	 /* mapping of strings */
	CT_MAP,	 /* nested mapping, fields at base + off */
	CT_LIST, /* list of mappings, array at off, count at off_n */
	CT_CUSTOM,
};

#define CK_REQUIRED    0x1
#define CK_SECRET_FILE 0x2  /* a file that only its owner may read */
#define CK_EMPTY_OK    0x4  /* CT_STR: "" is fine */
#define CK_NONEMPTY    0x8  /* CT_STRS: at least one item */
#define CK_SECRET      0x10 /* never echo the value */

struct ctable;
struct ckey;

typedef void (*custom_fn)(struct cp *, yaml_node_t *, const struct ckey *,
    void *, const char *);
typedef void (
    *post_fn)(struct cp *, yaml_node_t *, void *, const char *, uint64_t);

struct ckey {
	const char	    *name;
	enum ctype	     type;
	int		     flags;
	size_t		     off;
	size_t		     off_n;
	const struct ctable *child;
	const char	    *def;
	int64_t		     min;
	int64_t		     max;
	/* CT_STR, CT_STRS items: NULL when fine, else what is wrong. */
	const char *(*check)(const char *);
	custom_fn custom;
	void (*free)(void *);
	const char *doc; /* custom: its type in words */
};

struct ctable {
	const struct ckey *keys;
	size_t		   nkeys;
	size_t		   size; /* CT_LIST: element size */
	post_fn		   post;
};

static void parse_table(struct cp *, yaml_node_t *, const struct ctable *,
    void *, const char *);
static void table_defaults(const struct ctable *, void *);
static void table_free(const struct ctable *, void *);
static int  pair_is_duplicate(struct cp *, yaml_node_t *, yaml_node_pair_t *,
     const char *);
static int  too_many_pairs(struct cp *, yaml_node_t *, const char *);

/* ------------------------------------------------------------------ */
/* Errors and locations. */

static void
cp_verror(struct cp *cp, size_t line, size_t column, const char *path,
    const char *fmt, va_list ap)
{
	char *msg;

	msg = xvasprintf(fmt, ap);
	cp->errors->lines = xreallocarray(cp->errors->lines, cp->errors->n + 1,
	    sizeof *cp->errors->lines);
	if (path != NULL && *path != '\0')
		cp->errors->lines[cp->errors->n++] = xasprintf("%s:%zu:%zu: "
							       "%s: %s",
		    cp->file, line, column, path, msg);
	else
		cp->errors->lines[cp->errors->n++] = xasprintf("%s:%zu:%zu: "
							       "%s",
		    cp->file, line, column, msg);
	free(msg);
}

__attribute__((format(printf, 4, 5))) static void
cp_error(struct cp *cp, const yaml_node_t *node, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cp_verror(cp, node->start_mark.line + 1, node->start_mark.column + 1,
	    path, fmt, ap);
	va_end(ap);
}

static void
cp_loc(struct cp *cp, const void *addr, const yaml_node_t *node,
    const char *path)
{
	struct config_loc *l;

	if (cp->nlocs == cp->locscap) {
		cp->locscap = cp->locscap ? cp->locscap * 2 : 256;
		cp->locs = xreallocarray(cp->locs, cp->locscap,
		    sizeof *cp->locs);
	}
	l = &cp->locs[cp->nlocs++];
	l->addr = addr;
	l->line = node->start_mark.line + 1;
	l->column = node->start_mark.column + 1;
	l->path = xstrdup(path);
}

static const struct config_loc *
cp_find_loc(struct cp *cp, const void *addr)
{
	size_t i;

	for (i = cp->nlocs; i > 0; i--)
		if (cp->locs[i - 1].addr == addr)
			return (&cp->locs[i - 1]);
	return (NULL);
}

/* An error about a parsed value, found by its address. */
__attribute__((format(printf, 3, 4))) static void
cp_error_at(struct cp *cp, const void *addr, const char *fmt, ...)
{
	const struct config_loc *l;
	va_list			 ap;

	l = cp_find_loc(cp, addr);
	va_start(ap, fmt);
	if (l != NULL)
		cp_verror(cp, l->line, l->column, l->path, fmt, ap);
	else
		cp_verror(cp, 1, 1, NULL, fmt, ap);
	va_end(ap);
}

static int
cp_has_loc(struct cp *cp, const void *addr)
{
	return (cp_find_loc(cp, addr) != NULL);
}

static char *
path_key(const char *path, const char *key)
{
	if (*path == '\0')
		return (xstrdup(key));
	return (xasprintf("%s.%s", path, key));
}

static char *
path_index(const char *path, size_t i)
{
	return (xasprintf("%s[%zu]", path, i));
}

/* ------------------------------------------------------------------ */
/* Scalars. */

static const char *
node_kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return ("a mapping");
	case YAML_SEQUENCE_NODE:
		return ("a list");
	case YAML_SCALAR_NODE:
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (node->data.scalar.length == 0 ||
			strcmp((char *)node->data.scalar.value, "~") == 0 ||
			strcasecmp((char *)node->data.scalar.value, "null") ==
			    0))
			return ("no value");
		return ("a string");
	default:
		return ("nothing");
	}
}

static int
node_is_null(const yaml_node_t *node)
{
	return (strcmp(node_kind(node), "no value") == 0);
}

/* The text of a scalar that stands for a value, or NULL after an error. */
static const char *
scalar(struct cp *cp, yaml_node_t *node, const char *path, const char *what)
{
	const char *s;

	if (node->type != YAML_SCALAR_NODE || node_is_null(node)) {
		cp_error(cp, node, path, "expected %s, found %s", what,
		    node_kind(node));
		return (NULL);
	}
	s = (const char *)node->data.scalar.value;
	if (strlen(s) != node->data.scalar.length) {
		cp_error(cp, node, path, "contains a NUL byte");
		return (NULL);
	}
	return (s);
}

static yaml_node_t *
node_get(struct cp *cp, yaml_node_item_t i)
{
	return (yaml_document_get_node(cp->doc, i));
}

static int
cp_visit(struct cp *cp, yaml_node_t *node, const char *path)
{
	if (cp->toobig)
		return (-1);
	if (++cp->visits > cp->max_visits) {
		cp_error(cp, node, path,
		    "too many values (aliases expanding "
		    "without end?)");
		cp->toobig = 1;
		return (-1);
	}
	return (0);
}

static int
parse_int(const char *s, int64_t *v)
{
	const char *p = s;
	int64_t	    n = 0;
	int	    neg = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p == '\0')
		return (-1);
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return (-1);
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return (-1);
		n = n * 10 + (*p - '0');
	}
	*v = neg ? -n : n;
	return (0);
}

int64_t
config_parse_duration(const char *s)
{
	static const struct {
		const char *unit;
		int64_t	    ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
		{ "d", 24 * 60 * 60 * 1000 },
	};
	const char *p;
	int64_t	    n = 0;
	size_t	    i;

	if (s == NULL || !isdigit((unsigned char)*s))
		return (-1);
	for (p = s; isdigit((unsigned char)*p); p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return (-1);
		n = n * 10 + (*p - '0');
	}
	if (*p == '\0')
		return (n == 0 ? 0 : -1); /* "0" alone needs no unit */
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (n > INT64_MAX / units[i].ms)
			return (-1);
		return (n * units[i].ms);
	}
	return (-1);
}

int64_t
config_parse_size(const char *s)
{
	static const struct {
		const char *unit;
		int64_t	    bytes;
	} units[] = {
		{ "", 1 },
		{ "KiB", 1024 },
		{ "MiB", 1024 * 1024 },
		{ "GiB", 1024 * 1024 * 1024 },
	};
	const char *p;
	int64_t	    n = 0;
	size_t	    i;

	if (s == NULL || !isdigit((unsigned char)*s))
		return (-1);
	for (p = s; isdigit((unsigned char)*p); p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return (-1);
		n = n * 10 + (*p - '0');
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (n > INT64_MAX / units[i].bytes)
			return (-1);
		return (n * units[i].bytes);
	}
	return (-1);
}

/* ------------------------------------------------------------------ */
/* Checks of single values: NULL when fine, else what is wrong. */

static int
all_chars(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return (0);
	return (1);
}

static const char *
check_name(const char *s)
{
	if (strlen(s) > 64 || !isalnum((unsigned char)*s) ||
	    !all_chars(s, "-_."))
		return ("must be letters, digits, '-', '_' or '.', starting "
			"with a letter or digit (at most 64)");
	return (NULL);
}

/* A Unix login name (as useradd takes them). */
static const char *
check_unix_name(const char *s)
{
	if (strlen(s) > 32 || *s == '-' || !all_chars(s, "-_.$"))
		return ("must be a Unix user name: letters, digits, '-', '_', "
			"'.' (at most 32, not starting with '-')");
	return (NULL);
}

static int
is_hostname(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return (0);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.' && s[i] != '_')
			return (0);
	return (1);
}

static int
is_port(const char *s)
{
	int64_t v;

	return (*s != '-' && parse_int(s, &v) == 0 && v >= 1 && v <= 65535);
}

static const char *
check_listen(const char *s)
{
	const char *colon, *end;
	char	    host[64];

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':' ||
		    (size_t)(end - s - 1) >= sizeof host)
			goto bad;
		memcpy(host, s + 1, end - s - 1);
		host[end - s - 1] = '\0';
		if (inet_pton(AF_INET6, host, &(struct in6_addr){ 0 }) != 1 ||
		    !is_port(end + 2))
			goto bad;
		return (NULL);
	}
	if ((colon = strrchr(s, ':')) == NULL || !is_port(colon + 1) ||
	    !is_hostname(s, colon - s))
		goto bad;
	return (NULL);
bad:
	return ("must be host:port (e.g. 127.0.0.1:8080 or [::1]:8080)");
}

static int
is_http_url(const char *s)
{
	const char *host;
	size_t	    i;

	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return (0);
	if (*host == '\0' || *host == '/' || *host == ':')
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (isspace((unsigned char)s[i]) ||
		    iscntrl((unsigned char)s[i]))
			return (0);
	return (1);
}

static const char *
check_http_url(const char *s)
{
	if (!is_http_url(s))
		return ("must be an http:// or https:// URL");
	return (NULL);
}

static const char *
check_smtp_url(const char *s)
{
	if ((strncmp(s, "smtp://", 7) != 0 && strncmp(s, "smtps://", 8) != 0) ||
	    strchr(s, ' ') != NULL || s[strlen(s) - 1] == '/')
		return ("must be smtp://host[:port] or smtps://host[:port]");
	return (NULL);
}

static const char *
check_path(const char *s)
{
	if (*s != '/')
		return ("must be an absolute path");
	return (NULL);
}

static const char *
check_account(const char *s)
{
	if (strlen(s) != 12 || strspn(s, "0123456789") != 12)
		return ("must be a 12-digit AWS account id (quote it: "
			"\"123456789012\")");
	return (NULL);
}

static const char *
check_role_arn(const char *s)
{
	const char	  *p;
	static const char *prefixes[] = {
		"arn:aws:iam::",
		"arn:aws-cn:iam::",
		"arn:aws-us-gov:iam::",
	};
	size_t i;

	for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			break;
	if (i == sizeof prefixes / sizeof prefixes[0])
		goto bad;
	p = s + strlen(prefixes[i]);
	if (strspn(p, "0123456789") != 12 ||
	    strncmp(p + 12, ":role/", 6) != 0 || p[18] == '\0' ||
	    !all_chars(p + 18, "+=,.@_-/"))
		goto bad;
	return (NULL);
bad:
	return (
	    "must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)");
}

static const char *
check_region(const char *s)
{
	size_t len = strlen(s);

	if (len < 4 || len > 32 || !all_chars(s, "-") ||
	    !isdigit((unsigned char)s[len - 1]) || s[len - 2] != '-' ||
	    strchr(s, '-') == s)
		return ("must be an AWS region such as eu-west-1");
	for (; *s != '\0'; s++)
		if (isupper((unsigned char)*s))
			return ("must be an AWS region such as eu-west-1");
	return (NULL);
}

static const char *
check_bucket(const char *s)
{
	size_t len = strlen(s);

	if (len < 3 || len > 63 || !all_chars(s, "-.") ||
	    !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		goto bad;
	for (; *s != '\0'; s++)
		if (isupper((unsigned char)*s))
			goto bad;
	return (NULL);
bad:
	return (
	    "must be an S3 bucket name (3 to 63 lower-case letters, digits, "
	    "'-' and '.')");
}

static const char *
check_stack(const char *s)
{
	if (strlen(s) > 128 || !isalpha((unsigned char)*s) ||
	    !all_chars(s, "-"))
		return ("must be a CloudFormation stack name (a letter, then "
			"letters, digits and '-', at most 128)");
	return (NULL);
}

static const char *
check_registry(const char *s)
{
	const char *colon;

	colon = strrchr(s, ':');
	if (strstr(s, "://") != NULL || strchr(s, '/') != NULL ||
	    (colon != NULL && !is_port(colon + 1)) ||
	    !is_hostname(s, colon != NULL ? (size_t)(colon - s) : strlen(s)))
		return ("must be a registry host[:port] without a scheme (e.g. "
			"123456789012.dkr.ecr.eu-west-1.amazonaws.com)");
	return (NULL);
}

/*
 * The host of an http(s) URL is a loopback address: 127.0.0.0/8, [::1]
 * or localhost.
 */
static int
url_is_loopback(const char *s)
{
	const char *host, *end;
	char	    buf[64];
	size_t	    len;

	host = strncmp(s, "https://", 8) == 0 ? s + 8 : s + 7;
	if (*host == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return (0);
		return (end - host == 4 && strncmp(host, "[::1]", 5) == 0);
	}
	len = strcspn(host, ":/?#");
	if (len >= sizeof buf)
		return (0);
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (strcmp(buf, "localhost") == 0)
		return (1);
	return (inet_pton(AF_INET, buf, &(struct in_addr){ 0 }) == 1 &&
		strncmp(buf, "127.", 4) == 0);
}

static const char *
check_issuer(const char *s)
{
	if (!is_http_url(s) || strchr(s, '?') != NULL || strchr(s, '#') != NULL)
		return ("must be an https:// URL without query or fragment");
	if (strncmp(s, "http://", 7) == 0 && !url_is_loopback(s))
		return ("must be https:// (http:// only for a loopback "
			"issuer such as http://127.0.0.1:PORT)");
	return (NULL);
}

static const char *
check_claim(const char *s)
{
	if (*s == '\0' || strlen(s) > 128 || strpbrk(s, " \t\r\n\"") != NULL)
		return ("must be a claim name (email, groups, "
			"cognito:groups)");
	return (NULL);
}

static const char *
check_alb_arn(const char *s)
{
	const char *p;
	size_t	    i, n;

	/* arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID */
	if (strncmp(s, "arn:", 4) != 0)
		goto bad;
	for (p = s, n = 0; *p != '\0'; p++)
		if (*p == ':')
			n++;
	if (n != 5 || strstr(s, ":elasticloadbalancing:") == NULL ||
	    strstr(s, ":loadbalancer/app/") == NULL)
		goto bad;
	for (i = 0; s[i] != '\0'; i++)
		if (isspace((unsigned char)s[i]) ||
		    iscntrl((unsigned char)s[i]))
			goto bad;
	return (NULL);
bad:
	return (
	    "must be an Application Load Balancer ARN (arn:aws:"
	    "elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID)");
}

static const char *
check_email(const char *s)
{
	const char *at;

	if ((at = strchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strpbrk(s, " \t<>,;\"") != NULL)
		return ("must be an e-mail address (user@example.com)");
	return (NULL);
}

static const char *
check_password_hash(const char *s)
{
	const char *p;
	int	    dollars = 0;

	if (strncmp(s, "$argon2id$", 10) != 0)
		return ("must be an argon2id hash starting with \"$argon2id$\" "
			"(make one with shipgatectl passwd)");
	for (p = s; *p != '\0'; p++)
		if (*p == '$')
			dollars++;
	if (dollars != 5)
		return ("is not a complete argon2id hash "
			"($argon2id$v=19$m=...,t=...,p=...$SALT$HASH)");
	return (NULL);
}

static const char *
check_token(const char *s)
{
	if (!all_chars(s, "!#$%&'*+-.^_`|~"))
		return ("must be an HTTP header name");
	return (NULL);
}

static const char *
check_proxy(const char *s)
{
	char	      addr[64];
	const char   *slash;
	unsigned char tmp[16];
	int64_t	      bits;
	size_t	      len;

	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len >= sizeof addr)
		goto bad;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, tmp) == 1) {
		if (slash != NULL &&
		    (parse_int(slash + 1, &bits) != 0 || bits < 0 || bits > 32))
			goto bad;
		return (NULL);
	}
	if (inet_pton(AF_INET6, addr, tmp) == 1) {
		if (slash != NULL && (parse_int(slash + 1, &bits) != 0 ||
					 bits < 0 || bits > 128))
			goto bad;
		return (NULL);
	}
bad:
	return ("must be an IP address or network (127.0.0.1, 10.0.0.0/8, "
		"::1)");
}

static const char *
check_method(const char *s)
{
	static const char *methods[] = {
		"GET",
		"HEAD",
		"POST",
		"PUT",
		"PATCH",
		"DELETE",
		"OPTIONS",
	};
	size_t i;

	for (i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(s, methods[i]) == 0)
			return (NULL);
	return ("must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS");
}

static const char *
check_step_url(const char *s)
{
	if (*s == '/' || is_http_url(s))
		return (NULL);
	return ("must be a path (/login) or an http(s):// URL");
}

static const char *
check_json(const char *s)
{
	json_t			 *j;
	json_error_t		  e;
	static _Thread_local char why[128];

	/* jansson's own text may quote the input: give the position only. */
	if ((j = json_loads(s, JSON_DECODE_ANY, &e)) == NULL) {
		snprintf(why, sizeof why,
		    "is not valid JSON (line %d, column "
		    "%d)",
		    e.line, e.column);
		return (why);
	}
	json_decref(j);
	return (NULL);
}

static const char *
check_regex(const char *s)
{
	regex_t			  re;
	static _Thread_local char why[160];
	char			  err[100];
	int			  rc;

	if ((rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &re, err, sizeof err);
		snprintf(why, sizeof why,
		    "is not a valid extended regular "
		    "expression: %s",
		    err);
		return (why);
	}
	regfree(&re);
	return (NULL);
}

static const char *
check_json_pointer(const char *s)
{
	if (*s != '\0' && *s != '/')
		return ("must be a JSON pointer (\"/user/name\")");
	return (NULL);
}

static const char *webhook_events[] = {
	"approval_needed",
	"gate_needed",
	"reminder",
	"approved",
	"rejected",
	"deployed",
	"failed",
	"release_rejected",
	"checks_failed",
	"rolled_back",
	"expired",
	"cancelled",
	"superseded",
	"window_wait",
	"window_override",
};

int
config_webhook_event_known(const char *event)
{
	size_t i;

	for (i = 0; i < sizeof webhook_events / sizeof webhook_events[0]; i++)
		if (strcmp(event, webhook_events[i]) == 0)
			return (1);
	return (0);
}

/* A secret file: it exists and neither group nor others may use it. */
static void
check_secret_file(struct cp *cp, yaml_node_t *node, const char *path,
    const char *file)
{
	struct stat sb;

	if (*file != '/') {
		cp_error(cp, node, path,
		    "secret file \"%s\" must be an "
		    "absolute path",
		    file);
		return;
	}
	if (stat(file, &sb) == -1) {
		cp_error(cp, node, path, "secret file \"%s\": %s", file,
		    strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		cp_error(cp, node, path,
		    "secret file \"%s\" is not a regular "
		    "file",
		    file);
		return;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		cp_error(cp, node, path,
		    "secret file \"%s\" is readable or "
		    "writable by group or others (mode %04o): chmod 600 it",
		    file, (unsigned int)(sb.st_mode & 07777));
}

/*
 * References in check values: ${NAME} (an environment variable) and
 * ${file:/PATH} (a secret file).  Only the names and paths are checked.
 */
static void
check_references(struct cp *cp, yaml_node_t *node, const char *path,
    const char *s)
{
	const char *p, *end;
	char	   *ref;

	for (p = s; (p = strstr(p, "${")) != NULL; p = end + 1) {
		if ((end = strchr(p, '}')) == NULL) {
			cp_error(cp, node, path, "unterminated ${ reference");
			return;
		}
		ref = xstrndup(p + 2, end - p - 2);
		if (strncmp(ref, "file:", 5) == 0)
			check_secret_file(cp, node, path, ref + 5);
		else if (*ref == '\0' || isdigit((unsigned char)*ref) ||
			 !all_chars(ref, "_"))
			cp_error(cp, node, path,
			    "bad reference ${%s}: use "
			    "${NAME} for an environment variable or "
			    "${file:/PATH} for a file",
			    ref);
		free(ref);
	}
}

/* ------------------------------------------------------------------ */
/* Values. */

static void
set_str(char **field, const char *s)
{
	free(*field);
	*field = s != NULL ? xstrdup(s) : NULL;
}

static void
strings_free(struct config_strings *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void
kvs_free(struct config_kvs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int
string_ok(struct cp *cp, yaml_node_t *node, const struct ckey *k,
    const char *path, const char *s)
{
	const char *why;

	if (*s == '\0' && (k->flags & CK_EMPTY_OK) == 0) {
		cp_error(cp, node, path, "must not be empty");
		return (0);
	}
	if (*s != '\0' && k->check != NULL && (why = k->check(s)) != NULL) {
		if (k->flags & CK_SECRET) /* never echo it */
			cp_error(cp, node, path, "the value %s", why);
		else
			cp_error(cp, node, path, "\"%s\" %s", s, why);
		return (0);
	}
	return (1);
}

static void
parse_strings(struct cp *cp, yaml_node_t *node, const struct ckey *k,
    struct config_strings *l, const char *path)
{
	yaml_node_item_t *it;
	yaml_node_t	 *item;
	const char	 *s;
	char		 *ipath;
	size_t		  n, i;

	if (node->type != YAML_SEQUENCE_NODE) {
		cp_error(cp, node, path, "expected a list, found %s",
		    node_kind(node));
		return;
	}
	strings_free(l);
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n == 0 && (k->flags & CK_NONEMPTY)) {
		cp_error(cp, node, path, "must not be empty");
		return;
	}
	l->items = xcalloc(n + 1, sizeof *l->items);
	for (i = 0, it = node->data.sequence.items.start; i < n; i++, it++) {
		item = node_get(cp, *it);
		ipath = path_index(path, i);
		if (cp_visit(cp, item, ipath) == 0 &&
		    (s = scalar(cp, item, ipath, "a string")) != NULL &&
		    string_ok(cp, item, k, ipath, s)) {
			l->items[l->n] = xstrdup(s);
			cp_loc(cp, &l->items[l->n], item, ipath);
			l->n++;
		}
		free(ipath);
	}
}

static void
parse_kvs(struct cp *cp, yaml_node_t *node, struct config_kvs *l,
    const char *path)
{
	yaml_node_pair_t *pair;
	yaml_node_t	 *kn, *vn;
	const char	 *key, *value;
	char		 *kpath;
	size_t		  n;

	if (node->type != YAML_MAPPING_NODE) {
		cp_error(cp, node, path, "expected a mapping, found %s",
		    node_kind(node));
		return;
	}
	if (too_many_pairs(cp, node, path))
		return;
	kvs_free(l);
	n = node->data.mapping.pairs.top - node->data.mapping.pairs.start;
	l->items = xcalloc(n + 1, sizeof *l->items);
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		kn = node_get(cp, pair->key);
		vn = node_get(cp, pair->value);
		if ((key = scalar(cp, kn, path, "a string key")) == NULL ||
		    pair_is_duplicate(cp, node, pair, path))
			continue;
		kpath = path_key(path, key);
		if (cp_visit(cp, vn, kpath) == 0 &&
		    (value = scalar(cp, vn, kpath, "a string")) != NULL) {
			l->items[l->n].key = xstrdup(key);
			l->items[l->n].value = xstrdup(value);
			cp_loc(cp, &l->items[l->n], kn, kpath);
			l->n++;
		}
		free(kpath);
	}
}

static void
parse_list(struct cp *cp, yaml_node_t *node, const struct ckey *k, void *base,
    const char *path)
{
	yaml_node_item_t *it;
	yaml_node_t	 *item;
	char		 *ipath, *arr;
	void		**fieldp;
	size_t		 *countp, n, i;

	fieldp = (void **)((char *)base + k->off);
	countp = (size_t *)((char *)base + k->off_n);
	if (node->type != YAML_SEQUENCE_NODE) {
		cp_error(cp, node, path, "expected a list, found %s",
		    node_kind(node));
		return;
	}
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n == 0 && (k->flags & CK_NONEMPTY)) {
		cp_error(cp, node, path, "must not be empty");
		return;
	}
	arr = xcalloc(n + 1, k->child->size);
	*fieldp = arr;
	*countp = n;
	for (i = 0; i < n; i++)
		table_defaults(k->child, arr + i * k->child->size);
	for (i = 0, it = node->data.sequence.items.start; i < n; i++, it++) {
		item = node_get(cp, *it);
		ipath = path_index(path, i);
		parse_table(cp, item, k->child, arr + i * k->child->size,
		    ipath);
		free(ipath);
	}
}

static void
parse_value(struct cp *cp, yaml_node_t *node, const struct ckey *k, void *base,
    const char *path)
{
	void	   *field = (char *)base + k->off;
	const char *s = NULL;
	int64_t	    v;

	if (cp_visit(cp, node, path) != 0)
		return;
	/* Nested mappings may share their parent's address: no loc. */
	if (k->type != CT_MAP && k->type != CT_LIST && k->type != CT_CUSTOM)
		cp_loc(cp, field, node, path);
	switch (k->type) {
	case CT_STR:
		if ((s = scalar(cp, node, path, "a string")) == NULL ||
		    !string_ok(cp, node, k, path, s))
			return;
		set_str(field, s);
		if (k->flags & CK_SECRET_FILE)
			check_secret_file(cp, node, path, s);
		break;
	case CT_INT:
	case CT_U64:
		if ((s = scalar(cp, node, path, "a number")) == NULL)
			return;
		if (parse_int(s, &v) != 0) {
			cp_error(cp, node, path,
			    "expected a number, found "
			    "\"%s\"",
			    s);
			return;
		}
		if (v < k->min || v > k->max) {
			cp_error(cp, node, path,
			    "%" PRId64 " is out of range "
			    "(%" PRId64 " to %" PRId64 ")",
			    v, k->min, k->max);
			return;
		}
		if (k->type == CT_INT)
			*(int *)field = (int)v;
		else
			*(uint64_t *)field = (uint64_t)v;
		break;
	case CT_BOOL:
		if ((s = scalar(cp, node, path, "true or false")) == NULL)
			return;
		if (strcmp(s, "true") == 0)
			*(int *)field = 1;
		else if (strcmp(s, "false") == 0)
			*(int *)field = 0;
		else
			cp_error(cp, node, path,
			    "expected true or false, "
			    "found \"%s\"",
			    s);
		break;
	case CT_DURATION:
		if ((s = scalar(cp, node, path, "a duration")) == NULL)
			return;
		if ((v = config_parse_duration(s)) < 0) {
			cp_error(cp, node, path,
			    "invalid duration \"%s\" "
			    "(write e.g. 500ms, 90s, 15m, 24h or 7d)",
			    s);
			return;
		}
		if (v < k->min || (k->max != 0 && v > k->max)) {
			cp_error(cp, node, path,
			    "duration \"%s\" is out of "
			    "range",
			    s);
			return;
		}
		*(int64_t *)field = v;
		break;
	case CT_SIZE:
		if ((s = scalar(cp, node, path, "a size")) == NULL)
			return;
		if ((v = config_parse_size(s)) < 0) {
			cp_error(cp, node, path,
			    "invalid size \"%s\" (write "
			    "bytes or e.g. 512KiB, 50MiB, 1GiB)",
			    s);
			return;
		}
		if (v < k->min || (k->max != 0 && v > k->max)) {
			cp_error(cp, node, path,
			    "size \"%s\" is out of "
			    "range",
			    s);
			return;
		}
		*(uint64_t *)field = (uint64_t)v;
		break;
	case CT_STRS:
		parse_strings(cp, node, k, field, path);
		break;
	case CT_KVS:
		parse_kvs(cp, node, field, path);
		break;
	case CT_MAP:
		parse_table(cp, node, k->child, field, path);
		break;
	case CT_LIST:
		parse_list(cp, node, k, base, path);
		break;
	case CT_CUSTOM:
		k->custom(cp, node, k, base, path);
		break;
	}
}

static int
too_many_pairs(struct cp *cp, yaml_node_t *node, const char *path)
{
	if (node->data.mapping.pairs.top - node->data.mapping.pairs.start <=
	    CONFIG_MAX_PAIRS)
		return (0);
	cp_error(cp, node, path, "more than %d keys", CONFIG_MAX_PAIRS);
	return (1);
}

/* Reports each key that appears twice; 1 if pair p repeats an earlier. */
static int
pair_is_duplicate(struct cp *cp, yaml_node_t *map, yaml_node_pair_t *p,
    const char *path)
{
	yaml_node_pair_t *q;
	yaml_node_t	 *kp, *kq;
	char		 *kpath;

	kp = node_get(cp, p->key);
	if (kp->type != YAML_SCALAR_NODE)
		return (0);
	for (q = map->data.mapping.pairs.start; q < p; q++) {
		kq = node_get(cp, q->key);
		if (kq->type != YAML_SCALAR_NODE ||
		    kq->data.scalar.length != kp->data.scalar.length ||
		    memcmp(kq->data.scalar.value, kp->data.scalar.value,
			kp->data.scalar.length) != 0)
			continue;
		kpath = path_key(path, (char *)kp->data.scalar.value);
		cp_error(cp, kp, kpath, "duplicate key (first at line %zu)",
		    kq->start_mark.line + 1);
		free(kpath);
		return (1);
	}
	return (0);
}

static void
parse_table(struct cp *cp, yaml_node_t *node, const struct ctable *t,
    void *base, const char *path)
{
	yaml_node_pair_t *pair;
	yaml_node_t	 *kn, *vn;
	const char	 *key;
	char		 *kpath;
	uint64_t	  seen = 0;
	size_t		  i;

	if (cp_visit(cp, node, path) != 0)
		return;
	if (node->type != YAML_MAPPING_NODE) {
		cp_error(cp, node, path, "expected a mapping, found %s",
		    node_kind(node));
		return;
	}
	if (too_many_pairs(cp, node, path))
		return;
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		kn = node_get(cp, pair->key);
		vn = node_get(cp, pair->value);
		if ((key = scalar(cp, kn, path, "a key")) == NULL)
			continue;
		if (pair_is_duplicate(cp, node, pair, path))
			continue;
		kpath = path_key(path, key);
		for (i = 0; i < t->nkeys; i++)
			if (strcmp(t->keys[i].name, key) == 0)
				break;
		if (i == t->nkeys)
			cp_error(cp, kn, kpath, "unknown key");
		else {
			seen |= (uint64_t)1 << i;
			parse_value(cp, vn, &t->keys[i], base, kpath);
		}
		free(kpath);
	}
	for (i = 0; i < t->nkeys; i++) {
		if ((t->keys[i].flags & CK_REQUIRED) == 0 ||
		    (seen & ((uint64_t)1 << i)))
			continue;
		kpath = path_key(path, t->keys[i].name);
		cp_error(cp, node, kpath, "missing required key");
		free(kpath);
	}
	if (t->post != NULL)
		t->post(cp, node, base, path, seen);
}

/* ------------------------------------------------------------------ */
/* Defaults and freeing, both driven by the tables. */

static void
table_defaults(const struct ctable *t, void *base)
{
	const struct ckey *k;
	void		  *field;
	size_t		   i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		field = (char *)base + k->off;
		if (k->type == CT_MAP) {
			table_defaults(k->child, field);
			continue;
		}
		if (k->def == NULL)
			continue;
		switch (k->type) {
		case CT_STR:
			set_str(field, k->def);
			break;
		case CT_INT:
			*(int *)field = atoi(k->def);
			break;
		case CT_U64:
			*(uint64_t *)field = strtoull(k->def, NULL, 10);
			break;
		case CT_BOOL:
			*(int *)field = strcmp(k->def, "true") == 0;
			break;
		case CT_DURATION:
			*(int64_t *)field = config_parse_duration(k->def);
			break;
		case CT_SIZE:
			*(uint64_t *)field = config_parse_size(k->def);
			break;
		default:
			break;
		}
	}
}

static void
table_free(const struct ctable *t, void *base)
{
	const struct ckey *k;
	void		  *field;
	char		  *arr;
	size_t		   i, j, n;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		field = (char *)base + k->off;
		switch (k->type) {
		case CT_STR:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case CT_STRS:
			strings_free(field);
			break;
		case CT_KVS:
			kvs_free(field);
			break;
		case CT_MAP:
			table_free(k->child, field);
			break;
		case CT_LIST:
			arr = *(char **)field;
			n = *(size_t *)((char *)base + k->off_n);
			for (j = 0; arr != NULL && j < n; j++)
				table_free(k->child, arr + j * k->child->size);
			free(arr);
			*(char **)field = NULL;
			break;
		case CT_CUSTOM:
			if (k->free != NULL)
				k->free(base);
			break;
		default:
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Custom values. */

static void
parse_log_level(struct cp *cp, yaml_node_t *node, const struct ckey *k,
    void *base, const char *path)
{
	struct config *c = base;
	const char    *s;
	int	       level;

	if ((s = scalar(cp, node, path, "a log level")) == NULL)
		return;
	if ((level = log_level_from_name(s)) == -1) {
		cp_error(cp, node, path,
		    "unknown log level \"%s\" (debug, "
		    "info, notice, warning or err)",
		    s);
		return;
	}
	c->log_level = level;
}

static void
parse_log_debug(struct cp *cp, yaml_node_t *node, const struct ckey *k,
    void *base, const char *path)
{
	struct config	 *c = base;
	yaml_node_item_t *it;
	const char	 *s;
	char		 *ipath;
	int		  cat;
	size_t		  i;

	if (node->type != YAML_SEQUENCE_NODE) {
		cp_error(cp, node, path, "expected a list, found %s",
		    node_kind(node));
		return;
	}
	c->log_debug = 0;
	for (i = 0, it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++, i++) {
		ipath = path_index(path, i);
		if ((s = scalar(cp, node_get(cp, *it), ipath, "a category")) !=
		    NULL) {
			if ((cat = log_category_from_name(s)) == -1)
				cp_error(cp, node_get(cp, *it), ipath,
				    "unknown debug category \"%s\" (aws, http, "
				    "engine, store, portal, config or all)",
				    s);
			else
				c->log_debug |= cat;
		}
		free(ipath);
	}
}

static void
parse_mode(struct cp *cp, yaml_node_t *node, const struct ckey *k, void *base,
    const char *path)
{
	struct config_app *app = base;
	const char	  *s;

	if ((s = scalar(cp, node, path, "a mode")) == NULL)
		return;
	if (strcmp(s, "superseded") == 0)
		app->mode = CONFIG_MODE_SUPERSEDED;
	else if (strcmp(s, "queued") == 0)
		app->mode = CONFIG_MODE_QUEUED;
	else
		cp_error(cp, node, path,
		    "must be superseded or queued, not "
		    "\"%s\"",
		    s);
}

static void
parse_drift(struct cp *cp, yaml_node_t *node, const struct ckey *k, void *base,
    const char *path)
{
	struct config_environment *env = base;
	const char		  *s;

	if ((s = scalar(cp, node, path, "a drift mode")) == NULL)
		return;
	if (strcmp(s, "warn") == 0)
		env->drift = CONFIG_DRIFT_WARN;
	else if (strcmp(s, "block") == 0)
		env->drift = CONFIG_DRIFT_BLOCK;
	else if (strcmp(s, "off") == 0)
		env->drift = CONFIG_DRIFT_OFF;
	else
		cp_error(cp, node, path,
		    "must be warn, block or off, not \"%s\"", s);
}

static int
parse_status_one(struct cp *cp, yaml_node_t *node, const char *path, int *out)
{
	const char *s;
	int64_t	    v;

	if ((s = scalar(cp, node, path, "an HTTP status")) == NULL)
		return (-1);
	if (parse_int(s, &v) != 0 || v < 100 || v > 599) {
		cp_error(cp, node, path,
		    "expected an HTTP status (100 to 599), "
		    "found \"%s\"",
		    s);
		return (-1);
	}
	*out = (int)v;
	return (0);
}

static void
parse_status(struct cp *cp, yaml_node_t *node, const struct ckey *k, void *base,
    const char *path)
{
	struct config_check_step *st = base;
	yaml_node_item_t	 *it;
	char			 *ipath;
	size_t			  n, i;

	free(st->expect_status);
	st->expect_status = NULL;
	st->nexpect_status = 0;
	if (node->type == YAML_SCALAR_NODE) {
		st->expect_status = xcalloc(1, sizeof *st->expect_status);
		if (parse_status_one(cp, node, path, st->expect_status) == 0)
			st->nexpect_status = 1;
		return;
	}
	if (node->type != YAML_SEQUENCE_NODE) {
		cp_error(cp, node, path,
		    "expected a status or a list of "
		    "them, found %s",
		    node_kind(node));
		return;
	}
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n == 0) {
		cp_error(cp, node, path, "must not be empty");
		return;
	}
	st->expect_status = xcalloc(n, sizeof *st->expect_status);
	for (i = 0, it = node->data.sequence.items.start; i < n; i++, it++) {
		ipath = path_index(path, i);
		if (parse_status_one(cp, node_get(cp, *it), ipath,
			&st->expect_status[st->nexpect_status]) == 0)
			st->nexpect_status++;
		free(ipath);
	}
}

static void
free_status(void *base)
{
	struct config_check_step *st = base;

	free(st->expect_status);
	st->expect_status = NULL;
}

static void
parse_endpoints(struct cp *cp, yaml_node_t *node, const struct ckey *k,
    void *base, const char *path)
{
	struct config_aws *aws = base;
	yaml_node_pair_t  *pair;
	yaml_node_t	  *kn, *vn;
	const char	  *key, *url;
	char		  *kpath;
	size_t		   i, n;

	if (node->type != YAML_MAPPING_NODE) {
		cp_error(cp, node, path, "expected a mapping, found %s",
		    node_kind(node));
		return;
	}
	if (too_many_pairs(cp, node, path))
		return;
	n = node->data.mapping.pairs.top - node->data.mapping.pairs.start;
	aws->endpoints = xcalloc(n + 1, sizeof *aws->endpoints);
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		kn = node_get(cp, pair->key);
		vn = node_get(cp, pair->value);
		if ((key = scalar(cp, kn, path, "a service name")) == NULL ||
		    pair_is_duplicate(cp, node, pair, path))
			continue;
		kpath = path_key(path, key);
		for (i = 0; i < k->child->nkeys; i++)
			if (strcmp(k->child->keys[i].name, key) == 0)
				break;
		if (i == k->child->nkeys)
			cp_error(cp, kn, kpath,
			    "unknown service (s3, sqs, sts, "
			    "cloudformation, ecs, ecr or sesv2)");
		else if ((url = scalar(cp, vn, kpath, "a URL")) != NULL &&
			 string_ok(cp, vn, &k->child->keys[i], kpath, url)) {
			aws->endpoints[aws->nendpoints].service = xstrdup(key);
			aws->endpoints[aws->nendpoints].url = xstrdup(url);
			cp_loc(cp, &aws->endpoints[aws->nendpoints], vn, kpath);
			aws->nendpoints++;
		}
		free(kpath);
	}
}

static void
free_endpoints(void *base)
{
	struct config_aws *aws = base;
	size_t		   i;

	for (i = 0; i < aws->nendpoints; i++) {
		free(aws->endpoints[i].service);
		free(aws->endpoints[i].url);
	}
	free(aws->endpoints);
	aws->endpoints = NULL;
	aws->nendpoints = 0;
}

static void
parse_checks(struct cp *cp, yaml_node_t *node, const struct ckey *k, void *base,
    const char *path)
{
	struct config	    *c = base;
	struct config_check *chk;
	yaml_node_pair_t    *pair;
	yaml_node_t	    *kn, *vn;
	const char	    *key, *why;
	struct ckey	     steps;
	char		    *kpath;
	size_t		     n;

	if (node->type != YAML_MAPPING_NODE) {
		cp_error(cp, node, path,
		    "expected a mapping of check names "
		    "to lists of steps, found %s",
		    node_kind(node));
		return;
	}
	if (too_many_pairs(cp, node, path))
		return;
	n = node->data.mapping.pairs.top - node->data.mapping.pairs.start;
	c->checks = xcalloc(n + 1, sizeof *c->checks);
	memset(&steps, 0, sizeof steps);
	steps.type = CT_LIST;
	steps.flags = CK_NONEMPTY;
	steps.child = k->child;
	steps.off = offsetof(struct config_check, steps);
	steps.off_n = offsetof(struct config_check, nsteps);
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		kn = node_get(cp, pair->key);
		vn = node_get(cp, pair->value);
		if ((key = scalar(cp, kn, path, "a check name")) == NULL ||
		    pair_is_duplicate(cp, node, pair, path))
			continue;
		kpath = path_key(path, key);
		if ((why = check_name(key)) != NULL) {
			cp_error(cp, kn, kpath, "check name %s", why);
			free(kpath);
			continue;
		}
		chk = &c->checks[c->nchecks++];
		chk->name = xstrdup(key);
		cp_loc(cp, &chk->name, kn, kpath);
		parse_value(cp, vn, &steps, chk, kpath);
		free(kpath);
	}
}

static const struct ctable step_table;

static void
free_checks(void *base)
{
	struct config *c = base;
	size_t	       i, j;

	for (i = 0; i < c->nchecks; i++) {
		for (j = 0; j < c->checks[i].nsteps; j++)
			table_free(&step_table, &c->checks[i].steps[j]);
		free(c->checks[i].steps);
		free(c->checks[i].name);
	}
	free(c->checks);
	c->checks = NULL;
	c->nchecks = 0;
}

/* ------------------------------------------------------------------ */
/* Checks over a whole mapping, once its keys are read. */

#define SEEN(t, name) table_seen(&(t), (name), seen)

static int
table_seen(const struct ctable *t, const char *name, uint64_t seen)
{
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].name, name) == 0)
			return ((seen & ((uint64_t)1 << i)) != 0);
	abort();
}

static const struct ctable mail_table;

static void
post_mail(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_mail *m = base;

	if (SEEN(mail_table, "ses") && SEEN(mail_table, "smtp"))
		cp_error(cp, node, path,
		    "ses and smtp are exclusive: choose one");
	else if (SEEN(mail_table, "ses"))
		m->transport = CONFIG_MAIL_SES;
	else if (SEEN(mail_table, "smtp"))
		m->transport = CONFIG_MAIL_SMTP;
	else
		cp_error(cp, node, path, "needs ses or smtp");
}

static void
post_smtp(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_mail *m = base;

	if ((m->smtp_username == NULL) != (m->smtp_password_file == NULL))
		cp_error(cp, node, path,
		    "username and password_file go "
		    "together");
	/* The password would cross the network in clear. */
	if (config_mail_plaintext_auth(m) && !m->smtp_allow_plaintext_auth)
		cp_error(cp, node, path,
		    "username without TLS sends the "
		    "password in clear: use smtps://, starttls: true, or set "
		    "allow_plaintext_auth: true");
}

static void
post_registry(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_registry *r = base;

	if ((r->username == NULL) != (r->password_file == NULL))
		cp_error(cp, node, path,
		    "username and password_file go "
		    "together");
	if (r->url == NULL && r->host != NULL)
		r->url = xasprintf("https://%s", r->host);
}

static void
check_group_map(struct cp *cp, const struct config_kvs *groups)
{
	const char *why;
	size_t	    i;

	for (i = 0; i < groups->n; i++)
		if ((why = check_name(groups->items[i].value)) != NULL)
			cp_error_at(cp, &groups->items[i],
			    "the shipgate group "
			    "\"%s\" %s",
			    groups->items[i].value, why);
}

static void
post_oidc(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_oidc *o = base;
	static const char  *defaults[] = { "openid", "email", "profile" };
	size_t		    i;

	if (o->scopes.n == 0) {
		strings_free(&o->scopes);
		o->scopes.items = xcalloc(4, sizeof *o->scopes.items);
		for (i = 0; i < 3; i++)
			o->scopes.items[i] = xstrdup(defaults[i]);
		o->scopes.n = 3;
	}
	for (i = 0; i < o->scopes.n; i++)
		if (strcmp(o->scopes.items[i], "openid") == 0)
			break;
	if (i == o->scopes.n)
		cp_error_at(cp, &o->scopes.items[0],
		    "scopes must include "
		    "openid");
	for (i = 0; i < o->scopes.n; i++)
		if (!all_chars(o->scopes.items[i], ":_-./"))
			cp_error_at(cp, &o->scopes.items[i],
			    "\"%s\" is not a "
			    "scope name",
			    o->scopes.items[i]);
	if (o->issuer != NULL && strncmp(o->issuer, "http://", 7) == 0)
		o->loopback = 1;
	check_group_map(cp, &o->groups);
	if (o->groups.n == 0)
		cp_error(cp, node, path,
		    "needs groups (the provider groups "
		    "that map to shipgate groups): nobody could sign in");
}

static void
post_alb(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_alb *a = base;
	const char	  *r, *e;

	if (a->region == NULL && a->arn != NULL &&
	    check_alb_arn(a->arn) == NULL) {
		r = strstr(a->arn, ":elasticloadbalancing:") + 22;
		e = strchr(r, ':');
		a->region = xstrndup(r, (size_t)(e - r));
		if (check_region(a->region) != NULL)
			cp_error_at(cp, &a->arn,
			    "the ARN's region \"%s\" is "
			    "not an AWS region",
			    a->region);
	}
	if (a->key_url == NULL && a->region != NULL)
		a->key_url = xasprintf("https://public-keys.auth.elb.%s."
				       "amazonaws.com",
		    a->region);
	check_group_map(cp, &a->groups);
	if (a->groups.n == 0)
		cp_error(cp, node, path,
		    "needs groups (the provider groups "
		    "that map to shipgate groups): nobody could sign in");
}

/* Re-points reference errors at the value that holds them. */
static void
post_request(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_check_step *st = base;
	const struct config_loc	 *l;
	yaml_node_t		  at;
	size_t			  i;

	memset(&at, 0, sizeof at);
#define REFS(addr, value)                                            \
	do {                                                         \
		if ((value) != NULL &&                               \
		    (l = cp_find_loc(cp, (addr))) != NULL) {         \
			at.start_mark.line = l->line - 1;            \
			at.start_mark.column = l->column - 1;        \
			check_references(cp, &at, l->path, (value)); \
		}                                                    \
	} while (0)
	REFS(&st->url, st->url);
	for (i = 0; i < st->headers.n; i++)
		REFS(&st->headers.items[i], st->headers.items[i].value);
	for (i = 0; i < st->form.n; i++)
		REFS(&st->form.items[i], st->form.items[i].value);
	REFS(&st->json_body, st->json_body);
#undef REFS
	for (i = 0; i < st->headers.n; i++)
		if (check_token(st->headers.items[i].key) != NULL)
			cp_error_at(cp, &st->headers.items[i],
			    "must be an "
			    "HTTP header name");
}

static void
post_step_whole(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_check_step *st = base;

	if (st->form.n > 0 && st->json_body != NULL)
		cp_error(cp, node, path,
		    "request form and json are "
		    "exclusive");
	if (st->expect_json_equals != NULL && st->expect_json_pointer == NULL)
		cp_error(cp, node, path,
		    "expect json_equals needs "
		    "json_pointer");
}

/* ------------------------------------------------------------------ */
/* The schema: one table per mapping. */

#define KEY(n, t, st, f, ...)                                                 \
	{                                                                     \
		.name = (n), .type = (t), .off = offsetof(st, f), __VA_ARGS__ \
	}
/* A nested mapping whose keys fill the same structure. */
#define SUB(n, tbl, ...)                                               \
	{                                                              \
		.name = (n), .type = CT_MAP, .off = 0, .child = (tbl), \
		__VA_ARGS__                                            \
	}

static const struct ckey tls_keys[] = {
	KEY("certificate", CT_STR, struct config, tls_certificate,
	    .flags = CK_REQUIRED, .check = check_path),
	KEY("key", CT_STR, struct config, tls_key,
	    .flags = CK_REQUIRED | CK_SECRET_FILE),
};
static const struct ctable tls_table = { tls_keys, 2, 0, NULL };

static const struct ckey endpoint_keys[] = {
	{ .name = "s3", .type = CT_STR, .check = check_http_url },
	{ .name = "sqs", .type = CT_STR, .check = check_http_url },
	{ .name = "sts", .type = CT_STR, .check = check_http_url },
	{ .name = "cloudformation", .type = CT_STR, .check = check_http_url },
	{ .name = "ecs", .type = CT_STR, .check = check_http_url },
	{ .name = "ecr", .type = CT_STR, .check = check_http_url },
	{ .name = "sesv2", .type = CT_STR, .check = check_http_url },
};
static const struct ctable endpoint_table = { endpoint_keys,
	sizeof endpoint_keys / sizeof endpoint_keys[0], 0, NULL };

static const struct ckey aws_keys[] = {
	KEY("region", CT_STR, struct config_aws, region, .flags = CK_REQUIRED,
	    .check = check_region),
	KEY("max_attempts", CT_INT, struct config_aws, max_attempts, .def = "5",
	    .min = 1, .max = 20),
	KEY("profile", CT_STR, struct config_aws, profile),
	KEY("endpoints", CT_CUSTOM, struct config_aws, endpoints,
	    .custom = parse_endpoints, .free = free_endpoints,
	    .child = &endpoint_table, .doc = "mapping of service to URL"),
};
static const struct ctable aws_table = { aws_keys,
	sizeof aws_keys / sizeof aws_keys[0], 0, NULL };

static const struct ckey ses_keys[] = {
	KEY("region", CT_STR, struct config_mail, ses_region,
	    .check = check_region),
};
static const struct ctable ses_table = { ses_keys, 1, 0, NULL };

static const struct ckey smtp_keys[] = {
	KEY("url", CT_STR, struct config_mail, smtp_url, .flags = CK_REQUIRED,
	    .check = check_smtp_url),
	KEY("username", CT_STR, struct config_mail, smtp_username),
	KEY("password_file", CT_STR, struct config_mail, smtp_password_file,
	    .flags = CK_SECRET_FILE),
	KEY("starttls", CT_BOOL, struct config_mail, smtp_starttls,
	    .def = "true"),
	KEY("allow_plaintext_auth", CT_BOOL, struct config_mail,
	    smtp_allow_plaintext_auth, .def = "false"),
};
static const struct ctable smtp_table = { smtp_keys,
	sizeof smtp_keys / sizeof smtp_keys[0], 0, post_smtp };

static const struct ckey mail_keys[] = {
	KEY("from", CT_STR, struct config_mail, from, .flags = CK_REQUIRED),
	SUB("ses", &ses_table),
	SUB("smtp", &smtp_table),
	KEY("remind_every", CT_DURATION, struct config_mail, remind_every_ms,
	    .def = "24h"),
};
static const struct ctable mail_table = { mail_keys,
	sizeof mail_keys / sizeof mail_keys[0], 0, post_mail };

static const struct ckey webhook_keys[] = {
	KEY("url_file", CT_STR, struct config_webhook, url_file,
	    .flags = CK_REQUIRED | CK_SECRET_FILE),
	KEY("events", CT_STRS, struct config_webhook, events),
};
static const struct ctable webhook_table = { webhook_keys, 2,
	sizeof(struct config_webhook), NULL };

static const struct ckey user_keys[] = {
	KEY("name", CT_STR, struct config_user, name, .flags = CK_REQUIRED,
	    .check = check_name),
	KEY("email", CT_STR, struct config_user, email, .flags = CK_REQUIRED,
	    .check = check_email),
	KEY("password_hash", CT_STR, struct config_user, password_hash,
	    .flags = CK_SECRET, .check = check_password_hash),
	KEY("groups", CT_STRS, struct config_user, groups, .check = check_name),
	KEY("unix_user", CT_STR, struct config_user, unix_user,
	    .check = check_unix_name),
	KEY("unix_uid", CT_INT, struct config_user, unix_uid, .def = "-1",
	    .min = 0, .max = 2147483647),
};
static const struct ctable user_table = { user_keys,
	sizeof user_keys / sizeof user_keys[0], sizeof(struct config_user),
	NULL };

static const struct ckey group_keys[] = {
	KEY("name", CT_STR, struct config_group, name, .flags = CK_REQUIRED,
	    .check = check_name),
	KEY("mail", CT_STRS, struct config_group, mail,
	    .flags = CK_REQUIRED | CK_NONEMPTY, .check = check_email),
};
static const struct ctable group_table = { group_keys,
	sizeof group_keys / sizeof group_keys[0], sizeof(struct config_group),
	NULL };

static const struct ckey request_keys[] = {
	KEY("method", CT_STR, struct config_check_step, method, .def = "GET",
	    .check = check_method),
	KEY("url", CT_STR, struct config_check_step, url, .flags = CK_REQUIRED,
	    .check = check_step_url),
	KEY("headers", CT_KVS, struct config_check_step, headers),
	KEY("form", CT_KVS, struct config_check_step, form),
	KEY("json", CT_STR, struct config_check_step, json_body,
	    .flags = CK_SECRET, .check = check_json),
	KEY("max_redirects", CT_INT, struct config_check_step, max_redirects,
	    .def = "5", .min = 0, .max = 50),
};
static const struct ctable request_table = { request_keys,
	sizeof request_keys / sizeof request_keys[0], 0, post_request };

static const struct ckey expect_keys[] = {
	KEY("status", CT_CUSTOM, struct config_check_step, expect_status,
	    .custom = parse_status, .free = free_status,
	    .doc = "status or list of statuses"),
	KEY("contains", CT_STR, struct config_check_step, expect_contains),
	KEY("regex", CT_STR, struct config_check_step, expect_regex,
	    .check = check_regex),
	KEY("json_pointer", CT_STR, struct config_check_step,
	    expect_json_pointer, .flags = CK_EMPTY_OK,
	    .check = check_json_pointer),
	KEY("json_equals", CT_STR, struct config_check_step, expect_json_equals,
	    .flags = CK_EMPTY_OK),
	KEY("header", CT_STR, struct config_check_step, expect_header,
	    .check = check_token),
};
static const struct ctable expect_table = { expect_keys,
	sizeof expect_keys / sizeof expect_keys[0], 0, NULL };

static const struct ckey retries_keys[] = {
	KEY("count", CT_INT, struct config_check_step, retries,
	    .flags = CK_REQUIRED, .min = 0, .max = 1000),
	KEY("delay", CT_DURATION, struct config_check_step, retry_delay_ms,
	    .def = "5s"),
};
static const struct ctable retries_table = { retries_keys, 2, 0, NULL };

static const struct ckey step_keys[] = {
	KEY("name", CT_STR, struct config_check_step, name,
	    .flags = CK_REQUIRED),
	SUB("request", &request_table, .flags = CK_REQUIRED),
	SUB("expect", &expect_table),
	SUB("retries", &retries_table),
	KEY("timeout", CT_DURATION, struct config_check_step, timeout_ms,
	    .def = "30s", .min = 1),
};
static const struct ctable step_table = { step_keys,
	sizeof step_keys / sizeof step_keys[0],
	sizeof(struct config_check_step), post_step_whole };

static const struct ckey source_keys[] = {
	KEY("bucket", CT_STR, struct config_app, source_bucket,
	    .flags = CK_REQUIRED, .check = check_bucket),
	KEY("prefix", CT_STR, struct config_app, source_prefix, .def = "",
	    .flags = CK_EMPTY_OK),
	KEY("queue_url", CT_STR, struct config_app, source_queue_url,
	    .check = check_http_url),
	KEY("poll_interval", CT_DURATION, struct config_app, poll_interval_ms,
	    .def = "60s", .min = 1000),
	KEY("max_receives", CT_INT, struct config_app, max_receives, .def = "5",
	    .min = 1, .max = 1000),
};
static const struct ctable source_table = { source_keys,
	sizeof source_keys / sizeof source_keys[0], 0, NULL };

static const struct ckey artifacts_keys[] = {
	KEY("bucket", CT_STR, struct config_app, artifacts_bucket,
	    .flags = CK_REQUIRED, .check = check_bucket),
	KEY("prefix", CT_STR, struct config_app, artifacts_prefix, .def = "",
	    .flags = CK_EMPTY_OK),
};
static const struct ctable artifacts_table = { artifacts_keys, 2, 0, NULL };

static const struct ckey limits_keys[] = {
	KEY("zip_size", CT_SIZE, struct config_app, limit_zip_size,
	    .def = "50MiB", .min = 1),
	KEY("entries", CT_U64, struct config_app, limit_entries, .def = "200",
	    .min = 1, .max = 100000),
	KEY("unpacked_size", CT_SIZE, struct config_app, limit_unpacked_size,
	    .def = "200MiB", .min = 1),
	KEY("entry_size", CT_SIZE, struct config_app, limit_entry_size,
	    .def = "100MiB", .min = 1),
	KEY("ratio", CT_INT, struct config_app, limit_ratio, .def = "100",
	    .min = 1, .max = 100000),
};
static const struct ctable limits_table = { limits_keys,
	sizeof limits_keys / sizeof limits_keys[0], 0, NULL };

/* A time zone, read now so that a misspelt one is a config error. */
static void
parse_zone(struct cp *cp, yaml_node_t *node, const struct ckey *k, void *base,
    const char *path)
{
	struct config_zone *z = (struct config_zone *)((char *)base + k->off);
	const char	   *s;
	char		   *cause = NULL;

	cp_loc(cp, z, node, path);
	if ((s = scalar(cp, node, path, "a time zone")) == NULL)
		return;
	if ((z->tz = window_zone_load(s, &cause)) == NULL) {
		cp_error(cp, node, path, "%s", cause);
		free(cause);
		return;
	}
	set_str(&z->name, s);
}

static void
config_zone_clear(struct config_zone *z)
{
	window_zone_free(z->tz);
	z->tz = NULL;
	free(z->name);
	z->name = NULL;
}

static void
free_window_zone(void *base)
{
	config_zone_clear(&((struct config_window *)base)->zone);
}

static void
free_freeze_zone(void *base)
{
	config_zone_clear(&((struct config_freeze *)base)->zone);
}

static void
post_window(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_window *w = base;
	char		     *cause = NULL;

	if (w->days != NULL &&
	    window_parse_days(w->days, &w->day_mask, &cause) != 0) {
		cp_error_at(cp, &w->days, "%s", cause);
		free(cause);
		cause = NULL;
	}
	if (w->from != NULL &&
	    window_parse_time(w->from, &w->from_minute, &cause) != 0) {
		cp_error_at(cp, &w->from, "%s", cause);
		free(cause);
		cause = NULL;
		return;
	}
	if (w->to != NULL &&
	    window_parse_time(w->to, &w->to_minute, &cause) != 0) {
		cp_error_at(cp, &w->to, "%s", cause);
		free(cause);
		return;
	}
	/* A window over midnight is two windows: say so rather than guess
	   which day it belongs to. */
	if (w->from != NULL && w->to != NULL && w->to_minute <= w->from_minute)
		cp_error_at(cp, &w->to,
		    "%s is not after from %s (a window "
		    "over midnight is written as two, ending at 24:00 and "
		    "starting at 00:00)",
		    w->to, w->from);
}

static void
post_freeze(struct cp *cp, yaml_node_t *node, void *base, const char *path,
    uint64_t seen)
{
	struct config_freeze *f = base;
	char		     *cause = NULL;
	int		      ok = 1;

	if (f->from != NULL &&
	    window_parse_date(f->from, &f->from_day, &cause) != 0) {
		cp_error_at(cp, &f->from, "%s", cause);
		free(cause);
		cause = NULL;
		ok = 0;
	}
	if (f->to != NULL &&
	    window_parse_date(f->to, &f->to_day, &cause) != 0) {
		cp_error_at(cp, &f->to, "%s", cause);
		free(cause);
		ok = 0;
	}
	if (ok && f->from != NULL && f->to != NULL && f->to_day < f->from_day)
		cp_error_at(cp, &f->to, "%s is before from %s", f->to, f->from);
}

static const struct ckey window_keys[] = {
	KEY("days", CT_STR, struct config_window, days, .flags = CK_REQUIRED),
	KEY("from", CT_STR, struct config_window, from, .flags = CK_REQUIRED),
	KEY("to", CT_STR, struct config_window, to, .flags = CK_REQUIRED),
	KEY("zone", CT_CUSTOM, struct config_window, zone, .flags = CK_REQUIRED,
	    .custom = parse_zone, .free = free_window_zone,
	    .doc = "a time zone"),
};
static const struct ctable window_table = { window_keys,
	sizeof window_keys / sizeof window_keys[0],
	sizeof(struct config_window), post_window };

static const struct ckey freeze_keys[] = {
	KEY("from", CT_STR, struct config_freeze, from, .flags = CK_REQUIRED),
	KEY("to", CT_STR, struct config_freeze, to, .flags = CK_REQUIRED),
	KEY("reason", CT_STR, struct config_freeze, reason,
	    .flags = CK_REQUIRED),
	KEY("zone", CT_CUSTOM, struct config_freeze, zone, .custom = parse_zone,
	    .free = free_freeze_zone, .doc = "a time zone"),
};
static const struct ctable freeze_table = { freeze_keys,
	sizeof freeze_keys / sizeof freeze_keys[0],
	sizeof(struct config_freeze), post_freeze };

static const struct ckey environment_keys[] = {
	KEY("name", CT_STR, struct config_environment, name,
	    .flags = CK_REQUIRED, .check = check_name),
	KEY("account", CT_STR, struct config_environment, account,
	    .flags = CK_REQUIRED, .check = check_account),
	KEY("role_arn", CT_STR, struct config_environment, role_arn,
	    .flags = CK_REQUIRED, .check = check_role_arn),
	KEY("external_id", CT_STR, struct config_environment, external_id,
	    .flags = CK_SECRET),
	KEY("region", CT_STR, struct config_environment, region,
	    .check = check_region),
	KEY("stack", CT_STR, struct config_environment, stack,
	    .flags = CK_REQUIRED, .check = check_stack),
	KEY("base_url", CT_STR, struct config_environment, base_url,
	    .check = check_http_url),
	KEY("registry", CT_STR, struct config_environment, registry,
	    .check = check_registry),
	KEY("approvers", CT_STRS, struct config_environment, approvers,
	    .flags = CK_REQUIRED | CK_NONEMPTY, .check = check_name),
	KEY("required_approvals", CT_INT, struct config_environment,
	    required_approvals, .def = "1", .min = 1, .max = 100),
	KEY("allow_self_approval", CT_BOOL, struct config_environment,
	    allow_self_approval, .def = "true"),
	KEY("approve_no_changes", CT_BOOL, struct config_environment,
	    approve_no_changes, .def = "true"),
	KEY("approval_timeout", CT_DURATION, struct config_environment,
	    approval_timeout_ms, .def = "7d", .min = 1000),
	KEY("deploy_timeout", CT_DURATION, struct config_environment,
	    deploy_timeout_ms, .def = "60m", .min = 1000),
	KEY("parameters", CT_KVS, struct config_environment, parameters),
	KEY("checks", CT_STRS, struct config_environment, checks),
	KEY("auto_rollback", CT_BOOL, struct config_environment, auto_rollback,
	    .def = "false"),
	KEY("gate", CT_STRS, struct config_environment, gate,
	    .check = check_name),
	KEY("release_checks", CT_STRS, struct config_environment,
	    release_checks, .check = check_name),
	KEY("release_may_set", CT_STRS, struct config_environment,
	    release_may_set),
	KEY("windows", CT_LIST, struct config_environment, windows,
	    .off_n = offsetof(struct config_environment, nwindows),
	    .child = &window_table),
	KEY("freezes", CT_LIST, struct config_environment, freezes,
	    .off_n = offsetof(struct config_environment, nfreezes),
	    .child = &freeze_table),
	KEY("drift", CT_CUSTOM, struct config_environment, drift,
	    .custom = parse_drift, .def = "warn", .doc = "warn, block or off"),
	KEY("drift_timeout", CT_DURATION, struct config_environment,
	    drift_timeout_ms, .def = "120s", .min = 1000),
};
static const struct ctable environment_table = { environment_keys,
	sizeof environment_keys / sizeof environment_keys[0],
	sizeof(struct config_environment), NULL };

static const struct ckey app_keys[] = {
	KEY("name", CT_STR, struct config_app, name, .flags = CK_REQUIRED,
	    .check = check_name),
	SUB("source", &source_table, .flags = CK_REQUIRED),
	SUB("artifacts", &artifacts_table),
	KEY("registry", CT_STR, struct config_app, registry,
	    .check = check_registry),
	KEY("mode", CT_CUSTOM, struct config_app, mode, .custom = parse_mode,
	    .def = "superseded", .doc = "superseded or queued"),
	SUB("limits", &limits_table),
	KEY("environments", CT_LIST, struct config_app, environments,
	    .off_n = offsetof(struct config_app, nenvironments),
	    .child = &environment_table, .flags = CK_REQUIRED | CK_NONEMPTY),
};
static const struct ctable app_table = { app_keys,
	sizeof app_keys / sizeof app_keys[0], sizeof(struct config_app), NULL };

static const struct ckey registry_keys[] = {
	KEY("host", CT_STR, struct config_registry, host, .flags = CK_REQUIRED,
	    .check = check_registry),
	KEY("url", CT_STR, struct config_registry, url,
	    .check = check_http_url),
	KEY("username", CT_STR, struct config_registry, username),
	KEY("password_file", CT_STR, struct config_registry, password_file,
	    .flags = CK_SECRET_FILE),
};
static const struct ctable registry_table = { registry_keys,
	sizeof registry_keys / sizeof registry_keys[0],
	sizeof(struct config_registry), post_registry };

static const struct ckey promotion_keys[] = {
	KEY("parallel_blobs", CT_INT, struct config, promotion_parallel_blobs,
	    .def = "4", .min = 1, .max = 64),
};
static const struct ctable promotion_table = { promotion_keys, 1, 0, NULL };

static const struct ckey oidc_keys[] = {
	KEY("issuer", CT_STR, struct config_oidc, issuer, .flags = CK_REQUIRED,
	    .check = check_issuer),
	KEY("client_id", CT_STR, struct config_oidc, client_id,
	    .flags = CK_REQUIRED),
	KEY("client_secret_file", CT_STR, struct config_oidc,
	    client_secret_file, .flags = CK_REQUIRED | CK_SECRET_FILE),
	KEY("scopes", CT_STRS, struct config_oidc, scopes,
	    .def = "[openid, email, profile]"),
	KEY("groups_claim", CT_STR, struct config_oidc, groups_claim,
	    .def = "groups", .check = check_claim),
	KEY("user_claim", CT_STR, struct config_oidc, user_claim,
	    .def = "email", .check = check_claim),
	KEY("groups", CT_KVS, struct config_oidc, groups),
	KEY("remember_days", CT_INT, struct config_oidc, remember_days,
	    .def = "90", .min = 1, .max = 3650),
};
static const struct ctable oidc_table = { oidc_keys,
	sizeof oidc_keys / sizeof oidc_keys[0], 0, post_oidc };

static const struct ckey alb_keys[] = {
	KEY("arn", CT_STR, struct config_alb, arn, .flags = CK_REQUIRED,
	    .check = check_alb_arn),
	KEY("region", CT_STR, struct config_alb, region, .check = check_region),
	KEY("key_url", CT_STR, struct config_alb, key_url,
	    .check = check_http_url),
	KEY("groups_claim", CT_STR, struct config_alb, groups_claim,
	    .def = "groups", .check = check_claim),
	KEY("user_claim", CT_STR, struct config_alb, user_claim, .def = "email",
	    .check = check_claim),
	KEY("groups", CT_KVS, struct config_alb, groups),
	KEY("remember_days", CT_INT, struct config_alb, remember_days,
	    .def = "90", .min = 1, .max = 3650),
};
static const struct ctable alb_table = { alb_keys,
	sizeof alb_keys / sizeof alb_keys[0], 0, post_alb };

static const struct ckey auth_keys[] = {
	KEY("oidc", CT_MAP, struct config, oidc, .child = &oidc_table),
	KEY("alb", CT_MAP, struct config, alb, .child = &alb_table),
};
static const struct ctable auth_table = { auth_keys,
	sizeof auth_keys / sizeof auth_keys[0], 0, NULL };

static const struct ckey portal_keys[] = {
	KEY("session_idle_timeout", CT_DURATION, struct config,
	    session_idle_timeout_ms, .def = "8h", .min = 60000),
	KEY("session_lifetime", CT_DURATION, struct config, session_lifetime_ms,
	    .def = "7d", .min = 60000),
	KEY("sign_in_attempts", CT_INT, struct config, sign_in_attempts,
	    .def = "5", .min = 1, .max = 1000),
	KEY("sign_in_window", CT_DURATION, struct config, sign_in_window_ms,
	    .def = "15m", .min = 1000),
	KEY("connections_per_address", CT_INT, struct config,
	    connections_per_address, .def = "32", .min = 1, .max = 10000),
	KEY("max_body_size", CT_SIZE, struct config, max_body_size,
	    .def = "64KiB", .min = 1024, .max = 64 * 1024 * 1024),
	KEY("request_timeout", CT_DURATION, struct config, request_timeout_ms,
	    .def = "10s", .min = 1000, .max = 3600 * 1000),
	KEY("body_min_rate", CT_SIZE, struct config, body_min_rate,
	    .def = "1KiB", .min = 1, .max = 1024 * 1024 * 1024),
	KEY("max_connections", CT_INT, struct config, max_connections,
	    .def = "0", .min = 0, .max = 100000),
};
static const struct ctable portal_table = { portal_keys,
	sizeof portal_keys / sizeof portal_keys[0], 0, NULL };

static const struct ckey top_keys[] = {
	KEY("listen", CT_STR, struct config, listen, .def = "127.0.0.1:8080",
	    .check = check_listen),
	KEY("public_url", CT_STR, struct config, public_url,
	    .flags = CK_REQUIRED, .check = check_http_url),
	KEY("database", CT_STR, struct config, database, .flags = CK_REQUIRED),
	KEY("control_socket", CT_STR, struct config, control_socket,
	    .def = SHIPGATE_RUNSTATEDIR "/shipgate/control.sock"),
	KEY("log_level", CT_CUSTOM, struct config, log_level,
	    .custom = parse_log_level, .def = "info",
	    .doc = "debug, info, notice, warning or err"),
	KEY("log_debug", CT_CUSTOM, struct config, log_debug,
	    .custom = parse_log_debug, .def = "[all]",
	    .doc = "list of aws, http, engine, store, portal, config, all"),
	SUB("tls", &tls_table),
	KEY("trusted_proxies", CT_STRS, struct config, trusted_proxies,
	    .check = check_proxy),
	KEY("identity_header", CT_STR, struct config, identity_header,
	    .check = check_token),
	SUB("auth", &auth_table),
	SUB("portal", &portal_table),
	KEY("aws", CT_MAP, struct config, aws, .child = &aws_table,
	    .flags = CK_REQUIRED),
	KEY("mail", CT_MAP, struct config, mail, .child = &mail_table),
	KEY("webhooks", CT_LIST, struct config, webhooks,
	    .off_n = offsetof(struct config, nwebhooks),
	    .child = &webhook_table),
	KEY("users", CT_LIST, struct config, users,
	    .off_n = offsetof(struct config, nusers), .child = &user_table),
	KEY("groups", CT_LIST, struct config, groups,
	    .off_n = offsetof(struct config, ngroups), .child = &group_table),
	KEY("checks", CT_CUSTOM, struct config, checks, .custom = parse_checks,
	    .free = free_checks, .child = &step_table,
	    .doc = "mapping of names to lists of steps"),
	KEY("apps", CT_LIST, struct config, apps,
	    .off_n = offsetof(struct config, napps), .child = &app_table,
	    .flags = CK_REQUIRED | CK_NONEMPTY),
	KEY("registries", CT_LIST, struct config, registries,
	    .off_n = offsetof(struct config, nregistries),
	    .child = &registry_table),
	SUB("promotion", &promotion_table),
	KEY("control_admin_group", CT_STR, struct config, control_admin_group,
	    .check = check_name),
};
static const struct ctable top_table = { top_keys,
	sizeof top_keys / sizeof top_keys[0], 0, NULL };

/* ------------------------------------------------------------------ */
/* Checks of meaning: duplicates and references. */

static int
kvs_has_value(const struct config_kvs *l, const char *value)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->items[i].value, value) == 0)
			return (1);
	return (0);
}

/* A group some user is in, or one an identity provider's group maps to. */
static int
group_exists(const struct config *c, const char *group)
{
	size_t i;

	for (i = 0; i < c->nusers; i++)
		if (config_user_in_group(&c->users[i], group))
			return (1);
	if (c->oidc.issuer != NULL && kvs_has_value(&c->oidc.groups, group))
		return (1);
	if (c->alb.arn != NULL && kvs_has_value(&c->alb.groups, group))
		return (1);
	return (0);
}

static size_t
users_in_groups(const struct config *c, const struct config_strings *groups)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->nusers; i++)
		for (j = 0; j < groups->n; j++)
			if (config_user_in_group(&c->users[i],
				groups->items[j])) {
				n++;
				break;
			}
	return (n);
}

static void
check_groups(struct cp *cp, const struct config *c,
    const struct config_strings *groups)
{
	size_t i;

	for (i = 0; i < groups->n; i++)
		if (!group_exists(c, groups->items[i]))
			cp_error_at(cp, &groups->items[i],
			    "no user is in group "
			    "\"%s\"",
			    groups->items[i]);
}

static size_t
loc_line(struct cp *cp, const void *addr)
{
	const struct config_loc *l;

	l = cp_find_loc(cp, addr);
	return (l != NULL ? l->line : 0);
}

static void
check_environment(struct cp *cp, struct config *c, struct config_app *app,
    struct config_environment *env)
{
	const char *acct, *zone;
	char	   *cause = NULL;
	size_t	    i, n;

	if (env->region == NULL && c->aws.region != NULL)
		env->region = xstrdup(c->aws.region);
	check_groups(cp, c, &env->approvers);
	check_groups(cp, c, &env->gate);
	/* Freeze dates are read in the windows' zone unless they name one. */
	for (i = 0; i < env->nfreezes; i++) {
		if (env->freezes[i].zone.tz != NULL)
			continue;
		zone = env->nwindows > 0 && env->windows[0].zone.name != NULL ?
			   env->windows[0].zone.name :
			   "UTC";
		if ((env->freezes[i].zone.tz = window_zone_load(zone,
			 &cause)) == NULL) {
			cp_error_at(cp, &env->freezes[i].from, "%s", cause);
			free(cause);
			cause = NULL;
		} else
			env->freezes[i].zone.name = xstrdup(zone);
	}
	for (i = 0; i < env->checks.n; i++)
		if (config_find_check(c, env->checks.items[i]) == NULL)
			cp_error_at(cp, &env->checks.items[i],
			    "no check named "
			    "\"%s\" under checks",
			    env->checks.items[i]);
	for (i = 0; i < env->release_checks.n; i++)
		if (config_find_check(c, env->release_checks.items[i]) == NULL)
			cp_error_at(cp, &env->release_checks.items[i],
			    "no check "
			    "named \"%s\" under checks",
			    env->release_checks.items[i]);
	if (env->approvers.n > 0) {
		n = users_in_groups(c, &env->approvers);
		if (n > 0 && (size_t)env->required_approvals > n)
			cp_error_at(cp,
			    cp_has_loc(cp, &env->required_approvals) ?
				(void *)&env->required_approvals :
				(void *)&env->approvers,
			    "%d approvals required but "
			    "only %zu user%s can approve",
			    env->required_approvals, n, n == 1 ? "" : "s");
	}
	if (env->role_arn != NULL && env->account != NULL &&
	    check_role_arn(env->role_arn) == NULL) {
		acct = strstr(env->role_arn, ":iam::") + 6;
		if (strncmp(acct, env->account, 12) != 0)
			cp_error_at(cp, &env->role_arn,
			    "role is in account "
			    "%.12s, not in the environment's account %s",
			    acct, env->account);
	}
}

struct stack_ref {
	struct config_environment *env;
};

static void
check_meaning(struct cp *cp, struct config *c)
{
	struct config_app	  *app;
	struct config_environment *env, *other;
	struct stack_ref	  *stacks;
	size_t			   nstacks = 0, total = 0;
	size_t			   i, j, k;

	if (c->mail.transport == CONFIG_MAIL_SES &&
	    c->mail.ses_region == NULL && c->aws.region != NULL)
		c->mail.ses_region = xstrdup(c->aws.region);
	if (c->identity_header != NULL && c->trusted_proxies.n == 0)
		cp_error_at(cp, &c->identity_header,
		    "needs trusted_proxies "
		    "(the proxies allowed to send it)");
	if (c->alb.arn != NULL && c->trusted_proxies.n == 0)
		cp_error_at(cp, &c->alb.arn,
		    "needs trusted_proxies (the "
		    "load balancer's addresses, allowed to send "
		    "x-amzn-oidc-data)");
	if (c->trusted_proxies.n > 0 && c->identity_header == NULL &&
	    c->alb.arn == NULL)
		cp_error_at(cp, &c->trusted_proxies,
		    "needs identity_header "
		    "or auth.alb");
	if (c->alb.arn != NULL && c->identity_header != NULL)
		cp_error_at(cp, &c->alb.arn,
		    "auth.alb and identity_header "
		    "are exclusive: the load balancer's token names the user");
	if (c->alb.arn != NULL && c->oidc.issuer != NULL)
		cp_error_at(cp, &c->alb.arn,
		    "auth.alb and auth.oidc are "
		    "exclusive: behind the load balancer it signs people in");
	for (i = 0; i < c->nusers; i++)
		for (j = 0; j < i; j++)
			if (c->users[i].name != NULL &&
			    c->users[j].name != NULL &&
			    strcmp(c->users[i].name, c->users[j].name) == 0) {
				cp_error_at(cp, &c->users[i].name,
				    "duplicate "
				    "user \"%s\" (first at line %zu)",
				    c->users[i].name,
				    loc_line(cp, &c->users[j].name));
				break;
			}
	/* A mail address for a group nobody can be in is a typo. */
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i].name != NULL &&
		    !group_exists(c, c->groups[i].name))
			cp_error_at(cp, &c->groups[i].name,
			    "group \"%s\": no "
			    "user is in it and no provider group maps to it",
			    c->groups[i].name);
	for (i = 0; i < c->ngroups; i++)
		for (j = 0; j < i; j++)
			if (c->groups[i].name != NULL &&
			    c->groups[j].name != NULL &&
			    strcmp(c->groups[i].name, c->groups[j].name) == 0) {
				cp_error_at(cp, &c->groups[i].name,
				    "duplicate "
				    "group \"%s\" (first at line %zu)",
				    c->groups[i].name,
				    loc_line(cp, &c->groups[j].name));
				break;
			}
	/* One Unix user is one person: never two shipgate users. */
	for (i = 0; i < c->nusers; i++)
		for (j = 0; j < i; j++) {
			if (c->users[i].unix_uid >= 0 &&
			    c->users[i].unix_uid == c->users[j].unix_uid) {
				cp_error_at(cp, &c->users[i].unix_uid,
				    "unix_uid "
				    "%d is already user %s's (line %zu)",
				    c->users[i].unix_uid, c->users[j].name,
				    loc_line(cp, &c->users[j].unix_uid));
				break;
			}
			if (c->users[i].unix_user != NULL &&
			    c->users[j].unix_user != NULL &&
			    strcmp(c->users[i].unix_user,
				c->users[j].unix_user) == 0) {
				cp_error_at(cp, &c->users[i].unix_user,
				    "unix_user \"%s\" is already user %s's "
				    "(line %zu)",
				    c->users[i].unix_user, c->users[j].name,
				    loc_line(cp, &c->users[j].unix_user));
				break;
			}
		}
	if (c->control_admin_group != NULL &&
	    !group_exists(c, c->control_admin_group))
		cp_error_at(cp, &c->control_admin_group,
		    "no user is in group "
		    "\"%s\"",
		    c->control_admin_group);
	for (i = 0; i < c->nwebhooks; i++)
		for (j = 0; j < c->webhooks[i].events.n; j++)
			if (!config_webhook_event_known(
				c->webhooks[i].events.items[j]))
				cp_error_at(cp, &c->webhooks[i].events.items[j],
				    "unknown event \"%s\"",
				    c->webhooks[i].events.items[j]);
	for (i = 0; i < c->nregistries; i++)
		for (j = 0; j < i; j++)
			if (c->registries[i].host != NULL &&
			    c->registries[j].host != NULL &&
			    strcmp(c->registries[i].host,
				c->registries[j].host) == 0) {
				cp_error_at(cp, &c->registries[i].host,
				    "duplicate registry \"%s\" (first at line "
				    "%zu)",
				    c->registries[i].host,
				    loc_line(cp, &c->registries[j].host));
				break;
			}

	for (i = 0; i < c->napps; i++)
		total += c->apps[i].nenvironments;
	stacks = xcalloc(total + 1, sizeof *stacks);
	for (i = 0; i < c->napps; i++) {
		app = &c->apps[i];
		for (j = 0; j < i; j++)
			if (app->name != NULL && c->apps[j].name != NULL &&
			    strcmp(app->name, c->apps[j].name) == 0) {
				cp_error_at(cp, &app->name,
				    "duplicate app "
				    "\"%s\" (first at line %zu)",
				    app->name, loc_line(cp, &c->apps[j].name));
				break;
			}
		for (j = 0; j < app->nenvironments; j++) {
			env = &app->environments[j];
			for (k = 0; k < j; k++)
				if (env->name != NULL &&
				    app->environments[k].name != NULL &&
				    strcmp(env->name,
					app->environments[k].name) == 0) {
					cp_error_at(cp, &env->name,
					    "duplicate "
					    "environment \"%s\" (first at line "
					    "%zu)",
					    env->name,
					    loc_line(cp,
						&app->environments[k].name));
					break;
				}
			check_environment(cp, c, app, env);
			if (env->stack == NULL || env->account == NULL ||
			    env->region == NULL)
				continue;
			for (k = 0; k < nstacks; k++) {
				other = stacks[k].env;
				if (strcmp(other->stack, env->stack) == 0 &&
				    strcmp(other->account, env->account) == 0 &&
				    strcmp(other->region, env->region) == 0)
					break;
			}
			if (k < nstacks)
				cp_error_at(cp, &env->stack,
				    "stack \"%s\" in "
				    "account %s region %s is already deployed "
				    "at line %zu",
				    env->stack, env->account, env->region,
				    loc_line(cp, &other->stack));
			else
				stacks[nstacks++].env = env;
		}
	}
	free(stacks);
}

/* ------------------------------------------------------------------ */
/* Loading. */

static void
errors_add(struct config_errors *errors, char *line)
{
	errors->lines = xreallocarray(errors->lines, errors->n + 1,
	    sizeof *errors->lines);
	errors->lines[errors->n++] = line;
}

struct config *
config_load_buffer(const char *name, const char *data, size_t len,
    struct config_errors *errors)
{
	struct config  *c = NULL;
	struct cp	cp;
	yaml_parser_t	parser;
	yaml_document_t doc, extra;
	yaml_node_t    *root;
	yaml_mark_t    *m, offset_mark;
	int		have_doc = 0;
	size_t		i;

	memset(&cp, 0, sizeof cp);
	memset(errors, 0, sizeof *errors);
	cp.file = name;
	cp.errors = errors;
	cp.doc = &doc;

	if (!yaml_parser_initialize(&parser)) {
		errors_add(errors, xasprintf("%s: cannot start the YAML "
					     "parser",
				       name));
		return (NULL);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		m = parser.problem_mark.line || parser.problem_mark.column ?
			&parser.problem_mark :
			&parser.context_mark;
		if (parser.error == YAML_READER_ERROR) {
			/* Bad bytes: only an offset is known. */
			memset(&offset_mark, 0, sizeof offset_mark);
			for (i = 0; i < parser.problem_offset && i < len; i++) {
				if (data[i] == '\n') {
					offset_mark.line++;
					offset_mark.column = 0;
				} else
					offset_mark.column++;
			}
			m = &offset_mark;
		}
		errors_add(errors,
		    xasprintf("%s:%zu:%zu: syntax: %s%s%s", name, m->line + 1,
			m->column + 1,
			parser.problem ? parser.problem : "invalid YAML",
			parser.context ? " " : "",
			parser.context ? parser.context : ""));
		goto out;
	}
	have_doc = 1;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		errors_add(errors,
		    xasprintf("%s:1:1: the file is empty", name));
		goto out;
	}
	if (yaml_parser_load(&parser, &extra)) {
		if (yaml_document_get_root_node(&extra) != NULL)
			errors_add(errors,
			    xasprintf("%s:%zu:%zu: syntax: "
				      "only one YAML document is allowed",
				name, extra.start_mark.line + 1,
				extra.start_mark.column + 1));
		yaml_document_delete(&extra);
	}

	c = xcalloc(1, sizeof *c);
	c->path = xstrdup(name);
	table_defaults(&top_table, c);
	cp.max_visits = CONFIG_VISITS_MIN +
			CONFIG_VISITS_PER_NODE *
			    (size_t)(doc.nodes.top - doc.nodes.start);
	c->log_level = LOG_LEVEL_INFO;
	c->log_debug = LOG_CAT_ALL;
	parse_table(&cp, root, &top_table, c, "");
	if (!cp.toobig)
		check_meaning(&cp, c);
	if (errors->n > 0) {
		config_free(c);
		c = NULL;
	}
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	for (i = 0; i < cp.nlocs; i++)
		free(cp.locs[i].path);
	free(cp.locs);
	return (c);
}

struct config *
config_load(const char *path, struct config_errors *errors)
{
	struct config	    *c = NULL;
	struct config_errors more;
	struct buf	     b;
	struct stat	     sb;
	char		     chunk[8192];
	ssize_t		     n;
	size_t		     i;
	int		     fd;

	memset(errors, 0, sizeof *errors);
	buf_init(&b, CONFIG_MAX_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errors_add(errors, xasprintf("%s: %s", path, strerror(errno)));
		goto out;
	}
	/*
	 * It holds password hashes: checked like a secret file, but the
	 * group the service runs as may read it.
	 */
	if (fstat(fd, &sb) == -1) {
		errors_add(errors, xasprintf("%s: %s", path, strerror(errno)));
		goto out;
	}
	if (S_ISREG(sb.st_mode) && (sb.st_mode & (S_IRWXO | S_IWGRP)) != 0)
		errors_add(errors,
		    xasprintf("%s: %s (mode %04o), but it "
			      "holds password hashes: chmod 640 it (or 600)",
			path,
			(sb.st_mode & S_IRWXO) != 0 ? "readable or writable by "
						      "others" :
						      "writable by its group",
			(unsigned int)(sb.st_mode & 07777)));
	for (;;) {
		if ((n = read(fd, chunk, sizeof chunk)) == -1) {
			if (errno == EINTR)
				continue;
			errors_add(errors,
			    xasprintf("%s: %s", path, strerror(errno)));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, n) != 0) {
			errors_add(errors,
			    xasprintf("%s: larger than %d MiB", path,
				CONFIG_MAX_FILE / 1024 / 1024));
			goto out;
		}
	}
	/* Then everything else, so that one run reports all errors. */
	c = config_load_buffer(path, b.data != NULL ? b.data : "", b.len,
	    &more);
	for (i = 0; i < more.n; i++)
		errors_add(errors, more.lines[i]);
	free(more.lines);
	if (c != NULL && errors->n > 0) {
		config_free(c);
		c = NULL;
	}
out:
	if (fd != -1)
		close(fd);
	buf_free(&b);
	return (c);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	table_free(&top_table, c);
	free(c->path);
	free(c);
}

void
config_errors_free(struct config_errors *errors)
{
	size_t i;

	for (i = 0; i < errors->n; i++)
		free(errors->lines[i]);
	free(errors->lines);
	errors->lines = NULL;
	errors->n = 0;
}

/* ------------------------------------------------------------------ */
/* Look-ups. */

const struct config_app *
config_find_app(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->napps; i++)
		if (c->apps[i].name != NULL &&
		    strcmp(c->apps[i].name, name) == 0)
			return (&c->apps[i]);
	return (NULL);
}

const struct config_environment *
config_find_environment(const struct config_app *app, const char *name)
{
	size_t i;

	for (i = 0; i < app->nenvironments; i++)
		if (app->environments[i].name != NULL &&
		    strcmp(app->environments[i].name, name) == 0)
			return (&app->environments[i]);
	return (NULL);
}

void
config_freeze_span(const struct config_freeze *f, int64_t *from_ms,
    int64_t *to_ms)
{
	int y, m, d;

	window_civil(f->from_day, &y, &m, &d);
	*from_ms = window_local_to_ms(f->zone.tz, y, m, d, 0);
	window_civil(f->to_day + 1, &y, &m, &d);
	*to_ms = window_local_to_ms(f->zone.tz, y, m, d, 0);
}

const struct config_user *
config_find_unix_user(const struct config *c, unsigned int uid,
    const char *name)
{
	const struct config_user *u;
	size_t			  i;

	for (i = 0; i < c->nusers; i++)
		if (c->users[i].unix_uid >= 0 &&
		    (unsigned int)c->users[i].unix_uid == uid)
			return (&c->users[i]);
	if (name == NULL)
		return (NULL);
	for (i = 0; i < c->nusers; i++)
		if (c->users[i].unix_user != NULL &&
		    strcmp(c->users[i].unix_user, name) == 0)
			return (&c->users[i]);
	/* A user mapped elsewhere is not also the Unix user of its name. */
	if ((u = config_find_user(c, name)) != NULL && u->unix_uid < 0 &&
	    u->unix_user == NULL)
		return (u);
	return (NULL);
}

const struct config_user *
config_find_user(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nusers; i++)
		if (c->users[i].name != NULL &&
		    strcmp(c->users[i].name, name) == 0)
			return (&c->users[i]);
	return (people_find(c->people, name));
}

const struct config_check *
config_find_check(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nchecks; i++)
		if (strcmp(c->checks[i].name, name) == 0)
			return (&c->checks[i]);
	return (NULL);
}

const struct config_registry *
config_find_registry(const struct config *c, const char *host)
{
	size_t i;

	for (i = 0; i < c->nregistries; i++)
		if (c->registries[i].host != NULL &&
		    strcmp(c->registries[i].host, host) == 0)
			return (&c->registries[i]);
	return (NULL);
}

const char *
config_endpoint(const struct config *c, const char *service)
{
	size_t i;

	for (i = 0; i < c->aws.nendpoints; i++)
		if (strcmp(c->aws.endpoints[i].service, service) == 0)
			return (c->aws.endpoints[i].url);
	return (NULL);
}

const struct config_group *
config_find_group(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return (&c->groups[i]);
	return (NULL);
}

int64_t
config_people_remember_ms(const struct config *c)
{
	int days = 90;

	/* auth.oidc and auth.alb are exclusive: one of them, or none. */
	if (c->oidc.issuer != NULL)
		days = c->oidc.remember_days;
	else if (c->alb.arn != NULL)
		days = c->alb.remember_days;
	return ((int64_t)days * 24 * 3600 * 1000);
}

int
config_user_in_group(const struct config_user *u, const char *group)
{
	size_t i;

	for (i = 0; i < u->groups.n; i++)
		if (strcmp(u->groups.items[i], group) == 0)
			return (1);
	return (0);
}

size_t
config_map_groups(const struct config_kvs *map,
    const char *const *provider_groups, const char ***out)
{
	const char **list;
	size_t	     i, j, k, n = 0;

	list = xcalloc(map->n + 1, sizeof *list);
	for (i = 0; i < map->n; i++) {
		for (j = 0; provider_groups[j] != NULL; j++)
			if (strcmp(provider_groups[j], map->items[i].key) == 0)
				break;
		if (provider_groups[j] == NULL)
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(list[k], map->items[i].value) == 0)
				break;
		if (k == n)
			list[n++] = map->items[i].value;
	}
	*out = list;
	return (n);
}

int
config_environment_allows_check(const struct config_environment *env,
    const char							*check)
{
	size_t i;

	for (i = 0; i < env->checks.n; i++)
		if (strcmp(env->checks.items[i], check) == 0)
			return (1);
	for (i = 0; i < env->release_checks.n; i++)
		if (strcmp(env->release_checks.items[i], check) == 0)
			return (1);
	return (0);
}

int
config_environment_release_may_set(const struct config_environment *env,
    const char							   *param)
{
	size_t i;

	for (i = 0; i < env->release_may_set.n; i++)
		if (strcmp(env->release_may_set.items[i], param) == 0)
			return (1);
	return (0);
}

/* smtp:// without STARTTLS, with a user: the password goes in clear. */
int
config_mail_plaintext_auth(const struct config_mail *m)
{
	return (m->transport != CONFIG_MAIL_SES && m->smtp_url != NULL &&
		m->smtp_username != NULL && !m->smtp_starttls &&
		strncmp(m->smtp_url, "smtp://", 7) == 0);
}

const char *
config_default_path(void)
{
	return (SHIPGATE_SYSCONFDIR "/shipgate/shipgate.yaml");
}

/* ------------------------------------------------------------------ */
/* The schema, for documentation and its test. */

static const char *
ctype_name(const struct ckey *k)
{
	switch (k->type) {
	case CT_STR:
		return ("string");
	case CT_INT:
	case CT_U64:
		return ("integer");
	case CT_BOOL:
		return ("boolean");
	case CT_DURATION:
		return ("duration");
	case CT_SIZE:
		return ("size");
	case CT_STRS:
		return ("list of strings");
	case CT_KVS:
		return ("mapping of strings");
	case CT_MAP:
		return ("mapping");
	case CT_LIST:
		return ("list of mappings");
	case CT_CUSTOM:
		return (k->doc);
	}
	return ("?");
}

static void
schema_walk(const struct ctable *t, const char *prefix,
    void (*fn)(const char *, const char *, const char *, int, void *),
    void *arg)
{
	const struct ckey *k;
	char		  *path, *sub;
	size_t		   i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		path = path_key(prefix, k->name);
		fn(path, ctype_name(k), k->def, (k->flags & CK_REQUIRED) != 0,
		    arg);
		if (k->type == CT_LIST) {
			sub = xasprintf("%s[]", path);
			schema_walk(k->child, sub, fn, arg);
			free(sub);
		} else if (k->type == CT_CUSTOM && k->child == &step_table) {
			sub = xasprintf("%s.*[]", path);
			schema_walk(k->child, sub, fn, arg);
			free(sub);
		} else if (k->child != NULL)
			schema_walk(k->child, path, fn, arg);
		free(path);
	}
}

void
config_schema_walk(void (*fn)(const char *, const char *, const char *, int,
		       void *),
    void *arg)
{
	schema_walk(&top_table, "", fn, arg);
}

int
config_user_credentials_changed(const struct config_user *old,
    const struct config_user *new)
{
	size_t i;

	if (new == NULL)
		return (1);
	if ((old->password_hash == NULL) != (new->password_hash == NULL) ||
	    (old->password_hash != NULL &&
		strcmp(old->password_hash, new->password_hash) != 0))
		return (1);
	for (i = 0; i < old->groups.n; i++)
		if (!config_user_in_group(new, old->groups.items[i]))
			return (1);
	return (0);
}
