"""Grouped admin alerts (bot/engine/alerts.py): one per kind per window, then the count, through
the outbox at the lowest priority."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.clock import FixedClock
from bot.config import Settings
from bot.context import Services
from bot.engine.alerts import AdminAlerts
from bot.engine.budget import Limits
from bot.engine.outbox import Outbox
from bot.i18n import Catalogue
from storage.db import Database
from storage.users import sync_configured_roles
from tests.conftest import ADMIN_ID


async def test_errors_of_one_kind_make_one_alert_then_one_count(
    db: Database, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    services = Services()
    services.configure(make_settings(), Catalogue.load(), clock)
    services.db = db
    await db.run_write(
        sync_configured_roles, admin_ids=[ADMIN_ID], requester_ids=[], now=clock.now()
    )
    outbox = Outbox(Limits(per_second=1000, per_chat_per_second=1000, burst=10, chat_burst=10))
    outbox.start()
    sent: list[tuple[int, str]] = []

    async def send(chat_id: int, text: str) -> None:
        sent.append((chat_id, text))

    alerts = AdminAlerts(services, outbox, send, window=0.3)
    for n in range(50):  # a storm of one kind: "query is too old" unhandled, say
        alerts.report("BadRequest", f"R{n}")
    alerts.report("KeyError", "K1")
    for _ in range(200):  # a bound (10 s) for a loaded machine, not a timing
        if len([chat for chat, _ in sent if chat == ADMIN_ID]) >= 3:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.35)  # one window more: nothing else comes
    await outbox.stop()
    texts = [text for chat, text in sent if chat == ADMIN_ID]
    assert len(texts) == 3, texts
    assert "R0" in texts[0]
    assert "BadRequest" in texts[0]
    assert any("K1" in text and "KeyError" in text for text in texts)
    grouped = [text for text in texts if "49 more errors" in text]
    assert len(grouped) == 1
    assert "R49" in grouped[0]
