"""Handler room of the kept fair-pay floor: the job that raises rewards and tops up answers
(``bot.floor``), and the messages it sends to workers and requesters."""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import BadRequest, Forbidden
from telegram.ext import Application

from bot.context import BotContext, Services
from bot.floor import FloorNews, enforce_floor
from bot.telegram_ui import translator_for

log = logging.getLogger(__name__)

FLOOR_JOB = "floor"
FLOOR_INTERVAL = 30.0  # seconds between passes (plus one on request)


def schedule_floor(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Keep the floor every ``FLOOR_INTERVAL`` seconds."""
    queue = application.job_queue
    assert queue is not None
    queue.run_repeating(floor_job, interval=FLOOR_INTERVAL, first=FLOOR_INTERVAL, name=FLOOR_JOB)


def request_floor_check(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Run a pass now (tests, tools), once even if asked twice."""
    queue = application.job_queue
    assert queue is not None
    if not queue.get_jobs_by_name(f"{FLOOR_JOB}:now"):
        queue.run_once(floor_job, 0, name=f"{FLOOR_JOB}:now")


async def floor_job(context: BotContext) -> None:
    """One pass of ``bot.floor.enforce_floor``; then tell whom it concerns."""
    services = context.services
    settings = services.settings
    news = await enforce_floor(
        services.db,
        floor=settings.min_hourly_rate,
        now=services.clock.now(),
        tz=settings.timezone,
        cap=settings.monthly_cap,
        memo=services.floor_memo,
    )
    for found in news:
        await _tell_requester(context, services, found)
        for worker_id, cents in found.topups.items():
            await _tell_worker(context, services, found, worker_id, cents)


async def _send(context: BotContext, user_id: int, text: str) -> None:
    try:
        await context.bot.send_message(user_id, text)
    except (BadRequest, Forbidden) as error:
        log.info("user %s not told about the floor: %s", user_id, error)


async def _tell_requester(context: BotContext, services: Services, news: FloorNews) -> None:
    batch = news.batch
    t = await translator_for(services, batch.requester_id)
    floor = t.money(services.settings.min_hourly_rate)
    if news.paused_short:
        text = t("floor.paused", id=batch.id, floor=floor, shortfall=t.money(news.paused_short))
    else:
        text = t(
            "floor.kept",
            id=batch.id,
            floor=floor,
            old=t.money(news.old_reward),
            new=t.money(news.new_reward),
            held=t.money(news.extra_escrow),
            topped=t.money(news.topped),
            workers=len(news.topups),
        )
    await _send(context, batch.requester_id, text)


async def _tell_worker(
    context: BotContext, services: Services, news: FloorNews, worker_id: int, cents: int
) -> None:
    t = await translator_for(services, worker_id)
    text = t(
        "floor.topup",
        amount=t.money(cents),
        answers=news.topup_answers.get(worker_id, 0),
        id=news.batch.id,
        title=news.batch.title,
        floor=t.money(services.settings.min_hourly_rate),
    )
    await _send(context, worker_id, text)
