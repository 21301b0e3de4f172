/*
 * Who may do what, from the configuration's groups: pure rules the
 * portal uses to decide which buttons to show and what is "waiting for
 * you".  The engine checks the same rules again when an action arrives
 * (and its answer is the one that counts); the reasons here are worded
 * as the engine's ("bob may not approve int: not in integrators").
 *
 * Each returns 1 when allowed, 0 when not; when not and reason is not
 * NULL, *reason is a sentence (caller frees).  An unknown user, app or
 * environment is "not allowed" with a reason saying so.
 */
#ifndef SHIPGATE_PERM_H
#define SHIPGATE_PERM_H

struct config;

/* Approve env's change set of a release of app by author (may be NULL). */
int perm_may_approve(const struct config *, const char *user, const char *app,
    const char *env, const char *author, char **reason);
/* Reject at env: its approvers (gate 0) or its gate groups (gate 1), or
 * operators. */
int perm_may_reject(const struct config *, const char *user, const char *app,
    const char *env, int gate, char **reason);
/* Authorise promotion beyond env (its `gate` groups). */
int perm_may_authorise(const struct config *, const char *user, const char *app,
    const char *env, char **reason);
/* Cancel, retry, redeploy: the operators group; what names the action
 * in the reason ("cancel run 4"). */
int perm_is_operator(const struct config *, const char *user, const char *what,
    char **reason);

struct config_user;
/*
 * Whether a release's author (release.json's "author": a name, an
 * e-mail or "Name <e-mail>") is the user: the user's name or e-mail,
 * ignoring case and surrounding blanks.  The self-approval block uses
 * it, so that writing one's e-mail, or one's name in capitals, as the
 * author does not get past it.
 */
int perm_is_author(const struct config_user *, const char *author);

#endif
