"""Bench room: serving a crowd (issue 10) through the sandbox with Telegram-like limits.

The bot runs as its own process (``python -m bot``'s application with its outbox, polling)
against the sandbox Bot API with flood control on (30 calls a second, 1 a second per chat,
429 with retry_after) and presses that expire after 15 s ("query is too old"). This process
plays N workers who answer each task after a fixed think time. A third into the load, the
requester asks ``/results`` of a 200-item multi-label batch and sends a ZIP holding a 30-minute
recording for transcription. The measure starts once every worker has the task pushed at start
(those pushes are not the load). The report: answers/s, % of the 30/s ceiling, rate-limited
calls per answer, the bot's CPU seconds per answer (from /proc: robust to a busy machine),
callback-answer latency, press to next task, unanswered presses, "query is too old" refusals,
ERROR lines logged, admin alerts, and the event loop's longest stall (the bot's heartbeat,
``bot/heartbeat.py``).

Run from the project root (``make bench`` runs both regimes):
``.venv/bin/python -m bench.crowd --workers 300 --think 1.2 --seconds 60``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import imageio_ffmpeg

from bench.dispatch_throughput import LIMITED
from bench.procfs import cpu_seconds
from sandbox import BotMessage, RateLimit, SandboxServer, SandboxUser
from storage.availability import set_quiet, set_ready
from storage.batches import set_batch_state
from storage.db import Database, to_db_time
from tests.builders import image_items, item_ids, open_batch, publish_batch, register_worker
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.intake.media import TRANSCRIPTION, make_zip, toml

TOKEN = "123456:BENCH-petites-mains-token"  # noqa: S105 - a fake token for the sandbox
ROOT = Path(__file__).resolve().parent.parent
FIRST_WORKER = 50_000
RESULT_WORKERS = range(80_000, 80_020)  # the 20 workers who answered the results batch
TAGS = ("car", "bicycle", "person", "dog", "tree", "bus", "sign", "bench")
CEILING = 30.0  # Telegram's ~30 messages a second
PRESS_WAIT = 20.0  # a press not confirmed within this is unanswered (Telegram gives up at 15 s)
CALLBACK_TIMEOUT = 15.0
STALL = re.compile(r"longest stall ([0-9.]+) ms")


@dataclass
class Figures:
    """What the workers measured."""

    answers: int = 0
    presses: int = 0
    unanswered: int = 0
    confirm: list[float] = field(default_factory=list)  # press to answerCallbackQuery, seconds
    next_task: list[float] = field(default_factory=list)  # press to the next task, seconds


@dataclass(frozen=True)
class Setup:
    """How the bench runs: the sandbox's flood control, the bot's budget, a profile to save."""

    limits: bool = True  # the sandbox refuses above Telegram's limits (429)
    rate: int | None = None  # TELEGRAM_MESSAGES_PER_SECOND for the bot (None: its default)
    profile: Path | None = None  # where the bot saves a pyinstrument profile


PROFILE_ENV = "BENCH_PROFILE"  # the child saves a pyinstrument profile there (text and .html)


def _child() -> None:
    """Run the bot like ``python -m bot`` (WARNING logs, the heartbeat's line at INFO)."""
    import logging

    from bot.__main__ import configure_logging, serve
    from bot.app import build_application
    from bot.config import load_settings, read_environment

    settings = load_settings(read_environment(None))
    configure_logging("WARNING", settings.telegram_bot_token)
    logging.getLogger("bot.heartbeat").setLevel(logging.INFO)
    application = build_application(settings)
    profile = os.environ.get(PROFILE_ENV)
    if not profile:
        serve(application, settings)  # polling, or the webhook when one is set
        return
    # pyinstrument (the dev extra) samples the event loop's thread; imported only when asked.
    profiler = importlib.import_module("pyinstrument").Profiler(interval=0.002)
    profiler.start()
    try:
        serve(application, settings)
    finally:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=True, show_all=False))
        Path(profile).with_suffix(".html").write_text(profiler.output_html())


