"""Handler room of per-worker actions for requesters (issue 15): the Per worker list after
``/results``, a worker's card (``/worker BATCH PSEUDONYM``), a bonus to one worker (typed or a
button) and Exclude/Readmit. Workers appear by pseudonym only."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot import worker_actions
from bot.batches import parse_batch_id
from bot.callback_data import ascii_digits
from bot.context import BotContext
from bot.engine.jobs import queue_text
from bot.engine.outbox import Priority
from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.money import parse_amount
from bot.telegram_ui import (
    WORKER_LIST,
    callback,
    callback_args,
    keyboard,
    message_of,
    refusals_told,
    translator_for,
    viewer_of,
)
from bot.worker_actions import WorkerBonus, WorkerLine

log = logging.getLogger(__name__)

CARD = "wkc"  # "wkc BATCH PSEUDONYM": the worker's card
BONUS = "wkb"  # "wkb BATCH PSEUDONYM CENTS": a bonus from the card
EXCLUDE = "wkx"  # "wkx BATCH PSEUDONYM": keep from the requester's batches
READMIT = "wki"  # "wki BATCH PSEUDONYM": offer the requester's batches again
BONUS_MULTIPLES = (1, 5, 10)
"""The card's bonus buttons, in rewards of the batch."""
LIST_LIMIT = 20


def _accuracy(t: Translator, line: WorkerLine) -> str:
    if line.accuracy is None:
        return t("workers.accuracy.none")
    return t("workers.accuracy", percent=round(line.accuracy * 100))


def _line_text(t: Translator, line: WorkerLine) -> str:
    key = "workers.line.excluded" if line.excluded else "workers.line"
    return t(key, name=line.pseudonym, answers=line.answers, accuracy=_accuracy(t, line))


def _card_markup(
    t: Translator, batch_id: int, reward: int, line: WorkerLine
) -> InlineKeyboardMarkup:
    name = line.pseudonym
    bonuses = [
        (
            t("workers.button.bonus", amount=t.money(reward * n)),
            callback(BONUS, batch_id, name, reward * n),
        )
        for n in BONUS_MULTIPLES
    ]
    if line.excluded:
        toggle = (t("workers.button.readmit"), callback(READMIT, batch_id, name))
    else:
        toggle = (t("workers.button.exclude"), callback(EXCLUDE, batch_id, name))
    return keyboard([bonuses, [toggle]])


@refusals_told
async def list_button(update: Update, context: BotContext) -> None:
    """The Per worker button under ``/results``: pseudonyms with answers and accuracy."""
    (raw_id,) = callback_args(update, WORKER_LIST, 1)
    batch_id = parse_batch_id([raw_id], "results")
    actor = await context.actor(update)
    services = context.services
    batch, lines = await worker_actions.worker_lines(
        services.db, batch_id, viewer_of(actor), now=services.clock.now()
    )
    query = update.callback_query
    assert query is not None
    await query.answer()
    t = actor.t
    if not lines:
        await message_of(update).reply_text(t("workers.none", id=batch_id))
        return
    text = "\n".join(
        [t("workers.header", id=batch.id, title=batch.title, count=len(lines))]
        + [_line_text(t, line) for line in lines[:LIST_LIMIT]]
        + ["", t("workers.footer", id=batch.id)]
    )
    rows = [
        [(line.pseudonym, callback(CARD, batch.id, line.pseudonym))] for line in lines[:LIST_LIMIT]
    ]
    await message_of(update).reply_text(text[:4096], reply_markup=keyboard(rows))


async def _send_card(update: Update, context: BotContext, batch_id: int, name: str) -> None:
    actor = await context.actor(update)
    services = context.services
    batch, line = await worker_actions.worker_line(
        services.db, batch_id, viewer_of(actor), name, now=services.clock.now()
    )
    t = actor.t
    text = "\n".join(
        [
            t("workers.card", id=batch.id, title=batch.title),
            _line_text(t, line),
            t("workers.card.help", id=batch.id, name=line.pseudonym),
        ]
    )
    await message_of(update).reply_text(
        text, reply_markup=_card_markup(t, batch.id, batch.reward, line)
    )


