"""Domain room of levels (issue 14; no Telegram): each worker's level is stored after every
answer, so that dispatch can keep a batch's ``min_level`` from workers below it; ``/stats``
tells what the next level opens. The rule itself is ``bot.quality.worker_level``."""

from __future__ import annotations

from datetime import datetime

from bot.quality import LevelStatus, estimate_accuracy, worker_level
from storage.assignments import tasks_done
from storage.db import Database, WriteTx
from storage.levels import LevelOpens, opened_by, store_level
from storage.quality import gold_scores_by_type


async def refresh_level(tx: WriteTx, worker_id: int, now: datetime) -> LevelStatus:
    """Compute a worker's level from their answers and gold scores, and store it."""
    done = await tasks_done(tx, worker_id)
    scores = await gold_scores_by_type(tx, worker_id)
    status = worker_level(done, estimate_accuracy([s for found in scores.values() for s in found]))
    await store_level(tx, worker_id, status.level, now)
    return status


async def next_level_opens(db: Database, status: LevelStatus) -> LevelOpens | None:
    """The open batches the worker's next level would open; None at the top level."""
    if status.next_rule is None:
        return None
    async with db.read() as tx:
        return await opened_by(tx, status.next_rule.level)
