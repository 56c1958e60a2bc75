"""The ledger's rules: accounts, months in TIMEZONE, and posting money with floors and the cap.

Every money movement goes through ``post``: inside one write transaction it replays a known
idempotency key (or refuses a conflicting one), refuses earnings dated in a closed month, checks
the monthly cap and the floor of the account the money leaves, then appends the transfer and its
two legs. Use cases (``top_up``, ``correct``, the readers at the end) take a ``Database`` and open
one transaction; the money movements other use cases make (a hold, a reward, a bonus, a refund)
take the caller's ``WriteTx``, so a batch row and its hold, or an answer and its reward, commit
together. Amounts are integer cents; times are aware datetimes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.errors import CapExceeded, InsufficientFunds, InvalidInput, LedgerError, PermissionDenied
from storage import ledger as sql
from storage.audit import write_audit
from storage.db import Database, WriteTx
from storage.ledger import EARNING_KINDS as EARNING_KINDS
from storage.ledger import NewTransfer as NewTransfer
from storage.ledger import Transfer as Transfer
from storage.ledger import TransferKind as TransferKind
from storage.payouts import Statement, month_is_closed, statement_of

BANK = "bank"


# Accounts ----------------------------------------------------------------------------------------

AccountKind = Literal["bank", "requester", "escrow", "worker"]
_ACCOUNT_KINDS: tuple[AccountKind, ...] = ("bank", "requester", "escrow", "worker")
_ACCOUNT = re.compile(
    r"(?P<bank>bank)|requester:(?P<requester>[0-9]+)"
    r"|escrow:batch:(?P<escrow>[0-9]+)|worker:(?P<worker>[0-9]+)"
)


@dataclass(frozen=True)
class Account:
    """A parsed account name: its kind and the user or batch id (None for ``bank``)."""

    kind: AccountKind
    id: int | None


def requester_account(requester_id: int) -> str:
    """The budget of a requester: ``requester:ID``."""
    return f"requester:{requester_id}"


def escrow_account(batch_id: int) -> str:
    """The money held for a batch's most possible cost: ``escrow:batch:ID``."""
    return f"escrow:batch:{batch_id}"


def worker_account(worker_id: int) -> str:
    """What the platform owes a worker: ``worker:ID``."""
    return f"worker:{worker_id}"


def parse_account(text: str) -> Account:
    """Parse an account name strictly; ``InvalidInput`` (``ledger.bad_account``) otherwise."""
    match = _ACCOUNT.fullmatch(text)
    if match is None:
        raise InvalidInput("ledger.bad_account", account=text)
    kind = next(kind for kind in _ACCOUNT_KINDS if match[kind] is not None)
    return Account(kind, None if kind == "bank" else int(match[kind]))


# Months ------------------------------------------------------------------------------------------

_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])")


def parse_month(text: str) -> str:
    """A month typed as ``YYYY-MM`` (1970-9998), or ``InvalidInput`` (``month.invalid``)."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1970 <= int(match["year"]) <= 9998:
        raise InvalidInput("month.invalid", text=text)
    return match[0]


def month_of(moment: datetime, tz: ZoneInfo) -> str:
    """The calendar month (``YYYY-MM``) of an instant, read on a wall clock in ``tz``."""
    if moment.tzinfo is None:
        raise ValueError("month_of needs an aware datetime")
    return moment.astimezone(tz).strftime("%Y-%m")


def current_month(now: datetime, tz: ZoneInfo) -> str:
    """The running month in ``tz``."""
    return month_of(now, tz)


def _year_month(month: str) -> tuple[int, int]:
    year, number = parse_month(month).split("-")
    return int(year), int(number)


def next_month(month: str) -> str:
    """The month after ``month``."""
    year, number = _year_month(month)
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def previous_month(month: str) -> str:
    """The month before ``month``."""
    year, number = _year_month(month)
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def first_day(month: str) -> date:
    """The first calendar day of a month."""
    year, number = _year_month(month)
    return date(year, number, 1)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The month as UTC instants ``[start, end)``: local midnight of its 1st to the next 1st."""
    start, end = first_day(month), first_day(next_month(month))
    return (
        datetime(start.year, start.month, 1, tzinfo=tz).astimezone(UTC),
        datetime(end.year, end.month, 1, tzinfo=tz).astimezone(UTC),
    )


