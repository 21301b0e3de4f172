/*
 * Webhooks: a JSON POST per event, in a shape Slack and Microsoft Teams
 * incoming webhooks accept (both read a top-level "text"), with the
 * structured fields next to it for other receivers:
 *
 *	{"text": "[shipgate] billing 1.4.2 awaits your approval for stg
 *	  https://deploy.example.com/runs/42",
 *	 "event": "approval_needed", "app": "billing", "version": "1.4.2",
 *	 "environment": "stg", "run_id": 42, "url": "https://...",
 *	 "actor": null, "comment": null, "reason": null,
 *	 "author": "alice", "message": "Fix invoice rounding"}
 *
 * The URL is a secret (it carries the receiver's token): it stays in its
 * url_file, read when sending, and is never logged or stored.
 */
#ifndef SHIPGATE_WEBHOOK_H
#define SHIPGATE_WEBHOOK_H

#include <stddef.h>

#include "http.h"

struct mail_facts;

/* The payload (pure); subject is the rendered one-line summary. */
char *webhook_payload(const struct mail_facts *, const char *subject);

/*
 * Reads the URL from path (its first line, blanks trimmed): http:// or
 * https:// only.  NULL and *cause (which never contains the URL).
 */
char *webhook_read_url(const char *path, char **cause);

/* POSTs the payload; http_call_start's contract.  A 2xx is success. */
struct http_call *webhook_post(struct http_client *, const char *url,
    const char *payload, http_done_cb, void *arg, char **cause);

#endif
