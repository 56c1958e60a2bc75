"""The ledger's SQL: transfers and their two legs, balances, earnings by month, health queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage.db import Row, Tx, WriteTx, from_db_time, to_db_time

TransferKind = Literal["topup", "hold", "reward", "refund", "payout", "correction", "bonus"]
EARNING_KINDS: tuple[TransferKind, ...] = ("reward", "bonus")
_EARNINGS_SQL = "kind IN ('reward', 'bonus')"


@dataclass(frozen=True)
class NewTransfer:
    """A money movement to post: ``amount`` cents leave ``debit_account`` for ``credit_account``."""

    kind: TransferKind
    amount: int
    debit_account: str
    credit_account: str
    key: str
    actor_id: int | None
    created_at: datetime
    memo: str = ""

    def same_movement(self, other: Transfer) -> bool:
        """True when ``other`` moved the same money the same way (a replay, not a conflict)."""
        return (self.kind, self.amount, self.debit_account, self.credit_account) == (
            other.kind,
            other.amount,
            other.debit_account,
            other.credit_account,
        )


@dataclass(frozen=True)
class Transfer:
    """A posted transfer; ``month`` is the month of ``created_at`` in TIMEZONE, as inserted."""

    id: int
    kind: TransferKind
    amount: int
    debit_account: str
    credit_account: str
    actor_id: int | None
    key: str
    memo: str
    month: str
    created_at: datetime

    def signed_for(self, account: str) -> int:
        """The amount as ``account`` saw it: positive when credited, negative when debited."""
        if account == self.credit_account:
            return self.amount
        if account == self.debit_account:
            return -self.amount
        return 0


def _transfer(row: Row) -> Transfer:
    return Transfer(
        id=row["id"],
        kind=row["kind"],
        amount=row["amount"],
        debit_account=row["debit_account"],
        credit_account=row["credit_account"],
        actor_id=row["actor_id"],
        key=row["idempotency_key"],
        memo=row["memo"],
        month=row["month"],
        created_at=from_db_time(row["created_at"]),
    )


async def insert_transfer(tx: WriteTx, new: NewTransfer, month: str) -> Transfer:
    """Append a transfer and its two legs inside the caller's write transaction."""
    row = await tx.fetch_one(
        "INSERT INTO transfers (kind, amount, debit_account, credit_account, actor_id,"
        " idempotency_key, memo, month, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING *",
        (
            new.kind,
            new.amount,
            new.debit_account,
            new.credit_account,
            new.actor_id,
            new.key,
            new.memo,
            month,
            to_db_time(new.created_at),
        ),
    )
    assert row is not None
    found = _transfer(row)  # the row as stored, read back by RETURNING (no second round trip)
    await tx.executemany(
        "INSERT INTO entries (transfer_id, account, amount) VALUES (?, ?, ?)",
        [
            (found.id, new.debit_account, -new.amount),
            (found.id, new.credit_account, new.amount),
        ],
    )
    return found


async def transfer_by_id(tx: WriteTx, transfer_id: int) -> Transfer | None:
    """The transfer with this id, or None."""
    found = await tx.fetch_all("SELECT * FROM transfers WHERE id = ?", (transfer_id,))
    return _transfer(found[0]) if found else None


async def transfer_by_key(tx: Tx, key: str) -> Transfer | None:
    """The transfer posted under this idempotency key, or None."""
    found = await tx.fetch_all("SELECT * FROM transfers WHERE idempotency_key = ?", (key,))
    return _transfer(found[0]) if found else None


async def account_balance(tx: Tx, account: str) -> int:
    """The balance of an account in cents: the sum of its legs."""
    total = await tx.fetch_value(
        "SELECT coalesce(sum(amount), 0) FROM entries WHERE account = ?", (account,)
    )
    return int(total)


async def earned_in_month(tx: Tx, worker_account: str, month: str) -> int:
    """Rewards and bonuses credited to a worker's account in a month, in cents."""
    total = await tx.fetch_value(
        "SELECT coalesce(sum(amount), 0) FROM transfers"
        f" WHERE credit_account = ? AND month = ? AND {_EARNINGS_SQL}",
        (worker_account, month),
    )
    return int(total)


