"""The sandbox's webhook delivery: after ``setWebhook``, updates are POSTed to the bot's URL.

As Telegram does: ``getUpdates`` is refused (409) while a webhook is set; each update is POSTed
as JSON with the ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was given, confirmed
by any 2xx answer and retried after a pause otherwise (the endpoint down, a process killed).
Updates of different users are delivered concurrently; one user's updates one at a time and in
order, so a reverse proxy that routes by user keeps each user's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from sandbox.models import JSON

if TYPE_CHECKING:
    from sandbox.state import UpdateQueue

log = logging.getLogger(__name__)

RETRY_PAUSE = 0.5  # seconds before a failed delivery is tried again
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def sender_of(update: JSON) -> int:
    """The user an update comes from (0 when it names none): the key of per-user order."""
    for value in update.values():
        if isinstance(value, dict) and isinstance(value.get("from"), dict):
            return int(value["from"].get("id", 0))
    return 0


class WebhookDelivery:
    """Delivers the queue's updates to one URL until stopped or replaced."""

    def __init__(self, updates: UpdateQueue, url: str, secret: str | None) -> None:
        self.url = url
        self.secret = secret
        self.delivered = 0
        self.failures = 0
        self._updates = updates
        self._in_flight: set[int] = set()  # id() of the update dicts being delivered
        self._last_of_user: dict[int, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30), trust_env=False
        )
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._last_of_user.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while not self._updates.closed:
            pending = await self._updates.peek(wait=1.0)
            for update in pending:
                if id(update) in self._in_flight:
                    continue
                self._in_flight.add(id(update))
                user = sender_of(update)
                before = self._last_of_user.get(user)
                self._last_of_user[user] = asyncio.create_task(self._deliver(update, before))
            if pending:
                await asyncio.sleep(0.01)  # some are in flight: look again shortly

    async def _deliver(self, update: JSON, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(before)
        headers = {SECRET_HEADER: self.secret} if self.secret else {}
        assert self._session is not None
        while True:
            try:
                async with self._session.post(self.url, json=update, headers=headers) as reply:
                    if 200 <= reply.status < 300:
                        break
                    log.info("webhook answered %s; update retried", reply.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("webhook delivery failed (%s); update retried", exc)
            self.failures += 1
            await asyncio.sleep(RETRY_PAUSE)
        self.delivered += 1
        self._updates.remove(update)
        self._in_flight.discard(id(update))

    def info(self) -> dict[str, Any]:
        return {"url": self.url, "delivered": self.delivered, "failures": self.failures}
