"""Worker availability: weekly windows, quiet hours, /ready, pauses, and who was served last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, WriteTx, maybe_time, to_db_time

DEFAULT_QUIET = "22:00-08:00"
EVERYONE = 2**31 - 1  # a LIMIT both backends take for "no limit"
FORGOTTEN = ""  # push_until of a span to work out again (migration 0017); sorts before any time


@dataclass(frozen=True)
class AvailabilityRecord:
    """A worker's stored preferences (defaults when they never set any)."""

    worker_id: int
    windows: str = ""
    quiet: str = DEFAULT_QUIET
    ready_until: datetime | None = None
    paused_at: datetime | None = None
    pause_reason: str | None = None
    last_served_at: datetime | None = None
    missed_in_a_row: int = 0


@dataclass(frozen=True)
class Candidate:
    """A registered, reachable, unpaused worker with no active task, and their preferences."""

    worker_id: int
    language: str
    timezone: str | None
    availability: AvailabilityRecord
    place: tuple[str, int] = ("", 0)  # where they stand in the push queue (``QueuePlace``)


def _record(row: Row, worker_id: int) -> AvailabilityRecord:
    return AvailabilityRecord(
        worker_id=worker_id,
        windows=row["windows"] if row["windows"] is not None else "",
        quiet=row["quiet"] if row["quiet"] is not None else DEFAULT_QUIET,
        ready_until=maybe_time(row["ready_until"]),
        paused_at=maybe_time(row["paused_at"]),
        pause_reason=row["pause_reason"],
        last_served_at=maybe_time(row["last_served_at"]),
        missed_in_a_row=int(row["missed_in_a_row"] or 0),
    )


async def get_availability(tx: Tx, worker_id: int) -> AvailabilityRecord:
    """A worker's preferences; the defaults when they have no row yet."""
    row = await tx.fetch_one("SELECT * FROM worker_availability WHERE worker_id = ?", (worker_id,))
    return AvailabilityRecord(worker_id) if row is None else _record(row, worker_id)


async def _ensure(tx: WriteTx, worker_id: int, stamp: str) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO worker_availability (worker_id, updated_at) VALUES (?, ?)",
        (worker_id, stamp),
    )


async def _update(tx: WriteTx, worker_id: int, now: datetime, changes: str, *args: object) -> None:
    """Apply ``SET changes`` (with ``args``) to a worker's row, creating it first if needed; the
    stored span of their time rules is to be worked out again (``FORGOTTEN``)."""
    stamp = to_db_time(now)
    await _ensure(tx, worker_id, stamp)
    await tx.execute(
        f"UPDATE worker_availability SET {changes}, push_until = ?, updated_at = ?"
        " WHERE worker_id = ?",
        (*args, FORGOTTEN, stamp, worker_id),
    )


async def set_windows(tx: WriteTx, worker_id: int, windows: str, now: datetime) -> None:
    """Store the canonical text of the worker's weekly windows ('' for none)."""
    await _update(tx, worker_id, now, "windows = ?", windows)


async def set_quiet(tx: WriteTx, worker_id: int, quiet: str, now: datetime) -> None:
    """Store quiet hours as ``HH:MM-HH:MM`` ('' for none)."""
    await _update(tx, worker_id, now, "quiet = ?", quiet)


async def set_ready(tx: WriteTx, worker_id: int, until: datetime | None, now: datetime) -> None:
    """Make the worker available until ``until`` (None ends it); being ready ends a pause."""
    if until is None:
        await _update(tx, worker_id, now, "ready_until = NULL")
        return
    await _update(
        tx,
        worker_id,
        now,
        "ready_until = ?, paused_at = NULL, pause_reason = NULL, missed_in_a_row = 0",
        to_db_time(until),
    )


async def set_paused(tx: WriteTx, worker_id: int, reason: str | None, now: datetime) -> bool:
    """Pause pushes (``reason``: 'worker' or 'timeouts') or resume (None); True if it changed."""
    stamp = to_db_time(now)
    await _ensure(tx, worker_id, stamp)
    if reason is None:
        cursor = await tx.execute(
            "UPDATE worker_availability SET paused_at = NULL, pause_reason = NULL,"
            " missed_in_a_row = 0, push_until = ?, updated_at = ?"
            " WHERE worker_id = ? AND paused_at IS NOT NULL",
            (FORGOTTEN, stamp, worker_id),
        )
    else:
        cursor = await tx.execute(
            "UPDATE worker_availability SET paused_at = ?, pause_reason = ?, updated_at = ?"
            " WHERE worker_id = ? AND paused_at IS NULL",
            (stamp, reason, stamp, worker_id),
        )
    return cursor.rowcount == 1


