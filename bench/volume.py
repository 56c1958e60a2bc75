"""Bench room: a database at realistic volume (issue 11), loaded in bulk through storage.

At ``--scale 1``: 10,000 registered workers (varied windows, quiet hours and time zones, one in
ten ``/ready``), 100,000 open items over 50 open batches, and 1,000,000 past answers over the
six months before this one (batches of 10,000 items, three answers each, now done) with their
ledger transfers: a top-up per requester, a hold per batch, a reward per answer with both legs.
The first items of each open batch already have some answers (the frontier a crowd leaves).
Rows go in with ``executemany`` in large transactions (``storage.bulk``), then ``ANALYZE``.

``python -m bench.volume --db /tmp/volume.db [--scale 0.01]`` builds one; ``bench.volume_figures``
measures on it (``make volume`` runs both).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.ledger import month_of
from storage import bulk
from storage.batches import NewMedia
from storage.db import Database, to_db_time
from tests.builders import png_bytes, store_media

FIRST_WORKER = 1_000_000
FIRST_REQUESTER = 900_000
REQUESTERS = 10
ANSWERS_PER_ITEM = 3
PAST_MONTHS = 6
CHUNK = 50_000
ZONES = (
    "Europe/Paris", "Europe/London", "Africa/Dakar", "Africa/Abidjan", "America/Montreal",
    "Indian/Reunion", "Pacific/Tahiti", "America/Martinique", "Asia/Ho_Chi_Minh", "UTC",
)  # fmt: skip
WINDOWS = (
    "mon-fri 07:30-09:00, sat 10:00-12:00", "daily 12:00-14:00", "weekdays 18:00-23:00",
    "weekend 09:00-18:00", "mon-fri 08:00-18:00", "daily 00:00-23:59", "tue-thu 20:00-22:00",
    "",
)  # fmt: skip
QUIET = ("22:00-08:00", "23:00-07:00", "")
_ZONE = ZoneInfo("Europe/Paris")  # TIMEZONE, for the months of the ledger
EMOTIONS = ("joy", "anger", "sadness", "neutral")
TAGS = ("car", "bicycle", "person", "dog", "tree")


@dataclass(frozen=True)
class Volume:
    """What a scale asks for."""

    workers: int
    open_items: int
    open_batches: int
    answers: int
    past_batch_items: int

    @classmethod
    def at(cls, scale: float) -> Volume:
        return cls(
            workers=max(20, round(10_000 * scale)),
            open_items=max(100, round(100_000 * scale)),
            open_batches=50 if scale >= 0.05 else 5,
            answers=max(300, round(1_000_000 * scale)),
            past_batch_items=max(100, round(10_000 * scale)),
        )


@dataclass
class _Ids:
    """Running ids, so transfers and assignments can be written with their keys at once."""

    batch: int = 0
    item: int = 0
    assignment: int = 0
    transfer: int = 0

    def next(self, name: str) -> int:
        value = int(getattr(self, name)) + 1
        setattr(self, name, value)
        return value


class _Loader:
    """Buffers rows per table and flushes them in chunks inside one write transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows: dict[str, list[Any]] = {}

    async def add(self, table: str, row: Any) -> None:
        buffer = self.rows.setdefault(table, [])
        buffer.append(row)
        if len(buffer) >= CHUNK:
            await self.flush()

    async def flush(self) -> None:
        async with self.db.write() as tx:
            for table in (*bulk.COLUMNS, "transfers"):  # parents before children
                rows = self.rows.pop(table, [])
                if not rows:
                    continue
                if table == "transfers":
                    await bulk.load_transfers(tx, rows)
                else:
                    await bulk.load(tx, table, rows)  # type: ignore[arg-type]


def _stamp(moment: datetime) -> str:
    return to_db_time(moment)


def media_files(data_dir: Path) -> list[NewMedia]:
    """The 40 images the items show, written under ``data_dir`` (the same each time: a copy of
    the database finds them again in its own data directory)."""
    return [store_media(data_dir, png_bytes(n), "image") for n in range(40)]


