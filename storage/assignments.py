"""Assignments: claiming an answer slot for a worker, showing it, answering, ending it."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage.availability import record_served
from storage.db import Row, Tx, WriteTx, maybe_time, to_db_time
from storage.exclusions import EXCLUSION_GATE
from storage.levels import LEVEL_GATE
from storage.mutes import MUTE_GATE
from storage.quality import GoldView, gold_view, open_gold_items, server_secret

AssignmentState = Literal["active", "submitted", "expired", "skipped", "released"]
# States that hold one of an item's answer slots: an active offer is reserved for its worker.
SLOT_STATES = ("active", "submitted")


@dataclass(frozen=True)
class Assignment:
    """One item offered to one worker."""

    id: int
    item_id: int
    batch_id: int
    worker_id: int
    state: AssignmentState
    reward: int
    time_limit: int
    forced: bool
    offered_at: datetime
    shown_at: datetime | None
    deadline: datetime | None
    chat_id: int | None
    message_id: int | None
    prompt_message_id: int | None
    draft: tuple[int, ...]
    answer: Any
    duration_ms: int | None
    ended_at: datetime | None
    end_reason: str | None
    speed_flag: bool = False  # answered faster than humanly plausible

    def open_at(self, now: datetime) -> bool:
        """Active, shown, and its deadline not reached."""
        return self.state == "active" and self.deadline is not None and now < self.deadline


def _assignment(row: Row) -> Assignment:
    offered = maybe_time(row["offered_at"])
    assert offered is not None
    return Assignment(
        id=int(row["id"]),
        item_id=int(row["item_id"]),
        batch_id=int(row["batch_id"]),
        worker_id=int(row["worker_id"]),
        state=row["state"],
        reward=int(row["reward"]),
        time_limit=int(row["time_limit"]),
        forced=bool(row["forced"]),
        offered_at=offered,
        shown_at=maybe_time(row["shown_at"]),
        deadline=maybe_time(row["deadline"]),
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        prompt_message_id=row["prompt_message_id"],
        draft=tuple(json.loads(row["draft"] or "[]")),
        answer=None if row["answer"] is None else json.loads(row["answer"]),
        duration_ms=row["duration_ms"],
        ended_at=maybe_time(row["ended_at"]),
        end_reason=row["end_reason"],
        speed_flag=bool(row["speed_flag"]),
    )


# What makes an answer slot open to a worker: an open ordinary (not gold) item of an open
# batch (not their own batch, not a type they are kept from) that they have never been offered
# (nor, for a review item, the item it reviews),
# with a slot neither reserved nor answered (``items.full``, kept by migration 0011's triggers),
# while they have no active assignment. Gold items are only ever served by the gold-mixing rule
# (_CLAIM_GOLD). The open batches are walked in hand-out order through batches_open_order and
# each batch's items through items_claimable (only open items with a free slot, by position),
# so the nested loops already give ORDER BY's order and LIMIT 1 stops at the first fit: the
# cost depends on the open batches and on the worker's own history, not on the items waiting
# nor on how many workers hold slots (migration 0011, decision record 0012).
# Issue 14's gates: the worker holds the batch's min_level and has not muted its requester;
# issue 15's: the requester has not excluded the worker. Issue 16's routing: a slot a refit
# opened is kept for the batch's preferred workers until the item's routed_until
# (storage/overlap.py).
_OPEN_TO_WORKER = f"""
FROM batches b INDEXED BY batches_open_order
JOIN items i INDEXED BY items_claimable ON i.batch_id = b.id
WHERE b.state = 'open' AND i.state = 'open' AND i.gold_answer IS NULL AND i.full = 0
  AND b.requester_id != :worker
  AND NOT EXISTS (SELECT 1 FROM worker_type_pauses p
                  WHERE p.worker_id = :worker AND p.task_type = b.type)
  AND NOT EXISTS (SELECT 1 FROM assignments mine
                  WHERE mine.item_id = i.id AND mine.worker_id = :worker)
  AND NOT EXISTS (SELECT 1 FROM assignments authored  -- a review item: not by an author
                  WHERE authored.item_id = i.source_item_id AND authored.worker_id = :worker)
  AND NOT EXISTS (SELECT 1 FROM assignments busy
                  WHERE busy.worker_id = :worker AND busy.state = 'active')
  AND (i.routed_until IS NULL OR i.routed_until <= :now
       OR EXISTS (SELECT 1 FROM overlap_preferred r
                  WHERE r.batch_id = b.id AND r.worker_id = :worker))
  {LEVEL_GATE}{MUTE_GATE}{EXCLUSION_GATE}
