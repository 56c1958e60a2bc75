"""Handler room of muted requesters (issue 14): Mute on a task, ``/unmute`` and its buttons."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.engine import followup, jobs
from bot.engine.render import MUTE
from bot.mutes import mute_from_task, muted, unmute_requester
from bot.telegram_ui import callback, callback_ids, keyboard, message_of

# Callback data (STYLE.md 6): "mu REQUESTER_ID" unmutes a requester.
UNMUTE = "mu"


async def mute_button(update: Update, context: BotContext) -> None:
    """Mute on a task: its requester's batches are never offered again; this task is given
    back without penalty and the next one follows."""
    (assignment_id,) = callback_ids(update, MUTE, 1)
    actor = await context.actor(update)
    services, t = context.services, actor.t
    query = update.callback_query
    assert query is not None
    with services.runtime.handling(actor.user.id):
        muting = await mute_from_task(
            services.db, assignment_id, actor.user.id, services.clock.now()
        )
        await query.answer(t("mutes.muted_answer", name=muting.name))
        if muting.released is None:
            return
        await followup.after_release(
            context,
            actor.user.id,
            assignment_id,
            query.message,
            ended_caption=t("mutes.muted", name=muting.name, title=muting.title),
            header=t("mutes.header"),
        )


async def unmute_command(update: Update, context: BotContext) -> None:
    """``/unmute``: the muted requesters, one button each."""
    actor = await context.actor(update)
    actor.require("worker")
    t = actor.t
    found = await muted(context.services.db, actor.user.id)
    if not found:
        await message_of(update).reply_text(t("mutes.none"))
        return
    rows = [
        [(t("mutes.button.unmute", name=m.name), callback(UNMUTE, m.requester_id))] for m in found
    ]
    await message_of(update).reply_text(t("mutes.list"), reply_markup=keyboard(rows))


async def unmute_button(update: Update, context: BotContext) -> None:
    """Unmute: that requester's batches are offered again."""
    (requester_id,) = callback_ids(update, UNMUTE, 1)
    actor = await context.actor(update)
    actor.require("worker")
    query = update.callback_query
    assert query is not None
    unmuted = await unmute_requester(context.services.db, actor.user.id, requester_id)
    await query.answer(actor.t("mutes.unmuted", name=unmuted.name))
    jobs.request_dispatch(context.application)
    await query.edit_message_text(actor.t("mutes.unmuted", name=unmuted.name))
