"""Loop health room: a heartbeat task that measures how long the event loop was held at most.

Every ``interval`` seconds the task wakes up; any lateness beyond the interval is time the loop
spent on something else without yielding (a stall). The longest stall is logged at shutdown
and, when it grows past ``warn_after``, as it happens, so CPU work left on the loop shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

log = logging.getLogger(__name__)

INTERVAL = 0.01  # seconds between beats: stalls are measured to about this resolution
WARN_AFTER = 1.0  # a stall this long is worth a warning in the logs


class Heartbeat:
    """Beats on the event loop and keeps the longest stall seen since ``start``."""

    def __init__(self, interval: float = INTERVAL, warn_after: float = WARN_AFTER) -> None:
        self.interval = interval
        self.warn_after = warn_after
        self.longest = 0.0  # seconds
        self.beats = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start beating on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="heartbeat")

    async def stop(self) -> None:
        """Stop beating and log the longest stall (the benchmark reads this line)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        log.info(
            "event loop heartbeat: longest stall %.1f ms over %d beats",
            self.longest * 1000,
            self.beats,
        )

    async def _beat(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            stall = time.perf_counter() - before - self.interval
            self.beats += 1
            if stall > self.longest:
                if stall > self.warn_after:
                    log.warning("event loop stalled for %.1f s", stall)
                self.longest = stall
