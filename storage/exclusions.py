"""Storage room of requesters' exclusions (issue 15): the workers a requester keeps from their
batches, and the dispatch gate that never offers those batches to them."""

from __future__ import annotations

from datetime import datetime

from storage.db import Tx, WriteTx, to_db_time

EXCLUSION_GATE = """
  AND NOT EXISTS (SELECT 1 FROM requester_exclusions x
                  WHERE x.worker_id = :worker AND x.requester_id = b.requester_id)
"""
"""Claim predicate (batches ``b``, worker ``:worker``): the batch's requester has not excluded
the worker."""


async def exclude(tx: WriteTx, requester_id: int, worker_id: int, now: datetime) -> bool:
    """Keep a worker from a requester's batches; False when already kept."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO requester_exclusions (requester_id, worker_id, excluded_at)"
        " VALUES (?, ?, ?)",
        (requester_id, worker_id, to_db_time(now)),
    )
    return cursor.rowcount == 1


async def readmit(tx: WriteTx, requester_id: int, worker_id: int) -> bool:
    """Offer a requester's batches to a worker again; False when they were not excluded."""
    cursor = await tx.execute(
        "DELETE FROM requester_exclusions WHERE requester_id = ? AND worker_id = ?",
        (requester_id, worker_id),
    )
    return cursor.rowcount == 1


async def excluded_by(tx: Tx, requester_id: int) -> set[int]:
    """The workers a requester keeps from their batches."""
    rows = await tx.fetch_all(
        "SELECT worker_id FROM requester_exclusions WHERE requester_id = ?", (requester_id,)
    )
    return {int(row[0]) for row in rows}
