-- Issue 11, third part: the database answers "who is available now".
--
-- A push pass used to read every idle worker longest waiting first and decide in Python whether
-- their time rules (windows, quiet hours, /ready, zone) let a push come now, so the thousands
-- outside their windows were read on every pass. Each row now keeps what those rules said when
-- last worked out (bot/availability.py, Availability.span): push_open (1: available) holds from
-- push_from until push_until, the first instant the answer changes (ISO text, UTC, like every
-- stored time). '' in push_until means "work it out again": editing windows, quiet hours, /ready,
-- a pause or the zone sets it, and so does every start of the bot (TIMEZONE or the zone rules may
-- have changed). A pass first works out again the spans that do not hold now (push_until <= now,
-- or push_from > now), then reads only the open ones, from the queue's index.
ALTER TABLE worker_availability ADD COLUMN push_open INTEGER NOT NULL DEFAULT 0;
ALTER TABLE worker_availability ADD COLUMN push_from TEXT NOT NULL DEFAULT '';
ALTER TABLE worker_availability ADD COLUMN push_until TEXT NOT NULL DEFAULT '';

-- The push queue (migration 0015), now of the open only: least recently served first, by id.
DROP INDEX worker_availability_queue;
CREATE INDEX worker_availability_open
    ON worker_availability ((coalesce(last_served_at, '')), worker_id)
    WHERE paused_at IS NULL AND push_open = 1;

-- The spans to work out again: those that ended, and those that start after the pass's time
-- (a pass at an earlier time than the last one: another process's clock, or a test).
CREATE INDEX worker_availability_push_until ON worker_availability (push_until)
    WHERE paused_at IS NULL;
CREATE INDEX worker_availability_push_from ON worker_availability (push_from)
    WHERE paused_at IS NULL;
