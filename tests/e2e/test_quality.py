"""Quality end to end, the real bot against the sandbox: gold answered wrongly pauses a type with
the reason in the worker's language; /stats shows the numbers; an appeal reaches the admin who
lifts the pause in one tap; two agreeing workers complete an item early and the requester gets
the unspent escrow back with a summary. Small thresholds come through ``Services.quality``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.engine.jobs import request_dispatch
from bot.gold import QualityRules
from bot.ledger import balance, requester_account
from bot.payouts import check_invariants
from bot.quality import QualityPolicy
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.availability import paused_types
from tests.builders import LABELS, PARIS, publish_batch, publish_with_gold
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_rows
from tests.e2e.harness import (
    ROBOT_QUALITY,
    WAIT,
    db_of,
    eventually,
    next_task,
    running_bot,
    sign_up,
)

SMALL = QualityRules(
    pause=QualityPolicy(threshold=0.6, min_gold=2),  # two wrong gold answers are enough
    speed=ROBOT_QUALITY.speed,
    gold_share=1.0,  # every task is gold while one is left for the worker
    training_items=0,  # gold disguised from the first task (training: tests/e2e/test_training.py)
)


@pytest.fixture
async def app(settings: Settings, shifted: ShiftedClock) -> AsyncIterator[BotApplication]:
    async with running_bot(settings, clock=shifted, quality=SMALL) as application:
        yield application
        db = db_of(application)
        assert await check_invariants(db, tz=PARIS, cap=settings.monthly_cap) == []


async def until(user: SandboxUser, fragment: str) -> BotMessage:
    """The next message or edit holding ``fragment`` (others before it are passed over)."""
    while True:
        message = await user.next_message(timeout=WAIT)
        if fragment in (message.text or ""):
            return message


async def answer_gold_wrongly(user: SandboxUser, ready: str, paused: str) -> str:
    await user.send_command("/ready")
    assert ready in ((await user.next_message()).text or "")
    first = await next_task(user)
    await user.press("person", message=first)
    second = await next_task(user)  # looks like any task
    await user.press("bicycle", message=second)
    return (await until(user, paused)).text or ""


async def test_wrong_gold_pauses_the_type_in_each_language_and_an_appeal_lifts_it(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Admin", language_code="en")
    await admin.send_command("/start")
    await admin.next_message()
    admin.drain()
    ana = await sign_up(sandbox, 1201, "Ana")
    bob = await sign_up(sandbox, 1202, "Bob", "fr")
    settings = app.bot_data.settings
    await publish_with_gold(
        db_of(app), settings.data_dir, ordinary=2, gold=["car", "car"], now=shifted.now()
    )
    request_dispatch(app)

    told = await answer_gold_wrongly(ana, "ready until", "paused")
    assert "image tagging tasks are paused" in told
    assert "On 2 control answers" in told
    assert "0.58" in told
    assert "0.60" in told
    assert "stays yours" in told
    assert "/appeal" in told
    told_fr = await answer_gold_wrongly(bob, "disponible jusqu'à", "en pause")
    assert "« étiquetage d'images » sont en pause" in told_fr
    assert "Sur 2 réponses de contrôle" in told_fr
    assert "0,58" in told_fr
    db = db_of(app)
    assert set(await db.run_read(paused_types, 1201)) == {"image_tag"}

    await ana.send_command("/stats")
    stats = (await until(ana, "Your numbers")).text or ""
    assert "Tasks done: 2" in stats
    assert "accuracy 0.58 from 2 control answers" in stats
    assert "Level: newcomer" in stats
    assert "Measured pay:" in stats
    assert "image tagging: paused (accuracy on control tasks)" in stats
    await bob.send_command("/stats")
    assert "précision 0,58 sur 2 réponses de contrôle" in (
        (await until(bob, "Vos chiffres")).text or ""
    )

    await ana.send_command("/appeal I misread the labels, sorry")
    assert "sent to the admins" in ((await ana.next_message()).text or "")
    report = await until(admin, "Appeal #")
    assert "I misread the labels, sorry" in (report.text or "")
    assert "accuracy 0.58 from 2 control answers" in (report.text or "")
    await admin.press("Lift the pause: image tagging", message=report)
    assert "lifted the pause on your image tagging tasks" in (
        (await until(ana, "Good news")).text or ""
    )
    assert await db.run_read(paused_types, 1201) == {}
    assert "image_tag" in await db.run_read(paused_types, 1202)  # Bob's pause is his own
    audit = await sql_rows(
        db, "SELECT action, actor_id FROM audit_log WHERE action LIKE 'appeal.%'"
    )
    assert [(row[0], row[1]) for row in audit] == [("appeal.lifted", ADMIN_ID)]


async def test_two_agreeing_workers_complete_an_item_early_and_the_requester_is_refunded(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    requester = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await requester.send_command("/start")
    await requester.next_message()
    requester.drain()
    users = [await sign_up(sandbox, 1300 + n, name) for n, name in enumerate(("Ana", "Bob", "Cy"))]
    db = db_of(app)
    batch_id = await publish_batch(
        db,
        app.bot_data.settings.data_dir,
        shifted.now(),
        labels=LABELS,
        items=1,
        answers_per_item=3,
        reward=4,
        time_limit=30,
        dynamic=False,  # the answer's own rule; a refit's: tests/e2e/test_dynamic_overlap.py
    )
    request_dispatch(app)
    before = await balance(db, requester_account(REQUESTER_ID))
    tasks = []
    for user in users:
        await user.send_command("/ready")
        await user.next_message()
        tasks.append(await next_task(user))
    await users[0].press("car", message=tasks[0])
    await users[1].press("car", message=tasks[1])
    released = await until(users[2], "Other workers already agreed")
    assert "no penalty" in (released.text or "")
    summary = (await until(requester, "is complete")).text or ""
    assert f"Batch #{batch_id}" in summary
    assert "Answers: 2" in summary
    assert "Spent: €0.08" in summary
    assert "returned to your balance: €0.04" in summary
    assert await eventually(lambda: _balance_is(db, before + 4))  # the unspent third answer slot


async def _balance_is(db: object, expected: int) -> bool:
    return await balance(db, requester_account(REQUESTER_ID)) == expected  # type: ignore[arg-type]
