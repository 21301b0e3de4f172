/*
 * Mail rendering, pure (no I/O, the clock passed in): the words of each
 * notification (subject, text and HTML bodies) from the facts of a
 * transition, and the whole RFC 5322 / MIME message sent through SES
 * (Raw content) or SMTP.
 *
 * Safety.  Every value that comes from a release (version, message,
 * author, reason, comment) is outside data: in headers, CR, LF and other
 * control characters become spaces, so no header can be injected; in the
 * HTML part, &, <, >, " and ' are escaped.  Non-ASCII header text is
 * sent as RFC 2047 encoded words (UTF-8, base64); bodies are
 * quoted-printable (UTF-8), so no line exceeds 76 characters on the wire
 * whatever the input; headers are folded under 78 columns.
 */
#ifndef SHIPGATE_MAIL_H
#define SHIPGATE_MAIL_H

#include <stddef.h>
#include <stdint.h>

/* What a notification says; strings may be NULL where noted. */
struct mail_facts {
	const char *event; /* outbox event name, or "reminder" */
	const char *app;
	const char *version;	/* may be NULL (an invalid release) */
	const char *message;	/* the integrator's; may be NULL */
	const char *author;	/* may be NULL */
	const char *env;	/* may be NULL */
	const char *actor;	/* who decided; may be NULL */
	const char *comment;	/* may be NULL */
	const char *reason;	/* may be NULL */
	const char *link;	/* public_url/runs/N; may be NULL */
	const char *object;	/* s3://bucket/key; may be NULL */
	int	    gate;	/* reminder: of the promotion gate */
	int	    reminder_n; /* reminder: its number (1, 2, ...) */
	int64_t	    run_id;	/* 0: none */
	int	    rollback;	/* the run is a rollback run */
	/* The change set: counts and the resources CloudFormation will
	   replace ("Service (AWS::ECS::Service)"); has_changes 0: none
	   known (no change set, e.g. a gate or an invalid release). */
	int		   has_changes;
	int		   n_add;
	int		   n_modify;
	int		   n_remove;
	int		   n_other;
	const char *const *replacements;   /* NULL-terminated or NULL */
	int		   n_replacements; /* those named, or more */
	/* The check steps that failed ("login-and-name / sign in:
	   status 500"), for checks_failed; NULL-terminated or NULL. */
	const char *const *failed_steps;
	/* Images whose tag moved since intake ("billing/web:1.4.2 now
	   points to sha256:..."): said in red; NULL-terminated or NULL. */
	const char *const *moved_images;
	/* The parameters the change set changes ("ImageTag: 1.4.1 ->
	   1.4.2"; NoEcho ones "****"), NULL-terminated or NULL, and how
	   many it leaves as they are. */
	const char *const *param_changes;
	int		   params_unchanged;
	/* The template's lines changed against the deployed one (the diff
	   itself is on the page); has_template 0: not compared. */
	int	  has_template;
	long long template_added;
	long long template_removed;
	/* The stack's drift, one line ("2 resources changed outside
	   CloudFormation: WebService DesiredCount: 2 -> 5; ..."), "none",
	   or "not checked: why"; NULL: not looked at. */
	const char *drift;
};

/* What is stored in the outbox row; the caller frees with
   mail_content_free. */
struct mail_content {
	char *subject; /* one line, not encoded */
	char *text;    /* LF line ends */
	char *html;
};

/* Renders the notification; 0, or -1 with *cause for an unknown event. */
int mail_render(const struct mail_facts *, struct mail_content *, char **cause);
void mail_content_free(struct mail_content *);

/* A whole message, as sent. */
struct mail_message {
	const char	  *from; /* "name <addr>" or addr */
	const char *const *to;	 /* NULL-terminated addresses */
	const char	  *subject;
	const char	  *text;       /* LF or CRLF line ends */
	const char	  *html;       /* may be NULL: text only */
	int64_t		   date_ms;    /* unix ms: the Date header */
	const char	  *message_id; /* "<...@...>"; NULL: none */
	const char	  *boundary;   /* NULL: derived from the
						   message id and date */
};

/*
 * The message with CRLF line ends (multipart/alternative when html is
 * set), NUL-terminated, *lenp its length; NULL and *cause when from or
 * to is missing or an address is not valid.
 */
char *mail_build(const struct mail_message *, size_t *lenp, char **cause);

/* Helpers, exposed for tests and the other senders. */

/* A copy with CR, LF, TAB and other C0/DEL controls as spaces and
 * bidirectional controls shown as "<U+202E>". */
char *mail_header_clean(const char *);
/* "Name: value" folded and encoded (RFC 2047 when not ASCII), CRLF at
   the end of every line. */
char *mail_header(const char *name, const char *value);
/* Quoted-printable (RFC 2045) of UTF-8 text; line ends become CRLF. */
char *mail_qp(const char *);
/* HTML with &, <, >, ", ' escaped. */
char *mail_html_escape(const char *);
/*
 * The addr-spec of "Name <addr>" or "addr" (a copy), or NULL when it is
 * not a plausible address: local@domain, printable ASCII without
 * spaces, quotes, commas, angle brackets or controls.
 */
char *mail_addr_spec(const char *);
/* The Date header value for unix ms (RFC 5322, UTC). */
char *mail_date(int64_t ms);

/* How a window_wait event's reason names the time the stage will start
 * (the engine writes it, the subject shows what follows it). */
#define MAIL_WINDOW_WHEN "will start executing at "

#endif
