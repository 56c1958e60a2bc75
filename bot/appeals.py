"""Appeals: a worker kept from a type (or blocked) asks the admins; an admin lifts or keeps.

Plain rules, no Telegram. Every decision is re-checked here (the caller's role, the appeal
still open, the pause still there), whatever the button said, and written to the audit log in
the same transaction as its effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.errors import InvalidInput, NotFound, PermissionDenied
from storage.audit import write_audit
from storage.db import Database
from storage.moderation import clear_block
from storage.quality import Appeal as Appeal
from storage.quality import (
    create_appeal,
    decide_appeal,
    fetch_appeal,
    lift_type_pause,
    type_pauses,
)
from storage.users import get_user, roles_of

MAX_APPEAL_CHARS = 500


async def file_appeal(db: Database, worker_id: int, text: str, now: datetime) -> Appeal:
    """Record an appeal; refused without text, when nothing is paused, or while one is open."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput("quality.appeal.usage")
    if len(cleaned) > MAX_APPEAL_CHARS:
        raise InvalidInput("quality.appeal.too_long", most=MAX_APPEAL_CHARS)
    async with db.write() as tx:
        user = await get_user(tx, worker_id)
        blocked = user is not None and user.blocked_at is not None
        if not blocked and not await type_pauses(tx, worker_id):
            raise InvalidInput("quality.appeal.not_paused")
        appeal = await create_appeal(tx, worker_id, cleaned, now)
    if appeal is None:
        raise InvalidInput("quality.appeal.already_open")
    return appeal


@dataclass(frozen=True)
class Decision:
    """An admin's decision on an appeal, as done."""

    appeal: Appeal
    outcome: Literal["lifted", "kept"]
    task_type: str | None


async def decide(
    db: Database,
    appeal_id: int,
    admin_id: int,
    outcome: Literal["lifted", "kept"],
    task_type: str | None,
    now: datetime,
) -> Decision:
    """Lift one paused type, or the block (``task_type`` None), or keep them, and close the
    appeal, audited, at most once."""
    async with db.write() as tx:
        if "admin" not in await roles_of(tx, admin_id):
            raise PermissionDenied("error.role_required", role="admin")
        appeal = await fetch_appeal(tx, appeal_id)
        if appeal is None:
            raise NotFound("quality.appeal.unknown")
        if outcome == "lifted" and task_type is None:
            # Lifting a block: the worker is unblocked (audited as an unblock too).
            if not await clear_block(tx, appeal.worker_id, now):
                raise InvalidInput("quality.appeal.not_paused_now")
            detail = {"user_id": appeal.worker_id, "appeal_id": appeal_id}
            await write_audit(tx, actor_id=admin_id, action="unblock", detail=detail, now=now)
        elif outcome == "lifted" and task_type is not None:
            lifted = await lift_type_pause(tx, appeal.worker_id, task_type, by=admin_id, now=now)
            if lifted is None:
                raise InvalidInput("quality.appeal.not_paused_now")
        if not await decide_appeal(
            tx, appeal_id, state=outcome, by=admin_id, task_type=task_type, now=now
        ):
            raise InvalidInput("quality.appeal.closed")  # rolls a lift back too
        await write_audit(
            tx,
            actor_id=admin_id,
            action=f"appeal.{outcome}",
            detail={"appeal_id": appeal_id, "worker_id": appeal.worker_id, "task_type": task_type},
            now=now,
        )
    return Decision(appeal, outcome, task_type)
