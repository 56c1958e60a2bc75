"""Requester batches, the rules: a draft from an upload, its cost, publishing with escrow, pause,
resume, cancel with refund, progress, and who may see or touch a batch. No Telegram here.

Money moves only in ``publish`` (requester to escrow, the most possible cost) and ``cancel``
(what is left in escrow back to the requester); each shares one write transaction with the state
change it goes with, so a batch is never open without its hold nor cancelled with money stuck.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.callback_data import parse_id
from bot.errors import InsufficientFunds, InvalidInput, NotFound
from bot.estimate import WINDOW, Estimate, Pace, estimate_end
from bot.intake.prepare import PreparedBatch
from bot.intake.pricing import default_reward
from bot.ledger import escrow_account, hold_for_batch, release_remainder, requester_account
from bot.overlap import OVERLAP_RULE, is_dynamic
from bot.reputation import refresh
from bot.review import hold_needed, start_review
from bot.tasks import task_type
from storage import ledger as ledger_sql
from storage.assignments import end_active
from storage.audit import write_audit
from storage.batches import (
    AnswerStats,
    Batch,
    BatchLine,
    BatchState,
    EscrowFlows,
    ItemCounts,
    NewBatch,
    NewItem,
    NewMedia,
    active_assignment_ids,
    answer_stats,
    any_open_item,
    batch_lines,
    count_items,
    escrow_flows,
    get_batch,
    insert_draft,
    item_counts,
    set_batch_state,
    submitted_since,
)
from storage.db import Database, Tx, WriteTx
from storage.overlap import start_gate
from storage.reports import under_review

Origin = Literal["zip", "guided"]
LIST_LIMIT = 20
"""``/batches`` shows this many batches, newest first."""


@dataclass(frozen=True)
class Viewer:
    """Who asks: a requester sees and touches their own batches, an admin every batch."""

    user_id: int
    is_admin: bool = False

    def may_see(self, batch: Batch) -> bool:
        return self.is_admin or batch.requester_id == self.user_id


# Who may see or touch a batch ------------------------------------------------------------------


async def batch_for(db: Database, batch_id: int, viewer: Viewer) -> Batch:
    """The batch, if the viewer may see it; ``NotFound`` otherwise (existence is not revealed)."""
    async with db.read() as tx:
        return await visible_batch(tx, batch_id, viewer)


async def visible_batch(
    tx: Tx, batch_id: int, viewer: Viewer, *, owner_only: bool = False
) -> Batch:
    """The batch as ``tx`` sees it (in a write: locked), refused as ``NotFound`` to anyone else."""
    batch = await get_batch(tx, batch_id)
    if batch is None or not viewer.may_see(batch):
        raise NotFound("batches.not_found", id=batch_id)
    if owner_only and batch.requester_id != viewer.user_id:
        raise NotFound("batches.not_found", id=batch_id)
    return batch


def parse_batch_id(args: Sequence[str] | None, command: str) -> int:
    """The ``ID`` of ``/command ID``; ``InvalidInput`` (``batches.usage``) otherwise."""
    if not args or len(args) != 1:
        raise InvalidInput("batches.usage", command=command)
    return parse_id(args[0], "batches.usage", command=command)


# Drafts ----------------------------------------------------------------------------------------


def new_batch(
    prepared: PreparedBatch, *, requester_id: int, origin: Origin
) -> tuple[NewBatch, list[NewItem]]:
    """The rows a checked upload becomes: the batch and its items, in path order."""
    batch = NewBatch(
        requester_id=requester_id,
        settings=prepared.spec.settings,
        below_floor=prepared.quote.below_floor,
        origin=origin,
        review_reward=prepared.review_reward,
    )
    items = [
        NewItem(
            source_path=item.source_path,
            media=NewMedia(
                sha256=item.media.sha256,
                kind=item.kind,
                path=item.media.path,
                size_bytes=item.media.size_bytes,
                duration_ms=item.duration_ms,
                text=item.text,
            ),
            recording_path=item.recording_path,
            start_ms=item.start_ms,
            end_ms=item.end_ms,
            gold_answer=item.gold_answer,
            gold_why=item.gold_why,
        )
        for item in prepared.items
    ]
    return batch, items


async def create_draft(
    db: Database, prepared: PreparedBatch, *, requester_id: int, origin: Origin, now: datetime
) -> int:
    """Store a checked upload as a draft batch (no money moves); its id."""
    batch, items = new_batch(prepared, requester_id=requester_id, origin=origin)
    async with db.write() as tx:
        return await insert_draft(tx, batch, items, now)


@dataclass(frozen=True)
class Summary:
    """What a requester sees before publishing; amounts in cents."""

    batch: Batch
    items: int
    gold_items: int
    cost: int
    balance: int
    floor: int

    @property
    def below_floor(self) -> bool:
        """The reward pays less than the fair-pay floor (accepted, with a warning)."""
        return self.batch.reward < self.floor

    @property
    def shortfall(self) -> int:
        """Cents missing from the balance to publish (0 when it is enough)."""
        return max(0, self.cost - self.balance)


async def summarise(db: Database, batch: Batch, *, min_hourly_rate: int) -> Summary:
    """The summary before publishing: items, gold, the most possible cost and the balance."""
    async with db.read() as tx:
        counts = await item_counts(tx, batch.id)
        return Summary(
            batch=batch,
            items=counts.items,
            gold_items=counts.gold,
            cost=hold_needed(counts.items, batch, batch.review_reward),
            balance=await ledger_sql.account_balance(tx, requester_account(batch.requester_id)),
            floor=default_reward(batch.seconds_per_task, min_hourly_rate),
        )


# Publishing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A publish: the cost held, the requester's balance after, and False if it was already done."""

    batch_id: int
    cost: int
    balance: int
    created: bool


