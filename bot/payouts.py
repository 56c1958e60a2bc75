"""Monthly payouts: closing a month into statements, their review steps, CSV export, ledger health.

A statement is pending, then approved or held (with a reason), then paid (with a reference and a
``worker`` to ``bank`` transfer keyed ``payout:STATEMENT_ID`` in the same transaction). A hold can
be lifted by approving, and an approved statement can still be held until it is paid. Repeating
the step a statement already took (a double tap) changes nothing and says so in ``Step.changed``;
any other step out of its state raises ``IllegalTransition``.

``/payouts`` reads the statements awaiting a step a page at a time, by id (``awaiting_page``);
"approve all on this page" (``approve_page``) approves the pending statements of one page's id
range in one transaction, skipping the admin's own (four-eyes), held ones (a hold is lifted one
statement at a time, after reading its reason) and those approved already.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied, StorageError
from bot.ledger import (
    BANK,
    current_month,
    first_day,
    month_of,
    next_month,
    parse_month,
    post,
    previous_month,
    worker_account,
)
from storage import ledger as ledger_sql
from storage import payouts as sql
from storage.audit import write_audit
from storage.db import Database, Tx, WriteTx
from storage.ledger import NewTransfer
from storage.payouts import AWAITING as AWAITING
from storage.payouts import Statement as Statement
from storage.payouts import StatementEvent as StatementEvent
from storage.payouts import StatementState as StatementState

REASON_LIMIT = 500
PAGE_SIZE = 10
REFERENCE_LIMIT = 200
# The states each step may start from; a step to the state a statement is in is a repeat.
_STEP_FROM: dict[StatementState, tuple[StatementState, ...]] = {
    "approved": ("pending", "held"),
    "held": ("pending", "approved"),
    "paid": ("approved",),
}
CSV_HEADER = ("worker_id", "name", "month", "amount", "state", "reference")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class MonthClose:
    """What closing a month did: the statements it created (none the second time)."""

    month: str
    created: list[Statement]
    first_close: bool  # False when the month had been closed before

    @property
    def total(self) -> int:
        """The sum of the statements created, in cents."""
        return sum(statement.amount for statement in self.created)


@dataclass(frozen=True)
class Step:
    """The outcome of a review step: the statement after it, and whether anything changed."""

    statement: Statement
    changed: bool  # False: the statement had already taken this step (a double tap)
    previous_state: StatementState


@dataclass(frozen=True)
class Page:
    """One page of the statements awaiting a step, by id; ``number`` counts from 0."""

    statements: list[Statement]
    number: int
    pages: int  # at least 1, even when nothing awaits
    total: int

    @property
    def id_range(self) -> tuple[int, int] | None:
        """The first and last statement id shown, or None for an empty page."""
        if not self.statements:
            return None
        return self.statements[0].id, self.statements[-1].id


@dataclass(frozen=True)
class PageApproval:
    """What "approve all on this page" did: the statements approved and those skipped, by why."""

    approved: list[Statement]
    own: list[int]  # the admin's own statements: another admin must approve them
    held: list[int]  # on hold: a hold is lifted one statement at a time
    already: list[int]  # approved before this press

    @property
    def skipped(self) -> int:
        """How many statements of the page were left as they were."""
        return len(self.own) + len(self.held) + len(self.already)


# Closing months ----------------------------------------------------------------------------------


async def close_month(
    db: Database, month: str, *, now: datetime, tz: ZoneInfo, actor_id: int | None
) -> MonthClose:
    """Create a pending statement per worker with earnings in an ended month; idempotent.

    The running or a future month is refused (``InvalidInput``, ``payouts.month_not_ended``).
    Once closed, a month accepts no more earnings (see ``bot.ledger.post``).
    """
    month = parse_month(month)
    if month >= current_month(now, tz):
        raise InvalidInput(
            "payouts.month_not_ended", month=month, ends_on=first_day(next_month(month))
        )
    async with db.write() as tx:
        amounts = await ledger_sql.earnings_by_worker(tx, month)
        ids = await sql.insert_statements(tx, month, amounts, now)
        first = await sql.record_close(tx, month, actor_id=actor_id, now=now, created=len(ids))
        created = await sql.statements_by_ids(tx, ids)
        if first or ids:
            detail = {"month": month, "statements": ids, "total": sum(s.amount for s in created)}
            await write_audit(tx, actor_id=actor_id, action="payouts.close", detail=detail, now=now)
    return MonthClose(month, created, first)


async def close_previous_month(db: Database, *, now: datetime, tz: ZoneInfo) -> MonthClose:
    """The scheduled close (00:05 on the 1st in ``tz``): close the month that just ended."""
    return await close_month(
        db, previous_month(current_month(now, tz)), now=now, tz=tz, actor_id=None
    )


async def catch_up_closes(db: Database, now: datetime, tz: ZoneInfo) -> list[MonthClose]:
    """At start: close every ended month with earnings but no statements (a close was missed)."""
    async with db.read() as tx:
        months = await ledger_sql.months_with_unstated_earnings(tx, before=current_month(now, tz))
    return [await close_month(db, month, now=now, tz=tz, actor_id=None) for month in months]


# Review steps ------------------------------------------------------------------------------------


async def approve(db: Database, statement_id: int, *, actor_id: int, now: datetime) -> Step:
    """Approve a pending statement, or lift a hold; approving again changes nothing."""
    async with db.write() as tx:
        current = await _load(tx, statement_id, actor_id)
        if current.state == "approved":
            return Step(current, changed=False, previous_state=current.state)
        check_step(current, "approved")
        return await _move(tx, current, "approved", actor_id=actor_id, now=now)


async def hold(
    db: Database, statement_id: int, *, reason: str, actor_id: int, now: datetime
) -> Step:
    """Hold a pending or approved statement with a reason the worker is told; again: no change."""
    reason = _required_text(reason, "payouts.reason_missing", REASON_LIMIT)
    async with db.write() as tx:
        current = await _load(tx, statement_id, actor_id)
        if current.state == "held":
            return Step(current, changed=False, previous_state=current.state)
        check_step(current, "held")
        return await _move(tx, current, "held", actor_id=actor_id, now=now, detail=reason)


async def mark_paid(
    db: Database,
    statement_id: int,
    *,
    reference: str,
    actor_id: int,
    now: datetime,
    tz: ZoneInfo,
) -> Step:
    """Mark an approved statement paid: post ``worker`` to ``bank`` and record the reference.

    Marking it paid again with the same reference changes nothing; with another reference it is
    ``IllegalTransition``. ``InsufficientFunds`` if the worker's account holds less.
    """
    reference = _required_text(reference, "payouts.reference_missing", REFERENCE_LIMIT)
    async with db.write() as tx:
        current = await _load(tx, statement_id, actor_id)
        if current.state == "paid" and current.reference == reference:
            return Step(current, changed=False, previous_state=current.state)
        return await pay_in(tx, current, reference=reference, actor_id=actor_id, now=now, tz=tz)


async def pay_in(
    tx: WriteTx,
    current: Statement,
    *,
    reference: str,
    actor_id: int,
    now: datetime,
    tz: ZoneInfo,
) -> Step:
    """The paid step inside the caller's transaction (one statement, or a whole SEPA file)."""
    check_step(current, "paid")
    payout = NewTransfer(
        "payout",
        current.amount,
        worker_account(current.worker_id),
        BANK,
        f"payout:{current.id}",
        actor_id,
        now,
        reference,
    )
    posted = await post(tx, payout, tz=tz)
    return await _move(
        tx,
        current,
        "paid",
        actor_id=actor_id,
        now=now,
        detail=reference,
        payout_transfer_id=posted.transfer.id,
    )


