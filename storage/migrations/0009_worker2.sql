-- Issue 14, the worker's side (items 2, 4, 5): examples, training feedback, level gates,
-- reports that pause a batch for review, requesters' reputation, muted requesters.

-- A batch's minimum worker level and its examples (JSON list: file, answer, why, media).
ALTER TABLE batches ADD COLUMN min_level TEXT NOT NULL DEFAULT 'newcomer'
    CHECK (min_level IN ('newcomer', 'confirmed', 'expert'));
ALTER TABLE batches ADD COLUMN examples TEXT NOT NULL DEFAULT '[]';

-- Why a gold item's answer is right (gold.csv's optional third column), shown in training.
ALTER TABLE items ADD COLUMN gold_why TEXT;

-- A batch's examples are shown once to each worker, before their first task of it.
CREATE TABLE examples_seen (
    worker_id INTEGER NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    seen_at TEXT NOT NULL,
    PRIMARY KEY (worker_id, batch_id)
);

-- Each worker's level as last computed (after each answer): dispatch compares it to min_level.
CREATE TABLE worker_levels (
    worker_id INTEGER PRIMARY KEY,
    level TEXT NOT NULL CHECK (level IN ('newcomer', 'confirmed', 'expert')),
    rank INTEGER NOT NULL,                      -- 0 newcomer, 1 confirmed, 2 expert
    updated_at TEXT NOT NULL
);

-- A worker's report of a task (one per assignment); an admin's review upholds or dismisses it.
CREATE TABLE task_reports (
    id INTEGER PRIMARY KEY,
    assignment_id INTEGER NOT NULL UNIQUE REFERENCES assignments (id),
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    requester_id INTEGER NOT NULL,
    worker_id INTEGER NOT NULL,
    reason TEXT NOT NULL
        CHECK (reason IN ('broken_media', 'unclear', 'offensive', 'fake_engagement')),
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'upheld', 'dismissed')),
    created_at TEXT NOT NULL,
    decided_by INTEGER,
    decided_at TEXT
);
CREATE INDEX task_reports_batch ON task_reports (batch_id, state, worker_id);
CREATE INDEX task_reports_requester ON task_reports (requester_id, state);

-- A batch paused by reports waits for an admin: resumed (reports dismissed) or kept (upheld).
CREATE TABLE batch_reviews (
    batch_id INTEGER PRIMARY KEY REFERENCES batches (id),
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resumed', 'kept')),
    reporters INTEGER NOT NULL,
    opened_at TEXT NOT NULL,
    decided_by INTEGER,
    decided_at TEXT
);

-- A requester's reputation as shown on tasks, cached (recomputed when older than a few minutes).
CREATE TABLE requester_reputation (
    requester_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    median_rate INTEGER,                        -- cents an hour; NULL before any paid answer
    workers_paid INTEGER NOT NULL,
    reports_upheld INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Requesters a worker muted: their batches are never offered to that worker.
CREATE TABLE worker_mutes (
    worker_id INTEGER NOT NULL,
    requester_id INTEGER NOT NULL,
    muted_at TEXT NOT NULL,
    PRIMARY KEY (worker_id, requester_id)
);
