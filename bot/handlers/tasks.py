"""Handler room of tasks on the phone: the buttons and replies that answer a pushed task, and a
worker blocking the bot. Showing tasks, their timers and what follows an answer are the
engine's (``bot/engine/``); these handlers read the update and call it."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import ApplicationHandlerStop

from bot import answers, worker_state
from bot.context import BotContext
from bot.engine import followup, jobs
from bot.engine.render import ANSWER, DONE, MUTE, PAUSE, REPORT, SKIP, TOGGLE, label_text
from bot.engine.telegram_errors import answer_query
from bot.errors import UserError
from bot.telegram_ui import callback_ids, conversation_waiting
from bot.texts import refusal

__all__ = ["ANSWER", "DONE", "MUTE", "PAUSE", "REPORT", "SKIP", "TOGGLE"]


# -- callback handlers ----------------------------------------------------------------------


async def answer_button(update: Update, context: BotContext) -> None:
    """A label button of a single-choice task: store, credit, confirm, show the next task."""
    assignment_id, index = callback_ids(update, ANSWER, 2)
    actor = await context.actor(update)
    assert update.callback_query is not None
    await followup.submit_by_button(
        context, update.callback_query, actor, assignment_id, label=index
    )


async def done_button(update: Update, context: BotContext) -> None:
    """Done on a multiple-choice task: submit the ticked labels."""
    (assignment_id,) = callback_ids(update, DONE, 1)
    actor = await context.actor(update)
    assert update.callback_query is not None
    await followup.submit_by_button(
        context, update.callback_query, actor, assignment_id, from_draft=True
    )


async def toggle_button(update: Update, context: BotContext) -> None:
    """A label of a multiple-choice task: tick or untick it and show the tick."""
    assignment_id, index = callback_ids(update, TOGGLE, 2)
    actor = await context.actor(update)
    t = actor.t
    services = context.services
    query = update.callback_query
    assert query is not None
    assignment, batch = await answers.toggle(
        services.db, assignment_id, actor.user.id, index, services.clock.now()
    )
    ticked = index in assignment.draft
    label = label_text(t, batch, batch.labels[index])
    await answer_query(query, t("tasks.ticked" if ticked else "tasks.unticked", label=label))
    await followup.show_ticks(context, t, batch, assignment_id, query.message)


async def skip_button(update: Update, context: BotContext) -> None:
    """Skip: the slot goes back to the pool, no pay and no penalty; the next task follows."""
    (assignment_id,) = callback_ids(update, SKIP, 1)
    actor = await context.actor(update)
    services = context.services
    query = update.callback_query
    assert query is not None
    with services.runtime.handling(actor.user.id):
        skipped = await answers.skip(
            services.db, assignment_id, actor.user.id, services.clock.now()
        )
        jobs.cancel_deadline(context.application, assignment_id)
        await answer_query(query, actor.t("tasks.skipped_answer"))
        await followup.after_skip(context, actor.t, actor.user.id, skipped, query.message)


async def pause_button(update: Update, context: BotContext) -> None:
    """Pause on a task: stop pushes and give this task back; /resume brings them back."""
    (assignment_id,) = callback_ids(update, PAUSE, 1)
    actor = await context.actor(update)
    services = context.services
    query = update.callback_query
    assert query is not None
    released = await answers.pause_from_task(
        services.db, assignment_id, actor.user.id, services.clock.now()
    )
    await answer_query(query, actor.t("tasks.paused_answer"))
    if released is None:
        return
    await followup.after_pause(context, actor.t, assignment_id, query.message)


# -- transcription replies ------------------------------------------------------------------


async def text_answer(update: Update, context: BotContext) -> None:
    """A text that answers a transcription: a reply to its clip or prompt, or plain text while
    one is active and no conversation waits for the sender (``/newbatch``, a hold reason: their
    answers are theirs). Anything else goes on to the other handlers (group 0)."""
    message = update.message
    sender = update.effective_user
    if message is None or message.text is None or sender is None:
        return
    target = message.reply_to_message
    if target is None and conversation_waiting(context, update):
        return
    services = context.services
    reply_to = target.message_id if target is not None else None
    assignment = await worker_state.transcription_answered(
        services.db, sender.id, message.chat_id, reply_to
    )
    if assignment is not None and assignment.message_id is None:
        # Typed the moment the task appeared: its delivery is still recording the message.
        await services.outbox.settled(message.chat_id)
        assignment = await worker_state.transcription_answered(
            services.db, sender.id, message.chat_id, reply_to
        )
    if assignment is None:
        return
    actor = await context.actor(update)
    with services.runtime.handling(actor.user.id):
        try:
            await followup.submit_text(context, message, actor, assignment)
        except UserError as error:
            await message.reply_text(refusal(actor.t, error))
            raise ApplicationHandlerStop from None
    raise ApplicationHandlerStop


# -- a worker who blocks the bot ----------------------------------------------------------------


async def my_chat_member(update: Update, context: BotContext) -> None:
    """The worker blocked the bot (Telegram says so): mark them unreachable at once."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    if change.new_chat_member.status == ChatMember.BANNED:
        await jobs.worker_unreachable(context.application, change.chat.id)
