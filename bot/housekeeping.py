"""Domain rules of housekeeping: what the bot forgets on its own, and when."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database
from storage.users import prune_processed_updates

UPDATES_KEPT = timedelta(days=7)
"""Update ids are kept a week: Telegram redelivers an unconfirmed update within hours, never
after days, so older ids only fill the table."""

PRUNE_EVERY = timedelta(days=1)


async def prune_updates(db: Database, now: datetime) -> int:
    """Drop the ids of updates handled more than ``UPDATES_KEPT`` ago; how many went."""
    return await db.run_write(prune_processed_updates, now - UPDATES_KEPT)
