-- Issue 12, item 11: a person who asked /forgetme. Their name and username are replaced by a
-- pseudonym and stay so: a later message from them does not bring their Telegram name back.
ALTER TABLE users ADD COLUMN erased_at TEXT;
