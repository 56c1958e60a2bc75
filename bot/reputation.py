"""Domain room of requesters' reputation (issue 14; no Telegram): one short line on every task
says what this requester's batches paid (the median of their batches' effective hourly rates,
fair-pay top-ups included), how many workers they paid, and how many reports against their
tasks an admin upheld.

Cheap by construction: the figures are cached per requester in the database and read by
primary key when a task is claimed; they are recomputed (over that requester's batches only)
when missing, older than ``MAX_AGE``, or after an admin's review changed the reports upheld.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from bot.fairpay import MS_PER_HOUR
from storage.db import Database, WriteTx
from storage.reputation import (
    Figures,
    batch_pay,
    cached_figures,
    reports_upheld,
    requester_name,
    store_figures,
    workers_paid,
)

MAX_AGE = timedelta(minutes=10)

__all__ = ["MAX_AGE", "Figures", "cached", "median_rate", "recompute", "reputation_for"]


def median_rate(pays: list[tuple[int, int]]) -> int | None:
    """The median over batches of each batch's effective rate (cents an hour), or None."""
    rates = [paid * MS_PER_HOUR / ms for paid, ms in pays if ms > 0]
    return round(statistics.median(rates)) if rates else None


async def recompute(tx: WriteTx, requester_id: int, now: datetime) -> Figures:
    """Compute a requester's figures from their batches and cache them."""
    pays = [(pay.paid, pay.duration_ms) for pay in await batch_pay(tx, requester_id)]
    figures = Figures(
        requester_id=requester_id,
        name=await requester_name(tx, requester_id),
        median_rate=median_rate(pays),
        workers_paid=await workers_paid(tx, requester_id),
        reports_upheld=await reports_upheld(tx, requester_id),
        updated_at=now,
    )
    await store_figures(tx, figures)
    return figures


async def reputation_for(tx: WriteTx, requester_id: int, now: datetime) -> Figures:
    """The cached figures, recomputed first when missing or older than ``MAX_AGE``."""
    found = await cached_figures(tx, requester_id)
    if found is not None and now - found.updated_at < MAX_AGE:
        return found
    return await recompute(tx, requester_id, now)


async def cached(db: Database, requester_id: int) -> Figures | None:
    """The cached figures as they are (a timer refresh shows the same line again)."""
    return await db.run_read(cached_figures, requester_id)
