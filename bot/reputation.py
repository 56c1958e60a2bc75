"""Domain room of requesters' reputation (issue 14; no Telegram): one short line on every task
says what this requester's batches paid (the median of their batches' effective hourly rates,
fair-pay top-ups included), how many workers they paid, and how many reports against their
tasks an admin upheld.

Cheap by construction: the figures are cached per requester in the database and a claim only
reads them by primary key (none cached yet: the task shows no line). They are computed over
that requester's batches at publish, after an admin's review changed the reports upheld, and by
a job (``refresh_due``) for requesters with open batches whose figures are missing or older
than ``MAX_AGE``. Never by a claim (issue 11: at full scale a requester's 100,000 answers took
127 ms, inside the first claim on their batch every ten minutes); the job and publish read on
the reader (``run_read``) and hold the writer only to store the line.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from bot.fairpay import MS_PER_HOUR
from storage.db import Database, Tx, WriteTx
from storage.reputation import (
    Figures,
    batch_pay,
    cached_figures,
    reports_upheld,
    requester_name,
    requesters_due,
    store_figures,
    workers_paid,
)

MAX_AGE = timedelta(minutes=10)

__all__ = ["MAX_AGE", "Figures", "cached", "median_rate", "recompute", "refresh", "refresh_due"]


def median_rate(pays: list[tuple[int, int]]) -> int | None:
    """The median over batches of each batch's effective rate (cents an hour), or None."""
    rates = [paid * MS_PER_HOUR / ms for paid, ms in pays if ms > 0]
    return round(statistics.median(rates)) if rates else None


async def compute(tx: Tx, requester_id: int, now: datetime) -> Figures:
    """A requester's figures from their batches (reads only)."""
    pays = [(pay.paid, pay.duration_ms) for pay in await batch_pay(tx, requester_id)]
    return Figures(
        requester_id=requester_id,
        name=await requester_name(tx, requester_id),
        median_rate=median_rate(pays),
        workers_paid=await workers_paid(tx, requester_id),
        reports_upheld=await reports_upheld(tx, requester_id),
        updated_at=now,
    )


async def recompute(tx: WriteTx, requester_id: int, now: datetime) -> Figures:
    """Compute a requester's figures and cache them, inside the caller's write transaction."""
    figures = await compute(tx, requester_id, now)
    await store_figures(tx, figures)
    return figures


async def refresh(db: Database, requester_id: int, now: datetime) -> Figures:
    """Compute a requester's figures on the reader, then cache them (a short write)."""
    figures = await db.run_read(compute, requester_id, now)
    await db.run_write(store_figures, figures)
    return figures


async def refresh_due(db: Database, now: datetime) -> int:
    """Refresh the figures of requesters with open batches whose figures are missing or older
    than ``MAX_AGE``, one at a time; how many were refreshed."""
    due = await db.run_read(requesters_due, now - MAX_AGE)
    for requester_id in due:
        await refresh(db, requester_id, now)
    return len(due)


async def cached(db: Database, requester_id: int) -> Figures | None:
    """The cached figures as they are (a timer refresh shows the same line again)."""
    return await db.run_read(cached_figures, requester_id)
