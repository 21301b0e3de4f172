-- 008: the time each stage spends in each step, for the delivery
-- measures (the app page's "where the time goes", the run page's chart,
-- /api/v1/apps/{app}/stats).  Kept by triggers on the one statement that
-- changes a stage's status (store_set_stage_status), so no writer can
-- forget it and the engine is unchanged.
-- (To be numbered 013 in the merged tree: issue 16's other branches add
-- 008 to 012.)

-- When the stage entered its current status.
ALTER TABLE stages ADD COLUMN status_at INTEGER;
UPDATE stages SET status_at = updated_at;

-- One row per stage that spent time in a step: milliseconds per step,
-- summed over the stage's attempts (a retry enters creating_change_set
-- again); NULL for a step the stage never entered.  The steps are
-- daemon/stats.h's: images (promoting), change_set
-- (creating_change_set), approval (awaiting_approval), executing
-- (executing, waiting_stack), ecs (waiting_services), checks (checking),
-- gate (awaiting_gate).  Time spent pending (waiting for the
-- environments before) is no step.  Keyed by app and the run's creation,
-- so a period of an app's runs is one range of the table, without a join
-- (100,000 runs a quarter read in one pass); app_id and run_created_at
-- repeat the run's, which never change.
CREATE TABLE stage_times (
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	run_created_at	INTEGER NOT NULL,
	stage_id	INTEGER NOT NULL UNIQUE REFERENCES stages(id),
	environment	TEXT NOT NULL,
	images_ms	INTEGER CHECK (images_ms >= 0),
	change_set_ms	INTEGER CHECK (change_set_ms >= 0),
	approval_ms	INTEGER CHECK (approval_ms >= 0),
	executing_ms	INTEGER CHECK (executing_ms >= 0),
	ecs_ms		INTEGER CHECK (ecs_ms >= 0),
	checks_ms	INTEGER CHECK (checks_ms >= 0),
	gate_ms		INTEGER CHECK (gate_ms >= 0),
	PRIMARY KEY (app_id, run_created_at, stage_id)
) WITHOUT ROWID;

CREATE TRIGGER stages_step_time AFTER UPDATE OF status ON stages
WHEN old.status <> new.status AND old.status IN ('promoting',
    'creating_change_set', 'awaiting_approval', 'executing', 'waiting_stack',
    'waiting_services', 'checking', 'awaiting_gate')
BEGIN
	INSERT INTO stage_times (app_id, run_created_at, stage_id,
	    environment)
	    SELECT r.app_id, r.created_at, new.id, new.environment
	    FROM runs r WHERE r.id = new.run_id
	    ON CONFLICT DO NOTHING;
	UPDATE stage_times SET
	    images_ms = CASE WHEN old.status IN ('promoting')
		THEN coalesce(images_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE images_ms END,
	    change_set_ms = CASE WHEN old.status IN ('creating_change_set')
		THEN coalesce(change_set_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE change_set_ms END,
	    approval_ms = CASE WHEN old.status IN ('awaiting_approval')
		THEN coalesce(approval_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE approval_ms END,
	    executing_ms = CASE WHEN old.status IN ('executing',
		'waiting_stack')
		THEN coalesce(executing_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE executing_ms END,
	    ecs_ms = CASE WHEN old.status IN ('waiting_services')
		THEN coalesce(ecs_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE ecs_ms END,
	    checks_ms = CASE WHEN old.status IN ('checking')
		THEN coalesce(checks_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE checks_ms END,
	    gate_ms = CASE WHEN old.status IN ('awaiting_gate')
		THEN coalesce(gate_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE gate_ms END
	    WHERE stage_id = new.id;
END;

CREATE TRIGGER stages_status_at AFTER UPDATE OF status ON stages
WHEN old.status <> new.status
BEGIN
	UPDATE stages SET status_at = new.updated_at WHERE id = new.id;
END;

-- The history so far, from the audit log's transitions ("stage ENV
-- FROM -> TO"; environment names have no spaces): a status lasted from
-- the entry that entered it to the stage's next entry.
INSERT INTO stage_times (app_id, run_created_at, stage_id, environment,
    images_ms, change_set_ms, approval_ms, executing_ms, ecs_ms, checks_ms,
    gate_ms)
SELECT r.app_id, r.created_at, st.id, st.environment,
    sum(CASE WHEN t.status IN ('promoting') THEN t.ms END),
    sum(CASE WHEN t.status IN ('creating_change_set') THEN t.ms END),
    sum(CASE WHEN t.status IN ('awaiting_approval') THEN t.ms END),
    sum(CASE WHEN t.status IN ('executing', 'waiting_stack')
	THEN t.ms END),
    sum(CASE WHEN t.status IN ('waiting_services') THEN t.ms END),
    sum(CASE WHEN t.status IN ('checking') THEN t.ms END),
    sum(CASE WHEN t.status IN ('awaiting_gate') THEN t.ms END)
FROM (
	SELECT run_id, env, status, max(0, next_at - at) AS ms
	FROM (
		SELECT run_id, env, status, at,
		    lead(at) OVER (PARTITION BY run_id, env ORDER BY id)
			AS next_at
		FROM (
			SELECT id, run_id, at,
			    substr(action, 7,
				instr(substr(action, 7), ' ') - 1) AS env,
			    substr(action, instr(action, ' -> ') + 4)
				AS status
			FROM audit
			WHERE run_id IS NOT NULL AND
			    action LIKE 'stage % -> %'
		)
	)
	WHERE next_at IS NOT NULL AND status IN ('promoting',
	    'creating_change_set', 'awaiting_approval', 'executing',
	    'waiting_stack', 'waiting_services', 'checking', 'awaiting_gate')
) t
JOIN stages st ON st.run_id = t.run_id AND st.environment = t.env
JOIN runs r ON r.id = st.run_id
GROUP BY st.id;

-- Prod deployments by end time (the four measures read a period of
-- them); partial, as only finished stages count, and covering what the
-- measures read of the stage (a third of the time on 30,000 deployments).
CREATE INDEX stages_finished ON stages(environment, finished_at, status,
    executed_at, run_id) WHERE finished_at IS NOT NULL;