def cap_resets_on(month: str) -> date:
    """The local date the cap of ``month`` resets: the first day of the next month."""
    return first_day(next_month(month))


# Posting -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """The outcome of posting: the transfer, and False in ``created`` if its key was known."""

    transfer: Transfer
    created: bool
    # Earnings of the transfer's month including it, when the cap was checked (None otherwise):
    # what the answer shows as "this month", with no second sum.
    earned: int | None = None


async def post(tx: WriteTx, new: NewTransfer, *, tz: ZoneInfo, cap: int | None = None) -> Posted:
    """Post a transfer inside the caller's write transaction, checking every rule first.

    A known key returns the first transfer unchanged (limits are not checked again); the same
    key for other money is ``LedgerError`` (``ledger.key_conflict``). Earnings (reward, bonus) to
    a worker need ``cap``. Refusals raise before anything is written, so a caller may catch
    them and carry on in the same transaction.
    """
    _check_amount(new.amount)
    existing = await sql.transfer_by_key(tx, new.key)
    if existing is not None:
        if not new.same_movement(existing):
            raise LedgerError("ledger.key_conflict", key=new.key)
        return Posted(existing, created=False)
    month = month_of(new.created_at, tz)
    earned: int | None = None
    if is_earning(new.kind, new.credit_account):
        earned = await _check_earning(tx, new, month, cap) + new.amount
    await _check_floor(tx, new.debit_account, new.amount)
    return Posted(await sql.insert_transfer(tx, new, month), created=True, earned=earned)


def is_earning(kind: TransferKind, credit_account: str) -> bool:
    """True for money a worker earns (rewards and bonuses): it counts for the cap and payouts."""
    return kind in EARNING_KINDS and credit_account.startswith("worker:")


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput("ledger.bad_amount", amount=amount)


async def _check_earning(tx: WriteTx, new: NewTransfer, month: str, cap: int | None) -> int:
    """The worker's earnings in ``month`` so far, once ``new`` is known to fit under ``cap``."""
    if cap is None:
        raise ValueError("earnings to a worker are posted with the monthly cap")
    if await month_is_closed(tx, month):
        raise LedgerError("ledger.month_closed", month=month)
    earned = await sql.earned_in_month(tx, new.credit_account, month)
    if earned + new.amount > cap:
        raise CapExceeded(
            month=month,
            cap=cap,
            earned=earned,
            amount=new.amount,
            remaining=max(cap - earned, 0),
            resets_at=cap_resets_on(month),
        )
    return earned


async def _check_floor(tx: WriteTx, account: str, amount: int) -> None:
    if account == BANK:
        return
    balance = await sql.account_balance(tx, account)
    if balance < amount:
        raise InsufficientFunds(account=account, balance=balance, amount=amount)


# Money movements ---------------------------------------------------------------------------------


async def top_up(
    db: Database,
    *,
    requester_id: int,
    amount: int,
    actor_id: int,
    key: str,
    now: datetime,
    tz: ZoneInfo,
    memo: str = "",
) -> Posted:
    """An admin adds budget, ``bank`` to ``requester:ID``, audited; a known key changes nothing.

    Four-eyes: an admin never tops up their own requester account (``PermissionDenied``).
    """
    if requester_id == actor_id:
        raise PermissionDenied("admin.four_eyes.topup")
    new = NewTransfer(
        "topup", amount, BANK, requester_account(requester_id), key, actor_id, now, memo
    )
    async with db.write() as tx:
        posted = await post(tx, new, tz=tz)
        if posted.created:
            await _audit_transfer(tx, "ledger.topup", posted.transfer)
    return posted


