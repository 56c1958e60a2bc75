"""Domain room of ids and button data (no Telegram): ``"PREFIX arg arg"``, at most 64 bytes
(STYLE 6), and the one parser of ids and whole numbers typed or carried by a button.

Ids are ASCII digits only: ``str.isdigit()`` accepts ``²`` (which ``int()`` refuses) and ``int()``
accepts ``٣`` (Arabic-Indic three); neither is an id here.
"""

from __future__ import annotations

from typing import Any

from bot.errors import InvalidInput

MAX_CALLBACK_BYTES = 64
MAX_ID_DIGITS = 18  # below 2**63: fits SQLite's INTEGER and Telegram's ids


def callback(prefix: str, *args: object) -> str:
    """Build callback data ``"PREFIX arg arg"``, refusing anything over Telegram's 64 bytes."""
    data = " ".join([prefix, *(str(arg) for arg in args)])
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def split_callback(data: str | None, prefix: str, count: int) -> list[str]:
    """The arguments of ``"PREFIX a b"``; ``InvalidInput`` if malformed or forged."""
    parts = (data or "").split(" ") if data is not None else []
    if len(parts) != count + 1 or parts[0] != prefix:
        raise InvalidInput("error.bad_button")
    return parts[1:]


def ascii_digits(text: str) -> bool:
    """True for a non-empty run of ``0``-``9`` and nothing else (no ``²``, no ``٣``)."""
    return bool(text) and text.isascii() and text.isdigit()


def parse_id(text: str, key: str = "error.bad_id", **params: Any) -> int:
    """A positive id of ASCII digits (at most 18), an optional leading ``#`` allowed;
    ``InvalidInput(key, **params)`` otherwise."""
    raw = text.strip().removeprefix("#")
    if not ascii_digits(raw) or len(raw) > MAX_ID_DIGITS or int(raw) == 0:
        raise InvalidInput(key, **params)
    return int(raw)


def parse_whole(text: str, low: int, high: int, key: str, **params: Any) -> int:
    """A whole number of ASCII digits within ``[low, high]``; ``InvalidInput`` otherwise."""
    raw = text.strip()
    if not ascii_digits(raw) or len(raw) > MAX_ID_DIGITS or not low <= int(raw) <= high:
        raise InvalidInput(key, **params)
    return int(raw)


def numeric_args(args: list[str]) -> list[int]:
    """Ids and indexes carried by a button (ASCII digits, below 2**63); ``InvalidInput`` if
    forged."""
    return [parse_whole(arg, 0, 10**MAX_ID_DIGITS - 1, "error.bad_button") for arg in args]
