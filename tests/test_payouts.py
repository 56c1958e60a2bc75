"""Monthly statements: closing months once, catching up, review steps, double taps, CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import IllegalTransition, InsufficientFunds, InvalidInput, LedgerError, NotFound
from bot.ledger import balance, correct, credit_reward, escrow_account, worker_account
from bot.payouts import (
    PAGE_SIZE,
    Statement,
    Step,
    approve,
    approve_page,
    awaiting_page,
    catch_up_closes,
    close_month,
    close_previous_month,
    export_csv,
    get_statement,
    hold,
    mark_paid,
    statement_for,
    statement_history,
    statements_awaiting,
    statements_for_month,
)
from storage.audit import audit_entries
from storage.db import Database
from storage.users import touch_user
from tests.conftest import sql_rows, sql_value
from tests.conftest_ledger import ADMIN, CAP, PARIS, WORKER, checked_database, fund_batch, paris

MARCH = paris("2026-03-10 09:00:00")
APRIL = paris("2026-04-01 00:05:00")
OTHER_WORKER = 5002
_assignments = iter(range(1, 10_000))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database with a funded batch 1; its invariants are checked at the end."""
    async with checked_database(tmp_path / "payouts.db") as database:
        await fund_batch(database, batch_id=1, amount=100_000, now=paris("2026-01-01 09:00:00"))
        yield database


async def earn(db: Database, amount: int, at: datetime, worker_id: int = WORKER) -> None:
    await db.run_write(
        credit_reward,
        batch_id=1,
        worker_id=worker_id,
        assignment_id=next(_assignments),
        amount=amount,
        at=at,
        tz=PARIS,
        cap=CAP,
    )


async def march_statement(db: Database, amount: int = 120) -> Statement:
    """One pending statement of ``amount`` for March, closed on 1 April."""
    await earn(db, amount, MARCH)
    closed = await close_month(db, "2026-03", now=APRIL, tz=PARIS, actor_id=ADMIN)
    return closed.created[0]


async def test_closing_a_month_twice_creates_nothing_new(db: Database) -> None:
    await earn(db, 100, MARCH)
    await earn(db, 20, paris("2026-03-31 23:59:59"))
    await earn(db, 40, MARCH, worker_id=OTHER_WORKER)
    await earn(db, 7, paris("2026-04-01 00:00:01"))  # April: not in March's statement
    first = await close_month(db, "2026-03", now=APRIL, tz=PARIS, actor_id=ADMIN)
    assert first.first_close
    assert [(s.worker_id, s.month, s.amount) for s in first.created] == [
        (WORKER, "2026-03", 120),
        (OTHER_WORKER, "2026-03", 40),
    ]
    assert first.total == 160
    again = await close_month(db, "2026-03", now=APRIL + timedelta(days=1), tz=PARIS, actor_id=1)
    assert (again.first_close, again.created) == (False, [])
    assert len(await statements_for_month(db, "2026-03")) == 2
    assert await sql_value(db, "SELECT count(*) FROM month_closes") == 1
    assert [e["action"] for e in await db.run_read(audit_entries)] == [
        "payouts.close",
        "ledger.topup",
    ]


