"""Bench room: the figures issue 11 asks for, measured on a ``bench.volume`` database.

In this process, through the bot's own use cases (no Telegram): choosing a worker's next task
(``/task``'s use case, ``offer_on_request``) for sampled workers, p50/p99; push passes
(``dispatch_pass``) bounded as the bot bounds them, by what the outbox can send before the next
pass (at the default 30 messages/s twice, then at 1,000/s), then unbounded (every available idle
worker), then once more (nothing left to claim), each with what it read and claimed, after working
out every worker's stored availability span as the bot's first pass after a start does (migration
0017); two passes of the floor job and one more as after a restart (its memory empty), with how
long a write started every 10 ms meanwhile waited; the monthly close of the previous month;
``/results`` of the largest batch (aggregation in the compute pool, files written) with the event
loop's longest stall meanwhile; the ledger invariants; the file's size per 10,000 answers.
``--bot-seconds`` then starts the real bot process on the same file against the sandbox, has
``--bot-workers`` workers answer, and reports its peak memory (VmHWM) and CPU
(``bench/volume_bot.py``). ``--skip`` leaves parts out (the invariants check alone takes over 15
minutes at full scale); ``--trace N`` prints, for the N slowest choices, the time of each statement
(from SQLite's trace: a statement's time runs to the next one's start, the last one's to the call's
end, so a commit's includes what it waited for).

``python -m bench.volume_figures --db /tmp/volume.db [--samples 300] [--bot-seconds 30]
[--skip choose,passes,floor,close,results,invariants] [--trace 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from bench.volume_bot import bot_figures
from bot.batches import Viewer
from bot.compute import Compute, install, offload
from bot.dispatch import PassTally, Policy, dispatch_pass, offer_on_request, refresh_spans
from bot.engine.budget import Limits
from bot.engine.jobs import DISPATCH_INTERVAL
from bot.engine.outbox import Outbox
from bot.errors import UserError
from bot.floor import FloorMemo, enforce_floor
from bot.ledger import current_month, parse_month
from bot.payouts import check_invariants, close_month
from bot.results import BatchResults, batch_results, pseudonym_secret, result_files
from storage import bulk
from storage.availability import forget_spans
from storage.db import Database

T = TypeVar("T")
CAP = 25_000
FLOOR = 1_000  # cents an hour, the default MIN_HOURLY_RATE


def say(lines: list[str], line: str) -> None:
    """Keep a report line and print it at once (the full-scale run takes minutes)."""
    lines.append(line)
    print(line, flush=True)


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(step: Awaitable[T]) -> tuple[T, float]:
    """``step``'s result and its wall time in milliseconds."""
    start = time.perf_counter()
    result = await step
    return result, (time.perf_counter() - start) * 1000


class Stalls:
    """The event loop's longest stall while it runs (a 5 ms ticker)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.longest = max(self.longest, (time.perf_counter() - before - 0.005) * 1000)

    def __enter__(self) -> Stalls:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


PARTS = ("choose", "passes", "floor", "close", "results", "invariants")
Statements = list[tuple[float, str]]  # (start, SQL) as SQLite's trace saw them


async def choose(
    db: Database, policy: Policy, workers: list[int], now: datetime
) -> tuple[list[float], list[tuple[float, Statements]]]:
    """Milliseconds ``offer_on_request`` takes for each worker (refusals count too), and each
    call's statements with the time each took (ms; the last one's runs to the call's end)."""
    times: list[float] = []
    calls: list[tuple[float, Statements]] = []
    seen: Statements = []
    await db.set_trace(lambda sql: seen.append((time.perf_counter(), sql)))
    try:
        for worker in workers:
            seen.clear()
            start = time.perf_counter()
            with contextlib.suppress(UserError):
                await offer_on_request(db, policy, worker, now)
            end = time.perf_counter()
            times.append((end - start) * 1000)
            starts = [at for at, _ in seen] + [end]
            spans = [((starts[i + 1] - at) * 1000, sql) for i, (at, sql) in enumerate(seen)]
            calls.append((times[-1], spans))
    finally:
        await db.set_trace(lambda _: None)
    return times, calls


