"""The sandbox against a real python-telegram-bot `Bot`: what PTB sends and parses."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from PIL import Image
from telegram import Bot as PTBBot
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    ReplyParameters,
)
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken, RetryAfter

from sandbox import RateLimit, SandboxServer
from tests.sandbox.conftest import ptb_request


def png(width: int = 200, height: int = 100, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def seconds(value: int | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else value


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"cb:{label}")] for label in labels]
    )


async def test_get_me_and_updates(server: SandboxServer, bot: PTBBot) -> None:
    assert bot.username == "petitesmains_bot"
    user = server.user(1001, "Ana")
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.2)
    await user.send_command("/start")
    (update,) = await asyncio.wait_for(poll, 10)
    assert update.message is not None
    assert update.message.text == "/start"
    assert update.effective_user is not None
    assert update.effective_user.id == 1001
    assert await bot.get_updates(offset=update.update_id + 1) == ()


async def test_photo_upload_get_file_download(server: SandboxServer, bot: PTBBot) -> None:
    server.user(1001, "Ana")
    data = png()
    message = await bot.send_photo(1001, photo=data, caption="look")
    assert message.caption == "look"
    largest = message.photo[-1]
    assert (largest.width, largest.height) == (200, 100)
    assert len(message.photo) == 2  # a 90px thumbnail, then the photo
    file = await bot.get_file(largest.file_id)
    assert bytes(await file.download_as_bytearray()) == data
    assert server.upload_count(largest.file_unique_id) == 1
    assert server.uploads[0].method == "sendPhoto"
    assert server.uploads[0].field == "photo"

    last = server.user(1001).last_message
    assert last is not None
    assert last.kind == "photo"
    assert last.file_bytes == data
    assert last.text == "look"


async def test_same_file_id_twice_is_one_upload(server: SandboxServer, bot: PTBBot) -> None:
    for user_id in (1001, 1002, 1003):
        server.user(user_id, f"U{user_id}")
    first = await bot.send_voice(1001, voice=b"OggS fake opus", duration=3)
    assert first.voice is not None
    file_id = first.voice.file_id
    second = await bot.send_voice(1002, voice=file_id)
    third = await bot.send_voice(1003, voice=file_id)
    assert second.voice is not None
    assert third.voice is not None
    assert second.voice.file_unique_id == first.voice.file_unique_id
    assert seconds(second.voice.duration) == 3
    assert server.upload_count(first.voice.file_unique_id) == 1
    assert server.upload_count() == 1
    assert [s.chat_id for s in server.sends_by_file_id] == [1002, 1003]
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type Voice as Document"):
        await bot.send_document(1001, document=file_id)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_voice(1001, voice="no-such-file-id")


async def test_audio_and_document_objects(server: SandboxServer, bot: PTBBot) -> None:
    server.user(1001, "Ana")
    audio = await bot.send_audio(
        1001, audio=b"ID3 mp3", filename="song.mp3", duration=7, title="T", performer="P"
    )
    assert audio.audio is not None
    assert audio.audio.file_name == "song.mp3"
    assert audio.audio.mime_type == "audio/mpeg"
    assert seconds(audio.audio.duration) == 7
    assert audio.audio.title == "T"
    doc = await bot.send_document(1001, document=b"a,b\n1,2\n", filename="export.csv")
    assert doc.document is not None
    assert doc.document.file_name == "export.csv"
    assert doc.document.mime_type == "text/csv"
    assert doc.document.file_size == 8


async def test_rate_limit_raises_retry_after() -> None:
    limit = RateLimit(global_per_second=1000, per_chat_per_second=0.01, burst=2)
    async with SandboxServer(rate_limit=limit) as server:
        server.user(1001, "Ana")
        server.user(1002, "Bea")
        async with PTBBot(
            server.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            request=ptb_request(),
        ) as bot:
            await bot.send_message(1001, "one")
            await bot.send_message(1001, "two")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(1001, "three")
            assert seconds(caught.value.retry_after) >= 1
            await bot.send_message(1002, "other chat is fine")
            await bot.send_chat_action(1001, "typing")  # not a message: not limited
        assert [c.params["text"] for c in server.rate_limited_calls] == ["three"]
        assert server.invalid_calls == []


async def test_blocked_user_is_403(server: SandboxServer, bot: PTBBot) -> None:
    user = server.user(1001, "Ana")
    server.block(1001)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(1001, "hello?")
    assert server.invalid_calls == []
    assert len(server.blocked_calls) == 1
    assert "my_chat_member" in server.pending_updates[-1]
    server.unblock(1001)
    await bot.send_message(1001, "welcome back")
    assert user.messages[-1].text == "welcome back"


async def test_unknown_method_and_wrong_token(server: SandboxServer, bot: PTBBot) -> None:
    with pytest.raises(EndPointNotFound):  # do_api_request's reading of a 404
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    bad = PTBBot("1:bad", base_url=server.base_url, request=ptb_request())
    with pytest.raises(InvalidToken):
        await bad.initialize()  # calls getMe
    await bad.shutdown()
    assert [c.error_code for c in server.invalid_calls] == [404, 401]


async def test_edits_and_not_modified(server: SandboxServer, bot: PTBBot) -> None:
    user = server.user(1001, "Ana")
    sent = await bot.send_message(1001, "Task 1", reply_markup=keyboard("Approve", "Reject"))
    event = await user.next_message()
    assert event.buttons == [["Approve"], ["Reject"]]
    assert event.button_data("Approve") == "cb:Approve"

    edited = await bot.edit_message_text("Task 1 approved", chat_id=1001, message_id=sent.id)
    assert not isinstance(edited, bool)
    assert edited.text == "Task 1 approved"
    assert edited.reply_markup is None  # no reply_markup in an edit removes the keyboard
    event = await user.next_message()
    assert event.is_edit
    assert event.text == "Task 1 approved"
    assert event.buttons == []

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Task 1 approved", chat_id=1001, message_id=sent.id)
    assert len(server.invalid_calls) == 1
    server.invalid_calls.clear()

    await bot.edit_message_reply_markup(1001, sent.id, reply_markup=keyboard("Undo"))
    assert (await user.next_message()).buttons == [["Undo"]]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)no caption"):
        await bot.edit_message_caption(1001, sent.id, caption="c")
    assert len(server.invalid_calls) == 2


async def test_edit_message_media(server: SandboxServer, bot: PTBBot) -> None:
    user = server.user(1001, "Ana")
    first = await bot.send_photo(1001, photo=png(color="red"), caption="1/2")
    second = await bot.edit_message_media(
        InputMediaPhoto(png(color="blue"), caption="2/2"),
        chat_id=1001,
        message_id=first.id,
        reply_markup=keyboard("Next"),
    )
    assert not isinstance(second, bool)
    assert second.caption == "2/2"
    assert second.photo[-1].file_unique_id != first.photo[-1].file_unique_id
    assert server.uploads[-1].method == "editMessageMedia"
    await user.next_message()
    event = await user.next_message()
    assert event.is_edit
    assert event.kind == "photo"
    assert event.file_bytes == png(color="blue")
    assert event.buttons == [["Next"]]

    as_doc = await bot.edit_message_media(
        InputMediaDocument(b"%PDF", filename="r.pdf"), chat_id=1001, message_id=first.id
    )
    assert not isinstance(as_doc, bool)
    assert as_doc.document is not None
    assert as_doc.photo == ()

    voice = await bot.send_voice(1001, voice=b"OggS", duration=1)
    with pytest.raises(BadRequest, match=r"(?i)voice"):
        await bot.edit_message_media(InputMediaPhoto(png()), chat_id=1001, message_id=voice.id)
    assert [c.method for c in server.invalid_calls] == ["editMessageMedia"]


async def test_caption_edit_delete_and_actions(server: SandboxServer, bot: PTBBot) -> None:
    user = server.user(1001, "Ana")
    doc = await bot.send_document(1001, document=b"x", filename="a.txt", caption="old")
    edited = await bot.edit_message_caption(1001, doc.id, caption="<i>new</i>", parse_mode="HTML")
    assert not isinstance(edited, bool)
    assert edited.caption == "new"
    assert edited.caption_entities[0].type == "italic"
    assert await bot.delete_message(1001, doc.id) is True
    assert user.messages == []
    assert user.message(doc.id).deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(1001, doc.id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_caption(1001, doc.id, caption="gone")
    assert await bot.send_chat_action(1001, "upload_document") is True
    assert user.chat_actions == ["upload_document"]
    server.invalid_calls.clear()


async def test_reply_parameters_and_force_reply(server: SandboxServer, bot: PTBBot) -> None:
    user = server.user(1001, "Ana")
    question = await user.send_text("how much?")
    answer = await bot.send_message(
        1001,
        "Type the amount",
        reply_parameters=ReplyParameters(question["message_id"]),
        reply_markup=ForceReply(input_field_placeholder="12.50"),
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "how much?"
    assert answer.reply_markup is None  # Telegram only echoes inline keyboards
    event = await user.next_message()
    assert event.force_reply
    reply = await user.send_text("12.50", reply_to=event)
    assert reply["reply_to_message"]["text"] == "Type the amount"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(1001, "x", reply_parameters=ReplyParameters(999))
    server.invalid_calls.clear()


async def test_html_parse_errors_are_bad_requests(server: SandboxServer, bot: PTBBot) -> None:
    server.user(1001, "Ana")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1001, "price <3 euros", parse_mode="HTML")
    ok = await bot.send_message(1001, "price &lt;3 <b>euros</b>", parse_mode="HTML")
    assert ok.text == "price <3 euros"
    assert len(server.invalid_calls) == 1
    server.invalid_calls.clear()


async def test_commands_per_scope(server: SandboxServer, bot: PTBBot) -> None:
    server.user(1001, "Ana", language_code="fr")
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "Démarrer")], language_code="fr")
    await bot.set_my_commands(
        [BotCommand("admin", "Admin")], scope=BotCommandScopeChat(chat_id=1002)
    )
    assert [c["command"] for c in server.commands_for()] == ["start", "help"]
    assert server.commands_for(1001) == [{"command": "start", "description": "Démarrer"}]
    assert [c["command"] for c in server.commands_for(1002)] == ["admin"]
    commands = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=1002))
    assert [c.command for c in commands] == ["admin"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])
    server.invalid_calls.clear()


async def test_get_chat_and_webhook_info(server: SandboxServer, bot: PTBBot) -> None:
    server.user(1001, "Ana", username="ana")
    chat = await bot.get_chat(1001)
    assert chat.id == 1001
    assert chat.username == "ana"
    info = await bot.get_webhook_info()
    assert info.url == ""
    assert server.invalid_calls == []