@refusals_told
async def card_button(update: Update, context: BotContext) -> None:
    """A pseudonym of the list: that worker's card."""
    raw_id, name = callback_args(update, CARD, 2)
    batch_id = parse_batch_id([raw_id], "worker")
    query = update.callback_query
    assert query is not None
    await query.answer()
    await _send_card(update, context, batch_id, name)


@refusals_told
async def worker_command(update: Update, context: BotContext) -> None:
    """``/worker BATCH PSEUDONYM [AMOUNT]``: the worker's card, or a bonus of AMOUNT to them."""
    actor = await context.actor(update)
    actor.require("requester")
    args = context.args or []
    if len(args) not in (2, 3):
        raise InvalidInput("workers.usage")
    batch_id = parse_batch_id(args[:1], "worker")
    if len(args) == 2:
        await _send_card(update, context, batch_id, args[1])
        return
    services = context.services
    amount = parse_amount(args[2], services.settings.currency)
    message = message_of(update)
    # The command message (its chat and id) is the business key: delivered twice, it pays once.
    paid = await _bonus(
        context, actor.user.id, batch_id, args[1], amount, (message.chat_id, message.message_id)
    )
    await message.reply_text(_bonus_text(actor.t, paid))


async def _bonus(
    context: BotContext,
    requester_id: int,
    batch_id: int,
    name: str,
    amount: int,
    key: tuple[int, int],
) -> WorkerBonus:
    services = context.services
    settings = services.settings
    paid = await worker_actions.bonus_worker(
        services.db,
        batch_id,
        requester_id,
        name,
        amount=amount,
        message=key,
        now=services.clock.now(),
        tz=settings.timezone,
        cap=settings.monthly_cap,
    )
    if paid.created:  # the worker is told through the outbox, never awaited here
        wt = await translator_for(services, paid.worker_id)
        text = wt("bonus.received", amount=wt.money(paid.amount), title=paid.batch.title)
        queue_text(context.application, paid.worker_id, text, Priority.NOTICE)
    return paid


def _bonus_text(t: Translator, paid: WorkerBonus) -> str:
    key = "workers.bonus.done" if paid.created else "workers.bonus.already"
    return t(key, name=paid.pseudonym, amount=t.money(paid.amount), id=paid.batch.id)


@refusals_told
async def bonus_button(update: Update, context: BotContext) -> None:
    """A bonus button of a card: once per card and amount, however often it is pressed."""
    raw_id, name, raw_amount = callback_args(update, BONUS, 3)
    if not ascii_digits(raw_id) or not ascii_digits(raw_amount):
        raise InvalidInput("error.bad_button")
    actor = await context.actor(update)
    actor.require("requester")
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    card = (query.message.chat.id, query.message.message_id)
    paid = await _bonus(context, actor.user.id, int(raw_id), name, int(raw_amount), card)
    await query.answer(_bonus_text(actor.t, paid)[:200], show_alert=not paid.created)


async def _toggle(update: Update, context: BotContext, prefix: str, excluded: bool) -> None:
    raw_id, name = callback_args(update, prefix, 2)
    if not ascii_digits(raw_id):
        raise InvalidInput("error.bad_button")
    actor = await context.actor(update)
    actor.require("requester")
    services = context.services
    done = await worker_actions.set_excluded(
        services.db, int(raw_id), actor.user.id, name, excluded=excluded, now=services.clock.now()
    )
    t = actor.t
    query = update.callback_query
    assert query is not None
    key = "workers.excluded" if excluded else "workers.readmitted"
    await query.answer(t(key, name=done.pseudonym)[:200])
    batch = done.batch
    line = WorkerLine(done.pseudonym, 0, None, excluded)
    try:
        await query.edit_message_reply_markup(_card_markup(t, batch.id, batch.reward, line))
    except BadRequest as error:  # "message is not modified": a double tap
        log.debug("worker card not redrawn: %s", error)


@refusals_told
async def exclude_button(update: Update, context: BotContext) -> None:
    """Exclude: the worker is never offered the requester's batches again (until Readmit)."""
    await _toggle(update, context, EXCLUDE, True)


@refusals_told
async def readmit_button(update: Update, context: BotContext) -> None:
    """Readmit: the requester's batches are offered to the worker again."""
    await _toggle(update, context, READMIT, False)
