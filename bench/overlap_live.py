"""Bench room: dynamic overlap as the running bot buys answers (issue 16, item 4, live).

The bot runs as its own process (``bench.crowd``'s child: ``python -m bot``'s application,
polling) against the sandbox with Telegram's flood control on. This process plays a seeded
crowd of the quality benchmark (``bench.quality_crowds``): each of its 30 workers answers every
task pushed to it after ``--think`` seconds, with the label its confusion row draws for the
item's true class (the item is read from the task's buttons: their callback data names the
assignment). The same crowd answers the same items twice: a batch of fixed overlap 5 (no
dynamic overlap) and a batch of up to 6 answers an item with the bot's dynamic overlap and
routing (``bot/refit.py``). Each run lasts until the batch is done. The report, per regime:
answers bought, seconds to the batch's end, and the accuracy of what ``/results`` gives on
the answers (``bot.tasks``' aggregation, the model choice) against the crowd's truth.

``python -m bench.overlap_live [--crowd good] [--items 150] [--think 1.2] [--seed 0]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.crowd import ROOT, TOKEN, bot_env
from bench.quality_crowds import CLASSES, LabelCrowd, make_label_crowd
from bot.batches import Viewer
from bot.results import batch_results
from sandbox import BotMessage, RateLimit, SandboxServer, SandboxUser
from storage.assignments import get_assignment, submitted_count_in
from storage.availability import set_quiet, set_ready
from storage.batches import get_batch, items_of
from storage.db import Database
from tests.builders import publish_batch, register_worker
from tests.conftest import REQUESTER_ID

FIRST_WORKER = 60_000
LABELS = tuple(f"class{n}" for n in range(CLASSES))
DEADLINE = 600.0  # seconds: a run that has not ended by then is reported as such


@dataclass(frozen=True)
class Regime:
    name: str
    answers_per_item: int
    dynamic: bool
    env: tuple[tuple[str, str], ...] = ()  # settings of the bot process


# No early stop at all: the answer's own rule (the weighted vote) would otherwise stop an item
# of a batch without dynamic overlap once two answers agree; at this bar it never does.
FIXED = Regime("fixed overlap 5", 5, dynamic=False, env=(("LABEL_STOP_CONFIDENCE", "0.999999999"),))
DYNAMIC = Regime("dynamic overlap and routing, up to 6", 6, dynamic=True)


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
        await asyncio.sleep(think)
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


async def run_regime(crowd: LabelCrowd, regime: Regime, think: float, seed: int) -> Outcome:
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
        finally:
            await db.close()
    return Outcome(regime, answers, seconds, accuracy, ended)


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


async def run(crowd_name: str, items: int, think: float, seed: int) -> list[Outcome]:
    crowd = make_label_crowd(crowd_name, seed, items=items)
    return [await run_regime(crowd, regime, think, seed) for regime in (FIXED, DYNAMIC)]


def report(crowd_name: str, outcomes: list[Outcome]) -> list[str]:
    fixed, dynamic = outcomes
    saved = 1 - dynamic.answers / fixed.answers if fixed.answers else 0.0
    return [
        f"crowd {crowd_name}, {len(outcomes)} regimes:",
        *(f"  {outcome.line()}" for outcome in outcomes),
        f"  answers saved {saved:.1%}, accuracy gap {dynamic.accuracy - fixed.accuracy:+.3f}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.overlap_live")
    parser.add_argument("--crowd", default="good")
    parser.add_argument("--items", type=int, default=150)
    parser.add_argument("--think", type=float, default=1.2, help="seconds before each answer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    outcomes = asyncio.run(run(args.crowd, args.items, args.think, args.seed))
    print("\n".join(report(args.crowd, outcomes)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
