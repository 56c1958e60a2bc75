"""Domain room of onboarding (no Telegram): after consent, a new worker picks a language, a time
zone from a short list that fits the language, and when they are free, each by one tap.

The choices are plain values; ``apply_free`` stores a "when are you free" choice as the same
windows or /ready period the worker's own commands would store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot import worker_state
from bot.availability import DEFAULT_READY_MINUTES, format_windows, parse_windows
from storage.db import Database

# Likely zones first for each language (the platform's own TIMEZONE is added when missing).
ZONES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "fr": (
        "Europe/Paris",
        "Europe/Brussels",
        "Europe/Zurich",
        "America/Montreal",
        "Africa/Abidjan",
        "Africa/Casablanca",
    ),
    "en": (
        "Europe/London",
        "Europe/Dublin",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Asia/Kolkata",
    ),
}
OTHER_ZONE = "other"

FreeChoice = Literal["now", "evenings", "weekends", "custom"]
FREE_CHOICES: tuple[FreeChoice, ...] = ("now", "evenings", "weekends", "custom")
# The weekly windows behind the one-tap choices (the worker's own zone).
FREE_WINDOWS: dict[str, str] = {
    "evenings": "daily 18:00-22:00",
    "weekends": "sat-sun 10:00-18:00",
}


def zones_for(language: str, default_zone: str) -> tuple[str, ...]:
    """The zones offered as buttons: the language's likely ones, with TIMEZONE first if absent."""
    zones = ZONES_BY_LANGUAGE.get(language, ZONES_BY_LANGUAGE["en"])
    return zones if default_zone in zones else (default_zone, *zones[:5])


def zone_label(zone: str) -> str:
    """A zone as a button reads it: its city (``America/New_York``: ``New York``)."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


@dataclass(frozen=True)
class FreeSet:
    """What a "when are you free" choice stored: a /ready end, or windows (canonical text)."""

    choice: FreeChoice
    ready_until: datetime | None = None
    windows: str = ""


async def apply_free(db: Database, worker_id: int, choice: FreeChoice, now: datetime) -> FreeSet:
    """Store the choice: ``now`` is a /ready period of 30 minutes; ``evenings`` and
    ``weekends`` add their windows to the worker's; ``custom`` stores nothing (the worker types
    their hours with /availability)."""
    if choice == "now":
        until = now + timedelta(minutes=DEFAULT_READY_MINUTES)
        await worker_state.ready_until(db, worker_id, until, now)
        return FreeSet(choice, ready_until=until)
    if choice == "custom":
        return FreeSet(choice)
    record = await worker_state.availability_record(db, worker_id)
    current = parse_windows(record.windows) if record.windows else ()
    added = tuple(w for w in parse_windows(FREE_WINDOWS[choice]) if w not in current)
    windows = format_windows((*current, *added))
    await worker_state.keep_windows(db, worker_id, windows, now)
    return FreeSet(choice, windows=windows)
