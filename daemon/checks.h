/*
 * Non-regression checks: the named lists of HTTP steps of the config
 * (checks:) run against an environment's base_url after a deployment
 * ("log in, then find the user's name on the second page").  Asynchronous
 * on the loop through http.c; results per step, owned by the caller, with
 * every secret masked.
 *
 * A run.  checks_run() takes the checks to run, in order, one after the
 * other (a failed check does not stop the next one: all are reported).
 * Each check gets its own cookie jar, kept across its steps; its steps run
 * in order and the first failed step ends the check (the later ones are
 * reported as skipped).  A failed attempt of a step (transport error,
 * timeout, or an expectation not met) is tried again, the whole step with
 * the same cookies, up to the step's `retries` more times, retry_delay_ms
 * apart: the new version may still be warming up.  The steps are copied at
 * the start, so the config may be freed or reloaded during the run.
 *
 * URLs.  A step's url that is a path ("/login") is appended to base_url
 * (a base_url with a path, "https://h/app", keeps it: "https://h/app/login").
 * A step's url that is an absolute http(s):// URL must name the same host
 * as base_url (scheme and port may differ): secrets are meant for the
 * environment under test, never for another host.  Redirects are followed
 * up to the step's max_redirects; one more is a failure ("too many
 * redirects (more than 5): a redirect loop?").  libcurl drops the cookies
 * and Authorization headers when a redirect leaves the host.
 *
 * Secrets.  In url, header values, form values and the json body, "${NAME}"
 * is replaced by the environment variable NAME and "${file:/PATH}" by the
 * file's content without its final newline ("\n" or "\r\n"), read when the
 * run starts (never when the config is loaded).  An unset variable or an
 * unreadable file fails the steps that use it, without an attempt.  Values
 * are inserted as written in url and headers (a value in a url is not
 * encoded), URL-encoded with the rest of a form field, and JSON-escaped in
 * the json body (so write "${file:/PATH}" inside a JSON string).  Every
 * substituted value (and its URL-encoded and JSON-escaped forms), however
 * short, is replaced by "****" in every string this module produces:
 * results, reasons, excerpts, URLs and log lines.
 * Secrets are wiped from memory when the run ends.  (http.c's own debug
 * log prints each call's URL without its query: keep secrets out of paths.)
 *
 * Expectations, checked in this order, the first that fails is the
 * step's reason: status (any of the list; none given: any 2xx), header
 * present, body contains a text, body matches a POSIX extended regular
 * expression, JSON pointer (RFC 6901) present and, with json_equals, equal
 * (a JSON string by its content, any other value by its compact JSON text,
 * numbers also by value).  The body is kept up to body_max bytes (1 MiB by
 * default); matching looks at that much and the rest is read and dropped.
 */
#ifndef SHIPGATE_CHECKS_H
#define SHIPGATE_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "http.h"

struct checks_run;

/* A step's fate. */
enum checks_step_state {
	CHECKS_STEP_PASSED = 0,
	CHECKS_STEP_FAILED,
	/* Not run: an earlier step failed, or the run was cancelled. */
	CHECKS_STEP_SKIPPED,
	/* In progress (or between attempts) when cancelled. */
	CHECKS_STEP_CANCELLED,
};

#define CHECKS_EXCERPT_MAX	300 /* bytes of body in an excerpt */
#define CHECKS_BODY_MAX_DEFAULT (1024 * 1024)

/*
 * Every string is masked and is valid UTF-8 without control characters.
 * url: as requested (as configured when it could not be built); reason:
 * why the step failed (NULL if it passed or was skipped); excerpt: the
 * start of the last answer's body (NULL if none).  attempts: requests
 * made (0 if none); status: of the last attempt (0 if none arrived); ms:
 * the last attempt's duration; total_ms: all attempts and delays;
 * started_at, finished_at: unix ms (0 if the step did not run).
 */
struct checks_step_result {
	char		      *name;
	enum checks_step_state state;
	char		      *method;
	char		      *url;
	int		       attempts;
	long		       status;
	long long	       ms;
	long long	       total_ms;
	char		      *reason;
	char		      *excerpt;
	int64_t		       started_at;
	int64_t		       finished_at;
};

struct checks_check_result {
	char			  *name;
	int			   passed; /* every step passed */
	struct checks_step_result *steps;  /* all steps of the check */
	size_t			   nsteps;
};

/* passed: every check passed and the run was not cancelled. */
struct checks_result {
	int			    passed;
	int			    cancelled;
	long long		    ms; /* the whole run */
	struct checks_check_result *checks;
	size_t			    nchecks;
};

struct checks_options {
	const char *ca_file;  /* a trust anchor (PEM) or NULL */
	size_t	    body_max; /* 0: CHECKS_BODY_MAX_DEFAULT */
	/* Fields appended to log lines ("app=billing run=42 env=stg"), or
	   NULL.  Copied. */
	const char *log_fields;
	/* The wall clock for started_at/finished_at (unix ms), e.g. the
	   store's; NULL: CLOCK_REALTIME.  Durations use the monotonic
	   clock. */
	int64_t (*now_ms)(void *);
	void *now_arg;
};

/* The result is the callee's: free it with checks_result_free. */
typedef void (*checks_done_cb)(struct checks_result *, void *arg);

/*
 * Starts running `checks` (n of them; 0 is fine and passes) against
 * base_url (http:// or https://).  Fails synchronously (NULL, *cause set,
 * caller frees, done_cb never called) on a bad argument; otherwise calls
 * done_cb exactly once, from the loop, never from inside checks_run() or
 * checks_cancel().  The run handle is valid until done_cb returns.  The
 * client must stay open until then; `checks`, `options` and their
 * strings may be freed when checks_run returns.
 */
struct checks_run *checks_run(uv_loop_t *, struct http_client *,
    const char *base_url, const struct config_check *const *, size_t n,
    const struct checks_options *, checks_done_cb, void *arg, char **cause);
/*
 * Stops the run: its done_cb comes on a later loop iteration with
 * `cancelled` set and `passed` clear (the step in progress is
 * CHECKS_STEP_CANCELLED, later ones skipped).  Calling it again is fine;
 * calling it after done_cb has returned is not.
 */
void checks_cancel(struct checks_run *);

void checks_result_free(struct checks_result *);
/*
 * The results as JSON text (caller frees), for the store and the run page:
 * {"passed":false,"cancelled":false,"ms":1234,"checks":[{"name":"...",
 * "passed":false,"steps":[{"name":"...","state":"failed","method":"GET",
 * "url":"...","attempts":3,"status":500,"ms":12,"total_ms":2040,
 * "started_at":1795000000000,"finished_at":1795000002040,
 * "reason":"expected status 200, got 500","excerpt":"..."}]}]}
 * (reason, excerpt and url are null when absent).
 */
char *checks_result_json(const struct checks_result *);
/*
 * One line for a run's failure reason or a mail (caller frees): "all 2
 * checks passed", "cancelled", or the first failure: "check
 * login-and-name, step \"second page\": body does not contain \"Jean
 * Dupont\"".
 */
char	   *checks_result_summary(const struct checks_result *);
const char *checks_step_state_name(enum checks_step_state);

#endif
