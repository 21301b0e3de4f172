/*
 * libFuzzer target for mail rendering and the MIME message: whatever a
 * release says (version, message, author, reason, comment, the
 * environment, a replacement's name), the message is CRLF only, its lines
 * fit (headers 78, bodies 76 but the boundary), its header block holds
 * only our header names (no injected one), and the addresses given to
 * the sender are plain addr-specs.
 *
 * Input: fields separated by NUL bytes; the first byte picks the event.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static const char *const events[] = { "approval_needed", "gate_needed",
	"reminder", "approved", "rejected", "deployed", "failed",
	"release_invalid", "checks_failed", "rolled_back" };

static const char *const names[] = { "From:", "To:", "Subject:", "Date:",
	"Message-ID:", "MIME-Version:", "Auto-Submitted:", "Content-Type:",
	"Content-Transfer-Encoding:" };

static void
check_message(const char *msg, size_t len)
{
	const char *p, *line, *end, *body;
	size_t	    i, n;
	int	    known, in_headers = 1, subjects = 0;

	check(strlen(msg) == len);
	body = strstr(msg, "\r\n\r\n");
	check(body != NULL);
	for (line = msg; *line != '\0'; line = end + 2) {
		end = strstr(line, "\r\n");
		check(end != NULL); /* every line ends in CRLF */
		for (p = line; p < end; p++)
			check(*p != '\r' && *p != '\n');
		n = (size_t)(end - line);
		if (line >= body + 2)
			in_headers = 0;
		if (in_headers) {
			check(n <= 78);
			if (*line == ' ')
				continue; /* a folded line */
			known = 0;
			for (i = 0; i < sizeof names / sizeof names[0]; i++)
				if (strncasecmp(line, names[i],
					strlen(names[i])) == 0)
					known = 1;
			check(known);
			subjects += strncmp(line, "Subject:", 8) == 0;
		} else
			check(n <= 78); /* 76, or a boundary line */
	}
	check(subjects == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_facts   f;
	struct mail_content c;
	struct mail_message m;
	const char	   *field[8] = { NULL };
	const char	   *to[3] = { "bob@client.example", NULL, NULL };
	const char	   *repl[2] = { NULL, NULL };
	char		   *buf, *p, *msg, *cause = NULL, *a;
	size_t		    i, n = 0, len;

	if (size < 1)
		return (0);
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (p = buf; n < 8 && p <= buf + size - 1; p += strlen(p) + 1)
		field[n++] = p;

	memset(&f, 0, sizeof f);
	f.event = events[data[0] % (sizeof events / sizeof events[0])];
	f.app = "billing";
	f.version = field[0];
	f.message = field[1];
	f.author = field[2];
	f.reason = field[3];
	f.comment = field[4];
	f.env = field[5];
	f.actor = field[6];
	repl[0] = field[7];
	f.replacements = repl;
	f.has_changes = data[0] & 0x80;
	f.n_replacements = 1;
	f.gate = data[0] & 0x40;
	f.reminder_n = 1;
	f.link = "https://deploy.example.com/runs/1";
	f.run_id = 1;
	check(mail_render(&f, &c, &cause) == 0);
	check(
	    strchr(c.subject, '\r') == NULL && strchr(c.subject, '\n') == NULL);
	check(strstr(c.html, "<script") == NULL);

	/* An author used as an address is a plain addr-spec or nothing. */
	if (field[2] != NULL && (a = mail_addr_spec(field[2])) != NULL) {
		for (i = 0; a[i] != '\0'; i++)
			check(a[i] > ' ' && a[i] < 0x7f && a[i] != '<' &&
			      a[i] != '>' && a[i] != ',');
		to[1] = a;
	} else
		a = NULL;

	memset(&m, 0, sizeof m);
	m.from = "shipgate <deploy@example.com>";
	m.to = to;
	m.subject = c.subject;
	m.text = c.text;
	m.html = (data[0] & 0x20) ? NULL : c.html;
	m.date_ms = 1795000000000LL;
	m.message_id = "<shipgate.1.1@example.com>";
	msg = mail_build(&m, &len, &cause);
	check(msg != NULL);
	check_message(msg, len);
	free(msg);
	free(a);
	mail_content_free(&c);
	free(buf);
	return (0);
}
