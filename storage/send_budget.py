"""Storage room, per-bot shared budgets: the message budget (a token bucket) and the file_id
cache, one per bot token, shared by every process that serves the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, WriteTx, from_db_time, to_db_time


@dataclass(frozen=True)
class Grant:
    """Messages granted now, and when nothing was granted, the seconds until one will be."""

    granted: int
    wait: float


async def take_send_slots(
    tx: WriteTx, bot_id: int, wanted: int, *, now: datetime, rate: float, burst: float
) -> Grant:
    """Take up to ``wanted`` messages from the bot's bucket (refilled at ``rate`` a second, at
    most ``burst``). Run in its own write transaction: the write lock makes it exact across
    processes."""
    await tx.execute(
        "INSERT OR IGNORE INTO send_budgets (bot_id, tokens, refilled_at) VALUES (?, ?, ?)",
        (bot_id, float(burst), to_db_time(now)),
    )
    row = await tx.fetch_one(
        "SELECT tokens, refilled_at FROM send_budgets WHERE bot_id = ?", (bot_id,)
    )
    assert row is not None
    elapsed = max(0.0, (now - from_db_time(row["refilled_at"])).total_seconds())
    tokens = min(float(burst), float(row["tokens"]) + elapsed * rate)
    granted = min(wanted, int(tokens))
    tokens -= granted
    await tx.execute(
        "UPDATE send_budgets SET tokens = ?, refilled_at = ? WHERE bot_id = ?",
        (tokens, to_db_time(now), bot_id),
    )
    wait = 0.0 if granted else (1.0 - tokens) / rate
    return Grant(granted, wait)


async def cached_file_id(tx: Tx, sha256: str, bot_id: int) -> str | None:
    """The file_id this bot got when it first uploaded the media file, or None."""
    found = await tx.fetch_value(
        "SELECT file_id FROM media_file_ids WHERE sha256 = ? AND bot_id = ?", (sha256, bot_id)
    )
    return None if found is None else str(found)


async def remember_bot_file_id(
    tx: WriteTx, sha256: str, bot_id: int, file_id: str, now: datetime
) -> None:
    """Keep the file_id of this bot's first upload of a media file (a later one is ignored)."""
    await tx.execute(
        "INSERT OR IGNORE INTO media_file_ids (sha256, bot_id, file_id, created_at)"
        " VALUES (?, ?, ?, ?)",
        (sha256, bot_id, file_id, to_db_time(now)),
    )
