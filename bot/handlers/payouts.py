"""Handler room of admin payouts: /closemonth, /payouts and its buttons, /exportpayouts,
/health, the monthly job."""

from __future__ import annotations

import io
import logging
import warnings
from datetime import time
from typing import Any

from telegram import ForceReply, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    JobQueue,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callback_data import parse_id
from bot.context import Actor, BotContext, Services
from bot.errors import InvalidInput
from bot.ledger import parse_month
from bot.payouts import (
    Statement,
    Step,
    approve,
    catch_up_closes,
    check_invariants,
    check_reviewer,
    check_step,
    close_month,
    close_previous_month,
    export_csv,
    get_statement,
    hold,
    mark_paid,
    statements_awaiting,
    statements_for_month,
)
from bot.people import find_user, ids_with_role
from bot.rewards import platform_health
from bot.telegram_ui import (
    callback,
    callback_args,
    keyboard,
    message_of,
    sepa_offer,
    tell_worker_statement,
)
from bot.texts import health_lines

log = logging.getLogger(__name__)

APPROVE, HOLD, PAY = "pay_ok", "pay_hold", "pay_paid"
AWAITING_TEXT = 1  # conversation state: the admin is asked for a hold reason or a reference
_PENDING = "payout_prompt"  # user_data key: (action, statement_id) while awaiting text
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


async def payouts(update: Update, context: BotContext) -> None:
    """``/payouts``: one message per statement awaiting a step, with a button for each step."""
    actor = await context.actor(update)
    actor.require("admin")
    waiting = await statements_awaiting(context.services.db)
    message = message_of(update)
    if not waiting:
        await message.reply_text(actor.t("payouts.none"))
        return
    await message.reply_text(actor.t("payouts.header", count=len(waiting)))
    for statement in waiting:
        await message.reply_text(
            _statement_text(actor, statement), reply_markup=_statement_buttons(actor, statement)
        )


def _statement_text(actor: Actor, statement: Statement) -> str:
    t = actor.t
    text = t(
        "payouts.statement",
        statement_id=statement.id,
        worker=statement.worker_name or "?",
        worker_id=statement.worker_id,
        month=t.month(statement.month),
        amount=t.money(statement.amount),
        state=t(f"statement.state.{statement.state}"),
    )
    if statement.state == "held" and statement.hold_reason:
        text += "\n" + t("payouts.hold_reason", reason=statement.hold_reason)
    if statement.state == "paid" and statement.reference:
        text += "\n" + t("payouts.reference", reference=statement.reference)
    return text


def _statement_buttons(actor: Actor, statement: Statement) -> InlineKeyboardMarkup | None:
    t = actor.t
    steps = {
        "pending": [(t("payouts.button.approve"), APPROVE), (t("payouts.button.hold"), HOLD)],
        "held": [(t("payouts.button.approve"), APPROVE)],
        "approved": [(t("payouts.button.paid"), PAY), (t("payouts.button.hold"), HOLD)],
    }.get(statement.state, [])
    if not steps:
        return None
    return keyboard([[(text, callback(prefix, statement.id)) for text, prefix in steps]])


async def approve_button(update: Update, context: BotContext) -> None:
    """Approve a statement (or lift its hold); a double tap approves once."""
    (raw_id,) = callback_args(update, APPROVE, 1)
    actor = await context.actor(update)
    actor.require("admin")
    services = context.services
    step = await approve(
        services.db, _statement_id(raw_id), actor_id=actor.user.id, now=services.clock.now()
    )
    await _after_step(update, context, actor, step)


