-- Users, their roles, the audit log of admin actions, and update de-duplication.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,                 -- the Telegram user id
    first_name TEXT NOT NULL,
    username TEXT,
    language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'fr')),
    language_chosen INTEGER NOT NULL DEFAULT 0,   -- 1 once set with /language
    timezone TEXT,                          -- NULL: the configured TIMEZONE
    consented_at TEXT,                      -- NULL until the worker consents
    blocked_at TEXT,
    blocked_reason TEXT,
    unreachable_at TEXT,                    -- the user blocked the bot (403)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Roles may be granted (from ADMIN_IDS, REQUESTER_IDS or /grant) before a user first writes,
-- so this table does not reference users.
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('worker', 'requester', 'admin')),
    granted_by INTEGER,                     -- NULL: configuration or consent
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    actor_id INTEGER,                       -- NULL: the system (scheduled jobs)
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',      -- JSON
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);

CREATE TABLE processed_updates (
    update_id INTEGER PRIMARY KEY,
    processed_at TEXT NOT NULL
);
