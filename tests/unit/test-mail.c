/*
 * mail.c: the words of every notification, the MIME structure, escaping,
 * header injection attempts, folding and encoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"
#include "tap.h"
#include "webhook.h"
#include "xmalloc.h"

static int
b64val(int c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '\0' || (p = strchr(a, c)) == NULL)
		return (-1);
	return ((int)(p - a));
}

/* Decodes the encoded words of a header value (test-side, simple). */
static char *
decode_words(const char *h)
{
	char	   *out = xcalloc(1, strlen(h) + 1), *o = out;
	const char *p = h, *e;
	int	    v[4], i;

	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		p += 10;
		e = strstr(p, "?=");
		while (p + 4 <= e) {
			for (i = 0; i < 4; i++)
				v[i] = b64val(p[i]);
			*o++ = (char)(v[0] << 2 | v[1] >> 4);
			if (p[2] != '=')
				*o++ = (char)((v[1] & 0xf) << 4 | v[2] >> 2);
			if (p[3] != '=')
				*o++ = (char)((v[2] & 0x3) << 6 | v[3]);
			p += 4;
		}
		p = e + 2;
	}
	*o = '\0';
	return (out);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Quoted-printable back to text, CRLF to LF. */
static char *
qp_decode(const char *s)
{
	char	   *out = xcalloc(1, strlen(s) + 1), *o = out;
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
			continue;
		}
		if (p[0] == '=' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			*o++ = (char)(hexval(p[1]) << 4 | hexval(p[2]));
			p += 2;
			continue;
		}
		if (p[0] == '\r' && p[1] == '\n')
			continue;
		*o++ = *p;
	}
	*o = '\0';
	return (out);
}

/* The longest line (CRLF-separated) and whether a bare LF or CR is in. */
static void
lines_check(const char *s, size_t *longest, int *bare)
{
	const char *p, *start = s;

	*longest = 0;
	*bare = 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n') {
			if ((size_t)(p - start) > *longest)
				*longest = (size_t)(p - start);
			start = p + 2;
			p++;
		} else if (*p == '\n' || *p == '\r')
			*bare = 1;
	}
	if ((size_t)(p - start) > *longest)
		*longest = (size_t)(p - start);
}

/* The header block of a message (up to the first empty line). */
static char *
headers_of(const char *msg)
{
	const char *e = strstr(msg, "\r\n\r\n");

	return (xstrndup(msg, e != NULL ? (size_t)(e - msg) + 2 : strlen(msg)));
}

/* 1 if a header line (at a line start) begins with name. */
static int
has_header_line(const char *headers, const char *name)
{
	const char *p = headers;
	size_t	    n = strlen(name);

	for (;;) {
		if (strncasecmp(p, name, n) == 0)
			return (1);
		if ((p = strstr(p, "\r\n")) == NULL)
			return (0);
		p += 2;
	}
}