def _required_text(text: str, missing_key: str, limit: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(missing_key)
    if len(cleaned) > limit:
        raise InvalidInput("payouts.text_too_long", limit=limit)
    return cleaned


async def _load(tx: WriteTx, statement_id: int, actor_id: int | None = None) -> Statement:
    """The statement; with ``actor_id``, four-eyes: nobody reviews or pays their own."""
    statement = await sql.statement_by_id(tx, statement_id)
    if statement is None:
        raise NotFound("payouts.statement_not_found", statement_id=statement_id)
    if actor_id is not None:
        check_reviewer(statement, actor_id)
    return statement


def check_reviewer(statement: Statement, actor_id: int) -> None:
    """Four-eyes: ``PermissionDenied`` when the admin is the statement's worker."""
    if statement.worker_id == actor_id:
        raise PermissionDenied("admin.four_eyes.statement", statement_id=statement.id)


def check_step(statement: Statement, wanted: StatementState) -> None:
    """Raise ``IllegalTransition`` unless ``statement`` may move to ``wanted`` from its state."""
    if statement.state not in _STEP_FROM[wanted]:
        raise IllegalTransition(state=statement.state, wanted=wanted, statement_id=statement.id)


async def _move(
    tx: WriteTx,
    current: Statement,
    wanted: StatementState,
    *,
    actor_id: int,
    now: datetime,
    detail: str = "",
    payout_transfer_id: int | None = None,
) -> Step:
    moved = await sql.move_statement(
        tx,
        current.id,
        from_state=current.state,
        to_state=wanted,
        actor_id=actor_id,
        now=now,
        detail=detail,
        payout_transfer_id=payout_transfer_id,
    )
    if not moved:
        raise StorageError(f"statement {current.id} changed under the write lock")
    audit = {
        "statement_id": current.id,
        "worker_id": current.worker_id,
        "month": current.month,
        "amount": current.amount,
        "from": current.state,
        "detail": detail,
    }
    await write_audit(tx, actor_id=actor_id, action=f"payouts.{wanted}", detail=audit, now=now)
    return Step(await _load(tx, current.id), changed=True, previous_state=current.state)


async def approve_page(
    db: Database, first_id: int, last_id: int, *, actor_id: int, now: datetime
) -> PageApproval:
    """Approve every pending statement with an id from ``first_id`` to ``last_id`` (one page of
    ``/payouts``) in one transaction; a second press approves nothing more.

    Ids only grow, so the range holds no statement the page did not show; a range holding more
    statements awaiting a step than a page shows was not made by ``/payouts`` (``InvalidInput``).
    """
    if first_id > last_id:
        raise InvalidInput("error.bad_button")
    approved: list[Statement] = []
    own: list[int] = []
    held: list[int] = []
    already: list[int] = []
    async with db.write() as tx:
        found = await sql.statements_between(tx, first_id, last_id, AWAITING)
        if len(found) > PAGE_SIZE:
            raise InvalidInput("error.bad_button")
        for statement in found:
            if statement.worker_id == actor_id:
                own.append(statement.id)
            elif statement.state == "held":
                held.append(statement.id)
            elif statement.state == "approved":
                already.append(statement.id)
            else:
                step = await _move(tx, statement, "approved", actor_id=actor_id, now=now)
                approved.append(step.statement)
    return PageApproval(approved, own, held, already)


# Reading -----------------------------------------------------------------------------------------


async def get_statement(db: Database, statement_id: int) -> Statement:
    """The statement with this id; ``NotFound`` otherwise."""
    async with db.read() as tx:
        statement = await sql.statement_by_id(tx, statement_id)
        if statement is None:
            raise NotFound("payouts.statement_not_found", statement_id=statement_id)
        return statement


async def statements_awaiting(db: Database) -> list[Statement]:
    """Statements awaiting a step (pending, held, approved) for ``/payouts``, by month, worker."""
    async with db.read() as tx:
        return await sql.statements_in_states(tx, AWAITING)


async def awaiting_page(db: Database, number: int, size: int = PAGE_SIZE) -> Page:
    """Page ``number`` (from 0) of the statements awaiting a step, by id; a number past the end
    gives the last page (the list may have shrunk since the page was shown)."""
    async with db.read() as tx:
        total = await sql.count_in_states(tx, AWAITING)
        pages = max(1, -(-total // size))
        number = min(max(number, 0), pages - 1)
        statements = await sql.page_in_states(tx, AWAITING, offset=number * size, limit=size)
    return Page(statements, number, pages, total)


async def statements_for_month(db: Database, month: str) -> list[Statement]:
    """Every statement of a month (``/exportpayouts``), by worker."""
    async with db.read() as tx:
        return await sql.statements_in_month(tx, parse_month(month))


async def statement_for(db: Database, worker_id: int, month: str) -> Statement | None:
    """A worker's statement for a month, or None."""
    async with db.read() as tx:
        return await sql.statement_of(tx, worker_id, parse_month(month))


async def statement_history(db: Database, statement_id: int) -> list[StatementEvent]:
    """Every step a statement took, with who and when, oldest first."""
    async with db.read() as tx:
        return await sql.statement_events(tx, statement_id)


# Export ------------------------------------------------------------------------------------------


def format_cents(amount: int) -> str:
    """Cents as a plain decimal with two places: ``1234`` gives ``12.34``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def spreadsheet_safe(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would read as a formula (OWASP CSV injection)."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def export_csv(statements: Iterable[Statement]) -> str:
    """Statements as CSV: worker id, name, month, amount, state, reference; formula-safe cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for s in statements:
        cells = (s.worker_id, s.worker_name or "", s.month, format_cents(s.amount), s.state)
        writer.writerow([spreadsheet_safe(str(cell)) for cell in (*cells, s.reference or "")])
    return buffer.getvalue()


# Health ------------------------------------------------------------------------------------------


async def check_invariants(db: Database, *, tz: ZoneInfo, cap: int) -> list[str]:
    """Every broken ledger or payout invariant, one line each; empty when healthy (``/health``)."""
    async with db.read() as tx:
        problems = await _ledger_problems(tx, cap)
        problems += [
            f"transfer {transfer_id}: month {stored} but created in {month_of(created_at, tz)}"
            for transfer_id, stored, created_at in await ledger_sql.transfer_months(tx)
            if month_of(created_at, tz) != stored
        ]
        return problems + await _statement_problems(tx)


async def _ledger_problems(tx: Tx, cap: int) -> list[str]:
    problems = [
        f"transfer {transfer_id}: legs are not -amount and +amount"
        for transfer_id in await ledger_sql.transfers_with_bad_legs(tx)
    ]
    problems += [
        f"kind {kind}: legs sum to {total}, not 0"
        for kind, total in await ledger_sql.unbalanced_kinds(tx)
    ]
    if orphans := await ledger_sql.orphan_entries(tx):
        problems.append(f"{orphans} legs belong to no transfer")
    problems += [
        f"account {account}: went down to {lowest}"
        for account, lowest in await ledger_sql.accounts_ever_negative(tx)
    ]
    problems += [
        f"{account}: earned {earned} in {month}, above the cap {cap}"
        for account, month, earned in await ledger_sql.worker_months_over(tx, cap)
    ]
    return problems


async def _statement_problems(tx: Tx) -> list[str]:
    problems = [
        f"statement {statement_id}: paid without its payout transfer"
        for statement_id in await sql.paid_statements_without_payout(tx)
    ]
    problems += [
        f"payout transfer {transfer_id}: no paid statement"
        for transfer_id in await sql.payouts_without_paid_statement(tx)
    ]
    problems += [
        f"statement {statement_id}: amount {amount}, but {earned} earned that month"
        for statement_id, amount, earned in await sql.statements_unlike_earnings(tx)
    ]
    problems += [
        f"worker {worker_id}: earnings in closed month {month} without a statement"
        for month, worker_id in await sql.closed_months_missing_statements(tx)
    ]
    return problems
