"""Storage room: what ``make faultrun`` checks after crashes (issue 11), all its SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.db import Tx, to_db_time


async def credits_of(tx: Tx, assignment_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """(state, reward transfers keyed to it) of each assignment asked for that exists."""
    found: dict[int, tuple[str, int]] = {}
    for start in range(0, len(assignment_ids), 500):
        chunk = assignment_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = await tx.fetch_all(
            "SELECT a.id, a.state, (SELECT count(*) FROM transfers t WHERE t.kind = 'reward'"
            " AND t.idempotency_key = 'answer:' || a.id) FROM assignments a"
            f" WHERE a.id IN ({marks})",
            tuple(chunk),
        )
        found.update({int(row[0]): (str(row[1]), int(row[2])) for row in rows})
    return found


async def stuck_assignments(tx: Tx, *, now: datetime, shown_by: datetime) -> list[int]:
    """Active assignments past their deadline, or claimed before ``shown_by`` and never shown."""
    rows = await tx.fetch_all(
        "SELECT id FROM assignments WHERE state = 'active'"
        " AND ((deadline IS NOT NULL AND deadline < ?)"
        " OR (deadline IS NULL AND offered_at < ?)) ORDER BY id",
        (to_db_time(now), to_db_time(shown_by)),
    )
    return [int(row[0]) for row in rows]


async def answers_without_one_credit(tx: Tx) -> list[int]:
    """Submitted assignments with no reward transfer, or with more than one."""
    rows = await tx.fetch_all(
        "SELECT a.id FROM assignments a WHERE a.state = 'submitted' AND (SELECT count(*)"
        " FROM transfers t WHERE t.kind = 'reward' AND t.idempotency_key = 'answer:' || a.id)"
        " <> 1 ORDER BY a.id"
    )
    return [int(row[0]) for row in rows]


async def count_in_state(tx: Tx, state: str) -> int:
    """How many assignments are in ``state`` (``expired``: deadlines that fired)."""
    return int(await tx.fetch_value("SELECT count(*) FROM assignments WHERE state = ?", (state,)))
