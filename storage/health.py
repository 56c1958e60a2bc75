"""Platform health for ``/health``: answers, their timings, active workers, batches by state."""

from __future__ import annotations

from datetime import datetime

from storage.db import Tx, to_db_time


async def timed_answers_since(tx: Tx, since: datetime) -> list[tuple[int, int]]:
    """``(reward, duration_ms)`` of every answer submitted at or after ``since``."""
    found = await tx.fetch_all(
        "SELECT reward, duration_ms FROM assignments"
        " WHERE state = 'submitted' AND duration_ms IS NOT NULL AND ended_at >= ?",
        (to_db_time(since),),
    )
    return [(int(row[0]), int(row[1])) for row in found]


async def answers_since(tx: Tx, since: datetime) -> int:
    """Answers submitted at or after ``since``."""
    found = await tx.fetch_value(
        "SELECT count(*) FROM assignments WHERE state = 'submitted' AND ended_at >= ?",
        (to_db_time(since),),
    )
    return int(found or 0)


async def active_workers(tx: Tx, since: datetime) -> int:
    """Workers who answered at or after ``since``, or who hold an active assignment now."""
    found = await tx.fetch_value(
        "SELECT count(DISTINCT worker_id) FROM assignments"
        " WHERE state = 'active' OR (state = 'submitted' AND ended_at >= ?)",
        (to_db_time(since),),
    )
    return int(found or 0)


async def batches_by_state(tx: Tx) -> dict[str, int]:
    """How many batches are in each state (states with none are left out)."""
    found = await tx.fetch_all("SELECT state, count(*) FROM batches GROUP BY state")
    return {str(row[0]): int(row[1]) for row in found}
