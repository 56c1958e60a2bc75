"""Dynamic overlap end to end, the real bot against the sandbox (``bot/refit.py``): a label
batch asking for up to four answers per item hands out two; a third worker gets nothing while
the items wait; the bot's refit job finds two agreeing answers sure enough, completes the
items, and the requester gets the summary with the answers not bought back in their balance.
Where two answers disagree, the refit asks for a third, which the waiting worker gets once the
slot's wait for the batch's preferred workers is over (a short wait here, through
``Services.quality``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.ledger import balance, requester_account
from bot.payouts import check_invariants
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.assignments import assignments_of_batch, get_assignment
from storage.batches import get_batch, items_of
from storage.db import Database
from tests.builders import PARIS
from tests.conftest import REQUESTER_ID
from tests.e2e.harness import (
    ROBOT_QUALITY,
    WAIT,
    db_of,
    eventually,
    next_task,
    publish,
    running_bot,
    sign_up,
)

SHORT_ROUTING = replace(ROBOT_QUALITY, route_window=timedelta(seconds=1))


@pytest.fixture
async def app(settings: Settings, shifted: ShiftedClock) -> AsyncIterator[BotApplication]:
    async with running_bot(settings, clock=shifted, quality=SHORT_ROUTING) as application:
        yield application
        problems = await check_invariants(db_of(application), tz=PARIS, cap=settings.monthly_cap)
        assert problems == []


async def answer_every_task(user: SandboxUser, label: str) -> int:
    """/ready, then answer ``label`` to each task until the bot has none left to show."""
    await user.send_command("/ready")
    assert "ready until" in ((await user.next_message()).text or "")
    message = await next_task(user)
    answered = 0
    while any(label in row for row in message.buttons):
        assert "credited" in ((await user.press(label, message=message)).text or "")
        answered += 1
        message = await user.next_message(timeout=WAIT)
        assert message.is_edit
    return answered


Story = tuple[SandboxUser, list[SandboxUser], Database, int, int]


async def two_item_batch(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock, *, first_worker: int
) -> Story:
    """Rita (who wrote to the bot), three workers signed up, Rita's balance, and her batch of
    two items of up to four answers at 4 cents."""
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/start")
    await rita.next_message()
    rita.drain()
    users = [await sign_up(sandbox, first_worker + n, name) for n, name in enumerate("ABC")]
    db = db_of(app)
    before = await balance(db, requester_account(REQUESTER_ID))
    batch_id = await publish(app, shifted, items=2, answers_per_item=4, reward=4, time_limit=30)
    return rita, users, db, before, batch_id


async def test_two_agreeing_answers_are_enough_and_the_rest_is_not_bought(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    story = await two_item_batch(sandbox, app, shifted, first_worker=1400)
    rita, (ana, bob, cy), db, before, batch_id = story
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.dynamic_overlap

    assert await answer_every_task(ana, "car") == 2
    assert await answer_every_task(bob, "car") == 2

    await cy.send_command("/ready")
    assert "ready until" in ((await cy.next_message()).text or "")
    summary = rita.drain()  # the summary comes from the refit job, within seconds
    while not any("is complete" in (m.text or "") for m in summary):
        summary.append(await rita.next_message(timeout=WAIT))
    text = next(m.text or "" for m in summary if "is complete" in (m.text or ""))
    assert f"Batch #{batch_id}" in text
    assert "Answers: 4" in text
    assert "Spent: €0.16" in text
    assert "returned to your balance: €0.16" in text  # four of the eight answers held for

    assert await eventually(lambda: _balance_is(db, before + 16))
    assert [item.state for item in await db.run_read(items_of, batch_id)] == ["complete"] * 2
    given = await db.run_read(assignments_of_batch, batch_id)
    assert sorted(a.worker_id for a in given) == [1400, 1400, 1401, 1401]  # none for Cy
    assert cy.drain() == []


async def test_disagreeing_answers_get_a_third_from_the_worker_who_waited(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    story = await two_item_batch(sandbox, app, shifted, first_worker=1410)
    rita, (ana, bob, cy), db, before, batch_id = story
    first, second = [item.id for item in await db.run_read(items_of, batch_id)]

    assert await answer_every_task(ana, "car") == 2
    await bob.send_command("/ready")
    await bob.next_message()
    task = await next_task(bob)
    for _ in range(2):  # agrees with Ana on the first item, not on the second
        label = "car" if await item_shown(db, task) == first else "person"
        assert "credited" in ((await bob.press(label, message=task)).text or "")
        task = await bob.next_message(timeout=WAIT)  # the next task, in the same message

    await cy.send_command("/ready")
    assert "ready until" in ((await cy.next_message()).text or "")
    task = await next_task(cy)  # the second item's third answer, after a refit
    await cy.press("car", message=task)

    summary = ""
    while "is complete" not in summary:
        summary = (await rita.next_message(timeout=WAIT)).text or ""
    assert "Answers: 5" in summary
    assert "returned to your balance: €0.12" in summary  # three of the eight answers held for
    assert await eventually(lambda: _balance_is(db, before + 12))
    given = await db.run_read(assignments_of_batch, batch_id)
    assert sorted((a.item_id, a.worker_id) for a in given) == [
        (first, 1410),
        (first, 1411),
        (second, 1410),
        (second, 1411),
        (second, 1412),
    ]


async def item_shown(db: Database, task: BotMessage) -> int:
    """The item a task message shows (its buttons name the assignment: ``bot.engine.render``)."""
    markup = task.reply_markup or {}
    assignment_id = int(str(markup["inline_keyboard"][0][0]["callback_data"]).split()[1])
    assignment = await db.run_read(get_assignment, assignment_id)
    assert assignment is not None
    return assignment.item_id


async def _balance_is(db: object, expected: int) -> bool:
    return await balance(db, requester_account(REQUESTER_ID)) == expected  # type: ignore[arg-type]
