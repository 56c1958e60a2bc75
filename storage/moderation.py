"""Storage room of moderation: blocks, roles taken back, pending ledger corrections and what
``/user`` shows of someone's activity. Every function takes the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.db import Row, Tx, WriteTx, maybe_time, to_db_time
from storage.users import Role

CorrectionState = Literal["pending", "confirmed", "cancelled"]


async def set_block(tx: WriteTx, user_id: int, reason: str, now: datetime) -> bool:
    """Block a user with a reason; False when they were blocked already (the reason stays)."""
    stamp = to_db_time(now)
    cursor = await tx.execute(
        "UPDATE users SET blocked_at = ?, blocked_reason = ?, updated_at = ?"
        " WHERE id = ? AND blocked_at IS NULL",
        (stamp, reason, stamp, user_id),
    )
    return cursor.rowcount == 1


async def clear_block(tx: WriteTx, user_id: int, now: datetime) -> bool:
    """Lift a block; False when the user was not blocked."""
    cursor = await tx.execute(
        "UPDATE users SET blocked_at = NULL, blocked_reason = NULL, updated_at = ?"
        " WHERE id = ? AND blocked_at IS NOT NULL",
        (to_db_time(now), user_id),
    )
    return cursor.rowcount == 1


async def delete_role(tx: WriteTx, user_id: int, role: Role) -> bool:
    """Take a role back; False when it was not held."""
    cursor = await tx.execute(
        "DELETE FROM user_roles WHERE user_id = ? AND role = ?", (user_id, role)
    )
    return cursor.rowcount == 1


async def configured_roles(tx: Tx, role: Role) -> list[int]:
    """Ids holding ``role`` from configuration (no admin granted it: ``granted_by`` is NULL)."""
    rows = await tx.fetch_all(
        "SELECT user_id FROM user_roles WHERE role = ? AND granted_by IS NULL ORDER BY user_id",
        (role,),
    )
    return [int(row["user_id"]) for row in rows]


async def last_activity(tx: Tx, user_id: int) -> datetime | None:
    """The last time the user wrote to the bot or a task of theirs ended, whichever is later."""
    value = await tx.fetch_value(
        "SELECT CASE WHEN coalesce(u.updated_at, '') >= coalesce(l.ended, '')"
        " THEN u.updated_at ELSE l.ended END"
        " FROM users u, (SELECT max(ended_at) AS ended FROM assignments WHERE worker_id = ?) l"
        " WHERE u.id = ?",
        (user_id, user_id),
    )
    return maybe_time(value) if value else None


@dataclass(frozen=True)
class PendingCorrection:
    """A ledger correction one admin proposed and another must confirm."""

    id: int
    debit_account: str
    credit_account: str
    amount: int
    reason: str
    proposed_by: int
    proposed_at: datetime
    state: CorrectionState
    decided_by: int | None
    transfer_id: int | None


def _correction(row: Row) -> PendingCorrection:
    proposed_at = maybe_time(row["proposed_at"])
    assert proposed_at is not None
    return PendingCorrection(
        id=row["id"],
        debit_account=row["debit_account"],
        credit_account=row["credit_account"],
        amount=row["amount"],
        reason=row["reason"],
        proposed_by=row["proposed_by"],
        proposed_at=proposed_at,
        state=row["state"],
        decided_by=row["decided_by"],
        transfer_id=row["transfer_id"],
    )


async def insert_correction(
    tx: WriteTx,
    *,
    debit_account: str,
    credit_account: str,
    amount: int,
    reason: str,
    proposed_by: int,
    now: datetime,
) -> PendingCorrection:
    """Store a proposed correction, pending."""
    row = await tx.fetch_one(
        "INSERT INTO pending_corrections"
        " (debit_account, credit_account, amount, reason, proposed_by, proposed_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        (debit_account, credit_account, amount, reason, proposed_by, to_db_time(now)),
    )
    assert row is not None
    return _correction(row)


async def correction_by_id(tx: Tx, correction_id: int) -> PendingCorrection | None:
    """The correction with this id, or None."""
    row = await tx.fetch_one("SELECT * FROM pending_corrections WHERE id = ?", (correction_id,))
    return None if row is None else _correction(row)


async def decide_correction(
    tx: WriteTx,
    correction_id: int,
    *,
    state: CorrectionState,
    by: int,
    now: datetime,
    transfer_id: int | None,
) -> bool:
    """Close a pending correction; False when it was not pending any more."""
    cursor = await tx.execute(
        "UPDATE pending_corrections SET state = ?, decided_by = ?, decided_at = ?, transfer_id = ?"
        " WHERE id = ? AND state = 'pending'",
        (state, by, to_db_time(now), transfer_id, correction_id),
    )
    return cursor.rowcount == 1
