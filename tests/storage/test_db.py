"""Storage: WAL, foreign keys, migrations recorded and safe twice, users and roles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import MigrationError
from storage import sqlite as sqlite_module
from storage.audit import audit_entries
from storage.batches import has_table
from storage.db import Database, Migration, bundled_migrations, from_db_time, to_db_time
from storage.sqlite import SqliteDatabase
from storage.users import (
    get_user,
    grant_role,
    mark_update_processed,
    record_consent,
    roles_of,
    set_language,
    sync_configured_roles,
    touch_user,
    user_ids_with_role,
)
from tests.conftest import sql_rows, sql_value, sqlite_only

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@sqlite_only
async def test_pragmas_are_set(db: Database) -> None:
    assert await sql_value(db, "PRAGMA journal_mode") == "wal"
    assert await sql_value(db, "PRAGMA foreign_keys") == 1
    assert await sql_value(db, "PRAGMA busy_timeout") == 5000
    assert await sql_value(db, "PRAGMA synchronous") == 1  # NORMAL
    async with db.write() as tx:  # no commit ever runs a checkpoint: they have a connection
        assert await tx.fetch_value("PRAGMA wal_autocheckpoint") == 0


@sqlite_only
async def test_the_wal_is_checkpointed_off_the_writer_bounded_and_at_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = await Database.open(tmp_path / "wal.db")
    assert isinstance(database, SqliteDatabase)
    wal = tmp_path / "wal.db-wal"
    try:
        await database.migrate()  # its first commit started a passive checkpoint
        await database.checkpoint()
        assert database.checkpoints >= 1
        assert wal.stat().st_size > 0  # passive: the WAL is copied back, not cut
        monkeypatch.setattr(sqlite_module, "WAL_LIMIT_PAGES", 0)  # any WAL is too large now
        await database.run_write(
            touch_user, user_id=1, first_name="Ana", username=None, language="en", now=NOW
        )
        await database.checkpoint()
        assert wal.stat().st_size == 0  # truncated, readers or not
        await database.run_write(
            touch_user, user_id=2, first_name="Bob", username=None, language="en", now=NOW
        )
        assert wal.stat().st_size > 0
    finally:
        await database.close()
    assert not wal.exists() or wal.stat().st_size == 0  # close() checkpointed everything


async def test_migrations_are_recorded_and_safe_to_run_twice(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "twice.db")
    try:
        first = await database.migrate()
        assert first == [m.version for m in bundled_migrations()]
        assert await database.migrate() == []
        rows = await sql_rows(database, "SELECT version, name FROM schema_migrations")
        assert [row["version"] for row in rows] == first
    finally:
        await database.close()


async def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "broken.db")
    broken = Migration(1, "broken", "CREATE TABLE a (x INTEGER);\nINSERT INTO nowhere VALUES (1);")
    try:
        with pytest.raises(Exception, match="nowhere"):
            await database.migrate([broken])
        assert not await database.run_read(has_table, "a")
        assert await sql_value(database, "SELECT count(*) FROM schema_migrations") == 0
    finally:
        await database.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "newer.db")
    try:
        await database.migrate(
            [Migration(1, "one", "CREATE TABLE a (x TEXT);"), Migration(2, "b", "")]
        )
        with pytest.raises(MigrationError):
            await database.migrate([Migration(1, "one", "CREATE TABLE a (x TEXT);")])
    finally:
        await database.close()


async def test_a_failed_write_rolls_back(db: Database) -> None:
    async def insert_then_fail() -> None:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO user_roles (user_id, role, granted_at) VALUES (1, 'admin', 'x')"
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await insert_then_fail()
    assert await db.run_read(roles_of, 1) == frozenset()


def test_times_round_trip_in_utc() -> None:
    stamp = to_db_time(NOW)
    assert stamp == "2026-03-01T09:30:00.000000Z"
    assert from_db_time(stamp) == NOW
    with pytest.raises(ValueError, match="naive"):
        to_db_time(datetime(2026, 1, 1))


async def test_user_story(db: Database) -> None:
    user = await db.run_write(
        touch_user, user_id=5, first_name="Ana", username="ana", language="fr", now=NOW
    )
    assert user.language == "fr"
    assert not user.registered
    assert await db.run_write(record_consent, 5, NOW) is True
    assert await db.run_write(record_consent, 5, NOW) is False
    assert await db.run_read(roles_of, 5) == {"worker"}
    await db.run_write(set_language, 5, "en", NOW)
    # Telegram still says fr, but a chosen language is kept.
    user = await db.run_write(
        touch_user, user_id=5, first_name="Ana", username=None, language="fr", now=NOW
    )
    assert user.language == "en"
    assert user.username is None
    stored = await db.run_read(get_user, 5)
    assert stored is not None
    assert stored.consented_at == NOW


async def test_roles_from_configuration_and_grants(db: Database) -> None:
    await db.run_write(sync_configured_roles, admin_ids=[1], requester_ids=[2, 3], now=NOW)
    await db.run_write(sync_configured_roles, admin_ids=[1], requester_ids=[2, 3], now=NOW)
    assert await db.run_read(user_ids_with_role, "requester") == [2, 3]
    assert await db.run_write(grant_role, user_id=4, role="admin", granted_by=1, now=NOW) is True
    assert await db.run_write(grant_role, user_id=4, role="admin", granted_by=1, now=NOW) is False
    assert await db.run_read(roles_of, 4) == {"admin"}
    entries = await db.run_read(audit_entries)
    assert [e["action"] for e in entries] == ["grant", "grant"]
    assert entries[0]["actor_id"] == 1
    assert entries[0]["created_at"] == NOW


async def test_an_update_id_is_processed_once(db: Database) -> None:
    assert await db.run_write(mark_update_processed, 42, NOW) is True
    assert await db.run_write(mark_update_processed, 42, NOW) is False
