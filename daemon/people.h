/*
 * The people an identity provider signs in (auth.oidc, auth.alb): they
 * are not in the configuration's users, so each sign-in registers the
 * person here, named by the provider's user claim, with the shipgate
 * groups their provider groups map to.  config_find_user falls back on
 * this directory, so the portal, the permissions, the engine and the
 * mails treat such a person as a configured user with those groups.
 *
 * Entries are immutable once made and live until people_free (at exit):
 * a pointer handed out stays valid whichever thread holds it.  A new
 * sign-in with other groups makes a new entry (the old one is kept, no
 * longer found); at most max entries are made over the process's life,
 * then sign-ins are refused (PEOPLE_EFULL) until a restart.  The
 * directory is persisted by the callers (store_person_seen at sign-in,
 * loaded at start, store_person_forget): people_set says when a write
 * is due, so the ALB's header, verified on every request, does not
 * write on every request.  Thread-safe.
 */
#ifndef SHIPGATE_PEOPLE_H
#define SHIPGATE_PEOPLE_H

#include <stddef.h>
#include <stdint.h>

struct config_user;
struct people;

#define PEOPLE_EFULL  (-1)
#define PEOPLE_EINVAL (-2)

#define PEOPLE_MAX_DEFAULT 10000

struct people *people_new(size_t max);
void	       people_free(struct people *);

/* How long a person's last sign-in may go unwritten to the store. */
#define PEOPLE_PERSIST_MS (60 * 60 * 1000)

/*
 * Registers (or finds unchanged) the person name, signed in by via
 * ("oidc", "alb") at now, with email (may be NULL) and groups
 * (NULL-terminated).  Returns 0 and the entry in *out, or PEOPLE_E*
 * with *cause.  *persistp (may be NULL) is set when the store should
 * record this sign-in: a new or changed person, or one whose last
 * write is PEOPLE_PERSIST_MS old.
 */
int people_set(struct people *, const char *name, const char *email,
    const char *const *groups, const char *via, int64_t now,
    const struct config_user **out, int *persistp, char **cause);
/* The store refused name's sign-in: the next people_set asks again. */
void people_unpersisted(struct people *, const char *name);
/*
 * Ends name's entry (an operator forgot them): people_find no longer
 * finds them.  Returns 0, or PEOPLE_EINVAL when nobody has that name.
 */
int people_forget(struct people *, const char *name);
/*
 * After a reload: each person keeps only the groups keep(arg, via,
 * group) accepts.  One left with fewer gets a new entry; one left with
 * none (or when the directory is full) is forgotten.  Returns the names
 * of those who lost a group (NULL-terminated, caller frees each and the
 * array), for their sign-ins to end.
 */
char **people_restrict(struct people *,
    int (*keep)(const void *, const char *via, const char *group),
    const void *arg);
/*
 * Calls cb with the e-mail of every person in group seen at or after
 * since (those without e-mail are skipped).  cb must not call back
 * into the directory.
 */
void people_mail_group(struct people *, const char *group, int64_t since,
    void (*cb)(void *, const char *), void *arg);
/* The current entry of name, or NULL. */
const struct config_user *people_find(struct people *, const char *name);
/* How name signed in ("oidc", "alb"), or NULL for no such person. */
const char *people_via(struct people *, const char *name);

#endif
