-- 008: the people an identity provider signed in (auth.oidc, auth.alb),
-- kept so that a restart does not forget them and so that the mails of
-- their groups reach them before they sign in again.  Each sign-in
-- replaces the person's e-mail and groups with the provider's latest:
-- a person taken out of a provider group loses its shipgate group at
-- the next sign-in.  `groups` is the shipgate groups their provider
-- groups mapped to, one per line (config group names hold no newline).
-- An operator removes a person with `shipgatectl people forget`.
CREATE TABLE people (
	name		TEXT PRIMARY KEY CHECK (length(name) > 0),
	email		TEXT,
	groups		TEXT NOT NULL DEFAULT '',
	source		TEXT NOT NULL CHECK (source IN ('oidc', 'alb')),
	first_seen	INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL CHECK (last_seen >= first_seen)
);

-- How the decider signed in, beside the channel (via: portal, api, cli):
-- oidc or alb for a person an identity provider signed in, NULL for a
-- configured user.  A column of its own rather than more values of via,
-- whose CHECK SQLite cannot change without rebuilding the table, and
-- which would lose whether the portal or the API was used.
ALTER TABLE approvals ADD COLUMN signin TEXT
    CHECK (signin IS NULL OR signin IN ('oidc', 'alb'));
