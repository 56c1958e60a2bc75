"""Bench room: dynamic overlap as the running bot buys answers (issue 16, item 4, live).

The bot runs as its own process (``bench.crowd``'s child: ``python -m bot``'s application,
polling) against the sandbox with Telegram's flood control on. This process plays a seeded
crowd of the quality benchmark (``bench.quality_crowds``): each of its 30 workers answers every
task pushed to it after ``--think`` seconds or up to half as long again (``JITTER``: people do
not answer in step), with the label its confusion row draws for the item's true class (the item
is read from the task's buttons: their callback data names the assignment). The same crowd
answers the same items twice: a batch of fixed overlap 5 (no dynamic overlap) and a batch of up
to 6 answers an item with the bot's dynamic overlap and routing (``bot/refit.py``). Each run
lasts until the batch is done. The report, per regime: answers bought, seconds to the batch's
end, and the accuracy of what ``/results`` gives on the answers (``bot.tasks``' aggregation,
the model choice) against the crowd's truth; then what the offline rounds (``bench.quality``)
give on the same crowd and seed, which the bot should match up to the draws of the answers.

``python -m bench.overlap_live [--crowd good] [--items 150] [--think 1.2] [--seeds 0-4]
[--regime dynamic] [--dump DIR]``: several seeds end with the runs' summary; ``--dump`` writes
each run's answers in crowd-kit's long format (``bot.aggregate`` reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.aggregation_report import parse_seeds
from bench.crowd import ROOT, TOKEN, bot_env
from bench.quality import OverlapRun, overlap_run, verdict
from bench.quality_crowds import CLASSES, LabelCrowd, make_label_crowd
from bot.batches import Viewer
from bot.results import batch_results
from bot.tasks.labels import answer_labels
from sandbox import BotMessage, RateLimit, SandboxServer, SandboxUser
from storage.assignments import get_assignment, submitted_count_in
from storage.availability import set_quiet, set_ready
from storage.batches import get_batch, items_of
from storage.db import Database
from storage.overlap import item_answers
from tests.builders import publish_batch, register_worker
from tests.conftest import REQUESTER_ID

FIRST_WORKER = 60_000
LABELS = tuple(f"class{n}" for n in range(CLASSES))
DEADLINE = 600.0  # seconds: a run that has not ended by then is reported as such
JITTER = 0.5
"""Each answer takes ``think`` times a draw from 1 to 1 + ``JITTER`` (never under ``think``: an
answer under a second is a speed flag, and three pause the worker). At one pace for all, the
workers who start together take item after item together: a fixed batch, claimed in item
order, was answered by six fixed groups of five (live spammy 0.720 at fixed overlap 5, offline
0.901)."""


@dataclass(frozen=True)
class Regime:
    key: str  # as ``--regime`` names it
    name: str
    answers_per_item: int
    dynamic: bool
    env: tuple[tuple[str, str], ...] = ()  # settings of the bot process


# No early stop at all: the answer's own rule (the weighted vote) would otherwise stop an item
# of a batch without dynamic overlap once two answers agree; at this bar it never does.
FIXED = Regime(
    "fixed", "fixed overlap 5", 5, dynamic=False, env=(("LABEL_STOP_CONFIDENCE", "0.999999999"),)
)
DYNAMIC = Regime("dynamic", "dynamic overlap and routing, up to 6", 6, dynamic=True)


@dataclass(frozen=True)
class Outcome:
    regime: Regime
    answers: int
    seconds: float
    accuracy: float
    ended: bool

    def line(self) -> str:
        ended = "" if self.ended else " (not ended: the run hit its deadline)"
        return (
            f"{self.regime.name}: {self.answers} answers, batch done in {self.seconds:.0f} s, "
            f"accuracy {self.accuracy:.3f}{ended}"
        )


async def _prepare(db: Database, data_dir: Path, crowd: LabelCrowd, regime: Regime) -> int:
    now = datetime.now(UTC)
    for worker in sorted(crowd.confusions):
        worker_id = FIRST_WORKER + worker
        await register_worker(db, worker_id, now)
        await db.run_write(set_quiet, worker_id, "", now)  # the bench may run at night
        await db.run_write(set_ready, worker_id, now + timedelta(hours=2), now)
    return await publish_batch(
        db,
        data_dir,
        now,
        labels=LABELS,
        items=len(crowd.truth),
        answers_per_item=regime.answers_per_item,
        reward=10,  # pays the floor up to 36 s an answer: no raise, no pause
        time_limit=120,
        title="Live overlap",
        instructions="Pick the class.",
        dynamic=regime.dynamic,
    )


async def _answer_tasks(
    user: SandboxUser,
    worker: int,
    crowd: LabelCrowd,
    rank_of: dict[int, int],
    db: Database,
    think: float,
    rng: random.Random,
) -> None:
    """Answer each task pushed to this worker, as the crowd's worker would, until cancelled."""
    message: BotMessage | None = None
    while True:
        if message is None or not _is_task(message):
            message = await user.next_message(timeout=DEADLINE)
            continue
        item_id = await _item_of(db, message)
        await asyncio.sleep(think * rng.uniform(1, 1 + JITTER))
        if item_id is None:
            message = None
            continue
        label = LABELS[crowd.answer(worker, rank_of[item_id] + 1, rng)]  # the crowd counts from 1
        with suppress(TimeoutError, LookupError):  # refused or replaced: wait for what comes
            await user.press(label, message=message, timeout=30)
        message = await user.next_message(timeout=DEADLINE)


