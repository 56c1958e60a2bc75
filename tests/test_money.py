"""Strict parsing of typed amounts into cents."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.money import parse_amount


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12.5", 1250), ("12,50", 1250), ("12.50 EUR", 1250), ("12", 1200), ("0.01", 1), ("€3", 300)],
)
def test_accepted_amounts(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    "text", ["-5", "0", "0.00", "12.345", "twelve", "", "1,000.00", "12.5 USD", "1e3", "12."]
)
def test_refused_amounts(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(text)
