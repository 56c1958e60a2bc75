"""Handler room of ``/newbatch``: a batch created on a phone, one question at a time, then
photos, voice or audio messages, or a ZIP of files, and Done.

The conversation is python-telegram-bot's ``ConversationHandler``, keyed per chat and user (two
requesters never mix); answers wait in ``user_data`` until Done, when they become a ZIP with
``batch.toml`` (``bot/guided.py``) checked by the same intake as an uploaded one. Choices are
reply-keyboard buttons, whose text comes back as a message: inline buttons in a conversation
that is not per message are not tracked per message (PTB warns), and typed answers work too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import guided
from bot.context import BotContext
from bot.errors import BatchRejected, InvalidInput
from bot.guided import Upload
from bot.guided_draft import (
    ANSWERS,
    INSTRUCTIONS,
    LABELS,
    MEDIA,
    MULTIPLE,
    SECONDS,
    TIME_LIMIT,
    TITLE,
    TYPE,
    Draft,
)
from bot.guided_review import extras, parse_time_limit
from bot.handlers import Flow, LastSteps, Step
from bot.i18n import LANGUAGES
from bot.intake.manifest import DEFAULT_ANSWERS_PER_ITEM, REQUESTED_TYPES
from bot.tasks import task_type
from bot.telegram_ui import (
    check_size,
    creator_of,
    download,
    draft_from,
    message_of,
    pending_of,
    refusals_told,
    send_summary,
)
from bot.texts import problems_text

log = logging.getLogger(__name__)

END = ConversationHandler.END

CONVERSATION_TIMEOUT = timedelta(minutes=30)
"""Silence after which the conversation ends politely (its answers are dropped)."""
USER_DATA_KEY = "newbatch"
_TEXT = filters.TEXT & ~filters.COMMAND
_MEDIA = filters.PHOTO | filters.VOICE | filters.AUDIO | filters.Document.ALL


def _draft(context: BotContext) -> Draft:
    found = context.user_data.get(USER_DATA_KEY) if context.user_data is not None else None
    if not isinstance(found, dict):
        raise InvalidInput("newbatch.expired")
    return Draft(found)


def _forget(context: BotContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(USER_DATA_KEY, None)


def _choices(rows: list[list[str]]) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def _in_any_language(context: BotContext, key: str) -> set[str]:
    """A button's text in every language, casefolded (the language may change mid-way)."""
    catalogue = context.services.catalogue
    return {catalogue.text(language, key).casefold() for language in LANGUAGES}


async def _ask(message: Message, text: str, markup: Any = None) -> None:
    await message.reply_text(text, reply_markup=markup or ReplyKeyboardRemove())


_WIRED: dict[str, LastSteps] = {}
"""The last steps, set once when the conversation is built (configuration, not state)."""


async def _then(
    update: Update, context: BotContext, ask_next: Step, *, chained: bool = False
) -> int:
    """The next question, or back to the review when a field was being changed (``chained``:
    the next question depends on this answer, as labels on the type)."""
    if _draft(context).editing and not chained:
        return await _WIRED["last"].review(update, context)
    return await ask_next(update, context)


# The questions ---------------------------------------------------------------------------------


@refusals_told
async def start(update: Update, context: BotContext) -> int:
    """``/newbatch``: start over with the type of task."""
    actor = await context.actor(update)
    creator_of(actor)
    assert context.user_data is not None
    context.user_data[USER_DATA_KEY] = Draft.new()
    t = actor.t
    names = [[t(f"batches.type.{batch_type}")] for batch_type in REQUESTED_TYPES]
    await _ask(
        message_of(update), t("newbatch.intro") + "\n\n" + t("newbatch.ask_type"), _choices(names)
    )
    return TYPE


