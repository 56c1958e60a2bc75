"""The payouts' SQL: monthly statements, their steps with who and when, and month closes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage.db import Row, Tx, WriteTx, from_db_time, maybe_time, to_db_time
from storage.ledger import unstated_earnings

StatementState = Literal["pending", "approved", "held", "paid"]
AWAITING: tuple[StatementState, ...] = ("pending", "held", "approved")

_SELECT = (
    "SELECT s.*, u.first_name AS worker_name FROM statements s"
    " LEFT JOIN users u ON u.id = s.worker_id"
)
_ORDER = " ORDER BY s.month, s.worker_id"

# What each step writes beside the state: who, when, and the reason or the reference.
_STEP_COLUMNS: dict[StatementState, str] = {
    "approved": "approved_by = :actor, approved_at = :at",
    "held": "hold_reason = :detail, held_by = :actor, held_at = :at",
    "paid": "reference = :detail, payout_transfer_id = :transfer, paid_by = :actor, paid_at = :at",
}


@dataclass(frozen=True)
class Statement:
    """What a worker is owed for one month and where its review stands."""

    id: int
    worker_id: int
    worker_name: str | None  # users.first_name; None if the worker never wrote to the bot
    month: str
    amount: int
    state: StatementState
    hold_reason: str | None
    reference: str | None
    payout_transfer_id: int | None
    created_at: datetime
    approved_by: int | None
    approved_at: datetime | None
    held_by: int | None
    held_at: datetime | None
    paid_by: int | None
    paid_at: datetime | None


@dataclass(frozen=True)
class StatementEvent:
    """One step of a statement: from which state to which, by whom, when, and why."""

    statement_id: int
    from_state: StatementState | None
    to_state: StatementState
    actor_id: int | None
    detail: str
    created_at: datetime


def _statement(row: Row) -> Statement:
    return Statement(
        id=row["id"],
        worker_id=row["worker_id"],
        worker_name=row["worker_name"],
        month=row["month"],
        amount=row["amount"],
        state=row["state"],
        hold_reason=row["hold_reason"],
        reference=row["reference"],
        payout_transfer_id=row["payout_transfer_id"],
        created_at=from_db_time(row["created_at"]),
        approved_by=row["approved_by"],
        approved_at=maybe_time(row["approved_at"]),
        held_by=row["held_by"],
        held_at=maybe_time(row["held_at"]),
        paid_by=row["paid_by"],
        paid_at=maybe_time(row["paid_at"]),
    )


async def insert_statements(
    tx: WriteTx, month: str, amounts: Mapping[int, int], now: datetime
) -> list[int]:
    """Create a pending statement per worker id in ``amounts`` that has none for the month.

    Returns the ids created; UNIQUE (worker_id, month) makes a second run create nothing.
    """
    created: list[int] = []
    stamp = to_db_time(now)
    for worker_id, amount in sorted(amounts.items()):
        cursor = await tx.execute(
            "INSERT OR IGNORE INTO statements (worker_id, month, amount, created_at)"
            " VALUES (?, ?, ?, ?)",
            (worker_id, month, amount, stamp),
        )
        if cursor.rowcount == 1 and cursor.lastrowid is not None:
            created.append(cursor.lastrowid)
            await _insert_event(tx, cursor.lastrowid, None, "pending", None, "", stamp)
    return created


async def record_close(
    tx: WriteTx, month: str, *, actor_id: int | None, now: datetime, created: int
) -> bool:
    """Record that a month was closed; False when it already was (the first close is kept)."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO month_closes (month, closed_at, closed_by, statements_created)"
        " VALUES (?, ?, ?, ?)",
        (month, to_db_time(now), actor_id, created),
    )
    if cursor.rowcount == 0 and created:
        await tx.execute(
            "UPDATE month_closes SET statements_created = statements_created + ? WHERE month = ?",
            (created, month),
        )
    return cursor.rowcount == 1


async def month_is_closed(tx: Tx, month: str) -> bool:
    """True once a month's statements were made."""
    return await tx.fetch_value("SELECT 1 FROM month_closes WHERE month = ?", (month,)) is not None


async def statement_by_id(tx: Tx, statement_id: int) -> Statement | None:
    """The statement with this id, or None."""
    found = await tx.fetch_all(f"{_SELECT} WHERE s.id = ?", (statement_id,))
    return _statement(found[0]) if found else None


