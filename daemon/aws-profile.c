/*
 * Shared config/credentials files: a small INI reader and the SDKs'
 * profile resolution rules (credentials file first, then config file;
 * role_arn with source_profile or credential_source; cycles refused).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws-profile.h"
#include "aws-sts.h"
#include "xmalloc.h"

struct ini_entry {
	char *section; /* profile name, "profile " removed */
	char *key;     /* lowercased */
	char *value;
	int   line;
};

struct ini {
	const char	 *file; /* "credentials" or "config" */
	struct ini_entry *entries;
	size_t		  n;
};

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return (s);
}

/*
 * The config file names profiles "[profile NAME]" except "[default]";
 * other sections (sso-session, services) are not profiles.
 */
static char *
ini_section_name(const char *file, char *raw)
{
	char *name = trim(raw);

	if (strcmp(file, "config") != 0)
		return (xstrdup(name));
	if (strcmp(name, "default") == 0)
		return (xstrdup(name));
	if (strncmp(name, "profile", 7) == 0 && isspace((unsigned char)name[7]))
		return (xstrdup(trim(name + 8)));
	return (NULL);
}

static void
ini_add(struct ini *ini, const char *section, const char *key,
    const char *value, int line)
{
	struct ini_entry *e;
	char		 *p;

	ini->entries = xreallocarray(ini->entries, ini->n + 1,
	    sizeof *ini->entries);
	e = &ini->entries[ini->n++];
	e->section = xstrdup(section);
	e->key = xstrdup(key);
	for (p = e->key; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	e->value = xstrdup(value);
	e->line = line;
}

static void
ini_parse(struct ini *ini, const char *file, const char *text)
{
	char *copy, *line, *next, *eq, *close, *section = NULL;
	int   lineno = 0;

	memset(ini, 0, sizeof *ini);
	ini->file = file;
	if (text == NULL)
		return;
	copy = xstrdup(text);
	for (line = copy; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* Indented lines continue a nested block (s3 = ...). */
		if (isspace((unsigned char)line[0]) && *trim(line) != '\0')
			continue;
		line = trim(line);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			free(section);
			section = NULL;
			if ((close = strchr(line, ']')) == NULL)
				continue;
			*close = '\0';
			section = ini_section_name(file, line + 1);
			/* An empty key marks the section, even an empty one. */
			if (section != NULL)
				ini_add(ini, section, "", "", lineno);
			continue;
		}
		if (section == NULL || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		ini_add(ini, section, trim(line), trim(eq + 1), lineno);
	}
	free(section);
	freezero_str(copy);
}

static void
ini_free(struct ini *ini)
{
	size_t i;

	for (i = 0; i < ini->n; i++) {
		free(ini->entries[i].section);
		free(ini->entries[i].key);
		freezero_str(ini->entries[i].value);
	}
	free(ini->entries);
	memset(ini, 0, sizeof *ini);
}

static int
ini_has_section(const struct ini *ini, const char *section)
{
	size_t i;

	for (i = 0; i < ini->n; i++)
		if (strcmp(ini->entries[i].section, section) == 0)
			return (1);
	return (0);
}

/* The last value wins within a file, as in Python's configparser. */
static const struct ini_entry *
ini_get(const struct ini *ini, const char *section, const char *key)
{
	const struct ini_entry *found = NULL;
	size_t			i;

	for (i = 0; i < ini->n; i++)
		if (strcmp(ini->entries[i].section, section) == 0 &&
		    strcmp(ini->entries[i].key, key) == 0)
			found = &ini->entries[i];
	return (found);
}

struct resolver {
	struct ini  credentials;
	struct ini  config;
	const char *visited[AWS_PROFILE_MAX_ROLES + 1];
	size_t	    nvisited;
	char	   *cause;
};

/* Credentials file first, then config file. */
static const char *
resolver_get(struct resolver *r, const char *profile, const char *key)
{
	const struct ini_entry *e;

	if ((e = ini_get(&r->credentials, profile, key)) != NULL)
		return (e->value);
	if ((e = ini_get(&r->config, profile, key)) != NULL)
		return (e->value);
	return (NULL);
}

static const char *
resolver_where(struct resolver *r, const char *profile, const char *key,
    int *line)
{
	const struct ini_entry *e;

	if ((e = ini_get(&r->credentials, profile, key)) != NULL) {
		*line = e->line;
		return ("credentials");
	}
	if ((e = ini_get(&r->config, profile, key)) != NULL) {
		*line = e->line;
		return ("config");
	}
	*line = 0;
	return (NULL);
}

static int resolver_fail(struct resolver *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
resolver_fail(struct resolver *r, int code, const char *fmt, ...)
{
	va_list ap;

	if (r->cause == NULL) {
		va_start(ap, fmt);
		r->cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return (code);
}

static int
resolver_static(struct resolver *r, const char *name, struct aws_profile *out)
{
	const char *id, *secret, *token;

	id = resolver_get(r, name, "aws_access_key_id");
	secret = resolver_get(r, name, "aws_secret_access_key");
	token = resolver_get(r, name, "aws_session_token");
	if (id == NULL && secret == NULL)
		return (resolver_fail(r, AWS_PROFILE_EINVALID,
		    "profile %s has no credentials (neither keys nor "
		    "role_arn)",
		    name));
	if (id == NULL || *id == '\0')
		return (resolver_fail(r, AWS_PROFILE_EINVALID,
		    "profile %s has aws_secret_access_key but no "
		    "aws_access_key_id",
		    name));
	if (secret == NULL || *secret == '\0')
		return (resolver_fail(r, AWS_PROFILE_EINVALID,
		    "profile %s has aws_access_key_id but no "
		    "aws_secret_access_key",
		    name));
	out->base = AWS_PROFILE_BASE_STATIC;
	out->access_key_id = xstrdup(id);
	out->secret_access_key = xstrdup(secret);
	out->session_token = token != NULL && *token != '\0' ? xstrdup(token) :
							       NULL;
	return (0);
}

static int
resolver_role(struct resolver *r, const char *name, const char *role_arn,
    struct aws_profile *out)
{
	struct aws_profile_role *role;
	const char		*duration, *file;
	char			*end;
	long			 seconds = 0;
	int			 line;

	if (out->nroles == AWS_PROFILE_MAX_ROLES)
		return (resolver_fail(r, AWS_PROFILE_EINVALID,
		    "profile %s: role chain longer than %d", name,
		    AWS_PROFILE_MAX_ROLES));
	if ((duration = resolver_get(r, name, "duration_seconds")) != NULL) {
		seconds = strtol(duration, &end, 10);
		if (*duration == '\0' || *end != '\0' ||
		    seconds < STS_DURATION_MIN || seconds > STS_DURATION_MAX) {
			file = resolver_where(r, name, "duration_seconds",
			    &line);
			return (resolver_fail(r, AWS_PROFILE_EINVALID,
			    "profile %s: duration_seconds must be %d to %d "
			    "(%s file, line %d)",
			    name, STS_DURATION_MIN, STS_DURATION_MAX, file,
			    line));
		}
	}
	role = &out->roles[out->nroles++];
	role->role_arn = xstrdup(role_arn);
	role->external_id = resolver_get(r, name, "external_id") != NULL ?
				xstrdup(resolver_get(r, name, "external_id")) :
				NULL;
	role->session_name = resolver_get(r, name, "role_session_name") !=
				     NULL ?
				 xstrdup(resolver_get(r, name,
				     "role_session_name")) :
				 NULL;
	role->duration_seconds = (int)seconds;
	return (0);
}

static int
resolver_walk(struct resolver *r, const char *name, struct aws_profile *out)
{
	const char *role_arn, *source, *credential_source;
	size_t	    i;
	int	    rc;

	if (!ini_has_section(&r->credentials, name) &&
	    !ini_has_section(&r->config, name))
		return (resolver_fail(r,
		    r->nvisited == 0 ? AWS_PROFILE_ENOTFOUND :
				       AWS_PROFILE_EINVALID,
		    "profile %s not found in the credentials or config file",
		    name));
	for (i = 0; i < r->nvisited; i++)
		if (strcmp(r->visited[i], name) == 0)
			return (resolver_fail(r, AWS_PROFILE_EINVALID,
			    "profile %s: source_profile loops back to %s",
			    r->visited[0], name));
	if (r->nvisited == AWS_PROFILE_MAX_ROLES + 1)
		return (resolver_fail(r, AWS_PROFILE_EINVALID,
		    "profile %s: role chain longer than %d", r->visited[0],
		    AWS_PROFILE_MAX_ROLES));
	r->visited[r->nvisited++] = name;

	if ((role_arn = resolver_get(r, name, "role_arn")) == NULL)
		return (resolver_static(r, name, out));

	source = resolver_get(r, name, "source_profile");
	credential_source = resolver_get(r, name, "credential_source");
	if (source != NULL && credential_source != NULL)
		return (resolver_fail(r, AWS_PROFILE_EINVALID,
		    "profile %s has both source_profile and "
		    "credential_source",
		    name));
	if (source == NULL && credential_source == NULL)
		return (resolver_fail(r, AWS_PROFILE_EINVALID,
		    "profile %s has role_arn but neither source_profile nor "
		    "credential_source",
		    name));
	if (credential_source != NULL) {
		if (strcmp(credential_source, "Environment") == 0)
			out->base = AWS_PROFILE_BASE_ENVIRONMENT;
		else if (strcmp(credential_source, "Ec2InstanceMetadata") == 0)
			out->base = AWS_PROFILE_BASE_IMDS;
		else
			return (resolver_fail(r, AWS_PROFILE_EINVALID,
			    "profile %s: credential_source %s is not "
			    "supported (Environment or Ec2InstanceMetadata)",
			    name, credential_source));
	} else if (strcmp(source, name) == 0) {
		/* A profile may be its own source when it holds keys. */
		if ((rc = resolver_static(r, name, out)) != 0)
			return (rc);
	} else if ((rc = resolver_walk(r, source, out)) != 0)
		return (rc);
	return (resolver_role(r, name, role_arn, out));
}

int
aws_profile_resolve(const char *credentials_text, const char *config_text,
    const char *name, struct aws_profile *out, char **cause)
{
	struct resolver		r;
	const struct ini_entry *region;
	int			rc;

	memset(out, 0, sizeof *out);
	memset(&r, 0, sizeof r);
	if (name == NULL || *name == '\0')
		name = "default";
	ini_parse(&r.credentials, "credentials", credentials_text);
	ini_parse(&r.config, "config", config_text);
	if ((rc = resolver_walk(&r, name, out)) != 0) {
		aws_profile_free(out);
		if (cause != NULL)
			*cause = r.cause;
		else
			free(r.cause);
		r.cause = NULL;
		goto out;
	}
	out->name = xstrdup(name);
	if ((region = ini_get(&r.config, name, "region")) != NULL)
		out->region = xstrdup(region->value);
out:
	free(r.cause);
	ini_free(&r.credentials);
	ini_free(&r.config);
	return (rc);
}

void
aws_profile_free(struct aws_profile *p)
{
	size_t i;

	free(p->name);
	freezero_str(p->access_key_id);
	freezero_str(p->secret_access_key);
	freezero_str(p->session_token);
	free(p->region);
	for (i = 0; i < p->nroles; i++) {
		free(p->roles[i].role_arn);
		free(p->roles[i].external_id);
		free(p->roles[i].session_name);
	}
	memset(p, 0, sizeof *p);
}