static void
test_helpers(void)
{
	char  *s, *d;
	size_t longest;
	int    bare;

	s = mail_header_clean("a\r\nBcc: evil@x.example\tz\x01");
	is_str(s, "a  Bcc: evil@x.example z ", "controls become spaces");
	free(s);
	s = mail_header_clean("a\xe2\x80\xae"
			      "b\xe2\x81\xa9"
			      "c");
	is_str(s, "a<U+202E>b<U+2069>c", "bidirectional controls are shown");
	free(s);

	s = mail_header("Subject", "hello world");
	is_str(s, "Subject: hello world\r\n", "a short ASCII header as is");
	free(s);

	s = mail_header("Subject",
	    "[shipgate] billing 1.4.2 awaits your "
	    "approval for stg, with many more words to make it long enough "
	    "to need folding twice over the seventy-eight column limit");
	lines_check(s, &longest, &bare);
	ok(longest <= 78 && !bare,
	    "a long ASCII header is folded under 78 "
	    "columns (%zu)",
	    longest);
	ok(strstr(s, "\r\n ") != NULL, "continuation lines start with a "
				       "space");
	free(s);

	s = mail_header("Subject",
	    "Déploiement de «billing» — ünïcödé "
	    "everywhere, long enough for two encoded words or more");
	lines_check(s, &longest, &bare);
	ok(strncmp(s, "Subject: =?UTF-8?B?", 19) == 0, "UTF-8 becomes "
						       "encoded words");
	ok(longest <= 78 && !bare, "encoded words folded (%zu)", longest);
	d = decode_words(s);
	is_str(d,
	    "Déploiement de «billing» — ünïcödé everywhere, long enough "
	    "for two encoded words or more",
	    "encoded words decode back, "
	    "characters whole");
	free(d);
	free(s);

	s = mail_header("Subject", "x\r\nBcc: evil@x.example");
	ok(strstr(s, "\r\nBcc:") == NULL, "no injected header line");
	free(s);

	s = mail_qp("a=b tail \nline\twith tab\t\nd\xc3\xa9j\xc3\xa0");
	is_str(s, "a=3Db tail=20\r\nline\twith tab=09\r\nd=C3=A9j=C3=A0",
	    "quoted-printable: =, trailing blanks, UTF-8, CRLF");
	d = qp_decode(s);
	is_str(d, "a=b tail \nline\twith tab\t\nd\xc3\xa9j\xc3\xa0",
	    "and back");
	free(d);
	free(s);
	{
		char big[600];

		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		big[100] = '=';
		s = mail_qp(big);
		lines_check(s, &longest, &bare);
		ok(longest <= 76 && !bare, "long lines soft-broken (%zu)",
		    longest);
		d = qp_decode(s);
		is_str(d, big, "soft breaks decode away");
		free(d);
		free(s);
	}

	s = mail_html_escape("<a href=\"x\">&'</a>");
	is_str(s, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;",
	    "HTML escaping");
	free(s);

	s = mail_addr_spec("shipgate <deploy@example.com>");
	is_str(s, "deploy@example.com", "addr-spec of name <addr>");
	free(s);
	s = mail_addr_spec("bob@client.example");
	is_str(s, "bob@client.example", "a bare address");
	free(s);
	ok(mail_addr_spec("bob") == NULL, "no @: refused");
	ok((s = mail_addr_spec("a@b\r\nRCPT TO:<x@y>")) == NULL,
	    "CRLF refused");
	free(s);
	ok(mail_addr_spec("a b@c") == NULL, "space refused");
	ok(mail_addr_spec("a@b@c") == NULL, "two @ refused");
	ok(mail_addr_spec("x <a@b> y") == NULL, "junk after > refused");
	ok(mail_addr_spec("a,b@c") == NULL, "comma refused");

	s = mail_date(0);
	is_str(s, "Thu, 01 Jan 1970 00:00:00 +0000", "Date of the epoch");
	free(s);
	s = mail_date(1795000000000LL);
	is_str(s, "Wed, 18 Nov 2026 11:06:40 +0000", "Date of a 2026 time");
	free(s);
}

static const char *const replaced[] = { "Service (AWS::ECS::Service)", NULL };

static void
facts_init(struct mail_facts *f, const char *event)
{
	memset(f, 0, sizeof *f);
	f->event = event;
	f->app = "billing";
	f->version = "1.4.2";
	f->message = "Fix invoice rounding on credit notes";
	f->author = "alice";
	f->env = "stg";
	f->link = "https://deploy.example.com/runs/42";
	f->run_id = 42;
}

