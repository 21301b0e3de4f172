-- 003: the notification outbox and the results of non-regression checks.

-- The transactional outbox: a row is written in the same transaction as
-- the transition that causes it, and the loop sends it afterwards,
-- retrying with backoff, so a crash loses no message.  The message is
-- rendered when queued (what the state was then, not when sent).
-- dedup_key names the cause ("approval_needed stage=12 attempt=0",
-- "reminder stage=12 n=3") so that a transition replayed after a crash
-- cannot queue the same message twice.
CREATE TABLE outbox (
	id		INTEGER PRIMARY KEY,
	channel		TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
	event		TEXT NOT NULL
			    CHECK (event IN ('approval_needed', 'gate_needed',
				'reminder', 'approved', 'rejected', 'deployed',
				'failed', 'release_invalid', 'checks_failed',
				'rolled_back')),
	dedup_key	TEXT NOT NULL UNIQUE,
	run_id		INTEGER REFERENCES runs(id),
	release_id	INTEGER REFERENCES releases(id),
	recipients	TEXT NOT NULL,		-- addresses, or the webhook's name
	subject		TEXT,
	body_text	TEXT,
	body_html	TEXT,
	payload		TEXT CHECK (payload IS NULL OR json_valid(payload)),
	status		TEXT NOT NULL DEFAULT 'pending'
			    CHECK (status IN ('pending', 'sent', 'failed')),
	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at	INTEGER NOT NULL,
	last_error	TEXT,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	sent_at		INTEGER,
	CHECK (channel <> 'email' OR
	    (subject IS NOT NULL AND body_text IS NOT NULL)),
	CHECK (channel <> 'webhook' OR payload IS NOT NULL),
	CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
-- The sender's queue: due messages, oldest first.
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_run ON outbox(run_id) WHERE run_id IS NOT NULL;

-- One row per step of a check run against a stage's environment.  The
-- excerpt and the failed expectation are stored after secrets are masked.
CREATE TABLE check_results (
	id		INTEGER PRIMARY KEY,
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL CHECK (attempt >= 0),
	check_name	TEXT NOT NULL,
	step		INTEGER NOT NULL CHECK (step >= 0),
	step_name	TEXT NOT NULL,
	status		TEXT NOT NULL
			    CHECK (status IN ('passed', 'failed', 'skipped')),
	method		TEXT,
	url		TEXT,
	http_status	INTEGER,
	tries		INTEGER NOT NULL DEFAULT 1 CHECK (tries >= 0),
	duration_ms	INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),
	expectation	TEXT,			-- the one that failed
	excerpt		TEXT,			-- of the body, bounded
	started_at	INTEGER NOT NULL,
	finished_at	INTEGER,
	CHECK (status <> 'failed' OR expectation IS NOT NULL),
	UNIQUE (stage_id, attempt, check_name, step)
);
