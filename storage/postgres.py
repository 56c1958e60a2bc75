"""Storage room, the PostgreSQL backend (asyncpg): the same seam as SQLite, shared by processes.

``write()`` takes a connection from the pool, opens a transaction and takes one transaction-level
advisory lock for the database (``pg_advisory_xact_lock``): write transactions run one at a time
across every process, exactly as ``BEGIN IMMEDIATE`` does on SQLite, so each rule's read and
its insert (the cap check, a claim, a statement's next state) see and change the same state.
Reads never take it: ``read()`` runs each statement on its own (autocommit), like SQLite's
reader connection. The lock is released by the commit or the rollback, even when a process
dies (its connection closes). Statements are translated from SQLite's dialect
(``storage/dialect.py``); parameter values are coerced to the types PostgreSQL inferred for them,
as SQLite would store them (an int given for a text column, a bool for an integer).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg

from bot.errors import StorageError
from storage.db import Database
from storage.dialect import to_postgres
from storage.migrate import Migration
from storage.seam import Done, Params, Row, Tx, WriteTx

WRITE_LOCK_KEY = 0x504D5752  # "PMWR": the one advisory lock that serialises write transactions
POOL_SIZE = 8
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_TEXT_TYPES = {"text", "varchar", "bpchar", "name"}
_INT_TYPES = {"int2", "int4", "int8"}
_FLOAT_TYPES = {"float4", "float8"}
_AMBIGUOUS = re.compile(r"parameter \$(\d+)")
_SQL_TYPE_OF: dict[type, str] = {int: "bigint", bool: "bigint", float: "double precision"}


def _coerce(value: Any, type_name: str) -> Any:
    """A parameter as SQLite would have stored it in a column of PostgreSQL's inferred type."""
    if value is None:
        return None
    if type_name in _TEXT_TYPES and isinstance(value, int | float):
        return str(int(value)) if isinstance(value, bool) else str(value)
    if type_name in _INT_TYPES and isinstance(value, bool):
        return int(value)
    if type_name in _FLOAT_TYPES and isinstance(value, int):
        return float(value)
    if type_name == "numeric" and isinstance(value, int | float):
        return value
    return value


def _arguments(names: tuple[str, ...], params: Params) -> list[Any]:
    if names:
        if not isinstance(params, Mapping):
            raise StorageError("a statement with :name placeholders needs a mapping of values")
        return [params[name] for name in names]
    if isinstance(params, Mapping):
        raise StorageError("a statement with ? placeholders needs a sequence of values")
    return list(params)


