-- Per-worker actions for requesters (issue 15, item 6): a requester excludes a worker, known to
-- them only by a pseudonym, from their batches; dispatch never offers those batches to that
-- worker (storage/exclusions.py EXCLUSION_GATE). Deleting the row readmits the worker.
CREATE TABLE requester_exclusions (
    requester_id INTEGER NOT NULL REFERENCES users(id),
    worker_id INTEGER NOT NULL REFERENCES users(id),
    excluded_at TEXT NOT NULL,
    PRIMARY KEY (requester_id, worker_id)
);

-- The estimated end of a batch counts its answers of the last hour.
CREATE INDEX assignments_batch_ended ON assignments (batch_id, ended_at)
    WHERE state = 'submitted';
