"""The worker's data end to end (issue 12, item 11): /mydata's file, /forgetme with its
confirmation (cancelled, confirmed, pressed again), and consent withdrawn in one press."""

from __future__ import annotations

import json

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.ledger import balance, worker_account
from bot.payout_details import save_details
from sandbox import SandboxServer
from storage.assignments import assignments_of_worker
from storage.availability import dispatch_candidates
from storage.users import get_user
from tests.conftest import sql_value
from tests.e2e.harness import db_of, next_task, publish, sign_up

IBAN = "FR7630006000011234567890189"


async def _candidates(app: BotApplication) -> set[int]:
    return {c.worker_id for c in await db_of(app).run_read(dispatch_candidates)}


async def test_mydata_then_forgetme_erases_and_keeps_the_accounting_records(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    ana = await sign_up(sandbox, 1201, "Ana")
    await save_details(db, 1201, holder="Ana Martin", iban_text=IBAN, now=shifted.now())
    await publish(app, shifted, items=4, answers_per_item=1, time_limit=60)
    await ana.send_command("/ready")
    await ana.next_message()
    await ana.press("car", message=await next_task(ana))
    active = await next_task(ana)  # the next task, still open when she asks to be forgotten
    assert active.message_id
    earned = await balance(db, worker_account(1201))
    assert earned > 0

    await ana.send_command("/mydata")
    export = await ana.next_message()
    assert export.file_bytes is not None
    document = json.loads(export.file_bytes)
    assert document["profile"][0]["first_name"] == "Ana"
    assert document["roles"][0]["role"] == "worker"
    assert document["availability"][0]["ready_until"] is not None
    [answered] = [a for a in document["answers"] if a["state"] == "submitted"]
    assert answered["batch_title"]
    assert json.loads(answered["answer"]) is not None
    assert sum(line["amount"] for line in document["ledger"]) == earned
    assert document["payout_details"][0]["iban"] == "FR76 •••• 0189"
    assert IBAN not in export.file_bytes.decode("utf-8")
    assert {"statements", "gold_scores", "type_pauses", "appeals", "reports", "mutes"} <= set(
        document
    )
    assert any("withdraw consent" in text for row in export.buttons for text in row)

    await ana.send_command("/forgetme")
    ask = await ana.next_message()
    assert "accounting records" in (ask.text or "")
    await ana.press("No, keep everything", message=ask)
    assert (await ana.next_message()).text == "Nothing was erased."
    assert (await db.run_read(get_user, 1201)).first_name == "Ana"  # type: ignore[union-attr]

    await ana.send_command("/forgetme")
    ask = await ana.next_message()
    answer = await ana.press("Yes, erase my data", message=ask)
    assert answer.text == "Your personal data is erased."
    assert "kept under a pseudonym" in ((await ana.next_message()).text or "")
    user = await db.run_read(get_user, 1201)
    assert user is not None
    assert user.first_name.startswith("erased-")
    assert (user.username, user.timezone, user.consented_at) == (None, None, None)
    for table in ("worker_availability", "payout_details", "worker_mutes", "overlap_preferred"):
        assert await sql_value(db, f"SELECT count(*) FROM {table} WHERE worker_id = 1201") == 0
    states = {a.state for a in await db.run_read(assignments_of_worker, 1201)}
    assert states == {"submitted", "released"}  # the answer kept, the open task given back
    assert await balance(db, worker_account(1201)) == earned  # the ledger untouched

    again = await ana.press_data("forget yes", message=ask)  # a double tap
    assert again.text == "Your data was already erased: nothing changed."
    assert (await db.run_read(get_user, 1201)).first_name == user.first_name  # type: ignore[union-attr]
    assert 1201 not in await _candidates(app)
    ana.drain()
    await publish(app, shifted, items=2, answers_per_item=1, time_limit=60)
    await ana.expect_no_message(within=1.5)
    await ana.send_command("/help")  # writing again does not bring the Telegram name back
    await ana.next_message()
    assert (await db.run_read(get_user, 1201)).first_name == user.first_name  # type: ignore[union-attr]
    assert active.message_id not in {a.message_id for a in ana.drain()}  # nothing re-sent


async def test_withdrawing_consent_stops_pushes_until_consent_is_given_again(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    bob = await sign_up(sandbox, 1202, "Bob")
    await bob.send_command("/availability mon-sun 00:00-23:59")
    await bob.next_message()
    assert 1202 in await _candidates(app)
    await bob.send_command("/start")
    welcome = await bob.next_message()
    answer = await bob.press("Stop sending me tasks (withdraw consent)", message=welcome)
    assert answer.show_alert
    assert "no more tasks" in (answer.text or "")
    assert 1202 not in await _candidates(app)
    again = await bob.press("Stop sending me tasks (withdraw consent)", message=welcome)
    assert again.text == "Your consent is already withdrawn: nothing changed."
    await publish(app, shifted, items=2, answers_per_item=1, time_limit=60)
    await bob.expect_no_message(within=1.5)

    await bob.send_command("/start")  # consenting again undoes it
    await bob.press("I agree", message=await bob.next_message())
    await bob.next_message()
    assert 1202 in await _candidates(app)
    await bob.send_command("/task")
    await next_task(bob)
