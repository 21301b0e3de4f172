/*
 * Release intake: per app, long-poll its SQS queue for S3 event
 * notifications and, always, list its bucket every poll_interval as a
 * safety net (alone when it has no queue).  Every new `*.zip` under the
 * app's prefix is read (GetObject under the app's zip size cap),
 * validated (release.c), recorded in the store, valid or invalid with
 * its reason, and handed to the release callback.
 *
 * Once only: an object is known by (bucket, key, revision), the revision
 * its S3 version id when the bucket is versioned, otherwise its ETag
 * (without quotes); the ETag is recorded too, so a listing (which has no
 * version ids) recognises an object an event brought.  The same object
 * from an event and a listing, a redelivered message or a restart makes
 * one release.
 *
 * At least once: a message is deleted only after its releases are
 * committed and the callback took them.  A message that cannot be
 * handled (unparsable, S3 failing, the callback failing) is left to come
 * back (its visibility shortened to a growing delay); from its
 * max_receives-th receive on it is recorded in intake_failures, and the
 * queue's dead-letter policy takes it.  A redelivered message whose
 * object already made a release hands that release to the callback
 * again if it has no run yet; the callback must be idempotent (the
 * engine's engine_submit_release makes at most one run of a release).
 * At each listing, valid releases of the app still without a run are
 * handed over again (a callback that failed, a stop in between).
 *
 * Everything runs on the loop; intake uses the host's credentials.
 */
#ifndef SHIPGATE_INTAKE_H
#define SHIPGATE_INTAKE_H

#include <stdint.h>

#include <uv.h>

struct aws_context;
struct config;
struct store;

/*
 * Called on the loop for each release intake committed (valid or
 * invalid), and again for one still without a run (see above).  Returns
 * 0 when the release was taken (for a valid one: a run exists), or
 * negative: the message that brought it stays in the queue.
 */
typedef int (*intake_release_cb)(int64_t release_id, void *arg);

/* Delays; intake_new sets the defaults in brackets.  Tests shorten them. */
struct intake_timing {
	int64_t first_list_ms;	    /* first listing after start, or
					   after an app appears [2000] */
	int64_t backoff_min_ms;	    /* after a failing call [1000] */
	int64_t backoff_max_ms;	    /* doubling up to [60000] */
	int	wait_seconds;	    /* ReceiveMessage long poll [20] */
	int	retry_visibility_s; /* a failed message comes back
					   after this, doubled per receive,
					   at most 900 [10]; 0: at once */
};

struct intake;

/*
 * loop, store and aws are borrowed for the intake's life; config until
 * intake_reconfigure gives another.  Nothing starts before intake_start.
 */
struct intake *intake_new(uv_loop_t *, struct store *, struct aws_context *,
    const struct config *, intake_release_cb, void *arg);
/* Before intake_start. */
void intake_set_timing(struct intake *, const struct intake_timing *);
/*
 * Records the apps in the store and starts every app's poll and
 * listing.  0, or a negative STORE_E* with *cause when the store fails
 * (apps started before keep going: intake_stop ends them).
 */
int intake_start(struct intake *, char **cause);
/*
 * A new configuration (SIGHUP): apps gone stop (calls cancelled), new
 * apps start, apps whose bucket, prefix or queue changed restart; the
 * others keep going with the new settings (limits, poll interval at its
 * next listing).
 */
void intake_reconfigure(struct intake *, const struct config *);
/*
 * Cancels polls, listings and downloads (their messages stay in the
 * queue), closes the timers; when everything has come back, calls cb
 * once and frees the intake.  Run the loop until then.
 */
void intake_stop(struct intake *, void (*cb)(void *), void *arg);

/* Counters, for /metrics and tests. */
struct intake_stats {
	uint64_t messages;   /* received */
	uint64_t deleted;    /* messages deleted */
	uint64_t releases;   /* recorded */
	uint64_t duplicates; /* objects already seen */
	uint64_t ignored;    /* records or objects not for us */
	uint64_t failures;   /* messages or objects that failed */
	uint64_t listings;   /* complete listings */
};
void intake_stats(const struct intake *, struct intake_stats *);

/*
 * Decodes an S3 event key (percent-encoding, '+' for space) into a new
 * string; NULL for a bad escape or an encoded NUL.  Pure, for tests.
 */
char *intake_decode_key(const char *);

#endif
