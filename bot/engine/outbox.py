"""Engine room, the outbox: every rate-limited send or edit of the bot goes through one scheduler.

Handlers and jobs ``submit`` a delivery (a coroutine function making one or two Telegram calls)
and return at once; they never await a rate-limited call. One scheduler task keeps the budget
(``bot/engine/budget.py``: the overall rate from ``TELEGRAM_MESSAGES_PER_SECOND``, about a
message a second per chat with a small burst) and picks what goes next by priority: the next
task after an answer, then new pushes, then notices, then admin alerts; within a priority, who
has waited longest goes first. A chat's deliveries go in the order submitted, one at a time, so
an edit and the message after it never cross. On a 429 the whole outbox rests for
``retry_after`` and the delivery is tried again. Each call is paced once more as it goes out
(``wire_turn``), so deliveries held up together (by the database) never reach Telegram in a
bunch; with several processes on one token each call also takes a slot of the token's budget
in the database (``bot/send_budget.py``). A delivery handles Telegram's expected errors itself
(``bot/engine/telegram_errors.py``); Telegram out of reach (a timeout, a 5xx) gives the delivery
up with a warning; anything else is logged and reported to the admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum

from telegram.error import RetryAfter

from bot.engine.budget import Limits, Pace
from bot.engine.telegram_errors import unreachable
from bot.send_budget import SharedBudget

log = logging.getLogger(__name__)

Delivery = Callable[[], Awaitable[object]]

IN_DELIVERY: ContextVar[bool] = ContextVar("in_outbox_delivery", default=False)
"""True inside an outbox delivery: its calls are already counted (``bot/engine/ratelimit.py``)."""


class Priority(IntEnum):
    """What goes first when demand exceeds the budget (lower first)."""

    NEXT_TASK = 0  # the next task after an answer, and the reply to a worker's own action
    PUSH = 1  # a new task the dispatcher pushes
    NOTICE = 2  # notices: pauses, a batch done, timer refreshes, requester messages
    ALERT = 3  # grouped alerts to the admins


@dataclass
class _Entry:
    priority: Priority
    since: float
    deliver: Delivery
    cost: int
    what: str


@dataclass
class _Chat:
    queue: deque[_Entry] = field(default_factory=deque)
    busy: bool = False
    scheduled: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)  # set when nothing is in flight


class Outbox:
    """One scheduler for every rate-limited call of the bot; ``start`` it, then ``submit``."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        on_failure: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self._overall = Pace(self.limits.per_second, self.limits.burst)
        self._paces: dict[int, Pace] = {}
        # The same budget kept again when each call really goes out: a delivery started on time
        # may first wait for the database, and calls released together must not arrive together.
        self._wire = Pace(self.limits.per_second, self.limits.burst)
        self._wire_chats: dict[int, Pace] = {}
        self._chats: dict[int, _Chat] = {}
        self._ready: list[tuple[int, float, int, int]] = []  # priority, since, seq, chat
        self._resting: list[tuple[float, int, int]] = []  # when, seq, chat
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._rest_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self.on_failure = on_failure
        # Several processes serving one token (webhook mode): every call also takes its slot
        # from the token's budget kept in the database, so together they keep one bot's rate.
        self.shared: SharedBudget | None = None
        self.sent = 0
        self.retries = 0

    # -- the face handlers and jobs use --------------------------------------------------------

    def submit(
        self,
        chat_id: int,
        deliver: Delivery,
        priority: Priority,
        *,
        cost: int = 1,
        since: float | None = None,
        what: str = "message",
    ) -> None:
        """Queue ``deliver`` (``cost`` rate-limited calls to ``chat_id``) and return at once.

        ``since``: when the person started waiting (monotonic; default now), so the longest
        waiting go first within a priority."""
        entry = _Entry(priority, time.monotonic() if since is None else since, deliver, cost, what)
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.queue.append(entry)
        self._schedule(chat_id, chat)
        self._wake.set()

    @property
    def waiting(self) -> int:
        """Deliveries queued (not yet started)."""
        return sum(len(chat.queue) for chat in self._chats.values())

    def room(self, seconds: float) -> int:
        """Deliveries the overall budget can start within ``seconds`` beyond those queued: what
        a dispatcher pass may claim (issue 11; more would only wait here, holding slots)."""
        return max(0, int(self.limits.per_second * seconds) + self.limits.burst - self.waiting)

    async def settled(self, chat_id: int, wait: float = 5.0) -> None:
        """Wait (at most ``wait`` s) until no delivery to ``chat_id`` is in flight: what it
        sent is then recorded (a reply typed the moment a task appears finds its task)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.busy:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(chat.idle.wait(), wait)

    def charge(self, chat_id: int, cost: int = 1) -> None:
        """Count a call made outside the outbox (a direct reply): later deliveries wait for it."""
        now = time.monotonic()
        self._overall.take(now, cost)
        self._pace(chat_id).take(now, cost)

    async def direct_turn(self, chat_id: int) -> None:
        """A direct reply waits for its own chat's pace only (never for other users' messages),
        then is charged to the overall budget."""
        while (wait := self._pace(chat_id).wait(time.monotonic())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)  # the pace says exactly how long
        self.charge(chat_id)

    async def wire_turn(self, chat_id: int) -> None:
        """Right before a call goes out: wait until it fits the budget at this very moment."""
        pace = self._wire_chats.get(chat_id)
        if pace is None:
            pace = self._wire_chats[chat_id] = Pace(
                self.limits.per_chat_per_second, self.limits.chat_burst
            )
        while (wait := max(self._wire.wait(now := time.monotonic()), pace.wait(now))) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)  # the paces say exactly how long
        self._wire.take(now)
        pace.take(now)
        if self.shared is not None:
            await self.shared.acquire(1)
        if len(self._wire_chats) > 1_000:
            self._wire_chats = {k: v for k, v in self._wire_chats.items() if not v.idle(now)}

    def rest(self, seconds: float) -> None:
        """Telegram said 429: nothing goes out for ``seconds``."""
        log.warning("Telegram asked the bot to wait %s s (429); the outbox rests", seconds)
        self._rest_until = max(self._rest_until, time.monotonic() + seconds)
        self.retries += 1
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")

    async def stop(self, drain: float = 5.0) -> None:
        """Give queued deliveries up to ``drain`` seconds, then stop the scheduler."""
        end = time.monotonic() + drain
        while (self.waiting or self._inflight) and time.monotonic() < end:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # a few seconds at shutdown, polled
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self.waiting:
            log.warning("outbox stopped with %s deliveries queued", self.waiting)

    # -- the scheduler -----------------------------------------------------------------------------

    def _schedule(self, chat_id: int, chat: _Chat) -> None:
        """Put a chat with something to send, and nothing in flight, in line by its head."""
        if chat.busy or chat.scheduled or not chat.queue:
            return
        head = chat.queue[0]
        chat.scheduled = True
        heapq.heappush(self._ready, (head.priority, head.since, next(self._seq), chat_id))

    async def _run(self) -> None:
        while True:
            pause = self._step(time.monotonic())
            if pause is None:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    def _step(self, now: float) -> float | None:
        """Start one delivery if the budget allows; else how long to sleep (None: go on)."""
        if now < self._rest_until:
            return self._rest_until - now
        while self._resting and self._resting[0][0] <= now:
            _, _, chat_id = heapq.heappop(self._resting)
            chat = self._chats.get(chat_id)
            if chat is not None:
                chat.scheduled = False
                self._schedule(chat_id, chat)
        if not self._ready:
            return self._resting[0][0] - now if self._resting else 60.0
        _, _, seq, chat_id = self._ready[0]
        chat = self._chats[chat_id]
        head = chat.queue[0]
        overall = self._overall.wait(now, head.cost)
        if overall > 0:
            return overall
        heapq.heappop(self._ready)
        pace = self._pace(chat_id)
        own = pace.wait(now, head.cost)
        if own > 0:
            heapq.heappush(self._resting, (now + own, seq, chat_id))
            return None
        self._overall.take(now, head.cost)
        pace.take(now, head.cost)
        chat.queue.popleft()
        chat.scheduled = False
        chat.busy = True
        chat.idle.clear()
        task = asyncio.create_task(self._deliver(chat_id, chat, head), name=f"outbox:{chat_id}")
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return None

    def _pace(self, chat_id: int) -> Pace:
        pace = self._paces.get(chat_id)
        if pace is None:
            pace = self._paces[chat_id] = Pace(
                self.limits.per_chat_per_second, self.limits.chat_burst
            )
        return pace

    async def _deliver(self, chat_id: int, chat: _Chat, entry: _Entry) -> None:
        IN_DELIVERY.set(True)  # this task's own context: its calls are counted already
        try:
            await entry.deliver()
            self.sent += entry.cost
        except RetryAfter as exc:
            self.rest(retry_seconds(exc))
            chat.queue.appendleft(entry)
        except Exception as exc:
            if unreachable(exc):  # a timeout or a 5xx: the delivery is given up, not an error
                log.warning("%s to %s not delivered, Telegram out of reach: %s", entry.what,
                            chat_id, exc)  # fmt: skip
            else:
                log.exception("delivery of a %s to %s failed", entry.what, chat_id)
                if self.on_failure is not None:
                    self.on_failure(f"outbox {entry.what}: {type(exc).__name__}", exc)
        finally:
            chat.busy = False
            chat.idle.set()
            if chat.queue:
                self._schedule(chat_id, chat)
            elif not chat.scheduled:
                del self._chats[chat_id]
                self._forget_pace(chat_id)
            self._wake.set()

    def _forget_pace(self, chat_id: int) -> None:
        pace = self._paces.get(chat_id)
        if pace is not None and len(self._paces) > 1_000 and pace.idle(time.monotonic()):
            del self._paces[chat_id]


def retry_seconds(error: RetryAfter) -> float:
    """``retry_after`` in seconds, whichever type PTB gives it."""
    wait = error.retry_after
    return float(wait) if isinstance(wait, int | float) else wait.total_seconds()
