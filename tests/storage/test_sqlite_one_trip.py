"""Storage, the SQLite backend's whole transactions on the connection's thread: one trip each,
urgent ones first, a use case that suspends run again the ordinary way, errors rolled back."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from bot.errors import InvalidInput
from storage.db import Database, Tx, WriteTx, urgent
from tests.conftest import sql_value, sqlite_only

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
pytestmark = sqlite_only


async def _note(tx: WriteTx, name: str, order: list[str]) -> None:
    order.append(name)
    await tx.execute("INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?)",
                     (len(order), name))  # fmt: skip


async def _hold_thread(tx: WriteTx, started: threading.Event, release: threading.Event) -> str:
    """Keeps the writer's thread busy (a plain blocking wait: this runs on that thread)."""
    started.set()
    release.wait(timeout=10)
    return threading.current_thread().name


async def test_a_transaction_runs_whole_on_the_writer_thread_and_commits(db: Database) -> None:
    started, release = threading.Event(), threading.Event()
    release.set()
    thread = await db.run_write(_hold_thread, started, release)
    assert thread != threading.current_thread().name
    order: list[str] = []
    await db.run_write(_note, "one", order)
    assert await sql_value(db, "SELECT count(*) FROM processed_updates") == 1


async def test_urgent_writes_go_before_writes_already_waiting(db: Database) -> None:
    started, release = threading.Event(), threading.Event()
    order: list[str] = []
    busy = asyncio.ensure_future(db.run_write(_hold_thread, started, release))
    await asyncio.to_thread(started.wait, 10)
    waiting = [asyncio.ensure_future(db.run_write(_note, f"claim {n}", order)) for n in range(3)]
    await asyncio.sleep(0)  # the claims are queued behind the busy thread
    with urgent():
        press = asyncio.ensure_future(db.run_write(_note, "press", order))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(busy, press, *waiting)
    assert order == ["press", "claim 0", "claim 1", "claim 2"]


async def test_a_write_block_after_queued_transactions_sees_them(db: Database) -> None:
    order: list[str] = []
    queued = [asyncio.ensure_future(db.run_write(_note, f"t{n}", order)) for n in range(5)]
    await asyncio.sleep(0)
    async with db.write() as tx:
        seen = await tx.fetch_value("SELECT count(*) FROM processed_updates")
    await asyncio.gather(*queued)
    assert seen == 5


async def _suspends(tx: WriteTx, order: list[str], update_id: int) -> int:
    await tx.execute(
        "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, 'x')", (update_id,)
    )
    order.append("before")
    await asyncio.sleep(0)  # awaits more than SQLite: cannot run whole on the thread
    order.append("after")
    value = await tx.fetch_value("SELECT count(*) FROM processed_updates")
    assert isinstance(value, int)
    return value


async def test_a_use_case_that_suspends_is_rolled_back_and_run_by_trips(db: Database) -> None:
    order: list[str] = []
    assert await db.run_write(_suspends, order, 1) == 1
    assert order == ["before", "before", "after"]  # the first run stopped at its await
    assert await db.run_write(_suspends, order, 2) == 2  # known now: by trips at once
    assert order[3:] == ["before", "after"]


async def _fails(tx: WriteTx) -> None:
    await tx.execute("INSERT INTO processed_updates (update_id, processed_at) VALUES (7, 'x')")
    raise InvalidInput("tasks.refused.expired")


async def _count(tx: Tx) -> object:
    return await tx.fetch_value("SELECT count(*) FROM processed_updates")


async def test_an_error_rolls_the_transaction_back_and_reaches_the_caller(db: Database) -> None:
    with pytest.raises(InvalidInput):
        await db.run_write(_fails)
    assert await db.run_read(_count) == 0
    order: list[str] = []
    await db.run_write(_note, "after the error", order)  # the writer is usable again
    assert await db.run_read(_count) == 1
