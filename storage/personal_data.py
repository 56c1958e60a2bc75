"""Storage room of a person's data (issue 12, item 11): everything kept about them for /mydata,
erasure for /forgetme, and consent withdrawn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.conversations import forget_person
from storage.db import Tx, WriteTx, to_db_time

# What /mydata exports: a name for each part and the query reading the person's rows (one "?").
EXPORT_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "profile",
        "SELECT id, first_name, username, language, timezone, consented_at, blocked_at,"
        " blocked_reason, unreachable_at, erased_at, created_at FROM users WHERE id = ?",
    ),
    ("roles", "SELECT role, granted_by, granted_at FROM user_roles WHERE user_id = ?"),
    ("availability", "SELECT * FROM worker_availability WHERE worker_id = ?"),
    (
        "answers",
        "SELECT a.id AS assignment_id, b.title AS batch_title, b.type AS task_type, a.state,"
        " a.reward, a.offered_at, a.shown_at, a.answer, a.duration_ms, a.speed_flag,"
        " a.ended_at, a.end_reason FROM assignments a JOIN batches b ON b.id = a.batch_id"
        " WHERE a.worker_id = ? ORDER BY a.id",
    ),
    (
        "ledger",
        "SELECT t.id AS transfer_id, t.kind, e.amount, t.created_at FROM entries e"
        " JOIN transfers t ON t.id = e.transfer_id WHERE e.account = 'worker:' || ?"
        " ORDER BY t.id",
    ),
    (
        "statements",
        "SELECT id, month, amount, state, hold_reason, reference, created_at, approved_at,"
        " paid_at FROM statements WHERE worker_id = ? ORDER BY month",
    ),
    (
        "gold_scores",
        "SELECT assignment_id, task_type, score, scored_at FROM gold_results"
        " WHERE worker_id = ? ORDER BY assignment_id",
    ),
    ("type_pauses", "SELECT * FROM worker_type_pauses WHERE worker_id = ?"),
    ("type_pause_lifts", "SELECT * FROM type_pause_lifts WHERE worker_id = ?"),
    ("level", "SELECT * FROM worker_levels WHERE worker_id = ?"),
    (
        "appeals",
        "SELECT id, text, state, created_at, decided_at, task_type FROM appeals"
        " WHERE worker_id = ? ORDER BY id",
    ),
    (
        "reports",
        "SELECT id, assignment_id, batch_id, reason, state, created_at FROM task_reports"
        " WHERE worker_id = ? ORDER BY id",
    ),
    ("mutes", "SELECT requester_id, muted_at FROM worker_mutes WHERE worker_id = ?"),
    ("preferred_in_batches", "SELECT batch_id FROM overlap_preferred WHERE worker_id = ?"),
    (
        "payout_details",
        "SELECT holder, iban, bic, updated_at FROM payout_details WHERE worker_id = ?",
    ),
)


async def person_rows(tx: Tx, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every part of ``EXPORT_QUERIES`` for one person, as plain rows (column: value)."""
    parts: dict[str, list[dict[str, Any]]] = {}
    for name, query in EXPORT_QUERIES:
        rows = await tx.fetch_all(query, (user_id,))
        parts[name] = [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]
    return parts


async def withdraw_consent(tx: WriteTx, user_id: int, now: datetime) -> bool:
    """Consent withdrawn: no more pushes until they consent again. True when it changed."""
    cursor = await tx.execute(
        "UPDATE users SET consented_at = NULL, updated_at = ?"
        " WHERE id = ? AND consented_at IS NOT NULL",
        (to_db_time(now), user_id),
    )
    return cursor.rowcount == 1


async def erase_person(tx: WriteTx, user_id: int, pseudonym: str, now: datetime) -> bool:
    """Erase a person's personal data; ledger entries, answers and statements stay (accounting
    records, under the pseudonym). True the first time; a repeat changes nothing."""
    stamp = to_db_time(now)
    cursor = await tx.execute(
        "UPDATE users SET first_name = ?, username = NULL, timezone = NULL,"
        " consented_at = NULL, erased_at = ?, updated_at = ? WHERE id = ? AND erased_at IS NULL",
        (pseudonym, stamp, stamp, user_id),
    )
    if cursor.rowcount != 1:
        return False
    for table in ("worker_availability", "payout_details", "worker_mutes", "overlap_preferred"):
        await tx.execute(f"DELETE FROM {table} WHERE worker_id = ?", (user_id,))
    await forget_person(tx, user_id)
    return True
