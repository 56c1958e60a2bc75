-- Assignments (one item offered to one worker, with its timer) and when workers want tasks.
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items (id),
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    worker_id INTEGER NOT NULL REFERENCES users (id),
    state TEXT NOT NULL DEFAULT 'active'
        CHECK (state IN ('active', 'submitted', 'expired', 'skipped', 'released')),
    reward INTEGER NOT NULL CHECK (reward >= 1),        -- cents, the batch's reward when offered
    time_limit INTEGER NOT NULL CHECK (time_limit > 0), -- seconds, copied from the batch
    forced INTEGER NOT NULL DEFAULT 0,                  -- asked for with /task (outside windows)
    offered_at TEXT NOT NULL,                           -- claimed for the worker
    shown_at TEXT,                                      -- the task message was delivered
    deadline TEXT,                                      -- shown_at + time_limit; NULL until shown
    chat_id INTEGER,
    message_id INTEGER,                                 -- the task message (photo or voice)
    prompt_message_id INTEGER,                          -- transcription: the force-reply prompt
    draft TEXT NOT NULL DEFAULT '[]',                   -- multiple labels: indexes ticked so far
    answer TEXT,                                        -- JSON, once submitted
    duration_ms INTEGER,                                -- shown_at to submission
    ended_at TEXT,
    end_reason TEXT,                                    -- released: paused, unreachable, cap, ...
    UNIQUE (item_id, worker_id)                         -- never the same item twice
);
-- At most one active assignment per worker, whatever the code does.
CREATE UNIQUE INDEX assignments_one_active ON assignments (worker_id) WHERE state = 'active';
CREATE INDEX assignments_item_state ON assignments (item_id, state);
CREATE INDEX assignments_active_deadline ON assignments (deadline) WHERE state = 'active';
CREATE INDEX assignments_message ON assignments (chat_id, message_id);
CREATE INDEX assignments_worker ON assignments (worker_id, id);

-- When a worker wants tasks; no row means: no windows, default quiet hours, never served.
CREATE TABLE worker_availability (
    worker_id INTEGER PRIMARY KEY REFERENCES users (id),
    windows TEXT NOT NULL DEFAULT '',              -- canonical "mon-fri 07:30-09:00, sat 10:00-12:00"
    quiet TEXT NOT NULL DEFAULT '22:00-08:00',     -- local "HH:MM-HH:MM"; '' = no quiet hours
    ready_until TEXT,                              -- /ready: available until then
    paused_at TEXT,                                -- /pause (or timeouts in a row); NULL = not paused
    pause_reason TEXT,                             -- 'worker' or 'timeouts'
    last_served_at TEXT,                           -- last offer; the least recently served goes first
    missed_in_a_row INTEGER NOT NULL DEFAULT 0,    -- expiries since the last answer
    updated_at TEXT NOT NULL
);
CREATE INDEX worker_availability_served ON worker_availability (last_served_at);

-- A worker kept from one task type (quality checks of issue 6 fill it; dispatch honours it).
CREATE TABLE worker_type_pauses (
    worker_id INTEGER NOT NULL,
    task_type TEXT NOT NULL CHECK (task_type IN ('image_tag', 'emotion', 'transcription')),
    reason TEXT NOT NULL,
    paused_at TEXT NOT NULL,
    PRIMARY KEY (worker_id, task_type)
);
