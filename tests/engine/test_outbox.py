"""The outbox (bot/engine/outbox.py): budget, priorities, per-chat order, 429s, direct replies.

Deliveries here are plain coroutines that note when they ran; what is checked is the order and
the count of calls within a window, never a duration of our own code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from telegram.error import RetryAfter

from bot.clock import FixedClock
from bot.engine.budget import UNLIMITED, Limits, Pace
from bot.engine.outbox import Outbox, Priority
from bot.send_budget import SharedBudget
from storage.db import Database


def _recorder(log: list[tuple[str, float]], name: str) -> Callable[[], Awaitable[None]]:
    async def deliver() -> None:
        log.append((name, time.monotonic()))

    return deliver


async def _drained(outbox: Outbox, log: list[tuple[str, float]], count: int) -> None:
    for _ in range(400):
        if len(log) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {len(log)} of {count} deliveries ran")


def test_pace_lets_a_burst_through_then_one_per_interval() -> None:
    pace = Pace(rate=2.0, burst=3)
    for _ in range(3):
        assert pace.wait(0.0) == 0.0
        pace.take(0.0)
    assert pace.wait(0.0) == 0.5
    assert pace.wait(0.5) == 0.0
    assert pace.wait(0.0, cost=2) == 1.0


async def test_higher_priority_goes_first_and_the_longest_waiting_within_one() -> None:
    outbox = Outbox(Limits(per_second=1000, per_chat_per_second=1000, burst=1))
    log: list[tuple[str, float]] = []
    now = time.monotonic()
    outbox.submit(1, _recorder(log, "alert"), Priority.ALERT)
    outbox.submit(2, _recorder(log, "notice"), Priority.NOTICE)
    outbox.submit(3, _recorder(log, "push, waiting 1 s"), Priority.PUSH, since=now - 1)
    outbox.submit(4, _recorder(log, "push, waiting 5 s"), Priority.PUSH, since=now - 5)
    outbox.submit(5, _recorder(log, "next task"), Priority.NEXT_TASK)
    outbox.start()
    await _drained(outbox, log, 5)
    await outbox.stop()
    assert [name for name, _ in log] == [
        "next task",
        "push, waiting 5 s",
        "push, waiting 1 s",
        "notice",
        "alert",
    ]


async def test_the_overall_and_per_chat_budgets_hold() -> None:
    outbox = Outbox(Limits(per_second=20, per_chat_per_second=5, chat_burst=2, burst=2))
    log: list[tuple[str, float]] = []
    for n in range(30):
        outbox.submit(n % 3, _recorder(log, f"chat {n % 3} #{n}"), Priority.PUSH)
    outbox.start()
    await _drained(outbox, log, 30)
    await outbox.stop()
    times = [at for _, at in log]
    # Overall: at most burst + rate * t calls in any window of t seconds (a little slack).
    for i, start in enumerate(times):
        within = [at for at in times[i:] if at - start <= 0.5]
        assert len(within) <= 2 + 20 * 0.5 + 1
    # Each chat's own messages go in the order submitted, at most 2 + 5/s.
    for chat in range(3):
        mine = [name for name, _ in log if name.startswith(f"chat {chat} ")]
        assert mine == [f"chat {chat} #{n}" for n in range(chat, 30, 3)]


async def test_a_429_rests_the_whole_outbox_and_the_delivery_is_tried_again() -> None:
    outbox = Outbox(Limits(per_second=1000, per_chat_per_second=1000, burst=10, chat_burst=10))
    log: list[tuple[str, float]] = []
    tries = 0
    refused_at = 0.0

    async def refused_once() -> None:
        nonlocal tries, refused_at
        tries += 1
        if tries == 1:
            refused_at = time.monotonic()
            raise RetryAfter(1)
        log.append(("retried", time.monotonic()))

    outbox.submit(1, refused_once, Priority.NEXT_TASK)
    outbox.start()
    await asyncio.sleep(0.1)
    outbox.submit(2, _recorder(log, "other chat"), Priority.NEXT_TASK)
    await _drained(outbox, log, 2)
    await outbox.stop()
    assert tries == 2
    assert outbox.retries == 1
    # Nothing went out while it rested (a lower bound: a loaded machine only makes it later).
    assert all(at >= refused_at + 0.95 for _, at in log)


async def test_a_direct_reply_is_charged_to_the_budget() -> None:
    outbox = Outbox(Limits(per_second=1000, per_chat_per_second=2, chat_burst=1, burst=10))
    log: list[tuple[str, float]] = []
    outbox.start()
    charged_at = time.monotonic()
    outbox.charge(7)  # a handler replied to chat 7 directly
    outbox.submit(7, _recorder(log, "after the reply"), Priority.NEXT_TASK)
    await _drained(outbox, log, 1)
    await outbox.stop()
    assert log[0][1] - charged_at >= 0.4  # the chat's 2/s left room for the reply


async def test_a_failing_delivery_is_reported_and_the_chat_goes_on() -> None:
    failures: list[str] = []
    outbox = Outbox(UNLIMITED_FOR_TESTS, on_failure=lambda kind, _e: failures.append(kind))
    log: list[tuple[str, float]] = []

    async def broken() -> None:
        raise ValueError("a bug")

    outbox.submit(1, broken, Priority.NOTICE, what="notice")
    outbox.submit(1, _recorder(log, "next"), Priority.NOTICE)
    outbox.start()
    await _drained(outbox, log, 1)
    await outbox.stop()
    assert failures == ["outbox notice: ValueError"]


UNLIMITED_FOR_TESTS = Limits(per_second=1000, per_chat_per_second=1000, burst=10, chat_burst=10)


async def test_two_processes_on_one_token_share_its_budget(tmp_path: Path) -> None:
    """Webhook mode: each outbox takes every call's slot from the token's budget in the
    database, so two processes together send what one bot may (a fixed clock: no refill)."""
    db = await Database.open(tmp_path / "shared.db")
    await db.migrate()
    clock = FixedClock()
    outboxes = [Outbox(UNLIMITED), Outbox(UNLIMITED)]
    for outbox in outboxes:
        outbox.shared = SharedBudget(db, 123456, clock, rate=2.0, burst=3)
    sent: list[int] = []

    async def call(number: int, outbox: Outbox) -> None:
        await outbox.wire_turn(number)
        sent.append(number)

    calls = [asyncio.create_task(call(n, outboxes[n % 2])) for n in range(8)]
    try:
        await asyncio.sleep(0.5)
        assert len(sent) == 3  # the burst, shared: not 3 each
        clock.advance(timedelta(seconds=1))  # two more slots at 2 a second
        for _ in range(100):
            if len(sent) == 5:
                break
            await asyncio.sleep(0.05)
        assert len(sent) == 5
    finally:
        for task in calls:
            task.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        await db.close()
