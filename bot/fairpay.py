"""Fair-pay rules: effective hourly rates from measured durations, the floor alert, the raise.

Money is integer cents, rates are cents per hour (floats: they are measurements, not money).
Durations are milliseconds from showing a task to its submitted answer.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

MS_PER_HOUR = 3_600_000
MIN_ANSWERS_FOR_ALERT = 20


@dataclass(frozen=True)
class TimedAnswer:
    """What an answer paid and how long it took."""

    reward_cents: int
    duration_ms: int


def effective_hourly_rate(reward_cents: int, duration_ms: int) -> float:
    """Cents per hour earned by one answer; a duration under 1 ms counts as 1 ms."""
    return reward_cents * MS_PER_HOUR / max(1, duration_ms)


def median_hourly_rate(answers: Sequence[TimedAnswer]) -> float | None:
    """Median over answers of the effective hourly rate, in cents/hour; None without answers."""
    if not answers:
        return None
    return statistics.median(effective_hourly_rate(a.reward_cents, a.duration_ms) for a in answers)


def pooled_hourly_rate(answers: Sequence[TimedAnswer]) -> float | None:
    """All rewards over all time spent, in cents/hour: a worker's rate on ``/stats``."""
    total_ms = sum(answer.duration_ms for answer in answers)
    if not answers or total_ms <= 0:
        return None
    return sum(answer.reward_cents for answer in answers) * MS_PER_HOUR / total_ms


def fair_pay_alert(
    median_rate: float | None,
    floor_cents_per_hour: int,
    answers: int,
    min_answers: int = MIN_ANSWERS_FOR_ALERT,
) -> bool:
    """True once a batch has ``min_answers`` answers and its median rate is below the floor."""
    return median_rate is not None and answers >= min_answers and median_rate < floor_cents_per_hour


def reward_for_floor(floor_cents_per_hour: int, median_duration_ms: float) -> int:
    """Smallest reward in whole cents (at least 1) that pays the floor at the median duration."""
    if isinstance(median_duration_ms, int):  # one answer's own time: integers, exact and fast
        return max(1, -(-floor_cents_per_hour * median_duration_ms // MS_PER_HOUR))
    exact = Fraction(floor_cents_per_hour) * Fraction(median_duration_ms) / MS_PER_HOUR
    return max(1, math.ceil(exact))


def extra_escrow(remaining_slots: int, old_reward_cents: int, new_reward_cents: int) -> int:
    """Escrow to hold when the reward rises for the answer slots not yet filled."""
    return max(0, remaining_slots) * max(0, new_reward_cents - old_reward_cents)


@dataclass(frozen=True)
class FairPayAssessment:
    """A batch's measured pay against the floor, and the raise that would meet it."""

    answers: int
    median_rate: float | None  # cents/hour
    median_duration_ms: float | None
    alert: bool
    suggested_reward_cents: int  # the current reward when it already meets the floor
    extra_escrow_cents: int  # to hold if the suggested reward is applied to the remaining slots


def assess_fair_pay(
    answers: Sequence[TimedAnswer],
    floor_cents_per_hour: int,
    reward_cents: int,
    remaining_slots: int,
    min_answers: int = MIN_ANSWERS_FOR_ALERT,
) -> FairPayAssessment:
    """Everything the fair-pay message needs, from a batch's answers so far.

    ``remaining_slots`` is items x answers_per_item minus answers collected: early stopping may
    leave some unused, and their escrow returns to the requester when the batch ends.
    """
    median_rate = median_hourly_rate(answers)
    median_duration = statistics.median(a.duration_ms for a in answers) if answers else None
    suggested = reward_cents
    if median_duration is not None:
        suggested = max(reward_cents, reward_for_floor(floor_cents_per_hour, median_duration))
    return FairPayAssessment(
        answers=len(answers),
        median_rate=median_rate,
        median_duration_ms=median_duration,
        alert=fair_pay_alert(median_rate, floor_cents_per_hour, len(answers), min_answers),
        suggested_reward_cents=suggested,
        extra_escrow_cents=extra_escrow(remaining_slots, reward_cents, suggested),
    )
