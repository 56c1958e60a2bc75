"""Migration 0015 (issue 16): the tables that list task types and media kinds take the new ones
with their rows, their indexes and their foreign keys intact (rebuilt on SQLite, their
constraints swapped on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database, bundled_migrations
from tests.conftest import INTEGRITY_ERRORS

STAMP = "2026-01-15T12:00:00+00:00"


async def test_rows_survive_and_the_new_types_and_kinds_are_allowed(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "old.db")
    try:
        await db.migrate([m for m in bundled_migrations() if m.version <= 14])
        async with db.write() as tx:
            await tx.execute(
                "INSERT INTO batches (id, requester_id, type, title, seconds_per_task, reward,"
                " answers_per_item, time_limit, state, created_at)"
                " VALUES (1, 7001, 'emotion', 'Faces', 5, 4, 3, 60, 'open', ?)",
                (STAMP,),
            )
            await tx.execute(
                "INSERT INTO media (sha256, kind, path, size_bytes, created_at)"
                " VALUES ('abc', 'image', 'media/abc.png', 10, ?)",
                (STAMP,),
            )
            await tx.execute(
                "INSERT INTO items (batch_id, position, source_path, media_sha256)"
                " VALUES (1, 1, 'a.png', 'abc')"
            )
            await tx.execute(
                "INSERT INTO worker_type_pauses (worker_id, task_type, reason, paused_at, detail)"
                " VALUES (5, 'emotion', 'accuracy', ?, '{}')",
                (STAMP,),
            )
        assert await db.migrate() == [m.version for m in bundled_migrations() if m.version > 14]
        async with db.read() as tx:
            batch = await tx.fetch_one("SELECT type, title, review, source_batch_id FROM batches")
            item = await tx.fetch_one("SELECT media_sha256, source_item_id, choices FROM items")
            pause = await tx.fetch_one("SELECT task_type, detail FROM worker_type_pauses")
            if db.dialect == "sqlite":
                orphans = await tx.fetch_all("PRAGMA foreign_key_check")
                listed = "SELECT name FROM sqlite_master WHERE type = 'index'"
            else:  # PostgreSQL checks foreign keys on every statement
                orphans = []
                listed = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            indexes = {row[0] for row in await tx.fetch_all(listed)}
        assert tuple(batch or ()) == ("emotion", "Faces", 0, None)
        assert tuple(item or ()) == ("abc", None, None)
        assert tuple(pause or ()) == ("emotion", "{}")
        assert orphans == []
        assert {
            "batches_requester",
            "batches_state",
            "batches_open_order",
            "batches_one_review",
        } <= indexes
        assert "gold_results_worker" in indexes
        async with db.write() as tx:
            await tx.execute(
                "INSERT INTO batches (id, requester_id, type, title, seconds_per_task, reward,"
                " answers_per_item, time_limit, created_at, source_batch_id)"
                " VALUES (2, 7001, 'review', 'Faces', 15, 5, 3, 75, ?, 1)",
                (STAMP,),
            )
            await tx.execute(
                "INSERT INTO media (sha256, kind, path, size_bytes, created_at, text)"
                " VALUES ('def', 'text', 'media/def.txt', 7, ?, 'Bonjour')",
                (STAMP,),
            )
        with pytest.raises(INTEGRITY_ERRORS):
            async with db.write() as tx:  # one review batch per source batch
                await tx.execute(
                    "INSERT INTO batches (requester_id, type, title, seconds_per_task, reward,"
                    " answers_per_item, time_limit, created_at, source_batch_id)"
                    " VALUES (7001, 'review', 'Again', 15, 5, 3, 75, ?, 1)",
                    (STAMP,),
                )
        with pytest.raises(INTEGRITY_ERRORS):
            async with db.write() as tx:  # a text medium carries its text
                await tx.execute(
                    "INSERT INTO media (sha256, kind, path, size_bytes, created_at)"
                    " VALUES ('ghi', 'text', 'media/ghi.txt', 7, ?)",
                    (STAMP,),
                )
    finally:
        await db.close()
