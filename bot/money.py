"""Money as integer minor units (cents): strict parsing of typed amounts."""

from __future__ import annotations

import re

from bot.errors import InvalidInput

_AMOUNT = re.compile(r"^(?P<units>[0-9]{1,9})(?:[.,](?P<cents>[0-9]{1,2}))?$")
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}


def parse_amount(text: str, currency: str = "EUR") -> int:
    """Parse a positive amount such as ``12.5``, ``12,50`` or ``12.50 EUR`` into cents.

    Refuses negatives, zero, more than two decimals, thousands separators and anything that is
    not a number, raising ``InvalidInput`` with the message key ``money.invalid``.
    """
    cleaned = text.strip()
    for marker in (currency.upper(), currency.lower(), _SYMBOLS.get(currency.upper(), "")):
        if marker and cleaned.endswith(marker):
            cleaned = cleaned[: -len(marker)].strip()
        elif marker and cleaned.startswith(marker):
            cleaned = cleaned[len(marker) :].strip()
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise InvalidInput("money.invalid", text=text)
    cents = int(match["units"]) * 100 + int((match["cents"] or "0").ljust(2, "0"))
    if cents <= 0:
        raise InvalidInput("money.not_positive", text=text)
    return cents