async def publish(
    db: Database, batch_id: int, viewer: Viewer, *, now: datetime, tz: ZoneInfo
) -> Published:
    """Open a draft and hold its most possible cost in escrow, in one transaction.

    Only the requester who owns the draft may publish it (it spends their budget). A balance too
    small raises ``InsufficientFunds`` (``batches.publish_short``, with the shortfall) and
    writes nothing; publishing a batch already published holds nothing more. The requester's
    reputation line is refreshed once it is open (tasks are claimed with it as cached).
    """
    published, requester_id = await _publish(db, batch_id, viewer, now=now, tz=tz)
    if published.created:
        await refresh(db, requester_id, now)
    return published


async def _publish(
    db: Database, batch_id: int, viewer: Viewer, *, now: datetime, tz: ZoneInfo
) -> tuple[Published, int]:
    """``publish``'s transaction: what it did, and the batch's requester."""
    async with db.write() as tx:
        batch = await visible_batch(tx, batch_id, viewer, owner_only=True)
        account = requester_account(batch.requester_id)
        cost = hold_needed((await count_items(tx, batch_id))[0], batch, batch.review_reward)
        balance = await ledger_sql.account_balance(tx, account)
        if batch.state in ("open", "paused", "done"):
            return Published(batch_id, cost, balance, created=False), batch.requester_id
        if batch.state != "draft":
            raise InvalidInput("batches.not_a_draft", id=batch_id, state=batch.state)
        if balance < cost:
            raise InsufficientFunds(
                "batches.publish_short",
                id=batch_id,
                cost_cents=cost,
                balance_cents=balance,
                shortfall_cents=cost - balance,
            )
        await set_batch_state(tx, batch_id, expected=["draft"], new="open", now=now)
        await open_gate_if_dynamic(tx, batch)
        await hold_for_batch(
            tx,
            requester_id=batch.requester_id,
            batch_id=batch_id,
            amount=cost,
            actor_id=viewer.user_id,
            now=now,
            tz=tz,
        )
        return Published(batch_id, cost, balance - cost, created=True), batch.requester_id


# Pause, resume, cancel -------------------------------------------------------------------------


async def _move(
    db: Database,
    batch_id: int,
    viewer: Viewer,
    *,
    expected: Sequence[BatchState],
    new: BatchState,
    refusal: str,
    now: datetime,
) -> Batch:
    async with db.write() as tx:
        batch = await visible_batch(tx, batch_id, viewer)
        if not await set_batch_state(tx, batch_id, expected=expected, new=new, now=now):
            raise InvalidInput(refusal, id=batch_id, state=batch.state)
        await _audit_if_admin(tx, viewer, batch, f"batch.{new}", now)
        moved = await get_batch(tx, batch_id)
    assert moved is not None
    return moved


async def pause(db: Database, batch_id: int, viewer: Viewer, *, now: datetime) -> Batch:
    """Stop offering an open batch's tasks (tasks already shown may still be answered)."""
    return await _move(
        db,
        batch_id,
        viewer,
        expected=["open"],
        new="paused",
        refusal="batches.cannot_pause",
        now=now,
    )


async def resume(db: Database, batch_id: int, viewer: Viewer, *, now: datetime) -> Batch:
    """Offer a paused batch's tasks again (a batch that reports paused waits for an admin)."""
    if not viewer.is_admin and await db.run_read(under_review, batch_id):
        raise InvalidInput("reports.under_review", id=batch_id)
    return await _move(
        db,
        batch_id,
        viewer,
        expected=["paused"],
        new="open",
        refusal="batches.cannot_resume",
        now=now,
    )


@dataclass(frozen=True)
class Cancelled:
    """A cancel: what went back to the requester, what workers kept, and tasks cut short."""

    batch: Batch
    refunded: int
    spent: int
    released_tasks: int