async def earned_in_month_by(tx: Tx, worker_accounts: list[str], month: str) -> dict[str, int]:
    """``earned_in_month`` of several accounts in one statement (absent: nothing earned)."""
    if not worker_accounts:
        return {}
    marks = ", ".join("?" for _ in worker_accounts)
    rows = await tx.fetch_all(
        "SELECT credit_account, sum(amount) FROM transfers"
        f" WHERE credit_account IN ({marks}) AND month = ? AND {_EARNINGS_SQL}"
        " GROUP BY credit_account",
        (*worker_accounts, month),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def count_transfers(tx: Tx, *, kind: TransferKind, debit_account: str) -> int:
    """How many transfers of a kind left an account (numbers repeated refunds of a batch)."""
    found = await tx.fetch_value(
        "SELECT count(*) FROM transfers WHERE kind = ? AND debit_account = ?",
        (kind, debit_account),
    )
    return int(found)


async def funder_of(tx: Tx, escrow_account: str) -> str | None:
    """The requester account whose hold filled an escrow account, or None if never held."""
    found = await tx.fetch_value(
        "SELECT debit_account FROM transfers WHERE kind = 'hold' AND credit_account = ?"
        " ORDER BY id LIMIT 1",
        (escrow_account,),
    )
    return None if found is None else str(found)


async def escrows_funded_by(tx: Tx, requester_account: str) -> list[tuple[str, int]]:
    """(escrow account, balance) for every escrow a requester's holds filled, oldest first."""
    found = await tx.fetch_all(
        "SELECT e.account, sum(e.amount) AS balance FROM entries e"
        " WHERE e.account IN (SELECT credit_account FROM transfers"
        "  WHERE kind = 'hold' AND debit_account = ?)"
        " GROUP BY e.account ORDER BY min(e.transfer_id)",
        (requester_account,),
    )
    return [(str(row["account"]), int(row["balance"])) for row in found]


async def recent_transfers(
    tx: Tx,
    account: str,
    *,
    limit: int,
    kinds: Sequence[TransferKind] | None = None,
    credits_only: bool = False,
) -> list[Transfer]:
    """The last transfers touching an account, newest first (optionally of some kinds only)."""
    where = "credit_account = ?" if credits_only else "(credit_account = ? OR debit_account = ?)"
    params: list[Any] = [account] if credits_only else [account, account]
    if kinds:
        where += f" AND kind IN ({', '.join('?' for _ in kinds)})"
        params.extend(kinds)
    found = await tx.fetch_all(
        f"SELECT * FROM transfers WHERE {where} ORDER BY id DESC LIMIT ?", (*params, limit)
    )
    return [_transfer(row) for row in found]


async def earnings_by_worker(tx: Tx, month: str) -> dict[int, int]:
    """Each worker's earnings (rewards and bonuses) in a month, by worker id."""
    found = await tx.fetch_all(
        "SELECT CAST(substr(credit_account, 8) AS INTEGER) AS worker_id, sum(amount) AS earned"
        f" FROM transfers WHERE month = ? AND {_EARNINGS_SQL} AND credit_account GLOB 'worker:*'"
        " GROUP BY credit_account ORDER BY worker_id",
        (month,),
    )
    return {int(row["worker_id"]): int(row["earned"]) for row in found}


def unstated_earnings(months: str) -> str:
    """SQL for ``earned``: each (month, worker_id) with earnings in the transfers ``months``
    selects (a join and/or condition on ``t``, ending in WHERE or AND) and no statement.

    Each (month, worker) with earnings once, then one probe of the statements' unique index
    (worker_id, month) each: matched on the account's text, the probe was a scan of every
    statement per transfer (at 1,000,000 rewards and 10,000 statements, a start that hung)."""
    return (
        " (SELECT DISTINCT t.month AS month,"
        "  CAST(substr(t.credit_account, 8) AS INTEGER) AS worker_id FROM transfers t"
        f"  {months} t.kind IN ('reward', 'bonus')"
        "  AND t.credit_account GLOB 'worker:*') AS earned"
        " WHERE NOT EXISTS (SELECT 1 FROM statements s"
        "  WHERE s.worker_id = earned.worker_id AND s.month = earned.month)"
    )


UNSTATED_MONTHS = (
    "SELECT earned.month FROM"
    + unstated_earnings("WHERE t.month < ? AND")
    + " GROUP BY earned.month ORDER BY earned.month"
)


async def months_with_unstated_earnings(tx: Tx, *, before: str) -> list[str]:
    """Months before ``before`` in which some worker has earnings but no statement, in order."""
    found = await tx.fetch_all(UNSTATED_MONTHS, (before,))
    return [str(row["month"]) for row in found]


# Health: each query returns the rows that break one invariant (none when healthy).


async def transfers_with_bad_legs(tx: Tx) -> list[int]:
    """Transfers whose legs are not exactly -amount on the debit and +amount on the credit."""
    found = await tx.fetch_all(
        "SELECT t.id FROM transfers t WHERE"
        " (SELECT count(*) FROM entries e WHERE e.transfer_id = t.id) <> 2"
        " OR (SELECT coalesce(sum(e.amount), 0) FROM entries e WHERE e.transfer_id = t.id) <> 0"
        " OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = t.id"
        "  AND e.account = t.debit_account AND e.amount = -t.amount)"
        " OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = t.id"
        "  AND e.account = t.credit_account AND e.amount = t.amount)"
        " ORDER BY t.id",
    )
    return [int(row[0]) for row in found]


async def unbalanced_kinds(tx: Tx) -> list[tuple[str, int]]:
    """(kind, sum of legs) for every kind of transfer whose legs do not sum to zero."""
    found = await tx.fetch_all(
        "SELECT t.kind, sum(e.amount) FROM entries e JOIN transfers t ON t.id = e.transfer_id"
        " GROUP BY t.kind HAVING sum(e.amount) <> 0 ORDER BY t.kind",
    )
    return [(str(row[0]), int(row[1])) for row in found]


async def orphan_entries(tx: Tx) -> int:
    """How many legs point at no transfer."""
    found = await tx.fetch_value(
        "SELECT count(*) FROM entries e WHERE NOT EXISTS"
        " (SELECT 1 FROM transfers t WHERE t.id = e.transfer_id)",
    )
    return int(found)


async def accounts_ever_negative(tx: Tx) -> list[tuple[str, int]]:
    """(account, lowest running balance) of every account but ``bank`` that ever went below 0."""
    found = await tx.fetch_all(
        "SELECT account, min(running) FROM (SELECT account, sum(amount) OVER"
        " (PARTITION BY account ORDER BY transfer_id) AS running FROM entries"
        " WHERE account <> 'bank') AS legs"
        " GROUP BY account HAVING min(running) < 0 ORDER BY account",
    )
    return [(str(row[0]), int(row[1])) for row in found]


async def worker_months_over(tx: Tx, cap: int) -> list[tuple[str, str, int]]:
    """(worker account, month, earned) wherever a worker's month of earnings exceeds ``cap``."""
    found = await tx.fetch_all(
        "SELECT credit_account, month, sum(amount) FROM transfers"
        f" WHERE {_EARNINGS_SQL} AND credit_account GLOB 'worker:*'"
        " GROUP BY credit_account, month HAVING sum(amount) > ? ORDER BY 1, 2",
        (cap,),
    )
    return [(str(row[0]), str(row[1]), int(row[2])) for row in found]


async def transfer_months(tx: Tx) -> list[tuple[int, str, datetime]]:
    """(id, stored month, created_at) of every transfer, to check months against TIMEZONE."""
    found = await tx.fetch_all("SELECT id, month, created_at FROM transfers ORDER BY id")
    return [(int(row[0]), str(row[1]), from_db_time(row[2])) for row in found]
