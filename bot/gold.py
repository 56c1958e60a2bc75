"""Quality in the worker loop: gold mixing, scoring, pauses, speed flags, early stopping, stats.

The glue between the pure rules (``bot.quality``, ``bot.aggregation``, ``bot.fairpay``) and
storage; no Telegram here. ``after_answer`` runs inside the answer's write transaction, so the
score, a pause, the item's completion, released assignments and the batch's end are committed
with the answer and its pay, or not at all.
Decisions: ``docs/decisions/0008-quality-in-the-loop.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from bot.aggregation import StopDecision
from bot.batches import end_if_complete
from bot.fairpay import TimedAnswer, pooled_hourly_rate
from bot.ledger import escrow_account
from bot.levels import refresh_level
from bot.quality import (
    AccuracyEstimate,
    LevelStatus,
    PauseDecision,
    QualityPolicy,
    SpeedDecision,
    SpeedPolicy,
    TaskType,
    choose_gold,
    estimate_accuracy,
    next_gold_item,
    worker_level,
)
from bot.tasks import TASK_TYPES as TASK_TYPE_REGISTRY
from bot.tasks import task_type as type_named
from bot.tasks.base import Given, StopThresholds
from bot.training import Feedback, feedback_for
from storage.assignments import (
    Assignment,
    answers_of_item,
    complete_gold_if_rest_done,
    complete_item,
    release_active_of_items,
    submitted_count_in,
    tasks_done,
)
from storage.batches import Batch, Item, count_items, escrow_flows
from storage.db import Database, WriteTx
from storage.quality import (
    GoldView,
    TypePause,
    flag_speed,
    gold_scores,
    gold_scores_by_type,
    gold_scores_of_workers,
    last_lift,
    pause_type_in,
    recent_speed_flags,
    record_gold,
    speed_flags_by_type,
    submitted_rewards,
    type_pauses,
)
from storage.review import review_batch_of
from storage.users import get_user

ROUTE_WINDOW = timedelta(seconds=30)
"""How long a slot a refit opens waits for one of the batch's preferred workers before anyone
may take it (``bot/refit.py``)."""
ITEM_COMPLETE = "item_complete"  # end_reason of an assignment released by early stopping
TASK_TYPES = cast(tuple[TaskType, ...], tuple(TASK_TYPE_REGISTRY))  # every type, registry order


@dataclass(frozen=True)
class QualityRules:
    """The quality settings of the loop; tests pass small thresholds through ``Services``."""

    pause: QualityPolicy = field(default_factory=QualityPolicy)
    speed: SpeedPolicy = field(default_factory=SpeedPolicy)
    gold_share: float = 1 / 8
    label_stop: float = 0.95  # weighted-vote confidence that completes a label item early
    text_stop: float = 0.9  # medoid confidence that completes a transcription item early
    training_items: int = 3  # a worker's first gold answers of a type are their training
    route_window: timedelta = ROUTE_WINDOW  # a refit's new slot waits this for preferred workers

    @property
    def stop_thresholds(self) -> StopThresholds:
        return StopThresholds(self.label_stop, self.text_stop)

    def gold_picker(self) -> GoldPicker:
        return GoldPicker(self.gold_share, self.training_items)


@dataclass(frozen=True)
class GoldPicker:
    """The gold-mixing rule as ``claim_next`` calls it, inside the claim's transaction.

    A worker still in training on the batch's type (fewer than ``training_items`` gold answers
    of it) gets the batch's unseen gold items first (``bot/training.py``)."""

    share: float
    training_items: int = 0

    def __call__(self, view: GoldView) -> int | None:
        seed = gold_seed(view.secret, view.batch_id, view.worker_id)
        if view.type_gold_answers < self.training_items:
            return next_gold_item(view.gold_item_ids, view.seen_item_ids, seed)
        return choose_gold(
            view.served,
            view.gold_item_ids,
            view.seen_item_ids,
            seed,
            self.share,
        )


