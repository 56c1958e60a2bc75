"""Run the real Application against the sandbox Bot API, the way ``run_polling`` would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app import BotApplication, build_application
from bot.clock import Clock
from bot.config import Settings
from bot.gold import QualityRules
from bot.quality import SpeedPolicy

# Scripted workers answer in milliseconds, which is implausibly fast: their answers are flagged,
# but a type is never paused for speed unless a test asks for it (more flags than the window).
ROBOT_QUALITY = QualityRules(speed=SpeedPolicy(max_flags=11, window=10))


@asynccontextmanager
async def running_bot(
    settings: Settings, *, clock: Clock | None = None, quality: QualityRules = ROBOT_QUALITY
) -> AsyncIterator[BotApplication]:
    """Start the bot with long polling, as production does, and stop it cleanly afterwards.

    ``run_polling`` calls ``post_init`` after ``initialize`` and ``post_shutdown`` after
    ``shutdown``; a test driving the pieces itself must call them too (FIELD-NOTES).
    """
    application = build_application(settings, clock=clock)
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
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)
