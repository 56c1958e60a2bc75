"""Paying requesters' workers more: the fair-pay alert, raising a batch's reward, bonuses.

Plain rules over storage (no Telegram). Every money movement goes through the ledger inside one
write transaction with the change it goes with: a raise holds the extra escrow and updates the
reward together; a bonus pays each worker under an idempotency key naming the command message,
so a command delivered twice pays once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.batches import Viewer, visible_batch
from bot.errors import CapExceeded, InsufficientFunds, InvalidInput, NotFound
from bot.fairpay import FairPayAssessment, TimedAnswer, assess_fair_pay, median_hourly_rate
from bot.ledger import NewTransfer, escrow_account, grant_bonus, post, requester_account
from bot.results import batch_results
from storage import assignments as assignments_sql
from storage import health as health_sql
from storage import ledger as ledger_sql
from storage import results as sql
from storage.batches import Batch, get_batch
from storage.db import Database

# Fair pay --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FairPayNews:
    """A batch just found paying below the floor: who to tell and what to offer."""

    batch: Batch
    assessment: FairPayAssessment
    remaining_slots: int


async def check_fair_pay(
    db: Database, *, floor: int, now: datetime, min_answers: int = 20
) -> list[FairPayNews]:
    """Assess every open batch not told yet with ``min_answers`` answers; record and return
    those below the floor (each batch is returned once in its life)."""
    news = []
    async with db.read() as tx:
        batch_ids = await sql.batches_to_check(tx, min_answers=min_answers)
    for batch_id in batch_ids:  # one write transaction per batch: assess, then record
        async with db.write() as tx:
            batch = await get_batch(tx, batch_id)
            if batch is None:
                continue
            answers = [TimedAnswer(r, d) for r, d in await sql.timed_answers(tx, batch_id)]
            slots = await sql.remaining_slots(tx, batch_id)
            assessment = assess_fair_pay(answers, floor, batch.reward, slots, min_answers)
            if not assessment.alert:
                continue
            assert assessment.median_rate is not None
            assert assessment.median_duration_ms is not None
            recorded = await sql.record_alert(
                tx,
                batch_id=batch_id,
                now=now,
                answers=assessment.answers,
                median_rate=assessment.median_rate,
                median_duration_ms=assessment.median_duration_ms,
                reward=batch.reward,
                suggested_reward=assessment.suggested_reward_cents,
            )
        if recorded:
            news.append(FairPayNews(batch, assessment, slots))
    return news


@dataclass(frozen=True)
class Raised:
    """A raise: the new reward, the extra escrow held, and False if it had already been made."""

    batch_id: int
    old_reward: int
    new_reward: int
    extra: int
    slots: int
    created: bool


async def raise_reward(
    db: Database, batch_id: int, user_id: int, *, now: datetime, tz: ZoneInfo
) -> Raised:
    """Raise a batch's reward to the one its fair-pay alert suggested, for the slots left.

    Only the batch's requester may (it spends their budget); anyone else gets ``NotFound``. The
    extra escrow (slots left x difference) is held under ``hold:batch:ID:raise:N`` and the
    reward updated in one transaction; a balance too small raises ``InsufficientFunds`` with
    the shortfall and changes nothing; a second press finds the reward raised and does nothing.
    """
    async with db.write() as tx:
        batch = await get_batch(tx, batch_id)
        if batch is None or batch.requester_id != user_id:
            raise NotFound("batches.not_found", id=batch_id)
        alert = await sql.get_alert(tx, batch_id)
        if alert is None:
            raise InvalidInput("fairpay.no_alert", id=batch_id)
        new = alert.suggested_reward
        if batch.reward >= new:
            return Raised(batch_id, batch.reward, batch.reward, 0, 0, created=False)
        if batch.state not in ("open", "paused"):
            raise InvalidInput("fairpay.closed", id=batch_id)
        slots = await sql.remaining_slots(tx, batch_id)
        extra = slots * (new - batch.reward)
        account = requester_account(user_id)
        balance = await ledger_sql.account_balance(tx, account)
        if balance < extra:
            raise InsufficientFunds(
                "fairpay.raise_short",
                id=batch_id,
                extra_cents=extra,
                balance_cents=balance,
                shortfall_cents=extra - balance,
            )
        if extra > 0:
            number = await sql.raise_holds(tx, batch_id) + 1
            hold = NewTransfer(
                "hold",
                extra,
                account,
                escrow_account(batch_id),
                f"hold:batch:{batch_id}:raise:{number}",
                user_id,
                now,
                f"fair-pay raise to {new}",
            )
            await post(tx, hold, tz=tz)
        await sql.set_reward(tx, batch_id, new)
        await sql.mark_raised(tx, batch_id, actor_id=user_id, extra_escrow=extra, now=now)
    return Raised(batch_id, batch.reward, new, extra, slots, created=True)


# Bonuses ---------------------------------------------------------------------------------------


def parse_accuracy(text: str) -> float:
    """A minimum accuracy typed as ``0.8``, ``0,8`` or ``80%``; ``InvalidInput`` otherwise."""
    cleaned = text.strip().replace(",", ".")
    percent = cleaned.endswith("%")
    try:
        number = float(cleaned.rstrip("%"))
    except ValueError:
        raise InvalidInput("bonus.bad_accuracy", text=text) from None
    if percent or number > 1:
        number /= 100
    if not 0 <= number <= 1:
        raise InvalidInput("bonus.bad_accuracy", text=text)
    return number


@dataclass(frozen=True)
class BonusRun:
    """A bonus to a batch's workers: who was paid now, who before, who was over the cap."""

    batch: Batch
    amount: int
    paid: tuple[int, ...]
    already: tuple[int, ...]
    over_cap: tuple[int, ...]
    below_accuracy: int

    @property
    def total(self) -> int:
        return self.amount * len(self.paid)


