"""Housekeeping end to end (issue 12, item 8): update ids older than a week are forgotten by a
daily job that also runs at start, while the ones of the last week still stop a redelivery; a
``/bonus`` is keyed by its chat and message."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FixedClock
from bot.config import Settings
from sandbox import SandboxServer
from storage.db import Database, to_db_time
from tests.conftest import sql_rows
from tests.e2e.harness import db_of, eventually, running_bot


async def test_old_update_ids_are_pruned_at_start_and_daily(
    sandbox: SandboxServer, settings: Settings, clock: FixedClock
) -> None:
    db = await Database.open(settings.database_path)
    await db.migrate()
    now = clock.now()
    async with db.write() as tx:
        for update_id, age in ((1, timedelta(days=8)), (2, timedelta(days=6))):
            await tx.execute(
                "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?)",
                (update_id, to_db_time(now - age)),
            )
    await db.close()

    async with running_bot(settings, clock=clock) as app:
        assert app.job_queue is not None
        (job,) = app.job_queue.get_jobs_by_name("prune-updates")
        assert job.job.trigger.interval == timedelta(days=1)

        async def pruned() -> bool:
            rows = await sql_rows(db_of(app), "SELECT update_id FROM processed_updates")
            return 1 not in {row[0] for row in rows}

        assert await eventually(pruned)
        rows = await sql_rows(db_of(app), "SELECT update_id FROM processed_updates")
        assert 2 in {row[0] for row in rows}  # a week's ids are kept
        ana = sandbox.user(1401, first_name="Ana", language_code="en")
        await ana.send_command("/start")
        assert (await ana.next_message()).text