def _is_task(message: BotMessage) -> bool:
    return any(text in LABELS for row in message.buttons for text in row)


async def _item_of(db: Database, message: BotMessage) -> int | None:
    """The item a task message shows, by the assignment its buttons name."""
    keyboard = (message.reply_markup or {}).get("inline_keyboard", [])
    for row in keyboard:
        for button in row:
            if button.get("text") in LABELS:
                assignment_id = int(str(button["callback_data"]).split()[1])
                found = await db.run_read(get_assignment, assignment_id)
                return None if found is None else found.item_id
    return None


async def _accuracy(
    db: Database, batch_id: int, crowd: LabelCrowd, rank_of: dict[int, int]
) -> float:
    """What ``/results`` gives (``bot.results.batch_results``) against the crowd's truth."""
    results = await batch_results(db, batch_id, Viewer(REQUESTER_ID), now=datetime.now(UTC))
    right = sum(
        result.answer == LABELS[crowd.truth[rank_of[result.item.id] + 1]]
        for result in results.items
    )
    return right / len(results.items)


async def run_regime(
    crowd: LabelCrowd, regime: Regime, think: float, seed: int, dump: Path | None = None
) -> Outcome:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        database = f"sqlite:///{tmp / 'live.db'}"
        db = await Database.open(database)
        try:
            await db.migrate()
            batch_id = await _prepare(db, tmp / "data", crowd, regime)
            items = await db.run_read(items_of, batch_id)
            rank_of = {item.id: rank for rank, item in enumerate(items)}
            async with SandboxServer(token=TOKEN, rate_limit=RateLimit()) as sandbox:
                process = await _start_bot(sandbox, database, tmp, dict(regime.env))
                rng = random.Random(f"live:{crowd.name}:{seed}")
                workers = [
                    asyncio.create_task(
                        _answer_tasks(
                            sandbox.user(FIRST_WORKER + worker, first_name=f"W{worker}"),
                            worker,
                            crowd,
                            rank_of,
                            db,
                            think,
                            rng,
                        )
                    )
                    for worker in sorted(crowd.confusions)
                ]
                started = time.monotonic()
                ended = await _until_done(db, batch_id, started + DEADLINE)
                seconds = time.monotonic() - started
                for task in workers:
                    task.cancel()
                for failed in await asyncio.gather(*workers, return_exceptions=True):
                    if not isinstance(failed, asyncio.CancelledError | None):
                        raise failed  # a worker of the bench broke: the figures would lie
                process.send_signal(signal.SIGINT)
                await asyncio.wait_for(process.wait(), timeout=60)
            answers = await db.run_read(submitted_count_in, batch_id)
            accuracy = await _accuracy(db, batch_id, crowd, rank_of)
            if dump is not None:
                await _dump(db, batch_id, rank_of, dump / f"{regime.key}.csv")
        finally:
            await db.close()
    return Outcome(regime, answers, seconds, accuracy, ended)


