"""The runtime's deadline wheel (bot/engine/runtime.py): the earliest armed deadline at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.engine.runtime import DeadlineWheel

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_earliest_live_deadline_fires_first_and_once() -> None:
    wheel = DeadlineWheel()
    assert wheel.earliest() is None
    wheel.arm(1, at(30))
    wheel.arm(2, at(10))
    wheel.arm(3, at(20))
    wheel.arm(2, at(40))  # moved: its old entry no longer counts
    assert wheel.cancel(3)
    assert not wheel.cancel(3)
    assert wheel.earliest() == at(30)
    assert wheel.pop_due(at(29)) == []
    assert wheel.pop_due(at(40)) == [1, 2]
    assert wheel.pop_due(at(100)) == []
    assert len(wheel) == 0
    assert wheel.earliest() is None


def test_dead_entries_do_not_pile_up() -> None:
    wheel = DeadlineWheel()
    for n in range(1_000):  # each task answered before its deadline
        wheel.arm(n, at(60 + n))
        wheel.cancel(n)
    wheel.arm(5_000, at(5))
    assert len(wheel.heap) <= 2 * len(wheel) + 65
    assert 5_000 in wheel
    assert wheel.pop_due(at(5)) == [5_000]
