-- 008: a release's images as intake found them in the app's registry
-- (issue 15).  Each image of release.json, in its order, pinned to the
-- digest its tag named when the release came in: promotion copies that
-- digest and the stack parameter `parameter` (images[].parameter)
-- receives "repository@digest".  moved_digest is what the tag named when
-- last read again (a stage's promotion), when that differs: the page and
-- the mail say the tag moved, the run still deploys the pinned digest.
CREATE TABLE release_images (
	release_id	INTEGER NOT NULL REFERENCES releases(id),
	position	INTEGER NOT NULL CHECK (position >= 0),
	registry	TEXT NOT NULL,		-- the app's, as configured
	repository	TEXT NOT NULL,
	tag		TEXT,			-- NULL: released by digest
	digest		TEXT NOT NULL CHECK (digest GLOB 'sha256:*'),
	media_type	TEXT,
	platforms	TEXT,			-- "linux/amd64, ..." (an index)
	parameter	TEXT,			-- images[].parameter
	resolved_at	INTEGER NOT NULL,
	moved_digest	TEXT,
	moved_at	INTEGER,
	PRIMARY KEY (release_id, position)
);

-- What the stack runs before a stage changes it (issue 15): read with
-- DescribeStacks when the stage starts, once per stage (the latest read
-- replaces the previous).  NoEcho parameters come back from AWS as
-- "****" and are kept so.  stack_exists 0: a first deployment.
CREATE TABLE stage_stacks (
	stage_id	INTEGER PRIMARY KEY REFERENCES stages(id),
	stack_exists	INTEGER NOT NULL CHECK (stack_exists IN (0, 1)),
	parameters	TEXT CHECK (parameters IS NULL OR json_valid(parameters)),
	last_updated_at	INTEGER,		-- the stack's LastUpdatedTime
	template	BLOB,			-- GetTemplate (Original); NULL:
						-- not read
	-- What shipgate had deployed there then (deployments), if anything.
	prev_run_id	INTEGER,
	prev_stage_id	INTEGER,
	prev_version	TEXT,
	prev_deployed_at INTEGER,
	read_at		INTEGER NOT NULL
);

-- The parameters a stage's attempt sends against the stack's, one row
-- each, stored with the change set so the history shows what was
-- approved.  A NoEcho parameter is "****" on both sides, never its value.
CREATE TABLE stage_parameters (
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL,
	position	INTEGER NOT NULL,
	name		TEXT NOT NULL,
	old_value	TEXT,			-- NULL: not set before
	new_value	TEXT,			-- NULL: no longer set
	-- hidden: a NoEcho parameter set on both sides (AWS never says
	-- whether its value changes)
	change		TEXT NOT NULL CHECK (change IN ('added', 'modified',
			    'removed', 'unchanged', 'hidden')),
	no_echo		INTEGER NOT NULL DEFAULT 0,
	CHECK (no_echo = 0 OR ((old_value IS NULL OR old_value = '****') AND
	    (new_value IS NULL OR new_value = '****'))),
	PRIMARY KEY (stage_id, attempt, position)
);

-- The deployed template (stage_stacks.template, empty for a new stack)
-- against the release's, as a unified diff (diff-text.h), stored with the
-- attempt for the history.
CREATE TABLE stage_templates (
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL,
	diff		TEXT NOT NULL,		-- "" when the same
	added		INTEGER NOT NULL,	-- lines
	removed		INTEGER NOT NULL,
	whole		INTEGER NOT NULL DEFAULT 0,	-- replaced whole
	PRIMARY KEY (stage_id, attempt)
);
