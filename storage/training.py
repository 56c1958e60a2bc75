"""Storage room of examples and training (issue 14): examples seen once per worker and batch,
and how many gold answers a worker gave on a type (their first ones are their training)."""

from __future__ import annotations

from datetime import datetime

from storage.db import Tx, WriteTx, to_db_time


async def mark_examples_seen(tx: WriteTx, worker_id: int, batch_id: int, now: datetime) -> bool:
    """Record that a worker is shown a batch's examples; False when they already were."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO examples_seen (worker_id, batch_id, seen_at) VALUES (?, ?, ?)",
        (worker_id, batch_id, to_db_time(now)),
    )
    return cursor.rowcount == 1


async def examples_seen(tx: Tx, worker_id: int, batch_id: int) -> bool:
    """Whether the worker was already shown the batch's examples."""
    found = await tx.fetch_value(
        "SELECT 1 FROM examples_seen WHERE worker_id = ? AND batch_id = ?", (worker_id, batch_id)
    )
    return found is not None


async def gold_answers_on_type(tx: Tx, worker_id: int, task_type: str) -> int:
    """How many gold answers a worker gave on a task type, in every batch."""
    found = await tx.fetch_value(
        "SELECT count(*) FROM gold_results WHERE worker_id = ? AND task_type = ?",
        (worker_id, task_type),
    )
    return int(found or 0)
