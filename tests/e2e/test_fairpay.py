"""Fair pay end to end: a batch paying half the floor is flagged once 20 answers exist, to its
requester (with a Raise button) and to the admins; raising holds the extra escrow once.

The 20 answers are written into the database (tests/test_results.py); the check is run at once
rather than waiting for the 30-second job, and the alert and the button go through Telegram.
"""

from __future__ import annotations

from bot.app import BotApplication
from bot.handlers.results import request_fair_pay_check
from bot.ledger import balance, escrow_account, requester_account, top_up
from bot.rewards import check_fair_pay
from sandbox import SandboxServer
from storage.batches import get_batch
from storage.db import Database
from tests.builders import NOW, PARIS, half_floor_batch
from tests.conftest import ADMIN_ID, REQUESTER_ID

RAISE = "Raise to €0.04 per answer"


async def test_half_the_floor_is_flagged_once_and_raising_holds_the_extra_escrow(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    services = bot.bot_data
    db: Database = services.db
    rita = sandbox.user(REQUESTER_ID, "Rita")
    ada = sandbox.user(ADMIN_ID, "Ada")
    batch_id = await half_floor_batch(db, services.settings.data_dir, extra_budget=5)
    escrow = await balance(db, escrow_account(batch_id))

    request_fair_pay_check(bot)
    alert = await rita.next_message(timeout=10)
    text = alert.text or ""
    assert f"Batch #{batch_id}" in text
    assert "over 20 answers the median effective hourly rate is €5.00 an hour" in text
    assert "under the floor of €10.00 an hour" in text
    assert "the 10 answer slots left holds €0.20 more" in text
    assert alert.buttons == [[RAISE]]
    told = await ada.next_message(timeout=10)
    assert told.text == text
    assert told.buttons == []
    # Told once: the alert is recorded, a later check finds nothing new.
    assert await check_fair_pay(db, floor=services.settings.min_hourly_rate, now=NOW) == []

    short = await rita.press(RAISE, message=alert)
    assert short.show_alert
    assert "€0.20 needed, €0.05 available, €0.15 missing" in (short.text or "")
    assert await balance(db, escrow_account(batch_id)) == escrow

    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=100,
        actor_id=ADMIN_ID,
        key="topup:fairpay-e2e",
        now=NOW,
        tz=PARIS,
    )
    raised = await rita.press(RAISE, message=alert)
    assert "now €0.04 per answer (was €0.02)" in (raised.text or "")
    edited = await rita.next_message()
    assert edited.is_edit
    assert edited.buttons == []
    # A double tap (the client may still show the button) raises nothing more.
    again = await rita.press_data(f"fpr {batch_id}", message=alert)
    assert "already pays €0.04" in (again.text or "")
    assert await balance(db, escrow_account(batch_id)) == escrow + 20
    assert await balance(db, requester_account(REQUESTER_ID)) == 85
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.reward == 4

    # Anyone else pressing the button is refused and changes nothing.
    otto = sandbox.user(4242, "Otto")
    await otto.send_command("/help")
    forged = await otto.press_data(f"fpr {batch_id}", message=await otto.next_message())
    assert forged.show_alert
    assert f"no batch #{batch_id}" in (forged.text or "")
    assert await balance(db, escrow_account(batch_id)) == escrow + 20


async def test_health_shows_the_platform_rate_answers_workers_and_batches(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    services = bot.bot_data
    await half_floor_batch(services.db, services.settings.data_dir, extra_budget=0)
    ada = sandbox.user(ADMIN_ID, "Ada")
    await ada.send_command("/health")
    lines = ((await ada.next_message()).text or "").splitlines()
    assert lines == [
        "Ledger: every invariant holds.",
        "Median effective hourly rate, last 7 days: €5.00 an hour (20 answers).",
        "Answers: 20 in the last hour, 20 in the last day.",
        "Active workers (answered in the last day or answering now): 2.",
        "Open batches: 1 (paused: 0).",
    ]
