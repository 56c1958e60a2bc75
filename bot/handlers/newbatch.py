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
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

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
from bot.context import Actor, BotContext
from bot.errors import BatchRejected, InvalidInput
from bot.guided import FileKind, ManifestValue, Upload
from bot.i18n import LANGUAGES
from bot.intake.manifest import REQUESTED_TYPES, BatchType
from bot.tasks import task_type
from bot.telegram_ui import (
    check_size,
    creator_of,
    download,
    draft_from,
    message_of,
    refusals_told,
    send_summary,
)
from bot.texts import problems_text

log = logging.getLogger(__name__)

# Conversation states (STYLE.md 6).
TYPE, TITLE, INSTRUCTIONS, LABELS, MULTIPLE, SECONDS, ANSWERS, MEDIA = range(8)
END = ConversationHandler.END

CONVERSATION_TIMEOUT = timedelta(minutes=30)
"""Silence after which the conversation ends politely (its answers are dropped)."""
USER_DATA_KEY = "newbatch"
_TEXT = filters.TEXT & ~filters.COMMAND
_MEDIA = filters.PHOTO | filters.VOICE | filters.AUDIO | filters.Document.ALL


@dataclass
class _Pending:
    """A file sent during the conversation, downloaded only at Done."""

    file_id: str
    name: str
    kind: FileKind
    size: int | None


@dataclass
class _Draft:
    """The answers so far by manifest field, kept in ``user_data`` between messages."""

    answers: dict[str, ManifestValue] = field(default_factory=lambda: {"type": "image_tag"})
    files: list[_Pending] = field(default_factory=list)

    @property
    def type(self) -> BatchType:
        return cast(BatchType, self.answers["type"])


def _draft(context: BotContext) -> _Draft:
    found = context.user_data.get(USER_DATA_KEY) if context.user_data is not None else None
    if not isinstance(found, _Draft):
        raise InvalidInput("newbatch.expired")
    return found


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


# The questions ---------------------------------------------------------------------------------


@refusals_told
async def start(update: Update, context: BotContext) -> int:
    """``/newbatch``: start over with the type of task."""
    actor = await context.actor(update)
    creator_of(actor)
    assert context.user_data is not None
    context.user_data[USER_DATA_KEY] = _Draft()
    t = actor.t
    names = [[t(f"batches.type.{batch_type}")] for batch_type in REQUESTED_TYPES]
    await _ask(
        message_of(update), t("newbatch.intro") + "\n\n" + t("newbatch.ask_type"), _choices(names)
    )
    return TYPE


