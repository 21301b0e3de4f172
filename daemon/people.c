/*
 * The directory of people signed in by an identity provider (people.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "people.h"
#include "xmalloc.h"

struct person {
	struct config_user user;
	char		  *via;
	int		   current;   /* the one people_find gives */
	int64_t		   seen;      /* last sign-in */
	int64_t		   persisted; /* last one written */
};

struct people {
	pthread_mutex_t lock;
	struct person **v;
	size_t		n;
	size_t		max;
};

struct people *
people_new(size_t max)
{
	struct people *pp;

	pp = xcalloc(1, sizeof *pp);
	pthread_mutex_init(&pp->lock, NULL);
	pp->max = max > 0 ? max : PEOPLE_MAX_DEFAULT;
	pp->v = xcalloc(pp->max, sizeof *pp->v);
	return (pp);
}

void
people_free(struct people *pp)
{
	struct person *p;
	size_t	       i, j;

	if (pp == NULL)
		return;
	for (i = 0; i < pp->n; i++) {
		p = pp->v[i];
		free(p->user.name);
		free(p->user.email);
		for (j = 0; j < p->user.groups.n; j++)
			free(p->user.groups.items[j]);
		free(p->user.groups.items);
		free(p->via);
		free(p);
	}
	free(pp->v);
	pthread_mutex_destroy(&pp->lock);
	free(pp);
}

static struct person *
people_current(struct people *pp, const char *name)
{
	size_t i;

	for (i = pp->n; i > 0; i--) {
		if (pp->v[i - 1]->current &&
		    strcmp(pp->v[i - 1]->user.name, name) == 0)
			return (pp->v[i - 1]);
	}
	return (NULL);
}

/* The same person with the same groups (in any order) and e-mail. */
static int
people_same(const struct person *p, const char *email,
    const char *const *groups, const char *via)
{
	size_t i, j, n;

	for (n = 0; groups[n] != NULL; n++)
		;
	if (n != p->user.groups.n || strcmp(p->via, via) != 0)
		return (0);
	if ((email == NULL) != (p->user.email == NULL) ||
	    (email != NULL && strcmp(email, p->user.email) != 0))
		return (0);
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(groups[i], p->user.groups.items[j]) == 0)
				break;
		if (j == n)
			return (0);
	}
	return (1);
}

int
people_set(struct people *pp, const char *name, const char *email,
    const char *const *groups, const char *via, int64_t now,
    const struct config_user **out, int *persistp, char **cause)
{
	struct person *p, *old;
	size_t	       n;
	int	       rc = 0;

	*out = NULL;
	if (persistp != NULL)
		*persistp = 0;
	if (name == NULL || *name == '\0' || via == NULL) {
		*cause = xstrdup("no name for the person");
		return (PEOPLE_EINVAL);
	}
	pthread_mutex_lock(&pp->lock);
	old = people_current(pp, name);
	if (old != NULL && people_same(old, email, groups, via)) {
		if (now > old->seen)
			old->seen = now;
		if (now - old->persisted >= PEOPLE_PERSIST_MS ||
		    now < old->persisted) {
			old->persisted = now;
			if (persistp != NULL)
				*persistp = 1;
		}
		*out = &old->user;
		goto out;
	}
	if (pp->n == pp->max) {
		*cause = xasprintf("%zu people signed in since the start: "
				   "restart shipgated to make room",
		    pp->max);
		rc = PEOPLE_EFULL;
		goto out;
	}
	p = xcalloc(1, sizeof *p);
	p->user.name = xstrdup(name);
	p->user.email = email != NULL ? xstrdup(email) : NULL;
	for (n = 0; groups[n] != NULL; n++)
		;
	p->user.groups.items = xcalloc(n + 1, sizeof *p->user.groups.items);
	for (p->user.groups.n = 0; p->user.groups.n < n; p->user.groups.n++)
		p->user.groups.items[p->user.groups.n] = xstrdup(
		    groups[p->user.groups.n]);
	p->user.unix_uid = -1;
	p->via = xstrdup(via);
	p->current = 1;
	p->seen = p->persisted = now;
	if (persistp != NULL)
		*persistp = 1;
	if (old != NULL)
		old->current = 0;
	pp->v[pp->n++] = p;
	*out = &p->user;
out:
	pthread_mutex_unlock(&pp->lock);
	return (rc);
}

