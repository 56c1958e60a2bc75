"""`python -m bot` as a real process against the sandbox: it starts, answers, hides its token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sandbox import SandboxServer
from tests.conftest import TOKEN, database_url

ROOT = Path(__file__).resolve().parent.parent.parent


async def test_python_m_bot_answers_start_and_never_logs_the_token(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": sandbox.url,
            "DATABASE_URL": database_url(tmp_path / "process.db"),
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "DEBUG",  # the most talkative: httpx logs every request URL
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        ana = sandbox.user(1001, first_name="Ana", language_code="en")
        await ana.send_command("/start")
        reply = await ana.next_message(timeout=30)
        assert reply.text is not None
        assert reply.text.startswith("Hello Ana")
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "getUpdates" in log  # the requests were logged...
    assert TOKEN not in log  # ...without the token
    assert TOKEN.split(":")[1] not in log
