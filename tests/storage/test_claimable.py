"""Migration 0011: items.taken and items.full follow the assignments, and the claim reads one
index per open batch instead of every open item (issue 11)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.dispatch import dispatch_pass
from storage import assignments as sql
from storage.db import Database, bundled_migrations
from storage.overlap import allow_more
from tests.builders import NOW, POLICY, publish_batch, workers
from tests.conftest import sql_rows


async def drift(db: Database) -> list[tuple[int, int, int, int]]:
    """Items whose counters disagree with their assignments: (id, taken, counted, full)."""
    rows = await sql_rows(
        db,
        "SELECT i.id, i.taken, (SELECT count(*) FROM assignments a WHERE a.item_id = i.id"
        " AND a.state IN ('active', 'submitted')) AS counted, i.full,"
        " coalesce(i.wanted, b.answers_per_item) FROM items i JOIN batches b ON b.id = i.batch_id",
    )
    return [
        (row[0], row[1], row[2], row[3])
        for row in rows
        if row[1] != row[2] or bool(row[3]) != (row[2] >= row[4])
    ]


async def test_counters_follow_claims_answers_expiries_and_releases(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=2, answers_per_item=2)
    await workers(db, [101, 102, 103, 104])
    offers = await dispatch_pass(db, POLICY, NOW)
    assert len(offers) == 4  # two slots on each of the two items
    assert await drift(db) == []
    assert [row[0] for row in await sql_rows(db, 'SELECT "full" FROM items ORDER BY id')] == [1, 1]
    first, second, third, _ = (offer.assignment for offer in offers)
    async with db.write() as tx:
        await sql.mark_shown(tx, first.id, chat_id=101, message_id=1, prompt_message_id=None,
                             shown_at=NOW, deadline=NOW + timedelta(minutes=1))  # fmt: skip
        assert await sql.record_answer(tx, first.id, answer=0, duration_ms=900, now=NOW)
        await sql.end_active(tx, second.id, state="expired", reason=None, now=NOW)
        await sql.release_active_of_items(tx, [third.item_id], "complete", NOW)
    assert await drift(db) == []
    assert await db.run_read(sql.open_slots) == 3  # one expired, both of the item released
    again = await dispatch_pass(db, POLICY, NOW)  # nobody gets an item back
    assert await drift(db) == []
    before = {(offer.worker_id, offer.item.id) for offer in offers}
    assert again
    assert not before & {(offer.worker_id, offer.item.id) for offer in again}


async def test_the_migration_backfills_counters_of_an_older_database(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=3, answers_per_item=1)
    await workers(db, [101, 102])
    await dispatch_pass(db, POLICY, NOW)
    async with db.write() as tx:  # as a database from before 0011 would hold them
        await tx.execute('UPDATE items SET taken = 0, "full" = 0')
    backfill = next(m for m in bundled_migrations() if m.name == "scale")
    statements = [s for s in backfill.statements() if s.startswith("UPDATE items SET")]
    async with db.write() as tx:
        for statement in statements:
            await tx.execute(statement)
    assert await drift(db) == []


def test_the_claim_walks_indexes_in_order_without_sorting_every_open_item(
    tmp_path: Path,
) -> None:
    """The plan, not a timing: batches_open_order then items_claimable, no temporary B-tree."""
    path = tmp_path / "plan.db"
    with sqlite3.connect(path) as conn:
        for migration in bundled_migrations():
            for statement in migration.statements():
                conn.execute(statement)
        select = sql._NEXT_BATCH
        params = {"worker": 1, "max_reward": 10, "batch": None, "now": "2026-01-15T12:00:00Z"}
        plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {select}", params))
    assert "USING INDEX batches_open_order" in plan
    assert "USING INDEX items_claimable" in plan
    assert "TEMP B-TREE" not in plan


async def test_counters_follow_the_gate_of_a_dynamic_batch(db: Database, tmp_path: Path) -> None:
    """Migration 0020: "full" compares taken with the item's gate (items.wanted)."""
    batch_id = await publish_batch(db, tmp_path, items=2, answers_per_item=5)
    await workers(db, [101, 102, 103, 104, 105])
    offers = await dispatch_pass(db, POLICY, NOW)
    assert len(offers) == 4  # two slots on each item: the gate, not answers_per_item
    assert await drift(db) == []
    assert await db.run_read(sql.open_slots) == 0
    first = offers[0].assignment
    other = next(offer.item.id for offer in offers if offer.item.id != first.item_id)
    async with db.write() as tx:
        await sql.end_active(tx, first.id, state="expired", reason=None, now=NOW)
        assert await allow_more(tx, first.item_id, taken=1, wanted=3)
        assert not await allow_more(tx, first.item_id, taken=1, wanted=3)  # once
        assert not await allow_more(tx, other, taken=1, wanted=3)  # it holds 2
    assert await drift(db) == []
    assert await db.run_read(sql.open_slots) == 2  # the expired slot and the one allowed
    rows = await sql_rows(db, "SELECT id, wanted FROM items WHERE batch_id = ?", (batch_id,))
    assert {row[0]: row[1] for row in rows} == {first.item_id: 3, other: 2}
