"""Engine room, the bot's rate limiter (python-telegram-bot's ``BaseRateLimiter``): the outbox's
budget counts every call that carries a ``chat_id``.

Calls made by an outbox delivery were counted when the outbox started them. A call made
anywhere else (a handler's direct reply to the user's own command) is charged to the same budget
without waiting, so later deliveries leave room for it; a 429 on any call makes the whole
outbox rest for ``retry_after``. ``answerCallbackQuery`` carries no ``chat_id`` and Telegram
does not count it: it always goes at once. This replaces PTB's ``AIORateLimiter``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.engine.outbox import IN_DELIVERY, Outbox, retry_seconds


class OutboxLimiter(BaseRateLimiter[int]):
    """Counts direct calls against the outbox's budget; tells the outbox about every 429."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def initialize(self) -> None:
        """Nothing to open: the outbox is started in ``post_init``."""

    async def shutdown(self) -> None:
        """Nothing to close: the outbox is stopped in ``post_stop``."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat_id = data.get("chat_id")
        if isinstance(chat_id, int) and not IN_DELIVERY.get():
            self.outbox.charge(chat_id)
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            if not IN_DELIVERY.get():  # a delivery's 429 is the outbox's own to handle
                self.outbox.rest(retry_seconds(error))
            raise
