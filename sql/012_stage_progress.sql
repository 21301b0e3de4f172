-- 012: live progress of an execution (issue 16).
-- What CloudFormation said about the stack while a stage's change set
-- ran (its stack events since the execution started) and where each ECS
-- service's deployment stood, kept with the stage's attempt so that the
-- history shows them after the run.  Bounded: the engine keeps at most
-- the newest 500 events of an attempt (store_progress_add_events).
CREATE TABLE stage_events (
	id		INTEGER PRIMARY KEY,
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL CHECK (attempt >= 0),
	event_id	TEXT NOT NULL,		-- CloudFormation's EventId
	at		INTEGER NOT NULL,	-- its Timestamp, Unix ms
	logical_id	TEXT,
	physical_id	TEXT,
	resource_type	TEXT,
	status		TEXT,			-- CREATE_FAILED, ...
	reason		TEXT,			-- ResourceStatusReason
	UNIQUE (stage_id, attempt, event_id)
);
CREATE INDEX stage_events_at ON stage_events(stage_id, attempt, at);
-- One row per ECS service of the stack: its PRIMARY deployment's counts
-- and rollout state as the last DescribeServices gave them.
CREATE TABLE stage_services (
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL CHECK (attempt >= 0),
	service		TEXT NOT NULL,		-- its name
	cluster		TEXT,
	desired		INTEGER NOT NULL DEFAULT 0,
	running		INTEGER NOT NULL DEFAULT 0,
	pending		INTEGER NOT NULL DEFAULT 0,
	failed		INTEGER NOT NULL DEFAULT 0,
	rollout_state	TEXT,			-- IN_PROGRESS, COMPLETED, FAILED
	rollout_reason	TEXT,
	updated_at	INTEGER NOT NULL,
	PRIMARY KEY (stage_id, attempt, service)
);
