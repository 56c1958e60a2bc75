"""Quality pipeline, the review step: a batch of typed answers reviewed by other workers.

A text batch with ``review`` (translation by default; any text type by ``review = true``) does
not end with its answers: in the write transaction that completes its last item, a review batch
is made and opened (``start_review``). Each ordinary item that got answers becomes a review item
showing the same content and its distinct answers, the most given first (at most
``MAX_CHOICES``); reviewers pick the best one or say none is right (``bot/tasks/review.py``).
Reviewers are other workers: the claim never offers a review item to a worker who was offered
the item it reviews.

Money: the review is paid at the floor rate (``MIN_HOURLY_RATE`` for ``REVIEW_SECONDS``) from
the SAME escrow as the answers it reviews. Publishing holds enough for both steps
(``hold_needed``): every item answered ``answers_per_item`` times, and reviewed
``REVIEW_ANSWERS`` times. No money moves when the review starts; its rewards leave
``escrow:batch:SOURCE`` with the usual keys ``answer:ASSIGNMENT_ID``, and what is left returns
to the requester when the review ends or is cancelled (``Batch.escrow_batch_id``). The review
batch is made once: the source batch moves to ``done`` once, and a unique index allows one review
batch per source batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.batch_settings import REVIEW_TYPE, BatchSettings
from bot.intake.manifest import default_time_limit
from bot.intake.pricing import default_reward, most_possible_cost
from bot.tasks.review import MAX_CHOICES, NONE_RIGHT, REVIEW_LABELS
from storage.assignments import assignments_of_batch
from storage.batches import Batch, NewBatch, items_of, set_batch_state
from storage.db import WriteTx
from storage.review import ReviewItem, insert_review_batch

REVIEW_ANSWERS = 3
"""Most reviews one item collects (fewer when the first ones agree: label early stopping)."""
REVIEW_SECONDS = 15
"""The estimate of reading a sentence and a few candidates; the review's pay and timer."""


def review_reward(min_hourly_rate: int) -> int:
    """What one review pays, in cents: the floor rate for ``REVIEW_SECONDS``."""
    return default_reward(REVIEW_SECONDS, min_hourly_rate)


def hold_needed(items: int, settings: BatchSettings, review_reward: int | None) -> int:
    """The escrow a batch holds at publishing: its answers' most possible cost, plus its review
    step's (every item reviewed ``REVIEW_ANSWERS`` times) when it has one."""
    cost = most_possible_cost(items, settings.answers_per_item, settings.reward)
    if settings.review and review_reward is not None:
        cost += review_hold(items, review_reward)
    return cost


def review_hold(items: int, review_reward: int) -> int:
    """The review step's share of the hold: every item reviewed ``REVIEW_ANSWERS`` times."""
    return most_possible_cost(items, REVIEW_ANSWERS, review_reward)


def candidates(answers: Sequence[str]) -> tuple[str, ...]:
    """An item's distinct answers (spaces tidied), the most given first, then the first given;
    at most ``MAX_CHOICES``."""
    tidy = [" ".join(answer.split()) for answer in answers]
    counts = Counter(text for text in tidy if text)
    first = {text: index for index, text in reversed(list(enumerate(tidy)))}
    ranked = sorted(counts, key=lambda text: (-counts[text], first[text]))
    return tuple(ranked[:MAX_CHOICES])


def review_settings(batch: Batch, reward: int) -> BatchSettings:
    """A review batch's settings: the reviewed batch's title, the candidate labels, the floor."""
    return BatchSettings(
        type=REVIEW_TYPE,
        title=batch.title,
        instructions="",
        labels=REVIEW_LABELS,
        multiple=False,
        seconds_per_task=REVIEW_SECONDS,
        reward=reward,
        answers_per_item=REVIEW_ANSWERS,
        time_limit=default_time_limit(REVIEW_SECONDS),
    )


async def start_review(tx: WriteTx, batch: Batch, now: datetime) -> int | None:
    """Make and open the review batch of a batch whose answers are all in; its id, or None when
    the batch has no review step or nothing to review. Inside the write transaction that ended
    the batch (which happens once), so the review is made once."""
    if not batch.review or batch.review_reward is None or batch.source_batch_id is not None:
        return None
    given: dict[int, list[str]] = {}
    for assignment in await assignments_of_batch(tx, batch.id):
        if assignment.state == "submitted" and assignment.answer is not None:
            given.setdefault(assignment.item_id, []).append(str(assignment.answer))
    items = [
        ReviewItem(item.id, found)
        for item in await items_of(tx, batch.id)
        if not item.is_gold and (found := candidates(given.get(item.id, [])))
    ]
    if not items:
        return None
    new = NewBatch(
        requester_id=batch.requester_id,
        settings=review_settings(batch, batch.review_reward),
        below_floor=False,
        origin="guided" if batch.origin == "guided" else "zip",
        source_batch_id=batch.id,
    )
    review_id = await insert_review_batch(tx, new, items, now)
    await set_batch_state(tx, review_id, expected=["draft"], new="open", now=now)
    return review_id


# Results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    """What the review chose for one reviewed item: the text (None: none is right), the
    reviewers' confidence in the pick, how many picked it among how many reviews."""

    text: str | None
    confidence: float
    support: int
    reviews: int
    choices: tuple[str, ...]


def chosen_text(choices: Sequence[str], label: str) -> str | None:
    """The candidate a review label names (``"2"``), or None for none is right."""
    if label == NONE_RIGHT or not label.isdigit() or not 1 <= int(label) <= len(choices):
        return None
    return choices[int(label) - 1]


def chosen(
    choices: Sequence[str], label: str, confidence: float, picks: Mapping[str, int]
) -> Chosen:
    """A reviewed item's result from its review item's aggregate (``label``) and the picks."""
    return Chosen(
        chosen_text(choices, label),
        confidence,
        picks.get(label, 0),
        sum(picks.values()),
        tuple(choices),
    )