def _count(status: str) -> int:
    """Rows changed, from a command tag such as ``INSERT 0 1`` or ``UPDATE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


def _decode_numeric(text: str) -> int | float:
    # sum() of integers is numeric in PostgreSQL: give ints back, as SQLite does.
    return int(text) if text.lstrip("-").isdigit() else float(text)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=_decode_numeric, format="text"
    )


class _PgTx:
    """``Tx`` on one pooled connection; unusable once ended."""

    def __init__(self, db: PostgresDatabase, conn: asyncpg.Connection) -> None:
        self._db = db
        self._live: asyncpg.Connection | None = conn

    def end(self) -> None:
        self._live = None

    @property
    def _conn(self) -> asyncpg.Connection:
        if self._live is None:
            raise StorageError("this transaction has ended; open a new db.write() or db.read()")
        return self._live

    async def _prepared(self, sql: str, params: Params) -> tuple[str, list[Any]]:
        translated, names = to_postgres(sql)
        values = _arguments(names, params)
        final, kinds = await self._db.prepared(self._conn, translated, values)
        self._db.trace(final)
        return final, [_coerce(v, k) for v, k in zip(values, kinds, strict=True)]

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        translated, values = await self._prepared(sql, params)
        return list(await self._conn.fetch(translated, *values))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        translated, values = await self._prepared(sql, params)
        row: Row | None = await self._conn.fetchrow(translated, *values)
        return row

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


class _PgWriteTx(_PgTx):
    """``WriteTx`` inside a transaction that holds the write lock."""

    async def execute(self, sql: str, params: Params = ()) -> Done:
        insert = _INSERT_INTO.match(sql)
        if (
            insert is not None
            and not _RETURNING.search(sql)
            and insert.group(1) in await self._db.tables_with_id(self._conn)
        ):
            rows = await self.fetch_all(sql.rstrip().rstrip(";") + " RETURNING id", params)
            return Done(len(rows), int(rows[-1][0]) if rows else None)
        translated, values = await self._prepared(sql, params)
        return Done(_count(await self._conn.execute(translated, *values)), None)

    async def executemany(self, sql: str, params: Iterable[Params]) -> Done:
        translated, names = to_postgres(sql)
        rows = [_arguments(names, p) for p in params]
        if not rows:
            return Done(0, None)
        final, kinds = await self._db.prepared(self._conn, translated, rows[0])
        self._db.trace(final)
        await self._conn.executemany(
            final, [[_coerce(v, k) for v, k in zip(row, kinds, strict=True)] for row in rows]
        )
        return Done(-1, None)

    async def script(self, sql: str) -> None:
        """Several statements at once, no parameters (migrations)."""
        self._db.trace(sql)
        await self._conn.execute(sql)


class PostgresDatabase(Database):
    """A PostgreSQL database through an asyncpg pool; write transactions serialised by one
    advisory lock across every process that shares the database."""

    dialect = "postgres"

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        super().__init__(url)
        self._pool = pool
        self._write_lock = asyncio.Lock()  # one waiter per process on the advisory lock
        self._tracer: Callable[[str], object] | None = None
        self._id_tables: frozenset[str] | None = None
        self._prepared: dict[str, tuple[str, list[str]]] = {}

    @classmethod
    async def connect(cls, url: str) -> PostgresDatabase:
        """Connect to ``url``; a ``search_path`` query parameter names a schema, created if
        missing (several deployments, or the tests, in one database)."""
        schema = dict(parse_qsl(urlsplit(url).query)).get("search_path")
        try:
            if schema is not None:
                conn = await asyncpg.connect(url.split("?", 1)[0])
                try:
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                finally:
                    await conn.close()
            pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE, init=_setup)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StorageError(f"cannot open database {_redacted(url)}: {exc}") from exc
        return cls(url, pool)

    def trace(self, sql: str) -> None:
        if self._tracer is not None:
            self._tracer(sql)

    async def prepared(
        self, conn: asyncpg.Connection, sql: str, values: Sequence[Any]
    ) -> tuple[str, list[str]]:
        """The statement as run, and the types PostgreSQL infers for its parameters (asked once
        per text). A parameter whose type PostgreSQL cannot infer (one in a select list) is cast
        to the type of the value given for it."""
        known = self._prepared.get(sql)
        if known is not None:
            return known
        final = sql
        for _ in range(len(values) + 1):
            try:
                statement = await _prepare(conn, final)
            except (asyncpg.AmbiguousParameterError, asyncpg.IndeterminateDatatypeError) as exc:
                found = _AMBIGUOUS.search(str(exc))
                if found is None:
                    raise
                number = int(found.group(1))
                cast = _SQL_TYPE_OF.get(type(values[number - 1]), "text")
                final = re.sub(rf"\${number}(?!\d)", f"${number}::{cast}", final)
                continue
            known = (final, [kind.name for kind in statement.get_parameters()])
            self._prepared[sql] = known
            return known
        raise StorageError(f"cannot infer the parameter types of: {sql}")

    async def tables_with_id(self, conn: asyncpg.Connection) -> frozenset[str]:
        """Tables with an ``id`` column (an INSERT into one reports the new ``lastrowid``)."""
        if self._id_tables is None:
            rows = await conn.fetch(
                "SELECT table_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND column_name = 'id'"
            )
            self._id_tables = frozenset(str(row[0]) for row in rows)
        return self._id_tables

    async def close(self) -> None:
        await self._pool.close()

    async def set_trace(self, callback: Callable[[str], object]) -> None:
        self._tracer = callback

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTx]:
        """A transaction holding the database's write lock; commit on success, else roll back."""
        async with self._write_lock, self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK_KEY)
            tx = _PgWriteTx(self, conn)
            try:
                yield tx
            finally:
                tx.end()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads on a pooled connection, each statement on its own (committed data)."""
        async with self._pool.acquire() as conn:
            tx = _PgTx(self, conn)
            try:
                yield tx
            finally:
                tx.end()

    async def apply(self, tx: WriteTx, migration: Migration) -> None:
        assert isinstance(tx, _PgWriteTx)
        script = migration.script("postgres")
        if script.strip():
            await tx.script(script)
        self._id_tables = None  # the migration may have added tables...
        self._prepared.clear()  # ...or changed a column's type


async def _prepare(conn: asyncpg.Connection, sql: str) -> asyncpg.prepared_stmt.PreparedStatement:
    """Prepare ``sql``; inside a transaction under a savepoint, so a refusal leaves it usable."""
    if not conn.is_in_transaction():
        return await conn.prepare(sql)
    async with conn.transaction():
        return await conn.prepare(sql)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@")
