"""Time for the domain rules: an injectable clock so tests can move through months and windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that only moves when told to, for tests."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 15, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.current = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta


@dataclass
class ShiftedClock:
    """Real time moved by a fixed offset: timers still run, but "now" can be any hour or month.

    End-to-end tests use it where python-telegram-bot's JobQueue (real time) and the rules
    (clock time) must agree on how long a second is.
    """

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, when: datetime) -> None:
        """Make "now" read ``when`` from this instant on."""
        self.offset = when - datetime.now(UTC)
