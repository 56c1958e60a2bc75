"""A real PTB Application, long polling the sandbox, driven by simulated users."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import SandboxServer
from tests.sandbox.conftest import ptb_request

seen_update_ids: list[int] = []


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    seen_update_ids.append(update.update_id)
    arg = context.args[0] if context.args else "none"
    await update.message.reply_text(
        f"Welcome! ref={arg}",
        reply_markup=InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("✅ Approve", callback_data="appr 17")],
                [InlineKeyboardButton("Reject", callback_data="rej 17")],
            ]
        ),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    action, task = query.data.split()
    if task != "17":
        await query.answer("Not your task", show_alert=True)
        return
    await query.answer("Approved" if action == "appr" else "Rejected")
    await query.edit_message_text(f"Task {task}: {action}")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    assert message.document is not None
    file = await message.document.get_file()
    data = await file.download_as_bytearray()
    await message.reply_text(f"{message.document.file_name}: {len(data)} bytes")


async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    assert message.voice is not None
    duration = message.voice.duration
    assert isinstance(duration, dt.timedelta)
    seconds = int(duration.total_seconds())
    await message.reply_text(f"voice {seconds}s", reply_markup=ForceReply())


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    assert message.text is not None
    if message.reply_to_message is not None:
        await message.reply_text(f"reply to {message.reply_to_message.message_id}")


@pytest.fixture
async def app(server: SandboxServer) -> AsyncIterator[object]:
    seen_update_ids.clear()
    application = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .request(ptb_request())
        .get_updates_request(ptb_request())
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.Document.ALL, on_document))
    application.add_handler(MessageHandler(filters.VOICE, on_voice))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling()
        await application.start()
        yield application
        await application.updater.stop()
        await application.stop()


async def test_command_press_and_edit(server: SandboxServer, app: object) -> None:
    ana = server.user(1001, "Ana", language_code="fr")
    await ana.send_command("/start ref42")
    welcome = await ana.next_message()
    assert welcome.text == "Welcome! ref=ref42"
    assert welcome.buttons == [["✅ Approve"], ["Reject"]]

    answer = await ana.press("Approve")  # contained in "✅ Approve"
    assert answer.text == "Approved"
    assert not answer.show_alert
    edit = await ana.next_message()
    assert edit.is_edit
    assert edit.message_id == welcome.message_id
    assert edit.text == "Task 17: appr"
    assert ana.messages[-1].buttons == []

    forged = await ana.press_data("appr 18", message=welcome)
    assert forged.show_alert
    assert forged.text == "Not your task"
    await ana.expect_no_message(within=0.3)
    server.assert_no_invalid_calls()


async def test_document_voice_and_reply(server: SandboxServer, app: object) -> None:
    bea = server.user(1002, "Bea")
    await bea.send_document(b"PK" + b"\0" * 98, file_name="batch.zip", mime_type="application/zip")
    assert (await bea.next_message()).text == "batch.zip: 100 bytes"

    await bea.send_voice(b"OggS...", duration=4)
    prompt = await bea.next_message()
    assert prompt.text == "voice 4s"
    assert prompt.force_reply

    await bea.send_text("my answer", reply_to=prompt)
    assert (await bea.next_message()).text == f"reply to {prompt.message_id}"
    assert server.invalid_calls == []


async def test_duplicate_delivery_reaches_handlers_twice(
    server: SandboxServer, app: object
) -> None:
    ana = server.user(1001, "Ana")
    await ana.send_command("/start")
    await ana.next_message()
    server.duplicate_update(seen_update_ids[0])
    await ana.next_message()
    assert seen_update_ids == [seen_update_ids[0]] * 2


async def test_press_times_out_without_answer(server: SandboxServer) -> None:
    ana = server.user(1001, "Ana")
    async with Bot(server.token, base_url=server.base_url, request=ptb_request()) as bot:
        await bot.send_message(
            1001,
            "pick",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]]),
        )
    with pytest.raises(TimeoutError):
        await ana.press("Go", timeout=0.2)  # nobody polls: no answer
    with pytest.raises(LookupError):
        await ana.press("Missing")
