"""Admin tools end to end (issue 12): blocking and appeals, roles that follow configuration and
/revoke, four-eyes on money, /user, /audit and confirmed ledger corrections."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import BotApplication
from bot.clock import FixedClock, ShiftedClock
from bot.config import Settings
from bot.ledger import (
    balance,
    requester_account,
    worker_account,
)
from bot.payouts import get_statement
from sandbox import SandboxServer
from storage.assignments import assignments_of_worker
from storage.audit import audit_entries
from storage.users import get_user, roles_of
from tests.conftest import ADMIN_ID, REQUESTER_ID
from tests.e2e.harness import db_of, march_statement, next_task, publish, running_bot, sign_up

SECOND_ADMIN = 9002


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    """Two admins, so four-eyes steps can be taken."""
    return make_settings(telegram_api_url=sandbox.url, admin_ids=f"{ADMIN_ID},{SECOND_ADMIN}")


async def _actions(app: BotApplication) -> list[str]:
    return [entry["action"] for entry in await db_of(app).run_read(audit_entries, limit=50)]


async def test_block_releases_the_task_tells_why_and_an_appeal_can_lift_it(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    sandbox.user(SECOND_ADMIN, first_name="Bea", language_code="fr")
    worker = await sign_up(sandbox, 1021, "Zoé", "fr")
    await publish(app, shifted, items=3, time_limit=60)
    await worker.send_command("/task")
    await next_task(worker)

    await admin.send_command("/block 1021 spam answers")
    assert (await admin.next_message()).text == (
        "User 1021 is blocked: no more tasks, their active task was released. "
        "They were told why and can /appeal."
    )
    told = (await worker.next_message()).text or ""
    assert told.startswith("Un·e administrateur·rice a bloqué votre compte : spam answers")
    db = db_of(app)
    [task] = await db.run_read(assignments_of_worker, 1021)
    assert (task.state, task.end_reason) == ("released", "blocked")
    assert await balance(db, worker_account(1021)) == 0  # released unpaid, no penalty
    await worker.send_command("/task")
    assert "bloqué" in ((await worker.next_message()).text or "").lower()

    await admin.send_command("/block 1021 again")
    assert (await admin.next_message()).text == "User 1021 was already blocked."

    await worker.send_command("/appeal je me suis trompée")
    await worker.next_message()
    appeal = await admin.next_message()
    assert "je me suis trompée" in (appeal.text or "")
    await admin.press("Lift the block", message=appeal)
    user = await db.run_read(get_user, 1021)
    assert user is not None
    assert user.blocked_at is None
    assert "levé le blocage" in ((await worker.next_message()).text or "")
    assert (await _actions(app))[:3] == ["appeal.lifted", "unblock", "block"]


async def test_unblock_and_audit_and_user(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    worker = await sign_up(sandbox, 1022, "Will")
    await admin.send_command("/block 1022 bots")
    await admin.next_message()
    await worker.next_message()
    await admin.send_command("/user 1022")
    report = (await admin.next_message()).text or ""
    assert report.startswith(
        "Will (1022)\nRoles: workers\nStatus: blocked since 15/01/2026, 13:00: bots"
    )
    assert "Earned this month: €0.00" in report
    await admin.send_command("/unblock 1022")
    assert (await admin.next_message()).text == "User 1022 is unblocked."
    assert "unblocked" in ((await worker.next_message()).text or "")
    await admin.send_command("/unblock 1022")
    assert (await admin.next_message()).text == "User 1022 was not blocked."
    await admin.send_command("/audit 2")
    audit = (await admin.next_message()).text or ""
    assert audit.splitlines()[0] == "The last 2 admin actions, newest first:"
    assert " · 9001 · unblock · " in audit.splitlines()[1]
    assert " · 9001 · block · " in audit.splitlines()[2]
    for bad in ("/user ²", "/user ٣", "/audit 0", "/audit 51", "/block 1022", "/unblock x"):
        await admin.send_command(bad)
        assert "Usage" in ((await admin.next_message()).text or ""), bad
    await worker.send_command("/block 9001 revenge")
    assert (await worker.next_message()).text == "This command is for admins only."


async def test_roles_follow_configuration_across_a_restart_and_revoke(
    sandbox: SandboxServer, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    first = make_settings(telegram_api_url=sandbox.url, admin_ids="9001,9002,9003")
    async with running_bot(first, clock=clock) as bot:
        admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
        await admin.send_command("/grant 5005 admin")
        await admin.next_message()
        await admin.send_command("/grant 7002 requester")
        await admin.next_message()
    later = make_settings(telegram_api_url=sandbox.url, admin_ids="9001,9002", requester_ids="")
    async with running_bot(later, clock=clock) as bot:
        db = db_of(bot)
        assert await db.run_read(roles_of, 9003) == frozenset()  # removed from ADMIN_IDS
        assert await db.run_read(roles_of, REQUESTER_ID) == frozenset()  # from REQUESTER_IDS
        assert await db.run_read(roles_of, 5005) == {"admin"}  # granted with /grant: kept
        assert await db.run_read(roles_of, 7002) == {"requester"}
        admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
        await admin.send_command("/revoke 7002 requester")
        assert (await admin.next_message()).text == "User 7002 is no longer among the requesters."
        await admin.send_command("/revoke 7002 requester")
        assert (await admin.next_message()).text == "User 7002 was not among the requesters."
        await admin.send_command("/revoke 9001 admin")
        assert "own admin role" in ((await admin.next_message()).text or "")
        assert await db.run_read(roles_of, 7002) == frozenset()
        revokes = [
            (e["actor_id"], e["detail"]["user_id"], e["detail"]["role"])
            for e in await db.run_read(audit_entries, limit=50)
            if e["action"] == "revoke"
        ]
        assert sorted(revokes, key=str) == sorted(
            [(9001, 7002, "requester"), (None, 9003, "admin"), (None, REQUESTER_ID, "requester")],
            key=str,
        )


async def test_one_admin_is_warned_at_start(
    sandbox: SandboxServer,
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(telegram_api_url=sandbox.url)
    async with running_bot(settings, clock=clock):
        admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
        await admin.send_command("/help")
        await admin.next_message()
    with caplog.at_level("WARNING"):
        async with running_bot(settings, clock=clock):
            warned = await admin.next_message()
    assert (warned.text or "").startswith("You are the only admin.")
    assert any("only 1 admin configured" in record.message for record in caplog.records)


async def test_four_eyes_on_statements_and_top_ups(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    ada = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    bea = sandbox.user(SECOND_ADMIN, first_name="Bea", language_code="fr")
    await ada.send_command("/grant 9001 requester")
    await ada.next_message()
    await ada.next_message()  # told about the new role
    await ada.send_command("/topup 9001 10")
    assert (await ada.next_message()).text == (
        "You cannot top up your own requester account: another admin must do it."
    )
    db = db_of(bot)
    assert await balance(db, requester_account(ADMIN_ID)) == 0
    await bea.send_command("/topup 9001 10")
    assert "10,00" in ((await bea.next_message()).text or "")
    assert await balance(db, requester_account(ADMIN_ID)) == 1000

    # A statement of Ada's own earnings: Ada may not approve, hold or pay it; Bea may.
    statement_id = await march_statement(bot, ADMIN_ID, funded_by=SECOND_ADMIN)
    refusal = f"Statement #{statement_id} is yours: another admin must approve, hold or pay it."
    await ada.send_command("/payouts")
    await ada.next_message()
    for data in (f"pay_ok {statement_id}", f"pay_hold {statement_id}"):
        answer = await ada.press_data(data)
        assert answer.text == refusal, data
    await bea.send_command("/payouts")
    await bea.next_message()
    await bea.press_data(f"pay_ok {statement_id}")
    answer = await ada.press_data(f"pay_paid {statement_id}")
    assert answer.text == refusal
    statement = await get_statement(db, statement_id)
    assert (statement.state, statement.approved_by) == ("approved", SECOND_ADMIN)


async def test_a_correction_needs_a_second_admin(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    ada = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    bea = sandbox.user(SECOND_ADMIN, first_name="Bea", language_code="en")
    await bea.send_command("/help")
    await bea.next_message()
    await ada.send_command("/correct bank worker:9001 5 my own pay")
    assert "another admin must confirm" in ((await ada.next_message()).text or "")
    await ada.send_command("/correct bank requester:7001 5")
    assert "Usage: /correct" in ((await ada.next_message()).text or "")
    await ada.send_command("/correct bank requester:7001 5,00 lost bank transfer")
    assert (await ada.next_message()).text == (
        "Correction #1 is waiting for another admin's confirmation; nothing has moved yet."
    )
    db = db_of(bot)
    assert await balance(db, requester_account(REQUESTER_ID)) == 0
    ask = await bea.next_message()
    assert "€5.00 from bank to requester:7001" in (ask.text or "")
    refused = await ada.press_data("cfix 1")  # a forged press by the proposer
    assert refused.text is not None
    assert "another admin must confirm" in refused.text
    assert (await bea.press("Confirm", message=ask)).text == (
        "Correction #1 is confirmed and posted to the ledger."
    )
    assert await balance(db, requester_account(REQUESTER_ID)) == 500
    again = await bea.press_data("cfix 1", message=ask)
    assert again.text == "Correction #1 is already confirmed: nothing changed."
    assert await balance(db, requester_account(REQUESTER_ID)) == 500
    assert "ledger.correction" in await _actions(bot)
