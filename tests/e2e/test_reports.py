"""Reports end to end (issue 14, item 4): a worker reports a task by its reason, the task is
given back without penalty and the next one follows; the requester and the admins see each
report; once reports come from ``REPORTS_TO_PAUSE`` distinct workers the batch pauses for an
admin's review (the requester cannot resume it meanwhile); the admin keeps it paused, which
upholds the reports and shows on the requester's reputation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.payouts import check_invariants
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.availability import get_availability
from storage.batches import get_batch
from storage.reputation import cached_figures
from tests.builders import PARIS
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_rows
from tests.e2e.harness import WAIT, db_of, next_task, publish, running_bot, sign_up


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(telegram_api_url=sandbox.url, reports_to_pause=2)


@pytest.fixture
async def app(settings: Settings, shifted: ShiftedClock) -> AsyncIterator[BotApplication]:
    async with running_bot(settings, clock=shifted) as application:
        yield application
        assert await check_invariants(db_of(application), tz=PARIS, cap=settings.monthly_cap) == []


async def until(user: SandboxUser, fragment: str) -> BotMessage:
    while True:
        message = await user.next_message(timeout=WAIT)
        if fragment in (message.text or ""):
            return message


async def report(user: SandboxUser, task: BotMessage, reason: str) -> None:
    """Report, then the reason: each press is confirmed at once."""
    choose = await user.press("⚠️ Report", message=task)
    assert choose.text == "What is wrong with this task?"
    reasons = await user.next_message(timeout=WAIT)  # the reasons replace the task's buttons
    assert reasons.is_edit
    assert [row[0] for row in reasons.buttons][:4] == [
        "Broken media",
        "Unclear instructions",
        "Offensive content",
        "Fake engagement / click farm",
    ]
    confirmation = await user.press(reason, message=reasons)
    assert "reported, no penalty" in (confirmation.text or "")


async def test_reports_from_two_workers_pause_the_batch_for_an_admins_review(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    admin = sandbox.user(ADMIN_ID, first_name="Adam", language_code="en")
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    for staff in (admin, rita):
        await staff.send_command("/start")
        await staff.next_message()
        staff.drain()
    batch_id = await publish(app, shifted, items=3, answers_per_item=2, time_limit=60)
    ana = await sign_up(sandbox, 1601, "Ana")
    bob = await sign_up(sandbox, 1602, "Bob")

    # Ana reports her task; it is given back without penalty and her next task follows.
    await ana.send_command("/ready")
    await ana.next_message()
    await report(ana, await next_task(ana), "Broken media")
    following = await next_task(ana)  # the photo message turns into the next task
    assert (following.text or "").startswith("⚠️ Previous task reported, thank you.")
    assert (await db.run_read(get_availability, 1601)).paused_at is None
    told = await until(rita, f"your batch #{batch_id}")
    assert "Broken media. Workers reporting it so far: 1." in (told.text or "")
    assert "Workers reporting it: 1 (it pauses at 2)" in (
        (await until(admin, "Report on")).text or ""
    )

    # A second report by the same worker is not a second worker: the batch stays open.
    await report(ana, following, "Unclear instructions")
    third = await next_task(ana)
    assert (third.text or "").startswith("⚠️ Previous task reported, thank you.")
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "open"

    # Bob's report makes two distinct workers: the batch pauses; the admin gets the buttons.
    await bob.send_command("/ready")
    await bob.next_message()
    await report(bob, await next_task(bob), "Offensive content")
    review = await until(admin, "is paused for your review")
    assert "Workers reporting it: 2" in (review.text or "")
    assert "Broken media × 1" in (review.text or "")
    assert [text for row in review.buttons for text in row] == ["▶️ Resume", "⏸ Keep paused"]
    assert f"Batch #{batch_id} is paused until an admin reviews" in (
        (await until(rita, "Offensive content")).text or ""
    )
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "paused"

    # The requester cannot resume it meanwhile; the admin keeps it paused: reports upheld.
    await rita.send_command(f"/resumebatch {batch_id}")
    assert "paused for an admin's review" in ((await rita.next_message()).text or "")
    await admin.press("⏸ Keep paused", message=review)
    assert "kept paused by Adam" in ((await until(admin, "kept paused")).text or "")
    assert "upheld them" in ((await until(rita, "reviewed the reports")).text or "")
    states = await sql_rows(db, "SELECT state FROM task_reports ORDER BY id")
    assert [row[0] for row in states] == ["upheld"] * 3
    figures = await db.run_read(cached_figures, REQUESTER_ID)
    assert figures is not None
    assert figures.reports_upheld == 3
    audit = await sql_rows(
        db, "SELECT action, actor_id FROM audit_log WHERE action LIKE 'review.%'"
    )
    assert [(row[0], row[1]) for row in audit] == [("review.kept", ADMIN_ID)]
    # A stale Resume button (another admin's copy) changes nothing.
    again = await admin.press_data(f"rvr {batch_id}", message=review)
    assert "already reviewed" in (again.text or "")
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "paused"
