"""Domain room of button data (no Telegram): ``"PREFIX arg arg"``, at most 64 bytes (STYLE 6)."""

from __future__ import annotations

from bot.errors import InvalidInput

MAX_CALLBACK_BYTES = 64


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


def numeric_args(args: list[str]) -> list[int]:
    """Ids carried by a button (positive 64-bit integers); ``InvalidInput`` if forged."""
    if not all(arg.isdigit() and len(arg) < 19 for arg in args):
        raise InvalidInput("error.bad_button")
    return [int(arg) for arg in args]
