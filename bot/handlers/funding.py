"""Handler room of funding: ``/fund AMOUNT`` sends a Telegram invoice, the pre-checkout query is
answered at once, a successful payment credits the requester's budget once (``bot/funding.py``)."""

from __future__ import annotations

import logging

from telegram import LabeledPrice, Update

from bot import funding
from bot.context import BotContext
from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.telegram_ui import message_of, refusals_told
from bot.texts import refusal

log = logging.getLogger(__name__)


@refusals_told
async def fund_command(update: Update, context: BotContext) -> None:
    """``/fund AMOUNT``: an invoice for the budget (with no payment provider: who tops up)."""
    actor = await context.actor(update)
    actor.require("requester")
    services = context.services
    settings = services.settings
    t = actor.t
    if not settings.payment_provider_token:
        await message_of(update).reply_text(t("fund.no_provider"))
        return
    amount = funding.parse_fund_amount(" ".join(context.args or []), settings.currency)
    invoice = await funding.open_invoice(
        services.db,
        requester_id=actor.user.id,
        amount=amount,
        currency=settings.currency,
        now=services.clock.now(),
    )
    await context.bot.send_invoice(
        chat_id=message_of(update).chat.id,
        title=t("fund.invoice_title")[:32],
        description=t("fund.invoice_description", amount=t.money(amount))[:255],
        payload=funding.payload_of(invoice),
        provider_token=settings.payment_provider_token,
        currency=settings.currency,
        prices=[LabeledPrice(t("fund.invoice_label")[:32], amount)],
    )


async def pre_checkout(update: Update, context: BotContext) -> None:
    """Telegram asks whether to take the money: answer within its 10 s, refusing with a reason."""
    query = update.pre_checkout_query
    assert query is not None
    actor = await context.actor(update)
    try:
        await funding.check_checkout(
            context.services.db,
            payer_id=query.from_user.id,
            payload=query.invoice_payload,
            amount=query.total_amount,
            currency=query.currency,
        )
    except InvalidInput as error:
        log.info("checkout refused for %s: %s", query.from_user.id, error.message_key)
        await query.answer(ok=False, error_message=refusal(actor.t, error))
        return
    await query.answer(ok=True)


@refusals_told
async def successful_payment(update: Update, context: BotContext) -> None:
    """The money arrived: credit it once per Telegram charge, and show the receipt."""
    message = message_of(update)
    paid = message.successful_payment
    assert paid is not None
    actor = await context.actor(update)
    services = context.services
    credited = await funding.credit_payment(
        services.db,
        payer_id=actor.user.id,
        payload=paid.invoice_payload,
        amount=paid.total_amount,
        currency=paid.currency,
        telegram_charge_id=paid.telegram_payment_charge_id,
        provider_charge_id=paid.provider_payment_charge_id,
        now=services.clock.now(),
        tz=services.settings.timezone,
    )
    if not credited.created:
        log.info("payment %s delivered again; credited once", paid.telegram_payment_charge_id)
        return
    await message.reply_text(_receipt_text(actor.t, credited))


def _receipt_text(t: Translator, credited: funding.Credited) -> str:
    payment = credited.payment
    return t(
        "fund.received",
        amount=t.money(payment.amount),
        balance=t.money(credited.balance),
        charge=payment.telegram_charge_id,
    )
