"""Handler room of admin payouts: /closemonth, /payouts (one paged list message) and its
buttons, /exportpayouts, /health, the monthly job. Hold and Mark paid ask for a line of text:
``bot/handlers/payout_prompts.py``."""

from __future__ import annotations

import io
import logging
from datetime import time
from typing import Any

from telegram import InputFile, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import JobQueue

from bot.callback_data import numeric_args
from bot.context import Actor, BotContext, Services
from bot.errors import IllegalTransition, InvalidInput
from bot.i18n import Translator
from bot.ledger import parse_month
from bot.payouts import (
    Page,
    PageApproval,
    Statement,
    approve,
    approve_page,
    awaiting_page,
    catch_up_closes,
    check_invariants,
    close_month,
    close_previous_month,
    export_csv,
    statements_for_month,
)
from bot.people import find_user, ids_with_role
from bot.rewards import platform_health
from bot.telegram_ui import (
    PAYOUT_APPROVE,
    PAYOUT_APPROVE_ALL,
    PAYOUT_PAGE,
    callback_args,
    message_of,
    payouts_page_view,
    sepa_offer,
    show_payouts_page,
    statement_press,
    tell_refusal,
    tell_worker_statement,
)
from bot.texts import health_lines, step_text

log = logging.getLogger(__name__)

CLOSE_JOB = "close-month"


async def closemonth(update: Update, context: BotContext) -> None:
    """``/closemonth YYYY-MM``: create the month's statements, idempotently (ended months only)."""
    actor = await context.actor(update)
    actor.require("admin")
    args = context.args or []
    if len(args) != 1:
        raise InvalidInput("closemonth.usage")
    services = context.services
    closed = await close_month(
        services.db,
        parse_month(args[0]),
        now=services.clock.now(),
        tz=services.settings.timezone,
        actor_id=actor.user.id,
    )
    t = actor.t
    total = sum(statement.amount for statement in closed.created)
    key = "closemonth.done" if closed.created or closed.first_close else "closemonth.nothing_new"
    await message_of(update).reply_text(
        t(key, month=t.month(closed.month), count=len(closed.created), total=t.money(total))
    )


# /payouts: one list message, paged; every button redraws it in place ----------------------------


async def payouts(update: Update, context: BotContext) -> None:
    """``/payouts``: the statements awaiting a step, a page at a time, in one message."""
    actor = await context.actor(update)
    actor.require("admin")
    page = await awaiting_page(context.services.db, 0)
    text, markup = payouts_page_view(actor, page)
    await message_of(update).reply_text(text, reply_markup=markup)


async def _redraw(update: Update, context: BotContext, actor: Actor, number: int) -> Page:
    """Redraw the pressed list message with page ``number``'s fresh states (before the press is
    answered, so the answer comes with the page it speaks of)."""
    page = await awaiting_page(context.services.db, number)
    message = message_of(update)
    text, markup = payouts_page_view(actor, page)
    if message.text is None:  # a forged press on a file or a photo: the list as a new message
        await message.reply_text(text, reply_markup=markup)
    elif message.text != text or message.reply_markup != markup:  # a double tap shows the same
        await show_payouts_page(context, actor, page, message.chat_id, message.message_id)
    return page


async def _answer(update: Update, text: str) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(text[:200])


async def page_button(update: Update, context: BotContext) -> None:
    """Previous or Next: another page of the list (the last one if the list shrank)."""
    (number,) = numeric_args(callback_args(update, PAYOUT_PAGE, 1))
    actor = await context.actor(update)
    actor.require("admin")
    page = await _redraw(update, context, actor, number)
    await _answer(update, actor.t("payouts.page.shown", page=page.number + 1, pages=page.pages))


async def approve_button(update: Update, context: BotContext) -> None:
    """Approve a statement (or lift its hold); a double tap approves once and says so."""
    statement_id, number = statement_press(update, PAYOUT_APPROVE)
    actor = await context.actor(update)
    actor.require("admin")
    services = context.services
    try:
        step = await approve(
            services.db, statement_id, actor_id=actor.user.id, now=services.clock.now()
        )
    except IllegalTransition as error:  # it moved on meanwhile (paid): show where it is now
        await _redraw(update, context, actor, number)
        await tell_refusal(update, context, error)
        return
    await _redraw(update, context, actor, number)
    await _answer(update, step_text(actor.t, step))
    if step.changed:
        await tell_worker_statement(context, step.statement)


