/*
 * Mail rendering: the words of each notification and the MIME message
 * around them.  Pure: no I/O, no clock (the date comes in).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "mail.h"
#include "tmpl.h"
#include "xmalloc.h"

#define MAIL_MAX	       (8 * 1024 * 1024)
#define MAIL_SUBJECT_VALUE_MAX 120 /* characters of a value in a subject */
#define MAIL_QP_LINE	       76
#define MAIL_HEADER_LINE       78

/* --- helpers -------------------------------------------------------------- */

static int
mail_is_control(unsigned char c)
{
	return (c < 0x20 || c == 0x7f);
}

/*
 * Outside text with its bidirectional controls made visible
 * ("<U+202E>"): a reader sees what was written, not text reordered to
 * look like something else.  keep_lf: LF and TAB stay (a body), CR
 * goes; else every control is a space (a header).
 */
static char *
mail_clean(const char *s, int keep_lf)
{
	struct buf   b;
	const char  *p;
	unsigned int cp;

	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "");
	for (p = s != NULL ? s : ""; *p != '\0'; p++) {
		if ((cp = tmpl_bidi_at(p, strnlen(p, 3))) != 0) {
			buf_printf(&b, "<U+%04X>", cp);
			p += 2;
		} else if (keep_lf && *p == '\r')
			continue;
		else if (mail_is_control((unsigned char)*p) &&
			 !(keep_lf && (*p == '\n' || *p == '\t')))
			buf_appends(&b, " ");
		else
			buf_append(&b, p, 1);
	}
	return (buf_take(&b, NULL));
}

char *
mail_header_clean(const char *s)
{
	return (mail_clean(s, 0));
}

/* A subject value: cleaned and cut (at a character boundary) if long. */
static char *
mail_subject_value(const char *s)
{
	char  *v;
	size_t n = 0, i, chars = 0;

	v = mail_header_clean(s);
	for (i = 0; v[i] != '\0'; i++) {
		if (((unsigned char)v[i] & 0xc0) != 0x80)
			chars++;
		if (chars > MAIL_SUBJECT_VALUE_MAX) {
			n = i;
			break;
		}
	}
	if (n > 0) {
		v[n] = '\0';
		v = xreallocarray(v, n + 4, 1);
		memcpy(v + n, "...", 4);
	}
	return (v);
}

/* Body text: CR dropped, controls but LF and TAB as spaces,
 * bidirectional controls shown. */
static char *
mail_body_clean(const char *s)
{
	return (mail_clean(s, 1));
}

char *
mail_html_escape(const char *s)
{
	struct buf  b;
	const char *p;

	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "");
	for (p = s != NULL ? s : ""; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			buf_appends(&b, "&amp;");
			break;
		case '<':
			buf_appends(&b, "&lt;");
			break;
		case '>':
			buf_appends(&b, "&gt;");
			break;
		case '"':
			buf_appends(&b, "&quot;");
			break;
		case '\'':
			buf_appends(&b, "&#39;");
			break;
		default:
			buf_append(&b, p, 1);
		}
	}
	return (buf_take(&b, NULL));
}

static int
mail_addr_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return (0);
	return (strchr("\"(),:;<>[]\\", c) == NULL);
}

char *
mail_addr_spec(const char *s)
{
	const char *start, *end, *at = NULL, *p;

	if (s == NULL)
		return (NULL);
	for (p = s; *p != '\0'; p++)
		if (mail_is_control((unsigned char)*p))
			return (NULL);
	if ((start = strrchr(s, '<')) != NULL) {
		start++;
		if ((end = strchr(start, '>')) == NULL || end[1] != '\0')
			return (NULL);
	} else {
		start = s;
		end = s + strlen(s);
	}
	for (p = start; p < end; p++) {
		if (!mail_addr_char((unsigned char)*p) && *p != '@')
			return (NULL);
		if (*p == '@') {
			if (at != NULL)
				return (NULL);
			at = p;
		}
	}
	if (at == NULL || at == start || at + 1 == end || end - start > 254)
		return (NULL);
	return (xstrndup(start, (size_t)(end - start)));
}

