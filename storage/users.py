"""Users and roles: registration, consent, language, roles granted by configuration or by admins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.audit import write_audit
from storage.availability import forget_span
from storage.db import Row, Tx, WriteTx, maybe_time, to_db_time

Role = Literal["worker", "requester", "admin"]
ROLES: tuple[Role, ...] = ("worker", "requester", "admin")


@dataclass(frozen=True)
class User:
    """A person who wrote to the bot."""

    id: int
    first_name: str
    username: str | None
    language: str
    language_chosen: bool
    timezone: str | None
    consented_at: datetime | None
    blocked_at: datetime | None
    blocked_reason: str | None
    unreachable_at: datetime | None
    created_at: datetime

    @property
    def registered(self) -> bool:
        return self.consented_at is not None


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        first_name=row["first_name"],
        username=row["username"],
        language=row["language"],
        language_chosen=bool(row["language_chosen"]),
        timezone=row["timezone"],
        consented_at=maybe_time(row["consented_at"]),
        blocked_at=maybe_time(row["blocked_at"]),
        blocked_reason=row["blocked_reason"],
        unreachable_at=maybe_time(row["unreachable_at"]),
        created_at=maybe_time(row["created_at"]) or datetime.min,
    )


async def get_user(tx: Tx, user_id: int) -> User | None:
    """The user with this Telegram id, or None."""
    row = await tx.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
    return None if row is None else _user(row)


async def touch_user(
    tx: WriteTx,
    *,
    user_id: int,
    first_name: str,
    username: str | None,
    language: str,
    now: datetime,
) -> User:
    """Create or refresh a user from what Telegram says of them; a chosen language is kept.

    Writing again also clears the "unreachable" mark: a user who writes has unblocked the bot.
    """
    stamp = to_db_time(now)
    await tx.execute(
        "INSERT INTO users (id, first_name, username, language, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET unreachable_at = NULL,"
        # an erased person (/forgetme) keeps their pseudonym: their name is not taken back
        " first_name = CASE WHEN users.erased_at IS NULL THEN excluded.first_name"
        " ELSE users.first_name END,"
        " username = CASE WHEN users.erased_at IS NULL THEN excluded.username END,"
        " language = CASE WHEN users.language_chosen = 1 THEN users.language"
        " ELSE excluded.language END,"
        " updated_at = excluded.updated_at",
        (user_id, first_name, username, language, stamp, stamp),
    )
    row = await tx.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
    assert row is not None
    return _user(row)


async def record_consent(tx: WriteTx, user_id: int, now: datetime) -> bool:
    """Register a worker: store consent and grant the worker role. True the first time only."""
    stamp = to_db_time(now)
    cursor = await tx.execute(
        "UPDATE users SET consented_at = ?, updated_at = ? WHERE id = ? AND consented_at IS NULL",
        (stamp, stamp, user_id),
    )
    first_time = cursor.rowcount == 1
    await tx.execute(
        "INSERT OR IGNORE INTO user_roles (user_id, role, granted_by, granted_at)"
        " VALUES (?, 'worker', NULL, ?)",
        (user_id, stamp),
    )
    return first_time


async def set_language(tx: WriteTx, user_id: int, language: str, now: datetime) -> None:
    """Remember the language a user chose with /language."""
    await tx.execute(
        "UPDATE users SET language = ?, language_chosen = 1, updated_at = ? WHERE id = ?",
        (language, to_db_time(now), user_id),
    )


async def roles_of(tx: Tx, user_id: int) -> frozenset[Role]:
    """The roles a user holds."""
    rows = await tx.fetch_all("SELECT role FROM user_roles WHERE user_id = ?", (user_id,))
    return frozenset(row["role"] for row in rows)


async def user_ids_with_role(tx: Tx, role: Role) -> list[int]:
    """Every user id holding ``role``, in id order."""
    rows = await tx.fetch_all(
        "SELECT user_id FROM user_roles WHERE role = ? ORDER BY user_id", (role,)
    )
    return [int(row["user_id"]) for row in rows]


async def grant_role(
    tx: WriteTx, *, user_id: int, role: Role, granted_by: int | None, now: datetime
) -> bool:
    """Give ``role`` to a user; True when new. An admin's grant goes to the audit log."""
    stamp = to_db_time(now)
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO user_roles (user_id, role, granted_by, granted_at)"
        " VALUES (?, ?, ?, ?)",
        (user_id, role, granted_by, stamp),
    )
    added = cursor.rowcount == 1
    if granted_by is not None:
        await write_audit(
            tx,
            actor_id=granted_by,
            action="grant",
            detail={"user_id": user_id, "role": role, "new": added},
            now=now,
        )
    return added


