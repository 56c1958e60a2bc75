"""Bench room: the fault run (issue 11): crashes and API failures under load, nothing lost.

The real bot process (``bench.crowd``'s child) serves simulated workers through the sandbox,
which injects 429s, 500s, slow answers and timeouts (``sandbox/faults.py``). The bot is
SIGKILLed at random moments and restarted on the same database each time. One worker blocks
the bot in the middle of a task, another deletes the chat. The cap is low, so workers reach it.
At the end (the bot still running) it checks and prints: every answer the bot confirmed to a
worker is submitted and credited exactly once; no submitted answer lacks its one credit; no
assignment is active past its deadline (nor claimed and never shown); the ledger's invariants
hold (``bot.payouts.check_invariants``, which include the cap); no press was answered twice
(an update handled twice); no task was told "time is up" twice, nor without the database
expiring it (a deadline fired twice). A few workers let a task run out now and then, so
deadlines fire under the kills. It exits 1 on any loss, on any ERROR line a bot logged, on
a bot exit nobody asked for, and when no press was confirmed at all (a run that proves nothing).

With ``--processes N`` (issue 17) N bot processes in webhook mode share one database
(``--database-url``, PostgreSQL) behind ``bench.fleet.Router``, which the sandbox's webhook
delivery POSTs to; each kill takes a random process, and the run also reports the
platform-wide answers/s and each process's CPU.

``python -m bench.faultrun [--workers 40] [--seconds 120] [--kills 6]`` (``make faultrun``);
``--processes 3 --database-url postgresql://...`` (``make faultrun-pg``);
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

from bench.fleet import Router, free_port
from bench.procfs import cpu_seconds
from bot.engine.jobs import STALE_OFFER, SWEEP_GRACE, SWEEP_INTERVAL
from bot.i18n import Catalogue
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
CAP_CENTS = 30  # low, so workers reach it (--cap-cents)
TIME_LIMIT = 20  # seconds a task stays open: short, so the run sees deadlines pass
GRACE = timedelta(seconds=5)  # a deadline job may fire this late after a restart
SWEEP = timedelta(seconds=SWEEP_INTERVAL) + SWEEP_GRACE  # another process expires a dead one's
DAWDLE = 0.04  # share of tasks a worker lets run out (its deadline fires)
TITLE = "Faults"
FAULTS = Faults(too_many=0.03, server_error=0.03, slow=0.03, timeout=0.02)


@dataclass
class Tally:
    """What the workers saw."""

    confirmed: set[int] = field(default_factory=set)  # assignment ids answered "credited"
    presses: int = 0
    unconfirmed: int = 0
    kills: int = 0
    dawdled: int = 0
    in_time: int = 0  # confirmed before the load's end (the answers/s figure)


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
        if random.random() < DAWDLE:  # let this one run out: its deadline fires
            tally.dawdled += 1
            await asyncio.sleep(TIME_LIMIT + 2)
            with contextlib.suppress(TimeoutError):
                await user.next_message(timeout=5)
            continue
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
            tally.in_time += time.monotonic() <= stop_at
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


async def _prepare(where: Path | str, data_dir: Path, workers: int, items: int) -> None:
    db = await Database.open(where)
    try:
        await db.migrate()
        now = datetime.now(UTC)
        for worker_id in range(FIRST_WORKER, FIRST_WORKER + workers):
            await register_worker(db, worker_id, now)
            await db.run_write(set_quiet, worker_id, "", now)
            await db.run_write(set_ready, worker_id, now + timedelta(hours=2), now)
        await publish_batch(
            db, data_dir, now, items=items, answers_per_item=1, reward=1,
            time_limit=TIME_LIMIT, title=TITLE, instructions="Pick car.",
            seeds=[n % 40 for n in range(items)],
        )  # fmt: skip
    finally:
        await db.close()


class Bot:
    """The bot as a child process, killed and restarted on the same database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log  # the bot's stderr, every life appended
        self.process: asyncio.subprocess.Process | None = None
        self.crashes = 0  # exits nobody asked for (each restarted, as a supervisor would)
        self.cpu = 0.0  # CPU seconds of its ended lives (a crash's are not known)
        self.kills = 0

    def cpu_total(self) -> float:
        """CPU seconds over every life so far, the current one included."""
        alive = self.process is not None and self.process.returncode is None
        return self.cpu + (cpu_seconds(self.process.pid) if alive and self.process else 0.0)

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
        self.cpu += cpu_seconds(process.pid)
        self.kills += 1
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.cpu = self.cpu_total()
            self.process.send_signal(signal.SIGINT)
            await asyncio.wait_for(self.process.wait(), timeout=60)


async def _killer(bots: list[Bot], kills: int, seconds: float, tally: Tally) -> None:
    """``kills`` SIGKILLs of a random process at random moments spread over the run, each
    followed by a restart."""
    slot = seconds / (kills + 1)
    for n in range(kills):
        await asyncio.sleep(slot * random.uniform(0.6, 1.0) if n else slot * 0.8)
        bot = random.choice(bots)
        await bot.kill()
        tally.kills += 1
        await bot.start()