@refusals_told
async def got_type(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    text = (message_of(update).text or "").strip().casefold()
    for batch_type in REQUESTED_TYPES:
        if text == batch_type or text in _in_any_language(context, f"batches.type.{batch_type}"):
            draft.answers["type"] = batch_type
            break
    else:
        raise InvalidInput("newbatch.type_unknown")
    t = (await context.actor(update)).t
    await _ask(message_of(update), t("newbatch.ask_title"))
    return TITLE


@refusals_told
async def got_title(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    draft.answers["title"] = guided.parse_title(message_of(update).text or "")
    t = (await context.actor(update)).t
    await _ask(message_of(update), t(f"newbatch.ask_instructions.{draft.type}"))
    return INSTRUCTIONS


@refusals_told
async def got_instructions(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    draft.answers["instructions"] = guided.parse_instructions(message_of(update).text or "")
    actor = await context.actor(update)
    kind = task_type(draft.type)
    if not kind.takes("labels"):
        return await _ask_seconds(message_of(update), actor)
    t = actor.t
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
        draft.answers["labels"] = default
    else:
        draft.answers["labels"] = guided.parse_labels(text)
    actor = await context.actor(update)
    if task_type(draft.type).takes("multiple"):
        t = actor.t
        markup = _choices([[t("newbatch.button.yes"), t("newbatch.button.no")]])
        await _ask(message_of(update), t("newbatch.ask_multiple"), markup)
        return MULTIPLE
    return await _ask_seconds(message_of(update), actor)


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
    return await _ask_seconds(message_of(update), await context.actor(update))


async def _ask_seconds(message: Message, actor: Actor) -> int:
    await _ask(message, actor.t("newbatch.ask_seconds"), _choices([["5", "10", "20", "30", "60"]]))
    return SECONDS


@refusals_told
async def got_seconds(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    draft.answers["seconds_per_task"] = guided.parse_seconds(message_of(update).text or "")
    t = (await context.actor(update)).t
    await _ask(message_of(update), t("newbatch.ask_answers"), _choices([["1", "2", "3", "5"]]))
    return ANSWERS


@refusals_told
async def got_answers(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    draft.answers["answers_per_item"] = guided.parse_answers(message_of(update).text or "")
    t = (await context.actor(update)).t
    markup = _choices([[t("newbatch.button.done")]])
    await _ask(message_of(update), t(f"newbatch.ask_media.{draft.type}"), markup)
    return MEDIA


# The files -------------------------------------------------------------------------------------


def _pending_of(message: Message, number: int) -> _Pending:
    """What a media message brings: its file, the name it gets in the batch, and its kind."""
    if message.photo:
        photo = message.photo[-1]  # the largest size
        name = guided.upload_name(number, None, "photo.jpg")
        return _Pending(photo.file_id, name, "image", photo.file_size)
    if message.voice is not None:
        voice = message.voice
        return _Pending(
            voice.file_id, guided.upload_name(number, None, "voice.ogg"), "audio", voice.file_size
        )
    media = message.audio or message.document
    if media is None:
        raise InvalidInput("newbatch.file_unsupported")
    default = "audio.mp3" if message.audio is not None else "file"
    name = guided.upload_name(number, media.file_name, default)
    kind = guided.kind_of(name)
    if kind is None:
        raise InvalidInput("newbatch.file_unsupported")
    return _Pending(media.file_id, name, kind, media.file_size)


@refusals_told
async def got_file(update: Update, context: BotContext) -> int:
    """A photo, voice or audio message, or a document (an image, a recording, a ZIP)."""
    draft = _draft(context)
    t = (await context.actor(update)).t
    if len(draft.files) >= guided.MAX_FILES:
        raise InvalidInput("newbatch.too_many_files", limit=guided.MAX_FILES)
    pending = _pending_of(message_of(update), len(draft.files) + 1)
    guided.check_accepts(draft.type, pending.kind)
    check_size(pending.size)
    draft.files.append(pending)
    await message_of(update).reply_text(t("newbatch.file_received", count=len(draft.files)))
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
    return await _finish(update, context)


async def _finish(update: Update, context: BotContext) -> int:
    """Download every file, check the whole batch, and show the draft's summary.

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
    uploads = [
        Upload(pending.name, pending.kind, await download(context, pending.file_id, pending.size))
        for pending in draft.files
    ]
    try:
        data = await asyncio.to_thread(guided.assemble_zip, draft.answers, uploads)
        batch_id = await draft_from(context, actor, data, origin="guided")
    except BatchRejected as rejected:
        draft.files.clear()
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


def conversation() -> ConversationHandler[BotContext]:
    """The ``/newbatch`` conversation; register it before the catch-all handlers."""
    text_step = {
        TYPE: got_type,
        TITLE: got_title,
        INSTRUCTIONS: got_instructions,
        LABELS: got_labels,
        MULTIPLE: got_multiple,
        SECONDS: got_seconds,
        ANSWERS: got_answers,
    }
    states: dict[object, list[BaseHandler[Update, BotContext, Any]]] = {
        state: [MessageHandler(_TEXT, handler)] for state, handler in text_step.items()
    }
    states[MEDIA] = [
        MessageHandler(_MEDIA, got_file),
        CommandHandler("done", finish, block=False),
        MessageHandler(_TEXT, got_media_text, block=False),
    ]
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
    )
