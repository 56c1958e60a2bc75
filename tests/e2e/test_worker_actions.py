"""Requesters' tools end to end (issue 15, items 2 and 6): the batch-done message's Results
button, the estimated end in progress, and per-worker actions by pseudonym: a bonus to one
worker (paid once on a double press or a command delivered twice) and excluding a worker from
the requester's batches (never offered them, while another worker is; Readmit undoes it)."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.ledger import balance, requester_account, worker_account
from bot.results import pseudonym, pseudonym_secret
from sandbox import BotMessage, SandboxServer, SandboxUser
from storage.assignments import assignments_of_worker
from tests.builders import image_items, item_ids, open_batch, submit
from tests.conftest import REQUESTER_ID
from tests.e2e.harness import WAIT, db_of, next_task, publish, sign_up


def labels(message: BotMessage) -> list[str]:
    return [text for row in message.buttons for text in row]


async def message_with(user: SandboxUser, button: str) -> BotMessage:
    """The bot's next message carrying ``button`` (earlier ones, such as files, are skipped)."""
    while True:
        message = await user.next_message(timeout=WAIT)
        if button in labels(message):
            return message


async def test_a_bonus_to_one_worker_by_pseudonym_is_paid_once(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db, data_dir = db_of(app), app.bot_data.settings.data_dir
    batch_id = await open_batch(
        db, data_dir, image_items(data_dir, 2, first_seed=1500), extra_budget=500
    )
    first, second = await item_ids(db, batch_id)
    workers = {worker_id: sandbox.user(worker_id, "Worker") for worker_id in (1501, 1502)}
    await submit(db, batch_id, first, 1501, "car")
    await submit(db, batch_id, second, 1501, "car")
    await submit(db, batch_id, first, 1502, "car")
    budget = await balance(db, requester_account(REQUESTER_ID))
    rita = sandbox.user(REQUESTER_ID, "Rita")

    await rita.send_command(f"/results {batch_id}")
    offer = await message_with(rita, "👥 Per worker")
    await rita.press("👥 Per worker", message=offer)
    listing = await rita.next_message(timeout=WAIT)
    secret = await pseudonym_secret(db, shifted.now())
    name = pseudonym(secret, batch_id, 1501)
    assert labels(listing) == [name, pseudonym(secret, batch_id, 1502)]  # most answers first
    assert f"{name}: 2 answers" in (listing.text or "")
    assert "1501" not in (listing.text or "")
    assert "1502" not in (listing.text or "")

    await rita.press(name, message=listing)
    card = await rita.next_message(timeout=WAIT)
    assert "🎁 €0.20" in labels(card)
    paid = await rita.press("🎁 €0.20", message=card)
    assert paid.text == f"Bonus of €0.20 sent to {name} (batch #{batch_id})."
    again = await rita.press("🎁 €0.20", message=card)  # a double press
    assert again.text == f"This bonus of €0.20 to {name} was already sent: not paid twice."
    assert "bonus of €0.20" in ((await workers[1501].next_message(timeout=WAIT)).text or "")
    assert await balance(db, worker_account(1501)) == 20
    assert await balance(db, worker_account(1502)) == 0

    # Typed, with an amount of the requester's choice: a command delivered twice pays once.
    await rita.send_command(f"/worker {batch_id} {name} 0.30")
    assert "Bonus of €0.30 sent" in ((await rita.next_message(timeout=WAIT)).text or "")
    sandbox.redeliver_last(1)  # the same command message again, under a new update_id
    assert "already sent" in ((await rita.next_message(timeout=WAIT)).text or "")
    assert await balance(db, worker_account(1501)) == 50
    assert await balance(db, requester_account(REQUESTER_ID)) == budget - 50

    await rita.send_command(f"/worker {batch_id} wffffffffffff 1")
    assert f"No worker wffffffffffff answered batch #{batch_id}." == (
        (await rita.next_message(timeout=WAIT)).text
    )
    await rita.send_command(f"/worker {batch_id} bob 1")
    assert "is not a pseudonym" in ((await rita.next_message(timeout=WAIT)).text or "")


async def test_progress_shows_an_estimated_end_once_answers_were_measured(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db, data_dir = db_of(app), app.bot_data.settings.data_dir
    batch_id = await open_batch(db, data_dir, image_items(data_dir, 4, first_seed=1600))
    rita = sandbox.user(REQUESTER_ID, "Rita")
    await rita.send_command(f"/batch {batch_id}")
    assert "Estimated end: not enough data yet" in ((await rita.next_message()).text or "")

    items = await item_ids(db, batch_id)
    answered_at = shifted.now() - timedelta(minutes=10)
    for worker_id in (1601, 1602):
        for item_id in items[: 3 if worker_id == 1601 else 2]:
            await submit(db, batch_id, item_id, worker_id, "car", at=answered_at)
    await rita.send_command(f"/batch {batch_id}")
    text = (await rita.next_message()).text or ""
    assert "Answers collected: 5 of at most 12" in text, text
    # 12 answers wanted, 5 given in the last hour: 7 more at 5 an hour.
    assert "(at the last hour's 5 answers an hour)" in text, text


async def test_an_excluded_worker_is_not_offered_the_requesters_next_batch(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/start")
    await rita.next_message()
    first = await publish(app, shifted, items=1, answers_per_item=2, time_limit=60)
    ana = await sign_up(sandbox, 1801, "Ana")
    bob = await sign_up(sandbox, 1802, "Bob")
    for worker in (ana, bob):
        await worker.send_command("/ready")
        await worker.next_message()
        task = await next_task(worker)
        await worker.press("car", message=task)
        await worker.next_message(timeout=WAIT)  # no task follows

    # The batch is done: its summary has a Results button, which sends the files.
    done = await message_with(rita, "Results")
    assert f"#{first}" in (done.text or "")
    await rita.press("Results", message=done)
    await message_with(rita, "👥 Per worker")

    name = pseudonym(await pseudonym_secret(db, shifted.now()), first, 1801)
    await rita.send_command(f"/worker {first} {name}")
    card = await rita.next_message(timeout=WAIT)
    excluded = await rita.press("🚫 Exclude from my batches", message=card)
    assert excluded.text == f"{name} will not be offered your batches any more."

    second = await publish(app, shifted, items=2, answers_per_item=1, time_limit=60)
    await next_task(bob)  # Bob is still ready: Rita's next batch comes to him
    await ana.send_command("/task")
    assert "No task is available" in ((await ana.next_message(timeout=WAIT)).text or "")
    assert [a.batch_id for a in await db.run_read(assignments_of_worker, 1801)] == [first]
    assert second in [a.batch_id for a in await db.run_read(assignments_of_worker, 1802)]

    card = await rita.next_message(timeout=WAIT)  # the card's keyboard, redrawn
    assert "↩️ Readmit" in labels(card)
    await rita.press("↩️ Readmit", message=card)
    await ana.send_command("/task")
    await next_task(ana)
    assert second in [a.batch_id for a in await db.run_read(assignments_of_worker, 1801)]
