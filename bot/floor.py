"""Domain room of the kept fair-pay floor (no Telegram): measured time sets the pay.

While a batch runs, the median time of its answers sets its effective rate (Prolific's rule,
FIELD-NOTES). A pass over a batch reads what it owes, then pays it in one write transaction:

1. once it has ``min_answers`` answers, the reward rises to what pays ``MIN_HOURLY_RATE`` at the
   median time, the extra escrow for the answer slots left held from the requester's budget;
2. every answer not yet topped up gets a top-up from the requester's budget (key
   ``topup:answer:ID``, a ``bonus`` transfer, within the monthly cap) to the larger of the
   batch's reward and what pays the floor at the answer's own measured time, so each worker's
   effective rate on every batch ends at or above the floor;
3. when the budget cannot cover both, nothing moves and an open batch pauses (the requester is
   told once, when it pauses; resuming with budget lets the next pass pay).

One top-up per answer, ever: its target already pays the floor at the answer's own time, so a
later raise of the batch's reward (for answers to come) owes it nothing more.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.errors import CapExceeded
from bot.fairpay import reward_for_floor
from bot.ledger import NewTransfer, escrow_account, grant_bonus, post, requester_account
from storage import floor as sql
from storage import ledger as ledger_sql
from storage import results as results_sql
from storage.batches import Batch, get_batch, set_batch_state
from storage.db import Database, Tx, WriteTx

log = logging.getLogger(__name__)

MIN_ANSWERS_FOR_RAISE = 10


def answer_target(reward_now: int, floor: int, duration_ms: int) -> int:
    """What one answer should have paid in all: the batch's reward now, or the floor at the
    answer's own measured time when that is more."""
    return max(reward_now, reward_for_floor(floor, duration_ms))


def raised_reward(reward: int, floor: int, durations: list[int], min_answers: int) -> int:
    """The reward for answers to come: the floor at the median time once measured enough."""
    if len(durations) < min_answers:
        return reward
    return max(reward, reward_for_floor(floor, statistics.median(durations)))


@dataclass
class FloorNews:
    """What one pass did to one batch: who to tell and what."""

    batch: Batch
    old_reward: int
    new_reward: int
    extra_escrow: int = 0
    topups: dict[int, int] = field(default_factory=dict)  # worker id: cents
    topup_answers: dict[int, int] = field(default_factory=dict)  # worker id: answers
    paused_short: int = 0  # cents missing when the batch paused for want of budget
    over_cap: tuple[int, ...] = ()

    @property
    def topped(self) -> int:
        return sum(self.topups.values())


Fingerprint = tuple[int, int, str, int, int]
"""The floor, a batch's reward and state, its requester's balance, its submitted answers."""


@dataclass
class FloorMemo:
    """Batches whose last look moved nothing (nothing owed, or owing what the budget cannot pay
    while the batch is already paused or ended), each with its ``Fingerprint`` then. While that
    is unchanged a look would find the same, so a pass does not read the batch's answers again.
    Only a skip: every decision is made on the database, and an empty memo (a restart, another
    process) reads everything."""

    quiet: dict[int, Fingerprint] = field(default_factory=dict)


async def enforce_floor(
    db: Database,
    *,
    floor: int,
    now: datetime,
    tz: ZoneInfo,
    cap: int,
    min_answers: int = MIN_ANSWERS_FOR_RAISE,
    memo: FloorMemo | None = None,
) -> list[FloorNews]:
    """One pass over every batch that may owe its workers something; what changed, per batch.

    Per batch, what it owes is read in a read transaction (every answer of a batch: the long
    part), then paid in a short write transaction of its own, so answers being credited never
    wait behind the reading and one batch's money never waits on another's. An ended batch found
    owing nothing is settled in the database and no pass reads it again at this floor. With
    ``memo``, a batch whose last look moved nothing is not read again until its fingerprint
    changes."""
    memo = memo if memo is not None else FloorMemo()
    async with db.read() as tx:
        batch_ids = await sql.batches_to_enforce(tx, floor=floor)
    news: list[FloorNews] = []
    for batch_id in batch_ids:
        async with db.read() as tx:
            seen = await _fingerprint(tx, batch_id, floor)
            if seen is None or memo.quiet.get(batch_id) == seen:
                continue
            plan = await _plan(tx, batch_id, floor, min_answers)
        memo.quiet.pop(batch_id, None)
        if plan is None:
            memo.quiet[batch_id] = seen
            if seen[2] in sql.ENDED_STATES:  # owes nothing now, so never again at this floor
                async with db.write() as wtx:
                    await sql.settle(wtx, batch_id, floor=floor)
            continue
        async with db.write() as wtx:
            found = await _pay(wtx, plan, now, tz, cap)
            if found is None and await _fingerprint(wtx, batch_id, floor) == seen:
                memo.quiet[batch_id] = seen  # nothing moved, nothing changed meanwhile
        if found is not None:
            news.append(found)
    return news


