"""Storage room of a worker's history: their recent work grouped by batch."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Tx
from storage.floor import TOPUP_KEY_PREFIX


@dataclass(frozen=True)
class BatchWork:
    """One batch as a worker did it: answers, what they paid (top-ups included), time spent."""

    batch_id: int
    title: str
    answers: int
    paid: int  # cents: rewards plus fair-pay top-ups
    duration_ms: int


async def recent_work(tx: Tx, worker_id: int, *, limit: int) -> list[BatchWork]:
    """The worker's submitted answers by batch, the batch answered last first."""
    found = await tx.fetch_all(
        "SELECT b.id, b.title, count(*), sum(a.reward) + coalesce(sum(t.amount), 0),"
        " coalesce(sum(a.duration_ms), 0), max(a.id) AS last"
        " FROM assignments a JOIN batches b ON b.id = a.batch_id"
        " LEFT JOIN transfers t ON t.idempotency_key = ? || a.id"
        " WHERE a.worker_id = ? AND a.state = 'submitted'"
        " GROUP BY b.id ORDER BY last DESC LIMIT ?",
        (TOPUP_KEY_PREFIX, worker_id, limit),
    )
    return [BatchWork(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in found]
