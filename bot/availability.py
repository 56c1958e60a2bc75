"""Availability rules: weekly windows, quiet hours, /ready periods and pauses, in the worker's zone.

Plain rules with no Telegram and no SQL. Times of day are minutes since local midnight; a window
or quiet period whose end is not after its start runs past midnight (``fri 22:00-01:00`` covers
Friday 22:00 to Saturday 01:00).
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from bot.callback_data import parse_whole
from bot.errors import InvalidInput

MINUTES_PER_DAY = 24 * 60
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES_FR = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
_FULL_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FULL_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_DAYS: dict[str, int] = {
    name: index
    for names in (DAY_NAMES, DAY_NAMES_FR, _FULL_EN, _FULL_FR)
    for index, name in enumerate(names)
}
_ALL_WEEK = frozenset(range(7))
_GROUPS: dict[str, frozenset[int]] = {
    "daily": _ALL_WEEK,
    "everyday": _ALL_WEEK,
    "tlj": _ALL_WEEK,
    "weekdays": frozenset(range(5)),
    "semaine": frozenset(range(5)),
    "weekend": frozenset({5, 6}),
    "weekends": frozenset({5, 6}),
    "week-end": frozenset({5, 6}),
}
_TIME = re.compile(r"^(?P<h>[0-9]{1,2})(?:[:h.](?P<m>[0-9]{2}))?h?$")
_RANGE = re.compile(r"^(?P<start>[0-9h:.]+)-(?P<end>[0-9h:.]+)$")

DEFAULT_READY_MINUTES = 30
MAX_READY_MINUTES = 12 * 60
SPAN_HORIZON = timedelta(days=8)  # ``Availability.span`` looks this far ahead (a week repeats)

Status = Literal["available", "paused", "quiet", "off"]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_time_of_day(word: str, *, end: bool = False) -> int:
    """``7``, ``07:30``, ``7h30`` or ``7.30`` as minutes after midnight (``24:00``: ends only)."""
    match = _TIME.match(word.strip().lower())
    if match is None:
        raise InvalidInput("availability.bad_time", word=word[:20])
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if minute > 59 or hour > 24 or (hour == 24 and (minute or not end)):
        raise InvalidInput("availability.bad_time", word=word[:20])
    return hour * 60 + minute


def _normalise(text: str) -> str:
    """Lower case, one space between words, no space around dashes (``mon - fri``: ``mon-fri``)."""
    cleaned = " ".join(text.strip().lower().replace("\u2013", "-").split())
    return re.sub(r" ?- ?", "-", cleaned)


def _parse_range(text: str) -> tuple[int, int]:
    match = _RANGE.match(_normalise(text))
    if match is None:
        raise InvalidInput("availability.bad_time", word=text[:20])
    start = parse_time_of_day(match["start"])
    finish = parse_time_of_day(match["end"], end=True)  # 24:00 stays 1440: up to midnight
    if start == finish:
        raise InvalidInput("availability.empty_window", entry=text[:30])
    return start, finish


def _covers(start: int, end: int, minute: int) -> bool:
    """Whether a period of the day covers ``minute`` (``end <= start``: it runs past midnight)."""
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


@dataclass(frozen=True, order=True)
class Window:
    """A weekly window: on ``days`` (0 = Monday) from ``start`` to ``end`` (minutes, local)."""

    days: frozenset[int]
    start: int
    end: int

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def covers(self, weekday: int, minute: int) -> bool:
        """Whether the window is open at ``minute`` of ``weekday`` (local)."""
        if not self.crosses_midnight:
            return weekday in self.days and self.start <= minute < self.end
        if minute >= self.start:
            return weekday in self.days
        return minute < self.end and (weekday - 1) % 7 in self.days

    def format(self, language: str = "en") -> str:
        """``mon-fri 07:30-09:00`` (French day names for ``fr``)."""
        return f"{format_days(self.days, language)} {_clock(self.start)}-{_clock(self.end)}"


@dataclass(frozen=True)
class QuietHours:
    """Hours of the day when nothing is pushed, e.g. 22:00-08:00 (local)."""

    start: int
    end: int

    def covers(self, minute: int) -> bool:
        return _covers(self.start, self.end, minute)

    def format(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


DEFAULT_QUIET = QuietHours(22 * 60, 8 * 60)


def format_days(days: Iterable[int], language: str = "en") -> str:
    """Days as runs: ``mon-fri``, ``sat-sun``, ``mon wed fri``."""
    names = DAY_NAMES_FR if language == "fr" else DAY_NAMES
    ordered = sorted(set(days))
    runs: list[list[int]] = []
    for day in ordered:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [
        names[run[0]] if len(run) == 1 else f"{names[run[0]]}-{names[run[-1]]}" for run in runs
    ]
    return " ".join(parts)


def _parse_days(words: Sequence[str], entry: str) -> frozenset[int]:
    days: set[int] = set()
    for word in words:
        if word in _GROUPS:
            days |= _GROUPS[word]
            continue
        first, sep, last = word.partition("-")
        if first not in _DAYS or (sep and last not in _DAYS):
            unknown = first if first not in _DAYS else last
            raise InvalidInput("availability.unknown_day", word=(unknown or word)[:20])
        if not sep:
            days.add(_DAYS[first])
            continue
        day, stop = _DAYS[first], _DAYS[last]
        days.add(day)
        while day != stop:  # a range may wrap around the week: fri-mon
            day = (day + 1) % 7
            days.add(day)
    if not days:
        raise InvalidInput("availability.no_days", entry=entry[:30])
    return frozenset(days)


def parse_windows(text: str) -> tuple[Window, ...]:
    """Parse ``mon-fri 07:30-09:00, sat 10:00-12:00`` (English or French day names).

    Entries are separated by commas or semicolons; each is one or more day names, ranges
    (``mon-fri``, ``fri-mon``) or groups (``weekdays``, ``weekend``, ``daily``), then a time range.
    ``off`` (or an empty text) means no windows.
    """
    cleaned = _normalise(text)
    if cleaned in {"", "off", "none", "aucune", "aucun"}:
        return ()
    found: list[Window] = []
    for raw in re.split(r"[,;]", cleaned):
        entry = raw.strip()
        if not entry:
            continue
        words = entry.split(" ")
        time_words = [w for w in words if w[:1].isdigit()]
        day_words = [w for w in words if not w[:1].isdigit()]
        days = _parse_days(day_words, entry)
        if len(time_words) != 1:
            raise InvalidInput("availability.bad_time", word=entry[:30])
        start, end = _parse_range(time_words[0])
        window = Window(days, start, end)
        if window not in found:
            found.append(window)
    return tuple(found)


def format_windows(windows: Iterable[Window], language: str = "en") -> str:
    """The canonical text of windows (English day names are the stored form)."""
    return ", ".join(window.format(language) for window in windows)


def parse_quiet(text: str) -> QuietHours | None:
    """``22:00-08:00`` (or ``22h-8h``); ``off`` or an empty text: no quiet hours."""
    cleaned = _normalise(text)
    if cleaned in {"", "off", "none", "aucune", "aucun"}:
        return None
    start, end = _parse_range(cleaned)
    return QuietHours(start, end)


def parse_ready_minutes(args: Sequence[str]) -> int:
    """The minutes of ``/ready [minutes]``: 30 by default, 1 to 720."""
    if not args:
        return DEFAULT_READY_MINUTES
    word = args[0].strip().lower().removesuffix("min").removesuffix("m")
    return parse_whole(
        word, 1, MAX_READY_MINUTES, "availability.ready_usage", most=MAX_READY_MINUTES
    )


def toggle_windows(current: Sequence[Window], preset: Sequence[Window]) -> tuple[Window, ...]:
    """Add a preset's windows, or remove them when they are all there already."""
    if preset and all(window in current for window in preset):
        return tuple(window for window in current if window not in preset)
    return tuple(current) + tuple(window for window in preset if window not in current)