def bot_env(sandbox: SandboxServer, database: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a bench's bot process (``--child``): this one's, less any Telegram
    setting, pointed at ``sandbox``, ``database`` and ``data_dir``, plus ``extra`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": sandbox.url,
            "DATABASE_URL": database,
            "DATA_DIR": str(data_dir),
            "REQUESTER_IDS": str(REQUESTER_ID),
            "NO_PROXY": "127.0.0.1,localhost",
            **extra,
        }
    )
    return env


def recording(path: Path, seconds: int) -> bytes:
    """An OGG/Opus 'speech-like' recording: 6 s of tone and noise, then 1 s of silence."""
    if not path.exists():
        source = f"aevalsrc='0.4*sin(2*PI*(220+40*mod(floor(t/7),5))*t)*gt(mod(t,7),1)':d={seconds}"
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        command += ["-i", source, "-ac", "1", "-c:a", "libopus", "-b:a", "16k", str(path)]
        subprocess.run(command, check=True)  # noqa: S603 - our own arguments, no shell
    return path.read_bytes()


async def _prepare(tmp: Path, database: str, workers: int, items: int, result_items: int) -> int:
    """Workers ready, a load batch of ``items`` single answers, and a paused multi-label batch
    of ``result_items`` items answered by 10 of 20 workers each (the /results to compute)."""
    db = await Database.open(database)
    try:
        await db.migrate()
        now = datetime.now(UTC)
        for worker_id in range(FIRST_WORKER, FIRST_WORKER + workers):
            await register_worker(db, worker_id, now)
            await db.run_write(set_quiet, worker_id, "", now)  # the bench may run at night
            await db.run_write(set_ready, worker_id, now + timedelta(hours=2), now)
        tags = await open_batch(
            db,
            tmp / "data",
            image_items(tmp / "data", result_items, first_seed=5_000),
            labels=TAGS,
            multiple=True,
            answers_per_item=10,
            title="Tags",
            now=now,
        )
        await _answer_tags(db, tags, now)
        async with db.write() as conn:  # its items must not reach the bench's workers
            await set_batch_state(conn, tags, expected=("open",), new="paused", now=now)
        await publish_batch(
            db,
            tmp / "data",
            now,
            items=items,
            answers_per_item=1,
            reward=10,  # pays the floor (10 EUR/h) up to 36 s an answer: no raise, no pause
            time_limit=120,
            title="Bench",
            instructions="Pick car.",
            seeds=[n % 40 for n in range(items)],
        )
        return tags
    finally:
        await db.close()


async def _answer_tags(db: Database, batch_id: int, now: datetime) -> None:
    rng = random.Random(10)
    for worker_id in RESULT_WORKERS:
        await register_worker(db, worker_id, now)
    rows = []
    for item in await item_ids(db, batch_id):
        truth = {tag for tag in TAGS if rng.random() < 0.35}
        for worker_id in rng.sample(list(RESULT_WORKERS), 10):
            given = sorted(tag for tag in TAGS if (tag in truth) == (rng.random() < 0.85))
            rows.append((item, batch_id, worker_id, 4, to_db_time(now), json.dumps(given)))
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO assignments (item_id, batch_id, worker_id, state, reward, time_limit,"
            " offered_at, shown_at, deadline, answer, duration_ms, ended_at)"
            " VALUES (?, ?, ?, 'submitted', ?, 60, ?5, ?5, ?5, ?6, 5000, ?5)",
            rows,
        )


async def _first_task(user: SandboxUser) -> BotMessage | None:
    """The task the dispatcher pushes at start (before the measure: one push per worker)."""
    try:
        return await user.next_message(timeout=60)
    except TimeoutError:
        return None


async def _worker(
    user: SandboxUser,
    message: BotMessage | None,
    think: float,
    stop_at: float,
    figures: Figures,
) -> None:
    """Answer each task with 'car' after ``think`` seconds until time is up.

    A worker waits for the next task as long as the run lasts (the press said it is coming;
    above the ceiling the wait is the queue of workers ahead, about workers / 30 seconds)."""
    if message is None:
        return
    await asyncio.sleep(random.uniform(0, think))  # workers do not all start in step
    while time.monotonic() < stop_at:
        if not any(text == "car" for row in message.buttons for text in row):
            try:
                message = await user.next_message(timeout=max(0.1, stop_at - time.monotonic()))
            except TimeoutError:
                return
            continue
        await asyncio.sleep(think)
        if time.monotonic() >= stop_at:
            return
        pressed = time.monotonic()
        figures.presses += 1
        try:
            answer = await user.press("car", message=message, timeout=PRESS_WAIT)
            figures.confirm.append(time.monotonic() - pressed)
            if answer.text and "credited" in answer.text:
                figures.answers += 1
        except TimeoutError:
            figures.unanswered += 1
        except LookupError:
            pass  # the task message was replaced meanwhile: wait for the next one
        try:
            message = await user.next_message(timeout=max(0.1, stop_at - time.monotonic()))
            figures.next_task.append(time.monotonic() - pressed)
        except TimeoutError:
            return  # the run ended while this worker waited


async def _requester(user: SandboxUser, tags: int, audio: bytes, log: dict[str, float]) -> None:
    """/results of the tags batch, then the recording's ZIP; note when each reply lands."""
    start = time.monotonic()
    await user.send_command(f"/results {tags}")
    await user.send_document(
        make_zip({"batch.toml": toml(**TRANSCRIPTION), "talk.ogg": audio}), "talk.zip"
    )
    deadline = start + 600
    while time.monotonic() < deadline and len(log) < 2:
        try:
            message = await user.next_message(timeout=deadline - time.monotonic())
        except TimeoutError:
            return
        if message.kind == "document" and "results" not in log:
            log["results"] = time.monotonic() - start
        if any("Publish" in text for row in message.buttons for text in row):
            log["intake"] = time.monotonic() - start


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(
    workers: int,
    think: float,
    seconds: float,
    result_items: int,
    audio_s: int,
    database: str | None = None,
    *,
    slow_callbacks: bool = False,
    setup: Setup = Setup(),
) -> str:
    """One regime; returns the report. ``database``: a DATABASE_URL (default: SQLite in a
    temporary folder); ``slow_callbacks``: the bot's loop in asyncio's debug mode, which names
    every callback that held it over 100 ms (slower: for finding stalls); ``setup``: flood
    control, the bot's budget and a profile to save."""
    items = int(workers / think * seconds * 1.3) + workers * 2
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        audio = recording(Path(tempfile.gettempdir()) / f"petites-mains-{audio_s}s.ogg", audio_s)
        async with SandboxServer(
            token=TOKEN,
            rate_limit=RateLimit() if setup.limits else None,
            callback_timeout=CALLBACK_TIMEOUT,
        ) as sandbox:
            database = database or f"sqlite:///{tmp / 'bench.db'}"
            tags = await _prepare(tmp, database, workers, items, result_items)
            users = [sandbox.user(FIRST_WORKER + n, first_name=f"W{n}") for n in range(workers)]
            admin = sandbox.user(ADMIN_ID, first_name="Admin")
            requester = sandbox.user(REQUESTER_ID, first_name="Requester")
            env = bot_env(sandbox, database, tmp / "data", ADMIN_IDS=str(ADMIN_ID))
            if slow_callbacks:
                env["PYTHONASYNCIODEBUG"] = "1"
            if setup.rate is not None:
                env["TELEGRAM_MESSAGES_PER_SECOND"] = str(setup.rate)
            if setup.profile is not None:
                env[PROFILE_ENV] = str(setup.profile.resolve())
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.crowd", "--child",
                cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert process.stderr is not None
            stderr = asyncio.create_task(process.stderr.read())
            figures, log = Figures(), dict[str, float]()
            try:
                firsts = await asyncio.gather(*(_first_task(u) for u in users))
                admin.drain()
                start = time.monotonic()
                load = [
                    _worker(u, m, think, start + seconds, figures)
                    for u, m in zip(users, firsts, strict=True)
                ]
                side = asyncio.create_task(_late(seconds / 3, requester, tags, audio, log))
                # The first presses come all at once (every worker has a pushed task): the
                # measure is the steady state, from a third of the run to its end.
                window = asyncio.create_task(_window(start, seconds, figures, sandbox, process.pid))
                await asyncio.gather(*load)
                measured = await window
                await asyncio.wait_for(side, timeout=max(5.0, 600 - seconds))
            finally:
                process.send_signal(signal.SIGINT)
                await asyncio.wait_for(process.wait(), timeout=60)
            elapsed, answers, cpu = measured.seconds, measured.answers, measured.cpu
            calls = measured.calls
            lines = (await stderr).decode(errors="replace").splitlines()
            stall = [float(m.group(1)) for line in lines if (m := STALL.search(line))]
            too_old = sum(
                1
                for call in sandbox.invalid_calls
                if call.method == "answerCallbackQuery" and "too old" in call.description
            )
            limited = sum(1 for name, _ in calls if name in LIMITED)
            by_method = Counter(name for name, _ in calls if name in LIMITED)
            rate = answers / elapsed
            report = [
                f"{workers} workers answering every {think} s for {seconds:.0f} s:",
                f"  answers/s {rate:.1f} ({rate / CEILING:.0%} of the {CEILING:.0f}/s ceiling)",
                f"  rate-limited calls per answer {limited / max(answers, 1):.2f}"
                f" (429s {len(sandbox.rate_limited_calls)}): "
                + ", ".join(f"{name} {count}" for name, count in by_method.most_common()),
                "  callback answer p50/p95/p99 "
                + "/".join(f"{_percentile(figures.confirm, q):.2f}" for q in (0.5, 0.95, 0.99))
                + " s",
                "  press to next task p50/p95/p99 "
                + "/".join(f"{_percentile(figures.next_task, q):.2f}" for q in (0.5, 0.95, 0.99))
                + " s",
                f"  bot CPU {cpu:.1f} s, {1000 * cpu / max(answers, 1):.1f} ms per answer"
                f" (load average {os.getloadavg()[0]:.2f})",
                f"  unanswered presses {figures.unanswered} of {figures.presses}",
                f'  "query is too old" {too_old}',
                f"  ERROR lines logged {sum(' ERROR ' in line for line in lines)}",
                f"  admin alerts sent {len(admin.drain())}",
                f"  event loop longest stall {max(stall) if stall else float('nan'):.0f} ms",
                f"  /results of {result_items} multi-label items answered after "
                f"{log.get('results', float('nan')):.1f} s; {audio_s // 60}-minute audio intake "
                f"summary after {log.get('intake', float('nan')):.1f} s",
            ]
            report += [f"  slow: {line}" for line in lines if "Executing" in line]
            return "\n".join(report)


@dataclass(frozen=True)
class Window:
    """The steady-state measure: its length, answers credited, the bot's CPU, the calls made."""

    seconds: float
    answers: int
    cpu: float
    calls: list[tuple[str, object]]


async def _window(
    start: float, seconds: float, figures: Figures, sandbox: SandboxServer, pid: int
) -> Window:
    """Count from a third of the run to its end (the presses of the pushed tasks are past)."""
    await asyncio.sleep(max(0.0, start + seconds / 3 - time.monotonic()))
    begun = time.monotonic()
    answers, cpu, calls = figures.answers, cpu_seconds(pid), len(sandbox.calls)
    await asyncio.sleep(max(0.0, start + seconds - time.monotonic()))
    return Window(
        seconds=time.monotonic() - begun,
        answers=figures.answers - answers,
        cpu=cpu_seconds(pid) - cpu,
        calls=list(sandbox.calls[calls:]),
    )


async def _late(
    delay: float, user: SandboxUser, tags: int, audio: bytes, log: dict[str, float]
) -> None:
    await asyncio.sleep(delay)
    await _requester(user, tags, audio, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=300)
    parser.add_argument("--think", type=float, default=1.2, help="seconds before each answer")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--result-items", type=int, default=200)
    parser.add_argument("--audio-minutes", type=float, default=30.0)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument(
        "--slow-callbacks", action="store_true", help="name the callbacks that stall the loop"
    )
    parser.add_argument("--no-limits", action="store_true", help="sandbox without flood control")
    parser.add_argument("--rate", type=int, help="TELEGRAM_MESSAGES_PER_SECOND for the bot")
    parser.add_argument("--profile", type=Path, help="save the bot's pyinstrument profile here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child()
        return 0
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    report = asyncio.run(
        run(
            args.workers,
            args.think,
            args.seconds,
            args.result_items,
            int(args.audio_minutes * 60),
            args.database_url,
            slow_callbacks=args.slow_callbacks,
            setup=Setup(limits=not args.no_limits, rate=args.rate, profile=args.profile),
        )
    )
    print(report, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