def bonus_key(batch_id: int, chat_id: int, message_id: int, worker_id: int) -> str:
    """The idempotency key of one worker's share of one ``/bonus`` command (a message id is
    only unique within its chat)."""
    return f"bonus:batch:{batch_id}:{chat_id}:{message_id}:worker:{worker_id}"


async def send_bonus(
    db: Database,
    batch_id: int,
    user_id: int,
    *,
    amount: int,
    chat_id: int,
    message_id: int,
    min_accuracy: float | None,
    now: datetime,
    tz: ZoneInfo,
    cap: int,
) -> BonusRun:
    """Pay ``amount`` from the requester's budget to each worker of their batch.

    With ``min_accuracy`` only workers whose accuracy in the batch reaches it (Dawid-Skene for
    labels, the mean score against gold or the voted text for transcription). The total for
    workers not yet paid must fit the balance, else ``InsufficientFunds`` with the shortfall and
    nothing moves. A worker the bonus would take over the monthly cap is skipped; the reward of
    a worker's active task stays reserved under the cap, so a bonus never makes that task unpaid.
    """
    viewer = Viewer(user_id)
    async with db.read() as tx:
        batch = await visible_batch(tx, batch_id, viewer)
        workers = await sql.answering_workers(tx, batch_id)
    if not workers:
        raise InvalidInput("bonus.no_workers", id=batch_id)
    below = 0
    if min_accuracy is not None:
        results = await batch_results(db, batch_id, viewer, now=now)
        chosen = [w for w in workers if results.worker_accuracy.get(w, 0.0) >= min_accuracy]
        below = len(workers) - len(chosen)
        workers = chosen
    if not workers:
        raise InvalidInput("bonus.nobody_above", id=batch_id, count=below)
    command = (chat_id, message_id)
    return await _pay_bonuses(db, batch, workers, amount, command, below, now, tz, cap)


async def _pay_bonuses(
    db: Database,
    batch: Batch,
    workers: Sequence[int],
    amount: int,
    command: tuple[int, int],
    below: int,
    now: datetime,
    tz: ZoneInfo,
    cap: int,
) -> BonusRun:
    account = requester_account(batch.requester_id)
    paid: list[int] = []
    already: list[int] = []
    over: list[int] = []
    async with db.write() as tx:
        keys = {w: bonus_key(batch.id, *command, w) for w in workers}
        pending = [w for w in workers if await ledger_sql.transfer_by_key(tx, keys[w]) is None]
        balance = await ledger_sql.account_balance(tx, account)
        needed = amount * len(pending)
        if balance < needed:
            raise InsufficientFunds(
                "bonus.short",
                total_cents=needed,
                balance_cents=balance,
                shortfall_cents=needed - balance,
                count=len(pending),
            )
        for worker in workers:
            try:
                posted = await grant_bonus(
                    tx,
                    from_account=account,
                    worker_id=worker,
                    amount=amount,
                    key=keys[worker],
                    actor_id=batch.requester_id,
                    at=now,
                    tz=tz,
                    cap=cap - await assignments_sql.active_reward(tx, worker),
                    memo=f"bonus, batch {batch.id}",
                )
            except CapExceeded:
                over.append(worker)  # refused before anything was written: carry on
                continue
            (paid if posted.created else already).append(worker)
    return BonusRun(batch, amount, tuple(paid), tuple(already), tuple(over), below)


# Platform health -------------------------------------------------------------------------------

RATE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PlatformHealth:
    """What ``/health`` adds to the ledger line."""

    median_rate: float | None  # cents per hour over the last RATE_WINDOW
    rated_answers: int
    answers_hour: int
    answers_day: int
    active_workers: int
    open_batches: int
    paused_batches: int


async def platform_health(db: Database, now: datetime) -> PlatformHealth:
    """The median effective hourly rate of the last 7 days, answers, workers, batches."""
    async with db.read() as tx:
        timed = [
            TimedAnswer(r, d)
            for r, d in await health_sql.timed_answers_since(tx, now - RATE_WINDOW)
        ]
        states = await health_sql.batches_by_state(tx)
        day = now - timedelta(days=1)
        return PlatformHealth(
            median_rate=median_hourly_rate(timed),
            rated_answers=len(timed),
            answers_hour=await health_sql.answers_since(tx, now - timedelta(hours=1)),
            answers_day=await health_sql.answers_since(tx, day),
            active_workers=await health_sql.active_workers(tx, day),
            open_batches=states.get("open", 0),
            paused_batches=states.get("paused", 0),
        )
