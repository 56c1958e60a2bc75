"""Plain rules, the shared message budget: one bot token's rate across all its processes.

``SharedBudget.acquire(n)`` waits until ``n`` messages may be sent under the bot's budget,
kept in the database (``storage/send_budget.py``) so that three processes serving one token
send no more together than one would. The outbox takes its slots here before each send.
"""

from __future__ import annotations

import asyncio

from bot.clock import Clock
from storage.db import Database
from storage.send_budget import take_send_slots


class SharedBudget:
    """A token bucket per bot in the database: ``rate`` messages a second, bursts of ``burst``."""

    def __init__(self, db: Database, bot_id: int, clock: Clock, *, rate: float, burst: float):
        if rate <= 0 or burst < 1:
            raise ValueError("a budget needs a positive rate and a burst of at least one")
        self._db, self._bot_id, self._clock = db, bot_id, clock
        self.rate, self.burst = rate, burst

    async def try_take(self, wanted: int = 1) -> tuple[int, float]:
        """Take up to ``wanted`` slots now: (granted, seconds to wait when none was)."""
        grant = await self._db.run_write(
            take_send_slots,
            self._bot_id,
            wanted,
            now=self._clock.now(),
            rate=self.rate,
            burst=self.burst,
        )
        return grant.granted, grant.wait

    async def acquire(self, count: int = 1) -> None:
        """Wait until ``count`` messages are granted (taken as they come)."""
        left = count
        while left > 0:
            granted, wait = await self.try_take(left)
            left -= granted
            if left and not granted:
                await asyncio.sleep(wait)
