"""The outbox end to end (issue 10): a task's timer starts when its message is delivered, and a
press whose confirmation fails still gets its next task (issue 11's fault run found it stuck).

The outbox is made to rest (as after a 429) while the dispatcher claims a task: the claim is in
the database, but no deadline is stored and no deadline job runs until the message goes out.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import BotApplication
from bot.clock import ShiftedClock
from sandbox import FaultInjector, Faults, SandboxServer
from sandbox.faults import Fault
from storage.assignments import active_assignment_of, get_assignment
from tests.e2e.harness import WAIT, db_of, eventually, next_task, publish, sign_up


async def test_no_timer_runs_while_a_task_waits_in_the_outbox(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    ana = await sign_up(sandbox, 1301, "Ana")
    await ana.send_command("/ready")
    await ana.next_message()
    outbox = app.bot_data.outbox
    outbox.rest(2.0)  # nothing leaves the outbox for 2 s
    await publish(app, shifted, items=2, reward=4, time_limit=20)
    db = db_of(app)

    async def claimed_and_queued() -> bool:
        return outbox.waiting > 0 and await db.run_read(active_assignment_of, 1301) is not None

    assert await eventually(claimed_and_queued)
    waiting = await db.run_read(active_assignment_of, 1301)
    assert waiting is not None
    assert waiting.deadline is None  # no timer while it waits
    assert waiting.shown_at is None
    assert waiting.id not in app.bot_data.runtime.deadlines  # no deadline armed
    claimed_at = shifted.now()

    message = await next_task(ana)  # delivered once the outbox rests no more
    shown = await db.run_read(get_assignment, waiting.id)
    assert shown is not None
    assert shown.shown_at is not None
    assert shown.deadline is not None
    assert shown.shown_at >= claimed_at  # the timer started at delivery, not at the claim
    assert (shown.deadline - shown.shown_at).total_seconds() == 20
    assert "⏭" in str(message.buttons)


async def test_a_press_is_confirmed_saying_the_next_task_is_coming(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    bea = await sign_up(sandbox, 1302, "Bea")
    await bea.send_command("/ready")
    await bea.next_message()
    await publish(app, shifted, items=2, reward=4, time_limit=20)
    message = await next_task(bea)
    app.bot_data.outbox.rest(2.0)  # the next task waits in the outbox; the press does not
    confirmation = await bea.press("car", message=message)
    assert "credited" in (confirmation.text or "")
    assert "next task is on its way" in (confirmation.text or "")
    assert sandbox.calls_to("editMessageMedia") == []  # confirmed before any limited call
    assert "⏭" in str((await next_task(bea)).buttons)


class PressesFail(FaultInjector):
    """Every ``answerCallbackQuery`` answered 500, as a Bot API outage would; nothing else."""

    def draw(self, method: str, params: dict[str, Any]) -> Fault | None:
        return "500" if method == "answerCallbackQuery" else None


async def test_a_press_whose_confirmation_fails_still_gets_its_next_task(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    cleo = await sign_up(sandbox, 1303, "Cleo")
    await cleo.send_command("/ready")
    await cleo.next_message()
    await publish(app, shifted, items=2, reward=4, time_limit=20)
    message = await next_task(cleo)
    sandbox.faults = PressesFail(Faults())
    with pytest.raises(TimeoutError):  # the confirmation never arrives
        await cleo.press("car", message=message, timeout=1)
    following = await cleo.next_message(timeout=WAIT)  # the claimed next task is not left unsent
    assert following.is_edit
    assert "⏭" in str(following.buttons)
    active = await db_of(app).run_read(active_assignment_of, 1303)
    assert active is not None
    assert active.deadline is not None  # shown, its timer running