@dataclass(frozen=True)
class Availability:
    """Everything that decides whether a worker wants tasks pushed right now."""

    windows: tuple[Window, ...] = ()
    quiet: QuietHours | None = DEFAULT_QUIET
    ready_until: datetime | None = None
    paused: bool = False

    def status(self, now: datetime, zone: ZoneInfo) -> Status:
        """``available``, or why not: ``paused``, ``quiet`` (quiet hours) or ``off``."""
        if self.paused:
            return "paused"
        local = now.astimezone(zone)
        minute = local.hour * 60 + local.minute
        if self.quiet is not None and self.quiet.covers(minute):
            return "quiet"
        if self.is_ready(now) or self.in_window(now, zone):
            return "available"
        return "off"

    def is_available(self, now: datetime, zone: ZoneInfo) -> bool:
        """The push policy's time part: not paused, outside quiet hours, in a window or ready."""
        return self.status(now, zone) == "available"

    def is_ready(self, now: datetime) -> bool:
        return self.ready_until is not None and now < self.ready_until

    def in_window(self, now: datetime, zone: ZoneInfo) -> bool:
        local = now.astimezone(zone)
        minute = local.hour * 60 + local.minute
        return any(window.covers(local.weekday(), minute) for window in self.windows)

    def quiet_ends(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When the current quiet hours end (None outside quiet hours)."""
        if self.quiet is None:
            return None
        local = now.astimezone(zone)
        if not self.quiet.covers(local.hour * 60 + local.minute):
            return None
        end = _at(local.date(), self.quiet.end, zone)
        return end if end > now else _at(local.date() + timedelta(days=1), self.quiet.end, zone)

    def span(self, now: datetime, zone: ZoneInfo) -> tuple[bool, datetime]:
        """Whether ``is_available`` holds at ``now``, and the first instant after ``now`` at
        which that changes (``now + SPAN_HORIZON`` when it does not change before then).

        The answer can only change where the wall clock in ``zone`` reaches the start or end of
        a window or of quiet hours, where the zone's offset changes (daylight saving: a window
        may open or close at the jump itself, or its start may happen twice), and where a /ready
        period ends; those instants are tried in order.
        """
        available = self.is_available(now, zone)
        for moment in self._turns(now, zone, now + SPAN_HORIZON):
            if self.is_available(moment, zone) != available:
                return available, moment
        return available, now + SPAN_HORIZON

    def _turns(self, now: datetime, zone: ZoneInfo, end: datetime) -> Iterator[datetime]:
        """Every instant in (``now``, ``end``) where ``status`` may change, in order."""
        minutes = {edge % MINUTES_PER_DAY for w in self.windows for edge in (w.start, w.end)}
        if self.quiet is not None:
            minutes |= {self.quiet.start, self.quiet.end % MINUTES_PER_DAY}
        walls = _wall_turns(sorted(minutes), now.astimezone(UTC), zone, end.astimezone(UTC))
        ready = self.ready_until
        if ready is None or not now < ready < end:
            return walls
        return heapq.merge(walls, [ready.astimezone(UTC)])

    def next_window_start(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """The next moment a window opens (within eight days), or None without windows."""
        today = now.astimezone(zone).date()
        starts = [
            moment
            for offset in range(9)
            for window in self.windows
            if (day := today + timedelta(days=offset)).weekday() in window.days
            and (moment := _at(day, window.start, zone)) > now
        ]
        return min(starts, default=None)


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def _wall_turns(
    minutes: Sequence[int], now: datetime, zone: ZoneInfo, end: datetime
) -> Iterator[datetime]:
    """In order, the instants in (``now``, ``end``) (UTC) where the wall clock in ``zone``
    reaches one of ``minutes`` (of the day), and those where the zone's offset changes."""
    for start, stop in _steady_spans(zone, now, end):
        if start > now:
            yield start  # the wall clock jumps
        offset = start.astimezone(zone).utcoffset() or timedelta(0)
        first = max(start, now)
        day = (first + offset).date()
        while minutes:
            midnight = datetime.combine(day, time(), tzinfo=UTC) - offset
            if midnight >= stop:
                break
            for minute in minutes:
                moment = midnight + timedelta(minutes=minute)
                if first < moment < stop:
                    yield moment
            day += timedelta(days=1)


