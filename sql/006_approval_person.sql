-- 006: the person behind each decision, so that a quorum counts people.
-- A Unix user may act for others through the control socket (--as), and
-- one person typing two names must not meet a two-approver rule alone.
-- `person` is the shipgate user the decider is (signed in to the portal,
-- or mapped from their Unix user), or "uid N" for an unmapped Unix user.
-- Decisions made before this migration were each their own person.
ALTER TABLE approvals ADD COLUMN person TEXT;
UPDATE approvals SET person = user_name;
CREATE UNIQUE INDEX approvals_person
    ON approvals(stage_id, attempt, gate, person);
