"""Bench room: the fault run (issue 11): crashes and API failures under load, nothing lost.

The real bot process (``bench.crowd``'s child) serves simulated workers through the sandbox,
which injects 429s, 500s, slow answers and timeouts (``sandbox/faults.py``). The bot is
SIGKILLed at random moments and restarted on the same database each time. One worker blocks
the bot in the middle of a task, another deletes the chat. The cap is low, so workers reach it.
At the end (the bot still running) it checks and prints: every answer the bot confirmed to a
worker is submitted and credited exactly once; no submitted answer lacks its one credit; no
assignment is active past its deadline (nor claimed and never shown); the ledger's invariants
hold (``bot.payouts.check_invariants``, which include the cap); no press was answered twice
(an update handled twice). It exits 1 on any loss, on any ERROR line the bot logged, on a bot
exit nobody asked for, and when no press was confirmed at all (a run that proves nothing).

``python -m bench.faultrun [--workers 40] [--seconds 120] [--kills 6]`` (``make faultrun``);
``TELEGRAM_MESSAGES_PER_SECOND`` in the environment is passed to the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.payouts import check_invariants
from sandbox import FaultInjector, Faults, SandboxServer, SandboxUser
from sandbox.models import BotMessage
from storage import faultcheck
from storage.availability import set_quiet, set_ready
from storage.db import Database
from tests.builders import publish_batch, register_worker
from tests.conftest import ADMIN_ID, REQUESTER_ID

TOKEN = "123456:FAULT-petites-mains-token"  # noqa: S105 - a fake token for the sandbox
ROOT = Path(__file__).resolve().parent.parent
FIRST_WORKER = 60_000
CAP_CENTS = 30
TIME_LIMIT = 20  # seconds a task stays open: short, so the run sees deadlines pass
GRACE = timedelta(seconds=5)  # a deadline job may fire this late after a restart
FAULTS = Faults(too_many=0.03, server_error=0.03, slow=0.03, timeout=0.02)


@dataclass
class Tally:
    """What the workers saw."""

    confirmed: set[int] = field(default_factory=set)  # assignment ids answered "credited"
    presses: int = 0
    unconfirmed: int = 0
    kills: int = 0


def _car(message: BotMessage) -> int | None:
    """The assignment id behind a task message's "car" button, if it has one."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    for row in rows:
        for button in row:
            if button.get("text") == "car" and "callback_data" in button:
                parts = str(button["callback_data"]).split()
                return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return None


def _latest_task(user: SandboxUser) -> BotMessage | None:
    return next((m for m in reversed(user.messages) if _car(m) is not None), None)


async def _worker(user: SandboxUser, think: float, stop_at: float, tally: Tally) -> None:
    """Answer "car" on the latest task after ``think`` seconds, until time is up."""
    while time.monotonic() < stop_at:
        task = _latest_task(user)
        if task is None:
            try:
                await user.next_message(timeout=3)
            except TimeoutError:
                await user.send_command("/ready")
            continue
        assignment = _car(task)
        await asyncio.sleep(think * random.uniform(0.5, 1.5))
        tally.presses += 1
        try:
            answer = await user.press("car", message=task, timeout=20)
        except TimeoutError:
            tally.unconfirmed += 1
            continue
        except LookupError:
            continue
        if answer.text and "credited" in answer.text and assignment is not None:
            tally.confirmed.add(assignment)
        with contextlib.suppress(TimeoutError):
            await user.next_message(timeout=5)


async def _troublemaker(sandbox: SandboxServer, user: SandboxUser, how: str) -> None:
    """Wait for a first task, then block the bot or delete the chat in the middle of it."""
    while _latest_task(user) is None:
        try:
            await user.next_message(timeout=5)
        except TimeoutError:
            await user.send_command("/ready")
    await asyncio.sleep(1)
    if how == "block":
        sandbox.block(user.id)
    else:
        sandbox.delete_chat(user.id)


async def _prepare(path: Path, data_dir: Path, workers: int, items: int) -> None:
    db = await Database.open(path)
    try:
        await db.migrate()
        now = datetime.now(UTC)
        for worker_id in range(FIRST_WORKER, FIRST_WORKER + workers):
            await register_worker(db, worker_id, now)
            await db.run_write(set_quiet, worker_id, "", now)
            await db.run_write(set_ready, worker_id, now + timedelta(hours=2), now)
        await publish_batch(
            db, data_dir, now, items=items, answers_per_item=1, reward=1,
            time_limit=TIME_LIMIT, title="Faults", instructions="Pick car.",
            seeds=[n % 40 for n in range(items)],
        )  # fmt: skip
    finally:
        await db.close()


