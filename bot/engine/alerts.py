"""Engine room, admin alerts: unexpected errors told to the admins, grouped per kind.

The first error of a kind is told at once; the same kind within the next few minutes is only
counted, and one message with the count follows when the window closes. Alerts go through the
outbox at the lowest priority, so they never take a worker's message from the budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.context import Services
from bot.engine.outbox import Outbox, Priority
from bot.people import find_user, ids_with_role

log = logging.getLogger(__name__)

WINDOW = 300.0  # seconds during which errors of one kind are only counted


@dataclass
class _Window:
    until: float
    count: int = 0
    reference: str = ""


class AdminAlerts:
    """Grouped alerts to the admins: one per kind per window, then the count."""

    def __init__(
        self,
        services: Services,
        outbox: Outbox,
        send: Callable[[int, str], Awaitable[object]],
        window: float = WINDOW,
    ) -> None:
        self._services = services
        self._outbox = outbox
        self._send = send  # (chat id, text) -> awaitable: the bot's send_message
        self.window = window
        self._kinds: dict[str, _Window] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.told = 0

    def report(self, kind: str, reference: str) -> None:
        """Count one unexpected error; tell the admins if it is the first of its kind lately."""
        now = time.monotonic()
        current = self._kinds.get(kind)
        if current is not None and now < current.until:
            current.count += 1
            current.reference = reference
            return
        self._kinds[kind] = _Window(until=now + self.window)
        self._spawn(kind, reference, 1)
        asyncio.get_running_loop().call_later(self.window, self._close, kind)

    def _close(self, kind: str) -> None:
        window = self._kinds.pop(kind, None)
        if window is not None and window.count:
            self._spawn(kind, window.reference, window.count)

    def _spawn(self, kind: str, reference: str, count: int) -> None:
        task = asyncio.get_running_loop().create_task(self._tell(kind, reference, count))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, kind: str, reference: str, count: int) -> None:
        services = self._services
        try:
            admins = await ids_with_role(services.db, "admin")
        except Exception:
            log.warning("cannot list admins to report %s", reference, exc_info=True)
            return
        for admin_id in admins:
            admin = await find_user(services.db, admin_id)
            t = services.translator(admin.language if admin else "en")
            if count == 1:
                text = t("error.admin_report", reference=reference, kind=kind)
            else:
                text = t(
                    "crowd.admin_alert_grouped",
                    count=count,
                    kind=kind,
                    minutes=round(self.window / 60),
                    reference=reference,
                )
            self.told += 1
            self._outbox.submit(
                admin_id, _delivery(self._send, admin_id, text), Priority.ALERT, what="alert"
            )


def _delivery(
    send: Callable[[int, str], Awaitable[object]], admin_id: int, text: str
) -> Callable[[], Awaitable[None]]:
    async def deliver() -> None:
        try:
            await send(admin_id, text)
        except Forbidden:
            log.info("admin %s blocked the bot; alert not delivered", admin_id)
        except RetryAfter:
            raise  # the outbox rests and tries again
        except TelegramError as error:
            log.warning("alert to admin %s not delivered: %s", admin_id, error)

    return deliver
