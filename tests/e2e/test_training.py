"""Examples and training end to end, the real bot against the sandbox (issue 14, item 2).

A new worker's first gold answers of a type are their training: each training task says so,
is paid at the batch's rate through the ordinary credit (key ``answer:ASSIGNMENT_ID``), and
once answered its message shows right or wrong, the expected answer and why; after three, the
tasks are ordinary ones. A batch's worked examples come once, before a worker's first task of it.
"""

from __future__ import annotations

from bot.app import BotApplication
from bot.batch_settings import Example
from bot.clock import ShiftedClock
from bot.engine.jobs import request_dispatch
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.assignments import assignments_of_worker
from storage.batches import get_item
from tests.builders import png_bytes, publish_with_gold, store_media
from tests.conftest import sql_value
from tests.e2e.harness import WAIT, db_of, next_task, publish, sign_up

WHY = {"car": "Four wheels and a windscreen: a car.", "dog": "It has a tail and fur."}


async def until(user: SandboxUser, fragment: str) -> BotMessage:
    """The next message or edit holding ``fragment`` (others before it are passed over)."""
    while True:
        message = await user.next_message(timeout=WAIT)
        if fragment in (message.text or ""):
            return message


async def test_training_gives_feedback_on_each_answer_and_is_paid_at_the_batch_rate(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    gold = ["car", "dog", "person"]
    await publish_with_gold(
        db,
        app.bot_data.settings.data_dir,
        ordinary=3,
        gold=gold,
        why=[WHY["car"], WHY["dog"]],  # the third gold item has no why
        answers_per_item=1,
        reward=5,
        now=shifted.now(),
    )
    request_dispatch(app)
    ana = await sign_up(sandbox, 1401, "Ana")
    await ana.send_command("/ready")
    await ana.next_message()

    task = await next_task(ana)
    for number in (1, 2, 3):
        assert "🎓 Training task, paid as usual" in (task.text or "")
        mine = await db.run_read(assignments_of_worker, 1401)
        item = await db.run_read(get_item, mine[-1].item_id)
        assert item is not None
        assert item.gold_answer in gold
        await ana.press("car", message=task)  # right only for the car
        told = await until(ana, f"Training {number}/3")
        text = told.text or ""
        assert told.is_edit  # the feedback stays on the task's own message
        assert f"Expected answer: {item.gold_answer}" in text
        assert ("✅ right!" in text) == (item.gold_answer == "car")
        assert ("❌ not quite." in text) == (item.gold_answer != "car")
        why = WHY.get(item.gold_answer)
        assert (f"Why: {why}" in text) if why else ("Why:" not in text)
        assert ("Training done" in text) == (number == 3)
        # Paid at the batch's rate, through the ordinary answer credit.
        paid = await sql_value(
            db,
            "SELECT amount FROM transfers WHERE idempotency_key = ?",
            (f"answer:{mine[-1].id}",),
        )
        assert paid == 5
        task = await next_task(ana)

    # Training done: the next task is an ordinary, paid one, not marked as training.
    assert "Training" not in (task.text or "")
    last = (await db.run_read(assignments_of_worker, 1401))[-1]
    item = await db.run_read(get_item, last.item_id)
    assert item is not None
    assert not item.is_gold


async def test_examples_come_once_before_the_first_task_of_a_batch(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    data_dir = app.bot_data.settings.data_dir
    media = store_media(data_dir, png_bytes(901), "image")
    example = Example(
        file="examples/car.png",
        answer="car",
        why="The red shape has wheels.",
        media_path=media.path,
        media_kind="image",
    )
    await publish(app, shifted, items=3, answers_per_item=1, time_limit=60, examples=[example])
    bob = await sign_up(sandbox, 1402, "Bob")
    await bob.send_command("/ready")
    await bob.next_message()

    intro = await until(bob, "example(s) with the right answer")
    assert "Before your first task of «Street scenes», 1 example(s)" in (intro.text or "")
    shown = await bob.next_message(timeout=WAIT)
    assert shown.kind == "photo"
    assert shown.text == "Example 1: the right answer is car.\nWhy: The red shape has wheels."
    first = await next_task(bob)
    await bob.press("car", message=first)
    second = await next_task(bob)  # the same batch: no examples again
    await bob.press("bicycle", message=second)
    await next_task(bob)
    assert sum("Example 1" in (m.text or "") for m in bob.messages) == 1