async def _fingerprint(tx: Tx, batch_id: int, floor: int) -> Fingerprint | None:
    batch = await get_batch(tx, batch_id)
    if batch is None:
        return None
    balance = await ledger_sql.account_balance(tx, requester_account(batch.requester_id))
    submitted = await results_sql.submitted_count(tx, batch_id)
    return (floor, batch.reward, batch.state, balance, submitted)


@dataclass(frozen=True)
class FloorPlan:
    """What one batch owes, as read: the batch then, the reward it should have, and each answer
    to top up with its amount."""

    batch: Batch
    reward: int
    owed: tuple[tuple[sql.PaidAnswer, int], ...]


async def _plan(tx: Tx, batch_id: int, floor: int, min_answers: int) -> FloorPlan | None:
    batch = await get_batch(tx, batch_id)
    if batch is None:
        return None
    reward = batch.reward
    if batch.state in ("open", "paused"):
        durations = [d for _, d in await results_sql.timed_answers(tx, batch_id)]
        reward = raised_reward(batch.reward, floor, durations, min_answers)
    owed = [
        (answer, answer_target(reward, floor, answer.duration_ms) - answer.reward)
        for answer in await sql.untopped_answers(tx, batch_id, reward=reward, floor=floor)
    ]
    owed = [(answer, amount) for answer, amount in owed if amount > 0]
    if not owed and reward == batch.reward:
        return None
    return FloorPlan(batch, reward, tuple(owed))


async def _pay(
    tx: WriteTx, plan: FloorPlan, now: datetime, tz: ZoneInfo, cap: int
) -> FloorNews | None:
    """Carry out ``plan`` unless its batch changed reward or state since it was read (the next
    pass plans again). Answers submitted since wait for the next pass; an answer another pass
    topped up since keeps its one top-up (same key, same amount) and is not told twice."""
    batch = await get_batch(tx, plan.batch.id)
    if batch is None or (batch.reward, batch.state) != (plan.batch.reward, plan.batch.state):
        return None
    reward, owed = plan.reward, plan.owed
    slots = await results_sql.remaining_slots(tx, batch.id) if reward > batch.reward else 0
    extra = slots * (reward - batch.reward)
    needed = extra + sum(amount for _, amount in owed)
    account = requester_account(batch.requester_id)
    balance = await ledger_sql.account_balance(tx, account)
    if balance < needed:
        paused = await set_batch_state(tx, batch.id, expected=["open"], new="paused", now=now)
        if not paused:
            return None  # already paused (told then) or ended: the next pass tries again
        return FloorNews(batch, batch.reward, batch.reward, paused_short=needed - balance)
    news = FloorNews(batch, batch.reward, reward, extra_escrow=extra)
    if reward > batch.reward:
        await _hold_raise(tx, batch, reward, extra, now, tz)
    over: list[int] = []
    for answer, amount in owed:
        try:
            posted = await grant_bonus(
                tx,
                from_account=account,
                worker_id=answer.worker_id,
                amount=amount,
                key=sql.topup_key(answer.assignment_id),
                actor_id=batch.requester_id,
                at=now,
                tz=tz,
                cap=cap,
                memo=f"fair-pay top-up, batch {batch.id}",
            )
        except CapExceeded:  # the monthly cap still holds: this answer stays as it is
            over.append(answer.worker_id)
            continue
        if not posted.created:
            continue
        news.topups[answer.worker_id] = news.topups.get(answer.worker_id, 0) + amount
        news.topup_answers[answer.worker_id] = news.topup_answers.get(answer.worker_id, 0) + 1
    news.over_cap = tuple(sorted(set(over)))
    if reward == batch.reward and not news.topups and not over:
        return None  # every top-up planned was paid by another pass since
    return news


async def _hold_raise(
    tx: WriteTx, batch: Batch, reward: int, extra: int, now: datetime, tz: ZoneInfo
) -> None:
    """Hold the extra escrow for the slots left and set the new reward, together."""
    if extra > 0:
        number = await results_sql.raise_holds(tx, batch.id) + 1
        hold = NewTransfer(
            "hold",
            extra,
            requester_account(batch.requester_id),
            escrow_account(batch.id),
            f"hold:batch:{batch.id}:raise:{number}",
            batch.requester_id,
            now,
            f"fair-pay floor kept: reward {reward}",
        )
        await post(tx, hold, tz=tz)
    await results_sql.set_reward(tx, batch.id, reward)
    log.info(
        "batch %s reward raised from %s to %s to keep the floor", batch.id, batch.reward, reward
    )
