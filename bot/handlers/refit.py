"""Handler room of dynamic overlap: the job that refits dynamic batches (``bot.refit``), and
what it tells the workers and requesters concerned."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.context import BotContext
from bot.engine.delivery import BotApplication, services_of
from bot.engine.followup import tell_batch_end, tell_released
from bot.engine.jobs import request_dispatch
from bot.refit import refit_pass

REFIT_JOB = "refit"
REFIT_INTERVAL = 2.0
"""Seconds between passes: an item waiting for its next answer waits about this long."""


def schedule_refit(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Refit the dynamic batches every ``REFIT_INTERVAL`` seconds."""
    queue = application.job_queue
    assert queue is not None
    queue.run_repeating(refit_job, interval=REFIT_INTERVAL, first=REFIT_INTERVAL, name=REFIT_JOB)


async def refit_job(context: BotContext) -> None:
    """Start a pass of ``bot.refit.refit_pass`` beside the job queue (a large batch's refit
    takes seconds; the next tick finds it running and does nothing), unless one is running."""
    services = context.services
    if services.refit_memo.running.locked():
        return
    application: BotApplication = context.application
    application.create_task(_refit_and_tell(application), name=REFIT_JOB)


async def _refit_and_tell(application: BotApplication) -> None:
    """One pass; then the dispatcher, the workers whose gold task ended and the requesters."""
    services = services_of(application)
    news = await refit_pass(
        services.db,
        now=services.clock.now(),
        tz=services.settings.timezone,
        memo=services.refit_memo,
        route_window=services.quality.route_window,
    )
    if any(found.allowed for found in news):
        request_dispatch(application)  # workers waiting for a task may take the slots now
    for found in news:
        await tell_released(application, found.batch, found.released)
        if found.batch_end is not None:
            await tell_batch_end(application, found.batch_end)
