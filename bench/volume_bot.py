"""Bench room: the real bot serving on a ``bench.volume`` database, for its memory (issue 11).

The bot process (``bench.crowd``'s child, ``python -m bot``'s application) starts on the volume
database against the sandbox Bot API (no flood control; the bot's own budget at
``MESSAGES_PER_SECOND``), its media in the data directory next to the file. At start it gives
back the claims never shown and its dispatcher pushes tasks to the available workers; ``workers``
of them send ``/ready`` and answer the first label of each task they get (skip a multi-label
one) for ``seconds``, counted from the process's start (a restarted bot must serve quickly).
Then its peak and current resident memory (``VmHWM``, ``VmRSS`` of ``/proc/PID/status``), its
CPU seconds (``/proc/PID/stat``), the presses answered and when the first task came are read,
and it is stopped (killed if it has not stopped ``STOP_WAIT`` seconds after SIGINT).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.procfs import cpu_seconds, peak_memory_mb, resident_memory_mb
from bench.volume import media_files
from bot.engine.render import ANSWER, SKIP
from sandbox import SandboxServer, SandboxUser
from sandbox.models import BotMessage
from storage import bulk
from storage.db import Database, to_db_time
from tests.conftest import ADMIN_ID, REQUESTER_ID

TOKEN = "123456:VOLUME-petites-mains-token"  # noqa: S105 - a fake token for the sandbox
ROOT = Path(__file__).resolve().parent.parent
MESSAGES_PER_SECOND = 1000
STOP_WAIT = 60.0  # seconds the bot gets to stop after SIGINT before it is killed


def _button(message: BotMessage) -> str | None:
    """A task's first single-label answer, else its skip (a multi-label task), else None: its
    callback data (which names the assignment)."""
    buttons = [b for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row]
    for prefix in (f"{ANSWER} ", f"{SKIP} "):
        for button in buttons:
            if str(button.get("callback_data", "")).startswith(prefix):
                return str(button["callback_data"])
    return None


def _unpressed(user: SandboxUser, pressed: set[str]) -> BotMessage | None:
    """The latest task message whose button has not been pressed yet."""
    for message in reversed(user.messages):
        data = _button(message)
        if data is not None and data not in pressed:
            return message
    return None


async def _answer(user: SandboxUser, stop_at: float, answered: list[float]) -> None:
    """Say ``/ready``, then press the first label (or skip) of each task that arrives, until
    time is up; ``answered`` gets the time of each press answered."""
    with contextlib.suppress(TimeoutError):
        await user.send_command("/ready")
    pressed: set[str] = set()  # the buttons pressed: each task once
    while time.monotonic() < stop_at:
        task = _unpressed(user, pressed)
        if task is None:
            with contextlib.suppress(TimeoutError):
                await user.next_message(timeout=min(2.0, max(stop_at - time.monotonic(), 0.1)))
            continue
        data = _button(task)
        assert data is not None
        pressed.add(data)
        try:
            await user.press_data(data, message=task, timeout=15)
            answered.append(time.monotonic())
        except (TimeoutError, LookupError):
            pass


async def _first_task(sandbox: SandboxServer, stop_at: float) -> float | None:
    """When the bot sent its first task to anyone (looked at every 0.1 s), None before
    ``stop_at``."""
    while time.monotonic() < stop_at:
        if any(name in ("sendPhoto", "editMessageMedia") for name, _ in sandbox.calls):
            return time.monotonic()
        await asyncio.sleep(0.1)
    return None


async def bot_figures(path: Path, seconds: float, workers: int) -> str:
    """Run the bot on ``path`` for ``seconds`` with ``workers`` answering; one report line."""
    db = await Database.open(path)
    try:
        async with db.read() as tx:
            ids = await bulk.ready_workers(tx, to_db_time(datetime.now(UTC)), 100_000)
            everyone = await bulk.sample_workers(tx, 100_000)
    finally:
        await db.close()
    media_files(path.parent / "data")  # a copy of the database finds its images
    async with SandboxServer(token=TOKEN) as sandbox:
        for worker_id in everyone:  # every chat exists: a push to anyone is delivered
            sandbox.user(worker_id, first_name="W")
        sandbox.user(ADMIN_ID, first_name="Admin")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
        env.update({
            "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sandbox.url,
            "DATABASE_URL": f"sqlite:///{path}", "DATA_DIR": str(path.parent / "data"),
            "ADMIN_IDS": str(ADMIN_ID), "REQUESTER_IDS": str(REQUESTER_ID),
            "NO_PROXY": "127.0.0.1,localhost",
            "TELEGRAM_MESSAGES_PER_SECOND": str(MESSAGES_PER_SECOND),
        })  # fmt: skip
        log = path.with_name(path.name + ".bot.log")  # the bot's stderr, for a failed start
        with log.open("wb") as sink:  # the child keeps its own descriptor
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.crowd", "--child", cwd=ROOT, env=env, stderr=sink,
            )  # fmt: skip
        answered: list[float] = []
        try:
            started = time.monotonic()
            stop_at = started + seconds
            first_sent = asyncio.create_task(_first_task(sandbox, stop_at))
            users = [sandbox.user(worker_id) for worker_id in ids[:workers]]
            await asyncio.gather(*(_answer(user, stop_at, answered) for user in users))
            sent_at = await first_sent
            if process.returncode is not None:
                raise RuntimeError(f"the bot exited ({process.returncode}); see {log}")
            peak, now = peak_memory_mb(process.pid), resident_memory_mb(process.pid)
            cpu = cpu_seconds(process.pid)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), timeout=STOP_WAIT)
            except TimeoutError:  # still busy with the pass it started: the figures are read
                process.kill()
                await process.wait()
    stop = "stopped" if process.returncode == 0 else f"killed after {STOP_WAIT:.0f} s of SIGINT"
    sent = sum(1 for name, _ in sandbox.calls if name in ("sendPhoto", "editMessageMedia"))
    first = f"{min(answered) - started:.1f} s" if answered else "never"
    first_task = "never" if sent_at is None else f"{sent_at - started:.1f} s"
    return (
        f"bot on this database for {seconds:.0f} s ({len(users)} workers /ready and pressing):"
        f" {len(answered)} presses answered (label or skip; the first {first} after the bot's"
        f" start), {sent} tasks sent (the first {first_task} after the start); peak memory"
        f" (VmHWM) {peak:.0f} MB, at the end (VmRSS) {now:.0f} MB; bot CPU {cpu:.1f} s; {stop}"
    )
