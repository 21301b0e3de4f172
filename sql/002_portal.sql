-- 002: the portal's sign-in state: browser sessions and API tokens.
-- Neither the session id nor the token is stored: only its SHA-256, so a
-- copy of the database signs nobody in.

CREATE TABLE sessions (
	id_hash		BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
	user_name	TEXT NOT NULL CHECK (length(user_name) > 0),
	remote_addr	TEXT,
	created_at	INTEGER NOT NULL,
	last_seen_at	INTEGER NOT NULL,	-- idle expiry counts from here
	expires_at	INTEGER NOT NULL,	-- absolute expiry
	revoked_at	INTEGER,		-- signed out
	CHECK (expires_at >= created_at)
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_name);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Tokens for automation (`shipgatectl token create USER`), sent as
-- "Authorization: Bearer TOKEN" and acting as their user.
CREATE TABLE api_tokens (
	id		INTEGER PRIMARY KEY,
	token_hash	BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	user_name	TEXT NOT NULL CHECK (length(user_name) > 0),
	label		TEXT NOT NULL DEFAULT '',
	created_by	TEXT,			-- Unix user of shipgatectl
	created_at	INTEGER NOT NULL,
	last_used_at	INTEGER,
	revoked_at	INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_name);