@dataclass(frozen=True)
class Setup:
    """One run's shape: how many processes, on which database, how late things may be."""

    processes: int
    database: str  # a DATABASE_URL
    cap: int  # the monthly cap, cents
    late: timedelta  # how late a deadline may be expired and still be on time
    unshown: timedelta  # how long a claim a dead process never showed may stay claimed

    @classmethod
    def of(cls, processes: int, database: str, cap: int) -> Setup:
        if processes == 1:  # a restarted lone process re-arms and releases at once
            return cls(processes, database, cap, GRACE, 2 * GRACE)
        return cls(processes, database, cap, SWEEP + GRACE, STALE_OFFER + SWEEP + GRACE)

    @property
    def settle(self) -> float:
        """Seconds to wait after the load so every deadline and stale claim comes due."""
        return max(TIME_LIMIT + self.late.total_seconds(), self.unshown.total_seconds())


async def run(
    workers: int,
    seconds: float,
    kills: int,
    think: float,
    seed: int,
    processes: int = 1,
    database_url: str | None = None,
    cap: int = CAP_CENTS,
) -> int:
    """The run; returns the exit status (0: nothing lost)."""
    random.seed(seed)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        setup = Setup.of(processes, database_url or f"sqlite:///{tmp / 'fault.db'}", cap)
        injector = FaultInjector(FAULTS, seed=seed)
        router = Router([free_port() for _ in range(processes)]) if processes > 1 else None
        async with SandboxServer(token=TOKEN, faults=injector) as sandbox:
            await _prepare(setup.database, tmp / "data", workers, items=workers * 80)
            users = [sandbox.user(FIRST_WORKER + n, first_name=f"W{n}") for n in range(workers)]
            sandbox.user(ADMIN_ID, first_name="Admin")
            hook = await router.start() if router else None
            env = _environment(sandbox, tmp, setup)
            bots = [
                Bot(_webhook(env, hook, backend), tmp / f"bot-{n}.log")
                for n, backend in enumerate(_backends(router), start=1)
            ]
            tally = Tally()
            for bot in bots:
                await bot.start()
            await _started(sandbox, "setWebhook" if router else "getUpdates", len(bots))
            watchers = [asyncio.create_task(bot.watch()) for bot in bots]
            start = time.monotonic()
            try:
                trouble = [_troublemaker(sandbox, users[0], "block"),
                           _troublemaker(sandbox, users[1], "delete")]  # fmt: skip
                load = [_worker(u, think, start + seconds, tally) for u in users[2:]]
                await asyncio.gather(_killer(bots, kills, seconds, tally), *trouble, *load)
                await asyncio.sleep(setup.settle)  # deadlines and stale claims come due
                lines, lost = await _check(setup, sandbox, injector, tally, users)
                crashes = sum(bot.crashes for bot in bots)
                errors = [line for bot in bots for line in _errors(bot.log)]
                lines.append(f"bot exits nobody asked for {crashes}; ERROR lines logged "
                             f"{len(errors)} {errors[:3]}")  # fmt: skip
                lost += crashes + len(errors)
            finally:
                for watcher in watchers:
                    watcher.cancel()
                for bot in bots:
                    await bot.stop()
                if router is not None:
                    await router.stop()
            lines += _throughput(tally, seconds, bots, router)
            lines.append(f"faults injected {dict(injector.injected)}; took "
                         f"{time.monotonic() - start:.0f} s")  # fmt: skip
            print("\n".join(lines), flush=True)
            return 1 if lost else 0


async def _started(sandbox: SandboxServer, method: str, processes: int) -> None:
    """Wait (up to 2 minutes) until every process made its first ``method`` call: up."""
    for _ in range(1200):
        if len(sandbox.calls_to(method)) >= processes:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the bot processes did not all start ({method})")


def _errors(log: Path) -> list[str]:
    """The bot's ERROR lines (each a failure: under faults the bot logs warnings, not errors)."""
    return [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line]


def _backends(router: Router | None) -> list[str | None]:
    return list(router.backends) if router is not None else [None]


def _webhook(env: dict[str, str], hook: str | None, backend: str | None) -> dict[str, str]:
    """The environment of one process: polling alone, or webhook mode on its own port."""
    if hook is None or backend is None:
        return env
    port = backend.rsplit(":", 1)[1].split("/", 1)[0]
    return {**env, "TELEGRAM_WEBHOOK_URL": hook, "WEBHOOK_PORT": port,
            "TELEGRAM_WEBHOOK_SECRET": "fault-run-secret"}  # fmt: skip


