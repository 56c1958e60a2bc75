"""Try-it mode as a process: ``python -m bot`` with no token serves the web chat, seeds once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bot.config import Settings, TryIt
from bot.demo import ADMIN, ALICE, BOB, BUDGET, REQUESTER
from bot.ledger import balance, requester_account
from bot.payouts import check_invariants
from bot.worker_state import availability_record
from storage.batches import batches_of
from storage.sqlite import SqliteDatabase
from storage.users import get_user, roles_of

pytestmark = pytest.mark.long  # tens of seconds: collected first (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_try_it_once(tmp_path: Path) -> dict[str, object]:
    """Start ``python -m bot`` without a token, read its one line, fetch the page, stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TRY_IT_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATA_DIR": str(tmp_path / "data"),
            "TRY_IT_PORT": str(port),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.db'}",  # must stay untouched
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
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        url = f"http://127.0.0.1:{port}/"
        assert line.startswith("Try-it mode"), line
        assert url in line
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as client:
            page = await client.get("/")
            users = (await client.get("/chat/api/users")).json()["users"]
            # The demo workers are available: the bot pushes Alice a task on its own.
            for _ in range(200):
                alice = (await client.get(f"/chat/api/chats/{ALICE.id}")).json()
                if alice["messages"]:
                    break
                await asyncio.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == ""  # one line only (read above)
    return {"page": page.text, "users": users, "alice": alice}


async def test_python_m_bot_without_a_token_runs_try_it_and_seeds_once(tmp_path: Path) -> None:
    first = await run_try_it_once(tmp_path)
    assert "<title>Petites Mains" in str(first["page"])
    listed = [(u["id"], u["first_name"], u["label"]) for u in first["users"]]  # type: ignore[attr-defined]
    assert listed == [
        (ALICE.id, "Alice", "worker"),
        (BOB.id, "Bob", "worker"),
        (REQUESTER.id, REQUESTER.first_name, "requester"),
        (ADMIN.id, ADMIN.first_name, "admin"),
    ]
    task = first["alice"]["messages"][0]  # type: ignore[index]
    assert task["from"] == "bot"
    assert task["inline_keyboard"]
    # A restart seeds nothing more; the task shown in the lost chat is pushed again.
    second = await run_try_it_once(tmp_path)
    assert second["alice"]["messages"][0]["inline_keyboard"]  # type: ignore[index]

    tryit = TryIt(data_dir=tmp_path / "data" / "tryit")
    assert tryit.database_path.is_file()
    assert not (tmp_path / "production.db").exists()
    db = await SqliteDatabase.open_file(tryit.database_path)  # try-it is SQLite, always
    try:
        batches = await db.run_read(batches_of, REQUESTER.id)
        assert Counter(b.type for b in batches) == {
            "image_tag": 1,
            "emotion": 1,
            "transcription": 1,
        }
        assert {b.state for b in batches} == {"open"}
        held = 0
        for batch in batches:
            held += await balance(db, f"escrow:batch:{batch.id}")
        requester_left = await balance(db, requester_account(REQUESTER.id))
        assert requester_left + held <= BUDGET  # one top-up, whatever was paid out since
        assert requester_left > 0
        for worker in (ALICE, BOB):
            user = await db.run_read(get_user, worker.id)
            assert user is not None
            assert user.registered
            hours = await availability_record(db, worker.id)
            assert hours.quiet == ""  # pushed at any hour: the page works at night too
        assert "requester" in await db.run_read(roles_of, REQUESTER.id)
        assert "admin" in await db.run_read(roles_of, ADMIN.id)
        settings = Settings(telegram_bot_token="1:x")
        assert await check_invariants(db, tz=settings.timezone, cap=settings.monthly_cap) == []
    finally:
        await db.close()
