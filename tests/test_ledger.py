"""The ledger as stories: budgets, holds, rewards, refunds, corrections, keys and history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import CapExceeded, InsufficientFunds, InvalidInput, LedgerError, StorageError
from bot.ledger import (
    BANK,
    Account,
    balance,
    correct,
    credit_reward,
    escrow_account,
    grant_bonus,
    hold_for_batch,
    parse_account,
    release_remainder,
    requester_account,
    requester_summary,
    top_up,
    worker_account,
    worker_earnings,
)
from bot.payouts import approve, check_invariants, close_month, mark_paid
from storage.audit import audit_entries
from storage.db import Database
from tests.conftest import INTEGRITY_ERRORS, sql_rows, sql_value
from tests.conftest_ledger import (
    ADMIN,
    CAP,
    PARIS,
    REQUESTER,
    WORKER,
    checked_database,
    fund_batch,
    paris,
)

NOW = paris("2026-03-10 09:00:00")
OTHER_WORKER = 5002
REQUESTER_ACCOUNT = requester_account(REQUESTER)
ESCROW = escrow_account(1)
WORKER_ACCOUNT = worker_account(WORKER)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database whose invariants are checked when the test ends."""
    async with checked_database(tmp_path / "ledger.db") as database:
        yield database


async def assert_balances(db: Database, expected: dict[str, int]) -> None:
    """Every listed account has its balance, every other account is at zero, all sums to 0."""
    assert {account: await balance(db, account) for account in expected} == expected
    rows = await sql_rows(
        db, "SELECT account, sum(amount) FROM entries GROUP BY account HAVING sum(amount) <> 0"
    )
    assert {row[0]: row[1] for row in rows} == {k: v for k, v in expected.items() if v}
    assert await sql_value(db, "SELECT coalesce(sum(amount), 0) FROM entries") == 0


async def reward(db: Database, assignment_id: int, amount: int, worker_id: int = WORKER) -> bool:
    posted = await db.run_write(
        credit_reward,
        batch_id=1,
        worker_id=worker_id,
        assignment_id=assignment_id,
        amount=amount,
        at=NOW,
        tz=PARIS,
        cap=CAP,
    )
    return posted.created


async def test_the_life_of_fifty_euros(db: Database) -> None:
    await assert_balances(db, {BANK: 0, REQUESTER_ACCOUNT: 0})

    await top_up(
        db, requester_id=REQUESTER, amount=5000, actor_id=ADMIN, key="topup:1", now=NOW, tz=PARIS
    )
    await assert_balances(db, {BANK: -5000, REQUESTER_ACCOUNT: 5000})

    await db.run_write(
        hold_for_batch,
        requester_id=REQUESTER,
        batch_id=1,
        amount=3000,
        actor_id=REQUESTER,
        now=NOW,
        tz=PARIS,
    )
    await assert_balances(db, {BANK: -5000, REQUESTER_ACCOUNT: 2000, ESCROW: 3000})

    for assignment_id in (11, 12, 13):
        assert await reward(db, assignment_id, 40)
    assert await reward(db, 14, 40, worker_id=OTHER_WORKER)
    await assert_balances(
        db,
        {
            BANK: -5000,
            REQUESTER_ACCOUNT: 2000,
            ESCROW: 2840,
            WORKER_ACCOUNT: 120,
            worker_account(OTHER_WORKER): 40,
        },
    )

    refund = await db.run_write(release_remainder, batch_id=1, actor_id=None, now=NOW, tz=PARIS)
    assert refund is not None
    assert (refund.transfer.amount, refund.transfer.key) == (2840, "refund:batch:1:1")
    await assert_balances(
        db,
        {
            BANK: -5000,
            REQUESTER_ACCOUNT: 4840,
            ESCROW: 0,
            WORKER_ACCOUNT: 120,
            worker_account(OTHER_WORKER): 40,
        },
    )

    april = paris("2026-04-01 00:05:00")
    closed = await close_month(db, "2026-03", now=april, tz=PARIS, actor_id=None)
    assert [(s.worker_id, s.amount, s.state) for s in closed.created] == [
        (WORKER, 120, "pending"),
        (OTHER_WORKER, 40, "pending"),
    ]
    mine = closed.created[0]
    await approve(db, mine.id, actor_id=ADMIN, now=april)
    paid = await mark_paid(db, mine.id, reference="SEPA-001", actor_id=ADMIN, now=april, tz=PARIS)
    assert paid.statement.state == "paid"
    await assert_balances(
        db,
        {
            BANK: -4880,
            REQUESTER_ACCOUNT: 4840,
            ESCROW: 0,
            WORKER_ACCOUNT: 0,
            worker_account(OTHER_WORKER): 40,
        },
    )