@pytest.mark.parametrize("month", ["2026-04", "2026-05", "2030-01"])
async def test_the_running_or_a_future_month_cannot_be_closed(db: Database, month: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await close_month(db, month, now=APRIL, tz=PARIS, actor_id=ADMIN)
    assert refused.value.message_key == "payouts.month_not_ended"
    assert await sql_value(db, "SELECT count(*) FROM month_closes") == 0


async def test_march_cannot_close_before_midnight_in_paris(db: Database) -> None:
    with pytest.raises(InvalidInput):
        await close_month(db, "2026-03", now=paris("2026-03-31 23:59:59"), tz=PARIS, actor_id=1)
    closed = await close_month(
        db, "2026-03", now=paris("2026-04-01 00:00:00"), tz=PARIS, actor_id=ADMIN
    )
    assert closed.first_close


async def test_a_closed_month_takes_no_more_earnings(db: Database) -> None:
    await march_statement(db)
    with pytest.raises(LedgerError) as refused:
        await earn(db, 10, paris("2026-03-31 23:00:00"))
    assert (refused.value.message_key, refused.value.params) == (
        "ledger.month_closed",
        {"month": "2026-03"},
    )


async def test_a_missed_close_is_caught_up_once_at_start(db: Database) -> None:
    await earn(db, 100, paris("2026-01-20 10:00:00"))
    await earn(db, 50, paris("2026-02-03 10:00:00"), worker_id=OTHER_WORKER)
    await earn(db, 30, MARCH)  # the running month at start: not closed
    start = paris("2026-03-12 08:00:00")
    closes = await catch_up_closes(db, start, PARIS)
    assert [(c.month, [(s.worker_id, s.amount) for s in c.created]) for c in closes] == [
        ("2026-01", [(WORKER, 100)]),
        ("2026-02", [(OTHER_WORKER, 50)]),
    ]
    assert await catch_up_closes(db, start + timedelta(minutes=5), PARIS) == []
    scheduled = await close_previous_month(db, now=APRIL, tz=PARIS)
    assert (scheduled.month, [s.amount for s in scheduled.created]) == ("2026-03", [30])
    assert await catch_up_closes(db, APRIL, PARIS) == []


async def test_approve_then_pay_records_who_when_and_one_payout(db: Database) -> None:
    statement = await march_statement(db)
    approved = await approve(db, statement.id, actor_id=ADMIN, now=APRIL)
    assert (approved.changed, approved.previous_state) == (True, "pending")
    assert (approved.statement.approved_by, approved.statement.approved_at) == (ADMIN, APRIL)

    later = APRIL + timedelta(days=2)
    paid = await mark_paid(
        db, statement.id, reference="VIR-2026-04", actor_id=7, now=later, tz=PARIS
    )
    assert paid.changed
    assert (paid.statement.state, paid.statement.reference) == ("paid", "VIR-2026-04")
    assert (paid.statement.paid_by, paid.statement.paid_at) == (7, later)
    payouts = await sql_rows(db, "SELECT * FROM transfers WHERE kind = 'payout'")
    assert [(p["idempotency_key"], p["amount"], p["debit_account"]) for p in payouts] == [
        (f"payout:{statement.id}", 120, worker_account(WORKER))
    ]
    assert paid.statement.payout_transfer_id == payouts[0]["id"]
    assert await balance(db, worker_account(WORKER)) == 0
    history = await statement_history(db, statement.id)
    assert [(e.from_state, e.to_state, e.actor_id, e.detail) for e in history] == [
        (None, "pending", None, ""),
        ("pending", "approved", ADMIN, ""),
        ("approved", "paid", 7, "VIR-2026-04"),
    ]
    assert [e["action"] for e in await db.run_read(audit_entries)][:2] == [
        "payouts.paid",
        "payouts.approved",
    ]


async def test_a_double_tap_changes_nothing_and_says_so(db: Database) -> None:
    statement = await march_statement(db)
    await approve(db, statement.id, actor_id=ADMIN, now=APRIL)
    again = await approve(db, statement.id, actor_id=ADMIN, now=APRIL + timedelta(seconds=1))
    assert (again.changed, again.statement.state, again.statement.approved_at) == (
        False,
        "approved",
        APRIL,
    )
    taps = [
        mark_paid(db, statement.id, reference="VIR-1", actor_id=ADMIN, now=APRIL, tz=PARIS)
        for _ in range(2)
    ]
    steps = await asyncio.gather(*taps)
    assert sorted(step.changed for step in steps) == [False, True]
    assert await sql_value(db, "SELECT count(*) FROM transfers WHERE kind = 'payout'") == 1
    assert len(await statement_history(db, statement.id)) == 3


async def test_a_hold_keeps_its_reason_and_can_be_lifted(db: Database) -> None:
    statement = await march_statement(db)
    held = await hold(db, statement.id, reason="  answers look random  ", actor_id=ADMIN, now=APRIL)
    assert (held.statement.state, held.statement.hold_reason) == ("held", "answers look random")
    assert (held.statement.held_by, held.statement.held_at) == (ADMIN, APRIL)
    assert not (await hold(db, statement.id, reason="again", actor_id=1, now=APRIL)).changed
    with pytest.raises(IllegalTransition) as refused:
        await mark_paid(db, statement.id, reference="VIR-1", actor_id=ADMIN, now=APRIL, tz=PARIS)
    assert refused.value.params == {"state": "held", "wanted": "paid", "statement_id": statement.id}
    lifted = await approve(db, statement.id, actor_id=ADMIN, now=APRIL)
    assert (lifted.changed, lifted.previous_state, lifted.statement.state) == (
        True,
        "held",
        "approved",
    )
    rehold = await hold(db, statement.id, reason="bank details wrong", actor_id=ADMIN, now=APRIL)
    assert (rehold.previous_state, rehold.statement.hold_reason) == (
        "approved",
        "bank details wrong",
    )


async def test_illegal_steps_are_refused_and_change_nothing(db: Database) -> None:
    statement = await march_statement(db)
    with pytest.raises(IllegalTransition):
        await mark_paid(db, statement.id, reference="VIR-1", actor_id=ADMIN, now=APRIL, tz=PARIS)
    await approve(db, statement.id, actor_id=ADMIN, now=APRIL)
    await mark_paid(db, statement.id, reference="VIR-1", actor_id=ADMIN, now=APRIL, tz=PARIS)
    steps: list[Callable[[], Awaitable[Step]]] = [
        lambda: approve(db, statement.id, actor_id=ADMIN, now=APRIL),
        lambda: hold(db, statement.id, reason="late", actor_id=ADMIN, now=APRIL),
        lambda: mark_paid(db, statement.id, reference="VIR-2", actor_id=ADMIN, now=APRIL, tz=PARIS),
    ]
    for step in steps:
        with pytest.raises(IllegalTransition) as refused:
            await step()
        assert refused.value.params["state"] == "paid"
    after = await get_statement(db, statement.id)
    assert (after.state, after.reference) == ("paid", "VIR-1")
    assert await sql_value(db, "SELECT count(*) FROM transfers WHERE kind = 'payout'") == 1


async def test_steps_need_a_reason_a_reference_and_a_real_statement(db: Database) -> None:
    statement = await march_statement(db)
    with pytest.raises(InvalidInput, match=r"payouts\.reason_missing"):
        await hold(db, statement.id, reason=" ", actor_id=ADMIN, now=APRIL)
    await approve(db, statement.id, actor_id=ADMIN, now=APRIL)
    with pytest.raises(InvalidInput, match=r"payouts\.reference_missing"):
        await mark_paid(db, statement.id, reference="", actor_id=ADMIN, now=APRIL, tz=PARIS)
    with pytest.raises(NotFound):
        await approve(db, 999, actor_id=ADMIN, now=APRIL)


async def test_a_payout_cannot_exceed_what_the_worker_holds(db: Database) -> None:
    statement = await march_statement(db)
    await correct(
        db,
        debit_account=worker_account(WORKER),
        credit_account=escrow_account(1),
        amount=100,
        reason="duplicate answer",
        actor_id=ADMIN,
        key="correction:1",
        now=APRIL,
        tz=PARIS,
    )
    await approve(db, statement.id, actor_id=ADMIN, now=APRIL)
    with pytest.raises(InsufficientFunds):
        await mark_paid(db, statement.id, reference="VIR-1", actor_id=ADMIN, now=APRIL, tz=PARIS)
    assert (await get_statement(db, statement.id)).state == "approved"


async def test_lists_for_the_payouts_screen(db: Database) -> None:
    await earn(db, 10, MARCH, worker_id=1)
    await earn(db, 20, MARCH, worker_id=2)
    await earn(db, 30, MARCH, worker_id=3)
    await earn(db, 40, MARCH, worker_id=4)
    created = (await close_month(db, "2026-03", now=APRIL, tz=PARIS, actor_id=ADMIN)).created
    await hold(db, created[1].id, reason="check", actor_id=ADMIN, now=APRIL)
    await approve(db, created[2].id, actor_id=ADMIN, now=APRIL)
    await approve(db, created[3].id, actor_id=ADMIN, now=APRIL)
    await mark_paid(db, created[3].id, reference="R", actor_id=ADMIN, now=APRIL, tz=PARIS)
    awaiting = await statements_awaiting(db)
    assert [(s.worker_id, s.state) for s in awaiting] == [
        (1, "pending"),
        (2, "held"),
        (3, "approved"),
    ]
    assert len(await statements_for_month(db, "2026-03")) == 4
    found = await statement_for(db, 4, "2026-03")
    assert found is not None
    assert found.state == "paid"
    assert await statement_for(db, 4, "2026-02") is None


async def test_pages_of_the_payouts_screen_and_approving_a_page(db: Database) -> None:
    workers = list(range(1, PAGE_SIZE + 4))  # a page and three more
    for worker_id in workers:
        await earn(db, 10 * worker_id, MARCH, worker_id=worker_id)
    created = (await close_month(db, "2026-03", now=APRIL, tz=PARIS, actor_id=None)).created
    first = await awaiting_page(db, 0)
    assert (first.number, first.pages, first.total) == (0, 2, len(workers))
    assert [s.id for s in first.statements] == [s.id for s in created[:PAGE_SIZE]]
    last = await awaiting_page(db, 99)  # past the end: the last page
    assert (last.number, [s.worker_id for s in last.statements]) == (1, workers[PAGE_SIZE:])

    # Worker 1 is the admin (four-eyes), worker 2 is held, worker 3 approved already.
    await hold(db, created[1].id, reason="check", actor_id=ADMIN, now=APRIL)
    await approve(db, created[2].id, actor_id=ADMIN, now=APRIL)
    id_range = first.id_range
    assert id_range is not None
    done = await approve_page(db, *id_range, actor_id=1, now=APRIL)
    assert [s.id for s in done.approved] == [s.id for s in created[3:PAGE_SIZE]]
    skipped = ([created[0].id], [created[1].id], [created[2].id])
    assert (done.own, done.held, done.already) == skipped
    assert all(s.state == "approved" and s.approved_by == 1 for s in done.approved)
    again = await approve_page(db, *id_range, actor_id=1, now=APRIL)
    assert (again.approved, again.skipped) == ([], PAGE_SIZE)
    assert (await get_statement(db, created[PAGE_SIZE].id)).state == "pending"  # next page
    with pytest.raises(InvalidInput):  # wider than a page: not a button of /payouts
        await approve_page(db, created[0].id, created[-1].id, actor_id=1, now=APRIL)
    with pytest.raises(InvalidInput):
        await approve_page(db, id_range[1], id_range[0], actor_id=1, now=APRIL)


async def test_the_export_escapes_formulas_and_names_come_from_users(db: Database) -> None:
    names = {
        1: '=HYPERLINK("http://x")',
        2: "+33 6 12",
        3: "-Lou",
        4: "@bob",
        5: "\tTabby",
        6: "Zoé",
    }
    for worker_id, name in names.items():
        await db.run_write(
            touch_user, user_id=worker_id, first_name=name, username=None, language="fr", now=MARCH
        )
        await earn(db, 1000 + worker_id, MARCH, worker_id=worker_id)
    await earn(db, 5, MARCH, worker_id=7)  # never wrote to the bot: no name
    created = (await close_month(db, "2026-03", now=APRIL, tz=PARIS, actor_id=ADMIN)).created
    await approve(db, created[0].id, actor_id=ADMIN, now=APRIL)
    await mark_paid(db, created[0].id, reference="=1+1", actor_id=ADMIN, now=APRIL, tz=PARIS)

    rows = list(csv.reader(io.StringIO(export_csv(await statements_for_month(db, "2026-03")))))
    assert rows == [
        ["worker_id", "name", "month", "amount", "state", "reference"],
        ["1", '\'=HYPERLINK("http://x")', "2026-03", "10.01", "paid", "'=1+1"],
        ["2", "'+33 6 12", "2026-03", "10.02", "pending", ""],
        ["3", "'-Lou", "2026-03", "10.03", "pending", ""],
        ["4", "'@bob", "2026-03", "10.04", "pending", ""],
        ["5", "'\tTabby", "2026-03", "10.05", "pending", ""],
        ["6", "Zoé", "2026-03", "10.06", "pending", ""],
        ["7", "", "2026-03", "0.05", "pending", ""],
    ]
