"""Small helpers shared by the handler modules: replying, buttons, parsing callback data."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.errors import InvalidInput

# Callback data is "PREFIX arg arg", at most 64 bytes (STYLE.md 6).
MAX_CALLBACK_BYTES = 64


def callback(prefix: str, *args: object) -> str:
    """Build callback data ``"PREFIX arg arg"``, refusing anything over Telegram's 64 bytes."""
    data = " ".join([prefix, *(str(arg) for arg in args)])
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def callback_args(update: Update, prefix: str, count: int) -> list[str]:
    """The arguments of ``"PREFIX a b"`` callback data; ``InvalidInput`` if malformed or forged."""
    query = update.callback_query
    parts = (query.data or "").split(" ") if query is not None else []
    if len(parts) != count + 1 or parts[0] != prefix:
        raise InvalidInput("error.bad_button")
    return parts[1:]


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of ``(text, callback_data)``."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def message_of(update: Update) -> Message:
    """The message an update is about (the sent message, or the one a button was on)."""
    message = update.effective_message
    if message is None:
        raise ValueError("update carries no message")
    return message