char *
mail_date(int64_t ms)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm		 tm;
	time_t			 t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	return (xasprintf("%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec));
}

static const char mail_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
mail_base64(struct buf *b, const unsigned char *p, size_t n)
{
	size_t i;
	char   q[4];

	for (i = 0; i + 2 < n; i += 3) {
		q[0] = mail_b64[p[i] >> 2];
		q[1] = mail_b64[(p[i] & 0x3) << 4 | p[i + 1] >> 4];
		q[2] = mail_b64[(p[i + 1] & 0xf) << 2 | p[i + 2] >> 6];
		q[3] = mail_b64[p[i + 2] & 0x3f];
		buf_append(b, q, 4);
	}
	if (i + 1 == n) {
		q[0] = mail_b64[p[i] >> 2];
		q[1] = mail_b64[(p[i] & 0x3) << 4];
		q[2] = q[3] = '=';
		buf_append(b, q, 4);
	} else if (i + 2 == n) {
		q[0] = mail_b64[p[i] >> 2];
		q[1] = mail_b64[(p[i] & 0x3) << 4 | p[i + 1] >> 4];
		q[2] = mail_b64[(p[i + 1] & 0xf) << 2];
		q[3] = '=';
		buf_append(b, q, 4);
	}
}

/*
 * A header.  Printable ASCII whose words are short is folded at spaces;
 * anything else becomes encoded words of at most 36 bytes of UTF-8 each
 * (cut between characters), one per line.
 */
char *
mail_header(const char *name, const char *value)
{
	struct buf  b;
	char	   *v;
	const char *p, *w;
	size_t	    col, wlen, n, len, cut;
	int	    plain = 1;

	v = mail_header_clean(value);
	buf_init(&b, SIZE_MAX / 2);
	buf_printf(&b, "%s:", name);
	col = strlen(name) + 1;
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			plain = 0;
	for (p = v; plain && *p != '\0'; p += wlen) {
		while (*p == ' ')
			p++;
		wlen = strcspn(p, " ");
		if (wlen > MAIL_HEADER_LINE - 8)
			plain = 0;
	}
	if (plain) {
		for (p = v; *p != '\0';) {
			while (*p == ' ')
				p++;
			if (*p == '\0')
				break;
			wlen = strcspn(p, " ");
			if (col + 1 + wlen > MAIL_HEADER_LINE &&
			    col > strlen(name) + 1) {
				buf_appends(&b, "\r\n");
				col = 0;
			}
			buf_appends(&b, " ");
			buf_append(&b, p, wlen);
			col += 1 + wlen;
			p += wlen;
		}
	} else {
		len = strlen(v);
		for (w = v; len > 0; w += n, len -= n) {
			n = len < 36 ? len : 36;
			/* Do not cut a UTF-8 sequence. */
			cut = n;
			while (cut > 0 && cut < len &&
			       ((unsigned char)w[cut] & 0xc0) == 0x80)
				cut--;
			if (cut > 0)
				n = cut;
			if (w != v)
				buf_appends(&b, "\r\n");
			buf_appends(&b, " =?UTF-8?B?");
			mail_base64(&b, (const unsigned char *)w, n);
			buf_appends(&b, "?=");
		}
	}
	buf_appends(&b, "\r\n");
	free(v);
	return (buf_take(&b, NULL));
}

/* Appends one token to a QP line, breaking softly before it if needed. */
static void
mail_qp_put(struct buf *b, size_t *col, const char *tok, size_t len)
{
	if (*col + len > MAIL_QP_LINE - 1) {
		buf_appends(b, "=\r\n");
		*col = 0;
	}
	buf_append(b, tok, len);
	*col += len;
}

char *
mail_qp(const char *s)
{
	static const char    hex[] = "0123456789ABCDEF";
	struct buf	     b;
	const unsigned char *p;
	size_t		     col = 0;
	char		     tok[3];
	int		     eol;

	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n') {
			buf_appends(&b, "\r\n");
			col = 0;
			continue;
		}
		eol = p[1] == '\0' || p[1] == '\n' ||
		      (p[1] == '\r' && p[2] == '\n');
		if ((*p >= 33 && *p <= 126 && *p != '=') ||
		    ((*p == ' ' || *p == '\t') && !eol)) {
			tok[0] = (char)*p;
			mail_qp_put(&b, &col, tok, 1);
		} else {
			tok[0] = '=';
			tok[1] = hex[*p >> 4];
			tok[2] = hex[*p & 0xf];
			mail_qp_put(&b, &col, tok, 3);
		}
	}
	return (buf_take(&b, NULL));
}

