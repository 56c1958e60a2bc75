"""Results and fair pay, the SQL: the pseudonym secret, fair-pay alerts, answer timings, slots.

Reads the batches, items, assignments and ledger tables (never writes assignments); writes its
own tables of migration 0006 and, for a raise, the batch's reward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, WriteTx, maybe_time, to_db_time


async def ensure_secret(tx: WriteTx, candidate: str, now: datetime) -> str:
    """The pseudonym secret; ``candidate`` becomes it the first time, later ones are ignored."""
    await tx.execute(
        "INSERT OR IGNORE INTO results_secret (id, secret, created_at) VALUES (1, ?, ?)",
        (candidate, to_db_time(now)),
    )
    row = await tx.fetch_one("SELECT secret FROM results_secret WHERE id = 1")
    assert row is not None
    return str(row[0])


# Fair-pay alerts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FairPayAlert:
    """A batch told once that it pays below the floor, and the raise if the requester made it."""

    batch_id: int
    alerted_at: datetime
    answers: int
    median_rate: float
    median_duration_ms: float
    reward: int
    suggested_reward: int
    raised_at: datetime | None
    raised_by: int | None
    extra_escrow: int | None


def _alert(row: Row) -> FairPayAlert:
    alerted = maybe_time(row["alerted_at"])
    assert alerted is not None
    return FairPayAlert(
        batch_id=int(row["batch_id"]),
        alerted_at=alerted,
        answers=int(row["answers"]),
        median_rate=float(row["median_rate"]),
        median_duration_ms=float(row["median_duration_ms"]),
        reward=int(row["reward"]),
        suggested_reward=int(row["suggested_reward"]),
        raised_at=maybe_time(row["raised_at"]),
        raised_by=row["raised_by"],
        extra_escrow=row["extra_escrow"],
    )


async def get_alert(tx: Tx, batch_id: int) -> FairPayAlert | None:
    """The fair-pay alert of a batch, or None (database, or an open write transaction)."""
    found = await tx.fetch_all("SELECT * FROM fair_pay_alerts WHERE batch_id = ?", (batch_id,))
    return _alert(found[0]) if found else None


async def record_alert(
    tx: WriteTx,
    *,
    batch_id: int,
    now: datetime,
    answers: int,
    median_rate: float,
    median_duration_ms: float,
    reward: int,
    suggested_reward: int,
) -> bool:
    """Remember that a batch was told; False when it already was (so it is told once)."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO fair_pay_alerts (batch_id, alerted_at, answers, median_rate,"
        " median_duration_ms, reward, suggested_reward) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            batch_id,
            to_db_time(now),
            answers,
            median_rate,
            median_duration_ms,
            reward,
            suggested_reward,
        ),
    )
    return cursor.rowcount == 1


async def mark_raised(
    tx: WriteTx, batch_id: int, *, actor_id: int, extra_escrow: int, now: datetime
) -> None:
    """Record the raise, inside the caller's write transaction."""
    await tx.execute(
        "UPDATE fair_pay_alerts SET raised_at = ?, raised_by = ?, extra_escrow = ?"
        " WHERE batch_id = ?",
        (to_db_time(now), actor_id, extra_escrow, batch_id),
    )


async def batches_to_check(tx: Tx, *, min_answers: int) -> list[int]:
    """Open or paused batches not told yet that have at least ``min_answers`` answers."""
    found = await tx.fetch_all(
        "SELECT b.id FROM batches b WHERE b.state IN ('open', 'paused')"
        " AND NOT EXISTS (SELECT 1 FROM fair_pay_alerts f WHERE f.batch_id = b.id)"
        " AND (SELECT count(*) FROM assignments a"
        "      WHERE a.batch_id = b.id AND a.state = 'submitted') >= ?"
        " ORDER BY b.id",
        (min_answers,),
    )
    return [int(row[0]) for row in found]


async def timed_answers(tx: Tx, batch_id: int) -> list[tuple[int, int]]:
    """``(reward, duration_ms)`` of a batch's submitted answers that have a duration."""
    found = await tx.fetch_all(
        "SELECT reward, duration_ms FROM assignments"
        " WHERE batch_id = ? AND state = 'submitted' AND duration_ms IS NOT NULL",
        (batch_id,),
    )
    return [(int(row[0]), int(row[1])) for row in found]


async def submitted_count(tx: Tx, batch_id: int) -> int:
    """How many answers of a batch are submitted (from the index of submitted answers)."""
    found = await tx.fetch_value(
        "SELECT count(*) FROM assignments WHERE batch_id = ? AND state = 'submitted'", (batch_id,)
    )
    return int(found or 0)


async def remaining_slots(tx: Tx, batch_id: int) -> int:
    """Answer slots a batch may still pay: per open item, answers_per_item minus submitted."""
    found = await tx.fetch_value(
        "SELECT coalesce(sum(max(0, b.answers_per_item - (SELECT count(*) FROM assignments a"
        " WHERE a.item_id = i.id AND a.state = 'submitted'))), 0)"
        " FROM items i JOIN batches b ON b.id = i.batch_id"
        " WHERE i.batch_id = ? AND i.state = 'open'",
        (batch_id,),
    )
    return int(found or 0)


async def raise_holds(tx: Tx, batch_id: int) -> int:
    """How many extra holds (``hold:batch:ID:raise:N``) a batch has had."""
    found = await tx.fetch_value(
        "SELECT count(*) FROM transfers WHERE kind = 'hold' AND idempotency_key LIKE ?",
        (f"hold:batch:{batch_id}:raise:%",),
    )
    return int(found or 0)


async def set_reward(tx: WriteTx, batch_id: int, reward: int) -> None:
    """The batch's reward for answer slots claimed from now on (the caller's transaction)."""
    await tx.execute("UPDATE batches SET reward = ? WHERE id = ?", (reward, batch_id))


# Bonuses ---------------------------------------------------------------------------------------


async def answering_workers(tx: Tx, batch_id: int) -> list[int]:
    """Workers with at least one submitted answer in a batch, by id."""
    found = await tx.fetch_all(
        "SELECT DISTINCT worker_id FROM assignments"
        " WHERE batch_id = ? AND state = 'submitted' ORDER BY worker_id",
        (batch_id,),
    )
    return [int(row[0]) for row in found]
