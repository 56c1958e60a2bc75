"""Domain room of people (no Telegram): who someone is, their roles, their choices of language,
time zone and consent, and who the admins are. Handlers reach user records only through here."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.users import Role as Role
from storage.users import User as User
from storage.users import (
    get_user,
    grant_role,
    record_consent,
    set_language,
    set_timezone,
    user_ids_with_role,
)
from storage.users import roles_of as _roles_of


async def find_user(db: Database, user_id: int) -> User | None:
    """The user's record, or None if they never wrote to the bot."""
    return await db.run_read(get_user, user_id)


async def ids_with_role(db: Database, role: Role) -> list[int]:
    """Ids of every user holding ``role`` (the admins to tell, the staff with a menu)."""
    return await db.run_read(user_ids_with_role, role)


async def roles_of(db: Database, user_id: int) -> frozenset[Role]:
    """The roles ``user_id`` holds."""
    return await db.run_read(_roles_of, user_id)


async def grant(db: Database, user_id: int, role: Role, granted_by: int, now: datetime) -> bool:
    """Give ``role`` (recorded with who and when); False if it was held already."""
    return await db.run_write(
        grant_role, user_id=user_id, role=role, granted_by=granted_by, now=now
    )


async def consent(db: Database, user_id: int, now: datetime) -> bool:
    """Register a worker's consent; False if they had consented already."""
    return await db.run_write(record_consent, user_id, now)


async def choose_language(db: Database, user_id: int, code: str, now: datetime) -> None:
    """Keep the language the user chose (it wins over Telegram's ``language_code``)."""
    await db.run_write(set_language, user_id, code, now)


async def choose_timezone(db: Database, user_id: int, zone: str | None, now: datetime) -> None:
    """Keep the user's time zone (None: back to the default)."""
    await db.run_write(set_timezone, user_id, zone, now)
