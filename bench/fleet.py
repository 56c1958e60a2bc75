"""Bench room: several bot processes behind one webhook endpoint (issue 17), for the fault run.

``Router`` is the reverse proxy an operator puts in front of N processes, on 127.0.0.1: the
sandbox's webhook delivery POSTs every update to it, and it forwards each to one process, chosen
by a hash of the user id. The sandbox delivers one user's updates one at a time, in order, and
waits for each to be confirmed; the router confirms only once a process accepted it. When that
process is down (killed, restarting) the update goes to the next live one, and the user stays
there: a user moves only when their process is unreachable, so a process coming back never
takes a user whose earlier updates another process may still be handling (PTB's webhook server
confirms an update as soon as it is queued). A process killed after accepting an update loses
that update, as with Telegram; the worker saw no answer, so nothing confirmed is lost, and a
repeated delivery (killed mid-POST, sent again elsewhere) is dropped by the database.

Why a proxy rather than the sandbox delivering to N URLs: Telegram knows one webhook URL per
bot, so production has exactly this shape (README, "N processes behind a reverse proxy").

``cpu_seconds`` reads a process's user + system CPU time from ``/proc/PID/stat``.
"""

from __future__ import annotations

import json
import socket
import zlib

import aiohttp
from aiohttp import web

from sandbox.webhook import SECRET_HEADER, sender_of

HOOK_PATH = "hook"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Router:
    """The reverse proxy: per-user routing to live processes, re-routing around dead ones."""

    def __init__(self, ports: list[int]) -> None:
        self.backends = [f"http://127.0.0.1:{port}/{HOOK_PATH}" for port in ports]
        self.routes: dict[int, int] = {}  # user -> index of the process serving them
        self.forwarded = [0] * len(ports)
        self.rerouted = 0  # updates that found their process down and went to another
        self.refused = 0  # updates no process accepted (the sandbox sends them again)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; returns the webhook URL to give the processes."""
        app = web.Application()
        app.router.add_post(f"/{HOOK_PATH}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=10), trust_env=False
        )
        self.url = f"http://127.0.0.1:{port}/{HOOK_PATH}"
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def home(self, user: int) -> int:
        """The process a user goes to first: a hash of their id."""
        return zlib.crc32(str(user).encode()) % len(self.backends)

    def order(self, user: int) -> list[int]:
        """The processes to try for a user: theirs, then the others from a point their id
        picks, so a dead process's users spread evenly over the live ones."""
        first = self.routes.get(user, self.home(user))
        others = [n for n in range(len(self.backends)) if n != first]
        shift = zlib.crc32(f"{user}:again".encode()) % max(1, len(others))
        return [first, *others[shift:], *others[:shift]]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        user = sender_of(json.loads(body))
        headers = {"Content-Type": "application/json"}
        if secret := request.headers.get(SECRET_HEADER):
            headers[SECRET_HEADER] = secret
        assert self._session is not None
        for step, index in enumerate(self.order(user)):
            try:
                async with self._session.post(
                    self.backends[index], data=body, headers=headers
                ) as reply:
                    if reply.status >= 500:
                        continue
                    self.routes[user] = index
                    self.forwarded[index] += 1
                    self.rerouted += step > 0
                    return web.Response(status=reply.status, body=await reply.read())
            except (aiohttp.ClientError, TimeoutError):
                continue
        self.refused += 1
        return web.Response(status=502, text="no process is up")
