/*
 * shipgatectl's end of the control socket (control.c is the daemon's):
 * one blocking request and its reply, and the human rendering of the
 * replies of `runs` and `show`.  The wire protocol is described at the
 * top of control.c.
 */
#ifndef SHIPGATE_CTL_CLIENT_H
#define SHIPGATE_CTL_CLIENT_H

#include <stdio.h>

#include <jansson.h>

/* Replies larger than this are refused (a `show` of a huge run is a few
 * MiB at most). */
#define CTL_REPLY_MAX (64 * 1024 * 1024)
/* How long to wait for the daemon to accept, read or answer. */
#define CTL_TIMEOUT_S 60

/*
 * Connects to the daemon's socket at path, sends request (one line) and
 * reads the one-line reply.  On success *replyp is the parsed object
 * (json_decref) and, if linep is not NULL, *linep the reply as received
 * without its newline (free).  Returns 0, or -1 with *cause, which for a
 * daemon that is not there reads "cannot reach shipgated at PATH: ...".
 */
int ctl_request(const char *path, json_t *request, json_t **replyp,
    char **linep, char **cause);

/* A reply's "error" and "detail" as one line: "forbidden: bob may ...". */
char *ctl_reply_error(const json_t *reply);

/* The table of a `runs` reply; the whole of a `show` reply. */
void ctl_print_runs(FILE *, const json_t *reply);
void ctl_print_run(FILE *, const json_t *reply);

/*
 * shipgatectl show --follow: what changed between two `show` replies
 * (prev NULL: the first), like tail -f: the stages' transitions, the new
 * stack events (oldest first, the failed ones marked) and the services
 * whose deployment moved, then the run's own end (f NULL: nothing
 * printed).  Returns -1 while the
 * run goes on, 0 when it succeeded, 1 when it ended otherwise.
 */
int ctl_follow_print(FILE *, const json_t *prev, const json_t *reply);

#endif
