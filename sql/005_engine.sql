-- 005: what the pipeline engine keeps beyond 001's runs and stages.

-- The template of a valid release, as validated from its zip, so that a
-- run (and its retries and restarts) deploys exactly what was checked
-- even if the object in the bucket is replaced or deleted meanwhile.
CREATE TABLE release_templates (
	release_id	INTEGER PRIMARY KEY REFERENCES releases(id),
	name		TEXT NOT NULL CHECK (length(name) > 0),
	body		BLOB NOT NULL,
	created_at	INTEGER NOT NULL
);

-- When the stage's change set was sent for execution: the stack events
-- of that execution are the ones read after it (failure reason, ECS
-- services), across a restart.
ALTER TABLE stages ADD COLUMN executed_at INTEGER;

-- An operator's cancellation, recorded at once and carried out at the
-- run's next safe point (never in the middle of an execution).
ALTER TABLE runs ADD COLUMN cancel_requested_by TEXT;
ALTER TABLE runs ADD COLUMN cancel_reason TEXT;
