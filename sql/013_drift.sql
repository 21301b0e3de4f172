-- 013: drift detection before an approval (issue 15).
-- One row per stage attempt whose stack was checked: where the detection
-- stands (detecting: DetectStackDrift answered with detection_id at
-- started_at, and the engine polls it after a restart too), what it found
-- (in_sync, drifted) or why it was not checked (not_checked, reason),
-- and an operator's acknowledgement (drift: block refuses the approval of
-- a drifted attempt until one is recorded; audited too).
CREATE TABLE stage_drifts (
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL CHECK (attempt >= 0),
	status		TEXT NOT NULL CHECK (status IN ('detecting', 'in_sync',
				'drifted', 'not_checked')),
	detection_id	TEXT,			-- StackDriftDetectionId
	started_at	INTEGER NOT NULL,	-- Unix ms
	finished_at	INTEGER,
	reason		TEXT,			-- not_checked: why
	ack_user	TEXT,
	ack_comment	TEXT,
	ack_at		INTEGER,
	PRIMARY KEY (stage_id, attempt)
);
-- The resources found MODIFIED or DELETED, in AWS's order.
CREATE TABLE stage_drift_resources (
	stage_id	INTEGER NOT NULL,
	attempt		INTEGER NOT NULL,
	position	INTEGER NOT NULL,
	logical_id	TEXT NOT NULL,
	physical_id	TEXT,
	resource_type	TEXT NOT NULL,
	status		TEXT NOT NULL,		-- MODIFIED, DELETED
	PRIMARY KEY (stage_id, attempt, position),
	FOREIGN KEY (stage_id, attempt)
	    REFERENCES stage_drifts(stage_id, attempt)
);
-- A MODIFIED resource's property differences.  A value that is (or
-- holds) a NoEcho parameter's value the engine knows is stored "****"
-- (masked = 1): never in clear.
CREATE TABLE stage_drift_properties (
	stage_id	INTEGER NOT NULL,
	attempt		INTEGER NOT NULL,
	resource	INTEGER NOT NULL,	-- stage_drift_resources.position
	position	INTEGER NOT NULL,
	path		TEXT NOT NULL,		-- PropertyPath
	expected	TEXT,
	actual		TEXT,
	difference	TEXT NOT NULL,		-- ADD, REMOVE, NOT_EQUAL
	masked		INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (stage_id, attempt, resource, position)
);
