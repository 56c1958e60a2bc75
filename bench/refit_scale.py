"""Bench room: what one refit of a large dynamic batch costs the bot (``bot/refit.py``).

Builds a SQLite file with one published single-choice label batch of ``--items`` items (up to 6
answers each, so it buys answers dynamically) and gives every item its first two answers from a
seeded crowd of the quality benchmark (``bench.quality_crowds``, 30 workers). Then, in this
process, through the bot's own code: one refit pass (``refit_pass``) with the fits in a compute
pool of one process, timed in its parts as the refit reports them (the read, the decoding and
fits, the write), while a
small write (a worker's ``touch_user``) starts every 10 ms and the event loop's longest stall is
measured. Prints what the refit decided and those figures.

``python -m bench.refit_scale [--items 10000] [--crowd good] [--db /tmp/refit.db]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.quality_crowds import CLASSES, make_label_crowd
from bot.compute import Compute, install
from bot.refit import RefitMemo, refit_pass
from storage.assignments import claim_next, release_never_shown, submitted_count_in
from storage.db import Database, to_db_time
from storage.overlap import preferred_of
from storage.users import touch_user
from tests.builders import item_ids, publish_batch, register_worker

LABELS = tuple(f"label{n}" for n in range(CLASSES))
FIRST_WORKER = 50_000
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Figures:
    items: int
    answers: int
    completed: int
    allowed: int
    preferred: int
    seconds: float
    parts: dict[str, float]
    write_waits: list[float]
    longest_stall: float
    claims: dict[str, float]  # seconds of one claim, by who asked

    def lines(self) -> list[str]:
        waits = sorted(self.write_waits) or [0.0]
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        parts = ", ".join(f"{name} {value:.2f} s" for name, value in self.parts.items())
        return [
            f"batch: {self.items} items, {self.answers} answers (two an item)",
            f"refit: {self.completed} items completed, {self.allowed} allowed one more answer, "
            f"{self.preferred} preferred workers",
            f"refit pass: {self.seconds:.2f} s ({parts})",
            f"small writes meanwhile: {len(self.write_waits)}, waited p50 "
            f"{statistics.median(waits) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {waits[-1] * 1000:.1f} ms",
            f"event loop's longest stall meanwhile: {self.longest_stall * 1000:.1f} ms",
            "a claim once the refit has routed its slots: "
            + ", ".join(f"{who} {value * 1000:.1f} ms" for who, value in self.claims.items()),
        ]


async def build(db: Database, data_dir: Path, items: int, crowd_name: str, now: datetime) -> int:
    """The batch, published as the bot publishes it, and two answers an item from the crowd."""
    crowd = make_label_crowd(crowd_name, 0, items=items)
    batch_id = await publish_batch(
        db,
        data_dir,
        now,
        labels=LABELS,
        items=items,
        answers_per_item=6,
        reward=4,
        time_limit=60,
        seeds=[n % 40 for n in range(items)],
    )
    workers = sorted(crowd.confusions)
    for worker in workers:
        await register_worker(db, FIRST_WORKER + worker, now)
    rng = random.Random(f"refit-scale:{crowd_name}")
    stamp = to_db_time(now)
    rows = []
    for rank, item_id in enumerate(await item_ids(db, batch_id)):
        for worker in rng.sample(workers, 2):
            label = LABELS[crowd.answer(worker, rank + 1, rng)]  # the crowd counts from 1
            rows.append((item_id, batch_id, FIRST_WORKER + worker, f'"{label}"', stamp))
    async with db.write() as tx:  # as tests.builders.submit stores answers, in one transaction
        for row in rows:
            await tx.execute(
                "INSERT INTO assignments (item_id, batch_id, worker_id, state, reward,"
                " time_limit, offered_at, shown_at, deadline, answer, duration_ms, ended_at)"
                " VALUES (?, ?, ?, 'submitted', 4, 60, ?5, ?5, ?5, ?4, 6000, ?5)",
                row,
            )
    return batch_id


async def measure(db: Database, now: datetime, probe_worker: int) -> Figures:
    """One refit pass, with small writes and the event loop watched meanwhile."""
    waits: list[float] = []
    stall = 0.0
    done = asyncio.Event()

    async def small_writes() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await db.run_write(
                touch_user, user_id=probe_worker, first_name="Probe", username=None,
                language="en", now=now,
            )  # fmt: skip
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    async def watch_loop() -> None:
        nonlocal stall
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            stall = max(stall, time.perf_counter() - started - 0.005)

    tasks = [asyncio.create_task(small_writes()), asyncio.create_task(watch_loop())]
    started = time.perf_counter()
    try:
        (news,) = await refit_pass(db, now=now, tz=PARIS, memo=RefitMemo())
    finally:
        seconds = time.perf_counter() - started
        done.set()
        await asyncio.gather(*tasks)
    read, fits, write = news.timings
    preferred = await db.run_read(preferred_of, news.batch.id)
    claims = {
        "by a worker not preferred (finds nothing)": await _claim_time(db, probe_worker, now),
        "by a preferred worker": await _claim_time(db, min(preferred), now),
    }
    return Figures(
        items=len(news.completed) + news.allowed,
        answers=await db.run_read(submitted_count_in, news.batch.id),
        completed=len(news.completed),
        allowed=news.allowed,
        preferred=len(preferred),
        seconds=seconds,
        parts={"read": read, "fits and decoding": fits, "write": write},
        write_waits=waits,
        longest_stall=stall,
        claims=claims,
    )


async def _claim_time(db: Database, worker_id: int, now: datetime) -> float:
    """The median of five claims' times (the claim of ``bot.dispatch``); a claim that finds a
    task gives it back at once (the next claim then finds another)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        found = await db.run_write(claim_next, worker_id=worker_id, now=now, max_reward=10_000)
        times.append(time.perf_counter() - started)
        if found is not None:
            await db.run_write(release_never_shown, offered_before=None, reason="bench", now=now)
    return statistics.median(times)


async def run(items: int, crowd: str, where: Path) -> Figures:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    db = await Database.open(where / "refit.db")
    compute = Compute(workers=1)
    install(compute)
    try:
        await db.migrate()
        await build(db, where / "data", items, crowd, now)
        await register_worker(db, 1, now)
        await compute.run(abs, 0)  # the pool's process started, as in a bot that has refitted
        return await measure(db, now, probe_worker=1)
    finally:
        install(None)
        await compute.shutdown()
        await db.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.refit_scale")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--crowd", default="good")
    parser.add_argument("--dir", type=Path, help="where the database goes (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        where = args.dir or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(run(args.items, args.crowd, where))
    print("\n".join(figures.lines()))


if __name__ == "__main__":
    main()
