-- The kept floor remembers, in the database, which ended batches owe nothing.
--
-- Each floor pass (bot/floor.py, every 30 s) looked for owing batches by reading every submitted
-- answer ever and probing the ledger for its top-up: 0.7 s a pass at a million answers, growing
-- with every answer. An ended batch (done or cancelled: both final) takes no new answer and its
-- reward no longer changes, and top-ups only ever pay what is owed, so once a pass finds it owes
-- nothing at a floor it never will again at that floor. floor_settled is that floor (cents an
-- hour); NULL until then. A pass reads the open and paused batches and the ended ones not
-- settled at its floor, so a changed MIN_HOURLY_RATE reads every ended batch once more.
ALTER TABLE batches ADD COLUMN floor_settled INTEGER;
