"""Calendar months in TIMEZONE: boundaries, daylight-saving nights, and the cap's local reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.errors import CapExceeded, InvalidInput
from bot.ledger import (
    cap_resets_on,
    credit_reward,
    current_month,
    month_bounds,
    month_of,
    next_month,
    parse_month,
    previous_month,
    remaining_cap,
)
from storage.db import Database
from tests.conftest_ledger import CAP, PARIS, WORKER, checked_database, fund_batch, paris


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database whose invariants are checked when the test ends."""
    async with checked_database(tmp_path / "months.db") as database:
        yield database


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        (paris("2026-03-31 23:59:59"), "2026-03"),
        (paris("2026-04-01 00:00:01"), "2026-04"),
        # 31 March 2024 is the last Sunday of March: clocks went 02:00 -> 03:00 that night.
        (paris("2024-03-31 23:59:59"), "2024-03"),
        (paris("2024-04-01 00:00:01"), "2024-04"),
        (utc("2024-03-31 21:59:59"), "2024-03"),
        (utc("2024-03-31 22:00:01"), "2024-04"),  # still 31 March in UTC, April in Paris
        # 31 October 2027 is the last Sunday of October: clocks went 03:00 -> 02:00 that night.
        (paris("2027-10-31 23:59:59"), "2027-10"),
        (paris("2027-11-01 00:00:01"), "2027-11"),
        (utc("2027-10-31 22:59:59"), "2027-10"),
        (utc("2027-10-31 23:00:01"), "2027-11"),
        # The hour that happens twice, and the hour that never happens, stay in their month.
        (paris("2026-10-25 02:30:00").replace(fold=0), "2026-10"),
        (paris("2026-10-25 02:30:00").replace(fold=1), "2026-10"),
        (utc("2026-03-29 01:00:01"), "2026-03"),
        (paris("2026-12-31 23:59:59"), "2026-12"),
        (paris("2027-01-01 00:00:01"), "2027-01"),
    ],
)
def test_an_instant_falls_in_the_month_of_the_paris_wall_clock(
    moment: datetime, month: str
) -> None:
    assert month_of(moment, PARIS) == month
    assert current_month(moment, PARIS) == month


def test_a_naive_time_has_no_month() -> None:
    with pytest.raises(ValueError, match="aware"):
        month_of(datetime(2026, 3, 1), PARIS)


@pytest.mark.parametrize(
    ("month", "start", "end"),
    [
        ("2026-01", "2025-12-31 23:00:00", "2026-01-31 23:00:00"),
        ("2024-03", "2024-02-29 23:00:00", "2024-03-31 22:00:00"),  # a 31-day month minus 1 h
        ("2027-10", "2027-09-30 22:00:00", "2027-10-31 23:00:00"),  # a 31-day month plus 1 h
    ],
)
def test_month_bounds_are_local_midnights_in_utc(month: str, start: str, end: str) -> None:
    assert month_bounds(month, PARIS) == (utc(start), utc(end))
    first, after = month_bounds(month, PARIS)
    assert month_of(first, PARIS) == month
    assert month_of(after, PARIS) == next_month(month)


@pytest.mark.parametrize("text", ["2026-03", " 2026-12 ", "1970-01"])
def test_months_are_typed_as_year_dash_month(text: str) -> None:
    assert parse_month(text) == text.strip()


@pytest.mark.parametrize(
    "text",
    ["2026-3", "2026-13", "2026-00", "26-03", "2026-03-01", "2026/03", "march", "", "0001-01"],
)
def test_anything_else_is_not_a_month(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_month(text)
    assert refused.value.message_key == "month.invalid"


def test_months_follow_each_other_across_years() -> None:
    assert (next_month("2026-12"), next_month("2026-01")) == ("2027-01", "2026-02")
    assert (previous_month("2027-01"), previous_month("2026-10")) == ("2026-12", "2026-09")
    assert cap_resets_on("2024-03") == date(2024, 4, 1)
    assert cap_resets_on("2026-12") == date(2027, 1, 1)


async def credit(db: Database, assignment_id: int, amount: int, at: datetime) -> str:
    """Credit a reward and return the month it was booked in."""
    posted = await db.run_write(
        credit_reward,
        batch_id=1,
        worker_id=WORKER,
        assignment_id=assignment_id,
        amount=amount,
        at=at,
        tz=PARIS,
        cap=CAP,
    )
    return posted.transfer.month


async def test_credits_either_side_of_midnight_are_booked_in_their_month(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=1000, now=paris("2024-03-01 10:00:00"))
    moments = [
        paris("2024-03-31 23:59:59"),
        paris("2024-04-01 00:00:01"),
        paris("2027-10-31 23:59:59"),
        paris("2027-11-01 00:00:01"),
    ]
    months = [await credit(db, n, 10, moment) for n, moment in enumerate(moments, start=1)]
    assert months == ["2024-03", "2024-04", "2027-10", "2027-11"]
    for month in ("2024-03", "2024-04", "2027-10", "2027-11"):
        assert await remaining_cap(db, WORKER, month, CAP) == CAP - 10


async def test_the_cap_resets_once_at_local_midnight_not_at_utc_midnight(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=2 * CAP, now=paris("2024-03-01 10:00:00"))
    await credit(db, 1, CAP, paris("2024-03-15 12:00:00"))
    assert await remaining_cap(db, WORKER, "2024-03", CAP) == 0

    with pytest.raises(CapExceeded) as refused:
        await credit(db, 2, 10, paris("2024-03-31 23:59:59"))
    assert refused.value.params == {
        "month": "2024-03",
        "cap": CAP,
        "earned": CAP,
        "amount": 10,
        "remaining": 0,
        "resets_at": date(2024, 4, 1),
    }

    # 00:00:01 on 1 April in Paris is 22:00:01 on 31 March in UTC: the cap has reset.
    assert await credit(db, 3, 10, paris("2024-04-01 00:00:01")) == "2024-04"
    assert await credit(db, 4, CAP - 10, paris("2024-04-01 01:00:00")) == "2024-04"
    # UTC midnight comes two hours later; it is still April in Paris, and April is full.
    with pytest.raises(CapExceeded) as again:
        await credit(db, 5, 10, utc("2024-04-01 00:00:01"))
    assert again.value.params["month"] == "2024-04"
    assert await remaining_cap(db, WORKER, "2024-04", CAP) == 0
