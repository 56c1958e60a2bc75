"""Webhook delivery: setWebhook, POSTs with the secret header, retries, per-user order, 409."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiohttp import web

from sandbox import SandboxServer
from sandbox.webhook import SECRET_HEADER


class Endpoint:
    """A bot's webhook endpoint that refuses its first POST (a process that just died)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[str | None] = []
        self.refused = 0
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if self.refused == 0:
            self.refused += 1
            return web.Response(status=502)
        self.received.append(await request.json())
        self.headers.append(request.headers.get(SECRET_HEADER))
        if len(self.received) >= 4:
            self.arrived.set()
        return web.Response(text="ok")


async def test_updates_are_posted_to_the_webhook_in_order_per_user(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    endpoint = Endpoint()
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/hook"
        reply = await http.post("/setWebhook", json={"url": url, "secret_token": "s3cret"})
        assert reply.json()["result"] is True
        info = (await http.post("/getWebhookInfo")).json()["result"]
        assert info["url"] == url
        refused = await http.post("/getUpdates")
        assert refused.status_code == 409
        ana, ben = server.user(1001, "Ana"), server.user(1002, "Ben")
        for text in ("a1", "a2"):
            await ana.send_text(text)
        for text in ("b1", "b2"):
            await ben.send_text(text)
        await asyncio.wait_for(endpoint.arrived.wait(), 10)
        texts = [update["message"]["text"] for update in endpoint.received]
        assert sorted(texts) == ["a1", "a2", "b1", "b2"]  # the refused one came again
        assert texts.index("a1") < texts.index("a2")
        assert texts.index("b1") < texts.index("b2")
        assert set(endpoint.headers) == {"s3cret"}
        assert server.pending_updates == []  # every delivered update is confirmed
        assert (await http.post("/deleteWebhook")).json()["result"] is True
        assert (await http.post("/getUpdates")).status_code == 200
    finally:
        await runner.cleanup()
