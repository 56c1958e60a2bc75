"""Handler room of task reports (issue 14): Report on a task and its reasons, what the requester
and the admins are told, and the admins' Resume / Keep paused buttons on a batch that reports
paused for review."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError

from bot import answers
from bot.context import BotContext, Services
from bot.engine import followup, jobs
from bot.engine.delivery import edit_keyboard, markup_of
from bot.engine.render import REPORT, Rows
from bot.people import find_user, ids_with_role
from bot.reports import REASONS, Reported, decide_review, reason_named, report_task
from bot.telegram_ui import button_batch_id, callback, callback_ids, keyboard, translator_for

log = logging.getLogger(__name__)

# Callback data (STYLE.md 6): "trr ASSIGNMENT_ID REASON_INDEX", "trb ASSIGNMENT_ID" (back to the
# task), "rvr BATCH_ID" / "rvk BATCH_ID" (an admin resumes or keeps a batch paused by reports).
REASON = "trr"
BACK = "trb"
RESUME = "rvr"
KEEP = "rvk"


async def report_button(update: Update, context: BotContext) -> None:
    """Report: the reasons take the place of the task's buttons (the task stays open)."""
    (assignment_id,) = callback_ids(update, REPORT, 1)
    actor = await context.actor(update)
    services, t = context.services, actor.t
    query = update.callback_query
    assert query is not None
    await answers.open_assignment(services.db, assignment_id, actor.user.id, services.clock.now())
    await query.answer(t("reports.choose"))
    rows: Rows = [
        [(t(f"reports.reason.{reason}"), callback(REASON, assignment_id, index))]
        for index, reason in enumerate(REASONS)
    ]
    rows.append([(t("reports.button.back"), callback(BACK, assignment_id))])
    chat_id, message_id, _ = followup.message_ref(query.message)
    if chat_id:
        async with services.runtime.message_lock(chat_id, message_id):
            await edit_keyboard(context.application, chat_id, message_id, markup_of(rows))


async def back_button(update: Update, context: BotContext) -> None:
    """Back from the reasons: the task's own buttons again, if it is still open."""
    (assignment_id,) = callback_ids(update, BACK, 1)
    actor = await context.actor(update)
    services = context.services
    query = update.callback_query
    assert query is not None
    _, batch = await answers.open_assignment(
        services.db, assignment_id, actor.user.id, services.clock.now()
    )
    await query.answer()
    await followup.show_ticks(context, actor.t, batch, assignment_id, query.message)


async def reason_button(update: Update, context: BotContext) -> None:
    """A reason: the report is taken, the task given back without penalty, the next follows;
    the requester and the admins are told (the admins with buttons when the batch paused)."""
    assignment_id, index = callback_ids(update, REASON, 2)
    reason = reason_named(index)
    actor = await context.actor(update)
    services, t = context.services, actor.t
    query = update.callback_query
    assert query is not None
    with services.runtime.handling(actor.user.id):
        reported = await report_task(
            services.db,
            assignment_id,
            actor.user.id,
            reason,
            threshold=services.settings.reports_to_pause,
            now=services.clock.now(),
        )
        await query.answer(t("reports.thanks"))
        await followup.after_release(
            context,
            actor.user.id,
            assignment_id,
            query.message,
            ended_caption=t(
                "reports.reported", title=reported.batch.title, reason=t(f"reports.reason.{reason}")
            ),
            header=t("reports.header"),
        )
    await _tell_requester(context, reported)
    await _tell_admins(context, reported)


async def _tell_requester(context: BotContext, reported: Reported) -> None:
    services = context.services
    batch = reported.batch
    if await find_user(services.db, batch.requester_id) is None:
        return  # never wrote to the bot: Telegram would refuse the message
    t = await translator_for(services, batch.requester_id)
    lines = [
        t(
            "reports.to_requester",
            id=batch.id,
            title=batch.title,
            reason=t(f"reports.reason.{reported.reason}"),
            reporters=reported.reporters,
        )
    ]
    if reported.paused:
        lines.append(t("reports.paused_requester", id=batch.id))
    await _send(context, batch.requester_id, "\n".join(lines))


async def _tell_admins(context: BotContext, reported: Reported) -> None:
    services = context.services
    batch = reported.batch
    for admin_id in await ids_with_role(services.db, "admin"):
        t = await translator_for(services, admin_id)
        text = t(
            "reports.to_admin",
            id=batch.id,
            title=batch.title,
            requester=batch.requester_id,
            reason=t(f"reports.reason.{reported.reason}"),
            reporters=reported.reporters,
            threshold=services.settings.reports_to_pause,
        )
        if not reported.paused:
            await _send(context, admin_id, text)
            continue
        reasons = ", ".join(
            f"{t(f'reports.reason.{reason}')} × {count}"
            for reason, count in reported.reasons.items()
        )
        text += "\n\n" + t("reports.paused_admin", id=batch.id, reasons=reasons)
        rows = [
            [
                (t("reports.button.resume"), callback(RESUME, batch.id)),
                (t("reports.button.keep"), callback(KEEP, batch.id)),
            ]
        ]
        await _send(context, admin_id, text, rows)


async def _send(context: BotContext, chat_id: int, text: str, rows: Rows | None = None) -> None:
    try:
        await context.bot.send_message(
            chat_id, text[:4096], reply_markup=keyboard(rows) if rows else None
        )
    except TelegramError as exc:
        log.warning("could not tell %s about a report: %s", chat_id, exc)


async def resume_button(update: Update, context: BotContext) -> None:
    """Resume (admins): the batch's tasks are offered again, its reports dismissed."""
    await _review(update, context, RESUME, resume=True)


async def keep_button(update: Update, context: BotContext) -> None:
    """Keep paused (admins): the batch stays paused, its reports upheld."""
    await _review(update, context, KEEP, resume=False)


async def _review(update: Update, context: BotContext, prefix: str, *, resume: bool) -> None:
    batch_id = button_batch_id(update, prefix)
    actor = await context.actor(update)
    actor.require("admin")
    services, t = context.services, actor.t
    query = update.callback_query
    assert query is not None
    decision = await decide_review(
        services.db, batch_id, actor.user.id, resume=resume, now=services.clock.now()
    )
    outcome = "resumed" if resume else "kept"
    await query.answer(t(f"reports.review.{outcome}_answer"))
    if resume:
        jobs.request_dispatch(context.application)
    done = t(f"reports.review.{outcome}_admin", id=batch_id, admin=actor.user.first_name)
    message = query.message
    if isinstance(message, Message):
        try:
            await query.edit_message_text(f"{message.text or ''}\n\n{done}"[:4096])
        except TelegramError as exc:
            log.info("could not mark the review of batch %s done: %s", batch_id, exc)
    await _tell_requester_decision(
        services, context, decision.batch.requester_id, batch_id, outcome
    )


async def _tell_requester_decision(
    services: Services, context: BotContext, requester_id: int, batch_id: int, outcome: str
) -> None:
    if await find_user(services.db, requester_id) is None:
        return
    rt = await translator_for(services, requester_id)
    await _send(context, requester_id, rt(f"reports.review.{outcome}_requester", id=batch_id))
