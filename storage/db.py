"""The database connection: SQLite in WAL mode, one serialised writer, numbered migrations."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import MigrationError, StorageError

Params = Sequence[Any] | dict[str, Any]
BUSY_TIMEOUT_MS = 5_000


def to_db_time(moment: datetime) -> str:
    """A UTC timestamp as stored: ISO 8601, microseconds, Z; text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db_time(value: str) -> datetime:
    """The inverse of ``to_db_time``."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def maybe_time(value: str | None) -> datetime | None:
    """``from_db_time`` for a nullable column."""
    return None if value is None else from_db_time(value)


class Database:
    """A SQLite file with a writer connection (serialised by a lock) and a reader connection.

    Writes go through ``write()``, which holds the lock and a ``BEGIN IMMEDIATE`` transaction so a
    read-modify-write cannot interleave with another coroutine's statements or lose a race with
    another process. Reads use the reader connection and see committed data only.
    """

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating if needed) the database file at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        await _pragma(writer, "journal_mode=WAL")
        reader = await _connect(path)
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Close both connections."""
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE``, commit on success, roll back on error."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            else:
                await self._writer.commit()

    async def fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """The first row of a read query, or None."""
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Every row of a read query."""
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def migrate(self, migrations: Iterable[Migration] | None = None) -> list[int]:
        """Apply the numbered migrations not yet recorded, in order; return the versions applied."""
        wanted = sorted(migrations if migrations is not None else bundled_migrations())
        async with self.write() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        rows = await self.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
        done = {int(row[0]) for row in rows}
        known = {m.version for m in wanted}
        if unknown := done - known:
            raise MigrationError(f"database has migrations this code does not know: {unknown}")
        applied: list[int] = []
        for migration in wanted:
            if migration.version in done:
                continue
            async with self.write() as conn:
                for statement in migration.statements():
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_db_time(datetime.now(UTC))),
                )
            applied.append(migration.version)
        return applied


class Migration:
    """One numbered SQL file, ``NNNN_name.sql``."""

    def __init__(self, version: int, name: str, sql: str) -> None:
        self.version = version
        self.name = name
        self.sql = sql

    def __lt__(self, other: Migration) -> bool:
        return self.version < other.version

    def statements(self) -> list[str]:
        """The file split into complete SQL statements (so they share one transaction)."""
        statements: list[str] = []
        pending = ""
        for line in self.sql.splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                if pending.strip():
                    statements.append(pending.strip())
                pending = ""
        if pending.strip() and not all(
            part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
        ):
            raise MigrationError(f"migration {self.version} ends with an incomplete statement")
        return statements


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in ``storage/migrations``, checked to be numbered 1, 2, 3, ..."""
    found: list[Migration] = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name.partition("_")
        if not number.isdigit():
            raise MigrationError(f"migration file {name!r} does not start with a number")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort()
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration {expected} is missing (found {migration.version})")
    return found


async def _connect(path: Path) -> aiosqlite.Connection:
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    conn.row_factory = aiosqlite.Row
    for setting in ("foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}", "synchronous=NORMAL"):
        await _pragma(conn, setting)
    return conn


async def _pragma(conn: aiosqlite.Connection, setting: str) -> None:
    # Close the cursor at once: an unfinished PRAGMA statement holds a lock on the file.
    async with conn.execute(f"PRAGMA {setting}") as cursor:
        await cursor.fetchall()
