"""Sandbox room, Telegram Payments: sendInvoice, answerPreCheckoutQuery, and a user paying an
invoice with a test card (a ``pre_checkout_query`` the bot must answer within 10 s, then a
``successful_payment`` message), refused with Telegram's error texts."""

from __future__ import annotations

import asyncio
import copy
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox.calls import Call
from sandbox.errors import bad_request
from sandbox.models import JSON

if TYPE_CHECKING:
    from sandbox.state import ChatState, SandboxState

PRE_CHECKOUT_SECONDS = 10.0
"""Telegram cancels a checkout the bot has not answered within 10 s."""
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PROVIDER_TOKEN = re.compile(r"^\d+:(TEST|LIVE):\S+$")
PostMessage = Callable[[JSON], JSON]
"""Posts a message from the user into the chat (``SandboxUser``) and returns it."""


@dataclass
class PreCheckout:
    """A checkout waiting for answerPreCheckoutQuery."""

    ok: bool | None = None
    error_message: str | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class PaymentOutcome:
    """What the payer saw: paid or refused (with the bot's reason), and the payment message."""

    paid: bool
    error_message: str | None
    message: JSON | None


class PaymentBook:
    """Invoices sent and checkouts under way (part of ``SandboxState``)."""

    def __init__(self) -> None:
        self.invoices: dict[tuple[int, int], JSON] = {}  # (chat id, message id) -> invoice
        self.checkouts: dict[str, PreCheckout] = {}
        self._ids = itertools.count(7_000_000_000_001)

    def next_id(self) -> str:
        return str(next(self._ids))


class PaymentMethods:
    """sendInvoice and answerPreCheckoutQuery (mixed into ``BotApi``)."""

    state: SandboxState

    if TYPE_CHECKING:  # provided by BotApi

        def _sending_chat(self, params: JSON) -> ChatState: ...
        def _send(self, call: Call, content: JSON, chat: ChatState) -> JSON: ...

    async def send_invoice(self, call: Call) -> JSON:
        """sendInvoice: checked as Telegram does, stored so that the user can pay it."""
        params = call.params
        chat = self._sending_chat(params)
        if not _PROVIDER_TOKEN.match(str(params.get("provider_token") or "")):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        currency = str(params.get("currency", ""))
        if not _CURRENCY.match(currency):
            raise bad_request("CURRENCY_INVALID")
        title, description = str(params.get("title", "")), str(params.get("description", ""))
        if not 1 <= len(title) <= 32:
            raise bad_request("INVOICE_TITLE_INVALID")  # hypothetical text
        if not 1 <= len(description) <= 255:
            raise bad_request("INVOICE_DESCRIPTION_INVALID")
        payload = str(params.get("payload", ""))
        if not 1 <= len(payload.encode()) <= 128:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        prices = params.get("prices")
        if not isinstance(prices, list) or not prices:
            raise bad_request("can't parse prices JSON object")
        amounts = [p.get("amount") if isinstance(p, dict) else None for p in prices]
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in amounts):
            raise bad_request("can't parse prices JSON object")
        total = sum(a for a in amounts if isinstance(a, int))
        if total <= 0:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": str(params.get("start_parameter") or ""),
            "currency": currency,
            "total_amount": total,
        }
        message = self._send(call, {"invoice": invoice}, chat)
        self.state.payments.invoices[(chat.id, int(message["message_id"]))] = {
            **invoice,
            "payload": payload,
        }
        return message

    async def answer_pre_checkout_query(self, call: Call) -> bool:
        """answerPreCheckoutQuery: ok, or a refusal the payer sees (error_message required)."""
        params = call.params
        checkout = self.state.payments.checkouts.get(str(params.get("pre_checkout_query_id")))
        if checkout is None or checkout.answered.is_set():
            raise bad_request("QUERY_ID_INVALID")
        ok = bool(params.get("ok"))
        error_message = params.get("error_message")
        if not ok and not error_message:
            raise bad_request("ERROR_MESSAGE_EMPTY")
        checkout.ok = ok
        checkout.error_message = str(error_message) if error_message else None
        checkout.answered.set()
        return True


async def pay(
    state: SandboxState,
    chat: ChatState,
    message_id: int,
    *,
    post: PostMessage,
    wait: float = PRE_CHECKOUT_SECONDS,
) -> PaymentOutcome:
    """The user pays an invoice with a test card: pre-checkout, then the successful payment.

    A checkout the bot does not answer within ``wait`` (Telegram: 10 s) fails as Telegram's
    does; a refused one shows the bot's error message and takes no money.
    """
    invoice = state.payments.invoices.get((chat.id, message_id))
    if invoice is None:
        raise LookupError(f"message {message_id} of chat {chat.id} is not an invoice")
    book = state.payments
    query_id = book.next_id()
    checkout = PreCheckout()
    book.checkouts[query_id] = checkout
    state.updates.push_payload(
        "pre_checkout_query",
        {
            "id": query_id,
            "from": dict(chat.user),
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": invoice["payload"],
        },
    )
    try:
        await asyncio.wait_for(checkout.answered.wait(), wait)
    except TimeoutError:
        checkout.answered.set()  # a late answer is refused
        return PaymentOutcome(False, "Payment timed out: the bot did not answer in time", None)
    if not checkout.ok:
        return PaymentOutcome(False, checkout.error_message, None)
    successful = {
        "currency": invoice["currency"],
        "total_amount": invoice["total_amount"],
        "invoice_payload": invoice["payload"],
        "telegram_payment_charge_id": f"stxTEST{query_id}",
        "provider_payment_charge_id": f"ch_test_{query_id}",
    }
    return PaymentOutcome(True, None, post({"successful_payment": successful}))


def repeat_payment(outcome: PaymentOutcome, *, post: PostMessage) -> JSON:
    """Telegram delivering the same successful payment again, as a new message."""
    if outcome.message is None:
        raise ValueError("only a successful payment can be delivered again")
    return post({"successful_payment": copy.deepcopy(outcome.message["successful_payment"])})
