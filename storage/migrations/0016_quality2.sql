-- Issue 16, the new task types and the review step: text in an image (image_text), translation
-- of short texts (translation), and review batches (review) that pick the best of an item's
-- typed answers.
--
-- New columns, the same on both backends:
-- batches.review (a text batch whose answers are then reviewed), batches.review_reward (cents
-- per review answer, fixed at the draft at the floor rate; held at publishing with the rest),
-- batches.source_batch_id (a review batch: the batch it reviews, whose escrow pays it);
-- media.text (a short text, a sentence to translate, is an item's content too);
-- items.source_item_id and items.choices (a review item: the item it reviews and the
-- candidates it offers, a JSON list of texts).
--
-- The tables whose CHECK constraints list the task types (and media kinds) must allow the new
-- ones. PostgreSQL swaps the constraints in place. SQLite cannot change a CHECK constraint, so
-- there those tables are rebuilt: copied aside, dropped, created again, copied back, their
-- indexes made again. Foreign keys are deferred to the commit: dropping a parent table orphans
-- its children for a moment, and copying the rows back gives each child its parent again.

ALTER TABLE items ADD COLUMN source_item_id INTEGER REFERENCES items (id);
ALTER TABLE items ADD COLUMN choices TEXT;

-- only: sqlite
PRAGMA defer_foreign_keys = ON;

CREATE TABLE batches_before_0016 AS SELECT * FROM batches;
DROP TABLE batches;
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    requester_id INTEGER NOT NULL,
    type TEXT NOT NULL CHECK (
        type IN ('image_tag', 'emotion', 'transcription', 'image_text', 'translation', 'review')
    ),
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
    ended_at TEXT,
    min_level TEXT NOT NULL DEFAULT 'newcomer'
        CHECK (min_level IN ('newcomer', 'confirmed', 'expert')),
    examples TEXT NOT NULL DEFAULT '[]',
    review INTEGER NOT NULL DEFAULT 0,
    review_reward INTEGER CHECK (review_reward IS NULL OR review_reward >= 1),
    source_batch_id INTEGER REFERENCES batches (id),
    CHECK (review = 0 OR review_reward IS NOT NULL)
);
INSERT INTO batches (
    id, requester_id, type, title, instructions, labels, multiple, seconds_per_task, reward,
    below_floor, answers_per_item, time_limit, state, origin, created_at, published_at, ended_at,
    min_level, examples
)
SELECT
    id, requester_id, type, title, instructions, labels, multiple, seconds_per_task, reward,
    below_floor, answers_per_item, time_limit, state, origin, created_at, published_at, ended_at,
    min_level, examples
FROM batches_before_0016;
DROP TABLE batches_before_0016;
CREATE INDEX batches_requester ON batches (requester_id, id);
CREATE INDEX batches_state ON batches (state);
CREATE INDEX batches_open_order ON batches (published_at, id) WHERE state = 'open';

CREATE TABLE media_before_0016 AS SELECT * FROM media;
DROP TABLE media;
CREATE TABLE media (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'text')),
    path TEXT NOT NULL,                          -- relative to DATA_DIR
    size_bytes INTEGER NOT NULL,
    duration_ms INTEGER,                         -- audio only
    telegram_file_id TEXT,
    created_at TEXT NOT NULL,
    text TEXT,                                   -- kind 'text' only: the text itself
    CHECK ((kind = 'text') = (text IS NOT NULL))
);
INSERT INTO media (sha256, kind, path, size_bytes, duration_ms, telegram_file_id, created_at)
SELECT sha256, kind, path, size_bytes, duration_ms, telegram_file_id, created_at
FROM media_before_0016;
DROP TABLE media_before_0016;

CREATE TABLE worker_type_pauses_before_0016 AS SELECT * FROM worker_type_pauses;
DROP TABLE worker_type_pauses;
CREATE TABLE worker_type_pauses (
    worker_id INTEGER NOT NULL,
    task_type TEXT NOT NULL CHECK (
        task_type IN ('image_tag', 'emotion', 'transcription', 'image_text', 'translation', 'review')
    ),
    reason TEXT NOT NULL,
    paused_at TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (worker_id, task_type)
);
INSERT INTO worker_type_pauses (worker_id, task_type, reason, paused_at, detail)
SELECT worker_id, task_type, reason, paused_at, detail FROM worker_type_pauses_before_0016;
DROP TABLE worker_type_pauses_before_0016;

CREATE TABLE gold_results_before_0016 AS SELECT * FROM gold_results;
DROP TABLE gold_results;
CREATE TABLE gold_results (
    assignment_id INTEGER PRIMARY KEY REFERENCES assignments (id),
    worker_id INTEGER NOT NULL,
    task_type TEXT NOT NULL CHECK (
        task_type IN ('image_tag', 'emotion', 'transcription', 'image_text', 'translation', 'review')
    ),
    item_id INTEGER NOT NULL REFERENCES items (id),
    score REAL NOT NULL CHECK (score >= 0 AND score <= 1),
    scored_at TEXT NOT NULL
);
INSERT INTO gold_results (assignment_id, worker_id, task_type, item_id, score, scored_at)
SELECT assignment_id, worker_id, task_type, item_id, score, scored_at
FROM gold_results_before_0016;
DROP TABLE gold_results_before_0016;
CREATE INDEX gold_results_worker ON gold_results (worker_id, task_type, assignment_id);
-- end only

-- only: postgres
ALTER TABLE batches DROP CONSTRAINT batches_type_check;
ALTER TABLE batches ADD CONSTRAINT batches_type_check CHECK (
    type IN ('image_tag', 'emotion', 'transcription', 'image_text', 'translation', 'review')
);
ALTER TABLE batches ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN review_reward INTEGER
    CHECK (review_reward IS NULL OR review_reward >= 1);
ALTER TABLE batches ADD COLUMN source_batch_id INTEGER REFERENCES batches (id);
ALTER TABLE batches ADD CONSTRAINT batches_review_priced
    CHECK (review = 0 OR review_reward IS NOT NULL);

ALTER TABLE media DROP CONSTRAINT media_kind_check;
ALTER TABLE media ADD CONSTRAINT media_kind_check CHECK (kind IN ('image', 'audio', 'text'));
ALTER TABLE media ADD COLUMN text TEXT;
ALTER TABLE media ADD CONSTRAINT media_text_check CHECK ((kind = 'text') = (text IS NOT NULL));

ALTER TABLE worker_type_pauses DROP CONSTRAINT worker_type_pauses_task_type_check;
ALTER TABLE worker_type_pauses ADD CONSTRAINT worker_type_pauses_task_type_check CHECK (
    task_type IN ('image_tag', 'emotion', 'transcription', 'image_text', 'translation', 'review')
);

ALTER TABLE gold_results DROP CONSTRAINT gold_results_task_type_check;
ALTER TABLE gold_results ADD CONSTRAINT gold_results_task_type_check CHECK (
    task_type IN ('image_tag', 'emotion', 'transcription', 'image_text', 'translation', 'review')
);
-- end only

-- One review batch per source batch, whatever the code does.
CREATE UNIQUE INDEX batches_one_review ON batches (source_batch_id)
    WHERE source_batch_id IS NOT NULL;
