"""Domain room of muted requesters (issue 14; no Telegram): a worker mutes the requester behind
the task in front of them (that task is given back without penalty) and is never offered that
requester's batches again, until ``/unmute``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.errors import InvalidInput, NotFound, PermissionDenied
from storage.assignments import Assignment, end_active, get_assignment
from storage.availability import reset_missed
from storage.batches import get_batch
from storage.db import Database
from storage.mutes import Muted, mute, muted_by, unmute
from storage.reputation import requester_name

__all__ = ["Muted", "Muting", "mute_from_task", "muted", "unmute_requester"]


@dataclass(frozen=True)
class Muting:
    """A mute taken: the requester, by name, and the task it gave back (None if it had ended)."""

    requester_id: int
    name: str
    released: Assignment | None
    title: str


async def mute_from_task(db: Database, assignment_id: int, worker_id: int, now: datetime) -> Muting:
    """Mute the requester of the worker's own task and give that task back if still active."""
    async with db.write() as tx:
        assignment = await get_assignment(tx, assignment_id)
        if assignment is None:
            raise NotFound("tasks.refused.unknown")
        if assignment.worker_id != worker_id:
            raise PermissionDenied("tasks.refused.not_yours")
        batch = await get_batch(tx, assignment.batch_id)
        if batch is None:
            raise NotFound("tasks.refused.unknown")
        await mute(tx, worker_id, batch.requester_id, now)
        released = await end_active(tx, assignment_id, state="released", reason="muted", now=now)
        if released is not None:
            await reset_missed(tx, worker_id)
        name = await requester_name(tx, batch.requester_id)
    return Muting(batch.requester_id, name, released, batch.title)


async def unmute_requester(db: Database, worker_id: int, requester_id: int) -> Muted:
    """Offer a muted requester's batches again; ``InvalidInput`` when they were not muted."""
    async with db.write() as tx:
        found = [m for m in await muted_by(tx, worker_id) if m.requester_id == requester_id]
        if not found or not await unmute(tx, worker_id, requester_id):
            raise InvalidInput("mutes.not_muted")
    return found[0]


async def muted(db: Database, worker_id: int) -> list[Muted]:
    """The requesters a worker muted."""
    return await db.run_read(muted_by, worker_id)
