"""Storage room of the kept fair-pay floor: answers that may need a top-up, and top-ups paid.

A top-up is a ``bonus`` transfer from the requester to the worker under the key
``topup:answer:ASSIGNMENT_ID`` (one per answer, ever).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Tx, WriteTx

TOPUP_KEY_PREFIX = "topup:answer:"


def topup_key(assignment_id: int) -> str:
    """The idempotency key of one answer's fair-pay top-up."""
    return f"{TOPUP_KEY_PREFIX}{assignment_id}"


@dataclass(frozen=True)
class PaidAnswer:
    """A submitted answer with what it paid and how long it took."""

    assignment_id: int
    worker_id: int
    reward: int  # cents credited for the answer itself
    duration_ms: int


# Submitted answers with a duration and no top-up yet.
_UNTOPPED = """
FROM assignments a JOIN batches b ON b.id = a.batch_id
WHERE a.state = 'submitted' AND a.duration_ms IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM transfers t
                  WHERE t.idempotency_key = :prefix || a.id)
"""


ENDED_STATES = ("done", "cancelled")  # final: no new answer, no new reward


async def batches_to_enforce(tx: Tx, *, floor: int) -> list[int]:
    """Batches that may owe something: the open and paused ones, and the ended ones not yet
    found owing nothing at ``floor`` (``settle``)."""
    found = await tx.fetch_all(
        "SELECT id FROM batches WHERE state IN ('open', 'paused')"
        " OR (state IN ('done', 'cancelled')"
        " AND (floor_settled IS NULL OR floor_settled <> :floor)) ORDER BY id",
        {"floor": floor},
    )
    return [int(row[0]) for row in found]


async def settle(tx: WriteTx, batch_id: int, *, floor: int) -> bool:
    """Record that an ended batch owes nothing at ``floor``: it never will again at that floor,
    and the passes stop reading it. False when the batch has not ended."""
    done = await tx.execute(
        "UPDATE batches SET floor_settled = :floor"
        " WHERE id = :batch AND state IN ('done', 'cancelled')",
        {"floor": floor, "batch": batch_id},
    )
    return done.rowcount == 1


async def untopped_answers(tx: Tx, batch_id: int, *, reward: int, floor: int) -> list[PaidAnswer]:
    """A batch's submitted answers with a duration and no top-up yet that paid less than
    ``reward`` or less than ``floor`` cents an hour at their own duration, in answer order (the
    others owe nothing, and a batch's are most of its answers)."""
    found = await tx.fetch_all(
        "SELECT a.id, a.worker_id, a.reward, a.duration_ms" + _UNTOPPED + " AND a.batch_id = :batch"
        " AND (a.reward < :reward OR a.reward < 1 OR a.reward * 3600000 < :floor * a.duration_ms)"
        " ORDER BY a.id",
        {"prefix": TOPUP_KEY_PREFIX, "batch": batch_id, "reward": reward, "floor": floor},
    )
    return [PaidAnswer(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in found]


async def topups_of_batch(tx: Tx, batch_id: int) -> dict[int, int]:
    """Top-up cents per assignment id of a batch (for history and measured rates)."""
    found = await tx.fetch_all(
        "SELECT a.id, t.amount FROM assignments a JOIN transfers t"
        " ON t.idempotency_key = ? || a.id WHERE a.batch_id = ?",
        (TOPUP_KEY_PREFIX, batch_id),
    )
    return {int(r[0]): int(r[1]) for r in found}
