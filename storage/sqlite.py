"""Storage room, the SQLite backend: WAL, one serialised writer with ``BEGIN IMMEDIATE``."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.errors import StorageError
from storage.db import Database
from storage.migrate import Migration
from storage.seam import Done, Params, Row, Tx, WriteTx

BUSY_TIMEOUT_MS = 5_000


class _SqliteTx:
    """``Tx`` on an aiosqlite connection (each cursor is closed at once); unusable once ended."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._live: aiosqlite.Connection | None = conn

    def end(self) -> None:
        self._live = None

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._live is None:
            raise StorageError("this transaction has ended; open a new db.write() or db.read()")
        return self._live

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
            return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_value(self, sql: str, params: Params = ()) -> object:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


class _SqliteWriteTx(_SqliteTx):
    """``WriteTx`` on the writer connection, inside ``BEGIN IMMEDIATE``."""

    async def execute(self, sql: str, params: Params = ()) -> Done:
        async with self._conn.execute(sql, params) as cursor:
            return Done(cursor.rowcount, cursor.lastrowid)

    async def executemany(self, sql: str, params: Iterable[Params]) -> Done:
        async with self._conn.executemany(sql, params) as cursor:
            return Done(cursor.rowcount, cursor.lastrowid)


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