async def record_served(tx: WriteTx, worker_id: int, now: datetime) -> None:
    """Remember when a worker was last offered a task, inside the claim's transaction."""
    stamp = to_db_time(now)
    await tx.execute(  # one statement: the row is created if missing, else only stamped
        "INSERT INTO worker_availability (worker_id, updated_at, last_served_at) VALUES (?, ?, ?)"
        " ON CONFLICT (worker_id) DO UPDATE SET last_served_at = excluded.last_served_at",
        (worker_id, stamp, stamp),
    )


async def record_served_all(tx: WriteTx, worker_ids: list[int], now: datetime) -> None:
    """``record_served`` for several workers at once (a push pass's claims of one transaction)."""
    stamp = to_db_time(now)
    await tx.executemany(
        "INSERT INTO worker_availability (worker_id, updated_at, last_served_at) VALUES (?, ?, ?)"
        " ON CONFLICT (worker_id) DO UPDATE SET last_served_at = excluded.last_served_at",
        [(worker_id, stamp, stamp) for worker_id in worker_ids],
    )


async def record_missed(tx: WriteTx, worker_id: int, now: datetime) -> int:
    """Count one more task left to expire since the last answer; returns the new count."""
    await _ensure(tx, worker_id, to_db_time(now))
    row = await tx.fetch_one(
        "UPDATE worker_availability SET missed_in_a_row = missed_in_a_row + 1"
        " WHERE worker_id = ? RETURNING missed_in_a_row",
        (worker_id,),
    )
    return int(row[0]) if row is not None else 0


async def reset_missed(tx: WriteTx, worker_id: int) -> None:
    """An answer resets the count of expiries in a row."""
    await tx.execute(
        "UPDATE worker_availability SET missed_in_a_row = 0 WHERE worker_id = ?", (worker_id,)
    )


QueuePlace = tuple[str, int]
"""Where a worker stands in the push queue: when last served ('' for never), then their id."""


_QUEUE = (
    "SELECT u.id AS worker_id, u.language, u.timezone, w.*,"
    " coalesce(w.last_served_at, '') AS queued"
    " FROM worker_availability w{index}"
    " JOIN users u ON u.id = w.worker_id"
    " JOIN user_roles r ON r.user_id = w.worker_id AND r.role = 'worker'"
    " WHERE w.paused_at IS NULL AND u.consented_at IS NOT NULL AND u.blocked_at IS NULL"
    " AND u.unreachable_at IS NULL AND {when}"
    " AND NOT EXISTS (SELECT 1 FROM assignments a"
    "                 WHERE a.worker_id = w.worker_id AND a.state = 'active')"
    " AND coalesce(w.last_served_at, '') >= :start"
    " AND (coalesce(w.last_served_at, '') > :start OR w.worker_id > :worker)"
    " ORDER BY coalesce(w.last_served_at, ''), w.worker_id LIMIT :limit"
)
_ANY_TIME = _QUEUE.format(index="", when="(w.windows != '' OR w.ready_until > :now)")
_OPEN_NOW = _QUEUE.format(
    index=" INDEXED BY worker_availability_open",
    when="w.push_open = 1 AND w.push_from <= :now AND w.push_until > :now",
)


async def dispatch_candidates(
    tx: Tx,
    *,
    after: QueuePlace | None = None,
    limit: int | None = None,
    now: datetime | None = None,
    open_now: bool = False,
) -> list[Candidate]:
    """Workers who may get a push, before caps: registered, worker role, not blocked, reachable,
    not paused, and no active assignment; by default before time rules too, with a window or a
    /ready period (that still runs at ``now``, when given: without windows nothing else could
    make the worker available).

    ``open_now``: only those whose stored span (``store_spans``) says their time rules let a push
    come at ``now`` and holds then; the pass works out the spans that do not hold first
    (``stale_spans``), so these are the workers available now, read from the
    ``worker_availability_open`` index (migration 0017) and nobody else.

    Least recently served first (never served first of all), then by id: the queue's order,
    read as a range from ``after`` (a page's last ``Candidate.place``), at most ``limit``.
    """
    if open_now and now is None:
        raise ValueError("open_now needs the time it is asked for")
    start, worker = after if after is not None else ("", -1)
    rows = await tx.fetch_all(
        _OPEN_NOW if open_now else _ANY_TIME,
        {
            "start": start,
            "worker": worker,
            "limit": EVERYONE if limit is None else limit,
            "now": "" if now is None else to_db_time(now),
        },
    )
    return [_candidate(row) for row in rows]