async def test_a_repeated_top_up_key_changes_nothing(db: Database) -> None:
    first = await top_up(
        db, requester_id=REQUESTER, amount=1250, actor_id=ADMIN, key="topup:42", now=NOW, tz=PARIS
    )
    again = await top_up(
        db, requester_id=REQUESTER, amount=1250, actor_id=ADMIN, key="topup:42", now=NOW, tz=PARIS
    )
    assert first.created
    assert not again.created
    assert again.transfer == first.transfer
    await assert_balances(db, {BANK: -1250, REQUESTER_ACCOUNT: 1250})
    assert [entry["action"] for entry in await db.run_read(audit_entries)] == ["ledger.topup"]


async def test_the_same_key_for_other_money_is_refused(db: Database) -> None:
    await top_up(
        db, requester_id=REQUESTER, amount=1250, actor_id=ADMIN, key="topup:42", now=NOW, tz=PARIS
    )
    with pytest.raises(LedgerError) as refused:
        await top_up(
            db,
            requester_id=REQUESTER,
            amount=999,
            actor_id=ADMIN,
            key="topup:42",
            now=NOW,
            tz=PARIS,
        )
    assert (refused.value.message_key, refused.value.params) == (
        "ledger.key_conflict",
        {"key": "topup:42"},
    )
    await assert_balances(db, {BANK: -1250, REQUESTER_ACCOUNT: 1250})


async def test_a_repeated_answer_is_credited_once_even_at_the_cap(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=CAP, now=NOW)
    assert await reward(db, 1, CAP)
    assert not await reward(db, 1, CAP)  # a replay: limits are not checked again
    await assert_balances(db, {BANK: -CAP, ESCROW: 0, WORKER_ACCOUNT: CAP})


async def test_a_hold_above_the_budget_is_refused_and_nothing_moves(db: Database) -> None:
    await top_up(
        db, requester_id=REQUESTER, amount=1000, actor_id=ADMIN, key="topup:1", now=NOW, tz=PARIS
    )
    with pytest.raises(InsufficientFunds) as refused:
        await db.run_write(
            hold_for_batch,
            requester_id=REQUESTER,
            batch_id=1,
            amount=1001,
            actor_id=None,
            now=NOW,
            tz=PARIS,
        )
    assert refused.value.params == {"account": REQUESTER_ACCOUNT, "balance": 1000, "amount": 1001}
    await assert_balances(db, {BANK: -1000, REQUESTER_ACCOUNT: 1000})


async def test_a_reward_beyond_the_escrow_is_refused(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=50, now=NOW)
    assert await reward(db, 1, 40)
    with pytest.raises(InsufficientFunds):
        await reward(db, 2, 40)
    await assert_balances(db, {BANK: -50, ESCROW: 10, WORKER_ACCOUNT: 40})


async def test_amounts_must_be_positive_whole_cents(db: Database) -> None:
    for amount in (0, -5):
        with pytest.raises(InvalidInput):
            await top_up(
                db, requester_id=1, amount=amount, actor_id=ADMIN, key="k", now=NOW, tz=PARIS
            )
    await assert_balances(db, {BANK: 0})


async def test_a_correction_is_a_new_transfer_and_history_stays(db: Database) -> None:
    await top_up(
        db, requester_id=REQUESTER, amount=5000, actor_id=ADMIN, key="topup:1", now=NOW, tz=PARIS
    )
    fix = await correct(
        db,
        debit_account=REQUESTER_ACCOUNT,
        credit_account=BANK,
        amount=4500,
        reason="typed 50.00 instead of 5.00",
        actor_id=ADMIN,
        key="correction:1",
        now=NOW,
        tz=PARIS,
    )
    assert (fix.transfer.kind, fix.transfer.memo) == ("correction", "typed 50.00 instead of 5.00")
    await assert_balances(db, {BANK: -500, REQUESTER_ACCOUNT: 500})
    kinds = await sql_rows(db, "SELECT kind, amount FROM transfers ORDER BY id")
    assert [tuple(row) for row in kinds] == [("topup", 5000), ("correction", 4500)]
    assert [e["action"] for e in await db.run_read(audit_entries)] == [
        "ledger.correction",
        "ledger.topup",
    ]


async def test_a_correction_needs_a_reason_and_real_accounts(db: Database) -> None:
    with pytest.raises(InvalidInput, match=r"ledger\.reason_missing"):
        await correct(
            db,
            debit_account=BANK,
            credit_account=REQUESTER_ACCOUNT,
            amount=1,
            reason="  ",
            actor_id=ADMIN,
            key="c",
            now=NOW,
            tz=PARIS,
        )
    with pytest.raises(InvalidInput, match=r"ledger\.bad_account"):
        await correct(
            db,
            debit_account="bank:2",
            credit_account=REQUESTER_ACCOUNT,
            amount=1,
            reason="x",
            actor_id=ADMIN,
            key="c",
            now=NOW,
            tz=PARIS,
        )