const struct config_user *
people_find(struct people *pp, const char *name)
{
	struct person *p;

	if (pp == NULL || name == NULL)
		return (NULL);
	pthread_mutex_lock(&pp->lock);
	p = people_current(pp, name);
	pthread_mutex_unlock(&pp->lock);
	return (p != NULL ? &p->user : NULL);
}

const char *
people_via(struct people *pp, const char *name)
{
	struct person *p;

	if (pp == NULL || name == NULL)
		return (NULL);
	pthread_mutex_lock(&pp->lock);
	p = people_current(pp, name);
	pthread_mutex_unlock(&pp->lock);
	return (p != NULL ? p->via : NULL);
}

void
people_unpersisted(struct people *pp, const char *name)
{
	struct person *p;

	if (pp == NULL || name == NULL)
		return;
	pthread_mutex_lock(&pp->lock);
	if ((p = people_current(pp, name)) != NULL)
		p->persisted = INT64_MIN / 2;
	pthread_mutex_unlock(&pp->lock);
}

int
people_forget(struct people *pp, const char *name)
{
	struct person *p;

	if (pp == NULL || name == NULL)
		return (PEOPLE_EINVAL);
	pthread_mutex_lock(&pp->lock);
	if ((p = people_current(pp, name)) != NULL)
		p->current = 0;
	pthread_mutex_unlock(&pp->lock);
	return (p != NULL ? 0 : PEOPLE_EINVAL);
}

void
people_mail_group(struct people *pp, const char *group, int64_t since,
    void (*cb)(void *, const char *), void *arg)
{
	struct person *p;
	size_t	       i;

	if (pp == NULL)
		return;
	pthread_mutex_lock(&pp->lock);
	for (i = 0; i < pp->n; i++) {
		p = pp->v[i];
		if (p->current && p->seen >= since && p->user.email != NULL &&
		    config_user_in_group(&p->user, group))
			cb(arg, p->user.email);
	}
	pthread_mutex_unlock(&pp->lock);
}

char **
people_restrict(struct people *pp,
    int (*keep)(const void *, const char *, const char *), const void *arg)
{
	struct person *p, *np;
	char	     **lost;
	size_t	       i, j, k, n, nlost = 0, end;

	lost = xcalloc(1, sizeof *lost);
	if (pp == NULL)
		return (lost);
	pthread_mutex_lock(&pp->lock);
	for (i = 0, end = pp->n; i < end; i++) {
		p = pp->v[i];
		if (!p->current)
			continue;
		for (j = n = 0; j < p->user.groups.n; j++)
			n += keep(arg, p->via, p->user.groups.items[j]) != 0;
		if (n == p->user.groups.n)
			continue;
		lost = xreallocarray(lost, nlost + 2, sizeof *lost);
		lost[nlost++] = xstrdup(p->user.name);
		lost[nlost] = NULL;
		p->current = 0;
		if (n == 0 || pp->n == pp->max)
			continue;
		/* Entries are immutable: a new one with the groups left. */
		np = xcalloc(1, sizeof *np);
		np->user.name = xstrdup(p->user.name);
		np->user.email = p->user.email != NULL ?
				     xstrdup(p->user.email) :
				     NULL;
		np->user.groups.items = xcalloc(n + 1,
		    sizeof *np->user.groups.items);
		for (j = k = 0; j < p->user.groups.n; j++)
			if (keep(arg, p->via, p->user.groups.items[j]))
				np->user.groups.items[k++] = xstrdup(
				    p->user.groups.items[j]);
		np->user.groups.n = k;
		np->user.unix_uid = -1;
		np->via = xstrdup(p->via);
		np->current = 1;
		np->seen = p->seen;
		np->persisted = p->persisted;
		pp->v[pp->n++] = np;
	}
	pthread_mutex_unlock(&pp->lock);
	return (lost);
}