async def approve_all_button(update: Update, context: BotContext) -> None:
    """Approve all on this page: the page's pending statements, except the admin's own."""
    first, last, number = numeric_args(callback_args(update, PAYOUT_APPROVE_ALL, 3))
    actor = await context.actor(update)
    actor.require("admin")
    services = context.services
    done = await approve_page(
        services.db, first, last, actor_id=actor.user.id, now=services.clock.now()
    )
    await _redraw(update, context, actor, number)
    await _answer(update, _approval_text(actor.t, done))
    for statement in done.approved:
        await tell_worker_statement(context, statement)


def _approval_text(t: Translator, done: PageApproval) -> str:
    if done.approved:
        lines = [t("payouts.all.approved", count=len(done.approved))]
    elif done.skipped:
        lines = [t("payouts.all.nothing")]
    else:
        return t("payouts.all.gone")
    reasons = [
        t(f"payouts.all.skipped.{why}", count=len(ids))
        for why, ids in (("own", done.own), ("held", done.held), ("already", done.already))
        if ids
    ]
    if reasons:
        lines.append(t("payouts.all.skipped", count=done.skipped, reasons=", ".join(reasons)))
    return " ".join(lines)


async def exportpayouts(update: Update, context: BotContext) -> None:
    """``/exportpayouts YYYY-MM``: the month's statements as CSV, safe to open in a spreadsheet."""
    actor = await context.actor(update)
    actor.require("admin")
    args = context.args or []
    if len(args) != 1:
        raise InvalidInput("exportpayouts.usage")
    month = parse_month(args[0])
    statements = await statements_for_month(context.services.db, month)
    data = export_csv(statements).encode("utf-8")
    await message_of(update).reply_document(
        InputFile(io.BytesIO(data), filename=f"payouts-{month}.csv"),
        caption=actor.t("exportpayouts.caption", month=actor.t.month(month), count=len(statements)),
        reply_markup=sepa_offer(actor.t, context.services, month),
    )


async def health(update: Update, context: BotContext) -> None:
    """``/health``: the ledger's invariants, then measured pay, answers, workers, batches."""
    actor = await context.actor(update)
    actor.require("admin")
    settings = context.services.settings
    problems = await check_invariants(
        context.services.db, tz=settings.timezone, cap=settings.monthly_cap
    )
    t = actor.t
    if not problems:
        lines = [t("health.ledger_ok")]
    else:
        lines = [t("health.ledger_problems", count=len(problems)), *problems[:10]]
    # The platform's vital signs: measured pay, answers, workers, batches (bot/rewards.py).
    services = context.services
    lines += health_lines(t, await platform_health(services.db, services.clock.now()))
    await message_of(update).reply_text("\n".join(lines))


# Scheduled close --------------------------------------------------------------------------------


def schedule_monthly_close(services: Services, job_queue: JobQueue[Any]) -> None:
    """Close the month that ended at 00:05 on the 1st, in the configured time zone."""
    job_queue.run_monthly(
        _close_job,
        when=time(0, 5, tzinfo=services.settings.timezone),
        day=1,
        name=CLOSE_JOB,
    )


async def _close_job(context: BotContext) -> None:
    services = context.services
    closed = await close_previous_month(
        services.db, now=services.clock.now(), tz=services.settings.timezone
    )
    await _announce(context, [closed.created])


async def catch_up(context: BotContext) -> None:
    """At start: close the months whose close was missed while the bot was down."""
    services = context.services
    closes = await catch_up_closes(services.db, services.clock.now(), services.settings.timezone)
    await _announce(context, [c.created for c in closes])


async def _announce(context: BotContext, created: list[list[Statement]]) -> None:
    statements = [s for group in created for s in group]
    if not statements:
        return
    services = context.services
    for admin_id in await ids_with_role(services.db, "admin"):
        admin = await find_user(services.db, admin_id)
        t = services.translator(admin.language if admin else "en")
        try:
            await context.bot.send_message(
                admin_id, t("payouts.new_statements", count=len(statements))
            )
        except (BadRequest, Forbidden):
            log.info("admin %s not told about new statements", admin_id)
