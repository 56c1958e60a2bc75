"""Engine room, the bot's rate limiter (python-telegram-bot's ``BaseRateLimiter``): the outbox's
budget counts every call that carries a ``chat_id``.

Calls made by an outbox delivery were counted when the outbox started them. A call made
anywhere else (a handler's direct reply to the user's own command) waits only for its own chat's
pace (about one a second: that user's updates are handled in order anyway, nobody else waits)
and is charged to the overall budget, so later deliveries leave room for it. Every such call
then waits for its turn on the wire (``Outbox.wire_turn``: the same budget, kept when the call
really goes out); a 429 on any call
makes the whole outbox rest for ``retry_after``, and a direct reply is tried again after it.
``answerCallbackQuery`` carries no ``chat_id`` and Telegram
does not count it: it always goes at once. This replaces PTB's ``AIORateLimiter``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.engine.outbox import IN_DELIVERY, Outbox, retry_seconds

DIRECT_TRIES = 3  # a direct reply refused with 429 is tried again after retry_after


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
        direct = isinstance(chat_id, int) and not IN_DELIVERY.get()
        for attempt in range(DIRECT_TRIES):
            if direct:
                await self.outbox.direct_turn(chat_id)  # type: ignore[arg-type]
            if isinstance(chat_id, int):
                await self.outbox.wire_turn(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if not direct or attempt == DIRECT_TRIES - 1:
                    raise  # a delivery's 429 is the outbox's own to handle
                seconds = retry_seconds(error)
                self.outbox.rest(seconds)
                await asyncio.sleep(seconds)
        raise AssertionError("unreachable")
