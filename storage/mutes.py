"""Storage room of muted requesters (issue 14): a worker's mutes and the dispatch gate that
keeps a muted requester's batches from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, WriteTx, to_db_time

MUTE_GATE = """
  AND NOT EXISTS (SELECT 1 FROM worker_mutes m
                  WHERE m.worker_id = :worker AND m.requester_id = b.requester_id)
"""
"""Claim predicate (batches ``b``, worker ``:worker``): the batch's requester is not muted."""


@dataclass(frozen=True)
class Muted:
    """A requester a worker muted, with the name the worker knows them by."""

    requester_id: int
    name: str


async def mute(tx: WriteTx, worker_id: int, requester_id: int, now: datetime) -> bool:
    """Mute a requester for a worker; False when already muted."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO worker_mutes (worker_id, requester_id, muted_at) VALUES (?, ?, ?)",
        (worker_id, requester_id, to_db_time(now)),
    )
    return cursor.rowcount == 1


async def unmute(tx: WriteTx, worker_id: int, requester_id: int) -> bool:
    """Unmute a requester; False when they were not muted."""
    cursor = await tx.execute(
        "DELETE FROM worker_mutes WHERE worker_id = ? AND requester_id = ?",
        (worker_id, requester_id),
    )
    return cursor.rowcount == 1


async def muted_by(tx: Tx, worker_id: int) -> list[Muted]:
    """The requesters a worker muted, first muted first."""
    rows = await tx.fetch_all(
        "SELECT m.requester_id, coalesce(u.first_name, '?') FROM worker_mutes m"
        " LEFT JOIN users u ON u.id = m.requester_id WHERE m.worker_id = ?"
        " ORDER BY m.muted_at, m.requester_id",
        (worker_id,),
    )
    return [Muted(int(row[0]), str(row[1])) for row in rows]
