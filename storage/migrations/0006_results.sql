-- Results and fair pay, the requester side of issue 6: the pseudonym secret, fair-pay alerts.

-- One row: the HMAC key of the worker pseudonyms in results (created once, never shown).
CREATE TABLE results_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL,                     -- hex
    created_at TEXT NOT NULL
);

-- A batch whose measured median hourly rate fell below the floor: told once, maybe raised.
CREATE TABLE fair_pay_alerts (
    batch_id INTEGER PRIMARY KEY REFERENCES batches (id),
    alerted_at TEXT NOT NULL,
    answers INTEGER NOT NULL,                 -- submitted answers the median was taken over
    median_rate REAL NOT NULL,                -- cents per hour (a measurement, not money)
    median_duration_ms REAL NOT NULL,
    reward INTEGER NOT NULL,                  -- cents, the reward when told
    suggested_reward INTEGER NOT NULL,        -- cents, the reward that meets the floor
    raised_at TEXT,                           -- the requester pressed Raise
    raised_by INTEGER,
    extra_escrow INTEGER                      -- cents held by the raise
);
