-- 007: CloudFormation's hard cases.
-- A stack that no change set can run on until a person acts: a rollback
-- that failed (UPDATE_ROLLBACK_FAILED: `shipgatectl continue-rollback`)
-- or a first deployment rolled back (ROLLBACK_COMPLETE: `shipgatectl
-- delete-failed-stack`).  The environment is held: its new runs wait with
-- the reason.  The operator's action, while CloudFormation carries it out,
-- is recorded here so that a restart goes on waiting for it.
CREATE TABLE stack_holds (
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	environment	TEXT NOT NULL CHECK (length(environment) > 0),
	stack		TEXT NOT NULL CHECK (length(stack) > 0),
	stack_status	TEXT NOT NULL,		-- what CloudFormation said
	reason		TEXT NOT NULL,		-- failed resources, reasons
	run_id		INTEGER REFERENCES runs(id),	-- found by
	since		INTEGER NOT NULL,
	action		TEXT CHECK (action IN ('continue-rollback',
			    'delete-failed-stack')),	-- under way
	action_by	TEXT,
	action_comment	TEXT,
	action_skip	TEXT,			-- resources to skip, spaces
	action_at	INTEGER,
	PRIMARY KEY (app_id, environment)
);
-- A stage whose CREATE change set made its stack (REVIEW_IN_PROGRESS):
-- only such a stack, still empty, is deleted when its run ends unexecuted.
ALTER TABLE stages ADD COLUMN stack_created INTEGER NOT NULL DEFAULT 0;