async def _ask_type(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    names = [[t(f"batches.type.{batch_type}")] for batch_type in REQUESTED_TYPES]
    await _ask(message_of(update), t("newbatch.ask_type"), _choices(names))
    return TYPE


@refusals_told
async def got_type(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    text = (message_of(update).text or "").strip().casefold()
    for batch_type in REQUESTED_TYPES:
        if text == batch_type or text in _in_any_language(context, f"batches.type.{batch_type}"):
            if batch_type != draft.answers["type"]:
                for field in ("labels", "multiple"):
                    draft.answers.pop(field, None)
                draft.clear_gold()
                draft.clear_examples()
            draft.answers["type"] = batch_type
            break
    else:
        raise InvalidInput("newbatch.type_unknown")
    kind = task_type(draft.type)
    if draft.editing and (kind.takes("labels") and "labels" not in draft.answers):
        return await _ask_labels(update, context)
    return await _then(update, context, _ask_title)


async def _ask_title(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    await _ask(message_of(update), t("newbatch.ask_title"))
    return TITLE


@refusals_told
async def got_title(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    draft.answers["title"] = guided.parse_title(message_of(update).text or "")
    return await _then(update, context, _ask_instructions)


async def _ask_instructions(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    await _ask(message_of(update), t(f"newbatch.ask_instructions.{_draft(context).type}"))
    return INSTRUCTIONS


@refusals_told
async def got_instructions(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    draft.answers["instructions"] = guided.parse_instructions(message_of(update).text or "")
    if not task_type(draft.type).takes("labels"):
        return await _then(update, context, _ask_seconds)
    return await _then(update, context, _ask_labels)


async def _ask_labels(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    kind = task_type(_draft(context).type)
    if kind.default_labels is not None:
        labels = ", ".join(kind.default_labels)
        markup = _choices([[t("newbatch.button.default_labels")]])
        await _ask(message_of(update), t(f"newbatch.ask_labels_{kind.name}", labels=labels), markup)
    else:
        await _ask(message_of(update), t("newbatch.ask_labels"))
    return LABELS


@refusals_told
async def got_labels(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    text = (message_of(update).text or "").strip()
    default = guided.default_labels(draft.type)
    if default is not None and text.casefold() in _in_any_language(
        context, "newbatch.button.default_labels"
    ):
        labels = default
    else:
        labels = guided.parse_labels(text)
    if labels != draft.answers.get("labels"):
        draft.clear_gold()  # answers given against other labels
        draft.clear_examples()
    draft.answers["labels"] = labels
    if task_type(draft.type).takes("multiple"):
        return await _then(update, context, _ask_multiple, chained=True)
    return await _then(update, context, _ask_seconds)


async def _ask_multiple(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    markup = _choices([[t("newbatch.button.yes"), t("newbatch.button.no")]])
    await _ask(message_of(update), t("newbatch.ask_multiple"), markup)
    return MULTIPLE


@refusals_told
async def got_multiple(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    text = (message_of(update).text or "").strip().casefold()
    if text in _in_any_language(context, "newbatch.button.yes"):
        draft.answers["multiple"] = True
    elif text in _in_any_language(context, "newbatch.button.no"):
        draft.answers["multiple"] = False
    else:
        raise InvalidInput("newbatch.yes_or_no")
    return await _then(update, context, _ask_seconds)


async def _ask_seconds(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    await _ask(
        message_of(update), t("newbatch.ask_seconds"), _choices([["5", "10", "20", "30", "60"]])
    )
    return SECONDS


@refusals_told
async def got_seconds(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    draft.answers["seconds_per_task"] = guided.parse_seconds(message_of(update).text or "")
    return await _then(update, context, _ask_answers)


def _is_default(context: BotContext, text: str | None) -> bool:
    return (text or "").strip().casefold() in _in_any_language(context, "newbatch.button.default")


async def _ask_answers(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    default = t("newbatch.button.default")
    markup = _choices([["1", "2", "3", "5"], [default]])
    text = (
        t("newbatch.ask_answers") + "\n" + t("newbatch.default_is", value=DEFAULT_ANSWERS_PER_ITEM)
    )
    await _ask(message_of(update), text, markup)
    return ANSWERS


@refusals_told
async def got_answers(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    text = message_of(update).text
    if _is_default(context, text):
        draft.answers.pop("answers_per_item", None)  # the manifest's default
    else:
        draft.answers["answers_per_item"] = guided.parse_answers(text or "")
    return await _then(update, context, _ask_time_limit)


async def _ask_time_limit(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    markup = _choices([["60", "120", "300"], [t("newbatch.button.default")]])
    await _ask(message_of(update), t("newbatch.ask_time_limit"), markup)
    return TIME_LIMIT


@refusals_told
async def got_time_limit(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    text = message_of(update).text
    if _is_default(context, text):
        draft.answers.pop("time_limit", None)  # the manifest's default, from the seconds
    else:
        draft.answers["time_limit"] = parse_time_limit(text or "")
    return await _then(update, context, _ask_media)


async def _ask_media(update: Update, context: BotContext) -> int:
    t = (await context.actor(update)).t
    markup = _choices([[t("newbatch.button.done")]])
    await _ask(message_of(update), t(f"newbatch.ask_media.{_draft(context).type}"), markup)
    return MEDIA


_ASK: dict[str, Step] = {
    "type": _ask_type,
    "title": _ask_title,
    "instructions": _ask_instructions,
    "labels": _ask_labels,
    "multiple": _ask_multiple,
    "seconds_per_task": _ask_seconds,
    "answers_per_item": _ask_answers,
    "time_limit": _ask_time_limit,
    "files": _ask_media,
}


# The files -------------------------------------------------------------------------------------


@refusals_told
async def got_file(update: Update, context: BotContext) -> int:
    """A photo, voice or audio message, or a document (an image, a recording, a ZIP)."""
    draft = _draft(context)
    t = (await context.actor(update)).t
    if len(draft.files) >= guided.MAX_FILES:
        raise InvalidInput("newbatch.too_many_files", limit=guided.MAX_FILES)
    pending = pending_of(message_of(update), len(draft.files) + 1)
    guided.check_accepts(draft.type, pending.kind)
    check_size(pending.size)
    count = draft.add_file(pending)
    await message_of(update).reply_text(t("newbatch.file_received", count=count))
    return MEDIA


@refusals_told
async def got_media_text(update: Update, context: BotContext) -> int:
    """Done (the button, or the word) ends the collection; other text gets a hint."""
    draft = _draft(context)
    t = (await context.actor(update)).t
    text = (message_of(update).text or "").strip().casefold()
    if text not in _in_any_language(context, "newbatch.button.done") | {"done", "/done"}:
        await message_of(update).reply_text(t(f"newbatch.ask_media.{draft.type}"))
        return MEDIA
    return await _files_done(update, context)


async def _files_done(update: Update, context: BotContext) -> int:
    """Done with the files: on to the examples (or back to the review)."""
    if not _draft(context).files:
        t = (await context.actor(update)).t
        await message_of(update).reply_text(t("newbatch.no_files"))
        return MEDIA
    return await _then(update, context, _WIRED["last"].after_files)


files_done = refusals_told(_files_done)


async def _finish(update: Update, context: BotContext) -> int:
    """Download every file and example, check the whole batch, and show the draft's summary.

    Registered with ``block=False`` (checking recordings can take a while); updates from this
    requester meanwhile get the WAITING answer.
    """
    draft = _draft(context)
    actor = await context.actor(update)
    t = actor.t
    message = message_of(update)
    if not draft.files:
        await message.reply_text(t("newbatch.no_files"))
        return MEDIA
    await message.reply_text(
        t("newbatch.checking", count=len(draft.files)), reply_markup=ReplyKeyboardRemove()
    )
    sent = [*draft.files, *(pending for pending, _ in draft.examples)]
    uploads = [
        Upload(pending.name, pending.kind, await download(context, pending.file_id, pending.size))
        for pending in sent
    ]
    fields, files = extras(draft.answers, [worked for _, worked in draft.examples], draft.gold)
    answers = {**draft.answers, **fields}
    try:
        limits = context.services.settings.intake.zip
        zipped = partial(guided.assemble_zip, answers, uploads, extra=files, limits=limits)
        data = await asyncio.to_thread(zipped)
        batch_id = await draft_from(context, actor, data, origin="guided")
    except BatchRejected as rejected:
        draft.clear_files()
        draft.editing = False
        markup = _choices([[t("newbatch.button.done")]])
        await message.reply_text(
            problems_text(t, rejected.problems) + "\n\n" + t("newbatch.send_again"),
            reply_markup=markup,
        )
        return MEDIA
    _forget(context)
    await send_summary(message, context, actor, batch_id)
    return END


finish = refusals_told(_finish)


# Leaving ---------------------------------------------------------------------------------------


async def cancel(update: Update, context: BotContext) -> int:
    """``/cancel`` at any step: nothing is kept."""
    _forget(context)
    t = (await context.actor(update)).t
    await message_of(update).reply_text(t("newbatch.cancelled"), reply_markup=ReplyKeyboardRemove())
    return END


async def unexpected(update: Update, context: BotContext) -> None:
    """Something that does not answer the question: say so, stay at the same step."""
    t = (await context.actor(update)).t
    await message_of(update).reply_text(t("newbatch.unexpected"))


async def waiting(update: Update, context: BotContext) -> None:
    """A message while the files are being checked."""
    t = (await context.actor(update)).t
    await message_of(update).reply_text(t("newbatch.still_checking"))


async def timed_out(update: Update, context: BotContext) -> None:
    """No answer for ``CONVERSATION_TIMEOUT``: end politely and drop the answers."""
    _forget(context)
    chat = update.effective_chat
    if chat is None:
        return
    t = (await context.actor(update)).t
    minutes = int(CONVERSATION_TIMEOUT.total_seconds() // 60)
    await context.bot.send_message(
        chat.id, t("newbatch.timed_out", minutes=minutes), reply_markup=ReplyKeyboardRemove()
    )


def conversation(last_steps: Callable[[Flow], LastSteps]) -> ConversationHandler[BotContext]:
    """The ``/newbatch`` conversation with its ``last_steps`` (examples, gold, preview, review:
    ``newbatch_review.last_steps``); register it before the catch-all handlers."""
    reask = lambda update, context, field: _ASK[field](update, context)  # noqa: E731
    flow = Flow(_draft, _ask, _choices, _in_any_language, pending_of, reask, finish)
    last = _WIRED["last"] = last_steps(flow)
    text_step = {
        TYPE: got_type,
        TITLE: got_title,
        INSTRUCTIONS: got_instructions,
        LABELS: got_labels,
        MULTIPLE: got_multiple,
        SECONDS: got_seconds,
        ANSWERS: got_answers,
        TIME_LIMIT: got_time_limit,
    }
    states: dict[object, list[BaseHandler[Update, BotContext, Any]]] = {
        state: [MessageHandler(_TEXT, handler)] for state, handler in text_step.items()
    }
    states[MEDIA] = [
        MessageHandler(_MEDIA, got_file),
        CommandHandler("done", files_done),
        MessageHandler(_TEXT, got_media_text),
    ]
    states.update(last.states)
    states[ConversationHandler.WAITING] = [MessageHandler(filters.ALL, waiting)]
    states[ConversationHandler.TIMEOUT] = [TypeHandler(Update, timed_out)]
    return ConversationHandler(
        entry_points=[CommandHandler("newbatch", start)],
        states=states,
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(~filters.COMMAND, unexpected),
        ],
        allow_reentry=True,
        conversation_timeout=CONVERSATION_TIMEOUT,
        name="newbatch",
        persistent=True,  # the draft and the step survive a restart (bot/persistence.py)
    )
