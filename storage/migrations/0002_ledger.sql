-- The money: an append-only double-entry ledger, monthly statements and their review history.

-- One money movement. The amount leaves debit_account and arrives at credit_account; the two
-- legs are rows of `entries`. `month` is the calendar month of created_at in TIMEZONE, fixed
-- at insert (the monthly cap and the statements count by it, whatever TIMEZONE says later).
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL
        CHECK (kind IN ('topup', 'hold', 'reward', 'refund', 'payout', 'correction', 'bonus')),
    amount INTEGER NOT NULL CHECK (CAST(amount AS INTEGER) = amount AND amount > 0),  -- cents
    debit_account TEXT NOT NULL,
    credit_account TEXT NOT NULL,
    actor_id INTEGER,                       -- who caused it; NULL: the system
    idempotency_key TEXT NOT NULL UNIQUE,
    memo TEXT NOT NULL DEFAULT '',
    month TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    created_at TEXT NOT NULL,
    CHECK (debit_account <> credit_account),
    -- Each kind moves money along one route only; a correction may go anywhere but never
    -- from or to an account that does not exist in the design.
    CHECK (
        (kind = 'topup' AND debit_account = 'bank' AND credit_account GLOB 'requester:[0-9]*')
        OR (kind = 'hold' AND debit_account GLOB 'requester:[0-9]*'
            AND credit_account GLOB 'escrow:batch:[0-9]*')
        OR (kind = 'reward' AND debit_account GLOB 'escrow:batch:[0-9]*'
            AND credit_account GLOB 'worker:[0-9]*')
        OR (kind = 'refund' AND debit_account GLOB 'escrow:batch:[0-9]*'
            AND credit_account GLOB 'requester:[0-9]*')
        OR (kind = 'payout' AND debit_account GLOB 'worker:[0-9]*' AND credit_account = 'bank')
        OR (kind = 'bonus' AND (debit_account GLOB 'requester:[0-9]*'
            OR debit_account GLOB 'escrow:batch:[0-9]*') AND credit_account GLOB 'worker:[0-9]*')
        OR (kind = 'correction'
            AND (debit_account = 'bank' OR debit_account GLOB 'requester:[0-9]*'
                OR debit_account GLOB 'escrow:batch:[0-9]*' OR debit_account GLOB 'worker:[0-9]*')
            AND (credit_account = 'bank' OR credit_account GLOB 'requester:[0-9]*'
                OR credit_account GLOB 'escrow:batch:[0-9]*' OR credit_account GLOB 'worker:[0-9]*'))
    )
);
CREATE INDEX transfers_credit_month ON transfers (credit_account, month, kind);
CREATE INDEX transfers_debit ON transfers (debit_account, kind);

-- The two signed legs of each transfer: -amount on the debit account, +amount on the credit
-- account. A balance is SUM(amount) over an account's entries; every transfer sums to zero.
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    transfer_id INTEGER NOT NULL REFERENCES transfers (id),
    account TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (CAST(amount AS INTEGER) = amount AND amount <> 0),
    UNIQUE (transfer_id, account)
);
CREATE INDEX entries_account ON entries (account, transfer_id);

-- Append-only: history is never edited; a mistake is undone by a new correction transfer.
-- only: sqlite
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN
    SELECT RAISE(ABORT, 'transfers are append-only');
END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN
    SELECT RAISE(ABORT, 'transfers are append-only');
END;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN
    SELECT RAISE(ABORT, 'entries are append-only');
END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN
    SELECT RAISE(ABORT, 'entries are append-only');
END;
CREATE TRIGGER entries_two_legs BEFORE INSERT ON entries
WHEN (SELECT count(*) FROM entries WHERE transfer_id = NEW.transfer_id) >= 2
BEGIN
    SELECT RAISE(ABORT, 'a transfer has exactly two legs');
END;
-- end only
-- only: postgres
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER transfers_no_update BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER entries_no_update BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE FUNCTION ledger_two_legs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM entries WHERE transfer_id = NEW.transfer_id) >= 2 THEN
        RAISE EXCEPTION 'a transfer has exactly two legs' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER entries_two_legs BEFORE INSERT ON entries
    FOR EACH ROW EXECUTE FUNCTION ledger_two_legs();
-- end only

-- A month whose statements were made; earnings dated in a closed month are refused after it.
CREATE TABLE month_closes (
    month TEXT PRIMARY KEY CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    closed_at TEXT NOT NULL,
    closed_by INTEGER,                      -- NULL: the scheduled job or the catch-up at start
    statements_created INTEGER NOT NULL
);

-- One statement per worker and month: pending, then approved or held, then paid.
CREATE TABLE statements (
    id INTEGER PRIMARY KEY,
    worker_id INTEGER NOT NULL,
    month TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    amount INTEGER NOT NULL CHECK (CAST(amount AS INTEGER) = amount AND amount > 0),  -- cents
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'approved', 'held', 'paid')),
    hold_reason TEXT,                       -- the last hold's reason, shown to the worker
    reference TEXT,                         -- the bank reference of the payment
    payout_transfer_id INTEGER REFERENCES transfers (id),
    created_at TEXT NOT NULL,
    approved_by INTEGER,
    approved_at TEXT,
    held_by INTEGER,
    held_at TEXT,
    paid_by INTEGER,
    paid_at TEXT,
    UNIQUE (worker_id, month),
    CHECK ((state = 'paid') = (payout_transfer_id IS NOT NULL AND reference IS NOT NULL)),
    CHECK (state <> 'held' OR hold_reason IS NOT NULL)
);
CREATE INDEX statements_state ON statements (state, month);

-- Every step a statement took, with who and when.
CREATE TABLE statement_events (
    id INTEGER PRIMARY KEY,
    statement_id INTEGER NOT NULL REFERENCES statements (id),
    from_state TEXT,                        -- NULL: created
    to_state TEXT NOT NULL,
    actor_id INTEGER,                       -- NULL: the system
    detail TEXT NOT NULL DEFAULT '',        -- the hold reason or the payment reference
    created_at TEXT NOT NULL
);
CREATE INDEX statement_events_statement ON statement_events (statement_id, id);
