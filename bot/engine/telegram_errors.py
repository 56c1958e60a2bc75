"""Engine room, Telegram's expected errors, handled where they happen (never the global handler).

A press answered too late ("query is too old"), an edit that would change nothing ("message is
not modified"), a message deleted meanwhile ("message to edit not found"): each is a normal day
under load and is logged at INFO where it happens. A worker who blocked the bot (403) is the
caller's to handle (the worker becomes unreachable).
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery
from telegram.error import BadRequest

log = logging.getLogger(__name__)

EXPECTED = (
    "query is too old",
    "query id is invalid",
    "message is not modified",
    "message to edit not found",
    "message can't be edited",
    "message to be replied not found",
)


def expected(error: BaseException) -> bool:
    """True for a ``BadRequest`` Telegram sends on a normal day (see ``EXPECTED``)."""
    if not isinstance(error, BadRequest):
        return False
    text = error.message.lower()
    return any(phrase in text for phrase in EXPECTED)


async def answer_query(query: CallbackQuery, text: str | None = None, alert: bool = False) -> bool:
    """Answer a press (the spinner stops); False when Telegram says it is too old to answer."""
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except BadRequest as error:
        if not expected(error):
            raise
        log.info("press %s not answered: %s", query.id, error.message)
        return False
    return True
