-- Issue 11 at realistic volume (10,000 workers, 100,000 open items, 1,000,000 past answers).
--
-- The push pass reads idle workers longest waiting first (never served first, then by when they
-- were last served, then by id) a page at a time and stops once the outbox's budget for the next
-- interval is claimed: this index is that queue, so a page is a range of it, not a sort of every
-- worker. The never served sort first as '' (last_served_at is ISO text on both backends).
CREATE INDEX worker_availability_queue
    ON worker_availability ((coalesce(last_served_at, '')), worker_id)
    WHERE paused_at IS NULL;

-- The gold-mixing rule's view of a claim (storage/quality.py gold_view): what the worker was
-- offered in one batch (their whole history before), and the batch's open gold items in order
-- (every open item of the batch before).
CREATE INDEX assignments_worker_batch ON assignments (worker_id, batch_id, item_id);
CREATE INDEX items_open_gold ON items (batch_id, position)
    WHERE gold_answer IS NOT NULL AND state = 'open';
