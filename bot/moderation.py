"""Domain room of moderation (no Telegram): blocking and unblocking, taking roles back, roles
following configuration, four-eyes ledger corrections, and what an admin sees of a user.

Each use case opens one write transaction: its effect and its audit entry commit together, and
repeating it (a double tap, an update delivered twice) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.ledger import Posted, current_month, parse_account, post_correction, worker_account
from storage import ledger as ledger_sql
from storage import moderation as sql
from storage.assignments import Assignment, active_assignment_of, end_active
from storage.audit import audit_entries, write_audit
from storage.db import Database
from storage.moderation import PendingCorrection as PendingCorrection
from storage.quality import speed_flags_by_type, type_pauses
from storage.users import Role, User, get_user, roles_of, sync_configured_roles, user_ids_with_role

REASON_LIMIT = 500
AUDIT_DEFAULT, AUDIT_MOST = 10, 50


def _reason(text: str, missing_key: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(missing_key)
    if len(cleaned) > REASON_LIMIT:
        raise InvalidInput("admin.reason_too_long", most=REASON_LIMIT)
    return cleaned


# Blocking ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blocked:
    """What a block did: False in ``changed`` when the user was blocked already."""

    changed: bool
    released: Assignment | None  # their active task, given back unpaid (no penalty)


async def block(
    db: Database, user_id: int, reason: str, *, actor_id: int, now: datetime
) -> Blocked:
    """Block a user: no more pushes or tasks; their active task is released unpaid, audited."""
    cleaned = _reason(reason, "admin.block.usage")
    if user_id == actor_id:
        raise InvalidInput("admin.block.self")
    async with db.write() as tx:
        if await get_user(tx, user_id) is None:
            raise NotFound("admin.unknown_user", user_id=user_id)
        if not await sql.set_block(tx, user_id, cleaned, now):
            return Blocked(changed=False, released=None)
        released = None
        active = await active_assignment_of(tx, user_id)
        if active is not None:
            released = await end_active(tx, active.id, state="released", reason="blocked", now=now)
        detail = {"user_id": user_id, "reason": cleaned, "released": active and active.id}
        await write_audit(tx, actor_id=actor_id, action="block", detail=detail, now=now)
    return Blocked(changed=True, released=released)


async def unblock(db: Database, user_id: int, *, actor_id: int, now: datetime) -> bool:
    """Lift a block, audited; False when the user was not blocked."""
    async with db.write() as tx:
        if not await sql.clear_block(tx, user_id, now):
            return False
        detail = {"user_id": user_id}
        await write_audit(tx, actor_id=actor_id, action="unblock", detail=detail, now=now)
    return True


# Roles -------------------------------------------------------------------------------------------


async def revoke(db: Database, user_id: int, role: Role, *, actor_id: int, now: datetime) -> bool:
    """Take ``role`` back from a user, audited; False when they did not hold it.

    An admin cannot revoke their own admin role (the last admin could lock everyone out).
    """
    if role == "admin" and user_id == actor_id:
        raise InvalidInput("admin.revoke.self")
    async with db.write() as tx:
        if not await sql.delete_role(tx, user_id, role):
            return False
        detail = {"user_id": user_id, "role": role}
        await write_audit(tx, actor_id=actor_id, action="revoke", detail=detail, now=now)
    return True


async def follow_configuration(
    db: Database, *, admin_ids: Iterable[int], requester_ids: Iterable[int], now: datetime
) -> list[tuple[int, Role]]:
    """At start: roles follow ADMIN_IDS and REQUESTER_IDS (``/grant``'s stay); the roles taken
    back."""
    async with db.write() as tx:
        return await sync_configured_roles(
            tx, admin_ids=admin_ids, requester_ids=requester_ids, now=now
        )


async def admin_ids(db: Database) -> list[int]:
    """Every admin, in id order."""
    return await db.run_read(user_ids_with_role, "admin")


# Four-eyes corrections ---------------------------------------------------------------------------


def owns_account(user_id: int, account: str) -> bool:
    """True when the money of ``account`` is ``user_id``'s (their worker or requester account)."""
    parsed = parse_account(account)
    return parsed.kind in ("worker", "requester") and parsed.id == user_id


async def propose_correction(
    db: Database,
    *,
    debit_account: str,
    credit_account: str,
    amount: int,
    reason: str,
    actor_id: int,
    now: datetime,
) -> PendingCorrection:
    """Store a correction waiting for a second admin; nothing moves yet."""
    cleaned = _reason(reason, "admin.correct.usage")
    for account in (debit_account, credit_account):
        parse_account(account)
    if debit_account == credit_account:
        raise InvalidInput("admin.correct.same_account")
    if owns_account(actor_id, credit_account):
        raise PermissionDenied("admin.four_eyes.correction")
    async with db.write() as tx:
        return await sql.insert_correction(
            tx,
            debit_account=debit_account,
            credit_account=credit_account,
            amount=amount,
            reason=cleaned,
            proposed_by=actor_id,
            now=now,
        )


@dataclass(frozen=True)
class Confirmed:
    """A confirmed correction and its transfer (``changed`` False: confirmed before)."""

    correction: PendingCorrection
    posted: Posted | None
    changed: bool


async def confirm_correction(
    db: Database, correction_id: int, *, actor_id: int, now: datetime, tz: ZoneInfo
) -> Confirmed:
    """A second admin confirms: the transfer is posted (key ``correction:ID``), audited.

    Refused to the admin who proposed it and to one who would receive the money; a correction
    confirmed or cancelled already changes nothing.
    """
    async with db.write() as tx:
        if "admin" not in await roles_of(tx, actor_id):
            raise PermissionDenied("error.role_required", role="admin")
        found = await sql.correction_by_id(tx, correction_id)
        if found is None:
            raise NotFound("admin.correct.unknown", correction_id=correction_id)
        if found.state != "pending":
            return Confirmed(found, None, changed=False)
        if found.proposed_by == actor_id or owns_account(actor_id, found.credit_account):
            raise PermissionDenied("admin.four_eyes.correction")
        posted = await post_correction(
            tx,
            debit_account=found.debit_account,
            credit_account=found.credit_account,
            amount=found.amount,
            reason=f"{found.reason} (#{found.id}, {found.proposed_by}/{actor_id})",
            actor_id=actor_id,
            key=f"correction:{found.id}",
            now=now,
            tz=tz,
        )
        await sql.decide_correction(
            tx, found.id, state="confirmed", by=actor_id, now=now, transfer_id=posted.transfer.id
        )
        decided = await sql.correction_by_id(tx, found.id)
    assert decided is not None
    return Confirmed(decided, posted, changed=True)


async def cancel_correction(
    db: Database, correction_id: int, *, actor_id: int, now: datetime
) -> Confirmed:
    """Any admin (the proposer too) drops a pending correction, audited; again: no change."""
    async with db.write() as tx:
        if "admin" not in await roles_of(tx, actor_id):
            raise PermissionDenied("error.role_required", role="admin")
        found = await sql.correction_by_id(tx, correction_id)
        if found is None:
            raise NotFound("admin.correct.unknown", correction_id=correction_id)
        changed = await sql.decide_correction(
            tx, found.id, state="cancelled", by=actor_id, now=now, transfer_id=None
        )
        if changed:
            detail = {"correction_id": found.id}
            await write_audit(
                tx, actor_id=actor_id, action="correction.cancelled", detail=detail, now=now
            )
        decided = await sql.correction_by_id(tx, found.id)
    assert decided is not None
    return Confirmed(decided, None, changed=changed)


# What an admin sees ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserReport:
    """``/user ID``: roles, status, this month's earnings, flags and pauses, last activity."""

    user: User
    roles: frozenset[Role]
    earned_this_month: int
    speed_flags: int
    paused_types: list[str]
    last_activity: datetime | None


async def user_report(db: Database, user_id: int, *, now: datetime, tz: ZoneInfo) -> UserReport:
    """What ``/user`` shows; ``NotFound`` for someone who never wrote to the bot."""
    async with db.read() as tx:
        user = await get_user(tx, user_id)
        if user is None:
            raise NotFound("admin.unknown_user", user_id=user_id)
        return UserReport(
            user=user,
            roles=await roles_of(tx, user_id),
            earned_this_month=await ledger_sql.earned_in_month(
                tx, worker_account(user_id), current_month(now, tz)
            ),
            speed_flags=sum((await speed_flags_by_type(tx, user_id)).values()),
            paused_types=[pause.task_type for pause in await type_pauses(tx, user_id)],
            last_activity=await sql.last_activity(tx, user_id),
        )


async def recent_audit(db: Database, count: int) -> list[dict[str, Any]]:
    """The last ``count`` audit entries, newest first."""
    async with db.read() as tx:
        return await audit_entries(tx, limit=count)
