"""Requester batches on Telegram: a ZIP upload, the summary with Publish and Discard, /batches,
/batch ID, /pausebatch, /resumebatch and /cancelbatch, and their buttons.

The guided ``/newbatch`` conversation lives in ``bot/handlers/newbatch.py``; both end in
``send_summary`` here. Every button names a batch id, and every press is checked again on the
server (``bot/batches.py``): a forged or stale press changes nothing and says why.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot import batches
from bot.batches import Progress, Summary, Viewer
from bot.context import Actor, BotContext
from bot.errors import BatchRejected, InvalidInput, Problem, UserError
from bot.handlers.common import callback, callback_args, keyboard, message_of
from bot.handlers.tasks import request_dispatch
from bot.i18n import Translator
from bot.intake.prepare import PreparedBatch, prepare_batch
from bot.intake.pricing import floor_warning
from storage.batches import BatchLine

log = logging.getLogger(__name__)

# Callback data: "PREFIX BATCH_ID" (STYLE.md 6).
PUBLISH = "bpub"
DISCARD = "bdis"
PAUSE = "bpau"
RESUME = "bres"
CANCEL_ASK = "bcq"
CANCEL = "bcan"

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""Telegram lets a bot download files of at most 20 MB."""
MAX_PROBLEMS_SHOWN = 25
"""A refusal lists this many problems, then says how many more (a message holds 4,096 chars)."""
ZIP_MIME_TYPES = ("application/zip", "application/x-zip-compressed")

R = TypeVar("R")


# Refusals --------------------------------------------------------------------------------------


