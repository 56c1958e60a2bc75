"""Concurrent credits on a real SQLite file: the cap check and the insert cannot interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.errors import CapExceeded
from bot.ledger import Posted, balance, credit_reward, remaining_cap, worker_account
from storage.db import Database
from tests.conftest_ledger import CAP, PARIS, WORKER, checked_database, fund_batch, paris

AT = paris("2026-03-15 12:00:00")
DIME = 10


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A worker with 249.80 earned in March 2026 (cap 250.00) and money left in escrow."""
    async with checked_database(tmp_path / "concurrency.db") as database:
        await fund_batch(database, batch_id=1, amount=30_000, now=AT)
        await credit(database, assignment_id=0, amount=CAP - 20)
        yield database


async def credit(database: Database, *, assignment_id: int, amount: int = DIME) -> Posted:
    return await database.run_write(
        credit_reward,
        batch_id=1,
        worker_id=WORKER,
        assignment_id=assignment_id,
        amount=amount,
        at=AT,
        tz=PARIS,
        cap=CAP,
    )


async def fire(
    databases: list[Database], assignment_ids: list[int]
) -> list[Posted | BaseException]:
    """Credit one dime per assignment, all at once, spreading the calls over the databases."""
    calls = [
        credit(databases[n % len(databases)], assignment_id=assignment_id)
        for n, assignment_id in enumerate(assignment_ids)
    ]
    return await asyncio.gather(*calls, return_exceptions=True)


async def assert_exactly_two_credited(db: Database, outcomes: list[Posted | BaseException]) -> None:
    credited = [o for o in outcomes if isinstance(o, Posted) and o.created]
    refused = [o for o in outcomes if isinstance(o, CapExceeded)]
    assert (len(credited), len(refused)) == (2, 48)
    assert {o.params["month"] for o in refused} == {"2026-03"}
    assert await balance(db, worker_account(WORKER)) == CAP
    assert await remaining_cap(db, WORKER, "2026-03", CAP) == 0


async def test_fifty_dimes_at_one_database_credit_exactly_two(db: Database) -> None:
    outcomes = await fire([db], list(range(1, 51)))
    await assert_exactly_two_credited(db, outcomes)


async def open_more(stack: AsyncExitStack, path: Path | str, count: int) -> list[Database]:
    """Open ``count`` more Database objects on one file, as other processes would."""
    databases = []
    for _ in range(count):
        database = await Database.open(path)
        stack.push_async_callback(database.close)
        databases.append(database)
    return databases


async def test_fifty_dimes_across_three_databases_credit_exactly_two(db: Database) -> None:
    async with AsyncExitStack() as stack:
        others = await open_more(stack, db.source, 2)
        outcomes = await fire([db, *others], list(range(1, 51)))
    await assert_exactly_two_credited(db, outcomes)


async def test_one_answer_credited_from_three_databases_at_once_pays_once(db: Database) -> None:
    async with AsyncExitStack() as stack:
        others = await open_more(stack, db.source, 2)
        outcomes = await fire([db, *others], [77] * 9)
    assert sorted(isinstance(o, Posted) and o.created for o in outcomes) == [False] * 8 + [True]
    assert await balance(db, worker_account(WORKER)) == CAP - 20 + DIME
