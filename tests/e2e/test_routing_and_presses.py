"""Text goes to the conversation waiting for it, and every press is answered (issue 12, 6 and 9).

A plain text from someone with an active transcription task is the task's answer only when no
conversation waits for them (``/newbatch``, a hold reason); a reply to the task's prompt is its
answer whatever else is open. A stale, repeated, forged or finished button gets an
``answerCallbackQuery`` saying nothing changed, in every state of every conversation.
"""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.ledger import credit_reward, hold_for_batch, top_up
from bot.payouts import close_month, get_statement
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.assignments import active_assignment_of, assignments_of_worker
from tests.builders import PARIS
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.e2e.harness import WAIT, db_of, next_task, publish, said, sign_up

STALE = "This button does nothing any more: nothing changed."


def unanswered(sandbox: SandboxServer) -> list[str | None]:
    """The data of every press the bot never answered."""
    return [q.data for q in sandbox.state.callback_queries.values() if q.answer is None]


async def transcription_on_screen(
    app: BotApplication, shifted: ShiftedClock, user: SandboxUser
) -> BotMessage:
    """Publish a transcription batch and bring its task to ``user``; return the reply prompt."""
    await publish(
        app, shifted, type="transcription", labels=(), media="audio", title="Speech",
        items=1, answers_per_item=1, time_limit=300, requester_id=7050,
    )  # fmt: skip
    await user.send_command("/ready")
    await user.next_message()
    assert (await next_task(user)).kind == "voice"
    prompt = await user.next_message(timeout=WAIT)
    assert prompt.force_reply
    return prompt


async def test_newbatch_gets_its_answers_and_the_task_gets_its_reply(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    rita = await sign_up(sandbox, REQUESTER_ID, "Rita")  # a requester who also works
    prompt = await transcription_on_screen(app, shifted, rita)
    db = db_of(app)

    await rita.send_command("/newbatch")
    assert ((await rita.next_message()).text or "").endswith("What kind of task? Tap one.")
    await rita.send_text("Image tagging")  # plain text: the conversation's
    assert (await rita.next_message()).text == "A short title for the batch (workers see it)?"
    await rita.send_text("Street scenes")
    assert ((await rita.next_message()).text or "").startswith("The instructions")
    active = await db.run_read(active_assignment_of, REQUESTER_ID)
    assert active is not None
    assert active.answer is None  # nothing was taken as a transcription

    await rita.send_text("bonjour tout le monde", reply_to=prompt)  # a reply: the task's
    assert (await rita.next_message(timeout=WAIT)).is_edit
    (done,) = await db.run_read(assignments_of_worker, REQUESTER_ID)
    assert (done.state, done.answer) == ("submitted", "bonjour tout le monde")
    await rita.send_text("Look closely.")  # the conversation is still at its step
    texts = [(await rita.next_message(timeout=WAIT)).text or "" for _ in range(2)]
    assert any("labels" in text for text in texts), texts  # after the task's last news


async def _pending_statement(app: BotApplication, shifted: ShiftedClock, worker_id: int) -> int:
    """A closed last month with earnings for ``worker_id``: one pending statement."""
    db = db_of(app)
    earned = shifted.now() - timedelta(days=30)
    await top_up(
        db, requester_id=REQUESTER_ID, amount=5000, actor_id=ADMIN_ID, key="seed:routing",
        now=earned, tz=PARIS,
    )  # fmt: skip
    async with db.write() as tx:
        await hold_for_batch(
            tx, requester_id=REQUESTER_ID, batch_id=999, amount=500, actor_id=None, now=earned,
            tz=PARIS,
        )  # fmt: skip
        await credit_reward(
            tx, batch_id=999, worker_id=worker_id, assignment_id=999, amount=300, at=earned,
            tz=PARIS, cap=25_000,
        )  # fmt: skip
    month = earned.astimezone(PARIS).strftime("%Y-%m")
    closed = await close_month(db, month, now=shifted.now(), tz=PARIS, actor_id=None)
    return closed.created[0].id


async def test_a_hold_reason_typed_with_a_transcription_open_is_the_reason(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    statement_id = await _pending_statement(app, shifted, 1301)
    ada = await sign_up(sandbox, ADMIN_ID, "Ada")  # an admin who also works
    await transcription_on_screen(app, shifted, ada)

    await ada.send_command("/payouts")
    listed = await ada.next_message()
    await ada.press("Hold", message=listed)
    assert "reason" in ((await ada.next_message()).text or "")
    await ada.send_text("Missing tax form")  # typed without replying to the only prompt
    assert (await said(ada)).text == (
        f"Statement #{statement_id} put on hold.\n(Your message replied to no question: it went"
        f" to the only one open, for statement #{statement_id}.)"
    )
    statement = await get_statement(db_of(app), statement_id)
    assert (statement.state, statement.hold_reason) == ("held", "Missing tax form")
    active = await db_of(app).run_read(active_assignment_of, ADMIN_ID)
    assert active is not None
    assert active.answer is None


async def test_every_press_is_answered_in_every_state(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    statement_id = await _pending_statement(app, shifted, 1302)
    ada = await sign_up(sandbox, ADMIN_ID, "Ada")
    rita = await sign_up(sandbox, REQUESTER_ID, "Rita")

    # The payout prompt: a second tap on Mark paid (or Hold) says the prompt is open.
    await ada.send_command("/payouts")
    listed = await ada.next_message()
    answer = await ada.press(f"Approve #{statement_id}", message=listed)
    assert "approved" in (answer.text or "")
    listed = await ada.next_message()  # the list, redrawn: now Mark paid / Hold
    await ada.press("Mark paid", message=listed)
    assert "reference" in ((await ada.next_message()).text or "").lower()
    for button in ("Mark paid", "Hold"):
        again = await ada.press(button, message=listed)
        assert again.text == (
            f"Statement #{statement_id} is waiting for your answer to the question above: "
            "send it, or /cancel. Nothing changed."
        )
    assert (await ada.press_data("zz 1", message=listed.message_id)).text == STALE
    await ada.send_text("SEPA-42")
    assert "paid" in ((await said(ada)).text or "")
    ada.drain()
    # The finished conversation's buttons, pressed again: answered, nothing changes.
    finished = await ada.press_data(f"pay_paid {statement_id}", message=listed.message_id)
    assert finished.text
    assert (await get_statement(db_of(app), statement_id)).reference == "SEPA-42"

    # Every step of /newbatch: a stale button and a forged one are answered.
    steps = ["Image tagging", "Street scenes", "Look closely.", "car, person", "No", "10", "2"]
    await rita.send_command("/newbatch")
    for step in [None, *steps]:
        if step is not None:
            await rita.send_text(step)
        asked = await rita.next_message()
        assert (await rita.press_data("zz 9", message=asked.message_id)).text == STALE
        answer = await rita.press_data(f"pay_paid {statement_id}", message=asked.message_id)
        assert answer.text  # not an admin: refused, in words
    assert unanswered(sandbox) == []
