"""Domain room of task reports (issue 14; no Telegram).

A worker reports the task in front of them (broken media, unclear instructions, offensive
content, fake engagement): in one write transaction the report is recorded (one per task), the
task is released without penalty, and when ``threshold`` distinct workers have reported the
batch since its last review, an open batch pauses and waits for an admin. The admin resumes it
(its reports dismissed) or keeps it paused (its reports upheld, which the requester's reputation
counts). A requester cannot resume a batch under review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.answers import check_open
from bot.errors import InvalidInput, NotFound
from bot.reputation import recompute
from storage.assignments import Assignment, end_active, get_assignment
from storage.audit import write_audit
from storage.availability import reset_missed
from storage.batches import Batch, get_batch, set_batch_state
from storage.db import Database, Tx
from storage.reports import (
    close_review,
    decide_reports,
    get_review,
    insert_report,
    open_reasons,
    open_reporters,
    open_review,
)

REASONS = ("broken_media", "unclear", "offensive", "fake_engagement")
"""Why a task is reported; a button carries the reason's index."""
RELEASED_REPORTED = "reported"  # end_reason of a reported task


@dataclass(frozen=True)
class Reported:
    """A report taken: the task released, the batch, and whether this report paused it."""

    assignment: Assignment
    batch: Batch
    reason: str
    reporters: int  # distinct workers reporting the batch since its last review
    paused: bool
    reasons: dict[str, int]  # the batch's open reports by reason


@dataclass(frozen=True)
class Decision:
    """An admin's review: the batch as it now stands and whether it was resumed."""

    batch: Batch
    resumed: bool


def reason_named(index: int) -> str:
    """The reason a button's index stands for; ``InvalidInput`` for a forged one."""
    if not 0 <= index < len(REASONS):
        raise InvalidInput("error.bad_button")
    return REASONS[index]


async def report_task(
    db: Database, assignment_id: int, worker_id: int, reason: str, *, threshold: int, now: datetime
) -> Reported:
    """Report the worker's open task; refused (and nothing changes) for any other task."""
    async with db.write() as tx:
        check_open(await get_assignment(tx, assignment_id), worker_id, now)
        ended = await end_active(
            tx, assignment_id, state="released", reason=RELEASED_REPORTED, now=now
        )
        assert ended is not None  # check_open found it active in this transaction
        batch = await _batch(tx, ended.batch_id)
        await insert_report(
            tx,
            assignment_id=assignment_id,
            batch_id=batch.id,
            requester_id=batch.requester_id,
            worker_id=worker_id,
            reason=reason,
            now=now,
        )
        await reset_missed(tx, worker_id)
        reporters = await open_reporters(tx, batch.id)
        paused = reporters >= threshold and await set_batch_state(
            tx, batch.id, expected=["open"], new="paused", now=now
        )
        if paused:
            await open_review(tx, batch.id, reporters, now)
        reasons = await open_reasons(tx, batch.id)
    return Reported(ended, batch, reason, reporters, paused, reasons)


async def decide_review(
    db: Database, batch_id: int, admin_id: int, *, resume: bool, now: datetime
) -> Decision:
    """Resume a batch paused by reports (reports dismissed) or keep it paused (upheld)."""
    async with db.write() as tx:
        review = await get_review(tx, batch_id)
        if review is None or not await close_review(
            tx, batch_id, "resumed" if resume else "kept", admin_id, now
        ):
            raise InvalidInput("reports.review_decided", id=batch_id)
        if resume:
            await set_batch_state(tx, batch_id, expected=["paused"], new="open", now=now)
        else:
            await set_batch_state(tx, batch_id, expected=["open"], new="paused", now=now)
        count = await decide_reports(
            tx, batch_id, "dismissed" if resume else "upheld", admin_id, now
        )
        batch = await _batch(tx, batch_id)
        await write_audit(
            tx,
            actor_id=admin_id,
            action="review.resumed" if resume else "review.kept",
            detail={"batch_id": batch_id, "requester_id": batch.requester_id, "reports": count},
            now=now,
        )
        await recompute(tx, batch.requester_id, now)
    return Decision(batch, resume)


async def _batch(tx: Tx, batch_id: int) -> Batch:
    batch = await get_batch(tx, batch_id)
    if batch is None:
        raise NotFound("tasks.refused.unknown")
    return batch
