"""Update processing: updates run concurrently, up to a bound, and each user's in the order sent.

python-telegram-bot hands every update to ``BaseUpdateProcessor.process_update``, which holds
one slot of its semaphore around ``do_process_update``. Updates are taken from the queue in
order and each gets a task; the first thing the task does is queue on its user's lock (FIFO),
so one user's updates are handled one after the other, in the order Telegram sent them, while
other users' updates go ahead. Only then does an update take one of ``running`` places, so an
update waiting behind its own user never holds a place another user could use.

The key of an update is its sender (``effective_user``), else its chat; updates with neither
(polls, for instance) only wait for a place. ConversationHandlers are keyed by user and chat,
so per-user order keeps them as safe as handling one update at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from storage.db import urgent

# Updates handled at once; most of their time is spent awaiting I/O. Generous: a handler whose
# press is answered may hold its place while its claim waits behind other presses' answers.
DEFAULT_RUNNING = 256
DEFAULT_IN_FLIGHT = 4096  # updates accepted (running or waiting behind their user) at once
PRESSES_FIRST = 1.0  # most seconds an answered press's follow-up waits for others' answers


def update_key(update: object) -> int | None:
    """Whose turn an update waits for: its sender's id, else its chat's id, else None."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class _Turn:
    """A user's lock and how many of their updates hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class _Presses:
    """Presses being handled and not yet answered, numbered in the order they started."""

    __slots__ = ("_open", "_started", "_waiters")

    def __init__(self) -> None:
        self._started = 0
        self._open: set[int] = set()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def add(self) -> _Press:
        number = self._started
        self._started += 1
        self._open.add(number)
        return _Press(self, number)

    def done(self, number: int) -> None:
        self._open.discard(number)
        lowest = min(self._open, default=self._started)
        still = []
        for mark, waiter in self._waiters:
            if mark <= lowest:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((mark, waiter))
        self._waiters = still

    def started_before_now(self) -> asyncio.Future[None]:
        """Done once every press started so far is answered (later ones do not count)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if min(self._open, default=self._started) >= self._started:
            waiter.set_result(None)
        else:
            self._waiters.append((self._started, waiter))
        return waiter


class _Press:
    """One press being handled, counted until it is answered (or its handler ends)."""

    __slots__ = ("number", "open", "presses")

    def __init__(self, presses: _Presses, number: int) -> None:
        self.presses = presses
        self.number = number
        self.open = True

    def close(self) -> None:
        if self.open:
            self.open = False
            self.presses.done(self.number)


_PRESS: ContextVar[_Press | None] = ContextVar("press_being_handled", default=None)


async def answered(wait: float = PRESSES_FIRST) -> None:
    """A press handler's press is answered: what it does next (claiming the next task, queueing
    messages) waits until the presses already being handled are answered too (not those that
    come later), at most ``wait`` seconds, so in a burst the event loop answers presses first
    (issue 10: every press confirmed within a second at any load)."""
    press = _PRESS.get()
    if press is None:
        return
    press.close()
    waiter = press.presses.started_before_now()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiter, wait)


class PerUserProcessor(BaseUpdateProcessor):
    """Concurrent updates, serialised per user: one user's slow work never delays another's."""

    __slots__ = ("_places", "_presses", "_running", "_turns", "after_update")

    def __init__(self, running: int = DEFAULT_RUNNING, in_flight: int = DEFAULT_IN_FLIGHT):
        if running < 1 or in_flight < running:
            raise ValueError("need 1 <= running <= in_flight")
        # PTB's own bound counts updates waiting behind their user as well: keep it generous.
        super().__init__(max_concurrent_updates=in_flight)
        self._running = running
        self._places = asyncio.BoundedSemaphore(running)
        self._turns: dict[int, _Turn] = {}
        self._presses = _Presses()
        # Run after each update, still in its user's turn: the wiring writes the conversations
        # and drafts the update changed (bot.persistence), so the next update sees them stored.
        self.after_update: Callable[[], Awaitable[None]] | None = None

    @property
    def running(self) -> int:
        """How many updates may be handled at the same moment."""
        return self._running

    @property
    def waiting_users(self) -> int:
        """How many users have an update being handled or waiting (for health figures)."""
        return len(self._turns)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the sender's turn (FIFO), then for a place, then handle the update.

        Its writes are urgent (a person waits) until the handler says otherwise: a press's
        answer goes to the writer before the claims of the tasks that follow other presses."""
        with urgent():
            await self._in_turn(update, coroutine)

    async def _in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        if key is None:
            async with self._places:
                await coroutine
            await self._after()
            return
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.users += 1
        try:
            async with turn.lock:
                async with self._places:
                    await self._handle(update, coroutine)
                await self._after()
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers; a press counts as unanswered from here until ``answered``."""
        if not (isinstance(update, Update) and update.callback_query is not None):
            await coroutine
            return
        press = self._presses.add()
        token = _PRESS.set(press)
        try:
            await coroutine
        finally:
            press.close()
            _PRESS.reset(token)

    async def _after(self) -> None:
        if self.after_update is not None:
            await self.after_update()

    async def initialize(self) -> None:
        """Nothing to allocate: locks are made per user on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: a user's lock goes with their last update."""
