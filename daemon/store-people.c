/*
 * The store's part for the people an identity provider signed in
 * (sql/010_people.sql; people.h keeps them in memory).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store-int.h"
#include "xmalloc.h"

static const char SQL_PERSON_SEEN[] =
    "INSERT INTO people (name, email, groups, source, first_seen, "
    "last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
    "ON CONFLICT (name) DO UPDATE SET email = ?2, groups = ?3, "
    "source = ?4, last_seen = max(last_seen, ?5)";
static const char SQL_PEOPLE_LIST[] =
    "SELECT name, email, groups, source, first_seen, last_seen "
    "FROM people WHERE last_seen >= ?1 ORDER BY name";
static const char SQL_PERSON_SET_GROUPS[] =
    "UPDATE people SET groups = ?2 WHERE name = ?1";
static const char SQL_PERSON_FORGET[] = "DELETE FROM people WHERE name = ?1";

/* groups one a line into b; STORE_EINVAL for an empty one or a newline. */
static int
store_people_join(struct buf *b, const char *name, const char *const *groups,
    char **cause)
{
	size_t i;

	buf_init(b, SIZE_MAX / 2);
	for (i = 0; groups != NULL && groups[i] != NULL; i++) {
		/* One group a line: a newline would make two. */
		if (*groups[i] == '\0' || strchr(groups[i], '\n') != NULL) {
			buf_free(b);
			return (store_error(cause, STORE_EINVAL,
			    "person %s: "
			    "a group name is empty or holds a newline",
			    name));
		}
		buf_printf(b, "%s%s", i > 0 ? "\n" : "", groups[i]);
	}
	return (0);
}

int
store_person_set_groups(struct store *s, const char *name,
    const char *const *groups, char **cause)
{
	sqlite3_stmt *stmt;
	struct buf    b;
	int	      rc;

	if ((rc = store_people_join(&b, name, groups, cause)) != 0)
		return (rc);
	if ((stmt = store_stmt(s, SQL_PERSON_SET_GROUPS, cause)) == NULL) {
		buf_free(&b);
		return (STORE_EIO);
	}
	store_bind_text(stmt, 1, name);
	sqlite3_bind_text(stmt, 2, b.data != NULL ? b.data : "", -1,
	    SQLITE_TRANSIENT);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot change the groups of person "
		    "%s",
		    name);
	else if (sqlite3_changes(s->db) == 0)
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no person %s is "
		    "known",
		    name);
	store_stmt_done(stmt);
	buf_free(&b);
	return (rc);
}

int
store_person_seen(struct store *s, const char *name, const char *email,
    const char *const *groups, const char *source, char **cause)
{
	sqlite3_stmt *stmt;
	struct buf    b;
	int	      rc = 0;

	if (name == NULL || *name == '\0')
		return (store_error(cause, STORE_EINVAL,
		    "a person needs a "
		    "name"));
	if (source == NULL ||
	    (strcmp(source, "oidc") != 0 && strcmp(source, "alb") != 0))
		return (store_error(cause, STORE_EINVAL,
		    "person %s: unknown "
		    "source %s",
		    name, source != NULL ? source : "(none)"));
	if ((rc = store_people_join(&b, name, groups, cause)) != 0)
		return (rc);
	if ((stmt = store_stmt(s, SQL_PERSON_SEEN, cause)) == NULL) {
		buf_free(&b);
		return (STORE_EIO);
	}
	store_bind_text(stmt, 1, name);
	store_bind_text(stmt, 2, email);
	sqlite3_bind_text(stmt, 3, b.data != NULL ? b.data : "", -1,
	    SQLITE_TRANSIENT);
	store_bind_text(stmt, 4, source);
	sqlite3_bind_int64(stmt, 5, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot record person %s", name);
	store_stmt_done(stmt);
	buf_free(&b);
	return (rc);
}

/* "a\nb" into a NULL-terminated array; "" into an empty one. */
static char **
store_people_split(const char *text)
{
	const char *p, *nl;
	char	  **v;
	size_t	    n = 0;

	v = xcalloc(1, sizeof *v);
	if (text == NULL || *text == '\0')
		return (v);
	for (p = text;; p = nl + 1) {
		nl = strchr(p, '\n');
		v = xreallocarray(v, n + 2, sizeof *v);
		v[n++] = nl != NULL ? xstrndup(p, (size_t)(nl - p)) :
				      xstrdup(p);
		v[n] = NULL;
		if (nl == NULL)
			break;
	}
	return (v);
}

int
store_people_list(struct store *s, int64_t seen_since,
    struct store_people **out, char **cause)
{
	struct store_people *l;
	struct store_person *p;
	sqlite3_stmt	    *stmt;
	char		    *groups;
	int		     rc = 0, step;

	*out = NULL;
	if ((stmt = store_stmt(s, SQL_PEOPLE_LIST, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, seen_since);
	l = xcalloc(1, sizeof *l);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->items = xreallocarray(l->items, l->n + 1, sizeof *l->items);
		p = &l->items[l->n++];
		memset(p, 0, sizeof *p);
		p->name = store_column_text(stmt, 0);
		p->email = store_column_text(stmt, 1);
		groups = store_column_text(stmt, 2);
		p->groups = store_people_split(groups);
		free(groups);
		p->source = store_column_text(stmt, 3);
		p->first_seen = store_column_int64(stmt, 4);
		p->last_seen = store_column_int64(stmt, 5);
	}
	if (step != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot list the people");
	store_stmt_done(stmt);
	if (rc != 0) {
		store_people_free(l);
		return (rc);
	}
	*out = l;
	return (0);
}

void
store_people_free(struct store_people *l)
{
	struct store_person *p;
	size_t		     i, j;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		p = &l->items[i];
		free(p->name);
		free(p->email);
		for (j = 0; p->groups != NULL && p->groups[j] != NULL; j++)
			free(p->groups[j]);
		free(p->groups);
		free(p->source);
	}
	free(l->items);
	free(l);
}

int
store_person_forget(struct store *s, const char *name, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_PERSON_FORGET, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, name);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot forget person %s", name);
	else if (sqlite3_changes(s->db) == 0)
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no person %s is "
		    "known",
		    name);
	store_stmt_done(stmt);
	return (rc);
}