async def test_a_correction_cannot_take_a_worker_below_zero(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=100, now=NOW)
    await reward(db, 1, 60)
    with pytest.raises(InsufficientFunds):
        await correct(
            db,
            debit_account=WORKER_ACCOUNT,
            credit_account=ESCROW,
            amount=61,
            reason="too much",
            actor_id=ADMIN,
            key="c",
            now=NOW,
            tz=PARIS,
        )
    await assert_balances(db, {BANK: -100, ESCROW: 40, WORKER_ACCOUNT: 60})


async def test_transfers_and_entries_cannot_be_edited_or_deleted(db: Database) -> None:
    await top_up(
        db, requester_id=REQUESTER, amount=5000, actor_id=ADMIN, key="topup:1", now=NOW, tz=PARIS
    )
    for statement in (
        "UPDATE transfers SET amount = 1",
        "DELETE FROM transfers",
        "UPDATE entries SET amount = 1",
        "DELETE FROM entries",
        "INSERT INTO entries (transfer_id, account, amount) VALUES (1, 'worker:1', 1)",
    ):
        with pytest.raises(INTEGRITY_ERRORS, match=r"append-only|two legs"):
            async with db.write() as conn:
                await conn.execute(statement)
    await assert_balances(db, {BANK: -5000, REQUESTER_ACCOUNT: 5000})


async def test_each_kind_moves_money_along_its_route_only(db: Database) -> None:
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)check"):
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO transfers (kind, amount, debit_account, credit_account,"
                " idempotency_key, month, created_at)"
                " VALUES ('topup', 1, 'worker:1', 'requester:1', 'x', '2026-03', 'now')"
            )


async def test_a_hold_commits_or_rolls_back_with_the_callers_transaction(db: Database) -> None:
    await top_up(
        db, requester_id=REQUESTER, amount=5000, actor_id=ADMIN, key="topup:1", now=NOW, tz=PARIS
    )

    async def publish_then_fail() -> None:
        async with db.write() as conn:
            await hold_for_batch(
                conn, requester_id=REQUESTER, batch_id=1, amount=3000, actor_id=1, now=NOW, tz=PARIS
            )
            raise RuntimeError("publishing failed")

    with pytest.raises(RuntimeError, match="publishing failed"):
        await publish_then_fail()
    await assert_balances(db, {BANK: -5000, REQUESTER_ACCOUNT: 5000})

    async with db.write() as conn:
        await hold_for_batch(
            conn, requester_id=REQUESTER, batch_id=1, amount=3000, actor_id=1, now=NOW, tz=PARIS
        )
    await assert_balances(db, {BANK: -5000, REQUESTER_ACCOUNT: 2000, ESCROW: 3000})


async def test_a_refused_reward_leaves_the_callers_transaction_usable(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=100, now=NOW)
    async with db.write() as conn:
        with pytest.raises(InsufficientFunds):
            await credit_reward(
                conn,
                batch_id=1,
                worker_id=WORKER,
                assignment_id=1,
                amount=500,
                at=NOW,
                tz=PARIS,
                cap=CAP,
            )
        await credit_reward(
            conn,
            batch_id=1,
            worker_id=WORKER,
            assignment_id=2,
            amount=100,
            at=NOW,
            tz=PARIS,
            cap=CAP,
        )
    await assert_balances(db, {BANK: -100, ESCROW: 0, WORKER_ACCOUNT: 100})


async def test_a_connection_outside_a_transaction_is_refused(db: Database) -> None:
    async with db.write() as conn:
        pass
    with pytest.raises(StorageError):
        await hold_for_batch(
            conn, requester_id=REQUESTER, batch_id=1, amount=1, actor_id=1, now=NOW, tz=PARIS
        )


async def test_a_batch_releases_only_what_is_left_and_numbers_its_releases(db: Database) -> None:
    assert (
        await db.run_write(release_remainder, batch_id=1, actor_id=None, now=NOW, tz=PARIS) is None
    )
    await fund_batch(db, batch_id=1, amount=1000, now=NOW)
    await reward(db, 1, 300)
    first = await db.run_write(release_remainder, batch_id=1, actor_id=REQUESTER, now=NOW, tz=PARIS)
    assert first is not None
    assert first.transfer.amount == 700
    assert (
        await db.run_write(release_remainder, batch_id=1, actor_id=REQUESTER, now=NOW, tz=PARIS)
        is None
    )
    await correct(
        db,
        debit_account=REQUESTER_ACCOUNT,
        credit_account=ESCROW,
        amount=200,
        reason="reopened",
        actor_id=ADMIN,
        key="c:1",
        now=NOW,
        tz=PARIS,
    )
    second = await db.run_write(
        release_remainder, batch_id=1, actor_id=REQUESTER, now=NOW, tz=PARIS
    )
    assert second is not None
    assert (second.transfer.key, second.transfer.amount) == ("refund:batch:1:2", 200)
    await assert_balances(db, {BANK: -1000, REQUESTER_ACCOUNT: 700, WORKER_ACCOUNT: 300})


