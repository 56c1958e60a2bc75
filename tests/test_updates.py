"""Concurrent updates (``bot/updates.py``): each user's in order, users independent."""

from __future__ import annotations

import asyncio

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User

from bot.updates import PRESSES_FIRST, PerUserProcessor, answered, update_key


def press(update_id: int, user_id: int) -> Update:
    query = CallbackQuery(str(update_id), User(user_id, "W", False), "chat-instance", data="x")
    return Update(update_id, callback_query=query)


def handler(events: list[str], name: str, gate: asyncio.Event | None = None):
    async def run() -> None:
        events.append(f"{name} start")
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(0)
        events.append(f"{name} end")

    return run()


async def feed(
    processor: PerUserProcessor, *jobs: tuple[Update, object]
) -> list[asyncio.Task[None]]:
    """Start each update's task in order, as python-telegram-bot's update fetcher does."""
    tasks = [asyncio.create_task(processor.process_update(u, c)) for u, c in jobs]  # type: ignore[arg-type]
    for _ in range(5):
        await asyncio.sleep(0)
    return tasks


async def test_a_users_two_quick_updates_are_handled_in_order() -> None:
    events: list[str] = []
    gate = asyncio.Event()
    async with PerUserProcessor(running=8) as processor:
        tasks = await feed(
            processor,
            (press(1, 7), handler(events, "first", gate)),
            (press(2, 7), handler(events, "second")),
        )
        assert events == ["first start"]  # the second waits for the first, slow as it is
        gate.set()
        await asyncio.gather(*tasks)
    assert events == ["first start", "first end", "second start", "second end"]
    assert processor.waiting_users == 0


async def test_one_users_slow_update_does_not_delay_another_user() -> None:
    events: list[str] = []
    gate = asyncio.Event()
    async with PerUserProcessor(running=8) as processor:
        tasks = await feed(
            processor,
            (press(1, 7), handler(events, "slow", gate)),
            (press(2, 8), handler(events, "other")),
        )
        await tasks[1]
        assert events == ["slow start", "other start", "other end"]
        assert not tasks[0].done()
        gate.set()
        await tasks[0]
    assert events[-1] == "slow end"


async def test_updates_waiting_behind_their_user_hold_no_running_place() -> None:
    events: list[str] = []
    gate = asyncio.Event()
    async with PerUserProcessor(running=1, in_flight=10) as processor:
        tasks = await feed(
            processor,
            *[(press(n, 7), handler(events, f"a{n}", gate if n == 1 else None)) for n in (1, 2, 3)],
        )
        assert events == ["a1 start"]
        gate.set()
        await asyncio.gather(*tasks)
        # with one place, another user still gets it as soon as the first update ends
        other = await feed(processor, (press(9, 8), handler(events, "b")))
        await asyncio.gather(*other)
    assert events == [
        "a1 start",
        "a1 end",
        "a2 start",
        "a2 end",
        "a3 start",
        "a3 end",
        *["b start", "b end"],
    ]


def test_the_key_is_the_sender_else_the_chat() -> None:
    assert update_key(press(1, 42)) == 42
    chat = Chat(-100, "channel")
    post = Message(1, date=None, chat=chat)  # type: ignore[arg-type]
    assert update_key(Update(2, channel_post=post)) == -100
    assert update_key(Update(3)) is None
    assert update_key("not an update") is None


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="running"):
        PerUserProcessor(running=0)
    with pytest.raises(ValueError, match="running"):
        PerUserProcessor(running=10, in_flight=5)


def answering(events: list[str], name: str, gate: asyncio.Event | None = None):
    """A press handler: its press is answered (after ``gate``), then it claims what follows."""

    async def run() -> None:
        if gate is not None:
            await gate.wait()
        events.append(f"{name} answered")
        await answered()
        events.append(f"{name} follows up")

    return run()


async def test_an_answered_press_follows_up_after_the_presses_already_in_hand() -> None:
    events: list[str] = []
    slow = asyncio.Event()
    async with PerUserProcessor(running=8) as processor:
        tasks = await feed(
            processor,
            (press(1, 8), answering(events, "slow", slow)),
            (press(2, 7), answering(events, "quick")),
        )
        assert events == ["quick answered"]  # its follow-up waits for the slow press's answer
        later = await feed(processor, (press(3, 9), answering(events, "later", asyncio.Event())))
        slow.set()
        await asyncio.gather(*tasks)  # "quick" is not held back by the press that came later
        later[0].cancel()
    assert events == ["quick answered", "slow answered", "quick follows up", "slow follows up"]


async def test_a_press_left_unanswered_holds_follow_ups_back_only_for_a_while() -> None:
    events: list[str] = []
    never = asyncio.Event()
    async with PerUserProcessor(running=8) as processor:
        tasks = await feed(
            processor,
            (press(1, 7), handler(events, "stuck", never)),
            (press(2, 8), answering(events, "quick")),
        )
        await asyncio.wait_for(tasks[1], timeout=PRESSES_FIRST * 5)
        assert events[-1] == "quick follows up"
        never.set()
        await tasks[0]
