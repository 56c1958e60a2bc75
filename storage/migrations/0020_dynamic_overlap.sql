-- Dynamic overlap in the bot (issue 16): an item gets another answer only once the batch's
-- refit (bot/refit.py) has read its answers so far and found it still uncertain.
--
-- batches.dynamic_overlap: the batch buys answers dynamically (set at publish for the label
-- types whose results come from the model choice, bot/tasks/labels.py). items.wanted: how
-- many answer slots the item may hold now; NULL means the batch's answers_per_item. An item of
-- a dynamic batch starts at the rule's least answers (bot/overlap.py); each refit either
-- completes it or allows one more answer, never past answers_per_item. items."full" (0011)
-- now says taken reached wanted, so the claim's index skips an item waiting for a refit.
ALTER TABLE batches ADD COLUMN dynamic_overlap INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN wanted INTEGER;

-- Routing: an item's later answers (past the rule's least) go first to the batch's preferred
-- workers, those whose accuracy the last refit estimated in about the best quarter
-- (bot.overlap.preferred_workers); until items.routed_until, no one else may take the slot.
-- After it anyone may, so an item never waits long for a preferred worker who is away.
ALTER TABLE items ADD COLUMN routed_until TEXT;
CREATE TABLE overlap_preferred (
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    worker_id INTEGER NOT NULL,
    PRIMARY KEY (batch_id, worker_id)
);

-- only: sqlite
DROP TRIGGER assignments_slot_taken;
DROP TRIGGER assignments_slot_freed;
DROP TRIGGER assignments_slot_retaken;
DROP TRIGGER assignments_slot_deleted;

CREATE TRIGGER assignments_slot_taken AFTER INSERT ON assignments
WHEN NEW.state IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken + 1, "full" = taken + 1 >= coalesce(wanted,
        (SELECT answers_per_item FROM batches WHERE id = NEW.batch_id))
    WHERE id = NEW.item_id;
END;

CREATE TRIGGER assignments_slot_freed AFTER UPDATE OF state ON assignments
WHEN OLD.state IN ('active', 'submitted') AND NEW.state NOT IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken - 1, "full" = taken - 1 >= coalesce(wanted,
        (SELECT answers_per_item FROM batches WHERE id = NEW.batch_id))
    WHERE id = NEW.item_id;
END;

CREATE TRIGGER assignments_slot_retaken AFTER UPDATE OF state ON assignments
WHEN OLD.state NOT IN ('active', 'submitted') AND NEW.state IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken + 1, "full" = taken + 1 >= coalesce(wanted,
        (SELECT answers_per_item FROM batches WHERE id = NEW.batch_id))
    WHERE id = NEW.item_id;
END;

CREATE TRIGGER assignments_slot_deleted AFTER DELETE ON assignments
WHEN OLD.state IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken - 1, "full" = taken - 1 >= coalesce(wanted,
        (SELECT answers_per_item FROM batches WHERE id = OLD.batch_id))
    WHERE id = OLD.item_id;
END;
-- end only

-- only: postgres
CREATE OR REPLACE FUNCTION items_slots() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held_before BOOLEAN := TG_OP <> 'INSERT' AND OLD.state IN ('active', 'submitted');
    held_after BOOLEAN := TG_OP <> 'DELETE' AND NEW.state IN ('active', 'submitted');
BEGIN
    IF held_after AND NOT held_before THEN
        UPDATE items SET taken = taken + 1, "full" = CASE WHEN taken + 1 >= coalesce(wanted,
            (SELECT answers_per_item FROM batches WHERE id = NEW.batch_id)) THEN 1 ELSE 0 END
        WHERE id = NEW.item_id;
    ELSIF held_before AND NOT held_after THEN
        UPDATE items SET taken = taken - 1, "full" = CASE WHEN taken - 1 >= coalesce(wanted,
            (SELECT answers_per_item FROM batches WHERE id = OLD.batch_id)) THEN 1 ELSE 0 END
        WHERE id = OLD.item_id;
    END IF;
    RETURN NULL;
END;
$$;
-- end only
