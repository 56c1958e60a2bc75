"""Engine room (plain), the message budget: Telegram's limits as a generic cell rate algorithm.

A ``Pace`` lets ``burst`` calls through at once, then one every ``1/rate`` seconds; ``wait`` says
how long until ``cost`` more calls may go, ``take`` counts them. One pace keeps the bot's
overall rate, one per chat keeps about a message a second to each chat. No Telegram, no clock
of its own: the outbox passes ``time.monotonic()``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The outbox's budget: overall calls a second, and calls a second (and burst) per chat."""

    per_second: float = 30.0
    per_chat_per_second: float = 1.0
    chat_burst: int = 2
    burst: int = 3

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.per_chat_per_second <= 0:
            raise ValueError("rates must be positive")
        if self.burst < 1 or self.chat_burst < 1:
            raise ValueError("bursts must be at least 1")


UNLIMITED = Limits(per_second=1e9, per_chat_per_second=1e9, chat_burst=1_000, burst=1_000)


class Pace:
    """Generic cell rate algorithm: the theoretical arrival time of the next call."""

    __slots__ = ("_interval", "_tat", "_tolerance")

    def __init__(self, rate: float, burst: int) -> None:
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._tat = 0.0

    def wait(self, now: float, cost: int = 1) -> float:
        """Seconds until ``cost`` calls may go (0 when they may go now)."""
        earliest = max(self._tat, now) + (cost - 1) * self._interval - self._tolerance
        return max(0.0, earliest - now)

    def take(self, now: float, cost: int = 1) -> None:
        """Count ``cost`` calls made at ``now``."""
        self._tat = max(self._tat, now) + cost * self._interval

    def idle(self, now: float) -> bool:
        """True when the pace has fully recovered (it can be forgotten)."""
        return self._tat <= now
