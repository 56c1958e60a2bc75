"""Conversations survive a crash: ``python -m bot`` killed (SIGKILL) in the middle of
``/newbatch`` and of an admin's two hold prompts, then started again; the user goes on where
they were.

The conversation's state and its draft are in the database (``bot/persistence.py``): the tests
wait until the step is stored (a bound, not a timing), kill the process, start a new one and
answer the question that was asked before the kill.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ledger import credit_reward, hold_for_batch, top_up
from bot.payouts import close_month, statements_for_month
from sandbox import SandboxServer
from storage.db import Database
from tests.builders import PARIS
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.e2e.harness import said
from tests.e2e.processes import bot_process, kill, process_environment
from tests.intake.media import image_bytes

pytestmark = pytest.mark.long  # tens of seconds: collected first (tests/conftest.py)

WORKER = 1201


async def stored(path: Path, name: str, state: int, files: int | None = None) -> None:
    """Wait until conversation ``name`` is stored in ``state`` (and its draft with ``files``)."""
    db = await Database.open(path)
    try:
        for _ in range(200):  # a generous bound (10 s), not a timing
            async with db.read() as tx:
                found = await tx.fetch_all(
                    "SELECT state FROM conversation_states WHERE name = ?", (name,)
                )
                data = await tx.fetch_all("SELECT data FROM conversation_data WHERE scope='user'")
            drafts = [json.loads(row[0]).get("newbatch") for row in data]
            count = sum(len(d["files"]) for d in drafts if d)
            if [json.loads(row[0]) for row in found] == [state] and files in (None, count):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"conversation {name} was never stored in state {state}")
    finally:
        await db.close()


async def test_newbatch_goes_on_after_a_crash_with_its_answers_and_files(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = process_environment(sandbox, tmp_path, REQUESTER_IDS=str(REQUESTER_ID))
    db = await Database.open(tmp_path / "process.db")
    try:
        await db.migrate()
        await top_up(
            db,
            requester_id=REQUESTER_ID,
            amount=500,
            actor_id=ADMIN_ID,
            key="topup:restart",
            now=datetime.now(UTC),
            tz=PARIS,
        )
    finally:
        await db.close()
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")

    async with bot_process(env, tmp_path, "first") as first:
        await rita.send_command("/newbatch")
        assert ((await rita.next_message(timeout=30)).text or "").endswith("Tap one.")
        await rita.send_text("Image tagging")
        assert (await rita.next_message()).text == "A short title for the batch (workers see it)?"
        await rita.send_text("Street scenes")
        assert ((await rita.next_message()).text or "").startswith("The instructions")
        await stored(tmp_path / "process.db", "newbatch", 2)  # INSTRUCTIONS
        await kill(first)

    async with bot_process(env, tmp_path, "second") as second:
        await rita.send_text("Look closely.")  # the question asked before the crash
        assert "labels" in ((await rita.next_message(timeout=30)).text or "")
        for text, expected in (
            ("car, person", "May one photo get several labels"),
            ("No", "About how many seconds"),
            ("10", "How many workers should answer"),
            ("2", "How many seconds may a worker take"),
            ("Use the default", "Now send the"),
        ):
            await rita.send_text(text)
            assert ((await rita.next_message()).text or "").startswith(expected), text
        for n in range(2):
            await rita.send_photo(image_bytes("JPEG", (320, 240), (n * 60, 90, 160)))  # type: ignore[arg-type]
            assert ((await rita.next_message()).text or "").startswith(f"Got it ({n + 1}")
        await stored(tmp_path / "process.db", "newbatch", 7, files=2)  # MEDIA, two photos
        await kill(second)

    async with bot_process(env, tmp_path, "third"):
        await rita.send_text("Done")  # the files sent before the crash are in the batch
        assert ((await rita.next_message(timeout=30)).text or "").startswith("Examples so far")
        await rita.send_text("Next")
        assert ((await rita.next_message()).text or "").startswith("Gold answers so far")
        await rita.send_text("Enough gold")
        assert ((await rita.next_message()).text or "").startswith("PREVIEW")
        assert ((await rita.next_message()).text or "").startswith("Your batch, before")
        await rita.send_text("Create the draft")
        assert ((await rita.next_message(timeout=30)).text or "").startswith("Checking")
        summary = (await rita.next_message(timeout=30)).text or ""
        assert summary.startswith("Draft batch #1: Street scenes"), summary
        assert "Items: 2 (of which 0 gold)" in summary


async def _seed_statements(path: Path) -> tuple[list[int], str]:
    """Two workers with earnings in last month, closed: two pending statements."""
    now = datetime.now(UTC)
    first_of_month = now.astimezone(PARIS).replace(day=1, hour=12)
    earned = (first_of_month - timedelta(days=10)).astimezone(UTC)
    month = earned.astimezone(PARIS).strftime("%Y-%m")
    db = await Database.open(path)
    try:
        await db.migrate()
        await top_up(
            db, requester_id=REQUESTER_ID, amount=5000, actor_id=ADMIN_ID, key="seed",
            now=earned, tz=PARIS,
        )  # fmt: skip
        async with db.write() as tx:
            await hold_for_batch(
                tx, requester_id=REQUESTER_ID, batch_id=1, amount=500, actor_id=None,
                now=earned, tz=PARIS,
            )  # fmt: skip
            for number, worker_id in enumerate((WORKER, WORKER + 1), start=1):
                await credit_reward(
                    tx, batch_id=1, worker_id=worker_id, assignment_id=number, amount=200,
                    at=earned, tz=PARIS, cap=25_000,
                )  # fmt: skip
        await close_month(db, month, now=now, tz=PARIS, actor_id=None)
        return [statement.id for statement in await statements_for_month(db, month)], month
    finally:
        await db.close()


async def prompts_stored(path: Path, count: int) -> None:
    """Wait until the admin's ``count`` open payout prompts are stored (a bound, not a timing)."""
    db = await Database.open(path)
    try:
        for _ in range(200):  # a generous bound (10 s)
            async with db.read() as tx:
                data = await tx.fetch_all("SELECT data FROM conversation_data WHERE scope='user'")
            found = [json.loads(row[0]).get("payout_prompts") or {} for row in data]
            if sum(len(prompts) for prompts in found) == count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} payout prompts were never stored")
    finally:
        await db.close()


