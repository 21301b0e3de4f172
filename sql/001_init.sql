-- 001: shipgate's core tables: apps, releases and the objects they came
-- from, runs and their stages, change sets, approvals, deployments and the
-- append-only audit log.
--
-- Conventions for every migration:
-- * times are INTEGER unix milliseconds (UTC), columns named *_at;
-- * status columns carry a CHECK with exactly the names of
--   INTERFACES.md section 5, which daemon/store.c's name tables mirror
--   (tests/unit/test-store.c sets every name);
-- * values that come from AWS (actions, resource types) are not
--   constrained: AWS may add new ones and a refused insert would stop a
--   run;
-- * a migration is applied once, inside one transaction, and is never
--   edited after release: change the schema with a new numbered file.

-- Marks the file as shipgate's ("SGAT"), so that store_open refuses to
-- migrate some other program's SQLite database named by mistake.
PRAGMA application_id = 1397178708;

-- An application from the configuration.  Rows are kept when an app
-- leaves the config so its history stays readable.
CREATE TABLE apps (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE
			    CHECK (length(name) BETWEEN 1 AND 128),
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);

-- A release zip seen in an app's bucket, valid or not.  An invalid
-- release keeps the exact reason and never runs.
CREATE TABLE releases (
	id		INTEGER PRIMARY KEY,
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	bucket		TEXT NOT NULL,
	key		TEXT NOT NULL,
	version_id	TEXT,			-- S3 version id; NULL if unversioned
	etag		TEXT,
	size		INTEGER CHECK (size IS NULL OR size >= 0),
	version		TEXT,			-- from release.json; NULL if unreadable
	message		TEXT,			-- the integrator's note
	author		TEXT,
	manifest	TEXT CHECK (manifest IS NULL OR json_valid(manifest)),
	status		TEXT NOT NULL DEFAULT 'received'
			    CHECK (status IN ('received', 'valid', 'invalid')),
	reason		TEXT,
	received_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	CHECK (status <> 'invalid' OR reason IS NOT NULL),
	CHECK (status <> 'valid' OR (version IS NOT NULL AND manifest IS NOT NULL))
);
CREATE INDEX releases_app ON releases(app_id, received_at);
CREATE INDEX releases_app_version ON releases(app_id, version);

-- Source objects already handled, so that the SQS event and the bucket
-- listing of one object, a redelivered message or a restart make one
-- release.  `revision` is what intake identifies the object by: its S3
-- version id when the bucket is versioned, otherwise its ETag.
CREATE TABLE seen_objects (
	id		INTEGER PRIMARY KEY,
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	bucket		TEXT NOT NULL,
	key		TEXT NOT NULL,
	revision	TEXT NOT NULL,
	release_id	INTEGER REFERENCES releases(id),
	seen_at		INTEGER NOT NULL,
	UNIQUE (bucket, key, revision)
);
CREATE INDEX seen_objects_release ON seen_objects(release_id);

-- Messages or objects intake gave up on (poison messages): kept for the
-- history, the queue's dead-letter policy does the rest.
CREATE TABLE intake_failures (
	id		INTEGER PRIMARY KEY,
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	source		TEXT NOT NULL CHECK (source IN ('queue', 'listing')),
	bucket		TEXT,
	key		TEXT,
	receive_count	INTEGER NOT NULL DEFAULT 1 CHECK (receive_count >= 1),
	reason		TEXT NOT NULL,
	at		INTEGER NOT NULL
);
CREATE INDEX intake_failures_app ON intake_failures(app_id, at);

-- A run takes one release through the app's environments (normal), or
-- redeploys an earlier release to one environment (rollback).  app_id,
-- version and author repeat the release's (which never change once it
-- is valid) so that every filter of the history is a column of runs.
CREATE TABLE runs (
	id		INTEGER PRIMARY KEY,
	release_id	INTEGER NOT NULL REFERENCES releases(id),
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	version		TEXT,
	author		TEXT,
	kind		TEXT NOT NULL DEFAULT 'normal'
			    CHECK (kind IN ('normal', 'rollback')),
	status		TEXT NOT NULL DEFAULT 'received'
			    CHECK (status IN ('received', 'running', 'succeeded',
				'failed', 'rejected', 'expired', 'superseded',
				'cancelled', 'invalid')),
	reason		TEXT,
	requested_by	TEXT,			-- operator of a redeploy
	rollback_of	INTEGER REFERENCES runs(id),	-- run whose failure
							-- caused this one
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	finished_at	INTEGER,
	CHECK (kind = 'rollback' OR rollback_of IS NULL),
	CHECK ((finished_at IS NULL) =
	    (status IN ('received', 'running')))
);
-- Pages of runs are newest first: ORDER BY created_at DESC, id DESC.  An
-- index on (x, created_at) is also ordered by rowid last, so each of
-- these hands out "runs of app A [with status S], newest first" without
-- sorting and stops at the page's end, on 100,000 runs as on ten.
CREATE INDEX runs_created ON runs(created_at);
CREATE INDEX runs_app ON runs(app_id, created_at);
CREATE INDEX runs_status ON runs(status, created_at);
CREATE INDEX runs_app_status ON runs(app_id, status, created_at);
CREATE INDEX runs_version ON runs(version, created_at);
CREATE INDEX runs_author ON runs(author, created_at);
CREATE INDEX runs_release ON runs(release_id);
-- The engine reloads every unfinished run on start.
CREATE INDEX runs_unfinished ON runs(status)
    WHERE status IN ('received', 'running');

