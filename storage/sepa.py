"""The SEPA files' SQL: a payment file an admin exported and the statements it pays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, WriteTx, from_db_time, maybe_time, to_db_time


@dataclass(frozen=True)
class SepaFile:
    """An exported pain.001 file: its message id (each payment's reference), who, when, paid."""

    id: int
    month: str
    message_id: str
    total: int
    created_by: int
    created_at: datetime
    paid_by: int | None
    paid_at: datetime | None


def _file(row: Row) -> SepaFile:
    return SepaFile(
        id=row["id"],
        month=row["month"],
        message_id=row["message_id"],
        total=row["total"],
        created_by=row["created_by"],
        created_at=from_db_time(row["created_at"]),
        paid_by=row["paid_by"],
        paid_at=maybe_time(row["paid_at"]),
    )


async def insert_file(
    tx: WriteTx,
    *,
    month: str,
    message_id: str,
    statements: Sequence[tuple[int, int]],
    created_by: int,
    now: datetime,
) -> SepaFile:
    """Record a file and its ``(statement_id, amount)`` lines."""
    cursor = await tx.execute(
        "INSERT INTO sepa_files (month, message_id, total, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (month, message_id, sum(a for _, a in statements), created_by, to_db_time(now)),
    )
    file_id = cursor.lastrowid
    assert file_id is not None
    await tx.executemany(
        "INSERT INTO sepa_file_statements (file_id, statement_id, amount) VALUES (?, ?, ?)",
        [(file_id, statement_id, amount) for statement_id, amount in statements],
    )
    found = await file_by_id(tx, file_id)
    assert found is not None
    return found


async def file_by_id(tx: Tx, file_id: int) -> SepaFile | None:
    row = await tx.fetch_one("SELECT * FROM sepa_files WHERE id = ?", (file_id,))
    return _file(row) if row is not None else None


async def statement_ids_of(tx: Tx, file_id: int) -> list[int]:
    rows = await tx.fetch_all(
        "SELECT statement_id FROM sepa_file_statements WHERE file_id = ? ORDER BY statement_id",
        (file_id,),
    )
    return [int(row[0]) for row in rows]


async def mark_file_paid(tx: WriteTx, file_id: int, *, actor_id: int, now: datetime) -> bool:
    """Mark a file paid; False when it already was."""
    cursor = await tx.execute(
        "UPDATE sepa_files SET paid_by = ?, paid_at = ? WHERE id = ? AND paid_at IS NULL",
        (actor_id, to_db_time(now), file_id),
    )
    return cursor.rowcount == 1
