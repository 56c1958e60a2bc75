-- Quality, the worker side of issue 6: gold scores, speed flags, per-type pauses, appeals.

-- Server secrets created once at first use and never shown (the gold-mixing seed uses one).
CREATE TABLE settings_secrets (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,                     -- hex
    created_at TEXT NOT NULL
);

-- One row per answered gold item: its score in [0, 1], stored with the answer.
CREATE TABLE gold_results (
    assignment_id INTEGER PRIMARY KEY REFERENCES assignments (id),
    worker_id INTEGER NOT NULL,
    task_type TEXT NOT NULL CHECK (task_type IN ('image_tag', 'emotion', 'transcription')),
    item_id INTEGER NOT NULL REFERENCES items (id),
    score REAL NOT NULL CHECK (score >= 0 AND score <= 1),
    scored_at TEXT NOT NULL
);
CREATE INDEX gold_results_worker ON gold_results (worker_id, task_type, assignment_id);

-- An answer faster than humanly plausible (1 = flagged).
ALTER TABLE assignments ADD COLUMN speed_flag INTEGER NOT NULL DEFAULT 0;

-- The numbers behind a pause (JSON), shown to the worker and to admins.
ALTER TABLE worker_type_pauses ADD COLUMN detail TEXT;

-- Pauses lifted by an admin: checks after a lift count only what came after it.
CREATE TABLE type_pause_lifts (
    id INTEGER PRIMARY KEY,
    worker_id INTEGER NOT NULL,
    task_type TEXT NOT NULL,
    reason TEXT NOT NULL,                     -- the pause's reason: accuracy or speed
    lifted_by INTEGER NOT NULL,
    lifted_at TEXT NOT NULL
);
CREATE INDEX type_pause_lifts_worker ON type_pause_lifts (worker_id, task_type, lifted_at);

-- A worker's /appeal and what an admin decided.
CREATE TABLE appeals (
    id INTEGER PRIMARY KEY,
    worker_id INTEGER NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'lifted', 'kept')),
    created_at TEXT NOT NULL,
    decided_by INTEGER,
    decided_at TEXT,
    task_type TEXT                            -- the type lifted, when lifted
);
CREATE UNIQUE INDEX appeals_one_open ON appeals (worker_id) WHERE state = 'open';
