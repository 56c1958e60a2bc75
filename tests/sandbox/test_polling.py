"""getUpdates: long polling, offset confirmation, limits and redelivery."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx

from sandbox import SandboxServer


async def get_updates(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await http.post("/getUpdates", json=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["result"]
    return result


async def test_long_poll_waits_for_a_message(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    user = server.user(1001, "Ana", username="ana", language_code="fr")
    poll = asyncio.create_task(get_updates(http, timeout=20))
    await asyncio.sleep(0.2)
    assert not poll.done()  # nothing to deliver yet: the call is parked
    sent = await user.send_text("hello")
    updates = await asyncio.wait_for(poll, 10)
    assert updates == [{"update_id": 1, "message": sent}]
    message = updates[0]["message"]
    assert message["from"] == {
        "id": 1001,
        "is_bot": False,
        "first_name": "Ana",
        "username": "ana",
        "language_code": "fr",
    }
    assert message["chat"] == {
        "id": 1001,
        "type": "private",
        "first_name": "Ana",
        "username": "ana",
    }
    assert message["text"] == "hello"
    assert isinstance(message["date"], int)

    # Without an offset the update is delivered again; with offset it is confirmed and dropped.
    assert [u["update_id"] for u in await get_updates(http)] == [1]
    assert await get_updates(http, offset=2, timeout=0) == []
    assert server.pending_updates == []


async def test_short_poll_returns_empty(server: SandboxServer, http: httpx.AsyncClient) -> None:
    assert await get_updates(http, timeout=0) == []
    assert await get_updates(http, timeout=1) == []


async def test_limit_and_negative_offset(server: SandboxServer, http: httpx.AsyncClient) -> None:
    user = server.user(1001, "Ana")
    for text in ("a", "b", "c", "d"):
        await user.send_text(text)
    assert [u["message"]["text"] for u in await get_updates(http, limit=2)] == ["a", "b"]
    assert [u["update_id"] for u in await get_updates(http, offset=-1)] == [4]
    assert await get_updates(http, offset=5) == []


async def test_command_entity(server: SandboxServer, http: httpx.AsyncClient) -> None:
    user = server.user(1001, "Ana")
    message = await user.send_command("/start ref42")
    assert message["text"] == "/start ref42"
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    plain = await user.send_text("see https://example.org and /help")
    assert [e["type"] for e in plain["entities"]] == ["url", "bot_command"]


async def test_duplicate_update_is_redelivered_with_same_id(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    user = server.user(1001, "Ana")
    await user.send_text("pay me")
    first = await get_updates(http)
    assert await get_updates(http, offset=2) == []
    assert server.last_update_id == 1
    server.duplicate_update(server.last_update_id)
    again = await get_updates(http, offset=2)
    assert again == first
    assert await get_updates(http, offset=2) == []  # delivered once, then confirmed


async def test_redeliver_last_uses_fresh_ids(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    user = server.user(1001, "Ana")
    await user.send_text("one")
    await user.send_text("two")
    await get_updates(http, offset=3)
    copies = server.redeliver_last(2)
    assert [u["update_id"] for u in copies] == [3, 4]
    updates = await get_updates(http, offset=3)
    assert [u["message"]["text"] for u in updates] == ["one", "two"]
    assert updates[0]["message"]["message_id"] == 1


async def test_push_update_and_drop_pending(server: SandboxServer, http: httpx.AsyncClient) -> None:
    pushed = server.push_update({"update_id": 50, "poll": {"id": "1"}})
    assert pushed["update_id"] == 50
    nxt = server.push_update({"poll": {"id": "2"}})
    assert nxt["update_id"] == 51
    response = await http.post("/deleteWebhook", data={"drop_pending_updates": "true"})
    assert response.json() == {"ok": True, "result": True}
    assert server.pending_updates == []


async def test_allowed_updates_filter(server: SandboxServer, http: httpx.AsyncClient) -> None:
    user = server.user(1001, "Ana")
    await get_updates(http, allowed_updates=["callback_query"])
    await user.send_text("ignored")
    assert server.pending_updates == []
    await get_updates(http, allowed_updates=[])
    await user.send_text("kept")
    assert len(server.pending_updates) == 1


async def test_stop_releases_a_long_poll(server: SandboxServer, http: httpx.AsyncClient) -> None:
    poll = asyncio.create_task(get_updates(http, timeout=30))
    await asyncio.sleep(0.2)
    await server.stop()
    # The poll is answered (empty) or its connection is closed: either way it returns.
    with contextlib.suppress(httpx.HTTPError):
        await asyncio.wait_for(poll, 10)