async def generate(path: Path, data_dir: Path, scale: float, *, seed: int = 11) -> Volume:
    """Build the database at ``path`` (which must not exist) for ``scale``."""
    volume = Volume.at(scale)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    zone = _ZONE
    db = await Database.open(path)
    try:
        await db.migrate()
        loader = _Loader(db)
        past = -(-(volume.answers // ANSWERS_PER_ITEM) // volume.past_batch_items)
        # transfer ids 1..REQUESTERS are the top-ups, then one hold per batch, then rewards
        ids = _Ids(transfer=REQUESTERS + volume.open_batches + past)
        media = media_files(data_dir)
        for m in media:
            await loader.add("media", (m.sha256, m.kind, m.path, m.size_bytes, _stamp(now)))
        await _people(loader, volume, rng, now)
        past_start = _month_start(now, zone, PAST_MONTHS)
        batches = await _open_batches(loader, ids, volume, rng, media, now)
        batches += await _past_batches(loader, ids, volume, rng, media, now, past_start, zone)
        await _top_ups(loader, batches, past_start, zone)
        await loader.flush()
        async with db.write() as tx:
            await bulk.analyse(tx)
    finally:
        await db.close()
    return volume


def _month_start(now: datetime, zone: ZoneInfo, back: int) -> datetime:
    local = now.astimezone(zone)
    year, month = local.year, local.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, 12, tzinfo=zone).astimezone(UTC)


async def _people(loader: _Loader, volume: Volume, rng: random.Random, now: datetime) -> None:
    stamp = _stamp(now - timedelta(days=200))
    for n in range(REQUESTERS):
        user = FIRST_REQUESTER + n
        await loader.add("users", (user, f"R{n}", "fr", None, stamp, stamp, stamp))
        await loader.add("user_roles", (user, "requester", stamp))
    for n in range(volume.workers):
        user = FIRST_WORKER + n
        language = "fr" if n % 3 else "en"
        await loader.add("users", (user, f"W{n}", language, ZONES[n % len(ZONES)], stamp, stamp,
                                   stamp))  # fmt: skip
        await loader.add("user_roles", (user, "worker", stamp))
        ready = _stamp(now + timedelta(hours=2)) if n % 10 == 0 else None
        served = _stamp(now - timedelta(minutes=rng.randrange(1, 50_000)))
        await loader.add(
            "worker_availability",
            (user, WINDOWS[n % len(WINDOWS)], QUIET[n % len(QUIET)], ready, served, stamp),
        )


@dataclass(frozen=True)
class _Batch:
    id: int
    requester: int
    reward: int
    items: int
    at: datetime  # published


async def _batch(
    loader: _Loader, ids: _Ids, rng: random.Random, items: int, at: datetime, done: bool
) -> _Batch:
    batch_id = ids.next("batch")
    kind = "emotion" if batch_id % 2 else "image_tag"
    labels = json.dumps(EMOTIONS if kind == "emotion" else TAGS)
    reward = 3 + batch_id % 6
    requester = FIRST_REQUESTER + batch_id % REQUESTERS
    state, ended = ("done", _stamp(at + timedelta(days=20))) if done else ("open", None)
    await loader.add("batches", (
        batch_id, requester, kind, f"Batch {batch_id}", labels, int(kind == "image_tag"), 10,
        reward, ANSWERS_PER_ITEM, 60, state, _stamp(at), _stamp(at), ended,
    ))  # fmt: skip
    early = at - timedelta(days=10)
    await loader.add("transfers", (REQUESTERS + batch_id, "hold",
                     items * ANSWERS_PER_ITEM * reward, f"requester:{requester}",
                     f"escrow:batch:{batch_id}", requester, f"hold:batch:{batch_id}",
                     month_of(early, _ZONE), _stamp(early)))  # fmt: skip
    return _Batch(batch_id, requester, reward, items, at)


async def _open_batches(
    loader: _Loader,
    ids: _Ids,
    volume: Volume,
    rng: random.Random,
    media: list[Any],
    now: datetime,
) -> list[_Batch]:
    """Open batches; the first 2% of each batch's items have one or two answers already."""
    batches, per_batch = [], volume.open_items // volume.open_batches
    for n in range(volume.open_batches):
        at = now - timedelta(days=10) + timedelta(minutes=n)
        batch = await _batch(loader, ids, rng, per_batch, at, done=False)
        batches.append(batch)
        for position in range(per_batch):
            item = ids.next("item")
            sha = media[item % len(media)].sha256
            await loader.add("items", (item, batch.id, position, f"{position}.png", sha, "open",
                                       None))  # fmt: skip
            if position < per_batch // 50:
                given = rng.sample(range(volume.workers), rng.randint(1, ANSWERS_PER_ITEM - 1))
                for worker in given:
                    await _answer(loader, ids, batch, item, FIRST_WORKER + worker, now, rng)
    return batches


async def _past_batches(
    loader: _Loader,
    ids: _Ids,
    volume: Volume,
    rng: random.Random,
    media: list[Any],
    now: datetime,
    start: datetime,
    zone: ZoneInfo,
) -> list[_Batch]:
    """Done batches holding ``volume.answers`` answers, spread over the past months."""
    batches: list[_Batch] = []
    items_needed = volume.answers // ANSWERS_PER_ITEM
    span = (_month_start(now, zone, 0) - start).total_seconds()
    made = 0
    while made < items_needed:
        count = min(volume.past_batch_items, items_needed - made)
        batch = await _batch(loader, ids, rng, count, start, done=True)
        batches.append(batch)
        for position in range(count):
            item = ids.next("item")
            # spread answers evenly over the past months; noon-ish keeps them off month edges
            at = start + timedelta(seconds=span * (made + position) / items_needed)
            at = at.replace(hour=12)
            sha = media[item % len(media)].sha256
            await loader.add("items", (item, batch.id, position, f"{position}.png", sha,
                                       "complete", _stamp(at)))  # fmt: skip
            for worker in rng.sample(range(volume.workers), ANSWERS_PER_ITEM):
                await _answer(loader, ids, batch, item, FIRST_WORKER + worker, at, rng)
        made += count
    return batches


async def _answer(
    loader: _Loader,
    ids: _Ids,
    batch: _Batch,
    item: int,
    worker: int,
    at: datetime,
    rng: random.Random,
) -> None:
    assignment = ids.next("assignment")
    answer = json.dumps([rng.randrange(4)] if batch.id % 2 else rng.randrange(4))
    offered, ended = _stamp(at - timedelta(seconds=20)), _stamp(at)
    deadline = _stamp(at + timedelta(seconds=40))
    await loader.add("assignments", (
        assignment, item, batch.id, worker, "submitted", batch.reward, 60, offered, offered,
        deadline, answer, 20_000, ended,
    ))  # fmt: skip
    await loader.add("transfers", (ids.next("transfer"), "reward", batch.reward,
                     f"escrow:batch:{batch.id}", f"worker:{worker}", worker,
                     f"answer:{assignment}", month_of(at, _ZONE), ended))  # fmt: skip


async def _top_ups(loader: _Loader, batches: list[_Batch], start: datetime, zone: ZoneInfo) -> None:
    """One top-up per requester before anything else (ids 1..REQUESTERS) covering its holds."""
    early = start - timedelta(days=40)
    for n in range(REQUESTERS):
        requester = FIRST_REQUESTER + n
        total = sum(b.items * ANSWERS_PER_ITEM * b.reward for b in batches
                    if b.requester == requester) + 10_000  # fmt: skip
        await loader.add("transfers", (n + 1, "topup", total, "bank", f"requester:{requester}",
                         None, f"topup:bench:{requester}", month_of(early, zone),
                         _stamp(early)))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the file to create")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 10,000 workers, ...")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    if args.db.exists():
        parser.error(f"{args.db} exists; give a new path")
    started = time.monotonic()
    volume = asyncio.run(generate(args.db, args.db.parent / "data", args.scale, seed=args.seed))
    print(
        f"generated {volume} in {time.monotonic() - started:.1f} s: {args.db} "
        f"({args.db.stat().st_size / 1e6:.0f} MB)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
