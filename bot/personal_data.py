"""Domain room of the worker's data rights (no Telegram; issue 12, item 11): a copy of everything
kept (/mydata), erasure under a pseudonym (/forgetme), consent withdrawn and given again.

Each use case opens one transaction; erasing or withdrawing twice changes nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from bot.payout_details import mask_iban
from storage import personal_data as sql
from storage.assignments import Assignment, active_assignment_of, end_active
from storage.audit import write_audit
from storage.db import Database


async def export(db: Database, user_id: int, *, now: datetime) -> bytes:
    """Everything kept about a person as a JSON document; payout details masked."""
    async with db.read() as tx:
        parts = await sql.person_rows(tx, user_id)
    for details in parts["payout_details"]:
        details["iban"] = mask_iban(details["iban"])
    document = {"user_id": user_id, "exported_at": now.isoformat(), **parts}
    return json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")


async def withdraw_consent(db: Database, user_id: int, *, now: datetime) -> bool:
    """No more pushes until the person consents again (/start); audited. False: already so."""
    async with db.write() as tx:
        changed = await sql.withdraw_consent(tx, user_id, now)
        if changed:
            detail = {"user_id": user_id}
            await write_audit(
                tx, actor_id=user_id, action="consent_withdrawn", detail=detail, now=now
            )
    return changed


@dataclass(frozen=True)
class Forgotten:
    """What an erasure did: ``changed`` False for a repeat; their active task, given back."""

    changed: bool
    released: Assignment | None


async def forget(db: Database, user_id: int, *, now: datetime) -> Forgotten:
    """Erase a person's personal data and withdraw consent (no more pushes), in one transaction.

    Kept under a random pseudonym, as accounting records: ledger entries, statements and answers
    already delivered to requesters. Their active task goes back to the pool unpaid.
    """
    async with db.write() as tx:
        pseudonym = f"erased-{secrets.token_hex(4)}"
        if not await sql.erase_person(tx, user_id, pseudonym, now):
            return Forgotten(changed=False, released=None)
        released = None
        active = await active_assignment_of(tx, user_id)
        if active is not None:
            released = await end_active(tx, active.id, state="released", reason="erased", now=now)
        detail = {"user_id": user_id, "pseudonym": pseudonym}
        await write_audit(tx, actor_id=user_id, action="erased", detail=detail, now=now)
    return Forgotten(changed=True, released=released)
