"""Quality records: the server secret, gold scores, speed flags, per-type pauses and appeals.

Functions taking a ``WriteTx`` run inside the caller's write transaction (the answer's); those
taking a ``Tx`` read through whichever transaction the caller holds.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage.db import Row, Tx, WriteTx, maybe_time, to_db_time

PauseReason = Literal["accuracy", "speed"]
AppealState = Literal["open", "lifted", "kept"]


# -- the server secret --------------------------------------------------------------------------


async def server_secret(tx: WriteTx, name: str, now: datetime) -> str:
    """The secret called ``name``: created at first use (random, 32 bytes), then always the same."""
    await tx.execute(
        "INSERT OR IGNORE INTO settings_secrets (name, secret, created_at) VALUES (?, ?, ?)",
        (name, secrets.token_hex(32), to_db_time(now)),
    )
    row = await tx.fetch_one("SELECT secret FROM settings_secrets WHERE name = ?", (name,))
    assert row is not None
    return str(row[0])


# -- gold scores ---------------------------------------------------------------------------------


async def record_gold(
    tx: WriteTx,
    *,
    assignment_id: int,
    worker_id: int,
    task_type: str,
    item_id: int,
    score: float,
    now: datetime,
) -> None:
    """Store the score of a gold answer (once per assignment)."""
    await tx.execute(
        "INSERT INTO gold_results (assignment_id, worker_id, task_type, item_id, score, scored_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (assignment_id, worker_id, task_type, item_id, score, to_db_time(now)),
    )


async def gold_scores(
    tx: Tx, worker_id: int, task_type: str, *, since: datetime | None = None
) -> list[float]:
    """A worker's gold scores on one type, oldest first (only those after ``since``)."""
    rows = await tx.fetch_all(
        "SELECT score FROM gold_results WHERE worker_id = ? AND task_type = ? AND scored_at > ?"
        " ORDER BY assignment_id",
        (worker_id, task_type, to_db_time(since) if since else ""),
    )
    return [float(row[0]) for row in rows]


async def gold_scores_by_type(tx: Tx, worker_id: int) -> dict[str, list[float]]:
    """Every gold score of a worker, by task type."""
    rows = await tx.fetch_all(
        "SELECT task_type, score FROM gold_results WHERE worker_id = ? ORDER BY assignment_id",
        (worker_id,),
    )
    found: dict[str, list[float]] = {}
    for row in rows:
        found.setdefault(str(row[0]), []).append(float(row[1]))
    return found


async def gold_scores_of_workers(
    tx: Tx, worker_ids: Sequence[int], task_type: str
) -> dict[int, list[float]]:
    """The gold scores on one type of several workers (for the weights of their votes)."""
    if not worker_ids:
        return {}
    marks = ", ".join("?" for _ in worker_ids)
    rows = await tx.fetch_all(
        f"SELECT worker_id, score FROM gold_results WHERE task_type = ? AND worker_id IN ({marks})"
        " ORDER BY assignment_id",
        (task_type, *worker_ids),
    )
    found: dict[int, list[float]] = {worker_id: [] for worker_id in worker_ids}
    for row in rows:
        found[int(row[0])].append(float(row[1]))
    return found


# -- gold mixing view ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldView:
    """What the gold-mixing rule needs about one worker in one batch."""

    batch_id: int
    worker_id: int
    served: int  # assignments the worker was ever offered in the batch
    gold_item_ids: tuple[int, ...]  # gold items of the batch still open
    seen_item_ids: frozenset[int]  # items of the batch the worker was offered
    secret: str
    type_gold_answers: int = 0  # the worker's gold answers of the batch's type, in any batch


async def open_gold_items(tx: Tx, batch_id: int) -> tuple[int, ...]:
    """A batch's open gold items in order (the ``items_open_gold`` index, migration 0015)."""
    rows = await tx.fetch_all(
        "SELECT id FROM items WHERE batch_id = ? AND gold_answer IS NOT NULL AND state = 'open'"
        " ORDER BY position",
        (batch_id,),
    )
    return tuple(int(row[0]) for row in rows)