static void
test_subjects(void)
{
	static const struct {
		const char *event;
		int	    gate;
		const char *subject;
	} t[] = {
		{ "approval_needed", 0,
		    "[shipgate] billing 1.4.2 awaits your "
		    "approval for stg" },
		{ "gate_needed", 0,
		    "[shipgate] billing 1.4.2 awaits your "
		    "authorisation to go beyond stg" },
		{ "reminder", 0,
		    "[shipgate] Reminder: billing 1.4.2 awaits "
		    "your approval for stg" },
		{ "reminder", 1,
		    "[shipgate] Reminder: billing 1.4.2 awaits "
		    "your authorisation to go beyond stg" },
		{ "approved", 0,
		    "[shipgate] billing 1.4.2 approved for stg "
		    "by bob" },
		{ "rejected", 0,
		    "[shipgate] billing 1.4.2 rejected for stg "
		    "by bob" },
		{ "deployed", 0, "[shipgate] billing 1.4.2 deployed to stg" },
		{ "failed", 0, "[shipgate] billing 1.4.2 failed in stg" },
		{ "release_invalid", 0,
		    "[shipgate] billing 1.4.2 refused at "
		    "intake" },
		{ "checks_failed", 0,
		    "[shipgate] billing 1.4.2: checks failed "
		    "in stg" },
		{ "rolled_back", 0,
		    "[shipgate] billing 1.4.2 rolled back in "
		    "stg" },
		{ "window_wait", 0,
		    "[shipgate] billing 1.4.2 approved for "
		    "stg: waiting for its deploy window" },
		{ "window_override", 0,
		    "[shipgate] billing 1.4.2: deploy "
		    "window of stg overridden by bob" },
	};
	struct mail_facts   f;
	struct mail_content c;
	char		   *cause = NULL;
	size_t		    i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		facts_init(&f, t[i].event);
		f.gate = t[i].gate;
		f.reminder_n = 2;
		f.actor = "bob";
		if (mail_render(&f, &c, &cause) != 0) {
			ok(0, "%s: %s", t[i].event, cause);
			free(cause);
			continue;
		}
		is_str(c.subject, t[i].subject, "subject of %s%s", t[i].event,
		    t[i].gate ? " (gate)" : "");
		ok(strstr(c.text, f.link) != NULL &&
			strstr(c.html,
			    "<a href=\"https://deploy.example.com/runs/"
			    "42\">") != NULL,
		    "%s: the link in both parts", t[i].event);
		mail_content_free(&c);
	}
	facts_init(&f, "no_such_event");
	ok(mail_render(&f, &c, &cause) != 0 && cause != NULL,
	    "an unknown event is refused");
	free(cause);
	cause = NULL;

	facts_init(&f, "rolled_back");
	f.rollback = 1;
	f.version = "1.4.1";
	mail_render(&f, &c, &cause);
	is_str(c.subject, "[shipgate] billing rolled back in stg to 1.4.1",
	    "rolled_back told about the rollback run: the version back");
	mail_content_free(&c);

	/* Approved outside the windows: the mail says when it will run. */
	facts_init(&f, "window_wait");
	f.reason = "outside the deploy windows: will start executing at "
		   "2026-12-14 09:00 Europe/Paris (UTC+01:00)";
	mail_render(&f, &c, &cause);
	is_str(c.subject,
	    "[shipgate] billing 1.4.2 approved for stg: runs at "
	    "2026-12-14 09:00 Europe/Paris (UTC+01:00)",
	    "window_wait: the subject says when it will run");
	ok(strstr(c.text,
	       "starts on its own when the environment's deploy "
	       "window opens: outside the deploy windows: will start executing "
	       "at 2026-12-14 09:00 Europe/Paris (UTC+01:00).") != NULL,
	    "window_wait: so does the text");
	mail_content_free(&c);
	facts_init(&f, "window_override");
	f.actor = "dave";
	f.comment = "hotfix for the invoice totals";
	mail_render(&f, &c, &cause);
	ok(strstr(c.text, "dave overrode the deploy windows and freezes of "
			  "stg") != NULL &&
		strstr(c.text, "hotfix for the invoice totals") != NULL,
	    "window_override: who and why");
	mail_content_free(&c);

	facts_init(&f, "failed");
	f.env = NULL;
	f.version = NULL;
	mail_render(&f, &c, &cause);
	is_str(c.subject,
	    "[shipgate] billing (a release without a version) "
	    "failed",
	    "no environment, no version");
	mail_content_free(&c);
}