async def test_a_bonus_counts_as_earnings_under_the_cap(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=30_000, now=NOW)
    await reward(db, 1, CAP - 100)
    await top_up(
        db, requester_id=REQUESTER, amount=500, actor_id=ADMIN, key="topup:2", now=NOW, tz=PARIS
    )

    async def bonus(amount: int, key: str) -> None:
        await db.run_write(
            grant_bonus,
            from_account=REQUESTER_ACCOUNT,
            worker_id=WORKER,
            amount=amount,
            key=key,
            actor_id=REQUESTER,
            at=NOW,
            tz=PARIS,
            cap=CAP,
        )

    await bonus(100, "bonus:1")
    with pytest.raises(CapExceeded):
        await bonus(1, "bonus:2")
    await assert_balances(
        db, {BANK: -30_500, REQUESTER_ACCOUNT: 400, ESCROW: 5100, WORKER_ACCOUNT: CAP}
    )


async def test_a_requester_sees_budget_escrow_and_last_transfers(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=3000, now=NOW)
    await top_up(
        db, requester_id=REQUESTER, amount=2000, actor_id=ADMIN, key="topup:2", now=NOW, tz=PARIS
    )
    await db.run_write(
        hold_for_batch,
        requester_id=REQUESTER,
        batch_id=2,
        amount=500,
        actor_id=None,
        now=NOW,
        tz=PARIS,
    )
    await reward(db, 1, 40)
    summary = await requester_summary(db, REQUESTER, recent=2)
    assert (summary.balance, summary.held) == (1500, 3460)
    assert [(e.batch_id, e.amount) for e in summary.escrows] == [(1, 2960), (2, 500)]
    assert [t.signed_for(summary.account) for t in summary.recent] == [-500, 2000]


async def test_a_worker_sees_month_cap_reset_statement_and_credits(db: Database) -> None:
    await fund_batch(db, batch_id=1, amount=1000, now=NOW)
    await reward(db, 1, 40)
    april = paris("2026-04-02 10:00:00")
    await close_month(db, "2026-03", now=april, tz=PARIS, actor_id=ADMIN)
    await db.run_write(
        credit_reward,
        batch_id=1,
        worker_id=WORKER,
        assignment_id=2,
        amount=25,
        at=april,
        tz=PARIS,
        cap=CAP,
    )
    earnings = await worker_earnings(db, WORKER, now=april, tz=PARIS, cap=CAP)
    assert (earnings.month, earnings.earned, earnings.remaining) == ("2026-04", 25, CAP - 25)
    assert (earnings.resets_on.isoformat(), earnings.balance) == ("2026-05-01", 65)
    assert earnings.last_statement is not None
    assert (earnings.last_statement.amount, earnings.last_statement.state) == (40, "pending")
    assert [t.amount for t in earnings.recent_credits] == [25, 40]


def test_accounts_parse_strictly() -> None:
    assert parse_account("bank") == Account("bank", None)
    assert parse_account("escrow:batch:12") == Account("escrow", 12)
    assert parse_account(worker_account(5)) == Account("worker", 5)
    for bad in ("Bank", "worker:", "worker:-1", "escrow:12", "requester:1 ", "user:1"):
        with pytest.raises(InvalidInput):
            parse_account(bad)


async def test_the_health_check_names_what_is_broken(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "broken.db")
    try:
        await database.migrate()
        async with database.write() as conn:
            await conn.execute(
                "INSERT INTO transfers (kind, amount, debit_account, credit_account,"
                " idempotency_key, month, created_at) VALUES"
                " ('reward', 30000, 'escrow:batch:1', 'worker:1', 'k', '2026-02',"
                " '2026-03-10T08:00:00.000000Z')"
            )
            await conn.execute(
                "INSERT INTO entries (transfer_id, account, amount) VALUES (1, 'worker:1', 30000)"
            )
        problems = await check_invariants(database, tz=PARIS, cap=CAP)
    finally:
        await database.close()
    assert problems == [
        "transfer 1: legs are not -amount and +amount",
        "kind reward: legs sum to 30000, not 0",
        "worker:1: earned 30000 in 2026-02, above the cap 25000",
        "transfer 1: month 2026-02 but created in 2026-03",
    ]
