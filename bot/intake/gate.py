"""Intake, the gate: how many uploads are checked at once (per requester and overall), and the
checking itself in a worker process of the compute pool (``bot/compute.py``), so the bot's loop
never waits on it: on a thread, pydub's and the ZIP reader's Python held the interpreter lock
and presses waited up to 1.5 s while a 30-minute recording was cut (issue 10's bench).

An upload checks a ZIP, decodes and cuts recordings with ffmpeg and re-encodes images: seconds
to minutes of work. The gate lets ``per_user`` uploads of one requester and ``overall`` in all be
checked at once; the others wait in line (first come, first served) and their requester is told
how many are ahead. No Telegram here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.compute import offload
from bot.intake.prepare import IntakeLimits, PreparedBatch, prepare_batch

OVERALL = 2  # uploads checked at once (ffmpeg and Pillow use a core each)
PER_USER = 1  # uploads of one requester checked at once


class IntakeGate:
    """A line for uploads: ``per_user`` of one requester and ``overall`` in all at once."""

    def __init__(self, overall: int = OVERALL, per_user: int = PER_USER) -> None:
        if overall < 1 or per_user < 1:
            raise ValueError("the gate needs at least one place")
        self._overall = asyncio.Semaphore(overall)
        self._per_user = per_user
        self._users: dict[int, asyncio.Semaphore] = {}
        self._holders: dict[int, int] = {}  # uploads of a user holding or awaiting a place
        self.admitted = 0  # uploads that got their turn (for tests and health figures)
        self.waiting = 0  # uploads in line (not yet checking)

    def ahead(self, user_id: int) -> int:
        """How many uploads would go before this user's next one (0: it starts at once)."""
        mine = self._users.get(user_id)
        if (mine is None or not mine.locked()) and not self._overall.locked():
            return 0
        return self.waiting + (1 if self._overall.locked() else 0)

    @asynccontextmanager
    async def turn(self, user_id: int) -> AsyncIterator[None]:
        """Wait for this user's place, then for an overall place (in arrival order)."""
        mine = self._users.setdefault(user_id, asyncio.Semaphore(self._per_user))
        self._holders[user_id] = self._holders.get(user_id, 0) + 1
        self.waiting += 1
        admitted = False
        try:
            async with mine, self._overall:
                self.waiting -= 1
                admitted = True
                self.admitted += 1
                yield
        finally:
            if not admitted:
                self.waiting -= 1
            self._holders[user_id] -= 1
            if self._holders[user_id] == 0:
                del self._holders[user_id]
                del self._users[user_id]


async def prepare_off_loop(
    zip_bytes: bytes, *, data_dir: Path, min_hourly_rate: int, limits: IntakeLimits | None = None
) -> PreparedBatch:
    """``prepare_batch`` in a worker process (a thread where no pool is installed): ffmpeg's
    pipes, Pillow, pydub and the ZIP reader never hold the bot's loop nor its interpreter."""
    return await offload(_prepare, zip_bytes, data_dir, min_hourly_rate, limits)


def _prepare(
    zip_bytes: bytes, data_dir: Path, min_hourly_rate: int, limits: IntakeLimits | None
) -> PreparedBatch:
    """The worker's side: ``prepare_batch`` on an event loop of its own."""
    return asyncio.run(
        prepare_batch(zip_bytes, data_dir=data_dir, min_hourly_rate=min_hourly_rate, limits=limits)
    )