async def cancel(
    db: Database,
    batch_id: int,
    viewer: Viewer,
    *,
    now: datetime,
    tz: ZoneInfo,
    drafts_only: bool = False,
) -> Cancelled:
    """Cancel a batch and return its unspent escrow to the requester, in one transaction.

    Answers already given stay paid. Tasks being answered at that moment are released (their
    workers are free for other tasks; a late answer is refused as for any closed batch).
    ``drafts_only`` is the Discard button of a draft: only the owner, only a draft.
    """
    async with db.write() as tx:
        batch = await visible_batch(tx, batch_id, viewer, owner_only=drafts_only)
        expected: list[BatchState] = ["draft"] if drafts_only else ["draft", "open", "paused"]
        key = "batches.cannot_discard" if drafts_only else "batches.cannot_cancel"
        if not await set_batch_state(tx, batch_id, expected=expected, new="cancelled", now=now):
            raise InvalidInput(key, id=batch_id, state=batch.state)
        released = 0
        for assignment_id in await active_assignment_ids(tx, batch_id):
            if await end_active(
                tx, assignment_id, state="released", reason="batch_cancelled", now=now
            ):
                released += 1
        refund = await release_remainder(
            tx, batch_id=batch.escrow_batch_id, actor_id=viewer.user_id, now=now, tz=tz
        )
        await _audit_if_admin(tx, viewer, batch, "batch.cancelled", now)
        flows = await escrow_flows(tx, escrow_account(batch.escrow_batch_id))
        cancelled = await get_batch(tx, batch_id)
    assert cancelled is not None
    return Cancelled(cancelled, refund.transfer.amount if refund else 0, flows.spent, released)


def buys_dynamically(batch: Batch) -> bool:
    """Whether a batch buys answers by dynamic overlap (``bot/refit.py``): a single-choice label
    batch asking for more answers per item than the rule's least."""
    return (
        task_type(batch.type).buys_dynamically
        and not batch.multiple
        and is_dynamic(batch.answers_per_item)
    )


async def open_gate_if_dynamic(tx: WriteTx, batch: Batch) -> bool:
    """At publish: a batch that buys answers dynamically hands out each item's first
    ``OVERLAP_RULE.least`` answers, and refits decide the rest (``bot/refit.py``)."""
    if not buys_dynamically(batch):
        return False
    await start_gate(tx, batch.id, OVERLAP_RULE.least)
    return True


async def end_if_complete(tx: WriteTx, batch_id: int, *, now: datetime, tz: ZoneInfo) -> int | None:
    """End a batch whose items are all complete: ``done``, and its unspent escrow returned, or
    its review step started (the escrow then pays the review; ``bot/review.py``).

    For the worker loop, inside the write transaction that completed an item. Returns the cents
    returned to the requester, or None when the batch goes on (or was not open or paused).
    """
    if await any_open_item(tx, batch_id):
        return None
    if not await set_batch_state(tx, batch_id, expected=["open", "paused"], new="done", now=now):
        return None
    batch = await get_batch(tx, batch_id)
    assert batch is not None
    if await start_review(tx, batch, now) is not None:
        return 0
    refund = await release_remainder(
        tx, batch_id=batch.escrow_batch_id, actor_id=None, now=now, tz=tz
    )
    return refund.transfer.amount if refund else 0


async def _audit_if_admin(
    tx: WriteTx, viewer: Viewer, batch: Batch, action: str, now: datetime
) -> None:
    """An admin acting on someone else's batch is an admin action: it goes to the audit log."""
    if viewer.is_admin and batch.requester_id != viewer.user_id:
        detail = {"batch_id": batch.id, "requester_id": batch.requester_id, "from": batch.state}
        await write_audit(tx, actor_id=viewer.user_id, action=action, detail=detail, now=now)


# Progress --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What ``/batch ID`` shows: items done, answers collected, escrow, median answer time."""

    batch: Batch
    items: ItemCounts
    answers: AnswerStats
    escrow: EscrowFlows
    pace: Pace
    measured_at: datetime

    @property
    def estimate(self) -> Estimate | None:
        """The estimated end of an open batch, once enough answers were measured."""
        if self.batch.state != "open":
            return None
        remaining = self.answers_wanted - self.answers.submitted
        return estimate_end(self.pace, remaining, self.measured_at)

    @property
    def answers_wanted(self) -> int:
        """The most answers the batch can collect."""
        return self.items.items * self.batch.answers_per_item

    @property
    def median_answer_ms(self) -> int | None:
        """The median time workers took to answer, once answers exist."""
        if not self.answers.durations_ms:
            return None
        return int(statistics.median(self.answers.durations_ms))


async def progress(db: Database, batch_id: int, viewer: Viewer, *, now: datetime) -> Progress:
    """A batch's progress at ``now``, for its requester or an admin."""
    async with db.read() as tx:
        batch = await visible_batch(tx, batch_id, viewer)
        answers = await answer_stats(tx, batch_id)
        return Progress(
            batch=batch,
            items=await item_counts(tx, batch_id),
            answers=answers,
            escrow=await escrow_flows(tx, escrow_account(batch.escrow_batch_id)),
            pace=Pace(
                last_hour=await submitted_since(tx, batch_id, now - WINDOW),
                since_publish=answers.submitted,
                published_at=batch.published_at,
            ),
            measured_at=now,
        )


async def list_batches(db: Database, viewer: Viewer) -> list[BatchLine]:
    """The viewer's batches (an admin: everyone's), newest first, at most ``LIST_LIMIT``."""
    async with db.read() as tx:
        return await batch_lines(tx, None if viewer.is_admin else viewer.user_id, limit=LIST_LIMIT)
