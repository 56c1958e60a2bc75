"""Engine room, delivery: the Telegram calls of the worker loop and the media file_id cache.

Rate budget: Telegram allows a bot about 30 messages a second in all, so an answer costs one
rate-limited call where it can (the callback answer is free; a photo task becomes the next photo
task with ``editMessageMedia``). Media is uploaded once per file (a lock per file while the
first upload runs) and sent again by its cached ``file_id``. An edit that would change nothing
is skipped (the runtime remembers what each task message shows).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import (
    ForceReply,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application

from bot.context import Services
from bot.engine.render import Rows
from bot.i18n import Translator
from bot.tasks import task_type
from bot.telegram_ui import keyboard
from storage.batches import Batch, Item
from storage.send_budget import cached_file_id, remember_bot_file_id

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]


def services_of(application: BotApplication) -> Services:
    services: Services = application.bot_data
    return services


def markup_of(rows: Rows) -> InlineKeyboardMarkup:
    """The Telegram keyboard of rendered button rows."""
    return keyboard(rows)


def markup_key(markup: InlineKeyboardMarkup | None) -> object:
    """What a view keeps of a keyboard: the markup itself, which PTB compares by value (equal
    when every button is); turning it into sorted JSON was 3% of the bot's CPU per answer."""
    return markup


async def edit_caption(
    application: BotApplication,
    chat_id: int,
    message_id: int,
    caption: str,
    markup: InlineKeyboardMarkup | None = None,
) -> bool:
    """Edit a task message's caption and keyboard, skipping an edit that would change nothing.

    The caller holds the message lock. False when the worker blocked the bot (a 403); any other
    refusal is logged and ignored.
    """
    runtime = services_of(application).runtime
    view = (caption, markup_key(markup))
    if runtime.views.get((chat_id, message_id)) == view:
        return True
    try:
        await _edit_text_or_caption(application, chat_id, message_id, caption, markup)
    except Forbidden:
        return False
    except BadRequest as exc:
        log.info("could not edit task message %s/%s: %s", chat_id, message_id, exc)
        return True
    if markup is None:  # a task's last state: nothing edits this message again
        runtime.views.pop((chat_id, message_id), None)
    else:
        runtime.views[(chat_id, message_id)] = view
    return True


async def _edit_text_or_caption(
    application: BotApplication,
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """Edit a task message's caption, or its text when the task is a text message (a sentence
    to translate). Text messages are remembered when sent; one the runtime forgot (a restart)
    is found by Telegram's refusal to edit a caption it does not have."""
    bot, texts = application.bot, services_of(application).runtime.text_messages
    if (chat_id, message_id) not in texts:
        try:
            await bot.edit_message_caption(
                chat_id=chat_id, message_id=message_id, caption=text, reply_markup=markup
            )
            return
        except BadRequest as exc:
            if "no caption" not in str(exc).lower():
                raise
            texts.add((chat_id, message_id))
    await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
    if markup is None:  # a task's last state
        texts.discard((chat_id, message_id))


async def edit_keyboard(
    application: BotApplication, chat_id: int, message_id: int, markup: InlineKeyboardMarkup
) -> bool:
    """Show a new keyboard under a task message (ticks), keeping its caption; the caller holds
    the message lock. False when the worker blocked the bot."""
    runtime = services_of(application).runtime
    caption = runtime.views.get((chat_id, message_id))
    if caption is not None and caption[1] == markup_key(markup):
        return True
    try:
        await application.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except Forbidden:
        return False
    except BadRequest as exc:
        log.info("could not show the tick on %s/%s: %s", chat_id, message_id, exc)
        return True
    if caption is not None:
        runtime.views[(chat_id, message_id)] = (caption[0], markup_key(markup))
    return True


async def _with_media(
    application: BotApplication,
    item: Item,
    send: Callable[[Any], Awaitable[Message | bool]],
) -> Message:
    """Run ``send`` with this bot's cached file_id of the item's media, or upload the file once
    and cache its id (per bot token: a file_id is valid only for the bot that uploaded it).

    The first upload of a file holds a lock; whoever waited on it finds the file_id stored.
    """
    services = services_of(application)
    bot_id = services.settings.bot_id
    cached = await services.db.run_read(cached_file_id, item.media_sha256, bot_id)
    if cached is not None:
        return _message(await send(cached))
    async with services.runtime.upload_lock(item.media_sha256):
        cached = await services.db.run_read(cached_file_id, item.media_sha256, bot_id)
        if cached is not None:
            return _message(await send(cached))
        path = services.settings.data_dir / item.media_path
        data = await asyncio.to_thread(path.read_bytes)
        message = _message(await send(data))
        file_id = _file_id(message)
        if file_id is not None:
            await services.db.run_write(
                remember_bot_file_id, item.media_sha256, bot_id, file_id, services.clock.now()
            )
        return message


def _message(result: Message | bool) -> Message:
    if not isinstance(result, Message):
        raise BadRequest("Telegram did not return the message")
    return result


def _file_id(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id
    if message.voice is not None:
        return message.voice.file_id
    if message.audio is not None:
        return message.audio.file_id
    return None


async def send_task(
    application: BotApplication,
    t: Translator,
    chat_id: int,
    batch: Batch,
    item: Item,
    caption: str,
    markup: InlineKeyboardMarkup,
    *,
    replace: tuple[int, int] | None = None,
) -> tuple[Message, int | None]:
    """Send a task (a photo or a voice clip with its caption and buttons, or a text message for
    a text item; a type answered by text adds a reply prompt), or turn the photo message
    ``replace`` into it. Returns the message and the prompt's id; Telegram's errors go to the
    caller, which releases the slot."""
    bot = application.bot
    prompt_id: int | None = None
    if item.media_kind == "image" and replace is not None:
        message = await _with_media(
            application,
            item,
            lambda media: bot.edit_message_media(
                media=InputMediaPhoto(media, caption=caption),
                chat_id=replace[0],
                message_id=replace[1],
                reply_markup=markup,
            ),
        )
    elif item.media_kind == "image":
        message = await _with_media(
            application,
            item,
            lambda media: bot.send_photo(chat_id, media, caption=caption, reply_markup=markup),
        )
    elif item.media_kind == "text":
        message = await bot.send_message(chat_id, caption, reply_markup=markup)
        services_of(application).runtime.text_messages.add((chat_id, message.message_id))
    else:
        duration = timedelta(milliseconds=item.duration_ms) if item.duration_ms else None
        message = await _with_media(
            application,
            item,
            lambda media: bot.send_voice(
                chat_id, media, duration=duration, caption=caption, reply_markup=markup
            ),
        )
    reply_prompt = task_type(batch.type).reply_prompt(t)
    if reply_prompt is not None and replace is None:
        prompt = await bot.send_message(
            chat_id,
            reply_prompt.text,
            reply_markup=ForceReply(input_field_placeholder=reply_prompt.placeholder),
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        )
        prompt_id = prompt.message_id
    services_of(application).runtime.views[(chat_id, message.message_id)] = (
        caption,
        markup_key(markup),
    )
    return message, prompt_id
