-- 008: the time each stage spends in each status, for the delivery
-- measures (the app page's "where the time goes", the run page's
-- timeline, /api/v1/apps/{app}/stats).  Kept by a trigger on the one
-- statement that changes a stage's status (store_set_stage_status), so
-- no writer can forget it and the engine is unchanged.
-- (Numbered 013 in the merged tree: see issue 16.)

-- When the stage entered its current status.
ALTER TABLE stages ADD COLUMN status_at INTEGER;
UPDATE stages SET status_at = updated_at;

-- Milliseconds spent in a status, summed over the stage's attempts (a
-- retry enters creating_change_set again).  Time spent pending (waiting
-- for the environments before) is not a step and is not kept.
CREATE TABLE stage_steps (
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	status		TEXT NOT NULL,
	ms		INTEGER NOT NULL CHECK (ms >= 0),
	PRIMARY KEY (stage_id, status)
) WITHOUT ROWID;

CREATE TRIGGER stages_status_time AFTER UPDATE OF status ON stages
WHEN old.status <> new.status
BEGIN
	INSERT INTO stage_steps (stage_id, status, ms)
	    SELECT new.id, old.status, max(0, new.updated_at -
		coalesce(old.status_at, old.updated_at))
	    WHERE old.status <> 'pending'
	    ON CONFLICT (stage_id, status) DO UPDATE SET ms = ms + excluded.ms;
	UPDATE stages SET status_at = new.updated_at WHERE id = new.id;
END;

-- The history so far, from the audit log's transitions ("stage ENV
-- FROM -> TO", environment names have no spaces): a status lasted from
-- the entry that entered it to the next entry of the same stage.
INSERT INTO stage_steps (stage_id, status, ms)
SELECT st.id, t.status, max(0, sum(t.next_at - t.at))
FROM (
	SELECT run_id, env, status, at,
	    lead(at) OVER (PARTITION BY run_id, env ORDER BY id) AS next_at
	FROM (
		SELECT id, run_id, at,
		    substr(action, 7, instr(substr(action, 7), ' ') - 1) AS env,
		    substr(action, instr(action, ' -> ') + 4) AS status
		FROM audit
		WHERE run_id IS NOT NULL AND action LIKE 'stage % -> %'
	)
) t
JOIN stages st ON st.run_id = t.run_id AND st.environment = t.env
WHERE t.next_at IS NOT NULL AND t.status <> 'pending'
GROUP BY st.id, t.status;

-- Prod deployments by end time (the four measures read a period of
-- them); partial, as only finished stages count.
CREATE INDEX stages_finished ON stages(environment, finished_at)
    WHERE finished_at IS NOT NULL;
