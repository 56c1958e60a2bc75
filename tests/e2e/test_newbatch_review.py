"""``/newbatch`` to the end on a phone (issue 15, item 1): time limit, a worked example, gold
answers, the preview of a task as workers see it, a change from the review, then the draft,
Publish, and a worker who gets and answers a task of it, its gold answer scored."""

from __future__ import annotations

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.ledger import top_up
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.batches import get_batch
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_value
from tests.e2e.harness import WAIT, db_of, sign_up
from tests.intake.media import image_bytes


async def say(user: SandboxUser, text: str) -> str:
    await user.send_text(text)
    return (await user.next_message()).text or ""


async def task_of(user: SandboxUser) -> BotMessage:
    """The next message with a task's Skip button (a worked example may come first)."""
    while True:
        message = await user.next_message(timeout=WAIT)
        if any("⏭" in text for row in message.buttons for text in row):
            return message


async def test_a_full_guided_batch_with_gold_examples_preview_and_an_edit(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    await top_up(
        db, requester_id=REQUESTER_ID, amount=500, actor_id=ADMIN_ID, key="topup:review",
        now=shifted.now(), tz=app.bot_data.settings.timezone,
    )  # fmt: skip
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/newbatch")
    await rita.next_message()
    await say(rita, "Image tagging")
    await say(rita, "Street scene")
    await say(rita, "Is there a car?")
    await say(rita, "car, person")
    await say(rita, "No")
    await say(rita, "10")
    await say(rita, "Use the default")  # answers per item: 3
    assert (await say(rita, "120")).startswith("Now send the")
    for n in range(3):
        await rita.send_photo(image_bytes("JPEG", (320, 240), (n * 70, 90, 160)))  # type: ignore[arg-type]
        await rita.next_message()
    assert (await say(rita, "Done")).startswith("Examples so far: 0.")
    # A worked example: a photo that is not an item, its answer and why.
    await rita.send_photo(image_bytes("JPEG", (320, 240), (250, 250, 0)))  # type: ignore[arg-type]
    assert (await rita.next_message()).text == (
        "What is its right answer? Tap a label or type it (several labels: separate them with"
        " commas)."
    )
    assert (await say(rita, "car")).startswith("Why is it right?")
    assert (await say(rita, "Four wheels: a car.")).startswith("Examples so far: 1.")
    # Gold: the first photo is answered, the second skipped, then enough.
    gold = await say(rita, "Next")
    assert gold.startswith("Gold answers so far: 0. What is the right answer for 001-photo.jpg?")
    assert (await say(rita, "car")).startswith("Gold answers so far: 1.")
    await rita.send_text("Enough gold")
    shown = await rita.next_message()
    # The preview: a photo with the caption and buttons a worker gets, buttons inert.
    assert shown.kind == "photo"
    assert (shown.text or "").startswith("PREVIEW: a task as workers will see it")
    assert "Street scene" in (shown.text or "")
    assert ["car", "person"] in shown.buttons
    assert (await rita.press("car", message=shown)).text == "This is only a preview."
    review = (await rita.next_message()).text or ""
    assert "Title: Street scene" in review
    assert "Answers per item: 3 (default)" in review
    assert "Time limit: 120 s" in review
    for line in ("Files: 3", "Worked examples: 1", "Gold items: 1"):
        assert line in review
    # An edit: the title is asked again; every other answer and file is kept.
    assert (await say(rita, "Title")) == "A short title for the batch (workers see it)?"
    await rita.send_text("Street scenes, edited")
    assert ((await rita.next_message()).text or "").startswith("PREVIEW")
    review = (await rita.next_message()).text or ""
    assert "Title: Street scenes, edited" in review
    for line in ("Files: 3", "Worked examples: 1", "Gold items: 1"):
        assert line in review
    await rita.send_text("Create the draft")
    assert ((await rita.next_message()).text or "").startswith("Checking")
    summary = (await rita.next_message(timeout=30)).text or ""
    assert summary.startswith("Draft batch #1: Street scenes, edited"), summary
    assert "Items: 3 (of which 1 gold)" in summary
    batch = await db.run_read(get_batch, 1)
    assert batch is not None
    assert (batch.time_limit, batch.answers_per_item, len(batch.examples)) == (120, 3, 1)
    assert (await rita.press("Publish")).text == "Published."

    # A worker gets a task of it (the gold item first: training) and answers it.
    ana = await sign_up(sandbox, 1501, "Ana")
    await ana.send_command("/ready")
    await ana.next_message()
    task = await task_of(ana)
    assert "Street scenes, edited" in (task.text or "")
    await ana.press("car", message=task)
    scored = await sql_value(db, "SELECT count(*) FROM gold_results WHERE score = 1")
    for _ in range(50):
        if scored:
            break
        await ana.next_message(timeout=WAIT)
        scored = await sql_value(db, "SELECT count(*) FROM gold_results WHERE score = 1")
    assert scored == 1
