"""The kept floor's rules: what one answer should have paid, the raise on the median time."""

from __future__ import annotations

from bot.floor import answer_target, raised_reward

FLOOR = 1000  # cents an hour


def test_an_answer_is_owed_the_floor_at_its_own_time_or_the_reward_now() -> None:
    assert answer_target(2, FLOOR, 20_000) == 6  # 5.56 cents, rounded up
    assert answer_target(9, FLOOR, 20_000) == 9  # the raised reward wins
    assert answer_target(2, FLOOR, 3_000) == 2  # fast enough: nothing owed


def test_the_reward_rises_on_the_median_only_once_measured_enough() -> None:
    durations = [20_000] * 6 + [40_000] * 4
    assert raised_reward(2, FLOOR, durations, min_answers=10) == 6
    assert raised_reward(2, FLOOR, durations[:9], min_answers=10) == 2
    assert raised_reward(12, FLOOR, durations, min_answers=10) == 12  # never lowered