-- One stage per environment of a run, in the configured order.
-- `attempt` counts change sets made for the stage (a retry or a
-- recreated stale change set adds one); approvals and changes belong to
-- an attempt.  `deadline_at` bounds the current wait (approval timeout,
-- deploy timeout) so that it survives a restart.  Stages are created
-- with their run, so created_at is the run's: the history filtered by
-- environment walks stages_environment newest first.
CREATE TABLE stages (
	id			INTEGER PRIMARY KEY,
	run_id			INTEGER NOT NULL REFERENCES runs(id),
	position		INTEGER NOT NULL CHECK (position >= 0),
	environment		TEXT NOT NULL CHECK (length(environment) > 0),
	status			TEXT NOT NULL DEFAULT 'pending'
				    CHECK (status IN ('pending', 'promoting',
					'creating_change_set', 'awaiting_approval',
					'executing', 'waiting_stack',
					'waiting_services', 'checking',
					'awaiting_gate', 'done', 'no_changes',
					'failed', 'rejected', 'expired',
					'superseded', 'cancelled',
					'rolled_back')),
	reason			TEXT,
	attempt			INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
	required_approvals	INTEGER NOT NULL DEFAULT 1
				    CHECK (required_approvals >= 1),
	change_set_name		TEXT,
	change_set_arn		TEXT,		-- CloudFormation's change set Id
	stack_id		TEXT,
	deadline_at		INTEGER,
	created_at		INTEGER NOT NULL,
	updated_at		INTEGER NOT NULL,
	started_at		INTEGER,	-- left pending
	finished_at		INTEGER,
	UNIQUE (run_id, position),
	UNIQUE (run_id, environment)
);
CREATE INDEX stages_environment ON stages(environment, created_at, run_id);
-- "Stages waiting for approval" (the dashboard's "waiting for you").
CREATE INDEX stages_status ON stages(status);

-- The resource changes of a stage's change set, as DescribeChangeSet
-- returned them.  scope and details are the JSON arrays AWS sent.
CREATE TABLE stage_changes (
	id		INTEGER PRIMARY KEY,
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL CHECK (attempt >= 0),
	position	INTEGER NOT NULL CHECK (position >= 0),
	action		TEXT NOT NULL,		-- Add, Modify, Remove, Import, ...
	logical_id	TEXT NOT NULL,
	physical_id	TEXT,
	resource_type	TEXT NOT NULL,
	replacement	TEXT,			-- True, False, Conditional
	scope		TEXT CHECK (scope IS NULL OR json_valid(scope)),
	details		TEXT CHECK (details IS NULL OR json_valid(details)),
	UNIQUE (stage_id, attempt, position)
);

-- Decisions on a stage: approve or reject its change set (gate = 0), or
-- authorise or reject promotion beyond it (gate = 1).  One user decides
-- once per stage, attempt and kind.
CREATE TABLE approvals (
	id		INTEGER PRIMARY KEY,
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL CHECK (attempt >= 0),
	gate		INTEGER NOT NULL DEFAULT 0 CHECK (gate IN (0, 1)),
	user_name	TEXT NOT NULL CHECK (length(user_name) > 0),
	decision	TEXT NOT NULL
			    CHECK (decision IN ('approve', 'reject', 'authorise')),
	comment		TEXT,
	via		TEXT NOT NULL CHECK (via IN ('portal', 'api', 'cli')),
	decided_at	INTEGER NOT NULL,
	CHECK (decision <> 'reject' OR length(trim(coalesce(comment, ''))) > 0),
	CHECK ((gate = 1) = (decision = 'authorise') OR decision = 'reject'),
	UNIQUE (stage_id, attempt, gate, user_name)
);

-- What runs where: one row per successful deployment of a release to an
-- environment.  The newest row per (app, environment) is the running
-- version; the one before is what a rollback redeploys.
CREATE TABLE deployments (
	id		INTEGER PRIMARY KEY,
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	environment	TEXT NOT NULL,
	release_id	INTEGER NOT NULL REFERENCES releases(id),
	run_id		INTEGER NOT NULL REFERENCES runs(id),
	stage_id	INTEGER NOT NULL UNIQUE REFERENCES stages(id),
	deployed_at	INTEGER NOT NULL
);
CREATE INDEX deployments_app_environment ON deployments(app_id, environment);

-- The audit log: every transition, decision and operator action.
-- Append-only: the triggers below refuse UPDATE and DELETE.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY,
	at		INTEGER NOT NULL,
	actor		TEXT NOT NULL,		-- a shipgate user, or "shipgated"
	unix_user	TEXT,			-- who ran shipgatectl
	action		TEXT NOT NULL CHECK (length(action) > 0),
	subject		TEXT NOT NULL,		-- "run 42", "app billing", ...
	run_id		INTEGER REFERENCES runs(id),
	detail		TEXT
);
CREATE INDEX audit_run ON audit(run_id) WHERE run_id IS NOT NULL;
CREATE INDEX audit_actor ON audit(actor);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;
