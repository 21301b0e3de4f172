-- 014: awaiting_window is a step of the delivery measures (issue 16):
-- the time an approved stage waits for its deploy window, or for a
-- freeze to end, is shown beside the others ("where the time goes", the
-- run page's chart, /api/v1/apps/{app}/stats).  Without it that time
-- was counted in no step.
ALTER TABLE stage_times ADD COLUMN window_ms INTEGER
    CHECK (window_ms >= 0);

-- sql/009's trigger, with awaiting_window: SQLite has no ALTER TRIGGER.
DROP TRIGGER stages_step_time;
CREATE TRIGGER stages_step_time AFTER UPDATE OF status ON stages
WHEN old.status <> new.status AND old.status IN ('promoting',
    'creating_change_set', 'awaiting_approval', 'awaiting_window',
    'executing', 'waiting_stack', 'waiting_services', 'checking',
    'awaiting_gate')
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
	    window_ms = CASE WHEN old.status IN ('awaiting_window')
		THEN coalesce(window_ms, 0) + max(0, new.updated_at -
		    coalesce(old.status_at, old.updated_at))
		ELSE window_ms END,
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

-- The waits before this migration, from the audit log's transitions as
-- 009 read the history ("stage ENV FROM -> TO"): a stage's time in
-- awaiting_window lasted from the entry that entered it to its next.
-- Rows 009's trigger made since have no window_ms; a stage that waited
-- and has no row yet gets one.
INSERT INTO stage_times (app_id, run_created_at, stage_id, environment,
    window_ms)
SELECT r.app_id, r.created_at, st.id, st.environment, sum(t.ms)
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
	WHERE next_at IS NOT NULL AND status = 'awaiting_window'
) t
JOIN stages st ON st.run_id = t.run_id AND st.environment = t.env
JOIN runs r ON r.id = st.run_id
GROUP BY st.id
ON CONFLICT (stage_id) DO UPDATE SET window_ms = excluded.window_ms;
