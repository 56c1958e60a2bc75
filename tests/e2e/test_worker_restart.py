"""`python -m bot` killed hard (SIGKILL) with a task on screen, then started again.

The deadline lives in the database, so the restarted bot re-arms it and expires the task at its
time; the answer given before the kill stays paid once, whatever Telegram delivers again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ledger import balance, worker_account
from bot.payouts import check_invariants
from sandbox import SandboxServer
from storage.assignments import active_assignment_of, assignments_of_worker
from storage.db import Database
from storage.ledger import transfer_by_key
from tests.builders import PARIS, publish_batch, register_worker
from tests.e2e.processes import bot_process, process_environment

pytestmark = pytest.mark.long  # tens of seconds: collected first (tests/conftest.py)

WORKER = 1101


async def recorded(path: Path, message_id: int) -> None:
    """Wait until the bot has stored the task message of the worker's active assignment."""
    db = await Database.open(path)
    try:
        for _ in range(200):  # a generous bound (10 s), not a timing
            active = await db.run_read(active_assignment_of, WORKER)
            if active is not None and active.message_id == message_id:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the bot never recorded the task message")
    finally:
        await db.close()


async def test_a_killed_bot_restarts_its_timers_and_pays_nothing_twice(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = process_environment(sandbox, tmp_path)
    db = await Database.open(tmp_path / "process.db")
    try:
        await db.migrate()
        now = datetime.now(UTC)
        await register_worker(db, WORKER, now, first_name="Ana")
        await publish_batch(
            db, tmp_path / "data", now, items=1, answers_per_item=1, time_limit=45, title="First"
        )
        await publish_batch(
            db, tmp_path / "data", now, items=1, answers_per_item=1, time_limit=8, title="Second"
        )
    finally:
        await db.close()
    ana = sandbox.user(WORKER, first_name="Ana", language_code="en")

    async with bot_process(env, tmp_path, "first") as first:
        await ana.send_command("/task")  # outside any window: one task on request
        answered = await ana.next_message(timeout=30)
        assert "First" in (answered.text or "")
        assert "credited" in ((await ana.press("car", message=answered)).text or "")
        pressed = sandbox.last_update_id
        await ana.next_message(timeout=10)  # the task shows how it ended
        await ana.send_command("/task")
        pending = await ana.next_message(timeout=10)
        assert "Second" in (pending.text or "")
        await recorded(tmp_path / "process.db", pending.message_id)  # the task is fully active
        first.kill()  # SIGKILL: no shutdown, no confirmation of the last updates
        await first.wait()

    async with bot_process(env, tmp_path, "second"):
        sandbox.duplicate_update(pressed)  # the answer's update, delivered again
        replay = await ana.press_data(
            answered.button_data("car"), message=answered.message_id, timeout=30
        )
        assert (replay.text or "").startswith("You already answered")
        expired = await ana.next_message(timeout=30)
        assert expired.is_edit
        assert expired.message_id == pending.message_id
        assert "time is up" in (expired.text or "")
        await ana.expect_no_message(within=1.0)

    db = await Database.open(tmp_path / "process.db")
    try:
        done, timed_out = await db.run_read(assignments_of_worker, WORKER)
        assert (done.state, timed_out.state) == ("submitted", "expired")
        assert timed_out.deadline is not None
        assert timed_out.ended_at is not None
        assert timed_out.ended_at >= timed_out.deadline  # never before its time
        transfer = await db.run_read(transfer_by_key, f"answer:{done.id}")
        assert transfer is not None
        assert await db.run_read(transfer_by_key, f"answer:{timed_out.id}") is None
        assert await balance(db, worker_account(WORKER)) == transfer.amount == 4
        assert await check_invariants(db, tz=PARIS, cap=25_000) == []
    finally:
        await db.close()
