"""Storage room of dynamic overlap: the answers a refit reads, the gate it moves, and routing.

An item of a dynamic batch (``batches.dynamic_overlap``, migration 0020) holds at most
``items.wanted`` answer slots; ``items."full"`` follows it (the triggers of 0011, rewritten in
0020), so the claim never serves an item waiting for a refit. A refit's writes are guarded by
the slots it read: an item whose slots changed since (a new answer, an expiry) is left to the
next refit. A slot a refit opens is routed: kept for the batch's preferred workers
(``overlap_preferred``) until ``items.routed_until`` (the claim's gate, ``storage/assignments.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, WriteTx, to_db_time


@dataclass(frozen=True)
class ItemAnswers:
    """An ordinary item of a dynamic batch: whether it is open, its submitted answers and its
    slots held."""

    item_id: int
    taken: int  # slots held: active and submitted assignments
    answers: tuple[tuple[int, str], ...]  # (worker id, answer as stored: JSON), in order given
    open: bool = True
    wanted: int | None = None  # the slots it may hold (items.wanted)


async def item_answers(tx: Tx, batch_id: int) -> list[ItemAnswers]:
    """Every ordinary item of the batch, open or complete, with its submitted answers as stored
    (JSON; none: an empty tuple), by item id. A refit fits its model on all of them: the items
    already complete hold most of what the batch says about its workers."""
    items = await tx.fetch_all(
        "SELECT id, taken, state, wanted FROM items WHERE batch_id = ?"
        " AND gold_answer IS NULL ORDER BY id",
        (batch_id,),
    )
    rows = await tx.fetch_all(
        "SELECT a.item_id, a.worker_id, a.answer FROM assignments a JOIN items i"
        " ON i.id = a.item_id WHERE a.batch_id = ? AND a.state = 'submitted'"
        " AND i.gold_answer IS NULL ORDER BY a.item_id, a.id",
        (batch_id,),
    )
    given: dict[int, list[tuple[int, str]]] = {}
    for row in rows:
        given.setdefault(int(row[0]), []).append((int(row[1]), str(row[2])))
    return [
        ItemAnswers(
            int(row[0]),
            int(row[1]),
            tuple(given.get(int(row[0]), ())),
            row[2] == "open",
            None if row[3] is None else int(row[3]),
        )
        for row in items
    ]


async def start_gate(tx: WriteTx, batch_id: int, least: int) -> None:
    """Make a batch dynamic: each open ordinary item may hold ``least`` slots until a refit."""
    await tx.execute("UPDATE batches SET dynamic_overlap = 1 WHERE id = ?", (batch_id,))
    await tx.execute(
        'UPDATE items SET wanted = ?, "full" = CASE WHEN taken >= ? THEN 1 ELSE 0 END'
        " WHERE batch_id = ? AND state = 'open' AND gold_answer IS NULL",
        (least, least, batch_id),
    )


async def allow_more(
    tx: WriteTx, item_id: int, *, taken: int, wanted: int, routed_until: datetime | None = None
) -> bool:
    """Let an open item hold ``wanted`` slots, when it still holds the ``taken`` a refit read,
    its new slot kept for the batch's preferred workers until ``routed_until`` (None: open to
    anyone); True when that raised its gate."""
    cursor = await tx.execute(
        'UPDATE items SET wanted = ?, "full" = CASE WHEN taken >= ? THEN 1 ELSE 0 END,'
        " routed_until = ?"
        " WHERE id = ? AND state = 'open' AND taken = ? AND (wanted IS NULL OR wanted < ?)",
        _gate(item_id, taken, wanted, routed_until),
    )
    return cursor.rowcount == 1


def _gate(
    item_id: int, taken: int, wanted: int, routed_until: datetime | None
) -> tuple[int, int, str | None, int, int, int]:
    """The parameters of a statement that raises an item's gate: the new gate twice (the gate
    and "full"), the routing, the item, the slots read, the new gate again (the guard)."""
    routed = None if routed_until is None else to_db_time(routed_until)
    return (wanted, wanted, routed, item_id, taken, wanted)


async def reopen(
    tx: WriteTx, item_id: int, *, taken: int, wanted: int, routed_until: datetime | None = None
) -> bool:
    """Open again an item an earlier refit completed, that a later one (fitted on more answers)
    finds doubtful: it may hold ``wanted`` slots, its new slot routed as ``allow_more``'s. Only
    while it still holds the ``taken`` slots read and its batch has not ended; True when it
    reopened."""
    cursor = await tx.execute(
        "UPDATE items SET state = 'open', completed_at = NULL, wanted = ?,"
        ' "full" = CASE WHEN taken >= ? THEN 1 ELSE 0 END, routed_until = ?'
        " WHERE id = ? AND state = 'complete' AND taken = ? AND taken < ?"
        " AND EXISTS (SELECT 1 FROM batches b WHERE b.id = items.batch_id"
        " AND b.state IN ('open', 'paused'))",
        _gate(item_id, taken, wanted, routed_until),
    )
    return cursor.rowcount == 1


async def rejudge_at(tx: Tx, batch_id: int) -> int:
    """The count of the batch's answers at which a refit next judges its completed items."""
    row = await tx.fetch_one("SELECT rejudge_at FROM batches WHERE id = ?", (batch_id,))
    return 0 if row is None else int(row[0])


async def set_rejudge_at(tx: WriteTx, batch_id: int, answers: int) -> None:
    """Completed items are next judged once the batch has ``answers`` answers."""
    await tx.execute("UPDATE batches SET rejudge_at = ? WHERE id = ?", (answers, batch_id))


async def set_preferred(tx: WriteTx, batch_id: int, workers: Collection[int]) -> None:
    """The batch's preferred workers are now ``workers`` (routing). Two processes refitting at
    once each write what they found; neither fails on the other's rows."""
    await tx.execute("DELETE FROM overlap_preferred WHERE batch_id = ?", (batch_id,))
    for worker_id in sorted(workers):
        await tx.execute(
            "INSERT INTO overlap_preferred (batch_id, worker_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",  # another process's refit wrote the same at once
            (batch_id, worker_id),
        )


async def preferred_of(tx: Tx, batch_id: int) -> set[int]:
    """The batch's preferred workers."""
    rows = await tx.fetch_all(
        "SELECT worker_id FROM overlap_preferred WHERE batch_id = ?", (batch_id,)
    )
    return {int(row[0]) for row in rows}


async def complete_settled(
    tx: WriteTx, item_ids: Sequence[int], *, taken: Sequence[int], now: datetime
) -> list[int]:
    """Complete the open items a refit found sure enough, each only while it holds exactly the
    ``taken`` slots read (all submitted: none still being answered); the ids completed."""
    done = []
    for item_id, held in zip(item_ids, taken, strict=True):
        cursor = await tx.execute(
            "UPDATE items SET state = 'complete', completed_at = ?"
            " WHERE id = ? AND state = 'open' AND taken = ?"
            " AND NOT EXISTS (SELECT 1 FROM assignments a"
            " WHERE a.item_id = items.id AND a.state = 'active')",
            (to_db_time(now), item_id, held),
        )
        if cursor.rowcount == 1:
            done.append(item_id)
    return done
