"""Storage room of task reports (issue 14): a worker's report of one task, the distinct workers
reporting a batch, and the admin's review of a batch that reports paused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.db import Tx, WriteTx, to_db_time

ReviewState = Literal["open", "resumed", "kept"]


@dataclass(frozen=True)
class Review:
    """A batch paused by reports, waiting for (or past) an admin's decision."""

    batch_id: int
    state: ReviewState
    reporters: int


async def insert_report(
    tx: WriteTx,
    *,
    assignment_id: int,
    batch_id: int,
    requester_id: int,
    worker_id: int,
    reason: str,
    now: datetime,
) -> bool:
    """Record a report of one task; False when that task was already reported."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO task_reports (assignment_id, batch_id, requester_id, worker_id,"
        " reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (assignment_id, batch_id, requester_id, worker_id, reason, to_db_time(now)),
    )
    return cursor.rowcount == 1


async def open_reporters(tx: Tx, batch_id: int) -> int:
    """How many distinct workers reported a batch since its last review."""
    found = await tx.fetch_value(
        "SELECT count(DISTINCT worker_id) FROM task_reports WHERE batch_id = ? AND state = 'open'",
        (batch_id,),
    )
    return int(found or 0)


async def open_reasons(tx: Tx, batch_id: int) -> dict[str, int]:
    """A batch's open reports counted by reason."""
    rows = await tx.fetch_all(
        "SELECT reason, count(*) FROM task_reports WHERE batch_id = ? AND state = 'open'"
        " GROUP BY reason ORDER BY reason",
        (batch_id,),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def open_review(tx: WriteTx, batch_id: int, reporters: int, now: datetime) -> None:
    """A batch waits for an admin's review (a review decided before opens again)."""
    await tx.execute(
        "INSERT INTO batch_reviews (batch_id, state, reporters, opened_at) VALUES (?, 'open', ?, ?)"
        " ON CONFLICT (batch_id) DO UPDATE SET state = 'open', reporters = excluded.reporters,"
        " opened_at = excluded.opened_at, decided_by = NULL, decided_at = NULL",
        (batch_id, reporters, to_db_time(now)),
    )


async def get_review(tx: Tx, batch_id: int) -> Review | None:
    """A batch's review, if reports ever paused it."""
    row = await tx.fetch_one(
        "SELECT batch_id, state, reporters FROM batch_reviews WHERE batch_id = ?", (batch_id,)
    )
    return None if row is None else Review(int(row[0]), row[1], int(row[2]))


async def under_review(tx: Tx, batch_id: int) -> bool:
    """Whether reports paused the batch and no admin decided yet."""
    review = await get_review(tx, batch_id)
    return review is not None and review.state == "open"


async def close_review(
    tx: WriteTx, batch_id: int, state: ReviewState, admin_id: int, now: datetime
) -> bool:
    """Decide an open review; False when it was not open (decided already)."""
    cursor = await tx.execute(
        "UPDATE batch_reviews SET state = ?, decided_by = ?, decided_at = ?"
        " WHERE batch_id = ? AND state = 'open'",
        (state, admin_id, to_db_time(now), batch_id),
    )
    return cursor.rowcount == 1


async def decide_reports(
    tx: WriteTx,
    batch_id: int,
    state: Literal["upheld", "dismissed"],
    admin_id: int,
    now: datetime,
) -> int:
    """Uphold or dismiss a batch's open reports; how many."""
    cursor = await tx.execute(
        "UPDATE task_reports SET state = ?, decided_by = ?, decided_at = ?"
        " WHERE batch_id = ? AND state = 'open'",
        (state, admin_id, to_db_time(now), batch_id),
    )
    return cursor.rowcount
