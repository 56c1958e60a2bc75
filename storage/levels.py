"""Storage room of levels (issue 14): each worker's level as last computed, the dispatch gate
that keeps a batch's ``min_level`` from workers below it, and what a level opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.batch_settings import LEVELS, Level
from storage.db import Tx, WriteTx, to_db_time

# A level's rank is its place in LEVELS (newcomer 0, confirmed 1, expert 2).
_RANK_OF_MIN_LEVEL = (
    "CASE b.min_level "
    + " ".join(f"WHEN '{level}' THEN {rank}" for rank, level in enumerate(LEVELS))
    + " ELSE 0 END"
)

LEVEL_GATE = f"""
  AND (b.min_level = 'newcomer'
       OR coalesce((SELECT l.rank FROM worker_levels l WHERE l.worker_id = :worker), 0)
          >= {_RANK_OF_MIN_LEVEL})
"""
"""Claim predicate (batches ``b``, worker ``:worker``): the worker holds the batch's level."""


@dataclass(frozen=True)
class LevelOpens:
    """What open batches a level would open: how many, and the best reward among them."""

    batches: int
    best_reward: int


async def store_level(tx: WriteTx, worker_id: int, level: Level, now: datetime) -> None:
    """Remember a worker's level (the dispatch gate reads it)."""
    await tx.execute(
        "INSERT INTO worker_levels (worker_id, level, rank, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (worker_id) DO UPDATE SET level = excluded.level, rank = excluded.rank,"
        " updated_at = excluded.updated_at WHERE worker_levels.level != excluded.level",
        (worker_id, level, LEVELS.index(level), to_db_time(now)),
    )


async def opened_by(tx: Tx, level: Level) -> LevelOpens:
    """The open batches that need exactly ``level``."""
    row = await tx.fetch_one(
        "SELECT count(*), coalesce(max(reward), 0) FROM batches"
        " WHERE state = 'open' AND min_level = ?",
        (level,),
    )
    return LevelOpens(int(row[0]), int(row[1])) if row else LevelOpens(0, 0)