async def ask_for_text(update: Update, context: BotContext) -> int:
    """Hold or Mark paid: ask the admin for the reason or the payment reference."""
    query = update.callback_query
    assert query is not None
    prefix = (query.data or "").split(" ")[0]
    (raw_id,) = callback_args(update, prefix, 1)
    actor = await context.actor(update)
    actor.require("admin")
    statement = await get_statement(context.services.db, _statement_id(raw_id))
    check_reviewer(statement, actor.user.id)  # four-eyes, before asking for any text
    check_step(statement, "held" if prefix == HOLD else "paid")
    assert context.user_data is not None
    context.user_data[_PENDING] = [prefix, statement.id]  # JSON: stored with the conversation
    t = actor.t
    await query.answer()
    key = "payouts.ask_reason" if prefix == HOLD else "payouts.ask_reference"
    await message_of(update).reply_text(
        t(key, statement_id=statement.id, worker=statement.worker_name or statement.worker_id),
        reply_markup=ForceReply(selective=True),
    )
    return AWAITING_TEXT


async def receive_text(update: Update, context: BotContext) -> int:
    """Apply the hold or the payment with the text the admin sent."""
    actor = await context.actor(update)
    actor.require("admin")
    assert context.user_data is not None
    prefix, statement_id = context.user_data.pop(_PENDING, (None, None))
    if statement_id is None:
        return ConversationHandler.END
    services = context.services
    text = message_of(update).text or ""
    now = services.clock.now()
    if prefix == HOLD:
        step = await hold(services.db, statement_id, reason=text, actor_id=actor.user.id, now=now)
    else:
        step = await mark_paid(
            services.db,
            statement_id,
            reference=text,
            actor_id=actor.user.id,
            now=now,
            tz=services.settings.timezone,
        )
    await _after_step(update, context, actor, step)
    return ConversationHandler.END


async def prompt_open(update: Update, context: BotContext) -> int | None:
    """Hold or Mark paid again while a reason or reference is awaited (a double tap): the open
    prompt stays, and the press says so."""
    query = update.callback_query
    assert query is not None
    actor = await context.actor(update)
    pending = (context.user_data or {}).get(_PENDING)
    statement_id = pending[1] if pending else "?"
    await query.answer(actor.t("payouts.prompt_open", statement_id=statement_id))
    return None


async def cancel_text(update: Update, context: BotContext) -> int:
    """``/cancel`` while a reason or reference is awaited."""
    actor = await context.actor(update)
    if context.user_data is not None:
        context.user_data.pop(_PENDING, None)
    await message_of(update).reply_text(actor.t("payouts.cancelled"))
    return ConversationHandler.END


def payout_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """Hold and Mark paid ask for one line of text; the conversation is per admin and chat."""
    with warnings.catch_warnings():
        # per_message=False is intended: the admin's next text message is the answer, whichever
        # statement message the button was on. PTB warns that buttons are then not tracked per
        # message, which is what we want here.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CallbackQueryHandler(ask_for_text, pattern=rf"^({HOLD}|{PAY}) ")],
            states={
                AWAITING_TEXT: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, receive_text),
                    CallbackQueryHandler(prompt_open, pattern=rf"^({HOLD}|{PAY}) "),
                ]
            },
            fallbacks=[CommandHandler("cancel", cancel_text)],
            conversation_timeout=600,
            name="payout-step",
            persistent=True,  # a prompt survives a restart (bot/persistence.py)
        )


async def _after_step(update: Update, context: BotContext, actor: Actor, step: Step) -> None:
    t = actor.t
    statement = step.statement
    key = f"payouts.step.{statement.state}" if step.changed else "payouts.step.unchanged"
    text = t(key, statement_id=statement.id, state=t(f"statement.state.{statement.state}"))
    if update.callback_query is not None:
        await update.callback_query.answer(text)
        if step.changed:
            await _refresh(update, actor, statement)
    else:
        await message_of(update).reply_text(text)
    if step.changed:
        await _tell_worker(context, statement)


async def _refresh(update: Update, actor: Actor, statement: Statement) -> None:
    query = update.callback_query
    assert query is not None
    await query.edit_message_text(
        _statement_text(actor, statement), reply_markup=_statement_buttons(actor, statement)
    )


async def _tell_worker(context: BotContext, statement: Statement) -> None:
    await tell_worker_statement(context, statement)


def _statement_id(raw: str) -> int:
    return parse_id(raw, "error.bad_button")


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
