"""Requesters fund themselves through Telegram Payments, the rules: an invoice per ``/fund``, the
pre-checkout check, and one credit per Telegram charge. No Telegram here.

The flow (FIELD-NOTES, "Payments"): ``/fund AMOUNT`` records an invoice whose payload is
``fund:ID``; Telegram asks the bot to confirm the checkout (``check_checkout``, answered within
its 10 s); then a ``successful_payment`` carries ``telegram_payment_charge_id``, the business key:
``credit_payment`` posts ``bank`` to ``requester:ID`` keyed ``payment:CHARGE_ID`` and records the
receipt in the same transaction, so a payment delivered twice credits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput
from bot.ledger import BANK, Posted, post, requester_account
from bot.money import parse_amount
from storage import funding as sql
from storage.audit import write_audit
from storage.db import Database, Tx
from storage.funding import Invoice as Invoice
from storage.funding import Payment as Payment
from storage.ledger import NewTransfer, account_balance
from storage.users import get_user, roles_of

FUND_MIN = 100  # 1.00: below it the provider's fees eat the payment
FUND_MAX = 1_000_000  # 10,000.00 per invoice: a typo guard
PAYLOAD_PREFIX = "fund:"


def parse_fund_amount(text: str, currency: str) -> int:
    """The amount of ``/fund AMOUNT`` in cents, within ``FUND_MIN``-``FUND_MAX``."""
    if not text.strip():
        raise InvalidInput("fund.usage")
    if not text.isascii():
        raise InvalidInput("money.invalid", text=text[:40])
    amount = parse_amount(text, currency)
    if not FUND_MIN <= amount <= FUND_MAX:
        raise InvalidInput("fund.out_of_range", min_cents=FUND_MIN, max_cents=FUND_MAX)
    return amount


def payload_of(invoice: Invoice) -> str:
    return f"{PAYLOAD_PREFIX}{invoice.id}"


def _invoice_id(payload: str) -> int | None:
    raw = payload.removeprefix(PAYLOAD_PREFIX)
    if not payload.startswith(PAYLOAD_PREFIX) or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


async def open_invoice(
    db: Database, *, requester_id: int, amount: int, currency: str, now: datetime
) -> Invoice:
    """Record the invoice ``/fund`` is about to send (its id is the payload)."""
    async with db.write() as tx:
        return await sql.insert_invoice(
            tx, requester_id=requester_id, amount=amount, currency=currency, now=now
        )


async def _matching_invoice(
    tx: Tx, *, payer_id: int, payload: str, amount: int, currency: str
) -> Invoice:
    """The invoice a checkout or payment is for; ``InvalidInput`` naming what does not match."""
    invoice_id = _invoice_id(payload)
    invoice = await sql.invoice_by_id(tx, invoice_id) if invoice_id is not None else None
    if invoice is None or invoice.requester_id != payer_id:
        raise InvalidInput("fund.unknown_invoice")
    if invoice.amount != amount or invoice.currency != currency:
        raise InvalidInput("fund.amount_mismatch")
    return invoice


async def check_checkout(
    db: Database, *, payer_id: int, payload: str, amount: int, currency: str
) -> Invoice:
    """Telegram's pre-checkout: the invoice is the payer's, same amount and currency, and the
    payer is still an active requester (not blocked, role kept). ``InvalidInput`` otherwise."""
    async with db.read() as tx:
        invoice = await _matching_invoice(
            tx, payer_id=payer_id, payload=payload, amount=amount, currency=currency
        )
        user = await get_user(tx, payer_id)
        if user is None or user.blocked_at is not None:
            raise InvalidInput("fund.requester_inactive")
        if "requester" not in await roles_of(tx, payer_id):
            raise InvalidInput("fund.requester_inactive")
        return invoice


@dataclass(frozen=True)
class Credited:
    """A payment's credit: the receipt, whether this delivery created it, the new balance."""

    payment: Payment
    created: bool
    balance: int


async def credit_payment(
    db: Database,
    *,
    payer_id: int,
    payload: str,
    amount: int,
    currency: str,
    telegram_charge_id: str,
    provider_charge_id: str,
    now: datetime,
    tz: ZoneInfo,
) -> Credited:
    """Credit a successful payment once per ``telegram_charge_id``: ledger and receipt together.

    The money has moved at Telegram's end, so the requester's role is not checked again here;
    a payment that matches no invoice of the payer is refused (``InvalidInput``) and audited.
    """
    if not telegram_charge_id:
        raise InvalidInput("fund.unknown_invoice")
    account = requester_account(payer_id)
    async with db.write() as tx:
        known = await sql.payment_by_charge(tx, telegram_charge_id)
        if known is not None:
            return Credited(known, False, await _balance(tx, account))
        invoice = await _matching_invoice(
            tx, payer_id=payer_id, payload=payload, amount=amount, currency=currency
        )
        new = NewTransfer(
            "topup",
            amount,
            BANK,
            account,
            f"payment:{telegram_charge_id}",
            payer_id,
            now,
            f"Telegram Payments, invoice {invoice.id}",
        )
        posted: Posted = await post(tx, new, tz=tz)
        payment = Payment(
            telegram_charge_id=telegram_charge_id,
            provider_charge_id=provider_charge_id,
            invoice_id=invoice.id,
            requester_id=payer_id,
            amount=amount,
            currency=currency,
            transfer_id=posted.transfer.id,
            created_at=now,
        )
        await sql.insert_payment(tx, payment)
        await write_audit(
            tx,
            actor_id=payer_id,
            action="ledger.payment",
            detail={"invoice_id": invoice.id, "amount": amount, "charge": telegram_charge_id},
            now=now,
        )
        return Credited(payment, True, await _balance(tx, account))


async def _balance(tx: Tx, account: str) -> int:
    return await account_balance(tx, account)


async def receipts(db: Database, requester_id: int, *, limit: int = 5) -> list[Payment]:
    """A requester's last payments, newest first (``/balance``)."""
    async with db.read() as tx:
        return await sql.payments_of(tx, requester_id, limit=limit)