def _steady_spans(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """[``start``, ``end``) cut where ``zone``'s UTC offset changes: spans of one offset."""
    cuts = [
        moment
        for offset in range((end.date() - start.date()).days + 1)
        for moment in _offset_changes(zone, start.date() + timedelta(days=offset))
        if start < moment < end
    ]
    edges = [start, *cuts, end]
    return list(itertools.pairwise(edges))


@lru_cache(maxsize=4096)
def _offset_changes(zone: ZoneInfo, day: date) -> tuple[datetime, ...]:
    """The instants of UTC day ``day`` at which ``zone``'s offset changes (found to the second
    between samples six hours apart: no zone changes twice in six hours)."""
    base = int(datetime.combine(day, time(), tzinfo=UTC).timestamp())
    found: list[datetime] = []
    for low in range(base, base + 86_400, 21_600):
        high = low + 21_600
        if _offset(zone, low) == _offset(zone, high):
            continue
        while high - low > 1:  # offset(low) is the old one, offset(high) the new
            middle = (low + high) // 2
            if _offset(zone, middle) == _offset(zone, low):
                low = middle
            else:
                high = middle
        found.append(datetime.fromtimestamp(high, UTC))
    return tuple(found)


def _offset(zone: ZoneInfo, timestamp: int) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, UTC).astimezone(zone).utcoffset()
