"""Optional flood control: token buckets per chat and overall, answering 429 with retry_after."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Flood-control settings, by default close to Telegram's published guidance.

    `burst` calls to one chat pass at once, then one every 1/per_chat_per_second seconds;
    overall, `global_burst` (default: global_per_second) pass at once, then global_per_second
    a second.
    """

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    burst: int = 3
    global_burst: int | None = None

    def __post_init__(self) -> None:
        if self.global_per_second <= 0 or self.per_chat_per_second <= 0:
            raise ValueError("rates must be positive")
        if self.burst < 1 or (self.global_burst is not None and self.global_burst < 1):
            raise ValueError("bursts must be at least 1")


class _Bucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for_one(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class RateLimiter:
    """Applies a RateLimit; `acquire` either takes a slot or says how long to wait."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        now = clock()
        capacity = limit.global_burst or max(1, math.floor(limit.global_per_second))
        self._global = _Bucket(capacity, limit.global_per_second, now)
        self._chats: dict[int, _Bucket] = {}

    def acquire(self, chat_id: int) -> int | None:
        """None when the call may go ahead (and counts it), else retry_after in whole seconds."""
        now = self._clock()
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Bucket(
                self.limit.burst, self.limit.per_chat_per_second, now
            )
        chat.refill(now)
        self._global.refill(now)
        wait = max(chat.wait_for_one(), self._global.wait_for_one())
        if wait > 0:
            return max(1, math.ceil(wait))
        chat.tokens -= 1
        self._global.tokens -= 1
        return None
