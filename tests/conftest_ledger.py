"""Helpers shared by the ledger, month and payout tests: Paris time, a checked database, funding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.ledger import hold_for_batch, top_up
from bot.payouts import check_invariants
from storage.db import Database
from tests.conftest import migrated_file

PARIS = ZoneInfo("Europe/Paris")
CAP = 25_000
ADMIN = 9001
REQUESTER = 7001
WORKER = 5001


def paris(text: str) -> datetime:
    """A wall-clock time in Paris, ``"2026-03-31 23:59:59"``, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@asynccontextmanager
async def checked_database(path: Path) -> AsyncIterator[Database]:
    """A migrated database that must pass ``check_invariants`` when the scenario ends."""
    database = await Database.open(migrated_file(path))
    try:
        await database.migrate()
        yield database
        assert await check_invariants(database, tz=PARIS, cap=CAP) == []
    finally:
        await database.close()


async def fund_batch(
    db: Database,
    *,
    batch_id: int,
    amount: int,
    now: datetime,
    requester_id: int = REQUESTER,
) -> None:
    """Top a requester up by ``amount`` and hold all of it for a batch."""
    await top_up(
        db,
        requester_id=requester_id,
        amount=amount,
        actor_id=ADMIN,
        key=f"topup:fund:{batch_id}",
        now=now,
        tz=PARIS,
    )
    await db.run_write(
        hold_for_batch,
        requester_id=requester_id,
        batch_id=batch_id,
        amount=amount,
        actor_id=requester_id,
        now=now,
        tz=PARIS,
    )