"""
_IN_ORDER = "ORDER BY b.published_at, b.id, i.position LIMIT 1"


# One statement claims a slot: it picks the first open slot (oldest batch first, then item
# order) whose reward fits, and inserts the assignment. It runs inside BEGIN IMMEDIATE;
# UNIQUE (item_id, worker_id) and the one-active-per-worker index back it up.
def _claim(where: str, order: str) -> str:
    """The claim statement: the first open slot by ``order`` among those ``where`` adds to."""
    return f"""
INSERT INTO assignments (item_id, batch_id, worker_id, reward, time_limit, forced, offered_at)
SELECT i.id, b.id, :worker, b.reward, b.time_limit, :forced, :now
{_OPEN_TO_WORKER}
  AND b.reward <= :max_reward AND {where}
{order}
RETURNING *
"""


_CLAIM = _claim("(CAST(:batch AS INTEGER) IS NULL OR b.id = :batch)", _IN_ORDER)

# The batch the next ordinary slot would come from (the same order as _CLAIM).
_NEXT_BATCH = f"""
SELECT b.id, b.dynamic_overlap {_OPEN_TO_WORKER}
  AND b.reward <= :max_reward
{_IN_ORDER}
"""

# A dynamic batch's slots are handed out from a random place in the batch (then from its start):
# in item order, workers who answer at the same pace would give the first two answers of item
# after item together, and a refit cannot tell a pair that agrees from a pair that is right.
_CLAIMABLE_SPAN = """
SELECT min(i.position), max(i.position) FROM items i INDEXED BY items_claimable
WHERE i.batch_id = ? AND i.state = 'open' AND i.gold_answer IS NULL AND i.full = 0
"""
_CLAIM_FROM = _claim("b.id = :batch AND i.position >= :start", "ORDER BY i.position LIMIT 1")
_SCATTER = random.Random()

# A gold item claimed by the gold-mixing rule. Gold answers share a budget of
# answers_per_item x gold items per batch (what publishing held in escrow for those items), so
# gold never eats into the escrow of ordinary items however many workers come.
_CLAIM_GOLD = f"""
INSERT INTO assignments (item_id, batch_id, worker_id, reward, time_limit, forced, offered_at)
SELECT i.id, b.id, :worker, b.reward, b.time_limit, :forced, :now
FROM batches b JOIN items i ON i.batch_id = b.id
WHERE i.id = :item AND b.state = 'open' AND i.state = 'open' AND i.gold_answer IS NOT NULL
  AND b.requester_id != :worker AND b.reward <= :max_reward
  AND NOT EXISTS (SELECT 1 FROM worker_type_pauses p
                  WHERE p.worker_id = :worker AND p.task_type = b.type)
  AND NOT EXISTS (SELECT 1 FROM assignments mine
                  WHERE mine.item_id = i.id AND mine.worker_id = :worker)
  AND NOT EXISTS (SELECT 1 FROM assignments busy
                  WHERE busy.worker_id = :worker AND busy.state = 'active')
  AND (SELECT count(*) FROM assignments g JOIN items gi ON gi.id = g.item_id
       WHERE g.batch_id = b.id AND gi.gold_answer IS NOT NULL
         AND g.state IN ('active', 'submitted'))
      < b.answers_per_item * (SELECT count(*) FROM items x
                              WHERE x.batch_id = b.id AND x.gold_answer IS NOT NULL)
  {LEVEL_GATE}{MUTE_GATE}{EXCLUSION_GATE}