async def sync_configured_roles(
    tx: WriteTx, *, admin_ids: Iterable[int], requester_ids: Iterable[int], now: datetime
) -> list[tuple[int, Role]]:
    """Grant the roles listed in ADMIN_IDS and REQUESTER_IDS; take back an admin or requester
    role that configuration gave (``granted_by`` NULL) from an id no longer listed. A role an
    admin granted with /grant stays. Returns the roles taken back, audited (actor NULL)."""
    stamp = to_db_time(now)
    listed: dict[Role, set[int]] = {"admin": set(admin_ids), "requester": set(requester_ids)}
    removed: list[tuple[int, Role]] = []
    for role, ids in listed.items():
        rows = await tx.fetch_all(
            "SELECT user_id FROM user_roles WHERE role = ? AND granted_by IS NULL", (role,)
        )
        for user_id in sorted(int(row["user_id"]) for row in rows if row["user_id"] not in ids):
            await tx.execute(
                "DELETE FROM user_roles WHERE user_id = ? AND role = ?", (user_id, role)
            )
            detail = {"user_id": user_id, "role": role, "by": "configuration"}
            await write_audit(tx, actor_id=None, action="revoke", detail=detail, now=now)
            removed.append((user_id, role))
    await tx.executemany(
        "INSERT OR IGNORE INTO user_roles (user_id, role, granted_by, granted_at)"
        " VALUES (?, ?, NULL, ?)",
        [(uid, role, stamp) for role, ids in listed.items() for uid in sorted(ids)],
    )
    return removed


async def mark_update_processed(tx: WriteTx, update_id: int, now: datetime) -> bool:
    """Record an update id; False when it was already recorded (Telegram delivered it twice)."""
    cursor = await tx.execute(
        "INSERT OR IGNORE INTO processed_updates (update_id, processed_at) VALUES (?, ?)",
        (update_id, to_db_time(now)),
    )
    return cursor.rowcount == 1


async def prune_processed_updates(tx: WriteTx, before: datetime) -> int:
    """Forget update ids recorded before ``before``; how many went."""
    cursor = await tx.execute(
        "DELETE FROM processed_updates WHERE processed_at < ?", (to_db_time(before),)
    )
    return cursor.rowcount


async def set_timezone(tx: WriteTx, user_id: int, timezone: str | None, now: datetime) -> None:
    """Remember a user's IANA time zone (None: back to the configured TIMEZONE); the stored span
    of their time rules is to be worked out again in it (migration 0017)."""
    await tx.execute(
        "UPDATE users SET timezone = ?, updated_at = ? WHERE id = ?",
        (timezone, to_db_time(now), user_id),
    )
    await forget_span(tx, user_id)


async def mark_unreachable(tx: WriteTx, user_id: int, now: datetime) -> bool:
    """Note that a user blocked the bot (403); True the first time. Writing again clears it."""
    stamp = to_db_time(now)
    cursor = await tx.execute(
        "UPDATE users SET unreachable_at = ?, updated_at = ?"
        " WHERE id = ? AND unreachable_at IS NULL",
        (stamp, stamp, user_id),
    )
    return cursor.rowcount == 1
