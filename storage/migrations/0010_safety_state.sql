-- Conversations and their drafts survive restarts (issue 12): python-telegram-bot's
-- conversation states and per-user / per-chat data, as JSON, written after every update.
CREATE TABLE conversation_states (
    name TEXT NOT NULL,                     -- the ConversationHandler's name
    conversation_key TEXT NOT NULL,         -- JSON list: (chat id, user id) by default
    state TEXT NOT NULL,                    -- JSON: the state the conversation waits in
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, conversation_key)
);

CREATE TABLE conversation_data (
    scope TEXT NOT NULL CHECK (scope IN ('user', 'chat')),
    owner_id INTEGER NOT NULL,              -- a user id or a chat id
    data TEXT NOT NULL,                     -- JSON object
    updated_at TEXT NOT NULL,
    PRIMARY KEY (scope, owner_id)
);

-- Pruning processed updates older than a week reads them by time.
CREATE INDEX processed_updates_time ON processed_updates (processed_at);
