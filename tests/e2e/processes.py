"""``python -m bot`` as a real process against the sandbox: its environment and a context that
runs it (tests kill it with SIGKILL to show what survives a crash)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sandbox import SandboxServer
from tests.conftest import TOKEN, database_url

ROOT = Path(__file__).resolve().parent.parent.parent


def process_environment(sandbox: SandboxServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a bot process using ``tmp_path`` for its database and data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": sandbox.url,
            "DATABASE_URL": database_url(tmp_path / "process.db"),
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "INFO",
            **extra,
        }
    )
    return env


@asynccontextmanager
async def bot_process(
    env: dict[str, str], tmp_path: Path, name: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``python -m bot``; the caller kills it or it is stopped with SIGINT at the end."""
    log = (tmp_path / f"{name}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), timeout=30)
        log.close()


async def kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL: no shutdown, no last flush, no confirmation of the last updates."""
    process.kill()
    await process.wait()