async def hold_for_batch(
    tx: WriteTx,
    *,
    requester_id: int,
    batch_id: int,
    amount: int,
    actor_id: int | None,
    now: datetime,
    tz: ZoneInfo,
) -> Posted:
    """Hold a batch's most possible cost in ``escrow:batch:ID`` (key ``hold:batch:ID``)."""
    new = NewTransfer(
        "hold",
        amount,
        requester_account(requester_id),
        escrow_account(batch_id),
        f"hold:batch:{batch_id}",
        actor_id,
        now,
    )
    return await post(tx, new, tz=tz)


async def credit_reward(
    tx: WriteTx,
    *,
    batch_id: int,
    worker_id: int,
    assignment_id: int,
    amount: int,
    at: datetime,
    tz: ZoneInfo,
    cap: int,
) -> Posted:
    """Pay an accepted answer: escrow to worker, key ``answer:ASSIGNMENT_ID``, dated ``at``.

    The month of ``at`` in ``tz`` is the month the reward counts in; ``CapExceeded`` when it
    would take the worker's earnings of that month above ``cap``.
    """
    new = NewTransfer(
        "reward",
        amount,
        escrow_account(batch_id),
        worker_account(worker_id),
        f"answer:{assignment_id}",
        worker_id,
        at,
    )
    return await post(tx, new, tz=tz, cap=cap)


async def grant_bonus(
    tx: WriteTx,
    *,
    from_account: str,
    worker_id: int,
    amount: int,
    key: str,
    actor_id: int,
    at: datetime,
    tz: ZoneInfo,
    cap: int,
    memo: str = "",
) -> Posted:
    """A bonus from a requester's budget or a batch's escrow; it counts as earnings (the cap)."""
    new = NewTransfer(
        "bonus", amount, from_account, worker_account(worker_id), key, actor_id, at, memo
    )
    return await post(tx, new, tz=tz, cap=cap)


async def release_remainder(
    tx: WriteTx, *, batch_id: int, actor_id: int | None, now: datetime, tz: ZoneInfo
) -> Posted | None:
    """Give what is left in a batch's escrow back to the requester whose hold filled it.

    None when the escrow is empty (or was never filled). The key ``refund:batch:ID:N`` numbers
    the releases, so a batch may release again if money reached its escrow after the first.
    """
    escrow = escrow_account(batch_id)
    funder = await sql.funder_of(tx, escrow)
    remainder = await sql.account_balance(tx, escrow)
    if funder is None or remainder <= 0:
        return None
    number = await sql.count_transfers(tx, kind="refund", debit_account=escrow) + 1
    key = f"refund:batch:{batch_id}:{number}"
    new = NewTransfer("refund", remainder, escrow, funder, key, actor_id, now)
    return await post(tx, new, tz=tz)


async def correct(
    db: Database,
    *,
    debit_account: str,
    credit_account: str,
    amount: int,
    reason: str,
    actor_id: int,
    key: str,
    now: datetime,
    tz: ZoneInfo,
) -> Posted:
    """An admin's correction: a new transfer (history is never edited), audited with its reason.

    Floors apply as to any transfer. A correction is not earnings: it counts neither for the cap
    nor in statements; pay extra earnings with ``grant_bonus``.
    """
    async with db.write() as tx:
        return await post_correction(
            tx,
            debit_account=debit_account,
            credit_account=credit_account,
            amount=amount,
            reason=reason,
            actor_id=actor_id,
            key=key,
            now=now,
            tz=tz,
        )


