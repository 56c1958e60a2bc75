-- Requester batches, their items, and the media files items point at.
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    requester_id INTEGER NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('image_tag', 'emotion', 'transcription')),
    title TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '[]',          -- JSON list of label strings, in label order
    multiple INTEGER NOT NULL DEFAULT 0,         -- image_tag: several labels per answer
    seconds_per_task INTEGER NOT NULL CHECK (seconds_per_task > 0),
    reward INTEGER NOT NULL CHECK (reward >= 1), -- cents per answer
    below_floor INTEGER NOT NULL DEFAULT 0,      -- reward under MIN_HOURLY_RATE, accepted with a warning
    answers_per_item INTEGER NOT NULL CHECK (answers_per_item BETWEEN 1 AND 10),
    time_limit INTEGER NOT NULL CHECK (time_limit > 0),  -- seconds; manifests allow 15-600
    state TEXT NOT NULL DEFAULT 'draft'
        CHECK (state IN ('draft', 'open', 'paused', 'done', 'cancelled')),
    origin TEXT NOT NULL DEFAULT 'zip' CHECK (origin IN ('zip', 'guided')),
    created_at TEXT NOT NULL,
    published_at TEXT,
    ended_at TEXT
);
CREATE INDEX batches_requester ON batches (requester_id, id);
CREATE INDEX batches_state ON batches (state);

-- Stored media, content-addressed under DATA_DIR; telegram_file_id caches the first upload.
CREATE TABLE media (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'audio')),
    path TEXT NOT NULL,                          -- relative to DATA_DIR
    size_bytes INTEGER NOT NULL,
    duration_ms INTEGER,                         -- audio only
    telegram_file_id TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    position INTEGER NOT NULL,                   -- path order inside the upload
    source_path TEXT NOT NULL,                   -- the file's path in the ZIP (or upload name)
    media_sha256 TEXT NOT NULL REFERENCES media (sha256),
    recording_path TEXT,                         -- transcription chunks: the recording cut
    start_ms INTEGER,                            -- ...and where the chunk lies in it
    end_ms INTEGER,
    gold_answer TEXT,                            -- JSON; NULL for an ordinary item
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'complete')),
    completed_at TEXT,
    UNIQUE (batch_id, position)
);
CREATE INDEX items_open ON items (batch_id, state);
