/*
 * Webhooks: the JSON payload and the POST.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "log.h"
#include "mail.h"
#include "webhook.h"
#include "xmalloc.h"

#define WEBHOOK_URL_MAX	   4096
#define WEBHOOK_TIMEOUT_MS 30000

/* Slack asks for &, < and > escaped in "text"; Teams shows them. */
static char *
webhook_text(const char *s)
{
	char	   *out, *o;
	const char *p;

	out = o = xmalloc(strlen(s) * 5 + 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '&') {
			memcpy(o, "&amp;", 5);
			o += 5;
		} else if (*p == '<') {
			memcpy(o, "&lt;", 4);
			o += 4;
		} else if (*p == '>') {
			memcpy(o, "&gt;", 4);
			o += 4;
		} else if ((unsigned char)*p < 0x20 && *p != '\n')
			*o++ = ' ';
		else
			*o++ = *p;
	}
	*o = '\0';
	return (out);
}

/* A JSON string, or null for NULL or text that is not UTF-8. */
static json_t *
webhook_str(const char *s)
{
	json_t *j;

	if (s == NULL || (j = json_string(s)) == NULL)
		return (json_null());
	return (j);
}

char *
webhook_payload(const struct mail_facts *f, const char *subject)
{
	json_t *o;
	char   *line, *text, *out;

	if (f->reason != NULL && f->link != NULL)
		line = xasprintf("%s: %s\n%s", subject, f->reason, f->link);
	else if (f->reason != NULL)
		line = xasprintf("%s: %s", subject, f->reason);
	else if (f->link != NULL)
		line = xasprintf("%s\n%s", subject, f->link);
	else
		line = xstrdup(subject);
	text = webhook_text(line);
	o = json_object();
	json_object_set_new(o, "text", webhook_str(text));
	json_object_set_new(o, "event", webhook_str(f->event));
	json_object_set_new(o, "app", webhook_str(f->app));
	json_object_set_new(o, "version", webhook_str(f->version));
	json_object_set_new(o, "environment", webhook_str(f->env));
	json_object_set_new(o, "run_id",
	    f->run_id != 0 ? json_integer(f->run_id) : json_null());
	json_object_set_new(o, "url", webhook_str(f->link));
	json_object_set_new(o, "author", webhook_str(f->author));
	json_object_set_new(o, "message", webhook_str(f->message));
	json_object_set_new(o, "actor", webhook_str(f->actor));
	json_object_set_new(o, "comment", webhook_str(f->comment));
	json_object_set_new(o, "reason", webhook_str(f->reason));
	if (f->has_changes)
		json_object_set_new(o, "changes",
		    json_pack("{s:i,s:i,s:i,s:i}", "add", f->n_add, "modify",
			f->n_modify, "remove", f->n_remove, "replacements",
			f->n_replacements));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(line);
	free(text);
	if (out == NULL)
		fatalx("%s: cannot encode the payload", __func__);
	return (out);
}

char *
webhook_read_url(const char *path, char **cause)
{
	FILE *fp;
	char  line[WEBHOOK_URL_MAX + 2], *s, *e;

	if ((fp = fopen(path, "r")) == NULL) {
		*cause = xasprintf("cannot read the webhook's url_file %s: %s",
		    path, strerror(errno));
		return (NULL);
	}
	if (fgets(line, sizeof line, fp) == NULL) {
		fclose(fp);
		*cause = xasprintf("the webhook's url_file %s is empty", path);
		return (NULL);
	}
	fclose(fp);
	s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
			    e[-1] == '\t'))
		*--e = '\0';
	if (strncasecmp(s, "https://", 8) != 0 &&
	    strncasecmp(s, "http://", 7) != 0) {
		explicit_bzero(line, sizeof line);
		*cause = xasprintf("the webhook's url_file %s does not hold an "
				   "http:// or https:// URL",
		    path);
		return (NULL);
	}
	s = xstrdup(s);
	explicit_bzero(line, sizeof line);
	return (s);
}

struct http_call *
webhook_post(struct http_client *http, const char *url, const char *payload,
    http_done_cb cb, void *arg, char **cause)
{
	struct http_request req;
	struct http_call   *call;
	const char	   *headers[] = { "Content-Type: application/json",
			"Expect:", NULL };
	char		   *c = NULL;

	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.body = payload;
	req.body_len = strlen(payload);
	req.body_max = 64 * 1024;
	req.timeout_ms = WEBHOOK_TIMEOUT_MS;
	req.flags = HTTP_F_SECRET_URL;
	/* The URL holds the token: say which call failed, not where. */
	if ((call = http_call_start(http, &req, cb, arg, &c)) == NULL) {
		*cause = xstrdup("the webhook request was refused (bad URL?)");
		free(c);
	}
	return (call);
}
