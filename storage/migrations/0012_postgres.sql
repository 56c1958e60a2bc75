-- Several bot processes (and several bots) on one database: what belongs to each bot token.
-- bot_id is the bot's Telegram id, the number before ':' in its token.

-- A file_id is valid for the bot that uploaded the file only: one per media file and bot.
CREATE TABLE media_file_ids (
    sha256 TEXT NOT NULL REFERENCES media (sha256),
    bot_id INTEGER NOT NULL,
    file_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (sha256, bot_id)
);

-- Each bot's message budget, shared by all its processes: a token bucket refilled at the
-- bot's rate up to its burst, taken from in write transactions (storage/send_budget.py).
CREATE TABLE send_budgets (
    bot_id INTEGER PRIMARY KEY,
    tokens REAL NOT NULL CHECK (tokens >= 0),
    refilled_at TEXT NOT NULL
);