def readable_params(t: Translator, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters of a batch refusal made readable: a batch state in words."""
    found = dict(params)
    if isinstance(found.get("state"), str):
        found["state"] = t(f"batches.state.{found['state']}")
    return found


def problem_text(t: Translator, problem: Problem) -> str:
    """One problem of an upload, in the user's language (money, dates made readable)."""
    return t.render(problem.key, readable_params(t, problem.params))


def problems_text(t: Translator, problems: tuple[Problem, ...]) -> str:
    """Every problem of a refused upload (the first ``MAX_PROBLEMS_SHOWN``), then what it means."""
    lines = [t("batch.rejected", count=len(problems))]
    lines.extend(f"• {problem_text(t, p)}" for p in problems[:MAX_PROBLEMS_SHOWN])
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(t("batches.more_problems", count=len(problems) - MAX_PROBLEMS_SHOWN))
    lines.append("")
    lines.append(t("batches.nothing_created"))
    return "\n".join(lines)[:4096]


def refusal_text(t: Translator, error: UserError) -> str:
    """The text of a refusal: every problem of a rejected upload, else the error's message."""
    if isinstance(error, BatchRejected):
        return problems_text(t, error.problems)
    return t.render(error.message_key, readable_params(t, error.params))


async def tell_refusal(update: Update, context: BotContext, error: UserError) -> None:
    """Tell the user why: an alert on a pressed button, else a reply."""
    t = (await context.actor(update)).t
    text = refusal_text(t, error)
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    else:
        await message_of(update).reply_text(text)


def refusals_told(
    handler: Callable[[Update, BotContext], Coroutine[Any, Any, R]],
) -> Callable[[Update, BotContext], Coroutine[Any, Any, R | None]]:
    """Answer a ``UserError`` of the handler in the user's language (states, problems, money).

    In a conversation the handler then returns None: the conversation stays where it was, so
    the user can simply try again.
    """

    @functools.wraps(handler)
    async def wrapper(update: Update, context: BotContext) -> R | None:
        try:
            return await handler(update, context)
        except UserError as error:
            await tell_refusal(update, context, error)
            return None

    return wrapper


# Who asks --------------------------------------------------------------------------------------


def viewer_of(actor: Actor) -> Viewer:
    """A requester (their own batches) or an admin (every batch); anyone else is refused."""
    if actor.has("admin"):
        actor.require("admin")  # admin actions only in a private chat
        return Viewer(actor.user.id, is_admin=True)
    actor.require("requester")
    return Viewer(actor.user.id)


def creator_of(actor: Actor) -> Viewer:
    """Creating and publishing spend a requester's budget: the requester role is needed."""
    actor.require("requester")
    return Viewer(actor.user.id, is_admin=actor.has("admin"))


def button_batch_id(update: Update, prefix: str) -> int:
    """The batch id of ``"PREFIX BATCH_ID"`` callback data; ``InvalidInput`` if forged."""
    (raw,) = callback_args(update, prefix, 1)
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise InvalidInput("error.bad_button")
    return int(raw)


# Downloads -------------------------------------------------------------------------------------


def _too_big() -> InvalidInput:
    return InvalidInput("batches.file_too_big", limit_mb=MAX_DOWNLOAD_BYTES // (1024 * 1024))


def check_size(size: int | None) -> None:
    """Refuse a file above the 20 MB Telegram lets a bot download, before trying."""
    if size is not None and size > MAX_DOWNLOAD_BYTES:
        raise _too_big()


async def download(context: BotContext, file_id: str, size: int | None) -> bytes:
    """A file the user sent, through getFile; refused above Telegram's 20 MB for bots."""
    check_size(size)
    try:
        telegram_file = await context.bot.get_file(file_id)
    except BadRequest as error:
        if "too big" in error.message.lower():
            raise _too_big() from None
        raise
    return bytes(await telegram_file.download_as_bytearray())


# The summary before publishing -----------------------------------------------------------------


def summary_text(t: Translator, summary: Summary, min_hourly_rate: int) -> str:
    """Items, gold items, answers per item, reward, most possible cost, balance; warnings."""
    batch = summary.batch
    lines = [
        t("batches.summary.header", id=batch.id, title=batch.title),
        t("batches.summary.type", type=t(f"batches.type.{batch.type}")),
        t("batches.summary.items", items=summary.items, gold=summary.gold_items),
        t("batches.summary.answers", answers=batch.answers_per_item),
        t(
            "batches.summary.reward",
            reward=t.money(batch.reward),
            seconds=batch.seconds_per_task,
            time_limit=batch.time_limit,
        ),
        t(
            "batches.summary.cost",
            cost=t.money(summary.cost),
            items=summary.items,
            answers=batch.answers_per_item,
            reward=t.money(batch.reward),
        ),
        t("batches.summary.balance", balance=t.money(summary.balance)),
    ]
    warning = floor_warning(batch.reward, batch.seconds_per_task, min_hourly_rate)
    if warning is not None:
        lines.extend(["", "⚠️ " + problem_text(t, warning)])
    lines.append("")
    if summary.shortfall:
        lines.append(t("batches.summary.short", shortfall=t.money(summary.shortfall)))
    else:
        lines.append(t("batches.summary.ready", cost=t.money(summary.cost)))
    return "\n".join(lines)


def draft_buttons(t: Translator, summary: Summary) -> InlineKeyboardMarkup:
    batch_id = summary.batch.id
    return keyboard(
        [
            [
                (
                    t("batches.button.publish", cost=t.money(summary.cost)),
                    callback(PUBLISH, batch_id),
                )
            ],
            [(t("batches.button.discard"), callback(DISCARD, batch_id))],
        ]
    )


async def send_summary(message: Message, context: BotContext, actor: Actor, batch_id: int) -> None:
    """Reply with a draft's summary and its Publish and Discard buttons."""
    services = context.services
    batch = await batches.batch_for(services.db, batch_id, creator_of(actor))
    rate = services.settings.min_hourly_rate
    summary = await batches.summarise(services.db, batch, min_hourly_rate=rate)
    await message.reply_text(
        summary_text(actor.t, summary, rate), reply_markup=draft_buttons(actor.t, summary)
    )


async def draft_from(
    context: BotContext, actor: Actor, data: bytes, *, origin: batches.Origin
) -> int:
    """Check an upload (``BatchRejected`` names every problem) and store it as a draft."""
    services = context.services
    prepared: PreparedBatch = await prepare_batch(
        data,
        data_dir=services.settings.data_dir,
        min_hourly_rate=services.settings.min_hourly_rate,
    )
    return await batches.create_draft(
        services.db,
        prepared,
        requester_id=actor.user.id,
        origin=origin,
        now=services.clock.now(),
    )


# A ZIP with batch.toml -------------------------------------------------------------------------


@refusals_told
async def zip_document(update: Update, context: BotContext) -> None:
    """A requester's ZIP: download, check every part, then the summary or every problem.

    Registered with ``block=False``: checking media can take a while and must not hold up
    other users' updates.
    """
    actor = await context.actor(update)
    creator_of(actor)
    message = message_of(update)
    document = message.document
    assert document is not None
    check_size(document.file_size)
    await message.reply_text(actor.t("batches.checking", name=(document.file_name or "")[:80]))
    data = await download(context, document.file_id, document.file_size)
    batch_id = await draft_from(context, actor, data, origin="zip")
    await send_summary(message, context, actor, batch_id)


# Publish and discard ---------------------------------------------------------------------------


@refusals_told
async def publish_button(update: Update, context: BotContext) -> None:
    """Publish a draft: hold its most possible cost in escrow and open it to workers."""
    batch_id = button_batch_id(update, PUBLISH)
    actor = await context.actor(update)
    services = context.services
    published = await batches.publish(
        services.db,
        batch_id,
        creator_of(actor),
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    t = actor.t
    query = update.callback_query
    assert query is not None
    if not published.created:
        await query.answer(t("batches.already_published", id=batch_id))
        return
    await query.answer(t("batches.published_toast"))
    request_dispatch(context.application)  # workers who are free get the new tasks now
    await query.edit_message_text(
        t(
            "batches.published",
            id=batch_id,
            cost=t.money(published.cost),
            balance=t.money(published.balance),
        )
    )


@refusals_told
async def discard_button(update: Update, context: BotContext) -> None:
    """Discard a draft: nothing was held, nothing moves; the batch is kept as cancelled."""
    batch_id = button_batch_id(update, DISCARD)
    actor = await context.actor(update)
    services = context.services
    await batches.cancel(
        services.db,
        batch_id,
        creator_of(actor),
        now=services.clock.now(),
        tz=services.settings.timezone,
        drafts_only=True,
    )
    query = update.callback_query
    assert query is not None
    await query.answer(actor.t("batches.discarded_toast"))
    await query.edit_message_text(actor.t("batches.discarded", id=batch_id))


# Lists and progress ----------------------------------------------------------------------------


def _line(t: Translator, line: BatchLine, show_owner: bool) -> str:
    batch = line.batch
    text = t(
        "batches.list.line",
        id=batch.id,
        title=batch.title,
        state=t(f"batches.state.{batch.state}"),
        complete=line.complete,
        items=line.items,
        answers=line.answers,
    )
    if show_owner:
        text += " " + t("batches.list.owner", requester=batch.requester_id)
    return text


@refusals_told
async def batches_command(update: Update, context: BotContext) -> None:
    """``/batches``: the requester's batches with state and progress (an admin: everyone's)."""
    actor = await context.actor(update)
    viewer = viewer_of(actor)
    lines = await batches.list_batches(context.services.db, viewer)
    t = actor.t
    if not lines:
        await message_of(update).reply_text(t("batches.list.empty"))
        return
    text = "\n".join(
        [t("batches.list.header", count=len(lines))]
        + [_line(t, line, viewer.is_admin) for line in lines]
        + ["", t("batches.list.footer")]
    )
    await message_of(update).reply_text(text[:4096])


def progress_text(t: Translator, progress: Progress) -> str:
    """Items done, answers collected, escrow held and spent, median answer time."""
    batch, items, answers, escrow = (
        progress.batch,
        progress.items,
        progress.answers,
        progress.escrow,
    )
    lines = [
        t(
            "batches.progress.header",
            id=batch.id,
            title=batch.title,
            state=t(f"batches.state.{batch.state}"),
        ),
        t("batches.progress.items", complete=items.complete, items=items.items, gold=items.gold),
        t(
            "batches.progress.answers",
            answers=answers.submitted,
            wanted=progress.answers_wanted,
            active=answers.active,
        ),
        t(
            "batches.progress.escrow",
            held=t.money(escrow.held),
            spent=t.money(escrow.spent),
            returned=t.money(escrow.returned),
            balance=t.money(escrow.balance),
        ),
        t("batches.progress.reward", reward=t.money(batch.reward), seconds=batch.seconds_per_task),
    ]
    median = progress.median_answer_ms
    if median is None:
        lines.append(t("batches.progress.no_answers"))
    else:
        seconds = format(median / 1000, ".1f")
        if t.language == "fr":
            seconds = seconds.replace(".", ",")
        lines.append(t("batches.progress.median", seconds=seconds))
    return "\n".join(lines)


def progress_buttons(t: Translator, progress: Progress) -> InlineKeyboardMarkup | None:
    batch_id, state = progress.batch.id, progress.batch.state
    cancel = (t("batches.button.cancel"), callback(CANCEL_ASK, batch_id))
    if state == "open":
        return keyboard([[(t("batches.button.pause"), callback(PAUSE, batch_id)), cancel]])
    if state == "paused":
        return keyboard([[(t("batches.button.resume"), callback(RESUME, batch_id)), cancel]])
    return None


@refusals_told
async def batch_command(update: Update, context: BotContext) -> None:
    """``/batch ID``: progress, escrow and the median answer time, with Pause/Resume/Cancel."""
    actor = await context.actor(update)
    viewer = viewer_of(actor)
    batch_id = batches.parse_batch_id(context.args, "batch")
    found = await batches.progress(context.services.db, batch_id, viewer)
    if found.batch.state == "draft" and found.batch.requester_id == actor.user.id:
        await send_summary(message_of(update), context, actor, batch_id)
        return
    await message_of(update).reply_text(
        progress_text(actor.t, found), reply_markup=progress_buttons(actor.t, found)
    )


async def _refresh_progress(
    update: Update, context: BotContext, actor: Actor, batch_id: int
) -> None:
    """Redraw a progress message after a button changed the batch."""
    query = update.callback_query
    assert query is not None
    found = await batches.progress(context.services.db, batch_id, viewer_of(actor))
    try:
        await query.edit_message_text(
            progress_text(actor.t, found), reply_markup=progress_buttons(actor.t, found)
        )
    except BadRequest as error:  # "message is not modified": a double tap
        log.debug("batch %s progress not redrawn: %s", batch_id, error)


# Pause, resume, cancel -------------------------------------------------------------------------


@refusals_told
async def pausebatch_command(update: Update, context: BotContext) -> None:
    """``/pausebatch ID``: stop offering the batch's tasks."""
    actor = await context.actor(update)
    batch_id = batches.parse_batch_id(context.args, "pausebatch")
    services = context.services
    await batches.pause(services.db, batch_id, viewer_of(actor), now=services.clock.now())
    await message_of(update).reply_text(actor.t("batches.paused", id=batch_id))


@refusals_told
async def resumebatch_command(update: Update, context: BotContext) -> None:
    """``/resumebatch ID``: offer the batch's tasks again."""
    actor = await context.actor(update)
    batch_id = batches.parse_batch_id(context.args, "resumebatch")
    services = context.services
    await batches.resume(services.db, batch_id, viewer_of(actor), now=services.clock.now())
    request_dispatch(context.application)
    await message_of(update).reply_text(actor.t("batches.resumed", id=batch_id))


def _cancelled_text(t: Translator, cancelled: batches.Cancelled) -> str:
    return t(
        "batches.cancelled",
        id=cancelled.batch.id,
        refunded=t.money(cancelled.refunded),
        spent=t.money(cancelled.spent),
    )


@refusals_told
async def cancelbatch_command(update: Update, context: BotContext) -> None:
    """``/cancelbatch ID``: cancel, and return the unspent escrow to the requester."""
    actor = await context.actor(update)
    batch_id = batches.parse_batch_id(context.args, "cancelbatch")
    services = context.services
    cancelled = await batches.cancel(
        services.db,
        batch_id,
        viewer_of(actor),
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    await message_of(update).reply_text(_cancelled_text(actor.t, cancelled))


@refusals_told
async def pause_button(update: Update, context: BotContext) -> None:
    """The Pause button of a progress message."""
    batch_id = button_batch_id(update, PAUSE)
    actor = await context.actor(update)
    services = context.services
    await batches.pause(services.db, batch_id, viewer_of(actor), now=services.clock.now())
    query = update.callback_query
    assert query is not None
    await query.answer(actor.t("batches.paused", id=batch_id))
    await _refresh_progress(update, context, actor, batch_id)


@refusals_told
async def resume_button(update: Update, context: BotContext) -> None:
    """The Resume button of a progress message."""
    batch_id = button_batch_id(update, RESUME)
    actor = await context.actor(update)
    services = context.services
    await batches.resume(services.db, batch_id, viewer_of(actor), now=services.clock.now())
    request_dispatch(context.application)
    query = update.callback_query
    assert query is not None
    await query.answer(actor.t("batches.resumed", id=batch_id))
    await _refresh_progress(update, context, actor, batch_id)


@refusals_told
async def cancel_ask_button(update: Update, context: BotContext) -> None:
    """The Cancel button: ask to confirm, since it cannot be undone."""
    batch_id = button_batch_id(update, CANCEL_ASK)
    actor = await context.actor(update)
    await batches.batch_for(context.services.db, batch_id, viewer_of(actor))
    t = actor.t
    query = update.callback_query
    assert query is not None
    await query.answer()
    await message_of(update).reply_text(
        t("batches.cancel_confirm", id=batch_id),
        reply_markup=keyboard([[(t("batches.button.cancel_yes"), callback(CANCEL, batch_id))]]),
    )


@refusals_told
async def cancel_button(update: Update, context: BotContext) -> None:
    """The confirmed Cancel button."""
    batch_id = button_batch_id(update, CANCEL)
    actor = await context.actor(update)
    services = context.services
    cancelled = await batches.cancel(
        services.db,
        batch_id,
        viewer_of(actor),
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    query = update.callback_query
    assert query is not None
    await query.answer(actor.t("batches.cancelled_toast", id=batch_id))
    await query.edit_message_text(_cancelled_text(actor.t, cancelled))