static void
test_bodies(void)
{
	struct mail_facts   f;
	struct mail_content c;
	char		   *cause = NULL;

	facts_init(&f, "approval_needed");
	f.message = "Fix <script>alert('x')</script> & more\nsecond line";
	f.has_changes = 1;
	f.n_add = 1;
	f.n_modify = 2;
	f.n_remove = 0;
	f.replacements = replaced;
	f.n_replacements = 3;
	mail_render(&f, &c, &cause);
	ok(strstr(c.text, "Version: 1.4.2\n") != NULL, "text: the version");
	ok(strstr(c.text, "Fix <script>alert('x')</script> & more") != NULL &&
		strstr(c.text, "  second line") != NULL,
	    "text: the message, "
	    "indented on its second line");
	ok(strstr(c.html, "<script>") == NULL &&
		strstr(c.html,
		    "Fix &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more") !=
		    NULL,
	    "HTML: the message escaped");
	ok(strstr(c.text, "Changes: 1 to add, 2 to modify, 0 to remove") !=
		NULL,
	    "text: change counts");
	ok(strstr(c.text, "  - Service (AWS::ECS::Service)") != NULL &&
		strstr(c.text, "and 2 more") != NULL,
	    "text: replacements named, "
	    "the rest counted");
	ok(strstr(c.html, "<li>Service (AWS::ECS::Service)</li>") != NULL,
	    "HTML: replacements named");
	ok(strstr(c.text, "Review and decide: https://deploy.example.com/"
			  "runs/42") != NULL,
	    "text: the link to decide");
	mail_content_free(&c);

	facts_init(&f, "rejected");
	f.actor = "bob";
	f.comment = "The rounding is wrong for CHF";
	mail_render(&f, &c, &cause);
	ok(strstr(c.text, "Comment: The rounding is wrong for CHF") != NULL &&
		strstr(c.text, "Decided by: bob") != NULL,
	    "rejected: who and "
	    "the comment");
	mail_content_free(&c);

	/* Issue 12: a comment, a message and a name cannot hide text
	 * behind bidirectional overrides. */
	facts_init(&f, "rejected");
	f.actor = "bob\xe2\x80\xae";
	f.message = "safe \xe2\x81\xa6"
		    "fix\xe2\x81\xa9";
	f.comment = "ok\xe2\x80\xae"
		    "detaler\xe2\x80\xac";
	mail_render(&f, &c, &cause);
	ok(strstr(c.text, "ok<U+202E>detaler<U+202C>") != NULL &&
		strstr(c.text, "safe <U+2066>fix<U+2069>") != NULL &&
		strstr(c.text, "bob<U+202E>") != NULL &&
		strstr(c.text, "\xe2\x80\xae") == NULL &&
		strstr(c.text, "\xe2\x81\xa6") == NULL,
	    "text: bidirectional controls shown as <U+XXXX>");
	ok(strstr(c.html, "ok&lt;U+202E&gt;detaler&lt;U+202C&gt;") != NULL &&
		strstr(c.html, "\xe2\x80\xae") == NULL &&
		strstr(c.subject, "\xe2\x80\xae") == NULL,
	    "HTML and subject: shown too");
	mail_content_free(&c);

	facts_init(&f, "failed");
	f.reason = "Resource handler returned message: \"Service web did "
		   "not stabilize\"";
	mail_render(&f, &c, &cause);
	ok(strstr(c.text, "Reason: Resource handler returned message: "
			  "\"Service web did not stabilize\"") != NULL,
	    "failed: the reason");
	ok(strstr(c.html, "&quot;Service web did not stabilize&quot;") != NULL,
	    "failed: the reason escaped in HTML");
	mail_content_free(&c);

	facts_init(&f, "release_invalid");
	f.reason = "release.json: \"version\" is missing";
	f.object = "s3://releases-billing/drops/billing-1.4.2.zip";
	f.version = NULL;
	mail_render(&f, &c, &cause);
	ok(strstr(c.text, "Reason: release.json: \"version\" is missing") !=
		    NULL &&
		strstr(c.text, "Object: s3://releases-billing/drops/"
			       "billing-1.4.2.zip") != NULL,
	    "release_invalid: the exact reason "
	    "and the object");
	mail_content_free(&c);

	{
		static const char *const steps[] = {
			"login-and-name / second "
			"page shows the name: body contains \"Jean Dupont\"",
			NULL
		};

		facts_init(&f, "checks_failed");
		f.failed_steps = steps;
		mail_render(&f, &c, &cause);
		ok(strstr(c.text,
		       "  - login-and-name / second page shows the "
		       "name: body contains \"Jean Dupont\"") != NULL,
		    "checks_failed: the failed step");
		mail_content_free(&c);
	}
}