def _throughput(tally: Tally, elapsed: float, bots: list[Bot], router: Router | None) -> list[str]:
    """Platform-wide answers/s and each process's CPU over the run (all its lives)."""
    lines = [f"platform-wide confirmed answers/s {tally.in_time / elapsed:.1f} over "
             f"{elapsed:.0f} s of load; {len(bots)} process(es), {tally.dawdled} tasks "
             "left to run out"]  # fmt: skip
    for n, bot in enumerate(bots):
        cpu = bot.cpu  # stop() banked the last life
        routed = f"; updates routed to it {router.forwarded[n]}" if router else ""
        lines.append(f"process {n + 1}: CPU {cpu:.1f} s ({cpu / elapsed:.0%} of a core); "
                     f"killed {bot.kills}{routed}")  # fmt: skip
    here = cpu_seconds(os.getpid())
    lines.append(f"sandbox, router and crowd (this process): CPU {here:.1f} s over the whole run")
    if router is not None:
        lines.append(f"router: re-routed around a dead process {router.rerouted}; "
                     f"refused (no process up) {router.refused}")  # fmt: skip
    return lines


def _environment(sandbox: SandboxServer, tmp: Path, setup: Setup) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update({
        "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sandbox.url,
        "DATABASE_URL": setup.database, "DATA_DIR": str(tmp / "data"),
        "ADMIN_IDS": str(ADMIN_ID), "REQUESTER_IDS": str(REQUESTER_ID),
        "NO_PROXY": "127.0.0.1,localhost", "MONTHLY_CAP": f"{setup.cap / 100:.2f}",
    })  # fmt: skip
    if rate := os.environ.get("TELEGRAM_MESSAGES_PER_SECOND"):
        env["TELEGRAM_MESSAGES_PER_SECOND"] = rate
    return env


def _expiry_notices(users: list[SandboxUser]) -> Counter[int]:
    """Per assignment, the "time is up" edits its worker saw (a message shows one task at a
    time: an edit is the notice of the task the message showed last)."""
    notice = Catalogue.load().text("en", "tasks.expired", title=TITLE)
    seen: Counter[int] = Counter()
    for user in users:
        showing: dict[int, int] = {}
        for message in user.history:
            assignment = _car(message)
            if assignment is not None:
                showing[message.message_id] = assignment
            elif message.text == notice and message.message_id in showing:
                seen[showing[message.message_id]] += 1
    return seen


async def _check(
    setup: Setup,
    sandbox: SandboxServer,
    injector: FaultInjector,
    tally: Tally,
    users: list[SandboxUser],
) -> tuple[list[str], int]:
    """The report lines and how many losses they show."""
    notices = _expiry_notices(users)
    db = await Database.open(setup.database)
    try:
        now = datetime.now(UTC)
        async with db.read() as tx:
            credits = await faultcheck.credits_of(tx, sorted(tally.confirmed))
            stuck = await faultcheck.stuck_assignments(tx, now=now - setup.late,
                                                       shown_by=now - setup.unshown)  # fmt: skip
            uncredited = await faultcheck.answers_without_one_credit(tx)
            noticed = await faultcheck.credits_of(tx, sorted(notices))
            expired = await faultcheck.count_in_state(tx, "expired")
        problems = await check_invariants(db, tz=ZoneInfo("Europe/Paris"), cap=setup.cap)
    finally:
        await db.close()
    lost = [a for a in tally.confirmed if credits.get(a, ("", 0)) != ("submitted", 1)]
    doubled = [a for a, (_, n) in credits.items() if n > 1]
    fired_twice = sorted(a for a, n in notices.items() if n > 1 or noticed[a][0] != "expired")
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
        f"timers fired twice (two time-is-up notices, or one the database did not expire) "
        f"{len(fired_twice)} {fired_twice[:5]}; expired in the database {expired}, "
        f"time-is-up notices {sum(notices.values())}",
        f"stuck (active past deadline, or never shown) {len(stuck)} {stuck[:5]}",
        f"ledger invariant problems (cap included) {len(problems)} {problems[:3]}",
        f"presses answered twice (an update handled twice) {len(twice)} {twice[:3]}",
    ]
    idle = not tally.presses or not tally.confirmed  # a run where nothing happened proves nothing
    if idle:
        lines.append("FAILED: no press confirmed, the load never reached the bot")
    losses = (len(lost), len(doubled), len(uncredited), len(fired_twice), len(stuck),
              len(problems), len(twice))  # fmt: skip
    return lines, sum(losses) + idle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="bot processes; more than one: webhook mode behind a router",
    )
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder "
                        "(several processes need PostgreSQL)")  # fmt: skip
    parser.add_argument("--cap-cents", type=int, default=CAP_CENTS, help="the monthly cap")
    args = parser.parse_args(argv)
    if args.processes > 1 and not str(args.database_url or "").startswith("postgres"):
        parser.error("--processes above 1 needs --database-url postgresql://...")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    return asyncio.run(run(args.workers, args.seconds, args.kills, args.think, args.seed,
                           args.processes, args.database_url, args.cap_cents))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