def gold_seed(secret: str, batch_id: int, worker_id: int) -> str:
    """Per worker and batch, unknowable without the server's secret."""
    return f"{secret}:{batch_id}:{worker_id}"


# -- converting stored answers -----------------------------------------------------------------


def clip_ms(item: Item) -> int | None:
    """The length of an item's audio: the chunk's span, else the media's duration."""
    if item.start_ms is not None and item.end_ms is not None:
        return item.end_ms - item.start_ms
    return item.duration_ms


def accuracy_of(scores: Sequence[float]) -> float:
    """The weight of a worker's votes: the smoothed accuracy (prior 0.7 without gold)."""
    return estimate_accuracy(scores).score


# -- after an accepted answer -------------------------------------------------------------------


@dataclass(frozen=True)
class PauseNotice:
    """A type the answer paused for its worker, with the numbers to tell them."""

    task_type: TaskType
    reason: str  # accuracy | speed
    accuracy: PauseDecision | None = None
    speed: SpeedDecision | None = None


@dataclass(frozen=True)
class BatchEnd:
    """A batch the answer completed: what the requester is told."""

    batch: Batch
    items: int
    answers: int
    spent: int
    refunded: int
    review_batch_id: int | None = None  # its review step, opened as it ended (bot/review.py)


@dataclass(frozen=True)
class AfterAnswer:
    """What quality did with one accepted answer."""

    gold_score: float | None = None
    speed_flag: bool = False
    pauses: tuple[PauseNotice, ...] = ()
    stop: StopDecision | None = None
    released: tuple[Assignment, ...] = field(default=())
    batch_end: BatchEnd | None = None
    training: Feedback | None = None  # a training answer's feedback (issue 14)


async def after_answer(
    tx: WriteTx,
    rules: QualityRules,
    *,
    batch: Batch,
    item: Item,
    assignment: Assignment,
    answer: Any,
    duration_ms: int,
    now: datetime,
    tz: Any,
) -> AfterAnswer:
    """Score gold, flag speed, pause a type, stop the item early, end the batch: one transaction.

    Gold items never complete from their own answers (they follow the batch's ordinary items)
    and their answers never count towards an ordinary item.
    """
    worker_id, task_type = assignment.worker_id, batch.type
    pauses: list[PauseNotice] = []
    lifted = await last_lift(tx, worker_id, task_type)

    flagged = type_named(batch.type).too_fast(duration_ms, clip_ms(item))
    if flagged:
        await flag_speed(tx, assignment.id)
    recent = await recent_speed_flags(
        tx, worker_id, task_type, window=rules.speed.window, since=lifted
    )
    speed = rules.speed.decide(recent)
    if flagged and speed.paused:
        detail = {"flags": speed.flags, "window": speed.window, "max_flags": speed.max_flags}
        if await pause_type_in(tx, worker_id, task_type, "speed", detail, now):
            pauses.append(PauseNotice(task_type, "speed", speed=speed))

    score: float | None = None
    stop: StopDecision | None = None
    completed: list[int] = []
    training: Feedback | None = None
    if item.is_gold:
        score = type_named(batch.type).gold_score(item.gold_answer, answer)
        await record_gold(
            tx,
            assignment_id=assignment.id,
            worker_id=worker_id,
            task_type=task_type,
            item_id=item.id,
            score=score,
            now=now,
        )
        training = await feedback_for(tx, worker_id, batch, item, score, rules.training_items)
        decision = rules.pause.decide(
            estimate_accuracy(await gold_scores(tx, worker_id, task_type, since=lifted))
        )
        if decision.paused:
            numbers: dict[str, Any] = {
                "score": round(decision.score, 3),
                "upper_bound": round(decision.upper_bound, 3),
                "gold_answers": decision.gold_answers,
                "threshold": decision.threshold,
                "right_answers_to_resume": decision.right_answers_to_resume,
            }
            if await pause_type_in(tx, worker_id, task_type, "accuracy", numbers, now):
                pauses.append(PauseNotice(task_type, "accuracy", accuracy=decision))
    else:
        stop = await _stop_decision(tx, rules, batch, item.id)
        if stop.stop and await complete_item(tx, item.id, now):
            completed.append(item.id)
            completed += await complete_gold_if_rest_done(tx, batch.id, now)

    released: list[Assignment] = []
    batch_end: BatchEnd | None = None
    if completed:
        released = await release_active_of_items(tx, completed, ITEM_COMPLETE, now)
        refunded = await end_if_complete(tx, batch.id, now=now, tz=tz)
        if refunded is not None:
            batch_end = await batch_end_of(tx, batch, refunded)
    await refresh_level(tx, worker_id, now)
    return AfterAnswer(
        score, flagged, tuple(pauses), stop, tuple(released), batch_end, training=training
    )


