"""Storage room, the database: the backend ``DATABASE_URL`` names, behind one seam.

``Database.open(where)`` takes a SQLite file path, ``sqlite:///file.db`` or
``postgresql://user@host/db`` (asyncpg). Both backends give the same ``read()``/``write()``
(``storage/seam.py``) and apply the same numbered migrations (``storage/migrate.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Concatenate, ParamSpec, TypeVar

from bot.errors import MigrationError
from storage.dialect import Dialect
from storage.migrate import SCHEMA_MIGRATIONS, Migration, bundled_migrations
from storage.seam import (
    Done,
    Params,
    Row,
    Tx,
    WriteTx,
    from_db_time,
    maybe_time,
    to_db_time,
)

__all__ = [
    "Database",
    "Done",
    "Migration",
    "Params",
    "Row",
    "Tx",
    "WriteTx",
    "bundled_migrations",
    "from_db_time",
    "is_postgres_url",
    "maybe_time",
    "to_db_time",
]

P = ParamSpec("P")
T = TypeVar("T")

URGENT: ContextVar[bool] = ContextVar("urgent_writes", default=False)
"""True while a person waits on the other end (a press not yet answered): this context's
``run_write`` transactions go before the others waiting for the writer (SQLite)."""


@contextmanager
def urgent(on: bool = True) -> Iterator[None]:
    """Mark this context's writes urgent (or not) inside the block."""
    token = URGENT.set(on)
    try:
        yield
    finally:
        URGENT.reset(token)


def is_postgres_url(where: Path | str) -> bool:
    """Whether ``where`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def _located(where: Path | str) -> Path | str:
    """A SQLite path for ``sqlite:///...`` (or what the tests' redirect makes of a path)."""
    if isinstance(where, str) and where.startswith("sqlite:///"):
        where = Path(where.removeprefix("sqlite:///"))
    if isinstance(where, Path) and Database.redirect is not None:
        return Database.redirect(where)
    return where


class Database(ABC):
    """One database: ``write()`` serialises read-modify-writes, ``read()`` sees committed data.

    Every storage function takes the ``Tx``/``WriteTx`` a use case opened; a use case opens one
    transaction and passes it down (decision record 0010).
    """

    dialect: ClassVar[Dialect]
    # Tests only: run file-path databases on another backend (PostgreSQL runs of the suite).
    redirect: ClassVar[Callable[[Path], str] | None] = None

    def __init__(self, source: Path | str) -> None:
        self.source = source
        """What the database was opened from: a file path or a URL (give it to ``open``)."""

    @staticmethod
    async def open(where: Path | str) -> Database:
        """Open (creating a SQLite file if needed) the database at a path or URL."""
        where = _located(where)
        if is_postgres_url(where):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(where))
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase.open_file(Path(where))

    @abstractmethod
    async def close(self) -> None:
        """Close every connection."""

    @abstractmethod
    async def set_trace(self, callback: Callable[[str], object]) -> None:
        """Call ``callback`` with the text of every statement run (tests count them)."""

    @abstractmethod
    def write(self) -> AbstractAsyncContextManager[WriteTx]:
        """A write transaction, one at a time per database: commit on success, else roll back."""

    @abstractmethod
    def read(self) -> AbstractAsyncContextManager[Tx]:
        """Reads of committed data, never waiting for the writer."""

    @abstractmethod
    async def apply(self, tx: WriteTx, migration: Migration) -> None:
        """Run one migration's statements in ``tx``."""

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

    async def migrate(self, migrations: Iterable[Migration] | None = None) -> list[int]:
        """Apply the numbered migrations not yet recorded, in order; return the versions applied."""
        wanted = sorted(migrations if migrations is not None else bundled_migrations())
        async with self.write() as tx:
            await tx.execute(SCHEMA_MIGRATIONS)
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
                # Another process may have applied it since: the write lock makes this check sure.
                if await tx.fetch_value(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                ):
                    continue
                await self.apply(tx, migration)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_db_time(datetime.now(UTC))),
                )
            applied.append(migration.version)
        return applied
