"""Run the real Application against the sandbox Bot API, the way ``run_polling`` would.

Also the e2e tests' shared helpers: signing a worker up, publishing a batch while the bot runs,
uploading a batch ZIP, waiting for the next task. The fixtures built on them live in
``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from bot.app import BotApplication, build_application
from bot.clock import Clock, ShiftedClock
from bot.config import Settings
from bot.engine.jobs import request_dispatch
from bot.gold import QualityRules
from bot.ledger import credit_reward, hold_for_batch, top_up
from bot.payouts import close_month
from bot.quality import SpeedPolicy
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.db import Database
from tests.builders import publish_batch
from tests.conftest import REQUESTER_ID

# Scripted workers answer in milliseconds, which is implausibly fast: their answers are flagged,
# but a type is never paused for speed unless a test asks for it (more flags than the window).
ROBOT_QUALITY = QualityRules(speed=SpeedPolicy(max_flags=11, window=10))


@asynccontextmanager
async def running_bot(
    settings: Settings, *, clock: Clock | None = None, quality: QualityRules = ROBOT_QUALITY
) -> AsyncIterator[BotApplication]:
    """Start the bot with long polling, as production does, and stop it cleanly afterwards.

    ``run_polling`` calls ``post_init`` after ``initialize``, ``post_stop`` after ``stop`` and
    ``post_shutdown`` after ``shutdown``; a test driving the pieces itself must call them too
    (FIELD-NOTES).
    """
    # The sandbox of these tests has no flood control: the outbox keeps no budget either (its
    # pacing is tested in tests/engine/test_outbox.py and measured by bench/crowd.py).
    application = build_application(settings, clock=clock, rate_limit=False)
    application.bot_data.quality = quality
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(timeout=1, poll_interval=0.0)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        assert application.post_stop is not None
        await application.post_stop(application)
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)


# -- helpers shared by the e2e tests ------------------------------------------------------------

WAIT = 10.0  # generous: a timeout only fails a broken test, it never measures speed


async def eventually(check: Callable[[], Awaitable[bool]], within: float = WAIT) -> bool:
    """Poll ``check`` until it holds or ``within`` seconds pass (a generous bound, not a timing)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def db_of(app: BotApplication) -> Database:
    database: Database = app.bot_data.db
    return database


async def sign_up(sandbox: SandboxServer, user_id: int, name: str, lang: str = "en") -> SandboxUser:
    user = sandbox.user(user_id, first_name=name, language_code=lang)
    await user.send_command("/start")
    welcome = await user.next_message()
    buttons = [text for row in welcome.buttons for text in row]
    staff = "Also take tasks as a worker"  # a requester's or admin's own /start
    await user.press(staff if staff in buttons else "J'accepte" if lang == "fr" else "I agree")
    await user.next_message()
    return user


async def publish(app: BotApplication, clock: ShiftedClock, **options: object) -> int:
    """An open batch with escrow held, then a dispatcher pass as a publish would ask for."""
    settings = app.bot_data.settings
    batch_id = await publish_batch(db_of(app), settings.data_dir, clock.now(), **options)  # type: ignore[arg-type]
    request_dispatch(app)
    return batch_id


async def upload_zip(user: SandboxUser, data: bytes, name: str = "street.zip") -> str:
    """Send a batch ZIP; return the bot's answer after its "checking" notice."""
    await user.send_document(data, file_name=name, mime_type="application/zip")
    checking = await user.next_message()
    assert checking.text is not None
    assert checking.text.startswith(f"Checking {name}")
    result = await user.next_message(timeout=30)
    assert result.text is not None
    return result.text


async def next_task(user: SandboxUser) -> BotMessage:
    """The next message or edit that shows a task (it has a Skip button, ⏭)."""
    message = await user.next_message(timeout=WAIT)
    assert any("⏭" in text for row in message.buttons for text in row), message
    return message


async def said(user: SandboxUser) -> BotMessage:
    """The bot's next new message, past the edits that come before it (a redrawn list)."""
    while (message := await user.next_message(timeout=WAIT)).is_edit:
        pass
    return message


async def march_statements(
    app: BotApplication, worker_ids: Sequence[int], *, funded_by: int
) -> list[int]:
    """March earnings (3.00 each) for ``worker_ids`` from a batch a requester funded (the top-up
    by admin ``funded_by``), and March closed in April: the statements' ids, by worker id."""
    db = db_of(app)
    tz = app.bot_data.settings.timezone
    march = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    earned = 300 * len(worker_ids)
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=earned + 200,
        actor_id=funded_by,
        key="t",
        now=march,
        tz=tz,
    )
    await db.run_write(
        hold_for_batch,
        requester_id=REQUESTER_ID,
        batch_id=1,
        amount=earned,
        actor_id=REQUESTER_ID,
        now=march,
        tz=tz,
    )
    for assignment_id, worker_id in enumerate(worker_ids, start=1):
        await db.run_write(
            credit_reward,
            batch_id=1,
            worker_id=worker_id,
            assignment_id=assignment_id,
            amount=300,
            at=march,
            tz=tz,
            cap=app.bot_data.settings.monthly_cap,
        )
    april = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)
    closed = await close_month(db, "2026-03", now=april, tz=tz, actor_id=None)
    return [statement.id for statement in closed.created]


async def march_statement(app: BotApplication, worker_id: int, *, funded_by: int) -> int:
    """One worker's March statement (``march_statements``): its id."""
    (statement_id,) = await march_statements(app, [worker_id], funded_by=funded_by)
    return statement_id
