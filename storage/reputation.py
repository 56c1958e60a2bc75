"""Storage room of requesters' reputation (issue 14): what a requester's batches paid, to how
many workers, the reports upheld against them, and the cached line shown on their tasks.

The figures are read in a handful of indexed queries over one requester's batches; the result
is cached in ``requester_reputation`` and read by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, WriteTx, maybe_time, to_db_time
from storage.floor import TOPUP_KEY_PREFIX


@dataclass(frozen=True)
class Figures:
    """A requester's record as stored: name, median effective rate (cents an hour, None before
    any paid answer), workers paid, reports upheld, and when it was computed."""

    requester_id: int
    name: str
    median_rate: int | None
    workers_paid: int
    reports_upheld: int
    updated_at: datetime


@dataclass(frozen=True)
class BatchPay:
    """One batch's paid answers: cents paid (answers and fair-pay top-ups) and time spent."""

    paid: int
    duration_ms: int


async def batch_pay(tx: Tx, requester_id: int) -> list[BatchPay]:
    """What each of a requester's batches paid for its timed answers, top-ups included."""
    rows = await tx.fetch_all(
        "SELECT sum(a.reward + coalesce(t.amount, 0)), sum(a.duration_ms)"
        " FROM batches b JOIN items i ON i.batch_id = b.id"
        " JOIN assignments a ON a.item_id = i.id AND a.state = 'submitted'"
        " LEFT JOIN transfers t ON t.idempotency_key = ? || a.id"
        " WHERE b.requester_id = ? AND a.duration_ms > 0 GROUP BY b.id",
        (TOPUP_KEY_PREFIX, requester_id),
    )
    return [BatchPay(int(row[0]), int(row[1])) for row in rows]


async def workers_paid(tx: Tx, requester_id: int) -> int:
    """How many distinct workers a requester's batches paid for an answer."""
    found = await tx.fetch_value(
        "SELECT count(DISTINCT a.worker_id) FROM batches b JOIN items i ON i.batch_id = b.id"
        " JOIN assignments a ON a.item_id = i.id AND a.state = 'submitted'"
        " WHERE b.requester_id = ?",
        (requester_id,),
    )
    return int(found or 0)


async def reports_upheld(tx: Tx, requester_id: int) -> int:
    """Reports on a requester's tasks that an admin upheld."""
    found = await tx.fetch_value(
        "SELECT count(*) FROM task_reports WHERE requester_id = ? AND state = 'upheld'",
        (requester_id,),
    )
    return int(found or 0)


async def requester_name(tx: Tx, requester_id: int) -> str:
    """The first name a requester gave Telegram ("?" when unknown)."""
    found = await tx.fetch_value("SELECT u.first_name FROM users u WHERE u.id = ?", (requester_id,))
    return str(found) if found else "?"


async def cached_figures(tx: Tx, requester_id: int) -> Figures | None:
    """The cached reputation of a requester, if any."""
    row = await tx.fetch_one(
        "SELECT * FROM requester_reputation WHERE requester_id = ?", (requester_id,)
    )
    if row is None:
        return None
    return Figures(
        requester_id=int(row["requester_id"]),
        name=row["name"],
        median_rate=row["median_rate"],
        workers_paid=int(row["workers_paid"]),
        reports_upheld=int(row["reports_upheld"]),
        updated_at=maybe_time(row["updated_at"]) or datetime.min,
    )


async def requesters_due(tx: Tx, updated_before: datetime) -> list[int]:
    """Requesters with an open batch whose cached figures are missing or older than
    ``updated_before``."""
    rows = await tx.fetch_all(
        "SELECT DISTINCT b.requester_id FROM batches b"
        " LEFT JOIN requester_reputation r ON r.requester_id = b.requester_id"
        " WHERE b.state = 'open' AND (r.updated_at IS NULL OR r.updated_at < ?)"
        " ORDER BY b.requester_id",
        (to_db_time(updated_before),),
    )
    return [int(row[0]) for row in rows]


async def store_figures(tx: WriteTx, figures: Figures) -> None:
    """Cache a requester's reputation."""
    await tx.execute(
        "INSERT INTO requester_reputation (requester_id, name, median_rate,"
        " workers_paid, reports_upheld, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (requester_id) DO UPDATE SET name = excluded.name,"
        " median_rate = excluded.median_rate, workers_paid = excluded.workers_paid,"
        " reports_upheld = excluded.reports_upheld, updated_at = excluded.updated_at",
        (
            figures.requester_id,
            figures.name,
            figures.median_rate,
            figures.workers_paid,
            figures.reports_upheld,
            to_db_time(figures.updated_at),
        ),
    )