async def _dump(db: Database, batch_id: int, rank_of: dict[int, int], path: Path) -> None:
    """The batch's answers in crowd-kit's long format (``task,worker,label``; ``bot.aggregate``
    reads it), tasks and workers named as the crowd names them."""
    lines = ["task,worker,label"]
    for item in await db.run_read(item_answers, batch_id):
        for worker_id, answer in item.answers:
            label = ",".join(sorted(answer_labels(json.loads(answer))))
            lines.append(f"{rank_of[item.item_id] + 1},{worker_id - FIRST_WORKER},{label}")
    await asyncio.to_thread(_write, path, "\n".join(lines) + "\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def _start_bot(
    sandbox: SandboxServer, database: str, tmp: Path, settings: dict[str, str]
) -> asyncio.subprocess.Process:
    env = bot_env(sandbox, database, tmp / "data", **settings)
    with (tmp / "bot.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.crowd", "--child",
            cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip


async def _until_done(db: Database, batch_id: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        batch = await db.run_read(get_batch, batch_id)
        if batch is not None and batch.state == "done":
            return True
        await asyncio.sleep(0.5)
    return False


REGIMES = {regime.key: regime for regime in (FIXED, DYNAMIC)}


async def run(
    crowd_name: str,
    items: int,
    think: float,
    seed: int,
    regimes: Sequence[Regime] = (FIXED, DYNAMIC),
    dump: Path | None = None,
) -> list[Outcome]:
    crowd = make_label_crowd(crowd_name, seed, items=items)
    return [await run_regime(crowd, regime, think, seed, dump) for regime in regimes]


def report(crowd_name: str, outcomes: list[Outcome]) -> list[str]:
    lines = [
        f"crowd {crowd_name}, {len(outcomes)} regimes:",
        *(f"  {outcome.line()}" for outcome in outcomes),
    ]
    if len(outcomes) == 2:
        fixed, dynamic = outcomes
        saved = 1 - dynamic.answers / fixed.answers if fixed.answers else 0.0
        gap = dynamic.accuracy - fixed.accuracy
        lines.append(f"  answers saved {saved:.1%}, accuracy gap {gap:+.3f}")
    return lines


def offline_line(found: OverlapRun) -> str:
    """What the benchmark's offline rounds give on the same crowd and seed."""
    saved = 1 - found.dynamic / found.fixed
    return (
        f"  offline rounds (bench.quality), same crowd and seed: fixed {found.fixed}, "
        f"{found.fixed_accuracy:.3f}; dynamic {found.dynamic}, {found.dynamic_accuracy:.3f}; "
        f"saved {saved:.1%}, gap {found.dynamic_accuracy - found.fixed_accuracy:+.3f}"
    )


def summary(
    crowd_name: str,
    seeds: str,
    runs: Sequence[Sequence[Outcome]],
    offline: Sequence[OverlapRun] = (),
) -> list[str]:
    """Over several seeds: answers bought and mean accuracy per regime, answers saved, and the
    accuracy gap's mean with its standard error; then the same of the offline rounds."""
    fixed = [outcomes[0] for outcomes in runs]
    dynamic = [outcomes[1] for outcomes in runs]
    gaps = [d.accuracy - f.accuracy for f, d in zip(fixed, dynamic, strict=True)]
    saved = 1 - sum(d.answers for d in dynamic) / sum(f.answers for f in fixed)
    error = statistics.stdev(gaps) / math.sqrt(len(gaps))
    return [
        f"crowd {crowd_name}, seeds {seeds} ({len(runs)} runs):",
        *(
            f"  {regime[0].regime.name}: {statistics.fmean(o.answers for o in regime):.0f} "
            f"answers, accuracy {statistics.fmean(o.accuracy for o in regime):.3f}"
            for regime in (fixed, dynamic)
        ),
        f"  answers saved {saved:.1%}, accuracy gap {statistics.fmean(gaps):+.3f} ± {error:.3f}",
        *(_offline_summary(offline) if offline else []),
    ]


def _offline_summary(offline: Sequence[OverlapRun]) -> list[str]:
    saved, gap, _ = verdict(offline)
    gaps = [run.dynamic_accuracy - run.fixed_accuracy for run in offline]
    error = statistics.stdev(gaps) / math.sqrt(len(gaps)) if len(gaps) > 1 else 0.0
    return [
        f"  offline rounds, same seeds: answers saved {saved:.1%}, gap {gap:+.3f} ± {error:.3f}"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.overlap_live")
    parser.add_argument("--crowd", default="good")
    parser.add_argument("--items", type=int, default=150)
    parser.add_argument("--think", type=float, default=1.2, help="seconds before each answer")
    parser.add_argument("--seeds", default="0", help='crowd seeds: "0-4" or "1,5,9"')
    parser.add_argument(
        "--regime", choices=sorted(REGIMES), action="append", help="one regime only (repeatable)"
    )
    parser.add_argument("--dump", type=Path, help="write each regime's answers here (CSV)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    regimes = [regime for regime in (FIXED, DYNAMIC) if regime.key in (args.regime or REGIMES)]
    runs, offline = [], []
    for seed in parse_seeds(args.seeds):
        dump = None if args.dump is None else args.dump / f"{args.crowd}-{seed}"
        outcomes = asyncio.run(run(args.crowd, args.items, args.think, seed, regimes, dump))
        offline.append(overlap_run(args.crowd, seed, args.items))
        lines = report(f"{args.crowd} (seed {seed})", outcomes)
        print("\n".join([*lines, offline_line(offline[-1])]), flush=True)
        runs.append(outcomes)
    if len(runs) > 1 and len(regimes) == 2:
        print("\n".join(summary(args.crowd, args.seeds, runs, offline)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
