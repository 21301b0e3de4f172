-- 011: deploy windows and freezes (issue 16).
-- A stage approved outside its environment's windows waits in the new
-- state awaiting_window.  SQLite cannot alter a CHECK constraint: the
-- stages table's text gets the new state in its list (store.c turns the
-- defensive flag off for the scripts and reads the schema again after
-- one that writes sqlite_schema).  Widening the list keeps every row
-- valid.  The probe fails the migration if the text was not found.
-- The outbox's events get the two new ones the same way: window_wait
-- (the mail after an approval outside the window says when it will run)
-- and window_override.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''awaiting_gate'', ''done''',
	'''awaiting_gate'', ''awaiting_window'', ''done''')
 WHERE type = 'table' AND name = 'stages';
UPDATE sqlite_schema
   SET sql = replace(sql, '''rolled_back''))',
	'''rolled_back'', ''window_wait'', ''window_override''))')
 WHERE type = 'table' AND name = 'outbox';
PRAGMA writable_schema = OFF;
CREATE TEMP TABLE m011_probe (found INTEGER CHECK (found = 1));
INSERT INTO m011_probe
SELECT instr(sql, '''awaiting_window''') > 0 FROM sqlite_schema
 WHERE type = 'table' AND name = 'stages';
INSERT INTO m011_probe
SELECT instr(sql, '''window_override''') > 0 FROM sqlite_schema
 WHERE type = 'table' AND name = 'outbox';
DROP TABLE m011_probe;

-- Freezes added at run time by an operator (shipgatectl freeze, the
-- portal), and lifted the same way: kept, never deleted, for the record.
CREATE TABLE freezes (
	id		INTEGER PRIMARY KEY,
	app_id		INTEGER NOT NULL REFERENCES apps(id),
	environment	TEXT NOT NULL CHECK (length(environment) > 0),
	from_at		INTEGER NOT NULL,
	until_at	INTEGER NOT NULL CHECK (until_at > from_at),
	reason		TEXT NOT NULL CHECK (length(reason) > 0),
	created_by	TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	lifted_by	TEXT,
	lifted_comment	TEXT,
	lifted_at	INTEGER
);
CREATE INDEX freezes_environment ON freezes(app_id, environment, until_at);

-- An operator's override of the windows and freezes for one attempt of a
-- stage (shipgatectl override): the stage starts executing at once.
CREATE TABLE window_overrides (
	stage_id	INTEGER NOT NULL REFERENCES stages(id),
	attempt		INTEGER NOT NULL CHECK (attempt >= 0),
	user		TEXT NOT NULL,
	comment		TEXT NOT NULL CHECK (length(comment) > 0),
	created_at	INTEGER NOT NULL,
	PRIMARY KEY (stage_id, attempt)
);