RETURNING *
"""

GOLD_SEED_NAME = "gold_mixing"
GoldPicker = Callable[[GoldView], int | None]


async def claim_next(
    tx: WriteTx,
    *,
    worker_id: int,
    now: datetime,
    max_reward: int,
    forced: bool = False,
    pick_gold: GoldPicker | None = None,
    gold_secret: str | None = None,
    gold_batches: Collection[int] | None = None,
    record: bool = True,
) -> Assignment | None:
    """Reserve the next answer slot for a worker (reward at most ``max_reward``), or None.

    ``pick_gold`` (the gold-mixing rule) sees the worker's history in the batch the next slot
    comes from and may name a gold item to serve instead; everything happens in one write
    transaction, so the rule's view cannot change before the claim. A batch without open gold
    items leaves the rule nothing to pick, so it is not asked. What a push pass already read in
    this transaction is passed in: ``gold_secret`` (the rule's seed, ``GOLD_SEED_NAME``) and
    ``gold_batches`` (the open batches with open gold items: a batch without any is not
    asked). A dynamic batch's slot comes from a random place in the batch (``_CLAIM_FROM``).
    ``record=False`` leaves ``record_served`` to the caller (the pass stamps its claims
    together).
    """
    params: dict[str, Any] = {
        "worker": worker_id,
        "forced": int(forced),
        "now": to_db_time(now),
        "max_reward": max_reward,
        "batch": None,
    }
    found = await tx.fetch_one(_NEXT_BATCH, params)
    if found is None:
        return None
    batch_id, dynamic = int(found[0]), bool(found[1])
    params["batch"] = batch_id
    row: Row | None = None
    if pick_gold is not None and (gold_batches is None or batch_id in gold_batches):
        gold = await open_gold_items(tx, batch_id)
        if gold:
            secret = gold_secret or await server_secret(tx, GOLD_SEED_NAME, now)
            view = await gold_view(tx, batch_id, worker_id, secret, gold)
            gold_item = pick_gold(view)
            if gold_item is not None:
                row = await tx.fetch_one(_CLAIM_GOLD, {**params, "item": gold_item})
    if row is None and dynamic:
        row = await _claim_scattered(tx, params, batch_id)
    if row is None:
        row = await tx.fetch_one(_CLAIM, params)
    if row is None:
        return None
    if record:
        await record_served(tx, worker_id, now)
    return _assignment(row)


async def _claim_scattered(tx: WriteTx, params: dict[str, Any], batch_id: int) -> Row | None:
    """A dynamic batch's slot from a random place in the batch onwards (``_CLAIM_FROM``)."""
    span = await tx.fetch_one(_CLAIMABLE_SPAN, (batch_id,))
    if span is None or span[0] is None:
        return None
    start = _SCATTER.randint(int(span[0]), int(span[1]))
    return await tx.fetch_one(_CLAIM_FROM, {**params, "start": start})


async def get_assignment(tx: Tx, assignment_id: int) -> Assignment | None:
    """The assignment with this id, or None."""
    row = await tx.fetch_one("SELECT * FROM assignments WHERE id = ?", (assignment_id,))
    return None if row is None else _assignment(row)


async def active_assignment_of(tx: Tx, worker_id: int) -> Assignment | None:
    """The worker's active assignment, if any."""
    row = await tx.fetch_one(
        "SELECT * FROM assignments WHERE worker_id = ? AND state = 'active'", (worker_id,)
    )
    return None if row is None else _assignment(row)


async def assignment_for_message(tx: Tx, chat_id: int, message_id: int) -> Assignment | None:
    """The latest assignment shown in a message (its task message or its reply prompt)."""
    row = await tx.fetch_one(
        "SELECT * FROM assignments WHERE chat_id = ? AND (message_id = ? OR prompt_message_id = ?)"
        " ORDER BY id DESC LIMIT 1",
        (chat_id, message_id, message_id),
    )
    return None if row is None else _assignment(row)


async def active_assignments(tx: Tx) -> list[Assignment]:
    """Every active assignment, soonest deadline first (unshown ones last)."""
    rows = await tx.fetch_all(
        "SELECT * FROM assignments WHERE state = 'active' ORDER BY deadline IS NULL, deadline, id"
    )
    return [_assignment(row) for row in rows]


async def release_never_shown(
    tx: WriteTx, *, offered_before: datetime | None, reason: str, now: datetime
) -> list[int]:
    """Release in one statement the active assignments never shown (no deadline stored)
    claimed before ``offered_before`` (None: all of them; their process stopped between the
    claim and the send); the ids released. Guarded as ``end_active``: only an active one
    changes, so each is released once (the slot triggers give each slot back once)."""
    before = "" if offered_before is None else " AND offered_at < :before"
    rows = await tx.fetch_all(
        "UPDATE assignments SET state = 'released', end_reason = :reason, ended_at = :now"
        f" WHERE state = 'active' AND deadline IS NULL{before} RETURNING id",
        {
            "reason": reason,
            "now": to_db_time(now),
            "before": None if offered_before is None else to_db_time(offered_before),
        },
    )
    return sorted(int(row[0]) for row in rows)


async def start_timer(
    tx: WriteTx, assignment_id: int, *, shown_at: datetime, deadline: datetime
) -> bool:
    """Store the deadline just before the task is sent; False when no longer active.

    Stored first, so a bot killed while sending still knows when the offer ends.
    """
    cursor = await tx.execute(
        "UPDATE assignments SET shown_at = ?, deadline = ? WHERE id = ? AND state = 'active'",
        (to_db_time(shown_at), to_db_time(deadline), assignment_id),
    )
    return cursor.rowcount == 1


async def record_messages(
    tx: WriteTx,
    assignment_id: int,
    *,
    chat_id: int,
    message_id: int,
    prompt_message_id: int | None,
) -> bool:
    """Remember the task message (and the reply prompt) once sent; False when not active."""
    cursor = await tx.execute(
        "UPDATE assignments SET chat_id = ?, message_id = ?, prompt_message_id = ?"
        " WHERE id = ? AND state = 'active'",
        (chat_id, message_id, prompt_message_id, assignment_id),
    )
    return cursor.rowcount == 1


async def mark_shown(
    tx: WriteTx,
    assignment_id: int,
    *,
    chat_id: int,
    message_id: int,
    prompt_message_id: int | None,
    shown_at: datetime,
    deadline: datetime,
) -> bool:
    """``start_timer`` and ``record_messages`` at once (tests and tools)."""
    started = await start_timer(tx, assignment_id, shown_at=shown_at, deadline=deadline)
    return started and await record_messages(
        tx,
        assignment_id,
        chat_id=chat_id,
        message_id=message_id,
        prompt_message_id=prompt_message_id,
    )


async def set_draft(tx: WriteTx, assignment_id: int, draft: tuple[int, ...], now: datetime) -> bool:
    """Store the labels ticked so far, only while the assignment is open."""
    cursor = await tx.execute(
        "UPDATE assignments SET draft = ? WHERE id = ? AND state = 'active' AND deadline > ?",
        (json.dumps(list(draft)), assignment_id, to_db_time(now)),
    )
    return cursor.rowcount == 1


async def record_answer(
    tx: WriteTx,
    assignment_id: int,
    *,
    answer: Any,
    duration_ms: int,
    now: datetime,
) -> bool:
    """Store an answer inside the caller's transaction; False unless active and in time."""
    stamp = to_db_time(now)
    cursor = await tx.execute(
        "UPDATE assignments SET state = 'submitted', answer = ?, duration_ms = ?, ended_at = ?"
        " WHERE id = ? AND state = 'active' AND deadline > ?",
        (json.dumps(answer, ensure_ascii=False), duration_ms, stamp, assignment_id, stamp),
    )
    return cursor.rowcount == 1


async def end_active(
    tx: Tx,
    assignment_id: int,
    *,
    state: Literal["expired", "skipped", "released"],
    reason: str | None,
    now: datetime,
    due_only: bool = False,
) -> Assignment | None:
    """End an active assignment (``due_only``: only once its deadline has passed).

    Returns the ended assignment, or None when it was not active (or not due): ending twice
    changes nothing.
    """
    stamp = to_db_time(now)
    due = " AND deadline IS NOT NULL AND deadline <= :now" if due_only else ""
    row = await tx.fetch_one(
        "UPDATE assignments SET state = :state, end_reason = :reason, ended_at = :now"
        f" WHERE id = :id AND state = 'active'{due} RETURNING *",
        {"state": state, "reason": reason, "now": stamp, "id": assignment_id},
    )
    return None if row is None else _assignment(row)


async def end_due(tx: WriteTx, *, before: datetime, now: datetime, limit: int) -> list[Assignment]:
    """Expire in one statement the active assignments whose deadline is before ``before`` (at
    most ``limit``, soonest first); the ended ones. Guarded as ``end_active(due_only=True)``:
    only an active one past its deadline changes, so each expires once."""
    rows = await tx.fetch_all(
        "UPDATE assignments SET state = 'expired', end_reason = 'timeout', ended_at = :now"
        " WHERE id IN (SELECT id FROM assignments WHERE state = 'active' AND deadline < :before"
        " ORDER BY deadline, id LIMIT :limit)"
        " AND state = 'active' AND deadline IS NOT NULL AND deadline <= :now RETURNING *",
        {"now": to_db_time(now), "before": to_db_time(before), "limit": limit},
    )
    return sorted((_assignment(row) for row in rows), key=lambda a: (a.deadline, a.id))


async def answers_of_item(tx: Tx, item_id: int) -> list[Assignment]:
    """The submitted assignments of an item, in order."""
    rows = await tx.fetch_all(
        "SELECT * FROM assignments WHERE item_id = ? AND state = 'submitted' ORDER BY id",
        (item_id,),
    )
    return [_assignment(row) for row in rows]


async def assignments_of_worker(tx: Tx, worker_id: int) -> list[Assignment]:
    """Every assignment a worker was offered, oldest first."""
    rows = await tx.fetch_all(
        "SELECT * FROM assignments WHERE worker_id = ? ORDER BY id", (worker_id,)
    )
    return [_assignment(row) for row in rows]


async def assignments_of_batch(tx: Tx, batch_id: int) -> list[Assignment]:
    """Every assignment of a batch, oldest first."""
    rows = await tx.fetch_all(
        "SELECT * FROM assignments WHERE batch_id = ? ORDER BY id", (batch_id,)
    )
    return [_assignment(row) for row in rows]


async def refreshable(
    tx: Tx, *, now: datetime, min_time_limit: int, shown_before: datetime, limit: int
) -> list[Assignment]:
    """Active, shown assignments of long tasks due a timer refresh, soonest deadline first."""
    rows = await tx.fetch_all(
        "SELECT * FROM assignments WHERE state = 'active' AND message_id IS NOT NULL"
        " AND time_limit >= ? AND deadline > ? AND shown_at <= ?"
        " ORDER BY deadline LIMIT ?",
        (min_time_limit, to_db_time(now), to_db_time(shown_before), limit),
    )
    return [_assignment(row) for row in rows]


async def rewards_open_to(tx: Tx, worker_id: int) -> list[int]:
    """The distinct rewards of the slots open to a worker, whatever their cap.

    One probe per open batch: its first slot open to the worker, if any.
    """
    rows = await tx.fetch_all(
        "SELECT DISTINCT b.reward FROM batches b INDEXED BY batches_open_order"
        " WHERE b.state = 'open' AND EXISTS (SELECT 1 FROM batches bb JOIN items i"
        " INDEXED BY items_claimable ON i.batch_id = bb.id WHERE bb.id = b.id"
        " AND i.state = 'open' AND i.gold_answer IS NULL AND i.full = 0"
        " AND bb.requester_id != :worker"
        " AND NOT EXISTS (SELECT 1 FROM worker_type_pauses p"
        "  WHERE p.worker_id = :worker AND p.task_type = bb.type)"
        " AND NOT EXISTS (SELECT 1 FROM assignments mine"
        "  WHERE mine.item_id = i.id AND mine.worker_id = :worker))"
        " ORDER BY b.reward",
        {"worker": worker_id},
    )
    return [int(row[0]) for row in rows]


async def open_slots(tx: Tx) -> int:
    """Answer slots still free in open batches (reads every open item: reports, not the loop)."""
    value = await tx.fetch_value(
        "SELECT coalesce(sum(coalesce(i.wanted, b.answers_per_item) - i.taken), 0)"
        " FROM batches b JOIN items i INDEXED BY items_claimable ON i.batch_id = b.id"
        " WHERE b.state = 'open' AND i.state = 'open' AND i.gold_answer IS NULL AND i.full = 0"
    )
    return int(value or 0)


async def open_slots_up_to(tx: Tx, most: int) -> int:
    """Answer slots free in open batches, counted no further than ``most`` (reads at most
    ``most`` claimable items: the dispatcher asks whether slots are fewer than its workers)."""
    value = await tx.fetch_value(
        "SELECT coalesce(sum(free), 0) FROM (SELECT coalesce(i.wanted, b.answers_per_item)"
        " - i.taken AS free"
        " FROM batches b INDEXED BY batches_open_order"
        " JOIN items i INDEXED BY items_claimable ON i.batch_id = b.id"
        " WHERE b.state = 'open' AND i.state = 'open' AND i.gold_answer IS NULL AND i.full = 0"
        " LIMIT ?) AS claimable",
        (most,),
    )
    return min(int(value or 0), most)


async def any_open_slot(tx: Tx) -> bool:
    """Whether any open batch has a free ordinary slot (a push pass's quick check)."""
    value = await tx.fetch_value(
        "SELECT EXISTS (SELECT 1 FROM batches b JOIN items i INDEXED BY items_claimable"
        " ON i.batch_id = b.id WHERE b.state = 'open' AND i.state = 'open'"
        " AND i.gold_answer IS NULL AND i.full = 0)"
    )
    return bool(value)


# -- early stopping and the end of an item ------------------------------------------------------


async def complete_item(tx: WriteTx, item_id: int, now: datetime) -> bool:
    """Mark an open item complete (early stopping or its last slot); True when it just did."""
    cursor = await tx.execute(
        "UPDATE items SET state = 'complete', completed_at = ? WHERE id = ? AND state = 'open'",
        (to_db_time(now), item_id),
    )
    return cursor.rowcount == 1


async def complete_gold_if_rest_done(tx: WriteTx, batch_id: int, now: datetime) -> list[int]:
    """Once every ordinary item of a batch is complete, its gold items are complete too.

    Gold items never complete by their answers (each worker may answer each once); they follow
    the batch's ordinary items. Returns the gold items completed now.

    Asked after every answer: while an ordinary item is open (nearly always) one probe says so,
    whatever the batch's size (the update alone walked every open item of the batch).
    """
    if await tx.fetch_value(
        "SELECT EXISTS (SELECT 1 FROM items WHERE batch_id = ? AND state = 'open'"
        " AND gold_answer IS NULL)",
        (batch_id,),
    ):
        return []
    rows = await tx.fetch_all(
        "UPDATE items SET state = 'complete', completed_at = ?"
        " WHERE batch_id = ? AND state = 'open' AND gold_answer IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM items o WHERE o.batch_id = items.batch_id"
        " AND o.state = 'open' AND o.gold_answer IS NULL)"
        " AND EXISTS (SELECT 1 FROM items o WHERE o.batch_id = items.batch_id"
        " AND o.gold_answer IS NULL)"
        " RETURNING id",
        (to_db_time(now), batch_id),
    )
    return [int(row[0]) for row in rows]


async def release_active_of_items(
    tx: WriteTx, item_ids: Sequence[int], reason: str, now: datetime
) -> list[Assignment]:
    """Release the still-active assignments of items that no longer need answers."""
    if not item_ids:
        return []
    marks = ", ".join("?" for _ in item_ids)
    rows = await tx.fetch_all(
        "UPDATE assignments SET state = 'released', end_reason = ?, ended_at = ?"
        f" WHERE state = 'active' AND item_id IN ({marks}) RETURNING *",
        (reason, to_db_time(now), *item_ids),
    )
    return [_assignment(row) for row in rows]


async def tasks_done(tx: Tx, worker_id: int) -> int:
    """How many answers a worker has submitted."""
    value = await tx.fetch_value(
        "SELECT count(*) FROM assignments WHERE worker_id = ? AND state = 'submitted'",
        (worker_id,),
    )
    return int(value or 0)


async def submitted_count_in(tx: Tx, batch_id: int) -> int:
    """How many answers a batch has, read inside the caller's transaction."""
    row = await tx.fetch_one(
        "SELECT count(*) FROM assignments WHERE batch_id = ? AND state = 'submitted'",
        (batch_id,),
    )
    return int(row[0]) if row else 0


async def active_reward(tx: Tx, worker_id: int) -> int:
    """The reward of the worker's active assignment (0 without one): room kept under the cap."""
    value = await tx.fetch_value(
        "SELECT reward FROM assignments WHERE worker_id = ? AND state = 'active'", (worker_id,)
    )
    return int(value or 0)