async def batches_with_open_gold(tx: Tx) -> frozenset[int]:
    """The batches with an open gold item (a push pass reads it once per write transaction)."""
    rows = await tx.fetch_all(
        "SELECT DISTINCT batch_id FROM items WHERE gold_answer IS NOT NULL AND state = 'open'"
    )
    return frozenset(int(row[0]) for row in rows)


async def gold_view(
    tx: Tx, batch_id: int, worker_id: int, secret: str, gold: tuple[int, ...] | None = None
) -> GoldView:
    """A worker's history in a batch and its open gold items (``gold`` when already read), in
    the claim's transaction."""
    if gold is None:
        gold = await open_gold_items(tx, batch_id)
    seen = await tx.fetch_all(
        "SELECT item_id FROM assignments WHERE batch_id = ? AND worker_id = ?",
        (batch_id, worker_id),
    )
    on_type = await tx.fetch_value(
        "SELECT count(*) FROM gold_results WHERE worker_id = ?"
        " AND task_type = (SELECT type FROM batches WHERE id = ?)",
        (worker_id, batch_id),
    )
    return GoldView(
        batch_id=batch_id,
        worker_id=worker_id,
        served=len(seen),
        gold_item_ids=gold,
        seen_item_ids=frozenset(int(row[0]) for row in seen),
        secret=secret,
        type_gold_answers=int(on_type or 0),
    )


# -- speed flags ---------------------------------------------------------------------------------


async def flag_speed(tx: WriteTx, assignment_id: int) -> None:
    """Mark an answer as implausibly fast."""
    await tx.execute("UPDATE assignments SET speed_flag = 1 WHERE id = ?", (assignment_id,))


async def recent_speed_flags(
    tx: Tx, worker_id: int, task_type: str, *, window: int, since: datetime | None
) -> list[bool]:
    """The flags of a worker's last ``window`` answers of a type (after ``since``), oldest first."""
    rows = await tx.fetch_all(
        "SELECT a.speed_flag FROM assignments a JOIN batches b ON b.id = a.batch_id"
        " WHERE a.worker_id = ? AND b.type = ? AND a.state = 'submitted' AND a.ended_at > ?"
        " ORDER BY a.id DESC LIMIT ?",
        (worker_id, task_type, to_db_time(since) if since else "", window),
    )
    return [bool(row[0]) for row in reversed(rows)]


async def speed_flags_by_type(tx: Tx, worker_id: int) -> dict[str, int]:
    """How many of a worker's answers were flagged as too fast, by type."""
    rows = await tx.fetch_all(
        "SELECT b.type, count(*) FROM assignments a JOIN batches b ON b.id = a.batch_id"
        " WHERE a.worker_id = ? AND a.speed_flag = 1 GROUP BY b.type",
        (worker_id,),
    )
    return {str(row[0]): int(row[1]) for row in rows}


# -- per-type pauses -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TypePause:
    """A worker kept from a task type, why, and the numbers behind it."""

    worker_id: int
    task_type: str
    reason: str
    detail: dict[str, Any]
    paused_at: datetime


def _pause(row: Row) -> TypePause:
    paused_at = maybe_time(row["paused_at"])
    assert paused_at is not None
    return TypePause(
        worker_id=int(row["worker_id"]),
        task_type=str(row["task_type"]),
        reason=str(row["reason"]),
        detail=json.loads(row["detail"]) if row["detail"] else {},
        paused_at=paused_at,
    )


