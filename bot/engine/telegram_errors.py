"""Engine room, Telegram's expected errors, handled where they happen (never the global handler).

A press answered too late ("query is too old"), an edit that would change nothing ("message is
not modified"), a message deleted meanwhile ("message to edit not found"): each is a normal day
under load and is logged at INFO where it happens. A worker who blocked the bot (403) is the
caller's to handle (the worker becomes unreachable). Telegram out of reach (a timeout, a 5xx, a
429; ``unreachable``) is logged at WARNING, never as an error: a press's confirmation is then
given up (never tried again: after a timeout it may have arrived), and what the press decided
is still queued.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

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


def unreachable(error: BaseException) -> bool:
    """True when Telegram could not be reached or asked to wait: a timeout (the call may have
    taken effect), a 5xx, a 429. Not a refusal (``BadRequest``, ``Forbidden``)."""
    if isinstance(error, BadRequest | Forbidden):
        return False
    return isinstance(error, NetworkError | RetryAfter)


async def answer_query(query: CallbackQuery, text: str | None = None, alert: bool = False) -> bool:
    """Answer a press (the spinner stops); False when it could not be: too old, or Telegram out
    of reach. Never raised: the caller goes on to queue what the press decided (a next task
    already claimed must not be left waiting unsent)."""
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except BadRequest as error:
        if not expected(error):
            raise
        log.info("press %s not answered: %s", query.id, error.message)
        return False
    except (NetworkError, RetryAfter) as error:
        log.warning("press %s not confirmed, Telegram out of reach: %s", query.id, error)
        return False
    return True