def slowest(calls: list[tuple[float, Statements]], count: int) -> list[str]:
    """Report lines: the ``count`` slowest calls, each with its three slowest statements."""
    lines = []
    for total, spans in sorted(calls, key=lambda call: -call[0])[:count]:
        worst = sorted(spans, key=lambda span: -span[0])[:3]
        parts = "; ".join(f"{ms:.2f} ms {' '.join(sql.split())[:60]!r}" for ms, sql in worst)
        lines.append(f"  {total:.2f} ms, {len(spans)} statements: {parts}")
    return lines


async def figures(
    path: Path, samples: int, skip: frozenset[str] = frozenset(), trace: int = 0
) -> list[str]:
    """Every in-process figure (but the ``skip`` parts), as report lines."""
    policy = Policy(monthly_cap=CAP, zone=ZoneInfo("Europe/Paris"))
    now = datetime.now(UTC)
    db = await Database.open(path)
    lines: list[str] = []
    compute = Compute()
    install(compute)
    try:
        _, migrate_ms = await timed(db.migrate())
        async with db.read() as tx:
            counts = await bulk.counts(tx)
            sample = await bulk.sample_workers(tx, samples)
            batch_id, requester, batch_items = await bulk.largest_batch(tx)
        say(lines, f"rows: {counts}; migrations on open {migrate_ms:.0f} ms")
        if "choose" not in skip:
            times, calls = await choose(db, policy, sample, now)
            say(
                lines,
                f"choosing a worker's next task (/task use case), {len(times)} workers: p50 "
                f"{percentile(times, 0.5):.2f} ms, p99 {percentile(times, 0.99):.2f} ms, "
                f"max {max(times, default=0):.2f} ms",
            )
            for line in slowest(calls, trace):
                say(lines, line)
        if "passes" not in skip:
            forgotten = await db.run_write(forget_spans)  # as the bot does at start
            spans, spans_ms = await timed(refresh_spans(db, policy, now))
            say(lines, f"stored availability: {spans} spans worked out in {spans_ms:.0f} ms "
                         f"({forgotten} forgotten first, as at every start)")  # fmt: skip
            for rate in (30.0, 30.0, 1000.0, None):  # the bot's budget (twice), 1,000/s, all
                say(lines, await _pass(db, policy, now, rate))
            say(lines, await _pass(db, policy, now, None, "once everyone available is served"))
        if "floor" not in skip:
            memo = FloorMemo()  # as the floor job keeps it from pass to pass
            for _ in range(2):  # the first pass catches up, the second is every pass after
                say(lines, await _floor(db, policy, now, memo))
            say(lines, await _floor(db, policy, now, FloorMemo(), "after a restart"))
        if "close" not in skip:
            month = _previous_month(now, policy)
            closed, close_ms = await timed(close_month(db, month, now=now, tz=policy.zone,
                                                       actor_id=None))  # fmt: skip
            say(lines, f"monthly close of {month}: {len(closed.created)} statements in "
                         f"{close_ms / 1000:.2f} s")  # fmt: skip
        if "results" not in skip:
            say(lines, await _results(db, batch_id, requester, batch_items, now))
        if "invariants" not in skip:
            problems, check_ms = await timed(check_invariants(db, tz=policy.zone, cap=CAP))
            say(lines, f"ledger invariants: {len(problems)} problems, checked in "
                         f"{check_ms / 1000:.2f} s {problems[:3]}")  # fmt: skip
        answers = counts["assignments"]
        size = await asyncio.to_thread(_size, path)
        per = size / answers * 10_000 / 1e6
        say(lines, f"database {size / 1e6:.0f} MB for {answers} assignments: {per:.2f} MB"
                     " per 10,000 answers (all tables)")  # fmt: skip
    finally:
        install(None)
        await compute.shutdown()
        await db.close()
    return lines