async def statements_by_ids(tx: Tx, ids: Sequence[int]) -> list[Statement]:
    """The statements with these ids, by month then worker."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    found = await tx.fetch_all(f"{_SELECT} WHERE s.id IN ({marks}){_ORDER}", tuple(ids))
    return [_statement(row) for row in found]


async def statements_in_states(tx: Tx, states: Sequence[StatementState]) -> list[Statement]:
    """Every statement in one of ``states``, by month then worker."""
    marks = ", ".join("?" for _ in states)
    found = await tx.fetch_all(f"{_SELECT} WHERE s.state IN ({marks}){_ORDER}", tuple(states))
    return [_statement(row) for row in found]


async def count_in_states(tx: Tx, states: Sequence[StatementState]) -> int:
    """How many statements are in one of ``states``."""
    marks = ", ".join("?" for _ in states)
    found = await tx.fetch_value(
        f"SELECT count(*) FROM statements WHERE state IN ({marks})", tuple(states)
    )
    return int(found or 0)


async def page_in_states(
    tx: Tx, states: Sequence[StatementState], *, offset: int, limit: int
) -> list[Statement]:
    """One page of the statements in ``states``, by id (a new statement only ever comes last,
    so a page's id range never gains a statement it did not show)."""
    marks = ", ".join("?" for _ in states)
    found = await tx.fetch_all(
        f"{_SELECT} WHERE s.state IN ({marks}) ORDER BY s.id LIMIT ? OFFSET ?",
        (*states, limit, offset),
    )
    return [_statement(row) for row in found]


async def statements_between(
    tx: Tx, first_id: int, last_id: int, states: Sequence[StatementState]
) -> list[Statement]:
    """The statements in one of ``states`` with an id from ``first_id`` to ``last_id``, by id."""
    marks = ", ".join("?" for _ in states)
    found = await tx.fetch_all(
        f"{_SELECT} WHERE s.id BETWEEN ? AND ? AND s.state IN ({marks}) ORDER BY s.id",
        (first_id, last_id, *states),
    )
    return [_statement(row) for row in found]


async def statements_in_month(tx: Tx, month: str) -> list[Statement]:
    """Every statement of a month, by worker."""
    found = await tx.fetch_all(f"{_SELECT} WHERE s.month = ?{_ORDER}", (month,))
    return [_statement(row) for row in found]


async def statement_of(tx: Tx, worker_id: int, month: str) -> Statement | None:
    """A worker's statement for a month, or None."""
    found = await tx.fetch_all(
        f"{_SELECT} WHERE s.worker_id = ? AND s.month = ?", (worker_id, month)
    )
    return _statement(found[0]) if found else None


async def move_statement(
    tx: WriteTx,
    statement_id: int,
    *,
    from_state: StatementState,
    to_state: StatementState,
    actor_id: int,
    now: datetime,
    detail: str = "",
    payout_transfer_id: int | None = None,
) -> bool:
    """Move a statement from ``from_state`` to ``to_state`` and record the step.

    False (and nothing written) when the statement was not in ``from_state``.
    """
    stamp = to_db_time(now)
    params: dict[str, Any] = {
        "state": to_state,
        "actor": actor_id,
        "at": stamp,
        "detail": detail,
        "transfer": payout_transfer_id,
        "id": statement_id,
        "from": from_state,
    }
    cursor = await tx.execute(
        f"UPDATE statements SET state = :state, {_STEP_COLUMNS[to_state]}"
        " WHERE id = :id AND state = :from",
        params,
    )
    if cursor.rowcount != 1:
        return False
    await _insert_event(tx, statement_id, from_state, to_state, actor_id, detail, stamp)
    return True


async def _insert_event(
    tx: WriteTx,
    statement_id: int,
    from_state: StatementState | None,
    to_state: StatementState,
    actor_id: int | None,
    detail: str,
    stamp: str,
) -> None:
    await tx.execute(
        "INSERT INTO statement_events (statement_id, from_state, to_state, actor_id, detail,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (statement_id, from_state, to_state, actor_id, detail, stamp),
    )


async def statement_events(tx: Tx, statement_id: int) -> list[StatementEvent]:
    """Every step a statement took, oldest first."""
    found = await tx.fetch_all(
        "SELECT * FROM statement_events WHERE statement_id = ? ORDER BY id",
        (statement_id,),
    )
    return [
        StatementEvent(
            statement_id=row["statement_id"],
            from_state=row["from_state"],
            to_state=row["to_state"],
            actor_id=row["actor_id"],
            detail=row["detail"],
            created_at=from_db_time(row["created_at"]),
        )
        for row in found
    ]


# Health: each query returns what breaks one invariant (nothing when healthy).


async def paid_statements_without_payout(tx: Tx) -> list[int]:
    """Paid statements whose payout transfer is missing or does not match the statement."""
    found = await tx.fetch_all(
        "SELECT s.id FROM statements s LEFT JOIN transfers t ON t.id = s.payout_transfer_id"
        " WHERE s.state = 'paid' AND (t.id IS NULL OR t.kind <> 'payout'"
        "  OR t.idempotency_key <> 'payout:' || s.id OR t.amount <> s.amount"
        "  OR t.debit_account <> 'worker:' || s.worker_id OR t.credit_account <> 'bank')"
        " ORDER BY s.id",
    )
    return [int(row[0]) for row in found]


async def payouts_without_paid_statement(tx: Tx) -> list[int]:
    """Payout transfers that no paid statement points at (money left with no statement)."""
    found = await tx.fetch_all(
        "SELECT t.id FROM transfers t WHERE t.kind = 'payout' AND NOT EXISTS"
        " (SELECT 1 FROM statements s WHERE s.payout_transfer_id = t.id AND s.state = 'paid')"
        " ORDER BY t.id",
    )
    return [int(row[0]) for row in found]


async def statements_unlike_earnings(tx: Tx) -> list[tuple[int, int, int]]:
    """(statement id, amount, earned) where a statement differs from the month's earnings."""
    found = await tx.fetch_all(
        "SELECT id, amount, earned FROM (SELECT s.id, s.amount,"
        " (SELECT coalesce(sum(t.amount), 0) FROM transfers t"
        "  WHERE t.credit_account = 'worker:' || s.worker_id AND t.month = s.month"
        "  AND t.kind IN ('reward', 'bonus')) AS earned"
        " FROM statements s) AS checked WHERE amount <> earned ORDER BY id",
    )
    return [(int(row[0]), int(row[1]), int(row[2])) for row in found]


CLOSED_MISSING_STATEMENTS = (
    "SELECT earned.month, earned.worker_id FROM"
    + unstated_earnings("JOIN month_closes c ON c.month = t.month WHERE")
    + " ORDER BY 1, 2"
)


async def closed_months_missing_statements(tx: Tx) -> list[tuple[str, int]]:
    """(month, worker id) where a closed month has earnings but the worker has no statement."""
    found = await tx.fetch_all(CLOSED_MISSING_STATEMENTS)
    return [(str(row[0]), int(row[1])) for row in found]
