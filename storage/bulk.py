"""Storage room: bulk loading for the realistic-volume bench (``bench/volume.py``), all its SQL.

Rows go in with ``executemany`` inside the caller's (large) write transaction. Only the tables
named in ``COLUMNS`` may be loaded, and only with those columns, so no text from a caller ever
reaches the SQL. Transfers go in with their two legs, exactly as ``storage.ledger`` writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from storage.db import Tx, WriteTx

Table = Literal[
    "users", "user_roles", "worker_availability", "batches", "media", "items", "assignments"
]
COLUMNS: dict[Table, tuple[str, ...]] = {
    "users": ("id", "first_name", "language", "timezone", "consented_at", "created_at",
              "updated_at"),
    "user_roles": ("user_id", "role", "granted_at"),
    "worker_availability": ("worker_id", "windows", "quiet", "ready_until", "last_served_at",
                            "updated_at"),
    "batches": ("id", "requester_id", "type", "title", "labels", "multiple", "seconds_per_task",
                "reward", "answers_per_item", "time_limit", "state", "created_at",
                "published_at", "ended_at"),
    "media": ("sha256", "kind", "path", "size_bytes", "created_at"),
    "items": ("id", "batch_id", "position", "source_path", "media_sha256", "state",
              "completed_at"),
    "assignments": ("id", "item_id", "batch_id", "worker_id", "state", "reward", "time_limit",
                    "offered_at", "shown_at", "deadline", "answer", "duration_ms", "ended_at"),
}  # fmt: skip
# (id, kind, amount, debit_account, credit_account, actor_id, key, month, created_at)
TransferRow = tuple[int, str, int, str, str, int | None, str, str, str]


async def load(tx: WriteTx, table: Table, rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows holding ``COLUMNS[table]`` in that order."""
    columns = COLUMNS[table]
    marks = ", ".join("?" for _ in columns)
    await tx.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        rows,
    )


async def load_transfers(tx: WriteTx, rows: Sequence[TransferRow]) -> None:
    """Insert transfers with explicit ids, and their debit and credit legs."""
    await tx.executemany(
        "INSERT INTO transfers (id, kind, amount, debit_account, credit_account, actor_id,"
        " idempotency_key, month, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    await tx.executemany(
        "INSERT INTO entries (transfer_id, account, amount) VALUES (?, ?, ?)",
        (leg for row in rows for leg in ((row[0], row[3], -row[2]), (row[0], row[4], row[2]))),
    )


async def analyse(tx: WriteTx) -> None:
    """Refresh the query planner's statistics after a bulk load (``ANALYZE``)."""
    await tx.execute("ANALYZE")


async def counts(tx: Tx) -> dict[str, int]:
    """How many rows the bench's tables hold."""
    found: dict[str, int] = {}
    for table in (*COLUMNS, "transfers", "entries"):
        found[table] = int(await tx.fetch_value(f"SELECT count(*) FROM {table}"))
    return found


async def sample_workers(tx: Tx, limit: int) -> list[int]:
    """Some registered workers, spread over the id range."""
    rows = await tx.fetch_all(
        "SELECT user_id FROM user_roles WHERE role = 'worker' ORDER BY (user_id * 7919) % 10007"
        " LIMIT ?",
        (limit,),
    )
    return [int(row[0]) for row in rows]


async def ready_workers(tx: Tx, now: str, limit: int) -> list[int]:
    """Registered workers whose ``/ready`` runs past ``now`` (a stored time), lowest ids first."""
    rows = await tx.fetch_all(
        "SELECT worker_id FROM worker_availability WHERE ready_until > ? ORDER BY worker_id"
        " LIMIT ?",
        (now, limit),
    )
    return [int(row[0]) for row in rows]


async def largest_batch(tx: Tx) -> tuple[int, int, int]:
    """The batch with the most items: (batch id, its requester, its item count)."""
    row = await tx.fetch_one(
        "SELECT i.batch_id, b.requester_id, count(*) FROM items i JOIN batches b"
        " ON b.id = i.batch_id GROUP BY i.batch_id ORDER BY count(*) DESC LIMIT 1"
    )
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])