async def test_two_hold_prompts_go_on_after_a_crash_each_to_its_statement(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    (first_id, second_id), month = await _seed_statements(tmp_path / "process.db")
    # Two admins: a lone one is warned at every start, which would come before the answer.
    env = process_environment(sandbox, tmp_path, ADMIN_IDS=f"{ADMIN_ID},{ADMIN_ID + 1}")
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")

    async with bot_process(env, tmp_path, "first") as first:
        await admin.send_command("/payouts")
        listed = await admin.next_message(timeout=30)
        assert (listed.text or "").startswith("2 statements await a step · page 1 of 1")
        await admin.press(f"Hold #{first_id}", message=listed)
        asked_first = await admin.next_message()
        await admin.press(f"Hold #{second_id}", message=listed)
        asked_second = await admin.next_message()
        assert f"#{first_id}" in (asked_first.text or "")
        assert f"#{second_id}" in (asked_second.text or "")
        await stored(tmp_path / "process.db", "payout-step", 1)  # AWAITING_TEXT
        await prompts_stored(tmp_path / "process.db", 2)
        await kill(first)

    async with bot_process(env, tmp_path, "second"):
        await admin.send_text("Which one?")  # two prompts open: not guessed
        assert (await admin.next_message(timeout=30)).text == (
            f"2 questions are open (statements #{first_id}, #{second_id}): reply to the one"
            " this answers, or /cancel. Nothing changed."
        )
        # Answered in the other order: each reply goes to its own prompt's statement.
        await admin.send_text("Bank details bounced", reply_to=asked_second)
        assert (await said(admin)).text == f"Statement #{second_id} put on hold."
        await admin.send_text("Missing tax form", reply_to=asked_first)
        assert (await said(admin)).text == f"Statement #{first_id} put on hold."
        assert "Held: Missing tax form" in (admin.message(listed.message_id).text or "")

    db = await Database.open(tmp_path / "process.db")
    try:
        statements = await statements_for_month(db, month)
        assert [(s.id, s.state, s.hold_reason) for s in statements] == [
            (first_id, "held", "Missing tax form"),
            (second_id, "held", "Bank details bounced"),
        ]
        async with db.read() as tx:
            left = await tx.fetch_value("SELECT count(*) FROM conversation_states")
        assert left == 0  # the prompts ended with their answers
    finally:
        await db.close()