async def _stop_decision(
    tx: WriteTx, rules: QualityRules, batch: Batch, item_id: int
) -> StopDecision:
    """Whether an ordinary item has enough answers: clear agreement, or answers_per_item. In a
    batch that buys answers dynamically the refit of the whole batch judges agreement
    (``bot/refit.py``); the answer only completes an item at answers_per_item."""
    given = await answers_of_item(tx, item_id)
    if batch.dynamic_overlap:
        full = len(given) >= batch.answers_per_item
        return StopDecision(full, "limit" if full else "collecting", 0.0, len(given))
    scores = await gold_scores_of_workers(tx, [a.worker_id for a in given], batch.type)
    accuracies = {worker_id: accuracy_of(found) for worker_id, found in scores.items()}
    answers = [Given(a.worker_id, a.answer) for a in given]
    return type_named(batch.type).enough(batch, answers, accuracies, rules.stop_thresholds)


async def batch_end_of(tx: WriteTx, batch: Batch, refunded: int) -> BatchEnd:
    """What the requester of a batch that just ended is told."""
    flows = await escrow_flows(tx, escrow_account(batch.escrow_batch_id))
    answers = await submitted_count_in(tx, batch.id)
    review = await review_batch_of(tx, batch.id) if batch.review else None
    items = (await count_items(tx, batch.id))[0]
    return BatchEnd(batch, items, answers, flows.spent, refunded, review.id if review else None)


# -- a worker's numbers (/stats, appeals) --------------------------------------------------------


@dataclass(frozen=True)
class TypeStats:
    task_type: TaskType
    estimate: AccuracyEstimate
    speed_flags: int


@dataclass(frozen=True)
class WorkerStats:
    worker_id: int
    tasks_done: int
    types: tuple[TypeStats, ...]  # types with gold answers or speed flags
    level: LevelStatus
    hourly_rate: float | None  # cents per hour, pooled over submitted answers
    pauses: tuple[TypePause, ...]
    blocked: bool


async def worker_stats(db: Database, worker_id: int) -> WorkerStats:
    """Everything ``/stats`` shows a worker (and an appeal shows admins)."""
    async with db.read() as tx:
        scores = await gold_scores_by_type(tx, worker_id)
        flags = await speed_flags_by_type(tx, worker_id)
        types = tuple(
            TypeStats(
                task_type, estimate_accuracy(scores.get(task_type, [])), flags.get(task_type, 0)
            )
            for task_type in TASK_TYPES
            if task_type in scores or task_type in flags
        )
        done = await tasks_done(tx, worker_id)
        pooled = estimate_accuracy([s for found in scores.values() for s in found])
        timed = await submitted_rewards(tx, worker_id)
        rate = pooled_hourly_rate([TimedAnswer(t.reward, t.duration_ms) for t in timed])
        user = await get_user(tx, worker_id)
        return WorkerStats(
            worker_id=worker_id,
            tasks_done=done,
            types=types,
            level=worker_level(done, pooled),
            hourly_rate=rate,
            pauses=tuple(await type_pauses(tx, worker_id)),
            blocked=user is not None and user.blocked_at is not None,
        )
