-- The requester's and admin's side (issue 15): invoices and payments through Telegram Payments,
-- workers' payout details, and SEPA payment files.

-- An invoice sent by /fund; its id is the invoice payload ("fund:ID").
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    requester_id INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (CAST(amount AS INTEGER) = amount AND amount > 0),  -- cents
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- A successful payment: one per Telegram charge, whatever Telegram delivers twice.
CREATE TABLE payments (
    telegram_charge_id TEXT PRIMARY KEY,
    provider_charge_id TEXT NOT NULL,
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    requester_id INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (CAST(amount AS INTEGER) = amount AND amount > 0),
    currency TEXT NOT NULL,
    transfer_id INTEGER NOT NULL REFERENCES transfers (id),
    created_at TEXT NOT NULL
);
CREATE INDEX payments_requester ON payments (requester_id, created_at);

-- How a worker is paid: account holder and IBAN (shown masked everywhere but the SEPA file).
CREATE TABLE payout_details (
    worker_id INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    iban TEXT NOT NULL,
    bic TEXT,
    updated_at TEXT NOT NULL
);

-- A SEPA credit transfer file an admin exported, and the statements it pays.
CREATE TABLE sepa_files (
    id INTEGER PRIMARY KEY,
    month TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    message_id TEXT NOT NULL UNIQUE,           -- the pain.001 MsgId, also each payment's reference
    total INTEGER NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    paid_by INTEGER,
    paid_at TEXT
);
CREATE TABLE sepa_file_statements (
    file_id INTEGER NOT NULL REFERENCES sepa_files (id),
    statement_id INTEGER NOT NULL REFERENCES statements (id),
    amount INTEGER NOT NULL,
    PRIMARY KEY (file_id, statement_id)
);
