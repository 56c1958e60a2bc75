"""The audit log: every admin action, with who did it and when."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.db import Tx, WriteTx, maybe_time, to_db_time


async def write_audit(
    tx: WriteTx,
    *,
    actor_id: int | None,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """Append one admin action to the audit log, inside the caller's write transaction."""
    await tx.execute(
        "INSERT INTO audit_log (actor_id, action, detail, created_at) VALUES (?, ?, ?, ?)",
        (actor_id, action, json.dumps(detail, sort_keys=True), to_db_time(now)),
    )


async def audit_entries(tx: Tx, *, limit: int = 50) -> list[dict[str, Any]]:
    """The most recent audit log entries, newest first."""
    rows = await tx.fetch_all(
        "SELECT actor_id, action, detail, created_at FROM audit_log ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        {
            "actor_id": row["actor_id"],
            "action": row["action"],
            "detail": json.loads(row["detail"]),
            "created_at": maybe_time(row["created_at"]),
        }
        for row in rows
    ]
