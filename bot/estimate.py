"""Domain room of a batch's estimated end (issue 15; no Telegram): the answers still wanted,
divided by the measured answer rate of the last hour, or since publishing when the last hour
has too few answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(hours=1)
MIN_ANSWERS = 5
"""Fewer answers than this in the measured span: "not enough data yet"."""
MIN_SPAN = timedelta(minutes=1)
"""A span shorter than this counts as this long (no estimate from a burst of seconds)."""


@dataclass(frozen=True)
class Pace:
    """Answers counted in the last hour and since publishing, and when the batch published."""

    last_hour: int
    since_publish: int
    published_at: datetime | None


@dataclass(frozen=True)
class Estimate:
    """When the batch should have all its answers, at the measured rate (answers per hour)."""

    end: datetime
    per_hour: float
    basis: str  # "hour" or "publish"


def estimate_end(pace: Pace, remaining: int, now: datetime) -> Estimate | None:
    """The estimated end, or None when too few answers were measured (or nothing remains)."""
    if remaining <= 0:
        return None
    if pace.last_hour >= MIN_ANSWERS:
        rate, basis = pace.last_hour / (WINDOW / timedelta(hours=1)), "hour"
    elif pace.since_publish >= MIN_ANSWERS and pace.published_at is not None:
        span = max(now - pace.published_at, MIN_SPAN)
        rate, basis = pace.since_publish / (span / timedelta(hours=1)), "publish"
    else:
        return None
    return Estimate(now + timedelta(hours=remaining / rate), rate, basis)
