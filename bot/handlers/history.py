"""Handler room of ``/history``: the worker's recent tasks by batch and this month's statement."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.history import history_of, hourly_rate
from bot.telegram_ui import message_of


async def history(update: Update, context: BotContext) -> None:
    """``/history``: per batch the answers, pay, time spent and hourly rate; then the month."""
    actor = await context.actor(update)
    actor.require("worker")
    services = context.services
    t = actor.t
    found = await history_of(
        services.db, actor.user.id, now=services.clock.now(), tz=services.settings.timezone
    )
    lines = [t("history.header")] if found.batches else [t("history.empty")]
    for work in found.batches:
        rate = hourly_rate(work)
        lines.append(
            t(
                "history.batch",
                id=work.batch_id,
                title=work.title,
                answers=work.answers,
                paid=t.money(work.paid),
                minutes=max(1, round(work.duration_ms / 60_000)),
                rate=t.money(rate) if rate is not None else "—",
            )
        )
    lines.extend(
        [
            "",
            t("history.month", month=t.month(found.month), amount=t.money(found.earned)),
            t("history.paid_when", date=t.date(found.closes_on)),
        ]
    )
    await message_of(update).reply_text("\n".join(lines))
