/*
 * Notifications: e-mail (SES v2 or SMTP) and webhooks through a
 * transactional outbox (sql/003_notify_checks.sql's outbox table).
 *
 * Queueing.  notify_queue renders the messages a transition causes and
 * writes them as outbox rows inside the caller's open transaction (the
 * transition, its audit entry and its messages commit together or not at
 * all).  Each row has a dedup_key naming its cause
 * ("approval_needed stage=12 attempt=0", "deployed stage=12 attempt=0
 * webhook=/etc/shipgate/slack.url"), inserted with INSERT OR IGNORE: a
 * transition replayed after a crash queues nothing twice.  The message is
 * rendered when queued: it says what the state was then.
 *
 * Sending.  struct notify lives on the loop.  It sends the due pending
 * rows (oldest first, a few at a time), marks each one sent in its own
 * committed transaction right after the transport accepted it, or
 * records the error and retries it later with exponential backoff
 * (30 s, 1 min, 2 min, ... capped at 1 h; the first delay can be set in
 * ms by SHIPGATE_NOTIFY_RETRY_MS, for tests) until NOTIFY_MAX_ATTEMPTS,
 * or at once for a refusal that cannot change (SES 4xx but throttling,
 * a webhook's 4xx but 408/429),
 * then marks it failed (logged with log_warnx, counted in the stats,
 * visible in the outbox rows of the run).  Delivery is at least once:
 * nothing is sent twice in normal operation (a mark that fails, e.g. a
 * database busy for longer than its timeout, is written again at each
 * pass and the row is not picked meanwhile); a crash between a send that
 * succeeded and its mark sends that one message once more after the
 * restart.
 *
 * Reminders.  Every mail.remind_every while a stage waits in
 * awaiting_approval (or awaiting_gate), the sender's timer queues a
 * `reminder` e-mail to the same people as the first message, counted
 * from the time the approval_needed (gate_needed) e-mail was queued
 * (dedup "reminder stage=N attempt=A n=K", "reminder gate stage=N
 * attempt=A n=K"; only the latest K is queued after a long stop).
 *
 * Recipients (documented in shipgate.yaml(5) under mail):
 *   approval_needed             users in the environment's approvers groups
 *   gate_needed                 users in the environment's gate groups
 *   reminder                    the same, but for those who already
 *                               approved (authorised) this attempt
 *   approved, rejected, deployed, failed, checks_failed, rolled_back
 *                               the release's author and the
 *                               environment's approvers (every
 *                               environment's approvers when env is NULL)
 *   release_invalid             the release's author
 * The author is a configured user's name (its email) or an e-mail
 * address; addresses are deduplicated (case-insensitively).
 * Webhooks get one row each for the events they list.
 *
 * Threads: everything runs on the loop thread but notify_stats, which
 * any thread may call (the portal's /metrics).
 */
#ifndef SHIPGATE_NOTIFY_H
#define SHIPGATE_NOTIFY_H

#include <stdint.h>

#include <uv.h>

struct aws_context;
struct config;
struct store;

#define NOTIFY_MAX_ATTEMPTS 8 /* then the row is 'failed' */

/*
 * What happened.  event is an outbox event: approval_needed,
 * gate_needed, approved, rejected, deployed, failed, release_invalid,
 * checks_failed, rolled_back (reminder is queued by notify itself).
 */
struct notify_cause {
	const char *event;
	int64_t	    run_id;	/* or 0 (release_invalid) */
	int64_t	    release_id; /* 0: the run's */
	int64_t	    stage_id;	/* or 0 */
	int	    attempt;	/* stage attempt */
	const char *env;	/* or NULL: the stage's, if any */
	const char *actor;	/* who approved/rejected, or NULL */
	const char *comment;	/* approval comment, or NULL */
	const char *reason;	/* why failed / invalid / checks
					   failed, or NULL */
	/* For notify's own reminders; leave 0. */
	int reminder_n; /* >= 1: this is reminder n */
	int gate;	/* the reminder is for the gate */
};

/*
 * Renders and writes the outbox rows (one e-mail to the recipients, one
 * row per webhook subscribed to the event) inside the caller's open
 * transaction (or as its own when none is open); reads what it needs
 * from the store (release, run, the stage's change set for the
 * Add/Modify/Remove counts and named replacements).  Returns 0 also when
 * nobody is to be told, mail is not configured or the event is not one
 * of the above (logged: the outbox has no expired, cancelled or
 * superseded yet), or a STORE_E* code
 * with *cause (the caller should roll back).  Any thread, any store
 * connection.  When it wrote rows it wakes this process's sender (the
 * last notify_new'd, through a uv_async: the pass runs on a later loop
 * iteration, so after the caller's commit), so the caller need not call
 * notify_wake; a row of a transaction rolled back is never found.
 */
int notify_queue(struct store *, const struct config *,
    const struct notify_cause *, char **cause);

struct notify;

/* Borrowed for notify's life: loop, store, aws (for SES and its HTTP
 * transport, used for SMTP and webhooks too); config until
 * notify_reconfigure gives another. */
struct notify *notify_new(uv_loop_t *, struct store *, struct aws_context *,
    const struct config *);
/* Sends what is due now, then on a timer (and checks reminders). */
int notify_start(struct notify *, char **cause);
/* Loop thread: look at the outbox now (rows committed by another
 * process, or a test that moved the store's clock). */
void notify_wake(struct notify *);
/* Loop thread: a new configuration (the old one may be freed after). */
void notify_reconfigure(struct notify *, const struct config *);
/*
 * Stops: sends no more, waits up to 5 s for the answers of sends in
 * flight (so that a message that went out is marked sent rather than
 * sent again after the restart), cancels those still in flight (their
 * rows stay pending and are sent after the next start), closes the
 * timers, frees notify, then calls cb from the loop.  Call before
 * closing the AWS context.
 */
void notify_stop(struct notify *, void (*cb)(void *), void *arg);

/* Tests and private relays: a CA file trusted for SMTP's TLS (besides
 * the system's).  NULL: none. */
void notify_set_ca_file(struct notify *, const char *path);

/* Counters since start, for /metrics; any thread. */
struct notify_stats {
	uint64_t sent;	  /* rows marked sent */
	uint64_t retried; /* failed attempts, to be retried */
	uint64_t failed;  /* rows given up (status failed) */
	int64_t	 pending; /* pending rows at the last scan */
};
void notify_stats(struct notify *, struct notify_stats *);

#endif
