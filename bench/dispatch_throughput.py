"""Bench: how many tasks a second the bot pushes and accepts (not run by pytest).

The bot runs as its own process (``python -m bot``'s application, polling) against the sandbox
Bot API with flood control off; this process plays N workers who answer every task at once.
It reports answers accepted per second and rate-limited Bot API calls per second, to show the
bot itself is not the bottleneck below Telegram's ~30 messages a second.

Run from the project root: ``.venv/bin/python -m bench.dispatch_throughput [--workers 10,50]
[--items 600] [--seconds 15] [--limiter]`` (``--limiter`` keeps python-telegram-bot's
AIORateLimiter at 30 calls a second, as in production).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sandbox import SandboxServer, SandboxUser
from storage.availability import set_quiet, set_ready
from storage.db import Database
from tests.builders import publish_batch, register_worker

TOKEN = "123456:BENCH-petites-mains-token"  # noqa: S105 - a fake token for the sandbox
ROOT = Path(__file__).resolve().parent.parent
FIRST_WORKER = 50_000
# Calls Telegram counts against the ~30 messages a second (they carry a chat_id).
LIMITED = {
    "sendMessage",
    "sendPhoto",
    "sendVoice",
    "editMessageMedia",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "editMessageText",
}


@dataclass
class Result:
    workers: int
    answers: int
    seconds: float
    limited_calls: int
    callback_answers: int
    uploads: int

    def line(self) -> str:
        return (
            f"{self.workers:>4} workers: {self.answers:>5} answers in {self.seconds:5.1f} s = "
            f"{self.answers / self.seconds:6.1f} answers/s; rate-limited calls "
            f"{self.limited_calls / self.seconds:6.1f}/s "
            f"({self.limited_calls / max(self.answers, 1):.2f} per answer); "
            f"answerCallbackQuery {self.callback_answers / self.seconds:6.1f}/s; "
            f"uploads {self.uploads}"
        )


def _child(limiter: bool) -> None:
    """Run the bot like ``python -m bot`` (the limiter optional) until SIGINT."""
    from telegram import Update

    from bot.__main__ import configure_logging
    from bot.app import build_application
    from bot.config import load_settings, read_environment

    settings = load_settings(read_environment(None))
    configure_logging("WARNING", settings.telegram_bot_token)
    application = build_application(settings, rate_limit=limiter)
    application.run_polling(allowed_updates=Update.ALL_TYPES)


async def _prepare(path: Path, data_dir: Path, workers: int, items: int) -> None:
    db = await Database.open(path)
    try:
        await db.migrate()
        now = datetime.now(UTC)
        for worker_id in range(FIRST_WORKER, FIRST_WORKER + workers):
            await register_worker(db, worker_id, now)
            await db.run_write(set_quiet, worker_id, "", now)  # the bench may run at night
            await db.run_write(set_ready, worker_id, now + timedelta(hours=2), now)
        await publish_batch(
            db,
            data_dir,
            now,
            items=items,
            answers_per_item=1,
            reward=1,
            time_limit=59,
            title="Bench",
            instructions="Pick the first label.",
        )
    finally:
        await db.close()


async def _worker(user: SandboxUser, stop_at: float, stamps: list[float]) -> int:
    """Answer every task with its first label until none comes or time is up."""
    answered = 0
    message = await user.next_message(timeout=30)
    while time.monotonic() < stop_at:
        labels = [text for row in message.buttons for text in row if text == "car"]
        if not labels:
            try:
                message = await user.next_message(timeout=3)
            except TimeoutError:
                return answered
            continue
        answer = await user.press("car", message=message, timeout=30)
        if answer.text and "credited" in answer.text:
            answered += 1
            stamps.append(time.monotonic())
        try:
            message = await user.next_message(timeout=3)
        except TimeoutError:
            return answered
    return answered


async def run(workers: int, items: int, seconds: float, limiter: bool) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        async with SandboxServer(token=TOKEN, rate_limit=None) as sandbox:
            await _prepare(tmp / "bench.db", tmp / "data", workers, items)
            users = [sandbox.user(FIRST_WORKER + n, first_name=f"W{n}") for n in range(workers)]
            env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
            env.update(
                {
                    "PYTHONPATH": str(ROOT),
                    "TELEGRAM_BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": sandbox.url,
                    "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
                    "DATA_DIR": str(tmp / "data"),
                    "NO_PROXY": "127.0.0.1,localhost",
                }
            )
            args = [sys.executable, "-m", "bench.dispatch_throughput", "--child"]
            if limiter:
                args.append("--limiter")
            process = await asyncio.create_subprocess_exec(*args, cwd=ROOT, env=env)
            try:
                stamps: list[float] = []
                first_task = await asyncio.gather(*(u.next_message(timeout=60) for u in users))
                for user, message in zip(users, first_task, strict=True):
                    user._chat.consumed -= 1  # hand the first task back to the worker loop
                    assert message.buttons
                calls_before = len(sandbox.calls)
                start = time.monotonic()
                answered = await asyncio.gather(
                    *(_worker(u, start + seconds, stamps) for u in users)
                )
                end = max(stamps) if stamps else time.monotonic()
                calls = sandbox.calls[calls_before:]
            finally:
                process.send_signal(signal.SIGINT)
                await asyncio.wait_for(process.wait(), timeout=30)
            elapsed = max(end - start, 1e-6)
            return Result(
                workers=workers,
                answers=sum(answered),
                seconds=elapsed,
                limited_calls=sum(1 for name, _ in calls if name in LIMITED),
                callback_answers=sum(1 for name, _ in calls if name == "answerCallbackQuery"),
                uploads=len(sandbox.uploads),
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="10,50", help="comma-separated worker counts")
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--limiter", action="store_true", help="keep AIORateLimiter(30/s)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.limiter)
        return 0
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    mode = "AIORateLimiter 30/s" if args.limiter else "no rate limiter"
    print(f"dispatch throughput, sandbox flood control off, bot with {mode}:")
    for count in (int(part) for part in args.workers.split(",")):
        print(asyncio.run(run(count, args.items, args.seconds, args.limiter)).line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
