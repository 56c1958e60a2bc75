"""The bot's wire (bot/engine/http.py) against the sandbox Bot API: payloads, uploads, errors."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
from collections.abc import AsyncIterator

os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

import pytest
from PIL import Image
from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.engine.http import AiohttpRequest
from sandbox import FaultInjector, Faults, SandboxServer

TOKEN = "123456:TEST-token"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), "red").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(token=TOKEN, bot_username="petitesmains_bot") as running:
        running.user(1001, "Ana")
        yield running


def bot_on(server: SandboxServer, request: AiohttpRequest) -> Bot:
    return Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=request,
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )


async def test_calls_long_poll_and_a_refusal(server: SandboxServer) -> None:
    async with bot_on(server, AiohttpRequest()) as bot:
        assert bot.username == "petitesmains_bot"
        message = await bot.send_message(1001, "héllo & bye=1 +2")  # URL-encoded as PTB does
        assert message.text == "héllo & bye=1 +2"
        assert server.user(1001).last_message.text == "héllo & bye=1 +2"  # type: ignore[union-attr]
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        await server.user(1001).send_command("/start")
        (update,) = await asyncio.wait_for(poll, 10)
        assert update.message is not None
        assert update.message.text == "/start"
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(424242, "nobody")


async def test_multipart_upload_and_download(server: SandboxServer) -> None:
    data = png()
    async with bot_on(server, AiohttpRequest()) as bot:
        message = await bot.send_photo(1001, photo=data, caption="look")
        assert message.caption == "look"
        file = await bot.get_file(message.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == data
        voice = await bot.send_voice(1001, voice=b"OggS fake opus", duration=3, caption="say")
        assert voice.voice is not None
    assert [(u.method, u.field) for u in server.uploads] == [
        ("sendPhoto", "photo"),
        ("sendVoice", "voice"),
    ]
    last = server.user(1001).last_message
    assert last is not None
    assert last.kind == "voice"
    assert last.file_bytes == b"OggS fake opus"
    assert last.text == "say"


async def test_4xx_and_5xx_payloads_pass_through(server: SandboxServer) -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        url = f"{server.base_url}{server.token}/sendMessage"
        status, payload = await request.do_request(url, "POST", RequestData())
        assert status == 400
        assert json.loads(payload)["ok"] is False
        server.faults = FaultInjector(Faults(server_error=1.0))
        hello = [
            RequestParameter.from_input("chat_id", 1001),
            RequestParameter.from_input("text", "hi"),
        ]
        status, payload = await request.do_request(url, "POST", RequestData(hello))
        assert status == 500
        assert json.loads(payload) == {
            "ok": False,
            "error_code": 500,
            "description": "Internal Server Error",
        }
    finally:
        await request.shutdown()


async def test_server_errors_become_ptb_errors(server: SandboxServer) -> None:
    async with bot_on(server, AiohttpRequest()) as bot:
        server.faults = FaultInjector(Faults(server_error=1.0))
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(1001, "hi")
        server.faults = FaultInjector(Faults(too_many=1.0, retry_after=3))
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1001, "hi")
        assert caught.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]


async def test_read_timeout_is_timed_out(server: SandboxServer) -> None:
    async with bot_on(server, AiohttpRequest(read_timeout=0.3)) as bot:
        server.faults = FaultInjector(Faults(timeout=1.0, hang_seconds=2.0))
        with pytest.raises(TimedOut):
            await bot.send_message(1001, "hi")
        with pytest.raises(TimedOut):  # a per-call timeout wins over the default
            await bot.send_message(1001, "hi", read_timeout=0.1)


async def test_pool_timeout_is_timed_out_and_not_sent(server: SandboxServer) -> None:
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.2, read_timeout=3.0)
    async with bot_on(server, request) as bot:
        server.faults = FaultInjector(Faults(slow=1.0, slow_seconds=1.0))
        first = asyncio.create_task(bot.send_message(1001, "first"))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await bot.send_message(1001, "second")
        assert (await first).text == "first"
        assert [m.text for m in server.user(1001).messages] == ["first"]


async def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError") as caught:
            await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
        assert not isinstance(caught.value, TimedOut)
    finally:
        await request.shutdown()


async def test_shut_down_until_initialized_again(server: SandboxServer) -> None:
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()
    url = f"{server.base_url}{server.token}/getMe"
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url, "POST")
    await request.initialize()
    status, _ = await request.do_request(url, "POST")
    assert status == 200
    await request.shutdown()
