-- 004: image promotions: each image of a release copied from the source
-- registry into an environment's registry before the stage deploys.

CREATE TABLE image_promotions (
	id			INTEGER PRIMARY KEY,
	stage_id		INTEGER NOT NULL REFERENCES stages(id),
	source_registry		TEXT NOT NULL,
	repository		TEXT NOT NULL,
	reference		TEXT NOT NULL,	-- tag, or digest when pinned
	destination_registry	TEXT NOT NULL,
	media_type		TEXT,
	source_digest		TEXT,
	destination_digest	TEXT,
	status			TEXT NOT NULL DEFAULT 'pending'
				    CHECK (status IN ('pending', 'copying',
					'copied', 'failed')),
	blobs_copied		INTEGER NOT NULL DEFAULT 0
				    CHECK (blobs_copied >= 0),
	blobs_skipped		INTEGER NOT NULL DEFAULT 0
				    CHECK (blobs_skipped >= 0),
	bytes_copied		INTEGER NOT NULL DEFAULT 0
				    CHECK (bytes_copied >= 0),
	bytes_skipped		INTEGER NOT NULL DEFAULT 0
				    CHECK (bytes_skipped >= 0),
	reason			TEXT,
	created_at		INTEGER NOT NULL,
	updated_at		INTEGER NOT NULL,
	started_at		INTEGER,
	finished_at		INTEGER,
	-- The whole point: digest for digest.
	CHECK (status <> 'copied' OR (source_digest IS NOT NULL AND
	    destination_digest = source_digest)),
	CHECK (status <> 'failed' OR reason IS NOT NULL),
	UNIQUE (stage_id, destination_registry, repository, reference)
);