async def post_correction(
    tx: WriteTx,
    *,
    debit_account: str,
    credit_account: str,
    amount: int,
    reason: str,
    actor_id: int,
    key: str,
    now: datetime,
    tz: ZoneInfo,
) -> Posted:
    """``correct`` inside the caller's write transaction (a confirmed pending correction)."""
    for account in (debit_account, credit_account):
        parse_account(account)
    if not reason.strip():
        raise InvalidInput("ledger.reason_missing")
    new = NewTransfer(
        "correction", amount, debit_account, credit_account, key, actor_id, now, reason.strip()
    )
    posted = await post(tx, new, tz=tz)
    if posted.created:
        await _audit_transfer(tx, "ledger.correction", posted.transfer)
    return posted


async def _audit_transfer(tx: WriteTx, action: str, transfer: Transfer) -> None:
    detail = {
        "transfer_id": transfer.id,
        "amount": transfer.amount,
        "debit": transfer.debit_account,
        "credit": transfer.credit_account,
        "key": transfer.key,
        "memo": transfer.memo,
    }
    await write_audit(
        tx, actor_id=transfer.actor_id, action=action, detail=detail, now=transfer.created_at
    )


# Reading -----------------------------------------------------------------------------------------


async def balance(db: Database, account: str) -> int:
    """An account's balance in cents (committed transfers only)."""
    async with db.read() as tx:
        return await sql.account_balance(tx, account)


async def remaining_cap(db: Database, worker_id: int, month: str, cap: int) -> int:
    """How much a worker may still earn in ``month`` (0 when at or above the cap)."""
    async with db.read() as tx:
        earned = await sql.earned_in_month(tx, worker_account(worker_id), month)
    return max(cap - earned, 0)


@dataclass(frozen=True)
class BatchEscrow:
    """Money held in escrow for one batch."""

    batch_id: int
    amount: int


@dataclass(frozen=True)
class RequesterSummary:
    """What ``/balance`` shows: the budget, what batches hold, and the last transfers."""

    requester_id: int
    balance: int
    held: int
    escrows: list[BatchEscrow]  # batches still holding money, oldest first
    recent: list[Transfer]  # newest first; ``signed_for(account)`` gives the direction
    account: str


async def requester_summary(
    db: Database, requester_id: int, *, recent: int = 5
) -> RequesterSummary:
    """A requester's balance, the money held by their batches, and their last transfers."""
    account = requester_account(requester_id)
    async with db.read() as tx:
        escrows = [
            BatchEscrow(int(name.rsplit(":", 1)[1]), amount)
            for name, amount in await sql.escrows_funded_by(tx, account)
            if amount > 0
        ]
        return RequesterSummary(
            requester_id=requester_id,
            balance=await sql.account_balance(tx, account),
            held=sum(escrow.amount for escrow in escrows),
            escrows=escrows,
            recent=await sql.recent_transfers(tx, account, limit=recent),
            account=account,
        )


@dataclass(frozen=True)
class WorkerEarnings:
    """What ``/earnings`` shows; amounts in cents, ``resets_on`` a local date."""

    worker_id: int
    month: str
    earned: int
    cap: int
    remaining: int
    resets_on: date
    balance: int  # earned and not yet paid out, all months
    last_month: str
    last_statement: Statement | None
    recent_credits: list[Transfer]  # newest first


async def worker_earnings(
    db: Database, worker_id: int, *, now: datetime, tz: ZoneInfo, cap: int, recent: int = 5
) -> WorkerEarnings:
    """This month's earnings and room under the cap, last month's statement, the last credits."""
    account = worker_account(worker_id)
    month = current_month(now, tz)
    last_month = previous_month(month)
    async with db.read() as tx:
        earned = await sql.earned_in_month(tx, account, month)
        return WorkerEarnings(
            worker_id=worker_id,
            month=month,
            earned=earned,
            cap=cap,
            remaining=max(cap - earned, 0),
            resets_on=cap_resets_on(month),
            balance=await sql.account_balance(tx, account),
            last_month=last_month,
            last_statement=await statement_of(tx, worker_id, last_month),
            recent_credits=await sql.recent_transfers(tx, account, limit=recent, credits_only=True),
        )
