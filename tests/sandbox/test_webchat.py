"""The web chat's endpoints (sandbox/webchat.py): users, chats, sending, pressing, files, events."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
)

from sandbox import SandboxServer
from tests.sandbox.conftest import TOKEN, ptb_request


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(token=TOKEN, web_chat=True) as running:
        assert running.web is not None
        running.web.add_user(1001, "Alice", "worker")
        running.web.add_user(2001, "Rosa", "requester")
        yield running


@pytest.fixture
async def page(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as client:
        yield client


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    ptb = Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=ptb_request(),
        get_updates_request=ptb_request(),
    )
    async with ptb:
        yield ptb


async def test_the_page_and_its_static_files_are_served(page: httpx.AsyncClient) -> None:
    index = await page.get("/")
    assert index.status_code == 200
    assert '<script src="/web/app.js">' in index.text
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        response = await page.get(f"/web/{name}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
    # Nothing is fetched from the internet: no absolute URLs in the page or its assets.
    for name in ("/", "/web/app.js", "/web/style.css"):
        assert "https://" not in (await page.get(name)).text


async def test_users_are_listed_in_order_and_a_user_can_be_added(page: httpx.AsyncClient) -> None:
    listed = (await page.get("/chat/api/users")).json()
    assert listed["bot"]["username"] == "petitesmains_bot"
    assert [(u["first_name"], u["label"]) for u in listed["users"]] == [
        ("Alice", "worker"),
        ("Rosa", "requester"),
    ]
    added = (await page.post("/chat/api/users", json={"first_name": "Chloé"})).json()
    assert added["first_name"] == "Chloé"
    assert added["id"] not in (1001, 2001)
    names = [u["first_name"] for u in (await page.get("/chat/api/users")).json()["users"]]
    assert names == ["Alice", "Rosa", "Chloé"]


async def test_a_text_and_a_command_become_updates_with_entities(
    server: SandboxServer, page: httpx.AsyncClient
) -> None:
    response = await page.post("/chat/api/chats/1001/messages", json={"text": "/start"})
    assert response.status_code == 200
    await page.post("/chat/api/chats/1001/messages", json={"text": "hello", "reply_to": 1})
    first, second = server.pending_updates
    assert first["message"]["text"] == "/start"
    assert first["message"]["entities"][0]["type"] == "bot_command"
    assert second["message"]["reply_to_message"]["message_id"] == 1
    chat = (await page.get("/chat/api/chats/1001")).json()
    assert [(m["from"], m["text"]) for m in chat["messages"]] == [
        ("user", "/start"),
        ("user", "hello"),
    ]
    assert (await page.post("/chat/api/chats/1001/messages", json={"text": " "})).status_code == 400
    assert (await page.get("/chat/api/chats/4242")).status_code == 404


async def test_the_chat_shows_keyboards_edits_force_reply_and_the_menu(
    server: SandboxServer, page: httpx.AsyncClient, bot: Bot
) -> None:
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="ok 1")]])
    sent = await bot.send_message(1001, "<b>Pick</b> one", parse_mode="HTML", reply_markup=buttons)
    await bot.edit_message_text("Picked", chat_id=1001, message_id=sent.message_id)
    await bot.send_message(1001, "Choose", reply_markup=ReplyKeyboardMarkup([["A", "B"]]))
    await bot.send_message(
        1001, "Your name?", reply_markup=ForceReply(input_field_placeholder="Name")
    )
    await bot.set_my_commands(
        [BotCommand("batches", "your batches")], scope=BotCommandScopeChat(2001)
    )
    chat = (await page.get("/chat/api/chats/1001")).json()
    edited, _choose, ask = chat["messages"]
    assert edited["text"] == "Picked"
    assert edited["edited"] is True
    assert "inline_keyboard" not in edited
    assert chat["reply_keyboard"] == {"rows": [["A", "B"]], "placeholder": None}
    assert chat["force_reply"] == {"message_id": ask["id"], "placeholder": "Name"}
    assert chat["commands"] == []  # Alice has no menu; Rosa's chat has its own
    rosa = (await page.get("/chat/api/chats/2001")).json()
    assert rosa["commands"] == [{"command": "batches", "description": "your batches"}]


async def test_a_press_is_a_callback_query_and_returns_the_bots_answer(
    server: SandboxServer, page: httpx.AsyncClient, bot: Bot
) -> None:
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="ok 1")]])
    sent = await bot.send_message(1001, "Pick", reply_markup=buttons)
    view = (await page.get("/chat/api/chats/1001")).json()["messages"][0]
    assert view["inline_keyboard"] == [[{"text": "Yes", "callback_data": "ok 1"}]]

    async def answer() -> None:
        for _ in range(500):
            if server.pending_updates:
                break
            await asyncio.sleep(0.01)
        query = server.pending_updates[0]["callback_query"]
        assert query["data"] == "ok 1"
        assert query["message"]["message_id"] == sent.message_id
        await bot.answer_callback_query(query["id"], "Saved", show_alert=True)

    answering = asyncio.create_task(answer())
    response = await page.post(
        "/chat/api/chats/1001/press", json={"message_id": sent.message_id, "data": "ok 1"}
    )
    await answering
    assert response.json() == {"answer": {"text": "Saved", "show_alert": True, "url": None}}
    bad = await page.post("/chat/api/chats/1001/press", json={"message_id": 99, "data": "x"})
    assert bad.status_code == 400


async def test_uploads_become_documents_photos_and_voice_notes(
    server: SandboxServer, page: httpx.AsyncClient, bot: Bot
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("batch.toml", 'type = "emotion"\n')
    response = await page.post(
        "/chat/api/chats/2001/files",
        files={"file": ("batch.zip", archive.getvalue(), "application/zip")},
        data={"as": "document", "caption": "my batch"},
    )
    assert response.status_code == 200
    message = server.pending_updates[-1]["message"]
    assert message["document"]["file_name"] == "batch.zip"
    assert message["caption"] == "my batch"
    stored = await bot.get_file(message["document"]["file_id"])
    assert bytes(await stored.download_as_bytearray()) == archive.getvalue()

    # A browser's recording (here a WAV) is turned into the OGG/Opus of a voice note.
    from bot.demo import tone_wav

    response = await page.post(
        "/chat/api/chats/1001/files",
        files={"file": ("voice.webm", tone_wav([(440, 1.2)]), "audio/webm")},
        data={"as": "voice"},
    )
    assert response.status_code == 200
    voice = server.pending_updates[-1]["message"]["voice"]
    assert voice["mime_type"] == "audio/ogg"
    assert voice["duration"] >= 1
    assert server.file_bytes(voice["file_id"])[:4] == b"OggS"
    downloaded = await page.get(f"/chat/api/files/{voice['file_id']}")
    assert downloaded.headers["content-type"] == "audio/ogg"

    doc = await page.get(f"/chat/api/files/{message['document']['file_id']}")
    assert doc.content == archive.getvalue()
    assert "attachment" in doc.headers["content-disposition"]
    assert (await page.get("/chat/api/files/nope")).status_code == 404
    refused = await page.post("/chat/api/chats/1001/files", data={"as": "voice"})
    assert refused.status_code == 400


async def test_events_name_the_chats_that_changed(
    server: SandboxServer, page: httpx.AsyncClient, bot: Bot
) -> None:
    async with page.stream("GET", "/chat/api/events") as stream:
        lines = stream.aiter_lines()

        async def next_event() -> tuple[str, dict[str, object]]:
            name = ""
            async for line in lines:
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    return name, json.loads(line.removeprefix("data: "))
            raise AssertionError("the stream ended")

        assert (await asyncio.wait_for(next_event(), 5))[0] == "hello"
        await bot.send_message(2001, "Your budget")
        name, data = await asyncio.wait_for(next_event(), 5)
        assert name == "changed"
        assert data["chats"] == [2001]
