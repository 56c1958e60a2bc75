"""Fair pay: hourly rates from measured durations, the floor alert, the raise and its escrow."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.fairpay import (
    TimedAnswer,
    assess_fair_pay,
    effective_hourly_rate,
    extra_escrow,
    fair_pay_alert,
    median_hourly_rate,
    pooled_hourly_rate,
    reward_for_floor,
)

FLOOR = 1_000  # MIN_HOURLY_RATE 10.00 in cents per hour


def test_effective_hourly_rate_is_reward_over_time() -> None:
    assert effective_hourly_rate(10, 36_000) == pytest.approx(1_000)  # 10 cents in 36 s
    assert effective_hourly_rate(4, 12_000) == pytest.approx(1_200)
    assert effective_hourly_rate(1, 0) == pytest.approx(3_600_000)  # a 0 ms answer counts as 1 ms


def test_median_hourly_rate_of_a_batch() -> None:
    answers = [TimedAnswer(10, ms) for ms in (18_000, 36_000, 72_000)]
    assert median_hourly_rate(answers) == pytest.approx(1_000)
    answers.append(TimedAnswer(10, 9_000))
    assert median_hourly_rate(answers) == pytest.approx((1_000 + 2_000) / 2)
    assert median_hourly_rate([]) is None


def test_pooled_hourly_rate_of_a_worker() -> None:
    answers = [TimedAnswer(10, 30_000), TimedAnswer(20, 60_000)]
    assert pooled_hourly_rate(answers) == pytest.approx(30 * 3_600_000 / 90_000)
    assert pooled_hourly_rate([]) is None


def test_alert_needs_twenty_answers_and_a_median_below_the_floor() -> None:
    assert not fair_pay_alert(500, FLOOR, answers=19)
    assert fair_pay_alert(500, FLOOR, answers=20)
    assert not fair_pay_alert(1_000, FLOOR, answers=200)  # at the floor is fair
    assert not fair_pay_alert(None, FLOOR, answers=20)
    assert fair_pay_alert(500, FLOOR, answers=5, min_answers=5)


def test_reward_for_floor_rounds_up_to_the_cent() -> None:
    assert reward_for_floor(FLOOR, 36_000) == 10
    assert reward_for_floor(FLOOR, 36_001) == 11
    assert reward_for_floor(FLOOR, 12_345.5) == 4  # 3.429 cents
    assert reward_for_floor(FLOOR, 10) == 1  # never less than a cent


def test_extra_escrow_for_the_remaining_slots() -> None:
    assert extra_escrow(remaining_slots=280, old_reward_cents=5, new_reward_cents=10) == 1_400
    assert extra_escrow(remaining_slots=0, old_reward_cents=5, new_reward_cents=10) == 0
    assert extra_escrow(remaining_slots=10, old_reward_cents=10, new_reward_cents=8) == 0


def test_a_batch_priced_at_half_the_floor_is_flagged_once_it_has_twenty_answers() -> None:
    # 100 items x 3 answers at 5 cents, each answer takes 36 s: 500 cents/hour, half the floor.
    answers = [TimedAnswer(5, 36_000)] * 19
    early = assess_fair_pay(answers, FLOOR, reward_cents=5, remaining_slots=281)
    assert not early.alert
    answers.append(TimedAnswer(5, 36_000))
    flagged = assess_fair_pay(answers, FLOOR, reward_cents=5, remaining_slots=280)
    assert flagged.alert
    assert flagged.median_rate == pytest.approx(500)
    assert flagged.median_duration_ms == 36_000
    assert flagged.suggested_reward_cents == 10
    assert flagged.extra_escrow_cents == 280 * 5


def test_a_fair_batch_suggests_no_raise() -> None:
    answers = [TimedAnswer(20, 30_000)] * 25
    assessment = assess_fair_pay(answers, FLOOR, reward_cents=20, remaining_slots=50)
    assert not assessment.alert
    assert assessment.suggested_reward_cents == 20
    assert assessment.extra_escrow_cents == 0
    nothing = assess_fair_pay([], FLOOR, reward_cents=20, remaining_slots=50)
    assert (nothing.median_rate, nothing.alert, nothing.suggested_reward_cents) == (None, False, 20)


@given(st.integers(1, 100_000), st.integers(0, 10**9))
def test_the_floor_for_a_whole_duration_is_the_exact_ceiling(floor: int, duration_ms: int) -> None:
    exact = Fraction(floor) * duration_ms / 3_600_000
    assert reward_for_floor(floor, duration_ms) == max(1, math.ceil(exact))
    assert reward_for_floor(floor, duration_ms + 0.5) == max(
        1, math.ceil(exact + Fraction(floor, 7_200_000))
    )
