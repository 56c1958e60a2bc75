"""Fair pay and cost: default reward rounded up, the floor warning, cost and shortfall."""

from __future__ import annotations

import pytest

from bot.errors import Problem
from bot.intake.pricing import (
    Quote,
    default_reward,
    floor_warning,
    most_possible_cost,
    shortfall,
)


@pytest.mark.parametrize(
    ("rate", "seconds", "cents"),
    [(1_000, 12, 4), (1_000, 36, 10), (1_000, 37, 11), (1_000, 1, 1), (1_500, 60, 25), (1, 1, 1)],
)
def test_default_reward_rounds_up_to_the_cent(rate: int, seconds: int, cents: int) -> None:
    assert default_reward(seconds, rate) == cents


def test_a_reward_below_the_floor_warns_with_the_numbers() -> None:
    # 10.00/h x 12 s = 0.0333 -> 0.04 floor; 0.01 pays 3.00/h
    assert floor_warning(1, 12, 1_000) == Problem(
        "batch.reward_below_floor",
        {
            "reward_cents": 1,
            "floor_cents": 4,
            "hourly_cents": 1_000,
            "effective_hourly_cents": 300,
            "seconds_per_task": 12,
        },
    )
    assert floor_warning(4, 12, 1_000) is None
    assert floor_warning(5, 12, 1_000) is None


def test_cost_and_shortfall() -> None:
    assert most_possible_cost(6, 3, 4) == 72
    assert shortfall(72, 50) == 22
    assert shortfall(72, 72) == 0
    assert shortfall(72, 1_000) == 0


def test_a_quote_reads_as_the_summary_before_publishing() -> None:
    quote = Quote.build(
        items=6,
        gold_items=2,
        answers_per_item=3,
        reward=1,
        seconds_per_task=12,
        min_hourly_rate=1_000,
    )
    assert (quote.cost, quote.floor, quote.below_floor) == (18, 4, True)
    assert quote.shortfall(10) == 8
