"""Workers' payout details and the admins' SEPA payment file, end to end through the sandbox."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sepaxml
import xmlschema

from bot.app import BotApplication
from bot.clock import FixedClock
from bot.config import Settings
from bot.ledger import balance, credit_reward, hold_for_batch, top_up, worker_account
from bot.payouts import approve, close_month, statements_for_month
from sandbox import SandboxServer, SandboxUser
from storage.db import Database, Tx
from tests.conftest import ADMIN_ID, REQUESTER_ID

APRIL = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)
MID_MARCH = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
ANA_IBAN = "FR7630006000011234567890189"
BOB_IBAN = "DE89370400440532013000"
PLATFORM_IBAN = "NL91ABNA0417164300"
SCHEMA = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        telegram_api_url=sandbox.url,
        sepa_debtor_name="Petites Mains SAS",
        sepa_debtor_iban=PLATFORM_IBAN,
        sepa_debtor_bic="ABNANL2A",
    )


SECOND_ADMIN_ID = 9002


async def _register(user: SandboxUser, *, staff: bool = False) -> None:
    """A worker consents; staff (an admin) take tasks too from their own /start."""
    await user.send_command("/start")
    await user.next_message()
    if staff:
        await user.press("Also take tasks as a worker")
    else:
        await user.press("J'accepte" if user.language_code == "fr" else "I agree")
    await user.next_message()


async def _approved_march(bot: BotApplication, amounts: dict[int, int]) -> None:
    """March rewards, the month closed and every statement approved by the admin."""
    db: Database = bot.bot_data.db
    tz = bot.bot_data.settings.timezone
    await top_up(
        db,
        requester_id=REQUESTER_ID,
        amount=10_000,
        actor_id=ADMIN_ID,
        key="t",
        now=MID_MARCH,
        tz=tz,
    )
    await db.run_write(
        hold_for_batch,
        requester_id=REQUESTER_ID,
        batch_id=1,
        amount=sum(amounts.values()),
        actor_id=REQUESTER_ID,
        now=MID_MARCH,
        tz=tz,
    )
    for number, (worker_id, amount) in enumerate(amounts.items(), start=1):
        await db.run_write(
            credit_reward,
            batch_id=1,
            worker_id=worker_id,
            assignment_id=number,
            amount=amount,
            at=MID_MARCH,
            tz=tz,
            cap=bot.bot_data.settings.monthly_cap,
        )
    await close_month(db, "2026-03", now=APRIL, tz=tz, actor_id=ADMIN_ID)
    for statement in await statements_for_month(db, "2026-03"):
        # Four-eyes: an admin's own statement is approved by another admin.
        reviewer = SECOND_ADMIN_ID if statement.worker_id == ADMIN_ID else ADMIN_ID
        await approve(db, statement.id, actor_id=reviewer, now=APRIL)


async def _give_details(user: SandboxUser, holder: str, iban: str) -> str:
    await user.send_command("/payoutdetails")
    await user.next_message()
    await user.send_text(holder)
    await user.next_message()
    await user.send_text(iban)
    return (await user.next_message()).text or ""


async def test_an_iban_that_fails_validation_is_refused_with_the_reason(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    ana = sandbox.user(1001, first_name="Ana", language_code="fr")
    await _register(ana)
    await ana.send_command("/payoutdetails")
    assert "titulaire" in ((await ana.next_message()).text or "")
    await ana.send_text("Ana Martin")
    await ana.next_message()
    await ana.send_text("FR76 3000 6000 0112 3456 7890 188")  # one digit wrong
    assert (await ana.next_message()).text == (
        "IBAN refusé : ses chiffres de contrôle ne correspondent pas (une faute de frappe ?). "
        "Renvoyez-le."
    )
    await ana.send_text("FR76 ３０００ 6000 0112 3456 7890 189")  # full-width digits
    assert (await ana.next_message()).text == (
        "IBAN refusé : utilisez seulement des lettres latines et les chiffres 0-9. Renvoyez-le."
    )
    await ana.send_text("US64 SVBK US6S 3300 9673 8637")
    assert "code pays" in ((await ana.next_message()).text or "")
    # Nothing was stored; the right IBAN is then taken and shown masked.
    assert await bot.bot_data.db.run_read(_details_count) == 0
    await ana.send_text("fr76 3000 6000 0112 3456 7890 189")
    assert (await ana.next_message()).text == (
        "Enregistré : Ana Martin, FR76 •••• 0189. Votre prochain relevé approuvé y sera versé."
    )
    assert await bot.bot_data.db.run_read(_details_count) == 1


async def _details_count(tx: Tx) -> int:
    return int(await tx.fetch_value("SELECT count(*) FROM payout_details"))


async def test_a_sepa_file_is_valid_paid_in_one_step_and_pays_each_statement_once(
    sandbox: SandboxServer,
    bot: BotApplication,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock.set(APRIL)
    db: Database = bot.bot_data.db
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    ana = sandbox.user(1001, first_name="Ana", language_code="fr")
    bob = sandbox.user(1002, first_name="Bob", language_code="en")
    cid = sandbox.user(1003, first_name="Cid", language_code="en")
    for user in (ana, bob, cid):
        await _register(user)
    await _approved_march(bot, {1001: 1240, 1002: 760, 1003: 500})
    assert "FR76 •••• 0189" in await _give_details(ana, "Ana Martin", ANA_IBAN)
    assert "DE89 •••• 3000" in await _give_details(bob, "Bob Braun", BOB_IBAN)
    # Cid has an approved statement and no details: /earnings reminds him.
    await cid.send_command("/earnings")
    assert "send /payoutdetails" in ((await cid.next_message()).text or "")

    await admin.send_command("/exportpayouts 2026-03")
    export = await admin.next_message()
    assert export.file_bytes is not None
    csv_text = export.file_bytes.decode("utf-8")
    assert [row[0] for row in csv.reader(io.StringIO(csv_text))][1:] == ["1001", "1002", "1003"]
    await admin.press("SEPA payment file", message=export)
    sepa_file = await admin.next_message()
    assert sepa_file.kind == "document"
    assert sepa_file.file_name is not None
    assert sepa_file.file_name.endswith(".xml")
    assert sepa_file.text is not None
    assert "2 transfers, €20.00" in sepa_file.text
    assert "1 approved statements left out, no payout details yet: Cid." in sepa_file.text
    xml = sepa_file.file_bytes
    assert xml is not None
    # Validated against the pain.001.001.03 schema, independently of sepaxml's own check.
    xmlschema.XMLSchema(str(SCHEMA)).validate(xml.decode("utf-8"))
    document = xmlschema.XMLSchema(str(SCHEMA)).to_dict(xml.decode("utf-8"))
    assert isinstance(document, dict)
    header = document["CstmrCdtTrfInitn"]["GrpHdr"]
    assert (header["NbOfTxs"], str(header["CtrlSum"])) == ("2", "20.00")
    assert ANA_IBAN.encode() in xml
    assert BOB_IBAN.encode() in xml
    assert PLATFORM_IBAN.encode() in xml

    # Marked paid in one step: both statements paid once; a second press changes nothing.
    answer = await admin.press("Mark this file paid", message=sepa_file)
    assert answer.text == "2 statements paid."
    assert (await admin.next_message()).text == (
        "SEPA file #1 paid: 2 statements, €20.00 (0 already paid before)."
    )
    told = await ana.next_message()
    assert told.text is not None
    assert "a été payé" in told.text
    assert "SEPA" in told.text
    again = await admin.press("Mark this file paid", message=sepa_file)
    assert again.text == "SEPA file #1 was already marked paid; nothing changed."
    await ana.expect_no_message(within=0.3)
    states = {s.worker_id: s.state for s in await statements_for_month(db, "2026-03")}
    assert states == {1001: "paid", 1002: "paid", 1003: "approved"}
    assert await balance(db, worker_account(1001)) == 0
    assert await balance(db, worker_account(1002)) == 0
    assert await balance(db, worker_account(1003)) == 500
    payouts = await db.run_read(_payout_count)
    assert payouts == 2

    # No full IBAN anywhere but the SEPA file: not in the CSV, any chat message, or the logs.
    for iban in (ANA_IBAN, BOB_IBAN):
        assert iban not in csv_text
        assert iban not in caplog.text
        for user in (admin, ana, bob):
            assert all(iban not in (m.text or "") for m in user.messages)
    assert await db.run_read(_audit_mentions, ANA_IBAN) == 0


async def _payout_count(tx: Tx) -> int:
    return int(await tx.fetch_value("SELECT count(*) FROM transfers WHERE kind = 'payout'"))


async def _audit_mentions(tx: Tx, iban: str) -> int:
    return int(
        await tx.fetch_value("SELECT count(*) FROM audit_log WHERE detail LIKE ?", (f"%{iban}%",))
    )


async def test_an_admin_cannot_mark_paid_a_file_holding_their_own_statement(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    clock.set(APRIL)
    db: Database = bot.bot_data.db
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    ana = sandbox.user(1001, first_name="Ana", language_code="en")
    await _register(ana)
    await _register(admin, staff=True)
    await _approved_march(bot, {1001: 1000, ADMIN_ID: 400})
    await _give_details(ana, "Ana Martin", ANA_IBAN)
    await _give_details(admin, "Ada Admin", BOB_IBAN)
    await admin.send_command("/exportpayouts 2026-03")
    export = await admin.next_message()
    await admin.press("SEPA payment file", message=export)
    sepa_file = await admin.next_message()
    assert sepa_file.text is not None
    assert "1 statement of yours left out: another admin pays it." in sepa_file.text
    assert sepa_file.file_bytes is not None
    assert BOB_IBAN.encode() not in sepa_file.file_bytes
    await admin.press("Mark this file paid", message=sepa_file)
    states = {s.worker_id: s.state for s in await statements_for_month(db, "2026-03")}
    assert states == {1001: "paid", ADMIN_ID: "approved"}
