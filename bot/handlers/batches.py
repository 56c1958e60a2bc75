"""Handler room of requester batches: a ZIP upload, the summary's Publish and Discard, /batches,
/batch ID, /pausebatch, /resumebatch and /cancelbatch, and their buttons.

The guided ``/newbatch`` conversation lives in ``bot/handlers/newbatch.py``; both end in
``send_summary`` of ``bot/telegram_ui.py``. Every button names a batch id, and every press is
checked again on the server (``bot/batches.py``): a forged or stale press changes nothing and
says why.
"""

from __future__ import annotations

import asyncio
import io
import logging

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest

from bot import batches
from bot.batches import Progress
from bot.context import Actor, BotContext
from bot.engine.jobs import request_dispatch
from bot.estimate import Estimate
from bot.i18n import Translator
from bot.telegram_ui import (
    DISCARD,
    PICK,
    PICK_LIMIT,
    PUBLISH,
    button_batch_id,
    callback,
    check_size,
    creator_of,
    download,
    draft_from,
    keyboard,
    message_of,
    offer_batch_choice,
    refusals_told,
    send_summary,
    viewer_of,
)
from bot.template import TEMPLATE_NAME, template_zip
from bot.texts import batch_line_text

log = logging.getLogger(__name__)

# Callback data: "PREFIX BATCH_ID" (STYLE.md 6).
PAUSE = "bpau"
RESUME = "bres"
CANCEL_ASK = "bcq"
CANCEL = "bcan"

ZIP_MIME_TYPES = ("application/zip", "application/x-zip-compressed")


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


@refusals_told
async def template_command(update: Update, context: BotContext) -> None:
    """``/template``: an example ZIP with a commented ``batch.toml``, valid as it is."""
    actor = await context.actor(update)
    creator_of(actor)
    data = await asyncio.to_thread(template_zip)
    await message_of(update).reply_document(
        InputFile(io.BytesIO(data), filename=TEMPLATE_NAME), caption=actor.t("template.caption")
    )


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
        + [batch_line_text(t, line, viewer.is_admin) for line in lines]
        + ["", t("batches.list.footer")]
    )
    rows = [
        [(t("batches.button.open", id=line.batch.id), callback(PICK, "batch", line.batch.id))]
        for line in lines[:PICK_LIMIT]
    ]
    await message_of(update).reply_text(text[:4096], reply_markup=keyboard(rows))


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
    if progress.batch.state == "open":
        lines.append(estimate_text(t, progress.estimate))
    return "\n".join(lines)


def estimate_text(t: Translator, estimate: Estimate | None) -> str:
    """The estimated end and the rate it comes from, or "not enough data yet"."""
    if estimate is None:
        return t("progress.estimate.none")
    return t(
        f"progress.estimate.{estimate.basis}",
        end=t.datetime(estimate.end),
        rate=round(estimate.per_hour),
    )


def progress_buttons(t: Translator, progress: Progress) -> InlineKeyboardMarkup | None:
    batch_id, state = progress.batch.id, progress.batch.state
    cancel = (t("batches.button.cancel"), callback(CANCEL_ASK, batch_id))
    results = [(t("batches.button.results"), callback(PICK, "results", batch_id))]
    if state == "open":
        return keyboard([[(t("batches.button.pause"), callback(PAUSE, batch_id)), cancel], results])
    if state == "paused":
        return keyboard(
            [[(t("batches.button.resume"), callback(RESUME, batch_id)), cancel], results]
        )
    if state in ("done", "cancelled"):
        return keyboard([results])
    return None


@refusals_told
async def batch_command(update: Update, context: BotContext) -> None:
    """``/batch ID``: progress, escrow and the median answer time, with Pause/Resume/Cancel."""
    actor = await context.actor(update)
    viewer = viewer_of(actor)
    if await offer_batch_choice(update, context, "batch"):
        return
    batch_id = batches.parse_batch_id(context.args, "batch")
    found = await batches.progress(
        context.services.db, batch_id, viewer, now=context.services.clock.now()
    )
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
    found = await batches.progress(
        context.services.db, batch_id, viewer_of(actor), now=context.services.clock.now()
    )
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
    if await offer_batch_choice(update, context, "pausebatch"):
        return
    batch_id = batches.parse_batch_id(context.args, "pausebatch")
    services = context.services
    await batches.pause(services.db, batch_id, viewer_of(actor), now=services.clock.now())
    await message_of(update).reply_text(actor.t("batches.paused", id=batch_id))


@refusals_told
async def resumebatch_command(update: Update, context: BotContext) -> None:
    """``/resumebatch ID``: offer the batch's tasks again."""
    actor = await context.actor(update)
    if await offer_batch_choice(update, context, "resumebatch"):
        return
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
    if await offer_batch_choice(update, context, "cancelbatch"):
        return
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
