/*
 * Permission rules from the configuration's groups (see perm.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "perm.h"
#include "xmalloc.h"

static void
perm_say(char **reason, char *text)
{
	if (reason != NULL)
		*reason = text;
	else
		free(text);
}

static int
perm_in_groups(const struct config_user *u, const struct config_strings *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		if (config_user_in_group(u, g->items[i]))
			return (1);
	}
	return (0);
}

static char *
perm_groups_text(const struct config_strings *g)
{
	char  *s = xstrdup(""), *t;
	size_t i;

	if (g->n == 0) {
		free(s);
		return (xstrdup("(no group configured)"));
	}
	for (i = 0; i < g->n; i++) {
		t = xasprintf("%s%s%s", s, i > 0 ? ", " : "", g->items[i]);
		free(s);
		s = t;
	}
	return (s);
}

/* Whether s[0..len) equals t, ignoring case and surrounding blanks. */
static int
perm_same(const char *s, size_t len, const char *t)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (t == NULL || len == 0 || strlen(t) != len)
		return (0);
	return (strncasecmp(s, t, len) == 0);
}

int
perm_is_author(const struct config_user *u, const char *author)
{
	const char *lt, *gt;

	if (u == NULL || author == NULL)
		return (0);
	if (perm_same(author, strlen(author), u->name) ||
	    perm_same(author, strlen(author), u->email))
		return (1);
	/* "Name <e-mail>": either part. */
	if ((lt = strchr(author, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL) {
		if (perm_same(lt + 1, (size_t)(gt - lt - 1), u->email) ||
		    perm_same(author, (size_t)(lt - author), u->name))
			return (1);
	}
	return (0);
}

/* The user and environment, or 0 with a reason. */
static int
perm_lookup(const struct config *c, const char *user, const char *app,
    const char *env, const struct config_user **up,
    const struct config_environment **cep, char **reason)
{
	const struct config_app *a;

	if (user == NULL || (*up = config_find_user(c, user)) == NULL) {
		perm_say(reason, xasprintf("%s is not a configured user",
				     user != NULL ? user : "(nobody)"));
		return (0);
	}
	if (cep == NULL)
		return (1);
	if (app == NULL || env == NULL ||
	    (a = config_find_app(c, app)) == NULL ||
	    (*cep = config_find_environment(a, env)) == NULL) {
		perm_say(reason,
		    xasprintf("%s %s is not configured",
			app != NULL ? app : "?", env != NULL ? env : "?"));
		return (0);
	}
	return (1);
}

int
perm_may_approve(const struct config *c, const char *user, const char *app,
    const char *env, const char *author, char **reason)
{
	const struct config_user	*u;
	const struct config_environment *ce;
	char				*names;

	if (reason != NULL)
		*reason = NULL;
	if (!perm_lookup(c, user, app, env, &u, &ce, reason))
		return (0);
	if (!perm_in_groups(u, &ce->approvers)) {
		names = perm_groups_text(&ce->approvers);
		perm_say(reason, xasprintf("%s may not approve %s: not in %s",
				     u->name, ce->name, names));
		free(names);
		return (0);
	}
	if (!ce->allow_self_approval && perm_is_author(u, author)) {
		perm_say(reason,
		    xasprintf("%s may not approve %s: the "
			      "release's author may not approve it there",
			u->name, ce->name));
		return (0);
	}
	return (1);
}

int
perm_may_reject(const struct config *c, const char *user, const char *app,
    const char *env, int gate, char **reason)
{
	const struct config_user	*u;
	const struct config_environment *ce;
	const struct config_strings	*groups;
	char				*names;

	if (reason != NULL)
		*reason = NULL;
	if (!perm_lookup(c, user, app, env, &u, &ce, reason))
		return (0);
	groups = gate ? &ce->gate : &ce->approvers;
	if (!perm_in_groups(u, groups) &&
	    !config_user_in_group(u, "operators")) {
		names = perm_groups_text(groups);
		perm_say(reason, xasprintf("%s may not reject %s: not in %s or "
					   "operators",
				     u->name, ce->name, names));
		free(names);
		return (0);
	}
	return (1);
}

int
perm_may_authorise(const struct config *c, const char *user, const char *app,
    const char *env, char **reason)
{
	const struct config_user	*u;
	const struct config_environment *ce;
	char				*names;

	if (reason != NULL)
		*reason = NULL;
	if (!perm_lookup(c, user, app, env, &u, &ce, reason))
		return (0);
	if (!perm_in_groups(u, &ce->gate)) {
		names = perm_groups_text(&ce->gate);
		perm_say(reason, xasprintf("%s may not authorise promotion "
					   "beyond %s: not in %s",
				     u->name, ce->name, names));
		free(names);
		return (0);
	}
	return (1);
}

int
perm_is_operator(const struct config *c, const char *user, const char *what,
    char **reason)
{
	const struct config_user *u;

	if (reason != NULL)
		*reason = NULL;
	if (!perm_lookup(c, user, NULL, NULL, &u, NULL, reason))
		return (0);
	if (!config_user_in_group(u, "operators")) {
		perm_say(reason, xasprintf("%s may not %s: not in operators",
				     u->name, what));
		return (0);
	}
	return (1);
}
