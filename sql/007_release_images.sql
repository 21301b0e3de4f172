-- 007: a release's images as intake found them in the app's registry
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
