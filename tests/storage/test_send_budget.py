"""The per-bot budgets shared by processes: a token bucket of messages, file_ids per bot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import FixedClock
from bot.send_budget import SharedBudget
from storage.db import Database
from storage.send_budget import cached_file_id, remember_bot_file_id
from tests.builders import NOW, publish_batch

BOT, OTHER_BOT = 123456, 654321


async def test_processes_of_one_bot_share_its_budget(db: Database) -> None:
    clock = FixedClock(NOW)
    second = await Database.open(db.source)  # another process on the same database
    try:
        first_process = SharedBudget(db, BOT, clock, rate=10, burst=5)
        second_process = SharedBudget(second, BOT, clock, rate=10, burst=5)
        other_bot = SharedBudget(second, OTHER_BOT, clock, rate=10, burst=5)
        assert await first_process.try_take(3) == (3, 0.0)
        assert await second_process.try_take(3) == (2, 0.0)  # the same bucket: 2 were left
        granted, wait = await second_process.try_take(1)
        assert granted == 0
        assert abs(wait - 0.1) < 1e-9  # one message comes back every 1/rate seconds
        assert await other_bot.try_take(5) == (5, 0.0)  # another token, its own budget
        clock.advance(timedelta(seconds=0.35))
        assert await first_process.try_take(5) == (3, 0.0)
        clock.advance(timedelta(seconds=60))
        assert await first_process.try_take(50) == (5, 0.0)  # never more than the burst
    finally:
        await second.close()


async def test_concurrent_takes_from_three_processes_never_exceed_the_bucket(
    db: Database,
) -> None:
    clock = FixedClock(NOW)  # time stands still: only the burst is there to take
    others = [await Database.open(db.source) for _ in range(2)]
    try:
        budgets = [SharedBudget(d, BOT, clock, rate=30, burst=10) for d in (db, *others)]
        grants = await asyncio.gather(*(budgets[n % 3].try_take(1) for n in range(40)))
        assert sum(granted for granted, _ in grants) == 10
    finally:
        for other in others:
            await other.close()


async def test_a_file_id_is_kept_per_bot(db: Database, tmp_path) -> None:
    await publish_batch(db, tmp_path / "data", NOW, items=1)
    async with db.read() as tx:
        sha256 = await tx.fetch_value("SELECT sha256 FROM media LIMIT 1")
    await db.run_write(remember_bot_file_id, sha256, BOT, "first-bot-id", NOW)
    await db.run_write(remember_bot_file_id, sha256, BOT, "a-later-upload", NOW)
    assert await db.run_read(cached_file_id, sha256, BOT) == "first-bot-id"
    assert await db.run_read(cached_file_id, sha256, OTHER_BOT) is None
