"""Storage room, the SQLite backend: WAL, one serialised writer with ``BEGIN IMMEDIATE``."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StorageError
from storage.db import Database
from storage.migrate import Migration
from storage.seam import Done, Params, Row, Tx, WriteTx

BUSY_TIMEOUT_MS = 5_000


T = TypeVar("T")


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
        # aiosqlite's own queue to its thread (it has no public way to run a function there;
        # its version is pinned in requirements/*.lock).
        result: T = await conn._execute(step, conn._conn, sql, params)  # type: ignore[no-untyped-call]
        return result

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await self._trip(_one, sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._trip(_all, sql, params)

    async def fetch_value(self, sql: str, params: Params = ()) -> object:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


class _SqliteWriteTx(_SqliteTx):
    """``WriteTx`` on the writer connection, inside ``BEGIN IMMEDIATE``."""

    async def execute(self, sql: str, params: Params = ()) -> Done:
        return await self._trip(_run, sql, params)

    async def executemany(self, sql: str, params: Iterable[Params]) -> Done:
        return await self._trip(_run_many, sql, params)


class SqliteDatabase(Database):
    """A SQLite file with a writer connection (serialised by a lock) and a reader connection.

    Writes go through ``write()``, which holds the lock and a ``BEGIN IMMEDIATE`` transaction so a
    read-modify-write cannot interleave with another coroutine's statements or lose a race with
    another process; reads made during a write go through the same ``WriteTx``. ``read()`` gives
    a ``Tx`` on the reader connection, which sees committed data only.
    """

    dialect = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        super().__init__(path)
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open_file(cls, path: Path) -> SqliteDatabase:
        """Open (creating if needed) the database file at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        await _pragma(writer, "journal_mode=WAL")
        reader = await _connect(path)
        return cls(path, writer, reader)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    async def set_trace(self, callback: Callable[[str], object]) -> None:
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

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read transaction on the reader connection: committed data, never the write lock.

        Each statement sees the data committed when it starts (no ``BEGIN``: the reader
        connection is shared by every coroutine reading at the same time).
        """
        tx = _SqliteTx(self._reader)
        try:
            yield tx
        finally:
            tx.end()

    async def apply(self, tx: WriteTx, migration: Migration) -> None:
        for statement in migration.statements():
            await tx.execute(statement)


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
