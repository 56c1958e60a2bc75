"""Availability rules: weekly windows, quiet hours across midnight, /ready, pauses, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.availability import (
    DEFAULT_QUIET,
    SPAN_HORIZON,
    Availability,
    QuietHours,
    Window,
    format_windows,
    parse_quiet,
    parse_ready_minutes,
    parse_time_of_day,
    parse_windows,
    toggle_windows,
)
from bot.errors import InvalidInput

PARIS = ZoneInfo("Europe/Paris")
MONTREAL = ZoneInfo("America/Montreal")
WEEKDAYS = frozenset(range(5))


def paris(text: str) -> datetime:
    """A wall-clock time in Paris as an aware datetime (2026-01-12 is a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


# -- parsing ---------------------------------------------------------------------------------


def test_the_example_of_the_issue_parses() -> None:
    windows = parse_windows("mon-fri 07:30-09:00, sat 10:00-12:00")
    assert windows == (
        Window(WEEKDAYS, 7 * 60 + 30, 9 * 60),
        Window(frozenset({5}), 10 * 60, 12 * 60),
    )
    assert format_windows(windows) == "mon-fri 07:30-09:00, sat 10:00-12:00"
    assert format_windows(windows, "fr") == "lun-ven 07:30-09:00, sam 10:00-12:00"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("lun-ven 7h30-9h; sam 10h-12h", "mon-fri 07:30-09:00, sat 10:00-12:00"),
        ("Mon - Fri 7:30 - 9:00", "mon-fri 07:30-09:00"),
        ("mon wed fri 18:00-19:00", "mon wed fri 18:00-19:00"),
        ("weekend 10-18", "sat-sun 10:00-18:00"),
        ("daily 12:00-13:00", "mon-sun 12:00-13:00"),
        ("fri-mon 20:00-22:00", "mon fri-sun 20:00-22:00"),
        ("samedi 09.15-11.45", "sat 09:15-11:45"),
        ("sun 22:00-24:00", "sun 22:00-24:00"),
        ("sun 22:00-00:00", "sun 22:00-00:00"),
        ("off", ""),
        ("", ""),
    ],
)
def test_windows_in_english_french_and_shorthands(text: str, canonical: str) -> None:
    assert format_windows(parse_windows(text)) == canonical


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("someday 07:00-08:00", "availability.unknown_day"),
        ("mon-xyz 07:00-08:00", "availability.unknown_day"),
        ("mon 25:00-26:00", "availability.bad_time"),
        ("mon 07:60-08:00", "availability.bad_time"),
        ("mon seven-eight", "availability.unknown_day"),
        ("mon 07:00", "availability.bad_time"),
        ("mon 07:00-08:00 09:00-10:00", "availability.bad_time"),
        ("mon 08:00-08:00", "availability.empty_window"),
        ("07:00-08:00", "availability.no_days"),
        ("mon 24:00-02:00", "availability.bad_time"),
    ],
)
def test_unreadable_windows_are_refused_with_the_reason(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_windows(text)
    assert refused.value.message_key == key


def test_times_of_day() -> None:
    assert parse_time_of_day("7") == 420
    assert parse_time_of_day("07:05") == 425
    assert parse_time_of_day("7h05") == 425
    assert parse_time_of_day("24:00", end=True) == 1440
    with pytest.raises(InvalidInput):
        parse_time_of_day("24:00")


def windows(
    *, last_end: int, most: int
) -> st.SearchStrategy[list[tuple[frozenset[int], int, int]]]:
    """Up to ``most`` weekly windows: (days of the week, start minute, end minute)."""
    return st.lists(
        st.tuples(
            st.frozensets(st.integers(0, 6), min_size=1),
            st.integers(0, 1439),
            st.integers(0, last_end),
        ),
        max_size=most,
    )


@given(windows(last_end=1439, most=5))
def test_formatting_then_parsing_gives_the_same_windows(
    raw: list[tuple[frozenset[int], int, int]],
) -> None:
    windows = tuple(dict.fromkeys(Window(d, s, e) for d, s, e in raw if s != e))
    assert parse_windows(format_windows(windows)) == windows
    assert parse_windows(format_windows(windows, "fr")) == windows


# -- windows and quiet hours ----------------------------------------------------------------


def test_a_window_covers_its_days_and_hours_only() -> None:
    rules = Availability(windows=parse_windows("mon-fri 07:30-09:00"), quiet=None)
    assert rules.is_available(paris("2026-01-12 07:30"), PARIS)  # Monday
    assert rules.is_available(paris("2026-01-16 08:59"), PARIS)  # Friday
    assert not rules.is_available(paris("2026-01-12 09:00"), PARIS)  # the end is excluded
    assert not rules.is_available(paris("2026-01-12 07:29"), PARIS)
    assert not rules.is_available(paris("2026-01-17 08:00"), PARIS)  # Saturday


def test_a_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    rules = Availability(windows=parse_windows("fri 22:00-01:00"), quiet=None)
    assert rules.is_available(paris("2026-01-16 23:30"), PARIS)  # Friday night
    assert rules.is_available(paris("2026-01-17 00:30"), PARIS)  # Saturday, small hours
    assert not rules.is_available(paris("2026-01-17 01:00"), PARIS)
    assert not rules.is_available(paris("2026-01-16 00:30"), PARIS)  # Friday small hours
    assert not rules.is_available(paris("2026-01-17 23:30"), PARIS)  # Saturday night


def test_quiet_hours_cross_midnight_and_beat_windows_and_ready() -> None:
    quiet = parse_quiet("22:00-08:00")
    assert quiet == DEFAULT_QUIET
    late = paris("2026-01-12 23:00")
    rules = Availability(
        windows=parse_windows("daily 00:00-24:00"), quiet=quiet, ready_until=late + timedelta(1)
    )
    assert rules.status(paris("2026-01-12 22:00"), PARIS) == "quiet"
    assert rules.status(paris("2026-01-13 03:00"), PARIS) == "quiet"
    assert rules.status(paris("2026-01-13 07:59"), PARIS) == "quiet"
    assert rules.status(paris("2026-01-13 08:00"), PARIS) == "available"
    assert rules.status(paris("2026-01-12 21:59"), PARIS) == "available"
    assert rules.quiet_ends(late, PARIS) == paris("2026-01-13 08:00")
    assert rules.quiet_ends(paris("2026-01-13 03:00"), PARIS) == paris("2026-01-13 08:00")
    assert rules.quiet_ends(paris("2026-01-13 12:00"), PARIS) is None


def test_quiet_hours_within_a_day_and_off() -> None:
    siesta = QuietHours(13 * 60, 15 * 60)
    assert siesta.covers(14 * 60)
    assert not siesta.covers(15 * 60)
    assert parse_quiet("off") is None
    assert parse_quiet("13h-15h") == siesta
    with pytest.raises(InvalidInput):
        parse_quiet("lunchtime")


def test_ready_makes_available_until_it_ends_and_a_pause_wins() -> None:
    now = paris("2026-01-12 14:00")
    rules = Availability(ready_until=now + timedelta(minutes=30))
    assert rules.status(now, PARIS) == "available"
    assert rules.status(now + timedelta(minutes=30), PARIS) == "off"
    paused = Availability(ready_until=now + timedelta(minutes=30), paused=True)
    assert paused.status(now, PARIS) == "paused"
    assert Availability().status(now, PARIS) == "off"  # no window, not ready


def test_windows_are_read_in_the_workers_time_zone() -> None:
    rules = Availability(windows=parse_windows("mon 09:00-10:00"), quiet=None)
    moment = datetime(2026, 1, 12, 14, 30, tzinfo=UTC)  # 15:30 in Paris, 09:30 in Montreal
    assert rules.is_available(moment, MONTREAL)
    assert not rules.is_available(moment, PARIS)


def test_windows_follow_the_wall_clock_across_a_daylight_saving_change() -> None:
    rules = Availability(windows=parse_windows("sun-mon 08:00-09:00"), quiet=None)
    # Paris moves to summer time on Sunday 29 March 2026: 08:30 is 06:30 UTC, not 07:30.
    assert rules.is_available(datetime(2026, 3, 29, 6, 30, tzinfo=UTC), PARIS)
    assert not rules.is_available(datetime(2026, 3, 29, 7, 30, tzinfo=UTC), PARIS)
    assert rules.is_available(datetime(2026, 3, 28, 7, 30, tzinfo=UTC), ZoneInfo("UTC")) is False


def test_next_window_start() -> None:
    rules = Availability(windows=parse_windows("mon-fri 07:30-09:00, sat 10:00-12:00"))
    assert rules.next_window_start(paris("2026-01-16 09:30"), PARIS) == paris("2026-01-17 10:00")
    assert rules.next_window_start(paris("2026-01-17 12:30"), PARIS) == paris("2026-01-19 07:30")
    assert Availability().next_window_start(paris("2026-01-17 12:30"), PARIS) is None


# -- spans: until when the answer holds (stored per worker, migration 0017) -------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_span_ends_where_a_window_or_quiet_hours_or_a_ready_period_turn() -> None:
    rules = Availability(windows=parse_windows("mon-fri 07:30-09:00, sat 10:00-12:00"))
    assert rules.span(paris("2026-01-16 08:00"), PARIS) == (True, paris("2026-01-16 09:00"))
    assert rules.span(paris("2026-01-16 09:00"), PARIS) == (False, paris("2026-01-17 10:00"))
    monday = paris("2026-01-19 08:00")  # the window opens at 07:30, quiet hours end at 08:00
    assert rules.span(paris("2026-01-17 12:30"), PARIS) == (False, monday)
    late = Availability(windows=parse_windows("daily 20:00-24:00"))  # quiet from 22:00
    assert late.span(paris("2026-01-16 21:00:30"), PARIS) == (True, paris("2026-01-16 22:00"))
    assert late.span(paris("2026-01-16 22:00"), PARIS) == (False, paris("2026-01-17 20:00"))
    ready = Availability(ready_until=paris("2026-01-16 14:30:15"))
    assert ready.span(paris("2026-01-16 14:00"), PARIS) == (True, paris("2026-01-16 14:30:15"))
    now = paris("2026-01-16 15:00")
    assert Availability().span(now, PARIS) == (False, now + SPAN_HORIZON)  # nothing turns
    always = Availability(windows=parse_windows("daily 00:00-24:00"), quiet=None)
    assert always.span(now, PARIS) == (True, now + SPAN_HORIZON)


def test_a_span_follows_the_zone_and_the_daylight_saving_jumps() -> None:
    # Paris, Sunday 29 March 2026: 02:00 becomes 03:00 (01:00 UTC); 02:30 never happens, so a
    # 02:30-04:00 window opens at the jump itself.
    spring = Availability(windows=parse_windows("sun 02:30-04:00"), quiet=None)
    assert spring.span(utc("2026-03-28 20:00"), PARIS) == (False, utc("2026-03-29 01:00"))
    assert spring.span(utc("2026-03-29 01:00"), PARIS) == (True, utc("2026-03-29 02:00"))
    # Sunday 25 October 2026: 03:00 becomes 02:00 (01:00 UTC); 02:30-02:45 happens twice.
    autumn = Availability(windows=parse_windows("sun 02:30-02:45"), quiet=None)
    assert autumn.span(utc("2026-10-24 20:00"), PARIS) == (False, utc("2026-10-25 00:30"))
    assert autumn.span(utc("2026-10-25 00:30"), PARIS) == (True, utc("2026-10-25 00:45"))
    assert autumn.span(utc("2026-10-25 00:45"), PARIS) == (False, utc("2026-10-25 01:30"))
    assert autumn.span(utc("2026-10-25 01:30"), PARIS) == (True, utc("2026-10-25 01:45"))
    # The same rules in another zone turn at other instants.
    assert spring.span(utc("2026-03-28 20:00"), MONTREAL) == (False, utc("2026-03-29 06:30"))


@given(
    windows(last_end=1440, most=3),
    st.sampled_from(["22:00-08:00", "02:15-02:45", "off"]),
    st.sampled_from(["Europe/Paris", "America/Montreal", "Australia/Lord_Howe", "Asia/Kolkata"]),
    st.integers(0, 4 * 24 * 3600),
    st.integers(-3600, 12 * 3600) | st.none(),
)
@settings(max_examples=50, deadline=None)  # a loaded machine must not fail it
def test_a_span_holds_until_its_end_and_no_longer(
    raw: list[tuple[frozenset[int], int, int]],
    quiet: str,
    zone_name: str,
    seconds: int,
    ready: int | None,
) -> None:
    """Against every minute of the wall clock (up to a day), around daylight saving jumps."""
    now = utc("2026-03-27 00:00") + timedelta(seconds=seconds)
    rules = Availability(
        windows=tuple(Window(d, s, e) for d, s, e in raw if s != e % 1440),
        quiet=parse_quiet(quiet),
        ready_until=None if ready is None else now + timedelta(seconds=ready),
    )
    zone = ZoneInfo(zone_name)
    available, until = rules.span(now, zone)
    assert available == rules.is_available(now, zone)
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    checked = [moment + timedelta(minutes=n) for n in range(24 * 60)]
    if rules.ready_until is not None:
        checked.append(rules.ready_until)
    assert all(rules.is_available(m, zone) == available for m in checked if now < m < until)
    if until < now + SPAN_HORIZON:
        assert rules.is_available(until, zone) != available


# -- small helpers ----------------------------------------------------------------------------


def test_ready_minutes() -> None:
    assert parse_ready_minutes([]) == 30
    assert parse_ready_minutes(["45"]) == 45
    assert parse_ready_minutes(["90min"]) == 90
    for bad in (["0"], ["721"], ["soon"], ["-5"]):
        with pytest.raises(InvalidInput) as refused:
            parse_ready_minutes(bad)
        assert refused.value.message_key == "availability.ready_usage"


def test_preset_buttons_toggle_their_windows() -> None:
    mornings = parse_windows("mon-fri 07:30-09:00")
    weekend = parse_windows("sat-sun 10:00-18:00")
    both = toggle_windows(mornings, weekend)
    assert both == mornings + weekend
    assert toggle_windows(both, mornings) == weekend
    assert toggle_windows((), ()) == ()
