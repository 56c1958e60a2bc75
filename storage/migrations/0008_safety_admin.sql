-- Ledger corrections an admin proposed, waiting for a second admin's confirmation (four-eyes).
CREATE TABLE pending_corrections (
    id INTEGER PRIMARY KEY,
    debit_account TEXT NOT NULL,
    credit_account TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),       -- cents
    reason TEXT NOT NULL CHECK (length(reason) > 0),
    proposed_by INTEGER NOT NULL,
    proposed_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'confirmed', 'cancelled')),
    decided_by INTEGER,
    decided_at TEXT,
    transfer_id INTEGER REFERENCES transfers (id)
);
