"""Domain room of a worker's own state (no Telegram): when they take tasks (windows, quiet hours,
a /ready period, a pause) and the assignment they hold. Handlers reach this state only here."""

from __future__ import annotations

from datetime import datetime

from bot.tasks import task_type
from storage.assignments import Assignment as Assignment
from storage.assignments import active_assignment_of, assignment_for_message
from storage.availability import AvailabilityRecord as AvailabilityRecord
from storage.availability import get_availability, set_paused, set_quiet, set_ready, set_windows
from storage.batches import get_batch
from storage.db import Database, Tx


async def availability_record(db: Database, worker_id: int) -> AvailabilityRecord:
    """The worker's stored windows, quiet hours, /ready period and pause."""
    return await db.run_read(get_availability, worker_id)


async def keep_windows(db: Database, worker_id: int, windows: str, now: datetime) -> None:
    """Store the worker's weekly windows (``mon-fri 07:30-09:00``, normalised)."""
    await db.run_write(set_windows, worker_id, windows, now)


async def keep_quiet(db: Database, worker_id: int, quiet: str, now: datetime) -> None:
    """Store the worker's quiet hours."""
    await db.run_write(set_quiet, worker_id, quiet, now)


async def ready_until(db: Database, worker_id: int, until: datetime | None, now: datetime) -> None:
    """Push tasks to the worker until ``until`` (None ends the /ready period)."""
    await db.run_write(set_ready, worker_id, until, now)


async def pause(db: Database, worker_id: int, reason: str | None, now: datetime) -> bool:
    """Pause pushes (``reason``) or resume them (None); True when the state changed."""
    return await db.run_write(set_paused, worker_id, reason, now)


async def active_assignment(db: Database, worker_id: int) -> Assignment | None:
    """The task the worker holds now, if any (at most one)."""
    return await db.run_read(active_assignment_of, worker_id)


async def transcription_answered(
    db: Database, worker_id: int, chat_id: int, reply_to: int | None
) -> Assignment | None:
    """The assignment a text answers: the one whose clip or prompt it replies to, else the
    worker's active task if its type is answered by text; None when the text answers no task.

    A reply to a message not known yet may answer the active task whose message id is not
    stored yet: the worker replied the moment it appeared, before the bot recorded it."""
    return await db.run_read(_answered_in, worker_id, chat_id, reply_to)


async def _answered_in(
    tx: Tx, worker_id: int, chat_id: int, reply_to: int | None
) -> Assignment | None:
    if reply_to is not None:
        replied = await assignment_for_message(tx, chat_id, reply_to)
        if replied is not None:
            return replied
    assignment = await active_assignment_of(tx, worker_id)
    if assignment is None:
        return None
    if reply_to is not None and not _may_reply_to(assignment, reply_to):
        return None
    batch = await get_batch(tx, assignment.batch_id)
    if batch is None or not task_type(batch.type).takes_text:
        return None
    return assignment


def _may_reply_to(assignment: Assignment, reply_to: int) -> bool:
    """Whether a reply to message ``reply_to`` answers this active task: one of its messages,
    or a message of a task on screen whose ids are not stored yet."""
    if reply_to in (assignment.message_id, assignment.prompt_message_id):
        return True
    return assignment.message_id is None and assignment.shown_at is not None
