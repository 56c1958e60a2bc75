"""Storage room, the transaction seam: what storage code may assume of any backend.

Use cases (plain functions in ``bot/``) open ONE transaction, ``db.read()`` or ``db.write()``,
and pass it down; storage functions take it as their first argument and never open their own.
``Tx`` and ``WriteTx`` are all storage code may assume of a backend; SQLite
(``storage/sqlite.py``) and PostgreSQL (``storage/postgres.py``) each provide them, and
``Database`` (``storage/db.py``) opens the one ``DATABASE_URL`` names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """A result row: indexable by position and by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def keys(self) -> Any: ...


@dataclass(frozen=True)
class Done:
    """What a write statement did: rows changed, and the id of the last inserted row.

    ``rowcount`` is -1 where a backend cannot tell (``executemany`` on PostgreSQL);
    ``lastrowid`` is the ``id`` of the row an ``INSERT`` made, on both backends.
    """

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


def to_db_time(moment: datetime) -> str:
    """A UTC timestamp as stored: ISO 8601, microseconds, Z; text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db_time(value: str) -> datetime:
    """The inverse of ``to_db_time``. Its exact form is parsed by ``fromisoformat`` (a tenth of
    ``strptime``'s cost: a push pass reads thousands); anything else by the strict format."""
    if len(value) == 27 and value[10] == "T" and value[19] == "." and value[26] == "Z":
        return datetime.fromisoformat(value[:26]).replace(tzinfo=UTC)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def maybe_time(value: str | None) -> datetime | None:
    """``from_db_time`` for a nullable column."""
    return None if value is None else from_db_time(value)
