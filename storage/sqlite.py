"""Storage room, the SQLite backend: WAL, one serialised writer with ``BEGIN IMMEDIATE``.

A use case given to ``run_write``/``run_read`` runs whole in the connection's thread, in one
trip: its statements complete at once there (``_ThreadTx``), so its coroutine never suspends
and is driven to its end on that thread. The writer's lock is then held only for the time
SQLite works, never for turns of a busy event loop between statements (issue 10: per answer
five write transactions of three to twenty trips each had kept the lock busy and presses
waiting). A use case that does suspend (it awaits something else) is rolled back and run again
the ordinary way, one trip per statement.

Checkpoints never run inside a commit (issue 11: SQLite's automatic checkpoint, run by
whichever commit crossed 1,000 pages of WAL, made the slowest claims 10 to 54 ms): the writer
has ``wal_autocheckpoint=0``, and a connection of its own, on its own thread, copies the WAL
back into the file with passive checkpoints (which never wait for nor block the writer or
readers) after every ``CHECKPOINT_COMMITS`` commits (fewer when commits are large: about
``WAL_TARGET_PAGES`` of WAL) or at the first commit ``CHECKPOINT_SECONDS`` after the last one.
(The commit that starts the WAL again after a complete checkpoint still syncs the WAL's
header: one commit in a few hundred.) A WAL still over ``WAL_LIMIT_PAGES`` after one (readers
kept it from being restarted) gets a truncating checkpoint, which waits at most
``CHECKPOINT_WAIT_MS`` for readers and holds writers meanwhile: the WAL cannot grow without
bound. ``close()`` checkpoints everything. ``synchronous=NORMAL``: in WAL mode a commit
survives the process's crash (it is in the operating system's cache); only a power cut may
lose the last commits, never corrupt the file (decision record 0012).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.errors import StorageError
from storage.db import URGENT, Database
from storage.migrate import Migration
from storage.seam import Done, Params, Row, Tx, WriteTx

BUSY_TIMEOUT_MS = 5_000
# A passive checkpoint after this many commits, or at the first commit this long after the
# last one. Not more often: the first commit after a complete checkpoint starts the WAL again
# and syncs its header (about 5 ms here, whatever ``synchronous``), once per checkpoint.
CHECKPOINT_COMMITS = 500
CHECKPOINT_SECONDS = 60.0
# Fewer commits when they are large: about this many WAL pages between checkpoints (the pages a
# commit writes are measured at each checkpoint), but at least CHECKPOINT_MIN_COMMITS.
WAL_TARGET_PAGES = 8_192
CHECKPOINT_MIN_COMMITS = 10
WAL_LIMIT_PAGES = 16_384  # 64 MiB of 4 KiB pages: past it, a truncating checkpoint
CHECKPOINT_WAIT_MS = 1_000  # how long a truncating checkpoint waits for readers (writers wait)
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes a restarted WAL file is cut back to
# Prepared statements kept per connection (sqlite3 keeps 128): the bot runs a few hundred
# distinct statements, and one compiled again costs more than running it.
STATEMENT_CACHE = 1024

log = logging.getLogger(__name__)

P = ParamSpec("P")
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


class _ThreadTx:
    """``WriteTx`` for code running on the connection's own thread: every statement completes
    at once (its coroutine returns without suspending); unusable once ended."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._live: sqlite3.Connection | None = conn

    def end(self) -> None:
        self._live = None

    def _conn(self) -> sqlite3.Connection:
        if self._live is None:
            raise StorageError("this transaction has ended; open a new db.write() or db.read()")
        return self._live

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return _one(self._conn(), sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return _all(self._conn(), sql, params)

    async def fetch_value(self, sql: str, params: Params = ()) -> object:
        row = _one(self._conn(), sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> Done:
        return _run(self._conn(), sql, params)

    async def executemany(self, sql: str, params: Iterable[Params]) -> Done:
        return _run_many(self._conn(), sql, params)


class _Pump:
    """Whole transactions waiting for a connection's thread, the urgent ones first.

    Each transaction puts one turn on aiosqlite's queue (a FIFO) and itself in this heap; a turn,
    run on the thread, runs whichever transaction is first in the heap at that moment. So every
    transaction runs once, in the order of the queue's turns as a whole, but within what is
    waiting a press goes before a claim. A ``write()`` queues its ``BEGIN`` after the turns of
    every transaction already in the heap, so it still runs after them.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Callable[[], None]]] = []
        self._guard = threading.Lock()
        self._seq = itertools.count()

    def queue(
        self, conn: aiosqlite.Connection, function: Callable[[], T], *, urgent: bool
    ) -> asyncio.Future[T]:
        """Queue ``function`` for ``conn``'s thread at once (not at the caller's next await);
        the future has its result. Mirrors aiosqlite's ``_execute`` before its await (its queue
        is private; the version is pinned in requirements/*.lock)."""
        if not conn._running or conn._connection is None:
            raise StorageError("the database connection is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result = function()
            except BaseException as exc:  # handed to the awaiting coroutine
                loop.call_soon_threadsafe(_fail, future, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result)

        with self._guard:
            heapq.heappush(self._heap, (0 if urgent else 1, next(self._seq), job))
        conn._tx.put_nowait((None, self._turn))
        return future

    def _turn(self) -> None:
        with self._guard:
            _, _, job = heapq.heappop(self._heap)
        job()


def _settle(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class _Suspended(Exception):
    """A use case driven on the connection's thread awaited something other than SQLite."""


def _drive(step: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its end; ``_Suspended`` (closed) if it does."""
    try:
        step.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    except RuntimeError as exc:  # it looked for a running event loop: there is none here
        if "event loop" not in str(exc):
            raise
    step.close()
    raise _Suspended


Start = Callable[[_ThreadTx], Coroutine[Any, Any, T]]


def _write_here(conn: sqlite3.Connection, start: Start[T]) -> T:
    """On the writer's thread: the whole write transaction, committed or rolled back."""
    conn.execute("BEGIN IMMEDIATE")
    tx = _ThreadTx(conn)
    try:
        result = _drive(start(tx))
    except BaseException:
        if conn.in_transaction:  # some errors have rolled it back already
            conn.execute("ROLLBACK")
        raise
    finally:
        tx.end()
    conn.execute("COMMIT")
    return result


def _read_here(conn: sqlite3.Connection, start: Start[T]) -> T:
    """On the reader's thread: the whole read in one read transaction, so its statements see
    one snapshot (a write committed between two of them is seen by neither)."""
    conn.execute("BEGIN")
    tx = _ThreadTx(conn)
    try:
        return _drive(start(tx))
    finally:
        tx.end()
        if conn.in_transaction:
            conn.execute("COMMIT")


class SqliteDatabase(Database):
    """A SQLite file with a writer connection (serialised by a lock) and a reader connection.

    Writes go through ``write()``, which holds the lock and a ``BEGIN IMMEDIATE`` transaction so a
    read-modify-write cannot interleave with another coroutine's statements or lose a race with
    another process; reads made during a write go through the same ``WriteTx``. ``read()`` gives
    a ``Tx`` on the reader connection, which sees committed data only.
    """

    dialect = "sqlite"

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        checkpointer: aiosqlite.Connection,
    ):
        super().__init__(path)
        self.path = path
        self._writer = writer
        self._reader = reader
        self._checkpointer = checkpointer
        self._commits = 0  # since the last checkpoint began
        self._due_after = CHECKPOINT_COMMITS  # commits between checkpoints, as measured
        self._checkpointed_at = 0.0  # the event loop's clock
        self._checkpoint: asyncio.Task[None] | None = None
        self._closing = False
        self.checkpoints = 0  # passive checkpoints run (tests and benches read it)
        self._write_lock = asyncio.Lock()
        # Use cases seen to await more than SQLite (they cannot run whole on the thread).
        self._suspending: set[Callable[..., object]] = set()
        self._write_pump = _Pump()
        self._read_pump = _Pump()

    @classmethod
    async def open_file(cls, path: Path) -> SqliteDatabase:
        """Open (creating if needed) the database file at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        await _pragma(writer, "journal_mode=WAL")
        await _pragma(writer, f"journal_size_limit={JOURNAL_SIZE_LIMIT}")
        reader = await _connect(path)
        checkpointer = await _connect(path, busy_timeout_ms=CHECKPOINT_WAIT_MS)
        return cls(path, writer, reader, checkpointer)

    async def close(self) -> None:
        """Finish the checkpoint under way, checkpoint everything, close every connection."""
        self._closing = True
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        try:
            await self._run_checkpoint("TRUNCATE")
        except sqlite3.Error as exc:  # another process reading: the next opening finishes it
            log.warning("checkpoint at close of %s failed: %s", self.path, exc)
        await self._checkpointer.close()
        await self._reader.close()
        await self._writer.close()

    async def checkpoint(self) -> None:
        """Wait for the checkpoint under way, else run one now (tests, benches)."""
        if self._checkpoint is None:
            self._checkpoint = asyncio.create_task(self._checkpoint_wal())
        await self._checkpoint

    def _committed(self) -> None:
        """After each commit: start a passive checkpoint when one is due and none is running."""
        self._commits += 1
        if self._checkpoint is not None or self._closing:
            return
        now = asyncio.get_running_loop().time()
        if self._commits >= self._due_after or now - self._checkpointed_at >= CHECKPOINT_SECONDS:
            commits, self._commits = self._commits, 0
            self._checkpointed_at = now
            self._checkpoint = asyncio.create_task(self._checkpoint_wal(commits))

    async def _checkpoint_wal(self, commits: int = 0) -> None:
        """A passive checkpoint on the checkpointer's thread (``commits`` since the last one);
        a truncating one when the WAL is still over ``WAL_LIMIT_PAGES``. Failures are logged:
        the next commit tries again."""
        try:
            frames = await self._run_checkpoint("PASSIVE")
            self.checkpoints += 1
            if commits and frames:  # pages a commit wrote, about: when the next one is due
                wanted = WAL_TARGET_PAGES * commits // frames
                self._due_after = max(CHECKPOINT_MIN_COMMITS, min(CHECKPOINT_COMMITS, wanted))
            if frames > WAL_LIMIT_PAGES:
                log.info("WAL of %s at %s pages: truncating checkpoint", self.path, frames)
                await self._run_checkpoint("TRUNCATE")
        except sqlite3.Error as exc:
            log.warning("checkpoint of %s failed: %s", self.path, exc)
        finally:
            self._checkpoint = None

    async def _run_checkpoint(self, mode: str) -> int:
        """``PRAGMA wal_checkpoint(mode)``; the frames in the WAL before it ran."""
        async with self._checkpointer.execute(f"PRAGMA wal_checkpoint({mode})") as cursor:
            row = await cursor.fetchone()
        return 0 if row is None else max(int(row[1]), 0)

    async def set_trace(self, callback: Callable[[str], object]) -> None:
        await self._writer.set_trace_callback(callback)
        await self._reader.set_trace_callback(callback)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTx]:
        """A write transaction: ``BEGIN IMMEDIATE``, commit on success, roll back on error.

        One trip to the thread per statement, the lock held across them: on hot paths prefer
        ``run_write``, which runs the whole transaction in one trip."""
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
                self._committed()
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

    async def run_write(
        self,
        step: Callable[Concatenate[WriteTx, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``step(tx, ...)`` as one write transaction run whole on the writer's thread."""
        if step not in self._suspending:
            # The lock only orders the queue to the writer's thread: once this transaction is
            # queued, a later write() queues its BEGIN behind it; the thread runs one at a time.
            async with self._write_lock:
                queued = self._on_thread(self._writer, _write_here, step, args, kwargs)
            try:
                result = await queued
            except _Suspended:
                self._remember_suspending(step)
            else:
                self._committed()
                return result
        async with self._write_lock:
            return await self._write_by_trips(step, args, kwargs)

    async def run_read(
        self, step: Callable[Concatenate[Tx, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``step(tx, ...)`` run whole on the reader's thread, in one trip."""
        if step not in self._suspending:
            try:
                return await self._on_thread(self._reader, _read_here, step, args, kwargs)
            except _Suspended:
                self._remember_suspending(step)
        async with self.read() as tx:
            return await step(tx, *args, **kwargs)

    def _on_thread(
        self,
        conn: aiosqlite.Connection,
        here: Callable[[sqlite3.Connection, Start[T]], T],
        step: Callable[..., Awaitable[T]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> asyncio.Future[T]:
        """Queue ``here`` (with ``step``) to ``conn``'s thread now; the future has its result."""

        def start(tx: _ThreadTx) -> Coroutine[Any, Any, T]:
            coroutine = step(tx, *args, **kwargs)
            if not isinstance(coroutine, Coroutine):
                raise TypeError(f"{step!r} is not a coroutine function")
            return coroutine

        pump = self._write_pump if conn is self._writer else self._read_pump
        return pump.queue(conn, partial(here, conn._conn, start), urgent=URGENT.get())

    async def _write_by_trips(
        self, step: Callable[..., Awaitable[T]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        """The lock is held by the caller: ``BEGIN IMMEDIATE``, one trip per statement."""
        await self._writer.execute("BEGIN IMMEDIATE")
        tx = _SqliteWriteTx(self._writer)
        try:
            result = await step(tx, *args, **kwargs)
        except BaseException:
            await self._writer.rollback()
            raise
        else:
            await self._writer.commit()
            self._committed()
            return result
        finally:
            tx.end()

    def _remember_suspending(self, step: Callable[..., object]) -> None:
        log.debug("%r awaits more than SQLite: it runs one trip per statement", step)
        self._suspending.add(step)

    async def apply(self, tx: WriteTx, migration: Migration) -> None:
        for statement in migration.statements():
            await tx.execute(statement)


async def _connect(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> aiosqlite.Connection:
    try:
        conn = await aiosqlite.connect(
            path,
            isolation_level=None,
            timeout=busy_timeout_ms / 1000,
            cached_statements=STATEMENT_CACHE,
        )
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    conn.row_factory = aiosqlite.Row
    settings = (
        "foreign_keys=ON",
        f"busy_timeout={busy_timeout_ms}",
        "synchronous=NORMAL",
        "wal_autocheckpoint=0",  # checkpoints run on their own connection (module docstring)
    )
    for setting in settings:
        await _pragma(conn, setting)
    return conn


async def _pragma(conn: aiosqlite.Connection, setting: str) -> None:
    # Close the cursor at once: an unfinished PRAGMA statement holds a lock on the file.
    async with conn.execute(f"PRAGMA {setting}") as cursor:
        await cursor.fetchall()