/* --- the message ---------------------------------------------------------- */

/* The From header: the display name encoded if need be, the address
   as is. */
static char *
mail_from_header(const char *from, const char *addr)
{
	char *name, *h, *lt, *q, *v;

	name = mail_header_clean(from);
	if ((lt = strrchr(name, '<')) != NULL)
		*lt = '\0';
	/* Trim, and drop quotes around the name. */
	while (*name != '\0' && name[strlen(name) - 1] == ' ')
		name[strlen(name) - 1] = '\0';
	q = name;
	while (*q == ' ')
		q++;
	if (*q == '"' && strlen(q) >= 2 && q[strlen(q) - 1] == '"') {
		q[strlen(q) - 1] = '\0';
		q++;
	}
	if (*q == '\0' || lt == NULL) {
		h = xasprintf("From: %s\r\n", addr);
		free(name);
		return (h);
	}
	/* Encode the name as an encoded word unless it is a plain atom
	   phrase. */
	if (strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789 !#$%&'*+-/=?^_`{|}~") == strlen(q))
		h = xasprintf("From: %s <%s>\r\n", q, addr);
	else {
		v = mail_header("X", q); /* "X: =?UTF-8?B?...?=\r\n" */
		v[strlen(v) - 2] = '\0';
		h = xasprintf("From:%s <%s>\r\n", v + 2, addr);
		free(v);
	}
	free(name);
	return (h);
}

static uint32_t
mail_hash(const char *s, uint32_t h)
{
	for (; s != NULL && *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h);
}

char *
mail_build(const struct mail_message *m, size_t *lenp, char **cause)
{
	struct buf b;
	char	  *addr = NULL, *h, *to = NULL, *date, *qp, *boundary;
	char	  *rcpt, *out = NULL;
	size_t	   i;

	if (m->to == NULL || m->to[0] == NULL) {
		*cause = xstrdup("no recipients");
		return (NULL);
	}
	if ((addr = mail_addr_spec(m->from)) == NULL) {
		*cause = xasprintf("not a From address: \"%s\"",
		    m->from != NULL ? m->from : "");
		return (NULL);
	}
	buf_init(&b, MAIL_MAX);
	for (i = 0; m->to[i] != NULL; i++) {
		if ((rcpt = mail_addr_spec(m->to[i])) == NULL) {
			*cause = xasprintf("not an address: \"%s\"", m->to[i]);
			goto out;
		}
		h = xasprintf("%s%s%s", to != NULL ? to : "",
		    to != NULL ? ", " : "", rcpt);
		free(rcpt);
		free(to);
		to = h;
	}
	if (m->boundary != NULL)
		boundary = xstrdup(m->boundary);
	else
		boundary = xasprintf("=_shipgate_%08x_%llx",
		    mail_hash(m->message_id,
			mail_hash(m->subject, 2166136261u)),
		    (unsigned long long)m->date_ms);

	h = mail_from_header(m->from, addr);
	buf_appends(&b, h);
	free(h);
	h = mail_header("To", to);
	buf_appends(&b, h);
	free(h);
	h = mail_header("Subject", m->subject);
	buf_appends(&b, h);
	free(h);
	date = mail_date(m->date_ms);
	buf_printf(&b, "Date: %s\r\n", date);
	free(date);
	if (m->message_id != NULL) {
		h = mail_header_clean(m->message_id);
		buf_printf(&b, "Message-ID: %s\r\n", h);
		free(h);
	}
	buf_appends(&b, "MIME-Version: 1.0\r\n");
	buf_appends(&b, "Auto-Submitted: auto-generated\r\n");
	if (m->html != NULL) {
		buf_printf(&b,
		    "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"%s\"\r\n\r\n",
		    boundary);
		buf_appends(&b, "This is a multi-part message in MIME format."
				"\r\n\r\n");
		buf_printf(&b, "--%s\r\n", boundary);
	}
	buf_appends(&b, "Content-Type: text/plain; charset=utf-8\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	qp = mail_qp(m->text != NULL ? m->text : "");
	buf_appends(&b, qp);
	free(qp);
	buf_appends(&b, "\r\n");
	if (m->html != NULL) {
		buf_printf(&b, "--%s\r\n", boundary);
		buf_appends(&b,
		    "Content-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		qp = mail_qp(m->html);
		buf_appends(&b, qp);
		free(qp);
		buf_printf(&b, "\r\n--%s--\r\n", boundary);
	}
	free(boundary);
	if (b.len >= MAIL_MAX) {
		*cause = xstrdup("the message is too large");
		goto out;
	}
	out = buf_take(&b, lenp);
out:
	buf_free(&b);
	free(addr);
	free(to);
	return (out);
}

/* --- the words ------------------------------------------------------------ */

struct mail_words {
	struct buf text;
	struct buf html;
};

/* A labelled value in both parts (skipped when value is NULL). */
static void
mail_field(struct mail_words *w, const char *label, const char *value)
{
	char *t, *h, *p;

	if (value == NULL || *value == '\0')
		return;
	t = mail_body_clean(value);
	h = mail_html_escape(t);
	if (strchr(t, '\n') != NULL) {
		buf_printf(&w->text, "%s:\n  ", label);
		for (p = t; *p != '\0'; p++) {
			buf_append(&w->text, p, 1);
			if (*p == '\n')
				buf_appends(&w->text, "  ");
		}
		buf_appends(&w->text, "\n");
		buf_printf(&w->html,
		    "<tr><th align=\"left\" valign=\"top\">"
		    "%s</th><td style=\"white-space:pre-wrap\">%s</td></tr>\n",
		    label, h);
	} else {
		buf_printf(&w->text, "%s: %s\n", label, t);
		buf_printf(&w->html,
		    "<tr><th align=\"left\" valign=\"top\">"
		    "%s</th><td>%s</td></tr>\n",
		    label, h);
	}
	free(t);
	free(h);
}

/* A paragraph of ours (no outside data but in %s args, escaped here). */
static void
mail_para(struct mail_words *w, const char *text)
{
	char *t, *h;

	t = mail_body_clean(text);
	h = mail_html_escape(t);
	buf_printf(&w->text, "%s\n\n", t);
	buf_printf(&w->html, "<p>%s</p>\n", h);
	free(t);
	free(h);
}

static void
mail_changes(struct mail_words *w, const struct mail_facts *f)
{
	char *s, *h;
	int   i, total;

	if (!f->has_changes)
		return;
	total = f->n_add + f->n_modify + f->n_remove + f->n_other;
	if (total == 0)
		s = xstrdup("no resource changes");
	else if (f->n_other > 0)
		s = xasprintf("%d to add, %d to modify, %d to remove, %d other",
		    f->n_add, f->n_modify, f->n_remove, f->n_other);
	else
		s = xasprintf("%d to add, %d to modify, %d to remove", f->n_add,
		    f->n_modify, f->n_remove);
	buf_printf(&w->text, "Changes: %s\n", s);
	buf_printf(&w->html,
	    "<tr><th align=\"left\" valign=\"top\">Changes"
	    "</th><td>%s",
	    s);
	free(s);
	if (f->replacements != NULL && f->replacements[0] != NULL) {
		buf_appends(&w->text, "Replaced (CloudFormation replaces these "
				      "resources):\n");
		buf_appends(&w->html, "<br>Replaced:<ul>\n");
		for (i = 0; f->replacements[i] != NULL; i++) {
			s = mail_header_clean(f->replacements[i]);
			h = mail_html_escape(s);
			buf_printf(&w->text, "  - %s\n", s);
			buf_printf(&w->html, "<li>%s</li>\n", h);
			free(s);
			free(h);
		}
		if (f->n_replacements > i) {
			buf_printf(&w->text, "  - and %d more\n",
			    f->n_replacements - i);
			buf_printf(&w->html, "<li>and %d more</li>\n",
			    f->n_replacements - i);
		}
		buf_appends(&w->html, "</ul>");
	}
	buf_appends(&w->html, "</td></tr>\n");
}

static void
mail_failed_steps(struct mail_words *w, const struct mail_facts *f)
{
	char *s, *h;
	int   i;

	if (f->failed_steps == NULL || f->failed_steps[0] == NULL)
		return;
	buf_appends(&w->text, "Failed steps:\n");
	buf_appends(&w->html, "<tr><th align=\"left\" valign=\"top\">Failed "
			      "steps</th><td><ul>\n");
	for (i = 0; f->failed_steps[i] != NULL; i++) {
		s = mail_body_clean(f->failed_steps[i]);
		h = mail_html_escape(s);
		buf_printf(&w->text, "  - %s\n", s);
		buf_printf(&w->html, "<li>%s</li>\n", h);
		free(s);
		free(h);
	}
	buf_appends(&w->html, "</ul></td></tr>\n");
}

/* Tags moved since intake: in red (and in words, for the text part). */
static void
mail_moved_images(struct mail_words *w, const struct mail_facts *f)
{
	char *s, *h;
	int   i;

	if (f->moved_images == NULL || f->moved_images[0] == NULL)
		return;
	buf_appends(&w->text, "WARNING, image tags moved since the release "
			      "came in:\n");
	buf_appends(&w->html,
	    "<tr><th align=\"left\" valign=\"top\" "
	    "style=\"color:#a40000\">Tags moved</th><td style=\"color:"
	    "#a40000\"><ul>\n");
	for (i = 0; f->moved_images[i] != NULL; i++) {
		s = mail_body_clean(f->moved_images[i]);
		h = mail_html_escape(s);
		buf_printf(&w->text,
		    "  - %s \xe2\x80\x94 this run deploys the "
		    "digest it was approved with\n",
		    s);
		buf_printf(&w->html,
		    "<li><strong>%s</strong> \xe2\x80\x94 "
		    "this run deploys the digest it was approved with</li>\n",
		    h);
		free(s);
		free(h);
	}
	buf_appends(&w->html, "</ul></td></tr>\n");
}

static void
mail_param_changes(struct mail_words *w, const struct mail_facts *f)
{
	char *s, *h;
	int   i;

	if (f->param_changes == NULL ||
	    (f->param_changes[0] == NULL && f->params_unchanged == 0))
		return;
	buf_appends(&w->text, "Parameters:\n");
	buf_appends(&w->html, "<tr><th align=\"left\" valign=\"top\">"
			      "Parameters</th><td><ul>\n");
	for (i = 0; f->param_changes[i] != NULL; i++) {
		s = mail_body_clean(f->param_changes[i]);
		h = mail_html_escape(s);
		buf_printf(&w->text, "  - %s\n", s);
		buf_printf(&w->html, "<li>%s</li>\n", h);
		free(s);
		free(h);
	}
	if (f->params_unchanged > 0) {
		buf_printf(&w->text, "  - and %d unchanged\n",
		    f->params_unchanged);
		buf_printf(&w->html, "<li>and %d unchanged</li>\n",
		    f->params_unchanged);
	}
	buf_appends(&w->html, "</ul></td></tr>\n");
}

int
mail_render(const struct mail_facts *f, struct mail_content *c, char **cause)
{
	struct mail_words w;
	const char	 *ev = f->event, *action = NULL;
	char		 *app, *ver, *env, *actor, *what, *subj = NULL;
	char		 *lead = NULL, *h;
	const char	 *when;
	int		  reminder = 0, is_gate = 0;

	memset(c, 0, sizeof *c);
	if (ev == NULL) {
		*cause = xstrdup("no event");
		return (-1);
	}
	app = mail_subject_value(f->app != NULL ? f->app : "?");
	ver = f->version != NULL && *f->version != '\0' ?
		  mail_subject_value(f->version) :
		  NULL;
	env = mail_subject_value(f->env != NULL ? f->env : "");
	actor = mail_subject_value(f->actor != NULL ? f->actor : "someone");
	what = ver != NULL ? xasprintf("%s %s", app, ver) :
			     xasprintf("%s (a release without a version)", app);

	if (strcmp(ev, "reminder") == 0) {
		reminder = 1;
		is_gate = f->gate;
	} else if (strcmp(ev, "gate_needed") == 0)
		is_gate = 1;

	if (strcmp(ev, "approval_needed") == 0 ||
	    strcmp(ev, "gate_needed") == 0 || reminder) {
		if (is_gate) {
			subj = xasprintf("%s%s awaits your authorisation to go "
					 "beyond %s",
			    reminder ? "Reminder: " : "", what, env);
			lead = xasprintf(
			    "%s has been deployed to %s and "
			    "awaits your authorisation before it goes to the "
			    "next environment.",
			    what, env);
			action = "Authorise or reject";
		} else {
			subj = xasprintf("%s%s awaits your approval for %s",
			    reminder ? "Reminder: " : "", what, env);
			lead = xasprintf("%s awaits your approval for %s: "
					 "review its change set.",
			    what, env);
			action = "Review and decide";
		}
		if (reminder) {
			h = lead;
			lead = xasprintf("Reminder %d: %s It is still waiting.",
			    f->reminder_n, h);
			free(h);
		}
	} else if (strcmp(ev, "approved") == 0) {
		subj = xasprintf("%s approved for %s by %s", what, env, actor);
		lead = xasprintf("%s approved %s for %s.", actor, what, env);
		action = "Follow the run";
	} else if (strcmp(ev, "rejected") == 0) {
		subj = xasprintf("%s rejected for %s by %s", what, env, actor);
		lead = xasprintf("%s rejected %s for %s: it will not be "
				 "deployed there.",
		    actor, what, env);
		action = "See the run";
	} else if (strcmp(ev, "deployed") == 0) {
		subj = xasprintf("%s deployed to %s", what, env);
		lead = xasprintf("%s is deployed to %s.", what, env);
		action = "See the run";
	} else if (strcmp(ev, "failed") == 0) {
		if (*env != '\0') {
			subj = xasprintf("%s failed in %s", what, env);
			lead = xasprintf("The deployment of %s to %s failed.",
			    what, env);
		} else {
			subj = xasprintf("%s failed", what);
			lead = xasprintf("The run of %s failed.", what);
		}
		action = "See the run";
	} else if (strcmp(ev, "release_invalid") == 0) {
		subj = xasprintf("%s refused at intake", what);
		lead = xasprintf(
		    "The release %s was refused when it was "
		    "received: it will not be deployed.  Fix it and drop a "
		    "new zip.",
		    what);
		action = "See the run";
	} else if (strcmp(ev, "checks_failed") == 0) {
		subj = xasprintf("%s: checks failed in %s", what, env);
		lead = xasprintf("%s is deployed to %s but its non-regression "
				 "checks failed; the run stops there.",
		    what, env);
		action = "See the check results";
	} else if (strcmp(ev, "rolled_back") == 0) {
		if (f->rollback && ver != NULL) {
			/* Told about the rollback run: its version runs. */
			subj = xasprintf("%s rolled back in %s to %s", app, env,
			    ver);
			lead = xasprintf("%s in %s was rolled back: %s runs "
					 "there again.",
			    app, env, ver);
		} else {
			/* Told about the run whose version was replaced. */
			subj = xasprintf("%s rolled back in %s", what, env);
			lead = xasprintf("%s in %s was rolled back to the "
					 "release that ran there before.",
			    what, env);
		}
		action = "See the run";
	} else if (strcmp(ev, "window_wait") == 0) {
		/* The engine's reason says when (engine-window.c): "...
		   will start executing at T"; the subject shows T. */
		when = f->reason != NULL ? strstr(f->reason, MAIL_WINDOW_WHEN) :
					   NULL;
		if (when != NULL)
			subj = xasprintf("%s approved for %s: runs at %s", what,
			    env, when + strlen(MAIL_WINDOW_WHEN));
		else
			subj = xasprintf("%s approved for %s: waiting for its "
					 "deploy window",
			    what, env);
		lead =
		    xasprintf("%s is approved for %s and starts on its own "
			      "when the environment's deploy window opens: %s.",
			what, env,
			f->reason != NULL ? f->reason : "no time known");
		action = "Follow the run";
	} else if (strcmp(ev, "window_override") == 0) {
		subj = xasprintf("%s: deploy window of %s overridden by %s",
		    what, env, actor);
		lead = xasprintf("%s overrode the deploy windows and freezes "
				 "of %s for %s: it starts executing now.",
		    actor, env, what);
		action = "Follow the run";
	} else {
		*cause = xasprintf("unknown event \"%s\"", ev);
		goto out;
	}

	buf_init(&w.text, MAIL_MAX);
	buf_init(&w.html, MAIL_MAX);
	buf_appends(&w.html,
	    "<!DOCTYPE html>\n<html><head><meta "
	    "charset=\"utf-8\"></head><body style=\"font-family:sans-serif\">"
	    "\n");
	mail_para(&w, lead);
	buf_appends(&w.html, "<table cellpadding=\"4\">\n");
	mail_field(&w, "Application", f->app);
	mail_field(&w, "Version", f->version);
	mail_field(&w, "Environment", f->env);
	mail_field(&w, "Author", f->author);
	mail_field(&w, "Message", f->message);
	if (f->rollback)
		mail_field(&w, "Run",
		    "a rollback run (the previous release "
		    "redeployed)");
	if (strcmp(ev, "approved") == 0 || strcmp(ev, "rejected") == 0 ||
	    strcmp(ev, "window_override") == 0) {
		mail_field(&w, "Decided by", f->actor);
		mail_field(&w, "Comment", f->comment);
	}
	if (strcmp(ev, "release_invalid") == 0)
		mail_field(&w, "Object", f->object);
	mail_field(&w, "Reason", f->reason);
	mail_failed_steps(&w, f);
	mail_moved_images(&w, f);
	mail_changes(&w, f);
	mail_param_changes(&w, f);
	if (f->has_template) {
		h = f->template_added == 0 && f->template_removed == 0 ?
			xstrdup("the same as deployed") :
			xasprintf(
			    "%lld line%s "
			    "added, %lld removed (the diff is on the page)",
			    f->template_added,
			    f->template_added == 1 ? "" : "s",
			    f->template_removed);
		mail_field(&w, "Template", h);
		free(h);
	}
	mail_field(&w, "Drift", f->drift);
	buf_appends(&w.html, "</table>\n");
	buf_appends(&w.text, "\n");
	if (f->link != NULL && *f->link != '\0') {
		h = mail_html_escape(f->link);
		buf_printf(&w.text, "%s: %s\n", action, f->link);
		buf_printf(&w.html, "<p><a href=\"%s\">%s</a>: %s</p>\n", h,
		    action, h);
		free(h);
	}
	buf_appends(&w.text, "\n-- \nshipgate\n");
	buf_appends(&w.html, "<p style=\"color:#666\">shipgate</p>\n"
			     "</body></html>\n");
	c->subject = xasprintf("[shipgate] %s", subj);
	c->text = buf_take(&w.text, NULL);
	c->html = buf_take(&w.html, NULL);
	buf_free(&w.text);
	buf_free(&w.html);
out:
	free(app);
	free(ver);
	free(env);
	free(actor);
	free(what);
	free(subj);
	free(lead);
	return (c->subject != NULL ? 0 : -1);
}

void
mail_content_free(struct mail_content *c)
{
	if (c == NULL)
		return;
	free(c->subject);
	free(c->text);
	free(c->html);
	memset(c, 0, sizeof *c);
}