class Bot:
    """The bot as a child process, killed and restarted on the same database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log  # the bot's stderr, every run appended
        self.process: asyncio.subprocess.Process | None = None
        self.crashes = 0  # exits nobody asked for (each restarted, as a supervisor would)

    async def watch(self) -> None:
        """Restart the bot whenever it exits by itself, counting it."""
        while True:
            await asyncio.sleep(0.5)
            if self.process is not None and self.process.returncode is not None:
                self.crashes += 1
                await self.start()

    async def start(self) -> None:
        with self.log.open("ab") as sink:  # the child keeps its own descriptor
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.crowd", "--child", cwd=ROOT, env=self.env,
                stderr=sink,
            )  # fmt: skip

    async def kill(self) -> None:
        process, self.process = self.process, None  # the watcher leaves it alone
        assert process is not None
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            await asyncio.wait_for(self.process.wait(), timeout=60)


async def _killer(bot: Bot, kills: int, seconds: float, tally: Tally) -> None:
    """``kills`` SIGKILLs at random moments spread over the run, each followed by a restart."""
    slot = seconds / (kills + 1)
    for n in range(kills):
        await asyncio.sleep(slot * random.uniform(0.6, 1.0) if n else slot * 0.8)
        await bot.kill()
        tally.kills += 1
        await bot.start()


async def run(workers: int, seconds: float, kills: int, think: float, seed: int) -> int:
    """The run; returns the exit status (0: nothing lost)."""
    random.seed(seed)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        injector = FaultInjector(FAULTS, seed=seed)
        async with SandboxServer(token=TOKEN, faults=injector) as sandbox:
            await _prepare(tmp / "fault.db", tmp / "data", workers, items=workers * 80)
            users = [sandbox.user(FIRST_WORKER + n, first_name=f"W{n}") for n in range(workers)]
            sandbox.user(ADMIN_ID, first_name="Admin")
            bot = Bot(_environment(sandbox, tmp), tmp / "bot.log")
            tally = Tally()
            await bot.start()
            watcher = asyncio.create_task(bot.watch())
            start = time.monotonic()
            try:
                trouble = [_troublemaker(sandbox, users[0], "block"),
                           _troublemaker(sandbox, users[1], "delete")]  # fmt: skip
                load = [_worker(u, think, start + seconds, tally) for u in users[2:]]
                await asyncio.gather(_killer(bot, kills, seconds, tally), *trouble, *load)
                await asyncio.sleep(TIME_LIMIT + GRACE.total_seconds())  # deadlines come due
                lines, lost = await _check(tmp / "fault.db", sandbox, injector, tally)
                errors = _errors(tmp / "bot.log")
                lines.append(f"bot exits nobody asked for {bot.crashes}; ERROR lines logged "
                             f"{len(errors)} {errors[:3]}")  # fmt: skip
                lost += bot.crashes + len(errors)
            finally:
                watcher.cancel()
                await bot.stop()
            lines.append(f"faults injected {dict(injector.injected)}; took "
                         f"{time.monotonic() - start:.0f} s")  # fmt: skip
            print("\n".join(lines), flush=True)
            return 1 if lost else 0


def _errors(log: Path) -> list[str]:
    """The bot's ERROR lines (each a failure: under faults the bot logs warnings, not errors)."""
    return [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line]


def _environment(sandbox: SandboxServer, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update({
        "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sandbox.url,
        "DATABASE_URL": f"sqlite:///{tmp / 'fault.db'}", "DATA_DIR": str(tmp / "data"),
        "ADMIN_IDS": str(ADMIN_ID), "REQUESTER_IDS": str(REQUESTER_ID),
        "NO_PROXY": "127.0.0.1,localhost", "MONTHLY_CAP": f"{CAP_CENTS / 100:.2f}",
    })  # fmt: skip
    if rate := os.environ.get("TELEGRAM_MESSAGES_PER_SECOND"):
        env["TELEGRAM_MESSAGES_PER_SECOND"] = rate
    return env


async def _check(
    path: Path, sandbox: SandboxServer, injector: FaultInjector, tally: Tally
) -> tuple[list[str], int]:
    """The report lines and how many losses they show."""
    db = await Database.open(path)
    try:
        now = datetime.now(UTC)
        async with db.read() as tx:
            credits = await faultcheck.credits_of(tx, sorted(tally.confirmed))
            stuck = await faultcheck.stuck_assignments(tx, now=now - GRACE,
                                                       shown_by=now - 2 * GRACE)  # fmt: skip
            uncredited = await faultcheck.answers_without_one_credit(tx)
        problems = await check_invariants(db, tz=ZoneInfo("Europe/Paris"), cap=CAP_CENTS)
    finally:
        await db.close()
    lost = [a for a in tally.confirmed if credits.get(a, ("", 0)) != ("submitted", 1)]
    doubled = [a for a, (_, n) in credits.items() if n > 1]
    refused = {id(params) for params in injector.refused}  # never reached the chat
    answered = Counter(
        str(params.get("callback_query_id")) for name, params in sandbox.calls
        if name == "answerCallbackQuery" and id(params) not in refused
    )  # fmt: skip
    twice = [query for query, n in answered.items() if n > 1]
    lines = [
        f"kills {tally.kills}; presses {tally.presses}; confirmed answers "
        f"{len(tally.confirmed)}; presses never confirmed {tally.unconfirmed}",
        f"lost (confirmed, not submitted and credited once) {len(lost)} {lost[:5]}",
        f"double-credited {len(doubled)}; submitted without exactly one credit "
        f"{len(uncredited)} {uncredited[:5]}",
        f"stuck (active past deadline, or never shown) {len(stuck)} {stuck[:5]}",
        f"ledger invariant problems (cap included) {len(problems)} {problems[:3]}",
        f"presses answered twice (an update handled twice) {len(twice)} {twice[:3]}",
    ]
    idle = not tally.presses or not tally.confirmed  # a run where nothing happened proves nothing
    if idle:
        lines.append("FAILED: no press confirmed, the load never reached the bot")
    found = (lost, doubled, uncredited, stuck, problems, twice)
    return lines, sum(len(problem) for problem in found) + idle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    return asyncio.run(run(args.workers, args.seconds, args.kills, args.think, args.seed))


if __name__ == "__main__":
    sys.exit(main())