async def pause_type_in(
    tx: WriteTx,
    worker_id: int,
    task_type: str,
    reason: PauseReason,
    detail: dict[str, Any],
    now: datetime,
) -> bool:
    """Keep a worker from a type; False when already kept from it (the first reason stays)."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO worker_type_pauses (worker_id, task_type, reason, paused_at, detail)"
        " VALUES (?, ?, ?, ?, ?)",
        (worker_id, task_type, reason, to_db_time(now), json.dumps(detail)),
    )
    return cursor.rowcount == 1


async def type_pauses(tx: Tx, worker_id: int) -> list[TypePause]:
    """The types a worker is kept from."""
    rows = await tx.fetch_all(
        "SELECT * FROM worker_type_pauses WHERE worker_id = ? ORDER BY task_type",
        (worker_id,),
    )
    return [_pause(row) for row in rows]


async def lift_type_pause(
    tx: WriteTx, worker_id: int, task_type: str, *, by: int, now: datetime
) -> TypePause | None:
    """Lift a pause and remember when (later checks start afresh); None when there was none."""
    row = await tx.fetch_one(
        "DELETE FROM worker_type_pauses WHERE worker_id = ? AND task_type = ? RETURNING *",
        (worker_id, task_type),
    )
    if row is None:
        return None
    pause = _pause(row)
    await tx.execute(
        "INSERT INTO type_pause_lifts (worker_id, task_type, reason, lifted_by, lifted_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (worker_id, task_type, pause.reason, by, to_db_time(now)),
    )
    return pause


async def last_lift(tx: Tx, worker_id: int, task_type: str) -> datetime | None:
    """When an admin last lifted a pause of this type for this worker."""
    rows = await tx.fetch_all(
        "SELECT max(lifted_at) FROM type_pause_lifts WHERE worker_id = ? AND task_type = ?",
        (worker_id, task_type),
    )
    return maybe_time(rows[0][0]) if rows else None


# -- appeals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Appeal:
    id: int
    worker_id: int
    text: str
    state: AppealState
    created_at: datetime
    decided_by: int | None
    task_type: str | None


def _appeal(row: Row) -> Appeal:
    created = maybe_time(row["created_at"])
    assert created is not None
    return Appeal(
        id=int(row["id"]),
        worker_id=int(row["worker_id"]),
        text=str(row["text"]),
        state=row["state"],
        created_at=created,
        decided_by=row["decided_by"],
        task_type=row["task_type"],
    )


async def create_appeal(tx: WriteTx, worker_id: int, text: str, now: datetime) -> Appeal | None:
    """A new open appeal; None when the worker already has one open."""
    row = await tx.fetch_one(
        "INSERT OR IGNORE INTO appeals (worker_id, text, created_at) VALUES (?, ?, ?) RETURNING *",
        (worker_id, text, to_db_time(now)),
    )
    return None if row is None else _appeal(row)


async def fetch_appeal(tx: Tx, appeal_id: int) -> Appeal | None:
    rows = await tx.fetch_all("SELECT * FROM appeals WHERE id = ?", (appeal_id,))
    return _appeal(rows[0]) if rows else None


async def decide_appeal(
    tx: WriteTx,
    appeal_id: int,
    *,
    state: Literal["lifted", "kept"],
    by: int,
    task_type: str | None,
    now: datetime,
) -> bool:
    """Close an open appeal with the admin's decision; False when it was no longer open."""
    cursor = await tx.execute(
        "UPDATE appeals SET state = ?, decided_by = ?, decided_at = ?, task_type = ?"
        " WHERE id = ? AND state = 'open'",
        (state, by, to_db_time(now), task_type, appeal_id),
    )
    return cursor.rowcount == 1


# -- a worker's own numbers ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimedReward:
    reward: int
    duration_ms: int


async def submitted_rewards(tx: Tx, worker_id: int) -> list[TimedReward]:
    """Reward and measured duration of each of a worker's submitted answers."""
    rows = await tx.fetch_all(
        "SELECT reward, duration_ms FROM assignments"
        " WHERE worker_id = ? AND state = 'submitted' AND duration_ms IS NOT NULL",
        (worker_id,),
    )
    return [TimedReward(int(row[0]), int(row[1])) for row in rows]
