"""Money end to end: top-ups, /balance, /earnings, closing a month, reviewing and paying."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from bot.app import BotApplication
from bot.clock import FixedClock
from bot.config import Settings
from bot.ledger import (
    balance,
    credit_reward,
    hold_for_batch,
    requester_account,
    top_up,
    worker_account,
)
from bot.payouts import check_invariants, statement_history, statements_for_month
from sandbox import SandboxServer, SandboxUser
from storage.db import Database
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.e2e.harness import running_bot, said

APRIL = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)
MID_MARCH = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


async def _register(user: SandboxUser) -> None:
    await user.send_command("/start")
    await user.next_message()
    await user.press("J'accepte" if user.language_code == "fr" else "I agree")
    await user.next_message()


async def _earn_in_march(bot: BotApplication, amounts: dict[int, int]) -> None:
    """Rewards credited in March from a batch the requester funded (the task loop does this)."""
    db: Database = bot.bot_data.db
    settings = bot.bot_data.settings
    await db.run_write(
        hold_for_batch,
        requester_id=REQUESTER_ID,
        batch_id=1,
        amount=sum(amounts.values()),
        actor_id=REQUESTER_ID,
        now=MID_MARCH,
        tz=settings.timezone,
    )
    for number, (worker_id, amount) in enumerate(amounts.items(), start=1):
        await db.run_write(
            credit_reward,
            batch_id=1,
            worker_id=worker_id,
            assignment_id=number,
            amount=amount,
            at=MID_MARCH,
            tz=settings.timezone,
            cap=settings.monthly_cap,
        )


async def test_topup_then_balance(sandbox: SandboxServer, bot: BotApplication) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="fr")
    await rita.send_command("/balance")
    assert (await rita.next_message()).text is not None

    await admin.send_command("/topup 7001 50,00")
    assert (await admin.next_message()).text == (
        "Added €50.00 to requester 7001. Their balance: €50.00."
    )
    told = await rita.next_message()
    assert told.text == "Votre budget a été approvisionné de 50,00\xa0€. Solde : 50,00\xa0€."

    for bad in ("/topup 7001 -5", "/topup 7001 0", "/topup 7001 1.234", "/topup 7001 abc"):
        await admin.send_command(bad)
        reply = (await admin.next_message()).text or ""
        assert "amount" in reply, (bad, reply)
    await admin.send_command("/topup 1234 5")
    assert (await admin.next_message()).text == (
        "User 1234 is not a requester. Grant the role first: /grant 1234 requester"
    )

    await rita.send_command("/balance")
    reply = (await rita.next_message()).text or ""
    assert reply.startswith("Budget disponible : 50,00\xa0€")
    assert "approvisionnement · 50,00\xa0€" in reply
    assert await balance(bot.bot_data.db, requester_account(REQUESTER_ID)) == 5000


async def test_a_duplicated_topup_update_tops_up_once(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    await admin.send_command("/topup 7001 20")
    await admin.next_message()
    sandbox.duplicate_update(sandbox.last_update_id)
    await admin.expect_no_message(within=1.0)
    assert await balance(bot.bot_data.db, requester_account(REQUESTER_ID)) == 2000


async def test_a_worker_cannot_use_admin_or_requester_money_commands(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    will = sandbox.user(1004, first_name="Will", language_code="en")
    await will.send_command("/topup 7001 50")
    assert (await will.next_message()).text == "This command is for admins only."
    await will.send_command("/balance")
    assert (await will.next_message()).text == "This command is for requesters only."
    assert await balance(bot.bot_data.db, requester_account(REQUESTER_ID)) == 0


async def test_close_review_and_pay_a_month(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    clock.set(APRIL)
    db: Database = bot.bot_data.db
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    ana = sandbox.user(1001, first_name="Ana", language_code="fr")
    bob = sandbox.user(1002, first_name='=HYPERLINK("http://evil.example","x")', language_code="en")
    await _register(ana)
    await _register(bob)
    await admin.send_command("/topup 7001 50.00")
    await admin.next_message()
    await _earn_in_march(bot, {1001: 1240, 1002: 760})

    await ana.send_command("/earnings")
    earnings = (await ana.next_message()).text or ""
    assert "Gagné en avril 2026 : 0,00\xa0€" in earnings
    assert "Pas de relevé pour mars 2026." in earnings
    assert "rémunération · 12,40\xa0€" in earnings

    # The running month cannot be closed; March can, once.
    await admin.send_command("/closemonth 2026-04")
    assert (await admin.next_message()).text == (
        "2026-04 has not ended yet; it can be closed from 1 May 2026."
    )
    await admin.send_command("/closemonth 2026-03")
    assert (await admin.next_message()).text == (
        "March 2026 closed: 2 new statements, €20.00 in all."
    )
    await admin.send_command("/closemonth 2026-03")
    assert (await admin.next_message()).text == "March 2026 was already closed: nothing new."
    first, second = await statements_for_month(db, "2026-03")
    assert (first.worker_id, first.amount, second.worker_id) == (1001, 1240, 1002)

    await admin.send_command("/payouts")
    listed = await admin.next_message()
    assert (listed.text or "").splitlines() == [
        "2 statements await a step · page 1 of 1",
        f"#{first.id} · Ana (1001) · March 2026 · €12.40 · awaiting review",
        f'#{second.id} · =HYPERLINK("http://evil.example","x") (1002) · March 2026 · €7.60'
        " · awaiting review",
    ]
    assert listed.buttons == [
        [f"Approve #{first.id}", f"Hold #{first.id}"],
        [f"Approve #{second.id}", f"Hold #{second.id}"],
        ["Approve all on this page"],
    ]

    # Approve Ana's statement: the list is redrawn in place; a double tap approves once.
    answer = await admin.press(f"Approve #{first.id}", message=listed)
    assert answer.text == f"Statement #{first.id} approved."
    assert admin.message(listed.message_id).buttons[0] == [
        f"Mark paid #{first.id}",
        f"Hold #{first.id}",
    ]
    told = await ana.next_message()
    assert told.text == (
        "Votre relevé de mars 2026 (12,40\xa0€) a été approuvé. Il sera bientôt payé."
    )
    again = await admin.press_data(f"pay_ok {first.id} 0", message=listed)
    assert again.text == f"Statement #{first.id} was already approved; nothing changed."
    approvals = [e for e in await statement_history(db, first.id) if e.to_state == "approved"]
    assert len(approvals) == 1

    # A worker replaying the admin's button data is refused; nothing changes.
    refused = await bob.press_data(f"pay_ok {second.id} 0", message=bob.last_message)
    assert refused.text == "This command is for admins only."
    assert (await statements_for_month(db, "2026-03"))[1].state == "pending"

    # Hold Bob's statement with a reason he is told.
    admin.drain()
    await admin.press(f"Hold #{second.id}", message=listed)
    prompt = await admin.next_message()
    assert prompt.force_reply
    await admin.send_text("Duplicate account, please contact us", reply_to=prompt)
    assert (await said(admin)).text == f"Statement #{second.id} put on hold."
    held = await bob.next_message()
    assert held.text is not None
    assert "Reason: Duplicate account, please contact us." in held.text
    assert "Held: Duplicate account" in (admin.message(listed.message_id).text or "")

    # Pay Ana's statement with a reference: one payout transfer, the worker is told.
    admin.drain()
    await admin.press(f"Mark paid #{first.id}", message=listed)
    prompt = await admin.next_message()
    await admin.send_text("SEPA-2026-04-001", reply_to=prompt)
    assert (await said(admin)).text == f"Statement #{first.id} marked paid."
    paid = await ana.next_message()
    assert paid.text == (
        "Votre relevé de mars 2026 (12,40\xa0€) a été payé. Référence : SEPA-2026-04-001."
    )
    assert await balance(db, worker_account(1001)) == 0
    assert await balance(db, worker_account(1002)) == 760
    assert (admin.message(listed.message_id).text or "").startswith("1 statements await")

    # Paying a held statement is refused.
    refused = await admin.press_data(f"pay_paid {second.id}", message=admin.last_message)
    assert refused.text == f"Statement #{second.id} is held: it cannot become paid."

    await admin.send_command("/exportpayouts 2026-03")
    export = await admin.next_message()
    assert export.kind == "document"
    assert export.file_name == "payouts-2026-03.csv"
    assert export.file_bytes is not None
    rows = list(csv.reader(io.StringIO(export.file_bytes.decode("utf-8"))))
    assert rows[1][:2] == ["1001", "Ana"]
    assert rows[1][-2:] == ["paid", "SEPA-2026-04-001"]
    assert rows[2][1] == '\'=HYPERLINK("http://evil.example","x")'
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    await admin.send_command("/health")
    health = ((await admin.next_message()).text or "").splitlines()
    assert health[0] == "Ledger: every invariant holds."
    settings = bot.bot_data.settings
    assert await check_invariants(db, tz=settings.timezone, cap=settings.monthly_cap) == []


async def test_a_close_missed_while_down_is_caught_up_at_start_and_the_job_is_scheduled(
    sandbox: SandboxServer, settings: Settings, clock: FixedClock
) -> None:
    db = await Database.open(settings.database_path)
    await db.migrate()
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=5000,
        actor_id=ADMIN_ID,
        key="seed",
        now=MID_MARCH,
        tz=settings.timezone,
    )
    await db.run_write(
        hold_for_batch,
        requester_id=REQUESTER_ID,
        batch_id=1,
        amount=500,
        actor_id=None,
        now=MID_MARCH,
        tz=settings.timezone,
    )
    await db.run_write(
        credit_reward,
        batch_id=1,
        worker_id=1001,
        assignment_id=1,
        amount=300,
        at=MID_MARCH,
        tz=settings.timezone,
        cap=settings.monthly_cap,
    )
    await db.close()

    clock.set(APRIL)  # the bot was down on 1 April at 00:05
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    async with running_bot(settings, clock=clock) as application:
        told = await admin.next_message()
        assert told.text == (
            "1 new statements were created by the monthly close. Review them with /payouts."
        )
        (statement,) = await statements_for_month(application.bot_data.db, "2026-03")
        assert (statement.worker_id, statement.amount, statement.state) == (1001, 300, "pending")
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name("close-month")
        assert job.next_t is not None
        local = job.next_t.astimezone(settings.timezone)
        assert (local.day, local.hour, local.minute) == (1, 0, 5)

    async with running_bot(settings, clock=clock) as application:
        await admin.expect_no_message(within=0.5)  # nothing new to catch up the second time
        assert len(await statements_for_month(application.bot_data.db, "2026-03")) == 1
