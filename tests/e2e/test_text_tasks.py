"""The text task types end to end: text in an image, and translation with its review step.

A requester uploads a ZIP of sentences through the sandbox and publishes it (the hold covers the
review too); workers translate by replying to text messages; when the last sentence is in, a
review batch opens by itself, other workers pick the best translation by button, their pay
leaves the same escrow, and what is left returns to the requester. ``/results`` gives the
chosen translation with its support. Every scenario ends with the ledger's invariants holding.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.ledger import balance, escrow_account, requester_account, top_up, worker_account
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.assignments import assignments_of_batch
from storage.batches import get_batch
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_rows
from tests.e2e.harness import WAIT, db_of, eventually, publish, sign_up, upload_zip
from tests.intake.media import make_zip, toml

SENTENCES = "Chemise en coton rouge\n\nLavable en machine\n"
TRANSLATION = {
    "type": "translation",
    "title": "Product sheet",
    "instructions": "Translate into English.",
    "seconds_per_task": 20,  # 6 cents at the floor of 10.00 an hour
    "answers_per_item": 2,
}


def is_task(message: BotMessage) -> bool:
    return any("⏭" in text for row in message.buttons for text in row)


async def reply_to_tasks(
    user: SandboxUser, count: int, answer: Callable[[BotMessage], str]
) -> list[BotMessage]:
    """Answer ``count`` pushed text tasks, each by replying to its prompt with ``answer(task)``;
    return the tasks as first shown, once every task message shows its credited answer."""
    await user.send_command("/ready")
    await user.next_message()
    tasks: list[BotMessage] = []
    credited = 0
    while credited < count:
        message = await user.next_message(timeout=WAIT)
        if is_task(message) and not message.is_edit:
            tasks.append(message)
        elif message.force_reply:
            await user.send_text(answer(tasks[-1]), reply_to=message)
        elif message.is_edit and "Your answer" in (message.text or ""):
            credited += 1  # the task message, as it ended
    return tasks


async def translate(user: SandboxUser, answers: dict[str, str]) -> None:
    """Take the pushed translation tasks and reply to each prompt with its translation."""

    def translation(task: BotMessage) -> str:
        assert task.kind == "text"  # a sentence is shown as a text message
        (sentence,) = [source for source in answers if source in (task.text or "")]
        return answers[sentence]

    await reply_to_tasks(user, len(answers), translation)


async def review(user: SandboxUser, picks: dict[str, str], candidates: dict[str, str]) -> None:
    """Take the pushed review tasks and press, for each sentence, the candidate picked."""
    await user.send_command("/ready")
    await user.next_message()
    for _ in picks:
        while not is_task(task := await user.next_message(timeout=WAIT)):
            pass  # the previous task as it ended
        text = task.text or ""
        assert "Review: Product sheet" in text
        (sentence,) = [source for source in picks if source in text]
        assert candidates[sentence] in text  # the candidates, numbered
        assert task.buttons[-3] == ["None is right"]  # then Skip, Pause; Report, Mute
        await user.press(picks[sentence], message=task)


async def test_a_translation_batch_is_reviewed_by_other_workers_and_paid_from_one_escrow(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db, settings = db_of(app), app.bot_data.settings
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=1_000,
        actor_id=ADMIN_ID,
        key="topup:e2e:translation",
        now=shifted.now(),
        tz=settings.timezone,
    )
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    files = {"batch.toml": toml(**TRANSLATION), "sheet.txt": SENTENCES.encode()}
    summary = await upload_zip(rita, make_zip(files), "sheet.zip")
    assert "Items: 2" in summary
    # 2 sentences x 2 translations x 0.06, and 2 x up to 3 reviews x 0.05 at the floor rate
    assert "Review step: 2 items × up to 3 reviews × €0.05 = €0.30" in summary
    assert rita.last_message is not None
    assert rita.last_message.buttons[0] == ["Publish (€0.54)"]
    assert (await rita.press("Publish")).text == "Published."
    assert await balance(db, escrow_account(1)) == 54

    ann, ben = await sign_up(sandbox, 1201, "Ann"), await sign_up(sandbox, 1202, "Ben")
    await translate(
        ann,
        {"Chemise en coton rouge": "Red cotton shirt", "Lavable en machine": "Machine washable"},
    )
    await translate(
        ben,
        {"Chemise en coton rouge": "Red shirt in cotton", "Lavable en machine": "Machine washable"},
    )
    source = await db.run_read(get_batch, 1)
    assert source is not None
    assert source.state == "done"
    reviewing = await db.run_read(get_batch, 2)
    assert reviewing is not None
    assert (reviewing.type, reviewing.state, reviewing.source_batch_id) == ("review", "open", 1)
    assert reviewing.reward == 5
    assert await balance(db, escrow_account(1)) == 54 - 4 * 6  # no refund: the review is held

    # The translators may not review their own sentences; two others do, and agree.
    cleo, dan = await sign_up(sandbox, 1203, "Cleo"), await sign_up(sandbox, 1204, "Dan")
    picks = {"Chemise en coton rouge": "1", "Lavable en machine": "1"}
    shown = {"Chemise en coton rouge": "2. Red shirt in cotton", "Lavable en machine": "1. Mach"}
    await review(cleo, picks, shown)
    await review(dan, picks, shown)

    async def review_done() -> bool:
        found = await db.run_read(get_batch, 2)
        return found is not None and found.state == "done"

    assert await eventually(review_done)
    reviews = await db.run_read(assignments_of_batch, 2)
    assert sorted(a.worker_id for a in reviews if a.state == "submitted") == [
        1203,
        1203,
        1204,
        1204,
    ]
    assert not any(a.worker_id in (1201, 1202) for a in reviews)
    # Every review was paid 0.05 from the translation batch's escrow; the rest came back.
    paid = await sql_rows(
        db,
        "SELECT debit_account, credit_account, amount FROM transfers WHERE kind = 'reward'"
        " AND credit_account IN ('worker:1203', 'worker:1204')",
    )
    assert sorted(tuple(row) for row in paid) == [
        (escrow_account(1), f"worker:{worker}", 5) for worker in (1203, 1203, 1204, 1204)
    ]
    assert await balance(db, escrow_account(2)) == 0
    assert await balance(db, escrow_account(1)) == 0
    assert await balance(db, worker_account(1203)) == 10
    assert await balance(db, requester_account(REQUESTER_ID)) == 1_000 - 4 * 6 - 4 * 5

    await rita.send_command("/results 1")
    notices = []
    while not ((intro := await rita.next_message()).text or "").startswith("Results of batch #1"):
        notices.append(intro.text or "")  # the notices of the two batches' ends
    assert any("review step is open as batch #2" in notice for notice in notices), notices
    assert "partial" not in (intro.text or "")
    sheet = await rita.next_message()
    assert sheet.file_bytes is not None
    rows = list(csv.DictReader(io.StringIO(sheet.file_bytes.decode("utf-8"))))
    assert [(row["file"], row["answer"], row["agreement"]) for row in rows] == [
        ("sheet.txt:1", "Red cotton shirt", "1.0000"),
        ("sheet.txt:3", "Machine washable", "1.0000"),
    ]
    export = await rita.next_message()
    assert export.file_bytes is not None
    document = json.loads(export.file_bytes)
    assert document["aggregation"] == "review"
    first = document["items"][0]
    assert first["review"] == {
        "chosen": "Red cotton shirt",
        "none_right": False,
        "support": 2,
        "reviews": 2,
        "candidates": ["Red cotton shirt", "Red shirt in cotton"],
    }
    assert len(first["responses"]) == 2  # the translations behind the candidates


async def test_text_in_an_image_is_typed_in_reply_to_each_photo(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    batch_id = await publish(
        app,
        shifted,
        type="image_text",
        labels=(),
        items=2,
        answers_per_item=1,
        time_limit=60,
        title="Receipts",
    )
    ida = await sign_up(sandbox, 1211, "Ida")
    texts = iter(("TOTAL 12,50 EUR", "SORTIE DE SECOURS"))
    tasks = await reply_to_tasks(ida, 2, lambda task: next(texts))
    assert [task.kind for task in tasks] == ["photo", "photo"]  # each a new photo: a prompt
    assert all("Type the text you see" in (task.text or "") for task in tasks)
    prompts = [message for message in ida.messages if message.force_reply]
    assert [prompt.text for prompt in prompts] == [
        "✍️ Type the text you see in the photo above, in reply to this message."
    ] * 2
    stored = await db.run_read(assignments_of_batch, batch_id)
    assert [a.answer for a in stored] == ["TOTAL 12,50 EUR", "SORTIE DE SECOURS"]
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "done"
