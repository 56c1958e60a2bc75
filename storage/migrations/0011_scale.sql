-- Issue 11: choosing a worker's next task without scanning every open item.
--
-- items.taken counts the item's answer slots held (assignments active or submitted) and
-- items.full says taken reached the batch's answers_per_item. Triggers on assignments keep
-- both exact in the same transaction as the change (nothing in Python can forget one), and the
-- partial index items_claimable holds only the open ordinary items with a free slot, in the
-- order slots are handed out, so the claim reads the first few entries of one index per batch.
-- "full" is quoted: a keyword in PostgreSQL (queries name it i.full, which both accept).
ALTER TABLE items ADD COLUMN taken INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN "full" INTEGER NOT NULL DEFAULT 0;

UPDATE items SET taken = (SELECT count(*) FROM assignments a
                          WHERE a.item_id = items.id AND a.state IN ('active', 'submitted'));
UPDATE items SET "full" = CASE WHEN taken >= (SELECT b.answers_per_item FROM batches b
                                               WHERE b.id = items.batch_id) THEN 1 ELSE 0 END;

-- only: sqlite
CREATE TRIGGER assignments_slot_taken AFTER INSERT ON assignments
WHEN NEW.state IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken + 1,
        "full" = taken + 1 >= (SELECT answers_per_item FROM batches WHERE id = NEW.batch_id)
    WHERE id = NEW.item_id;
END;

CREATE TRIGGER assignments_slot_freed AFTER UPDATE OF state ON assignments
WHEN OLD.state IN ('active', 'submitted') AND NEW.state NOT IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken - 1,
        "full" = taken - 1 >= (SELECT answers_per_item FROM batches WHERE id = NEW.batch_id)
    WHERE id = NEW.item_id;
END;

CREATE TRIGGER assignments_slot_retaken AFTER UPDATE OF state ON assignments
WHEN OLD.state NOT IN ('active', 'submitted') AND NEW.state IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken + 1,
        "full" = taken + 1 >= (SELECT answers_per_item FROM batches WHERE id = NEW.batch_id)
    WHERE id = NEW.item_id;
END;

CREATE TRIGGER assignments_slot_deleted AFTER DELETE ON assignments
WHEN OLD.state IN ('active', 'submitted')
BEGIN
    UPDATE items SET taken = taken - 1,
        "full" = taken - 1 >= (SELECT answers_per_item FROM batches WHERE id = OLD.batch_id)
    WHERE id = OLD.item_id;
END;
-- end only

-- only: postgres
CREATE FUNCTION items_slots() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held_before BOOLEAN := TG_OP <> 'INSERT' AND OLD.state IN ('active', 'submitted');
    held_after BOOLEAN := TG_OP <> 'DELETE' AND NEW.state IN ('active', 'submitted');
BEGIN
    IF held_after AND NOT held_before THEN
        UPDATE items SET taken = taken + 1, "full" = CASE WHEN taken + 1 >= (SELECT
            answers_per_item FROM batches WHERE id = NEW.batch_id) THEN 1 ELSE 0 END
        WHERE id = NEW.item_id;
    ELSIF held_before AND NOT held_after THEN
        UPDATE items SET taken = taken - 1, "full" = CASE WHEN taken - 1 >= (SELECT
            answers_per_item FROM batches WHERE id = OLD.batch_id) THEN 1 ELSE 0 END
        WHERE id = OLD.item_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER assignments_slots AFTER INSERT OR UPDATE OF state OR DELETE ON assignments
    FOR EACH ROW EXECUTE FUNCTION items_slots();
-- end only

CREATE INDEX items_claimable ON items (batch_id, position)
    WHERE state = 'open' AND gold_answer IS NULL AND "full" = 0;

-- Open batches in the order slots are handed out (oldest published first).
CREATE INDEX batches_open_order ON batches (published_at, id) WHERE state = 'open';