def _candidate(row: Row) -> Candidate:
    worker_id = int(row["worker_id"])
    return Candidate(
        worker_id=worker_id,
        language=row["language"],
        timezone=row["timezone"],
        availability=_record(row, worker_id),
        place=(str(row["queued"]), worker_id),
    )


Span = tuple[int, bool, datetime, datetime]
"""A worker's stored span: (worker, available, from, until): whether their time rules let a push
come, from when (the time it was worked out) until the first instant that changes."""


async def stale_spans(tx: Tx, *, now: datetime, limit: int) -> list[Candidate]:
    """Unpaused workers whose stored span does not hold at ``now`` (it ended, starts later, or
    was forgotten), with their rules and zone; at most ``limit``, in no order."""
    rows = await tx.fetch_all(_STALE, {"now": to_db_time(now), "limit": limit})
    return [_candidate(row) for row in rows]


_SPAN_OF = (
    "SELECT u.id AS worker_id, u.language, u.timezone, w.*, '' AS queued"
    " FROM worker_availability w JOIN users u ON u.id = w.worker_id"
    " WHERE w.paused_at IS NULL AND "
)
# Two ranges of two indexes (migration 0017), disjoint: a span ended (or forgotten: ''), or one
# that starts after ``now`` (push_from never passes push_until). An OR made SQLite scan.
_STALE = (
    f"{_SPAN_OF} w.push_until <= :now UNION ALL"
    f" {_SPAN_OF} w.push_from > :now AND w.push_until > :now LIMIT :limit"
)


async def store_spans(tx: WriteTx, spans: list[Span]) -> None:
    """Keep what each worker's time rules say and until when (``stale_spans`` read them)."""
    await tx.executemany(
        "UPDATE worker_availability SET push_open = ?, push_from = ?, push_until = ?"
        " WHERE worker_id = ?",
        [
            (int(available), to_db_time(since), to_db_time(until), worker_id)
            for worker_id, available, since, until in spans
        ],
    )


async def forget_span(tx: WriteTx, worker_id: int) -> None:
    """Have one worker's stored span worked out again (their zone changed)."""
    await tx.execute(
        "UPDATE worker_availability SET push_until = ? WHERE worker_id = ?",
        (FORGOTTEN, worker_id),
    )


async def forget_spans(tx: WriteTx) -> int:
    """Have every stored span worked out again (at start: TIMEZONE or the zone rules may have
    changed since they were); returns how many."""
    cursor = await tx.execute(
        "UPDATE worker_availability SET push_until = ? WHERE push_until != ?",
        (FORGOTTEN, FORGOTTEN),
    )
    return max(cursor.rowcount, 0)


async def pause_type(
    tx: WriteTx, worker_id: int, task_type: str, reason: str, now: datetime
) -> None:
    """Keep a worker from one task type (quality rules); dispatch skips those batches."""
    await tx.execute(
        "INSERT INTO worker_type_pauses (worker_id, task_type, reason, paused_at)"
        " VALUES (?, ?, ?, ?)"
        " ON CONFLICT (worker_id, task_type) DO UPDATE SET reason = excluded.reason,"
        " paused_at = excluded.paused_at, detail = NULL",
        (worker_id, task_type, reason, to_db_time(now)),
    )


async def resume_type(tx: WriteTx, worker_id: int, task_type: str) -> bool:
    """Lift a per-type pause; True when there was one."""
    cursor = await tx.execute(
        "DELETE FROM worker_type_pauses WHERE worker_id = ? AND task_type = ?",
        (worker_id, task_type),
    )
    return cursor.rowcount == 1


async def paused_types(tx: Tx, worker_id: int) -> dict[str, str]:
    """The task types a worker is kept from, with the reason."""
    rows = await tx.fetch_all(
        "SELECT task_type, reason FROM worker_type_pauses WHERE worker_id = ?", (worker_id,)
    )
    return {row["task_type"]: row["reason"] for row in rows}