async def _floor(
    db: Database, policy: Policy, now: datetime, memo: FloorMemo, what: str = ""
) -> str:
    """One pass of the floor job, and how long a write transaction (an answer's credit) started
    every 10 ms meanwhile waited at most."""
    waits: list[float] = []
    done = asyncio.Event()

    async def write_meanwhile() -> None:
        while not done.is_set():
            started = time.perf_counter()
            async with db.write() as tx:
                await tx.fetch_value("SELECT 1")
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    writer = asyncio.create_task(write_meanwhile())
    news, pass_ms = await timed(
        enforce_floor(db, floor=FLOOR, now=now, tz=policy.zone, cap=CAP, memo=memo)
    )
    done.set()
    await writer
    label = f"floor pass {what}" if what else "floor pass"
    return (
        f"{label}: {len(news)} batches changed in {pass_ms / 1000:.2f} s; {len(waits)} "
        f"writes meanwhile waited at most {max(waits, default=0) * 1000:.0f} ms"
    )


async def _pass(
    db: Database, policy: Policy, now: datetime, rate: float | None, what: str = ""
) -> str:
    """One push pass bounded as the bot bounds it: what the outbox can send at ``rate``
    messages a second before the next pass (None: unbounded), and what it did."""
    limit = None if rate is None else Outbox(Limits(per_second=rate)).room(DISPATCH_INTERVAL)
    tally = PassTally()
    _, ms = await timed(dispatch_pass(db, policy, now, limit=limit, tally=tally))
    bound = f"{rate:.0f} messages/s: up to {limit} claims" if rate else "unbounded"
    return (
        f"push pass{' ' + what if what else ''} ({bound}): {ms:.1f} ms; {tally.spans} spans"
        f" worked out again, {tally.read} workers read from the queue, {tally.available}"
        f" available, {tally.tried} tried, {tally.claims} claims in {tally.writes} write"
        " transactions" + (f" ({ms / tally.claims:.2f} ms a claim)" if tally.claims else "")
    )


def _size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _previous_month(now: datetime, policy: Policy) -> str:
    year, month = map(int, parse_month(current_month(now, policy.zone)).split("-"))
    return f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"


async def _results(db: Database, batch_id: int, requester: int, items: int, now: datetime) -> str:
    viewer = Viewer(requester)
    with Stalls() as stalls:
        results, aggregate_ms = await timed(batch_results(db, batch_id, viewer, now=now))
        secret = await pseudonym_secret(db, now)
        files, files_ms = await timed(_files(results, secret))
    size = sum(len(data) for _, data in files)
    return (
        f"/results of a {items}-item batch: read and aggregated in {aggregate_ms / 1000:.2f} s,"
        f" files ({size / 1e6:.1f} MB) in {files_ms / 1000:.2f} s; loop's longest stall "
        f"{stalls.longest:.0f} ms"
    )


async def _files(results: BatchResults, secret: bytes) -> list[tuple[str, bytes]]:
    return await offload(result_files, results, secret)  # as the handler does: off the loop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--bot-seconds", type=float, default=0.0, help="0: no bot step")
    parser.add_argument("--bot-workers", type=int, default=100)
    parser.add_argument(
        "--skip", default="", help=f"parts to leave out, comma-separated: {', '.join(PARTS)}"
    )
    parser.add_argument("--trace", type=int, default=0, help="slowest choices to print")
    args = parser.parse_args(argv)
    skip = frozenset(part for part in args.skip.split(",") if part)
    if unknown := skip - set(PARTS):
        parser.error(f"unknown parts to skip: {', '.join(sorted(unknown))}")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    asyncio.run(figures(args.db, args.samples, skip, args.trace))
    if args.bot_seconds > 0:
        print(asyncio.run(bot_figures(args.db, args.bot_seconds, args.bot_workers)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
