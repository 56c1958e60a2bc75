"""The database connection: SQLite in WAL mode, one serialised writer, numbered migrations."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import aiosqlite

from bot.errors import MigrationError, StorageError

Params = Sequence[Any] | Mapping[str, Any]
Row = sqlite3.Row
"""A result row: indexable by position and by column name (what every backend must give)."""
BUSY_TIMEOUT_MS = 5_000
P = ParamSpec("P")
T = TypeVar("T")


# The seam --------------------------------------------------------------------------------------
#
# Use cases (plain functions in ``bot/``) open ONE transaction, ``db.read()`` or ``db.write()``,
# and pass it down; storage functions take it as their first argument and never open their own.
# ``Tx`` and ``WriteTx`` are all storage code may assume of a backend, so another one (PostgreSQL)
# only has to provide these two and ``Database.read()``/``Database.write()``.


@dataclass(frozen=True)
class Done:
    """What a write statement did: rows changed, and the id of the last inserted row."""

    rowcount: int
    lastrowid: int | None


class Tx(Protocol):
    """A transaction that reads: committed data, or everything its own write did so far."""

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        ...

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        ...


class WriteTx(Tx, Protocol):
    """A write transaction: reads see its own writes; all of it commits or none of it."""

    async def execute(self, sql: str, params: Params = ()) -> Done:
        """Run one statement (``... RETURNING`` goes through ``fetch_one``/``fetch_all``)."""
        ...

    async def executemany(self, sql: str, params: Iterable[Params]) -> Done:
        """Run one statement once per parameter set."""
        ...


def _one(conn: sqlite3.Connection, sql: str, params: Params) -> Row | None:
    cursor = conn.execute(sql, params)
    try:
        row: Row | None = cursor.fetchone()
        return row
    finally:
        cursor.close()


def _all(conn: sqlite3.Connection, sql: str, params: Params) -> list[Row]:
    cursor = conn.execute(sql, params)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _run(conn: sqlite3.Connection, sql: str, params: Params) -> Done:
    cursor = conn.execute(sql, params)
    try:
        return Done(cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


def _run_many(conn: sqlite3.Connection, sql: str, params: Iterable[Params]) -> Done:
    cursor = conn.executemany(sql, params)
    try:
        return Done(cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class _SqliteTx:
    """``Tx`` on an aiosqlite connection; unusable once ended.

    Each statement is one trip to the connection's thread (execute, fetch and close there
    together): under load a trip costs a turn of the event loop, and the writer's lock is held
    across its transaction's trips (issue 10's profile: three trips a query had capped the
    writer)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._live: aiosqlite.Connection | None = conn

    def end(self) -> None:
        self._live = None

    async def _trip(
        self, step: Callable[[sqlite3.Connection, str, Any], T], sql: str, params: Any
    ) -> T:
        conn = self._live
        if conn is None:
            raise StorageError("this transaction has ended; open a new db.write() or db.read()")
        # aiosqlite's own queue to its thread (it has no public way to run a function there).
        result: T = await conn._execute(step, conn._conn, sql, params)  # type: ignore[no-untyped-call]
        return result

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await self._trip(_one, sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._trip(_all, sql, params)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


class _SqliteWriteTx(_SqliteTx):
    """``WriteTx`` on the writer connection, inside ``BEGIN IMMEDIATE``."""

    async def execute(self, sql: str, params: Params = ()) -> Done:
        return await self._trip(_run, sql, params)

    async def executemany(self, sql: str, params: Iterable[Params]) -> Done:
        return await self._trip(_run_many, sql, params)


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
    another process; reads made during a write go through the same ``WriteTx``. ``read()`` gives
    a ``Tx`` on the reader connection, which sees committed data only.
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

    async def set_trace(self, callback: Callable[[str], object]) -> None:
        """Call ``callback`` with the text of every statement either connection runs (tests)."""
        await self._writer.set_trace_callback(callback)
        await self._reader.set_trace_callback(callback)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTx]:
        """A write transaction: ``BEGIN IMMEDIATE``, commit on success, roll back on error."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            tx = _SqliteWriteTx(self._writer)
            try:
                yield tx
            except BaseException:
                await self._writer.rollback()
                raise
            else:
                await self._writer.commit()
            finally:
                tx.end()

    async def run_read(
        self, step: Callable[Concatenate[Tx, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A use case of one storage read: ``step(tx, ...)`` in a ``read()`` of its own."""
        async with self.read() as tx:
            return await step(tx, *args, **kwargs)

    async def run_write(
        self,
        step: Callable[Concatenate[WriteTx, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """A use case of one storage write: ``step(tx, ...)`` in a ``write()`` of its own."""
        async with self.write() as tx:
            return await step(tx, *args, **kwargs)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read transaction on the reader connection: committed data, never the write lock.

        On SQLite each statement sees the data committed when it starts (no ``BEGIN``: the reader
        connection is shared by every coroutine reading at the same time).
        """
        tx = _SqliteTx(self._reader)
        try:
            yield tx
        finally:
            tx.end()

    async def migrate(self, migrations: Iterable[Migration] | None = None) -> list[int]:
        """Apply the numbered migrations not yet recorded, in order; return the versions applied."""
        wanted = sorted(migrations if migrations is not None else bundled_migrations())
        async with self.write() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            rows = await tx.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
        done = {int(row[0]) for row in rows}
        known = {m.version for m in wanted}
        if unknown := done - known:
            raise MigrationError(f"database has migrations this code does not know: {unknown}")
        applied: list[int] = []
        for migration in wanted:
            if migration.version in done:
                continue
            async with self.write() as tx:
                for statement in migration.statements():
                    await tx.execute(statement)
                await tx.execute(
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
