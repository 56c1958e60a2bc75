"""Answers and the end of assignments: accept or refuse, credit, expire, skip, release.

Plain rules (no Telegram). An answer is accepted only for the worker's own active assignment
before its deadline; it is stored with its duration and credited through the ledger (key
``answer:ASSIGNMENT_ID``) in one write transaction, so either both happen or neither. Anything
else is refused with a ``UserError`` naming the reason, and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.dispatch import Policy
from bot.errors import CapExceeded, InvalidInput, NotFound, PermissionDenied
from bot.gold import ITEM_COMPLETE, AfterAnswer, after_answer
from bot.ledger import credit_reward, month_of, worker_account
from bot.tasks import task_type
from storage.assignments import (
    Assignment,
    end_active,
    end_due,
    get_assignment,
    record_answer,
    set_draft,
)
from storage.assignments import release_never_shown as release_never_shown_in
from storage.availability import record_missed, reset_missed, set_paused
from storage.batches import Batch, get_batch, get_item
from storage.db import Database, Tx, WriteTx
from storage.ledger import earned_in_month

log = logging.getLogger(__name__)

# A worker who lets this many tasks in a row run out is paused (their phone is in a pocket).
MISSED_IN_A_ROW_PAUSE = 2

_ENDED_REASON = {
    "submitted": "tasks.refused.answered",
    "expired": "tasks.refused.expired",
    "skipped": "tasks.refused.skipped",
    "released": "tasks.refused.released",
}


@dataclass(frozen=True)
class Credited:
    """An accepted answer: what was stored and paid, and where the worker stands this month."""

    assignment: Assignment
    batch: Batch
    answer: Any
    amount: int
    month_total: int
    cap_left: int
    # gold score, pauses, early stop, batch end
    quality: AfterAnswer = field(default_factory=AfterAnswer)


@dataclass(frozen=True)
class Expired:
    """An assignment that ran out of time; ``paused`` when that paused the worker."""

    assignment: Assignment
    paused: bool


def check_open(assignment: Assignment | None, worker_id: int, now: datetime) -> Assignment:
    """The assignment if ``worker_id`` may act on it now; else the refusal, with its reason."""
    if assignment is None:
        raise NotFound("tasks.refused.unknown")
    if assignment.worker_id != worker_id:
        raise PermissionDenied("tasks.refused.not_yours")
    if assignment.state == "released" and assignment.end_reason == "batch_cancelled":
        raise InvalidInput("tasks.refused.batch_closed")
    if assignment.state == "released" and assignment.end_reason == ITEM_COMPLETE:
        raise InvalidInput("quality.refused.item_complete")
    if assignment.state != "active":
        raise InvalidInput(_ENDED_REASON[assignment.state])
    if assignment.deadline is None:
        raise InvalidInput("tasks.refused.not_shown")
    if now >= assignment.deadline:
        raise InvalidInput("tasks.refused.expired")
    return assignment


def label_answer(batch: Batch, index: int) -> str:
    """The label a single-choice button stands for."""
    return task_type(batch.type).button_answer(batch, index)


def toggled(batch: Batch, draft: tuple[int, ...], index: int) -> tuple[int, ...]:
    """The ticked label indexes after pressing label ``index`` of a multiple-choice task."""
    return task_type(batch.type).toggled(batch, draft, index)


def tags_answer(batch: Batch, draft: tuple[int, ...]) -> list[str]:
    """The answer of a multiple-choice task: the ticked labels in label order."""
    return task_type(batch.type).ticked_answer(batch, draft)


def text_answer(batch: Batch, text: str) -> str:
    """A transcription: the text as typed, trimmed; empty or whitespace only is refused."""
    return task_type(batch.type).text_answer(batch, text)


async def open_assignment(
    db: Database, assignment_id: int, worker_id: int, now: datetime
) -> tuple[Assignment, Batch]:
    """The assignment and its batch when the worker may act on it now; else the refusal."""
    return await db.run_write(_open_in, assignment_id, worker_id, now)


async def _open_in(
    tx: WriteTx, assignment_id: int, worker_id: int, now: datetime
) -> tuple[Assignment, Batch]:
    assignment = check_open(await get_assignment(tx, assignment_id), worker_id, now)
    return assignment, await _batch_in(tx, assignment.batch_id)


async def toggle(
    db: Database, assignment_id: int, worker_id: int, index: int, now: datetime
) -> tuple[Assignment, Batch]:
    """Tick or untick one label of a multiple-choice task; returns the updated assignment."""
    return await db.run_write(_toggle_in, assignment_id, worker_id, index, now)


async def _toggle_in(
    tx: WriteTx, assignment_id: int, worker_id: int, index: int, now: datetime
) -> tuple[Assignment, Batch]:
    assignment = check_open(await get_assignment(tx, assignment_id), worker_id, now)
    batch = await _batch_in(tx, assignment.batch_id)
    draft = toggled(batch, assignment.draft, index)
    if not await set_draft(tx, assignment_id, draft, now):
        raise InvalidInput("tasks.refused.expired")
    updated = await get_assignment(tx, assignment_id)
    assert updated is not None
    return updated, batch


async def submit(
    db: Database,
    policy: Policy,
    assignment_id: int,
    worker_id: int,
    now: datetime,
    *,
    label: int | None = None,
    text: str | None = None,
    from_draft: bool = False,
) -> Credited:
    """Accept an answer (a label index, the ticked draft, or a text), store it and pay it.

    The checks, the answer row, the credit, the quality checks (gold score, speed flag, a
    type's pause), the item's completion when its answers agree (early stopping, which releases
    the item's other active assignments) and the batch's end with the refund of its unspent
    escrow share one write transaction. A reward that no longer fits
    under the cap (a bonus came in between) is refused: the assignment is released without pay
    (committed) and ``CapExceeded`` says why.
    """
    outcome = await db.run_write(
        _submit_in,
        policy,
        assignment_id,
        worker_id,
        now,
        label=label,
        text=text,
        from_draft=from_draft,
    )
    if isinstance(outcome, CapExceeded):
        raise outcome
    return outcome


async def _submit_in(
    tx: WriteTx,
    policy: Policy,
    assignment_id: int,
    worker_id: int,
    now: datetime,
    *,
    label: int | None,
    text: str | None,
    from_draft: bool,
) -> Credited | CapExceeded:
    """``submit``'s transaction: the credited answer, or the cap's refusal (the release kept)."""
    assignment = check_open(await get_assignment(tx, assignment_id), worker_id, now)
    batch = await _batch_in(tx, assignment.batch_id)
    if batch.state in ("cancelled", "done"):
        raise InvalidInput("tasks.refused.batch_closed")
    answer = _answer_of(batch, assignment, label=label, text=text, from_draft=from_draft)
    try:
        posted = await credit_reward(
            tx,
            batch_id=batch.escrow_batch_id,  # a review is paid by the batch it reviews
            worker_id=worker_id,
            assignment_id=assignment_id,
            amount=assignment.reward,
            at=now,
            tz=policy.zone,
            cap=policy.monthly_cap,
        )
    except CapExceeded as error:
        # The ledger refuses before writing anything: give the slot back, commit that.
        await end_active(tx, assignment_id, state="released", reason="cap", now=now)
        return error
    assert assignment.shown_at is not None
    duration_ms = max(0, int((now - assignment.shown_at).total_seconds() * 1000))
    if not await record_answer(tx, assignment_id, answer=answer, duration_ms=duration_ms, now=now):
        raise InvalidInput("tasks.refused.expired")  # rolls the credit back too
    item = await get_item(tx, assignment.item_id)
    if item is None:
        raise NotFound("tasks.refused.unknown")
    if not task_type(batch.type).fits_item(item.choices, answer):
        raise InvalidInput("error.bad_button")  # rolls the credit back too
    quality = await after_answer(
        tx,
        policy.quality,
        batch=batch,
        item=item,
        assignment=assignment,
        answer=answer,
        duration_ms=duration_ms,
        now=now,
        tz=policy.zone,
    )
    await reset_missed(tx, worker_id)
    stored = await get_assignment(tx, assignment_id)
    assert stored is not None
    # What the cap check just summed, plus this reward; summed again only on a replay.
    earned = posted.earned
    if earned is None:
        earned = await earned_in_month(tx, worker_account(worker_id), month_of(now, policy.zone))
    left = max(policy.monthly_cap - earned, 0)
    return Credited(
        assignment=stored,
        batch=batch,
        answer=answer,
        amount=assignment.reward,
        month_total=policy.monthly_cap - left,
        cap_left=left,
        quality=quality,
    )


def _answer_of(
    batch: Batch,
    assignment: Assignment,
    *,
    label: int | None,
    text: str | None,
    from_draft: bool,
) -> Any:
    if from_draft:
        return tags_answer(batch, assignment.draft)
    if label is not None:
        return label_answer(batch, label)
    if text is not None:
        return text_answer(batch, text)
    raise InvalidInput("error.bad_button")


async def skip(db: Database, assignment_id: int, worker_id: int, now: datetime) -> Assignment:
    """The worker passes on a task: the slot goes back to the pool, no pay, no penalty."""
    return await db.run_write(_skip_in, assignment_id, worker_id, now)


async def _skip_in(tx: WriteTx, assignment_id: int, worker_id: int, now: datetime) -> Assignment:
    check_open(await get_assignment(tx, assignment_id), worker_id, now)
    ended = await end_active(tx, assignment_id, state="skipped", reason="worker", now=now)
    await reset_missed(tx, worker_id)
    assert ended is not None
    return ended


async def pause_from_task(
    db: Database, assignment_id: int, worker_id: int, now: datetime
) -> Assignment | None:
    """The Pause button: pause pushes and give back the task it was pressed on, if still open.

    Refused for another worker's task; on the worker's own ended task it still pauses (the
    wish is about future tasks) and returns None.
    """
    return await db.run_write(_pause_in, assignment_id, worker_id, now)


async def _pause_in(
    tx: WriteTx, assignment_id: int, worker_id: int, now: datetime
) -> Assignment | None:
    assignment = await get_assignment(tx, assignment_id)
    if assignment is None:
        raise NotFound("tasks.refused.unknown")
    if assignment.worker_id != worker_id:
        raise PermissionDenied("tasks.refused.not_yours")
    ended = await end_active(tx, assignment_id, state="released", reason="paused", now=now)
    await set_paused(tx, worker_id, "worker", now)
    await reset_missed(tx, worker_id)
    return ended


async def release(
    db: Database, assignment_id: int, reason: str, now: datetime
) -> Assignment | None:
    """Give a slot back without pay (unreachable worker, never shown, cap); None if not active."""
    return await db.run_write(_release_in, assignment_id, reason, now)


async def _release_in(
    tx: WriteTx, assignment_id: int, reason: str, now: datetime
) -> Assignment | None:
    return await end_active(tx, assignment_id, state="released", reason=reason, now=now)


async def release_never_shown(db: Database, offered_before: datetime | None, now: datetime) -> int:
    """Give back, in one write, every slot claimed before ``offered_before`` (None: all) and
    never shown, as ``release`` would one by one (reason ``not_shown``); how many."""
    released = await db.run_write(
        release_never_shown_in,
        offered_before=offered_before,
        reason="not_shown",
        now=now,
    )
    return len(released)


async def expire(db: Database, assignment_id: int, now: datetime) -> Expired | None:
    """End an assignment whose deadline has passed; None when it is not active or not yet due.

    A worker who lets ``MISSED_IN_A_ROW_PAUSE`` pushed tasks in a row run out is paused.
    """
    return await db.run_write(_expire_in, assignment_id, now)


async def _expire_in(tx: WriteTx, assignment_id: int, now: datetime) -> Expired | None:
    ended = await end_active(
        tx, assignment_id, state="expired", reason="timeout", now=now, due_only=True
    )
    return None if ended is None else await _missed(tx, ended, now)


async def expire_due(db: Database, before: datetime, now: datetime, limit: int) -> list[Expired]:
    """End, in one write, up to ``limit`` assignments whose deadline is before ``before``
    (soonest first), each as ``expire`` would (a restarted bot finds thousands at once)."""
    return await db.run_write(_expire_due_in, before, now, limit)


async def _expire_due_in(tx: WriteTx, before: datetime, now: datetime, limit: int) -> list[Expired]:
    ended = await end_due(tx, before=before, now=now, limit=limit)
    return [await _missed(tx, assignment, now) for assignment in ended]


async def _missed(tx: WriteTx, ended: Assignment, now: datetime) -> Expired:
    """Count a task run out; ``MISSED_IN_A_ROW_PAUSE`` pushed ones in a row pause the worker."""
    paused = False
    missed = await record_missed(tx, ended.worker_id, now)
    if missed >= MISSED_IN_A_ROW_PAUSE and not ended.forced:
        paused = await set_paused(tx, ended.worker_id, "timeouts", now)
    return Expired(ended, paused)


async def _batch_in(tx: Tx, batch_id: int) -> Batch:
    batch = await get_batch(tx, batch_id)
    if batch is None:
        raise NotFound("tasks.refused.unknown")
    return batch
