"""The fair-pay floor kept end to end: a batch priced at a fifth of the floor, answered by two
workers who take 20 s and 40 s an answer (the shifted clock moves between showing and
answering). The floor's pass pauses the batch while the budget is short, raises the reward once
ten answers are measured, tops up every earlier answer, and tells each worker; at the end every
worker's measured effective rate on the batch is at or above MIN_HOURLY_RATE and the ledger's
invariants hold (the ``app`` fixture checks them)."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.fairpay import MS_PER_HOUR
from bot.handlers.floor import request_floor_check
from bot.ledger import top_up
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.assignments import assignments_of_batch
from storage.batches import get_batch
from storage.db import Database
from storage.floor import topups_of_batch
from tests.builders import PARIS
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.e2e.harness import WAIT, db_of, eventually, publish, sign_up


async def _task(user: SandboxUser) -> BotMessage:
    """The next message showing a task, past any notice sent meanwhile."""
    while True:
        message = await user.next_message(timeout=WAIT)
        if any("⏭" in text for row in message.buttons for text in row):
            return message


async def _answer(user: SandboxUser, shifted: ShiftedClock, count: int, seconds: int) -> None:
    """Ask for tasks and answer ``count`` of them, each after ``seconds`` on the clock."""
    await user.send_command("/ready")
    await user.next_message()
    message = await _task(user)
    for done in range(count):
        shifted.offset += timedelta(seconds=seconds)
        await user.press("car", message=message)
        if done < count - 1:
            message = await _task(user)


async def _told(user: SandboxUser, words: str) -> str:
    async def found() -> bool:
        return any(words in (m.text or "") for m in user.messages)

    assert await eventually(found), [m.text for m in user.messages]
    return next(m.text or "" for m in user.messages if words in (m.text or ""))


async def _check_after(app: BotApplication, batch_id: int, submitted: int) -> None:
    """Run a pass once ``submitted`` answers are recorded (a press is confirmed before that)."""

    async def recorded() -> bool:
        answers = await db_of(app).run_read(assignments_of_batch, batch_id)
        return sum(a.state == "submitted" for a in answers) == submitted

    assert await eventually(recorded)
    request_floor_check(app)


async def _state(db: Database, batch_id: int) -> str:
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    return batch.state


async def test_a_batch_under_the_floor_ends_with_everyone_paid_the_floor(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    floor = app.bot_data.settings.min_hourly_rate  # 1000 cents an hour
    batch_id = await publish(app, shifted, items=6, answers_per_item=2, reward=2, time_limit=120)
    ana = await sign_up(sandbox, 1301, "Ana")
    bob = await sign_up(sandbox, 1302, "Bob")
    rita = sandbox.user(REQUESTER_ID, "Rita")

    # Ana answers every item at 20 s an answer: 2 cents for 20 s is €3.60 an hour.
    await _answer(ana, shifted, 6, 20)
    # The budget held only the batch's cost: the top-ups do not fit, the batch pauses.
    await _check_after(app, batch_id, 6)
    paused = await _told(rita, f"Batch #{batch_id} is paused")
    assert "€0.24 more than your budget holds" in paused  # 6 answers x (6 - 2) cents
    assert await _state(db, batch_id) == "paused"
    assert not any("top-up" in (m.text or "") for m in ana.messages)

    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=500,
        actor_id=ADMIN_ID,
        key="topup:floor-e2e",
        now=shifted.now(),
        tz=PARIS,
    )
    await rita.send_command(f"/resumebatch {batch_id}")
    await rita.next_message()
    # Bob answers four at 40 s: ten answers measured, median 20 s, the reward rises to 6 cents.
    await _answer(bob, shifted, 4, 40)
    await _check_after(app, batch_id, 10)
    kept = await _told(rita, "Reward now €0.06 per answer (was €0.02)")
    assert "€0.08 more held" in kept  # 2 slots left x 4 cents
    assert "€0.64 paid in top-ups to 2 worker(s)" in kept  # Ana 6 x 4, Bob 4 x 10
    assert "€0.24 for 6 answer(s)" in await _told(ana, "Fair-pay top-up")
    assert "€0.40 for 4 answer(s)" in await _told(bob, "Fair-pay top-up")

    # Bob's last two answers (the fifth was shown before the raise) are topped up in turn.
    message = await _task(bob)
    for done in range(2):
        shifted.offset += timedelta(seconds=40)
        await bob.press("car", message=message)
        if done == 0:
            message = await _task(bob)
    await _check_after(app, batch_id, 12)
    assert "€0.16 for 2 answer(s)" in await _told(bob, "for 2 answer(s)")  # 10 + 6 cents

    answers = await db.run_read(assignments_of_batch, batch_id)
    topups = await db.run_read(topups_of_batch, batch_id)
    for worker in (1301, 1302):
        mine = [a for a in answers if a.worker_id == worker and a.state == "submitted"]
        paid = sum(a.reward + topups.get(a.id, 0) for a in mine)
        spent = sum(a.duration_ms or 0 for a in mine)
        assert len(mine) == 6
        assert paid * MS_PER_HOUR / spent >= floor, (worker, paid, spent)
    # A further pass finds nothing owed: each answer is topped up once.
    request_floor_check(app)
    assert await db.run_read(topups_of_batch, batch_id) == topups

    # /history shows the batch as Ana did it, top-ups included, and when the month is paid.
    await ana.send_command("/history")
    lines = (await _told(ana, "Your recent batches:")).splitlines()
    head = f"• #{batch_id} «Street scenes»: 6 answer(s), €0.36 in about 2 min, €"
    assert lines[1].startswith(head)
    assert float(lines[1].removeprefix(head).removesuffix(" an hour")) >= floor / 100
    assert lines[3] == "January 2026: €0.36 earned so far."
    assert lines[4].startswith("How you are paid: on 1 February 2026 the month's statement")