static void
test_message(void)
{
	struct mail_facts   f;
	struct mail_content c;
	struct mail_message m;
	const char *to[] = { "bob@client.example", "carol@client.example",
		NULL };
	const char *bad[] = { "bob@client.example\r\nBcc: x@y", NULL };
	char	   *msg, *h, *cause = NULL, *p, *q, *d;
	size_t	    len, longest;
	int	    bare;

	facts_init(&f, "approval_needed");
	/* Injection attempts through every release field. */
	f.version = "1.4.2\r\nBcc: evil@attacker.example";
	f.message = "hi\r\n.\r\nMAIL FROM:<x@y>\r\n";
	f.author = "alice\nX-Evil: 1";
	mail_render(&f, &c, &cause);
	memset(&m, 0, sizeof m);
	m.from = "shipgate <deploy@example.com>";
	m.to = to;
	m.subject = c.subject;
	m.text = c.text;
	m.html = c.html;
	m.date_ms = 0;
	m.message_id = "<shipgate.1.0@example.com>";
	msg = mail_build(&m, &len, &cause);
	ok(msg != NULL && strlen(msg) == len, "a message is built");
	h = headers_of(msg);
	ok(has_header_line(h, "From: shipgate <deploy@example.com>\r\n"),
	    "From");
	ok(has_header_line(h, "To: bob@client.example, carol@client.example"
			      "\r\n"),
	    "To");
	ok(has_header_line(h, "Subject: [shipgate] billing 1.4.2 Bcc: "
			      "evil@attacker.example"),
	    "Subject, the CRLF neutralised");
	ok(!has_header_line(h, "Bcc:") && !has_header_line(h, "X-Evil"),
	    "no injected header");
	ok(has_header_line(h, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"),
	    "Date");
	ok(has_header_line(h, "Message-ID: <shipgate.1.0@example.com>\r\n"),
	    "Message-ID");
	ok(has_header_line(h, "MIME-Version: 1.0\r\n"), "MIME-Version");
	ok(has_header_line(h, "Content-Type: multipart/alternative;"),
	    "multipart/alternative");
	free(h);
	lines_check(msg, &longest, &bare);
	ok(longest <= 78 && !bare, "CRLF only, no line over 78 (%zu)", longest);
	p = strstr(msg, "boundary=\"");
	ok(p != NULL, "a boundary");
	if (p != NULL) {
		char b[128], mark[256];

		q = strchr(p + 10, '"');
		snprintf(b, sizeof b, "%.*s", (int)(q - p - 10), p + 10);
		snprintf(mark, sizeof mark,
		    "\r\n--%s\r\nContent-Type: "
		    "text/plain; charset=utf-8\r\n",
		    b);
		ok(strstr(msg, mark) != NULL, "the text part");
		snprintf(mark, sizeof mark,
		    "\r\n--%s\r\nContent-Type: "
		    "text/html; charset=utf-8\r\n",
		    b);
		ok(strstr(msg, mark) != NULL, "the HTML part after it");
		snprintf(mark, sizeof mark, "\r\n--%s--\r\n", b);
		ok(strstr(msg, mark) != NULL &&
			strcmp(msg + len - strlen(mark), mark) == 0,
		    "the closing boundary last");
		/* The text part decodes to the rendered text. */
		p = strstr(msg, "quoted-printable\r\n\r\n") + 20;
		snprintf(mark, sizeof mark, "\r\n--%s", b);
		q = strstr(p, mark);
		h = xstrndup(p, (size_t)(q - p));
		d = qp_decode(h);
		{
			char *want = xasprintf("%s", c.text), *w, *o;

			/* The renderer drops CRs. */
			for (w = o = want; *w != '\0'; w++)
				if (*w != '\r')
					*o++ = *w;
			*o = '\0';
			is_str(d, want, "the text part decodes to the text");
			free(want);
		}
		ok(strstr(d, "\n  MAIL FROM:<x@y>") != NULL,
		    "the message's lines are body text");
		free(d);
		free(h);
	}
	free(msg);

	m.to = bad;
	ok(mail_build(&m, &len, &cause) == NULL && cause != NULL,
	    "a recipient with CRLF is refused");
	free(cause);
	cause = NULL;
	m.to = to;
	m.from = "not an address";
	ok(mail_build(&m, &len, &cause) == NULL, "a bad From is refused");
	free(cause);
	cause = NULL;

	m.from = "Équipe «déploiement» <deploy@example.com>";
	m.html = NULL;
	msg = mail_build(&m, &len, &cause);
	h = headers_of(msg);
	ok(has_header_line(h, "From: =?UTF-8?B?"), "a UTF-8 display name "
						   "is encoded");
	ok(strstr(h, "?= <deploy@example.com>\r\n") != NULL,
	    "its address stays plain");
	ok(!has_header_line(h, "Content-Type: multipart"), "text only "
							   "without HTML");
	free(h);
	free(msg);
	mail_content_free(&c);
}

static void
test_webhook_payload(void)
{
	struct mail_facts f;
	char		 *p;

	facts_init(&f, "deployed");
	f.message = "a <b> & c";
	p = webhook_payload(&f, "[shipgate] billing 1.4.2 deployed to stg");
	ok(strstr(p, "\"text\":\"[shipgate] billing 1.4.2 deployed to stg\\n"
		     "https://deploy.example.com/runs/42\"") != NULL,
	    "webhook: text "
	    "with the link");
	ok(strstr(p, "\"event\":\"deployed\"") != NULL &&
		strstr(p, "\"run_id\":42") != NULL &&
		strstr(p, "\"environment\":\"stg\"") != NULL,
	    "webhook: structured fields");
	ok(strstr(p, "\"message\":\"a <b> & c\"") != NULL, "webhook: fields "
							   "as they are");
	free(p);
	f.reason = "x < y";
	p = webhook_payload(&f, "s");
	ok(strstr(p, "\"text\":\"s: x &lt; y\\n") != NULL, "webhook: text "
							   "escaped for Slack");
	free(p);
}

int
main(void)
{
	test_helpers();
	test_subjects();
	test_bodies();
	test_message();
	test_webhook_payload();
	return (tap_done());
}
