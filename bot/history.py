"""Domain room of ``/history`` (no Telegram): a worker's recent batches with their effective
hourly rate, and this month's statement-to-be with when and how it is paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.fairpay import MS_PER_HOUR
from bot.ledger import current_month, next_month, worker_account
from storage import history as sql
from storage.db import Database
from storage.history import BatchWork as BatchWork
from storage.ledger import earned_in_month

RECENT_BATCHES = 10


@dataclass(frozen=True)
class History:
    """What ``/history`` shows."""

    batches: list[BatchWork]
    month: str
    earned: int  # cents earned this month so far
    closes_on: date  # the statement is drawn up on the first of the next month


def hourly_rate(work: BatchWork) -> int | None:
    """Cents an hour earned on a batch (top-ups included); None without measured time."""
    if work.duration_ms <= 0:
        return None
    return round(work.paid * MS_PER_HOUR / work.duration_ms)


async def history_of(db: Database, worker_id: int, *, now: datetime, tz: ZoneInfo) -> History:
    """The worker's last batches and this month's earnings, in one read."""
    month = current_month(now, tz)
    async with db.read() as tx:
        batches = await sql.recent_work(tx, worker_id, limit=RECENT_BATCHES)
        earned = await earned_in_month(tx, worker_account(worker_id), month)
    year, number = (int(part) for part in next_month(month).split("-"))
    return History(batches, month, earned, date(year, number, 1))
