"""`python -m bot` as a real process against the sandbox: it starts, answers, hides its token;
in webhook mode, the sandbox POSTs it the updates."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bench.fleet import free_port
from sandbox import SandboxServer
from tests.conftest import TOKEN, database_url

ROOT = Path(__file__).resolve().parent.parent.parent


async def _start_bot(
    sandbox: SandboxServer, tmp_path: Path, **extra: str
) -> asyncio.subprocess.Process:
    """The bot as a process, its output in ``bot.log`` (a pipe nobody reads until the end
    fills up with DEBUG lines and blocks the bot's logging, and with it the bot)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": sandbox.url,
            "DATABASE_URL": database_url(tmp_path / "process.db"),
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "DEBUG",  # the most talkative: httpx logs every request URL
            **extra,
        }
    )
    with (tmp_path / "bot.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )


async def _stop_bot(process: asyncio.subprocess.Process, tmp_path: Path) -> str:
    """Stop the bot as Ctrl-C does; everything it wrote."""
    process.send_signal(signal.SIGINT)
    await asyncio.wait_for(process.wait(), timeout=30)
    return (tmp_path / "bot.log").read_text()


async def test_python_m_bot_answers_start_and_never_logs_the_token(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    process = await _start_bot(sandbox, tmp_path)
    try:
        ana = sandbox.user(1001, first_name="Ana", language_code="en")
        await ana.send_command("/start")
        reply = await ana.next_message(timeout=30)
        assert reply.text is not None
        assert reply.text.startswith("Hello Ana")
    finally:
        log = await _stop_bot(process, tmp_path)
    assert process.returncode == 0, log
    assert "getUpdates" in log  # the requests were logged...
    assert TOKEN not in log  # ...without the token
    assert TOKEN.split(":")[1] not in log


async def test_python_m_bot_in_webhook_mode_is_sent_its_updates(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    port = free_port()
    process = await _start_bot(
        sandbox,
        tmp_path,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        WEBHOOK_PORT=str(port),
        TELEGRAM_WEBHOOK_SECRET="e2e-secret",
    )
    try:
        ana = sandbox.user(1001, first_name="Ana", language_code="en")
        await ana.send_command("/start")  # waits in the sandbox until the webhook is set
        reply = await ana.next_message(timeout=30)
        assert reply.text is not None
        assert reply.text.startswith("Hello Ana")
        await ana.send_command("/help")
        await ana.next_message(timeout=30)
    finally:
        log = await _stop_bot(process, tmp_path)
    assert process.returncode == 0, log
    webhooks = sandbox.calls_to("setWebhook")
    assert [(call["url"], call.get("secret_token")) for call in webhooks] == [
        (f"http://127.0.0.1:{port}/hook", "e2e-secret")
    ]
    assert sandbox.calls_to("getUpdates") == []  # delivered, not polled
    assert sandbox.pending_updates == []  # both updates confirmed by the bot's server
    assert TOKEN not in log
