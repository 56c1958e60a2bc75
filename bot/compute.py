"""Compute room: CPU-bound pure functions (aggregation) run in a small pool of worker processes.

The event loop serves every user; a Dawid-Skene fit over a large batch must not hold it. The
application owns one ``Compute`` (started in ``post_init``, shut down in ``post_shutdown``) and
installs it as the default, so rules that only receive the database (``bot.results``) reach it
through ``offload``. Inputs and outputs cross a process boundary: plain, picklable values only.
At most ``workers`` computations run at once and at most ``waiting`` more queue for them; the
rest wait on the loop without holding anything. Without an installed pool (unit tests,
scripts) ``offload`` uses a thread, so the loop stays free there too.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")

DEFAULT_WORKERS = 2  # aggregation is rare; two processes keep the cores for the loop
DEFAULT_WAITING = 8


class Compute:
    """A bounded pool of worker processes for pure functions."""

    def __init__(self, workers: int = DEFAULT_WORKERS, waiting: int = DEFAULT_WAITING) -> None:
        self.workers = max(1, min(workers, os.cpu_count() or 1))
        # forkserver, not fork: the bot process has threads (aiosqlite), and forking those is
        # unsafe. Workers start on first use, so a bot that never aggregates pays nothing.
        self._executor: Executor | None = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("forkserver")
        )
        self._slots = asyncio.Semaphore(self.workers + waiting)

    async def run(self, function: Callable[..., T], /, *args: object) -> T:
        """``function(*args)`` in a worker process; the caller awaits without blocking the loop."""
        if self._executor is None:
            raise RuntimeError("the compute pool is shut down")
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)

    async def shutdown(self) -> None:
        """Stop the workers (off the loop: joining processes blocks)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)


_installed: Compute | None = None


def install(compute: Compute | None) -> None:
    """Make ``compute`` the pool ``offload`` uses (None: back to a thread)."""
    global _installed  # one pool per process, set by the application
    _installed = compute


async def offload(function: Callable[..., T], /, *args: object) -> T:
    """Run a CPU-bound pure function off the event loop: in the installed pool, else a thread."""
    if _installed is not None:
        return await _installed.run(function, *args)
    return await asyncio.to_thread(function, *args)
