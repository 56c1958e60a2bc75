"""Requesters fund themselves through Telegram Payments, end to end through the sandbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import BotApplication
from bot.clock import FixedClock
from bot.config import Settings
from bot.ledger import balance, requester_account
from sandbox import SandboxServer
from tests.conftest import REQUESTER_ID
from tests.e2e.harness import running_bot

PROVIDER = "284685063:TEST:c2FuZGJveA"


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(telegram_api_url=sandbox.url, payment_provider_token=PROVIDER)


async def test_an_invoice_paid_credits_the_budget_once(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/fund 25.50")
    invoice = await rita.next_message()
    assert invoice.kind == "invoice"
    assert invoice.raw["invoice"]["total_amount"] == 2550
    assert invoice.raw["invoice"]["currency"] == "EUR"
    (sent,) = sandbox.calls_to("sendInvoice")
    assert sent["provider_token"] == PROVIDER

    outcome = await rita.pay(invoice)
    assert outcome.paid, outcome.error_message
    receipt = await rita.next_message()
    assert receipt.text is not None
    assert receipt.text.startswith("Payment received: €25.50 added. Budget now €25.50.")
    # Telegram delivers the same successful_payment again: credited once, nothing said.
    rita.repeat_payment(outcome)
    await rita.expect_no_message(within=0.5)
    db = bot.bot_data.db
    assert await balance(db, requester_account(REQUESTER_ID)) == 2550

    await rita.send_command("/balance")
    shown = (await rita.next_message()).text or ""
    assert "Available budget: €25.50" in shown
    assert "Card payments:" in shown
    charge = outcome.message["successful_payment"]["telegram_payment_charge_id"]  # type: ignore[index]
    assert f"€25.50 (receipt {charge})" in shown


async def test_a_checkout_for_a_requester_no_longer_active_is_refused(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="fr")
    await rita.send_command("/fund 10")
    invoice = await rita.next_message()
    # Rita loses the requester role between the invoice and the payment.
    db = bot.bot_data.db
    async with db.write() as tx:
        await tx.execute("DELETE FROM user_roles WHERE user_id = ?", (REQUESTER_ID,))
    outcome = await rita.pay(invoice)
    assert not outcome.paid
    assert outcome.error_message == (
        "Votre compte de demandeur·euse n'est pas actif : le paiement n'a pas été pris. "
        "Contactez un·e admin."
    )
    assert await balance(db, requester_account(REQUESTER_ID)) == 0
    (answer,) = sandbox.calls_to("answerPreCheckoutQuery")
    assert answer["ok"] is False


async def test_a_forged_payload_is_refused_at_checkout(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/fund 10")
    invoice = await rita.next_message()
    # A modified client claims the invoice costs less than it does.
    sandbox.state.payments.invoices[(rita.chat_id, invoice.message_id)]["total_amount"] = 1
    outcome = await rita.pay(invoice)
    assert not outcome.paid
    assert outcome.error_message is not None
    assert outcome.error_message.startswith("The amount or currency does not match")
    assert await balance(bot.bot_data.db, requester_account(REQUESTER_ID)) == 0


async def test_fund_refuses_a_bad_amount(sandbox: SandboxServer, bot: BotApplication) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/fund ١٢")
    assert (await rita.next_message()).text == (
        '"١٢" is not an amount. Write it like 12.50 (two decimals at most).'
    )
    await rita.send_command("/fund 0.50")
    assert (await rita.next_message()).text == "An invoice is for €1.00 to €10,000.00."
    assert sandbox.calls_to("sendInvoice") == []


async def test_without_a_provider_token_fund_says_an_admin_tops_up(
    sandbox: SandboxServer, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    plain = make_settings(telegram_api_url=sandbox.url)
    async with running_bot(plain, clock=clock):
        rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
        await rita.send_command("/fund 10")
        assert (await rita.next_message()).text == (
            "Card payments are not set up on this bot: an admin tops up your budget "
            "(/balance shows it)."
        )
    assert sandbox.calls_to("sendInvoice") == []
